"""Parameter constraints, declared once beside a constructor and checked before anything is computed.

In the manner of scikit-learn's and imbalanced-learn's ``_parameter_constraints`` (without importing
either): a class declares, for each parameter, a list of constraints, and the value must satisfy at
least one of them.

=========================================  ==================================================
``Interval(Real, 0, None, closed="left")``  a number in ``[0, inf)`` (an int or a float; not a
                                            bool, not NaN)
``Interval(Integral, 1, None, ...)``        a whole number (``int`` or a numpy integer)
``Options(str, ("none", "sum"))``           one of these values, of this type
a type (``np.random.Generator``)            an instance of it
``HasMethods("fit_resample")``              an object with these methods (an estimator)
``None``                                    ``None`` itself
``"boolean"``                               ``bool`` or ``numpy.bool_``
``"array-like"``                            a list, tuple, array, ... (not a str or a mapping)
``"no_validation"``                         (alone) anything
=========================================  ==================================================

:func:`validate` raises :class:`InvalidParameterError` with scikit-learn's message::

    The 'sigma' parameter of PDDS must be a float in the range [0, inf). Got -1.0 instead.

:func:`describe` writes the allowed values of one parameter, :func:`options_of` lists its
:class:`Options` (the ``choices`` of a command-line option) and :func:`from_text` reads a
command-line value with the declared numeric type and checks it.

Example
-------
>>> from numbers import Real
>>> constraints = {"sigma": [Interval(Real, 0, None, closed="left")]}
>>> validate(constraints, {"sigma": 1.0}, "PDDS")
>>> validate(constraints, {"sigma": -1.0}, "PDDS")  # doctest: +NORMALIZE_WHITESPACE
Traceback (most recent call last):
...
pddslib.util.constraints.InvalidParameterError: The 'sigma' parameter of PDDS must be a float in the range
[0, inf). Got -1.0 instead.
"""

from __future__ import annotations

import math
import operator
import sys
from collections.abc import Iterable, Mapping, Sequence
from numbers import Integral, Real
from typing import Any, Literal

import numpy as np

from .errors import PddsError

__all__ = ["Constraint", "HasMethods", "Interval", "InvalidParameterError", "Options", "describe", "from_text",
           "make_constraint", "options_of", "satisfies", "validate"]

Closed = Literal["left", "right", "both", "neither"]


class InvalidParameterError(PddsError, ValueError, TypeError):
    """A parameter's value satisfies none of its declared constraints.

    Both a :class:`ValueError` and a :class:`TypeError` (as scikit-learn's), since a value can be
    out of range or of the wrong type.
    """


def _type_name(t: type) -> str:
    """``int``, ``float``, ``str``, or the public dotted path of another type."""
    if t is Real:
        return "float"
    if t is Integral:
        return "int"
    module = t.__module__
    if module == "builtins":
        return t.__qualname__
    parts = module.split(".")
    for k in range(1, len(parts) + 1):  # the shortest path it is public at: numpy.random.Generator
        if getattr(sys.modules.get(".".join(parts[:k])), t.__qualname__, None) is t:
            return f"{'.'.join(parts[:k])}.{t.__qualname__}"
    return f"{module}.{t.__qualname__}"


def _bound(value: float | None, infinity: str) -> str:
    if value is None:
        return infinity
    return str(int(value)) if isinstance(value, Integral) else f"{value:g}"


class Constraint:
    """One constraint: a test of a value and a phrase saying what it accepts."""

    def is_satisfied_by(self, value: Any) -> bool:  # pragma: no cover - abstract
        """Whether ``value`` is allowed."""
        raise NotImplementedError

    def __str__(self) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: {self}>"


class Interval(Constraint):
    """Numbers of one type within bounds.

    Parameters
    ----------
    type : {numbers.Integral, numbers.Real, int, float}
        ``Integral`` (or ``int``): whole numbers (Python or numpy integers); ``Real`` (or
        ``float``): any real number, integers included. A ``bool`` is never a number here.
    left, right : float or None
        The bounds; ``None`` is minus or plus infinity.
    closed : {"left", "right", "both", "neither"}
        Which bounds belong to the interval. An infinite bound that is not closed excludes the
        infinity itself (``[0, inf)`` refuses ``inf``); NaN is always refused.
    """

    def __init__(self, type: type, left: float | None, right: float | None, *, closed: Closed) -> None:
        self.type = {int: Integral, float: Real}.get(type, type)
        if self.type not in (Integral, Real):
            raise TypeError(f"Interval type must be Integral or Real, got {type!r}")
        if closed not in ("left", "right", "both", "neither"):
            raise ValueError(f"closed must be 'left', 'right', 'both' or 'neither', got {closed!r}")
        if self.type is Integral and any(b is not None and not isinstance(b, Integral) for b in (left, right)):
            raise TypeError(f"the bounds of an Integral interval must be whole numbers or None, "
                            f"got {left!r}, {right!r}")
        if left is not None and right is not None and right < left:
            raise ValueError(f"right bound {right!r} is below left bound {left!r}")
        self.left, self.right, self.closed = left, right, closed

    def __contains__(self, value: float) -> bool:
        if isinstance(value, Real) and math.isnan(value):
            return False
        left = -math.inf if self.left is None else self.left
        right = math.inf if self.right is None else self.right
        below = operator.lt if self.closed in ("left", "both") else operator.le
        above = operator.gt if self.closed in ("right", "both") else operator.ge
        return not (below(value, left) or above(value, right))

    def is_satisfied_by(self, value: Any) -> bool:
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, self.type):
            return False
        return value in self

    def parse(self, text: str) -> int | float:
        """The number a command-line string spells, in this interval's type (a ValueError if none)."""
        return int(text) if self.type is Integral else float(text)

    def __str__(self) -> str:
        kind = "an int" if self.type is Integral else "a float"
        left = "[" if self.closed in ("left", "both") else "("
        right = "]" if self.closed in ("right", "both") else ")"
        return f"{kind} in the range {left}{_bound(self.left, '-inf')}, {_bound(self.right, 'inf')}{right}"


class Options(Constraint):
    """One of a few values of one type.

    Parameters
    ----------
    type : type
        The values' type (``str``): a value of another type is refused even if it compares equal.
    options : iterable
        The allowed values, in the order messages and command-line choices list them (a ``set`` is
        sorted, so that messages do not depend on hashing).
    """

    def __init__(self, type: type, options: Iterable[Any]) -> None:
        self.type = type
        self.options = tuple(sorted(options, key=str)) if isinstance(options, (set, frozenset)) else tuple(options)
        bad = [o for o in self.options if not isinstance(o, type)]
        if not self.options or bad:
            raise ValueError(f"Options of {type.__name__} need values of that type, got {self.options!r}")

    def is_satisfied_by(self, value: Any) -> bool:
        return isinstance(value, self.type) and value in self.options

    def __str__(self) -> str:
        listed = ", ".join(repr(o) for o in self.options)
        return f"a {_type_name(self.type)} among {{{listed}}}"


class HasMethods(Constraint):
    """An object with these callable methods (an estimator, a sampler), as scikit-learn's.

    Parameters
    ----------
    methods : str or sequence of str
        ``"fit_resample"`` or ``("fit", "predict")``.
    """

    def __init__(self, methods: str | Sequence[str]) -> None:
        self.methods = (methods,) if isinstance(methods, str) else tuple(methods)

    def is_satisfied_by(self, value: Any) -> bool:
        return all(callable(getattr(value, m, None)) for m in self.methods)

    def __str__(self) -> str:
        names = [repr(m) for m in self.methods]
        listed = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
        return f"an object implementing {listed}"


class _InstancesOf(Constraint):
    def __init__(self, type: type) -> None:
        self.type = type

    def is_satisfied_by(self, value: Any) -> bool:
        return isinstance(value, self.type)

    def __str__(self) -> str:
        return f"an instance of {_type_name(self.type)!r}"


class _NoneConstraint(Constraint):
    def is_satisfied_by(self, value: Any) -> bool:
        return value is None

    def __str__(self) -> str:
        return "None"


class _Booleans(Constraint):
    def is_satisfied_by(self, value: Any) -> bool:
        return isinstance(value, (bool, np.bool_))

    def __str__(self) -> str:
        return "a bool"


class _ArrayLikes(Constraint):
    def is_satisfied_by(self, value: Any) -> bool:
        if isinstance(value, (str, bytes, Mapping)):
            return False
        return hasattr(value, "__len__") and hasattr(value, "__iter__")

    def __str__(self) -> str:
        return "an array-like"


class _NoValidation(Constraint):
    def is_satisfied_by(self, value: Any) -> bool:
        return True

    def __str__(self) -> str:
        return "anything"


_NAMED = {"boolean": _Booleans, "array-like": _ArrayLikes, "no_validation": _NoValidation}


def make_constraint(constraint: Any) -> Constraint:
    """The :class:`Constraint` that a declaration stands for (see the module docstring).

    Raises
    ------
    ValueError
        For a declaration that is none of those.
    """
    if isinstance(constraint, Constraint):
        return constraint
    if constraint is None:
        return _NoneConstraint()
    if isinstance(constraint, type):
        return _InstancesOf(constraint)
    if isinstance(constraint, str) and constraint in _NAMED:
        return _NAMED[constraint]()
    raise ValueError(f"unknown constraint {constraint!r}")


def _as_list(constraints: Sequence[Any] | str) -> list[Constraint]:
    return [make_constraint(constraints)] if isinstance(constraints, str) else [make_constraint(c) for c in constraints]


def _phrase(parts: Sequence[Constraint]) -> str:
    words = [str(c) for c in parts]
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"


def describe(constraints: Sequence[Any]) -> str:
    """What a parameter may be, e.g. ``"a str among {'none', 'sum'} or None"``."""
    return _phrase(_as_list(constraints))


def satisfies(constraints: Sequence[Any], value: Any) -> bool:
    """Whether ``value`` satisfies at least one of ``constraints``."""
    return any(c.is_satisfied_by(value) for c in _as_list(constraints))


def validate(parameter_constraints: Mapping[str, Sequence[Any]], params: Mapping[str, Any], owner: str) -> None:
    """Check ``params`` against their declared constraints.

    Parameters
    ----------
    parameter_constraints : mapping
        ``{name: [constraint, ...]}`` (or ``"no_validation"``); a value must satisfy one of them.
        A name without a declaration is not checked (as in scikit-learn; the tests require one for
        every constructor parameter).
    params : mapping
        ``{name: value}``.
    owner : str
        Who takes the parameters (a class name), for the message.

    Raises
    ------
    InvalidParameterError
        ``The 'sigma' parameter of PDDS must be a float in the range [0, inf). Got -1.0 instead.``
    """
    for name, value in params.items():
        if name not in parameter_constraints or satisfies(parameter_constraints[name], value):
            continue
        raise InvalidParameterError(f"The {name!r} parameter of {owner} must be "
                                    f"{describe(parameter_constraints[name])}. Got {value!r} instead.")


def options_of(constraints: Sequence[Any]) -> tuple[Any, ...]:
    """The values of the :class:`Options` among ``constraints`` (``()`` if there are none)."""
    return tuple(o for c in _as_list(constraints) if isinstance(c, Options) for o in c.options)


def from_text(constraints: Sequence[Any], text: str) -> Any:
    """A command-line value: ``text`` read as the declared numbers (or options) and checked.

    Each :class:`Interval` reads ``text`` in its type (``"400"`` an int, ``"0.5"`` a float); an
    :class:`Options` of ``str`` takes it as it is. ``None`` cannot be spelled on a command line.

    Raises
    ------
    ValueError
        ``expected a float in the range [0, inf), got -1`` (the text as typed).
    """
    usable = [c for c in _as_list(constraints) if isinstance(c, (Interval, Options))]
    for c in usable:
        try:
            value = c.parse(text) if isinstance(c, Interval) else c.type(text)
        except (TypeError, ValueError):
            continue
        if c.is_satisfied_by(value):
            return value
    try:
        float(text)
        shown = text
    except ValueError:
        shown = repr(text)
    raise ValueError(f"expected {_phrase(usable) if usable else describe(constraints)}, got {shown}")
