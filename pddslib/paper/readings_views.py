"""The readings chapter's tables, words and figure (presentation of :mod:`pddslib.paper.readings`).
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def sizes_view(sizes: pd.DataFrame) -> pd.DataFrame:
    """The size table for reading."""
    return pd.DataFrame({
        "kernel (Eq. 1)": [f"{'not normalised' if n == 'none' else 'sum-normalised'} ({k})"
                           for n, k in zip(sizes["normalize"], sizes["kernel"])],
        "uniform pairs": sizes["pairs"],
        "PDDS adds (ambiguous)": [f"{a:,} ({b:,})" for a, b in zip(sizes["pdds_new"], sizes["pdds_new_ambiguous"])],
        "uniform adds (ambiguous)": [f"{a:,} ({b:,})" for a, b in zip(sizes["uniform_new"],
                                                                       sizes["uniform_new_ambiguous"])],
        "training set: PDDS / uniform": [f"{a:,} / {b:,}" for a, b in zip(sizes["pdds_train"], sizes["uniform_train"])],
        "'use the original data' applies": [f"{_yes(f)} ({n} of {m} cells)" for f, n, m in
                                            zip(sizes["clause_applies"], sizes["clause_cells"],
                                                sizes["n_ambiguous_cells"])],
        "uniform largest": [_yes(f) for f in sizes["uniform_largest"]],
        "most below the level": [f"{_yes(f)} ({n} of {m})" for f, n, m in
                                 zip(sizes["most_below"], sizes["below_level"], sizes["n_level_cells"])],
        "consistent with the paper": [_yes(f) for f in sizes["consistent"]],
    })


def sizes_words(sizes: pd.DataFrame) -> str:
    """What the size table says, in a few sentences (generated from its numbers)."""
    s = sizes.set_index(["normalize", "pairs"])
    good = [f"{'unnormalised' if n == 'none' else 'sum-normalised'} kernel with {p} pairs"
            for (n, p), r in s.iterrows() if r["consistent"]]
    out = []
    for n, label in (("none", "not normalised"), ("sum", "sum-normalised")):
        r = s.loc[(n, "ordered")]
        out.append(f"With the kernel {label}, PDDS adds {r.pdds_new:,} samples ({r.pdds_new_ambiguous:,} ambiguous; "
                   f"{r.pdds_ambiguous:,} ambiguous samples after, from {r.pdds_ambiguous - r.pdds_new_ambiguous:,}) "
                   f"and the 'use the original data' clause applies to {r.clause_cells} of "
                   f"{r.n_ambiguous_cells} cells.")
    for p in ("ordered", "unordered"):
        r = s.loc[("none", p)]
        out.append(f"Uniform balancing with {p} pairs adds {r.uniform_new:,} samples.")
    broken = [f"{'unnormalised' if n == 'none' else 'sum-normalised'} kernel with {p} pairs "
              f"(PDDS {r.pdds_new:,} > uniform {r.uniform_new:,})"
              for (n, p), r in s.iterrows() if not r["uniform_largest"]]
    if broken:
        out.append("'Uniform balancing has the largest training dataset' fails for: " + "; ".join(broken) + ".")
    out.append("Consistent with all three statements: " + (", ".join(good) if good else "no combination") + ".")
    return " ".join(out)


def glue_sizes(sizes: pd.DataFrame) -> None:
    """Glue every number of the size table as ``rs_<normalize>_<pairs>_<column>`` (and the summary)."""
    from .glue import glue_number, glue_text

    for r in sizes.itertuples():
        prefix = f"rs_{r.normalize}_{r.pairs}"
        for col in ("pdds_new", "pdds_new_ambiguous", "pdds_ambiguous", "uniform_new", "pdds_train", "uniform_train",
                    "clause_cells", "below_level", "n_level_cells"):
            glue_number(f"{prefix}_{col}", getattr(r, col), "{:,.0f}")
        for col in ("clause_applies", "uniform_largest", "consistent"):
            glue_text(f"{prefix}_{col}", _yes(getattr(r, col)))
    glue_text("rs_summary", sizes_words(sizes))


def summary_view(summary: pd.DataFrame) -> pd.DataFrame:
    """The results for reading: one row per (model, row), "mean ± std" in percent."""
    from ..util.formats import pm

    return pd.DataFrame({
        "model": summary["model"], "open choice": summary["group"], "row": summary["reading"],
        "training data": summary["what"], "samples": [f"{int(n):,}" for n in summary["n_train"]],
        "WA": [pm(m, s) for m, s in zip(summary.wa_mean, summary.wa_std)],
        "UA": [pm(m, s) for m, s in zip(summary.ua_mean, summary.ua_std)],
        "seeds": summary["n_seeds"].astype(int),
    })


def soft_view(summary: pd.DataFrame) -> pd.DataFrame:
    """Calibration and fit to the votes for reading: one row per (model, row), "mean ± std" over seeds
    of the test utterances' NLL, Brier score, ECE (15 bins) and KL divergence from the votes."""
    from ..util.formats import pm

    cols = {"nll": "NLL (nats)", "brier": "Brier", "ece": "ECE (15 bins)", "kl_votes": "KL(votes ‖ pred.)"}
    out = {"model": summary["model"], "row": summary["reading"]}
    for m, label in cols.items():
        if f"{m}_mean" in summary:
            out[label] = [pm(a, b, scale=1.0, digits=3) for a, b in zip(summary[f"{m}_mean"], summary[f"{m}_std"])]
    return pd.DataFrame(out)


def _wide(tests: pd.DataFrame) -> pd.DataFrame:
    """One row per (model, comparison) with the WA and UA tests side by side."""
    keys = ["model", "a", "b", "group", "question"]
    wa, ua = tests[tests.metric == "wa"], tests[tests.metric == "ua"]
    return wa.merge(ua, on=keys, how="left", sort=False, suffixes=("_wa", "_ua"))


def tests_view(tests: pd.DataFrame) -> pd.DataFrame:
    """The two-source tests for reading: B - A with 95 % intervals, BH-adjusted p-values, verdicts,
    and the former per-model statistic (named as such)."""
    from ..util.formats import p_text
    from .stats_views import interval, verdict

    def cell(r: Any, m: str) -> SimpleNamespace:
        return SimpleNamespace(**{k: getattr(r, f"{k}_{m}") for k in ("estimate", "low", "high", "p", "p_adj",
                                                                         "significant")})

    rows = list(_wide(tests).itertuples())
    return pd.DataFrame({
        "model": [r.model for r in rows], "open choice": [r.group for r in rows],
        "B vs A": [f"{r.b} vs {r.a}" for r in rows],
        "Δ WA [95%]": [interval(cell(r, "wa")) for r in rows],
        "p WA (BH)": [p_text(r.p_adj_wa) for r in rows],
        "Δ UA [95%]": [interval(cell(r, "ua")) for r in rows],
        "p UA (BH)": [p_text(r.p_adj_ua) for r in rows],
        "verdict": [f"WA {verdict(cell(r, 'wa'))}; UA {verdict(cell(r, 'ua'))}" for r in rows],
        "these models differ (p, WA)": [p_text(r.p_models_wa) for r in rows],
    })


# -- the conclusion --------------------------------------------------------------------------------
def _verdict(r: Any) -> str:
    from .stats_views import significance_word

    return significance_word(r.significant_wa or r.significant_ua)


def _line(r: Any) -> str:
    marks = "".join(f", {m.upper()} significant" for m in ("wa", "ua") if getattr(r, f"significant_{m}"))
    return f"{r.question}: {r.estimate_wa:+.1f} WA, {r.estimate_ua:+.1f} UA points ({_verdict(r)}{marks})"


_PDDS_ROWS = ["pdds", "normalize=sum", "pdds targets=onehot", "pdds bucket=off", "pdds original recipe"]


def conclusion(summary: pd.DataFrame, tests: pd.DataFrame, *, synthetic: bool, corpus_name: str = "") -> str:
    """A short conclusion generated from the numbers: per open choice, each comparison significant or
    within noise (Benjamini-Hochberg over the chapter's family); which readings change PDDS's own
    result; which comparisons PDDS wins. On the demo corpus it says that the result describes the
    synthetic generator."""
    from .stats_views import correction_phrase

    lines = []
    if synthetic:
        lines.append(f"These numbers come from the synthetic demo corpus ({corpus_name}). They describe the demo "
                     "generator (pddslib.corpora.demo, whose features follow each utterance's vote distribution "
                     "by construction), not IEMOCAP and not the paper's claims; run the chapter with -p corpus "
                     "iemocap for real evidence.")
    if tests.empty:
        return "\n".join(lines + ["No comparison could be made (each needs both of its rows)."])
    lines.append(f"Significant means an adjusted p below 0.05 {correction_phrase(tests)} (WA and UA of every "
                 "comparison of every model; the chapter is exploratory, so it controls the false-discovery rate).")
    wide = _wide(tests)
    for model in dict.fromkeys(wide["model"]):
        t = wide[wide.model == model]
        n_wa, n_ua = int(t["significant_wa"].sum()), int(t["significant_ua"].sum())
        lines.append(f"{model}: {n_wa} of {len(t)} WA changes and {n_ua} of {len(t)} UA changes are significant.")
        for group in dict.fromkeys(t["group"]):
            lines.append(f"- {group}: " + "; ".join(_line(r) for r in t[t.group == group].itertuples()) + ".")
        own = t[(t.a == "pdds") & (t.b != "pdds")]
        changed = [r.b for r in own.itertuples() if r.significant_wa or r.significant_ua]
        if len(own):
            lines.append("  Readings that change PDDS's own result beyond noise: "
                         + (", ".join(changed) if changed else "none") + f" (of {len(own)} tested).")
        wins = t[t.b.isin(_PDDS_ROWS) & ~t.a.isin(["pdds"])]
        better = [f"{r.b} over {r.a}" for r in wins.itertuples() if r.significant_wa and r.estimate_wa > 0]
        worse = [f"{r.b} below {r.a}" for r in wins.itertuples() if r.significant_wa and r.estimate_wa < 0]
        if len(wins):
            lines.append(f"  On WA, PDDS is significantly better in {len(better)} of {len(wins)} comparisons "
                         "with other training data" + (f" ({', '.join(better)})" if better else "")
                         + (f"; significantly worse in {len(worse)} ({', '.join(worse)})" if worse else "") + ".")
    return "\n".join(lines)


def plot_tests(tests: pd.DataFrame, title: str = "") -> Any:
    """The tests as a forest plot: B - A in WA and UA points with the two-source 95 % interval."""
    import matplotlib.pyplot as plt

    wide = _wide(tests)
    models = list(dict.fromkeys(wide["model"]))
    n = max(len(wide[wide.model == m]) for m in models)
    fig, axes = plt.subplots(1, len(models), figsize=(4.2 * len(models) + 2.8, 0.36 * n + 1.4), sharey=True,
                             squeeze=False)
    for ax, model in zip(axes[0], models):
        t = wide[wide.model == model].reset_index(drop=True)
        y = np.arange(len(t))[::-1].astype(float)
        for m, dy, marker in (("wa", 0.14, "o"), ("ua", -0.14, "s")):
            est, low, high = t[f"estimate_{m}"], t[f"low_{m}"], t[f"high_{m}"]
            colour = np.where(t[f"significant_{m}"], "#e15759", "#4e79a7")
            ax.errorbar(est, y + dy, xerr=[est - low, high - est], fmt="none", ecolor="#999999", capsize=2)
            ax.scatter(est, y + dy, c=colour, zorder=3, s=20, marker=marker, label=m.upper())
        ax.axvline(0, color="black", lw=0.8)
        ax.set_yticks(y, [f"{b} vs {a}" for a, b in zip(t["a"], t["b"])], fontsize=7)
        ax.set_xlabel("B − A (points; circles WA, squares UA)")
        ax.set_title(model, fontsize=9)
        ax.grid(axis="x", alpha=0.3)
        ax.spines[["top", "right"]].set_visible(False)
    fig.suptitle(title or "Two-source tests (red: significant after Benjamini-Hochberg; bars: 95% interval)",
                 fontsize=9)
    fig.tight_layout()
    return fig


__all__ = ["soft_view", "conclusion", "glue_sizes", "plot_tests", "sizes_view", "sizes_words", "summary_view",
           "tests_view"]
