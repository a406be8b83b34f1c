"""Privacy experiments: (data, model, sparsity, training, attacks) -> tidy records.

One experiment, Gonon et al.'s pipeline (their Fig. 2):

1. split the dataset into disjoint target and shadow pools (one seed);
2. train the target on its members and ``n_shadows`` shadow models, each on its own seeded
   split of the shadow pool, *the same way* (architecture, sparsity schedule, recipe; the
   defense only if ``defense.adaptive``);
3. measure accuracy and the generalisation gap;
4. fit every requested attack on the shadows' members / non-members (reference-kind attacks:
   on reference models trained on random halves of the attacked samples) and score the
   target's members (its training set) and non-members (its test set, same size);
5. return one row per attack with the config's columns, accuracies and :mod:`metrics`.

The orchestrator holds no method names: sparsity schedules, attacks, defenses and DP modes are
looked up in their registries (:data:`sparsity.SPARSITY_METHODS`, :data:`attacks.ATTACKS`,
:data:`defenses.DEFENSES`, :data:`dp.DP_MODES`), with what each attack needs (prediction
sensitivity, a population) read from its entry. The configuration is
:class:`~sparsepriv_nb.config.ExperimentConfig` (sections; see :mod:`sparsepriv_nb.config`).

Trained models, records and per-sample arrays are cached content-addressed under
``data/cache`` (:mod:`sparsepriv_nb.cache`): ``records/<key>.json`` (the rows) beside
``scores/<key>.npz`` (every attack's scores, the membership labels, and the target, shadow and
reference models' outputs). :func:`load_scores` and :func:`load_outputs` read them back for a
finished experiment or sweep; :func:`run_sweep` runs a grid serially, on local processes (loky)
or on a Dask cluster, skipping what is cached, so a killed sweep restarted loses nothing
finished.

Example:
    >>> cfg = ExperimentConfig(train={"epochs": 5}, attack={"names": ("loss",)})
    >>> df = run_experiment(cfg, cache=False)
    >>> df[["sparsity_method", "attack"]].values.tolist()
    [['dense', 'loss']]

Migration from the flat configuration (before the sections):
    * ``ExperimentConfig(method="magnitude", density=0.5, epochs=5)`` ->
      ``ExperimentConfig.from_flat(method=..., density=..., epochs=...)`` (every old name
      works there, ``samia_epochs`` included) or, better,
      ``ExperimentConfig(sparsity={"method": "magnitude", "density": 0.5}, train={"epochs": 5})``.
    * ``cfg.replace(method=..., density=...)`` -> ``cfg.replace(sparsity__method=...,
      sparsity__density=...)``; grids likewise: ``make_grid(base, sparsity__density=[...])``.
      Old names: dataset -> ``data__name``; max_samples, n_classes, train_size -> ``data__``;
      arch -> ``model__arch``, model_kwargs -> ``model__params``; method, density,
      imp_amount, butterfly_factors -> ``sparsity__``; epochs, finetune_epochs, optimizer,
      lr, batch_size, weight_decay -> ``train__``; attacks -> ``attack__names``; n_shadows,
      n_reference -> ``attack__``; samia_epochs -> ``attack__params={"samia": {"epochs": n}}``.
    * Record columns are ``section_field``: ``method`` -> ``sparsity_method``, ``density`` ->
      ``sparsity_density``, ``n_classes`` -> ``data_n_classes``, ``epochs`` ->
      ``train_epochs``, ``dataset`` -> ``data_name``; ``seed``, ``model`` (label),
      ``attack``, ``density_achieved``, accuracies and metrics are unchanged.
    * ``E.ATTACKS`` / ``E.REFERENCE_ATTACKS`` / ``E.SPARSITY_METHODS`` ->
      ``spn.attacks.available_attacks()`` (``"shadow"`` / ``"reference"``) and
      ``spn.sparsity.available_sparsity_methods()``; ``E.imp_rounds`` ->
      ``spn.sparsity.imp_rounds``.
    * ``train_model(..., cache=None)`` now uses the default cache (as ``run_experiment``
      does); pass ``cache=False`` for none.
    * ``run_experiment(..., return_outputs=True)`` reads a finished experiment from the cache
      instead of recomputing it; its dict gains ``"references"``. Per-sample scores of a
      finished experiment or sweep: :func:`load_scores`.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn

from . import data as D
from . import metrics as M
from . import models, signals, train
from ._masks import refresh_masked_weights
from ._progress import show_progress
from .cache import Cache
from .config import DEFAULT_ATTACKS, ExperimentConfig, make_grid

__all__ = ["ExperimentConfig", "DEFAULT_ATTACKS", "ModelOutputs", "ReferenceOutputs",
           "prepare_data", "train_model", "query", "fit_attack", "score_attack",
           "run_experiment", "run_sweep", "make_grid", "default_cache", "load_scores",
           "load_outputs", "attack_transfer", "experiment_key"]

_BACKENDS = (None, "loky", "dask")


def _attacks():
    from . import attacks

    return attacks


def default_cache() -> Cache:
    """The cache under ``data/cache`` (``$SPARSEPRIV_DATA/cache``)."""
    return Cache(D.default_root() / "cache")


def _as_cache(cache) -> Cache:
    """``None``/``True``: the default cache; ``False``: none; a :class:`Cache` or a folder."""
    if cache is None or cache is True:
        return default_cache()
    if cache is False:
        return Cache("/nonexistent", enabled=False)
    if isinstance(cache, Cache):
        return cache
    if isinstance(cache, (str, Path)):
        return Cache(Path(cache))
    raise TypeError(f"The 'cache' parameter must be None, a bool, a Cache or a folder. Got "
                    f"{cache!r} instead.")


def _check_cfg(cfg) -> ExperimentConfig:
    if not isinstance(cfg, ExperimentConfig):
        raise TypeError(f"The 'cfg' parameter must be an ExperimentConfig. Got "
                        f"{type(cfg).__name__} instead.")
    return cfg


def experiment_key(cfg: ExperimentConfig) -> str:
    """The cache key of ``cfg``'s record and per-sample arrays."""
    return Cache.key({"experiment": _check_cfg(cfg).as_dict()})


def _check_disjoint(a, b, what: str, other: str) -> None:
    """Raise if index sets ``a`` and ``b`` share a sample (an explicit check, kept under -O)."""
    shared = np.intersect1d(np.asarray(a), np.asarray(b))
    if len(shared):
        raise AssertionError(f"{what} contains {len(shared)} of {other} (e.g. index "
                             f"{int(shared[0])}); the attacker must never train on them.")


# --------------------------------------------------------------------------- data


def prepare_data(cfg: ExperimentConfig, *, root=None):
    """The dataset of ``cfg`` (subset, restricted classes) and its pools (``train_size``: a
    seeded random subset of each train / test pool)."""
    d = _check_cfg(cfg).data
    ds = D.load_dataset(d.name, root=root, max_samples=d.max_samples, seed=cfg.seed)
    if d.n_classes is not None:
        ds = D.restrict_classes(ds, d.n_classes)
    pools = D.make_pools(len(ds), seed=cfg.seed, public_fraction=d.public_fraction)
    if d.train_size is not None:
        pools = D.subsample_pools(pools, d.train_size, seed=cfg.seed)
    return ds, pools


# --------------------------------------------------------------------------- training


def _fit_callback(cfg: ExperimentConfig, train_data, *, attacker: bool, val_data, public_data,
                  device, fit_overrides: dict, dp_log: list):
    """The ``fit(model, epochs, seed, *, phase)`` a sparsity schedule calls.

    A defense applies to the target, and to attacker models only when adaptive; one with
    ``phase="finetune"`` applies to fine-tuning calls, or to the training call when the
    density is 1 (no prune, hence no fine-tuning: dense and butterfly models). With a DP mode
    every call trains through it and its accounting is logged.
    """
    t = cfg.train
    setup = cfg.defense.setup() if (not attacker or cfg.defense.adaptive) else None

    def fit(model, epochs, seed, *, phase):
        kw = dict(optimizer=t.optimizer, lr=t.lr, batch_size=t.batch_size,
                  weight_decay=t.weight_decay, patience=t.patience, device=device)
        if setup is not None and (setup.phase == "all" or phase == "finetune"
                                  or cfg.sparsity.density == 1.0):
            kw.update(setup.fit_kwargs)
        kw.update(fit_overrides)
        if kw["patience"] is not None:
            kw["val_data"] = val_data
        if cfg.dp.mode is None:
            train.fit(model, train_data, epochs=epochs, seed=seed, progress=False, **kw)
            return
        from .dp import DP_MODES

        out = DP_MODES.get(cfg.dp.mode).fit(
            model, train_data, epochs=epochs, batch_size=t.batch_size, lr=t.lr, seed=seed,
            device=device, public_data=public_data, **dict(cfg.dp.params))
        dp_log.append({k: v for k, v in out.items()
                       if isinstance(v, (int, float, str, bool)) or v is None})

    return fit, (setup.model_kwargs if setup is not None else {})


def _dp_summary(log: list[dict]) -> dict:
    """Record columns of the DP training calls of one model: ``epsilon`` and ``delta`` of all
    its calls composed by one accountant (:func:`~sparsepriv_nb.dp.composed_privacy`; one
    call for dense models), ``dp_calls``, and the last call's other values as ``fit_<key>``
    (``fit_noise_multiplier``, ``fit_accountant``, ``fit_steps``, ...), apart from the
    config's ``dp_<param>`` columns."""
    if not log:
        return {}
    from .dp import composed_privacy

    out = {f"fit_{k}": v for k, v in log[-1].items() if k not in ("epsilon", "delta", "mode")}
    out.update(composed_privacy(log), dp_calls=len(log))
    return out


def _model_key(cfg: ExperimentConfig, X, y, *, role: str, seed: int, attacker: bool,
               fit_overrides: dict) -> str:
    """The cache key of one trained model: what shapes it (every section but the attacks),
    its role and seed, its training data, and any ``fit`` overrides."""
    return Cache.key({"cfg": cfg.model_dict(attacker=attacker), "role": role, "seed": seed,
                      "data": Cache.key({"X": _digest(X), "y": _digest(y)}),
                      "fit": fit_overrides})


def _plain_training(cfg: ExperimentConfig, *, attacker: bool) -> bool:
    """Whether this model trains with ``train.fit`` and the train section alone: no DP mode,
    and no defense applied to it (none configured, or an attacker model of a non-adaptive
    defense)."""
    if cfg.dp.mode is not None:
        return False
    if attacker and not cfg.defense.adaptive:
        return True
    setup = cfg.defense.setup()
    return not setup.fit_kwargs and not setup.model_kwargs


def _dense_config(cfg: ExperimentConfig) -> ExperimentConfig:
    """``cfg`` with the default (dense) sparsity section."""
    import dataclasses

    return dataclasses.replace(cfg, sparsity=type(cfg.sparsity)())


def _same_weights(a: nn.Module, b: nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k].to(sa[k].device))
                                          for k in sa)


def _train_or_load(cfg: ExperimentConfig, train_data, *, role: str, seed: int, input_shape,
                   num_classes: int, cache: Cache, device, attacker: bool, val_data=None,
                   public_data=None, **fit_overrides) -> tuple[nn.Module, dict]:
    """Train one model of ``cfg`` (or load it from the cache): ``(model, train_info)``.

    **Shared dense phase.** Most sparsity schedules start by training the freshly initialised
    dense model for ``train.epochs`` epochs with the model's seed (one-shot pruning before
    it prunes, IMP and lottery tickets in their first round): exactly the dense model of the
    same role, seed and data. When training is plain (:func:`_plain_training`), that first call
    is served by the dense configuration's cached model (trained once, under its own claim,
    and shared by every method and density of a sweep and by the dense baseline) instead of
    being recomputed. The call is recognised by what it is, not by the method's name: phase
    ``"train"``, ``train.epochs`` epochs, the model's seed, and weights equal to a fresh
    ``build(seed)``; every other call trains as before. The result is the model the schedule
    would have trained, bit for bit.
    """
    from .sparsity import SPARSITY_METHODS

    method = SPARSITY_METHODS.get(cfg.sparsity.method)
    dp_log: list[dict] = []
    fit, model_kwargs = _fit_callback(cfg, train_data, attacker=attacker, val_data=val_data,
                                      public_data=public_data, device=device,
                                      fit_overrides=fit_overrides, dp_log=dp_log)

    def build(s):
        return models.build_model(cfg.model.arch, input_shape=input_shape,
                                  num_classes=num_classes, seed=s,
                                  **dict(cfg.model.params), **model_kwargs)

    X, y = train_data
    key = _model_key(cfg, X, y, role=role, seed=seed, attacker=attacker,
                     fit_overrides=fit_overrides)
    shared = (cfg.sparsity.method != "dense" and not model_kwargs
              and _plain_training(cfg, attacker=attacker))

    def fit_sharing_dense(model, epochs, s, *, phase):
        if shared and phase == "train" and epochs == cfg.train.epochs and s == seed \
                and _same_weights(model, build(seed)):
            dense, _ = _train_or_load(_dense_config(cfg), train_data, role=role, seed=seed,
                                      input_shape=input_shape, num_classes=num_classes,
                                      cache=cache, device=device, attacker=attacker,
                                      val_data=val_data, public_data=public_data,
                                      **fit_overrides)
            model.load_state_dict(dense.state_dict())
            model.to(train.resolve_device(device)).eval()
            return
        fit(model, epochs, s, phase=phase)

    def load():
        hit = cache.load_model(key)
        if hit is None:
            return None
        model = method.structure(build(0), density=cfg.sparsity.density,
                                 options=cfg.sparsity.options)
        try:
            model.load_state_dict(hit[0])
        except (RuntimeError, KeyError) as exc:  # structure changed: recompute
            warnings.warn(f"cache: model {key[:12]} does not fit ({exc}); retraining.",
                          stacklevel=3)
            return None
        refresh_masked_weights(model)
        return model.eval(), dict(hit[1].get("train_info", {}))

    def compute():
        t = cfg.train
        model = method.train(build(seed), fit_sharing_dense, density=cfg.sparsity.density,
                             seed=seed, epochs=t.epochs, finetune_epochs=t.finetune_epochs,
                             options=cfg.sparsity.options)
        info = _dp_summary(dp_log)
        cache.save_model(key, model.state_dict(), {"role": role, "seed": seed,
                                                   "train_info": info,
                                                   "config": cfg.model_dict(attacker=attacker)})
        return model.eval(), info

    if not cache.enabled:
        return compute()
    # Concurrent notebooks (``sparsepriv-nb run --jobs``) may need the same model: one process
    # trains it under an inter-process claim, the others wait and load it.
    from .locks import compute_once

    return compute_once(cache.root, key, load=load, compute=compute)[0]


def train_model(cfg: ExperimentConfig, train_data, *, role: str, seed: int,
                input_shape, num_classes: int, cache=None, device: str = "auto",
                attacker: bool | None = None, val_data=None, public_data=None,
                **fit_overrides) -> nn.Module:
    """Train (or load from the cache) one model of ``cfg`` on ``train_data``.

    Args:
        cfg: the experiment config (sparsity schedule, recipe, defense, DP mode).
        train_data: ``(X, y)``.
        role: a name that enters the cache key (``"target"``, ``"shadow0"``, ``"ref3"``).
        seed: initialisation and batch seed.
        input_shape, num_classes: of the dataset.
        cache: as for :func:`run_experiment`: ``None``/``True`` the default cache, ``False``
            none, a :class:`Cache` or a folder.
        device: training device.
        attacker: a shadow or reference model (no defense unless adaptive); default: any
            ``role`` but ``"target"``.
        val_data: ``(X, y)`` for early stopping (``train.patience`` or a defense).
        public_data: ``(X, y)`` for DP modes that use public data.
        **fit_overrides: extra :func:`train.fit` arguments; they must be JSON-describable to
            enter the key, or pass ``cache=False``.
    """
    model, _ = _train_or_load(
        _check_cfg(cfg), train_data, role=role, seed=seed, input_shape=input_shape,
        num_classes=num_classes, cache=_as_cache(cache), device=device,
        attacker=role != "target" if attacker is None else attacker, val_data=val_data,
        public_data=public_data, **fit_overrides)
    return model


def _digest(t: torch.Tensor) -> str:
    return hashlib.sha256(t.detach().cpu().contiguous().numpy().tobytes()).hexdigest()


# --------------------------------------------------------------------------- outputs


@dataclass
class ModelOutputs:
    """A model's logits on its members and non-members (balanced), with labels and, for
    attacks that need it, prediction sensitivities. ``membership`` is 1 for members."""

    logits: torch.Tensor
    labels: torch.Tensor
    membership: np.ndarray
    sensitivity: np.ndarray | None = None

    @staticmethod
    def concat(items: list[ModelOutputs]) -> ModelOutputs:
        sens = (None if any(i.sensitivity is None for i in items)
                else np.concatenate([i.sensitivity for i in items]))
        return ModelOutputs(torch.cat([i.logits for i in items]),
                            torch.cat([i.labels for i in items]),
                            np.concatenate([i.membership for i in items]), sens)


@dataclass
class ReferenceOutputs:
    """What reference-kind attacks (LiRA, RMIA) are fitted on.

    Attributes:
        logits: ``(n_reference, n, C)`` reference models' logits on the attacked samples (the
            target's members then non-members, as in the target's :class:`ModelOutputs`).
        labels: ``(n,)`` their labels.
        ref_in: ``(n_reference, n)`` bool, sample j in reference model i's training set.
        population_logits, population_labels: reference models' logits on the population
            (the shadow pool, disjoint from the attacked samples), or None.
        target_population_logits: the target's logits on the population, or None.
    """

    logits: torch.Tensor
    labels: torch.Tensor
    ref_in: np.ndarray
    population_logits: torch.Tensor | None = None
    population_labels: torch.Tensor | None = None
    target_population_logits: torch.Tensor | None = None


def query(model: nn.Module, members, nonmembers, *, with_sensitivity: bool = False,
          seed: int = 0, device: str = "auto") -> ModelOutputs:
    """Query ``model`` on ``members`` and ``nonmembers`` (each ``(X, y)``).

    Raises:
        ValueError: unbalanced sets.
    """
    if len(members[1]) != len(nonmembers[1]):
        raise ValueError(f"Members ({len(members[1])}) and non-members ({len(nonmembers[1])}) "
                         "must be balanced.")
    X = torch.cat([members[0], nonmembers[0]])
    y = torch.cat([members[1], nonmembers[1]])
    logits = train.predict_logits(model, X, device=device)
    sens = None
    if with_sensitivity:
        sens = signals.sensitivity(model, X, generator=torch.Generator().manual_seed(seed),
                                   device=device)
    membership = np.r_[np.ones(len(members[1]), int), np.zeros(len(nonmembers[1]), int)]
    return ModelOutputs(logits, y, membership, sens)


def _sens_kw(name: str, out: ModelOutputs) -> dict:
    return ({"sensitivity": out.sensitivity}
            if "sensitivity" in _attacks().ATTACKS.get(name).needs else {})


def fit_attack(name: str, attack, shadow: ModelOutputs):
    """Fit ``attack`` (a shadow-kind attack registered as ``name``) on shadow outputs."""
    return attack.fit(shadow.logits, shadow.labels, shadow.membership, **_sens_kw(name, shadow))


def score_attack(name: str, attack, target: ModelOutputs) -> np.ndarray:
    """Membership scores of a fitted shadow-kind ``attack`` on a target's outputs."""
    return attack.score_samples(target.logits, target.labels, **_sens_kw(name, target))


def _ensemble_references(cfg, X, y, keep, train_kw) -> dict[int, nn.Module]:
    """Train the missing dense reference models of ``cfg`` together, as one vectorised
    ensemble (:func:`sparsepriv_nb.ensembles.train_ensemble`), where that is faster.

    Applies to plain dense training (no DP, no defense on attacker models, no early stopping)
    of an architecture that :func:`~sparsepriv_nb.ensembles.should_vectorise` says is faster
    vectorised at ``n_reference`` members: the path depends on the configuration only, never
    on what the cache holds, so a configuration's reference models always come from the same
    path. Each member is the model :func:`_train_or_load` would train (same initialisation,
    data, order and recipe; equal up to floating-point rounding) and is stored under the same
    cache key, so every later use loads it. The missing keys are claimed in sorted order
    (:func:`sparsepriv_nb.locks.claim`; two processes never wait on each other) and
    re-checked once held. Returns ``{i: model}`` for the members trained here (with the
    cache disabled: all of them); an empty dict when the ensemble path does not apply.
    """
    import contextlib

    from . import ensembles
    from .locks import claim

    t, n = cfg.train, cfg.attack.n_reference
    dense = cfg.sparsity.method == "dense"
    if not (dense and t.patience is None and _plain_training(cfg, attacker=True)
            and ensembles.should_vectorise(cfg.model.arch, n, input_shape=train_kw["input_shape"],
                                           device=train.resolve_device(train_kw["device"]))):
        return {}
    probe = models.build_model(cfg.model.arch, input_shape=train_kw["input_shape"],
                               num_classes=train_kw["num_classes"], seed=0,
                               **dict(cfg.model.params))
    if ensembles._vectorisable(probe) is not None:
        return {}
    cache = train_kw["cache"]
    seeds = [cfg.seed + 5000 + i for i in range(n)]
    keys = [_model_key(cfg, X[keep[i]], y[keep[i]], role=f"ref{i}", seed=seeds[i],
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


def _reference_outputs(cfg, ds, pools, target, train_kw, bar, *, need_population):
    """Reference models on random halves of the attacked samples; population = shadow pool.

    Dense reference models (those of a dense configuration, and the dense first phase of a
    pruned one: see :func:`_train_or_load`) train as one vectorised ensemble where that is
    faster (:func:`_ensemble_references`); the others one by one.
    """
    A = _attacks()
    attacked = np.r_[pools.target_train, pools.target_test]
    X, y = ds.subset(attacked)
    keep = A.reference_in_masks(len(attacked), cfg.attack.n_reference, seed=cfg.seed + 55)
    population = np.r_[pools.shadow_train, pools.shadow_test]
    _check_disjoint(population, attacked, "RMIA's population", "the attacked samples")
    Xp, yp = ds.subset(population)
    if cfg.sparsity.method == "dense":
        trained = _ensemble_references(cfg, X, y, keep, train_kw)
    else:  # the dense phase of each pruned reference model, if the cache lacks it
        if train_kw["cache"].enabled:
            _ensemble_references(_dense_config(cfg), X, y, keep, train_kw)
        trained = {}
    ref_logits, pop_logits = [], []
    for i in range(cfg.attack.n_reference):
        ref = trained.get(i)
        if ref is None:
            ref, _ = _train_or_load(cfg, (X[keep[i]], y[keep[i]]), role=f"ref{i}",
                                    seed=cfg.seed + 5000 + i, attacker=True,
                                    val_data=ds.subset(pools.shadow_val), **train_kw)
        ref_logits.append(train.predict_logits(ref, X, device=train_kw["device"]))
        if need_population:
            pop_logits.append(train.predict_logits(ref, Xp, device=train_kw["device"]))
        bar.update()
    if not need_population:
        return ReferenceOutputs(torch.stack(ref_logits), y, keep)
    return ReferenceOutputs(torch.stack(ref_logits), y, keep, torch.stack(pop_logits), yp,
                            train.predict_logits(target, Xp, device=train_kw["device"]))


def _score_reference(name, attack, refs: ReferenceOutputs, target: ModelOutputs):
    if "population" in _attacks().ATTACKS.get(name).needs:
        attack.fit(refs.logits, refs.labels, refs.ref_in,
                   population_logits=refs.population_logits,
                   population_labels=refs.population_labels)
        return attack.score_samples(target.logits, refs.labels,
                                    target_population_logits=refs.target_population_logits)
    attack.fit(refs.logits, refs.labels, refs.ref_in)
    return attack.score_samples(target.logits, refs.labels)


# --------------------------------------------------------------------------- experiment


def run_experiment(cfg: ExperimentConfig, *, cache=None, device: str = "auto",
                   root=None, return_outputs: bool = False, progress: bool | None = None):
    """Run one privacy experiment (or read it from the cache); see the module docstring.

    Args:
        cfg: the :class:`ExperimentConfig`.
        cache: a :class:`Cache`, a folder, ``None``/``True`` (``data/cache``) or ``False``.
        device: training device.
        root: data folder.
        return_outputs: also return a dict with ``"target"`` and ``"shadow"``
            (:class:`ModelOutputs`; shadow None without shadow-kind attacks),
            ``"references"`` (:class:`ReferenceOutputs` or None), ``"model"`` (the target
            model) and ``"scores"`` ({attack: membership scores on the target}). A finished
            experiment is read from the cache (the target model is loaded, not retrained).
        progress: a tqdm bar over models and attacks (default: in notebooks and terminals).

    Returns:
        DataFrame, one row per attack: ``model`` (label), ``attack``, ``attack_params``,
        ``seed`` and the config's ``section_field`` columns, ``density_achieved``,
        ``train_acc``, ``test_acc``, ``gen_gap``, ``n_members``, with a DP mode ``epsilon``,
        ``delta``, ``dp_calls`` and ``fit_*`` (see :func:`_dp_summary`),
        the metrics of :func:`metrics.attack_record` with their intervals, ``from_cache``.
    """
    cache = _as_cache(cache)
    key = experiment_key(cfg)
    hit = _load_finished(cache, key, cfg)
    if hit is not None and not return_outputs:
        return hit[0].assign(from_cache=True)
    ds, pools = prepare_data(cfg, root=root)
    train_kw = dict(input_shape=ds.input_shape, num_classes=ds.num_classes, cache=cache,
                    device=device,
                    public_data=ds.subset(pools.public) if len(pools.public) else None)
    tr, te = ds.subset(pools.target_train), ds.subset(pools.target_test)
    if hit is not None:
        target, _ = _train_or_load(cfg, tr, role="target", seed=cfg.seed, attacker=False,
                                   val_data=ds.subset(pools.target_val), **train_kw)
        return hit[0].assign(from_cache=True), {**_outputs_from_arrays(hit[1], cfg),
                                                "model": target}
    df, outputs = _compute(cfg, ds, pools, tr, te, train_kw, progress)
    arrays = _arrays_from_outputs(outputs, cfg)
    sha = cache.save_arrays("scores", key, arrays)  # first the arrays, then the record
    cache.save_json("records", key, {"config": cfg.as_dict(), "scores_sha256": sha,
                                     "columns": list(df.columns),
                                     "records": df.to_dict(orient="records")})
    df = df.assign(from_cache=False)
    return (df, outputs) if return_outputs else df


def _compute(cfg, ds, pools, tr, te, train_kw, progress):
    from tqdm.auto import tqdm

    A = _attacks()
    entries = {n: A.ATTACKS.get(n) for n in cfg.attack.names}
    shadow_names = [n for n, e in entries.items() if e.kind == "shadow"]
    ref_names = [n for n, e in entries.items() if e.kind == "reference"]
    need_sens = any("sensitivity" in e.needs for e in entries.values())
    a = cfg.attack
    steps = (1 + (a.n_shadows + len(shadow_names) if shadow_names else 0)
             + (a.n_reference + len(ref_names) if ref_names else 0))
    bar = tqdm(total=steps, desc=cfg.label, leave=False, disable=not show_progress(progress))
    target, info = _train_or_load(cfg, tr, role="target", seed=cfg.seed, attacker=False,
                                  val_data=ds.subset(pools.target_val), **train_kw)
    bar.update()
    dev = train_kw["device"]
    from .sparsity import overall_density

    t_out = query(target, tr, te, with_sensitivity=need_sens, seed=cfg.seed, device=dev)
    base = {**cfg.flat(), "density_achieved": overall_density(target),
            "train_acc": train.evaluate(target, tr, device=dev)["accuracy"],
            "test_acc": train.evaluate(target, te, device=dev)["accuracy"],
            "n_members": len(tr[1]), **info}
    base["gen_gap"] = base["train_acc"] - base["test_acc"]
    scores, s_out, refs = {}, None, None
    if shadow_names:
        target_pool = np.r_[pools.target_train, pools.target_val, pools.target_test]
        outs = []
        for i, (mem, non) in enumerate(D.shadow_splits(pools, a.n_shadows, seed=cfg.seed)):
            _check_disjoint(np.r_[mem, non], target_pool, f"shadow model {i}'s data",
                            "the target's pool")
            s_mem, s_non = ds.subset(mem), ds.subset(non)
            model, _ = _train_or_load(cfg, s_mem, role=f"shadow{i}", seed=cfg.seed + 1000 + i,
                                      attacker=True, val_data=ds.subset(pools.shadow_val),
                                      **train_kw)
            outs.append(query(model, s_mem, s_non, with_sensitivity=need_sens,
                              seed=cfg.seed + 1000 + i, device=dev))
            bar.update()
        s_out = ModelOutputs.concat(outs)
    if ref_names:
        refs = _reference_outputs(cfg, ds, pools, target, train_kw, bar, need_population=any(
            "population" in entries[n].needs for n in ref_names))
    records = []
    for name in cfg.attack.names:
        params = a.params_of(name)
        attack = A.make_attack(name, random_state=cfg.seed, **params)
        if entries[name].kind == "shadow":
            scores[name] = score_attack(name, fit_attack(name, attack, s_out), t_out)
        else:
            scores[name] = _score_reference(name, attack, refs, t_out)
        records.append(M.attack_record(
            scores[name], t_out.membership, model=cfg.label, attack=name,
            threshold=attack.threshold_, random_state=cfg.seed,
            attack_params=json.dumps(params, sort_keys=True, default=str), **base))
        bar.update()
    bar.close()
    return pd.DataFrame(records), {"target": t_out, "shadow": s_out, "references": refs,
                                   "model": target, "scores": scores}


# --------------------------------------------------------------------------- cached arrays

_OUTPUT_FIELDS = {"target": ModelOutputs, "shadow": ModelOutputs, "references": ReferenceOutputs}


def _arrays_from_outputs(outputs: dict, cfg) -> dict:
    arrays = {f"score__{k}": np.asarray(v, dtype=np.float64)
              for k, v in outputs["scores"].items()}
    for part in _OUTPUT_FIELDS:
        obj = outputs[part]
        if obj is None:
            continue
        for f in obj.__dataclass_fields__:
            v = getattr(obj, f)
            if v is not None:
                arrays[f"{part}__{f}"] = v.numpy() if isinstance(v, torch.Tensor) else v
    return arrays


def _outputs_from_arrays(arrays: dict, cfg) -> dict:
    out = {"scores": {a: arrays[f"score__{a}"] for a in cfg.attack.names}}
    for part, cls in _OUTPUT_FIELDS.items():
        values = {f: arrays.get(f"{part}__{f}") for f in cls.__dataclass_fields__}
        if values[next(iter(values))] is None:
            out[part] = None
            continue
        out[part] = cls(**{f: torch.from_numpy(v) if v is not None and (
            "logits" in f or f.endswith("labels")) else v for f, v in values.items()})
    return out


def _load_finished(cache: Cache, key: str, cfg) -> tuple[pd.DataFrame, dict] | None:
    """``(rows, arrays)`` of a finished experiment, or None (missing, wrong structure,
    arrays corrupt or incomplete: recomputed, with a warning when something was there)."""
    hit = cache.load_json("records", key)
    if hit is None:
        return None
    names = list(cfg.attack.names)
    ok = (isinstance(hit, dict) and isinstance(hit.get("records"), list)
          and all(isinstance(r, dict) for r in hit["records"])
          and [r.get("attack") for r in hit["records"]] == names
          and isinstance(hit.get("scores_sha256"), str)
          and isinstance(hit.get("columns"), list))
    arrays = cache.load_arrays("scores", key, sha256=hit["scores_sha256"]) if ok else None
    if arrays is None or not all(f"score__{a}" in arrays for a in names) \
            or "target__membership" not in arrays:
        warnings.warn(f"cache: record {key[:12]} is malformed or its scores are missing; "
                      "recomputing.", stacklevel=3)
        return None
    return pd.DataFrame(hit["records"], columns=hit["columns"]), arrays


def load_outputs(cfg: ExperimentConfig, *, cache=None) -> dict:
    """Everything a finished experiment computed besides its rows, from the cache: a dict
    with ``"scores"`` ({attack: scores on the target}), ``"target"``, ``"shadow"``
    (:class:`ModelOutputs`) and ``"references"`` (:class:`ReferenceOutputs`), so an attack
    can be refitted or a new one tried without training or querying a model.

    Raises:
        LookupError: ``cfg`` has no finished experiment in the cache (run it first).
    """
    cache = _as_cache(cache)
    hit = _load_finished(cache, experiment_key(cfg), cfg)
    if hit is None:
        raise LookupError(f"No finished experiment for this config in {cache.root}; run "
                          f"run_experiment(cfg) or run_sweep(configs) with this cache first.")
    return _outputs_from_arrays(hit[1], cfg)


def load_scores(cfg, *, cache=None):
    """Per-sample attack scores of a finished experiment, or of each of a sweep's configs.

    Args:
        cfg: an :class:`ExperimentConfig`, or a list of them (a sweep).
        cache: as for :func:`run_experiment`.

    Returns:
        ``{attack: (scores, membership)}`` (membership 1 for the target's members), or a list
        of such dicts, one per config.

    Raises:
        LookupError: a config has no finished experiment in the cache.
    """
    if isinstance(cfg, (list, tuple)):
        return [load_scores(c, cache=cache) for c in cfg]
    out = load_outputs(cfg, cache=cache)
    membership = out["target"].membership
    return {a: (s, membership) for a, s in out["scores"].items()}


# --------------------------------------------------------------------------- sweeps


def _run_one(cfg, cache_root, cache_enabled, device, root):
    warnings.filterwarnings("ignore", category=UserWarning, module="torch")
    return run_experiment(cfg, cache=Cache(cache_root, enabled=cache_enabled), device=device,
                          root=root, progress=False)


def _dask_client(scheduler, n_jobs: int):
    """A client to ``scheduler`` (an address), or to a new local cluster of processes; the
    second item closes what was opened here."""
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError as exc:
        raise ImportError("backend='dask' needs dask.distributed: pip install "
                          "'dask[distributed]' (the 'cluster' extra).") from exc
    if scheduler is not None:
        client = Client(scheduler)
        return client, client.close
    cluster = LocalCluster(n_workers=max(1, n_jobs), threads_per_worker=1, processes=True)
    client = Client(cluster)
    return client, lambda: (client.close(), cluster.close())


def run_sweep(configs: list[ExperimentConfig], *, n_jobs: int = 1, backend: str | None = None,
              scheduler=None, cache=None, device: str = "auto", root=None,
              progress: bool | None = None) -> pd.DataFrame:
    """Run experiments (cached ones only load) and concatenate their records.

    Each experiment writes its record when it finishes, so a sweep that is killed and
    restarted recomputes only the unfinished ones.

    Args:
        configs: e.g. from :func:`make_grid`.
        n_jobs: parallel workers (``-1`` = all cores); with ``backend="dask"`` and no
            ``scheduler``, the local cluster's number of worker processes.
        backend: ``None`` (in-process when ``n_jobs == 1``, else loky), ``"loky"`` (local
            processes, joblib) or ``"dask"`` (``dask.distributed`` through joblib's dask
            backend).
        scheduler: a Dask scheduler address (``"tcp://host:8786"``) or a
            ``dask.distributed.Client``; ``None`` starts a ``LocalCluster``.
        cache: as for :func:`run_experiment`: a folder every worker can reach.
        progress: tqdm bar over experiments.

    Returns:
        One DataFrame (``from_cache`` says which rows were only loaded).

    Example (a running Dask scheduler)::

        df = run_sweep(make_grid(base, seed=[0, 1, 2]), backend="dask",
                       scheduler="tcp://scheduler:8786", cache="/shared/cache")
    """
    from joblib import Parallel, delayed
    from tqdm.auto import tqdm

    if not configs:
        raise ValueError("run_sweep needs at least one config.")
    if backend not in _BACKENDS:
        raise ValueError(f"The 'backend' parameter of run_sweep must be one of "
                         f"{list(_BACKENDS)}. Got {backend!r} instead.")
    if scheduler is not None and backend != "dask":
        raise ValueError(f"The 'scheduler' parameter of run_sweep needs backend='dask'. Got "
                         f"backend={backend!r}.")
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs == 0 or n_jobs < -1:
        raise ValueError(f"The 'n_jobs' parameter of run_sweep must be -1 or an int >= 1. "
                         f"Got {n_jobs!r} instead.")
    configs = [_check_cfg(c) for c in configs]
    cache = _as_cache(cache)
    frames: dict[int, pd.DataFrame] = {}
    todo = []
    for i, cfg in enumerate(configs):
        hit = _load_finished(cache, experiment_key(cfg), cfg)
        if hit is not None:
            frames[i] = hit[0].assign(from_cache=True)
        else:
            todo.append(i)
    bar = tqdm(total=len(configs), initial=len(frames), desc="experiments",
               disable=not show_progress(progress))
    if todo:
        jobs = [delayed(_run_one)(configs[i], str(cache.root), cache.enabled, device, root)
                for i in todo]
        if backend == "dask":
            from joblib import parallel_config

            client, close = (scheduler, lambda: None) if hasattr(scheduler, "submit") \
                else _dask_client(scheduler, n_jobs if n_jobs > 0 else 2)
            try:
                with parallel_config(backend="dask"):
                    results = Parallel(n_jobs=-1)(jobs)
            finally:
                close()
        elif n_jobs == 1 and backend is None:  # in-process: no worker start-up cost
            results = (fn(*args, **kw) for fn, args, kw in jobs)
        else:
            results = Parallel(n_jobs=n_jobs, backend=backend or "loky",
                               return_as="generator")(jobs)
        for i, df in zip(todo, results):
            frames[i] = df
            bar.update(1)
    bar.close()
    return pd.concat([frames[i] for i in range(len(configs))], ignore_index=True)


# --------------------------------------------------------------------------- transfer


def attack_transfer(outputs: dict[str, tuple[ModelOutputs, ModelOutputs]],
                    attack: str = "shokri", *, cfg: ExperimentConfig | None = None,
                    metric: str | tuple[str, ...] = "balanced_accuracy", n_resamples: int = 0,
                    random_state=0) -> pd.DataFrame | dict[str, pd.DataFrame]:
    """Bagmar et al.'s transfer heat-map: fit the attack on model A's shadows, score model B.

    Args:
        outputs: model name -> ``(shadow_outputs, target_outputs)``.
        attack: a shadow-kind attack of :data:`attacks.ATTACKS`.
        cfg: its seed and the attack's parameters (``attack.params``).
        metric: which :func:`metrics.attack_metrics` value fills the table, computed at the
            threshold fitted on the source's shadows, or several names (one fit per source
            for all of them). The default, balanced accuracy, is what transfers (or not); AUC
            ignores the threshold, so for threshold attacks it only depends on the attacked
            model. Interval columns (``balanced_accuracy_lo``, ...) need ``n_resamples`` > 0.
        n_resamples, random_state: the bootstrap behind interval metrics.

    Returns:
        DataFrame indexed by the attack's source model, columns = target model; for several
        metrics, ``{metric: DataFrame}``.
    """
    from ._checks import check_choice

    A = _attacks()
    check_choice(attack, A.available_attacks("shadow"), "attack", "attack_transfer")
    names = (metric,) if isinstance(metric, str) else tuple(metric)
    for name in names:
        if name.endswith(("_lo", "_hi")) and not n_resamples:
            raise ValueError(f"The 'metric' parameter of attack_transfer is the interval bound "
                             f"{name!r}, which needs n_resamples > 0. Got n_resamples="
                             f"{n_resamples!r}.")
    cfg = cfg or ExperimentConfig()
    tables = {m: pd.DataFrame(index=list(outputs), columns=list(outputs), dtype=float)
              for m in names}
    for src, (shadow, _) in outputs.items():
        atk = fit_attack(attack, A.make_attack(attack, random_state=cfg.seed,
                                               **cfg.attack.params_of(attack)), shadow)
        for dst, (_, target) in outputs.items():
            scores = score_attack(attack, atk, target)
            row = M.attack_metrics(scores, target.membership, n_resamples=n_resamples,
                                   random_state=random_state, threshold=atk.threshold_)
            for m in names:
                tables[m].loc[src, dst] = row[m]
    for table in tables.values():
        table.index.name = "attack trained on"
        table.columns.name = "attacked model"
    return tables[metric] if isinstance(metric, str) else tables
