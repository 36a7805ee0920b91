"""Text: BERT's last hidden layer, one vector per word piece (paper, Sec. 3.2: 768-d, bert-base-uncased).

Decisions
---------
- The model sees the usual input, ``[CLS] word pieces [SEP]``, so every word piece is embedded in
  its normal context; the stored sequence is the **word pieces only**: the ``[CLS]`` and ``[SEP]``
  vectors are dropped (positions the tokenizer marks as special tokens). The paper embeds "each
  word"; the pieces are its unit, and a sentence vector is not what CLTNet consumes.
- An **empty transcript** (or one with no word piece) keeps the ``[CLS]`` vector, so the sequence
  has one frame (the store needs at least one); the extraction counts and reports such utterances.
- A transcript longer than the model's maximum input (512 pieces for BERT; IEMOCAP's longest is far
  shorter) is truncated to it, with a warning that counts such utterances.
- Transcripts are used verbatim (IEMOCAP's ``[LAUGHTER]``-style marks included); the tokenizer
  (``bert-base-uncased``: lower-casing, accent stripping) does the rest.

Batches are padded on the right with an attention mask, which leaves the valid positions unchanged
(up to float noise); they are formed by length (see :mod:`pddslib.features.extract`).
Any BERT-family checkpoint (AutoTokenizer + AutoModel), by hub name or local folder, works.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .hub import load_pretrained


@dataclass(frozen=True)
class Tokens:
    """A tokenised utterance: model input ids and which positions are kept as features."""

    ids: tuple[int, ...]        # with special tokens, as the model sees them
    keep: tuple[int, ...]       # positions whose vectors are stored
    empty: bool                 # no word piece: the [CLS] vector is kept
    truncated: bool


class TextEncoder:
    """A BERT-family encoder: texts -> ``(n_pieces, dim)`` last-hidden-layer vectors.

    Build it with :meth:`from_pretrained`; :meth:`tokenize` then :meth:`encode` (or call it on texts).

    Parameters
    ----------
    model : transformers.PreTrainedModel
        A BERT-family encoder (its output has ``last_hidden_state``).
    tokenizer : transformers.PreTrainedTokenizerBase
    device : str or torch.device
    """

    def __init__(self, model: Any, tokenizer: Any, *, device: Any = "cpu") -> None:
        import torch

        self.model = model.eval()
        self.tokenizer = tokenizer
        self.device = torch.device(device)
        self.model.to(self.device)
        limits = [getattr(model.config, "max_position_embeddings", None), getattr(tokenizer, "model_max_length", None)]
        limits = [int(x) for x in limits if x and x < 1_000_000]  # tokenizers say 1e30 for "no limit"
        self.max_length = min(limits) if limits else 512
        if tokenizer.pad_token_id is None:
            raise ValueError(f"tokenizer {type(tokenizer).__name__} has no padding token; "
                             f"a BERT-family tokenizer is expected")

    @classmethod
    def from_pretrained(cls, name: str | Path, *, device: Any = "auto") -> TextEncoder:
        """Load tokenizer and model (hub name or local folder)."""
        from transformers import AutoModel, AutoTokenizer

        from ..util.device import resolve_device

        tok = load_pretrained(AutoTokenizer.from_pretrained, name, "text tokenizer")
        model = load_pretrained(AutoModel.from_pretrained, name, "text model")
        if hasattr(model, "feature_extractor") or not hasattr(model.config, "hidden_size"):
            kind = getattr(model.config, "model_type", type(model).__name__)
            raise ValueError(f"text model {str(name)!r} is a {kind!r} model; expected a BERT-family text encoder")
        return cls(model, tok, device=resolve_device(device))

    @property
    def dim(self) -> int:
        return int(self.model.config.hidden_size)

    def tokenize(self, texts: Sequence[str]) -> list[Tokens]:
        """Tokenise with special tokens; mark the word-piece positions to keep."""
        texts = list(texts)
        enc = self.tokenizer(texts, add_special_tokens=True, return_special_tokens_mask=True, verbose=False)
        out = []
        for text, ids, special in zip(texts, enc["input_ids"], enc["special_tokens_mask"]):
            truncated = len(ids) > self.max_length
            if truncated:
                cut = self.tokenizer(text, add_special_tokens=True, truncation=True, max_length=self.max_length,
                                     return_special_tokens_mask=True)
                ids, special = cut["input_ids"], cut["special_tokens_mask"]
            keep = tuple(i for i, s in enumerate(special) if not s)
            empty = not keep
            if empty:
                keep = (0,)  # the [CLS] position
            out.append(Tokens(tuple(ids), keep, empty, truncated))
        return out

    def encode(self, tokens: Sequence[Tokens]) -> list[np.ndarray]:
        """Last hidden layer at the kept positions, one ``(len(keep), dim)`` float32 array per item."""
        import torch

        from ..util.device import autocast_dtype

        if not tokens:
            return []
        width = max(len(t.ids) for t in tokens)
        ids = torch.full((len(tokens), width), int(self.tokenizer.pad_token_id), dtype=torch.long)
        mask = torch.zeros((len(tokens), width), dtype=torch.long)
        for i, t in enumerate(tokens):
            ids[i, :len(t.ids)] = torch.tensor(t.ids)
            mask[i, :len(t.ids)] = 1
        amp = autocast_dtype(self.device)
        with torch.inference_mode(), torch.autocast(self.device.type, dtype=amp, enabled=amp is not None):
            out = self.model(input_ids=ids.to(self.device), attention_mask=mask.to(self.device))
            hidden = out.last_hidden_state.float().cpu().numpy()  # (B, L, H)
        return [np.ascontiguousarray(hidden[i, list(t.keep)]) for i, t in enumerate(tokens)]

    def __call__(self, texts: Sequence[str]) -> list[np.ndarray]:
        return self.encode(self.tokenize(texts))
