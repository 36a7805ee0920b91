"""The strategy registry: every sampler by name, the paper's and the controls.

It lives apart from the sampler classes so that :mod:`pddslib.pdds.controls` (which subclasses
them) and the registry (which names both) never import each other.
"""

from __future__ import annotations

from typing import Any, Callable

from .controls import CONTROLS
from .counts import CountTable
from .resample import (
    PDDS,
    STRATEGIES,
    ClearBalancing,
    NoResampling,
    Resampler,
    UniformBalancing,
)
from .smoothing import Plan

_REGISTRY: dict[str, Callable[..., Resampler]] = {
    "none": NoResampling,
    "happiness": ClearBalancing,
    "uniform": UniformBalancing,
    "pdds": PDDS,
    **CONTROLS,
}


def all_strategies() -> tuple[str, ...]:
    """The paper's strategies (:data:`STRATEGIES`) and the controls of :mod:`pddslib.pdds.controls`."""
    return STRATEGIES + tuple(CONTROLS)


def make_resampler(strategy: str, **params: Any) -> Resampler:
    """Build a resampler by strategy name (:func:`all_strategies`).

    Parameters that a strategy does not take are an error, so a typo cannot pass silently.
    """
    registry = _REGISTRY
    if strategy not in registry:
        raise ValueError(f"unknown strategy {strategy!r}; expected one of {all_strategies()}")
    try:
        return registry[strategy](**params)
    except TypeError as err:
        raise TypeError(f"strategy {strategy!r}: {err}") from None


def plan_for(strategy: str, counts: CountTable, **params: Any) -> Plan:
    """The plan of a strategy on given counts (e.g. the packaged IEMOCAP counts)."""
    return make_resampler(strategy, classes=counts.classes, **params).plan(counts)
