"""The two-source test against exact cases, the metrics module and moment identities; the pairing of
runs into comparisons; the former per-model statistics against hand-computed cases."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from pddslib.paper.comparisons import compare, condition, slope_test
from pddslib.paper.conditional import mcnemar, paired_bootstrap
from pddslib.paper.significance import change_test, fiducial_p, half_widths, metric_weights, variance_parts
from pddslib.runs.metrics import unweighted_accuracy
from pddslib.runs.sweep import ExperimentResult


def test_without_a_floor_the_test_is_students_t_on_the_per_seed_changes():
    per_seed = np.array([0.012, -0.004, 0.021, 0.007])
    diff = np.repeat(per_seed[:, None], 50, axis=1)            # every utterance moves with its seed: no floor
    w, strata = metric_weights(np.zeros(50, dtype=int), 1, "wa")
    t = change_test(diff, w, strata)
    ref = stats.ttest_1samp(per_seed, 0.0)
    assert t.floor_var == 0 and t.estimate == pytest.approx(per_seed.mean())
    assert t.p == pytest.approx(ref.pvalue, abs=2e-5)
    half = stats.t.ppf(0.975, 3) * per_seed.std(ddof=1) / 2
    assert (t.low, t.high) == pytest.approx((per_seed.mean() - half, per_seed.mean() + half), rel=1e-4)
    assert t.seed_sd == pytest.approx(per_seed.std(ddof=1)) and t.direction == "B"


def test_without_seed_noise_the_test_is_the_normal_test_on_the_floor():
    h = half_widths(0.0, 4.0, 3)
    assert float(h) == pytest.approx(1.959964 * 2.0, rel=1e-6)
    assert float(fiducial_p(1.959964 * 2.0, 0.0, 4.0, 3)) == pytest.approx(0.05, abs=1e-6)


def test_p_and_interval_agree_and_one_seed_gives_no_test():
    rng = np.random.default_rng(3)
    truth = rng.integers(0, 4, 200)
    diff = (rng.random((3, 200)) < 0.55).astype(float) - (rng.random((3, 200)) < 0.5)
    w, strata = metric_weights(truth, 4, "ua")
    t = change_test(diff, w, strata)
    p_at_edge = fiducial_p(t.estimate - t.low, t.seed_var, t.floor_var, 3)  # the interval's edge is at p = 0.05
    assert float(p_at_edge) == pytest.approx(0.05, abs=1e-6)
    assert (t.p < 0.05) == (t.low > 0 or t.high < 0)
    one = change_test(diff[:1], w, strata)
    assert np.isnan(one.p) and np.isnan(one.low) and one.n_seeds == 1


def test_ua_weights_give_the_ua_change_of_the_metrics_module():
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 3, 90)
    pred_a, pred_b = rng.integers(0, 3, (2, 90)), rng.integers(0, 3, (2, 90))
    w, strata = metric_weights(truth, 3, "ua")
    diff = (pred_b == truth).astype(float) - (pred_a == truth)
    expected = np.mean([unweighted_accuracy(truth, pb, 3) - unweighted_accuracy(truth, pa, 3)
                        for pa, pb in zip(pred_a, pred_b)])
    assert change_test(diff, w, strata).estimate == pytest.approx(expected)
    assert w.sum() == pytest.approx(1.0)
    rec, _ = metric_weights(truth, 3, "recall:1")
    assert rec[truth != 1].sum() == 0 and rec.sum() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="'wa', 'ua', 'recall:K' or 'share:K'"):
        metric_weights(truth, 3, "f1")


def test_variance_parts_recover_the_seed_and_utterance_components():
    """D = a_s + b_n + e_sn: E[seed_var] = (sa^2 + sum w^2 se^2) / S and E[floor_var] = sum w^2 sb^2."""
    rng = np.random.default_rng(1)
    r, s, n, sa, sb, se = 4000, 4, 60, 0.05, 0.3, 0.5
    d = (sa * rng.standard_normal((r, s, 1)) + sb * rng.standard_normal((r, 1, n))
         + se * rng.standard_normal((r, s, n)))
    w, strata = metric_weights(np.zeros(n, dtype=int), 1, "wa")
    est, seed_var, floor_var = variance_parts(d, w, strata)
    assert seed_var.mean() == pytest.approx((sa ** 2 + se ** 2 / n) / s, rel=0.05)
    assert floor_var.mean() == pytest.approx(sb ** 2 / n, rel=0.08)     # truncation at 0 adds a little
    one = variance_parts(d[7], w, strata)                                # a batch row = the same design alone
    assert np.allclose([x[7] for x in (est, seed_var, floor_var)], one)


def _preds(utts, truth, correct):
    return pd.DataFrame({"utt_id": utts, "consensus": truth,
                         "pred": [t if c else ("b" if t == "a" else "a") for t, c in zip(truth, correct)]})


def _result(conditions: dict, seeds=(1, 0), folds=(None,)):
    """conditions: strategy -> correctness function of (seed, i)."""
    utts, truth = [f"u{i:02d}" for i in range(30)], ["a", "b", "c"] * 10
    rows, preds = [], {}
    for strat, fn in conditions.items():
        for seed in seeds:
            for fold in folds:
                part = [i for i in range(30) if fold is None or i % 2 == fold]
                key = f"{strat}{seed}{fold}"
                rows.append({"model": "m", "strategy": strat, "seed": seed, "fold": fold, "key": key})
                preds[key] = _preds([utts[i] for i in part], [truth[i] for i in part],
                                    [fn(seed, i) for i in part]).sample(frac=1, random_state=seed)
    return ExperimentResult(pd.DataFrame(rows), preds)


def test_compare_pairs_runs_by_seed_joins_folds_and_corrects_over_the_family():
    res = _result({"none": lambda s, i: i % 3 == 0 or (s == 1 and i < 4), "pdds": lambda s, i: True}, folds=(0, 1))
    c = condition(res, {"model": "m", "strategy": "none"}, ("a", "b", "c"))
    assert c.pred.shape == (2, 30) and c.seeds == (0, 1) and list(c.utt_ids) == sorted(c.utt_ids)
    out = compare(res, ("a", "b", "c"), [({"b": "pdds"}, {"strategy": "none"}, {"strategy": "pdds"}),
                                          ({"b": "none"}, {"strategy": "none"}, {"strategy": "none"})], n_boot=100)
    assert list(out["metric"]) == ["wa", "ua", "wa", "ua"] and set(out["m"]) == {4}
    first = out.iloc[0]
    per_seed = [100 * (1 - 10 / 30), 100 * (1 - 12 / 30)]
    assert first.estimate == pytest.approx(np.mean(per_seed)) and first.seed_sd == pytest.approx(np.std(per_seed, ddof=1))
    assert (out["p_adj"] >= out["p"]).all() and out.iloc[2].p == 1.0 and out.iloc[2].direction == "none"
    with pytest.raises(ValueError, match="same seeds"):
        lonely = ExperimentResult(res.runs[~((res.runs.strategy == "pdds") & (res.runs.seed == 1))], res.predictions)
        compare(lonely, ("a", "b", "c"), [({}, {"strategy": "none"}, {"strategy": "pdds"})])
    with pytest.raises(ValueError, match="no run matches"):
        condition(res, {"strategy": "uniform"}, ("a", "b", "c"))


def test_a_slope_over_a_setting_is_the_least_squares_slope_per_seed():
    res = _result({0.5: lambda s, i: i < 10, 0.7: lambda s, i: i < 13 + s, 0.9: lambda s, i: i < 16 + 2 * s})
    res.runs["p"] = res.runs["strategy"]
    out = slope_test(res, ("a", "b", "c"), "p", [0.5, 0.7, 0.9])
    wa = out[out.metric == "wa"].iloc[0]
    slopes = [np.polyfit([0.5, 0.7, 0.9], [100 * 10 / 30, 100 * (13 + s) / 30, 100 * (16 + 2 * s) / 30], 1)[0] * 0.1
              for s in (0, 1)]
    assert wa.estimate == pytest.approx(np.mean(slopes))


def test_mcnemar_exact_by_hand():
    a = np.array([1, 1, 1, 0, 0, 1, 1, 1], bool)
    b = np.array([0, 0, 0, 0, 1, 1, 1, 1], bool)            # 3 discordant one way, 1 the other
    expected = 2 * sum(stats.binom.pmf(k, 4, 0.5) for k in (0, 1))
    assert mcnemar(a, b) == pytest.approx(expected) and mcnemar(b, a) == pytest.approx(expected)
    assert mcnemar(a, a) == 1.0


def test_paired_bootstrap_extremes_and_ua():
    truth = np.array([0, 0, 1, 1, 2, 2])
    same = np.ones((2, 6))
    assert paired_bootstrap(same, same, truth, 3, n_boot=200)["p_wa"] == 1.0
    r = paired_bootstrap(np.zeros((2, 6)), np.ones((2, 6)), truth, 3, n_boot=200)
    assert r["d_wa"] == 100 and r["p_wa"] == 0.0 and r["d_ua"] == 100
    a = np.array([[1, 0, 0, 0, 1, 1]], float)
    b = np.array([[1, 1, 0, 0, 0, 1]], float)
    assert paired_bootstrap(a, b, truth, 3, n_boot=50)["d_ua"] == pytest.approx(100 * (0.5 - 0.5) / 3)
