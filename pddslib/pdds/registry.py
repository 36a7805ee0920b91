"""The strategy registry: every sampler by name, the paper's and the controls.

It lives apart from the sampler classes so that :mod:`pddslib.pdds.controls` (which subclasses
them) and the registry (which names both) never import each other.
"""

from __future__ import annotations

from typing import Any, Mapping

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

_REGISTRY: dict[str, type[Resampler]] = {
    "none": NoResampling,
    "happiness": ClearBalancing,
    "uniform": UniformBalancing,
    "pdds": PDDS,
    **CONTROLS,
}


def all_strategies() -> tuple[str, ...]:
    """The paper's strategies (:data:`STRATEGIES`) and the controls of :mod:`pddslib.pdds.controls`."""
    return STRATEGIES + tuple(CONTROLS)


def sampler_class(strategy: str) -> type[Resampler]:
    """The sampler class of a strategy (its constructor, ``_parameter_constraints``, ...)."""
    if strategy not in _REGISTRY:
        raise ValueError(f"unknown strategy {strategy!r}; expected one of {all_strategies()}")
    return _REGISTRY[strategy]


def parameter_owners() -> dict[str, type[Resampler]]:
    """Every sampler parameter -> the first registered sampler that takes it (its declaration is
    the parameter's constraints and its default, e.g. for the command line's options; every
    sampler that takes a parameter declares the same, which the tests check)."""
    owners: dict[str, type[Resampler]] = {}
    for strategy in all_strategies():
        cls = _REGISTRY[strategy]
        for name in cls._param_names():
            owners.setdefault(name, cls)
    return owners


def parameter_constraints(name: str) -> list:
    """The declared constraints of one sampler parameter (``sigma``: ``[Interval(Real, 0, None, ...)]``)."""
    return parameter_owners()[name]._parameter_constraints[name]


def check_sampler_params(strategy: str, params: Mapping[str, Any]) -> None:
    """Check sampler parameters before any sampler is built or any run key is made.

    A parameter that ``strategy`` takes is checked against its sampler's declaration; any other
    (``sigma`` given to ``none``) against the first sampler that takes it, so that a bad value is
    an error whatever the strategy. Names no sampler takes are left to the caller.

    Raises
    ------
    pddslib.util.constraints.InvalidParameterError
        ``The 'sigma' parameter of PDDS must be a float in the range [0, inf). Got -1 instead.``
    """
    cls = sampler_class(strategy)
    takes = set(cls._param_names())
    cls.check_params({k: v for k, v in params.items() if k in takes})
    owners = parameter_owners()
    for name, value in params.items():
        if name not in takes and name in owners:
            owners[name].check_params({name: value})


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
