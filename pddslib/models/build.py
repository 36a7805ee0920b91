"""Building a registered model (:mod:`pddslib.models.registry`) from its name and overrides (needs torch)."""

from __future__ import annotations

import dataclasses
from typing import Any

from torch import nn

from .registry import model_entry


def _entry(name: str) -> tuple[type[nn.Module], type, dict[str, Any]]:
    entry = model_entry(name)
    model_cls, config_cls = entry.classes()
    return model_cls, config_cls, dict(entry.fixed)


def model_config(name: str, **overrides: Any) -> Any:
    """The configuration dataclass of a model, with overrides applied.

    Parameters
    ----------
    name : str
        A name of :data:`pddslib.models.registry.MODELS`.
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
        A name of :data:`pddslib.models.registry.MODELS`.
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


__all__ = ["build_model", "count_parameters", "model_config"]
