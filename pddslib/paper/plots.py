"""Figures of the companion (matplotlib). Plotting never trains: every function takes tables.

Colours follow the paper's Fig. 2: purple for clear samples, orange for ambiguous ones.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ..pdds.counts import CountTable
from ..pdds.labels import CLASS_NAMES
from ..pdds.smoothing import Plan
from .palette import AMBIGUOUS, CLEAR, PAPER

#: Applied inside each figure function only (the user's global matplotlib style is left alone).
STYLE = {"font.size": 10, "axes.titlesize": 11, "axes.labelsize": 10, "figure.dpi": 110}

_F = TypeVar("_F", bound=Callable[..., Any])


def _styled(fn: _F) -> _F:
    """Run a figure function under :data:`STYLE` (a ``matplotlib.rc_context``)."""
    @functools.wraps(fn)
    def inner(*args: Any, **kwargs: Any) -> Any:
        with plt.rc_context(STYLE):
            return fn(*args, **kwargs)
    return inner  # type: ignore[return-value]


def _name(c: str) -> str:
    return CLASS_NAMES.get(c, c)


@_styled
def one_hot_distribution(sizes: dict[str, dict[str, int]], title: str = "") -> plt.Figure:
    """Fig. 1(a): utterances per (one-hot, consensus) label, stacked by split."""
    classes = list(next(iter(sizes.values())))
    fig, ax = plt.subplots(figsize=(6.4, 3.4))
    bottom = np.zeros(len(classes))
    colours = {"train": "#4e79a7", "test": "#a0cbe8"}
    for split, counts in sizes.items():
        vals = np.array([counts.get(c, 0) for c in classes])
        ax.bar([_name(c) for c in classes], vals, bottom=bottom, label=f"{split} ({vals.sum():,})",
               color=colours.get(split))
        bottom += vals
    for x, v in enumerate(bottom):
        ax.text(x, v, f"{int(v):,}", ha="center", va="bottom", fontsize=9)
    ax.set_ylabel("utterances")
    ax.set_ylim(0, bottom.max() * 1.15)
    ax.legend(frameon=False)
    ax.set_title(title or "One-hot (consensus) labels")
    ax.spines[["top", "right"]].set_visible(False)
    return fig


@_styled
def pair_counts_heatmap(counts: CountTable, title: str = "") -> plt.Figure:
    """Fig. 1(b) as an annotated matrix: clear counts on the diagonal (bold), ambiguous off it.

    Row = major emotion, column = minor emotion (the paper's directed edge tail -> head).
    """
    cl = counts.classes
    m = counts.ambiguous.astype(float).copy()
    np.fill_diagonal(m, np.nan)
    fig, ax = plt.subplots(figsize=(5.8, 4.8))
    im = ax.imshow(m, cmap="Oranges", vmin=0)
    for i in range(len(cl)):
        for j in range(len(cl)):
            if i == j:
                ax.add_patch(plt.Rectangle((j - 0.5, i - 0.5), 1, 1, color=CLEAR, alpha=0.85))
                ax.text(j, i, f"{counts.clear[i]}", ha="center", va="center", color="white", fontweight="bold")
            else:
                v = counts.ambiguous[i, j]
                ax.text(j, i, f"{v}", ha="center", va="center",
                        color="white" if v > np.nanmax(m) * 0.6 else "black", fontsize=9)
    ax.set_xticks(range(len(cl)), [_name(c) for c in cl], rotation=30, ha="right")
    ax.set_yticks(range(len(cl)), [_name(c) for c in cl])
    ax.set_xlabel("minor emotion")
    ax.set_ylabel("major emotion")
    fig.colorbar(im, ax=ax, shrink=0.8, label="ambiguous samples")
    ax.set_title(title or "Clear (diagonal) and ambiguous samples")
    return fig


@_styled
def smoothing_pairs(plan: Plan, title: str = "", ncols: int = 5) -> plt.Figure:  # 5 wide, 3 for pages
    """Fig. 2: each emotion pair's chain [I, I_j, J_i, J] before (light) and after (dark) PDDS."""
    cl = plan.classes
    pairs = [(i, j) for i in range(len(cl)) for j in range(i + 1, len(cl))]
    nrows = int(np.ceil(len(pairs) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(2.9 * ncols, 2.5 * nrows), sharey=True)
    axes = np.atleast_1d(axes).ravel()
    before_all = []
    for ax, (i, j) in zip(axes, pairs):
        before = [plan.counts.clear[i], plan.counts.ambiguous[i, j], plan.counts.ambiguous[j, i], plan.counts.clear[j]]
        after = [plan.balanced_clear[i], plan.targets[i, j], plan.targets[j, i], plan.balanced_clear[j]]
        before_all += before + after
        x = np.arange(4)
        colours = [CLEAR, AMBIGUOUS, AMBIGUOUS, CLEAR]
        ax.bar(x - 0.2, before, width=0.4, color=colours, alpha=0.35, label="before")
        ax.bar(x + 0.2, after, width=0.4, color=colours, label="after")
        ax.set_xticks(x, [cl[i].upper(), f"{cl[i]}>{cl[j]}", f"{cl[j]}>{cl[i]}", cl[j].upper()],
                      rotation=45, fontsize=8)
        ax.set_title(f"{_name(cl[i])} – {_name(cl[j])}", fontsize=9)
        ax.spines[["top", "right"]].set_visible(False)
    for ax in axes[len(pairs):]:
        ax.set_visible(False)
    handles = [plt.Rectangle((0, 0), 1, 1, color=CLEAR, alpha=0.35), plt.Rectangle((0, 0), 1, 1, color=CLEAR),
               plt.Rectangle((0, 0), 1, 1, color=AMBIGUOUS, alpha=0.35), plt.Rectangle((0, 0), 1, 1, color=AMBIGUOUS)]
    fig.legend(handles, ["clear, before", "clear, after", "ambiguous, before", "ambiguous, after"],
               loc="upper center", ncol=4, frameon=False, bbox_to_anchor=(0.5, 1.0))
    fig.suptitle(title or "Distribution of each emotion pair before and after smoothing", y=1.05)
    fig.tight_layout()
    return fig


@_styled
def strategy_sizes(strategies: pd.DataFrame, title: str = "") -> plt.Figure:
    """Training-set size (clear + ambiguous) under each strategy, split into original and new."""
    fig, ax = plt.subplots(figsize=(6.0, 2.8))
    orig = strategies["clear_and_ambiguous"] - strategies["new_samples"]
    y = np.arange(len(strategies))
    ax.barh(y, orig, color="#bab0ac", label="original")
    ax.barh(y, strategies["new_samples"], left=orig, color="#59a14f", label="synthesised (mixup)")
    for k, tot in enumerate(strategies["clear_and_ambiguous"]):
        ax.text(tot, k, f" {int(tot):,}", va="center", fontsize=9)
    ax.set_yticks(y, strategies["label"])
    ax.invert_yaxis()
    ax.set_xlabel("clear + ambiguous training samples")
    ax.set_xlim(0, strategies["clear_and_ambiguous"].max() * 1.18)
    ax.legend(frameon=False, loc="lower right")
    ax.set_title(title or "Training-set size per strategy")
    ax.spines[["top", "right"]].set_visible(False)
    return fig


@_styled
def table1_comparison(summary: pd.DataFrame, title: str = "") -> plt.Figure:
    """Table 1 as a figure: WA and UA without/with PDDS per model (mean ± std), paper as crosses."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2), sharey=True)
    y = np.arange(len(summary))
    for ax, metric in zip(axes, ("wa", "ua")):
        for off, tag, colour in ((-0.15, "without", "#bab0ac"), (0.15, "with", "#4e79a7")):
            ax.errorbar(summary[f"{metric}_{tag}"], y + off, xerr=summary[f"{metric}_{tag}_std"], fmt="o",
                        color=colour, capsize=3, label=f"{tag} PDDS (ours, mean ± std)")
            if summary[f"paper_{metric}_{tag}"].notna().any():  # none on another corpus than IEMOCAP
                ax.scatter(summary[f"paper_{metric}_{tag}"], y + off, marker="x", color=colour, s=40,
                           label=f"{tag} PDDS (paper)")
        ax.set_yticks(y, summary["label"])
        ax.set_xlabel(f"{metric.upper()} (%)")
        ax.grid(axis="x", alpha=0.3)
        ax.spines[["top", "right"]].set_visible(False)
    axes[0].invert_yaxis()
    handles, labels = axes[0].get_legend_handles_labels()
    fig.suptitle(title or "Table 1: models without and with PDDS")
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    fig.legend(handles, labels, loc="lower center", ncol=4, frameon=False, fontsize=8)
    return fig


@_styled
def confusion_pair(matrices: dict[str, np.ndarray], classes: Sequence[str], titles: Sequence[str] | None = None,
                   suptitle: str = "") -> plt.Figure:
    """Fig. 5: row-normalised confusion matrices side by side, with counts in each cell."""
    keys = list(matrices)
    fig, axes = plt.subplots(1, len(keys), figsize=(5.0 * len(keys), 5.0))
    axes = np.atleast_1d(axes)
    for ax, k, t in zip(axes, keys, titles or keys):
        cm = np.asarray(matrices[k], dtype=float)
        norm = cm / np.maximum(cm.sum(1, keepdims=True), 1)
        ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
        for i in range(len(classes)):
            for j in range(len(classes)):
                ax.text(j, i, f"{100 * norm[i, j]:.0f}%\n({int(cm[i, j])})", ha="center", va="center", fontsize=10,
                        color="white" if norm[i, j] > 0.55 else "black")
        ax.set_xticks(range(len(classes)), [_name(c) for c in classes], rotation=30, ha="right", fontsize=11)
        ax.set_yticks(range(len(classes)), [_name(c) for c in classes], fontsize=11)
        ax.set_xlabel("predicted")
        ax.set_ylabel("consensus label")
        ax.set_title(t)
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


@_styled
def recall_change_bars(change: pd.DataFrame, title: str = "") -> plt.Figure:
    """Change of per-class recall with PDDS (mean ± std over seeds, percentage points)."""
    fig, ax = plt.subplots(figsize=(6.4, 3.0))
    x = np.arange(len(change))
    colours = ["#59a14f" if v >= 0 else "#e15759" for v in change["change"]]
    ax.bar(x, change["change"], yerr=change["change_std"], color=colours, capsize=3)
    ax.axhline(0, color="black", lw=0.8)
    ax.set_xticks(x, [_name(c) for c in change["class"]])
    ax.set_ylabel("recall change (points)")
    ax.set_title(title or "Per-class recall: with PDDS minus without")
    ax.spines[["top", "right"]].set_visible(False)
    return fig


@_styled
def p_sweep(summary: pd.DataFrame, best_p: float | None = None, title: str = "") -> plt.Figure:
    """Fig. 6: WA and UA against the mixup weight p, with error bars over seeds."""
    fig, ax = plt.subplots(figsize=(5.6, 3.4))
    for metric, colour in (("wa", "#4e79a7"), ("ua", "#f28e2b")):
        ax.errorbar(summary["p"], summary[f"{metric}_mean"], yerr=summary[f"{metric}_std"], marker="o",
                    capsize=3, color=colour, label=metric.upper())
    if best_p is not None:
        ax.axvline(best_p, color=PAPER, ls="--", lw=1, label=f"paper's best p = {best_p}")
    ax.set_xlabel("mixup weight p of the major emotion")
    ax.set_ylabel("accuracy (%)")
    ax.legend(frameon=False)
    ax.grid(alpha=0.3)
    ax.set_title(title or "Effect of p (mean ± std over seeds)")
    ax.spines[["top", "right"]].set_visible(False)
    return fig


@_styled
def strategy_accuracy(summary: pd.DataFrame, title: str = "") -> plt.Figure:
    """Table 2 as a figure: WA and UA per training-data strategy (mean ± std), the paper's as
    crosses, and each training set's size under its name."""
    fig, ax = plt.subplots(figsize=(7.0, 3.6))
    x = np.arange(len(summary))
    for off, metric, colour in ((-0.18, "wa", "#4e79a7"), (0.18, "ua", "#f28e2b")):
        ax.bar(x + off, summary[f"{metric}_mean"], width=0.34, yerr=summary[f"{metric}_std"], capsize=3,
               color=colour, label=f"{metric.upper()} (ours, mean ± std)")
        if summary[f"paper_{metric}"].notna().any():  # none on another corpus than IEMOCAP
            ax.scatter(x + off, summary[f"paper_{metric}"], marker="x", color="black", zorder=3, s=36,
                       label=f"{metric.upper()} (paper)" if metric == "wa" else None)
    ax.set_xticks(x, [f"{lab}\n({int(n):,} samples)" for lab, n in zip(summary["label"], summary["n_train"])],
                  fontsize=8)
    lo = np.nanmin(np.r_[summary["wa_mean"] - summary["wa_std"].fillna(0),
                         summary["ua_mean"] - summary["ua_std"].fillna(0),
                         summary["paper_wa"], summary["paper_ua"]])
    ax.set_ylim(max(0, lo - 10), None)
    ax.set_ylabel("accuracy (%)")
    ax.legend(frameon=False, fontsize=8, ncol=3, loc="upper center", bbox_to_anchor=(0.5, -0.22))
    ax.set_title(title or "Table 2: training data and accuracy")
    ax.grid(axis="y", alpha=0.3)
    ax.spines[["top", "right"]].set_visible(False)
    return fig


@_styled
def power_curves(curves: pd.DataFrame, labels: dict[str, str] | None = None, title: str = "") -> plt.Figure:
    """Power of the two-source test against the number of seeds, one line per claimed gain (WA solid,
    UA dashed), with the 80 % target dotted (``curves``: :func:`pddslib.paper.power.power_curves`)."""
    labels = labels or {}
    fig, ax = plt.subplots(figsize=(8.4, 4.0))
    colours = plt.get_cmap("tab10")
    for k, model in enumerate(dict.fromkeys(curves["model"])):
        for metric, style in (("wa", "-"), ("ua", "--")):
            c = curves[(curves.model == model) & (curves.metric == metric)]
            if len(c):
                ax.plot(c["seeds"], 100 * c["power"], style, color=colours(k % 10), marker=".",
                        label=f"{labels.get(model, model)} {metric.upper()} ({c['claim'].iloc[0]:+.1f})")
    ax.axhline(80, color="black", lw=0.8, ls=":")
    ax.set_xscale("log")
    ticks = sorted(curves["seeds"].unique())
    ax.set_xticks(ticks, [str(t) for t in ticks])
    ax.set_xlabel("seeds per condition")
    ax.set_ylabel("power (%)")
    ax.set_ylim(0, 100)
    ax.legend(fontsize=7, ncol=1, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.spines[["top", "right"]].set_visible(False)
    ax.set_title(title or "Power to detect the paper's claimed gains at the measured noise", fontsize=10)
    fig.tight_layout()
    return fig
