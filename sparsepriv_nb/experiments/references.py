"""Reference models (LiRA, RMIA): trained on random halves of the attacked samples, dense ones
together as one vectorised ensemble where that is faster.

Lesson: notebook 02 (``02_membership_inference``), section 4.
"""

from __future__ import annotations

import contextlib

import numpy as np
import torch
from torch import nn

from .. import ensembles, models, train
from ..attacks import reference_in_masks
from .outputs import ReferenceOutputs
from .pools import check_disjoint
from .training import dense_config, model_key, plain_training, train_or_load

__all__ = ["reference_outputs", "ensemble_references"]


def ensemble_references(cfg, X, y, keep, train_kw) -> dict[int, nn.Module]:
    """Train the missing dense reference models of ``cfg`` together, as one vectorised
    ensemble (:func:`sparsepriv_nb.ensembles.train_ensemble`), where that is faster.

    Applies to plain dense training (no DP, no defense on attacker models, no early stopping)
    of an architecture that :func:`~sparsepriv_nb.ensembles.should_vectorise` says is faster
    vectorised at ``n_reference`` members: the path depends on the configuration only, never
    on what the cache holds, so a configuration's reference models always come from the same
    path. Each member is the model :func:`~sparsepriv_nb.experiments.training.train_or_load`
    would train (same initialisation, data, order and recipe; equal up to floating-point
    rounding) and is stored under the same
    cache key, so every later use loads it. The missing keys are claimed in sorted order
    (:func:`sparsepriv_nb.locks.claim`; two processes never wait on each other) and
    re-checked once held. Returns ``{i: model}`` for the members trained here (with the
    cache disabled: all of them); an empty dict when the ensemble path does not apply.
    """
    from ..locks import claim

    t, n = cfg.train, cfg.attack.n_reference
    dense = cfg.sparsity.method == "dense"
    if not (dense and t.patience is None and plain_training(cfg, attacker=True)
            and ensembles.should_vectorise(cfg.model.arch, n, input_shape=train_kw["input_shape"],
                                           device=train.resolve_device(train_kw["device"]))):
        return {}
    probe = models.build_model(cfg.model.arch, input_shape=train_kw["input_shape"],
                               num_classes=train_kw["num_classes"], seed=0,
                               **dict(cfg.model.params))
    if ensembles.why_not_vectorisable(probe) is not None:
        return {}
    cache = train_kw["cache"]
    seeds = [cfg.seed + 5000 + i for i in range(n)]
    keys = [model_key(cfg, X[keep[i]], y[keep[i]], role=f"ref{i}", seed=seeds[i],
                       attacker=True, fit_overrides={}) for i in range(n)]

    def missing():
        return [i for i in range(n) if not cache.enabled or cache.load_json("models", keys[i])
                is None]

    todo = missing()
    if not todo:
        return {}
    with contextlib.ExitStack() as stack:
        if cache.enabled:
            for i in sorted(todo, key=lambda i: keys[i]):
                stack.enter_context(claim(cache.root, keys[i]))
            todo = missing()  # another process may have trained some while we waited
            if not todo:
                return {}
        members = ensembles.train_ensemble(
            cfg.model.arch, [keep[i] for i in todo], X=X, y=y,
            input_shape=train_kw["input_shape"], num_classes=train_kw["num_classes"],
            seeds=[seeds[i] for i in todo], epochs=t.epochs, batch_size=t.batch_size, lr=t.lr,
            optimizer=t.optimizer, weight_decay=t.weight_decay,
            model_params=dict(cfg.model.params), device=train_kw["device"], vectorise=True)
        for i, m in zip(todo, members):
            cache.save_model(keys[i], m.state_dict(),
                             {"role": f"ref{i}", "seed": seeds[i], "train_info": {},
                              "config": cfg.model_dict(attacker=True), "ensemble": len(todo)})
    return dict(zip(todo, members))


def reference_outputs(cfg, ds, pools, target, train_kw, advance, *,
                      need_population: bool) -> ReferenceOutputs:
    """Reference models on random halves of the attacked samples; population = shadow pool.

    Dense reference models (those of a dense configuration, and the dense first phase of a
    pruned one: see :class:`~sparsepriv_nb.experiments.training.ModelJob`) train as one
    vectorised ensemble where that is faster (:func:`ensemble_references`); the others one by
    one. ``advance()`` is called after each reference model (a progress bar).
    """
    attacked = np.r_[pools.target_train, pools.target_test]
    X, y = ds.subset(attacked)
    keep = reference_in_masks(len(attacked), cfg.attack.n_reference, seed=cfg.seed + 55)
    population = np.r_[pools.shadow_train, pools.shadow_test]
    check_disjoint(population, attacked, "RMIA's population", "the attacked samples")
    Xp, yp = ds.subset(population)
    if cfg.sparsity.method == "dense":
        trained = ensemble_references(cfg, X, y, keep, train_kw)
    else:  # the dense phase of each pruned reference model, if the cache lacks it
        if train_kw["cache"].enabled:
            ensemble_references(dense_config(cfg), X, y, keep, train_kw)
        trained = {}
    ref_logits, pop_logits = [], []
    for i in range(cfg.attack.n_reference):
        ref = trained.get(i)
        if ref is None:
            ref, _ = train_or_load(cfg, (X[keep[i]], y[keep[i]]), role=f"ref{i}",
                                   seed=cfg.seed + 5000 + i, attacker=True,
                                   val_data=ds.subset(pools.shadow_val), **train_kw)
        ref_logits.append(train.predict_logits(ref, X, device=train_kw["device"]))
        if need_population:
            pop_logits.append(train.predict_logits(ref, Xp, device=train_kw["device"]))
        advance()
    if not need_population:
        return ReferenceOutputs(torch.stack(ref_logits), y, keep)
    return ReferenceOutputs(torch.stack(ref_logits), y, keep, torch.stack(pop_logits), yp,
                            train.predict_logits(target, Xp, device=train_kw["device"]))
