"""Which reading? The open readings of the paper and the controls, run side by side.

The paper leaves several choices open; each is an option of the library, and this module runs
them all on one corpus so that their effect can be read beside the noise of the test set:

====================  ==============================================================================
kernel (Eq. 1)        not normalised (weights 0.607, 1, 0.607; the default) or ``normalize="sum"``
uniform pairs         Table 2's uniform balancing raises each ordered cell i>j (default) or each
                      unordered pair {i, j} to 400 (``pairs="unordered"``)
targets               the original samples' targets: vote distributions (default) or the one-hot
                      consensus label (``targets="onehot"``; the paper's Fig. 1a, the baselines' own)
batching              batches of similar length (default) or random minibatches (``bucket=False``)
alignment             mixup of sequences of different lengths: pad (default), crop, interp
recipe                the shared training settings (default) or each model's original recipe
controls              as much new data as PDDS without PDDS's distribution (``oversample``,
                      ``mixup``, ``flat``), and the class-weighted loss on the original data
====================  ==============================================================================

:func:`reading_sizes` tabulates, from vote counts alone (the packaged IEMOCAP counts), how many
samples PDDS and uniform balancing add under each (kernel, pairs) reading and which readings are
consistent with the paper's own statements. :func:`readings` trains every row
(:data:`READINGS`) over seeds; :func:`readings_tests` runs the paired tests
(:mod:`pddslib.paper.significance`) of :data:`COMPARISONS`; :func:`conclusion` words the result from
the numbers. The book's chapter "Which reading?" (``notebooks/readings.py``) shows them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..config import ORIGINAL_RECIPES, RunSettings
from ..pdds.counts import CountTable
from ..pdds.registry import plan_for
from ..pdds.smoothing import kernel_weights
from ..runs.corpus import Corpus
from ..runs.sweep import ExperimentResult, run_specs_with

#: The models of the chapter on real data (CLTNet and its unimodal variants, Table 1's last rows).
READINGS_MODELS: tuple[str, ...] = ("cltnet", "cltnet_text", "cltnet_audio")
#: On the synthetic demo corpus (and in quick mode) only CLTNet: the demo's CPU budget.
READINGS_DEMO_MODELS: tuple[str, ...] = ("cltnet",)
#: Models run under their original recipe as well (real data only; CLTNet's recipe is the default).
RECIPE_MODELS: tuple[str, ...] = tuple(ORIGINAL_RECIPES)
#: The rows of a model that only enters the recipe comparison.
RECIPE_ROWS: tuple[str, ...] = ("none", "pdds", "none original recipe", "pdds original recipe")


@dataclass(frozen=True)
class Reading:
    """One row of the chapter: a strategy with the settings of one reading.

    Attributes
    ----------
    name : str
        The row's name (``normalize=sum``); the Decisions page refers to rows by it.
    strategy : str
    params : dict
        Flat run settings (sampler parameters, :class:`~pddslib.config.TrainConfig` fields).
    group : str
        Which open choice it belongs to.
    what : str
        One line for the table.
    original_recipe : bool
        Train with the model's :data:`~pddslib.config.ORIGINAL_RECIPES` (rows skipped for models
        that have none: their runs would be the default rows').
    """

    name: str
    strategy: str
    params: dict[str, Any] = field(default_factory=dict)
    group: str = ""
    what: str = ""
    original_recipe: bool = False

    def applies_to(self, model: str) -> bool:
        return not self.original_recipe or model in ORIGINAL_RECIPES


READINGS: tuple[Reading, ...] = (
    Reading("pdds", "pdds", {}, "default", "PDDS as this companion reads the paper (the reference row)"),
    Reading("none", "none", {}, "default", "the original training data (Table 1's 'without PDDS')"),
    Reading("normalize=sum", "pdds", {"normalize": "sum"}, "kernel",
            "PDDS with the kernel of Eq. (1) divided by its sum"),
    Reading("uniform pairs=ordered", "uniform", {"pairs": "ordered"}, "uniform pairs",
            "uniform balancing, each ordered cell i>j below the level raised to it (Table 2's row)"),
    Reading("uniform pairs=unordered", "uniform", {"pairs": "unordered"}, "uniform pairs",
            "uniform balancing, each unordered pair {i, j} below the level raised to it"),
    Reading("none targets=onehot", "none", {"targets": "onehot"}, "targets",
            "the original data with one-hot consensus targets (Fig. 1a; the baselines' own papers)"),
    Reading("pdds targets=onehot", "pdds", {"targets": "onehot"}, "targets",
            "PDDS, its original samples with one-hot consensus targets (mixes keep Eq. 3's labels)"),
    Reading("none bucket=off", "none", {"bucket": False}, "batching",
            "the original data in random minibatches (no length buckets)"),
    Reading("pdds bucket=off", "pdds", {"bucket": False}, "batching",
            "PDDS in random minibatches (no length buckets)"),
    Reading("align=crop", "pdds", {"align": "crop"}, "alignment", "PDDS, mixes cut to the shorter sequence"),
    Reading("align=interp", "pdds", {"align": "interp"}, "alignment",
            "PDDS, the shorter sequence stretched linearly in time"),
    Reading("none original recipe", "none", {}, "recipe", "the original data, the model's original recipe",
            original_recipe=True),
    Reading("pdds original recipe", "pdds", {}, "recipe", "PDDS, the model's original recipe",
            original_recipe=True),
    Reading("oversample", "oversample", {}, "controls", "PDDS's number of new rows as copies of random originals"),
    Reading("mixup", "mixup", {}, "controls", "PDDS's number of new rows as plain mixup of random clear samples"),
    Reading("flat", "flat", {}, "controls", "PDDS's new ambiguous samples spread evenly over the pairs"),
    Reading("none class_weight=balanced", "none", {"class_weight": "balanced"}, "controls",
            "the original data, KL loss weighted by inverse class frequency"),
)

#: The paired tests: (condition A, condition B, group, question); the change reported is B - A.
COMPARISONS: tuple[tuple[str, str, str, str], ...] = (
    ("none", "pdds", "default", "PDDS vs the original data (Table 1)"),
    ("pdds", "normalize=sum", "kernel", "sum-normalised vs unnormalised kernel, PDDS"),
    ("none", "normalize=sum", "kernel", "PDDS (sum-normalised) vs the original data"),
    ("uniform pairs=ordered", "pdds", "uniform pairs", "PDDS vs uniform balancing, ordered pairs (Table 2)"),
    ("uniform pairs=unordered", "pdds", "uniform pairs", "PDDS vs uniform balancing, unordered pairs"),
    ("uniform pairs=ordered", "normalize=sum", "uniform pairs", "PDDS (sum-normalised) vs uniform, ordered pairs"),
    ("uniform pairs=unordered", "normalize=sum", "uniform pairs",
     "PDDS (sum-normalised) vs uniform, unordered pairs"),
    ("none targets=onehot", "pdds targets=onehot", "targets", "PDDS vs the original data, one-hot targets on both"),
    ("none targets=onehot", "pdds", "targets", "PDDS (vote targets) vs the original data with one-hot targets"),
    ("pdds", "pdds targets=onehot", "targets", "one-hot vs vote targets, PDDS"),
    ("pdds", "pdds bucket=off", "batching", "random minibatches vs length buckets, PDDS"),
    ("none bucket=off", "pdds bucket=off", "batching", "PDDS vs the original data, random minibatches on both"),
    ("pdds", "align=crop", "alignment", "crop vs pad, PDDS"),
    ("pdds", "align=interp", "alignment", "interp vs pad, PDDS"),
    ("none original recipe", "pdds original recipe", "recipe", "PDDS vs the original data, the original recipe"),
    ("none", "none original recipe", "recipe", "original vs shared recipe, the original data"),
    ("pdds", "pdds original recipe", "recipe", "original vs shared recipe, PDDS"),
    ("oversample", "pdds", "controls", "PDDS vs random oversampling (as much new data)"),
    ("mixup", "pdds", "controls", "PDDS vs plain mixup (as much new data)"),
    ("flat", "pdds", "controls", "PDDS vs a flat distribution of its new ambiguous samples"),
    ("none class_weight=balanced", "pdds", "controls", "PDDS vs the class-weighted loss on the original data"),
)

_BY_NAME = {r.name: r for r in READINGS}


def reading(name: str) -> Reading:
    """The row called ``name`` (see :data:`READINGS`)."""
    if name not in _BY_NAME:
        raise ValueError(f"unknown reading {name!r}; expected one of {', '.join(_BY_NAME)}")
    return _BY_NAME[name]


def _names(models: str | Sequence[str]) -> list[str]:
    if isinstance(models, str):
        return [m.strip() for m in models.split(",") if m.strip()]
    return list(models)


def readings_models(models: str | Sequence[str] | None = None, *, synthetic: bool, quick: bool = False) -> list[str]:
    """The chapter's models: ``models`` (a list or ``"a,b"``) or the default for the corpus.

    Default: :data:`READINGS_MODELS` on real data; :data:`READINGS_DEMO_MODELS` on the demo
    corpus and in quick mode.
    """
    if models is None:
        return list(READINGS_DEMO_MODELS if synthetic or quick else READINGS_MODELS)
    return _names(models)


def recipe_models(models: str | Sequence[str] | None = None, *, synthetic: bool, quick: bool = False) -> list[str]:
    """The models also run under their original recipe (:data:`RECIPE_ROWS` only), or the default:
    :data:`RECIPE_MODELS` on real data, none on the demo corpus and in quick mode (SpeechText and
    MAT would add a quarter of the demo's CPU time for rows that say nothing about IEMOCAP)."""
    if models is None:
        return [] if synthetic or quick else list(RECIPE_MODELS)
    return _names(models)


def row_names(rows: str | Sequence[str] | None = None) -> list[str] | None:
    """``"pdds,none"`` -> ``["pdds", "none"]`` (checked against :data:`READINGS`); None: every row."""
    if rows is None:
        return None
    names = _names(rows)
    for n in names:
        reading(n)
    return names


# -- the training-set sizes of each reading ---------------------------------------------------------
def reading_sizes(counts: CountTable, *, n_train: int | None = None, level: int | None = None,
                  sigma: float | None = None) -> pd.DataFrame:
    """How many samples PDDS and uniform balancing add under each (kernel, pairs) reading.

    The kernel's normalisation changes PDDS's plan only, the pairs' reading uniform balancing's
    only; the four combinations are checked against three statements of the paper:

    * ``clause_applies``: "to avoid undersampling, we use the original data when the original
      quantity of ambiguous samples has met or exceeded the smooth distribution" (Section 2.1.2)
      applies to at least one cell (``clause_cells``: cells whose original count is at least the
      smoothed one);
    * ``uniform_largest``: "Uniform balancing has the largest training dataset" (Section 3.4):
      uniform adds more samples than PDDS and than happiness balancing;
    * ``most_below``: "most of them are less than 400" (Section 3.4): most of the cells that
      uniform balancing raises (clear classes and ordered cells, or unordered pairs) are below
      the level.

    Parameters
    ----------
    counts : CountTable
        E.g. :func:`pddslib.reference.iemocap_counts` ("train": sessions 1-4).
    n_train : int, optional
        The training set before resampling (default: the clear and ambiguous samples of
        ``counts``); the sizes after are ``n_train`` plus the new samples.
    level, sigma : optional
        Uniform level and kernel width (default: the samplers').

    Returns
    -------
    pandas.DataFrame
        One row per (normalize, pairs).
    """
    base = int(counts.n_clear + counts.n_ambiguous) if n_train is None else int(n_train)
    kw_u = {} if level is None else {"level": int(level)}
    kw_p = {} if sigma is None else {"sigma": float(sigma)}
    happiness = plan_for("happiness", counts).new_samples
    c = len(counts.classes)
    off = ~np.eye(c, dtype=bool)
    rows = []
    for normalize in ("none", "sum"):
        pdds = plan_for("pdds", counts, normalize=normalize, **kw_p)
        w = kernel_weights(pdds.params["sigma"] if sigma is None else sigma, normalize)
        clause = int((counts.ambiguous[off] >= pdds.smoothed[off]).sum())
        for pairs in ("ordered", "unordered"):
            uni = plan_for("uniform", counts, pairs=pairs, **kw_u)
            lvl = int(uni.params["level"])
            amb = counts.ambiguous
            if pairs == "ordered":
                cells = amb[off]
            else:
                cells = np.array([amb[i, j] + amb[j, i] for i in range(c) for j in range(i + 1, c)])
            below = int((counts.clear < lvl).sum() + (cells < lvl).sum())
            n_cells = c + len(cells)
            row = {
                "normalize": normalize, "pairs": pairs,
                "kernel": f"{w[0]:.3f}, {w[1]:.3f}, {w[2]:.3f}",
                "pdds_new": pdds.new_samples, "pdds_new_clear": int(pdds.new_clear.sum()),
                "pdds_new_ambiguous": int(pdds.new_ambiguous.sum()), "pdds_ambiguous": int(pdds.targets.sum()),
                "uniform_new": uni.new_samples, "uniform_new_clear": int(uni.new_clear.sum()),
                "uniform_new_ambiguous": int(uni.new_ambiguous.sum()), "happiness_new": int(happiness),
                "n_train": base, "pdds_train": base + pdds.new_samples, "uniform_train": base + uni.new_samples,
                "clause_cells": clause, "n_ambiguous_cells": int(off.sum()),
                "below_level": below, "n_level_cells": n_cells, "level": lvl,
            }
            row["clause_applies"] = clause > 0
            row["uniform_largest"] = uni.new_samples > max(pdds.new_samples, happiness)
            row["most_below"] = 2 * below > n_cells
            row["consistent"] = row["clause_applies"] and row["uniform_largest"] and row["most_below"]
            rows.append(row)
    return pd.DataFrame(rows)


# -- the runs --------------------------------------------------------------------------------------
def reading_specs(corpus: Corpus, settings: RunSettings, models: Sequence[str],
                  rows: Sequence[str] | None = None, recipe: Sequence[str] = ()) -> list[tuple[str, Any]]:
    """``(row name, RunSpec)`` of every (model, row, seed): every row (or ``rows``) for ``models``,
    :data:`RECIPE_ROWS` for the models of ``recipe`` not among them; rows that do not apply to a
    model (an original recipe it does not have) are skipped."""
    chosen = [reading(n) for n in rows] if rows is not None else list(READINGS)
    plan = [(m, chosen) for m in models] + [(m, [reading(n) for n in RECIPE_ROWS]) for m in recipe if m not in models]
    out = []
    for model, mine in plan:
        for r in mine:
            if not r.applies_to(model):
                continue
            s = dataclasses.replace(settings, original_recipe=True) if r.original_recipe else settings
            for seed in settings.seed_values:
                out.append((r.name, corpus.spec(s, model, r.strategy, seed, **r.params)))
    return out


def readings(corpus: Corpus, settings: RunSettings, models: str | Sequence[str] | None = None,
             rows: Sequence[str] | None = None, recipe: str | Sequence[str] | None = None,
             log: Callable[[str], Any] | None = print) -> ExperimentResult:
    """Train (or load) every row of :data:`READINGS` for each model over the settings' seeds.

    Parameters
    ----------
    models : optional
        Default: :func:`readings_models` for the corpus.
    rows : optional
        Names of :data:`READINGS` (default: all).
    recipe : optional
        Models run with :data:`RECIPE_ROWS` only (default: :func:`recipe_models` for the corpus).

    Returns
    -------
    ExperimentResult
        Its ``runs`` carry a ``reading`` column (the row's name).
    """
    models = readings_models(models, synthetic=corpus.synthetic)
    recipe = recipe_models(recipe, synthetic=corpus.synthetic)
    named = reading_specs(corpus, settings, models, rows, recipe)
    res = run_specs_with(settings, [s for _, s in named], corpus, log)
    res.runs.insert(0, "reading", [n for n, _ in named])
    return res


#: The soft metrics of every run (pddslib.runs.metrics.soft_metrics), summarised beside WA and UA.
SOFT_METRICS: tuple[str, ...] = ("nll", "brier", "ece", "kl_votes")


def readings_summary(runs: pd.DataFrame) -> pd.DataFrame:
    """Per model and row: group, description, training-set size, WA/UA mean and std (percent), seeds,
    and the soft metrics' mean and std (``nll_mean``, ...; as they are: nats, Brier, ECE fraction)."""
    g = runs.groupby(["model", "reading"], sort=False)
    out = pd.DataFrame({
        "wa_mean": 100 * g["wa"].mean(), "wa_std": 100 * g["wa"].std(ddof=1),
        "ua_mean": 100 * g["ua"].mean(), "ua_std": 100 * g["ua"].std(ddof=1),
        "n_train": g["n_train"].first(), "n_seeds": g["seed"].nunique(),
    }).reset_index()
    for m in SOFT_METRICS:
        if m in runs.columns:
            out[f"{m}_mean"] = g[m].mean().to_numpy()
            out[f"{m}_std"] = g[m].std(ddof=1).to_numpy()
    out.insert(2, "group", [reading(n).group for n in out["reading"]])
    out.insert(3, "what", [reading(n).what for n in out["reading"]])
    return out


def readings_tests(result: ExperimentResult, classes: Sequence[str], *, n_boot: int = 2000,
                   comparisons: Sequence[tuple[str, str, str, str]] = COMPARISONS) -> pd.DataFrame:
    """The two-source tests of :data:`COMPARISONS` for every model (those whose rows were run).

    The chapter is exploratory: one family over every (model, comparison, metric), with
    Benjamini-Hochberg's false-discovery-rate correction.

    Returns
    -------
    pandas.DataFrame
        One row per (model, comparison, metric): ``model, a, b, group, question, metric`` and the
        columns of :func:`pddslib.paper.comparisons.compare` (points).
    """
    from .comparisons import FAMILIES, compare

    runs = result.runs
    pairs = []
    for model in dict.fromkeys(runs["model"]):
        have = set(runs.loc[runs.model == model, "reading"])
        pairs += [({"model": model, "a": a, "b": b, "group": group, "question": question},
                   {"model": model, "reading": a}, {"model": model, "reading": b})
                  for a, b, group, question in comparisons if a in have and b in have]
    if not pairs:
        return pd.DataFrame(columns=["model", "a", "b", "group", "question", "metric", "estimate", "low", "high",
                                     "p", "p_adj", "significant", "m", "correction"])
    out = compare(_one_run_per_seed(result), classes, pairs, correction=FAMILIES["readings"].correction,
                  n_boot=n_boot)
    out.insert(0, "family", "readings")
    return out


def _one_run_per_seed(result: ExperimentResult) -> ExperimentResult:
    """A row (e.g. "pdds") listed twice for one model keeps its first run per seed."""
    runs = result.runs.drop_duplicates(["model", "reading", "seed"] + (["fold"] if "fold" in result.runs else []))
    return ExperimentResult(runs, result.predictions)


__all__ = ["SOFT_METRICS", "COMPARISONS", "READINGS", "READINGS_DEMO_MODELS", "READINGS_MODELS", "RECIPE_MODELS",
           "RECIPE_ROWS", "Reading", "reading", "reading_sizes", "reading_specs", "readings", "readings_models",
           "readings_summary", "readings_tests", "recipe_models", "row_names"]
