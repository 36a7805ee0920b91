"""How the book shows its tests: tables, sentences and glued numbers from the long test tables of
:mod:`pddslib.paper.comparisons` (one row per comparison and metric, points).

Every sentence that says "significant" says after which correction over how many comparisons.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..util.formats import p_text
from .glue import glue_number, glue_text, wrap
from .multiple import METHOD_NAMES

METRIC_NAMES = {"wa": "WA", "ua": "UA"}


def metric_name(metric: str, classes: Sequence[str] | None = None) -> str:
    """``"WA"``, ``"UA"``, ``"recall hap"``, ``"share fru"``."""
    if metric in METRIC_NAMES:
        return METRIC_NAMES[metric]
    kind, _, k = metric.partition(":")
    return f"{kind} {classes[int(k)] if classes is not None else k}"


def interval(r: Any) -> str:
    """``+1.2 [-0.3, +2.7]`` (no interval with one seed)."""
    if not np.isfinite(r.low):
        return f"{r.estimate:+.1f}"
    return f"{r.estimate:+.1f} [{r.low:+.1f}, {r.high:+.1f}]"


def verdict(r: Any, a: str = "A", b: str = "B") -> str:
    """``"B higher"``, ``"A higher"`` (significant after the family's correction) or ``"within noise"``."""
    if not np.isfinite(r.p):
        return "no test (one seed)"
    if not r.significant:
        return "within noise"
    return f"{b} higher" if r.estimate > 0 else f"{a} higher"


def significance_word(significant: bool) -> str:
    """``"significant"`` or ``"within noise"`` (after the family's correction)."""
    return "significant" if significant else "within noise"


def split_by_sign(tests: pd.DataFrame, labels: str) -> tuple[list[str], list[str]]:
    """The ``labels`` column's values of the significant tests with a positive and a negative change."""
    up = [x for x, sig, d in zip(tests[labels], tests["significant"], tests["estimate"]) if sig and d > 0]
    down = [x for x, sig, d in zip(tests[labels], tests["significant"], tests["estimate"]) if sig and d < 0]
    return up, down


def correction_phrase(tests: pd.DataFrame) -> str:
    """``"after Holm correction over 12 comparisons"`` (the family's method and size)."""
    if tests.empty:
        return "no comparison"
    method = str(tests["correction"].iloc[0])
    m = int(tests["m"].iloc[0])
    if method == "none":
        return f"without correction ({m} comparisons)"
    return f"after {METHOD_NAMES[method]} correction over {m} comparisons"


def pair_names(tests: pd.DataFrame, labels: dict[str, str] | None = None) -> list[str]:
    """One name per comparison, in order: ``"<B> vs <A>"`` with the labels of ``labels`` (a -> label)."""
    labels = labels or {}
    first = tests[tests.metric == tests["metric"].iloc[0]] if len(tests) else tests
    return [f"{labels.get(b, b)} vs {labels.get(a, a)[:1].lower() + labels.get(a, a)[1:]}"
            for a, b in zip(first["a"], first["b"])]


def _per(tests: pd.DataFrame, names: Sequence[str], metrics: Sequence[str]) -> int:
    """Rows per comparison; the table must hold ``len(names)`` comparisons of ``metrics`` in order."""
    per = len(metrics)
    if len(tests) != per * len(names) or (len(tests) and list(tests["metric"].iloc[:per]) != list(metrics)):
        raise ValueError(f"expected {len(names)} comparisons of {list(metrics)} ({per * len(names)} rows in "
                         f"order), got {len(tests)} rows")
    return per


def significance_view(tests: pd.DataFrame, names: Sequence[str], metrics: Sequence[str] = ("wa", "ua"),
                      classes: Sequence[str] | None = None, models_p: bool = True) -> pd.DataFrame:
    """One row per comparison: for each metric the change with its 95 % interval and the adjusted p.

    Parameters
    ----------
    tests : pandas.DataFrame
        A family's long table (its rows in comparison order, metrics within).
    names : sequence of str
        One name per comparison (in order), e.g. the model's label or "PDDS vs uniform".
    models_p : bool
        Add the former per-model statistic on WA as a column "these models differ (p, WA)".
    """
    rows = []
    per = _per(tests, names, metrics)
    for i, name in enumerate(names):
        part = tests.iloc[per * i: per * (i + 1)]
        row = {"comparison": name}
        for r in part.itertuples():
            label = metric_name(r.metric, classes)
            row[f"Δ {label} [95%]"] = interval(r)
            row[f"p {label} (adj.)"] = f"{p_text(r.p_adj)}" if np.isfinite(r.p_adj) else "–"
            row[f"{label} verdict"] = verdict(r)
        if models_p:
            wa = part[part.metric == "wa"]
            row["these models differ (p, WA)"] = p_text(float(wa["p_models"].iloc[0])) if len(wa) else "–"
        rows.append(row)
    return pd.DataFrame(rows)


def words(r: Any, what: str, classes: Sequence[str] | None = None) -> str:
    """One sentence for one test: the change, its interval, p and adjusted p, and the verdict."""
    label = metric_name(r.metric, classes)
    if not np.isfinite(r.p):
        return f"{what}, {label}: {r.estimate:+.1f} points (one seed: no test)"
    v = significance_word(r.significant)
    return (f"{what}, {label}: {r.estimate:+.1f} points, 95% interval {r.low:+.1f} to {r.high:+.1f}; "
            f"p {p_text(r.p, relation=True)}, adjusted p {p_text(r.p_adj, relation=True)}: {v}")


def summary_sentence(tests: pd.DataFrame, metrics: Sequence[str] = ("wa", "ua")) -> str:
    """``"2 of 6 WA changes and 1 of 6 UA changes are significant after Holm correction over 12 comparisons."``"""
    parts = []
    for m in metrics:
        t = tests[tests.metric == m]
        up = int((t.significant & (t.estimate > 0)).sum())
        down = int((t.significant & (t.estimate < 0)).sum())
        parts.append(f"{up + down} of {len(t)} {METRIC_NAMES.get(m, m)} changes"
                     + (f" ({up} up, {down} down)" if up and down else ""))
    return " and ".join(parts) + f" are significant {correction_phrase(tests)} (two-source test, 0.05)."


def glue_tests(tests: pd.DataFrame, prefix: str, metrics: Sequence[str] = ("wa", "ua")) -> None:
    """Glue a family's counts: ``<prefix>_m``, ``<prefix>_correction``, ``<prefix>_n_sig_<metric>``,
    ``<prefix>_n_<metric>`` and ``<prefix>_tests_summary``."""
    glue_number(f"{prefix}_m", int(tests["m"].iloc[0]) if len(tests) else 0, "{:.0f}")
    glue_text(f"{prefix}_correction", correction_phrase(tests))
    for m in metrics:
        t = tests[tests.metric == m]
        glue_number(f"{prefix}_n_sig_{m}", int(t["significant"].sum()), "{:.0f}")
        glue_number(f"{prefix}_n_{m}", len(t), "{:.0f}")
    if metrics:
        glue_text(f"{prefix}_tests_summary", summary_sentence(tests, metrics))


def compare_significance(tests: pd.DataFrame, prefix: str, names: Sequence[str],
                         metrics: Sequence[str] = ("wa", "ua"), classes: Sequence[str] | None = None) -> str:
    """Glue the family's counts (:func:`glue_tests`) and return one sentence per test."""
    counted = tuple(metrics) if all(m in METRIC_NAMES for m in metrics) else ()  # WA/UA families are counted
    glue_tests(tests, prefix, counted)
    per = _per(tests, names, metrics)
    lines = [summary_sentence(tests, counted) if counted else f"Tests {correction_phrase(tests)}."]
    for i, name in enumerate(names):
        for r in tests.iloc[per * i: per * (i + 1)].itertuples():
            lines.append(f"- {words(r, name, classes)}.")
    return wrap("\n".join(lines))


def rows_view(tests: pd.DataFrame, classes: Sequence[str] | None = None, a: str = "A", b: str = "B") -> pd.DataFrame:
    """One row per test (a family of one comparison on many statistics, e.g. Fig. 5's recalls): the
    change, its interval, p, adjusted p, the verdict and the two noise SDs (points)."""
    def what(r: Any) -> str:
        if r.metric in METRIC_NAMES and str(r.a).endswith("trend"):
            return f"{METRIC_NAMES[r.metric]} trend ({r.b})"
        if r.metric in METRIC_NAMES:
            return f"{METRIC_NAMES[r.metric]}: {r.b} vs {r.a}"
        return metric_name(r.metric, classes)

    rows = list(tests.itertuples())
    return pd.DataFrame({
        "statistic": [what(r) for r in rows],
        "Δ [95%]": [interval(r) for r in rows],
        "p": [p_text(r.p) if np.isfinite(r.p) else "–" for r in rows],
        f"p ({METHOD_NAMES[str(tests['correction'].iloc[0])]})" if len(tests) else "p (adj.)":
            [p_text(r.p_adj) if np.isfinite(r.p_adj) else "–" for r in rows],
        "verdict": [verdict(r, a, b) for r in rows],
        "SD per seed": [f"{r.seed_sd:.2f}" for r in rows],
        "floor SD": [f"{r.floor_sd:.2f}" for r in rows],
    })


def noise_view(tests: pd.DataFrame, names: Sequence[str], metrics: Sequence[str] = ("wa", "ua")) -> pd.DataFrame:
    """Where the noise comes from: per comparison and metric, the SD of the per-seed change and the
    test set's floor (points), and the seeds behind them."""
    rows = []
    per = _per(tests, names, metrics)
    for i, name in enumerate(names):
        for r in tests.iloc[per * i: per * (i + 1)].itertuples():
            rows.append({"comparison": name, "metric": metric_name(r.metric), "SD of the per-seed change": r.seed_sd,
                         "test-set floor (SD)": r.floor_sd, "seeds": int(r.n_seeds),
                         "utterances": int(r.n_utterances)})
    return pd.DataFrame(rows)


# -- calibration and power --------------------------------------------------------------------
SCENARIO_WORDS = {"flips": "per-utterance flips only", "system": "system-by-utterance effects",
                  "seed": "per-seed shifts (about a point)", "both": "system effects and seed shifts"}


def calibration_view(cal: pd.DataFrame) -> pd.DataFrame:
    """The simulated false-positive rates at 0.05 (percent), one row per (scenario, seeds)."""
    rows = []
    for (scen, s), g in cal.groupby(["scenario", "seeds"], sort=False):
        g = g.set_index("metric")
        rows.append({"null scenario": SCENARIO_WORDS.get(scen, scen), "seeds": int(s),
                     "new test, WA": f"{100 * g.loc['wa', 'rate_new']:.1f}",
                     "new test, UA": f"{100 * g.loc['ua', 'rate_new']:.1f}",
                     "Satterthwaite, WA": f"{100 * g.loc['wa', 'rate_satterthwaite']:.1f}",
                     "Satterthwaite, UA": f"{100 * g.loc['ua', 'rate_satterthwaite']:.1f}",
                     "former verdict, WA": f"{100 * g.loc['wa', 'rate_former']:.1f}"
                     if np.isfinite(g.loc["wa", "rate_former"]) else "–",
                     "SD per seed / floor (WA)": f"{g.loc['wa', 'seed_sd']:.2f} / {g.loc['wa', 'floor_sd']:.2f}"})
    return pd.DataFrame(rows)


def glue_calibration(cal: pd.DataFrame) -> None:
    """Glue every rate as ``cal_<scenario>_<seeds>_<metric>_<test>`` (percent), the replicate count and
    the Monte-Carlo SE of a 5 % rate (``cal_reps``, ``cal_mc_se``), and the extremes of the new test."""
    for r in cal.itertuples():
        base = f"cal_{r.scenario}_{int(r.seeds)}_{r.metric}"
        glue_number(f"{base}_new", 100 * r.rate_new)
        glue_number(f"{base}_satt", 100 * r.rate_satterthwaite)
        if np.isfinite(r.rate_former):
            glue_number(f"{base}_former", 100 * r.rate_former)
        glue_number(f"{base}_coverage", 100 * r.coverage)
    glue_number("cal_reps", int(cal["n_reps"].iloc[0]), "{:,.0f}")
    glue_number("cal_mc_se", 100 * float(cal["mc_se"].iloc[0]), "{:.2f}")
    glue_number("cal_new_max", 100 * float(cal["rate_new"].max()))
    glue_number("cal_new_min", 100 * float(cal["rate_new"].min()))
    glue_number("cal_satt_max", 100 * float(cal["rate_satterthwaite"].max()))
    glue_number("cal_former_max", 100 * float(cal["rate_former"].max()))
    glue_number("cal_n_utterances", int(cal["n_utterances"].iloc[0]), "{:,.0f}")


def ideal_view(sizes: pd.DataFrame) -> pd.DataFrame:
    """The exact sizes of :func:`pddslib.paper.simulate.ideal_sizes` (percent): rows floor/seed ratio,
    columns each test at each number of seeds."""
    out = {"floor / seed part": [f"{r:g}" for r in dict.fromkeys(sizes["ratio"])]}
    for s_, g in sizes.groupby("seeds", sort=True):
        out[f"new, {s_} seeds"] = [f"{100 * x:.1f}" for x in g["fiducial"]]
        out[f"Satterthwaite, {s_} seeds"] = [f"{100 * x:.1f}" for x in g["satterthwaite"]]
    return pd.DataFrame(out)


def glue_ideal(sizes: pd.DataFrame) -> None:
    """Glue ``ideal_<test>_max_<seeds>`` and ``ideal_new_min_<seeds>`` (percent) for the prose."""
    for s_, g in sizes.groupby("seeds"):
        glue_number(f"ideal_satt_max_{s_}", 100 * g["satterthwaite"].max())
        glue_number(f"ideal_new_max_{s_}", 100 * g["fiducial"].max())
        glue_number(f"ideal_new_min_{s_}", 100 * g["fiducial"].min())


def _needed(n: Any, below: bool, cap: int = 1000) -> str:
    if n is not None and np.isfinite(n):
        return f"{int(n)}"
    return "never (below the floor)" if below else f"> {cap}"


def power_view(cp: pd.DataFrame, labels: dict[str, str] | None = None,
               seeds: Sequence[int] = (3, 5, 10, 20)) -> pd.DataFrame:
    """The power table: per claimed gain, the measured noise, the power at each seed count and the
    seeds needed for 80 % (at the measured per-seed SD and at its 95 % upper bound)."""
    labels = labels or {}
    rows = list(cp.itertuples())
    out = {"model": [labels.get(r.model, r.model) for r in rows],
           "metric": [METRIC_NAMES.get(r.metric, r.metric) for r in rows],
           "claimed gain": [f"{r.claim:+.1f}" for r in rows],
           "SD per seed (95% upper)": [f"{r.seed_sd:.2f} ({r.seed_sd_high:.1f})" for r in rows],
           "floor SD": [f"{r.floor_sd:.2f}" for r in rows]}
    for s in seeds:
        out[f"power, {s} seeds"] = [f"{100 * getattr(r, f'power_{s}'):.0f}%" for r in rows]
    out["seeds for 80%"] = [_needed(r.seeds_needed, r.below_floor) for r in rows]
    out["… at the upper SD"] = [_needed(r.seeds_needed_high, r.below_floor) for r in rows]
    out["detectable now (80%)"] = [f"{r.detectable_now:.1f}" for r in rows]
    return pd.DataFrame(out)


def power_words(cp: pd.DataFrame, labels: dict[str, str] | None = None) -> str:
    """What the present runs can and cannot detect, in a few sentences generated from the table."""
    labels = labels or {}
    if cp.empty:
        return "No comparison has two seeds or more: no power can be computed."
    n = int(cp["n_seeds"].iloc[0])
    below = cp[cp["below_floor"]]
    reachable = cp[~cp["below_floor"] & cp["seeds_needed"].notna()]
    now = cp[cp["power_now"] >= 0.8]
    best = cp.loc[cp["detectable_now"].idxmin()]
    text = [f"With the present {n} seeds, {len(now)} of the {len(cp)} claimed gains would be detected with 80% power "
            f"if true. The smallest change these runs detect with 80% power is {best.detectable_now:.1f} points "
            f"({labels.get(best.model, best.model)}, {METRIC_NAMES[best.metric]}); the median over the "
            f"{len(cp)} is {cp['detectable_now'].median():.1f} points."]
    if len(below):
        names = ", ".join(f"{labels.get(r.model, r.model)} {METRIC_NAMES[r.metric]} ({r.claim:+.1f} < "
                          f"{r.floor_effect:.1f})" for r in below.itertuples())
        text.append(f"{len(below)} claimed gains are below this test set's floor and cannot be seen on it at any "
                    f"number of seeds: {names}.")
    if len(reachable):
        text.append(f"{len(reachable)} need between {int(reachable['seeds_needed'].min())} and "
                    f"{int(reachable['seeds_needed'].max())} seeds at the measured per-seed SD (more if the SD is "
                    "at its upper bound).")
    return " ".join(text)


__all__ = ["calibration_view", "compare_significance", "correction_phrase", "glue_calibration", "glue_ideal",
           "glue_tests", "ideal_view", "interval", "metric_name", "noise_view", "pair_names", "power_view",
           "power_words", "rows_view", "significance_view", "significance_word", "split_by_sign", "summary_sentence",
           "verdict", "words"]
