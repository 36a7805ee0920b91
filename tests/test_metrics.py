"""WA, UA and the confusion matrix against hand-computed cases and scikit-learn.

WA (weighted accuracy) is the overall accuracy; UA (unweighted accuracy) is the mean of the
per-class recalls over the classes present in the reference labels. Many SER code bases mix the
two up (or average precision, or count an absent class as 0), so the cases here are worked out
by hand.
"""

import warnings

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, balanced_accuracy_score
from sklearn.metrics import confusion_matrix as sk_confusion_matrix

from pddslib.runs.metrics import confusion_matrix, evaluate, per_class_recall, unweighted_accuracy, weighted_accuracy

# An imbalanced 3-class case, worked out by hand.
#   reference class 0 (6 samples): 5 predicted 0, 1 predicted 1      -> recall 5/6
#   reference class 1 (3 samples): 1 predicted 1, 2 predicted 0      -> recall 1/3
#   reference class 2 (1 sample):  predicted 0                        -> recall 0
#   WA = (5 + 1 + 0) / 10 = 0.6
#   UA = (5/6 + 1/3 + 0) / 3 = (15/18 + 6/18) / 3 = 21/54 = 7/18 ~ 0.3889
# (A classifier that always says 0 would have WA 0.6 too, but UA 1/3.)
Y_TRUE = np.array([0, 0, 0, 0, 0, 0, 1, 1, 1, 2])
Y_PRED = np.array([0, 0, 0, 0, 0, 1, 1, 0, 0, 0])
CM = np.array([[5, 1, 0],
               [2, 1, 0],
               [1, 0, 0]])


def test_hand_computed_imbalanced_case():
    assert weighted_accuracy(Y_TRUE, Y_PRED) == pytest.approx(0.6, abs=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # every class is present: no warning
        ua = unweighted_accuracy(Y_TRUE, Y_PRED, 3)
    assert ua == pytest.approx(7 / 18, abs=1e-12)
    assert ua != pytest.approx(0.6)
    assert np.array_equal(confusion_matrix(Y_TRUE, Y_PRED, 3), CM)
    assert np.allclose(per_class_recall(CM), [5 / 6, 1 / 3, 0.0])


def test_majority_classifier_has_high_wa_but_chance_ua():
    # always predicting class 0: WA = 6/10, UA = (1 + 0 + 0) / 3
    pred = np.zeros_like(Y_TRUE)
    assert weighted_accuracy(Y_TRUE, pred) == pytest.approx(0.6)
    assert unweighted_accuracy(Y_TRUE, pred, 3) == pytest.approx(1 / 3)


def test_confusion_rows_are_the_reference():
    # two samples of class 0 predicted as 2, one sample of class 1 predicted as 0
    cm = confusion_matrix([0, 0, 1], [2, 2, 0], 3)
    assert cm[0, 2] == 2 and cm[2, 0] == 0
    assert cm[1, 0] == 1 and cm[0, 1] == 0
    assert cm.sum() == 3 and cm.shape == (3, 3)
    assert np.array_equal(cm.sum(1), [2, 1, 0])  # row sums: reference counts
    assert np.array_equal(cm.sum(0), [1, 0, 2])  # column sums: prediction counts


def test_absent_reference_class_is_left_out_of_ua_with_a_warning():
    # 4 classes; class 2 never occurs in the reference.
    #   class 0: 3 samples, 2 correct -> 2/3;  class 1: 2 samples, 1 correct -> 1/2;
    #   class 3: 1 sample, correct -> 1.      UA = (2/3 + 1/2 + 1) / 3 = 13/18
    # (counting class 2 as recall 0 would give 13/24, as recall 1 would give 19/24; both wrong)
    y_true = [0, 0, 0, 1, 1, 3]
    y_pred = [0, 0, 2, 1, 2, 3]
    with pytest.warns(UserWarning, match="sad"):
        ua = unweighted_accuracy(y_true, y_pred, 4, classes=["ang", "hap", "sad", "neu"])
    assert ua == pytest.approx(13 / 18, abs=1e-12)
    with pytest.warns(UserWarning, match=r"\[2\]"):
        assert unweighted_accuracy(y_true, y_pred, 4) == pytest.approx(13 / 18, abs=1e-12)
    # predictions of the class that never occurs in the reference are errors for WA: 4/6
    assert weighted_accuracy(y_true, y_pred) == pytest.approx(4 / 6, abs=1e-12)
    cm = confusion_matrix(y_true, y_pred, 4)
    assert cm[2].sum() == 0 and cm[:, 2].sum() == 2
    rec = per_class_recall(cm)
    assert np.isnan(rec[2]) and np.allclose(rec[[0, 1, 3]], [2 / 3, 1 / 2, 1])


def test_evaluate_on_probabilities():
    classes = ["ang", "hap", "sad", "neu"]
    # argmax of each row: 0, 0, 1, 1, 3, 0 -- the same y_pred as the absent-class case
    probs = np.array([[0.7, 0.1, 0.1, 0.1],
                      [0.4, 0.3, 0.2, 0.1],
                      [0.2, 0.5, 0.2, 0.1],
                      [0.1, 0.6, 0.2, 0.1],
                      [0.1, 0.1, 0.2, 0.6],
                      [0.5, 0.2, 0.2, 0.1]])
    y_true = [0, 0, 0, 1, 3, 3]
    # class 0: 2/3 (third predicted hap); class 1: 1/1; class 3: 1/2 (one predicted ang); sad absent
    with pytest.warns(UserWarning, match="sad"):
        out = evaluate(probs, y_true, classes)
    assert out["wa"] == pytest.approx(4 / 6)
    assert out["ua"] == pytest.approx((2 / 3 + 1 + 1 / 2) / 3)
    assert out["recall"]["ang"] == pytest.approx(2 / 3)
    assert out["recall"]["hap"] == pytest.approx(1.0)
    assert out["recall"]["sad"] is None
    assert out["recall"]["neu"] == pytest.approx(0.5)
    assert out["confusion"] == [[2, 1, 0, 0],
                                [0, 1, 0, 0],
                                [0, 0, 0, 0],
                                [1, 0, 0, 1]]


def test_evaluate_wants_one_column_per_class():
    with pytest.raises(ValueError):
        evaluate(np.full((3, 5), 0.2), [0, 1, 2], ["ang", "hap", "sad", "neu"])
    with pytest.raises(ValueError):
        evaluate(np.full(4, 0.25), [0], ["ang", "hap", "sad", "neu"])


@pytest.mark.parametrize("fn", [
    lambda t, p: weighted_accuracy(t, p),
    lambda t, p: unweighted_accuracy(t, p, 3),
    lambda t, p: confusion_matrix(t, p, 3),
], ids=["wa", "ua", "confusion"])
def test_different_lengths_raise(fn):
    with pytest.raises(ValueError):
        fn([0, 1, 2], [0, 1])
    with pytest.raises(ValueError):
        fn([], [])


@pytest.mark.parametrize("y_true, y_pred", [
    ([0, 1, 3], [0, 1, 2]),     # reference class out of range
    ([0, 1, 2], [0, 1, 3]),     # predicted class out of range
    ([0, -1, 2], [0, 1, 2]),    # negative
    ([0.0, 1.0, 2.0], [0, 1, 2]),  # not class indices
])
def test_out_of_range_classes_raise(y_true, y_pred):
    with pytest.raises(ValueError):
        confusion_matrix(y_true, y_pred, 3)
    with pytest.raises(ValueError):
        unweighted_accuracy(y_true, y_pred, 3)


def test_evaluate_rejects_out_of_range_reference():
    with pytest.raises(ValueError):
        evaluate(np.eye(3), [0, 1, 3], ["ang", "hap", "sad"])


@pytest.mark.parametrize("seed", range(5))
def test_against_scikit_learn_on_random_labels(seed):
    rng = np.random.default_rng(seed)
    n, c = 500, 6
    share = rng.dirichlet(np.ones(c) * 0.7)  # imbalanced reference
    y_true = rng.choice(c, size=n, p=share)
    # a noisy classifier: right about half the time, else a random class
    y_pred = np.where(rng.random(n) < 0.5, y_true, rng.integers(0, c, n))
    present = np.unique(y_true)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ua = unweighted_accuracy(y_true, y_pred, c)
        sk_ua = balanced_accuracy_score(y_true, y_pred)
    assert weighted_accuracy(y_true, y_pred) == pytest.approx(accuracy_score(y_true, y_pred), abs=1e-12)
    assert ua == pytest.approx(sk_ua, abs=1e-12)
    # independent: the mean over present classes of (correct in class / class size)
    manual = np.mean([(y_pred[y_true == k] == k).mean() for k in present])
    assert ua == pytest.approx(manual, abs=1e-12)
    assert np.array_equal(confusion_matrix(y_true, y_pred, c),
                          sk_confusion_matrix(y_true, y_pred, labels=list(range(c))))
    # evaluate through one-hot-ish probabilities gives the same numbers
    probs = np.full((n, c), 0.1 / (c - 1))
    probs[np.arange(n), y_pred] = 0.9
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = evaluate(probs, y_true, [f"c{k}" for k in range(c)])
    assert out["wa"] == pytest.approx(accuracy_score(y_true, y_pred), abs=1e-12)
    assert out["ua"] == pytest.approx(sk_ua, abs=1e-12)
