"""The method and nothing else: labels and vote policies, pair counts, Eq. (1) smoothing, Eqs. (2)-(3)
mixup, provenance, the samplers (imbalanced-learn style) and their controls. Needs numpy and pandas
only; the torch ``Dataset`` (:mod:`pddslib.pdds.dataset`) is imported when first used.
"""

from ..util.lazy import exports as _exports
from .controls import FlatPDDS, PlainMixup, RandomOversampling
from .counts import CountTable
from .labels import CLASSES, VotePolicy
from .mixup import MixedSamples, mix_items, mix_labels, mix_padded, mix_samples, mix_sequences
from .registry import CONTROLS, REGISTRY, STRATEGIES, Strategy, all_strategies, make_resampler, plan_for
from .resample import PDDS, ClearBalancing, HardLabelsWarning, NoResampling, Resampler, UniformBalancing
from .smoothing import Plan, kernel_weights, pdds_plan, smooth_pairs

_EAGER = ["CLASSES", "CONTROLS", "REGISTRY", "Strategy", "ClearBalancing", "CountTable", "FlatPDDS",
          "HardLabelsWarning", "MixedSamples", "NoResampling", "PDDS", "Plan", "PlainMixup", "RandomOversampling",
          "Resampler", "STRATEGIES", "UniformBalancing", "VotePolicy", "all_strategies", "kernel_weights",
          "make_resampler", "mix_items", "mix_labels", "mix_padded", "mix_samples", "mix_sequences", "pdds_plan",
          "plan_for", "smooth_pairs"]
__getattr__, _dir, _lazy = _exports(__name__, {"PDDSDataset": "dataset", "PaddedBatch": "dataset",
                                               "pad_collate": "dataset"})
__all__ = sorted(_EAGER + _lazy)


def __dir__() -> list[str]:
    return __all__
