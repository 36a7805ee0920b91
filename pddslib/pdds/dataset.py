"""PDDS for any torch model: a lazily mixing ``Dataset`` and a padding collate function.

>>> from torch.utils.data import DataLoader
>>> from pddslib import PDDS
>>> from pddslib.pdds.dataset import PDDSDataset, pad_collate
>>> sampler = PDDS(random_state=0).fit(y)                    # doctest: +SKIP
>>> loader = DataLoader(PDDSDataset(base, sampler), batch_size=64, shuffle=True,
...                     collate_fn=pad_collate)              # doctest: +SKIP
>>> for x, y, lengths, mask in loader: ...                   # doctest: +SKIP

:class:`PDDSDataset` keeps the base dataset and the sampler's provenance arrays (sources, weights,
label distributions) and nothing else: item ``k`` is mixed from its two sources when it is asked
for, so memory does not grow with the number of new samples. :func:`pad_collate` zero-pads the
variable-length items of a batch and returns their lengths and masks.

This module is ``pddslib.pdds.dataset``; inside it (as in every pddslib module) ``import torch`` is the
real torch, because imports are absolute. Do not run Python with the ``pddslib/`` folder itself as
the working directory or on ``sys.path``: there this file would be found as ``torch``.
"""

from __future__ import annotations

if __name__ == "torch":  # pragma: no cover - found as top-level "torch" (pddslib/ on sys.path)
    raise ImportError("pddslib/torch.py was imported as the top-level module 'torch': the pddslib/ "
                      "folder is on sys.path (current directory?); run Python from the repository root")

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np
import torch
from torch.utils.data import Dataset

from .mixup import mix_items

__all__ = ["PDDSDataset", "PaddedBatch", "pad_collate"]


class PDDSDataset(Dataset):
    """A dataset resampled by a fitted sampler, mixed item by item (Eqs. 2-3).

    Parameters
    ----------
    base : map-style dataset
        ``len(base)`` must equal the number of samples the sampler was fitted on, in the same order.
        ``base[i]`` returns ``x`` or a tuple ``(x, y, ...)`` (then ``x`` is its first element and the
        rest is dropped: labels come from the sampler). ``x`` is a tensor or numpy array whose first
        axis is time (``(T, D)`` sequences, ``(T,)`` waveforms or fixed ``(D,)`` vectors), or a dict of
        modality -> such tensors/arrays.
    sampler : Resampler
        Fitted (``sampler.fit(y)``); its ``align`` aligns sequences of different lengths.

    Notes
    -----
    ``ds[k]`` returns ``(x, y)``: for an original row ``x`` is ``base[k]``'s own ``x`` (the same
    object) and for a new row the mix of its two sources,
    :func:`pddslib.pdds.mixup.mix_items` (same type, dtype and device as the sources; two numpy
    ``(T, D)`` sources give exactly :func:`pddslib.pdds.mixup.mix_sequences`). ``y`` is row ``k`` of the
    sampler's ``y_resampled_`` as a float32 tensor ``(C,)``. The dataset holds ``base``, the
    provenance arrays (copies, read-only) and ``align``; it reads ``base`` only in ``__getitem__``.
    """

    def __init__(self, base: Any, sampler: Any) -> None:
        if not hasattr(sampler, "sample_indices_"):
            raise ValueError(f"{type(sampler).__name__} is not fitted: pass sampler.fit(y) "
                             "(y: the labels of the base dataset, in its order)")
        if len(base) != sampler.n_original_:
            raise ValueError(f"the base dataset has {len(base)} items but the sampler was fitted on "
                             f"{sampler.n_original_} samples")
        self.base = base
        self.sources = _frozen(sampler.sample_indices_, np.int64)
        self.weights = _frozen(sampler.mix_weights_, np.float64)
        self.labels = _frozen(sampler.y_resampled_, np.float32)
        self.align = sampler.align

    def __len__(self) -> int:
        return len(self.sources)

    def __getitem__(self, k: int) -> tuple[Any, torch.Tensor]:
        k = int(k)
        if not -len(self) <= k < len(self):
            raise IndexError(f"index {k} out of range for {len(self)} items")
        a, b = (int(i) for i in self.sources[k])
        w = float(self.weights[k])
        xa = _features(self.base[a])
        x = xa if a == b and w == 1.0 else mix_items(xa, _features(self.base[b]), w, self.align)
        return x, torch.from_numpy(self.labels[k].copy())

    def __repr__(self) -> str:
        return f"PDDSDataset({len(self)} items from {len(self.base)}, align={self.align!r})"


def _frozen(a: np.ndarray, dtype: Any) -> np.ndarray:
    out = np.array(a, dtype=dtype, copy=True)
    out.flags.writeable = False
    return out


def _features(item: Any) -> Any:
    return item[0] if isinstance(item, tuple) else item


class PaddedBatch(NamedTuple):
    """A batch from :func:`pad_collate` (unpacks as ``x, y, lengths, mask``).

    Attributes
    ----------
    x : torch.Tensor, shape (B, T_max, ...), or dict of modality -> such tensors
        Items zero-padded along their first axis (time) to the longest of the batch.
    y : torch.Tensor, shape (B, C), or None
        Labels stacked (None when the items had none).
    lengths : torch.Tensor of int64, shape (B,), or dict
        True length of every item (its first axis); for 0-d items, ones.
    mask : torch.Tensor of bool, shape (B, T_max), or dict
        True on real frames, False on padding.
    """

    x: Any
    y: torch.Tensor | None
    lengths: Any
    mask: Any


def pad_collate(batch: Sequence[Any]) -> PaddedBatch:
    """Collate items of variable length for a ``DataLoader`` (``collate_fn=pad_collate``).

    Parameters
    ----------
    batch : sequence of items
        Each ``(x, y)`` (as :class:`PDDSDataset` returns) or ``x`` alone. ``x``: a tensor or numpy
        array whose first axis is time (the other axes must agree), or a dict of modality -> such
        (the same modalities in every item). ``y``: anything ``torch.as_tensor`` stacks.

    Returns
    -------
    PaddedBatch
        ``(x, y, lengths, mask)``; ``x`` has the dtype torch promotes the items' dtypes to.
    """
    items = list(batch)
    if not items:
        raise ValueError("pad_collate got an empty batch")
    pairs = all(isinstance(it, tuple) and len(it) == 2 for it in items)
    xs = [it[0] for it in items] if pairs else items
    y = torch.stack([torch.as_tensor(it[1]) for it in items]) if pairs else None
    if isinstance(xs[0], Mapping):
        keys = list(xs[0])
        if any(not isinstance(x, Mapping) or set(x) != set(keys) for x in xs):
            raise ValueError(f"items have different modalities (first: {keys})")
        padded = {m: _pad([x[m] for x in xs]) for m in keys}
        return PaddedBatch({m: p[0] for m, p in padded.items()}, y,
                           {m: p[1] for m, p in padded.items()}, {m: p[2] for m, p in padded.items()})
    x, lengths, mask = _pad(xs)
    return PaddedBatch(x, y, lengths, mask)


def _pad(xs: list[Any]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Zero-pad tensors along the first axis: (padded, lengths, mask)."""
    ts = [torch.as_tensor(x) for x in xs]
    device = ts[0].device
    dtype = ts[0].dtype
    for t in ts[1:]:
        dtype = torch.promote_types(dtype, t.dtype)
    if ts[0].ndim == 0:
        if any(t.ndim != 0 for t in ts):
            raise ValueError("items mix scalars and arrays")
        x = torch.stack([t.to(device=device, dtype=dtype) for t in ts])
        lengths = torch.ones(len(ts), dtype=torch.int64, device=device)
        return x, lengths, torch.ones((len(ts), 1), dtype=torch.bool, device=device)
    rest = tuple(ts[0].shape[1:])
    if any(t.ndim == 0 or tuple(t.shape[1:]) != rest for t in ts):
        raise ValueError(f"items must agree beyond the first (time) axis, got shapes "
                         f"{sorted({tuple(t.shape) for t in ts})[:4]}")
    lengths = torch.tensor([t.shape[0] for t in ts], dtype=torch.int64, device=device)
    t_max = int(lengths.max())
    x = torch.zeros((len(ts), t_max) + rest, dtype=dtype, device=device)
    for i, t in enumerate(ts):
        x[i, : t.shape[0]] = t.to(device=device, dtype=dtype)
    mask = torch.arange(t_max, device=device)[None, :] < lengths[:, None]
    return x, lengths, mask

