"""Argument checks shared by the package, with scikit-learn-style messages."""

from __future__ import annotations

from typing import Any, Iterable


def check_choice(value: Any, choices: Iterable, param: str, owner: str | None = None) -> Any:
    """Return ``value`` if it is one of ``choices``, else raise a ``ValueError`` naming the
    parameter, the value given and the allowed ones.

    Example:
        >>> check_choice("adam", ("sgd", "adam"), "optimizer", "fit")
        'adam'
        >>> check_choice("c", ("a", "b"), "p", "f")
        Traceback (most recent call last):
        ...
        ValueError: The 'p' parameter of f must be one of ['a', 'b']. Got 'c' instead.
    """
    choices = list(choices)
    try:
        ok = value in choices
    except TypeError:  # unhashable value against a dict's keys
        ok = False
    if not ok:
        where = f" of {owner}" if owner else ""
        raise ValueError(f"The '{param}' parameter{where} must be one of {choices}. "
                         f"Got {value!r} instead.")
    return value
