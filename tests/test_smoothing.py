"""Eq. (1), clear balancing and targets, against hand-computed numbers."""

import math

import numpy as np
import pytest

from pddslib.pdds.counts import CountTable
from pddslib.pdds.smoothing import balance_clear, kernel_weights, pdds_plan, round_half_up, smooth_pairs
from pddslib.reference import iemocap_counts

W = math.exp(-0.5)  # Eq. (1) weight of a neighbour at distance 1 for sigma = 1


def test_kernel_weights_literal_and_normalised():
    assert kernel_weights(1.0) == pytest.approx([0.6065306597, 1.0, 0.6065306597])
    s = 1 + 2 * 0.6065306597
    assert kernel_weights(1.0, "sum") == pytest.approx([0.6065306597 / s, 1 / s, 0.6065306597 / s])
    assert kernel_weights(2.0)[0] == pytest.approx(math.exp(-1 / 8))
    assert list(kernel_weights(0.0)) == [0.0, 1.0, 0.0]
    with pytest.raises(ValueError, match="sigma"):
        kernel_weights(-1.0)
    with pytest.raises(ValueError, match="normalize"):
        kernel_weights(1.0, "max")


def test_chain_neighbours_by_hand():
    # Three classes; chain of pair (0, 1) is [clear0=10, amb01=2, amb10=6, clear1=4].
    clear = np.array([10, 4, 20])
    amb = np.array([[0, 2, 0], [6, 0, 1], [5, 3, 0]])
    out = smooth_pairs(clear, amb, sigma=1.0)
    # I_j = 0>1: neighbours clear 0 and 1>0.
    assert out[0, 1] == pytest.approx(0.6065306597 * 10 + 2 + 0.6065306597 * 6)
    # J_i = 1>0: neighbours 0>1 and clear 1.
    assert out[1, 0] == pytest.approx(0.6065306597 * 2 + 6 + 0.6065306597 * 4)
    # pair (0, 2): 0>2 between clear 0 and 2>0; 2>0 between 0>2 and clear 2.
    assert out[0, 2] == pytest.approx(0.6065306597 * 10 + 0 + 0.6065306597 * 5)
    assert out[2, 0] == pytest.approx(0.6065306597 * 0 + 5 + 0.6065306597 * 20)
    # pair (1, 2)
    assert out[1, 2] == pytest.approx(0.6065306597 * 4 + 1 + 0.6065306597 * 3)
    assert out[2, 1] == pytest.approx(0.6065306597 * 1 + 3 + 0.6065306597 * 20)
    assert np.all(np.diag(out) == 0)
    # normalised kernel divides everything by the weights' sum
    norm = smooth_pairs(clear, amb, sigma=1.0, normalize="sum")
    assert norm == pytest.approx(out / (1 + 2 * 0.6065306597))


def test_sigma_to_zero_leaves_counts():
    rng = np.random.default_rng(1)
    clear = rng.integers(50, 400, 6)
    amb = rng.integers(0, 500, (6, 6))
    np.fill_diagonal(amb, 0)
    assert np.array_equal(smooth_pairs(clear, amb, sigma=0.0), amb)
    assert np.allclose(smooth_pairs(clear, amb, sigma=1e-3), amb)
    plan = pdds_plan(CountTable(tuple("abcdef"), clear, amb), sigma=0.0, balance=False)
    assert np.array_equal(plan.targets, amb)
    assert plan.new_samples == 0


def test_balancing_raises_happiness_43_to_215():
    counts = iemocap_counts("train")
    balanced = balance_clear(counts.clear)
    assert dict(zip(counts.classes, balanced.tolist())) == {
        "ang": 304, "hap": 215, "sad": 333, "neu": 304, "exc": 204, "fru": 373}
    # rule: n * ceil(m / n) for n < m / 2, m = smallest other count
    assert list(balance_clear([10, 3, 40])) == [10, 12, 40]   # 3 < 5 -> 3 * ceil(10 / 3)
    assert list(balance_clear([10, 5, 40])) == [10, 5, 40]    # 5 is not below 10 / 2
    with pytest.raises(ValueError, match="no clear sample"):
        balance_clear([10, 0, 40])


def test_round_half_up():
    assert list(round_half_up([0.5, 1.5, 2.5, 2.49])) == [1, 2, 3, 2]


def test_targets_never_fall_below_original():
    rng = np.random.default_rng(0)
    for _ in range(200):
        c = int(rng.integers(2, 8))
        clear = rng.integers(1, 300, c)
        amb = rng.integers(0, 800, (c, c))
        np.fill_diagonal(amb, 0)
        sigma = float(rng.uniform(0, 3))
        norm = [None, "sum"][int(rng.integers(2))]
        plan = pdds_plan(CountTable(tuple(f"c{i}" for i in range(c)), clear, amb), sigma=sigma, normalize=norm)
        assert (plan.targets >= amb).all()
        assert (plan.balanced_clear >= clear).all()
        assert plan.new_samples == int((plan.targets - amb).sum() + (plan.balanced_clear - clear).sum())


def test_iemocap_plan_worked_example():
    plan = pdds_plan(iemocap_counts("train"), sigma=1.0)
    d = plan.to_dict()
    # ang>hap: chain [ang 304, ang>hap 1, hap>ang 0, hap 215]
    assert d["targets"]["ang>hap"] == round(W * 304 + 1 + W * 0)
    # hap>ang uses the balanced happiness count 215
    assert d["targets"]["hap>ang"] == round(W * 1 + 0 + W * 215)
    # fru>ang is large already: smoothing still raises it (weights are not normalised)
    assert d["targets"]["fru>ang"] == round(W * 481 + 489 + W * 373)
    assert len(d["targets"]) == 30
    assert d["new_samples"] == sum(d["targets"].values()) - plan.counts.n_ambiguous + (215 - 43)
