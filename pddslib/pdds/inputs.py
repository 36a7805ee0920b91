"""What the samplers accept and return: the encodings of ``y`` and the containers of ``X``.

Labels ``y`` (:func:`check_targets`), one encoding per call:

``labels``
    1-D hard labels, shape ``(N,)`` (or a column ``(N, 1)``): class indices in ``[0, C)`` (whole
    numbers, integer or float dtype) or class codes (strings among ``classes``). Every sample is
    then a clear sample of its class.
``distributions``
    ``(N, C)`` label distributions: every row sums to 1 (within ``1e-6``, or a few float32 ulps).
``counts``
    ``(N, C)`` vote counts: every entry a whole number, no row all zero; rows are divided by
    their sums. A one-hot row reads the same either way; a 0/1 multi-label indicator is read as
    one vote for each class it names.

A ``(N, C)`` ``y`` that is neither (a row of fractions that does not sum to 1, or count rows
next to fractional rows) is a :class:`ValueError`. ``y`` may be a numpy array, a list, a pandas
Series/DataFrame (columns named by the classes, any order, or default integer names) or a
torch tensor.

Features ``X`` (:func:`check_X`, :func:`resample_X`); the output follows the input:

=========================================  ================================================
numpy array ``(N, ...)``, numeric          numpy array; floating dtypes kept, others ->
                                           float64
pandas DataFrame / Series                  same type and columns (rows by position,
                                           ``iloc``); float columns keep their dtype, other
                                           numeric columns become float64; index: see
                                           :func:`synthetic_index`
torch tensor ``(N, ...)``                  tensor on the same device; floating dtypes kept,
                                           others -> torch's default float dtype
list or tuple of per-utterance items       list or tuple of items of the same types: numpy
                                           arrays, torch tensors, lists of numbers,
                                           numbers, or dicts of modality -> one of these
1-D numpy array of dtype object (items)    1-D numpy array of dtype object
2-D+ numpy array of dtype object           read as float64 (a TypeError if not numeric)
=========================================  ================================================

Arrays, tensors and frames are fixed-size rows mixed element-wise; items of a list are mixed one by
one along their first axis (time) with the sampler's ``align``
(:func:`pddslib.pdds.mixup.mix_items`: exactly :func:`pddslib.pdds.mixup.mix_sequences`, or its
torch equivalent for tensors). Any other container is a :class:`TypeError` that lists these; a torch
``Dataset`` is mixed lazily by :class:`pddslib.pdds.dataset.PDDSDataset`. An accepted container with
values that cannot be mixed (complex or string dtypes, no features, non-numeric DataFrame columns
when rows are mixed) is a :class:`ValueError`.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from .mixup import Align, check_item, is_tensor, loaded_torch, mix_items

Encoding = Literal["labels", "counts", "distributions"]

ACCEPTED_X = ("numpy.ndarray, pandas.DataFrame, pandas.Series, torch.Tensor, or a list/tuple of "
              "per-utterance items (numpy arrays, torch tensors, lists of numbers, or dicts of "
              "modality -> array/tensor)")


@dataclass(frozen=True)
class Targets:
    """``y`` as the samplers use it.

    Attributes
    ----------
    distributions : numpy.ndarray of float64, shape (N, C)
        Label distributions (rows sum to 1).
    encoding : {"labels", "counts", "distributions"}
        How ``y`` was given.
    """

    distributions: np.ndarray
    encoding: Encoding


def _pandas():
    return sys.modules.get("pandas")


def is_pandas(x: Any) -> bool:
    """Whether ``x`` is a pandas Series or DataFrame (without importing pandas)."""
    pd = _pandas()
    return pd is not None and isinstance(x, (pd.Series, pd.DataFrame))


# -- y -----------------------------------------------------------------------------------------
def check_targets(y: Any, classes: Sequence[str]) -> Targets:
    """Validate ``y`` and turn it into label distributions (see the module docstring).

    Parameters
    ----------
    y : array-like, shape (N,), (N, 1) or (N, C)
        Hard labels, vote counts or label distributions.
    classes : sequence of str
        Class codes, the columns of a 2-D ``y``.

    Returns
    -------
    Targets

    Raises
    ------
    ValueError
        Wrong shape, unknown labels, non-integer 1-D labels, negative or non-finite values, an
        all-zero row, or a 2-D ``y`` that is neither distributions nor counts.
    """
    c = len(classes)
    arr = _as_numpy(_frame_in_class_order(y, classes))
    if arr.dtype.kind == "c":
        raise ValueError("Complex data not supported: y must be labels, vote counts or distributions")
    if arr.ndim >= 1 and len(arr) == 0:
        raise ValueError(f"y holds no samples (shape {arr.shape})")
    if arr.ndim == 2 and arr.shape[1] == 1 and c != 1:
        arr = arr[:, 0]
    if arr.ndim == 1:
        return Targets(np.eye(c)[_label_indices(arr, classes)], "labels")
    if arr.ndim != 2 or arr.shape[1] != c:
        raise ValueError(f"y must be 1-D labels or label distributions / vote counts of shape (N, {c}) "
                         f"(columns: {list(classes)}), got shape {arr.shape}")
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"a 2-D y must be numeric (vote counts or distributions), got dtype {arr.dtype}")
    eps = float(np.finfo(arr.dtype).eps) if arr.dtype.kind == "f" else 0.0
    y64 = arr.astype(np.float64)
    bad = ~np.isfinite(y64).all(1) | (y64 < 0).any(1)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise ValueError(f"y row {k} is neither a distribution nor vote counts: {y64[k]}")
    sums = y64.sum(1)
    off = np.abs(sums - 1.0) > max(1e-6, 10 * c * eps)
    if not off.any():
        return Targets(y64, "distributions")
    if np.array_equal(y64, np.round(y64)):
        empty = np.flatnonzero(sums == 0)
        if len(empty):
            raise ValueError(f"y row {int(empty[0])} has no votes (all zero; {len(empty)} such row(s))")
        return Targets(y64 / sums[:, None], "counts")
    k = int(np.flatnonzero(off)[0])
    raise ValueError(
        f"y row {k} sums to {sums[k]:.6g}, expected 1 ({int(off.sum())} row(s) off): a 2-D y must be "
        "label distributions (every row sums to 1) or vote counts (every entry a whole number)"
    )


def _frame_in_class_order(y: Any, classes: Sequence[str]) -> Any:
    """A DataFrame ``y`` with several columns: columns named by the classes (any order) are put
    in class order; default integer column names are taken in order; other names are an error."""
    pd = _pandas()
    if pd is None or not isinstance(y, pd.DataFrame) or y.shape[1] <= 1:
        return y
    names = list(y.columns)
    if sorted(map(str, names)) == sorted(classes) and len(names) == len(classes):
        return y[[names[[str(n) for n in names].index(c)] for c in classes]]
    if isinstance(y.columns, pd.RangeIndex):
        return y
    raise ValueError(f"the columns of a DataFrame y must be the classes {list(classes)} (any order), "
                     f"got {names[:8]}")


def _as_numpy(y: Any) -> np.ndarray:
    if is_tensor(y):
        return y.detach().cpu().numpy()
    if is_pandas(y):
        return y.to_numpy()
    arr = np.asarray(y)
    if arr.dtype == object and arr.ndim == 2:  # e.g. a list of lists of numbers and None
        raise ValueError("y holds non-numeric entries")
    return arr


def _label_indices(labels: np.ndarray, classes: Sequence[str]) -> np.ndarray:
    """Class indices of 1-D labels: class codes (strings) or whole numbers in [0, C)."""
    c = len(classes)
    if labels.dtype.kind in "OUS":
        if all(isinstance(v, (str, np.str_)) for v in labels):
            index = {str(code): k for k, code in enumerate(classes)}
            unknown = sorted({str(v) for v in labels} - set(index))
            if unknown:
                raise ValueError(f"y has labels {unknown[:5]} that are not among the classes {list(classes)}")
            return np.array([index[str(v)] for v in labels], dtype=np.int64)
        try:
            labels = np.asarray(labels.tolist(), dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError("1-D y must hold class codes (strings) or class indices, not a mix") from None
    if labels.dtype.kind == "b":
        labels = labels.astype(np.int64)
    if labels.dtype.kind == "f":
        if not np.isfinite(labels).all() or not np.array_equal(labels, np.round(labels)):
            raise ValueError("Unknown label type: a 1-D y must hold class indices (whole numbers) or "
                             "class codes; it holds non-integer values (continuous targets are not labels)")
    elif labels.dtype.kind not in "iu":
        raise ValueError(f"1-D y must hold class indices or class codes, got dtype {labels.dtype}")
    idx = labels.astype(np.int64)
    outside = (idx < 0) | (idx >= c)
    if outside.any():
        raise ValueError(f"1-D y holds class indices outside [0, {c}): {sorted(set(idx[outside].tolist()))[:5]} "
                         f"(classes: {list(classes)})")
    return idx


def resample_y(y: Any, y_res: np.ndarray, classes: Sequence[str], X_res: Any = None) -> Any:
    """The resampled label distributions in ``y``'s container.

    A tensor gives a tensor (``y``'s floating dtype, else the default float dtype; ``y``'s
    device), a pandas Series or DataFrame gives a DataFrame (columns: ``classes``; index: that
    of ``X_res`` when it is a pandas object, else a RangeIndex), a list or tuple a list of rows
    (lists), anything else ``y_res`` itself (numpy).
    """
    if is_tensor(y):
        torch = loaded_torch()
        dtype = y.dtype if y.is_floating_point() else torch.get_default_dtype()
        return torch.as_tensor(y_res, dtype=dtype, device=y.device)
    if is_pandas(y):
        pd = _pandas()
        index = X_res.index if is_pandas(X_res) else None
        return pd.DataFrame(y_res, columns=list(classes), index=index)
    if isinstance(y, (list, tuple)):
        return y_res.tolist()
    return y_res


# -- X -----------------------------------------------------------------------------------------
def check_X(X: Any) -> int:
    """Number of samples of ``X``; a :class:`TypeError` for containers that cannot be mixed."""
    torch = loaded_torch()
    if torch is not None and isinstance(X, torch.utils.data.Dataset):
        raise TypeError(
            f"X is a torch {type(X).__name__}: fit the sampler on the labels and wrap the dataset "
            "with pddslib.pdds.dataset.PDDSDataset(dataset, sampler.fit(y)), which mixes items lazily "
            f"(fit_resample accepts {ACCEPTED_X})"
        )
    pd = _pandas()
    if isinstance(X, np.ndarray) and X.dtype == object and X.ndim >= 2:
        X = np.asarray(X, dtype=np.float64)  # a numeric table stored as objects (TypeError if not)
    if isinstance(X, np.ndarray) and X.dtype != object:
        if X.dtype.kind == "c":
            raise ValueError("Complex data not supported: X must be real")
        if X.ndim == 0 or X.dtype.kind not in "biuf":
            raise ValueError(f"cannot mix a numpy array of dtype {X.dtype} and shape {X.shape} "
                             "(numeric arrays, or 1-D object arrays of items)")
        return _check_shape(X.shape)
    if pd is not None and isinstance(X, (pd.DataFrame, pd.Series)):
        return _check_shape(X.shape)
    if is_tensor(X):
        if X.is_complex():
            raise ValueError("Complex data not supported: X must be real")
        if X.ndim == 0:
            raise ValueError("cannot mix a 0-d tensor: X needs a first (sample) axis")
        return _check_shape(tuple(X.shape))
    if isinstance(X, (list, tuple)) or isinstance(X, np.ndarray):  # ndarray: 1-D, of items
        for k, item in enumerate(X):
            check_item(item, k)
        return len(X)
    hint = " (sparse matrices: pass X.toarray())" if hasattr(X, "tocsr") else ""
    raise TypeError(f"X of type {type(X).__module__}.{type(X).__qualname__} is not supported{hint}; "
                    f"accepted: {ACCEPTED_X}")


def _check_shape(shape: tuple[int, ...]) -> int:
    if len(shape) >= 2 and int(np.prod(shape[1:])) == 0:
        raise ValueError(f"X has 0 feature(s) (shape={shape}) while a minimum of 1 is required.")
    return shape[0]


def resample_X(X: Any, sources: np.ndarray, weights: np.ndarray, n_original: int, align: Align) -> Any:
    """Materialise the output rows: the ``n_original`` inputs, then the mixes of ``sources``.

    Parameters
    ----------
    X : see the module docstring
        Accepted by :func:`check_X`, with ``n_original`` samples.
    sources : numpy.ndarray of int, shape (N_res, 2)
    weights : numpy.ndarray of float, shape (N_res,)
    n_original : int
    align : {"pad", "crop", "interp"}
        Used for the items of a list.

    Returns
    -------
    Same container as ``X`` with ``N_res`` samples (the first ``n_original`` are ``X``'s own).
    """
    a, b = sources[n_original:].T
    w = weights[n_original:]
    pd = _pandas()
    if isinstance(X, np.ndarray) and X.dtype == object and X.ndim >= 2:
        X = np.asarray(X, dtype=np.float64)
    if isinstance(X, np.ndarray) and X.dtype != object:
        dtype = X.dtype if X.dtype.kind == "f" else np.dtype(np.float64)
        ww = w.astype(dtype).reshape((-1,) + (1,) * (X.ndim - 1))
        return np.concatenate([X.astype(dtype, copy=False), (ww * X[a] + (1 - ww) * X[b]).astype(dtype, copy=False)])
    if pd is not None and isinstance(X, pd.Series):
        out = _resample_frame(X.to_frame(), a, b, w)
        return out.iloc[:, 0].rename(X.name)
    if pd is not None and isinstance(X, pd.DataFrame):
        return _resample_frame(X, a, b, w)
    if is_tensor(X):
        return _resample_tensor(X, a, b, w)
    items = list(X)
    out = items + [mix_items(items[i], items[j], float(wk), align) for i, j, wk in zip(a, b, w)]
    if isinstance(X, np.ndarray):
        arr = np.empty(len(out), dtype=object)
        arr[:] = out
        return arr
    return tuple(out) if isinstance(X, tuple) else out


def _resample_tensor(X: Any, a: np.ndarray, b: np.ndarray, w: np.ndarray) -> Any:
    torch = loaded_torch()
    dtype = X.dtype if X.is_floating_point() else torch.get_default_dtype()
    base = X.to(dtype)
    ai = torch.as_tensor(a, device=X.device)
    bi = torch.as_tensor(b, device=X.device)
    ww = torch.as_tensor(w, dtype=dtype, device=X.device).view((-1,) + (1,) * (X.ndim - 1))
    return torch.cat([base, ww * base[ai] + (1 - ww) * base[bi]])


def synthetic_index(index: Any, n_new: int) -> Any:
    """Index labels of the synthetic rows of a DataFrame (original rows keep theirs).

    With an integer index (a default RangeIndex included) the labels continue after the largest
    one (``max + 1, max + 2, ...``), so a default RangeIndex becomes ``RangeIndex(N_res)``; with any
    other index (e.g. utterance ids) they are the rows' output positions ``N, N + 1, ...``.
    """
    pd = _pandas()
    if pd.api.types.is_integer_dtype(index.dtype) and not isinstance(index, pd.MultiIndex):
        start = int(index.max()) + 1 if len(index) else 0
    else:
        start = len(index)
    return pd.RangeIndex(start, start + n_new, name=index.name)


def _resample_frame(X: Any, a: np.ndarray, b: np.ndarray, w: np.ndarray) -> Any:
    pd = _pandas()
    if len(a) == 0:
        return X.copy()
    is_num = pd.api.types.is_numeric_dtype
    bad = [X.columns[j] for j in range(X.shape[1])
           if not is_num(X.dtypes.iloc[j]) or pd.api.types.is_complex_dtype(X.dtypes.iloc[j])]
    if bad:
        raise ValueError(f"DataFrame columns {bad[:5]} are not numeric: synthetic rows cannot mix them "
                        "(drop or encode them first)")
    mixed = {}
    for j in range(X.shape[1]):
        col_dtype = X.dtypes.iloc[j]
        dtype = col_dtype if isinstance(col_dtype, np.dtype) and col_dtype.kind == "f" else np.dtype(np.float64)
        v = X.iloc[:, j].to_numpy(dtype=dtype, na_value=np.nan)
        ww = w.astype(dtype)
        mixed[j] = ww * v[a] + (1 - ww) * v[b]
    new = pd.DataFrame(mixed, index=synthetic_index(X.index, len(a)))
    new.columns = X.columns
    return pd.concat([X, new], axis=0)
