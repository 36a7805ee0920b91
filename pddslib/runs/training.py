"""Training with the KL loss (Eq. 6) and the paper's settings; evaluation on the test session.

The paper's settings are the defaults of :class:`TrainConfig`: Adam, lr 1e-3, weight decay 1e-5,
batch 64, stop when the epoch's training loss has not decreased for 10 epochs, at most 30 epochs.
There is no validation set by default (the paper uses none, and session 5 is never used for any
choice): the model evaluated is the one after the last epoch. With ``TrainConfig.val_fraction``
> 0 the runner holds out validation rows (:func:`pddslib.runs.splits.validation_rows`); training then
stops when the validation loss (Eq. 6 on the held-out rows' vote distributions) has not decreased
for ``patience`` epochs, and the model is restored to the epoch of its lowest validation loss.

Synthesised samples are never stored: each batch gathers its rows' sources ``(a, b)`` from the
in-memory feature banks and mixes them with the row's weight (Eqs. 2-3) on the model's device.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..config import TrainConfig
from ..pdds.mixup import Align, mix_padded
from ..util.device import autocast_dtype, resolve_device

if TYPE_CHECKING:  # pragma: no cover
    from ..features.store import FeatureStore


def kl_loss(logits: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
    """Eq. (6): ``sum_i y_i log(y_i / yhat_i)``, averaged over the batch.

    Parameters
    ----------
    logits : torch.Tensor, shape (B, C)
    target : torch.Tensor, shape (B, C)
        Label distributions (rows sum to 1; zeros contribute 0).
    weight : torch.Tensor, shape (B,), optional
        Per-sample weights (``class_weight="balanced"``: :func:`sample_weights`): the batch loss is
        ``sum_b weight_b KL_b / B``. None: Eq. (6) as it is.
    """
    log_q = F.log_softmax(logits.float(), dim=-1)  # (B, C)
    if weight is None:
        return F.kl_div(log_q, target.float(), reduction="batchmean")
    per_sample = F.kl_div(log_q, target.float(), reduction="none").sum(-1)  # (B,)
    return (weight.float() * per_sample).sum() / len(per_sample)


def sample_weights(targets: np.ndarray, class_weight: str = "none") -> np.ndarray | None:
    """Per-sample loss weights of ``class_weight`` (None for ``"none"``).

    ``"balanced"``: class ``c`` weighs ``N / (C * m_c)``, where ``m_c = sum_n y_nc`` is its mass
    in the training targets (the count of a one-hot class, scikit-learn's "balanced"); a sample
    weighs ``sum_c y_nc w_c``, its class's weight for a one-hot target and the average weight of
    its classes under a soft one. A class absent from the targets gets weight 0 (no sample has it).

    Parameters
    ----------
    targets : numpy.ndarray, shape (N, C)
        The training targets (label distributions).
    """
    if class_weight == "none":
        return None
    if class_weight != "balanced":
        raise ValueError(f"class_weight must be 'none' or 'balanced', got {class_weight!r}")
    y = np.asarray(targets, dtype=np.float64)
    n, c = y.shape
    mass = y.sum(0)  # (C,)
    w = np.divide(n, c * mass, out=np.zeros(c), where=mass > 0)
    return y @ w


class SequenceBank:
    """The frames of one modality, in memory on a device, with fast padded gathering.

    Parameters
    ----------
    frames : numpy.ndarray, shape (F, D)
        All frames, concatenated (e.g. a store's memory-mapped array).
    offsets : numpy.ndarray, shape (N + 1,)
        Sequence ``i`` is ``frames[offsets[i]:offsets[i + 1]]``.
    device : torch.device
    """

    def __init__(self, frames: np.ndarray, offsets: np.ndarray, device: torch.device) -> None:
        self.frames = torch.from_numpy(np.array(frames)).to(device)  # (F, D), stored dtype (a copy in memory)
        self.host_offsets = np.asarray(offsets, dtype=np.int64)  # (N + 1,): batch lengths without a device sync
        self.offsets = torch.from_numpy(self.host_offsets).to(device)  # (N + 1,)
        self.device = device

    @property
    def dim(self) -> int:
        return int(self.frames.shape[1])

    def lengths(self, idx: torch.Tensor) -> torch.Tensor:
        return self.offsets[idx + 1] - self.offsets[idx]

    def host_lengths(self, idx: np.ndarray) -> np.ndarray:
        """Lengths of sequences ``idx`` from the host's offsets (no device synchronisation)."""
        idx = np.asarray(idx)
        return self.host_offsets[idx + 1] - self.host_offsets[idx]

    def max_length(self, idx: np.ndarray) -> int:
        """The longest of sequences ``idx`` (host arrays: no device synchronisation)."""
        return int(self.host_lengths(idx).max())

    def gather(self, idx: torch.Tensor, t: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Zero-padded float32 batch of sequences ``idx``.

        Parameters
        ----------
        idx : torch.Tensor of int, shape (B,)
        t : int, optional
            The longest length among ``idx`` (:meth:`max_length`), when the caller knows it;
            otherwise it is read from the device, which waits for the device to catch up.

        Returns
        -------
        x : torch.Tensor, shape (B, T, D)
        lengths : torch.Tensor, shape (B,)
        """
        idx = idx.to(self.device)
        lengths = self.lengths(idx)  # (B,)
        t = int(lengths.max()) if t is None else int(t)
        pos = torch.arange(t, device=self.device)  # (T,)
        valid = pos[None, :] < lengths[:, None]  # (B, T)
        rows = torch.where(valid, self.offsets[idx][:, None] + pos[None, :], 0)  # (B, T)
        x = self.frames[rows].float() * valid.unsqueeze(-1)  # (B, T, D)
        return x, lengths


def mixed_batch(banks: dict[str, SequenceBank], src: torch.Tensor, weights: torch.Tensor,
                align: Align, host_src: np.ndarray | None = None) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """Materialise rows ``src`` = (a, b) with weights (Eq. 2) for every modality.

    ``host_src``: the same rows as a numpy array (B, 2), from which the padded lengths are read
    without waiting for the device. Returns ``{modality: (x (B, T, D), lengths (B,))}``.
    """
    b = src.shape[0]
    out = {}
    for name, bank in banks.items():
        t = None if host_src is None else bank.max_length(host_src)
        x, lengths = bank.gather(torch.cat([src[:, 0], src[:, 1]]), t)  # (2B, T, D): sources a then b
        out[name] = mix_padded(x[:b], lengths[:b], x[b:], lengths[b:], weights, align)
    return out


def batches(lengths: np.ndarray, batch_size: int, rng: np.random.Generator, bucket: bool = True) -> list[np.ndarray]:
    """One epoch's batches of row indices.

    Without bucketing: a random permutation cut into batches. With bucketing: rows sorted by
    length with a random jitter of up to 25 % (so batch composition changes every epoch), cut
    into batches, and the batches shuffled; padding, and so the work on padded frames, shrinks
    several-fold on IEMOCAP-like length distributions.
    """
    n = len(lengths)
    if not bucket:
        order = rng.permutation(n)
    else:
        keys = np.asarray(lengths, dtype=float) * rng.uniform(1.0, 1.25, n)
        order = np.argsort(keys, kind="stable")
    parts = [order[i:i + batch_size] for i in range(0, n, batch_size)]
    if bucket:
        parts = [parts[k] for k in rng.permutation(len(parts))]
    return parts


@dataclass
class TrainResult:
    """What training returns."""

    epochs: int
    losses: list[float] = field(default_factory=list)
    seconds: float = 0.0
    stopped_early: bool = False
    val_losses: list[float] = field(default_factory=list)  # with a validation split only
    best_epoch: int | None = None  # with a validation split: the epoch whose model is kept


def train_model(model: nn.Module, banks: dict[str, SequenceBank], sources: np.ndarray, weights: np.ndarray,
                targets: np.ndarray, config: TrainConfig, seed: int, align: Align = "pad",
                on_epoch: Callable[[int, float], None] | None = None,
                validation: tuple[np.ndarray, np.ndarray] | None = None) -> TrainResult:
    """Train ``model`` on (possibly synthesised) rows with the KL loss.

    Parameters
    ----------
    model : nn.Module
        ``model(audio, audio_lengths, text, text_lengths) -> logits``; already on the device.
    banks : dict
        ``{"audio": SequenceBank, "text": SequenceBank}`` indexed by store row.
    sources : numpy.ndarray of int, shape (N, 2)
        Source rows ``(a, b)`` of every training row (store indices).
    weights : numpy.ndarray, shape (N,)
        Mixup weight of ``a`` (1 for original rows).
    targets : numpy.ndarray, shape (N, C)
        Label distribution of every training row.
    config : TrainConfig
        ``class_weight="balanced"`` weights each row's loss (:func:`sample_weights` of ``targets``).
    seed : int
        Seeds the data order.
    align : {"pad", "crop", "interp"}
        Sequence alignment of mixup (the sampler's ``align``).
    on_epoch : callable, optional
        Called as ``on_epoch(epoch, mean_loss)`` after every epoch (progress bars).
    validation : (rows, targets), optional
        Held-out store rows and their label distributions. Given: early stopping watches their
        loss (:func:`validation_loss`) instead of the training loss, and the model is restored to
        its best validation epoch. None (the paper's rule): the training loss, last epoch kept.

    Returns
    -------
    TrainResult
    """
    device = next(model.parameters()).device
    host_src = np.asarray(sources, dtype=np.int64)  # (N, 2)
    src, w, y, sw = _device_rows(host_src, weights, targets, config.class_weight, device)
    n = len(src)
    opt = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    amp_dtype = autocast_dtype(device) if config.amp else None
    scaler = torch.amp.GradScaler("cuda") if amp_dtype == torch.float16 else None
    rng = np.random.default_rng([int(seed), 1])
    row_len = _row_lengths(banks["audio"], host_src, weights, align)
    best, since_best, best_state = math.inf, 0, {}  # best_state: {name: tensor} of the best validation epoch
    result = TrainResult(epochs=0)
    t0 = time.perf_counter()
    model.train()
    # No step waits for the device: the epoch's batches are uploaded at once, padded lengths come
    # from host arrays, and the loss is summed on the device (float64: the same sum as on the host).
    acc_dtype = torch.float32 if device.type == "mps" else torch.float64
    for epoch in range(1, config.max_epochs + 1):
        parts = batches(row_len, config.batch_size, rng, config.bucket)
        total = _one_epoch(model, opt, scaler, banks, (src, w, y, sw, host_src), parts, align, amp_dtype, acc_dtype)
        epoch_loss = float(total) / n  # the epoch's one synchronisation
        if not math.isfinite(epoch_loss):
            raise FloatingPointError(f"training loss became {epoch_loss} at epoch {epoch}")
        result.losses.append(epoch_loss)
        result.epochs = epoch
        if on_epoch is not None:
            on_epoch(epoch, epoch_loss)
        watched = epoch_loss
        if validation is not None:
            watched = validation_loss(model, banks, validation[0], validation[1], config.eval_batch_size, config.amp)
            model.train()
            result.val_losses.append(watched)
        if watched < best:
            best, since_best = watched, 0
            if validation is not None:
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
                result.best_epoch = epoch
        else:
            since_best += 1
            if since_best >= config.patience:
                result.stopped_early = True
                break
    if validation is not None and result.best_epoch is not None:
        model.load_state_dict(best_state)
    result.seconds = time.perf_counter() - t0
    return result


def _device_rows(host_src: np.ndarray, weights: np.ndarray, targets: np.ndarray, class_weight: str,
                 device: torch.device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """Sources (N, 2), weights (N,), targets (N, C) and loss weights (N,) or None, on the device."""
    src = torch.as_tensor(host_src, device=device)  # (N, 2)
    w = torch.as_tensor(np.asarray(weights), dtype=torch.float32, device=device)
    y = torch.as_tensor(np.asarray(targets), dtype=torch.float32, device=device)
    sw = sample_weights(targets, class_weight)
    return src, w, y, None if sw is None else torch.as_tensor(sw, dtype=torch.float32, device=device)


def _row_lengths(bank: SequenceBank, host_src: np.ndarray, weights: np.ndarray, align: Align) -> np.ndarray:
    """Audio length (N,) of every training row after mixup's alignment (for bucketing batches)."""
    la, lb = (bank.host_lengths(host_src[:, k]) for k in (0, 1))
    row_len = np.minimum(la, lb) if align == "crop" else np.maximum(la, lb)
    return np.where(np.asarray(weights) >= 1.0, la, row_len)  # original rows keep their length


def _one_epoch(model: nn.Module, opt: torch.optim.Optimizer, scaler: Any, banks: dict[str, SequenceBank],
               rows: tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor | None, np.ndarray],
               parts: list[np.ndarray], align: Align, amp_dtype: Any, acc_dtype: torch.dtype) -> torch.Tensor:
    """One pass over the batches ``parts``; the summed loss stays on the device (no read-back)."""
    src, w, y, sw, host_src = rows  # (N, 2), (N,), (N, C), (N,) or None, host (N, 2)
    device = src.device
    total = torch.zeros((), dtype=acc_dtype, device=device)
    order = torch.as_tensor(np.concatenate(parts), device=device)  # (N,): this epoch's rows, batch by batch
    start = 0
    for part in parts:
        batch = order[start:start + len(part)]  # (B,)
        start += len(part)
        inputs = mixed_batch(banks, src[batch], w[batch], align, host_src[part])
        (xa, la), (xt, lt) = inputs["audio"], inputs["text"]
        with torch.autocast(device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
            logits = model(xa, la, xt, lt)  # (B, C)
        loss = kl_loss(logits, y[batch]) if sw is None else kl_loss(logits, y[batch], sw[batch])
        opt.zero_grad(set_to_none=True)
        if scaler is not None:
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
        else:
            loss.backward()
            opt.step()
        total += loss.detach().to(acc_dtype) * len(part)
    return total


@torch.inference_mode()
def validation_loss(model: nn.Module, banks: dict[str, SequenceBank], rows: np.ndarray, targets: np.ndarray,
                    batch_size: int = 256, amp: bool = False) -> float:
    """The loss of Eq. (6) on store rows (unmixed) against ``targets`` ``(len(rows), C)``, in eval mode."""
    device = next(model.parameters()).device
    rows_t = torch.as_tensor(np.asarray(rows), dtype=torch.long, device=device)
    y = torch.as_tensor(np.asarray(targets), dtype=torch.float32, device=device)
    if len(rows_t) == 0:
        raise ValueError("validation_loss: no validation rows")
    order = torch.argsort(banks["audio"].lengths(rows_t), stable=True)
    amp_dtype = autocast_dtype(device) if amp else None
    model.eval()
    total = 0.0
    for part in order.split(batch_size):
        (xa, la), (xt, lt) = (banks[m].gather(rows_t[part]) for m in ("audio", "text"))
        with torch.autocast(device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
            logits = model(xa, la, xt, lt)
        total += float(kl_loss(logits, y[part])) * len(part)
    return total / len(rows_t)


@torch.inference_mode()
def predict(model: nn.Module, banks: dict[str, SequenceBank], rows: np.ndarray, batch_size: int = 256,
            amp: bool = False) -> np.ndarray:
    """Predicted distributions ``(len(rows), C)`` of store rows, in the order given."""
    device = next(model.parameters()).device
    rows_t = torch.as_tensor(np.asarray(rows), dtype=torch.long, device=device)
    # batches of similar lengths keep padding small; results are put back in the given order
    order = torch.argsort(banks["audio"].lengths(rows_t), stable=True)
    amp_dtype = autocast_dtype(device) if amp else None
    model.eval()
    out = torch.empty(len(rows_t), 0)
    chunks = []
    for part in order.split(batch_size):
        (xa, la), (xt, lt) = (banks[m].gather(rows_t[part]) for m in ("audio", "text"))
        with torch.autocast(device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
            logits = model(xa, la, xt, lt)
        chunks.append(torch.softmax(logits.float(), dim=-1).cpu())
    probs = torch.cat(chunks) if chunks else out
    result = torch.empty_like(probs)
    result[order.cpu()] = probs
    return result.numpy()


def seed_everything(seed: int) -> None:
    """Seed Python's ``random``, torch (CPU and CUDA) and numpy's legacy global generator."""
    random.seed(int(seed))
    torch.manual_seed(int(seed))
    np.random.seed(int(seed) % (2**32))


# -- in-memory feature banks, kept between runs of the same store ---------------------------
_BANKS: dict[tuple[str, str], dict[str, Any]] = {}


def feature_banks(store: FeatureStore, device) -> dict[str, Any]:
    """A bank per modality of the store; an audio-only store gets a placeholder ``text`` bank (one
    zero frame of dimension 1 per utterance), which the audio-only models accept and ignore."""

    key = (store.fingerprint, str(device))  # by content: a rewritten store is never read from stale memory
    if key not in _BANKS:
        _BANKS.clear()
        banks = {m: SequenceBank(store.arrays[m], store.offsets[m], device) for m in store.modalities}
        if "text" not in banks:
            n = len(store)
            banks["text"] = SequenceBank(np.zeros((n, 1), np.float32), np.arange(n + 1), device)
        _BANKS[key] = banks
    return _BANKS[key]


__all__ = ["SequenceBank", "feature_banks", "TrainConfig", "TrainResult", "kl_loss", "mixed_batch", "predict",
           "resolve_device", "sample_weights", "seed_everything", "train_model", "validation_loss"]
