"""Training the models of an experiment (target, shadow and reference models), cached.

One model is a :class:`ModelJob`: its sparsity schedule, the ``fit`` callback the schedule
calls (recipe, defense, DP mode), its cache key, and loading or computing it under an
inter-process claim. :func:`train_model` is the public way in.

Lesson: notebook 02 (``02_membership_inference``); notebook 03 (``03_confounding_by_accuracy``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import warnings
from dataclasses import dataclass, field

import torch
from torch import nn

from .. import models, train
from .._masks import refresh_masked_weights
from ..cache import Cache
from ..config import ExperimentConfig
from .store import as_cache, check_cfg

__all__ = ["train_model", "train_or_load", "ModelJob", "model_key", "plain_training",
           "dense_config", "dp_summary"]


def fit_callback(cfg: ExperimentConfig, train_data, *, attacker: bool, val_data, public_data,
                 device, fit_overrides: dict, dp_log: list):
    """The ``fit(model, epochs, seed, *, phase)`` a sparsity schedule calls, and the model
    keyword arguments of the defense (``{}`` without one).

    A defense applies to the target, and to attacker models only when adaptive; one with
    ``phase="finetune"`` applies to fine-tuning calls, or to the training call when the
    density is 1 (no prune, hence no fine-tuning: dense and butterfly models). With a DP mode
    every call trains through it and its accounting is appended to ``dp_log``.
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
        from ..dp import DP_MODES

        out = DP_MODES.get(cfg.dp.mode).fit(
            model, train_data, epochs=epochs, batch_size=t.batch_size, lr=t.lr, seed=seed,
            device=device, public_data=public_data, **dict(cfg.dp.params))
        dp_log.append({k: v for k, v in out.items()
                       if isinstance(v, (int, float, str, bool)) or v is None})

    return fit, (setup.model_kwargs if setup is not None else {})


def dp_summary(log: list[dict]) -> dict:
    """Record columns of the DP training calls of one model: ``epsilon`` and ``delta`` of all
    its calls composed by one accountant (:func:`~sparsepriv_nb.dp.composed_privacy`; one
    call for dense models), ``dp_calls``, and the last call's other values as ``fit_<key>``
    (``fit_noise_multiplier``, ``fit_accountant``, ``fit_steps``, ...), apart from the
    config's ``dp_<param>`` columns.

    Example:
        >>> from sparsepriv_nb.dp import compute_epsilon
        >>> eps = compute_epsilon(0.25, 1.0, 8, 1e-5)  # one phase of 8 steps
        >>> phase = {"sample_rate": 0.25, "noise_multiplier": 1.0, "steps": 8,
        ...          "delta": 1e-5, "accountant": "rdp", "epsilon": eps}
        >>> out = dp_summary([phase, phase])
        >>> out["dp_calls"], out["delta"], out["epsilon"] < 2 * eps  # one accountant, not a sum
        (2, 1e-05, True)
    """
    if not log:
        return {}
    from ..dp import composed_privacy

    out = {f"fit_{k}": v for k, v in log[-1].items() if k not in ("epsilon", "delta", "mode")}
    out.update(composed_privacy(log), dp_calls=len(log))
    return out


def digest(t: torch.Tensor) -> str:
    """SHA-256 of a tensor's bytes."""
    return hashlib.sha256(t.detach().cpu().contiguous().numpy().tobytes()).hexdigest()


def model_key(cfg: ExperimentConfig, X, y, *, role: str, seed: int, attacker: bool,
              fit_overrides: dict) -> str:
    """The cache key of one trained model: what shapes it (every section but the attacks),
    its role and seed, its training data, and any ``fit`` overrides."""
    return Cache.key({"cfg": cfg.model_dict(attacker=attacker), "role": role, "seed": seed,
                      "data": Cache.key({"X": digest(X), "y": digest(y)}),
                      "fit": fit_overrides})


def plain_training(cfg: ExperimentConfig, *, attacker: bool) -> bool:
    """Whether this model trains with ``train.fit`` and the train section alone: no DP mode,
    and no defense applied to it (none configured, or an attacker model of a non-adaptive
    defense)."""
    if cfg.dp.mode is not None:
        return False
    if attacker and not cfg.defense.adaptive:
        return True
    setup = cfg.defense.setup()
    return not setup.fit_kwargs and not setup.model_kwargs


def dense_config(cfg: ExperimentConfig) -> ExperimentConfig:
    """``cfg`` with the default (dense) sparsity section."""
    return dataclasses.replace(cfg, sparsity=type(cfg.sparsity)())


def _same_weights(a: nn.Module, b: nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k].to(sa[k].device))
                                          for k in sa)


@dataclass
class ModelJob:
    """One model of ``cfg`` to train on ``train_data`` (or load from ``cache``).

    **Shared dense phase.** Most sparsity schedules start by training the freshly initialised
    dense model for ``train.epochs`` epochs with the model's seed (one-shot pruning before
    it prunes, IMP and lottery tickets in their first round): exactly the dense model of the
    same role, seed and data. When training is plain (:func:`plain_training`), that first call
    is served by the dense configuration's cached model (:meth:`dense_twin`: trained once,
    under its own claim, and shared by every method and density of a sweep and by the dense
    baseline) instead of being recomputed. The call is recognised by what it is, not by the
    method's name: phase ``"train"``, ``train.epochs`` epochs, the model's seed, and weights
    equal to a fresh ``build(seed)``; every other call trains as before. The result is the
    model the schedule would have trained, bit for bit.
    """

    cfg: ExperimentConfig
    train_data: tuple
    role: str
    seed: int
    input_shape: tuple
    num_classes: int
    cache: Cache
    device: object
    attacker: bool
    val_data: tuple | None = None
    public_data: tuple | None = None
    fit_overrides: dict = field(default_factory=dict)

    def __post_init__(self):
        from ..sparsity import SPARSITY_METHODS

        self.method = SPARSITY_METHODS.get(self.cfg.sparsity.method)
        self.dp_log: list[dict] = []
        self.fit, self.model_kwargs = fit_callback(
            self.cfg, self.train_data, attacker=self.attacker, val_data=self.val_data,
            public_data=self.public_data, device=self.device, fit_overrides=self.fit_overrides,
            dp_log=self.dp_log)
        X, y = self.train_data
        self.key = model_key(self.cfg, X, y, role=self.role, seed=self.seed,
                             attacker=self.attacker, fit_overrides=self.fit_overrides)

    def build(self, seed: int) -> nn.Module:
        """A freshly initialised dense model of the configuration."""
        c = self.cfg
        return models.build_model(c.model.arch, input_shape=self.input_shape,
                                  num_classes=self.num_classes, seed=seed,
                                  **dict(c.model.params), **self.model_kwargs)

    def dense_twin(self) -> ModelJob:
        """The same job on the dense configuration."""
        return dataclasses.replace(self, cfg=dense_config(self.cfg))

    def _is_dense_phase(self, model: nn.Module, epochs: int, seed: int, phase: str) -> bool:
        c = self.cfg
        return (c.sparsity.method != "dense" and not self.model_kwargs
                and plain_training(c, attacker=self.attacker) and phase == "train"
                and epochs == c.train.epochs and seed == self.seed
                and _same_weights(model, self.build(self.seed)))

    def fit_or_share(self, model: nn.Module, epochs: int, seed: int, *, phase: str) -> None:
        """The schedule's ``fit``: the shared dense phase is loaded, other calls train."""
        if self._is_dense_phase(model, epochs, seed, phase):
            dense, _ = self.dense_twin().run()
            model.load_state_dict(dense.state_dict())
            model.to(train.resolve_device(self.device)).eval()
            return
        self.fit(model, epochs, seed, phase=phase)

    def load(self) -> tuple[nn.Module, dict] | None:
        """The cached model and its train info, or None (missing, or a structure that changed:
        retrained, with a warning)."""
        hit = self.cache.load_model(self.key)
        if hit is None:
            return None
        s = self.cfg.sparsity
        model = self.method.structure(self.build(0), density=s.density, options=s.options)
        try:
            model.load_state_dict(hit[0])
        except (RuntimeError, KeyError) as exc:
            warnings.warn(f"cache: model {self.key[:12]} does not fit ({exc}); retraining.",
                          stacklevel=4)
            return None
        refresh_masked_weights(model)
        return model.eval(), dict(hit[1].get("train_info", {}))

    def compute(self) -> tuple[nn.Module, dict]:
        """Train the model through its sparsity schedule and save it."""
        c, t = self.cfg, self.cfg.train
        model = self.method.train(self.build(self.seed), self.fit_or_share,
                                  density=c.sparsity.density, seed=self.seed, epochs=t.epochs,
                                  finetune_epochs=t.finetune_epochs, options=c.sparsity.options)
        info = dp_summary(self.dp_log)
        self.cache.save_model(self.key, model.state_dict(), {
            "role": self.role, "seed": self.seed, "train_info": info,
            "config": c.model_dict(attacker=self.attacker)})
        return model.eval(), info

    def run(self) -> tuple[nn.Module, dict]:
        """``(model, train_info)``, loaded when cached, else computed.

        Concurrent notebooks (``sparsepriv-nb run --jobs``) may need the same model: one
        process trains it under an inter-process claim, the others wait and load it.
        """
        if not self.cache.enabled:
            return self.compute()
        from ..locks import compute_once

        return compute_once(self.cache.root, self.key, load=self.load, compute=self.compute)[0]


def train_or_load(cfg: ExperimentConfig, train_data, *, role: str, seed: int, input_shape,
                  num_classes: int, cache: Cache, device, attacker: bool, val_data=None,
                  public_data=None, **fit_overrides) -> tuple[nn.Module, dict]:
    """Train one model of ``cfg`` (or load it from the cache): ``(model, train_info)``; see
    :class:`ModelJob`."""
    return ModelJob(cfg, train_data, role, seed, input_shape, num_classes, cache, device,
                    attacker, val_data, public_data, fit_overrides).run()


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
    model, _ = train_or_load(
        check_cfg(cfg), train_data, role=role, seed=seed, input_shape=input_shape,
        num_classes=num_classes, cache=as_cache(cache), device=device,
        attacker=role != "target" if attacker is None else attacker, val_data=val_data,
        public_data=public_data, **fit_overrides)
    return model
