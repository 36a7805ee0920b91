"""MAT, the Modulated Attention Transformer (Delbrouck, Tits and Dupont, NLPBT 2020).

Following the authors' code (``jbdel/modulated_fusion_transformer``, ``Model_MAT`` with their
IEMOCAP command line: 2 layers, 4 heads, hidden 512, feed-forward 1024, dropout 0.1 inside and
0.5 before the classifier):

* one LSTM per modality to ``hidden`` = 512;
* an encoder of ``n_layers`` self-attention layers on the text (their ``SA``: post-norm
  attention + feed-forward = PyTorch's ``TransformerEncoderLayer``);
* a decoder of ``n_layers`` layers in which the audio attends to itself, then to the *encoded*
  text (their ``SGA``: self-attention, guided attention with the text as keys/values,
  feed-forward, each post-norm = PyTorch's ``TransformerDecoderLayer`` without a causal mask);
* attention pooling of each modality (their ``AttFlat``, one glimpse: an MLP score
  ``hidden -> ff_dim -> 1`` with ReLU and dropout, a softmax over the valid steps) followed by a
  linear map to ``pooled_dim`` = 2 * hidden = 1024;
* the element-wise sum of the two, LayerNorm, dropout 0.5, linear classifier.

No positional encodings, as in the original: the LSTMs give order information.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor, nn

from .common import (
    AttentionPooling,
    check_dims,
    check_lengths,
    lengths_to_mask,
    run_lstm,
)


@dataclass
class MATConfig:
    """Hyperparameters of :class:`MAT` (defaults: the authors' IEMOCAP command line)."""

    # --hidden_size 512: LSTM outputs and transformer width.
    hidden: int = 512
    # --layer 2: encoder layers on the text, and as many decoder layers on the audio.
    n_layers: int = 2
    # --multi_head 4
    n_heads: int = 4
    # --ff_size 1024: feed-forward width, also the hidden size of the pooling MLP (as in AttFlat).
    ff_dim: int = 1024
    # AttFlat maps each pooled modality to 2 * hidden_size before the sum.
    pooled_dim: int = 1024
    # --dropout_r 0.1: inside attention, feed-forward and pooling MLP.
    dropout: float = 0.1
    # --dropout_o 0.5: after the LayerNorm, before the classifier.
    output_dropout: float = 0.5


class MAT(nn.Module):
    """Modulated fusion transformer: text encoder, audio decoder attending to the text.

    Parameters
    ----------
    audio_dim : int
        Size of an audio frame.
    text_dim : int
        Size of a text token vector.
    n_classes : int
        Number of emotions.
    config : MATConfig, optional

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
        config: MATConfig | None = None,
    ) -> None:
        super().__init__()
        check_dims(audio_dim=audio_dim, text_dim=text_dim, n_classes=n_classes)
        c = config if config is not None else MATConfig()
        self.config = c
        self.text_lstm = nn.LSTM(text_dim, c.hidden, batch_first=True)
        self.audio_lstm = nn.LSTM(audio_dim, c.hidden, batch_first=True)
        enc_layer = nn.TransformerEncoderLayer(
            c.hidden, c.n_heads, dim_feedforward=c.ff_dim, dropout=c.dropout, batch_first=True
        )
        self.text_encoder = nn.TransformerEncoder(enc_layer, c.n_layers, enable_nested_tensor=False)
        dec_layer = nn.TransformerDecoderLayer(
            c.hidden, c.n_heads, dim_feedforward=c.ff_dim, dropout=c.dropout, batch_first=True
        )
        self.audio_decoder = nn.TransformerDecoder(dec_layer, c.n_layers)
        self.text_pool = AttentionPooling(dim=c.hidden, hidden=c.ff_dim, dropout=c.dropout)
        self.audio_pool = AttentionPooling(dim=c.hidden, hidden=c.ff_dim, dropout=c.dropout)
        self.text_merge = nn.Linear(c.hidden, c.pooled_dim)
        self.audio_merge = nn.Linear(c.hidden, c.pooled_dim)
        self.norm = nn.LayerNorm(c.pooled_dim)
        self.dropout = nn.Dropout(c.output_dropout)
        self.classifier = nn.Linear(c.pooled_dim, n_classes)

    def forward(
        self, audio: Tensor, audio_lengths: Tensor, text: Tensor, text_lengths: Tensor
    ) -> Tensor:
        """Logits (B, n_classes) of a padded batch."""
        a_len = check_lengths(audio_lengths, audio, "audio")
        t_len = check_lengths(text_lengths, text, "text")
        a_mask = lengths_to_mask(a_len.to(audio.device), audio.size(1))  # (B, Ta)
        t_mask = lengths_to_mask(t_len.to(text.device), text.size(1))  # (B, Tt)

        t = run_lstm(self.text_lstm, text, t_len)  # (B, Tt, H)
        a = run_lstm(self.audio_lstm, audio, a_len)  # (B, Ta, H)
        t = self.text_encoder(t, src_key_padding_mask=~t_mask)  # (B, Tt, H)
        a = self.audio_decoder(
            a, t, tgt_key_padding_mask=~a_mask, memory_key_padding_mask=~t_mask
        )  # (B, Ta, H)

        h_t = self.text_merge(self.text_pool(t, t_mask))  # (B, H) -> (B, 2H)
        h_a = self.audio_merge(self.audio_pool(a, a_mask))  # (B, H) -> (B, 2H)
        h = self.dropout(self.norm(h_t + h_a))  # (B, 2H)
        return self.classifier(h)  # (B, n_classes)
