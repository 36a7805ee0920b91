"""PDDS in a scikit-learn pipeline: hard-label classifiers, scorers and cross-validation on soft labels.

The samplers always return label distributions (a mix of a clear i and a clear j is labelled
``p e_i + (1 - p) e_j``), which a hard-label estimator refuses::

    imblearn.pipeline.Pipeline([("pdds", PDDS()), ("clf", LogisticRegression())]).fit(X, votes)
    ValueError: y should be a 1d array, got an array of shape (1095, 6) instead.

Design
------
A weighted hard-label estimator sees a label distribution exactly when each row ``n`` becomes one
hard row per class ``k`` with ``q_nk > 0``, weighted ``q_nk``: its weighted log-loss
``sum_n sum_k q_nk (-log P_nk)`` *is* the soft labels' cross-entropy (the expected log-loss of a
label drawn from ``q_n``), and each sample's weights sum to 1, so the data term keeps its balance
with the regulariser. The weights cannot be made by the sampler, though: imbalanced-learn 0.14's
``Pipeline`` takes ``X_res, y_res = sampler.fit_resample(X, y)`` and hands only those to the next
step, and scikit-learn 1.9's metadata routing (``set_fit_request(sample_weight=True)``) routes
weights given to ``Pipeline.fit``, with the input's ``N`` rows, to a classifier that then sees
``N_res`` rows (``sample_weight.shape == (N,), expected (N_res,)``; tests/test_sklearn_pipeline.py).
So the expansion is done by the last step:

:class:`SoftLabelClassifier` (recommended)
    wraps any classifier whose ``fit`` takes ``sample_weight``; it receives the soft ``y_res``,
    expands it (:func:`expand_soft_labels`) and fits the wrapped classifier with the weights.
    Exact; ``predict_proba`` has one column per column of ``y``.
:class:`HardLabels` (for classifiers without ``sample_weight``)
    wraps the sampler. ``targets="copies"``: every row becomes ``resolution`` hard rows, ``round(q_k
    * resolution)`` of class k (largest remainders, so each row keeps ``resolution`` copies); exact
    when the probabilities are multiples of ``1 / resolution`` (the paper's ``p = 0.8`` mixes of
    clear samples at 10 or 5; three annotators' vote shares need 3 or 6), otherwise each
    probability is off by less than ``1 / resolution``. The estimator sees ``resolution`` times as
    many rows: with a loss summed over rows (``LogisticRegression``'s ``C * sum``) divide ``C`` by
    ``resolution`` to fit what ``SoftLabelClassifier`` fits. ``targets="argmax"`` keeps each row's
    most probable class and warns (:class:`SoftLabelsDroppedWarning`): a 0.8/0.2 mix then counts as
    all of its major class.

Both label the classes by column index (``classes_ = 0 .. C-1``). The scorers (callables
``scorer(estimator, X, y)``, which ``GridSearchCV(scoring=...)`` takes; :data:`SCORING` for several
at once) read ``y`` in any encoding: :func:`neg_soft_log_loss` compares ``predict_proba`` to the
label distributions, :func:`consensus_wa` and :func:`consensus_ua` score ``predict`` against the
consensus class (the argmax of the votes; the first class on ties). scikit-learn's stratified
splitters refuse 2-D ``y``; :class:`ConsensusStratifiedKFold` stratifies on the consensus class.

On small folds a class may hold a single clear sample, which clear balancing cannot mix with
another: the sampler's ``replacement=True`` makes copies of it instead (the error says so;
``GridSearchCV(error_score="raise")`` shows it at once instead of NaN scores). The README's
"Using PDDS in your own code" has a complete ``GridSearchCV`` over ``pdds__sigma``.

scikit-learn is imported only when a method needs it (the core install has none).
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Iterator, Sequence
from numbers import Integral
from typing import Any, ClassVar

import numpy as np

from ..util.constraints import HasMethods, Interval, Options, validate
from .inputs import check_targets, is_pandas
from .labels import CLASSES

__all__ = ["RESOLUTION", "SCORING", "TARGETS", "ConsensusStratifiedKFold", "HardLabels", "SoftLabelClassifier",
           "SoftLabelsDroppedWarning", "consensus", "consensus_ua", "consensus_wa", "distributions",
           "expand_soft_labels", "integer_copies", "neg_soft_log_loss", "soft_log_loss"]

#: What :class:`HardLabels` makes of a distribution, and its default number of copies per row.
TARGETS = ("copies", "argmax")
RESOLUTION = 10


class SoftLabelsDroppedWarning(UserWarning):
    """Hard labels were made by the argmax: the soft labels' information is gone."""


# -- labels ----------------------------------------------------------------------------------------
def _classes_for(y: Any, classes: Sequence[str] | None) -> tuple[str, ...]:
    if classes is not None:
        return tuple(classes)
    if is_pandas(y) and y.ndim == 2 and y.shape[1] > 1:
        return tuple(map(str, y.columns))
    shape = tuple(getattr(y, "shape", None) or np.shape(y))
    if len(shape) == 2 and shape[1] > 1:
        return tuple(str(k) for k in range(shape[1]))
    return CLASSES


def distributions(y: Any, classes: Sequence[str] | None = None) -> np.ndarray:
    """``y`` as label distributions ``(N, C)`` (:func:`pddslib.pdds.inputs.check_targets`).

    ``classes``: the columns of a 2-D ``y`` (default: its ``C`` columns in order, a DataFrame's
    names) or the codes of 1-D labels (default: the paper's six).
    """
    return check_targets(y, _classes_for(y, classes)).distributions


def consensus(y: Any, classes: Sequence[str] | None = None) -> np.ndarray:
    """The consensus class of every row: the most probable (most voted) column, the first on ties."""
    return distributions(y, classes).argmax(1)


def _take(X: Any, rows: np.ndarray) -> Any:
    """Rows of ``X`` by position (a DataFrame by ``iloc``, a list item by item)."""
    if is_pandas(X):
        return X.iloc[rows]
    if isinstance(X, (list, tuple)):
        return [X[k] for k in rows]
    return X[rows]


def expand_soft_labels(X: Any, y: Any, classes: Sequence[str] | None = None) -> tuple[Any, np.ndarray, np.ndarray]:
    """One hard row per non-zero class of each row, weighted by its probability.

    Returns
    -------
    X_rows : rows of ``X`` (row ``n`` once per class it has)
    labels : numpy.ndarray of int
        The class (column index of ``y``) of each row.
    weights : numpy.ndarray of float
        Its probability; the weights of one input row sum to 1.

    Example
    -------
    >>> X_rows, labels, weights = expand_soft_labels(np.array([[0.0], [1.0]]), [[0.8, 0.2], [0.0, 1.0]])
    >>> X_rows.ravel().tolist(), labels.tolist(), weights.tolist()
    ([0.0, 0.0, 1.0], [0, 1, 1], [0.8, 0.2, 1.0])
    """
    q = distributions(y, classes)
    rows, labels = np.nonzero(q > 0)
    return _take(X, rows), labels.astype(np.int64), q[rows, labels]


def integer_copies(y: Any, resolution: int = RESOLUTION, classes: Sequence[str] | None = None) -> np.ndarray:
    """``(N, C)`` whole numbers of copies: ``q * resolution`` rounded by largest remainders, so that
    each row sums to ``resolution`` (ties: the first class)."""
    q = distributions(y, classes)
    scaled = q * resolution
    base = np.floor(scaled + 1e-9).astype(np.int64)
    rest = resolution - base.sum(1)
    order = np.argsort(-(scaled - base), axis=1, kind="stable")
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.broadcast_to(np.arange(q.shape[1]), q.shape), axis=1)
    return base + (ranks < rest[:, None])


# -- the wrappers ----------------------------------------------------------------------------------
class _Wrapper:
    """get_params/set_params with nested ``inner__param`` names, as scikit-learn's meta-estimators."""

    _inner: ClassVar[str] = ""
    _parameter_constraints: ClassVar[dict[str, list]] = {}

    @classmethod
    def _param_names(cls) -> list[str]:
        return [p for p in inspect.signature(cls.__init__).parameters if p != "self"]

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Constructor arguments; with ``deep``, also the wrapped object's as ``inner__name``."""
        out = {n: getattr(self, n) for n in self._param_names()}
        inner = out[self._inner]
        if deep and hasattr(inner, "get_params"):
            out.update({f"{self._inner}__{k}": v for k, v in inner.get_params(deep=True).items()})
        return out

    def set_params(self, **params: Any) -> _Wrapper:
        """Set constructor arguments, or the wrapped object's as ``inner__name``; returns self."""
        nested: dict[str, dict[str, Any]] = {}
        for key, value in params.items():
            name, sep, sub = key.partition("__")
            if name not in self._param_names():
                raise ValueError(f"Invalid parameter {name!r} for {type(self).__name__}; "
                                 f"valid parameters: {self._param_names()}")
            if sep:
                nested.setdefault(name, {})[sub] = value
            else:
                setattr(self, name, value)
        for name, sub in nested.items():
            getattr(self, name).set_params(**sub)
        return self

    def _validate_params(self) -> None:
        validate(self._parameter_constraints, {n: getattr(self, n) for n in self._param_names()},
                 type(self).__name__)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params(deep=False).items())
        return f"{type(self).__name__}({args})"


def _fresh(estimator: Any) -> Any:
    """An unfitted copy with the same parameters (scikit-learn's ``clone`` when present)."""
    try:
        from sklearn.base import clone
    except ImportError:  # pragma: no cover - the samplers need no scikit-learn
        return type(estimator)(**estimator.get_params(deep=False))
    return clone(estimator)


class SoftLabelClassifier(_Wrapper):
    """A hard-label classifier fitted on soft labels: :func:`expand_soft_labels`, then ``fit`` with
    ``sample_weight`` (see the module docstring: exactly the soft labels' cross-entropy).

    Parameters
    ----------
    estimator : classifier
        Its ``fit`` takes ``sample_weight`` (``LogisticRegression``, ``SGDClassifier(loss="log_loss")``, ...).
    classes : sequence of str, optional
        How to read ``y`` (:func:`distributions`); predictions are column indices either way.

    Attributes
    ----------
    estimator_ : the fitted clone of ``estimator``
    classes_ : numpy.ndarray of int, ``0 .. C-1`` (the columns of ``y``)
    n_expanded_ : int
        Hard rows it was fitted on.
    """

    _inner = "estimator"
    _parameter_constraints: ClassVar[dict[str, list]] = {
        "estimator": [HasMethods(("fit", "predict"))], "classes": ["array-like", None]}

    def __init__(self, estimator: Any, *, classes: Sequence[str] | None = None) -> None:
        self.estimator = estimator
        self.classes = classes

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> SoftLabelClassifier:
        """Fit on ``y`` in any encoding (1-D labels, vote counts, distributions); ``sample_weight``
        (one per row of ``X``) multiplies the expansion's weights."""
        self._validate_params()
        q = distributions(y, self.classes)
        rows, labels = np.nonzero(q > 0)
        weights = q[rows, labels]
        if sample_weight is not None:
            weights = weights * np.asarray(sample_weight, dtype=np.float64)[rows]
        self.estimator_ = _fresh(self.estimator).fit(_take(X, rows), labels, sample_weight=weights)
        self.classes_ = np.arange(q.shape[1])
        self.n_expanded_ = len(rows)
        return self

    def _fitted(self) -> Any:
        if not hasattr(self, "estimator_"):
            raise AttributeError(f"this {type(self).__name__} is not fitted yet: call fit first")
        return self.estimator_

    def predict_proba(self, X: Any) -> np.ndarray:
        """``(N, C)``: one column per column of the training ``y`` (0 for a class it never saw)."""
        est = self._fitted()
        proba = np.asarray(est.predict_proba(X), dtype=np.float64)
        out = np.zeros((len(proba), len(self.classes_)))
        out[:, np.asarray(est.classes_, dtype=np.int64)] = proba
        return out

    def predict(self, X: Any) -> np.ndarray:
        """The predicted class (a column index of ``y``)."""
        return np.asarray(self._fitted().predict(X)).astype(np.int64)

    def score(self, X: Any, y: Any) -> float:
        """WA against the consensus class of ``y`` (:func:`consensus_wa`)."""
        return consensus_wa(self, X, y, classes=self.classes)

    def __sklearn_tags__(self) -> Any:
        """A multi-class classifier whose ``y`` may be 2-D (imports scikit-learn: only it calls this)."""
        from sklearn.utils import ClassifierTags, Tags, TargetTags

        return Tags(estimator_type="classifier", classifier_tags=ClassifierTags(),
                    target_tags=TargetTags(required=True, two_d_labels=True, multi_output=True))


class HardLabels(_Wrapper):
    """A sampler whose output labels are hard: integer copies per class, or the argmax.

    Parameters
    ----------
    sampler : a sampler (``PDDS(...)``, any object with ``fit_resample``)
        Cloned at each fit; its parameters are ``sampler__sigma``, ...
    targets : {"copies", "argmax"}
        ``"copies"``: each row becomes ``resolution`` rows, ``round(q_k * resolution)`` of class k
        (:func:`integer_copies`); ``"argmax"``: each row its most probable class, with a
        :class:`SoftLabelsDroppedWarning` (see the module docstring).
    resolution : int
        Copies per row with ``"copies"``.

    Attributes
    ----------
    sampler_ : the fitted clone of ``sampler``
    rows_ : numpy.ndarray of int
        The row of the sampler's output that each output row copies.
    """

    _inner = "sampler"
    _parameter_constraints: ClassVar[dict[str, list]] = {
        "sampler": [HasMethods("fit_resample")], "targets": [Options(str, TARGETS)],
        "resolution": [Interval(Integral, 1, None, closed="left")]}

    def __init__(self, sampler: Any, *, targets: str = "copies", resolution: int = RESOLUTION) -> None:
        self.sampler = sampler
        self.targets = targets
        self.resolution = resolution

    def fit_resample(self, X: Any, y: Any, **params: Any) -> tuple[Any, np.ndarray]:
        """The sampler's ``fit_resample``, then hard labels (column indices of its ``y``)."""
        self._validate_params()
        sampler = _fresh(self.sampler)
        X_res, y_res = sampler.fit_resample(X, y, **params)
        q = distributions(y_res, getattr(sampler, "classes", None))
        if self.targets == "argmax":
            warnings.warn(f"{type(self).__name__}(targets='argmax'): each row keeps only its most probable class, "
                          "so a mix p e_i + (1-p) e_j counts as all of i and the soft labels' information is "
                          "dropped (SoftLabelClassifier, or targets='copies', keeps it)",
                          SoftLabelsDroppedWarning, stacklevel=2)
            rows, labels = np.arange(len(q)), q.argmax(1)
        else:
            counts = integer_copies(q, int(self.resolution))
            cell_rows, cell_labels = np.nonzero(counts)
            times = counts[cell_rows, cell_labels]
            rows, labels = np.repeat(cell_rows, times), np.repeat(cell_labels, times)
        self.sampler_, self.rows_ = sampler, rows
        return _take(X_res, rows), labels.astype(np.int64)

    def fit(self, X: Any, y: Any, **params: Any) -> HardLabels:
        """``fit_resample`` without its output."""
        self.fit_resample(X, y, **params)
        return self

    def __sklearn_tags__(self) -> Any:
        """As the samplers' (imports scikit-learn: only it calls this)."""
        from sklearn.utils import InputTags, Tags, TargetTags

        return Tags(estimator_type=None, target_tags=TargetTags(required=True, multi_output=True),
                    input_tags=InputTags(two_d_array=True, allow_nan=True))


# -- scorers ---------------------------------------------------------------------------------------
def soft_log_loss(y_true: Any, y_proba: Any, *, classes: Sequence[str] | None = None, eps: float = 1e-15) -> float:
    """Mean cross-entropy ``-sum_k q_k log P_k`` of predicted distributions against label distributions.

    ``y_true`` in any encoding (:func:`distributions`); ``y_proba`` ``(N, C)``, clipped to
    ``[eps, 1]`` (not renormalised). With one-hot ``y_true`` it is the usual log-loss.
    """
    q = distributions(y_true, classes)
    p = np.asarray(y_proba, dtype=np.float64)
    if p.shape != q.shape:
        raise ValueError(f"y_proba has shape {p.shape}, the label distributions {q.shape}")
    return float(-(q * np.log(np.clip(p, eps, 1.0))).sum(1).mean())


def _class_indices(values: Any, n_classes: int, what: str) -> np.ndarray:
    v = np.asarray(values)
    if v.dtype.kind not in "iu" or (v < 0).any() or (v >= n_classes).any():
        raise ValueError(f"the scorers read the estimator's {what} as column indices of y in [0, {n_classes}) "
                         f"(SoftLabelClassifier and HardLabels fit on those); got {v[:6].tolist()}")
    return v.astype(np.int64)


def neg_soft_log_loss(estimator: Any, X: Any, y: Any, *, classes: Sequence[str] | None = None) -> float:
    """Scorer: minus :func:`soft_log_loss` of ``estimator.predict_proba(X)`` (greater is better)."""
    q = distributions(y, classes)
    proba = np.asarray(estimator.predict_proba(X), dtype=np.float64)
    cols = _class_indices(getattr(estimator, "classes_", np.arange(proba.shape[1])), q.shape[1], "classes_")
    aligned = np.zeros_like(q)
    aligned[:, cols] = proba
    return -soft_log_loss(q, aligned)


def _truth_and_prediction(estimator: Any, X: Any, y: Any, classes: Sequence[str] | None) -> tuple[np.ndarray, ...]:
    q = distributions(y, classes)
    return q.argmax(1), _class_indices(estimator.predict(X), q.shape[1], "predictions"), q.shape[1]


def consensus_wa(estimator: Any, X: Any, y: Any, *, classes: Sequence[str] | None = None) -> float:
    """Scorer: WA (the fraction predicted correctly) against the consensus class of ``y``."""
    truth, pred, _ = _truth_and_prediction(estimator, X, y, classes)
    return float((truth == pred).mean())


def consensus_ua(estimator: Any, X: Any, y: Any, *, classes: Sequence[str] | None = None) -> float:
    """Scorer: UA (the mean per-class recall, over the consensus classes present in ``y``)."""
    truth, pred, _ = _truth_and_prediction(estimator, X, y, classes)
    present = np.unique(truth)
    return float(np.mean([(pred[truth == c] == c).mean() for c in present]))


#: For ``GridSearchCV(scoring=SCORING, refit="soft_log_loss")``: name -> scorer.
SCORING = {"soft_log_loss": neg_soft_log_loss, "wa": consensus_wa, "ua": consensus_ua}


# -- cross-validation ------------------------------------------------------------------------------
class ConsensusStratifiedKFold:
    """Stratified k-fold on the consensus class of soft labels or votes (scikit-learn's
    ``StratifiedKFold`` on :func:`consensus`; it refuses 2-D ``y`` itself).

    Parameters
    ----------
    n_splits : int
    shuffle : bool
    random_state : int or None
        As ``StratifiedKFold``'s.
    classes : sequence of str, optional
        How to read ``y`` (:func:`distributions`).
    """

    _parameter_constraints: ClassVar[dict[str, list]] = {
        "n_splits": [Interval(Integral, 2, None, closed="left")], "shuffle": ["boolean"],
        "random_state": [Interval(Integral, 0, None, closed="left"), np.random.RandomState, None],
        "classes": ["array-like", None]}

    def __init__(self, n_splits: int = 5, *, shuffle: bool = False, random_state: int | None = None,
                 classes: Sequence[str] | None = None) -> None:
        self.n_splits = n_splits
        self.shuffle = shuffle
        self.random_state = random_state
        self.classes = classes

    def split(self, X: Any, y: Any, groups: Any = None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Train and test indices of each fold (``groups`` is ignored)."""
        from sklearn.model_selection import StratifiedKFold

        validate(self._parameter_constraints, vars(self), type(self).__name__)
        labels = consensus(y, self.classes)
        folds = StratifiedKFold(self.n_splits, shuffle=self.shuffle, random_state=self.random_state)
        yield from folds.split(np.zeros((len(labels), 1)), labels)

    def get_n_splits(self, X: Any = None, y: Any = None, groups: Any = None) -> int:
        """``n_splits``."""
        return self.n_splits

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(n_splits={self.n_splits!r}, shuffle={self.shuffle!r}, "
                f"random_state={self.random_state!r}, classes={self.classes!r})")
