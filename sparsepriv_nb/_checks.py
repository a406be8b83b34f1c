"""Argument checks shared by the package, with scikit-learn-style messages.

Two tools:

* :func:`check_choice` for one "must be one of" argument;
* :func:`validate_params` for a whole set of parameters against *declarative* constraints
  (scikit-learn's ``_parameter_constraints``): each parameter maps to a list of allowed
  kinds, and one message shape is used everywhere::

      The 'density' parameter of SparsityConfig must be a float in (0, 1]. Got 'a' instead.

Constraints are :class:`Interval` (an int or float range; ``bool`` is never a number and NaN
is never in a range), :class:`Options` (a fixed set, or a callable returning one, e.g. a
registry's names, looked up lazily), :class:`InstanceOf` (a type with an optional check),
:class:`HasMethods` (duck typing, e.g. a scikit-learn classifier), :class:`SubsetOf` (a tuple of
options) and ``None`` (the value may be ``None``).

Example:
    >>> positive = Interval(int, 1, None)
    >>> constraints = {"epochs": [positive], "patience": [positive, None]}
    >>> validate_params({"epochs": 3, "patience": None}, constraints, "TrainSection")
    >>> try:
    ...     validate_params({"epochs": True}, constraints, "TrainSection")
    ... except ValueError as e:
    ...     print(e)
    The 'epochs' parameter of TrainSection must be an int in [1, inf). Got True instead.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any, Callable, Iterable

__all__ = ["check_choice", "check_int", "check_number", "ParameterError", "Interval", "Options",
           "InstanceOf", "HasMethods", "SubsetOf", "validate_params"]


def check_choice(value: Any, choices: Iterable, param: str, owner: str | None = None) -> Any:
    """Return ``value`` if it is one of ``choices``, else raise a :class:`ParameterError` (a
    ``ValueError``) naming the parameter, the value given and the allowed ones.

    Example:
        >>> check_choice("adam", ("sgd", "adam"), "optimizer", "fit")
        'adam'
        >>> try:
        ...     check_choice("c", ("a", "b"), "p", "f")
        ... except ParameterError as e:
        ...     print(e)
        The 'p' parameter of f must be one of ['a', 'b']. Got 'c' instead.
    """
    choices = list(choices)
    try:
        ok = value in choices
    except TypeError:  # unhashable value against a dict's keys
        ok = False
    if not ok:
        where = f" of {owner}" if owner else ""
        raise ParameterError(f"The '{param}' parameter{where} must be one of {choices}. "
                             f"Got {value!r} instead.")
    return value


class ParameterError(ValueError, TypeError):
    """A parameter outside its constraints: both a ``ValueError`` and a ``TypeError``
    (as scikit-learn's ``InvalidParameterError``), so callers may catch either."""


@dataclass(frozen=True)
class Interval:
    """Numbers of ``kind`` (``int`` or ``float``; an int is also a float) in a range.

    Args:
        kind: ``int`` or ``float``.
        low, high: bounds, ``None`` for unbounded.
        closed: ``"both"``, ``"left"``, ``"right"`` or ``"neither"``.

    Example:
        >>> Interval(float, 0, 1, "right").describe()
        'a float in (0, 1]'
        >>> Interval(float, 0, 1, "right").accepts(float("nan"))
        False
    """

    kind: type
    low: float | None = None
    high: float | None = None
    closed: str = "both"

    def accepts(self, value) -> bool:
        if isinstance(value, bool):
            return False
        if self.kind is int:
            if not isinstance(value, numbers.Integral):
                return False
        elif not isinstance(value, numbers.Real) or math.isnan(value):
            return False
        lo_ok = self.low is None or (value >= self.low if self.closed in ("both", "left")
                                     else value > self.low)
        hi_ok = self.high is None or (value <= self.high if self.closed in ("both", "right")
                                      else value < self.high)
        return bool(lo_ok and hi_ok)

    def describe(self) -> str:
        name = "an int" if self.kind is int else "a float"
        if self.low is None and self.high is None:
            return name
        left = "[" if self.closed in ("both", "left") and self.low is not None else "("
        right = "]" if self.closed in ("both", "right") and self.high is not None else ")"
        lo = "-inf" if self.low is None else f"{self.low:g}"
        hi = "inf" if self.high is None else f"{self.high:g}"
        return f"{name} in {left}{lo}, {hi}{right}"


@dataclass(frozen=True)
class Options:
    """One of a set of values; ``choices`` may be a callable (a registry's ``names``), read
    when a value is checked so that entries registered later are accepted.

    Example:
        >>> Options(("adam", "sgd")).describe()
        "a str among ['adam', 'sgd']"
    """

    choices: Iterable | Callable[[], Iterable]

    def values(self) -> list:
        return list(self.choices() if callable(self.choices) else self.choices)

    def accepts(self, value) -> bool:
        try:
            return isinstance(value, str) and value in self.values()
        except TypeError:
            return False

    def describe(self) -> str:
        return f"a str among {self.values()}"


@dataclass(frozen=True)
class InstanceOf:
    """An instance of ``kind`` that also passes ``check`` (if given).

    Example:
        >>> InstanceOf(tuple, "a tuple of str", lambda v: all(isinstance(s, str) for s in v)
        ...            ).accepts(("a", 1))
        False
    """

    kind: type | tuple
    description: str
    check: Callable[[Any], bool] | None = None

    def accepts(self, value) -> bool:
        return isinstance(value, self.kind) and (self.check is None or bool(self.check(value)))

    def describe(self) -> str:
        return self.description


@dataclass(frozen=True)
class HasMethods:
    """Any object with all of ``methods`` (callable attributes), e.g. a scikit-learn classifier.

    Example:
        >>> from sklearn.linear_model import LogisticRegression
        >>> c = HasMethods(("fit", "predict_proba"))
        >>> c.accepts(LogisticRegression()), c.accepts("svm"), c.describe()
        (True, False, 'an object with methods fit and predict_proba')
    """

    methods: tuple

    def accepts(self, value) -> bool:
        return not isinstance(value, str) and all(callable(getattr(value, m, None))
                                                  for m in self.methods)

    def describe(self) -> str:
        names = list(self.methods)
        text = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
        return f"an object with methods {text}"


@dataclass(frozen=True)
class SubsetOf:
    """A tuple (or list) of distinct strs, each among ``choices`` (a collection, or a callable
    returning one, read when checked).

    Example:
        >>> SubsetOf(("a", "b")).accepts(("b",)), SubsetOf(("a", "b")).accepts(("c",))
        (True, False)
        >>> SubsetOf(("a", "b")).describe()
        "a tuple of str among ['a', 'b']"
    """

    choices: Iterable | Callable[[], Iterable]

    def values(self) -> list:
        return list(self.choices() if callable(self.choices) else self.choices)

    def accepts(self, value) -> bool:
        if not isinstance(value, (tuple, list)) or len(set(map(repr, value))) != len(value):
            return False
        known = self.values()
        return all(isinstance(v, str) and v in known for v in value)

    def describe(self) -> str:
        return f"a tuple of str among {self.values()}"


def _accepts(constraint, value) -> bool:
    return value is None if constraint is None else constraint.accepts(value)


def _describe(constraint) -> str:
    return "None" if constraint is None else constraint.describe()


def validate_params(params: dict, constraints: dict, owner: str) -> None:
    """Check every ``params[name]`` against ``constraints[name]`` (a list of alternatives).

    Args:
        params: name -> value.
        constraints: name -> list of :class:`Interval`, :class:`Options`, :class:`InstanceOf`,
            :class:`HasMethods`, :class:`SubsetOf` or ``None``; a name without constraints is
            not checked.
        owner: what the parameters belong to, for the message.

    Raises:
        ParameterError: the first parameter that satisfies none of its constraints.
    """
    for name, value in params.items():
        allowed = constraints.get(name)
        if allowed is None or any(_accepts(c, value) for c in allowed):
            continue
        parts = [_describe(c) for c in allowed]
        text = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " or " + parts[-1]
        raise ParameterError(f"The '{name}' parameter of {owner} must be {text}. "
                             f"Got {value!r} instead.")


def check_number(value, param: str, owner: str, *, low: float | None = None,
                 low_open: bool = False, high: float | None = None,
                 high_open: bool = True) -> float:
    """``value`` as a float if it is a finite real in the given range, else a
    :class:`ParameterError` in the package's one message shape.

    Example:
        >>> check_number(0.1, "lr", "fit", low=0, low_open=True)
        0.1
        >>> try:
        ...     check_number("0.1", "lr", "fit", low=0, low_open=True)
        ... except ParameterError as e:
        ...     print(e)
        The 'lr' parameter of fit must be a float in (0, inf). Got '0.1' instead.
    """
    closed = {(False, False): "both", (False, True): "left", (True, False): "right",
              (True, True): "neither"}[(bool(low_open), bool(high_open))]
    interval = Interval(float, low, high, closed)
    if (isinstance(value, numbers.Real) and not isinstance(value, bool)
            and not math.isfinite(float(value))):
        raise ParameterError(f"The '{param}' parameter of {owner} must be "
                             f"{interval.describe()} and finite. Got {value!r} instead.")
    validate_params({param: value}, {param: [interval]}, owner)
    return float(value)


def check_int(value, param: str, owner: str, low: int | None = None,
              high: int | None = None) -> int:
    """``value`` as an int if it is an integer (never a bool or a float) in ``[low, high]``,
    else a :class:`ParameterError`.

    Example:
        >>> check_int(3, "epochs", "fit", 1)
        3
        >>> try:
        ...     check_int(2.5, "epochs", "fit", 1)
        ... except ParameterError as e:
        ...     print(e)
        The 'epochs' parameter of fit must be an int in [1, inf). Got 2.5 instead.
    """
    validate_params({param: value}, {param: [Interval(int, low, high)]}, owner)
    return int(value)
