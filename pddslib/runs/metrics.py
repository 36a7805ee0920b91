"""WA, UA, confusion matrices, and the table of predictions they are computed from.

* WA, weighted accuracy: the overall accuracy, ``correct / N``.
* UA, unweighted accuracy: the mean over classes of the per-class recall
  ``correct_c / N_c``. Classes absent from the reference labels have no recall; they are left
  out of the mean (and named in a warning), never counted as 0 or 1.

Rows of the confusion matrix are the reference (consensus) labels, columns the predictions.

Soft metrics (:func:`soft_metrics`; fractions and nats, never percent), of predicted distributions
against the consensus class and the annotators' vote distribution of each utterance:

* ``nll``: mean negative log-likelihood of the consensus class;
* ``brier``: multi-class Brier score, in [0, 2];
* ``ece``: expected calibration error over equal-width confidence bins;
* ``kl_votes``: mean KL(votes || predicted).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:  # pragma: no cover
    from ..features.store import FeatureStore


def _check(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    if y_true.shape != y_pred.shape or y_true.ndim != 1:
        raise ValueError(f"labels must be two vectors of the same length, got {y_true.shape} and {y_pred.shape}")
    if len(y_true) == 0:
        raise ValueError("no labels to score")
    for name, v in (("y_true", y_true), ("y_pred", y_pred)):
        if not np.issubdtype(v.dtype, np.integer) or (v < 0).any() or (v >= n_classes).any():
            raise ValueError(f"{name} must hold class indices in [0, {n_classes})")
    return y_true, y_pred


def confusion_matrix(y_true: Sequence[int], y_pred: Sequence[int], n_classes: int) -> np.ndarray:
    """``(C, C)`` counts; entry ``[i, j]`` counts samples of class i predicted as j."""
    t, p = _check(np.asarray(y_true), np.asarray(y_pred), n_classes)
    cm = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(cm, (t, p), 1)
    return cm


def weighted_accuracy(y_true: Sequence[int], y_pred: Sequence[int]) -> float:
    """WA: the fraction of samples predicted correctly."""
    t, p = np.asarray(y_true), np.asarray(y_pred)
    if t.shape != p.shape or t.ndim != 1 or len(t) == 0:
        raise ValueError(f"labels must be two non-empty vectors of the same length, got {t.shape} and {p.shape}")
    return float((t == p).mean())


def per_class_recall(cm: np.ndarray) -> np.ndarray:
    """Recall of each class from a confusion matrix (NaN for a class with no reference sample)."""
    cm = np.asarray(cm, dtype=float)
    support = cm.sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(support > 0, np.diag(cm) / support, np.nan)


def unweighted_accuracy(y_true: Sequence[int], y_pred: Sequence[int], n_classes: int,
                        classes: Sequence[str] | None = None) -> float:
    """UA: the mean per-class recall over the classes present in ``y_true``."""
    rec = per_class_recall(confusion_matrix(y_true, y_pred, n_classes))
    missing = np.flatnonzero(np.isnan(rec))
    if len(missing):
        names = [classes[i] for i in missing] if classes is not None else missing.tolist()
        warnings.warn(f"UA: no reference sample of class(es) {names}; they are left out of the mean",
                      stacklevel=2)
    return float(np.nanmean(rec))


def evaluate(probabilities: np.ndarray, y_true: Sequence[int], classes: Sequence[str]) -> dict:
    """WA, UA, per-class recall and the confusion matrix of predicted probabilities.

    Parameters
    ----------
    probabilities : numpy.ndarray, shape (N, C)
        Predicted distributions (the argmax is the prediction).
    y_true : sequence of int, shape (N,)
        Reference class indices.
    classes : sequence of str
        Class codes (for names in the result).

    Returns
    -------
    dict
        ``wa``, ``ua`` (fractions in [0, 1]), ``recall`` ({class: recall}), ``confusion``
        (list of lists, rows reference).
    """
    probabilities = np.asarray(probabilities)
    if probabilities.ndim != 2 or probabilities.shape[1] != len(classes):
        raise ValueError(f"probabilities must have shape (N, {len(classes)}), got {probabilities.shape}")
    y_pred = probabilities.argmax(1)
    y_true = np.asarray(y_true)
    cm = confusion_matrix(y_true, y_pred, len(classes))
    rec = per_class_recall(cm)
    return {
        "wa": weighted_accuracy(y_true, y_pred),
        "ua": unweighted_accuracy(y_true, y_pred, len(classes), classes),
        "recall": {c: (None if np.isnan(r) else float(r)) for c, r in zip(classes, rec)},
        "confusion": cm.tolist(),
    }


def predictions_frame(store: FeatureStore, probs: np.ndarray, rows: np.ndarray | None = None) -> pd.DataFrame:
    """One row per scored utterance (default: the store's test rows), in store order."""
    classes = store.classes
    test_rows = store.split_indices("test") if rows is None else np.asarray(rows)
    truth = store.consensus_indices()[test_rows]
    return pd.DataFrame({"utt_id": store.manifest["utt_id"].to_numpy()[test_rows],
                         "consensus": [classes[i] for i in truth],
                         "pred": [classes[i] for i in probs.argmax(1)],
                         **{f"p_{c}": _as_written(probs[:, k]) for k, c in enumerate(classes)}})


def _as_written(p: np.ndarray) -> np.ndarray:
    """Probabilities to 6 decimals, as the float64 numbers predictions.csv reads back as.

    Why not ``p.round(6)`` alone: for float32 ``p`` that is a float32 (0.18906499...), while a cache read
    gives the float64 0.189065; a trained run and the same run read from the cache must give one frame.
    The written text is unchanged (both print as 0.189065).
    """
    return p.round(6).astype(str).astype(np.float64)


# -- soft metrics: calibration and the vote distributions ---------------------------------------------
#: Predicted probabilities are clipped at this floor (then renormalised) before logarithms.
PROB_FLOOR = 1e-6

#: Rows of ``votes`` must sum to 1 within this; rows of ``probabilities`` within :data:`PROB_ROW_TOL`.
VOTE_ROW_TOL = 1e-6
#: Looser than the votes' tolerance: predictions tables round each probability to 6 decimals.
PROB_ROW_TOL = 1e-4

SOFT_METRICS = ("nll", "brier", "ece", "kl_votes")


def _distributions(name: str, a: Any, shape: tuple[int | None, int | None], tol: float) -> np.ndarray:
    """``a`` as a float64 ``(N, C)`` array of finite, non-negative rows summing to 1 within ``tol``."""
    want = f"({'N' if shape[0] is None else shape[0]}, {'C' if shape[1] is None else shape[1]})"
    try:
        a = np.asarray(a, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a numeric array of shape {want}") from None
    if a.ndim != 2 or any(w is not None and w != g for w, g in zip(shape, a.shape)):
        raise ValueError(f"{name} must have shape {want}, got {a.shape}")
    if a.shape[0] == 0 or a.shape[1] < 2:
        raise ValueError(f"{name} must have shape {want} with N >= 1 and C >= 2, got {a.shape}")
    if not np.isfinite(a).all():
        raise ValueError(f"{name} holds NaN or inf values (row {int(np.flatnonzero(~np.isfinite(a).all(1))[0])})")
    if (a < 0).any():
        raise ValueError(f"{name} holds negative values (row {int(np.flatnonzero((a < 0).any(1))[0])})")
    off = np.abs(a.sum(1) - 1) > tol
    if off.any():
        i = int(np.flatnonzero(off)[0])
        raise ValueError(f"rows of {name} must sum to 1 within {tol:g}; row {i} sums to {a[i].sum():.8g}")
    return a


def _clipped(probabilities: np.ndarray) -> np.ndarray:
    """Probabilities clipped at :data:`PROB_FLOOR` and renormalised row by row."""
    q = np.clip(probabilities, PROB_FLOOR, None)
    return q / q.sum(1, keepdims=True)


def confidence_bins(confidence: Any, n_bins: int = 15) -> np.ndarray:
    """Bin index of each confidence among ``n_bins`` equal-width bins on [0, 1].

    The edges are ``numpy.linspace(0, 1, n_bins + 1)``; bin ``b`` is ``[edge_b, edge_b+1)``, except
    the last, which is closed: a confidence of exactly 0 is in bin 0, one of exactly 1 in bin
    ``n_bins - 1``, and one on an inner edge in the bin above it.

    Parameters
    ----------
    confidence : array_like of float, shape (N,)
        Values in [0, 1].
    n_bins : int
        Number of bins (at least 1).

    Returns
    -------
    numpy.ndarray of int, shape (N,)
        Indices in ``[0, n_bins)``.
    """
    if isinstance(n_bins, bool) or not isinstance(n_bins, (int, np.integer)) or n_bins < 1:
        raise ValueError(f"n_bins must be a positive integer, got {n_bins!r}")
    conf = np.asarray(confidence, dtype=np.float64)
    if conf.ndim != 1:
        raise ValueError(f"confidence must have shape (N,), got {conf.shape}")
    if not np.isfinite(conf).all() or (conf < 0).any() or (conf > 1).any():
        raise ValueError("confidence must hold values in [0, 1]")
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    return np.clip(np.searchsorted(edges, conf, side="right") - 1, 0, n_bins - 1)


def expected_calibration_error(confidence: Any, correct: Any, n_bins: int = 15) -> float:
    """ECE: ``sum_b (n_b / N) |acc_b - conf_b|`` over the non-empty bins of :func:`confidence_bins`.

    Parameters
    ----------
    confidence : array_like of float, shape (N,)
        Confidence of each prediction in [0, 1] (the largest predicted probability).
    correct : array_like of bool, shape (N,)
        Whether each prediction is right.
    n_bins : int
        Equal-width bins on [0, 1] (15 by default).

    Returns
    -------
    float
        In [0, 1]; ``acc_b`` and ``conf_b`` are the mean correctness and confidence in bin ``b``.
    """
    correct = np.asarray(correct)
    bins = confidence_bins(confidence, n_bins)
    if correct.shape != bins.shape:
        raise ValueError(f"correct must have shape ({len(bins)},) like confidence, got {correct.shape}")
    if len(bins) == 0:
        raise ValueError("no predictions to score (confidence is empty)")
    conf = np.asarray(confidence, dtype=np.float64)
    count = np.bincount(bins, minlength=n_bins)
    gap = np.bincount(bins, weights=correct.astype(np.float64), minlength=n_bins) - np.bincount(
        bins, weights=conf, minlength=n_bins)  # per bin: n_b * (acc_b - conf_b)
    return float(np.abs(gap).sum() / count.sum())


def soft_metrics(probabilities: Any, y_true: Any, votes: Any, n_bins: int = 15) -> dict[str, float]:
    """NLL, Brier score, ECE and KL from the vote distributions of predicted distributions.

    Parameters
    ----------
    probabilities : array_like of float, shape (N, C)
        Predicted distributions: finite, non-negative, each row summing to 1 within
        :data:`PROB_ROW_TOL` (a predictions table rounds them to 6 decimals, so some may be 0).
    y_true : array_like of int, shape (N,)
        Consensus class index of each utterance, in ``[0, C)``.
    votes : array_like of float, shape (N, C)
        Vote distribution of each utterance; rows sum to 1 within :data:`VOTE_ROW_TOL`.
    n_bins : int
        Equal-width confidence bins of the ECE (:func:`expected_calibration_error`).

    Returns
    -------
    dict
        Floats, fractions or nats (not percent), with ``q`` the probabilities clipped at
        :data:`PROB_FLOOR` (1e-6) and renormalised per row, and ``p`` them as given:

        * ``nll``: ``-mean_n log q[n, y_n]``;
        * ``brier``: ``mean_n sum_c (p[n, c] - onehot(y_n)_c)^2``, in [0, 2];
        * ``ece``: of confidence ``max_c p[n, c]`` and correctness ``argmax_c p[n, c] == y_n``;
        * ``kl_votes``: ``mean_n sum_c v[n, c] log(v[n, c] / q[n, c])`` (``0 log 0 = 0``).

    Raises
    ------
    ValueError
        An argument of the wrong shape, type or range (the message names it and the shape it
        should have).
    """
    p = _distributions("probabilities", probabilities, (None, None), PROB_ROW_TOL)
    n, c = p.shape
    y = np.asarray(y_true)
    if y.shape != (n,):
        raise ValueError(f"y_true must have shape (N,) = ({n},) like probabilities, got {y.shape}")
    if not np.issubdtype(y.dtype, np.integer) or (y < 0).any() or (y >= c).any():
        raise ValueError(f"y_true must hold class indices in [0, {c}) (C = {c} columns of probabilities)")
    v = _distributions("votes", votes, (n, c), VOTE_ROW_TOL)
    from scipy.special import rel_entr

    q = _clipped(p)
    rows = np.arange(n)
    onehot = np.zeros_like(p)
    onehot[rows, y] = 1.0
    return {
        "nll": float(-np.log(q[rows, y]).mean()),
        "brier": float(((p - onehot) ** 2).sum(1).mean()),
        "ece": expected_calibration_error(p.max(1), p.argmax(1) == y, n_bins),
        "kl_votes": float(rel_entr(v, q).sum(1).mean()),
    }


def soft_metrics_of(predictions: pd.DataFrame, store: FeatureStore, n_bins: int = 15) -> dict[str, float]:
    """:func:`soft_metrics` of a predictions table against a store's vote distributions.

    Parameters
    ----------
    predictions : pandas.DataFrame
        ``utt_id, consensus, pred, p_<class>...`` (as :func:`predictions_frame` makes it, or a run's
        ``predictions.csv`` read back): one row per scored utterance, a ``p_<class>`` column for
        each of ``store.classes``.
    store : pddslib.features.store.FeatureStore
        Its manifest's ``utt_id`` finds each row's vote distribution
        (:meth:`~pddslib.features.store.FeatureStore.label_distributions`).
    n_bins : int
        Confidence bins of the ECE.

    Returns
    -------
    dict
        ``nll, brier, ece, kl_votes`` (see :func:`soft_metrics`); NaN each, with a warning, when a
        probability is NaN or inf (a diverged model).

    Raises
    ------
    ValueError
        A missing column, a consensus that is not one of the store's classes, or an ``utt_id``
        the store does not hold (the first is named).
    """
    classes = list(store.classes)
    need = ["utt_id", "consensus", *[f"p_{c}" for c in classes]]
    missing = [col for col in need if col not in predictions.columns]
    if missing:
        raise ValueError(f"predictions lacks column(s) {', '.join(missing)} (the store's classes are {classes})")
    probs = predictions[[f"p_{c}" for c in classes]].to_numpy(dtype=np.float64)
    index = {c: i for i, c in enumerate(classes)}
    truth = predictions["consensus"].map(index)
    if truth.isna().any():
        bad = predictions["consensus"][truth.isna()].iloc[0]
        raise ValueError(f"predictions: consensus {bad!r} is not one of the store's classes {classes}")
    ids = predictions["utt_id"].astype(str)
    at = pd.Index(store.manifest["utt_id"].astype(str)).get_indexer(ids)
    if (at < 0).any():
        bad = ids[at < 0]
        raise ValueError(f"predictions: utt_id {bad.iloc[0]!r} is not in the store {store.path} "
                         f"({len(bad)} such row(s))")
    if not np.isfinite(probs).all():
        warnings.warn("predictions hold NaN or inf probabilities; their soft metrics are NaN", stacklevel=2)
        return {k: float("nan") for k in SOFT_METRICS}
    return soft_metrics(probs, truth.to_numpy(dtype=np.int64), store.label_distributions()[at], n_bins)
