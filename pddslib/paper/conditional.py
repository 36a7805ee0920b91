"""Do *these* trained models differ on this test set? Tests conditional on the models.

These statistics hold the trained models fixed and resample only the test utterances. They
answer "do the models of A and B, as trained, score differently on session 5?", not "does
procedure B beat procedure A?" (that is :mod:`pddslib.paper.significance`, which also counts
the seeds). The book shows the bootstrap's p-value as a secondary column named "these models
differ"; the former verdict of the book (:func:`former_verdict`: this bootstrap on WA *and*
McNemar's exact test per seed combined with Fisher's method, both below 0.05) is kept to measure
its false-positive rate (:mod:`pddslib.paper.simulate`): with per-seed shifts of about a point it
calls about a quarter of null comparisons significant.

Needs scipy (the ``ml`` extra).
"""

from __future__ import annotations

import numpy as np


def resample_counts(n: int, n_boot: int, seed: int = 0) -> np.ndarray:
    """``(n_boot, n)``: how often each of n utterances is drawn in each bootstrap resample."""
    rng = np.random.default_rng(seed)
    return np.stack([np.bincount(rng.integers(0, n, n), minlength=n) for _ in range(n_boot)]).astype(float)


def _boot_p(observed: np.ndarray, draws: np.ndarray) -> np.ndarray:
    """Two-sided bootstrap p: twice the share of resamples on the other side of 0 (1 for no change)."""
    other = np.where(observed > 0, (draws <= 0).mean(0), (draws >= 0).mean(0))
    return np.where(observed == 0, 1.0, np.minimum(1.0, 2 * other))


def paired_bootstrap(correct_a: np.ndarray, correct_b: np.ndarray, truth: np.ndarray, n_classes: int, *,
                     n_boot: int = 2000, seed: int = 0, level: float = 0.95) -> dict[str, float]:
    """Bootstrap over utterances of the change B - A in WA and UA (points), pooled across seeds.

    The same resample for both conditions and every seed, so the trained models are held fixed.

    Parameters
    ----------
    correct_a, correct_b : numpy.ndarray of 0/1, shape (S, N)
        Per seed (rows) and test utterance (columns): whether each condition got it right.
    truth : numpy.ndarray of int, shape (N,)

    Returns
    -------
    dict
        ``d_wa, wa_low, wa_high, p_wa, d_ua, ua_low, ua_high, p_ua`` (percentage points).
    """
    a = np.atleast_2d(np.asarray(correct_a, float))
    b = np.atleast_2d(np.asarray(correct_b, float))
    truth = np.asarray(truth, dtype=np.int64)
    if a.shape != b.shape or a.shape[1] != len(truth):
        raise ValueError(f"correctness arrays {a.shape} and {b.shape} must both be (seeds, {len(truth)})")
    n = len(truth)
    dn = (b - a).mean(0)                                      # (N,) seed-averaged difference
    counts = np.vstack([np.ones(n), resample_counts(n, n_boot, seed)])  # row 0: the observed test set
    wa = 100 * counts @ dn / counts.sum(1)
    per_class = []
    for c in range(n_classes):
        m = truth == c
        den = counts[:, m].sum(1)
        if den[0] > 0:
            with np.errstate(invalid="ignore", divide="ignore"):
                per_class.append(np.where(den > 0, counts[:, m] @ dn[m] / den, np.nan))
    ua = 100 * np.nanmean(np.vstack(per_class), axis=0)
    out: dict[str, float] = {}
    lo_q, hi_q = 100 * (1 - level) / 2, 100 * (1 + level) / 2
    for name, col in (("wa", wa), ("ua", ua)):
        low, high = np.percentile(col[1:], [lo_q, hi_q])
        out[f"d_{name}"], out[f"{name}_low"], out[f"{name}_high"] = float(col[0]), float(low), float(high)
        out[f"p_{name}"] = float(_boot_p(col[:1], col[1:, None])[0])
    return out


def mcnemar(correct_a: np.ndarray, correct_b: np.ndarray) -> np.ndarray:
    """Exact two-sided McNemar p-value of paired 0/1 correctness (last axis: utterances; vectorised).

    Only the discordant utterances count: under the null each is a fair coin, so p is the
    two-sided binomial test of one kind in all discordant ones (1 when there are none).
    """
    from scipy import stats

    a, b = np.asarray(correct_a, bool), np.asarray(correct_b, bool)
    n01, n10 = (a & ~b).sum(-1), (~a & b).sum(-1)
    n = n01 + n10
    p = np.minimum(1.0, 2 * stats.binom.cdf(np.minimum(n01, n10), np.maximum(n, 1), 0.5))
    return np.where(n == 0, 1.0, p)


def former_verdict(correct_a: np.ndarray, correct_b: np.ndarray, counts: np.ndarray,
                   alpha: float = 0.05) -> np.ndarray:
    """The book's former "significant": bootstrap p on WA < alpha and Fisher-combined McNemar p < alpha.

    Parameters
    ----------
    correct_a, correct_b : numpy.ndarray of 0/1, shape (R, S, N)
        A batch of R designs (a simulation's replicates).
    counts : numpy.ndarray, shape (B, N)
        Bootstrap resample counts (:func:`resample_counts`), shared by the batch.

    Returns
    -------
    numpy.ndarray of bool, shape (R,)
    """
    from scipy import stats

    a, b = np.asarray(correct_a, float), np.asarray(correct_b, float)
    dn = (b - a).mean(-2)                                      # (R, N)
    n = dn.shape[-1]
    p_boot = _boot_p(dn.mean(-1), counts @ dn.T / n)           # draws (B, R)
    p_seed = np.clip(mcnemar(a, b), 1e-300, 1.0)               # (R, S)
    s = p_seed.shape[-1]
    p_fisher = stats.chi2.sf(-2 * np.log(p_seed).sum(-1), 2 * s) if s > 1 else p_seed[..., 0]
    return (p_boot < alpha) & (p_fisher < alpha)


__all__ = ["former_verdict", "mcnemar", "paired_bootstrap", "resample_counts"]
