"""One resampling API for the training-data strategies of Tables 1-2.

======================  ======================================================================
``none``                the original training data
``happiness``           clear balancing only (IEMOCAP: happiness 43 -> 215, mixup with p = 0.5)
``uniform``             every clear class and every ambiguous pair below 400 -> 400 (pairs: ordered
                        cells i>j, or unordered pairs {i, j}: see :class:`UniformBalancing`)
``pdds``                clear balancing, then Eq. (1) on every emotion pair (the paper's method)
======================  ======================================================================

The samplers follow imbalanced-learn's protocol, adapted to label distributions: keyword-only
constructors that only store their arguments, ``get_params``/``set_params`` (so that
``sklearn.base.clone`` works), validation in :meth:`~Resampler.fit`, ``fit(X, y)`` and
``fit_resample(X, y)``, fitted attributes that end in ``_`` (``sampling_strategy_`` included),
and the provenance of every output row. A synthesised row is recorded as
``(source a, source b, weight p)`` and is only materialised when asked for (by
:meth:`Resampler.fit_resample`, by :class:`pddslib.pdds.dataset.PDDSDataset` item by item, or by the
training loop when it builds a batch), so memory does not grow with the number of new samples.

Every sampler declares what each constructor parameter may be (``_parameter_constraints``, in
the manner of scikit-learn's; :mod:`pddslib.util.constraints`); :meth:`Resampler.fit`,
:meth:`Resampler.fit_resample` and :meth:`Resampler.plan` check them before anything is drawn,
and :class:`pddslib.config.RunSpec` and the command line check the same declarations::

    PDDS(sigma=-1).fit_resample(X, y)
    InvalidParameterError: The 'sigma' parameter of PDDS must be a float in the range [0, inf). Got -1 instead.

``y`` may be 1-D hard labels, ``(N, C)`` vote counts or ``(N, C)`` label distributions;
``X`` a numpy array, a pandas DataFrame/Series, a torch tensor or a list of per-utterance items,
and the output has the input's type (:mod:`pddslib.pdds.inputs` says exactly how).

Hard labels
-----------
With 1-D labels every sample is clear and no ambiguous cell holds an original sample.
``none`` and ``happiness`` then do what they do on votes. ``uniform`` fills every ordered pair
with ``level`` mixes. ``pdds`` balances the clear classes and then, by Eq. (1) on the chains
``[n_i, 0, 0, n_j]``, gives every ordered pair (i, j) ``round(w * n_i)`` new ambiguous samples
(``n_i``: balanced clear count of i; ``w = exp(-1 / (2 sigma^2))``, 0.607 at sigma = 1), each a
mix of a clear i and a clear j with weight ``p``: it does **not** reduce to clear balancing
(``sigma = 0`` does). ``fit`` warns about it (:class:`HardLabelsWarning`) and
:meth:`Resampler.summary` says it.

Example
-------
>>> import numpy as np
>>> from pddslib import PDDS
>>> y = np.eye(3)[[0, 0, 0, 1, 1, 2, 2, 2]]           # clear samples of three classes
>>> sampler = PDDS(sigma=1.0, p=0.8, classes=("a", "b", "c"), random_state=0)
>>> X_res, y_res = sampler.fit_resample(np.arange(8.0)[:, None], y)
>>> sampler.sample_indices_.shape[1], bool(np.allclose(y_res.sum(1), 1))
(2, True)
>>> sampler.sampling_strategy_["a>b"]                 # (before, after) of the cell a>b
(0, 2)
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Mapping, Sequence
from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np

from ..util.constraints import Interval, Options, validate
from .counts import CountTable
from .inputs import Targets, check_targets, check_X, resample_X, resample_y
from .labels import CLASSES, cells_from_distributions
from .mixup import ALIGNS, Align, MixedSamples
from .provenance import (
    AMBIGUOUS_MIX,
    CLEAR_MIX,
    ORIGINAL,
    cell_summary,
    check_cells,
    counts_from_cells,
    draw_provenance,
)
from .smoothing import BALANCE_RATIO, NORMALIZE, Normalize, Plan, balance_clear, pdds_plan

__all__ = [
    "ALIGN", "ALIGN_OPTIONS", "AMBIGUOUS_MIX", "BALANCE_RATIO", "BALANCE_RATIO_RANGE", "CLEAR_MIX", "CLEAR_P",
    "LEVEL", "LEVEL_RANGE", "REPLACEMENT", "REPLACEMENT_OPTIONS", "NORMALIZE", "NORMALIZE_OPTIONS", "ORIGINAL", "P",
    "PAIRS", "PAIRS_OPTIONS", "PDDS",
    "SIGMA", "SIGMA_RANGE", "WEIGHT", "ClearBalancing", "HardLabelsWarning", "MixedSamples",
    "NoResampling", "Resampler", "UniformBalancing", "counts_from_cells", "unordered_targets",
]


#: The defaults of the strategies' parameters, each declared once (the paper's settings:
#: sigma = 1, p = 0.8 as in Fig. 6, p = 0.5 within a class, uniform level 400).
#: (The kernel normalisation and the clear-balancing ratio are the defaults of pddslib.pdds.smoothing.)
SIGMA, P, CLEAR_P, LEVEL, ALIGN = 1.0, 0.8, 0.5, 400, "pad"
#: Which "ambiguous samples of each emotion-pair" uniform balancing raises to ``level``: every
#: ordered cell (i major, j minor) on its own, or every unordered pair {i, j} (both cells together).
#: The paper does not say; see :class:`UniformBalancing` and the book's Decisions page.
PAIRS = "ordered"
_PAIRS = ("ordered", "unordered")

#: The constraints of the parameters the strategies share (each sampler lists those it takes in
#: its ``_parameter_constraints``). A mixup weight is a share in [0, 1] (0.5 mixes equally; the
#: paper's p is the major emotion's, 0.5-0.9 in Fig. 6); the kernel width, the balancing ratio,
#: the level and plain mixup's alpha as their functions define them.
WEIGHT = [Interval(Real, 0, 1, closed="both")]
SIGMA_RANGE = [Interval(Real, 0, None, closed="left")]
NORMALIZE_OPTIONS = [Options(str, ("none", "sum")), None]
BALANCE_RATIO_RANGE = [Interval(Real, 0, None, closed="left")]
LEVEL_RANGE = [Interval(Integral, 1, None, closed="left")]
ALIGN_OPTIONS = [Options(str, ALIGNS)]
PAIRS_OPTIONS = [Options(str, _PAIRS)]
#: ``replacement``: whether a class with a single clear sample may be balanced with copies of it.
REPLACEMENT = False
REPLACEMENT_OPTIONS = ["boolean"]


class HardLabelsWarning(UserWarning):
    """``y`` is 1-D hard labels: every sample is clear (see the module docstring)."""


class Resampler:
    """Base of the strategies: turns a :class:`~pddslib.pdds.smoothing.Plan` into provenance.

    Subclasses implement :meth:`_plan` and take, of the parameters below, those they use (``none``
    takes none of them, ``happiness`` ``clear_p`` and ``align``):

    Parameters
    ----------
    p : float
        Mixup weight of the major emotion for new ambiguous samples (Eq. 2-3).
    clear_p : float
        Mixup weight for new clear samples (two distinct clear samples of the same class).
    classes : sequence of str
        Class codes (columns of a 2-D ``y``; the codes of string labels); default: the paper's six.
    align : {"pad", "crop", "interp"}
        Sequence alignment used when materialising per-utterance items.
    random_state : int, numpy.random.Generator or None
        Seed of the choice of mixup sources.
    replacement : bool
        The fallback for small data (``happiness``, ``uniform``, ``pdds``; default False): a new
        clear sample mixes two distinct clear samples of its class, so a class with a single
        clear sample cannot be balanced and ``fit`` raises a ValueError that names this option.
        With ``replacement=True`` both sources of such a class are drawn with replacement, so its
        new clear samples are copies of its one sample (classes with two or more clear samples
        are drawn exactly as without it). A class with no clear sample is an error either way.

    Attributes
    ----------
    counts_ : CountTable
        Counts of the training set given to :meth:`fit`.
    plan_ : Plan
        Balanced clear counts and ambiguous targets.
    sampling_strategy_ : dict
        ``cell -> (before, after)`` sample counts: a class code for its clear cell, ``"i>j"`` for
        the ambiguous cell of major i and minor j, ``"other"`` for rows outside the cells.
    y_encoding_ : {"labels", "counts", "distributions"}
        How ``y`` was given (:func:`pddslib.pdds.inputs.check_targets`).
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
    #: None: the strategy makes no new clear samples from a class's own ones, or offers no fallback.
    replacement: bool | None = None
    #: What each constructor parameter may be (a subclass adds its own): checked by :meth:`fit`,
    #: :meth:`fit_resample` and :meth:`plan` first (:func:`pddslib.util.constraints.validate`).
    _parameter_constraints: ClassVar[dict[str, list]] = {
        "classes": ["array-like"],
        # what numpy.random.default_rng takes (a seed, a sequence of seeds, a generator or its state)
        "random_state": [Interval(Integral, 0, None, closed="left"), "array-like", np.random.Generator,
                         np.random.BitGenerator, np.random.SeedSequence, np.random.RandomState, None],
    }
    #: The parameters that enter a run key even at their default (:meth:`pddslib.config.RunSpec.identity`):
    #: those that existed when run keys were first made. A parameter added later is not listed, so
    #: it enters a key only when it differs from its default and every existing key stays the same.
    _keyed_always: ClassVar[frozenset[str]] = frozenset()
    #: Parameters whose ``None`` means a value: ``{name: its canonical spelling}`` (:meth:`canonical`).
    _none_means: ClassVar[dict[str, str]] = {}

    def __init__(self, *, classes: Sequence[str] = CLASSES,
                 random_state: int | np.random.Generator | None = None) -> None:
        self.classes = classes
        self.random_state = random_state

    # -- to be provided by strategies -------------------------------------------------------
    def _plan(self, counts: CountTable) -> Plan:  # pragma: no cover - abstract
        raise NotImplementedError

    # -- parameters (scikit-learn's estimator API) ----------------------------------------------
    @classmethod
    def _param_names(cls) -> list[str]:
        return [p for p in inspect.signature(cls.__init__).parameters if p != "self"]

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Constructor arguments (as in scikit-learn).

        Parameters
        ----------
        deep : bool
            Accepted for scikit-learn; a sampler holds no nested estimator, so it changes nothing.
        """
        return {n: getattr(self, n) for n in self._param_names()}

    def set_params(self, **params: Any) -> Resampler:
        """Set constructor arguments (as in scikit-learn); unknown names are a ValueError.

        Returns
        -------
        self
        """
        valid = self._param_names()
        for name, value in params.items():
            if name not in valid:
                raise ValueError(f"Invalid parameter {name!r} for {type(self).__name__}; "
                                 f"valid parameters: {valid}")
            setattr(self, name, value)
        return self

    @classmethod
    def check_params(cls, params: Mapping[str, Any]) -> None:
        """Check constructor arguments against :attr:`_parameter_constraints`, without building a sampler.

        Raises
        ------
        pddslib.util.constraints.InvalidParameterError
            ``The 'sigma' parameter of PDDS must be a float in the range [0, inf). Got -1 instead.``
        """
        validate(cls._parameter_constraints, params, cls.__name__)

    def _validate_params(self) -> None:
        self.check_params(self.get_params())

    @classmethod
    def canonical(cls, name: str, value: Any) -> Any:
        """One spelling per value of a (valid) parameter, so that equal settings give one run key.

        ``None`` of a parameter in ``_none_means`` is its spelling (``normalize=None`` is ``"none"``);
        a Python int or float subclass (``numpy.float64``) becomes the int or float itself.
        """
        if name in cls._none_means:
            return cls._none_means[name] if value is None else str(value)
        if isinstance(value, bool) or value is None:
            return value
        if isinstance(value, int):
            return int(value)
        if isinstance(value, float):
            return float(value)
        return value

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    def __sklearn_tags__(self) -> Any:
        """Tags for scikit-learn's and imbalanced-learn's checks (imports scikit-learn: only
        scikit-learn calls this)."""
        from sklearn.utils import InputTags, Tags, TargetTags

        return Tags(estimator_type=None, target_tags=TargetTags(required=True, multi_output=True),
                    input_tags=InputTags(two_d_array=True, three_d_array=True,
                                         allow_nan=True))

    # -- the protocol -----------------------------------------------------------------------
    def plan(self, counts: CountTable) -> Plan:
        """The plan this strategy makes for given counts (pure; no sample is drawn)."""
        self._validate_params()
        return self._plan(counts)

    def fit(self, X: Any = None, y: Any = None, *, cells: np.ndarray | None = None) -> Resampler:
        """Draw the provenance of the resampled training set.

        ``fit(y)`` and ``fit(X, y)`` both work: when ``y`` is not given, the one positional
        argument is taken as ``y`` (the training loop calls ``fit(y, cells=cells)``).

        Parameters
        ----------
        X : optional
            Features (any type :meth:`fit_resample` accepts); only their number is checked.
        y : array-like, shape (N,), (N, C)
            1-D hard labels (class indices or class codes), vote counts or label distributions
            (:func:`pddslib.pdds.inputs.check_targets`). 1-D labels make every sample clear and
            warn (:class:`HardLabelsWarning`) with ``pdds`` and ``uniform``: see the module
            docstring.
        cells : numpy.ndarray of int, shape (N, 2), optional
            (major, minor) cell of each sample as the vote policy decided
            (:func:`pddslib.pdds.labels.cells_from_categories`); by default derived from ``y``
            (:func:`pddslib.pdds.labels.cells_from_distributions`).

        Returns
        -------
        self
        """
        self._validate_params()
        if y is None:
            if X is None:
                raise TypeError(f"{type(self).__name__}.fit needs y: fit(y) or fit(X, y)")
            try:
                targets = check_targets(X, self.classes)
            except ValueError as err:
                name = type(self).__name__
                raise ValueError(f"{err} (fit got one argument and took it as y, as in fit(y); if it was X: "
                                 f"{name} requires y to be passed, but the target y is None)") from None
        else:
            n = None if X is None else check_X(X)
            targets = check_targets(y, self.classes)
            if n is not None and n != len(targets.distributions):
                raise ValueError(f"X has {n} samples but y has {len(targets.distributions)}")
        self._fit(targets, cells)
        self._warn_hard_labels()
        return self

    def fit_resample(self, X: Any, y: Any, *, cells: np.ndarray | None = None) -> tuple[Any, Any]:
        """Fit, then materialise the resampled features.

        Parameters
        ----------
        X : numpy.ndarray, pandas.DataFrame or Series, torch.Tensor, or list/tuple of items
            Arrays, frames (rows by position) and tensors are fixed-size rows mixed at once;
            items (arrays or tensors ``(T, ...)``, ``{modality: (T, D)}`` dicts) are mixed one by
            one with ``align``. A torch ``Dataset`` is a TypeError: use
            :class:`pddslib.pdds.dataset.PDDSDataset`, which mixes lazily.
        y : array-like
            See :meth:`fit`.
        cells : numpy.ndarray, optional
            See :meth:`fit`.

        Returns
        -------
        X_res : same type as ``X``
            ``N_res`` samples, the ``N`` inputs first (:mod:`pddslib.pdds.inputs`).
        y_res : numpy.ndarray, torch.Tensor, pandas.DataFrame or list, shape (N_res, C)
            Label distributions (whatever the encoding of ``y``), in ``y``'s container
            (:func:`pddslib.pdds.inputs.resample_y`).
        """
        self._validate_params()
        n = check_X(X)
        targets = check_targets(y, self.classes)
        if n != len(targets.distributions):
            raise ValueError(f"X has {n} samples but y has {len(targets.distributions)}")
        self._fit(targets, cells)
        self._warn_hard_labels()
        X_res = resample_X(X, self.sample_indices_, self.mix_weights_, self.n_original_, self.align)
        return X_res, resample_y(y, self.y_resampled_, self.classes, X_res)

    def summary(self) -> str:
        """What the fit did, in a few lines (the full tables: ``plan_.format()``)."""
        if not hasattr(self, "sample_indices_"):
            return f"{self!r}: not fitted"
        n, n_res = self.n_original_, len(self.sample_indices_)
        lines = [repr(self), f"y: {_ENCODINGS[self.y_encoding_]}"]
        if self.y_encoding_ == "labels":
            lines.append(f"  {_hard_label_note(self)}")
        lines.append(f"rows: {n} -> {n_res} (new clear {int((self.kind_ == CLEAR_MIX).sum())}, "
                     f"new ambiguous {int((self.kind_ == AMBIGUOUS_MIX).sum())})")
        changed = [f"{cell} {a} -> {b}" for cell, (a, b) in self.sampling_strategy_.items() if a != b]
        lines.append("cells changed: " + (", ".join(changed) if changed else "none"))
        return "\n".join(lines)

    # -- fitting ----------------------------------------------------------------------------
    def _fit(self, targets: Targets, cells: np.ndarray | None) -> None:
        p = None if self.p is None else float(self.p)  # validated (_parameter_constraints)
        clear_p = None if self.clear_p is None else float(self.clear_p)
        y = targets.distributions
        cells = check_cells(cells_from_distributions(y) if cells is None else cells, len(y), len(self.classes))
        counts = counts_from_cells(cells, self.classes)
        plan = self._plan(counts)
        drawn = self._draw(plan, cells, y, np.random.default_rng(self.random_state), p=p, clear_p=clear_p)

        self.counts_ = counts
        self.plan_ = plan
        self.y_encoding_ = targets.encoding
        self.sample_indices_, self.mix_weights_, self.kind_, self.cells_ = drawn
        self.n_original_ = len(y)
        a, b = self.sample_indices_.T
        w = self.mix_weights_[:, None]
        self.y_resampled_ = w * y[a] + (1.0 - w) * y[b]
        self.sampling_strategy_ = cell_summary(counts, counts_from_cells(self.cells_, self.classes))

    def _draw(self, plan: Plan, cells: np.ndarray, y: np.ndarray, rng: np.random.Generator, *,
              p: float | None, clear_p: float | None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Sources, weights, kinds and cells of every output row (the controls draw differently)."""
        return draw_provenance(plan, cells, rng, p=p, clear_p=clear_p, classes=self.classes, strategy=self.strategy,
                               replacement=None if self.replacement is None else bool(self.replacement))

    def _warn_hard_labels(self) -> None:
        if self.y_encoding_ == "labels" and self.strategy in ("pdds", "uniform"):
            warnings.warn(_hard_label_note(self), HardLabelsWarning, stacklevel=3)


_ENCODINGS = {
    "labels": "1-D hard labels (every sample clear)",
    "counts": "vote counts (rows normalised)",
    "distributions": "label distributions",
}


def _hard_label_note(sampler: Resampler) -> str:
    """What 1-D labels mean for this strategy (see the module docstring)."""
    name = type(sampler).__name__
    if sampler.strategy == "pdds":
        return (f"{name}: y holds hard labels, so every sample is clear and no ambiguous cell has an "
                "original sample; PDDS balances the clear classes and, by Eq. (1), gives every ordered "
                "pair (i, j) round(w * n_i) new mixes of a clear i and a clear j "
                "(w = exp(-1/(2 sigma^2))): it does not reduce to clear balancing unless sigma = 0")
    if sampler.strategy == "uniform":
        if getattr(sampler, "pairs", PAIRS) == "unordered":
            return (f"{name}: y holds hard labels, so every sample is clear; every unordered pair {{i, j}} "
                    f"gets {sampler.level} new mixes of a clear i and a clear j, split between i>j and j>i")
        return (f"{name}: y holds hard labels, so every sample is clear; every ordered pair (i, j) "
                f"gets {sampler.level} new mixes of a clear i and a clear j")
    return f"{name}: y holds hard labels, so every sample is clear"


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
        ``n * ceil(m / n)`` (see :func:`pddslib.pdds.smoothing.balance_clear`).
    clear_p, align, classes, random_state, replacement
        See :class:`Resampler`.
    """

    strategy = "happiness"
    _parameter_constraints: ClassVar[dict[str, list]] = {
        **Resampler._parameter_constraints, "balance_ratio": BALANCE_RATIO_RANGE, "clear_p": WEIGHT,
        "align": ALIGN_OPTIONS, "replacement": REPLACEMENT_OPTIONS}
    _keyed_always = frozenset({"balance_ratio", "clear_p", "align"})

    def __init__(self, *, balance_ratio: float = BALANCE_RATIO, clear_p: float = CLEAR_P, align: Align = ALIGN,
                 classes: Sequence[str] = CLASSES, random_state: int | np.random.Generator | None = None,
                 replacement: bool = REPLACEMENT) -> None:
        super().__init__(classes=classes, random_state=random_state)
        self.balance_ratio = balance_ratio
        self.clear_p = clear_p
        self.align = align
        self.replacement = replacement

    def _plan(self, counts: CountTable) -> Plan:
        return Plan(counts, balance_clear(counts.clear, self.balance_ratio), counts.ambiguous.copy(),
                    strategy="happiness", params={"balance_ratio": self.balance_ratio})


class UniformBalancing(Resampler):
    """Strategy ``uniform``: every clear class and every ambiguous pair below ``level`` -> ``level``.

    Parameters
    ----------
    level : int
        The paper uses 400.
    pairs : {"ordered", "unordered"}
        What "the ambiguous samples of each emotion-pair" are. ``"ordered"`` (default): each
        ordered cell (i major, j minor) below ``level`` is raised to ``level`` on its own (30
        cells for six classes). ``"unordered"``: each unordered pair {i, j}, holding both cells,
        whose total ``a_ij + a_ji`` is below ``level`` is raised to a total of ``level`` (15
        pairs); the new samples go one by one to the cell that holds fewer samples at that moment
        (ties: the cell with the smaller original count, then the cell whose major comes first),
        so the smaller cell is filled first and the two end as equal as their originals allow:
        ``(ceil(level / 2), floor(level / 2))``, or ``(level - big, big)`` when the bigger
        original cell ``big`` already holds half of ``level`` or more.
    p, clear_p, align, classes, random_state, replacement
        See :class:`Resampler`.
    """

    strategy = "uniform"
    _parameter_constraints: ClassVar[dict[str, list]] = {
        **Resampler._parameter_constraints, "level": LEVEL_RANGE, "pairs": PAIRS_OPTIONS, "p": WEIGHT,
        "clear_p": WEIGHT, "align": ALIGN_OPTIONS, "replacement": REPLACEMENT_OPTIONS}
    _keyed_always = frozenset({"level", "p", "clear_p", "align"})  # pairs and replacement came later

    def __init__(self, *, level: int = LEVEL, pairs: str = PAIRS, p: float = P, clear_p: float = CLEAR_P,
                 align: Align = ALIGN, classes: Sequence[str] = CLASSES,
                 random_state: int | np.random.Generator | None = None, replacement: bool = REPLACEMENT) -> None:
        super().__init__(classes=classes, random_state=random_state)
        self.replacement = replacement
        self.p = p
        self.clear_p = clear_p
        self.align = align
        self.level = level
        self.pairs = pairs

    def _plan(self, counts: CountTable) -> Plan:
        if self.pairs == "ordered":
            targets = np.maximum(counts.ambiguous, self.level)
        else:
            targets = unordered_targets(counts.ambiguous, int(self.level))
        np.fill_diagonal(targets, 0)
        return Plan(counts, np.maximum(counts.clear, self.level), targets,
                    strategy="uniform", params={"level": int(self.level), "pairs": self.pairs})


def unordered_targets(ambiguous: np.ndarray, level: int) -> np.ndarray:
    """Uniform balancing of unordered pairs: each {i, j} with ``a_ij + a_ji < level`` -> total ``level``.

    The new samples of a pair go one by one to the cell holding fewer samples (ties: the smaller
    original, then the cell whose major comes first); see :class:`UniformBalancing`. Cells of pairs
    already at or above ``level`` keep their counts.

    Returns
    -------
    numpy.ndarray of int, shape (C, C)
    """
    amb = np.asarray(ambiguous, dtype=np.int64)
    out = amb.copy()
    c = len(amb)
    for i in range(c):
        for j in range(i + 1, c):
            a, b = int(amb[i, j]), int(amb[j, i])
            if a + b >= level:
                continue
            first_is_small = a <= b  # the tie-break: the smaller original, then i>j (major i first)
            small, big = (a, b) if first_is_small else (b, a)
            if 2 * big >= level:  # the small cell alone is filled up to the total
                t_small, t_big = level - big, big
            else:  # both reach an equal share; an odd one out goes to the small cell (it gets the first)
                t_small, t_big = (level + 1) // 2, level // 2
            out[i, j], out[j, i] = (t_small, t_big) if first_is_small else (t_big, t_small)
    return out


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
    p, clear_p, classes, align, random_state, replacement
        See :class:`Resampler` (paper: p = 0.8 best, clear_p = 0.5; ``replacement``: the fallback
        for a class with a single clear sample, default off).
    """

    strategy = "pdds"
    _parameter_constraints: ClassVar[dict[str, list]] = {
        **Resampler._parameter_constraints, "sigma": SIGMA_RANGE, "normalize": NORMALIZE_OPTIONS,
        "balance_ratio": BALANCE_RATIO_RANGE, "p": WEIGHT, "clear_p": WEIGHT, "align": ALIGN_OPTIONS,
        "replacement": REPLACEMENT_OPTIONS}
    _keyed_always = frozenset({"sigma", "normalize", "balance_ratio", "p", "clear_p", "align"})
    _none_means: ClassVar[dict[str, str]] = {"normalize": "none"}

    def __init__(self, *, sigma: float = SIGMA, normalize: Normalize = NORMALIZE, balance_ratio: float = BALANCE_RATIO,
                 p: float = P, clear_p: float = CLEAR_P, align: Align = ALIGN, classes: Sequence[str] = CLASSES,
                 random_state: int | np.random.Generator | None = None, replacement: bool = REPLACEMENT) -> None:
        super().__init__(classes=classes, random_state=random_state)
        self.replacement = replacement
        self.p = p
        self.clear_p = clear_p
        self.align = align
        self.sigma = sigma
        self.normalize = normalize
        self.balance_ratio = balance_ratio

    def _plan(self, counts: CountTable) -> Plan:
        return pdds_plan(counts, sigma=self.sigma, normalize=self.normalize,
                         balance_ratio=self.balance_ratio)


