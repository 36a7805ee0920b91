"""Mixup of per-utterance items of any type, Eq. (2): numpy arrays, torch tensors, lists, dicts.

:func:`mix_items` is :func:`pddslib.mixup.mix_sequences` generalised to what a user's dataset
holds: numpy arrays and torch tensors whose first axis is time (``(T, D)`` sequences, ``(T,)``
waveforms, fixed ``(D,)`` vectors, ``(T, H, W)`` ...), lists of numbers, numbers, and dicts of
modality -> any of these. Tensors are mixed with torch operations on their own device (the
samplers' :meth:`~pddslib.resample.Resampler.fit_resample` for lists, :class:`MixedSamples` and
:class:`pddslib.torch.PDDSDataset` use it). Torch is never imported here: a tensor can only
arrive if the caller has imported it.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from numbers import Number
from typing import Any, Sequence

import numpy as np

from .mixup import Align, _check_align, _check_weight, mix_sequences


def _torch():
    return sys.modules.get("torch")


def is_tensor(x: Any) -> bool:
    """Whether ``x`` is a torch tensor (without importing torch)."""
    torch = _torch()
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
        A 2-D numpy pair gives exactly :func:`pddslib.mixup.mix_sequences`.
    weight : float
        ``p``, the weight of ``xa``.
    align : {"pad", "crop", "interp"}

    Returns
    -------
    The mix, of ``xa``'s type (a dict for dicts; a tensor on ``xa``'s device for tensors).
    """
    w = _check_weight(weight)
    _check_align(align)
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
    torch = _torch()
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
    ta, tb = a.shape[0], b.shape[0]
    if align == "crop":
        t = min(ta, tb)
        return w * a[:t] + (1.0 - w) * b[:t]
    t = max(ta, tb)
    if align == "interp":
        return w * _interp_tensor(a, t) + (1.0 - w) * _interp_tensor(b, t)
    out = a.new_zeros((t,) + tuple(a.shape[1:]))
    out[:ta] += w * a
    out[:tb] += (1.0 - w) * b
    return out


def _interp_tensor(x: Any, length: int) -> Any:
    """Linear resampling along the first axis (as :func:`pddslib.mixup.interp_time`)."""
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
