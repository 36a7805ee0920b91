"""SpeechText (Atmaja, Shirai and Akagi, APSIPA ASC 2019), their best model ("Model 3").

Original (Keras): text = word indices -> Embedding -> LSTM(256) -> LSTM(256) (last state) ->
Dense(256); speech = 34 hand-crafted features per 200 ms frame, exactly 100 frames ->
Flatten -> Dense(1024, ReLU) -> Dropout(0.2) -> Dense(256); Concat -> Dense(256, ReLU) ->
Dense(C, softmax).

Here (Decisions page, "Models") the inputs are the shared data2vec frames and BERT tokens:

* text: the BERT vectors take the place of the embedding layer; the second LSTM's state at the
  last *valid* token is used.
* speech: a linear adapter maps each data2vec frame to ``audio_frame_dim`` = 34 values (the
  original per-frame size), and the valid frames are brought to exactly ``audio_frames`` = 100
  by :func:`pool_valid_frames`, so the flatten and the dense layers keep their original sizes.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from .common import (
    check_dims,
    check_lengths,
    last_valid,
    lengths_to_mask,
    run_lstm,
    zero_padding,
)


@dataclass
class SpeechTextConfig:
    """Hyperparameters of :class:`SpeechText` (defaults: the original's best model)."""

    # The original speech input is exactly 100 frames; kept, so the speech MLP keeps its size.
    audio_frames: int = 100
    # Values per frame after the adapter: 34, the size of the original hand-crafted frame.
    audio_frame_dim: int = 34
    # Two stacked LSTMs of 256 units on the text.
    text_hidden: int = 256
    text_layers: int = 2
    # Speech MLP: Flatten -> Dense(1024, ReLU) -> Dropout(0.2) -> Dense(256).
    speech_hidden: int = 1024
    # Size of each branch output (the text and speech Dense(256)); both are linear, as original.
    branch_dim: int = 256
    # The fusion layer Dense(256, ReLU) before the classifier.
    fusion_dim: int = 256
    # The original's only dropout, after the first speech dense layer.
    dropout: float = 0.2


def pool_valid_frames(x: Tensor, lengths: Tensor, n_out: int) -> Tensor:
    """Bring the valid frames of each sequence to exactly ``n_out`` frames.

    A sequence of ``L >= n_out`` valid frames is adaptively average-pooled, as
    ``torch.nn.functional.adaptive_avg_pool1d(x[:L].T, n_out)`` (output frame ``i`` averages
    input frames ``floor(i L / n)`` to ``ceil((i + 1) L / n) - 1``). A shorter sequence keeps
    its frames unchanged and is zero-padded at the end to ``n_out``, as the original padded its
    short utterances, rather than stretched by repeating frames (which would invent a slower
    speaking rate). Padded input frames never contribute.

    Parameters
    ----------
    x : torch.Tensor, shape (B, T, D)
    lengths : torch.Tensor, shape (B,)
        Valid lengths, on the device of ``x``.
    n_out : int

    Returns
    -------
    torch.Tensor, shape (B, n_out, D)
    """
    length = lengths.to(x.device, torch.int64).unsqueeze(1)  # (B, 1)
    i = torch.arange(n_out, device=x.device).unsqueeze(0)  # (1, n)
    start = (i * length) // n_out  # (B, n) floor(i L / n)
    end = ((i + 1) * length + n_out - 1) // n_out  # (B, n) ceil((i + 1) L / n)
    short = length < n_out  # (B, 1)
    start = torch.where(short, i, start)  # (B, n) frame i itself ...
    end = torch.where(short, torch.where(i < length, i + 1, i), end)  # ... or nothing if i >= L
    t = torch.arange(x.size(1), device=x.device).view(1, 1, -1)  # (1, 1, T)
    weight = ((t >= start.unsqueeze(-1)) & (t < end.unsqueeze(-1))).to(x.dtype)  # (B, n, T)
    weight = weight / weight.sum(-1, keepdim=True).clamp(min=1.0)  # rows average their frames
    return torch.bmm(weight, x)  # (B, n, D)


class SpeechText(nn.Module):
    """Atmaja et al.'s LSTM text + dense speech network on data2vec + BERT features.

    Parameters
    ----------
    audio_dim : int
        Size of an audio frame.
    text_dim : int
        Size of a text token vector.
    n_classes : int
        Number of emotions.
    config : SpeechTextConfig, optional

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
        config: SpeechTextConfig | None = None,
    ) -> None:
        super().__init__()
        check_dims(audio_dim=audio_dim, text_dim=text_dim, n_classes=n_classes)
        c = config if config is not None else SpeechTextConfig()
        self.config = c
        # Text branch.
        self.text_lstm = nn.LSTM(
            text_dim, c.text_hidden, num_layers=c.text_layers, batch_first=True
        )
        self.text_out = nn.Linear(c.text_hidden, c.branch_dim)
        # Speech branch.
        self.audio_adapter = nn.Linear(audio_dim, c.audio_frame_dim)
        self.speech = nn.Sequential(
            nn.Flatten(),
            nn.Linear(c.audio_frames * c.audio_frame_dim, c.speech_hidden),
            nn.ReLU(),
            nn.Dropout(c.dropout),
            nn.Linear(c.speech_hidden, c.branch_dim),
        )
        # Fusion and classifier.
        self.fusion = nn.Sequential(nn.Linear(2 * c.branch_dim, c.fusion_dim), nn.ReLU())
        self.classifier = nn.Linear(c.fusion_dim, n_classes)

    def forward(
        self, audio: Tensor, audio_lengths: Tensor, text: Tensor, text_lengths: Tensor
    ) -> Tensor:
        """Logits (B, n_classes) of a padded batch."""
        a_len = check_lengths(audio_lengths, audio, "audio")
        t_len = check_lengths(text_lengths, text, "text")
        out = run_lstm(self.text_lstm, text, t_len)  # (B, Tt, H), top layer
        h_text = self.text_out(last_valid(out, t_len))  # after the last valid token (B, 256)

        a_mask = lengths_to_mask(a_len.to(audio.device), audio.size(1))  # (B, Ta)
        frames = self.audio_adapter(zero_padding(audio, a_mask))  # (B, Ta, 34)
        frames = pool_valid_frames(frames, a_len.to(audio.device), self.config.audio_frames)
        h_speech = self.speech(frames)  # (B, 100, 34) -> (B, 3400) -> (B, 256)

        h = self.fusion(torch.cat([h_text, h_speech], dim=-1))  # (B, 512) -> (B, 256)
        return self.classifier(h)  # (B, n_classes)
