"""Differentially private training with Opacus, with and without public masks (docs/methods.md 5-6).

DP-SGD (Abadi et al. 2016) clips every per-sample gradient to norm ``C`` (``max_grad_norm``),
sums the clipped gradients of a Poisson-sampled batch, adds Gaussian noise of standard
deviation ``sigma * C`` (``noise_multiplier``) and divides by the expected batch size. An
*accountant* turns (sampling rate ``q``, ``sigma``, number of steps, ``delta``) into the
``epsilon`` of an (epsilon, delta)-DP guarantee.

* :func:`per_sample_gradients`, :func:`clip_gradients`, :func:`dp_sgd_step` - one DP-SGD
  step by hand with ``torch.func`` (notebook 06, section 2), equal to Opacus' step.
* :func:`compute_epsilon`, :func:`epsilons`, :func:`noise_for_epsilon` - Opacus' RDP and PRV
  accountants for the same ``(q, sigma, steps, delta)``.
* :data:`DP_MODES` - a registry of :class:`DPMode` training recipes, each
  ``fit(model, train_data, *, epochs, batch_size, lr, seed, device, public_data=None, **params)``
  training ``model`` in place and returning a dict with at least ``epsilon``, ``delta``,
  ``noise_multiplier``, ``accountant``, ``steps`` and ``sample_rate``:

  - ``"dpsgd"``: dense DP-SGD through Opacus' ``PrivacyEngine`` (Poisson sampling);
  - ``"freeze"``: parameter freezing (Adamczewski & Park): a mask from *public* data only
    (magnitude of a model pre-trained on ``public_data``) or at random; pruned coordinates
    stay exactly zero, and clipping and noise act on the surviving coordinates only;
  - ``"select"``: parameter selection: every ``select_every`` steps choose ``density`` of
    each layer's weights (at random, or by magnitude of the current, already private,
    weights) and update only those;
  - ``"nonprivate"``: the same SGD recipe without clipping or noise (``epsilon = inf``).

  The masks never look at the private training data (public data, a seeded random draw, or
  weights that are themselves the output of the DP mechanism), so they are post-processing
  and the accounting is that of plain DP-SGD: the mask costs no privacy.
* :func:`audit_inclusion`, :func:`audit_epsilon` - an empirical lower bound on epsilon from
  *one* training run (Steinke, Nasr & Jagielski 2023).

How freezing and selection are implemented: Opacus' ``DPOptimizer`` is given two extra steps
(:class:`MaskedDPOptimizer`): per-sample gradients are multiplied by the 0/1 mask *before*
the per-sample norms are computed, so clipping sees only trainable coordinates, and the noise
is multiplied by the same mask, so frozen coordinates get an exactly zero update (plain SGD,
no momentum or weight decay on them). Ghost clipping never materialises per-sample
gradients, so masked modes use Opacus' ``hooks`` mode.

Pruned layers (``torch.nn.utils.prune``: ``weight_orig`` times ``weight_mask``) are handled by
folding the mask into a plain ``weight`` for training (Opacus computes per-sample gradients of
``layer.weight``), freezing the pruned coordinates, and restoring the same reparametrisation
afterwards: a pruned model stays pruned, with the same mask.

Example:
    >>> from sparsepriv_nb.data import load_dataset
    >>> from sparsepriv_nb.models import build_model
    >>> ds = load_dataset("digits")
    >>> model = build_model("mlp", input_shape=ds.input_shape, num_classes=10, seed=0)
    >>> out = DP_MODES.get("dpsgd").fit(model, (ds.X[:256], ds.y[:256]), epochs=1,
    ...                                 batch_size=64, lr=0.5, seed=0, device="cpu",
    ...                                 target_epsilon=4.0, delta=1e-5)
    >>> out["steps"], out["sample_rate"], round(out["epsilon"]) <= 4
    (4, 0.25, True)
"""

from __future__ import annotations

import contextlib
import copy
import functools
import math
import time
import warnings
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F
from opacus.optimizers import DPOptimizer
from torch.nn.utils import prune

from ._checks import check_choice
from .registry import Registry
from .inputs import check_xy
from .train import resolve_device

__all__ = [
    "ACCOUNTANTS",
    "GRAD_SAMPLE_MODES",
    "DPMode",
    "DP_MODES",
    "MaskedDPOptimizer",
    "check_dp_compatible",
    "per_sample_gradients",
    "clip_gradients",
    "dp_sgd_step",
    "compute_epsilon",
    "epsilons",
    "noise_for_epsilon",
    "weight_masks",
    "train_private",
    "audit_inclusion",
    "audit_p_value",
    "one_run_epsilon_bound",
    "audit_epsilon",
]

#: Accountants reported by :func:`epsilons` (Opacus' names).
ACCOUNTANTS = ("rdp", "prv")
#: Opacus' grad-sample modes; ``"auto"`` picks the fastest that supports the training mode.
GRAD_SAMPLE_MODES = ("auto", "hooks", "functorch", "ew", "ghost")
_MASKS = ("magnitude", "random")

# Opacus warnings that say nothing about the user's setup, silenced only inside this module:
_QUIET = (
    # We seed the noise and the Poisson sampler on purpose (reproducible lessons); secure_mode
    # needs torchcsprng and gives up reproducibility.
    "Secure RNG turned off",
    # Hooks mode registers full backward hooks; torch warns about modules whose inputs need no
    # gradient (the first layer), which is harmless for per-sample gradients of parameters.
    "Full backward hook will not fire",
    "Using a non-full backward hook",
    "Full backward hook is firing when gradients are computed with respect to module outputs",
    # RDP: the optimal order is at the edge of Opacus' grid of orders (very large or very
    # small epsilon); the bound returned is still valid, only looser.
    "Optimal order is the",
)


@contextlib.contextmanager
def _quiet_opacus():
    """Silence the known, harmless Opacus / torch warnings listed in ``_QUIET``, nothing else."""
    with warnings.catch_warnings():
        for msg in _QUIET:
            warnings.filterwarnings("ignore", message=f".*{msg}.*")
        yield


# --------------------------------------------------------------------------- validation


def _check_positive(value, name: str, owner: str, *, allow_zero: bool = False,
                    integer: bool = False):
    ok_type = isinstance(value, (int, np.integer)) if integer else \
        isinstance(value, (int, float, np.integer, np.floating))
    if isinstance(value, bool) or not ok_type or not math.isfinite(value) or \
            (value < 0 if allow_zero else value <= 0):
        kind = "an int" if integer else "a finite number"
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"The '{name}' parameter of {owner} must be {kind} {bound}. "
                         f"Got {value!r} instead.")
    return value


def _check_fraction(value, name: str, owner: str, *, closed_right: bool = True) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
            0 < value <= 1 if closed_right else 0 < value < 1):
        interval = "(0, 1]" if closed_right else "(0, 1)"
        raise ValueError(f"The '{name}' parameter of {owner} must be a float in {interval}. "
                         f"Got {value!r} instead.")
    return float(value)


def check_dp_compatible(model: nn.Module) -> nn.Module:
    """Raise a ``ValueError`` with Opacus' reasons if DP-SGD cannot train ``model``.

    Opacus' ``ModuleValidator`` rejects layers that mix the samples of a batch (BatchNorm),
    because then one sample's gradient depends on the others and per-sample clipping no
    longer bounds its influence.

    Example:
        >>> from sparsepriv_nb.models import build_model
        >>> m = build_model("lenet5", input_shape=(1, 8, 8), num_classes=10, norm="batch")
        >>> check_dp_compatible(m)
        Traceback (most recent call last):
        ...
        ValueError: The 'model' parameter cannot be trained with DP-SGD: BatchNorm cannot ...
    """
    from opacus.validators import ModuleValidator

    was_training = model.training
    model.train()  # the validator also insists on training mode, which is not our concern
    try:
        errors = ModuleValidator.validate(model, strict=False)
    finally:
        model.train(was_training)
    if errors:
        reasons = "; ".join(dict.fromkeys(str(e).strip() for e in errors))
        hint = (" Build it with norm='group' or norm='none' (BatchNorm mixes the samples of a "
                "batch).") if "BatchNorm" in reasons else ""
        raise ValueError(f"The 'model' parameter cannot be trained with DP-SGD: {reasons}{hint}")
    return model


# --------------------------------------------------------------------------- by hand


def per_sample_gradients(model: nn.Module, X: torch.Tensor, y: torch.Tensor,
                         loss_fn: Callable = F.cross_entropy) -> dict[str, torch.Tensor]:
    """Gradient of each sample's loss w.r.t. every trainable parameter, with ``torch.func``.

    ``vmap`` maps ``grad`` of a one-sample loss over the batch: entry ``name`` has shape
    ``(B, *param.shape)``.

    Example:
        >>> m = nn.Linear(3, 2)
        >>> g = per_sample_gradients(m, torch.randn(5, 3), torch.tensor([0, 1, 0, 1, 1]))
        >>> g["weight"].shape, g["bias"].shape
        (torch.Size([5, 2, 3]), torch.Size([5, 2]))
    """
    from torch.func import functional_call, grad, vmap

    params = {k: v.detach() for k, v in model.named_parameters() if v.requires_grad}
    buffers = {k: v.detach() for k, v in model.named_buffers()}

    def one_loss(p, x, t):
        out = functional_call(model, (p, buffers), (x.unsqueeze(0),))
        return loss_fn(out, t.unsqueeze(0))

    return vmap(grad(one_loss), in_dims=(None, 0, 0))(params, X, y)


def clip_gradients(grads: dict[str, torch.Tensor], max_grad_norm: float
                   ) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """Scale each sample's gradient (all parameters together) to norm at most ``max_grad_norm``.

    The factor is ``min(1, C / (norm + 1e-6))``, as in Opacus' ``DPOptimizer``.

    Returns:
        ``(clipped, norms)``: clipped per-sample gradients and the norms before clipping.

    Example:
        >>> g = {"w": torch.tensor([[3.0, 4.0], [0.3, 0.4]])}
        >>> clipped, norms = clip_gradients(g, 1.0)
        >>> norms.tolist(), clipped["w"].norm(dim=1).round(decimals=4).tolist()
        ([5.0, 0.5], [1.0, 0.5])
    """
    _check_positive(max_grad_norm, "max_grad_norm", "clip_gradients")
    flat = [g.reshape(len(g), -1) for g in grads.values()]
    norms = torch.cat(flat, dim=1).norm(2, dim=1)
    factor = (max_grad_norm / (norms + 1e-6)).clamp(max=1.0)
    return {k: torch.einsum("i,i...->i...", factor, g) for k, g in grads.items()}, norms


@torch.no_grad()
def dp_sgd_step(model: nn.Module, X: torch.Tensor, y: torch.Tensor, *, lr: float,
                max_grad_norm: float, noise_multiplier: float,
                generator: torch.Generator | None = None,
                expected_batch_size: int | None = None) -> dict[str, torch.Tensor]:
    """One DP-SGD step by hand: per-sample gradients, clipping, Gaussian noise, SGD update.

    ``g = (sum_i clip(g_i) + N(0, (sigma C)^2 I)) / B`` with ``B = expected_batch_size``
    (Opacus divides by the *expected* Poisson batch size, not the realised one), then
    ``theta <- theta - lr * g``. Noise is drawn parameter by parameter in ``named_parameters``
    order with ``torch.normal(0, sigma C, generator=generator)``, which is what Opacus does,
    so a generator seeded alike gives Opacus' step exactly.

    Args:
        model: updated in place.
        X, y: the batch.
        lr: learning rate.
        max_grad_norm: clipping norm ``C``.
        noise_multiplier: ``sigma`` (0 turns noise off).
        generator: source of the noise (seed it).
        expected_batch_size: divisor; default ``len(X)``.

    Returns:
        The noisy averaged gradient per parameter name.

    Example:
        >>> m = nn.Linear(3, 2)
        >>> g = dp_sgd_step(m, torch.randn(4, 3), torch.tensor([0, 1, 1, 0]), lr=0.1,
        ...                 max_grad_norm=1.0, noise_multiplier=0.0)
        >>> bool(g["weight"].norm() <= 1.0 + 1e-6)  # an average of vectors of norm <= C
        True
    """
    _check_positive(lr, "lr", "dp_sgd_step")
    _check_positive(noise_multiplier, "noise_multiplier", "dp_sgd_step", allow_zero=True)
    with torch.enable_grad():
        grads = per_sample_gradients(model, X, y)
    clipped, _ = clip_gradients(grads, max_grad_norm)
    batch = expected_batch_size or len(X)
    std = noise_multiplier * max_grad_norm
    params = dict(model.named_parameters())
    out = {}
    for name, g in clipped.items():
        total = g.sum(0)
        if std > 0:
            total = total + torch.normal(0.0, std, size=total.shape, generator=generator)
        out[name] = total / batch
        params[name].sub_(lr * out[name])
    return out


# --------------------------------------------------------------------------- accounting


def _check_accounting(sample_rate, noise_multiplier, steps, delta, owner):
    _check_fraction(sample_rate, "sample_rate", owner)
    _check_positive(noise_multiplier, "noise_multiplier", owner)
    _check_positive(steps, "steps", owner, integer=True)
    _check_fraction(delta, "delta", owner, closed_right=False)


def compute_epsilon(sample_rate: float, noise_multiplier: float, steps: int, delta: float,
                    *, accountant: str = "rdp") -> float:
    """Epsilon of ``steps`` Poisson-subsampled Gaussian steps, from one Opacus accountant.

    ``"rdp"``: Rényi DP (Mironov 2017; Mironov, Talwar & Zhang 2019), an upper bound via a
    grid of orders. ``"prv"``: privacy random variables (Gopi, Lee & Wutschitz 2021), a
    numerically tight estimate (upper end of its error interval), usually smaller.

    Example:
        >>> round(compute_epsilon(0.04, 1.5, 2250, 1e-5, accountant="rdp"), 4)
        7.3291
    """
    check_choice(accountant, ACCOUNTANTS, "accountant", "compute_epsilon")
    _check_accounting(sample_rate, noise_multiplier, steps, delta, "compute_epsilon")
    return _epsilon_cached(float(sample_rate), float(noise_multiplier), int(steps),
                           float(delta), accountant)


# Accounting is pure and, in Python, slow (seconds per call for RDP's fractional orders and
# PRV's grid; a noise search calls it ~15 times): a notebook asks the same questions often.
@functools.lru_cache(maxsize=4096)
def _epsilon_cached(sample_rate, noise_multiplier, steps, delta, accountant) -> float:
    from opacus.accountants import create_accountant

    acc = create_accountant(accountant)
    acc.history = [(noise_multiplier, sample_rate, steps)]
    with _quiet_opacus():
        return float(acc.get_epsilon(delta=delta))


@functools.lru_cache(maxsize=1024)
def _noise_cached(target_epsilon, delta, sample_rate, steps, accountant) -> float:
    from opacus.accountants.utils import get_noise_multiplier

    with _quiet_opacus():
        return float(get_noise_multiplier(target_epsilon=target_epsilon, target_delta=delta,
                                          sample_rate=sample_rate, steps=steps,
                                          accountant=accountant))


def epsilons(sample_rate: float, noise_multiplier: float, steps: int, delta: float
             ) -> dict[str, float]:
    """Epsilon from every accountant in :data:`ACCOUNTANTS` for the same parameters.

    Example:
        >>> e = epsilons(0.04, 1.5, 2250, 1e-5)
        >>> e["prv"] < e["rdp"]
        True
    """
    return {name: compute_epsilon(sample_rate, noise_multiplier, steps, delta, accountant=name)
            for name in ACCOUNTANTS}


def noise_for_epsilon(target_epsilon: float, delta: float, sample_rate: float, steps: int,
                      *, accountant: str = "rdp") -> float:
    """The smallest noise multiplier reaching ``target_epsilon`` (Opacus' binary search).

    Example:
        >>> round(noise_for_epsilon(8.0, 1e-5, 0.04, 2000), 4)
        1.3562
    """
    check_choice(accountant, ACCOUNTANTS, "accountant", "noise_for_epsilon")
    _check_positive(target_epsilon, "target_epsilon", "noise_for_epsilon")
    _check_fraction(sample_rate, "sample_rate", "noise_for_epsilon")
    _check_positive(steps, "steps", "noise_for_epsilon", integer=True)
    _check_fraction(delta, "delta", "noise_for_epsilon", closed_right=False)
    return _noise_cached(float(target_epsilon), float(delta), float(sample_rate), int(steps),
                         accountant)


# --------------------------------------------------------------------------- masks


def _maskable(model: nn.Module) -> list[tuple[str, nn.Parameter]]:
    """``(name, weight)`` of every Linear / Conv2d weight (biases and norms stay trainable)."""
    return [(f"{n}.weight" if n else "weight", m.weight) for n, m in model.named_modules()
            if isinstance(m, (nn.Linear, nn.Conv2d)) and isinstance(m.weight, nn.Parameter)]


@torch.no_grad()
def weight_masks(model: nn.Module, density: float, how: str = "magnitude", *,
                 generator: torch.Generator | None = None,
                 allowed: dict[str, torch.Tensor] | None = None) -> dict[str, torch.Tensor]:
    """A 0/1 mask keeping ``density`` of each Linear / Conv2d layer's weights.

    Args:
        model: the model whose weights are ranked (``"magnitude"``) or only shaped.
        density: fraction kept per layer, in (0, 1]; at least one weight per layer.
        how: ``"magnitude"`` (largest ``|w|``) or ``"random"`` (uniform, from ``generator``).
        generator: source of the random masks.
        allowed: per-layer masks of coordinates that may be chosen at all (e.g. not pruned);
            ``density`` then refers to the allowed coordinates.

    Returns:
        Parameter name -> float mask of the weight's shape.

    Example:
        >>> m = nn.Linear(10, 10)
        >>> masks = weight_masks(m, 0.3, "random", generator=torch.Generator().manual_seed(0))
        >>> int(masks["weight"].sum())
        30
    """
    _check_fraction(density, "density", "weight_masks")
    check_choice(how, _MASKS, "how", "weight_masks")
    out = {}
    for name, w in _maskable(model):
        ok = torch.ones_like(w, dtype=torch.bool) if allowed is None or name not in allowed \
            else allowed[name].bool()
        k = max(1, int(round(density * int(ok.sum()))))
        if how == "magnitude":
            score = w.detach().abs().flatten().clone()
        else:
            score = torch.rand(w.numel(), generator=generator).to(w.device)
        score[~ok.flatten()] = -1.0
        keep = torch.topk(score, k).indices
        mask = torch.zeros(w.numel(), device=w.device)
        mask[keep] = 1.0
        out[name] = mask.view_as(w)
    return out


# --------------------------------------------------------------------------- Opacus


class MaskedDPOptimizer(DPOptimizer):
    """Opacus' ``DPOptimizer`` that clips and noises only the trainable coordinates.

    ``dp_masks`` maps a parameter to a 0/1 tensor of its shape (absent: all trainable).
    Per-sample gradients are masked before their norms are taken, and the noise after it is
    added, so frozen coordinates receive exactly zero update. :func:`train_private` turns the
    ``DPOptimizer`` that ``PrivacyEngine.make_private`` returns into this class (same state,
    same accountant hook).
    """

    dp_masks: dict

    def clip_and_accumulate(self):
        for p in self.params:
            mask = self.dp_masks.get(p)
            if mask is not None:
                gs = self._get_flat_grad_sample(p)
                p.grad_sample = gs.mul_(mask.to(gs.dtype))  # in place: memory-bound step
        super().clip_and_accumulate()

    def add_noise(self):
        super().add_noise()
        for p in self.params:
            mask = self.dp_masks.get(p)
            if mask is not None:
                p.grad.mul_(mask.to(p.grad.dtype))


def _strip_pruning(model: nn.Module) -> dict[str, torch.Tensor]:
    """Fold every ``torch.nn.utils.prune`` mask into a plain ``weight`` parameter and return
    ``{parameter name: mask}`` (Opacus computes per-sample gradients of ``layer.weight``)."""
    masks = {}
    for mod_name, mod in model.named_modules():
        hooks = [h for h in mod._forward_pre_hooks.values()
                 if isinstance(h, prune.BasePruningMethod)]
        for hook in hooks:
            names = [hook._tensor_name] if hasattr(hook, "_tensor_name") else \
                [h._tensor_name for h in getattr(hook, "_pruning_methods", ())]
            for tname in dict.fromkeys(names):
                key = f"{mod_name}.{tname}" if mod_name else tname
                masks[key] = getattr(mod, f"{tname}_mask").detach().clone()
                prune.remove(mod, tname)
    return masks


def _restore_pruning(model: nn.Module, masks: dict[str, torch.Tensor]) -> None:
    modules = dict(model.named_modules())
    for key, mask in masks.items():
        mod_name, _, tname = key.rpartition(".")
        prune.custom_from_mask(modules[mod_name], tname, mask.to(getattr(
            modules[mod_name], tname).device))


def _pick_grad_sample_mode(mode: str, masked: bool, model: nn.Module) -> str:
    check_choice(mode, GRAD_SAMPLE_MODES, "grad_sample_mode", "train_private")
    if masked:
        if mode in ("ghost", "ew"):
            raise ValueError(f"The 'grad_sample_mode' parameter is {mode!r}, which never "
                             "materialises per-sample gradients, but parameter freezing / "
                             "selection must mask them: use 'auto', 'hooks' or 'functorch'.")
        return "hooks" if mode == "auto" else mode
    if mode != "auto":
        return mode
    # Measured on CPU (benchmarks/dp_speed.py): ghost clipping is fastest for Linear-only
    # models (it never builds per-sample gradients of Linear layers); Opacus 1.6 has no ghost
    # norm for Conv2d, and torch's expanded weights ("ew") are fastest for LeNet-5.
    has_conv = any(isinstance(m, nn.Conv2d) for m in model.modules())
    return "ew" if has_conv else "ghost"


def train_private(model: nn.Module, train_data, *, epochs: int = 10, batch_size: int = 64,
                  lr: float = 0.5, seed: int = 0, device: str = "auto",
                  target_epsilon: float | None = None, noise_multiplier: float | None = None,
                  max_grad_norm: float = 1.0, delta: float | None = None,
                  accountant: str = "rdp", grad_sample_mode: str = "auto",
                  momentum: float = 0.0, masks: dict[str, torch.Tensor] | None = None,
                  reselect: Callable[[nn.Module, int], dict[str, torch.Tensor]] | None = None,
                  select_every: int = 1, progress: bool | None = False) -> dict:
    """Train ``model`` in place with DP-SGD through Opacus' ``PrivacyEngine``.

    Poisson sampling with rate ``q = 1 / ceil(n / batch_size)`` (Opacus' ``DPDataLoader``,
    seeded), per-sample clipping to ``max_grad_norm``, Gaussian noise, plain SGD. Give either
    ``target_epsilon`` (the noise multiplier is then found as Opacus'
    ``make_private_with_epsilon`` finds it, with ``get_noise_multiplier`` for ``epochs``, but
    cached) or ``noise_multiplier``.

    Args:
        model: BatchNorm-free network (see :func:`check_dp_compatible`); trained in place.
        train_data: ``(X, y)`` tensors: the private data.
        epochs, batch_size, lr, momentum: SGD settings; ``batch_size`` is the *expected*
            Poisson batch size.
        seed: seeds the Poisson sampler and the noise (own generators, no global reseeding).
        device: ``"auto"``, ``"cpu"``, ``"cuda"``.
        target_epsilon: privacy budget to reach after ``epochs``.
        noise_multiplier: ``sigma`` when no ``target_epsilon`` is given.
        max_grad_norm: clipping norm ``C``.
        delta: the ``delta`` of the guarantee; default ``1 / n`` (``n`` = number of training
            samples). Note that ``1 / n`` is a weak guarantee (a mechanism publishing one
            random record is (0, 1/n)-DP); pass e.g. ``1e-5`` for a meaningful one.
        accountant: ``"rdp"`` or ``"prv"``, used for ``target_epsilon`` and ``epsilon``;
            both are reported anyway (``epsilon_rdp``, ``epsilon_prv``).
        grad_sample_mode: Opacus' per-sample gradient engine. ``"auto"``: ``"hooks"`` when
            gradients are masked (freezing, selection, pruned layers), else ``"ew"`` for
            models with convolutions and ``"ghost"`` (ghost clipping) for Linear-only ones,
            the fastest measured on CPU (``benchmarks/dp_speed.py``).
        masks: parameter name -> 0/1 tensor of trainable coordinates (parameter freezing).
        reselect: ``reselect(model, step) -> masks`` called every ``select_every`` steps
            (parameter selection); it must not look at the private data.
        select_every: steps between two calls of ``reselect``.
        progress: tqdm bar over epochs.

    Returns:
        ``epsilon``, ``delta``, ``noise_multiplier``, ``accountant``, ``steps``,
        ``sample_rate``, ``epsilon_rdp``, ``epsilon_prv``, ``max_grad_norm``,
        ``grad_sample_mode``, ``n_train``, ``trainable_fraction`` (of the maskable weights,
        averaged over steps) and ``history`` (per-epoch ``train_loss`` and wall-clock
        ``seconds``).

    Raises:
        ValueError: a BatchNorm model (Opacus' reasons), both or neither of
            ``target_epsilon`` / ``noise_multiplier``, values out of range.
    """
    X, y = check_xy(train_data, "train_data")
    owner = "train_private"
    _check_positive(epochs, "epochs", owner, integer=True)
    _check_positive(batch_size, "batch_size", owner, integer=True)
    _check_positive(lr, "lr", owner)
    _check_positive(max_grad_norm, "max_grad_norm", owner)
    _check_positive(momentum, "momentum", owner, allow_zero=True)
    _check_positive(select_every, "select_every", owner, integer=True)
    check_choice(accountant, ACCOUNTANTS, "accountant", owner)
    if (target_epsilon is None) == (noise_multiplier is None):
        raise ValueError(f"{owner} needs exactly one of 'target_epsilon' and "
                         f"'noise_multiplier'. Got target_epsilon={target_epsilon!r}, "
                         f"noise_multiplier={noise_multiplier!r}.")
    if target_epsilon is not None:
        _check_positive(target_epsilon, "target_epsilon", owner)
    else:
        _check_positive(noise_multiplier, "noise_multiplier", owner)
    n = len(X)
    delta = 1.0 / n if delta is None else delta
    _check_fraction(delta, "delta", owner, closed_right=False)
    if batch_size > n:
        raise ValueError(f"The 'batch_size' parameter of {owner} must be <= the number of "
                         f"training samples ({n}). Got {batch_size!r} instead.")
    check_dp_compatible(model)
    if reselect is not None and momentum:
        raise ValueError("The 'momentum' parameter must be 0 with parameter selection "
                         f"(momentum would move unselected coordinates). Got {momentum!r}.")
    masked = masks is not None or reselect is not None
    gs_mode = _pick_grad_sample_mode(grad_sample_mode, masked, model)

    from opacus import PrivacyEngine

    dev = resolve_device(device)
    pruned = _strip_pruning(model)  # pruned coordinates are frozen at zero
    model.to(dev).train()
    named = dict(model.named_parameters())
    masks = {k: v.to(dev) for k, v in (masks or {}).items()}
    for k, v in pruned.items():
        masks[k] = v.to(dev) * masks[k] if k in masks else v.to(dev)
    masked = masked or bool(pruned)
    if masked:
        gs_mode = _pick_grad_sample_mode(grad_sample_mode, True, model)
    unknown = sorted(set(masks) - set(named))
    if unknown:
        raise ValueError(f"The 'masks' parameter names unknown parameters {unknown}; known: "
                         f"{sorted(named)}.")
    with torch.no_grad():  # frozen coordinates start (and stay) where the mask says
        for k in masks:
            if k in pruned:
                named[k].mul_(pruned[k].to(dev))

    gen = torch.Generator().manual_seed(int(seed))
    noise_gen = torch.Generator(device=dev).manual_seed(int(seed) + 1)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X, y),
                                         batch_size=batch_size, generator=gen)
    optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=lr,
                                momentum=momentum)
    common = dict(module=model, optimizer=optimizer, data_loader=loader,
                  max_grad_norm=max_grad_norm, poisson_sampling=True,
                  noise_generator=noise_gen, grad_sample_mode=gs_mode,
                  criterion=nn.CrossEntropyLoss())
    if target_epsilon is not None:
        # what make_private_with_epsilon does (Opacus' get_noise_multiplier for q and the
        # number of steps), through the cache above
        n_batches = len(loader)
        noise_multiplier = noise_for_epsilon(target_epsilon, delta, 1.0 / n_batches,
                                             epochs * n_batches, accountant=accountant)
    with _quiet_opacus():
        engine = PrivacyEngine(accountant=accountant)
        made = engine.make_private(noise_multiplier=noise_multiplier, **common)
    if gs_mode == "ghost":
        gsm, dp_opt, criterion, dp_loader = made
    else:
        (gsm, dp_opt, dp_loader), criterion = made, F.cross_entropy
    if masked:
        if type(dp_opt) is not DPOptimizer:
            raise RuntimeError(f"Expected Opacus' DPOptimizer, got {type(dp_opt).__name__}.")
        dp_opt.__class__ = MaskedDPOptimizer  # two masking steps; same state and accountant
        dp_opt.dp_masks = {named[k]: m for k, m in masks.items()}
    sample_rate = 1.0 / len(dp_loader)
    maskable = [named[k] for k, _ in _maskable(model)]
    n_maskable = sum(p.numel() for p in maskable)
    trainable_sum, steps, history = 0.0, 0, []
    from tqdm.auto import tqdm

    try:
        with _quiet_opacus(), torch.random.fork_rng(devices=[dev] if dev.type == "cuda" else []):
            torch.manual_seed(int(seed))
            for epoch in tqdm(range(1, epochs + 1), desc="DP-SGD", disable=not progress,
                              leave=False):
                tot, count, t0 = 0.0, 0, time.perf_counter()
                for xb, yb in dp_loader:
                    if reselect is not None and steps % select_every == 0:
                        new = reselect(model, steps)
                        for k, v in pruned.items():  # pruned coordinates stay frozen
                            new[k] = new[k] * v.to(dev) if k in new else v.to(dev)
                        dp_opt.dp_masks = {named[k]: m.to(dev) for k, m in new.items()}
                    xb, yb = xb.to(dev), yb.to(dev)
                    dp_opt.zero_grad(set_to_none=True)
                    loss = criterion(gsm(xb), yb)
                    loss.backward()
                    dp_opt.step()
                    steps += 1
                    if masked:
                        mp = dp_opt.dp_masks
                        trainable_sum += sum(float(mp[p].sum()) if p in mp else p.numel()
                                             for p in maskable) / max(n_maskable, 1)
                    if len(yb):
                        tot += float(loss.detach()) * len(yb)
                        count += len(yb)
                history.append({"epoch": epoch, "train_loss": tot / max(count, 1),
                                "seconds": time.perf_counter() - t0})
    finally:
        gsm._close()  # removes Opacus' hooks and attributes from the user's model
        _restore_pruning(model, pruned)
    model.eval()
    sigma = float(dp_opt.noise_multiplier)
    eps_all = epsilons(sample_rate, sigma, steps, delta) if sigma > 0 else \
        {a: float("inf") for a in ACCOUNTANTS}
    return {
        "epsilon": eps_all[accountant], "delta": delta, "noise_multiplier": sigma,
        "accountant": accountant, "steps": steps, "sample_rate": sample_rate,
        **{f"epsilon_{a}": e for a, e in eps_all.items()},
        "max_grad_norm": float(max_grad_norm), "grad_sample_mode": gs_mode, "n_train": n,
        "trainable_fraction": trainable_sum / steps if masked and steps else 1.0,
        "history": history,
    }


# --------------------------------------------------------------------------- modes


@dataclass(frozen=True)
class DPMode:
    """A DP training recipe: ``fit(model, train_data, *, epochs, batch_size, lr, seed, device,
    public_data=None, **params) -> dict`` (see :func:`train_private` for the dict)."""

    name: str
    fit: Callable[..., dict]
    description: str


#: Registry of DP training recipes (``DP_MODES.get("freeze").fit(...)``).
DP_MODES: Registry[DPMode] = Registry("DP mode")


def _public_start(model, public_data, *, warm_start, public_epochs, seed, device, need_public):
    """Pre-train on public data (no privacy cost). Returns the model whose magnitudes rank
    weights for a public mask: ``model`` itself after a warm start, or a trained copy."""
    from .train import fit as plain_fit

    if public_data is None:
        if need_public:
            raise ValueError("The 'public_data' parameter is required for mask='magnitude' "
                             "(the mask must come from public data only). Got None.")
        return model
    _check_positive(public_epochs, "public_epochs", "public pre-training", integer=True)
    target = model if warm_start else copy.deepcopy(model)
    plain_fit(target, public_data, epochs=public_epochs, seed=seed + 7919, device=device,
              progress=False, desc="public")
    return target


def _fit_dpsgd(model, train_data, *, epochs, batch_size, lr, seed, device, public_data=None,
               warm_start: bool = True, public_epochs: int = 5, **params) -> dict:
    if public_data is not None and warm_start:
        _public_start(model, public_data, warm_start=True, public_epochs=public_epochs,
                      seed=seed, device=device, need_public=False)
    out = train_private(model, train_data, epochs=epochs, batch_size=batch_size, lr=lr,
                        seed=seed, device=device, **params)
    return {"mode": "dpsgd", "warm_start": public_data is not None and warm_start, **out}


def _fit_freeze(model, train_data, *, epochs, batch_size, lr, seed, device, public_data=None,
                mask: str = "magnitude", density: float = 0.5, warm_start: bool = True,
                public_epochs: int = 5, **params) -> dict:
    check_choice(mask, _MASKS, "mask", "the 'freeze' DP mode")
    _check_fraction(density, "density", "the 'freeze' DP mode")
    ranked = _public_start(model, public_data, warm_start=warm_start,
                           public_epochs=public_epochs, seed=seed,
                           device=device, need_public=mask == "magnitude")
    masks = weight_masks(ranked, density, mask, generator=torch.Generator().manual_seed(seed))
    named = dict(model.named_parameters())
    with torch.no_grad():  # prune: frozen coordinates are zero and stay zero
        for k, m in masks.items():
            named[k].mul_(m.to(named[k].device))
    out = train_private(model, train_data, epochs=epochs, batch_size=batch_size, lr=lr,
                        seed=seed, device=device, masks=masks, **params)
    modules = dict(model.named_modules())
    for k, m in masks.items():  # show the result as a pruned model (density reports)
        mod_name, _, tname = k.rpartition(".")
        mod = modules[mod_name]
        prune.custom_from_mask(mod, tname, m.to(getattr(mod, tname).device))
    return {"mode": "freeze", "mask": mask, "density": density,
            "warm_start": public_data is not None and warm_start, **out}


def _fit_select(model, train_data, *, epochs, batch_size, lr, seed, device, public_data=None,
                mask: str = "random", density: float = 0.5, select_every: int = 1,
                warm_start: bool = True, public_epochs: int = 5, **params) -> dict:
    check_choice(mask, _MASKS, "mask", "the 'select' DP mode")
    _check_fraction(density, "density", "the 'select' DP mode")
    if public_data is not None and warm_start:
        _public_start(model, public_data, warm_start=True, public_epochs=public_epochs,
                      seed=seed, device=device, need_public=False)
    gen = torch.Generator().manual_seed(seed + 104729)

    def reselect(m, step):
        # magnitude of the current weights: already the output of the DP mechanism, so
        # choosing by them is post-processing and costs no privacy
        return weight_masks(m, density, mask, generator=gen)

    out = train_private(model, train_data, epochs=epochs, batch_size=batch_size, lr=lr,
                        seed=seed, device=device, reselect=reselect,
                        select_every=select_every, **params)
    return {"mode": "select", "mask": mask, "density": density, "select_every": select_every,
            "warm_start": public_data is not None and warm_start, **out}


def _fit_nonprivate(model, train_data, *, epochs, batch_size, lr, seed, device,
                    public_data=None, warm_start: bool = True, public_epochs: int = 5,
                    momentum: float = 0.0, **params) -> dict:
    from .train import fit as plain_fit

    ignored = set(params) - {"target_epsilon", "noise_multiplier", "max_grad_norm", "delta",
                             "accountant", "grad_sample_mode", "progress"}
    if ignored:
        raise TypeError(f"The 'nonprivate' DP mode got unexpected parameters {sorted(ignored)}.")
    if public_data is not None and warm_start:
        _public_start(model, public_data, warm_start=True, public_epochs=public_epochs,
                      seed=seed, device=device, need_public=False)
    X, _ = check_xy(train_data, "train_data")
    hist = plain_fit(model, train_data, epochs=epochs, optimizer="sgd", lr=lr,
                     momentum=momentum, batch_size=batch_size, seed=seed, device=device,
                     progress=False, desc="non-private")
    steps = epochs * math.ceil(len(X) / batch_size)
    return {"mode": "nonprivate", "epsilon": float("inf"), "delta": params.get("delta") or 0.0,
            "noise_multiplier": 0.0, "accountant": None, "steps": steps,
            "sample_rate": batch_size / len(X), "epsilon_rdp": float("inf"),
            "epsilon_prv": float("inf"), "n_train": len(X), "trainable_fraction": 1.0,
            "warm_start": public_data is not None and warm_start,
            "history": [{"epoch": h["epoch"], "train_loss": h["train_loss"]} for h in hist]}


DP_MODES.register("dpsgd", DPMode("dpsgd", _fit_dpsgd, "dense DP-SGD (Opacus, Poisson "
                                  "sampling); optional warm start on public data"))
DP_MODES.register("freeze", DPMode("freeze", _fit_freeze, "parameter freezing: prune with a "
                                   "public magnitude mask or a random one, DP-SGD on the rest"))
DP_MODES.register("select", DPMode("select", _fit_select, "parameter selection: every "
                                   "select_every steps update only a random / largest-magnitude "
                                   "fraction 'density' of each layer"))
DP_MODES.register("nonprivate", DPMode("nonprivate", _fit_nonprivate, "the same SGD recipe "
                                       "without clipping or noise (epsilon = inf)"))


# --------------------------------------------------------------------------- auditing


def audit_inclusion(m: int, *, seed: int) -> np.ndarray:
    """Include each of ``m`` audit examples independently with probability 1/2 (seeded).

    Example:
        >>> audit_inclusion(8, seed=0).astype(int).tolist()
        [0, 1, 1, 1, 0, 0, 0, 0]
    """
    _check_positive(m, "m", "audit_inclusion", integer=True)
    return np.random.default_rng(seed).random(int(m)) < 0.5


def audit_p_value(m: int, r: int, v: int, epsilon: float, delta: float) -> float:
    """Probability bound for ``>= v`` correct guesses out of ``r`` under (epsilon, delta)-DP.

    Steinke, Nasr & Jagielski (2023), Theorem 3.1 and their Algorithm for ``delta > 0``:
    ``P[W >= v] <= P[Binomial(r, e^eps/(1+e^eps)) >= v] + 2 m delta * alpha`` with
    ``alpha = max_{i = 1..v} P[v > Binomial(r, .) >= v - i] / i``.

    Example:
        >>> round(audit_p_value(100, 10, 10, 0.0, 0.0), 6)  # 10 of 10 right by coin flips
        0.000977
    """
    from scipy import stats

    if not 0 <= v <= r <= m:
        raise ValueError(f"audit_p_value needs 0 <= v <= r <= m. Got m={m}, r={r}, v={v}.")
    q = 1.0 / (1.0 + math.exp(-epsilon))
    beta = float(stats.binom.sf(v - 1, r, q))
    alpha, total = 0.0, 0.0
    if delta > 0:
        pmf = stats.binom.pmf(np.arange(v - 1, -1, -1), r, q)  # v-1, v-2, ..., 0
        cums = np.cumsum(pmf)
        if len(cums):
            alpha = float(np.max(cums / np.arange(1, v + 1)))
        total = alpha * delta * 2 * m
    return min(beta + total, 1.0)


def one_run_epsilon_bound(m: int, r: int, v: int, *, delta: float, beta: float = 0.05,
                          tol: float = 1e-4) -> float:
    """Largest epsilon rejected at level ``beta``: ``audit_p_value(eps) < beta``; 0 if none.

    Example:
        >>> round(one_run_epsilon_bound(1000, 100, 100, delta=0.0), 2)  # 100/100 right
        3.49
        >>> one_run_epsilon_bound(1000, 100, 50, delta=0.0)  # chance level
        0.0
    """
    _check_fraction(beta, "beta", "one_run_epsilon_bound", closed_right=False)
    if not 0 <= delta < 1:
        raise ValueError(f"The 'delta' parameter of one_run_epsilon_bound must be in [0, 1). "
                         f"Got {delta!r} instead.")
    if r == 0 or audit_p_value(m, r, v, 0.0, delta) >= beta:
        return 0.0
    lo, hi = 0.0, 1.0
    while audit_p_value(m, r, v, hi, delta) < beta:
        lo, hi = hi, hi * 2
        if hi > 200:
            return lo
    while hi - lo > tol:
        mid = (lo + hi) / 2
        if audit_p_value(m, r, v, mid, delta) < beta:
            lo = mid
        else:
            hi = mid
    return lo


def _default_k_grid(m: int) -> list[tuple[int, int]]:
    ks = [k for k in (5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000) if 2 * k <= m]
    return [pair for k in ks for pair in ((k, 0), (0, k), (k, k))]


def audit_epsilon(scores, included, *, delta: float, beta: float = 0.05,
                  k_grid: list[tuple[int, int]] | None = None) -> dict:
    """Empirical epsilon lower bound from one training run (Steinke, Nasr & Jagielski 2023).

    The ``m`` audit examples were each included in training independently with probability
    1/2 (:func:`audit_inclusion`). Guess "in" for the ``k+`` highest membership scores and
    "out" for the ``k-`` lowest, abstain on the rest; with ``v`` correct out of
    ``r = k+ + k-``, any (epsilon, delta)-DP training makes ``v`` unlikely (probability
    ``< beta``) for every epsilon below the returned bound. Each ``(k+, k-)`` of ``k_grid``
    is tried at level ``beta / len(k_grid)`` (union bound), so picking the best is honest.

    Unlike a Clopper-Pearson interval over the members and non-members of one model (whose
    guesses are not independent trials), this bound holds with probability ``>= 1 - beta``
    over the random inclusion.

    Args:
        scores: membership score per audit example (higher = member).
        included: bool per audit example: was it in the training set.
        delta: the delta of the guarantee being audited.
        beta: failure probability of the bound.
        k_grid: ``(k+, k-)`` pairs; default ``k`` in 5, 10, 20, 50, ... (``2k <= m``) as
            ``(k, 0)``, ``(0, k)`` and ``(k, k)``.

    Returns:
        ``epsilon_lb``, ``k_plus``, ``k_minus``, ``guesses``, ``correct``, ``m``, ``beta``,
        ``grid_size``, ``delta``.

    Example:
        >>> inc = audit_inclusion(1000, seed=0)
        >>> audit_epsilon(inc.astype(float), inc, delta=1e-5)["epsilon_lb"] > 2  # perfect
        True
    """
    s = np.asarray(scores, dtype=float)
    inc = np.asarray(included)
    if s.ndim != 1 or inc.shape != s.shape:
        raise ValueError(f"The 'scores' and 'included' parameters of audit_epsilon must be 1-D "
                         f"of the same length. Got shapes {s.shape} and {inc.shape}.")
    if not np.isfinite(s).all():
        raise ValueError("The 'scores' parameter of audit_epsilon contains NaN or infinite "
                         "values.")
    inc = inc.astype(bool)
    m = len(s)
    grid = list(k_grid) if k_grid is not None else _default_k_grid(m)
    if not grid or any(kp < 0 or km < 0 or kp + km > m or kp + km == 0 for kp, km in grid):
        raise ValueError(f"The 'k_grid' parameter of audit_epsilon must be non-empty pairs "
                         f"(k+, k-) with 0 < k+ + k- <= m = {m}. Got {k_grid!r}.")
    order = np.argsort(-s, kind="stable")  # highest score first
    best = {"epsilon_lb": 0.0, "k_plus": grid[0][0], "k_minus": grid[0][1], "guesses": 0,
            "correct": 0}
    level = beta / len(grid)
    for kp, km in grid:
        correct = int(inc[order[:kp]].sum()) + int((~inc[order[m - km:]]).sum() if km else 0)
        eps = one_run_epsilon_bound(m, kp + km, correct, delta=delta, beta=level)
        if eps > best["epsilon_lb"] or best["guesses"] == 0:
            best = {"epsilon_lb": eps, "k_plus": kp, "k_minus": km, "guesses": kp + km,
                    "correct": correct}
    return {**best, "m": m, "beta": beta, "grid_size": len(grid), "delta": delta}
