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

from typing import Sequence

import numpy as np
import pandas as pd

from ..config import RunSettings
from ..pdds.counts import CountTable
from ..pdds.registry import plan_for
from ..pdds.resample import STRATEGIES
from ..reference import paper_table1, paper_table2
from ..runs.corpus import Corpus
from ..runs.sweep import ExperimentResult, run_settings, run_specs_with, summarise

TABLE1_MODELS: tuple[str, ...] = ("speechtext", "mat", "mcsan", "cltnet_audio", "cltnet_text", "cltnet")
STRATEGY_LABELS: dict[str, str] = {
    "none": "Original training data",
    "happiness": "Only balancing happiness",
    "uniform": "Uniform balancing",
    "pdds": "With PDDS",
}


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
        r = {"model": model, "label": reference.loc[model, "label"] if model in reference.index else model}
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
    return s[["strategy", "label", "n_train", "wa_mean", "wa_std", "ua_mean", "ua_std", "paper_wa", "paper_ua", "n_seeds"]]


# -- significance ------------------------------------------------------------------------------
def significance(result: ExperimentResult, classes: Sequence[str], pairs: Sequence[tuple[str, str, str]],
                 *, n_boot: int = 2000) -> pd.DataFrame:
    """Paired tests of condition B against condition A on the same seeds and test utterances.

    Parameters
    ----------
    result : ExperimentResult
        Runs with their predictions (as returned by :func:`table1` or :func:`table2`).
    classes : sequence of str
    pairs : sequence of (model, strategy A, strategy B)
        The comparisons, e.g. ``("cltnet", "none", "pdds")``.

    Returns
    -------
    pandas.DataFrame
        One row per comparison: ``model, a, b`` and the fields of
        :class:`pddslib.paper.significance.Comparison` (percentage points), ``significant`` and ``words``.
    """
    from .significance import compare_predictions

    runs = result.runs
    rows = []
    for model, a, b in pairs:
        sides = []
        for strat in (a, b):
            sel = runs[(runs.model == model) & (runs.strategy == strat)].sort_values("seed")
            sides.append((sel["seed"].tolist(), [result.predictions[k] for k in sel["key"]]))
        (seeds_a, preds_a), (seeds_b, preds_b) = sides
        if seeds_a != seeds_b or not seeds_a:
            raise ValueError(f"{model}: {a} and {b} were not run with the same seeds ({seeds_a} vs {seeds_b})")
        c = compare_predictions(preds_a, preds_b, classes, n_boot=n_boot)
        label = f"{STRATEGY_LABELS.get(b, b)} vs {STRATEGY_LABELS.get(a, a).lower()}"
        rows.append({"model": model, "a": a, "b": b, **vars(c), "significant": c.significant,
                     "words": c.words(f"{model}: {label}")})
    return pd.DataFrame(rows)


def table1_significance(result: ExperimentResult, classes: Sequence[str]) -> pd.DataFrame:
    """Table 1's comparisons: every model, with PDDS against without."""
    models = list(dict.fromkeys(result.runs["model"]))
    return significance(result, classes, [(m, "none", "pdds") for m in models])


def table2_significance(result: ExperimentResult, classes: Sequence[str], model: str = "cltnet") -> pd.DataFrame:
    """Table 2's comparisons: PDDS against each other training set."""
    others = [s for s in dict.fromkeys(result.runs["strategy"]) if s != "pdds"]
    return significance(result, classes, [(model, s, "pdds") for s in others])


# -- Fig. 5 -----------------------------------------------------------------------------------
def fig5(corpus: Corpus, settings: RunSettings, model: str = "cltnet", log=print) -> ExperimentResult:
    """CLTNet without and with PDDS (the runs behind the confusion matrices)."""
    return run_settings(settings, corpus, (model,), ("none", "pdds"), log)


def confusion_by_strategy(runs: pd.DataFrame, classes: Sequence[str]) -> dict[str, np.ndarray]:
    """Confusion counts summed over seeds, per strategy (rows: consensus label)."""
    out = {}
    for strat, g in runs.groupby("strategy", sort=False):
        out[strat] = np.sum([np.asarray(c) for c in g["confusion"]], axis=0)
    return {k: out[k] for k in ("none", "pdds") if k in out} | {k: v for k, v in out.items() if k not in ("none", "pdds")}


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


def vote_counts(source: str = "reference", *, iemocap_root: str = "", sessions: str | Sequence[int] = "1,2,3,4",
                policy: str = "default", crema_d: str = "download", demo_scale: float | None = None,
                demo_seed: int = 0) -> tuple[CountTable, dict[str, dict[str, int]], str]:
    """Vote statistics for Fig. 1-2 from one of four sources (through :func:`~pddslib.corpora.open_votes`).

    Parameters
    ----------
    source : {"reference", "iemocap", "crema-d", "demo"}
        The packaged aggregate IEMOCAP counts, an IEMOCAP release, CREMA-D's crowd votes, or the
        synthetic demo corpus.

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
    from ..corpora.demo import resolve_scale

    if source == "reference":
        sess = iemocap.session_list(sessions)
        split = iemocap.split_of_sessions(sess)
        if split is None:
            raise ValueError(f"the packaged counts cover sessions 1-4, 5 or all; got sessions {sess}")
        votes, whole = open_votes("reference", split=split), open_votes("reference", split="all")
    elif source == "iemocap":
        votes = whole = open_votes("iemocap", root=iemocap_root, sessions=sessions, policy=policy)
    elif source == "crema-d":
        votes = whole = open_votes("crema-d", path=crema_d)
    elif source == "demo":
        votes = open_votes("demo", scale=resolve_scale(demo_scale), seed=demo_seed, sessions=sessions)
        whole = open_votes("demo", scale=resolve_scale(demo_scale), seed=demo_seed)
    else:
        raise ValueError(f"source must be 'reference', 'iemocap', 'crema-d' or 'demo', got {source!r}")
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
