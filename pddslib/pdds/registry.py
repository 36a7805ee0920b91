"""The strategy registry: every sampler declared once, by name, the paper's and the controls.

It lives apart from the sampler classes so that :mod:`pddslib.pdds.controls` (which subclasses
them) and the registry (which names both) never import each other. A new strategy is one sampler
class (a :class:`~pddslib.pdds.resample.Resampler` with its ``_parameter_constraints``) plus one
:func:`register` call (see the developers page, "New strategy"); the CLI, the run configuration,
the notebooks' labels and the tests' estimator checks read this registry.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from .controls import FlatPDDS, PlainMixup, RandomOversampling
from .counts import CountTable
from .resample import (
    PDDS,
    ClearBalancing,
    NoResampling,
    Resampler,
    UniformBalancing,
)
from .smoothing import Plan


@dataclass(frozen=True)
class Strategy:
    """One resampling strategy.

    Attributes
    ----------
    name : str
        What runs, the CLI and the notebooks call it (``pdds``).
    sampler : type
        Its :class:`~pddslib.pdds.resample.Resampler` class.
    label : str
        Its name in the book's tables (Table 2's rows for the paper's strategies).
    control : bool
        A control the paper lacks (not one of Table 2's rows).
    """

    name: str
    sampler: type[Resampler]
    label: str
    control: bool = False


_STRATEGIES: dict[str, Strategy] = {}
#: Every registered strategy by name (read-only view; :func:`register` adds one).
REGISTRY: Mapping[str, Strategy] = MappingProxyType(_STRATEGIES)


def register(strategy: Strategy) -> Strategy:
    """Add a strategy; a name registered twice is an error."""
    if strategy.name in _STRATEGIES:
        raise ValueError(f"strategy {strategy.name!r} is already registered ({_STRATEGIES[strategy.name].sampler})")
    _STRATEGIES[strategy.name] = strategy
    return strategy


register(Strategy("none", NoResampling, "Original training data"))
register(Strategy("happiness", ClearBalancing, "Only balancing happiness"))
register(Strategy("uniform", UniformBalancing, "Uniform balancing"))
register(Strategy("pdds", PDDS, "With PDDS"))
register(Strategy("oversample", RandomOversampling, "Random oversampling (as much new data as PDDS)", control=True))
register(Strategy("mixup", PlainMixup, "Plain mixup (as much new data as PDDS)", control=True))
register(Strategy("flat", FlatPDDS, "PDDS with a flat distribution of its new ambiguous samples", control=True))

#: The paper's strategies (Table 2's rows), in the registry's order.
STRATEGIES: tuple[str, ...] = tuple(n for n, s in _STRATEGIES.items() if not s.control)
#: The controls the paper lacks: name -> sampler class.
CONTROLS: dict[str, type[Resampler]] = {n: s.sampler for n, s in _STRATEGIES.items() if s.control}


def all_strategies() -> tuple[str, ...]:
    """Every registered strategy: the paper's, then the controls (and any registered later)."""
    return tuple(_STRATEGIES)


def strategy_labels() -> dict[str, str]:
    """name -> label of every registered strategy (a copy; :data:`LABELS` is the live view)."""
    return {n: s.label for n, s in _STRATEGIES.items()}


class _Labels(Mapping[str, str]):
    """name -> label, read from the registry at each look-up (a strategy registered later is in it)."""

    def __getitem__(self, name: str) -> str:
        return _STRATEGIES[name].label

    def __iter__(self):
        return iter(_STRATEGIES)

    def __len__(self) -> int:
        return len(_STRATEGIES)


#: name -> label of every registered strategy (live).
LABELS: Mapping[str, str] = _Labels()


def sampler_class(strategy: str) -> type[Resampler]:
    """The sampler class of a strategy (its constructor, ``_parameter_constraints``, ...)."""
    if strategy not in _STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}; expected one of {all_strategies()}")
    return _STRATEGIES[strategy].sampler


def parameter_owners() -> dict[str, type[Resampler]]:
    """Every sampler parameter -> the first registered sampler that takes it (its declaration is
    the parameter's constraints and its default, e.g. for the command line's options; every
    sampler that takes a parameter declares the same, which the tests check)."""
    owners: dict[str, type[Resampler]] = {}
    for strategy in all_strategies():
        cls = _STRATEGIES[strategy].sampler
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
    if strategy not in _STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}; expected one of {all_strategies()}")
    try:
        return _STRATEGIES[strategy].sampler(**params)
    except TypeError as err:
        raise TypeError(f"strategy {strategy!r}: {err}") from None


def plan_for(strategy: str, counts: CountTable, **params: Any) -> Plan:
    """The plan of a strategy on given counts (e.g. the packaged IEMOCAP counts)."""
    return make_resampler(strategy, classes=counts.classes, **params).plan(counts)


__all__ = ["CONTROLS", "LABELS", "REGISTRY", "STRATEGIES", "Strategy", "all_strategies", "check_sampler_params",
           "make_resampler", "parameter_constraints", "parameter_owners", "plan_for", "register", "sampler_class",
           "strategy_labels"]
