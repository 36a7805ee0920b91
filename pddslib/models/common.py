"""Pieces shared by the models: masks from lengths, masked pooling, packed LSTMs, positions.

Every model receives zero-padded batches ``(B, T, D)`` with their lengths ``(B,)``. Padding is
known only from the lengths, never from the values: mixup and padding make all-zero frames
meaningless, so nothing here looks at the data to find the padding. The helpers keep padded
positions out of every result, so a model built from them gives the same logits whatever the
amount of padding and whatever values the padded region holds.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence


def check_dims(**dims: int) -> None:
    """Raise ``ValueError`` unless every keyword argument is a positive integer.

    Parameters
    ----------
    **dims : int
        Named sizes, e.g. ``audio_dim=512``.
    """
    for name, value in dims.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")


def check_lengths(lengths: Tensor, x: Tensor, name: str) -> Tensor:
    """Validate the lengths of a padded batch and return them as a CPU int64 tensor.

    Parameters
    ----------
    lengths : torch.Tensor, shape (B,)
        Valid lengths, on any device.
    x : torch.Tensor, shape (B, T, D)
        The padded batch they describe.
    name : str
        Name of the modality, for the error message.

    Returns
    -------
    torch.Tensor, shape (B,), int64, on the CPU
        (``pack_padded_sequence`` wants CPU lengths; copying once here syncs once.)
    """
    if x.dim() != 3:
        raise ValueError(f"{name} must have shape (B, T, D), got {tuple(x.shape)}")
    if lengths.dim() != 1 or lengths.numel() != x.size(0):
        raise ValueError(
            f"{name}_lengths must have shape ({x.size(0)},), got {tuple(lengths.shape)}"
        )
    if lengths.dtype.is_floating_point or lengths.dtype == torch.bool:
        raise ValueError(f"{name}_lengths must be an integer tensor, got {lengths.dtype}")
    cpu = lengths.detach().to("cpu", torch.int64)
    if cpu.numel() and (int(cpu.min()) < 1 or int(cpu.max()) > x.size(1)):
        raise ValueError(
            f"{name}_lengths must lie in [1, {x.size(1)}] (the padded length), "
            f"got min {int(cpu.min())}, max {int(cpu.max())}"
        )
    return cpu


def lengths_to_mask(lengths: Tensor, max_len: int) -> Tensor:
    """Boolean mask of the valid positions.

    Parameters
    ----------
    lengths : torch.Tensor, shape (B,)
        Valid lengths.
    max_len : int
        Padded length ``T``.

    Returns
    -------
    torch.Tensor, shape (B, T), bool
        ``True`` where a position is inside its sequence. (PyTorch attention layers want the
        opposite, ``key_padding_mask = ~mask``.)
    """
    positions = torch.arange(max_len, device=lengths.device)  # (T,)
    return positions.unsqueeze(0) < lengths.unsqueeze(1)  # (B, T)


def zero_padding(x: Tensor, mask: Tensor) -> Tensor:
    """Set the padded positions of ``x`` (B, T, D) to exactly zero (works for inf/nan too)."""
    return x.masked_fill(~mask.unsqueeze(-1), 0.0)  # (B, T, D)


def masked_max(x: Tensor, mask: Tensor) -> Tensor:
    """Global max pooling over time of the valid positions.

    Parameters
    ----------
    x : torch.Tensor, shape (B, T, C)
    mask : torch.Tensor, shape (B, T), bool
        Valid positions; every row needs at least one.

    Returns
    -------
    torch.Tensor, shape (B, C)
    """
    return x.masked_fill(~mask.unsqueeze(-1), float("-inf")).amax(dim=1)  # (B, C)


def masked_softmax(scores: Tensor, mask: Tensor) -> Tensor:
    """Softmax over time (dim 1) of ``scores`` (B, T) restricted to the valid positions."""
    return scores.masked_fill(~mask, float("-inf")).softmax(dim=1)  # (B, T)


class AttentionPooling(nn.Module):
    """Attention pooling over time: ``a = softmax(score(x))``, result ``a^T x``.

    With ``hidden=None`` the score is linear, ``x W_z + b_z`` (CLTNet's Eq. (5)); with an
    integer it is a one-hidden-layer MLP ``ReLU(x W_1 + b_1) W_2 + b_2`` (MAT's "AttFlat", with
    one glimpse). The softmax runs over the valid positions only.

    Parameters
    ----------
    dim : int
        Feature size of the sequence.
    hidden : int or None
        Hidden size of the scoring MLP; ``None`` for a linear score.
    dropout : float
        Dropout after the hidden ReLU (MLP score only).
    """

    def __init__(self, *, dim: int, hidden: int | None = None, dropout: float = 0.0) -> None:
        super().__init__()
        if hidden is None:
            self.score: nn.Module = nn.Linear(dim, 1)
        else:
            self.score = nn.Sequential(
                nn.Linear(dim, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, 1)
            )

    def weights(self, x: Tensor, mask: Tensor) -> Tensor:
        """Attention weights ``a`` (B, T): zero on padding, summing to one over valid steps."""
        return masked_softmax(self.score(x).squeeze(-1), mask)  # (B, T)

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        """Pool ``x`` (B, T, D) with valid-position ``mask`` (B, T) to (B, D)."""
        a = self.weights(x, mask)  # (B, T)
        # Padded rows get weight 0, but 0 * inf = nan: zero them so that no value there counts.
        x = zero_padding(x, mask)  # (B, T, D)
        return torch.bmm(a.unsqueeze(1), x).squeeze(1)  # (B, D)


#: How :func:`run_lstm` keeps padding out of LSTMs: ``None`` packs the sequences on CUDA only,
#: ``True`` always packs, ``False`` never does. Both ways give the same outputs at the valid steps
#: (tested); they differ in speed: PyTorch's CPU backward pass through a packed LSTM grows
#: roughly quadratically with the padded length (an order of magnitude slower than the unpacked
#: LSTM at a few hundred audio frames), while cuDNN handles packed sequences natively.
PACK_SEQUENCES: bool | None = None


def run_lstm(lstm: nn.LSTM, x: Tensor, lengths_cpu: Tensor) -> Tensor:
    """Run a unidirectional ``batch_first`` LSTM so that padding never reaches a valid step.

    Packed (``pack_padded_sequence(..., enforce_sorted=False)``), or unpacked on zeroed padding:
    the batch padding follows the valid steps and a unidirectional LSTM is causal, so the
    outputs at the valid steps are the same either way (see :data:`PACK_SEQUENCES`). For a
    bidirectional LSTM use :class:`BiLSTM`, whose backward direction reads the valid steps in
    reverse.

    Parameters
    ----------
    lstm : torch.nn.LSTM
        Unidirectional, built with ``batch_first=True`` (any number of layers).
    x : torch.Tensor, shape (B, T, D)
    lengths_cpu : torch.Tensor, shape (B,)
        Valid lengths on the CPU (see :func:`check_lengths`).

    Returns
    -------
    torch.Tensor, shape (B, T, H)
        Outputs of the last layer, zero at the padded positions. The state after the last valid
        step is ``last_valid(out, lengths)``.
    """
    if lstm.bidirectional or not lstm.batch_first:
        raise ValueError("run_lstm takes a unidirectional batch_first LSTM (see BiLSTM)")
    pack = x.is_cuda if PACK_SEQUENCES is None else PACK_SEQUENCES
    if pack:
        packed = pack_padded_sequence(x, lengths_cpu, batch_first=True, enforce_sorted=False)
        out, _ = lstm(packed)
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=x.size(1))
        return out  # (B, T, H)
    mask = lengths_to_mask(lengths_cpu.to(x.device), x.size(1))  # (B, T)
    out, _ = lstm(zero_padding(x, mask))  # (B, T, H)
    return zero_padding(out, mask)  # (B, T, H)


def last_valid(x: Tensor, lengths: Tensor) -> Tensor:
    """The step ``lengths[b] - 1`` of each sequence of ``x`` (B, T, D): shape (B, D)."""
    index = (lengths.to(x.device, torch.int64) - 1).view(-1, 1, 1).expand(-1, 1, x.size(2))
    return x.gather(1, index).squeeze(1)  # (B, D)


def reverse_valid(x: Tensor, lengths: Tensor) -> Tensor:
    """Reverse the valid steps of each sequence of ``x`` (B, T, D); padding stays at the end."""
    t = torch.arange(x.size(1), device=x.device).unsqueeze(0)  # (1, T)
    length = lengths.to(x.device, torch.int64).unsqueeze(1)  # (B, 1)
    index = torch.where(t < length, length - 1 - t, t)  # (B, T)
    return x.gather(1, index.unsqueeze(-1).expand_as(x))  # (B, T, D)


class BiLSTM(nn.Module):
    """One-layer bidirectional LSTM on padded batches, as two unidirectional LSTMs.

    The backward LSTM reads each sequence's valid steps in reverse (from its last valid step,
    never from the padding); same parameters as ``nn.LSTM(..., bidirectional=True)``.

    Parameters
    ----------
    input_size : int
    hidden_size : int
        Units per direction.
    """

    def __init__(self, *, input_size: int, hidden_size: int) -> None:
        super().__init__()
        self.forward_lstm = nn.LSTM(input_size, hidden_size, batch_first=True)
        self.backward_lstm = nn.LSTM(input_size, hidden_size, batch_first=True)

    def forward(self, x: Tensor, lengths_cpu: Tensor) -> tuple[Tensor, Tensor]:
        """Forward and backward outputs (B, T, H) each, aligned in time, zero on padding."""
        fw = run_lstm(self.forward_lstm, x, lengths_cpu)  # (B, T, H)
        bw = run_lstm(self.backward_lstm, reverse_valid(x, lengths_cpu), lengths_cpu)
        return fw, reverse_valid(bw, lengths_cpu)  # (B, T, H) each


def sinusoidal_positions(length: int, dim: int, *, device=None, dtype=None) -> Tensor:
    """Sinusoidal position encodings of Vaswani et al. (2017), shape (length, dim).

    ``PE[t, 2i] = sin(t / 10000^(2i/dim))``, ``PE[t, 2i+1] = cos(...)``; computed on the fly so
    there is no maximum length.
    """
    position = torch.arange(length, device=device, dtype=torch.float32).unsqueeze(1)  # (T, 1)
    freq = torch.exp(
        torch.arange(0, dim, 2, device=device, dtype=torch.float32) * (-math.log(10000.0) / dim)
    )  # (ceil(dim/2),)
    pe = torch.zeros(length, dim, device=device, dtype=torch.float32)  # (T, dim)
    pe[:, 0::2] = torch.sin(position * freq)
    pe[:, 1::2] = torch.cos(position * freq[: dim // 2])
    return pe.to(dtype) if dtype is not None else pe


def same_padding(kernel_size: int) -> tuple[int, int]:
    """Left and right zero padding that keep the length of a stride-1 convolution.

    ``(k - 1) // 2`` on the left and the rest on the right (for an even kernel the extra zero
    goes to the right, as PyTorch's ``padding="same"`` does).
    """
    total = kernel_size - 1
    return total // 2, total - total // 2


def same_conv1d(x: Tensor, conv: nn.Conv1d, mask: Tensor) -> Tensor:
    """Conv1D along time with "same" zero padding, on a sequence whose padding is zeroed first.

    The padded positions of ``x`` are set to zero before the convolution, so the output at a
    valid position equals that of the unpadded sequence zero-padded at both ends by
    :func:`same_padding`: invariant to the amount and the content of the batch padding, and
    defined for any length (a 1-frame sequence with a kernel of 5 included).

    Parameters
    ----------
    x : torch.Tensor, shape (B, T, D)
    conv : torch.nn.Conv1d
        ``D`` input channels, stride 1, built without padding (``padding=0``).
    mask : torch.Tensor, shape (B, T), bool

    Returns
    -------
    torch.Tensor, shape (B, T, C_out)
        Values at padded positions are meaningless; mask them downstream.
    """
    if conv.padding != (0,) or conv.stride != (1,) or conv.dilation != (1,):
        raise ValueError("same_conv1d needs a Conv1d with padding=0, stride=1, dilation=1")
    x = zero_padding(x, mask).transpose(1, 2)  # (B, D, T)
    x = F.pad(x, same_padding(conv.kernel_size[0]))  # (B, D, T + k - 1)
    return conv(x).transpose(1, 2)  # (B, T, C_out)
