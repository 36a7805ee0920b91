"""What the artifact notebooks show: result tables with the paper's numbers beside ours, the
sentences that compare them, and numbers glued into the book's prose (``myst_nb.glue``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..util.formats import pm
from .glue import glue_number, glue_text, wrap
from .parameters import Setup

#: A table with more columns than this is marked ``pdds-wide`` (book/_static/custom.css: smaller type,
#: cells that may wrap), so that e.g. a significance table fits the book's text column.
WIDE_COLUMNS = 5


def show_table(df: pd.DataFrame, caption: str = "", precision: int = 1) -> Any:
    """A compact, captioned HTML table (numbers rounded, index hidden; class ``pdds-table``, and
    ``pdds-wide`` beyond :data:`WIDE_COLUMNS` columns)."""
    wide = df.shape[1] > WIDE_COLUMNS
    sty = df.style.format(precision=precision, na_rep="–").hide(axis="index").set_table_attributes(
        f'class="pdds-table{" pdds-wide" * wide}"')
    prose = [c for c in df.columns if wide and _is_prose(df[c])]
    if prose:  # words may wrap (numbers and intervals never do: custom.css keeps cells on one line)
        sty = sty.set_properties(subset=prose, **{"white-space": "normal", "min-width": "8em"})
    if caption:
        sty = sty.set_caption(caption)
    return sty


def _is_prose(column: pd.Series) -> bool:
    """A column of words (e.g. "never (below the floor)"), not of numbers or intervals: its longest
    text is over 16 characters and holds a word of three letters or more."""
    text = column.astype(str)
    return bool(len(text)) and text.str.len().max() > 16 and bool(text.str.contains(r"[A-Za-z]{3}").any())


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


def compare_table1(summary: pd.DataFrame, run: Setup) -> str:
    """Glue Table 1's headline numbers and return a short comparison with the paper."""
    improved_wa = int((summary["d_wa"] > 0).sum())
    improved_ua = int((summary["d_ua"] > 0).sum())
    if "cltnet" not in set(summary["model"]):
        return wrap(f"PDDS raises mean WA for {improved_wa} of {len(summary)} models and mean UA for {improved_ua}.")
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
    return wrap(f"PDDS raises mean WA for {improved_wa} of {len(summary)} models and mean UA for {improved_ua} "
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
    glue_text("t2_corpus", run.corpus.name)
    d_wa = s.loc["pdds", "wa_mean"] - s.loc["uniform", "wa_mean"]
    d_ua = s.loc["pdds", "ua_mean"] - s.loc["uniform", "ua_mean"]
    glue_number("t2_pdds_vs_uniform_wa", d_wa, "{:+.1f}")
    glue_number("t2_pdds_vs_uniform_ua", d_ua, "{:+.1f}")
    return wrap(f"best mean WA: {STRATEGY_LABELS[best]} (paper: With PDDS). PDDS vs uniform balancing: "
            f"WA {d_wa:+.1f}, UA {d_ua:+.1f} points, with {int(s.loc['pdds', 'n_train']):,} instead of "
            f"{int(s.loc['uniform', 'n_train']):,} training samples (paper: PDDS better with fewer samples).")


def compare_fig5(cms: dict[str, np.ndarray], change: pd.DataFrame, classes: tuple[str, ...],
                 tests: pd.DataFrame) -> str:
    """Glue Fig. 5's numbers and return a short comparison with the paper, from Fig. 5's family of
    two-source tests (:func:`pddslib.paper.experiments.fig5_significance`, Holm)."""
    from .stats_views import correction_phrase, glue_tests, significance_word, split_by_sign

    k = classes.index("fru")
    share = {s: 100 * cm[:, k].sum() / cm.sum() for s, cm in cms.items()}
    up, down = split_by_sign(tests[tests.metric.str.startswith("recall:")], "class")
    lean = tests[tests.metric == f"share:{k}"]
    better = int((change["change"] > 0).sum())
    glue_tests(tests, "f5", ())
    glue_number("f5_better", better, "{:.0f}")
    glue_number("f5_sig_up", len(up), "{:.0f}")
    glue_number("f5_sig_down", len(down), "{:.0f}")
    glue_number("f5_fru_share_without", share["none"])
    glue_number("f5_fru_share_with", share["pdds"])
    lean_words = "no test"
    if len(lean):
        r = lean.iloc[0]
        lean_words = f"{r.estimate:+.1f} points [{r.low:+.1f}, {r.high:+.1f}], {significance_word(r.significant)}"
    glue_text("f5_lean", lean_words)
    return wrap(f"mean recall rises for {better} of {len(change)} classes; "
                 f"significantly up for {len(up)} ({', '.join(up) or 'none'}) and down for {len(down)} "
                 f"({', '.join(down) or 'none'}) {correction_phrase(tests)} (paper: most classes up; frustration "
                 f"slightly down).\nshare of predictions that are 'frustration': {share['none']:.1f}% without, "
                 f"{share['pdds']:.1f}% with PDDS ({lean_words}; paper: PDDS reduces the lean towards frustration).")


def compare_fig6(summary: pd.DataFrame, best_paper: float, tests: pd.DataFrame) -> str:
    """Glue Fig. 6's numbers and return a short comparison with the paper, from Fig. 6's family of
    two-source tests (:func:`pddslib.paper.experiments.fig6_significance`: the trend over p and the
    paper's best p against each other p, Holm)."""
    from .stats_views import correction_phrase, glue_tests, significance_word, split_by_sign

    best_wa = float(summary.loc[summary["wa_mean"].idxmax(), "p"])
    best_ua = float(summary.loc[summary["ua_mean"].idxmax(), "p"])
    glue_number("f6_best_wa_p", best_wa, "{:.1f}")
    glue_number("f6_best_ua_p", best_ua, "{:.1f}")
    glue_number("f6_wa_range", float(summary["wa_mean"].max() - summary["wa_mean"].min()))
    glue_tests(tests, "f6", ())
    parts = []
    for metric in ("wa", "ua"):
        trend = tests[(tests.metric == metric) & tests["a"].astype(str).str.endswith("trend")]
        if len(trend):
            r = trend.iloc[0]
            words = (f"{metric.upper()} trend {r.estimate:+.2f} points per 0.1 of p [{r.low:+.2f}, {r.high:+.2f}], "
                     f"{significance_word(r.significant)}")
            glue_text(f"f6_trend_{metric}", words)
            parts.append(words)
        best = tests[(tests.metric == metric) & (tests["b"] == f"p = {best_paper:g}")]
        beaten, lost = split_by_sign(best, "a")
        if len(best):
            parts.append(f"p = {best_paper:g} significantly above {len(beaten)} and below {len(lost)} of the "
                         f"{len(best)} other p on {metric.upper()}")
    return wrap(f"best mean WA at p = {best_wa:g}, best mean UA at p = {best_ua:g} (paper: p = {best_paper:g}).\n"
                 + "; ".join(parts) + f" ({correction_phrase(tests)}).")


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
    return wrap(f"{hap}new samples with PDDS: {strategies.loc['pdds', 'new_samples']:,}; with uniform balancing: "
            f"{strategies.loc['uniform', 'new_samples']:,}\n"
            f"worked example, chain [{ci.upper()}, {ci}>{cj}, {cj}>{ci}, {cj.upper()}] = {[int(x) for x in chain]}:\n"
            f"  {ci}>{cj}: {kernel[0]:.3f} x {chain[0]} + {kernel[1]:.3f} x {chain[1]} + "
            f"{kernel[0]:.3f} x {chain[2]} = "
            f"{plan.smoothed[i, j]:.1f} -> target {plan.targets[i, j]}\n"
            f"  {cj}>{ci}: {kernel[0]:.3f} x {chain[1]} + {kernel[1]:.3f} x {chain[2]} + "
            f"{kernel[0]:.3f} x {chain[3]} = "
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
    return wrap(text + "." + note)
