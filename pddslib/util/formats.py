"""How numbers are written: mean ± std over seeds, and p-values (one formatter each)."""

from __future__ import annotations

import numpy as np


def pm(mean: float | None, std: float | None, digits: int = 1, *, sign: bool = False, scale: float = 1.0) -> str:
    """``"52.3 ± 4.7"``: a mean and its spread over seeds, both multiplied by ``scale``.

    Parameters
    ----------
    mean, std : float or None
        A missing or non-finite std (one seed) shows the mean alone; a missing mean shows ``–``.
    digits : int
        Decimals of both numbers.
    sign : bool
        Write the mean with its sign (``+1.2``), for changes.
    scale : float
        100 writes fractions (WA 0.559) as percent (55.9).
    """
    if mean is None or not np.isfinite(mean):
        return "–"
    m = scale * mean
    text = f"{m:+.{digits}f}" if sign else f"{m:.{digits}f}"
    return text if std is None or not np.isfinite(std) else f"{text} ± {scale * std:.{digits}f}"


def p_text(p: float, *, relation: bool = False) -> str:
    """A p-value with three decimals: ``0.042`` or ``< 0.001``; with ``relation``, ``= 0.042``."""
    if p < 0.001:
        return "< 0.001"
    return f"= {p:.3f}" if relation else f"{p:.3f}"


__all__ = ["p_text", "pm"]
