"""Quantity smoothing, Eq. (1) of the paper, on count tables (pure numpy).

For every unordered emotion pair (i, j) the four sample types form a chain
``[I, I_j, J_i, J]``: clear i, ambiguous with major i and minor j, ambiguous with major j and
minor i, clear j. A Gaussian kernel over the chain positions smooths the two ambiguous positions:

.. math:: n_k = \\sum_{k' \\in \\{k-1, k, k+1\\}} e^{-|k-k'|^2 / (2\\sigma^2)} n_{k'}

so ``I_j``'s neighbours are ``I`` and ``J_i`` and ``J_i``'s are ``I_j`` and ``J``. The kernel is
not normalised by default (weights 0.607, 1, 0.607 for sigma = 1, as Label Distribution
Smoothing's reference code does); ``normalize="sum"`` divides by the weights' sum. The paper does
not say which; both are options. Clear counts are balanced first and targets never fall below
the original counts. Each choice is explained on the book's Decisions page ("PDDS").
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from numbers import Real
from typing import Any, Literal

import numpy as np

from .counts import CountTable

Normalize = Literal["none", "sum"] | None
#: Defaults of the pure functions here (the samplers of pddslib.pdds.resample reuse them).
NORMALIZE: Normalize = "none"
BALANCE_RATIO = 0.5


def kernel_weights(sigma: float, normalize: Normalize = NORMALIZE) -> np.ndarray:
    """Weights of Eq. (1) for chain offsets -1, 0, +1.

    Parameters
    ----------
    sigma : float
        Kernel width (>= 0). ``sigma = 0`` gives ``[0, 1, 0]``: counts are left as they are.
    normalize : {None, "none", "sum"}
        ``None``/``"none"``: Eq. (1) literally; ``"sum"``: weights divided by their sum.

    Returns
    -------
    numpy.ndarray, shape (3,)
    """
    if not isinstance(sigma, Real) or not math.isfinite(sigma) or sigma < 0:
        raise ValueError(f"sigma must be a finite number >= 0, got {sigma!r}")
    if normalize not in (None, "none", "sum"):
        raise ValueError(f"normalize must be None, 'none' or 'sum', got {normalize!r}")
    side = 0.0 if sigma == 0 else math.exp(-1.0 / (2.0 * sigma**2))
    w = np.array([side, 1.0, side])
    if normalize == "sum":
        w = w / w.sum()
    return w


def balance_clear(clear: np.ndarray, ratio: float = BALANCE_RATIO) -> np.ndarray:
    """Clear-class balancing (the book's Decisions page, "PDDS").

    A class whose clear count ``n`` is below ``ratio`` times the smallest other clear count ``m``
    is raised to ``n * ceil(m / n)`` (IEMOCAP sessions 1-4: happiness 43 -> 215).

    Parameters
    ----------
    clear : array-like of int, shape (C,)
        Clear counts per class.
    ratio : float
        Threshold relative to the smallest other class.

    Returns
    -------
    numpy.ndarray of int, shape (C,)
        Balanced clear counts (never below the input).
    """
    clear = np.asarray(clear, dtype=np.int64)
    if clear.ndim != 1 or len(clear) < 2:
        raise ValueError(f"clear counts must be a vector of at least two classes, got {clear!r}")
    out = clear.copy()
    for k, n in enumerate(clear):
        m = int(np.delete(clear, k).min())
        if n < ratio * m:
            if n == 0:
                raise ValueError(
                    f"class {k} has no clear sample: it cannot be balanced by mixup of its own samples"
                )
            out[k] = n * math.ceil(m / n)
    return out


def smooth_pairs(clear: np.ndarray, ambiguous: np.ndarray, sigma: float,
                 normalize: Normalize = NORMALIZE) -> np.ndarray:
    """Apply Eq. (1) to every emotion pair's chain ``[I, I_j, J_i, J]``.

    Parameters
    ----------
    clear : array-like, shape (C,)
        Clear counts (normally already balanced).
    ambiguous : array-like, shape (C, C)
        ``ambiguous[i, j]``: major i, minor j.
    sigma, normalize
        See :func:`kernel_weights`.

    Returns
    -------
    numpy.ndarray of float, shape (C, C)
        Smoothed ambiguous counts (diagonal 0).
    """
    clear = np.asarray(clear, dtype=float)
    amb = np.asarray(ambiguous, dtype=float)
    c = len(clear)
    if amb.shape != (c, c):
        raise ValueError(f"ambiguous counts must have shape ({c}, {c}), got {amb.shape}")
    left, centre, right = kernel_weights(sigma, normalize)
    out = np.zeros_like(amb)
    for i in range(c):
        for j in range(c):
            if i != j:
                # I_j sits between I (clear i) and J_i (ambiguous, major j, minor i).
                out[i, j] = left * clear[i] + centre * amb[i, j] + right * amb[j, i]
    return out


def round_half_up(x: np.ndarray) -> np.ndarray:
    """Round to the nearest integer, halves up (not numpy's half-to-even)."""
    return np.floor(np.asarray(x, dtype=float) + 0.5).astype(np.int64)


@dataclass
class Plan:
    """How many samples each cell should hold after resampling.

    Attributes
    ----------
    counts : CountTable
        The original counts.
    balanced_clear : numpy.ndarray of int, shape (C,)
        Clear counts after balancing.
    targets : numpy.ndarray of int, shape (C, C)
        Ambiguous counts after resampling (diagonal 0).
    smoothed : numpy.ndarray of float, shape (C, C) or None
        Eq. (1) before rounding (PDDS only).
    strategy : str
        ``none``, ``happiness``, ``uniform`` or ``pdds``.
    params : dict
        The strategy's parameters.
    extra : int
        New samples that belong to no cell (the controls of :mod:`pddslib.pdds.controls`: copies of
        originals, or mixes of two random clear samples of any classes).
    """

    counts: CountTable
    balanced_clear: np.ndarray
    targets: np.ndarray
    smoothed: np.ndarray | None = None
    strategy: str = "pdds"
    params: dict[str, Any] | None = None
    extra: int = 0

    @property
    def classes(self) -> tuple[str, ...]:
        return self.counts.classes

    @property
    def new_clear(self) -> np.ndarray:
        """New clear samples per class."""
        return self.balanced_clear - self.counts.clear

    @property
    def new_ambiguous(self) -> np.ndarray:
        """New ambiguous samples per ordered pair, shape (C, C)."""
        return self.targets - self.counts.ambiguous

    @property
    def new_samples(self) -> int:
        """Every sample the strategy adds (clear balancing and ambiguous pairs together)."""
        return int(self.new_clear.sum() + self.new_ambiguous.sum()) + int(self.extra)

    def added_label_mass(self, p: float) -> np.ndarray:
        """Label mass the new samples add to each emotion, for mixup weight ``p`` (Eq. 3).

        A new sample of the ambiguous cell i>j mixes a clear i (weight ``p``) with a clear j, so it
        adds ``p`` to emotion i and ``1 - p`` to emotion j; a new clear sample of class k (two clear
        samples of k mixed) adds 1 to k whatever its weight. New samples outside the cells (the
        controls' ``extra``) are not counted.

        Parameters
        ----------
        p : float
            Weight of the major emotion, in [0, 1] (paper: 0.8 best).

        Returns
        -------
        numpy.ndarray of float, shape (C,)
            Added mass per class, in :attr:`classes` order; it sums to the new samples in the cells.
        """
        from .mixup import check_weight

        w = check_weight(p)
        new = self.new_ambiguous.astype(np.float64)  # (C, C): rows major, columns minor
        np.fill_diagonal(new, 0.0)
        return self.new_clear.astype(np.float64) + w * new.sum(axis=1) + (1.0 - w) * new.sum(axis=0)

    def to_dict(self) -> dict[str, Any]:
        """The ``pdds plan --json`` object: the strategy and its parameters (``sigma``, ``normalize``, ...),
        the balanced clear counts, every pair's target and the number of new samples."""
        cl = self.classes
        return {
            "strategy": self.strategy,
            "params": {k: (v.item() if hasattr(v, "item") else v) for k, v in (self.params or {}).items()},
            "balanced_clear": {c: int(n) for c, n in zip(cl, self.balanced_clear)},
            "targets": {
                f"{a}>{b}": int(self.targets[i, j])
                for i, a in enumerate(cl) for j, b in enumerate(cl) if i != j
            },
            "new_samples": self.new_samples,
        } | ({"extra_samples": int(self.extra)} if self.extra else {})

    def format(self) -> str:
        """Readable tables (what ``pdds plan`` prints without ``--json``)."""
        cl = self.classes
        w = max(7, *(len(c) + 2 for c in cl))
        lines = [f"strategy {self.strategy} {self.params or {}}", "",
                 "clear".ljust(8) + "original".rjust(10) + "balanced".rjust(10) + "new".rjust(8)]
        for k, c in enumerate(cl):
            lines.append(c.ljust(8) + str(self.counts.clear[k]).rjust(10)
                         + str(self.balanced_clear[k]).rjust(10) + str(self.new_clear[k]).rjust(8))
        lines += ["", "ambiguous targets, original -> target (rows: major, columns: minor)",
                  "major\\minor".ljust(12) + "".join(c.rjust(w + 6) for c in cl)]
        for i, a in enumerate(cl):
            row = ""
            for j in range(len(cl)):
                cell = "-" if i == j else f"{self.counts.ambiguous[i, j]}->{self.targets[i, j]}"
                row += cell.rjust(w + 6)
            lines.append(a.ljust(12) + row)
        n0 = self.counts.n_clear + self.counts.n_ambiguous
        lines += ["", f"new samples: {self.new_samples} "
                      f"(clear {int(self.new_clear.sum())}, ambiguous {int(self.new_ambiguous.sum())}); "
                      f"clear + ambiguous {n0} -> {n0 + self.new_samples}"]
        return "\n".join(lines)


def pdds_plan(counts: CountTable, sigma: float, normalize: Normalize = NORMALIZE,
              balance: bool = True, balance_ratio: float = BALANCE_RATIO) -> Plan:
    """The PDDS plan: balance clear classes, smooth every pair, targets = max(original, round).

    Parameters
    ----------
    counts : CountTable
        Original counts (e.g. :func:`pddslib.reference.iemocap_counts`).
    sigma, normalize
        Kernel of Eq. (1), see :func:`kernel_weights`.
    balance : bool
        Balance clear classes first (decision 4). The smoothing uses the balanced counts.
    balance_ratio : float
        Threshold of :func:`balance_clear`.

    Returns
    -------
    Plan
    """
    clear = balance_clear(counts.clear, balance_ratio) if balance else counts.clear.copy()
    smoothed = smooth_pairs(clear, counts.ambiguous, sigma, normalize)
    targets = np.maximum(counts.ambiguous, round_half_up(smoothed))
    np.fill_diagonal(targets, 0)
    return Plan(counts, clear, targets, smoothed, "pdds",
                {"sigma": sigma, "normalize": normalize or "none"})
