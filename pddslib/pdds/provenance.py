"""Provenance of a resampled training set: which sources, with which weight, make every row.

A :class:`~pddslib.pdds.smoothing.Plan` says how many samples each cell should hold;
:func:`draw_provenance` draws, for every new sample, its two mixup sources among the clear samples
(:class:`pddslib.pdds.resample.Resampler` stores the result as ``sample_indices_``, ``mix_weights_``,
``kind_`` and ``cells_``). Nothing here touches features.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .counts import CountTable
from .smoothing import Plan

#: What each output row is.
ORIGINAL, CLEAR_MIX, AMBIGUOUS_MIX = 0, 1, 2

#: A block of output rows: sources (k, 2), weights (k,), kinds (k,), cells (k, 2).
_Part = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def counts_from_cells(cells: np.ndarray, classes: Sequence[str]) -> CountTable:
    """Count table of a training set from its (major, minor) cells (rows outside cells: other)."""
    c = len(classes)
    clear = np.zeros(c, dtype=np.int64)
    amb = np.zeros((c, c), dtype=np.int64)
    inside = cells[:, 0] >= 0
    for i, j in cells[inside]:
        if i == j:
            clear[i] += 1
        else:
            amb[i, j] += 1
    return CountTable(tuple(classes), clear, amb, other=int((~inside).sum()))


def check_cells(cells: Any, n: int, n_classes: int) -> np.ndarray:
    """Validate (major, minor) cells: shape (n, 2), class indices or -1."""
    cells = np.asarray(cells, dtype=np.int64)
    if cells.shape != (n, 2):
        raise ValueError(f"cells must have shape ({n}, 2), got {cells.shape}")
    if (cells >= n_classes).any() or (cells < -1).any():
        raise ValueError(f"cells must be class indices in [0, {n_classes}) or -1")
    return cells


def draw_provenance(plan: Plan, cells: np.ndarray, rng: np.random.Generator, *, p: float | None,
                    clear_p: float | None, classes: Sequence[str], strategy: str,
                    replacement: bool | None = None) -> _Part:
    """The rows of the resampled set: the originals in order, then new clear, then new ambiguous.

    Parameters
    ----------
    plan : Plan
        Targets of the strategy for the counts of ``cells``.
    cells : numpy.ndarray of int, shape (N, 2)
        (major, minor) cell of every original sample.
    rng : numpy.random.Generator
        Draws the sources.
    p, clear_p : float or None
        Weights of new ambiguous and new clear samples (None: the strategy makes none).
    classes : sequence of str
    strategy : str
        For error messages.
    replacement : bool or None
        What a class with a single clear sample does when it needs new clear samples: ``False``
        (the default of the samplers) is a ValueError that names the fallback, ``True`` draws
        both sources with replacement, so each new clear sample is a copy of that one sample
        (a class with two or more clear samples is drawn as before, without replacement, and
        gives the same rows either way). ``None``: the strategy offers no fallback (the error
        does not name one).

    Returns
    -------
    sources (N_res, 2) int64, weights (N_res,) float64, kinds (N_res,) int8, cells (N_res, 2) int64
    """
    pools = [np.flatnonzero((cells[:, 0] == k) & (cells[:, 1] == k)) for k in range(len(classes))]
    n = len(cells)
    parts = [(np.stack([np.arange(n), np.arange(n)], 1), np.ones(n), np.full(n, ORIGINAL), cells)]
    parts += _clear_mixes(plan, pools, rng, clear_p, classes, strategy, replacement)
    parts += _ambiguous_mixes(plan, pools, rng, p, classes, strategy)
    src, wts, kind, out_cells = zip(*parts)
    return (np.concatenate(src).astype(np.int64), np.concatenate(wts).astype(np.float64),
            np.concatenate(kind).astype(np.int8), np.concatenate(out_cells).astype(np.int64))


def _clear_mixes(plan: Plan, pools: list[np.ndarray], rng: np.random.Generator, clear_p: float | None,
                 classes: Sequence[str], strategy: str, replacement: bool | None = None) -> list[_Part]:
    """New clear samples of each class: mixes of two distinct clear samples of that class (with
    ``replacement``, a class with one clear sample gets copies of it: see :func:`draw_provenance`)."""
    parts = []
    for k, extra in enumerate(plan.new_clear):
        if extra <= 0:
            continue
        alone = len(pools[k]) == 1 and replacement
        if len(pools[k]) < 2 and not alone:
            hint = ("" if replacement is None or not len(pools[k]) else
                    ": give it more clear samples (e.g. fewer cross-validation folds), "
                    "or use replacement=True (its new clear samples are then copies of that one sample)")
            raise ValueError(
                f"{strategy}: class {classes[k]!r} needs {extra} new clear samples, "
                f"mixed from two distinct clear samples, but has {len(pools[k])} clear sample(s){hint}"
            )
        pairs = np.stack([rng.choice(pools[k], size=2, replace=bool(alone)) for _ in range(extra)])
        parts.append((pairs, np.full(extra, clear_p), np.full(extra, CLEAR_MIX), np.full((extra, 2), k)))
    return parts


def _ambiguous_mixes(plan: Plan, pools: list[np.ndarray], rng: np.random.Generator, p: float | None,
                     classes: Sequence[str], strategy: str) -> list[_Part]:
    """New ambiguous samples of each ordered pair (i, j): a clear i mixed with a clear j."""
    parts = []
    new_amb = plan.new_ambiguous
    for i in range(len(classes)):
        for j in range(len(classes)):
            extra = int(new_amb[i, j]) if i != j else 0
            if extra <= 0:
                continue
            for k in (i, j):
                if len(pools[k]) == 0:
                    raise ValueError(
                        f"{strategy}: pair {classes[i]}>{classes[j]} needs {extra} "
                        f"new samples but class {classes[k]!r} has no clear sample to mix"
                    )
            a = rng.choice(pools[i], size=extra)
            b = rng.choice(pools[j], size=extra)
            parts.append((np.stack([a, b], 1), np.full(extra, p), np.full(extra, AMBIGUOUS_MIX),
                          np.tile([i, j], (extra, 1))))
    return parts


def cell_summary(before: CountTable, after: CountTable) -> dict[str, tuple[int, int]]:
    """``sampling_strategy_``: cell -> (count before, count after); cells ``"i"``, ``"i>j"``, ``"other"``."""
    cl = before.classes
    out = {c: (int(before.clear[k]), int(after.clear[k])) for k, c in enumerate(cl)}
    for i, a in enumerate(cl):
        for j, b in enumerate(cl):
            if i != j:
                out[f"{a}>{b}"] = (int(before.ambiguous[i, j]), int(after.ambiguous[i, j]))
    out["other"] = (int(before.other), int(after.other))
    return out
