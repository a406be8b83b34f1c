"""A tiny name -> entry registry, shared by sparsity methods, attacks, defenses and DP modes.

Modelled on Opacus' ``accountants/registry.py``: methods are registered by name with what they
need, so that the orchestrator (:mod:`sparsepriv_nb.experiments`) holds no method names, and an
unknown name is answered with the list of the registered ones.

Example:
    >>> reg = Registry("toy method")
    >>> _ = reg.register("double", lambda x: 2 * x)
    >>> reg.get("double")(21)
    42
    >>> reg.names()
    ['double']
    >>> reg.get("triple")
    Traceback (most recent call last):
    ...
    ValueError: Unknown toy method 'triple'; registered: ['double'].

Lesson: notebook 01 (``01_sparsity_methods``) (sparsity methods), notebook 02
    (``02_membership_inference``) (attacks), notebook 05 (``05_ppb_defense``) (defenses).
"""

from __future__ import annotations

from typing import Any, Generic, Iterator, TypeVar

T = TypeVar("T")

__all__ = ["Registry"]


class Registry(Generic[T]):
    """Named entries of one kind, kept in registration order.

    Args:
        kind: what the entries are, used in error messages (``"sparsity method"``).
    """

    def __init__(self, kind: str):
        self.kind = kind
        self._entries: dict[str, T] = {}

    def register(self, name: str, entry: T, *, overwrite: bool = False) -> T:
        """Add ``entry`` under ``name`` and return it.

        Raises:
            TypeError: ``name`` is not a non-empty string.
            ValueError: ``name`` is taken and ``overwrite`` is false.
        """
        if not isinstance(name, str) or not name:
            raise TypeError(f"A {self.kind} name must be a non-empty str. Got {name!r} instead.")
        if name in self._entries and not overwrite:
            raise ValueError(f"A {self.kind} named {name!r} is already registered; pass "
                             "overwrite=True to replace it.")
        self._entries[name] = entry
        return entry

    def unregister(self, name: str) -> T:
        """Remove and return the entry ``name`` (tests register toys and clean up)."""
        self.get(name)
        return self._entries.pop(name)

    def get(self, name: Any) -> T:
        """The entry ``name``; an unknown name raises ``ValueError`` listing the known ones."""
        try:
            return self._entries[name]
        except (KeyError, TypeError):
            raise ValueError(f"Unknown {self.kind} {name!r}; registered: "
                             f"{self.names()}.") from None

    def names(self) -> list[str]:
        """Registered names, in registration order."""
        return list(self._entries)

    def __contains__(self, name: object) -> bool:
        try:
            return name in self._entries
        except TypeError:
            return False

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {self.names()})"
