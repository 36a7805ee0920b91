"""The models of Table 1 behind one registry (:mod:`pddslib.models.registry`: each model declared once).

Every model maps a zero-padded batch to logits::

    logits = model(audio, audio_lengths, text, text_lengths)
    # audio (B, Ta, Da) float, audio_lengths (B,) int; text (B, Tt, Dt), text_lengths (B,)
    # logits (B, n_classes); masks come from the lengths only, every length >= 1

>>> from pddslib.models import build_model, count_parameters
>>> model = build_model("cltnet", audio_dim=512, text_dim=768, dropout=0.2)
>>> count_parameters(model) > 0
True

``cltnet_audio`` and ``cltnet_text`` are CLTNet with one branch; they accept both inputs and
ignore the other modality (each registry entry's ``inputs`` says what the model reads: on an
audio-only store the runner passes a placeholder text batch, and only ``cltnet_audio`` runs); its
``original_recipe`` holds the original paper's training settings where they differ from the shared
defaults (Adam, lr 1e-3, weight decay 1e-5, batch 64). The registry imports no torch; a name's
module is imported when the name is first used.
"""

from typing import Any

from ..util.lazy import exports as _exports

_NAMES = {
    "MODELS": "registry", "ModelEntry": "registry", "model_entry": "registry", "register": "registry",
    "CLTNet": "cltnet", "CLTNetConfig": "cltnet", "MAT": "mat", "MATConfig": "mat", "MCSAN": "mcsan",
    "MCSANConfig": "mcsan", "SpeechText": "speechtext", "SpeechTextConfig": "speechtext",
    "build_model": "build", "count_parameters": "build", "model_config": "build",
}
_lazy = _exports(__name__, _NAMES)[0]
#: Views of the registry, built when asked for (as :mod:`pddslib.config` builds them).
_VIEWS = ("MODEL_NAMES", "ORIGINAL_RECIPES")
__all__ = sorted([*_NAMES, *_VIEWS])


def __getattr__(name: str) -> Any:
    if name == "MODEL_NAMES":
        from .registry import MODELS

        return tuple(MODELS)
    if name == "ORIGINAL_RECIPES":
        from .registry import MODELS

        return {n: dict(e.original_recipe) for n, e in MODELS.items() if e.original_recipe}
    return _lazy(name)


def __dir__() -> list[str]:
    return __all__
