"""Feature-level mixup, Eqs. (2)-(3): ``x = p x_a + (1 - p) x_b``, ``y = p y_a + (1 - p) y_b``.

Samples are made of one or more modalities, each a variable-length sequence of feature vectors
``(T, D)``. Sequences of different lengths are aligned first (Decisions page, "Mixup of sequences"):

``"pad"`` (default)
    zero-pad the shorter to the longer and mix position by position; the result has the longer
    length (beyond the shorter sequence, it is ``p x_a`` or ``(1 - p) x_b``).
``"crop"``
    cut both to the shorter length.
``"interp"``
    linearly resample the shorter along time to the longer length, then mix.

The numpy functions work on single samples; :func:`mix_padded` does the same on padded torch
batches (used when training batches are built, on the model's device).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, Mapping

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    import torch

Align = Literal["pad", "crop", "interp"]
ALIGNS: tuple[str, ...] = ("pad", "crop", "interp")


def _check_weight(weight: float) -> float:
    w = float(weight)
    if not 0.0 <= w <= 1.0:
        raise ValueError(f"mixup weight p must lie in [0, 1], got {weight!r}")
    return w


def _check_align(align: str) -> None:
    if align not in ALIGNS:
        raise ValueError(f"align must be one of {ALIGNS}, got {align!r}")


def interp_time(x: np.ndarray, length: int) -> np.ndarray:
    """Linearly resample a sequence ``(T, D)`` to ``(length, D)`` along time."""
    x = np.asarray(x)
    t = len(x)
    if t == length:
        return x
    if t == 0 or length <= 0:
        raise ValueError(f"cannot resample a sequence of length {t} to length {length}")
    if t == 1:
        return np.repeat(x, length, axis=0)
    pos = np.linspace(0.0, t - 1.0, length)
    lo = np.floor(pos).astype(int)
    hi = np.minimum(lo + 1, t - 1)
    frac = (pos - lo)[:, None]
    return (1.0 - frac) * x[lo] + frac * x[hi]


def mix_sequences(a: np.ndarray, b: np.ndarray, weight: float, align: Align = "pad") -> np.ndarray:
    """Mix two feature sequences, Eq. (2).

    Parameters
    ----------
    a, b : numpy.ndarray, shapes (Ta, D) and (Tb, D)
        Sequences of the major-emotion and the minor-emotion sample.
    weight : float
        ``p`` in [0, 1], the weight of ``a``.
    align : {"pad", "crop", "interp"}
        How different lengths are aligned (see the module docstring).

    Returns
    -------
    numpy.ndarray, shape (T, D)
        ``T = max(Ta, Tb)`` for pad and interp, ``min(Ta, Tb)`` for crop.
    """
    w = _check_weight(weight)
    _check_align(align)
    a = np.asarray(a)
    b = np.asarray(b)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"sequences must be (T, D) with the same D, got {a.shape} and {b.shape}")
    dtype = np.result_type(a.dtype, b.dtype, np.float32)
    ta, tb = len(a), len(b)
    if align == "crop":
        t = min(ta, tb)
        return (w * a[:t] + (1.0 - w) * b[:t]).astype(dtype)
    t = max(ta, tb)
    if align == "interp":
        return (w * interp_time(a, t) + (1.0 - w) * interp_time(b, t)).astype(dtype)
    out = np.zeros((t, a.shape[1]), dtype=dtype)  # (T, D)
    out[:ta] += w * a
    out[:tb] += (1.0 - w) * b
    return out


def mix_labels(ya: np.ndarray, yb: np.ndarray, weight: float) -> np.ndarray:
    """Mix two label distributions, Eq. (3): ``p ya + (1 - p) yb`` (sums stay 1)."""
    w = _check_weight(weight)
    ya = np.asarray(ya, dtype=float)
    yb = np.asarray(yb, dtype=float)
    if ya.shape != yb.shape:
        raise ValueError(f"label distributions differ in shape: {ya.shape} and {yb.shape}")
    return w * ya + (1.0 - w) * yb


def mix_samples(a: Mapping[str, np.ndarray], b: Mapping[str, np.ndarray], weight: float,
                align: Align = "pad") -> dict[str, np.ndarray]:
    """Mix two multimodal samples (``{modality: (T, D) array}``) with the same weight."""
    if set(a) != set(b):
        raise ValueError(f"samples have different modalities: {sorted(a)} and {sorted(b)}")
    return {m: mix_sequences(a[m], b[m], weight, align) for m in a}


def mix_padded(xa: "torch.Tensor", la: "torch.Tensor", xb: "torch.Tensor", lb: "torch.Tensor",
               weight: "torch.Tensor", align: Align = "pad") -> tuple["torch.Tensor", "torch.Tensor"]:
    """Mix two padded batches row by row (torch; same result as :func:`mix_sequences`).

    Parameters
    ----------
    xa, xb : torch.Tensor, shape (B, T, D)
        Zero-padded batches of the first and second sources (same T).
    la, lb : torch.Tensor of int, shape (B,)
        True lengths.
    weight : torch.Tensor, shape (B,)
        Weight of ``xa`` per row (1 for an original sample: then ``xb`` is ignored).
    align : {"pad", "crop", "interp"}

    Returns
    -------
    x : torch.Tensor, shape (B, T, D)
        Mixed batch, zero beyond each row's length.
    lengths : torch.Tensor of int, shape (B,)
    """
    import torch
    import torch.nn.functional as F

    _check_align(align)
    w = weight.to(xa.dtype).view(-1, 1, 1)  # (B, 1, 1)
    # A row with weight 1 is an original sample: its length is its own (xb is ignored).
    original = weight >= 1.0
    if align == "interp":
        t = xa.shape[1]
        lengths = torch.where(original, la, torch.maximum(la, lb))
        xa = _interp_rows(xa, la, lengths, t, F)
        xb = _interp_rows(xb, lb, lengths, t, F)
    else:
        lengths = torch.maximum(la, lb) if align == "pad" else torch.minimum(la, lb)
        lengths = torch.where(original, la, lengths)
    x = w * xa + (1.0 - w) * xb  # (B, T, D)
    keep = torch.arange(x.shape[1], device=x.device)[None, :] < lengths[:, None]  # (B, T)
    return x * keep.unsqueeze(-1).to(x.dtype), lengths


def _interp_rows(x, lengths, targets, t, F):
    """Resample each row ``x[i, :lengths[i]]`` to ``targets[i]`` frames, zero-padded to t."""
    import torch

    out = torch.zeros_like(x)
    for i in range(x.shape[0]):
        n, m = int(lengths[i]), int(targets[i])
        if n == m or n == 0:
            out[i, :n] = x[i, :n]
            continue
        seq = x[i, :n].T.unsqueeze(0)  # (1, D, n)
        res = F.interpolate(seq.float(), size=m, mode="linear", align_corners=True)
        out[i, :m] = res[0].T.to(x.dtype)
    return out
