"""The significance helpers against hand-computed cases."""

import math

import numpy as np
import pandas as pd
import pytest

from pddslib.paper.significance import compare_predictions, mcnemar, paired_bootstrap, seed_interval
from pddslib.runs.metrics import unweighted_accuracy


def test_mcnemar_exact_by_hand():
    # 10 utterances only A gets right, 2 only B gets right, 5 both: p = 2 * P(X <= 2), X ~ Bin(12, 1/2)
    a = np.array([1] * 10 + [0] * 2 + [1] * 5)
    b = np.array([0] * 10 + [1] * 2 + [1] * 5)
    expected = 2 * (1 + 12 + 66) / 2**12          # = 0.0386
    assert mcnemar(a, b) == pytest.approx(expected)
    assert mcnemar(b, a) == pytest.approx(expected)
    assert mcnemar(a, a) == 1.0                   # no discordant utterance


def test_seed_interval_by_hand():
    mean, low, high = seed_interval([1.0, 2.0, 3.0])
    half = 4.302652729911275 / math.sqrt(3)       # t(0.975, 2 df) * sd 1 / sqrt(3)
    assert (mean, low, high) == pytest.approx((2.0, 2.0 - half, 2.0 + half))
    assert math.isnan(seed_interval([1.5])[1])


def test_paired_bootstrap_extremes_and_ua():
    truth = np.array([0, 0, 0, 1, 1, 2])
    same = np.array([[1, 0, 1, 1, 0, 1]])
    r = paired_bootstrap(same, same, truth, 3, n_boot=200)
    assert (r["d_wa"], r["wa_low"], r["wa_high"], r["p_wa"]) == (0.0, 0.0, 0.0, 1.0)
    r = paired_bootstrap(np.zeros((2, 6)), np.ones((2, 6)), truth, 3, n_boot=200)
    assert (r["d_wa"], r["wa_low"], r["wa_high"], r["p_wa"]) == (100.0, 100.0, 100.0, 0.0)
    # the observed UA change is the change of pddslib.runs.metrics' unweighted accuracy
    a = np.array([[1, 1, 0, 0, 1, 0]])
    b = np.array([[1, 0, 0, 1, 1, 1]])
    pred_a = np.where(a[0] == 1, truth, (truth + 1) % 3)
    pred_b = np.where(b[0] == 1, truth, (truth + 1) % 3)
    expected = 100 * (unweighted_accuracy(truth, pred_b, 3) - unweighted_accuracy(truth, pred_a, 3))
    assert paired_bootstrap(a, b, truth, 3, n_boot=50)["d_ua"] == pytest.approx(expected)


def test_a_clear_improvement_is_significant_and_noise_is_not():
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 4, 400)
    base = rng.random((3, 400)) < 0.5
    better = base | (rng.random((3, 400)) < 0.4)   # about 20 points better, same utterances
    noisy = rng.random((3, 400)) < 0.5              # unrelated, same rate
    r = paired_bootstrap(base, better, truth, 4, n_boot=500)
    assert r["d_wa"] > 10 and r["wa_low"] > 0 and r["p_wa"] < 0.01
    r = paired_bootstrap(base, noisy, truth, 4, n_boot=500)
    assert r["wa_low"] < 0 < r["wa_high"] and r["p_wa"] > 0.05


def _preds(utts, truth, correct):
    return pd.DataFrame({"utt_id": utts, "consensus": truth,
                         "pred": [t if c else ("b" if t == "a" else "a") for t, c in zip(truth, correct)]})


def test_compare_predictions_pairs_by_utterance_and_says_so_in_words():
    utts = [f"u{i}" for i in range(60)]
    truth = ["a", "b", "c"] * 20
    worse = [_preds(utts, truth, [i % 2 == 0 for i in range(60)]) for _ in range(3)]
    better = [_preds(utts, truth, [True] * 60).sample(frac=1, random_state=s) for s in range(3)]  # row order differs
    c = compare_predictions(worse, better, ("a", "b", "c"), n_boot=300)
    assert c.d_wa == pytest.approx(50.0) and c.seed_d_wa == pytest.approx(50.0) and c.n_seeds == 3
    assert c.significant and "larger than the noise" in c.words()
    c = compare_predictions(worse, worse, ("a", "b", "c"), n_boot=100)
    assert not c.significant and "within noise" in c.words()
    with pytest.raises(ValueError, match="same test utterances"):
        compare_predictions(worse[:1], [_preds(utts[::-1][:59] + ["x"], truth, [True] * 60)], ("a", "b", "c"))


def test_experiment_significance_pairs_runs_by_seed():
    from pddslib.paper.experiments import significance
    from pddslib.runs.sweep import ExperimentResult

    utts, truth = [f"u{i}" for i in range(30)], ["a", "b", "c"] * 10
    rows, preds = [], {}
    for strat, correct in (("none", [i % 3 == 0 for i in range(30)]), ("pdds", [True] * 30)):
        for seed in (1, 0):  # out of order on purpose
            key = f"{strat}{seed}"
            rows.append({"model": "m", "strategy": strat, "seed": seed, "key": key})
            preds[key] = _preds(utts, truth, correct)
    result = ExperimentResult(pd.DataFrame(rows), preds)
    out = significance(result, ("a", "b", "c"), [("m", "none", "pdds")], n_boot=100)
    assert len(out) == 1 and out.loc[0, "d_wa"] == pytest.approx(100 * (1 - 10 / 30))
    assert out.loc[0, "n_seeds"] == 2 and bool(out.loc[0, "significant"])
    assert out.loc[0, "words"].startswith("m: With PDDS vs original training data")
    lonely = ExperimentResult(pd.DataFrame(rows[:3]), preds)  # pdds has one seed only
    with pytest.raises(ValueError, match="same seeds"):
        significance(lonely, ("a", "b", "c"), [("m", "none", "pdds")])
