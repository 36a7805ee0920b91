"""One resampling API for the training-data strategies of Tables 1-2.

======================  ======================================================================
``none``                the original training data
``happiness``           clear balancing only (IEMOCAP: happiness 43 -> 215, mixup with p = 0.5)
``uniform``             every clear class and every ambiguous ordered pair below 400 -> 400
``pdds``                clear balancing, then Eq. (1) on every emotion pair (the paper's method)
======================  ======================================================================

The protocol follows imbalanced-learn's samplers, adapted to label distributions: keyword-only
constructors that only store their arguments, validation in :meth:`fit`, fitted attributes that
end in ``_``, and the provenance of every output row. A synthesised row is recorded as
``(source a, source b, weight p)`` and is only materialised when asked for (by
:meth:`Resampler.fit_resample`, or by the training loop when it builds a batch), so memory does
not grow with the number of new samples.

Example
-------
>>> import numpy as np
>>> from pddslib import PDDS
>>> y = np.eye(3)[[0, 0, 0, 1, 1, 2, 2, 2]]           # clear samples of three classes
>>> sampler = PDDS(sigma=1.0, p=0.8, random_state=0)
>>> X_res, y_res = sampler.fit_resample(np.arange(8.0)[:, None], y)
>>> sampler.sample_indices_.shape[1], bool(np.allclose(y_res.sum(1), 1))
(2, True)
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from .counts import CountTable
from .labels import CLASSES, cells_from_distributions
from .mixup import Align, _check_align, _check_weight, mix_samples, mix_sequences
from .smoothing import BALANCE_RATIO, NORMALIZE, Normalize, Plan, balance_clear, kernel_weights, pdds_plan

STRATEGIES: tuple[str, ...] = ("none", "happiness", "uniform", "pdds")

#: The defaults of the strategies' parameters, each declared once (the paper's settings:
#: sigma = 1, p = 0.8 as in Fig. 6, p = 0.5 within a class, uniform level 400).
#: (The kernel normalisation and the clear-balancing ratio are the defaults of pddslib.smoothing.)
SIGMA, P, CLEAR_P, LEVEL, ALIGN = 1.0, 0.8, 0.5, 400, "pad"

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


class Resampler:
    """Base of the strategies: turns a :class:`~pddslib.smoothing.Plan` into provenance.

    Subclasses implement :meth:`_plan` and take, of the parameters below, those they use (``none``
    takes none of them, ``happiness`` ``clear_p`` and ``align``):

    Parameters
    ----------
    p : float
        Mixup weight of the major emotion for new ambiguous samples (Eq. 2-3).
    clear_p : float
        Mixup weight for new clear samples (two distinct clear samples of the same class).
    classes : sequence of str
        Class codes (columns of ``y``); default: the paper's six.
    align : {"pad", "crop", "interp"}
        Sequence alignment used when materialising sequences.
    random_state : int, numpy.random.Generator or None
        Seed of the choice of mixup sources.

    Attributes
    ----------
    counts_ : CountTable
        Counts of the training set given to :meth:`fit`.
    plan_ : Plan
        Balanced clear counts and ambiguous targets.
    sample_indices_ : numpy.ndarray of int, shape (N_res, 2)
        Sources ``(a, b)`` of every output row; an original row ``n`` is ``(n, n)``.
    mix_weights_ : numpy.ndarray of float, shape (N_res,)
        Weight of source ``a`` (1 for original rows).
    kind_ : numpy.ndarray of int, shape (N_res,)
        0 original, 1 new clear sample, 2 new ambiguous sample.
    cells_ : numpy.ndarray of int, shape (N_res, 2)
        The (major, minor) cell of each output row (``(-1, -1)`` outside the cells).
    y_resampled_ : numpy.ndarray, shape (N_res, C)
        Label distribution of every output row (Eq. 3).
    n_original_ : int
        Number of input rows (the first ``n_original_`` output rows are the inputs, in order).
    """

    strategy: str = ""
    #: Set by the strategies that take them (None: the strategy mixes no such samples).
    p: float | None = None
    clear_p: float | None = None
    align: Align = ALIGN

    def __init__(self, *, classes: Sequence[str] = CLASSES,
                 random_state: int | np.random.Generator | None = None) -> None:
        self.classes = classes
        self.random_state = random_state

    # -- to be provided by strategies -------------------------------------------------------
    def _plan(self, counts: CountTable) -> Plan:  # pragma: no cover - abstract
        raise NotImplementedError

    def get_params(self) -> dict[str, Any]:
        """Constructor arguments (as in scikit-learn)."""
        import inspect

        names = [p for p in inspect.signature(type(self).__init__).parameters if p != "self"]
        return {n: getattr(self, n) for n in names}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    # -- the protocol -----------------------------------------------------------------------
    def plan(self, counts: CountTable) -> Plan:
        """The plan this strategy makes for given counts (pure; no sample is drawn)."""
        return self._plan(counts)

    def fit(self, y: np.ndarray, *, cells: np.ndarray | None = None) -> "Resampler":
        """Draw the provenance of the resampled training set.

        Parameters
        ----------
        y : numpy.ndarray, shape (N, C)
            Label distributions of the training samples (rows sum to 1).
        cells : numpy.ndarray of int, shape (N, 2), optional
            (major, minor) cell of each sample as the vote policy decided
            (:func:`pddslib.labels.cells_from_categories`); by default derived from ``y``
            (:func:`pddslib.labels.cells_from_distributions`).

        Returns
        -------
        self
        """
        p = None if self.p is None else _check_weight(self.p)
        clear_p = None if self.clear_p is None else _check_weight(self.clear_p)
        _check_align(self.align)
        y = _check_distributions(y, len(self.classes))
        cells = _check_cells(cells_from_distributions(y) if cells is None else cells, len(y), len(self.classes))
        rng = np.random.default_rng(self.random_state)
        counts = counts_from_cells(cells, self.classes)
        plan = self._plan(counts)
        pools = [np.flatnonzero((cells[:, 0] == k) & (cells[:, 1] == k)) for k in range(len(self.classes))]
        n = len(y)
        parts = [(np.stack([np.arange(n), np.arange(n)], 1), np.ones(n), np.full(n, ORIGINAL), cells)]
        parts += self._clear_mixes(plan, pools, rng, clear_p)
        parts += self._ambiguous_mixes(plan, pools, rng, p)
        src, wts, kind, out_cells = zip(*parts)

        self.counts_ = counts
        self.plan_ = plan
        self.sample_indices_ = np.concatenate(src).astype(np.int64)
        self.mix_weights_ = np.concatenate(wts).astype(np.float64)
        self.kind_ = np.concatenate(kind).astype(np.int8)
        self.cells_ = np.concatenate(out_cells).astype(np.int64)
        self.n_original_ = n
        a, b = self.sample_indices_.T
        w = self.mix_weights_[:, None]
        self.y_resampled_ = w * y[a] + (1.0 - w) * y[b]
        return self

    def _clear_mixes(self, plan: Plan, pools: list[np.ndarray], rng: np.random.Generator,
                     clear_p: float) -> list[_Part]:
        """New clear samples of each class: mixes of two distinct clear samples of that class."""
        parts = []
        for k, extra in enumerate(plan.new_clear):
            if extra <= 0:
                continue
            if len(pools[k]) < 2:
                raise ValueError(
                    f"{self.strategy}: class {self.classes[k]!r} needs {extra} new clear samples, "
                    f"mixed from two distinct clear samples, but has {len(pools[k])} clear sample(s)"
                )
            pairs = np.stack([rng.choice(pools[k], size=2, replace=False) for _ in range(extra)])
            parts.append((pairs, np.full(extra, clear_p), np.full(extra, CLEAR_MIX), np.full((extra, 2), k)))
        return parts

    def _ambiguous_mixes(self, plan: Plan, pools: list[np.ndarray], rng: np.random.Generator,
                         p: float) -> list[_Part]:
        """New ambiguous samples of each ordered pair (i, j): a clear i mixed with a clear j."""
        parts = []
        new_amb = plan.new_ambiguous
        for i in range(len(self.classes)):
            for j in range(len(self.classes)):
                extra = int(new_amb[i, j]) if i != j else 0
                if extra <= 0:
                    continue
                for k in (i, j):
                    if len(pools[k]) == 0:
                        raise ValueError(
                            f"{self.strategy}: pair {self.classes[i]}>{self.classes[j]} needs {extra} "
                            f"new samples but class {self.classes[k]!r} has no clear sample to mix"
                        )
                a = rng.choice(pools[i], size=extra)
                b = rng.choice(pools[j], size=extra)
                parts.append((np.stack([a, b], 1), np.full(extra, p), np.full(extra, AMBIGUOUS_MIX),
                              np.tile([i, j], (extra, 1))))
        return parts

    def fit_resample(self, X: Any, y: np.ndarray, *, cells: np.ndarray | None = None) -> tuple[Any, np.ndarray]:
        """Fit, then materialise the resampled features.

        Parameters
        ----------
        X : numpy.ndarray of shape (N, ...) or a sequence of N samples
            Fixed-size features (mixed at once), or per-sample sequences ``(T, D)`` or
            ``{modality: (T, D)}`` dicts (mixed lazily, item by item, with ``align``).
        y : numpy.ndarray, shape (N, C)
            Label distributions.
        cells : numpy.ndarray, optional
            See :meth:`fit`.

        Returns
        -------
        X_res : numpy.ndarray or MixedSamples
        y_res : numpy.ndarray, shape (N_res, C)
        """
        if len(X) != len(y):
            raise ValueError(f"X has {len(X)} samples but y has {len(y)}")
        self.fit(y, cells=cells)
        a, b = self.sample_indices_.T
        if isinstance(X, np.ndarray) and X.dtype != object:
            w = self.mix_weights_.reshape((-1,) + (1,) * (X.ndim - 1))
            X_res = w * X[a] + (1.0 - w) * X[b]
        else:
            X_res = MixedSamples(X, self.sample_indices_, self.mix_weights_, self.align)
        return X_res, self.y_resampled_


class MixedSamples:
    """A lazy sequence of resampled samples: row k is mixed from its sources when accessed."""

    def __init__(self, samples: Sequence[Any], sources: np.ndarray, weights: np.ndarray,
                 align: Align = "pad") -> None:
        self.samples = samples
        self.sources = sources
        self.weights = weights
        self.align = align

    def __len__(self) -> int:
        return len(self.sources)

    def __getitem__(self, k: int) -> Any:
        a, b = (int(i) for i in self.sources[k])
        w = float(self.weights[k])
        if a == b:
            return self.samples[a]
        xa, xb = self.samples[a], self.samples[b]
        if isinstance(xa, dict):
            return mix_samples(xa, xb, w, self.align)
        return mix_sequences(xa, xb, w, self.align)


class NoResampling(Resampler):
    """Strategy ``none``: the original training data (provenance is the identity)."""

    strategy = "none"

    def _plan(self, counts: CountTable) -> Plan:
        return Plan(counts, counts.clear.copy(), counts.ambiguous.copy(), strategy="none", params={})


class ClearBalancing(Resampler):
    """Strategy ``happiness``: clear-class balancing only (Table 2, "only balancing happiness").

    Parameters
    ----------
    balance_ratio : float
        A class below ``balance_ratio`` times the smallest other clear count is raised to
        ``n * ceil(m / n)`` (see :func:`pddslib.smoothing.balance_clear`).
    """

    strategy = "happiness"

    def __init__(self, *, balance_ratio: float = BALANCE_RATIO, clear_p: float = CLEAR_P, align: Align = ALIGN,
                 classes: Sequence[str] = CLASSES, random_state: int | np.random.Generator | None = None) -> None:
        super().__init__(classes=classes, random_state=random_state)
        self.balance_ratio = balance_ratio
        self.clear_p = clear_p
        self.align = align

    def _plan(self, counts: CountTable) -> Plan:
        return Plan(counts, balance_clear(counts.clear, self.balance_ratio), counts.ambiguous.copy(),
                    strategy="happiness", params={"balance_ratio": self.balance_ratio})


class UniformBalancing(Resampler):
    """Strategy ``uniform``: every clear class and ambiguous ordered pair below ``level`` -> ``level``.

    Parameters
    ----------
    level : int
        The paper uses 400.
    """

    strategy = "uniform"

    def __init__(self, *, level: int = LEVEL, p: float = P, clear_p: float = CLEAR_P, align: Align = ALIGN,
                 classes: Sequence[str] = CLASSES, random_state: int | np.random.Generator | None = None) -> None:
        super().__init__(classes=classes, random_state=random_state)
        self.p = p
        self.clear_p = clear_p
        self.align = align
        self.level = level

    def _plan(self, counts: CountTable) -> Plan:
        if not isinstance(self.level, (int, np.integer)) or self.level < 0:
            raise ValueError(f"level must be a non-negative integer, got {self.level!r}")
        targets = np.maximum(counts.ambiguous, self.level)
        np.fill_diagonal(targets, 0)
        return Plan(counts, np.maximum(counts.clear, self.level), targets,
                    strategy="uniform", params={"level": int(self.level)})


class PDDS(Resampler):
    """Pairwise-emotion Data Distribution Smoothing (the paper's method).

    Parameters
    ----------
    sigma : float
        Width of the Gaussian kernel of Eq. (1) (paper: 1).
    normalize : {None, "none", "sum"}
        Kernel normalisation (default: Eq. (1) literally, not normalised).
    balance_ratio : float
        Clear balancing threshold (see :class:`ClearBalancing`).
    p, clear_p, classes, align, random_state
        See :class:`Resampler` (paper: p = 0.8 best, clear_p = 0.5).
    """

    strategy = "pdds"

    def __init__(self, *, sigma: float = SIGMA, normalize: Normalize = NORMALIZE, balance_ratio: float = BALANCE_RATIO,
                 p: float = P, clear_p: float = CLEAR_P, align: Align = ALIGN, classes: Sequence[str] = CLASSES,
                 random_state: int | np.random.Generator | None = None) -> None:
        super().__init__(classes=classes, random_state=random_state)
        self.p = p
        self.clear_p = clear_p
        self.align = align
        self.sigma = sigma
        self.normalize = normalize
        self.balance_ratio = balance_ratio

    def _plan(self, counts: CountTable) -> Plan:
        kernel_weights(self.sigma, self.normalize)  # validates
        return pdds_plan(counts, sigma=self.sigma, normalize=self.normalize,
                         balance_ratio=self.balance_ratio)


_REGISTRY: dict[str, Callable[..., Resampler]] = {
    "none": NoResampling,
    "happiness": ClearBalancing,
    "uniform": UniformBalancing,
    "pdds": PDDS,
}


def make_resampler(strategy: str, **params: Any) -> Resampler:
    """Build a resampler by strategy name (``none``, ``happiness``, ``uniform``, ``pdds``).

    Parameters that a strategy does not take are an error, so a typo cannot pass silently.
    """
    if strategy not in _REGISTRY:
        raise ValueError(f"unknown strategy {strategy!r}; expected one of {STRATEGIES}")
    try:
        return _REGISTRY[strategy](**params)
    except TypeError as err:
        raise TypeError(f"strategy {strategy!r}: {err}") from None


def plan_for(strategy: str, counts: CountTable, **params: Any) -> Plan:
    """The plan of a strategy on given counts (e.g. the packaged IEMOCAP counts)."""
    return make_resampler(strategy, classes=counts.classes, **params).plan(counts)


def _check_cells(cells: Any, n: int, n_classes: int) -> np.ndarray:
    cells = np.asarray(cells, dtype=np.int64)
    if cells.shape != (n, 2):
        raise ValueError(f"cells must have shape ({n}, 2), got {cells.shape}")
    if (cells >= n_classes).any() or (cells < -1).any():
        raise ValueError(f"cells must be class indices in [0, {n_classes}) or -1")
    return cells


def _check_distributions(y: Any, n_classes: int) -> np.ndarray:
    y = np.asarray(y, dtype=np.float64)
    if y.ndim != 2 or y.shape[1] != n_classes:
        raise ValueError(f"y must be label distributions of shape (N, {n_classes}), got {y.shape}")
    if not np.isfinite(y).all() or (y < 0).any():
        bad = int(np.flatnonzero(~np.isfinite(y).all(1) | (y < 0).any(1))[0])
        raise ValueError(f"y row {bad} is not a distribution: {y[bad]}")
    sums = y.sum(1)
    off = np.flatnonzero(np.abs(sums - 1.0) > 1e-6)
    if len(off):
        raise ValueError(f"y row {int(off[0])} sums to {sums[off[0]]:.6g}, expected 1 "
                         f"({len(off)} row(s) off)")
    return y
