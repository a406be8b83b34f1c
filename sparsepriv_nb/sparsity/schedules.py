"""Whole sparsity schedules by name: how :mod:`sparsepriv_nb.experiments` gets a trained
sparse model.

A schedule (:class:`SparsityMethod`) turns an untrained model into a trained sparse one
through the caller's training callback, and rebuilds the structure of a trained one (to load
cached weights). The built-in ones are ``dense``, the one-shot methods of
:data:`~sparsepriv_nb.sparsity.one_shot.ONE_SHOT_METHODS` followed by fine-tuning, ``imp``,
``lottery`` and ``butterfly``.

* :func:`register_sparsity_method` - add a schedule; :func:`available_sparsity_methods`
  lists them.
* :func:`register_one_shot_method` - add a one-shot prune to :func:`apply_sparsity` *and*
  as a train-prune-fine-tune schedule, in one call.
* :func:`imp_rounds` - the number of IMP rounds that reaches a density.

Example:
    >>> available_sparsity_methods()[:3]
    ['dense', 'magnitude', 'magnitude-global']
    >>> SPARSITY_METHODS.get("lottery").description
    'IMP with rewinding to the initialisation (lottery ticket)'

Lesson: notebook 01 (``01_sparsity_methods``); notebook 03 (``03_confounding_by_accuracy``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

from torch import nn
from torch.nn.utils import prune

from .._checks import InstanceOf, ParameterError, validate_params
from ..registry import Registry
from ._constraints import AMOUNT, DENSITY
from .butterfly import butterfly_sparsify
from .imp import iterative_magnitude_pruning
from .masks import prunable_layers, refresh_masked_weights
from .one_shot import ONE_SHOT_METHODS, apply_sparsity, channel_params

__all__ = ["SparsityMethod", "SPARSITY_METHODS", "register_sparsity_method",
           "register_one_shot_method", "available_sparsity_methods", "imp_rounds"]

_CALLABLE = InstanceOf(object, "callable", callable)


@dataclass(frozen=True)
class SparsityMethod:
    """A named way of obtaining a trained sparse model, as :mod:`experiments` runs it.

    Attributes:
        name: registry name.
        train: ``train(model, fit, *, density, seed, epochs, finetune_epochs, options) ->
            model`` turns an untrained model into a trained sparse one. ``fit(model, epochs,
            seed, *, phase)`` is the caller's training callback; ``phase`` is ``"train"`` for
            training from scratch or after rewinding, ``"finetune"`` after a prune (or an IMP
            round > 0). ``options`` holds method options (``imp_amount``,
            ``butterfly_factors``).
        structure: ``structure(model, *, density, options) -> model`` gives an untrained
            model with the state-dict keys of a trained one (to load cached weights).
        description: one line for listings.
    """

    name: str
    train: Callable[..., nn.Module]
    structure: Callable[..., nn.Module]
    description: str = ""


#: Whole sparsity schedules by name (dense, one-shot + fine-tune, IMP, lottery, butterfly).
SPARSITY_METHODS: Registry[SparsityMethod] = Registry("sparsity method")


def register_sparsity_method(name: str, *, train: Callable[..., nn.Module],
                             structure: Callable[..., nn.Module], description: str = "",
                             overwrite: bool = False) -> SparsityMethod:
    """Register a sparsity schedule under ``name`` (see :class:`SparsityMethod`).

    Example:
        >>> from sparsepriv_nb.sparsity import magnitude_prune
        >>> def toy_train(model, fit, *, density, seed, epochs, finetune_epochs, options):
        ...     fit(model, epochs, seed, phase="train")
        ...     return magnitude_prune(model, 1 - density)
        >>> def toy_structure(model, *, density, options):
        ...     return magnitude_prune(model, 0.0)
        >>> entry = register_sparsity_method("toy", train=toy_train, structure=toy_structure)
        >>> "toy" in available_sparsity_methods()
        True
        >>> _ = SPARSITY_METHODS.unregister("toy")
    """
    validate_params({"train": train, "structure": structure},
                    {"train": [_CALLABLE], "structure": [_CALLABLE]}, "register_sparsity_method")
    entry = SparsityMethod(name, train, structure, description)
    return SPARSITY_METHODS.register(name, entry, overwrite=overwrite)


def available_sparsity_methods() -> list[str]:
    """Names of the registered sparsity schedules, in registration order."""
    return SPARSITY_METHODS.names()


def imp_rounds(density: float, amount: float) -> int:
    """IMP rounds n whose density ``(1 - amount)^n`` is closest to ``density`` (log space).

    ``density`` 1 gives 0 rounds (no pruning).

    Example:
        >>> imp_rounds(0.25, 0.5), imp_rounds(0.1, 0.2), imp_rounds(1.0, 0.5)
        (2, 10, 0)
    """
    validate_params({"density": density, "amount": amount},
                    {"density": [DENSITY], "amount": [AMOUNT]}, "imp_rounds")
    density, amount = float(density), float(amount)
    if density >= 1:
        return 0
    if amount == 0:
        raise ParameterError("The 'amount' parameter of imp_rounds must be > 0 to reach a "
                             f"density below 1 (density={density!r}). Got 0.0 instead.")
    return max(1, round(math.log(density) / math.log(1 - amount)))


def _identity_masks(model: nn.Module, targets: list[tuple[nn.Module, str]]) -> nn.Module:
    for mod, pname in targets:
        prune.identity(mod, pname)
    return refresh_masked_weights(model)


def _masked_structure(model, *, density, options):
    """All Linear/Conv weights reparametrised with (all-ones) masks."""
    return _identity_masks(model, [(m, "weight") for _, m in prunable_layers(model)])


def register_one_shot_method(name: str, prune_fn: Callable[..., nn.Module], *,
                             structure: Callable[..., nn.Module] | None = None,
                             description: str = "", overwrite: bool = False) -> SparsityMethod:
    """Register a one-shot prune for :func:`apply_sparsity` *and* as a schedule: train
    ``epochs`` (seed), prune to ``density`` (seed), fine-tune ``finetune_epochs`` (seed + 1).

    Args:
        name: registry name in both :data:`ONE_SHOT_METHODS` and :data:`SPARSITY_METHODS`.
        prune_fn: ``prune_fn(model, density, *, seed) -> model``, in place.
        structure: as in :class:`SparsityMethod`; default masks on every Linear/Conv weight.
        description, overwrite: as for :func:`register_sparsity_method`.
    """
    validate_params({"prune_fn": prune_fn}, {"prune_fn": [_CALLABLE]},
                    "register_one_shot_method")
    if name in SPARSITY_METHODS and not overwrite:  # fail before touching either registry
        SPARSITY_METHODS.register(name, None)
    ONE_SHOT_METHODS.register(name, prune_fn, overwrite=overwrite)
    return register_sparsity_method(name, train=_one_shot_schedule(name),
                                    structure=structure or _masked_structure,
                                    description=description, overwrite=overwrite)


def _one_shot_schedule(name: str):
    """Train, prune with the one-shot method ``name``, fine-tune."""

    def train(model, fit, *, density, seed, epochs, finetune_epochs, options):
        fit(model, epochs, seed, phase="train")
        apply_sparsity(model, name, density, seed=seed)
        fit(model, finetune_epochs, seed + 1, phase="finetune")
        return model

    return train


def _train_dense(model, fit, *, density, seed, epochs, finetune_epochs, options):
    fit(model, epochs, seed, phase="train")
    return model


def _structure_dense(model, *, density, options):
    return model


def _structure_l1(model, *, density, options):
    targets = []
    for _, conv, extra in channel_params(model):
        targets += [(conv, "weight"), *extra]
    return _identity_masks(model, targets)


def _imp_schedule(lottery: bool):
    def train(model, fit, *, density, seed, epochs, finetune_epochs, options):
        amount = options.get("imp_amount", 0.5)
        rounds = imp_rounds(density, amount)
        if rounds == 0:  # nothing to prune: the dense model
            fit(model, epochs, seed, phase="train")
            return model

        def train_fn(m, r):
            # Lottery tickets rewind, so every round trains from the initialisation.
            fresh = lottery or r == 0
            fit(m, epochs if fresh else finetune_epochs, seed + 7919 * r,
                phase="train" if fresh else "finetune")

        iterative_magnitude_pruning(model, train_fn, rounds=rounds, amount=amount,
                                    scope="global", rewind="init" if lottery else None,
                                    progress=False)
        return model

    def structure(model, *, density, options):
        if imp_rounds(density, options.get("imp_amount", 0.5)) == 0:
            return model
        return _masked_structure(model, density=density, options=options)

    return train, structure


def _train_butterfly(model, fit, *, density, seed, epochs, finetune_epochs, options):
    model = butterfly_sparsify(model, n_factors=options.get("butterfly_factors"), seed=seed)
    fit(model, epochs, seed, phase="train")
    return model


def _structure_butterfly(model, *, density, options):
    return butterfly_sparsify(model, n_factors=options.get("butterfly_factors"))


register_sparsity_method("dense", train=_train_dense, structure=_structure_dense,
                         description="no pruning")
for _name, _desc in (("magnitude", "layer-wise magnitude pruning, then fine-tuning"),
                     ("magnitude-global", "global magnitude pruning, then fine-tuning"),
                     ("random", "random positions at global magnitude's per-layer densities, "
                                "then fine-tuning"),
                     ("l1-filter", "whole conv filters by L1 norm (Li et al. 2017), then "
                                   "fine-tuning")):
    register_sparsity_method(_name, train=_one_shot_schedule(_name),
                             structure=_structure_l1 if _name == "l1-filter" else _masked_structure,
                             description=_desc)
_imp_train, _imp_structure = _imp_schedule(lottery=False)
register_sparsity_method("imp", train=_imp_train, structure=_imp_structure,
                         description="iterative magnitude pruning (global), fine-tuning each round")
_imp_train, _imp_structure = _imp_schedule(lottery=True)
register_sparsity_method("lottery", train=_imp_train, structure=_imp_structure,
                         description="IMP with rewinding to the initialisation (lottery ticket)")
register_sparsity_method("butterfly", train=_train_butterfly, structure=_structure_butterfly,
                         description="butterfly-factorised hidden Linear layers, from scratch")
del _name, _desc, _imp_train, _imp_structure
