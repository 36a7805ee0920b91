"""The samplers as a new user meets them: the estimator protocol (scikit-learn's and
imbalanced-learn's checks), the three encodings of y, the output type of every accepted X, and
pddslib.pdds.dataset (PDDSDataset + pad_collate under a DataLoader)."""

from __future__ import annotations

import math
import subprocess
import sys
import warnings
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pddslib import PDDS, ClearBalancing, NoResampling, UniformBalancing
from pddslib.pdds.controls import FlatPDDS, PlainMixup, RandomOversampling
from pddslib.pdds.mixup import mix_sequences
from pddslib.pdds.registry import REGISTRY
from pddslib.pdds.resample import AMBIGUOUS_MIX, CLEAR_MIX, HardLabelsWarning

REPO = Path(__file__).resolve().parent.parent
C3 = ("a", "b", "c")
#: Every registered sampler, the controls included (a strategy registered later is checked too).
SAMPLERS = tuple(dict.fromkeys(s.sampler for s in REGISTRY.values()))
BALANCING = (PDDS, ClearBalancing, UniformBalancing)


def make(cls, classes=C3, **params):
    """A sampler on three classes (uniform: level 10, so that small data sets can reach it)."""
    if cls is UniformBalancing:
        params.setdefault("level", 10)
    return cls(classes=classes, random_state=0, **params)


def hard_labels(seed=0):
    """40 clear samples: 20 a, 6 b (raised to 18 by clear balancing), 14 c."""
    return np.random.default_rng(seed).permutation(np.repeat([0, 1, 2], [20, 6, 14]))


def vote_counts():
    """(N, 3) vote counts: clear rows (3 votes) and ambiguous rows (2 + 1 votes)."""
    rows = [[3, 0, 0]] * 10 + [[0, 3, 0]] * 4 + [[0, 0, 3]] * 10 + [[2, 1, 0]] * 2 + [[0, 1, 2]] * 3
    return np.random.default_rng(1).permutation(np.array(rows))


def fitted_provenance(s):
    return s.sample_indices_, s.mix_weights_, s.y_resampled_


# -- the estimator protocol ---------------------------------------------------------------------
NON_DEFAULTS = {
    PDDS: {"sigma": 2.0, "normalize": "sum", "balance_ratio": 0.4, "p": 0.7, "clear_p": 0.6, "align": "crop",
           "replacement": True},
    ClearBalancing: {"balance_ratio": 0.4, "clear_p": 0.6, "align": "interp", "replacement": True},
    UniformBalancing: {"level": 12, "p": 0.7, "clear_p": 0.6, "align": "crop", "replacement": True},
    NoResampling: {},
    RandomOversampling: {"sigma": 2.0, "normalize": "sum", "balance_ratio": 0.4},
    PlainMixup: {"alpha": 0.3, "sigma": 2.0, "normalize": "sum", "balance_ratio": 0.4},
    FlatPDDS: {"sigma": 2.0, "normalize": "sum", "balance_ratio": 0.4, "p": 0.7, "clear_p": 0.6, "align": "crop",
               "replacement": True},
}


@pytest.mark.parametrize("cls", SAMPLERS)
def test_clone_get_params_set_params_round_trip(cls):
    from sklearn.base import clone

    s = make(cls, **NON_DEFAULTS[cls]).fit(vote_counts())
    params = s.get_params(deep=True)
    assert params == s.get_params(deep=False) == {**params, **NON_DEFAULTS[cls]}
    c = clone(s)
    assert c is not s and type(c) is cls and c.get_params(deep=True) == params
    assert not hasattr(c, "sample_indices_")  # a clone is unfitted
    # the parameters are the whole configuration: a clone fits identically
    for got, want in zip(fitted_provenance(c.fit(vote_counts())), fitted_provenance(s)):
        np.testing.assert_array_equal(got, want)
    # set_params returns self, and what it sets is what get_params, repr and fit see
    fresh = make(cls)
    assert fresh.set_params(**NON_DEFAULTS[cls]) is fresh
    assert fresh.get_params() == params and repr(fresh) == repr(s)
    with pytest.raises(ValueError, match="Invalid parameter 'sigmaa'"):
        fresh.set_params(sigmaa=1.0)


def test_set_params_reaches_the_fit():
    s = make(PDDS).fit(vote_counts())
    assert np.allclose(s.mix_weights_[s.kind_ == AMBIGUOUS_MIX], 0.8)
    s.set_params(p=0.6).fit(vote_counts())
    assert np.allclose(s.mix_weights_[s.kind_ == AMBIGUOUS_MIX], 0.6)


def test_fit_signatures_agree():
    y = vote_counts()
    X = np.arange(len(y), dtype=float)[:, None]
    cells = make(PDDS).fit(y).cells_[: len(y)]
    ref = fitted_provenance(make(PDDS).fit(y))
    for s in (make(PDDS).fit(X, y), make(PDDS).fit(y=y), make(PDDS).fit(None, y),
              make(PDDS).fit(y, cells=cells), make(PDDS).fit(X, y, cells=cells)):
        for got, want in zip(fitted_provenance(s), ref):
            np.testing.assert_array_equal(got, want)
    with pytest.raises(TypeError, match="needs y"):
        make(PDDS).fit()
    with pytest.raises(ValueError, match="took it as y.*requires y to be passed"):
        make(PDDS).fit(np.random.default_rng(0).normal(size=(len(y), 3)))  # features without y
    with pytest.raises(ValueError, match="X has 3 samples but y has"):
        make(PDDS).fit(X[:3], y)


def test_sampling_strategy_and_summary():
    s = make(ClearBalancing).fit(hard_labels())
    assert s.sampling_strategy_["a"] == (20, 20)
    assert s.sampling_strategy_["b"] == (6, 18)
    assert s.sampling_strategy_["c"] == (14, 14)
    assert s.sampling_strategy_["a>b"] == (0, 0) and s.sampling_strategy_["other"] == (0, 0)
    assert len(s.sampling_strategy_) == 3 + 6 + 1
    text = s.summary()
    assert "rows: 40 -> 52 (new clear 12, new ambiguous 0)" in text and "b 6 -> 18" in text
    assert "1-D hard labels" in text
    p = make(PDDS).fit(vote_counts())
    assert p.sampling_strategy_["a>b"] == (2, p.plan_.targets[0, 1])
    assert "vote counts" in p.summary()
    assert make(PDDS).summary().endswith("not fitted")


@pytest.mark.parametrize("cls", BALANCING)
def test_balancing_needs_samples_of_every_class(cls):
    """What scikit-learn's dtype/1-sample/1-feature checks meet (they are run on NoResampling only):
    labels that leave a class without samples cannot be balanced."""
    y = np.array([1, 2] * 10)
    with pytest.raises(ValueError, match="clear sample"):
        make(cls).fit(np.zeros((20, 5)), y)
    assert len(make(NoResampling).fit(np.zeros((20, 5)), y).sample_indices_) == 20


# -- scikit-learn's estimator checks ----------------------------------------------------------
SKLEARN_NOT_APPLICABLE = {
    "check_n_features_in": "X is any container of per-sample items (variable-length sequences "
                           "included) and fit(y) takes no X: a sampler has no fixed n_features_in_",
    "check_n_features_in_after_fitting": "same as check_n_features_in",
    "check_fit1d": "a 1-D X is N scalar samples, which mix like any other rows (accepted on purpose)",
}
#: Checks whose labels leave a class without samples (labels 1 and 2 only, one sample, ...): a
#: balancing strategy must refuse them (test_balancing_needs_samples_of_every_class), so they run
#: on NoResampling, which exercises the same validation, fitting and pickling code.
SKLEARN_ONLY_NO_RESAMPLING = {"check_estimators_dtypes", "check_fit2d_1feature", "check_fit2d_1sample"}
#: The number of classes in a check's data (default 3); the samplers are built with that many.
SKLEARN_N_CLASSES = {"check_estimators_pickle": 2, "check_fit_check_is_fitted": 2, "check_fit_idempotent": 2,
                     "check_pipeline_consistency": 2, "check_dtype_object": 4}


def _check_name(check):
    return check.func.__name__ if isinstance(check, partial) else check.__name__


def _sklearn_cases():
    try:
        from sklearn.utils.estimator_checks import estimator_checks_generator
    except ImportError:
        return [pytest.param(None, None, None, marks=pytest.mark.skip(reason="scikit-learn is not installed"))]
    cases = []
    for cls in SAMPLERS:
        with warnings.catch_warnings():  # "does not inherit from BaseEstimator": on purpose (no sklearn import)
            warnings.simplefilter("ignore", UserWarning)
            generated = list(estimator_checks_generator(make(cls), legacy=True))
        for k, (_, check) in enumerate(generated):
            name = _check_name(check)
            marks = []
            if name in SKLEARN_NOT_APPLICABLE:
                marks = [pytest.mark.skip(reason=SKLEARN_NOT_APPLICABLE[name])]
            elif name in SKLEARN_ONLY_NO_RESAMPLING and cls is not NoResampling:
                marks = [pytest.mark.skip(reason="its data leaves a class without samples: run on NoResampling")]
            cases.append(pytest.param(cls, name, check, marks=marks, id=f"{cls.__name__}-{name}-{k}"))
    return cases


@pytest.mark.parametrize("cls, name, check", _sklearn_cases())
def test_sklearn_estimator_check(cls, name, check):
    n = SKLEARN_N_CLASSES.get(name, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", HardLabelsWarning)
        check(make(cls, classes=tuple("abcd")[:n]))


# -- imbalanced-learn's sampler checks ----------------------------------------------------------
#: check -> the number of classes in its data.
IMBLEARN_CHECKS = {
    "check_target_type": 3,  # continuous 1-D y is refused; the (20, 3) 0/1 "multilabel" y is read
                             # as vote counts and refused for its all-zero row (see the encodings)
    "check_samplers_one_label": 2,
    "check_samplers_fit": 2,  # sampling_strategy_ exists
    "check_samplers_fit_resample": 3,
    "check_samplers_sampling_strategy_fit_resample": 3,
    "check_samplers_nan": 2,
    "check_samplers_list": 3,
    "check_samplers_2d_target": 3,
}
_Y_OUT = "y_res is always label distributions (N_res, C): mixes are soft, so the 1-D encoding of y cannot be kept"
IMBLEARN_NOT_APPLICABLE = {
    "check_samplers_pandas": _Y_OUT + " (X DataFrame -> DataFrame is tested here)",
    "check_samplers_pandas_sparse": _Y_OUT + "; sparse X is refused",
    "check_samplers_multiclass_ova": _Y_OUT,
    "check_samplers_preserve_dtype": _Y_OUT + " (X's dtype is preserved: tested here)",
    "check_samplers_sparse": "sparse X is refused (mixing makes rows dense): a TypeError that says so",
    "check_samplers_string": "string features cannot be mixed (Eq. 2 is arithmetic)",
    "check_samplers_sample_indices": "imbalanced-learn's sample_indices_ is 1-D (selected rows, gated by its "
                                     "own tags); here it is (N_res, 2) mixup sources",
    "check_sampler_get_feature_names_out": "the samplers are not transformers: no feature names",
    "check_sampler_get_feature_names_out_pandas": "as check_sampler_get_feature_names_out",
}


def _imblearn_cases():
    cases = []
    for cls in SAMPLERS:
        for name in list(IMBLEARN_CHECKS) + list(IMBLEARN_NOT_APPLICABLE):
            reason = IMBLEARN_NOT_APPLICABLE.get(name)
            if name == "check_samplers_one_label" and cls is NoResampling:
                reason = "the identity never balances, so one class is no error for it"
            marks = [pytest.mark.skip(reason=reason)] if reason else []
            cases.append(pytest.param(cls, name, marks=marks, id=f"{cls.__name__}-{name}"))
    return cases


@pytest.mark.parametrize("cls, name", _imblearn_cases())
def test_imblearn_sampler_check(cls, name):
    checks = pytest.importorskip("imblearn.utils.estimator_checks")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", HardLabelsWarning)
        getattr(checks, name)(cls.__name__, make(cls, classes=tuple("abc")[: IMBLEARN_CHECKS[name]]))


def test_imblearn_checks_are_all_accounted_for():
    checks = pytest.importorskip("imblearn.utils.estimator_checks")
    names = {n for n in dir(checks) if n.startswith(("check_sampler", "check_target_type"))}
    assert names == set(IMBLEARN_CHECKS) | set(IMBLEARN_NOT_APPLICABLE)


# -- the encodings of y -------------------------------------------------------------------------
@pytest.mark.parametrize("cls", SAMPLERS)
def test_clear_labels_in_every_encoding_give_the_same_fit(cls):
    labels = hard_labels()
    encodings = {
        "labels": [labels, labels.astype(float), np.array(C3)[labels], pd.Series(np.array(C3)[labels]),
                   labels.tolist(), labels[:, None]],
        "counts": [3 * np.eye(3, dtype=int)[labels]],
        "distributions": [np.eye(3)[labels], np.eye(3, dtype=np.float32)[labels],
                          pd.DataFrame(np.eye(3)[labels], columns=C3)],
    }
    ref = None
    for encoding, ys in encodings.items():
        for y in ys:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", HardLabelsWarning)
                s = make(cls).fit(y)
            assert s.y_encoding_ == encoding
            ref = ref or fitted_provenance(s)
            for got, want in zip(fitted_provenance(s), ref):
                np.testing.assert_array_equal(got, want)


def test_counts_and_distributions_of_ambiguous_votes_agree():
    counts = vote_counts()
    a = make(PDDS).fit(counts)
    b = make(PDDS).fit(counts / counts.sum(1, keepdims=True))
    c = make(PDDS).fit(pd.DataFrame(counts[:, [2, 0, 1]], columns=["c", "a", "b"]))  # columns by name
    assert (a.y_encoding_, b.y_encoding_, c.y_encoding_) == ("counts", "distributions", "counts")
    assert a.counts_.ambiguous[0, 1] == 2 and a.counts_.ambiguous[2, 1] == 3
    for s in (b, c):
        for got, want in zip(fitted_provenance(s), fitted_provenance(a)):
            np.testing.assert_allclose(got, want)


def test_hard_labels_with_pdds_create_ambiguous_mixes_and_warn():
    """Documented: with hard labels every sample is clear, and PDDS (Eq. 1 on [n_i, 0, 0, n_j])
    still gives every ordered pair round(exp(-1 / (2 sigma^2)) n_i) new mixes; sigma = 0 gives
    clear balancing alone."""
    y = hard_labels()
    with pytest.warns(HardLabelsWarning, match="does not reduce to clear balancing"):
        s = make(PDDS).fit(y)
    balanced = s.plan_.balanced_clear
    assert list(balanced) == [20, 18, 14] and list(s.counts_.clear) == [20, 6, 14]
    w = math.exp(-0.5)
    for i in range(3):
        for j in range(3):
            if i != j:
                assert s.plan_.targets[i, j] == math.floor(w * balanced[i] + 0.5)
    assert (s.kind_ == AMBIGUOUS_MIX).sum() == s.plan_.targets.sum() > 0
    assert "does not reduce to clear balancing" in s.summary()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # ClearBalancing does not warn: hard labels change nothing for it
        clear_only = make(ClearBalancing).fit(y)
        with pytest.warns(HardLabelsWarning):
            flat = make(PDDS, sigma=0.0).fit(y)
    np.testing.assert_array_equal(flat.sample_indices_, clear_only.sample_indices_)
    np.testing.assert_array_equal(flat.y_resampled_, clear_only.y_resampled_)


@pytest.mark.parametrize("y, match", [
    (np.linspace(0, 2, 12), "Unknown label type"),
    (np.array(["a", "b", "x"] * 4), r"not among the classes"),
    (np.array([0, 1, 3] * 4), r"outside \[0, 3\)"),
    (np.array([[1, 0, 0], [0, 0, 0]] * 6), "no votes"),
    (np.array([[1, 0, 0], [2, 1, 0], [0.5, 0.5, 0]] * 4), "sums to"),  # counts next to fractions
    (np.array([[0.5, 0.25, 0.2]] * 12), "sums to"),
    (np.array([[1.5, -0.5, 0]] * 12), "neither a distribution nor vote counts"),
    (np.ones((12, 4)) / 4, "shape"),
    (pd.DataFrame(np.eye(3)[[0, 1, 2] * 4], columns=["x", "y", "z"]), "columns of a DataFrame y"),
    (np.array([1 + 1j] * 12), "Complex"),
    (np.zeros(0), "no samples"),
])
def test_invalid_y_is_a_clear_value_error(y, match):
    with pytest.raises(ValueError, match=match):
        make(NoResampling).fit(y)


# -- output types follow input types ----------------------------------------------------------
@pytest.fixture
def fitted_like():
    """(fit_resample on X, the expected rows): checks the values of any X type against numpy."""
    def run(X, y=None, cls=PDDS, **params):
        s = make(cls, **params)
        y = vote_counts() if y is None else y
        X_res, y_res = s.fit_resample(X, y)
        a, b = s.sample_indices_.T
        return s, X_res, y_res, a, b, s.mix_weights_
    return run


def test_ndarray_keeps_floating_dtype(fitted_like):
    X = np.random.default_rng(0).normal(size=(29, 4)).astype(np.float32)
    s, X_res, y_res, a, b, w = fitted_like(X)
    assert type(X_res) is np.ndarray and X_res.dtype == np.float32 and X_res.shape == (len(a), 4)
    np.testing.assert_array_equal(X_res[:29], X)
    np.testing.assert_allclose(X_res, w[:, None] * X[a] + (1 - w[:, None]) * X[b], rtol=1e-6)
    assert type(y_res) is np.ndarray and y_res.shape == (len(a), 3)
    assert (s.kind_ == CLEAR_MIX).any() and (s.kind_ == AMBIGUOUS_MIX).any()
    _, X_int, _, a, b, w = fitted_like(np.arange(29 * 2).reshape(29, 2))
    assert X_int.dtype == np.float64
    np.testing.assert_allclose(X_int[:, 0], w * (2 * a) + (1 - w) * (2 * b))


def test_dataframe_rows_by_position_with_integer_column_names(fitted_like):
    """Columns named 1 and 0 (in that order): item 0 must be row 0, never column 0."""
    values = np.random.default_rng(0).normal(size=(29, 2))
    X = pd.DataFrame(values, columns=[1, 0])
    s, X_res, y_res, a, b, w = fitted_like(X, y=vote_counts().tolist())
    assert list(X_res.columns) == [1, 0]
    np.testing.assert_allclose(X_res.to_numpy(), w[:, None] * values[a] + (1 - w[:, None]) * values[b])
    np.testing.assert_array_equal(X_res.iloc[0].to_numpy(), values[0])


def test_dataframe_dtypes_index_and_labels(fitted_like):
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"f32": rng.normal(size=29).astype(np.float32), "f64": rng.normal(size=29),
                      "i": np.arange(29)})
    y = pd.DataFrame(vote_counts(), columns=C3)
    s, X_res, y_res, a, b, w = fitted_like(X, y)
    assert X_res.dtypes.to_dict() == {"f32": np.float32, "f64": np.float64, "i": np.float64}
    assert isinstance(X_res.index, pd.RangeIndex) and list(X_res.index) == list(range(len(a)))
    np.testing.assert_allclose(X_res["i"].to_numpy(), w * a + (1 - w) * b)
    assert isinstance(y_res, pd.DataFrame) and list(y_res.columns) == list(C3)
    assert y_res.index.equals(X_res.index)
    np.testing.assert_allclose(y_res.to_numpy(), s.y_resampled_)
    # an integer index continues after its largest label; any other index: output positions
    _, X2, _, _, _, _ = fitted_like(X.set_index(pd.Index(np.arange(29) * 10 + 100)))
    assert list(X2.index[:29]) == list(np.arange(29) * 10 + 100) and X2.index[29] == 100 + 280 + 1
    assert X2.index.is_unique
    _, X3, _, _, _, _ = fitted_like(X.set_index(pd.Index([f"utt{k}" for k in range(29)], name="id")))
    assert list(X3.index[:29]) == [f"utt{k}" for k in range(29)] and list(X3.index[29:]) == list(range(29, len(X3)))
    assert X3.index.name == "id"


def test_series_and_non_numeric_columns(fitted_like):
    x = pd.Series(np.arange(29.0), name="feat")
    _, X_res, _, a, b, w = fitted_like(x)
    assert isinstance(X_res, pd.Series) and X_res.name == "feat"
    np.testing.assert_allclose(X_res.to_numpy(), w * a + (1 - w) * b)
    frame = pd.DataFrame({"x": np.arange(29.0), "speaker": ["s"] * 29})
    with pytest.raises(ValueError, match=r"\['speaker'\] are not numeric"):
        fitted_like(frame)
    _, same, _, _, _, _ = fitted_like(frame, cls=NoResampling)  # no mixed row: nothing to refuse
    pd.testing.assert_frame_equal(same, frame)


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def test_tensor_keeps_dtype_and_device(fitted_like, torch):
    X = torch.randn(29, 3, dtype=torch.float64)
    s, X_res, y_res, a, b, w = fitted_like(X, torch.as_tensor(vote_counts()))
    assert isinstance(X_res, torch.Tensor) and X_res.dtype == torch.float64 and X_res.device == X.device
    np.testing.assert_allclose(X_res.numpy(), w[:, None] * X.numpy()[a] + (1 - w[:, None]) * X.numpy()[b])
    assert isinstance(y_res, torch.Tensor) and y_res.dtype == torch.float32  # integer counts -> default float
    _, X_int, _, _, _, _ = fitted_like(torch.arange(29)[:, None])
    assert X_int.dtype == torch.get_default_dtype()
    if torch.cuda.is_available():  # the device check proper (only where a GPU is present)
        X_gpu, y_gpu = make(PDDS).fit_resample(X.float().cuda(), torch.as_tensor(vote_counts()).float().cuda())
        assert X_gpu.is_cuda and y_gpu.is_cuda and X_gpu.dtype == torch.float32
        np.testing.assert_allclose(X_gpu.cpu().numpy(), X_res.float().numpy(), rtol=1e-6)


def test_list_of_tensors_gives_tensors(fitted_like, torch):
    items = [torch.randn(k % 5 + 2, 3) for k in range(29)]
    s, X_res, _, a, b, w = fitted_like(items)
    assert type(X_res) is list and all(isinstance(x, torch.Tensor) for x in X_res)
    assert all(X_res[k] is items[k] for k in range(29))
    for k in np.flatnonzero(s.kind_ != 0):
        want = mix_sequences(items[a[k]].numpy(), items[b[k]].numpy(), w[k], "pad")
        np.testing.assert_allclose(X_res[k].numpy(), want, rtol=1e-6)
        assert X_res[k].dtype == torch.float32


@pytest.mark.parametrize("align", ["pad", "crop", "interp"])
def test_list_of_dicts_and_arrays_keep_their_types(fitted_like, torch, align):
    rng = np.random.default_rng(0)
    items = [{"audio": rng.normal(size=(k % 4 + 1, 2)).astype(np.float32), "text": torch.randn(k % 3 + 2, 4)}
             for k in range(29)]
    s, X_res, _, a, b, w = fitted_like(tuple(items), align=align)
    assert type(X_res) is tuple and len(X_res) == len(a)
    for k in np.flatnonzero(s.kind_ != 0):
        x = X_res[k]
        assert isinstance(x["audio"], np.ndarray) and x["audio"].dtype == np.float32
        assert isinstance(x["text"], torch.Tensor)
        np.testing.assert_allclose(x["audio"], mix_sequences(items[a[k]]["audio"], items[b[k]]["audio"], w[k], align))
        want = mix_sequences(items[a[k]]["text"].numpy(), items[b[k]]["text"].numpy(), w[k], align)
        np.testing.assert_allclose(x["text"].numpy(), want, rtol=1e-5, atol=1e-6)
    arrays = [rng.normal(size=(k % 3 + 1, 2)) for k in range(29)]
    _, A, _, _, _, _ = fitted_like(arrays)
    assert type(A) is list and all(type(x) is np.ndarray for x in A)
    obj = np.empty(29, dtype=object)
    obj[:] = arrays
    _, obj_res, _, _, _, _ = fitted_like(obj)
    assert isinstance(obj_res, np.ndarray) and obj_res.dtype == object and len(obj_res) == len(A)
    _, L, y_list, _, _, _ = fitted_like([[float(k), 1.0] for k in range(29)], vote_counts().tolist())
    assert type(L[-1]) is list and type(y_list) is list and len(y_list[0]) == 3


def test_unsupported_X_is_a_type_error_naming_the_accepted_types(torch):
    from torch.utils.data import TensorDataset

    y = vote_counts()
    for X in ({k: k for k in range(29)}, set(range(29)), "x" * 29, (k for k in range(29))):
        with pytest.raises(TypeError, match="accepted: numpy.ndarray, pandas.DataFrame"):
            make(PDDS).fit_resample(X, y)
    with pytest.raises(TypeError, match=r"pddslib.pdds.dataset.PDDSDataset"):
        make(PDDS).fit_resample(TensorDataset(torch.randn(29, 2)), y)
    with pytest.raises(TypeError, match="items must be numpy arrays"):
        make(PDDS).fit_resample(["a"] * 29, y)
    scipy_sparse = pytest.importorskip("scipy.sparse")
    with pytest.raises(TypeError, match="sparse"):
        make(PDDS).fit_resample(scipy_sparse.csr_matrix(np.ones((29, 2))), y)
    for X, match in ((np.ones((29, 2)) * 1j, "Complex"), (np.array(["a"] * 29), "dtype <U1"),
                     (np.ones((29, 0)), r"0 feature\(s\)")):
        with pytest.raises(ValueError, match=match):
            make(PDDS).fit_resample(X, y)


# -- pddslib.pdds.dataset ------------------------------------------------------------------------------
class CountingBase:
    """A map-style dataset of (sequence (T_k, 3) float32 tensor, label) that counts its reads."""

    def __init__(self, torch, n, bare=False):
        gen = torch.Generator().manual_seed(0)
        self.items = [torch.randn(k % 7 + 1, 3, generator=gen) for k in range(n)]
        self.bare = bare
        self.reads = 0

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        self.reads += 1
        return self.items[i] if self.bare else (self.items[i], 0)


@pytest.mark.parametrize("align", ["pad", "crop", "interp"])
def test_dataloader_over_pddsdataset_gives_mixed_padded_batches(torch, align):
    from torch.utils.data import DataLoader

    from pddslib.pdds.dataset import PaddedBatch, PDDSDataset, pad_collate

    y = vote_counts()
    s = make(PDDS, align=align).fit(y)
    base = CountingBase(torch, len(y))
    ds = PDDSDataset(base, s)
    assert len(ds) == len(s.sample_indices_)
    seen = 0
    for batch in DataLoader(ds, batch_size=16, collate_fn=pad_collate):
        assert isinstance(batch, PaddedBatch)
        x, yb, lengths, mask = batch
        assert x.dtype == torch.float32 and x.shape[0] == len(yb) == len(lengths)
        assert torch.equal(mask, torch.arange(x.shape[1])[None, :] < lengths[:, None])
        for i in range(len(yb)):
            k = seen + i
            a, b = s.sample_indices_[k]
            want = mix_sequences(base.items[a].numpy(), base.items[b].numpy(), s.mix_weights_[k], align)
            assert int(lengths[i]) == len(want)
            np.testing.assert_allclose(x[i, : len(want)].numpy(), want, rtol=1e-5, atol=1e-6)
            assert not x[i, len(want):].any()
            np.testing.assert_allclose(yb[i].numpy(), s.y_resampled_[k], rtol=1e-6)
        seen += len(yb)
    assert seen == len(ds)
    assert (s.kind_ == CLEAR_MIX).any() and (s.kind_ == AMBIGUOUS_MIX).any()
    assert ds[0][0] is base.items[0]  # an original row is the base's own x


def test_pddsdataset_dict_items_and_bare_items(torch):
    from torch.utils.data import DataLoader

    from pddslib.pdds.dataset import PDDSDataset, pad_collate

    y = vote_counts()
    s = make(PDDS).fit(y)
    seqs = CountingBase(torch, len(y), bare=True)

    class Multimodal:
        def __len__(self):
            return len(y)

        def __getitem__(self, i):
            return {"audio": seqs.items[i], "text": np.full((i % 3 + 1, 2), float(i), dtype=np.float32)}

    batch = next(iter(DataLoader(PDDSDataset(Multimodal(), s), batch_size=len(s.sample_indices_),
                                 collate_fn=pad_collate)))
    assert set(batch.x) == {"audio", "text"} and set(batch.lengths) == set(batch.mask) == {"audio", "text"}
    k = int(np.flatnonzero(s.kind_ == AMBIGUOUS_MIX)[0])
    a, b = s.sample_indices_[k]
    want = mix_sequences(np.full((a % 3 + 1, 2), float(a)), np.full((b % 3 + 1, 2), float(b)), s.mix_weights_[k])
    assert int(batch.lengths["text"][k]) == len(want)
    np.testing.assert_allclose(batch.x["text"][k, : len(want)].numpy(), want, rtol=1e-6)
    # a base of bare x (no label): the dataset still returns (x, label distribution)
    x, label = PDDSDataset(seqs, s)[k]
    assert isinstance(x, torch.Tensor) and label.dtype == torch.float32 and label.shape == (3,)
    # pad_collate on bare items: y is None
    out = pad_collate([torch.ones(2, 3), torch.ones(4, 3)])
    assert out.y is None and out.lengths.tolist() == [2, 4] and out.x.shape == (2, 4, 3)


def test_pddsdataset_memory_is_flat_in_the_new_samples(torch):
    """The dataset stores the base and provenance arrays only, and reads the base lazily."""
    from pddslib.pdds.dataset import PDDSDataset

    y = vote_counts()
    sizes = {}
    for level in (10, 200):  # 200: ~20 times more new samples
        s = make(UniformBalancing, level=level).fit(y)
        base = CountingBase(torch, len(y))
        ds = PDDSDataset(base, s)
        assert base.reads == 0  # nothing mixed or copied at construction
        kinds = {k: type(v) for k, v in vars(ds).items()}
        assert kinds == {"base": CountingBase, "sources": np.ndarray, "weights": np.ndarray,
                         "labels": np.ndarray, "align": str}
        arrays = [ds.sources, ds.weights, ds.labels]
        assert all(not arr.flags.writeable for arr in arrays)
        n_res = len(s.sample_indices_)
        assert sum(arr.nbytes for arr in arrays) == n_res * (2 * 8 + 8 + 3 * 4)  # provenance only
        k = n_res - 1
        ds[k]
        assert base.reads == 2  # one item mixes exactly its two sources
        sizes[level] = n_res
    assert sizes[200] > 10 * sizes[10]


def test_pddsdataset_errors(torch):
    from pddslib.pdds.dataset import PDDSDataset, pad_collate

    y = vote_counts()
    with pytest.raises(ValueError, match="not fitted"):
        PDDSDataset(CountingBase(torch, len(y)), make(PDDS))
    with pytest.raises(ValueError, match="has 5 items but the sampler was fitted on 29"):
        PDDSDataset(CountingBase(torch, 5), make(PDDS).fit(y))
    ds = PDDSDataset(CountingBase(torch, len(y)), make(PDDS).fit(y))
    with pytest.raises(IndexError):
        ds[len(ds)]
    with pytest.raises(ValueError, match="beyond the first"):
        pad_collate([torch.ones(2, 3), torch.ones(2, 4)])


def test_pddslib_torch_does_not_shadow_torch():
    """pddslib/torch.py is pddslib.pdds.dataset; every `import torch` in the package still gets torch."""
    pytest.importorskip("torch")
    code = ("import sys, pddslib.pdds.dataset as pt, pddslib.runs.training as tr, pddslib.pdds.mixup, torch\n"
            "assert pt.torch is torch is tr.torch is sys.modules['torch'], (pt.torch, tr.torch)\n"
            "assert 'pddslib' not in torch.__file__ and hasattr(torch, 'Tensor')\n"
            "assert pt.__name__ == 'pddslib.pdds.dataset' and pt.PDDSDataset.__module__ == 'pddslib.pdds.dataset'\n")
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True, env=_env())


def test_core_import_needs_neither_torch_nor_sklearn():
    code = ("import sys, pddslib, pddslib.pdds.resample, pddslib.pdds.inputs\n"
            "bad = {'torch', 'sklearn', 'imblearn'} & set(sys.modules)\n"
            "assert not bad, bad\n")
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True, env=_env())


def _env():
    import os

    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
