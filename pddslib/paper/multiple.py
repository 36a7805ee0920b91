"""Many comparisons at once: Holm's and Benjamini-Hochberg's adjusted p-values.

Every artifact of the book declares its *family*: the comparisons it tests together (Table 1: six
models, PDDS against none, on WA and UA: 12 tests). With 12 tests at 0.05 a procedure that never
helps is "significant" somewhere more often than not, so each family reports adjusted p-values:

* **Holm** (Holm 1979): controls the family-wise error rate (the chance of any false claim) at
  the level, for any dependence between the tests; uniformly more powerful than Bonferroni. For
  the primary and confirmatory families.
* **Benjamini-Hochberg** (Benjamini and Hochberg 1995): controls the false-discovery rate (the
  expected share of false claims among the claims) under independence or positive dependence;
  for the pages that say they are exploratory (the readings chapter). Computed by scipy's
  ``false_discovery_control``.

A test is "significant after correction" when its adjusted p-value is below the level. NaN
p-values (a comparison with one seed) stay NaN and do not count towards the family's size.
"""

from __future__ import annotations

import numpy as np

METHODS = ("holm", "bh", "none")


def holm(p: np.ndarray) -> np.ndarray:
    """Holm's step-down adjusted p-values (same order as ``p``).

    ``p_adj[(i)] = max_{j <= i} min(1, (m - j + 1) p_(j))`` over the sorted p-values.
    """
    p = np.asarray(p, dtype=float)
    m = len(p)
    if m == 0:
        return p.copy()
    order = np.argsort(p, kind="stable")
    stepped = np.maximum.accumulate((m - np.arange(m)) * p[order])
    out = np.empty(m)
    out[order] = np.minimum(stepped, 1.0)
    return out


def benjamini_hochberg(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (scipy's ``false_discovery_control``, method "bh")."""
    from scipy import stats

    p = np.asarray(p, dtype=float)
    return p.copy() if len(p) == 0 else stats.false_discovery_control(p, method="bh")


def adjust(p: np.ndarray, method: str) -> np.ndarray:
    """Adjusted p-values of one family; NaN entries are kept as NaN and left out of the family.

    Parameters
    ----------
    p : numpy.ndarray, shape (m,)
    method : {"holm", "bh", "none"}
    """
    if method not in METHODS:
        raise ValueError(f"correction must be one of {METHODS}, got {method!r}")
    p = np.asarray(p, dtype=float)
    if np.any((p < 0) | (p > 1)):
        raise ValueError(f"p-values must lie in [0, 1], got {p[(p < 0) | (p > 1)][:3].tolist()}")
    out = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    if method == "none":
        out[ok] = p[ok]
    else:
        out[ok] = (holm if method == "holm" else benjamini_hochberg)(p[ok])
    return out


#: How each method is named in the book's sentences.
METHOD_NAMES = {"holm": "Holm", "bh": "Benjamini-Hochberg", "none": "no"}

__all__ = ["METHODS", "METHOD_NAMES", "adjust", "benjamini_hochberg", "holm"]
