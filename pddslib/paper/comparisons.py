"""Families of comparisons between conditions, tested with both sources of noise and corrected.

A *condition* is a set of runs (a model, a training set, a setting) over seeds; a *comparison*
asks whether condition B beats condition A on one statistic. This module pairs the runs of two
conditions seed by seed and utterance by utterance (leave-one-session-out folds are joined: each
utterance is scored once per seed), tests every comparison of a family on each of its metrics
(:func:`pddslib.paper.significance.change_test`), and adjusts the family's p-values
(:mod:`pddslib.paper.multiple`). The result is a long table, one row per (comparison, metric),
in percentage points:

``estimate, low, high`` (the mean change and its 95 % interval), ``p``, ``p_adj``, ``direction``
(which condition is higher), ``significant`` (``p_adj`` below 0.05), ``seed_sd`` (SD of the
per-seed change), ``floor_sd`` (the test set's share of the error), ``n_seeds``,
``n_utterances``, ``m`` (the family's size), ``correction``, and ``p_models``: the former
per-model statistic (a paired bootstrap over utterances holding the trained models fixed, WA and
UA only), which answers "do these particular models differ?", not "does B beat A?".

The families of the book are declared in :data:`FAMILIES`, before any run is made.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..runs.sweep import ExperimentResult
from .significance import ALPHA, change_test, metric_weights


@dataclass(frozen=True)
class Family:
    """A family of comparisons declared by one artifact.

    Attributes
    ----------
    name : str
        The artifact ("Table 1").
    what : str
        The comparisons in words.
    correction : {"holm", "bh"}
    primary : bool
        Declared as the companion's primary question before any run.
    """

    name: str
    what: str
    correction: str = "holm"
    primary: bool = False


#: The book's families, declared before the runs (the Decisions page lists them).
FAMILIES: dict[str, Family] = {
    "table1": Family("Table 1", "each model with PDDS against without, on WA and UA", "holm", primary=True),
    "table2": Family("Table 2", "each ablation against the original data and against PDDS, on WA and UA", "holm"),
    "fig5": Family("Fig. 5", "each class's recall and the share of 'frustration' predictions, with PDDS against "
                   "without", "holm"),
    "fig6": Family("Fig. 6", "the trend of WA and UA over the mixup weight p and p = 0.8 against each other p",
                   "holm"),
    "readings": Family("Which reading?", "each reading and control against its reference row, on WA and UA "
                       "(exploratory)", "bh"),
    "crema_d": Family("CREMA-D", "our claim: PDDS beats the original data and uniform balancing on CREMA-D, on "
                      "WA and UA", "holm"),
}


# -- pairing runs -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Condition:
    """The predictions of one condition: per seed, every scored utterance (folds joined).

    Attributes
    ----------
    pred : numpy.ndarray of int, shape (S, N)
        Predicted class index per seed and utterance (utterances sorted by id).
    truth : numpy.ndarray of int, shape (N,)
        Consensus class index.
    utt_ids : numpy.ndarray of str, shape (N,)
    seeds : tuple of int
    """

    pred: np.ndarray
    truth: np.ndarray
    utt_ids: np.ndarray
    seeds: tuple[int, ...]


def _select(runs: pd.DataFrame, where: Mapping[str, Any]) -> pd.DataFrame:
    mask = np.ones(len(runs), dtype=bool)
    for col, value in where.items():
        if col not in runs.columns:
            raise ValueError(f"runs have no column {col!r} to select {dict(where)}")
        col_values = runs[col]
        mask &= (col_values.isna() if value is None else col_values == value).to_numpy()
    return runs[mask]


def condition(result: ExperimentResult, where: Mapping[str, Any], classes: Sequence[str]) -> Condition:
    """The predictions of the runs matching ``where`` (column -> value), joined per seed.

    Raises
    ------
    ValueError
        When no run matches, a seed has one utterance twice (two runs of one fold and seed), or the
        seeds were not scored on the same utterances.
    """
    sel = _select(result.runs, where)
    if sel.empty:
        raise ValueError(f"no run matches {dict(where)}")
    index = {c: i for i, c in enumerate(classes)}
    preds, utts, truth = [], None, None
    seeds = tuple(int(s) for s in sorted(sel["seed"].unique()))
    for seed in seeds:
        frames = [result.predictions[k] for k in sel[sel.seed == seed]["key"]]
        table = pd.concat(frames, ignore_index=True).sort_values("utt_id", kind="stable")
        ids = table["utt_id"].to_numpy()
        if len(np.unique(ids)) != len(ids):
            raise ValueError(f"{dict(where)}, seed {seed}: an utterance is scored twice (two runs of one fold?)")
        if utts is None:
            utts, truth = ids, table["consensus"].map(index).to_numpy()
        elif not np.array_equal(ids, utts):
            raise ValueError(f"{dict(where)}: seed {seed} was scored on other utterances than seed {seeds[0]}")
        preds.append(table["pred"].map(index).to_numpy())
    return Condition(np.asarray(preds, dtype=np.int64), np.asarray(truth, dtype=np.int64), utts, seeds)


def _check_pair(a: Condition, b: Condition, what: str) -> None:
    if a.seeds != b.seeds:
        raise ValueError(f"{what}: the two conditions were not run with the same seeds ({list(a.seeds)} vs "
                         f"{list(b.seeds)})")
    if not np.array_equal(a.utt_ids, b.utt_ids):
        raise ValueError(f"{what}: the two conditions were not scored on the same test utterances")


# -- scores and tests ---------------------------------------------------------------------------------
def scores(c: Condition, metric: str) -> np.ndarray:
    """``(S, N)`` per-utterance scores of a metric: 1 where right (``"share:K"``: where K is predicted)."""
    if metric.startswith("share:"):
        return (c.pred == int(metric.split(":", 1)[1])).astype(float)
    return (c.pred == c.truth[None, :]).astype(float)


def contrast_test(conditions: Sequence[Condition], coef: Sequence[float], metric: str, n_classes: int) -> dict:
    """Test the contrast ``sum_j coef_j * statistic_j`` of several conditions (points).

    Two conditions with ``coef = (-1, 1)`` give the change B - A; J conditions with centred
    coefficients give, e.g., a least-squares slope. Returns the fields of
    :class:`~pddslib.paper.significance.ChangeTest` (changes and SDs in points).
    """
    first = conditions[0]
    for other in conditions[1:]:
        _check_pair(first, other, metric)
    diff = sum(w * scores(c, metric) for w, c in zip(coef, conditions))      # (S, N)
    weights, strata = metric_weights(first.truth, n_classes, metric)
    t = change_test(np.asarray(diff, dtype=float), weights, strata)
    return {"estimate": 100 * t.estimate, "low": 100 * t.low, "high": 100 * t.high, "p": t.p,
            "direction": t.direction, "seed_sd": 100 * t.seed_sd, "floor_sd": 100 * t.floor_sd,
            "n_seeds": t.n_seeds, "n_utterances": t.n_utterances}


def _models_p(a: Condition, b: Condition, metrics: Sequence[str], n_classes: int, n_boot: int) -> dict[str, float]:
    """The former per-model statistic of each metric: paired bootstrap over utterances, models held
    fixed (WA and UA, from one bootstrap; NaN for the other metrics)."""
    out = {m: float("nan") for m in metrics}
    if any(m in ("wa", "ua") for m in metrics):
        from .conditional import paired_bootstrap

        boot = paired_bootstrap(scores(a, "wa"), scores(b, "wa"), a.truth, n_classes, n_boot=n_boot)
        out.update({m: boot[f"p_{m}"] for m in metrics if m in ("wa", "ua")})
    return out


def correct(table: pd.DataFrame, correction: str, alpha: float = ALPHA) -> pd.DataFrame:
    """Add ``p_adj``, ``significant``, ``m`` and ``correction`` over the whole table (one family)."""
    from .multiple import adjust

    out = table.copy()
    p = out["p"].to_numpy(dtype=float) if len(out) else np.zeros(0)
    out["p_adj"] = adjust(p, correction)
    out["significant"] = out["p_adj"] < alpha
    out["m"] = int(np.isfinite(p).sum())
    out["correction"] = correction
    return out


def compare(result: ExperimentResult, classes: Sequence[str],
            pairs: Sequence[tuple[Mapping[str, Any], Mapping[str, Any], Mapping[str, Any]]], *,
            metrics: Sequence[str] = ("wa", "ua"), correction: str = "holm", n_boot: int = 2000) -> pd.DataFrame:
    """Test each comparison B vs A on each metric, and correct over the family (all rows).

    Parameters
    ----------
    result : ExperimentResult
        Runs with their predictions.
    classes : sequence of str
    pairs : sequence of (info, where_a, where_b)
        ``info``: fields copied into each row (e.g. ``{"model": "cltnet", "a": "none", "b": "pdds"}``);
        ``where_a``/``where_b``: column -> value selecting each condition's runs.
    metrics : sequence of str
        ``"wa"``, ``"ua"``, ``"recall:K"`` or ``"share:K"`` (K: a class index).
    correction : {"holm", "bh", "none"}

    Returns
    -------
    pandas.DataFrame
        One row per (comparison, metric); see the module's text for the columns.
    """
    return correct(pair_tests(result, classes, pairs, metrics=metrics, n_boot=n_boot), correction)


def pair_tests(result: ExperimentResult, classes: Sequence[str],
               pairs: Sequence[tuple[Mapping[str, Any], Mapping[str, Any], Mapping[str, Any]]], *,
               metrics: Sequence[str] = ("wa", "ua"), n_boot: int = 2000) -> pd.DataFrame:
    """:func:`compare`'s rows before the family's correction (for a family that adds other tests)."""
    rows = []
    for info, where_a, where_b in pairs:
        a, b = condition(result, where_a, classes), condition(result, where_b, classes)
        _check_pair(a, b, f"{dict(info)}")
        models_p = _models_p(a, b, metrics, len(classes), n_boot)
        for metric in metrics:
            t = contrast_test([a, b], (-1.0, 1.0), metric, len(classes))
            rows.append({**info, "metric": metric, **t, "p_models": models_p[metric]})
    return pd.DataFrame(rows)


def slope_test(result: ExperimentResult, classes: Sequence[str], column: str, values: Sequence[float],
               where: Mapping[str, Any] | None = None, *, metrics: Sequence[str] = ("wa", "ua"),
               per: float = 0.1) -> pd.DataFrame:
    """The trend of each metric over a setting: the per-seed least-squares slope, tested (points per ``per``).

    The slope of seed s is ``sum_j c_j M_j(s)`` with ``c_j = per (x_j - mean x) / sum (x - mean x)^2``: a
    contrast of the conditions ``column = x_j``, tested with both sources of noise like any change.
    """
    x = np.asarray(values, dtype=float)
    if len(x) < 2 or np.ptp(x) == 0:
        raise ValueError(f"a slope over {column!r} needs at least two different values, got {list(values)}")
    coef = per * (x - x.mean()) / ((x - x.mean()) ** 2).sum()
    conds = [condition(result, {**(where or {}), column: v}, classes) for v in values]
    rows = [{"a": f"{column} trend", "b": f"per {per:g} of {column}", "metric": metric,
             **contrast_test(conds, coef, metric, len(classes)), "p_models": float("nan")} for metric in metrics]
    return pd.DataFrame(rows)


__all__ = ["Condition", "FAMILIES", "Family", "compare", "condition", "contrast_test", "correct", "scores",
           "slope_test", "pair_tests"]
