"""What the artifact notebooks show: result tables with the paper's numbers beside ours, the
sentences that compare them, and numbers glued into the book's prose (``myst_nb.glue``).
"""

from __future__ import annotations

import textwrap
from typing import Any

import numpy as np
import pandas as pd

from ..util.formats import p_text, pm
from .parameters import Setup


def glue_number(key: str, value: float, fmt: str = "{:.1f}", display: bool = False) -> None:
    """Glue a formatted number (as text) for ``{glue:text}`` in the book's prose."""
    from myst_nb import glue

    glue(key, fmt.format(value), display=display)


def glue_text(key: str, text: str, display: bool = False) -> None:
    from myst_nb import glue

    glue(key, text, display=display)


def show_table(df: pd.DataFrame, caption: str = "", precision: int = 1) -> Any:
    """A compact, captioned HTML table (numbers rounded, index hidden)."""
    sty = df.style.format(precision=precision, na_rep="–").hide(axis="index")
    if caption:
        sty = sty.set_caption(caption)
    return sty


def _with_paper(ours: str, paper: float, sign: bool = False) -> str:
    if paper is None or not np.isfinite(paper):
        return ours
    return f"{ours}  ({paper:+.1f})" if sign else f"{ours}  ({paper:.1f})"


def table1_view(summary: pd.DataFrame, metric: str = "wa") -> pd.DataFrame:
    """One metric of Table 1 for reading: each cell "ours mean ± std (paper)", percent."""
    m = metric.lower()
    return pd.DataFrame({
        "model": summary["label"],
        "without PDDS": [_with_paper(pm(a, b), c) for a, b, c in
                         zip(summary[f"{m}_without"], summary[f"{m}_without_std"], summary[f"paper_{m}_without"])],
        "with PDDS": [_with_paper(pm(a, b), c) for a, b, c in
                      zip(summary[f"{m}_with"], summary[f"{m}_with_std"], summary[f"paper_{m}_with"])],
        "change": [_with_paper(pm(a, b, sign=True), c, True) for a, b, c in
                   zip(summary[f"d_{m}"], summary[f"d_{m}_std"], summary[f"paper_d_{m}"])],
    })


def table2_view(summary: pd.DataFrame) -> pd.DataFrame:
    """Table 2 for reading: training-set size and "ours mean ± std (paper)", percent."""
    return pd.DataFrame({
        "training data": summary["label"],
        "training samples": [f"{int(n):,}" for n in summary["n_train"]],
        "WA": [_with_paper(pm(m, s), p) for m, s, p in zip(summary.wa_mean, summary.wa_std, summary.paper_wa)],
        "UA": [_with_paper(pm(m, s), p) for m, s, p in zip(summary.ua_mean, summary.ua_std, summary.paper_ua)],
    })


def significance_view(tests: pd.DataFrame, labels: dict[str, str] | None = None) -> pd.DataFrame:
    """Paired tests for reading: the change with its intervals, the p-values, and a verdict.

    One model compared across strategies (Table 2): rows are "vs <strategy>"; several models each
    with and without PDDS (Table 1): rows are the models.
    """
    from .experiments import STRATEGY_LABELS

    one_model = tests["model"].nunique() == 1

    def name(r: Any) -> str:
        if one_model:
            return f"vs {STRATEGY_LABELS.get(r.a, r.a).lower()}"
        return (labels or {}).get(r.model, r.model)

    def ci(m: float, lo: float, hi: float) -> str:
        return f"{m:+.1f} [{lo:+.1f}, {hi:+.1f}]" if np.isfinite(lo) else f"{m:+.1f}"

    rows = list(tests.itertuples())
    return pd.DataFrame({
        "PDDS": [name(r) for r in rows],
        "Δ WA (95%, seeds)": [ci(r.seed_d_wa, r.seed_wa_low, r.seed_wa_high) for r in rows],
        "Δ WA (95%, bootstrap)": [ci(r.d_wa, r.wa_low, r.wa_high) for r in rows],
        "Δ UA (95%, bootstrap)": [ci(r.d_ua, r.ua_low, r.ua_high) for r in rows],
        "p boot.": [p_text(r.p_wa) for r in rows],
        "p McNemar": [p_text(r.p_mcnemar) for r in rows],
        "verdict": ["significant" if r.significant else "within noise" for r in rows],
    })


def compare_significance(tests: pd.DataFrame, prefix: str) -> str:
    """Glue how many comparisons are significant; return one sentence per comparison."""
    glue_number(f"{prefix}_n_significant", int(tests["significant"].sum()), "{:.0f}")
    glue_number(f"{prefix}_n_tests", len(tests), "{:.0f}")
    head = (f"{int(tests['significant'].sum())} of {len(tests)} comparisons are larger than the noise of the "
            f"test set (both the paired bootstrap over utterances and McNemar's test at p < 0.05).")
    return _wrap(head + "\n" + "\n".join(f"- {w}." for w in tests["words"]))


def recall_view(change: pd.DataFrame) -> pd.DataFrame:
    """Per-class recall without/with PDDS and the change, "mean ± std", percent."""
    from ..pdds.labels import CLASS_NAMES

    return pd.DataFrame({
        "class": [CLASS_NAMES.get(c, c) for c in change["class"]],
        "recall w/o PDDS": [pm(m, s) for m, s in zip(change["without"], change["without_std"])],
        "recall w/ PDDS": [pm(m, s) for m, s in zip(change["with"], change["with_std"])],
        "change": [pm(m, s, sign=True) for m, s in zip(change["change"], change["change_std"])],
    })


def p_view(summary: pd.DataFrame) -> pd.DataFrame:
    """Fig. 6's numbers: WA and UA per p, "mean ± std", percent."""
    return pd.DataFrame({"p": [f"{p:g}" for p in summary["p"]],
                         "WA": [pm(m, s) for m, s in zip(summary.wa_mean, summary.wa_std)],
                         "UA": [pm(m, s) for m, s in zip(summary.ua_mean, summary.ua_std)],
                         "seeds": summary["n_seeds"].astype(int)})


def _wrap(text: str, width: int = 80) -> str:
    return "\n".join(textwrap.fill(line, width, subsequent_indent="  ") for line in text.split("\n"))


def compare_table1(summary: pd.DataFrame, run: Setup) -> str:
    """Glue Table 1's headline numbers and return a short comparison with the paper."""
    improved_wa = int((summary["d_wa"] > 0).sum())
    improved_ua = int((summary["d_ua"] > 0).sum())
    if "cltnet" not in set(summary["model"]):
        return _wrap(f"PDDS raises mean WA for {improved_wa} of {len(summary)} models and mean UA for {improved_ua}.")
    cl = summary.set_index("model").loc["cltnet"]
    glue_number("t1_improved_wa", improved_wa, "{:.0f}")
    glue_number("t1_improved_ua", improved_ua, "{:.0f}")
    glue_number("t1_n_models", len(summary), "{:.0f}")
    for col in ("wa_without", "wa_with", "ua_without", "ua_with"):
        glue_number(f"t1_cltnet_{col}", cl[col])
        glue_number(f"t1_paper_cltnet_{col}", cl[f"paper_{col}"])
    for metric in ("wa", "ua"):
        glue_number(f"t1_cltnet_d_{metric}", cl[f"d_{metric}"], "{:+.1f}")
        glue_number(f"t1_cltnet_d_{metric}_std", cl[f"d_{metric}_std"])
        glue_number(f"t1_paper_d{metric}_min", summary[f"paper_d_{metric}"].min())
        glue_number(f"t1_paper_d{metric}_max", summary[f"paper_d_{metric}"].max())
    glue_number("t1_seeds", run.n_seeds, "{:.0f}")
    glue_number("t1_epochs", run.max_epochs, "{:.0f}")
    glue_text("t1_corpus", run.corpus.name)
    glue_text("t1_data_note", "synthetic demo data: these numbers are not IEMOCAP's and not comparable to the "
              "paper's" if run.synthetic else "IEMOCAP, sessions 1-4 train, session 5 test")
    return _wrap(f"PDDS raises mean WA for {improved_wa} of {len(summary)} models and mean UA for {improved_ua} "
            f"(paper: all {len(summary)} on both).\n"
            f"CLTNet: WA {cl.wa_without:.1f} -> {cl.wa_with:.1f} ({cl.d_wa:+.1f} ± {cl.d_wa_std:.1f}), "
            f"UA {cl.ua_without:.1f} -> {cl.ua_with:.1f} ({cl.d_ua:+.1f} ± {cl.d_ua_std:.1f}); paper: WA "
            f"{cl.paper_wa_without} -> {cl.paper_wa_with}, UA {cl.paper_ua_without} -> {cl.paper_ua_with}.")


def compare_table2(summary: pd.DataFrame, run: Setup) -> str:
    """Glue Table 2's numbers and return a short comparison with the paper."""
    from .experiments import STRATEGY_LABELS

    s = summary.set_index("strategy")
    for k in s.index:
        glue_number(f"t2_{k}_wa", s.loc[k, "wa_mean"])
        glue_number(f"t2_{k}_ua", s.loc[k, "ua_mean"])
        glue_number(f"t2_{k}_n", s.loc[k, "n_train"], "{:,.0f}")
    best = s["wa_mean"].idxmax()
    glue_text("t2_best", STRATEGY_LABELS[best])
    d_wa = s.loc["pdds", "wa_mean"] - s.loc["uniform", "wa_mean"]
    d_ua = s.loc["pdds", "ua_mean"] - s.loc["uniform", "ua_mean"]
    glue_number("t2_pdds_vs_uniform_wa", d_wa, "{:+.1f}")
    glue_number("t2_pdds_vs_uniform_ua", d_ua, "{:+.1f}")
    return _wrap(f"best mean WA: {STRATEGY_LABELS[best]} (paper: With PDDS). PDDS vs uniform balancing: "
            f"WA {d_wa:+.1f}, UA {d_ua:+.1f} points, with {int(s.loc['pdds', 'n_train']):,} instead of "
            f"{int(s.loc['uniform', 'n_train']):,} training samples (paper: PDDS better with fewer samples).")


def compare_fig5(cms: dict[str, np.ndarray], change: pd.DataFrame, classes: tuple[str, ...]) -> str:
    """Glue Fig. 5's numbers and return a short comparison with the paper."""
    k = classes.index("fru")
    share = {s: 100 * cm[:, k].sum() / cm.sum() for s, cm in cms.items()}
    better = int((change["change"] > 0).sum())
    glue_number("f5_better", better, "{:.0f}")
    glue_number("f5_fru_share_without", share["none"])
    glue_number("f5_fru_share_with", share["pdds"])
    return _wrap(f"recall rises for {better} of {len(classes)} classes (paper: most classes; frustration slightly "
            f"down).\nshare of predictions that are 'frustration': {share['none']:.1f}% without, "
            f"{share['pdds']:.1f}% with PDDS (paper: PDDS reduces the lean towards frustration).")


def compare_fig6(summary: pd.DataFrame, best_paper: float) -> str:
    """Glue Fig. 6's numbers and return a short comparison with the paper."""
    best_wa = float(summary.loc[summary["wa_mean"].idxmax(), "p"])
    best_ua = float(summary.loc[summary["ua_mean"].idxmax(), "p"])
    spread = float(summary["wa_mean"].max() - summary["wa_mean"].min())
    glue_number("f6_best_wa_p", best_wa, "{:.1f}")
    glue_number("f6_best_ua_p", best_ua, "{:.1f}")
    glue_number("f6_wa_range", spread)
    return _wrap(f"best mean WA at p = {best_wa:g}, best mean UA at p = {best_ua:g} (paper: p = {best_paper:g}); "
            f"mean WA varies by {spread:.1f} points over p, against a typical spread over seeds of "
            f"{summary['wa_std'].mean():.1f} points.")


def compare_distribution(tables: dict[str, pd.DataFrame], counts: Any, plan: Any, label: str,
                         kernel: np.ndarray) -> str:
    """Glue the data-distribution numbers (and the method page's worked example); return a summary."""
    clear = tables["clear"].set_index("class")
    strategies = tables["strategies"].set_index("strategy")
    if "hap" in clear.index:
        glue_number("dd_hap_before", clear.loc["hap", "original"], "{:.0f}")
        glue_number("dd_hap_after", clear.loc["hap", "balanced"], "{:.0f}")
    glue_number("dd_new_samples", strategies.loc["pdds", "new_samples"], "{:,.0f}")
    glue_number("dd_uniform_new", strategies.loc["uniform", "new_samples"], "{:,.0f}")
    glue_number("dd_n_clear", counts.n_clear, "{:,.0f}")
    glue_number("dd_n_ambiguous", counts.n_ambiguous, "{:,.0f}")
    glue_text("dd_source", label)
    # the worked example: the chain of the first emotion pair
    i, j = 0, 1
    ci, cj = counts.classes[i], counts.classes[j]
    chain = [plan.balanced_clear[i], counts.ambiguous[i, j], counts.ambiguous[j, i], plan.balanced_clear[j]]
    glue_text("dd_ex_i", ci)
    glue_text("dd_ex_j", cj)
    for key, value in (("clear_i", chain[0]), ("amb_ij", chain[1]), ("amb_ji", chain[2]), ("clear_j", chain[3]),
                       ("clear_j_orig", counts.clear[j]), ("target_ij", plan.targets[i, j]),
                       ("target_ji", plan.targets[j, i])):
        glue_number(f"dd_ex_{key}", value, "{:.0f}")
    glue_number("dd_ex_w_side", kernel[0], "{:.3f}")
    glue_number("dd_ex_w_centre", kernel[1], "{:.3f}")
    glue_number("dd_ex_smooth_ij", plan.smoothed[i, j])
    glue_number("dd_ex_smooth_ji", plan.smoothed[j, i])
    hap = (f"clear happiness: {clear.loc['hap', 'original']} -> {clear.loc['hap', 'balanced']} (paper: 43 -> 215)\n"
           if "hap" in clear.index else "")
    return _wrap(f"{hap}new samples with PDDS: {strategies.loc['pdds', 'new_samples']:,}; with uniform balancing: "
            f"{strategies.loc['uniform', 'new_samples']:,}\n"
            f"worked example, chain [{ci.upper()}, {ci}>{cj}, {cj}>{ci}, {cj.upper()}] = {[int(x) for x in chain]}:\n"
            f"  {ci}>{cj}: {kernel[0]:.3f} x {chain[0]} + {kernel[1]:.3f} x {chain[1]} + {kernel[0]:.3f} x {chain[2]} = "
            f"{plan.smoothed[i, j]:.1f} -> target {plan.targets[i, j]}\n"
            f"  {cj}>{ci}: {kernel[0]:.3f} x {chain[1]} + {kernel[1]:.3f} x {chain[2]} + {kernel[0]:.3f} x {chain[3]} = "
            f"{plan.smoothed[j, i]:.1f} -> target {plan.targets[j, i]}")


def rules_view(rules: pd.DataFrame, default: float) -> pd.DataFrame:
    """CREMA-D's clear-sample rules for reading: one row per threshold, the default marked."""
    from ..pdds.labels import CLASS_NAMES

    classes = [c[len("clear_"):] for c in rules.columns if c.startswith("clear_") and c != "clear_share"]
    return pd.DataFrame({
        "rule": [("every rater agrees" if a == 1 else f"top emotion ≥ {a:.0%}") + (" (default)" if a == default else "")
                 for a in rules["agreement"]],
        "clear": [f"{n:,} ({100 * s:.1f}%)" for n, s in zip(rules["clear"], rules["clear_share"])],
        **{CLASS_NAMES.get(c, c): rules[f"clear_{c}"] for c in classes},
        "ambiguous": rules["ambiguous"], "ties": rules["ties"], "other": rules["other"],
    })


def compare_crema_d(summary: pd.DataFrame, run: Setup) -> str:
    """A short reading of Table 2 on CREMA-D (no paper numbers exist for it)."""
    from .experiments import STRATEGY_LABELS

    s = summary.set_index("strategy")
    best = s["wa_mean"].idxmax()
    text = (f"best mean WA: {STRATEGY_LABELS[best]}. PDDS vs the original data: WA "
            f"{s.loc['pdds', 'wa_mean'] - s.loc['none', 'wa_mean']:+.1f}, UA "
            f"{s.loc['pdds', 'ua_mean'] - s.loc['none', 'ua_mean']:+.1f} points "
            f"({int(s.loc['pdds', 'n_train']):,} instead of {int(s.loc['none', 'n_train']):,} training samples)")
    if "uniform" in s.index:
        text += (f"; PDDS vs uniform balancing: WA {s.loc['pdds', 'wa_mean'] - s.loc['uniform', 'wa_mean']:+.1f}, "
                 f"UA {s.loc['pdds', 'ua_mean'] - s.loc['uniform', 'ua_mean']:+.1f} points with "
                 f"{int(s.loc['uniform', 'n_train']):,} uniform samples")
    note = " (synthetic audio: these numbers only show that the pipeline runs)" if run.synthetic else ""
    return _wrap(text + "." + note)
