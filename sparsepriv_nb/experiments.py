"""Privacy experiments: (data, model, sparsity, training, attacks) -> tidy records.

One experiment, Gonon et al.'s pipeline (their Fig. 2):

1. split the dataset into disjoint target and shadow pools (one seed);
2. train the target on its members and ``n_shadows`` shadow models on the shadow pool,
   *exactly the same way* (architecture, sparsity method and density, training recipe);
3. measure accuracy and the generalisation gap;
4. fit every requested attack on the shadows' members / non-members and score the target's
   members (its training set) and non-members (its test set, same size);
5. return one row per attack with the config, accuracies and :mod:`metrics`.

Trained models and records are cached content-addressed under ``data/cache`` (see
:mod:`sparsepriv_nb.cache`); :func:`run_sweep` runs a grid through joblib, skipping what is
cached, so rerunning a finished sweep only loads.

Example:
    >>> cfg = ExperimentConfig(epochs=5, attacks=("loss",), seed=0)
    >>> df = run_experiment(cfg, cache=False)
    >>> df[["method", "attack"]].values.tolist()
    [['dense', 'loss']]
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.nn.utils import prune

from . import attacks as A
from . import data as D
from . import metrics as M
from . import models, signals, sparsity, train
from ._checks import check_choice
from .cache import Cache

__all__ = ["ExperimentConfig", "SPARSITY_METHODS", "ATTACKS", "DEFAULT_ATTACKS",
           "ModelOutputs", "train_model", "query", "fit_attack", "score_attack", "run_experiment",
           "run_sweep",
           "make_grid", "default_cache", "attack_transfer"]

SPARSITY_METHODS = ("dense", "magnitude", "magnitude-global", "random", "l1-filter", "imp",
                    "lottery", "butterfly")

#: Attacks fitted on shadow models (name -> factory(config)).
ATTACKS = {
    **{s: (lambda c, s=s: A.ThresholdAttack(s)) for s in signals.SIGNALS},
    **{f"{s}-per-class": (lambda c, s=s: A.ThresholdAttack(s, per_class=True))
       for s in signals.SIGNALS},
    "shokri": lambda c: A.ShadowModelAttack("mlp", features="sorted", per_class=True,
                                            random_state=c.seed),
    "shokri-label": lambda c: A.ShadowModelAttack("mlp", features="sorted", per_class=False,
                                                  random_state=c.seed),
    "shokri-rf": lambda c: A.ShadowModelAttack("random_forest", features="sorted",
                                               per_class=True, random_state=c.seed),
    "salem": lambda c: A.ShadowModelAttack("logistic", features="top3", random_state=c.seed),
    "samia": lambda c: A.SAMIA(epochs=c.samia_epochs, random_state=c.seed),
}
#: Attacks fitted on reference models trained on halves of the attacked samples.
REFERENCE_ATTACKS = {
    "lira": lambda c: A.LiRA(online=True, fixed_variance=True),
    "lira-per-sample": lambda c: A.LiRA(online=True, fixed_variance=False),
    "lira-offline": lambda c: A.LiRA(online=False, fixed_variance=True),
    "lira-offline-per-sample": lambda c: A.LiRA(online=False, fixed_variance=False),
    "rmia": lambda c: A.RMIA(online=True),
    "rmia-offline": lambda c: A.RMIA(online=False),
}
DEFAULT_ATTACKS = ("loss", "confidence", "entropy", "modified_entropy",
                   "modified_entropy-per-class", "shokri", "salem")


@dataclass(frozen=True)
class ExperimentConfig:
    """Everything that defines one privacy experiment (and its cache key).

    Attributes:
        dataset, arch: registry names (:mod:`data`, :mod:`models`).
        method: one of :data:`SPARSITY_METHODS`.
        density: target fraction of weights kept (IMP/lottery: rounds of ``imp_amount``
            chosen so that ``(1 - p)^n`` is closest; butterfly: ignored, see
            ``butterfly_factors``). The achieved density is recorded.
        epochs: dense training epochs (lottery tickets: per round, since they rewind).
        finetune_epochs: after a one-shot prune, and per IMP round.
        imp_amount: fraction of survivors pruned per IMP / lottery round.
        butterfly_factors: factors per butterfly layer (None: log2 N, the sparsest).
        optimizer, lr, batch_size, weight_decay: training recipe.
        n_shadows: shadow models (Shokri: k; Salem: 1 suffices).
        n_reference: reference models for LiRA / RMIA (even).
        seed: pools, initialisations, batches.
        max_samples: stratified subset of the dataset (CPU profiles).
        n_classes: keep only the first classes (attack success vs number of classes).
        train_size: cap on the number of members per model (small = more overfitting).
        attacks: names from :data:`ATTACKS` and :data:`REFERENCE_ATTACKS`.
        samia_epochs: SAMIA training epochs.
        model_kwargs: extra builder arguments as ``((name, value), ...)``.
    """

    dataset: str = "digits"
    arch: str = "mlp"
    method: str = "dense"
    density: float = 1.0
    epochs: int = 30
    finetune_epochs: int = 10
    imp_amount: float = 0.5
    butterfly_factors: int | None = None
    optimizer: str = "adam"
    lr: float = 1e-3
    batch_size: int = 64
    weight_decay: float = 0.0
    n_shadows: int = 1
    n_reference: int = 16
    seed: int = 0
    max_samples: int | None = None
    n_classes: int | None = None
    train_size: int | None = None
    attacks: tuple = DEFAULT_ATTACKS
    samia_epochs: int = 30
    model_kwargs: tuple = field(default_factory=tuple)

    def __post_init__(self):
        check_choice(self.method, SPARSITY_METHODS, "method", "ExperimentConfig")
        if isinstance(self.density, bool) or not 0 < float(self.density) <= 1:
            raise ValueError(f"The 'density' parameter of ExperimentConfig must be in (0, 1]. "
                             f"Got {self.density!r} instead.")
        if self.method == "dense" and self.density != 1.0:
            raise ValueError("method='dense' needs density=1.0. Got "
                             f"density={self.density!r}; pick a sparsity method.")
        if isinstance(self.attacks, str):
            object.__setattr__(self, "attacks", (self.attacks,))
        known = {**ATTACKS, **REFERENCE_ATTACKS}
        unknown = [a for a in self.attacks if a not in known]
        if unknown:
            raise ValueError(f"The 'attacks' parameter of ExperimentConfig names unknown "
                             f"attacks {unknown}; known: {sorted(known)}.")
        if self.n_shadows < 1:
            raise ValueError(f"The 'n_shadows' parameter must be >= 1. Got {self.n_shadows!r}.")
        if self.n_reference < 2 or self.n_reference % 2:
            raise ValueError(f"The 'n_reference' parameter must be an even int >= 2. Got "
                             f"{self.n_reference!r}.")
        object.__setattr__(self, "attacks", tuple(self.attacks))
        object.__setattr__(self, "model_kwargs", tuple(
            (k, tuple(v) if isinstance(v, list) else v) for k, v in self.model_kwargs))

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)

    def training_key(self) -> dict:
        """The fields that determine a trained model (attacks excluded)."""
        d = self.as_dict()
        for k in ("attacks", "samia_epochs", "n_shadows", "n_reference"):
            d.pop(k)
        return d

    def replace(self, **changes) -> ExperimentConfig:
        return dataclasses.replace(self, **changes)


def default_cache() -> Cache:
    """The cache under ``data/cache`` (``$SPARSEPRIV_DATA/cache``)."""
    return Cache(D.default_root() / "cache")


def _as_cache(cache) -> Cache:
    if cache is None or cache is True:
        return default_cache()
    if cache is False:
        return Cache("/nonexistent", enabled=False)
    if isinstance(cache, Cache):
        return cache
    return Cache(Path(cache))


# --------------------------------------------------------------------------- training


def imp_rounds(density: float, amount: float) -> int:
    """Rounds n with ``(1 - amount)^n`` closest to ``density`` (in log space)."""
    if density >= 1:
        return 0
    return max(1, round(math.log(density) / math.log(1 - amount)))


def _build(cfg: ExperimentConfig, input_shape, num_classes, seed) -> nn.Module:
    return models.build_model(cfg.arch, input_shape=input_shape, num_classes=num_classes,
                              seed=seed, **dict(cfg.model_kwargs))


def _structure(cfg: ExperimentConfig, input_shape, num_classes) -> nn.Module:
    """An untrained model with the same parameter/buffer names as a trained one of ``cfg``."""
    model = _build(cfg, input_shape, num_classes, seed=0)
    if cfg.method == "butterfly":
        return sparsity.butterfly_sparsify(model, n_factors=cfg.butterfly_factors)
    if cfg.method != "dense":
        layers = (sparsity.prunable_layers(model, (nn.Conv2d,)) if cfg.method == "l1-filter"
                  else sparsity.prunable_layers(model))
        for _, mod in layers:
            prune.identity(mod, "weight")
    return model


def _train_fresh(cfg: ExperimentConfig, train_data, input_shape, num_classes, seed,
                 fit_kwargs) -> nn.Module:
    def fit(model, epochs, s):
        train.fit(model, train_data, epochs=epochs, seed=s, progress=False, **fit_kwargs)

    model = _build(cfg, input_shape, num_classes, seed)
    if cfg.method == "butterfly":
        model = sparsity.butterfly_sparsify(model, n_factors=cfg.butterfly_factors, seed=seed)
        fit(model, cfg.epochs, seed)
    elif cfg.method in ("imp", "lottery"):
        rounds = imp_rounds(cfg.density, cfg.imp_amount)
        lottery = cfg.method == "lottery"

        def train_fn(m, r):
            fit(m, cfg.epochs if (lottery or r == 0) else cfg.finetune_epochs, seed + 7919 * r)

        sparsity.iterative_magnitude_pruning(
            model, train_fn, rounds=rounds, amount=cfg.imp_amount, scope="global",
            rewind="init" if lottery else None, progress=False)
    else:
        fit(model, cfg.epochs, seed)
        if cfg.method != "dense":
            sparsity.apply_sparsity(model, cfg.method, cfg.density, seed=seed)
            fit(model, cfg.finetune_epochs, seed + 1)
    return model


def train_model(cfg: ExperimentConfig, train_data, *, role: str, seed: int,
                input_shape, num_classes: int, cache: Cache | None = None,
                device: str = "auto", **fit_overrides) -> nn.Module:
    """Train (or load from the cache) one model of ``cfg`` on ``train_data``.

    Args:
        cfg: the experiment config (sparsity method, recipe, ...).
        train_data: ``(X, y)``.
        role: a name that enters the cache key (``"target"``, ``"shadow0"``, ``"ref3"``).
        seed: initialisation and batch seed.
        input_shape, num_classes: of the dataset.
        cache: a :class:`Cache` (None: no caching).
        device: training device.
        **fit_overrides: extra :func:`train.fit` arguments (e.g. ``loss_fn`` for defenses);
            they must be JSON-describable to enter the key, or pass ``cache=None``.
    """
    X, y = train_data
    fit_kwargs = dict(optimizer=cfg.optimizer, lr=cfg.lr, batch_size=cfg.batch_size,
                      weight_decay=cfg.weight_decay, device=device, **fit_overrides)
    key = None
    if cache is not None:
        digest = Cache.key({"X": _tensor_digest(X), "y": _tensor_digest(y)})
        key = Cache.key({"cfg": cfg.training_key(), "role": role, "seed": seed, "data": digest,
                         "fit": fit_overrides})
        hit = cache.load_model(key)
        if hit is not None:
            model = _structure(cfg, input_shape, num_classes)
            try:
                model.load_state_dict(hit[0])
                sparsity._refresh_masked(model)
                return model.eval()
            except (RuntimeError, KeyError) as exc:  # structure changed: recompute
                import warnings

                warnings.warn(f"cache: model {key[:12]} does not fit ({exc}); retraining.",
                              stacklevel=2)
    model = _train_fresh(cfg, (X, y), input_shape, num_classes, seed, fit_kwargs)
    if cache is not None:
        cache.save_model(key, model.state_dict(), {"role": role, "seed": seed,
                                                   "config": cfg.training_key()})
    return model.eval()


def _tensor_digest(t: torch.Tensor) -> str:
    import hashlib

    return hashlib.sha256(t.detach().cpu().contiguous().numpy().tobytes()).hexdigest()


# --------------------------------------------------------------------------- outputs


@dataclass
class ModelOutputs:
    """A model's logits on its members and non-members (balanced), with labels and, for
    SAMIA, sensitivities. ``membership`` is 1 for members."""

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


def fit_attack(name: str, attack, shadow: ModelOutputs):
    """Fit ``attack`` (registered as ``name`` in :data:`ATTACKS`) on shadow outputs."""
    extra = (shadow.sensitivity,) if name == "samia" else ()
    return attack.fit(shadow.logits, shadow.labels, shadow.membership, *extra)


def score_attack(name: str, attack, target: ModelOutputs) -> np.ndarray:
    """Membership scores of a fitted ``attack`` on a target's outputs."""
    extra = (target.sensitivity,) if name == "samia" else ()
    return attack.score_samples(target.logits, target.labels, *extra)


# --------------------------------------------------------------------------- experiment


def prepare_data(cfg: ExperimentConfig, *, root=None):
    """The dataset of ``cfg`` (subset, restricted classes) and its pools."""
    ds = D.load_dataset(cfg.dataset, root=root, max_samples=cfg.max_samples, seed=cfg.seed)
    if cfg.n_classes is not None:
        ds = D.restrict_classes(ds, cfg.n_classes)
    pools = D.make_pools(len(ds), seed=cfg.seed)
    if cfg.train_size is not None:
        n = cfg.train_size
        if n < 2 or n > len(pools.target_train):
            raise ValueError(f"The 'train_size' parameter must be in [2, "
                             f"{len(pools.target_train)}]. Got {n!r} instead.")
        pools = D.Pools(*(getattr(pools, k)[:n] if k.endswith(("_train", "_test"))
                          else getattr(pools, k) for k in pools.__dataclass_fields__))
    return ds, pools


def run_experiment(cfg: ExperimentConfig, *, cache=None, device: str = "auto",
                   root=None, return_outputs: bool = False, progress: bool | None = None):
    """Run one privacy experiment; see the module docstring.

    Args:
        cfg: the :class:`ExperimentConfig`.
        cache: a :class:`Cache`, a folder, ``None``/``True`` (``data/cache``) or ``False``.
        device: training device.
        root: data folder.
        return_outputs: also return ``{"target": ModelOutputs, "shadow": ModelOutputs,
            "model": target model, "scores": {attack: membership scores on the target}}``
            (the record cache is bypassed; models still load from the cache).
        progress: a tqdm bar over models and attacks (default: in notebooks and terminals).

    Returns:
        DataFrame, one row per attack: config fields, ``density_achieved``, ``train_acc``,
        ``test_acc``, ``gen_gap``, metrics of :func:`metrics.attack_metrics`,
        ``from_cache``.
    """
    cache = _as_cache(cache)
    rec_key = Cache.key({"experiment": cfg.as_dict()})
    if not return_outputs:
        hit = cache.load_json("records", rec_key)
        if hit is not None:
            return pd.DataFrame(hit["records"]).assign(from_cache=True)
    from tqdm.auto import tqdm

    ds, pools = prepare_data(cfg, root=root)
    shape, C = ds.input_shape, ds.num_classes
    shadow_names = [a for a in cfg.attacks if a in ATTACKS]
    ref_names = [a for a in cfg.attacks if a in REFERENCE_ATTACKS]
    label = cfg.method if cfg.method in ("dense", "butterfly") else f"{cfg.method}@{cfg.density:g}"
    steps = (1 + (cfg.n_shadows + len(shadow_names) if shadow_names else 0)
             + (cfg.n_reference + len(ref_names) if ref_names else 0))
    bar = tqdm(total=steps, desc=label, leave=False, disable=not train._show_progress(progress))
    tr, te = ds.subset(pools.target_train), ds.subset(pools.target_test)
    target = train_model(cfg, tr, role="target", seed=cfg.seed, input_shape=shape,
                         num_classes=C, cache=cache, device=device)
    bar.update()
    need_sens = "samia" in cfg.attacks
    t_out = query(target, tr, te, with_sensitivity=need_sens, seed=cfg.seed, device=device)
    base = {"model": label,
            **{k: v for k, v in cfg.as_dict().items() if k not in ("attacks", "model_kwargs")},
            "density_achieved": sparsity.overall_density(target),
            "train_acc": train.evaluate(target, tr, device=device)["accuracy"],
            "test_acc": train.evaluate(target, te, device=device)["accuracy"],
            "n_members": len(tr[1])}
    base["gen_gap"] = base["train_acc"] - base["test_acc"]
    records, all_scores = [], {}
    s_out = None
    if shadow_names:
        s_tr, s_te = ds.subset(pools.shadow_train), ds.subset(pools.shadow_test)
        outs = []
        for i in range(cfg.n_shadows):
            s_model = train_model(cfg, s_tr, role=f"shadow{i}", seed=cfg.seed + 1000 + i,
                                  input_shape=shape, num_classes=C, cache=cache, device=device)
            outs.append(query(s_model, s_tr, s_te, with_sensitivity=need_sens,
                              seed=cfg.seed + 1000 + i, device=device))
            bar.update()
        s_out = ModelOutputs.concat(outs)
        for name in shadow_names:
            attack = fit_attack(name, ATTACKS[name](cfg), s_out)
            scores = all_scores[name] = score_attack(name, attack, t_out)
            records.append(M.attack_record(scores, t_out.membership, attack=name,
                                           threshold=attack.threshold_, **base))
            bar.update()
    if ref_names:
        records += _reference_attacks(cfg, ref_names, ds, pools, t_out, target, base, cache,
                                      device, all_scores, bar)
    bar.close()
    df = pd.DataFrame(records)
    cache.save_json("records", rec_key, {"config": cfg.as_dict(),
                                         "records": df.to_dict(orient="records")})
    df = df.assign(from_cache=False)
    if return_outputs:
        return df, {"target": t_out, "shadow": s_out, "model": target, "scores": all_scores}
    return df


def _reference_attacks(cfg, names, ds, pools, t_out, target, base, cache, device, all_scores,
                       bar):
    """LiRA / RMIA: reference models on random halves of the attacked samples."""
    attacked = np.r_[pools.target_train, pools.target_test]
    X, y = ds.subset(attacked)
    keep = A.reference_in_masks(len(attacked), cfg.n_reference, seed=cfg.seed + 55)
    population = np.r_[pools.shadow_train, pools.shadow_test]  # never seen by target/refs
    Xp, yp = ds.subset(population)
    ref_logits, pop_logits = [], []
    for i in range(cfg.n_reference):
        ref = train_model(cfg, (X[keep[i]], y[keep[i]]), role=f"ref{i}",
                          seed=cfg.seed + 5000 + i, input_shape=ds.input_shape,
                          num_classes=ds.num_classes, cache=cache, device=device)
        ref_logits.append(train.predict_logits(ref, X, device=device))
        pop_logits.append(train.predict_logits(ref, Xp, device=device))
        bar.update()
    R, P = torch.stack(ref_logits), torch.stack(pop_logits)
    target_pop = train.predict_logits(target, Xp, device=device)
    rows = []
    for name in names:
        attack = REFERENCE_ATTACKS[name](cfg)
        if name.startswith("lira"):
            scores = attack.fit(R, y, keep).score_samples(t_out.logits, y)
        else:
            scores = attack.fit(R, y, keep, P, yp).score_samples(t_out.logits, y, target_pop)
        all_scores[name] = scores
        rows.append(M.attack_record(scores, t_out.membership, attack=name,
                                    threshold=attack.threshold_, **base))
        bar.update()
    return rows


# --------------------------------------------------------------------------- sweeps


def make_grid(base: ExperimentConfig, **axes) -> list[ExperimentConfig]:
    """Cartesian product of ``axes`` (field -> values) over ``base``; dense configs are
    generated once per remaining combination (density 1.0).

    Example:
        >>> g = make_grid(ExperimentConfig(), method=["magnitude", "random"],
        ...               density=[0.5, 0.1], seed=[0, 1])
        >>> len(g)
        8
    """
    import itertools

    names = list(axes)
    out, seen = [], set()
    for values in itertools.product(*(axes[n] for n in names)):
        changes = dict(zip(names, values))
        if changes.get("method", base.method) == "dense":
            changes["density"] = 1.0
        cfg = base.replace(**changes)
        if cfg not in seen:
            seen.add(cfg)
            out.append(cfg)
    return out


def _run_one(cfg, cache_root, cache_enabled, device, root):
    import warnings

    warnings.filterwarnings("ignore", category=UserWarning, module="torch")
    return run_experiment(cfg, cache=Cache(cache_root, enabled=cache_enabled), device=device,
                          root=root, progress=False)


def run_sweep(configs: list[ExperimentConfig], *, n_jobs: int = 1, backend: str | None = None,
              cache=None, device: str = "auto", root=None,
              progress: bool | None = None) -> pd.DataFrame:
    """Run experiments (cached ones only load) and concatenate their records.

    Args:
        configs: e.g. from :func:`make_grid`.
        n_jobs: parallel workers (joblib; ``-1`` = all cores).
        backend: joblib backend (``"loky"`` processes by default; ``"dask"`` or ``"ray"``
            inside their ``parallel_config`` for clusters).
        cache: as for :func:`run_experiment` (a folder every worker can reach).
        progress: tqdm bar over experiments.

    Returns:
        One DataFrame (``from_cache`` says which rows were only loaded).
    """
    from joblib import Parallel, delayed
    from tqdm.auto import tqdm

    if not configs:
        raise ValueError("run_sweep needs at least one config.")
    cache = _as_cache(cache)
    frames: dict[int, pd.DataFrame] = {}
    todo = []
    for i, cfg in enumerate(configs):
        hit = cache.load_json("records", Cache.key({"experiment": cfg.as_dict()}))
        if hit is not None:
            frames[i] = pd.DataFrame(hit["records"]).assign(from_cache=True)
        else:
            todo.append(i)
    bar = tqdm(total=len(configs), initial=len(frames), desc="experiments",
               disable=not train._show_progress(progress))
    if todo:
        args = [(configs[i], str(cache.root), cache.enabled, device, root) for i in todo]
        if n_jobs == 1 and backend is None:  # in-process: no worker start-up cost
            results = (_run_one(*a) for a in args)
        else:
            results = Parallel(n_jobs=n_jobs, backend=backend, return_as="generator")(
                delayed(_run_one)(*a) for a in args)
        for i, df in zip(todo, results):
            frames[i] = df
            bar.update(1)
    bar.close()
    return pd.concat([frames[i] for i in range(len(configs))], ignore_index=True)


# --------------------------------------------------------------------------- transfer


def attack_transfer(outputs: dict[str, tuple[ModelOutputs, ModelOutputs]],
                    attack: str = "shokri", *, cfg: ExperimentConfig | None = None,
                    metric: str = "balanced_accuracy") -> pd.DataFrame:
    """Bagmar et al.'s transfer heat-map: fit the attack on model A's shadows, score model B.

    Args:
        outputs: model name -> ``(shadow_outputs, target_outputs)``.
        attack: a name from :data:`ATTACKS`.
        cfg: passed to the attack factory (seed).
        metric: which :func:`metrics.attack_metrics` value fills the table, computed at the
            threshold fitted on the source's shadows. The default, balanced accuracy, is what
            transfers (or not); AUC ignores the threshold, so for threshold attacks it only
            depends on the attacked model.

    Returns:
        DataFrame indexed by the attack's source model, columns = target model.
    """
    check_choice(attack, sorted(ATTACKS), "attack", "attack_transfer")
    cfg = cfg or ExperimentConfig()
    table = pd.DataFrame(index=list(outputs), columns=list(outputs), dtype=float)
    for src, (shadow, _) in outputs.items():
        atk = fit_attack(attack, ATTACKS[attack](cfg), shadow)
        for dst, (_, target) in outputs.items():
            scores = score_attack(attack, atk, target)
            table.loc[src, dst] = M.attack_metrics(scores, target.membership,
                                                   threshold=atk.threshold_)[metric]
    table.index.name = "attack trained on"
    table.columns.name = "attacked model"
    return table
