"""Does training procedure B beat procedure A? A test that counts both sources of noise.

A result of this companion is a *procedure* (a model, a training set, a seed drawn at random)
scored on a *test set* (session 5, a sample of utterances). Two things make a measured change
differ from the true one: the seeds (training randomness: initialisation, batch order, dropout,
mixup draws) and the test utterances (another sample of speech would give other numbers). The
test here counts both.

**The design.** Procedures A and B are trained with seeds 0..S-1 and scored on the same N test
utterances. Every statistic of the book (WA, UA, a class's recall, the share of predictions of
a class, a slope over p) is a weighted sum over utterances of a per-utterance score (1 when the
prediction is right, say), so the change B - A of one seed is
``M(s) = sum_n w_n D[s, n]`` with ``D[s, n]`` the per-utterance difference of scores and weights
``w`` (``1/N`` for WA; ``1 / (C N_c)`` for an utterance of class c for UA).

**The variance** of the mean change ``M = mean_s M(s)`` over both sources, in the two-way crossed
random-effects model ``D[s, n] = mu + a_s + b_n + e_sn`` (a seed effect, an utterance effect: the
procedures' systematic difference on utterance n, and their interaction: per-utterance flips),
is ``Var(M) = sigma_a^2 / S + sum w^2 sigma_b^2 + sum w^2 sigma_e^2 / S``. Its method-of-moments
(ANOVA) estimate is split in two parts:

* ``seed_var`` = ``Var_s(M(s)) / S``: everything that averages out over seeds (seed effects and
  flips), estimated from the S per-seed changes with S - 1 degrees of freedom;
* ``floor_var`` = the utterance part ``sum w^2 sigma_b^2``, estimated from the utterances' spread
  of the seed-averaged difference less the flips' share (within classes for UA): it does *not*
  shrink with seeds, so it is the test set's floor.

**The inference** is fiducial (generalised) inference for this variance (Tsui and Weerahandi 1989;
Weerahandi 1993): the seed part's fiducial distribution is ``seed_var * k / chi2_k``
(k = S - 1), the floor is taken as known (it is estimated from about N degrees of freedom), and
the change's fiducial distribution is ``M - Z * sqrt(seed_var * k / chi2_k + floor_var)``. The
two-sided p-value is its probability on the far side of 0 (times 2), the interval its central
95 %. With no floor this is exactly Student's t-test on the per-seed changes; with no seed noise
it is the normal test on the test set; in between it never rejects more often than its level
(the book's page "How many seeds does it take" measures this by simulation, and why the
Satterthwaite degrees of freedom of a mixed model were not used: with 3 seeds they reject up to
7-8 % of null comparisons at 0.05).

Needs scipy (the ``ml`` extra). Units: those of the scores (fractions); the callers report
percentage points.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: The level of every test and interval of the book (two-sided).
ALPHA = 0.05
#: Quadrature nodes of chi2_k for the fiducial mixture (midpoints of equal-probability bins).
NODES = 2000


@dataclass(frozen=True)
class ChangeTest:
    """The change B - A of one statistic, with both sources of noise counted.

    Attributes
    ----------
    estimate : float
        Mean over seeds of the per-seed change.
    low, high : float
        The 95 % (``level``) fiducial interval; NaN with one seed.
    p : float
        Two-sided p-value of "no change" (NaN with one seed).
    seed_var, floor_var : float
        The seed part of the estimate's variance (it shrinks as 1/S) and the test set's floor
        (it does not).
    seed_sd : float
        Standard deviation of the per-seed change (``sqrt(S * seed_var)``): what a planner needs.
    n_seeds, n_utterances : int
    """

    estimate: float
    low: float
    high: float
    p: float
    seed_var: float
    floor_var: float
    seed_sd: float
    n_seeds: int
    n_utterances: int
    level: float = 1 - ALPHA

    @property
    def se(self) -> float:
        """Standard error of the estimate over both sources."""
        return float(np.sqrt(self.seed_var + self.floor_var))

    @property
    def floor_sd(self) -> float:
        """Standard deviation of the test set's share (the change's error at infinitely many seeds)."""
        return float(np.sqrt(self.floor_var))

    @property
    def direction(self) -> str:
        """``"B"`` (B higher), ``"A"`` or ``"none"`` (exactly no change)."""
        return "B" if self.estimate > 0 else "A" if self.estimate < 0 else "none"


# -- weights ----------------------------------------------------------------------------------------
def metric_weights(truth: np.ndarray, n_classes: int, metric: str) -> tuple[np.ndarray, np.ndarray]:
    """Per-utterance weights and strata of WA, UA or one class's recall.

    Parameters
    ----------
    truth : numpy.ndarray of int, shape (N,)
        Reference class of each test utterance.
    metric : str
        ``"wa"`` (weights 1/N, one stratum: the class mix is part of the test set's sampling),
        ``"ua"`` (1 / (C N_c) over the C classes present, strata = classes: UA conditions on the
        class counts), ``"recall:K"`` (class index K: 1 / N_K on its utterances, 0 elsewhere) or
        ``"share:K"`` (the share of predictions that are class K: weights 1/N as WA; the scores
        are then "predicted K", not "right").

    Returns
    -------
    weights : numpy.ndarray, shape (N,), summing to 1
    strata : numpy.ndarray of int, shape (N,)
    """
    truth = np.asarray(truth, dtype=np.int64)
    n = len(truth)
    if n == 0:
        raise ValueError("no test utterances to weight")
    counts = np.bincount(truth, minlength=n_classes).astype(float)
    if metric == "wa" or metric.startswith("share:"):
        return np.full(n, 1.0 / n), np.zeros(n, dtype=np.int64)
    if metric == "ua":
        present = int((counts > 0).sum())
        return 1.0 / (present * counts[truth]), truth
    if metric.startswith("recall:"):
        k = int(metric.split(":", 1)[1])
        if not 0 <= k < n_classes or counts[k] == 0:
            raise ValueError(f"metric {metric!r}: class {k} has no test utterance")
        return np.where(truth == k, 1.0 / counts[k], 0.0), truth
    raise ValueError(f"metric must be 'wa', 'ua', 'recall:K' or 'share:K', got {metric!r}")


# -- the variance components ---------------------------------------------------------------------
def variance_parts(diff: np.ndarray, weights: np.ndarray, strata: np.ndarray) -> tuple[np.ndarray, ...]:
    """Estimate, seed part and floor of the mean change, for one design or a batch of them.

    Parameters
    ----------
    diff : numpy.ndarray, shape (..., S, N)
        Per seed and utterance, the score of B minus the score of A (leading axes: a batch).
    weights : numpy.ndarray, shape (N,)
        Summing to 1 (:func:`metric_weights`).
    strata : numpy.ndarray of int, shape (N,)
        Utterances are resampled within strata.

    Returns
    -------
    estimate, seed_var, floor_var : numpy.ndarray, shape (...)
        ``floor_var`` is the moment estimate truncated at 0 (a negative variance is 0).
    """
    d = np.asarray(diff, dtype=float)
    w = np.asarray(weights, dtype=float)
    s = d.shape[-2]
    if s < 1 or d.shape[-1] != len(w):
        raise ValueError(f"diff must be (..., seeds, {len(w)}), got {d.shape}")
    per_seed = d @ w                                          # (..., S)
    estimate = per_seed.mean(-1)
    seed_var = per_seed.var(-1, ddof=1) / s if s > 1 else np.full(estimate.shape, np.nan)
    utt = np.zeros(estimate.shape)
    flips = np.zeros(estimate.shape)
    dn = d.mean(-2)                                           # (..., N) seed-averaged difference
    for h in np.unique(strata):
        m = np.asarray(strata) == h
        nh = int(m.sum())
        if nh < 2 or not np.any(w[m]):
            continue
        w2 = w[m] ** 2
        dnh = dn[..., m]                                      # (..., n_h)
        centred = dnh - dnh.mean(-1, keepdims=True)
        utt += nh / (nh - 1) * (centred ** 2) @ w2
        if s > 1:
            dh = d[..., m]                                    # (..., S, n_h)
            r = dh - dnh[..., None, :] - dh.mean(-1, keepdims=True) + dnh.mean(-1)[..., None, None]
            flips += nh / (nh - 1) * ((r ** 2).sum(-2) @ w2) / (s * (s - 1))
    return estimate, seed_var, np.maximum(utt - flips, 0.0)


# -- fiducial inference -------------------------------------------------------------------------
def _chi2_nodes(k: int, nodes: int = NODES) -> np.ndarray:
    from scipy import stats

    return stats.chi2.ppf((np.arange(nodes) + 0.5) / nodes, k)


def _spread(seed_var: np.ndarray, floor_var: np.ndarray, k: int, nodes: int = NODES) -> np.ndarray:
    """``(..., nodes)``: the fiducial standard deviation of the change at each chi2_k node."""
    return np.sqrt(np.asarray(seed_var, dtype=float)[..., None] * k / _chi2_nodes(k, nodes)
                   + np.asarray(floor_var, dtype=float)[..., None])


def fiducial_p(estimate: np.ndarray, seed_var: np.ndarray, floor_var: np.ndarray, n_seeds: int) -> np.ndarray:
    """Two-sided p-value of "no change" (vectorised over a batch; NaN with one seed)."""
    from scipy import special

    est = np.asarray(estimate, dtype=float)
    if n_seeds < 2:
        return np.full(est.shape, np.nan)
    sd = _spread(seed_var, floor_var, n_seeds - 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.abs(est)[..., None] / sd
    p = (2 * special.ndtr(-np.where(np.isfinite(z), z, np.inf))).mean(-1)
    return np.where(est == 0, 1.0, np.minimum(p, 1.0))


def half_widths(seed_var: np.ndarray, floor_var: np.ndarray, n_seeds: int, level: float = 1 - ALPHA,
                nodes: int = NODES, rtol: float = 1e-10) -> np.ndarray:
    """Half-widths h of the fiducial intervals, ``P(|Z| * spread <= h) = level`` (vectorised bisection).

    Parameters
    ----------
    seed_var, floor_var : numpy.ndarray, shape (...)
        A batch of variance parts (broadcast together).
    nodes : int
        Quadrature nodes over chi2_k (the test uses :data:`NODES`; a planner may use fewer).
    rtol : float
        Precision relative to the largest spread (bisection steps: log2(40 / rtol)).

    Returns
    -------
    numpy.ndarray, shape (...)
    """
    from scipy import special

    sv, fv = np.broadcast_arrays(np.asarray(seed_var, dtype=float), np.asarray(floor_var, dtype=float))
    sd = _spread(sv, fv, n_seeds - 1, nodes)                  # (..., nodes)
    low = np.zeros(sv.shape)
    high = np.max(sd, axis=-1) * 40.0 + 1e-300                # P(|Z| > 40) is 0 in float64
    for _ in range(int(np.ceil(np.log2(40 / rtol)))):
        mid = (low + high) / 2
        with np.errstate(divide="ignore", invalid="ignore"):   # sd = 0: no noise at all, h = 0
            inside = (2 * special.ndtr(mid[..., None] / sd) - 1).mean(-1) < level
        low, high = np.where(inside, mid, low), np.where(inside, high, mid)
    return np.where(np.max(sd, axis=-1) > 0, (low + high) / 2, 0.0)


def critical_half_width(seed_var: float, floor_var: float, n_seeds: int, level: float = 1 - ALPHA) -> float:
    """Half-width h of one fiducial interval: ``P(|Z| * spread <= h) = level``."""
    return float(half_widths(seed_var, floor_var, n_seeds, level))


def change_test(diff: np.ndarray, weights: np.ndarray, strata: np.ndarray, level: float = 1 - ALPHA) -> ChangeTest:
    """The two-source test of one change (see the module's text).

    Parameters
    ----------
    diff : numpy.ndarray, shape (S, N)
        Per seed and test utterance, B's score minus A's.
    weights, strata : numpy.ndarray, shape (N,)
        From :func:`metric_weights`.
    """
    d = np.asarray(diff, dtype=float)
    if d.ndim != 2:
        raise ValueError(f"diff must be (seeds, utterances), got shape {d.shape}")
    est, seed_var, floor_var = (float(x) for x in variance_parts(d, weights, strata))
    s = d.shape[0]
    if s < 2:
        nan = float("nan")
        return ChangeTest(est, nan, nan, nan, nan, floor_var, nan, s, d.shape[1], level)
    half = critical_half_width(seed_var, floor_var, s, level)
    p = float(fiducial_p(est, seed_var, floor_var, s))
    return ChangeTest(est, est - half, est + half, p, seed_var, floor_var, float(np.sqrt(s * seed_var)), s,
                      d.shape[1], level)


__all__ = ["ALPHA", "ChangeTest", "change_test", "critical_half_width", "fiducial_p", "half_widths", "metric_weights",
           "variance_parts"]
