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

The alignment and Eq. (2) are written once (:func:`_mix_aligned`) for every kind of sample:
:func:`mix_sequences` (numpy ``(T, D)`` sequences, the eager path of the samplers),
:func:`mix_items` (what a user's dataset holds: numpy arrays, torch tensors on their device,
lists, numbers, dicts of modalities; the lazy path, :class:`MixedSamples` and
:class:`pddslib.pdds.dataset.PDDSDataset`), and :func:`mix_padded` (padded torch batches, row by
row, used when training batches are built on the model's device). Torch is never imported at
module level: a tensor can only arrive if the caller has imported it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from numbers import Number
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    import torch

Align = Literal["pad", "crop", "interp"]
ALIGNS: tuple[str, ...] = ("pad", "crop", "interp")


def check_weight(weight: float) -> float:
    w = float(weight)
    if not 0.0 <= w <= 1.0:
        raise ValueError(f"mixup weight p must lie in [0, 1], got {weight!r}")
    return w


def check_align(align: str) -> None:
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
    w = check_weight(weight)
    check_align(align)
    a = np.asarray(a)
    b = np.asarray(b)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"sequences must be (T, D) with the same D, got {a.shape} and {b.shape}")
    dtype = np.result_type(a.dtype, b.dtype, np.float32)
    out = _mix_aligned(a, b, w, align, lambda t: np.zeros((t,) + a.shape[1:], dtype=dtype), interp_time)
    return out.astype(dtype, copy=False)


def _mix_aligned(a: Any, b: Any, w: float, align: Align, zeros: Callable[[int], Any],
                 interp: Callable[[Any, int], Any]) -> Any:
    """Eq. (2) after aligning lengths, for numpy arrays and torch tensors alike.

    ``a`` and ``b`` have time as their first axis (``(Ta, ...)`` and ``(Tb, ...)``, the other axes
    equal); ``zeros(t)`` makes a ``(t, ...)`` zero array of the output's type, ``interp(x, t)``
    resamples ``x`` to ``t`` frames. Returns ``(T, ...)`` with T as :func:`mix_sequences` says.
    """
    ta, tb = len(a), len(b)
    if align == "crop":
        t = min(ta, tb)
        return w * a[:t] + (1.0 - w) * b[:t]
    t = max(ta, tb)
    if align == "interp":
        return w * interp(a, t) + (1.0 - w) * interp(b, t)
    out = zeros(t)  # (T, ...)
    out[:ta] += w * a
    out[:tb] += (1.0 - w) * b
    return out


def mix_labels(ya: np.ndarray, yb: np.ndarray, weight: float) -> np.ndarray:
    """Mix two label distributions, Eq. (3): ``p ya + (1 - p) yb`` (sums stay 1)."""
    w = check_weight(weight)
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


def mix_padded(xa: torch.Tensor, la: torch.Tensor, xb: torch.Tensor, lb: torch.Tensor,
               weight: torch.Tensor, align: Align = "pad") -> tuple[torch.Tensor, torch.Tensor]:
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

    check_align(align)
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


def loaded_torch() -> Any:
    """The torch module if the caller has imported it, else None (never imports it)."""
    return sys.modules.get("torch")


def is_tensor(x: Any) -> bool:
    """Whether ``x`` is a torch tensor (without importing torch)."""
    torch = loaded_torch()
    return torch is not None and isinstance(x, torch.Tensor)


def check_item(item: Any, k: int) -> None:
    """A TypeError unless item ``k`` of a list ``X`` is of a type :func:`mix_items` mixes."""
    ok = (isinstance(item, (np.ndarray, Mapping, list, tuple, Number, np.number)) or is_tensor(item)) \
        and not isinstance(item, (str, bytes))
    if not ok:
        raise TypeError(f"item {k} of X is a {type(item).__name__}; items must be numpy arrays, torch "
                        "tensors, lists of numbers, numbers, or dicts of modality -> array/tensor")


def mix_items(xa: Any, xb: Any, weight: float, align: Align = "pad") -> Any:
    """Mix two per-utterance items, Eq. (2), keeping their type.

    Parameters
    ----------
    xa, xb : numpy.ndarray, torch.Tensor, list of numbers, number, or dict of modality -> these
        Time is the first axis; lengths may differ (aligned with ``align``), the other axes may not.
        A 2-D numpy pair gives exactly :func:`pddslib.pdds.mixup.mix_sequences`.
    weight : float
        ``p``, the weight of ``xa``.
    align : {"pad", "crop", "interp"}

    Returns
    -------
    The mix, of ``xa``'s type (a dict for dicts; a tensor on ``xa``'s device for tensors).
    """
    w = check_weight(weight)
    check_align(align)
    if isinstance(xa, Mapping):
        if not isinstance(xb, Mapping) or set(xa) != set(xb):
            raise ValueError(f"items have different modalities: {sorted(xa)} and "
                             f"{sorted(xb) if isinstance(xb, Mapping) else type(xb).__name__}")
        return {m: mix_items(xa[m], xb[m], w, align) for m in xa}
    if is_tensor(xa):
        return _mix_tensors(xa, xb, w, align)
    if isinstance(xa, np.ndarray):
        return _mix_arrays(xa, np.asarray(xb), w, align)
    if isinstance(xa, (list, tuple)):
        return _mix_arrays(np.asarray(xa, dtype=np.float64), np.asarray(xb, dtype=np.float64), w, align).tolist()
    if isinstance(xa, (Number, np.number)) and not isinstance(xa, bool):
        return w * xa + (1.0 - w) * xb
    raise TypeError(f"cannot mix items of type {type(xa).__name__}")


def _mix_arrays(a: np.ndarray, b: np.ndarray, w: float, align: Align) -> np.ndarray:
    if a.ndim == 0 or b.ndim == 0:
        return np.asarray(w * a + (1.0 - w) * b)
    if a.shape[1:] != b.shape[1:]:
        raise ValueError(f"items must agree beyond the first (time) axis, got {a.shape} and {b.shape}")
    rest = a.shape[1:]
    out = mix_sequences(a.reshape(len(a), -1), b.reshape(len(b), -1), w, align)
    out = out.reshape((len(out),) + rest)
    if a.dtype == b.dtype and a.dtype.kind == "f":
        out = out.astype(a.dtype, copy=False)
    return out


def _mix_tensors(a: Any, b: Any, w: float, align: Align) -> Any:
    torch = loaded_torch()
    if not is_tensor(b):
        b = torch.as_tensor(np.asarray(b), device=a.device)
    dtype = torch.promote_types(a.dtype, b.dtype)
    if not dtype.is_floating_point:
        dtype = torch.get_default_dtype()
    a = a.to(dtype)
    b = b.to(device=a.device, dtype=dtype)
    if a.ndim == 0 or b.ndim == 0:
        return w * a + (1.0 - w) * b
    if a.shape[1:] != b.shape[1:]:
        raise ValueError(f"items must agree beyond the first (time) axis, got {tuple(a.shape)} and {tuple(b.shape)}")
    return _mix_aligned(a, b, w, align, lambda t: a.new_zeros((t,) + tuple(a.shape[1:])), _interp_tensor)


def _interp_tensor(x: Any, length: int) -> Any:
    """Linear resampling along the first axis (as :func:`pddslib.pdds.mixup.interp_time`)."""
    import torch.nn.functional as F

    t = x.shape[0]
    if t == length:
        return x
    if t == 0:
        raise ValueError(f"cannot resample a sequence of length 0 to length {length}")
    flat = x.reshape(t, -1).T.unsqueeze(0)  # (1, F, T)
    res = F.interpolate(flat.float(), size=length, mode="linear", align_corners=True)
    return res[0].T.reshape((length,) + tuple(x.shape[1:])).to(x.dtype)


class MixedSamples:
    """A lazy sequence of resampled items: row k is mixed from its sources when accessed.

    Parameters
    ----------
    samples : sequence
        The original items (see :func:`mix_items`).
    sources : numpy.ndarray of int, shape (N_res, 2)
    weights : numpy.ndarray of float, shape (N_res,)
    align : {"pad", "crop", "interp"}
    """

    def __init__(self, samples: Sequence[Any], sources: np.ndarray, weights: np.ndarray,
                 align: Align = "pad") -> None:
        self.samples = samples
        self.sources = sources
        self.weights = weights
        self.align = align

    def __len__(self) -> int:
        return len(self.sources)

    def __getitem__(self, k: int) -> Any:
        a, b = (int(i) for i in self.sources[k])
        w = float(self.weights[k])
        if a == b and w == 1.0:
            return self.samples[a]
        return mix_items(self.samples[a], self.samples[b], w, self.align)
