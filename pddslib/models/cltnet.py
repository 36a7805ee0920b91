"""CLTNet, the paper's model (Section 2.2, sizes from Section 3.2).

Audio (Eq. 4): three ConvBlocks ``MaxPool(ReLU(Conv1D(x_A)))`` with kernels 3, 4, 5 and an
LSTMBlock ``MaxPool(LSTM(x_A))``, each giving a ``d1``-vector; their concatenation (``4 d1``)
is projected to ``d``: ``h_A = Concat(...) W_A + b_A``.

Text (Eq. 5): the BERT vectors are projected to ``d2``, encoded by an N-layer transformer
encoder, and pooled by attention, ``a = softmax(z W_z + b_z)``, ``h_T = (a^T z) W_T + b_T``.

Fusion (the equations after Eq. 6): ``h = Concat(h_A, h_T) W_u + b_u`` and
``logits = (h + ReLU(h W_h + b_h)) W_c + b_c``. The softmax of the paper belongs to the loss,
so the model returns logits.

``modalities=("audio",)`` / ``("text",)`` give the unimodal rows of Table 1: only that branch is
built, and the fusion layer ``W_u`` maps the single ``d``-vector (``d x d`` instead of
``2d x d``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from .common import (
    AttentionPooling,
    check_dims,
    check_lengths,
    lengths_to_mask,
    masked_max,
    run_lstm,
    same_conv1d,
    sinusoidal_positions,
    zero_padding,
)

MODALITIES: tuple[str, ...] = ("audio", "text")


@dataclass
class CLTNetConfig:
    """Hyperparameters of :class:`CLTNet` (defaults: the paper, Section 3.2)."""

    # Which branches to build; the registry's cltnet_audio / cltnet_text fix this.
    modalities: tuple[str, ...] = ("audio", "text")
    # "The kernel sizes of three CNN blocks in CLTNet are 3, 4 and 5".
    conv_kernels: tuple[int, ...] = (3, 4, 5)
    # d1: output channels of each Conv1D and hidden units of the LSTM ("300 in LSTM"; Eq. 4
    # needs every block to give a d1-vector, so the convolutions have 300 channels too).
    d1: int = 300
    # d2: width of the text transformer; the 768-d BERT vectors are projected to it first.
    d2: int = 100
    # d: size of h_A, h_T and of the fused h.
    d: int = 100
    # "The number of layers in the transformer encoder is 5 and each layer is with 5 heads."
    n_layers: int = 5
    n_heads: int = 5
    # Feed-forward width of the transformer layers. The paper is silent; 4 * d2 is the usual
    # ratio of Vaswani et al. (PyTorch's default of 2048 would be 20 * d2).
    ff_dim: int = 400
    # The paper is silent on positions. BERT's output vectors already encode word order (BERT
    # adds position embeddings and mixes them in), so none are added by default; True adds
    # sinusoidal encodings after the input projection.
    positional_encoding: bool = False
    # The paper is silent on dropout. A modest 0.1 inside the transformer layers (PyTorch's and
    # BERT's default) and on the modality vectors before fusion.
    dropout: float = 0.1


class AudioBranch(nn.Module):
    """Eq. (4): three ConvBlocks and an LSTMBlock, concatenated and projected to ``d``.

    Convolutions use "same" zero padding (:func:`~pddslib.models.common.same_conv1d`) on a
    sequence whose batch padding is zeroed first, so every valid frame has an output (a 1-frame
    utterance works with a kernel of 5) and the output does not depend on the batch padding.
    Max pooling runs over the valid frames only. The LSTM is unidirectional, one layer, and
    never sees padding before a valid frame (:func:`~pddslib.models.common.run_lstm`).

    Parameters
    ----------
    audio_dim : int
        Size of an input frame (512 for data2vec).
    config : CLTNetConfig
    """

    def __init__(self, *, audio_dim: int, config: CLTNetConfig) -> None:
        super().__init__()
        c = config
        self.convs = nn.ModuleList(
            nn.Conv1d(audio_dim, c.d1, kernel_size=k) for k in c.conv_kernels
        )
        self.lstm = nn.LSTM(audio_dim, c.d1, batch_first=True)
        self.proj = nn.Linear((len(c.conv_kernels) + 1) * c.d1, c.d)  # W_A, b_A

    def forward(self, x: Tensor, lengths_cpu: Tensor) -> Tensor:
        """Map audio ``x`` (B, T, Da) with lengths (B,) on the CPU to ``h_A`` (B, d)."""
        mask = lengths_to_mask(lengths_cpu.to(x.device), x.size(1))  # (B, T)
        pooled = [
            masked_max(torch.relu(same_conv1d(x, conv, mask)), mask)  # (B, d1)
            for conv in self.convs
        ]
        out = run_lstm(self.lstm, x, lengths_cpu)  # (B, T, d1)
        pooled.append(masked_max(out, mask))  # (B, d1)
        return self.proj(torch.cat(pooled, dim=-1))  # (B, 4 d1) -> (B, d)


class TextBranch(nn.Module):
    """Eq. (5): projection to ``d2``, transformer encoder, attention pooling, projection to ``d``.

    The encoder is PyTorch's post-norm ``TransformerEncoderLayer`` (ReLU feed-forward) with a
    key padding mask from the lengths. No positional encodings unless
    ``config.positional_encoding`` (see :class:`CLTNetConfig`).

    Parameters
    ----------
    text_dim : int
        Size of a token vector (768 for BERT-base).
    config : CLTNetConfig
    """

    def __init__(self, *, text_dim: int, config: CLTNetConfig) -> None:
        super().__init__()
        c = config
        self.positional_encoding = c.positional_encoding
        self.proj_in = nn.Linear(text_dim, c.d2)
        layer = nn.TransformerEncoderLayer(
            c.d2, c.n_heads, dim_feedforward=c.ff_dim, dropout=c.dropout, batch_first=True
        )
        # No nested tensors: same code path in training and evaluation, and no warning about
        # the odd number of heads.
        self.encoder = nn.TransformerEncoder(layer, c.n_layers, enable_nested_tensor=False)
        self.pool = AttentionPooling(dim=c.d2)  # W_z, b_z
        self.proj = nn.Linear(c.d2, c.d)  # W_T, b_T

    def forward(self, x: Tensor, lengths_cpu: Tensor) -> Tensor:
        """Map text ``x`` (B, T, Dt) with lengths (B,) on the CPU to ``h_T`` (B, d)."""
        mask = lengths_to_mask(lengths_cpu.to(x.device), x.size(1))  # (B, T)
        z = self.proj_in(zero_padding(x, mask))  # (B, T, d2)
        if self.positional_encoding:
            z = z + sinusoidal_positions(z.size(1), z.size(2), device=z.device, dtype=z.dtype)
        z = self.encoder(z, src_key_padding_mask=~mask)  # (B, T, d2)
        return self.proj(self.pool(z, mask))  # (B, d2) -> (B, d)


class CLTNet(nn.Module):
    """CLTNet: CNN + LSTM audio branch, transformer text branch, residual fusion head.

    Parameters
    ----------
    audio_dim : int
        Size of an audio frame.
    text_dim : int
        Size of a text token vector.
    n_classes : int
        Number of emotions.
    config : CLTNetConfig, optional
        Hyperparameters; the paper's by default.

    Notes
    -----
    ``forward(audio, audio_lengths, text, text_lengths)`` takes zero-padded batches
    ``(B, Ta, Da)`` and ``(B, Tt, Dt)`` with lengths ``(B,)`` (every length >= 1) and returns
    logits ``(B, n_classes)``. A unimodal CLTNet accepts both inputs and ignores the other one.
    """

    def __init__(
        self,
        *,
        audio_dim: int,
        text_dim: int,
        n_classes: int = 6,
        config: CLTNetConfig | None = None,
    ) -> None:
        super().__init__()
        check_dims(audio_dim=audio_dim, text_dim=text_dim, n_classes=n_classes)
        c = config if config is not None else CLTNetConfig()
        modalities = tuple(c.modalities)
        if not modalities or len(set(modalities)) != len(modalities) or not set(
            modalities
        ) <= set(MODALITIES):
            raise ValueError(
                f"modalities must be a non-empty subset of {MODALITIES}, got {c.modalities!r}"
            )
        self.config = c
        self.modalities = modalities
        self.audio = AudioBranch(audio_dim=audio_dim, config=c) if "audio" in modalities else None
        self.text = TextBranch(text_dim=text_dim, config=c) if "text" in modalities else None
        self.dropout = nn.Dropout(c.dropout)
        self.fuse = nn.Linear(len(modalities) * c.d, c.d)  # W_u, b_u
        self.hidden = nn.Linear(c.d, c.d)  # W_h, b_h
        self.classifier = nn.Linear(c.d, n_classes)  # W_c, b_c

    def forward(
        self, audio: Tensor, audio_lengths: Tensor, text: Tensor, text_lengths: Tensor
    ) -> Tensor:
        """Logits (B, n_classes) of a padded batch (see the class notes)."""
        parts = []
        if self.audio is not None:
            parts.append(self.audio(audio, check_lengths(audio_lengths, audio, "audio")))
        if self.text is not None:
            parts.append(self.text(text, check_lengths(text_lengths, text, "text")))
        h = self.fuse(self.dropout(torch.cat(parts, dim=-1)))  # (B, 2d) -> (B, d)
        return self.classifier(h + torch.relu(self.hidden(h)))  # (B, n_classes)
