"""The models, each declared once: name, classes, inputs, paper label, demo overrides, original recipe.

Importable without torch (the run configuration, :mod:`pddslib.config`, reads it to check names
and inputs before any run): the model and config classes are named by module and attribute and
imported only when a model is built (:mod:`pddslib.models.build`). A new model is one module
with its ``nn.Module`` and config dataclass plus one :func:`register` call (see the developers
page, "New model").
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any


@dataclass(frozen=True)
class ModelEntry:
    """One model of the companion.

    Attributes
    ----------
    name : str
        The name runs, the CLI and the notebooks use (``cltnet_audio``).
    module, model_class, config_class : str
        Where its ``nn.Module`` and its config dataclass live (``pddslib.models.cltnet``, ``CLTNet``,
        ``CLTNetConfig``).
    inputs : tuple of str
        The feature-store modalities it reads (an audio-only store trains only models with ``("audio",)``).
    label : str
        Its name in the paper's tables.
    fixed : mapping
        Config fields fixed by the name (``modalities`` of the unimodal CLTNets).
    demo_overrides : mapping
        Config fields used on the synthetic demo corpus only (narrow widths: the demo's CPU budget).
    original_recipe : mapping
        Training settings of its original paper where they differ from the shared defaults.
    """

    name: str
    module: str
    model_class: str
    config_class: str
    inputs: tuple[str, ...]
    label: str
    fixed: Mapping[str, Any] = field(default_factory=dict)
    demo_overrides: Mapping[str, Any] = field(default_factory=dict)
    original_recipe: Mapping[str, Any] = field(default_factory=dict)

    def classes(self) -> tuple[type, type]:
        """``(model class, config class)``, imported now (needs torch)."""
        mod = importlib.import_module(self.module)
        return getattr(mod, self.model_class), getattr(mod, self.config_class)


_MODELS: dict[str, ModelEntry] = {}
#: Every registered model by name (read-only view; :func:`register` adds one).
MODELS: Mapping[str, ModelEntry] = MappingProxyType(_MODELS)


def register(entry: ModelEntry) -> ModelEntry:
    """Add a model; a name registered twice is an error."""
    if entry.name in _MODELS:
        raise ValueError(f"model {entry.name!r} is already registered (by {_MODELS[entry.name].module})")
    _MODELS[entry.name] = entry
    return entry


def model_entry(name: str) -> ModelEntry:
    """The entry of ``name``; an unknown name is a ValueError listing the valid ones."""
    try:
        return _MODELS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown model {name!r}; valid names: {', '.join(_MODELS)}") from None


# -- the six models of Table 1 ---------------------------------------------------------------------
#: On the demo corpus every model runs narrow: the demo's features are 32-d frames and 24-d word
#: vectors (not 512/768), and at their original widths the six models would take several times the
#: demo's whole CPU budget (a full-width CLTNet run: 24 s; this one: under 2 s).
_NARROW_CLTNET = {"d1": 32, "d2": 32, "d": 32, "n_layers": 1, "n_heads": 2, "ff_dim": 64}
_CLTNET = ("pddslib.models.cltnet", "CLTNet", "CLTNetConfig")

register(ModelEntry("cltnet", *_CLTNET, ("audio", "text"), "CLTNet", demo_overrides=_NARROW_CLTNET))
register(ModelEntry("cltnet_audio", *_CLTNET, ("audio",), "CLTNet (audio only)", fixed={"modalities": ("audio",)},
                    demo_overrides=_NARROW_CLTNET))
register(ModelEntry("cltnet_text", *_CLTNET, ("text",), "CLTNet (text only)", fixed={"modalities": ("text",)},
                    demo_overrides=_NARROW_CLTNET))
# SpeechText: Keras ``Adam()`` (lr 1e-3, no weight decay), batch 64 in the authors' notebook.
register(ModelEntry("speechtext", "pddslib.models.speechtext", "SpeechText", "SpeechTextConfig", ("audio", "text"),
                    "SpeechText",
                    demo_overrides={"text_hidden": 64, "speech_hidden": 256, "branch_dim": 64, "fusion_dim": 64},
                    original_recipe={"weight_decay": 0.0}))
# MAT: the authors' IEMOCAP command (``--lr_base 0.0001 --batch_size 32``), plain Adam.
register(ModelEntry("mat", "pddslib.models.mat", "MAT", "MATConfig", ("audio", "text"), "MAT",
                    demo_overrides={"hidden": 32, "ff_dim": 64, "pooled_dim": 64, "n_layers": 1, "n_heads": 2},
                    original_recipe={"lr": 1e-4, "batch_size": 32, "weight_decay": 0.0}))
# MCSAN's paper gives no training settings that we could verify. On the demo without positions: at
# width 32 its sinusoidal encodings swamp the features and its baseline barely learnt in 5 epochs
# (WA 40 +- 11 over 3 seeds; 63 +- 1 without them; 58 +- 4 at full width).
register(ModelEntry("mcsan", "pddslib.models.mcsan", "MCSAN", "MCSANConfig", ("audio", "text"), "MCSAN",
                    demo_overrides={"conv_channels": 32, "hidden": 32, "n_heads": 4, "classifier_hidden": 32,
                                    "positional_encoding": False}))

__all__ = ["MODELS", "ModelEntry", "model_entry", "register"]
