"""The power of the two-source test against a simulation of the design it describes, and the seeds
a claim needs."""

import numpy as np
import pytest

from pddslib.paper.power import floor_effect, power, power_table, seed_sd_interval, seeds_needed
from pddslib.paper.significance import fiducial_p


@pytest.mark.parametrize("effect,seed_sd,floor_sd,n_seeds", [(0.7, 1.0, 0.5, 3), (1.5, 1.0, 0.3, 5),
                                                             (2.0, 1.4, 0.6, 10), (0.0, 1.0, 0.5, 3)])
def test_power_matches_a_simulation_of_the_design(effect, seed_sd, floor_sd, n_seeds):
    """Mean change ~ N(effect, seed_sd^2/S + floor_sd^2); the test sees seed_var (seed_sd^2/S) chi2_k/k."""
    rng = np.random.default_rng(7)
    r, a = 8000, seed_sd ** 2 / n_seeds
    est = effect + np.sqrt(a + floor_sd ** 2) * rng.standard_normal(r)
    seed_var = a * rng.chisquare(n_seeds - 1, r) / (n_seeds - 1)
    simulated = (fiducial_p(est, seed_var, np.full(r, floor_sd ** 2), n_seeds) < 0.05).mean()
    se = np.sqrt(simulated * (1 - simulated) / r)
    assert power(effect, seed_sd, floor_sd, n_seeds) == pytest.approx(simulated, abs=4 * se + 0.002)


def test_seeds_needed_is_the_first_count_that_reaches_80_percent():
    s = seeds_needed(2.0, 1.4, 0.6)
    assert s is not None and power(2.0, 1.4, 0.6, s) >= 0.8 > power(2.0, 1.4, 0.6, s - 1)
    assert seeds_needed(4.0, 1.4, 0.6) < s                              # a larger change needs fewer seeds


def test_below_the_test_sets_floor_no_number_of_seeds_suffices():
    assert floor_effect(0.5) == pytest.approx((1.959964 + 0.841621) * 0.5, rel=1e-6)
    assert seeds_needed(0.9 * floor_effect(0.5), 0.3, 0.5) is None
    assert power(0.9 * floor_effect(0.5), 0.3, 0.5, 1000) < 0.8
    assert seeds_needed(0.2, 1.0, 0.0, max_seeds=50) is None           # needs about 200 seeds: over the cap


def test_power_grows_with_seeds_and_the_table_says_so():
    rows = power_table({"CLTNet WA": 1.2}, seed_sd=1.4, floor_sd=0.3, seeds=(3, 5, 10, 20))
    p = [rows[0][f"power_{s}"] for s in (3, 5, 10, 20)]
    assert p == sorted(p) and p[0] < 0.5 and not rows[0]["below_floor"]


def test_seed_sd_interval_and_bad_input():
    lo, hi = seed_sd_interval(1.0, 3)
    assert lo == pytest.approx(np.sqrt(2 / 7.377759), rel=1e-5) and hi == pytest.approx(np.sqrt(2 / 0.0506356), rel=1e-5)
    with pytest.raises(ValueError, match="n_seeds must be an integer >= 2"):
        power(1.0, 1.0, 0.5, 1)
    with pytest.raises(ValueError, match="seed_sd must be a finite number >= 0"):
        power(1.0, -1.0, 0.5, 3)
