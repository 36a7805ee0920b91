"""The models of Table 1 behind one registry.

Every model maps a zero-padded batch to logits::

    logits = model(audio, audio_lengths, text, text_lengths)
    # audio (B, Ta, Da) float, audio_lengths (B,) int; text (B, Tt, Dt), text_lengths (B,)
    # logits (B, n_classes); masks come from the lengths only, every length >= 1

>>> from pddslib.models import build_model, count_parameters
>>> model = build_model("cltnet", audio_dim=512, text_dim=768, dropout=0.2)
>>> count_parameters(model) > 0
True

``cltnet_audio`` and ``cltnet_text`` are CLTNet with one branch; they accept both inputs and
ignore the other modality (:data:`pddslib.config.MODEL_INPUTS` says what each model reads: on an
audio-only store the runner passes a placeholder text batch, and only ``cltnet_audio`` runs). :data:`ORIGINAL_RECIPES` holds the original papers' training settings
where they differ from the shared defaults (Adam, lr 1e-3, weight decay 1e-5, batch 64); both
lists live in :mod:`pddslib.config` (importable without torch).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from torch import nn

from ..config import MODEL_INPUTS, MODEL_NAMES, ORIGINAL_RECIPES
from .cltnet import CLTNet, CLTNetConfig
from .mat import MAT, MATConfig
from .mcsan import MCSAN, MCSANConfig
from .speechtext import SpeechText, SpeechTextConfig

__all__ = [
    "MODEL_NAMES",
    "ORIGINAL_RECIPES",
    "CLTNet",
    "CLTNetConfig",
    "MAT",
    "MATConfig",
    "MCSAN",
    "MCSANConfig",
    "SpeechText",
    "SpeechTextConfig",
    "build_model",
    "count_parameters",
    "model_config",
]

# name -> (model class, config class, config fields fixed by the name)
_REGISTRY: dict[str, tuple[type[nn.Module], type, dict[str, Any]]] = {
    "cltnet": (CLTNet, CLTNetConfig, {}),
    "cltnet_audio": (CLTNet, CLTNetConfig, {"modalities": MODEL_INPUTS["cltnet_audio"]}),
    "cltnet_text": (CLTNet, CLTNetConfig, {"modalities": MODEL_INPUTS["cltnet_text"]}),
    "speechtext": (SpeechText, SpeechTextConfig, {}),
    "mat": (MAT, MATConfig, {}),
    "mcsan": (MCSAN, MCSANConfig, {}),
}

if tuple(_REGISTRY) != MODEL_NAMES or tuple(MODEL_INPUTS) != MODEL_NAMES:  # pragma: no cover - a developer's mistake
    raise RuntimeError(f"pddslib.models registry {tuple(_REGISTRY)} differs from config.MODEL_NAMES {MODEL_NAMES} "
                       f"or config.MODEL_INPUTS {tuple(MODEL_INPUTS)}")


def _entry(name: str) -> tuple[type[nn.Module], type, dict[str, Any]]:
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown model {name!r}; valid names: {', '.join(MODEL_NAMES)}"
        ) from None


def model_config(name: str, **overrides: Any) -> Any:
    """The configuration dataclass of a model, with overrides applied.

    Parameters
    ----------
    name : str
        One of :data:`MODEL_NAMES`.
    **overrides
        Fields of the model's config, e.g. ``dropout=0.1``.

    Returns
    -------
    dataclass instance
        E.g. a :class:`CLTNetConfig`; ``dataclasses.asdict`` gives a loggable dict.

    Raises
    ------
    ValueError
        For an unknown name, an unknown field, or a field fixed by the name (``modalities`` of
        ``cltnet_audio`` / ``cltnet_text``); the message lists the valid choices.
    """
    _, config_cls, fixed = _entry(name)
    fields = [f.name for f in dataclasses.fields(config_cls)]
    unknown = sorted(set(overrides) - set(fields))
    if unknown:
        raise ValueError(
            f"unknown override(s) {', '.join(unknown)} for model {name!r}; "
            f"valid fields: {', '.join(f for f in fields if f not in fixed)}"
        )
    clash = sorted(set(overrides) & set(fixed))
    if clash:
        raise ValueError(
            f"{', '.join(clash)} is fixed by the model name {name!r} "
            f"({', '.join(f'{k}={v!r}' for k, v in fixed.items())}); use 'cltnet' to choose it"
        )
    return config_cls(**fixed, **overrides)


def build_model(
    name: str, *, audio_dim: int, text_dim: int, n_classes: int = 6, **overrides: Any
) -> nn.Module:
    """Build a registered model.

    Parameters
    ----------
    name : str
        One of :data:`MODEL_NAMES`.
    audio_dim, text_dim : int
        Sizes of an audio frame and of a text token vector (512 and 768 for data2vec and BERT).
    n_classes : int
        Number of emotions.
    **overrides
        Fields of the model's config dataclass (see :func:`model_config`).

    Returns
    -------
    torch.nn.Module
        ``forward(audio, audio_lengths, text, text_lengths) -> logits (B, n_classes)``.
    """
    model_cls, _, _ = _entry(name)
    config = model_config(name, **overrides)
    return model_cls(audio_dim=audio_dim, text_dim=text_dim, n_classes=n_classes, config=config)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters (``requires_grad``) of ``model``."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
