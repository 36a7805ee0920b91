"""Does the two-source test keep its level? Simulated null designs (numpy, fixed generator): only
per-utterance flips; system-by-utterance effects; per-seed shifts of about a point; both. At 3, 5
and 10 seeds, for WA and UA. And alternatives: power grows with seeds, intervals cover, and the
former verdict's false-positive rate is measured by the same simulation.

1,000 replicates per cell: the Monte-Carlo SE of a rate of 0.05 is 0.0069; the bounds are 3 SE.
"""

import numpy as np
import pytest

from pddslib.paper import simulate as sim

REPS = 1000
SE = np.sqrt(0.05 * 0.95 / REPS)


@pytest.fixture(scope="module")
def calibration():
    return sim.calibrate(seeds=(3, 5, 10), n_reps=REPS, scale=0.5, seed=11, former=False)


@pytest.mark.parametrize("scenario", list(sim.SCENARIOS))
def test_the_new_test_never_rejects_more_than_its_level(calibration, scenario):
    rows = calibration[calibration.scenario == scenario]
    assert len(rows) == 6                                           # 3 seed counts x WA, UA
    assert (rows["rate_new"] <= 0.05 + 3 * SE).all(), rows[["seeds", "metric", "rate_new"]]


@pytest.mark.parametrize("scenario", ["flips", "seed"])
def test_where_the_seeds_dominate_the_level_is_exact(calibration, scenario):
    """With no system-by-utterance effect the test is Student's t on the per-seed changes: exactly 5 %."""
    rows = calibration[calibration.scenario == scenario]
    assert (rows["rate_new"] >= 0.05 - 3 * SE).all(), rows[["seeds", "metric", "rate_new"]]


def test_with_a_floor_the_test_is_conservative_at_few_seeds_and_exact_at_many(calibration):
    both = calibration[calibration.scenario == "both"].set_index(["seeds", "metric"])["rate_new"]
    assert both[(3, "wa")] < 0.05 and both[(3, "ua")] < 0.05         # the price of never exceeding the level
    assert both[(10, "wa")] >= 0.05 - 3 * SE - 0.01


def test_satterthwaite_is_liberal_where_the_new_test_is_not():
    """The mixed-model degrees of freedom reject too often at 3 seeds with a floor (the Decisions page)."""
    cal = sim.calibrate({"both": sim.SCENARIOS["both"]}, seeds=(3,), n_reps=2000, scale=0.5, seed=5, former=False)
    assert cal["rate_satterthwaite"].mean() > cal["rate_new"].mean() + 0.015


def test_the_former_verdict_calls_seed_noise_significant():
    cal = sim.calibrate({"seed": sim.SCENARIOS["seed"]}, seeds=(3,), n_reps=600, scale=1.0, seed=2)
    wa = cal[cal.metric == "wa"].iloc[0]
    assert wa.rate_former > 0.10 and wa.rate_new <= 0.05 + 3 * np.sqrt(0.05 * 0.95 / 600)


def test_power_grows_with_seeds_and_intervals_cover_under_an_alternative():
    alt = sim.with_effect(sim.SCENARIOS["seed"], 0.12)
    cal = sim.calibrate({"alt": alt}, seeds=(3, 5, 10), n_reps=REPS, scale=0.5, seed=9, former=False)
    for metric in ("wa", "ua"):
        rate = cal[cal.metric == metric].set_index("seeds")["rate_new"]
        assert rate[3] < rate[5] < rate[10] and rate[10] > 0.3
    assert cal["true_change"].gt(1.0).all()                          # a real change of over a point
    assert (cal["coverage"] >= 0.95 - 3 * SE).all() and (cal["coverage"] <= 0.95 + 3 * SE + 0.01).all()


def test_the_null_is_exact_in_every_scenario():
    """A and B are exchangeable under the null: the true change is 0 and the mean estimate near 0."""
    truth = sim.session5_truth(0.5)
    reps = sim.replicate_tests(sim.SCENARIOS["both"], 3, 800, truth, seed=1, former=False)
    for m in ("wa", "ua"):
        assert abs(reps[f"est_{m}"].mean()) < 3 * reps[f"est_{m}"].std() / np.sqrt(800)


def test_the_calibration_is_cached_by_content(tmp_path, monkeypatch):
    small = dict(seeds=(3,), n_reps=40, scale=0.2, seed=0, cache_dir=str(tmp_path), log=None)
    first = sim.cached_calibrate(**small)
    assert len(list(tmp_path.iterdir())) == 1 and len(first) == 8          # 4 scenarios x WA, UA
    monkeypatch.setattr(sim, "calibrate", lambda **kw: (_ for _ in ()).throw(AssertionError("recomputed")))
    again = sim.cached_calibrate(**small)                                   # read back, not recomputed
    assert again.equals(first)
    with pytest.raises(AssertionError, match="recomputed"):                 # other arguments: another key
        sim.cached_calibrate(**{**small, "n_reps": 41})
    assert sim.calibration_key(a=1) != sim.calibration_key(a=2)


def test_exact_sizes_in_the_idealised_model():
    """No simulation: the fiducial test's size never exceeds 5 % and is 5 % at either end; the
    Satterthwaite version's exceeds it at 3 seeds with a small floor."""
    sizes = sim.ideal_sizes(ratios=(0.0, 0.1, 0.5, 1.0, 1000.0), seeds=(3, 10))
    assert (sizes["fiducial"] <= 0.0505).all()
    ends = sizes[sizes.ratio.isin([0.0, 1000.0])]
    assert np.allclose(ends["fiducial"], 0.05, atol=1.5e-3) and np.allclose(ends["satterthwaite"], 0.05, atol=1.5e-3)
    three = sizes[(sizes.seeds == 3) & (sizes.ratio == 0.1)].iloc[0]
    assert three.satterthwaite > 0.07 and three.fiducial < 0.05
