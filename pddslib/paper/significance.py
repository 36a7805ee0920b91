"""Is a difference between two training conditions more than noise? Paired tests on test utterances.

Two conditions (e.g. CLTNet without and with PDDS) are trained with the same seeds and scored on
the same test utterances. For each comparison this module reports:

* the mean change over seeds of WA and UA, with a 95% t-interval over the per-seed changes
  (:func:`seed_interval`; with few seeds it is wide, honestly);
* a **paired bootstrap over utterances** pooled across seeds (:func:`paired_bootstrap`): the test
  utterances are resampled with replacement, the same resample for both conditions and every seed,
  and WA and UA are recomputed; the 95% percentile interval of the change and a two-sided p-value
  (twice the share of resamples on the other side of zero);
* **McNemar's exact test** per seed on the utterances one condition gets right and the other
  wrong (:func:`mcnemar`), the per-seed p-values combined with Fisher's method.

WA is accuracy over utterances; UA the mean of per-class recalls (as :mod:`pddslib.runs.metrics`).
Needs scipy (the ``ml`` extra).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

from ..util.formats import p_text

#: Below this p-value a change is called significant in the book's prose.
ALPHA = 0.05


def _ua(correct: np.ndarray, truth: np.ndarray, n_classes: int, weights: np.ndarray | None = None) -> float:
    """Mean per-class recall of (weighted) correctness; classes absent from ``truth`` are skipped."""
    w = np.ones(len(truth)) if weights is None else weights
    num = np.bincount(truth, weights=w * correct, minlength=n_classes)
    den = np.bincount(truth, weights=w, minlength=n_classes)
    present = den > 0
    return float(np.mean(num[present] / den[present]))


def seed_interval(deltas: Sequence[float], level: float = 0.95) -> tuple[float, float, float]:
    """Mean of per-seed changes and its t-interval: ``(mean, low, high)`` (NaN bounds for one seed)."""
    from scipy import stats

    d = np.asarray(deltas, dtype=float)
    mean = float(d.mean())
    if len(d) < 2:
        return mean, float("nan"), float("nan")
    half = float(stats.t.ppf(0.5 + level / 2, len(d) - 1) * d.std(ddof=1) / np.sqrt(len(d)))
    return mean, mean - half, mean + half


def mcnemar(correct_a: np.ndarray, correct_b: np.ndarray) -> float:
    """Exact two-sided McNemar p-value of two paired 0/1 correctness vectors (one seed).

    Only the discordant utterances count: ``b`` (A right, B wrong) and ``c`` (A wrong, B right);
    under the null each discordant utterance is a fair coin, so p = binomial test of c in b + c.
    """
    from scipy import stats

    a, b = np.asarray(correct_a, bool), np.asarray(correct_b, bool)
    n01, n10 = int((a & ~b).sum()), int((~a & b).sum())
    if n01 + n10 == 0:
        return 1.0
    return float(stats.binomtest(n10, n01 + n10, 0.5).pvalue)


def paired_bootstrap(correct_a: np.ndarray, correct_b: np.ndarray, truth: np.ndarray, n_classes: int, *,
                     n_boot: int = 2000, seed: int = 0, level: float = 0.95) -> dict[str, float]:
    """Bootstrap over utterances of the change B - A in WA and UA (percent), pooled across seeds.

    Parameters
    ----------
    correct_a, correct_b : numpy.ndarray of 0/1, shape (S, N)
        Per seed (rows) and test utterance (columns): whether each condition got it right.
    truth : numpy.ndarray of int, shape (N,)
        Class index of each test utterance.
    n_classes : int
    n_boot : int
        Number of resamples.
    seed : int
        Seed of the resampling.

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
    rng = np.random.default_rng(seed)
    n = len(truth)

    def stats_of(weights: np.ndarray) -> tuple[float, float]:
        # weights (N,): how often each utterance is drawn; the same draw for every seed
        d_wa = np.mean([(np.dot(weights, b[s]) - np.dot(weights, a[s])) / weights.sum() for s in range(len(a))])
        d_ua = np.mean([_ua(b[s], truth, n_classes, weights) - _ua(a[s], truth, n_classes, weights)
                        for s in range(len(a))])
        return 100 * float(d_wa), 100 * float(d_ua)

    observed = stats_of(np.ones(n))
    draws = np.array([stats_of(np.bincount(rng.integers(0, n, n), minlength=n).astype(float))
                      for _ in range(n_boot)])  # (n_boot, 2)
    out: dict[str, float] = {}
    lo_q, hi_q = 100 * (1 - level) / 2, 100 * (1 + level) / 2
    for k, name in enumerate(("wa", "ua")):
        col = draws[:, k]
        low, high = np.percentile(col, [lo_q, hi_q])
        other_side = np.mean(col <= 0) if observed[k] > 0 else np.mean(col >= 0)
        out[f"d_{name}"] = observed[k]
        out[f"{name}_low"], out[f"{name}_high"] = float(low), float(high)
        out[f"p_{name}"] = float(min(1.0, 2 * other_side)) if observed[k] != 0 else 1.0
    return out


@dataclass
class Comparison:
    """The change from condition A to condition B, in percentage points."""

    d_wa: float
    wa_low: float
    wa_high: float
    p_wa: float
    d_ua: float
    ua_low: float
    ua_high: float
    p_ua: float
    p_mcnemar: float
    seed_d_wa: float
    seed_wa_low: float
    seed_wa_high: float
    n_seeds: int
    n_utterances: int

    @property
    def significant(self) -> bool:
        """Both the bootstrap on WA and McNemar reject "no change" at :data:`ALPHA`."""
        return self.p_wa < ALPHA and self.p_mcnemar < ALPHA

    def words(self, what: str = "the change") -> str:
        """A sentence for the book: significant, or within noise."""
        p_boot, p_mc = p_text(self.p_wa, relation=True), p_text(self.p_mcnemar, relation=True)
        if self.significant:
            return (f"{what} ({self.d_wa:+.1f} WA points) is larger than the noise of the test set "
                    f"(paired bootstrap p {p_boot}, McNemar p {p_mc})")
        return (f"{what} ({self.d_wa:+.1f} WA points, 95% interval {self.wa_low:+.1f} to {self.wa_high:+.1f}) "
                f"is within noise (paired bootstrap p {p_boot}, McNemar p {p_mc})")


def _correctness(preds: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    ordered = preds.sort_values("utt_id", kind="stable")
    return (ordered["utt_id"].to_numpy(), (ordered["pred"] == ordered["consensus"]).to_numpy(),
            ordered["consensus"].to_numpy())


def compare_predictions(a: Sequence[pd.DataFrame], b: Sequence[pd.DataFrame], classes: Sequence[str], *,
                        n_boot: int = 2000, seed: int = 0) -> Comparison:
    """Compare two conditions from their per-seed prediction tables (same seeds, same order).

    Parameters
    ----------
    a, b : sequences of pandas.DataFrame
        One table per seed (columns ``utt_id, consensus, pred``), as the runner writes them.
    classes : sequence of str
    """
    from scipy import stats

    if len(a) != len(b) or not a:
        raise ValueError(f"need the same, non-zero number of seeds on both sides, got {len(a)} and {len(b)}")
    ca, cb, p_seed, d_seed = [], [], [], []
    index = {c: i for i, c in enumerate(classes)}
    truth = None
    for pa, pb in zip(a, b):
        ua_, xa, ta = _correctness(pa)
        ub_, xb, _ = _correctness(pb)
        if not np.array_equal(ua_, ub_):
            raise ValueError("the two conditions were not scored on the same test utterances")
        truth = np.array([index[t] for t in ta])
        ca.append(xa)
        cb.append(xb)
        p_seed.append(mcnemar(xa, xb))
        d_seed.append(100 * (xb.mean() - xa.mean()))
    boot = paired_bootstrap(np.array(ca), np.array(cb), truth, len(classes), n_boot=n_boot, seed=seed)
    p_mc = float(stats.combine_pvalues(p_seed, method="fisher").pvalue) if len(p_seed) > 1 else p_seed[0]
    mean, low, high = seed_interval(d_seed)
    return Comparison(**boot, p_mcnemar=p_mc, seed_d_wa=mean, seed_wa_low=low, seed_wa_high=high,
                      n_seeds=len(a), n_utterances=len(truth))
