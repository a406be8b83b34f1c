"""The attack registry: every attack by name, with the inputs it needs.

:data:`ATTACKS` registers every attack by name with what it needs; :func:`make_attack` builds
one, so that an attack spec is a name plus parameters:

    >>> atk = make_attack("lira", fixed_variance=False)
    >>> type(atk).__name__, atk.get_params()
    ('LiRA', {'fixed_variance': False, 'online': True})
    >>> ATTACKS.get("samia").needs, ATTACKS.get("rmia").kind
    (('target', 'shadow', 'sensitivity'), 'reference')

Lesson: notebook 02 (``02_membership_inference``), section 3.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any, Callable

from .._checks import InstanceOf, Options, SubsetOf, validate_params
from ..registry import Registry
from ..signals import SIGNALS
from .inputs import INPUTS
from .lira import LiRA
from .rmia import RMIA
from .samia import SAMIA
from .shadow import ShadowModelAttack
from .threshold import ThresholdAttack

__all__ = ["AttackEntry", "ATTACKS", "register_attack", "make_attack", "available_attacks",
           "KIND_INPUTS"]

#: The input fields every attack of a kind needs (:mod:`sparsepriv_nb.attacks.inputs`):
#: shadow attacks are fitted on shadow models' outputs, reference attacks on reference models'
#: outputs on the attacked samples; both score the target's outputs. Kind ``None``: an attack
#: that declares every field beyond ``target`` itself.
KIND_INPUTS = {"shadow": ("target", "shadow"), "reference": ("target", "references"),
               None: ("target",)}
_KINDS = [Options([k for k in KIND_INPUTS if k is not None]), None]
@dataclass(frozen=True)
class AttackEntry:
    """A registered attack.

    Attributes:
        name: registry name (``"lira-offline"``).
        factory: ``factory(random_state=..., **params)`` -> an unfitted attack estimator.
        kind: ``"shadow"`` (fitted on shadow models' members / non-members),
            ``"reference"`` (fitted on reference models' outputs on the attacked samples) or
            ``None`` (declares its fields itself).
        needs: the input fields (:data:`~sparsepriv_nb.attacks.inputs.INPUTS`) the
            orchestrator builds for it: its kind's (:data:`KIND_INPUTS`), then any extra ones
            (``"sensitivity"`` for SAMIA, ``"population"`` for RMIA, or a field registered
            with :func:`~sparsepriv_nb.attacks.inputs.register_input`).
        description: one line for listings.
    """

    name: str
    factory: Callable[..., Any]
    kind: str | None = "shadow"
    needs: tuple = ()
    description: str = ""


#: Attack name -> :class:`AttackEntry`.
ATTACKS: Registry[AttackEntry] = Registry("attack")


def register_attack(name: str, factory: Callable[..., Any], *, kind: str | None = "shadow",
                    needs=(), description: str = "", overwrite: bool = False) -> AttackEntry:
    """Register an attack under ``name`` and return its :class:`AttackEntry`.

    Args:
        name: the registry name.
        factory: ``factory(random_state=..., **params)`` -> an unfitted attack: an estimator
            with ``fit_inputs(inputs)``, ``score_inputs(inputs)`` and a fitted ``threshold_``
            (subclass :class:`~sparsepriv_nb.attacks.base.Attack` or one of its families).
        kind: ``"shadow"``, ``"reference"`` or ``None``: the input fields it needs first
            (:data:`KIND_INPUTS`; ``None``: only ``target``).
        needs: extra input fields, registered in :data:`~sparsepriv_nb.attacks.inputs.INPUTS`.
        description: one line for listings.
        overwrite: replace an entry of the same name.

    Example:
        >>> _ = register_attack("toy", lambda random_state=0: ThresholdAttack("confidence"),
        ...                     description="confidence threshold")
        >>> make_attack("toy")
        ThresholdAttack(signal='confidence')
        >>> _ = ATTACKS.unregister("toy")
    """
    needs = (needs,) if isinstance(needs, str) else needs
    validate_params({"factory": factory, "kind": kind, "needs": needs,
                     "description": description},
                    {"factory": [InstanceOf(object, "a callable", callable)],
                     "kind": _KINDS, "needs": [SubsetOf(INPUTS.names)],
                     "description": [InstanceOf(str, "a str")]}, "register_attack")
    needs = KIND_INPUTS[kind] + tuple(n for n in needs if n not in KIND_INPUTS[kind])
    entry = AttackEntry(name, factory, kind, needs, description)
    return ATTACKS.register(name, entry, overwrite=overwrite)


def _factory_params(factory) -> list[str] | None:
    """Parameter names a factory accepts besides ``random_state`` (None: anything)."""
    names = getattr(factory, "param_names", None)
    if names is not None:
        return list(names)
    try:
        sig = inspect.signature(factory)
    except (TypeError, ValueError):
        return None
    if any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values()):
        return None
    return [p for p in sig.parameters if p != "random_state"]


def make_attack(name: str, *, random_state=0, **params):
    """Build the registered attack ``name`` with ``params`` overriding its defaults.

    Args:
        name: a name from :func:`available_attacks`.
        random_state: seed of a stochastic attack (ignored by deterministic ones).
        **params: estimator parameters (``epochs=5`` for SAMIA, ``fixed_variance=False`` for
            LiRA, ``classifier="gradient_boosting"`` for Shokri, ...).

    Raises:
        ValueError: unknown name (the registered ones are listed) or a parameter the attack
            does not have (its parameters are listed).
        TypeError: the factory built an object without ``fit_inputs`` / ``score_inputs``.

    Example:
        >>> make_attack("samia", epochs=5, random_state=3).get_params()["epochs"]
        5
        >>> make_attack("lira", epochs=5)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: The attack 'lira' has no parameter(s) ['epochs']; its parameters: [...
    """
    entry = ATTACKS.get(name)
    allowed = _factory_params(entry.factory)
    if allowed is not None:
        unknown = sorted(set(params) - set(allowed))
        if unknown:
            raise ValueError(f"The attack {name!r} has no parameter(s) {unknown}; its "
                             f"parameters: {sorted(allowed)}.")
    try:
        accepts_seed = "random_state" in inspect.signature(entry.factory).parameters
    except (TypeError, ValueError):
        accepts_seed = True
    attack = entry.factory(random_state=random_state, **params) if accepts_seed \
        else entry.factory(**params)
    if not all(callable(getattr(attack, m, None)) for m in ("fit_inputs", "score_inputs")):
        raise TypeError(f"The attack {name!r} built a {type(attack).__name__}, which lacks "
                        "fit_inputs / score_inputs: subclass sparsepriv_nb.attacks.Attack (or "
                        "ShadowAttack for fit(logits, labels, membership)).")
    return attack


def available_attacks(kind: str | None = None) -> list[str]:
    """Registered attack names, optionally only those of one ``kind``.

    Example:
        >>> available_attacks("reference")[:2]
        ['lira', 'lira-per-sample']
    """
    validate_params({"kind": kind}, {"kind": _KINDS}, "available_attacks")
    return [n for n in ATTACKS.names() if kind is None or ATTACKS.get(n).kind == kind]


def _preset(cls, **defaults):
    """A factory building ``cls(**defaults)`` with overrides and ``random_state`` if it has one."""
    names = cls._get_param_names()

    def factory(random_state=0, **params):
        unknown = sorted(set(params) - set(names))
        if unknown:
            raise ValueError(f"{cls.__name__} has no parameter(s) {unknown}; its parameters: "
                             f"{sorted(names)}.")
        kw = {**defaults, **params}
        if "random_state" in names:
            kw["random_state"] = random_state
        return cls(**kw)

    factory.param_names = [n for n in names if n != "random_state"]
    factory.defaults = dict(defaults)
    return factory


def _register_builtins() -> None:
    for s in SIGNALS:
        register_attack(s, _preset(ThresholdAttack, signal=s),
                        description=f"global threshold on {s}")
        register_attack(f"{s}-per-class", _preset(ThresholdAttack, signal=s, per_class=True),
                        description=f"per-class thresholds on {s} (Song & Mittal)")
    # One attack model with the label as input: with a quick profile's ~1000 shadow samples,
    # one model per class sees ~100 samples and loses (digits MLP, 150 epochs: AUC 0.54 per
    # class vs 0.60 for one model; see tests/test_attacks.py).
    one = dict(features="sorted", per_class=False)
    register_attack("shokri", _preset(ShadowModelAttack, classifier="auto", **one),
                    description="Shokri et al.: one attack model (sorted log-probabilities, "
                                "the label's logit-scaled confidence, the label); family and "
                                "hyperparameters chosen by 5-fold CV AUC on the shadow data")
    register_attack("shokri-per-class", _preset(ShadowModelAttack, classifier="logistic",
                                                features="sorted", per_class=True),
                    description="Shokri et al.'s layout: one (tuned logistic) model per class")
    register_attack("shokri-label", _preset(ShadowModelAttack, classifier="mlp", **one),
                    description="Shokri et al. with an MLP (Bagmar et al.), L2 tuned by CV")
    register_attack("shokri-rf", _preset(ShadowModelAttack, classifier="random_forest", **one),
                    description="Shokri et al. with a random forest, tuned by CV")
    register_attack("shokri-gb", _preset(ShadowModelAttack, classifier="gradient_boosting",
                                         **one),
                    description="Shokri et al. with gradient boosting, tuned by CV")
    register_attack("salem", _preset(ShadowModelAttack, classifier="logistic", features="top3"),
                    description="Salem et al.: top-3 sorted probabilities, one model")
    register_attack("samia", _preset(SAMIA, epochs=30), needs=("sensitivity",),
                    description="Yuan & Zhang's transformer on p, sensitivity, label")
    for name, online, fixed in (("lira", True, True), ("lira-per-sample", True, False),
                                ("lira-offline", False, True),
                                ("lira-offline-per-sample", False, False)):
        register_attack(name, _preset(LiRA, online=online, fixed_variance=fixed),
                        kind="reference",
                        description=f"Carlini et al., {'online' if online else 'offline'}, "
                                    f"{'fixed' if fixed else 'per-sample'} variance")
    register_attack("rmia", _preset(RMIA, online=True), kind="reference", needs=("population",),
                    description="Zarifzadeh et al., online")
    register_attack("rmia-offline", _preset(RMIA, online=False), kind="reference",
                    needs=("population",), description="Zarifzadeh et al., offline (a tuned)")


_register_builtins()
