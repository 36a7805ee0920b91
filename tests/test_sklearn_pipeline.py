"""PDDS in a scikit-learn pipeline, as users write it (issue 34): the README's GridSearchCV example,
the soft-to-hard expansion (pddslib.pdds.hard), its scorers and consensus-stratified folds, and the
small-data fallback (replacement=True). Skipped without scikit-learn or imbalanced-learn."""

from __future__ import annotations

import math
import re
import warnings
from pathlib import Path

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")
pytest.importorskip("imblearn")

from imblearn.pipeline import Pipeline  # noqa: E402
from sklearn.base import clone  # noqa: E402
from sklearn.exceptions import FitFailedWarning  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.metrics import log_loss  # noqa: E402
from sklearn.model_selection import GridSearchCV, StratifiedKFold  # noqa: E402

from pddslib import PDDS, ClearBalancing, UniformBalancing  # noqa: E402
from pddslib.pdds.hard import (  # noqa: E402
    SCORING,
    ConsensusStratifiedKFold,
    HardLabels,
    SoftLabelClassifier,
    SoftLabelsDroppedWarning,
    consensus_ua,
    consensus_wa,
    expand_soft_labels,
    integer_copies,
    neg_soft_log_loss,
    soft_log_loss,
)
from pddslib.util.constraints import InvalidParameterError  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
MARKER = "# example: GridSearchCV over pdds__sigma"
C3 = ("a", "b", "c")


def _example(page: Path) -> str:
    """The code block of ``page`` that opens with the marker comment."""
    blocks = re.findall(r"```python\n(.*?)```", page.read_text(encoding="utf-8"), re.S)
    found = [b for b in blocks if b.startswith(MARKER)]
    assert len(found) == 1, f"{page}: {len(found)} blocks open with {MARKER!r}"
    return found[0]


# -- the documented example -------------------------------------------------------------------------
def test_the_readme_example_runs_and_gives_finite_scores():
    namespace: dict = {}
    with warnings.catch_warnings():
        warnings.simplefilter("error", FitFailedWarning)
        exec(compile(_example(REPO / "README.md"), "README.md example", "exec"), namespace)
    search = namespace["search"]
    assert search.best_params_["pdds__sigma"] in (0.5, 1.0, 2.0)
    for name in SCORING:
        scores = search.cv_results_[f"mean_test_{name}"]
        assert len(scores) == 3 and np.isfinite(scores).all(), (name, scores)
    assert (search.cv_results_["mean_test_soft_log_loss"] < 0).all()
    assert 0 < search.best_score_ <= 1
    proba = search.predict_proba(namespace["X"][:5])  # the refitted pipeline: one column per class
    assert proba.shape == (5, 6) and np.allclose(proba.sum(1), 1)


def test_the_book_shows_the_readme_example():
    assert _example(REPO / "book" / "method.md") == _example(REPO / "README.md")


def _soft_data(n=90, seed=0):
    """Vote counts of three classes (clear rows and 2+1 ambiguous rows) and features that follow them."""
    rng = np.random.default_rng(seed)
    rows = [[3, 0, 0]] * 30 + [[0, 3, 0]] * 12 + [[0, 0, 3]] * 30 + [[2, 1, 0]] * 8 + [[0, 1, 2]] * 10
    y = rng.permutation(np.array(rows))[:n]
    X = y / 3 @ rng.normal(size=(3, 4)) + rng.normal(size=(len(y), 4))
    return X, y


def test_a_plain_hard_label_classifier_fails_and_weights_cannot_be_routed():
    """What the module docstring says: the issue's error, and metadata routing sends the input's N
    weights to a classifier that sees N_res rows."""
    X, y = _soft_data()
    with pytest.raises(ValueError, match="y should be a 1d array"):
        Pipeline([("pdds", PDDS(classes=C3, random_state=0)), ("clf", LogisticRegression())]).fit(X, y)
    with sklearn.config_context(enable_metadata_routing=True), warnings.catch_warnings():
        warnings.simplefilter("ignore", SoftLabelsDroppedWarning)
        clf = LogisticRegression().set_fit_request(sample_weight=True)
        pipe = Pipeline([("pdds", HardLabels(PDDS(classes=C3, random_state=0), targets="argmax")), ("clf", clf)])
        with pytest.raises(ValueError, match=rf"sample_weight.shape == \({len(y)},\), expected"):
            pipe.fit(X, y, sample_weight=np.ones(len(y)))


# -- the expansion ----------------------------------------------------------------------------------
def test_the_expansion_keeps_the_soft_labels_expected_log_loss():
    y = np.array([[0.8, 0.2, 0.0], [0.0, 0.0, 1.0], [0.5, 0.0, 0.5]])
    X = np.array([[10.0], [20.0], [30.0]])
    X_rows, labels, weights = expand_soft_labels(X, y)
    assert X_rows.ravel().tolist() == [10.0, 10.0, 20.0, 30.0, 30.0]
    assert labels.tolist() == [0, 1, 2, 0, 2] and np.allclose(weights, [0.8, 0.2, 1.0, 0.5, 0.5])
    P = np.array([[0.6, 0.3, 0.1], [0.2, 0.2, 0.6], [0.4, 0.4, 0.2]])  # any predicted distributions
    rows = [0, 0, 1, 2, 2]
    by_hand = -(0.8 * math.log(0.6) + 0.2 * math.log(0.3) + 1.0 * math.log(0.6)
                + 0.5 * math.log(0.4) + 0.5 * math.log(0.2)) / 3
    weighted_hard = float(-(weights * np.log(P[rows, labels])).sum() / weights.sum())
    assert weighted_hard == pytest.approx(by_hand) == pytest.approx(soft_log_loss(y, P))
    assert log_loss(labels, P[rows], sample_weight=weights, labels=[0, 1, 2]) == pytest.approx(by_hand)


def test_soft_label_classifier_is_the_weighted_fit_and_copies_match_it():
    X, y = _soft_data()
    q = y / y.sum(1, keepdims=True)
    lr = LogisticRegression(C=1.0, tol=1e-10, max_iter=5000)
    soft = SoftLabelClassifier(lr).fit(X, y)
    X_rows, labels, weights = expand_soft_labels(X, y)
    direct = clone(lr).fit(X_rows, labels, sample_weight=weights)
    np.testing.assert_allclose(soft.estimator_.coef_, direct.coef_, atol=1e-8)
    assert soft.n_expanded_ == len(labels) and soft.classes_.tolist() == [0, 1, 2]
    assert soft.predict_proba(X).shape == (len(y), 3) and set(soft.predict(X)) <= {0, 1, 2}
    # after PDDS with p = 0.8 every label is a multiple of 1/10 (the 2+1 votes are not: give tenths)
    q10 = np.round(q * 10) / 10
    fit_soft = Pipeline([("pdds", PDDS(classes=C3, random_state=0)), ("clf", SoftLabelClassifier(lr))]).fit(X, q10)
    lr_copies = clone(lr).set_params(C=1.0 / 10)  # ten rows per sample: the summed loss's C divided by 10
    fit_copies = Pipeline([("pdds", HardLabels(PDDS(classes=C3, random_state=0), resolution=10)),
                           ("clf", lr_copies)]).fit(X, q10)
    np.testing.assert_allclose(fit_copies[-1].coef_, fit_soft[-1].estimator_.coef_, atol=1e-5)


def test_integer_copies_and_argmax():
    counts = integer_copies(np.array([[0.8, 0.2, 0.0], [1 / 3, 1 / 3, 1 / 3], [0.25, 0.75, 0.0]]), 10)
    assert counts.tolist() == [[8, 2, 0], [4, 3, 3], [3, 7, 0]]  # largest remainders; ties: the first class
    X, y = _soft_data()
    hard = HardLabels(PDDS(classes=C3, random_state=0), resolution=5)
    X_h, y_h = hard.fit_resample(X, y)
    n_res = len(hard.sampler_.y_resampled_)
    assert len(X_h) == len(y_h) == 5 * n_res and y_h.ndim == 1
    np.testing.assert_array_equal(X_h, hard.sampler_.fit_resample(X, y)[0][hard.rows_])
    with pytest.warns(SoftLabelsDroppedWarning, match="soft labels' information is dropped"):
        X_a, y_a = HardLabels(PDDS(classes=C3, random_state=0), targets="argmax").fit_resample(X, y)
    assert len(y_a) == n_res


def test_the_wrappers_clone_and_check_their_parameters():
    pipe = Pipeline([("pdds", HardLabels(PDDS(classes=C3))), ("clf", SoftLabelClassifier(LogisticRegression()))])
    pipe.set_params(pdds__sampler__sigma=2.0, clf__estimator__C=0.5, pdds__resolution=4)
    c = clone(pipe)
    assert c["pdds"].sampler.sigma == 2.0 and c["pdds"].resolution == 4 and c["clf"].estimator.C == 0.5
    assert "sampler__sigma" in c["pdds"].get_params() and "estimator__C" in c["clf"].get_params()
    with pytest.raises(ValueError, match="Invalid parameter 'sigma'"):
        HardLabels(PDDS()).set_params(sigma=1.0)
    X, y = _soft_data()
    with pytest.raises(InvalidParameterError, match="The 'targets' parameter of HardLabels must be a str among "
                                                    r"\{'copies', 'argmax'\}. Got 'soft' instead."):
        HardLabels(PDDS(classes=C3), targets="soft").fit_resample(X, y)
    with pytest.raises(InvalidParameterError, match="'estimator' parameter of SoftLabelClassifier must be an "
                                                    "object implementing 'fit' and 'predict'"):
        SoftLabelClassifier(PDDS()).fit(X, y)


# -- scorers ---------------------------------------------------------------------------------------
class _Fixed:
    """An estimator that predicts fixed distributions over the classes it saw (``classes_``)."""

    def __init__(self, proba, classes):
        self.proba, self.classes_ = np.asarray(proba), np.asarray(classes)

    def predict_proba(self, X):
        return self.proba

    def predict(self, X):
        return self.classes_[self.proba.argmax(1)]


def test_the_scorers_by_hand():
    votes = np.array([[2, 1, 0], [0, 0, 3], [1, 0, 2], [0, 3, 0]])  # consensus: a, c, c, b
    est = _Fixed([[0.7, 0.3], [0.5, 0.5], [0.2, 0.8], [0.9, 0.1]], classes=[0, 2])  # never saw class b
    by_hand = -(2 / 3 * math.log(0.7) + 1 / 3 * math.log(1e-15)  # column b: probability 0, clipped
                + math.log(0.5)
                + 1 / 3 * math.log(0.2) + 2 / 3 * math.log(0.8)
                + math.log(1e-15)) / 4
    assert neg_soft_log_loss(est, None, votes) == pytest.approx(-by_hand)
    # predictions: a, a (0.5/0.5: the first), c, a against a, c, c, b
    assert consensus_wa(est, None, votes) == pytest.approx(2 / 4)
    assert consensus_ua(est, None, votes) == pytest.approx((1 / 1 + 1 / 2 + 0 / 1) / 3)
    assert SCORING == {"soft_log_loss": neg_soft_log_loss, "wa": consensus_wa, "ua": consensus_ua}
    with pytest.raises(ValueError, match="column indices of y"):
        neg_soft_log_loss(_Fixed([[1.0]] * 4, classes=["ang"]), None, votes)


# -- cross-validation ------------------------------------------------------------------------------
def test_consensus_folds_keep_every_consensus_class_in_every_fold():
    X, y = _soft_data()
    with pytest.raises(ValueError):
        next(StratifiedKFold(3).split(X, y))  # scikit-learn's own refuses 2-D y
    cons = (y / y.sum(1, keepdims=True)).argmax(1)
    cv = ConsensusStratifiedKFold(4, shuffle=True, random_state=0)
    folds = list(cv.split(X, y))
    assert len(folds) == cv.get_n_splits() == 4
    assert sorted(np.concatenate([test for _, test in folds]).tolist()) == list(range(len(y)))
    for train, test in folds:
        for k in range(3):
            share = (cons[test] == k).mean()
            assert (cons[train] == k).any() and (cons[test] == k).any()
            assert abs(share - (cons == k).mean()) < 0.05  # stratified: the fold's share is the whole's
    with pytest.raises(InvalidParameterError, match="'n_splits' parameter"):
        next(ConsensusStratifiedKFold(1).split(X, y))


# -- small data: the fallback -----------------------------------------------------------------------
def _small_data():
    """Class b has two clear samples and is nobody's major: each training fold of 2 keeps one."""
    rng = np.random.default_rng(3)
    rows = [[3, 0, 0]] * 10 + [[0, 3, 0]] * 2 + [[0, 0, 3]] * 10 + [[2, 0, 1]] * 4 + [[1, 0, 2]] * 4
    y = rng.permutation(np.array(rows))
    return y / 3 @ rng.normal(size=(3, 4)) + rng.normal(size=(len(y), 4)), y


def _search(sampler, **kwargs):
    pipe = Pipeline([("pdds", sampler), ("clf", SoftLabelClassifier(LogisticRegression(max_iter=1000)))])
    return GridSearchCV(pipe, {"pdds__sigma": [0.5, 1.0]}, scoring=SCORING, refit="soft_log_loss",
                        cv=ConsensusStratifiedKFold(2, shuffle=True, random_state=0), **kwargs)


def test_small_data_fails_with_a_message_naming_the_fallback_and_works_with_it():
    X, y = _small_data()
    fallback = r"but has 1 clear sample\(s\).*or use replacement=True"
    with pytest.raises(ValueError, match=r"pdds: class 'b' needs \d+ new clear samples.*" + fallback):
        _search(PDDS(classes=C3, random_state=0), error_score="raise").fit(X, y)
    with pytest.raises(ValueError, match="All the 4 fits failed") as err:  # error_score=nan: when every fit fails
        _search(PDDS(classes=C3, random_state=0)).fit(X, y)
    assert "or use replacement=True" in str(err.value)
    with warnings.catch_warnings():
        warnings.simplefilter("error", FitFailedWarning)
        search = _search(PDDS(classes=C3, random_state=0, replacement=True), error_score="raise").fit(X, y)
    for name in SCORING:
        assert np.isfinite(search.cv_results_[f"mean_test_{name}"]).all()


@pytest.mark.parametrize("cls", [PDDS, ClearBalancing, UniformBalancing])
def test_replacement_copies_a_lone_clear_sample_and_changes_nothing_else(cls):
    extra = {"level": 6} if cls is UniformBalancing else {}
    y = np.eye(3)[[0, 0, 0, 0, 0, 0, 1, 2, 2, 2, 2, 2, 2]]
    X = np.arange(len(y), dtype=float)[:, None]
    with pytest.raises(ValueError, match="or use replacement=True"):
        cls(classes=C3, random_state=0, **extra).fit_resample(X, y)
    s = cls(classes=C3, random_state=0, replacement=True, **extra)
    X_res, y_res = s.fit_resample(X, y)
    lone = (s.cells_ == [1, 1]).all(1) & (np.arange(len(X_res)) >= len(y))
    assert lone.any() and (s.sample_indices_[lone] == 6).all() and (X_res[lone] == 6.0).all()
    # where no class needs it, the draws are those of the default
    _, votes = _soft_data()
    a = cls(classes=C3, random_state=0, **extra).fit(votes)
    b = cls(classes=C3, random_state=0, replacement=True, **extra).fit(votes)
    np.testing.assert_array_equal(a.sample_indices_, b.sample_indices_)
    with pytest.raises(InvalidParameterError, match="The 'replacement' parameter of .* must be a bool"):
        cls(classes=C3, replacement="yes").fit(votes)
