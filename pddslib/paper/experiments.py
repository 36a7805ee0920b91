"""One function per paper artifact, each returning tidy pandas tables.

=====================  ===================================================================
:func:`distribution`   Fig. 1-2: clear/ambiguous counts and the four strategies' plans
:func:`table1`         Table 1: six models without and with PDDS
:func:`table2`         Table 2: CLTNet with none / happiness / uniform / PDDS training data
:func:`fig5`           Fig. 5: CLTNet's confusion matrices without and with PDDS
:func:`fig6`           Fig. 6: WA and UA against the mixup weight p
=====================  ===================================================================

Training runs go through :mod:`pddslib.runs`, so they are cached on disk and shared between
artifacts (Table 2's "none" and "pdds" rows are Table 1's CLTNet runs, Fig. 5 reuses them too).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..config import RunSettings
from ..models.registry import MODELS
from ..pdds.counts import CountTable
from ..pdds.registry import LABELS, STRATEGIES, plan_for
from ..reference import paper_table1, paper_table2
from ..runs.corpus import Corpus
from ..runs.sweep import ExperimentResult, run_settings, run_specs_with, summarise

TABLE1_MODELS: tuple[str, ...] = ("speechtext", "mat", "mcsan", "cltnet_audio", "cltnet_text", "cltnet")
#: name -> label of every strategy (declared in :mod:`pddslib.pdds.registry`; a live view).
STRATEGY_LABELS = LABELS


# -- Fig. 1-2 ----------------------------------------------------------------------------------
def distribution(counts: CountTable, *, sigma: float | None = None, normalize: str | None = None,
                 level: int | None = None) -> dict[str, pd.DataFrame]:
    """Tables behind Fig. 1-2: counts, smoothed targets, and the four strategies' sizes.

    ``None`` means the sampler's default (:mod:`pddslib.pdds.resample`).

    Returns
    -------
    dict of DataFrames
        ``clear`` (class, count, balanced), ``pairs`` (major, minor, original, smoothed, target,
        new), ``strategies`` (strategy, clear, ambiguous, new samples, clear + ambiguous after).
    """
    given = {"pdds": {k: v for k, v in (("sigma", sigma), ("normalize", normalize)) if v is not None},
             "uniform": {"level": level} if level is not None else {}}
    pdds = plan_for("pdds", counts, **given["pdds"])
    cl = counts.classes
    clear = pd.DataFrame({"class": cl, "original": counts.clear, "balanced": pdds.balanced_clear,
                          "new": pdds.new_clear})
    rows = []
    for i, a in enumerate(cl):
        for j, b in enumerate(cl):
            if i != j:
                rows.append({"major": a, "minor": b, "original": int(counts.ambiguous[i, j]),
                             "smoothed": float(pdds.smoothed[i, j]), "target": int(pdds.targets[i, j]),
                             "new": int(pdds.new_ambiguous[i, j])})
    strat = []
    for s in STRATEGIES:
        plan = plan_for(s, counts, **given.get(s, {}))
        strat.append({"strategy": s, "label": STRATEGY_LABELS[s],
                      "clear": int(plan.balanced_clear.sum()), "ambiguous": int(plan.targets.sum()),
                      "new_samples": plan.new_samples,
                      "clear_and_ambiguous": int(plan.balanced_clear.sum() + plan.targets.sum())})
    return {"clear": clear, "pairs": pd.DataFrame(rows), "strategies": pd.DataFrame(strat)}


# -- Table 1 ---------------------------------------------------------------------------------
def table1(corpus: Corpus, settings: RunSettings, models: Sequence[str] = TABLE1_MODELS,
           log=print) -> ExperimentResult:
    """Every model without (``none``) and with (``pdds``) PDDS, over seeds."""
    return run_settings(settings, corpus, models, ("none", "pdds"), log)


def table1_summary(runs: pd.DataFrame, paper: bool = True) -> pd.DataFrame:
    """Per model: WA/UA mean and std without and with PDDS, the change, and the paper's numbers.

    Values are percentages. ``d_wa``/``d_ua`` is the mean over seeds of the per-seed change
    (with PDDS minus without, same seed), ``d_*_std`` its standard deviation. ``paper=False``
    (another corpus than IEMOCAP): the ``paper_*`` columns are NaN.
    """
    s = summarise(runs, ("model", "strategy"))
    reference = paper_table1().set_index("model")
    rows = []
    for model in dict.fromkeys(runs["model"]):
        r = {"model": model, "label": MODELS[model].label if model in MODELS else model}
        for strat, tag in (("none", "without"), ("pdds", "with")):
            x = s[(s.model == model) & (s.strategy == strat)]
            for metric in ("wa", "ua"):
                r[f"{metric}_{tag}"] = 100 * float(x[f"{metric}_mean"].iloc[0]) if len(x) else np.nan
                r[f"{metric}_{tag}_std"] = 100 * float(x[f"{metric}_std"].iloc[0]) if len(x) else np.nan
        paired = runs[runs.model == model].pivot_table(index="seed", columns="strategy", values=["wa", "ua"])
        for metric in ("wa", "ua"):
            if ("pdds" in paired[metric]) and ("none" in paired[metric]):
                d = 100 * (paired[metric]["pdds"] - paired[metric]["none"]).dropna()
                r[f"d_{metric}"], r[f"d_{metric}_std"] = float(d.mean()), float(d.std(ddof=1)) if len(d) > 1 else np.nan
        for col in ("wa_without", "ua_without", "wa_with", "ua_with"):
            r[f"paper_{col}"] = float(reference.loc[model, col]) if model in reference.index else np.nan
        r["paper_d_wa"] = r["paper_wa_with"] - r["paper_wa_without"]
        r["paper_d_ua"] = r["paper_ua_with"] - r["paper_ua_without"]
        r["n_seeds"] = int(runs[runs.model == model]["seed"].nunique())
        if not paper:
            r.update({k: np.nan for k in r if k.startswith("paper_")})
        rows.append(r)
    return pd.DataFrame(rows)


# -- Table 2 -----------------------------------------------------------------------------------
def table2(corpus: Corpus, settings: RunSettings, strategies: Sequence[str] = STRATEGIES,
           model: str = "cltnet", log=print) -> ExperimentResult:
    """CLTNet trained on the original data, happiness-balanced, uniformly balanced, with PDDS."""
    return run_settings(settings, corpus, (model,), strategies, log)


def table2_summary(runs: pd.DataFrame, paper: bool = True) -> pd.DataFrame:
    """Per strategy: training-set size, WA/UA mean and std (percent), and the paper's numbers
    (NaN with ``paper=False``, for another corpus than IEMOCAP)."""
    s = summarise(runs, ("strategy",))
    reference = paper_table2().set_index("strategy")
    s["label"] = s["strategy"].map(STRATEGY_LABELS)
    for m in ("wa", "ua"):
        s[f"{m}_mean"] *= 100
        s[f"{m}_std"] *= 100
        s[f"paper_{m}"] = s["strategy"].map(reference[m]) if paper else np.nan
    return s[["strategy", "label", "n_train", "wa_mean", "wa_std", "ua_mean", "ua_std", "paper_wa", "paper_ua",
              "n_seeds"]]


# -- significance ------------------------------------------------------------------------------
def significance(result: ExperimentResult, classes: Sequence[str], pairs: Sequence[tuple[str, str, str]],
                 *, family: str = "table1", metrics: Sequence[str] = ("wa", "ua"), n_boot: int = 2000) -> pd.DataFrame:
    """Two-source tests of strategy B against strategy A (same seeds, same test utterances), corrected.

    Parameters
    ----------
    result : ExperimentResult
        Runs with their predictions (as returned by :func:`table1` or :func:`table2`).
    classes : sequence of str
    pairs : sequence of (model, strategy A, strategy B)
        The family's comparisons, e.g. ``("cltnet", "none", "pdds")``.
    family : str
        A key of :data:`pddslib.paper.comparisons.FAMILIES` (its correction is applied over every
        row: comparisons times metrics).

    Returns
    -------
    pandas.DataFrame
        One row per (comparison, metric): ``model, a, b, metric`` and the columns of
        :func:`pddslib.paper.comparisons.compare` (points).
    """
    from .comparisons import FAMILIES, compare

    known = set(result.runs["strategy"])
    todo = [(m, a, b) for m, a, b in pairs if a in known and b in known]
    specs = [({"model": m, "a": a, "b": b}, {"model": m, "strategy": a}, {"model": m, "strategy": b})
             for m, a, b in todo]
    out = compare(result, classes, specs, metrics=metrics, correction=FAMILIES[family].correction, n_boot=n_boot)
    out.insert(0, "family", family)
    return out


def table1_significance(result: ExperimentResult, classes: Sequence[str], n_boot: int = 2000) -> pd.DataFrame:
    """Table 1's family (the primary one): every model, with PDDS against without, WA and UA, Holm."""
    models = list(dict.fromkeys(result.runs["model"]))
    return significance(result, classes, [(m, "none", "pdds") for m in models], family="table1", n_boot=n_boot)


def table2_pairs(strategies: Sequence[str], model: str = "cltnet") -> list[tuple[str, str, str]]:
    """Table 2's comparisons: each ablation against the original data and against PDDS, and PDDS
    against the original data."""
    others = [s for s in strategies if s not in ("none", "pdds")]
    return ([(model, "none", s) for s in others] + [(model, s, "pdds") for s in others]
            + [(model, "none", "pdds")])


def table2_significance(result: ExperimentResult, classes: Sequence[str], model: str = "cltnet",
                        family: str = "table2", n_boot: int = 2000) -> pd.DataFrame:
    """Table 2's family (:func:`table2_pairs`, WA and UA, Holm); ``family="crema_d"`` on CREMA-D."""
    pairs = table2_pairs(list(dict.fromkeys(result.runs["strategy"])), model)
    if family == "crema_d":  # our claim there: PDDS beats the original data and uniform balancing
        pairs = [(m, a, b) for m, a, b in pairs if b == "pdds" and a in ("none", "uniform")]
    return significance(result, classes, pairs, family=family, n_boot=n_boot)


# -- Fig. 5 -----------------------------------------------------------------------------------
def fig5(corpus: Corpus, settings: RunSettings, model: str = "cltnet", log=print) -> ExperimentResult:
    """CLTNet without and with PDDS (the runs behind the confusion matrices)."""
    return run_settings(settings, corpus, (model,), ("none", "pdds"), log)


def confusion_by_strategy(runs: pd.DataFrame, classes: Sequence[str]) -> dict[str, np.ndarray]:
    """Confusion counts summed over seeds, per strategy (rows: consensus label)."""
    out = {}
    for strat, g in runs.groupby("strategy", sort=False):
        out[strat] = np.sum([np.asarray(c) for c in g["confusion"]], axis=0)
    return ({k: out[k] for k in ("none", "pdds") if k in out}
            | {k: v for k, v in out.items() if k not in ("none", "pdds")})


def recall_change(runs: pd.DataFrame, classes: Sequence[str]) -> pd.DataFrame:
    """Per class: recall without and with PDDS (mean and std over seeds, percent) and the change."""
    rows = []
    for c in classes:
        col = f"recall_{c}"
        piv = runs.pivot_table(index="seed", columns="strategy", values=col)
        d = 100 * (piv["pdds"] - piv["none"])
        rows.append({"class": c, "without": 100 * piv["none"].mean(), "without_std": 100 * piv["none"].std(ddof=1),
                     "with": 100 * piv["pdds"].mean(), "with_std": 100 * piv["pdds"].std(ddof=1),
                     "change": d.mean(), "change_std": d.std(ddof=1)})
    return pd.DataFrame(rows)


def fig5_significance(result: ExperimentResult, classes: Sequence[str], model: str = "cltnet",
                      lean: str = "fru") -> pd.DataFrame:
    """Fig. 5's family: each class's recall and the share of ``lean`` predictions, PDDS against none (Holm).

    Rows: ``metric`` ``recall:<class>`` per class with test utterances and ``share:<lean>``
    (points; recall changes weight each class's utterances, the share all of them).
    """
    from .comparisons import FAMILIES, compare

    truth = result.predictions[result.runs["key"].iloc[0]]["consensus"]
    present = [c for c in classes if (truth == c).any()]
    metrics = [f"recall:{classes.index(c)}" for c in present]
    if lean in classes:
        metrics.append(f"share:{classes.index(lean)}")
    out = compare(result, classes, [({"model": model, "a": "none", "b": "pdds"}, {"model": model, "strategy": "none"},
                                     {"model": model, "strategy": "pdds"})],
                  metrics=metrics, correction=FAMILIES["fig5"].correction)
    out.insert(0, "family", "fig5")
    out.insert(1, "class", [classes[int(m.split(":")[1])] for m in out["metric"]])
    return out


# -- Fig. 6 -----------------------------------------------------------------------------------
def fig6(corpus: Corpus, settings: RunSettings, p_values: Sequence[float] = (0.5, 0.6, 0.7, 0.8, 0.9),
         model: str = "cltnet", log=print) -> ExperimentResult:
    """CLTNet with PDDS for each mixup weight p."""
    specs = [corpus.spec(settings, model, "pdds", seed, p=float(p)) for p in p_values for seed in settings.seed_values]
    return run_specs_with(settings, specs, corpus, log)


def fig6_summary(runs: pd.DataFrame) -> pd.DataFrame:
    """Per p: WA/UA mean and std over seeds (percent)."""
    s = summarise(runs, ("p",))
    for m in ("wa", "ua"):
        s[f"{m}_mean"] *= 100
        s[f"{m}_std"] *= 100
    return s.sort_values("p").reset_index(drop=True)


def fig6_significance(result: ExperimentResult, classes: Sequence[str], best: float = 0.8) -> pd.DataFrame:
    """Fig. 6's family: the trend of WA and UA over p (the per-seed least-squares slope, points per 0.1
    of p) and p = ``best`` against each other p (WA and UA), Holm over all rows."""
    from .comparisons import FAMILIES, correct, pair_tests, slope_test

    ps = sorted(float(p) for p in result.runs["p"].unique())
    parts = [slope_test(result, classes, "p", ps)] if len(ps) > 1 else []
    if best in ps:
        others = [p for p in ps if p != best]
        parts.append(pair_tests(result, classes, [({"a": f"p = {p:g}", "b": f"p = {best:g}"}, {"p": p}, {"p": best})
                                                  for p in others]))
    if not parts:
        return pd.DataFrame()
    out = correct(pd.concat(parts, ignore_index=True), FAMILIES["fig6"].correction)
    out.insert(0, "family", "fig6")
    return out


def vote_counts(source: str = "reference", *, iemocap_root: str = "", sessions: str | Sequence[int] = "1,2,3,4",
                policy: str = "default", crema_d: str = "download", demo_scale: float | None = None,
                demo_seed: int = 0, **options: Any) -> tuple[CountTable, dict[str, dict[str, int]], str]:
    """Vote statistics for Fig. 1-2 from the packaged counts or a corpus (through
    :func:`~pddslib.corpora.open_votes`).

    Parameters
    ----------
    source : {"reference", "iemocap", "crema-d", "demo"} or another registered corpus
        The packaged aggregate IEMOCAP counts, an IEMOCAP release, CREMA-D's crowd votes, the
        synthetic demo corpus, or a corpus of :mod:`pddslib.features.corpus_kinds` that gives
        votes for the figures (its ``figure_votes``).
    **options
        More keywords for a registered corpus's ``figure_votes``.

    Returns
    -------
    counts : CountTable
        Clear/ambiguous counts of ``sessions`` (the packaged counts: sessions 1-4, 5 or all;
        CREMA-D: every voice-only rating).
    one_hot : dict
        ``{split: {class: utterances}}`` per one-hot (consensus) label, for Fig. 1(a): of the whole
        corpus for the packaged counts and the demo, of the sessions read for a release.
    label : str
        A readable description of the source.
    """
    from ..corpora import iemocap, open_votes
    from ..features.corpus_kinds import CorpusKind, find, kinds

    if source == "reference":
        sess = iemocap.session_list(sessions)
        split = iemocap.split_of_sessions(sess)
        if split is None:
            raise ValueError(f"the packaged counts cover sessions 1-4, 5 or all; got sessions {sess}")
        votes, whole = open_votes("reference", split=split), open_votes("reference", split="all")
    else:
        offered = [k.name for k in kinds() if type(k).figure_votes is not CorpusKind.figure_votes]
        kind = find(source)
        if kind is None or kind.name not in offered:
            names = ", ".join(repr(n) for n in ["reference", *offered])
            raise ValueError(f"source must be {names}, got {source!r}")
        votes, whole = kind.figure_votes(iemocap_root=iemocap_root, sessions=sessions, policy=policy,
                                         crema_d=crema_d, demo_scale=demo_scale, demo_seed=demo_seed, **options)
    return votes.counts(), {s: whole.one_hot(s) for s in whole.splits}, votes.label


# -- CREMA-D's clear-sample rule ------------------------------------------------------------------
def crema_d_rules(votes: str = "download", agreements: Sequence[float] = (1.0, 0.9, 0.8, 0.7),
                  modality: str = "voice") -> pd.DataFrame:
    """Clear/ambiguous counts of CREMA-D's crowd votes under each agreement threshold.

    Parameters
    ----------
    votes : str
        ``tabulatedVotes.csv``, its folder, or ``"download"``.
    agreements : sequence of float
        Thresholds in (0.5, 1] (1: every rater agrees).

    Returns
    -------
    pandas.DataFrame
        One row per threshold: ``agreement, clear, clear_<class>..., clear_share, ambiguous,
        ties, other, clips``.
    """
    from ..corpora import crema_d

    rows = []
    for a in agreements:
        c = crema_d.stats(votes, modality, a)
        rows.append({"agreement": float(a), "clear": c.n_clear,
                     **{f"clear_{k}": int(n) for k, n in zip(c.classes, c.clear)},
                     "clear_share": c.n_clear / c.n_utterances, "ambiguous": c.n_ambiguous, "ties": c.ties,
                     "other": c.other, "clips": c.n_utterances})
    return pd.DataFrame(rows)
