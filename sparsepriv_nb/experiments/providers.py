"""The built-in attack inputs, and building the one :class:`~sparsepriv_nb.attacks.
AttackInputs` object an experiment's attacks share.

Each field of :data:`sparsepriv_nb.attacks.INPUTS` has a provider ``provide(ctx)`` that reads
an :class:`ExperimentContext` (the configuration, data, pools, trained target and the fields
built so far). :func:`build_inputs` builds the fields the selected attacks declare, each once,
in registration order (a field's ``requires`` first). The built-in providers below are the
functions of the same names, looked up by :data:`~sparsepriv_nb.attacks.INPUTS`.

Lesson: notebook 02 (``02_membership_inference``), section 3.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

import numpy as np
from torch import nn

from .. import data as D
from ..attacks import INPUTS, AttackInputs
from ..config import ExperimentConfig
from .outputs import ModelOutputs, ReferenceOutputs, query
from .pools import check_disjoint
from .references import reference_outputs
from .training import train_or_load

__all__ = ["ExperimentContext", "build_inputs", "needed_fields", "target", "shadow",
           "references", "population", "sensitivity"]


@dataclass
class ExperimentContext:
    """What input providers may read: one experiment's configuration, data and target.

    Attributes:
        cfg: the :class:`~sparsepriv_nb.config.ExperimentConfig`.
        dataset, pools: from :func:`~sparsepriv_nb.experiments.prepare_data`.
        members, nonmembers: the target's training and test sets ``(X, y)``.
        target_model: the trained target.
        train_kw: ``input_shape``, ``num_classes``, ``cache``, ``device``, ``public_data``
            (the keyword arguments of :func:`~sparsepriv_nb.experiments.training.train_or_load`).
        needed: the fields being built (:meth:`wants`).
        inputs: the fields built so far, by name.
        bar: a tqdm progress bar (or None).
    """

    cfg: ExperimentConfig
    dataset: Any
    pools: D.Pools
    members: tuple
    nonmembers: tuple
    target_model: nn.Module
    train_kw: dict
    needed: frozenset = frozenset()
    inputs: dict = field(default_factory=dict)
    bar: Any = None

    @property
    def device(self):
        return self.train_kw["device"]

    def wants(self, name: str) -> bool:
        """Whether field ``name`` is among those being built (flags such as ``sensitivity``)."""
        return name in self.needed

    def expect(self, steps: int) -> None:
        """Announce ``steps`` more progress steps (models to train)."""
        if self.bar is not None:
            self.bar.total += steps
            self.bar.refresh()

    def advance(self) -> None:
        """One progress step done."""
        if self.bar is not None:
            self.bar.update()


def needed_fields(needs: Iterable[Iterable[str]]) -> list[str]:
    """The union of several attacks' ``needs``, with ``target`` (records need it) and every
    field's ``requires``, in :data:`~sparsepriv_nb.attacks.INPUTS` order.

    Example:
        >>> needed_fields([("target", "shadow"), ("target", "references", "population")])
        ['target', 'shadow', 'references', 'population']
    """
    wanted: set[str] = {"target"}
    todo = [n for group in needs for n in group]
    while todo:
        name = todo.pop()
        if name not in wanted:
            wanted.add(name)
        todo.extend(r for r in INPUTS.get(name).requires if r not in wanted)
    return [n for n in INPUTS.names() if n in wanted]


def build_inputs(ctx: ExperimentContext, names: Iterable[str]) -> AttackInputs:
    """Build fields ``names`` (ordered as :func:`needed_fields` returns them) into ``ctx.inputs``
    and return them as one :class:`~sparsepriv_nb.attacks.AttackInputs`."""
    names = list(names)
    ctx.needed = frozenset(names)
    for name in names:
        ctx.inputs[name] = INPUTS.get(name).provide(ctx)
    return AttackInputs(**{n: ctx.inputs[n] for n in names})


# --------------------------------------------------------------------------- built-in fields


def target(ctx: ExperimentContext) -> ModelOutputs:
    """The target's outputs on its members then as many non-members."""
    return query(ctx.target_model, ctx.members, ctx.nonmembers,
                 with_sensitivity=ctx.wants("sensitivity"), seed=ctx.cfg.seed, device=ctx.device)


def shadow(ctx: ExperimentContext) -> ModelOutputs:
    """``attack.n_shadows`` shadow models, each trained like the target on its own split of the
    shadow pool (never the target's), queried on their members and non-members, stacked."""
    cfg, ds, pools = ctx.cfg, ctx.dataset, ctx.pools
    ctx.expect(cfg.attack.n_shadows)
    target_pool = np.r_[pools.target_train, pools.target_val, pools.target_test]
    outs = []
    for i, (mem, non) in enumerate(D.shadow_splits(pools, cfg.attack.n_shadows, seed=cfg.seed)):
        check_disjoint(np.r_[mem, non], target_pool, f"shadow model {i}'s data",
                       "the target's pool")
        s_mem, s_non = ds.subset(mem), ds.subset(non)
        model, _ = train_or_load(cfg, s_mem, role=f"shadow{i}", seed=cfg.seed + 1000 + i,
                                 attacker=True, val_data=ds.subset(pools.shadow_val),
                                 **ctx.train_kw)
        outs.append(query(model, s_mem, s_non, with_sensitivity=ctx.wants("sensitivity"),
                          seed=cfg.seed + 1000 + i, device=ctx.device))
        ctx.advance()
    return ModelOutputs.concat(outs)


def references(ctx: ExperimentContext) -> ReferenceOutputs:
    """``attack.n_reference`` reference models' logits on the target's samples, with their IN
    masks (and the population's logits when ``population`` is wanted)."""
    ctx.expect(ctx.cfg.attack.n_reference)
    return reference_outputs(ctx.cfg, ctx.dataset, ctx.pools, ctx.target_model, ctx.train_kw,
                             ctx.advance, need_population=ctx.wants("population"))


def population(ctx: ExperimentContext) -> bool:
    """A flag: :func:`references` reads it and adds the population's logits."""
    return True


def sensitivity(ctx: ExperimentContext) -> bool:
    """A flag: :func:`target` and :func:`shadow` read it and add prediction sensitivities."""
    return True
