"""Controls that the paper lacks: as much new data as PDDS adds, without PDDS's distribution.

Does PDDS help because it smooths the distribution of emotion pairs, or simply because the
training set is larger? Each control below adds exactly as many samples as PDDS (with the same
``sigma``, ``normalize`` and ``balance_ratio``) would add to the same counts, and differs from
PDDS in one respect:

=============  ===================================================================================
``oversample``  random oversampling: copies of original samples drawn uniformly (no new samples)
``mixup``       plain mixup: two random clear samples of any classes, weight ~ Beta(alpha, alpha),
                label ``w e_a + (1 - w) e_b`` (Zhang et al., 2018), no pair structure
``flat``        PDDS's clear balancing and PDDS's number of new ambiguous samples, spread evenly
                over the ordered emotion pairs (same amount, flat instead of smoothed distribution)
=============  ===================================================================================

A fourth control, the class-weighted loss on the original data, changes the loss rather than the
data and is not a sampler: ``TrainConfig(class_weight="balanced")`` (``pdds run --strategy none
--class-weight balanced``; see :func:`pddslib.runs.training.sample_weights`).

All follow the sampler protocol of :class:`pddslib.pdds.resample.Resampler` (``fit``,
``fit_resample``, provenance attributes) and are registered as strategies, so ``pdds run
--strategy oversample`` and the experiments run them like ``pdds``.
"""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Real
from typing import ClassVar

import numpy as np

from ..util.constraints import Interval
from .counts import CountTable
from .labels import CLASSES
from .mixup import Align
from .provenance import AMBIGUOUS_MIX, ORIGINAL
from .resample import (
    ALIGN,
    ALIGN_OPTIONS,
    BALANCE_RATIO_RANGE,
    NORMALIZE_OPTIONS,
    PDDS,
    SIGMA,
    SIGMA_RANGE,
    Resampler,
)
from .smoothing import BALANCE_RATIO, NORMALIZE, Normalize, Plan, pdds_plan

#: Kinds of control rows (beside pddslib.pdds.provenance's ORIGINAL, CLEAR_MIX, AMBIGUOUS_MIX).
COPY, RANDOM_MIX = 3, 4
#: Beta(alpha, alpha) of plain mixup (Zhang et al. found 0.1-0.4 best; 0.2 is common).
ALPHA = 0.2

_Drawn = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


class _MatchedToPDDS(Resampler):
    """A control that adds as many samples as PDDS with these smoothing parameters."""

    _parameter_constraints: ClassVar[dict[str, list]] = {
        **Resampler._parameter_constraints, "sigma": SIGMA_RANGE, "normalize": NORMALIZE_OPTIONS,
        "balance_ratio": BALANCE_RATIO_RANGE}
    _keyed_always = frozenset({"sigma", "normalize", "balance_ratio"})
    _none_means: ClassVar[dict[str, str]] = {"normalize": "none"}

    def __init__(self, *, sigma: float = SIGMA, normalize: Normalize = NORMALIZE,
                 balance_ratio: float = BALANCE_RATIO, classes: Sequence[str] = CLASSES,
                 random_state: int | np.random.Generator | None = None) -> None:
        super().__init__(classes=classes, random_state=random_state)
        self.sigma = sigma
        self.normalize = normalize
        self.balance_ratio = balance_ratio

    def pdds_plan(self, counts: CountTable) -> Plan:
        """The plan of PDDS whose size this control matches."""
        return pdds_plan(counts, sigma=self.sigma, normalize=self.normalize, balance_ratio=self.balance_ratio)

    def _plan(self, counts: CountTable) -> Plan:
        return Plan(counts, counts.clear.copy(), counts.ambiguous.copy(), strategy=self.strategy,
                    params=self._params(), extra=self.pdds_plan(counts).new_samples)

    def _params(self) -> dict:
        return {k: v for k, v in self.get_params().items() if k not in ("classes", "random_state")}


def _originals(cells: np.ndarray) -> _Drawn:
    n = len(cells)
    return (np.stack([np.arange(n), np.arange(n)], 1), np.ones(n), np.full(n, ORIGINAL), cells)


def _concat(*parts: _Drawn) -> _Drawn:
    src, w, kind, cells = zip(*parts)
    return (np.concatenate(src).astype(np.int64), np.concatenate(w).astype(np.float64),
            np.concatenate(kind).astype(np.int8), np.concatenate(cells).astype(np.int64))


class RandomOversampling(_MatchedToPDDS):
    """Strategy ``oversample``: PDDS's number of new rows, each a copy of a random original sample."""

    strategy = "oversample"

    def _draw(self, plan: Plan, cells: np.ndarray, y: np.ndarray, rng: np.random.Generator, *,
              p: float | None, clear_p: float | None) -> _Drawn:
        pick = rng.integers(0, len(cells), plan.extra)
        copies = (np.stack([pick, pick], 1), np.ones(plan.extra), np.full(plan.extra, COPY), cells[pick])
        return _concat(_originals(cells), copies)


class PlainMixup(_MatchedToPDDS):
    """Strategy ``mixup``: PDDS's number of new rows, each two random clear samples mixed with a
    Beta(``alpha``, ``alpha``) weight, whatever their classes.

    Parameters
    ----------
    alpha : float
        Of the Beta distribution of the mixing weight.
    align : {"pad", "crop", "interp"}
        Sequence alignment of the mixes.
    """

    strategy = "mixup"
    _parameter_constraints: ClassVar[dict[str, list]] = {
        **_MatchedToPDDS._parameter_constraints, "alpha": [Interval(Real, 0, None, closed="neither")],
        "align": ALIGN_OPTIONS}
    _keyed_always = _MatchedToPDDS._keyed_always | {"alpha", "align"}

    def __init__(self, *, alpha: float = ALPHA, sigma: float = SIGMA, normalize: Normalize = NORMALIZE,
                 balance_ratio: float = BALANCE_RATIO, align: Align = ALIGN, classes: Sequence[str] = CLASSES,
                 random_state: int | np.random.Generator | None = None) -> None:
        super().__init__(sigma=sigma, normalize=normalize, balance_ratio=balance_ratio, classes=classes,
                         random_state=random_state)
        self.alpha = alpha
        self.align = align

    def _draw(self, plan: Plan, cells: np.ndarray, y: np.ndarray, rng: np.random.Generator, *,
              p: float | None, clear_p: float | None) -> _Drawn:
        clear = np.flatnonzero((cells[:, 0] >= 0) & (cells[:, 0] == cells[:, 1]))
        if len(clear) < 2 and plan.extra:
            raise ValueError(f"mixup: needs two clear samples to mix, found {len(clear)}")
        n = plan.extra
        a, b = rng.choice(clear, n), rng.choice(clear, n)
        w = rng.beta(self.alpha, self.alpha, n)
        mixes = (np.stack([a, b], 1), w, np.full(n, RANDOM_MIX), np.full((n, 2), -1))
        return _concat(_originals(cells), mixes)


class FlatPDDS(PDDS):
    """Strategy ``flat``: PDDS's clear balancing and PDDS's number of new ambiguous samples, spread
    evenly over the ordered emotion pairs (the remainder to the pairs with the fewest samples).

    Parameters as :class:`pddslib.pdds.resample.PDDS` (the same constructor).
    """

    strategy = "flat"

    def _plan(self, counts: CountTable) -> Plan:
        pdds = super()._plan(counts)
        total = int(pdds.new_ambiguous.sum())
        c = len(counts.classes)
        off = ~np.eye(c, dtype=bool)
        share = np.zeros((c, c), dtype=np.int64)
        share[off] = total // off.sum()
        rest = total - int(share.sum())
        order = np.argsort(counts.ambiguous[off], kind="stable")[:rest]  # the smallest pairs get one more
        flat = share[off]
        flat[order] += 1
        share[off] = flat
        params = {k: v for k, v in self.get_params().items() if k not in ("classes", "random_state")}
        return Plan(counts, pdds.balanced_clear, counts.ambiguous + share, strategy="flat", params=params)



__all__ = ["ALPHA", "AMBIGUOUS_MIX", "COPY", "FlatPDDS", "PlainMixup", "RANDOM_MIX", "RandomOversampling"]
