"""MCSAN, the multimodal cross- and self-attention network (Sun, Liu, Tao and Lian, ICASSP 2021).

There is no public code; this follows the paper's description and fills its gaps (the choices
are marked "silent" in :class:`MCSANConfig` and listed on the book's Decisions page):

* audio: ``n_conv_blocks`` = 2 blocks of Conv1D(kernel 3, "same" padding) -> ReLU ->
  MaxPool(3, stride 3), then a BiLSTM whose forward and backward outputs are averaged
  (``hidden`` = 128). Each pooling divides the length by 3, rounded up: a tail of one or two
  frames forms a last, shorter window, so no utterance loses frames or becomes empty;
* text: a BiLSTM with averaged directions (``hidden`` = 128); both BiLSTMs are
  :class:`~pddslib.models.common.BiLSTM`, whose backward direction starts at each sequence's
  last valid step;
* sinusoidal positional encodings added to both sequences;
* a cross-attention module (audio attends to text and text attends to audio) beside one
  self-attention module per modality, each one layer of multi-head attention (8 heads) with a
  residual connection and LayerNorm, all four reading the same (BiLSTM + position) sequences;
* global max pooling over the valid steps of the four outputs, concatenation (4 * 128) and a
  fully-connected classifier (one ReLU hidden layer).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .common import (
    BiLSTM,
    check_dims,
    check_lengths,
    lengths_to_mask,
    masked_max,
    same_conv1d,
    sinusoidal_positions,
    zero_padding,
)


@dataclass
class MCSANConfig:
    """Hyperparameters of :class:`MCSAN` (the paper's where given, else marked silent)."""

    # Two blocks of Conv1D(k=3) + MaxPool(3) on the audio.
    n_conv_blocks: int = 2
    conv_kernel: int = 3
    pool: int = 3
    # Silent: channels of the convolutions; the model width d = 128 is reused.
    conv_channels: int = 128
    # d = 128: BiLSTM hidden units per direction (directions averaged) and attention width.
    hidden: int = 128
    # 8 heads in every attention module.
    n_heads: int = 8
    # Silent (brief: learned or sinusoidal): sinusoidal, no length limit and no parameters.
    # False leaves only the BiLSTMs' order information.
    positional_encoding: bool = True
    # Silent: hidden layer of the classifier (d = 128, ReLU).
    classifier_hidden: int = 128
    # Silent: modest dropout on attention weights, attention outputs and the classifier.
    dropout: float = 0.1


def pooled_lengths(lengths: Tensor, pool: int, n_blocks: int) -> Tensor:
    """Lengths after ``n_blocks`` max poolings of size and stride ``pool`` (rounded up)."""
    for _ in range(n_blocks):
        lengths = (lengths + pool - 1) // pool
    return lengths


class AttentionModule(nn.Module):
    """One multi-head attention layer with a residual connection and LayerNorm.

    ``LayerNorm(query + Dropout(MHA(query, context, context)))``; with ``context = query`` it is
    self-attention, otherwise cross-attention (the query modality attends to the other).

    Parameters
    ----------
    dim : int
        Width of query and context.
    n_heads : int
    dropout : float
        On the attention weights and on the attention output.
    """

    def __init__(self, *, dim: int, n_heads: int, dropout: float) -> None:
        super().__init__()
        self.attn = nn.MultiheadAttention(dim, n_heads, dropout=dropout, batch_first=True)
        self.dropout = nn.Dropout(dropout)
        self.norm = nn.LayerNorm(dim)

    def forward(self, query: Tensor, context: Tensor, context_mask: Tensor) -> Tensor:
        """``query`` (B, Tq, d) attends to the valid steps of ``context`` (B, Tc, d)."""
        out, _ = self.attn(
            query, context, context, key_padding_mask=~context_mask, need_weights=False
        )  # (B, Tq, d)
        return self.norm(query + self.dropout(out))  # (B, Tq, d)


class MCSAN(nn.Module):
    """Multimodal cross- and self-attention network.

    Parameters
    ----------
    audio_dim : int
        Size of an audio frame.
    text_dim : int
        Size of a text token vector.
    n_classes : int
        Number of emotions.
    config : MCSANConfig, optional

    Notes
    -----
    Same forward interface as :class:`~pddslib.models.cltnet.CLTNet`; returns logits.
    """

    def __init__(
        self,
        *,
        audio_dim: int,
        text_dim: int,
        n_classes: int = 6,
        config: MCSANConfig | None = None,
    ) -> None:
        super().__init__()
        check_dims(audio_dim=audio_dim, text_dim=text_dim, n_classes=n_classes)
        c = config if config is not None else MCSANConfig()
        self.config = c
        self.convs = nn.ModuleList(
            nn.Conv1d(
                audio_dim if i == 0 else c.conv_channels,
                c.conv_channels,
                kernel_size=c.conv_kernel,
            )
            for i in range(c.n_conv_blocks)
        )
        audio_in = c.conv_channels if c.n_conv_blocks else audio_dim
        self.audio_lstm = BiLSTM(input_size=audio_in, hidden_size=c.hidden)
        self.text_lstm = BiLSTM(input_size=text_dim, hidden_size=c.hidden)
        kw = dict(dim=c.hidden, n_heads=c.n_heads, dropout=c.dropout)
        self.audio_self = AttentionModule(**kw)
        self.text_self = AttentionModule(**kw)
        self.audio_to_text = AttentionModule(**kw)  # audio queries, text keys/values
        self.text_to_audio = AttentionModule(**kw)  # text queries, audio keys/values
        self.classifier = nn.Sequential(
            nn.Linear(4 * c.hidden, c.classifier_hidden),
            nn.ReLU(),
            nn.Dropout(c.dropout),
            nn.Linear(c.classifier_hidden, n_classes),
        )

    def _conv_blocks(self, x: Tensor, lengths_cpu: Tensor) -> tuple[Tensor, Tensor]:
        """Conv1D -> ReLU -> MaxPool blocks; returns (B, T', C) and the new CPU lengths."""
        pool = self.config.pool
        for conv in self.convs:
            mask = lengths_to_mask(lengths_cpu.to(x.device), x.size(1))  # (B, T)
            # ReLU outputs are >= 0, so zeros on the padding never win a max over a window
            # that holds at least one valid step: the pooling sees only the valid frames.
            y = zero_padding(torch.relu(same_conv1d(x, conv, mask)), mask)  # (B, T, C)
            y = F.pad(y, (0, 0, 0, (-y.size(1)) % pool))  # (B, ceil(T/pool) * pool, C)
            x = F.max_pool1d(y.transpose(1, 2), pool).transpose(1, 2)  # (B, ceil(T/pool), C)
            lengths_cpu = pooled_lengths(lengths_cpu, pool, 1)
        return x, lengths_cpu

    @staticmethod
    def _bilstm(lstm: BiLSTM, x: Tensor, lengths_cpu: Tensor) -> Tensor:
        """BiLSTM on the valid steps, forward and backward outputs averaged: (B, T, hidden)."""
        fw, bw = lstm(x, lengths_cpu)  # (B, T, hidden) each
        return (fw + bw) / 2  # (B, T, hidden)

    def forward(
        self, audio: Tensor, audio_lengths: Tensor, text: Tensor, text_lengths: Tensor
    ) -> Tensor:
        """Logits (B, n_classes) of a padded batch."""
        a_len = check_lengths(audio_lengths, audio, "audio")
        t_len = check_lengths(text_lengths, text, "text")

        a, a_len = self._conv_blocks(audio, a_len)  # (B, Ta', C)
        a_mask = lengths_to_mask(a_len.to(a.device), a.size(1))  # (B, Ta')
        t_mask = lengths_to_mask(t_len.to(text.device), text.size(1))  # (B, Tt)
        a = self._bilstm(self.audio_lstm, a, a_len)  # (B, Ta', d)
        t = self._bilstm(self.text_lstm, text, t_len)  # (B, Tt, d)
        if self.config.positional_encoding:
            a = a + sinusoidal_positions(a.size(1), a.size(2), device=a.device, dtype=a.dtype)
            t = t + sinusoidal_positions(t.size(1), t.size(2), device=t.device, dtype=t.dtype)

        pooled = [
            masked_max(self.audio_self(a, a, a_mask), a_mask),  # (B, d)
            masked_max(self.audio_to_text(a, t, t_mask), a_mask),  # (B, d)
            masked_max(self.text_self(t, t, t_mask), t_mask),  # (B, d)
            masked_max(self.text_to_audio(t, a, a_mask), t_mask),  # (B, d)
        ]
        return self.classifier(torch.cat(pooled, dim=-1))  # (B, 4d) -> (B, n_classes)
