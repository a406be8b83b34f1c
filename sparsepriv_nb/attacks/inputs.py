"""What attacks are fitted and scored on: one :class:`AttackInputs` object, built from
registered fields.

An attack's registry entry declares the fields it needs (``needs``); the orchestrator
(:func:`sparsepriv_nb.experiments.run_experiment`) computes the union of the selected attacks'
fields once, each by the provider registered with the field in :data:`INPUTS`, and hands
every attack the same object: ``attack.fit_inputs(inputs)``, then
``attack.score_inputs(inputs)``.

Built-in fields (their providers live in :mod:`sparsepriv_nb.experiments.providers`, which
trains and queries the models):

* ``target``: the target's :class:`~sparsepriv_nb.experiments.ModelOutputs` on its members
  then as many non-members (``logits``, ``labels``, ``membership``; ``sensitivity`` when the
  ``sensitivity`` field is declared). Every experiment builds it: records need it.
* ``shadow``: the shadow models' outputs on their own members / non-members, stacked
  (``attack.n_shadows`` models trained like the target).
* ``references``: a :class:`~sparsepriv_nb.experiments.ReferenceOutputs`, reference models'
  logits on the target's samples (each sample IN for half of ``attack.n_reference`` models),
  their labels and IN masks ``ref_in``.
* ``population``: a flag (``True``): ``references`` also carries the reference models' and the
  target's logits on a population none of them trained on (RMIA).
* ``sensitivity``: a flag (``True``): ``target`` and ``shadow`` carry prediction
  sensitivities (SAMIA).

A new kind of input is one :func:`register_input` call (a name and a provider
``provide(ctx)`` reading the orchestrator's :class:`~sparsepriv_nb.experiments.providers.
ExperimentContext`: config, data, pools, target model, fields built so far); an attack then
declares it in ``needs``. Nothing in the orchestrator changes.

Example:
    >>> inputs = AttackInputs(target="t", sensitivity=True)
    >>> inputs.target, sorted(inputs)
    ('t', ['sensitivity', 'target'])
    >>> inputs.shadow  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    AttributeError: These AttackInputs hold no 'shadow' field (they hold ['sensitivity', ...

Lesson: notebook 02 (``02_membership_inference``), section 3.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Callable, Iterator, Mapping

from .._checks import InstanceOf, SubsetOf, validate_params
from ..registry import Registry

__all__ = ["AttackInputs", "InputField", "INPUTS", "register_input", "BUILTIN_INPUTS"]


class AttackInputs(Mapping):
    """A read-only mapping of field name -> value, also readable as attributes
    (``inputs.shadow``). Built by the orchestrator; attacks read, never write."""

    __slots__ = ("_fields",)

    def __init__(self, **fields: Any):
        object.__setattr__(self, "_fields", MappingProxyType(dict(fields)))

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            return self._fields[name]
        except KeyError:
            raise AttributeError(
                f"These AttackInputs hold no {name!r} field (they hold {sorted(self._fields)}); "
                "an attack gets the fields its registry entry declares in needs.") from None

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("AttackInputs are read-only.")

    def __getitem__(self, name: str) -> Any:
        return self._fields[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._fields)

    def __len__(self) -> int:
        return len(self._fields)

    def select(self, names) -> AttackInputs:
        """These inputs restricted to ``names`` (what one attack declared).

        Example:
            >>> sorted(AttackInputs(target=1, shadow=2, references=3).select(["target"]))
            ['target']
        """
        return AttackInputs(**{n: self._fields[n] for n in names})

    def __repr__(self) -> str:
        return f"AttackInputs({', '.join(self._fields)})"


@dataclass(frozen=True)
class InputField:
    """A registered kind of attack input.

    Attributes:
        name: the field's name (``inputs.<name>``).
        provide: ``provide(ctx) -> value``, given the orchestrator's context (its ``inputs``
            holds the fields built so far, ``requires`` among them).
        requires: fields built before this one.
        description: one line for listings.
    """

    name: str
    provide: Callable[[Any], Any]
    requires: tuple = field(default=())
    description: str = ""


#: Field name -> :class:`InputField`.
INPUTS: Registry[InputField] = Registry("attack input")


def register_input(name: str, provide: Callable[[Any], Any], *, requires=(),
                   description: str = "", overwrite: bool = False) -> InputField:
    """Register a kind of attack input, computed by ``provide(ctx)`` when an attack needs it.

    Example:
        >>> import numpy as np
        >>> _ = register_input("margin", lambda ctx: np.ptp(ctx.inputs["target"].logits, 1),
        ...                    requires=("target",), description="logit range per sample")
        >>> INPUTS.get("margin").requires
        ('target',)
        >>> _ = INPUTS.unregister("margin")
    """
    requires = (requires,) if isinstance(requires, str) else requires
    validate_params({"provide": provide, "requires": requires, "description": description},
                    {"provide": [InstanceOf(object, "a callable", callable)],
                     "requires": [SubsetOf(INPUTS.names)],
                     "description": [InstanceOf(str, "a str")]}, "register_input")
    return INPUTS.register(name, InputField(name, provide, tuple(requires), description),
                           overwrite=overwrite)


def _from_experiments(name: str) -> Callable[[Any], Any]:
    """The built-in provider ``name`` of :mod:`sparsepriv_nb.experiments.providers`, imported
    when first called (it trains models; importing it here would import the orchestrator)."""

    def provide(ctx):
        from ..experiments import providers

        return getattr(providers, name)(ctx)

    provide.__name__ = provide.__qualname__ = name
    return provide


#: The fields every installation has.
BUILTIN_INPUTS = ("target", "shadow", "references", "population", "sensitivity")

for _name, _text in zip(BUILTIN_INPUTS, (
        "target's outputs on its members then non-members",
        "shadow models' outputs on their members / non-members, stacked",
        "reference models' logits on the target's samples, with their IN masks",
        "flag: references also carry logits on a population (RMIA)",
        "flag: target and shadow outputs carry prediction sensitivities (SAMIA)")):
    register_input(_name, _from_experiments(_name), description=_text)
