"""How many seeds does it take? The power of the two-source test, and the test set's floor.

A design is S seeds of procedures A and B scored on one test set. Its measured change has two
errors (:mod:`pddslib.paper.significance`): the seeds' share, with variance ``seed_sd^2 / S``
(``seed_sd``: the SD of the per-seed change), and the test set's share, with variance
``floor_sd^2`` that no number of seeds removes. For a true change ``effect``, the power of the
test at level 0.05 is

``P(reject) = E_k [ P(|N(effect, seed_sd^2 / S + floor_sd^2)| > h(seed_var_hat)) ]``

with ``seed_var_hat = (seed_sd^2 / S) chi2_k / k`` (k = S - 1) the estimate the test will see and
``h`` its critical half-width; the expectation is a quadrature over chi2_k. At infinitely many
seeds the test is the normal test on the test set alone, so a change below
``(z_0.975 + z_0.8) floor_sd = 2.80 floor_sd`` never reaches 80 % power: :func:`floor_effect`.

The inputs come from runs already made: each two-source test reports ``seed_sd`` and
``floor_sd`` (:func:`pddslib.paper.comparisons.compare`). ``seed_sd`` measured on 3 seeds is
itself uncertain (2 degrees of freedom): :func:`seed_sd_interval` gives its chi-square interval,
and a plan should be read at its upper end too.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from .significance import ALPHA, half_widths

#: The power a design is asked to reach.
TARGET_POWER = 0.8
#: Quadrature nodes over chi2_k for the outer expectation (the estimate the test will see) and for
#: the critical value inside it (the test itself uses 2,000; these move a power by less than 0.001).
OUTER_NODES = 100
INNER_NODES = 256


def _check(effect: float, seed_sd: float, floor_sd: float, n_seeds: int) -> None:
    for name, value in (("seed_sd", seed_sd), ("floor_sd", floor_sd)):
        if not np.isfinite(value) or value < 0:
            raise ValueError(f"{name} must be a finite number >= 0, got {value}")
    if not np.isfinite(effect):
        raise ValueError(f"effect must be a finite number, got {effect}")
    if int(n_seeds) != n_seeds or n_seeds < 2:
        raise ValueError(f"n_seeds must be an integer >= 2 (one seed has no seed variance), got {n_seeds}")
    if seed_sd == 0 and floor_sd == 0:
        raise ValueError("seed_sd and floor_sd are both 0: every change would be certain")


def power(effect: float, seed_sd: float, floor_sd: float, n_seeds: int, alpha: float = ALPHA) -> float:
    """Power of the two-source test to detect a true change ``effect`` with ``n_seeds`` seeds.

    Parameters
    ----------
    effect : float
        The true change B - A (same units as the SDs, e.g. points).
    seed_sd : float
        SD of the per-seed change.
    floor_sd : float
        SD of the test set's share of the error.
    n_seeds : int
        Seeds per condition (>= 2).

    Returns
    -------
    float
        The probability of a two-sided rejection at ``alpha`` (either direction).
    """
    from scipy import special, stats

    _check(effect, seed_sd, floor_sd, n_seeds)
    s = int(n_seeds)
    k = s - 1
    a = seed_sd ** 2 / s
    sd = np.sqrt(a + floor_sd ** 2)
    q = stats.chi2.ppf((np.arange(OUTER_NODES) + 0.5) / OUTER_NODES, k) / k if a > 0 else np.ones(1)
    h = half_widths(a * q, floor_sd ** 2, s, 1 - alpha, INNER_NODES, rtol=1e-6)  # (OUTER_NODES,)
    reject = special.ndtr((effect - h) / sd) + special.ndtr((-effect - h) / sd)
    return float(reject.mean())


def floor_effect(floor_sd: float, target: float = TARGET_POWER, alpha: float = ALPHA) -> float:
    """The smallest change detectable with power ``target`` at infinitely many seeds (``2.80 floor_sd``)."""
    from scipy import stats

    return float((stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(target)) * floor_sd)


def seeds_needed(effect: float, seed_sd: float, floor_sd: float, target: float = TARGET_POWER,
                 max_seeds: int = 1000, alpha: float = ALPHA) -> int | None:
    """The fewest seeds (>= 2) whose power reaches ``target``; None when ``max_seeds`` do not.

    None always when ``|effect|`` is below :func:`floor_effect` (no number of seeds suffices).
    """
    _check(effect, seed_sd, floor_sd, 2)
    if abs(effect) <= floor_effect(floor_sd, target, alpha):
        return None
    if power(effect, seed_sd, floor_sd, max_seeds, alpha) < target:
        return None
    low, high = 1, 2                       # power(low) < target <= power(high), searched by doubling
    while power(effect, seed_sd, floor_sd, high, alpha) < target:
        low, high = high, min(2 * high, max_seeds)
    while high - low > 1:
        mid = (low + high) // 2
        if power(effect, seed_sd, floor_sd, mid, alpha) >= target:
            high = mid
        else:
            low = mid
    return high


def detectable_effect(seed_sd: float, floor_sd: float, n_seeds: int, target: float = TARGET_POWER,
                      alpha: float = ALPHA) -> float:
    """The smallest true change detected with power ``target`` by ``n_seeds`` seeds (same units as the SDs)."""
    from scipy import optimize

    _check(1.0, seed_sd, floor_sd, n_seeds)
    scale = float(np.sqrt(seed_sd ** 2 + floor_sd ** 2))
    high = scale
    while power(high, seed_sd, floor_sd, n_seeds, alpha) < target:
        high *= 2
    return float(optimize.brentq(lambda e: power(e, seed_sd, floor_sd, n_seeds, alpha) - target, 0.0, high,
                                 xtol=1e-4 * scale))


def seed_sd_interval(seed_sd: float, n_seeds: int, level: float = 1 - ALPHA) -> tuple[float, float]:
    """Chi-square interval of the per-seed SD measured on ``n_seeds`` seeds (normal per-seed changes)."""
    from scipy import stats

    k = int(n_seeds) - 1
    if k < 1:
        return float("nan"), float("nan")
    lo, hi = stats.chi2.ppf([(1 + level) / 2, (1 - level) / 2], k)
    return float(seed_sd * np.sqrt(k / lo)), float(seed_sd * np.sqrt(k / hi))


def power_row(effect: float, seed_sd: float, floor_sd: float, seeds: tuple[int, ...] = (3, 5, 10, 20),
              target: float = TARGET_POWER, max_seeds: int = 1000) -> dict:
    """One effect: power at each number of seeds, the seeds needed for ``target`` and whether the
    effect is below the test set's floor (``floor_effect``)."""
    row = {"effect": float(effect), "seed_sd": float(seed_sd), "floor_sd": float(floor_sd)}
    row |= {f"power_{s}": power(effect, seed_sd, floor_sd, s) for s in seeds}
    row["seeds_needed"] = seeds_needed(effect, seed_sd, floor_sd, target, max_seeds)
    row["floor_effect"] = floor_effect(floor_sd, target)
    row["below_floor"] = abs(effect) <= row["floor_effect"]
    return row


def power_table(effects: dict[str, float], seed_sd: float, floor_sd: float, seeds: tuple[int, ...] = (3, 5, 10, 20),
                target: float = TARGET_POWER, max_seeds: int = 1000) -> list[dict]:
    """For each named effect: :func:`power_row` with the name as ``claim``."""
    return [{"claim": name, **power_row(effect, seed_sd, floor_sd, seeds, target, max_seeds)}
            for name, effect in effects.items()]


def power_curves(cp: pd.DataFrame, seeds: Sequence[int] = (2, 3, 4, 5, 7, 10, 15, 20, 30, 50)) -> pd.DataFrame:
    """Power against the number of seeds for each row of :func:`claims_power` (long table:
    ``model, metric, claim, seeds, power``)."""
    rows = [{"model": r.model, "metric": r.metric, "claim": r.claim, "seeds": s,
             "power": power(r.claim, r.seed_sd, r.floor_sd, s)} for r in cp.itertuples() for s in seeds]
    return pd.DataFrame(rows)


def claims_power(tests: pd.DataFrame, claims: pd.DataFrame, seeds: tuple[int, ...] = (3, 5, 10, 20),
                 target: float = TARGET_POWER, max_seeds: int = 1000) -> pd.DataFrame:
    """The power of the present design for claimed gains, at the noise measured by the present runs.

    Parameters
    ----------
    tests : pandas.DataFrame
        A family of two-source tests (:func:`pddslib.paper.comparisons.compare`, points) with
        ``model`` and ``metric`` columns: their ``seed_sd`` and ``floor_sd`` are the noise.
    claims : pandas.DataFrame
        ``model, metric, claim`` (the claimed gain in points, e.g. the paper's Table 1).

    Returns
    -------
    pandas.DataFrame
        Per claim: ``model, metric, claim, seed_sd, floor_sd, seed_sd_high`` (the upper end of
        the per-seed SD's 95 % interval), ``power_<S>``, ``seeds_needed`` (None: not within
        ``max_seeds``), ``seeds_needed_high`` (at ``seed_sd_high``), ``floor_effect``,
        ``below_floor``, ``power_now`` (at the present number of seeds S0) and ``detectable_now``
        (the smallest change S0 seeds detect with power ``target``).
    """
    rows = []
    for c in claims.itertuples():
        t = tests[(tests.model == c.model) & (tests.metric == c.metric)]
        if t.empty or not np.isfinite(t["seed_sd"].iloc[0]):
            continue
        r = t.iloc[0]
        high = seed_sd_interval(r.seed_sd, int(r.n_seeds))[1]
        row = {"model": c.model, "metric": c.metric, "claim": float(c.claim), "n_seeds": int(r.n_seeds),
               "seed_sd_high": high, **power_row(c.claim, r.seed_sd, r.floor_sd, seeds, target, max_seeds)}
        row["seeds_needed_high"] = seeds_needed(c.claim, high, r.floor_sd, target, max_seeds)
        row["detectable_now"] = detectable_effect(r.seed_sd, r.floor_sd, int(r.n_seeds), target)
        now = row.get(f"power_{int(r.n_seeds)}")                 # already computed when in ``seeds``
        row["power_now"] = now if now is not None else power(c.claim, r.seed_sd, r.floor_sd, int(r.n_seeds))
        rows.append(row)
    return pd.DataFrame(rows)


__all__ = ["INNER_NODES", "OUTER_NODES", "TARGET_POWER", "claims_power", "detectable_effect", "floor_effect", "power",
           "power_curves", "power_row", "power_table", "seed_sd_interval", "seeds_needed"]
