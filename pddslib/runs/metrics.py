"""WA, UA, confusion matrices, and the table of predictions they are computed from.

* WA, weighted accuracy: the overall accuracy, ``correct / N``.
* UA, unweighted accuracy: the mean over classes of the per-class recall
  ``correct_c / N_c``. Classes absent from the reference labels have no recall; they are left
  out of the mean (and named in a warning), never counted as 0 or 1.

Rows of the confusion matrix are the reference (consensus) labels, columns the predictions.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Sequence

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
