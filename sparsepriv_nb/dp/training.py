"""Differentially private training with Opacus, with and without masks of trainable weights.

:func:`train_private` trains a model in place with DP-SGD through Opacus'
``PrivacyEngine``: Poisson sampling, per-sample clipping, Gaussian noise, plain SGD, and the
epsilon of the requested accountant. With masks (parameter freezing, selection, or a model
pruned with ``torch.nn.utils.prune``) it steps with :class:`~.optimizer.MaskedDPOptimizer`,
built from the optimizer that ``make_private`` returns.

Lesson: notebook 06 (``06_dp_sgd_and_pruning``), sections 3 and 5.

Example:
    >>> from sparsepriv_nb.data import load_dataset
    >>> from sparsepriv_nb.models import build_model
    >>> ds = load_dataset("digits")
    >>> model = build_model("mlp", input_shape=ds.input_shape, num_classes=10, seed=0)
    >>> out = train_private(model, (ds.X[:256], ds.y[:256]), epochs=1, batch_size=64,
    ...                     noise_multiplier=1.0, device="cpu")
    >>> out["steps"], out["delta"], round(out["epsilon"], 2)
    (4, 1e-05, 4.87)
"""

from __future__ import annotations

import math
import time
from typing import Callable, NamedTuple

import torch
from torch import nn
from opacus.optimizers import DPOptimizer
from torch.nn import functional as F

from .._checks import ParameterError, check_choice, check_int, check_number
from ..inputs import check_fits, check_model, check_xy
from ..train import resolve_device
from .accounting import ACCOUNTANTS, compute_epsilon, default_delta, noise_for_epsilon
from .compat import check_dp_compatible, quiet_opacus
from .masks import fold_pruning, maskable_weights, restore_pruning
from .optimizer import MaskedDPOptimizer

__all__ = ["GRAD_SAMPLE_MODES", "train_private"]

#: Opacus' grad-sample modes; ``"auto"`` picks the fastest that supports the training mode.
GRAD_SAMPLE_MODES = ("auto", "hooks", "functorch", "ew", "ghost")

_OWNER = "train_private"


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
        model: BatchNorm-free network (see :func:`~.compat.check_dp_compatible`); trained in
            place. Pruned layers stay pruned, with the same masks (pruned coordinates are
            frozen at zero).
        train_data: ``(X, y)`` tensors: the private data.
        epochs, batch_size, lr, momentum: SGD settings; ``batch_size`` is the *expected*
            Poisson batch size.
        seed: seeds the Poisson sampler and the noise (own generators, no global reseeding).
        device: ``"auto"``, ``"cpu"``, ``"cuda"``.
        target_epsilon: privacy budget to reach after ``epochs``.
        noise_multiplier: ``sigma`` when no ``target_epsilon`` is given.
        max_grad_norm: clipping norm ``C``.
        delta: the ``delta`` of the guarantee; default
            :func:`~.accounting.default_delta` ``(n) = min(1e-5, 1 / (10 n))`` (``n`` =
            number of training samples), well below ``1 / n``, the ``delta`` that a mechanism
            publishing one random record meets.
        accountant: ``"rdp"`` or ``"prv"``, used for ``target_epsilon`` and ``epsilon`` (the
            other accountant is not run; :func:`~.accounting.epsilons` gives both).
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
        ``epsilon``, ``epsilon_<accountant>`` (the same number), ``delta``,
        ``noise_multiplier``, ``accountant``, ``steps``, ``sample_rate``, ``max_grad_norm``,
        ``grad_sample_mode``, ``n_train``, ``trainable_fraction`` (of the maskable weights,
        averaged over steps) and ``history`` (per-epoch ``train_loss`` and wall-clock
        ``seconds``). Several calls on one model compose with
        :func:`~.accounting.composed_privacy`.

    Raises:
        ValueError: a BatchNorm model (Opacus' reasons), both or neither of
            ``target_epsilon`` / ``noise_multiplier``, labels the model has no output for,
            values out of range (a ``ParameterError`` naming the parameter).
    """
    X, y = check_xy(train_data, "train_data", _OWNER)
    delta = _check_arguments(model, len(X), epochs=epochs, batch_size=batch_size, lr=lr,
                             max_grad_norm=max_grad_norm, momentum=momentum,
                             select_every=select_every, accountant=accountant, delta=delta,
                             target_epsilon=target_epsilon, noise_multiplier=noise_multiplier,
                             grad_sample_mode=grad_sample_mode, reselect=reselect)
    dev = resolve_device(device, "train_private")
    masked = masks is not None or reselect is not None
    pruned = fold_pruning(model)  # pruned coordinates are frozen at zero
    try:
        model.to(dev).train()
        check_fits(model, X, y, "train_data", _OWNER, dev)
        masked = masked or bool(pruned)
        gs_mode = _pick_grad_sample_mode(grad_sample_mode, masked, model)
        masks = _trainable_masks(model, masks, pruned, dev)
        if target_epsilon is not None:
            # what make_private_with_epsilon does (Opacus' get_noise_multiplier for q and the
            # number of steps), through the accounting cache
            n_batches = math.ceil(len(X) / batch_size)
            noise_multiplier = noise_for_epsilon(target_epsilon, delta, 1.0 / n_batches,
                                                 epochs * n_batches, accountant=accountant)
        parts = _make_private(model, (X, y), batch_size=batch_size, lr=lr, momentum=momentum,
                              seed=seed, dev=dev, noise_multiplier=noise_multiplier,
                              max_grad_norm=max_grad_norm, gs_mode=gs_mode,
                              accountant=accountant, masks=masks if masked else None)
        run = _run_epochs(model, parts, epochs=epochs, seed=seed, dev=dev, pruned=pruned,
                          reselect=reselect, select_every=select_every, progress=progress)
    finally:
        restore_pruning(model, pruned)
    model.eval()
    sample_rate = 1.0 / len(parts.loader)
    sigma = float(parts.optimizer.noise_multiplier)
    eps = compute_epsilon(sample_rate, sigma, run["steps"], delta, accountant=accountant) \
        if sigma > 0 else math.inf
    return {
        "epsilon": eps, "delta": delta, "noise_multiplier": sigma, "accountant": accountant,
        "steps": run["steps"], "sample_rate": sample_rate, f"epsilon_{accountant}": eps,
        "max_grad_norm": float(max_grad_norm), "grad_sample_mode": gs_mode, "n_train": len(X),
        "trainable_fraction": run["trainable_fraction"] if masked else 1.0,
        "history": run["history"],
    }


def _check_arguments(model, n, *, epochs, batch_size, lr, max_grad_norm, momentum,
                     select_every, accountant, grad_sample_mode, delta, target_epsilon,
                     noise_multiplier, reselect) -> float:
    """Check :func:`train_private`'s arguments (before the model is touched); return delta."""
    check_model(model, _OWNER)
    check_int(epochs, "epochs", _OWNER, 1)
    check_int(batch_size, "batch_size", _OWNER, 1, n)
    check_number(lr, "lr", _OWNER, low=0, low_open=True)
    check_number(max_grad_norm, "max_grad_norm", _OWNER, low=0, low_open=True)
    check_number(momentum, "momentum", _OWNER, low=0)
    check_int(select_every, "select_every", _OWNER, 1)
    check_choice(accountant, ACCOUNTANTS, "accountant", _OWNER)
    check_choice(grad_sample_mode, GRAD_SAMPLE_MODES, "grad_sample_mode", _OWNER)
    if (target_epsilon is None) == (noise_multiplier is None):
        raise ParameterError(f"{_OWNER} needs exactly one of 'target_epsilon' and "
                             f"'noise_multiplier'. Got target_epsilon={target_epsilon!r}, "
                             f"noise_multiplier={noise_multiplier!r}.")
    if target_epsilon is not None:
        check_number(target_epsilon, "target_epsilon", _OWNER, low=0, low_open=True)
    else:
        check_number(noise_multiplier, "noise_multiplier", _OWNER, low=0, low_open=True)
    delta = default_delta(n) if delta is None else \
        check_number(delta, "delta", _OWNER, low=0, low_open=True, high=1)
    check_dp_compatible(model)
    if reselect is not None and momentum:
        raise ParameterError("The 'momentum' parameter must be 0 with parameter selection "
                             f"(momentum would move unselected coordinates). Got {momentum!r}.")
    return delta


def _pick_grad_sample_mode(mode: str, masked: bool, model: nn.Module) -> str:
    if masked:
        if mode in ("ghost", "ew"):
            raise ParameterError(f"The 'grad_sample_mode' parameter is {mode!r}, which never "
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


def _trainable_masks(model: nn.Module, masks: dict | None, pruned: dict,
                     dev: torch.device) -> dict[str, torch.Tensor]:
    """The user's masks on ``dev``, times the pruning masks; pruned coordinates set to zero."""
    named = dict(model.named_parameters())
    out = {k: v.to(dev) for k, v in (masks or {}).items()}
    for k, v in pruned.items():
        out[k] = v.to(dev) * out[k] if k in out else v.to(dev)
    unknown = sorted(set(out) - set(named))
    if unknown:
        raise ParameterError(f"The 'masks' parameter names unknown parameters {unknown}; known: "
                             f"{sorted(named)}.")
    with torch.no_grad():  # frozen coordinates start (and stay) where the mask says
        for k in out:
            if k in pruned:
                named[k].mul_(pruned[k].to(dev))
    return out


class _Private(NamedTuple):
    """What ``PrivacyEngine.make_private`` returns, in one shape for every grad-sample mode."""

    module: nn.Module
    optimizer: DPOptimizer
    criterion: Callable
    loader: torch.utils.data.DataLoader


def _make_private(model, data, *, batch_size, lr, momentum, seed, dev, noise_multiplier,
                  max_grad_norm, gs_mode, accountant, masks) -> _Private:
    """Opacus' module, optimizer (masked when ``masks`` is given), criterion and Poisson
    loader; the sampler and the noise have their own generators, seeded from ``seed``."""
    from opacus import PrivacyEngine

    gen = torch.Generator().manual_seed(int(seed))
    noise_gen = torch.Generator(device=dev).manual_seed(int(seed) + 1)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(*data),
                                         batch_size=batch_size, generator=gen,
                                         pin_memory=dev.type == "cuda" and not data[0].is_cuda)
    optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=lr,
                                momentum=momentum)
    with quiet_opacus():
        engine = PrivacyEngine(accountant=accountant)
        made = engine.make_private(
            module=model, optimizer=optimizer, data_loader=loader,
            noise_multiplier=noise_multiplier, max_grad_norm=max_grad_norm,
            poisson_sampling=True, noise_generator=noise_gen, grad_sample_mode=gs_mode,
            criterion=nn.CrossEntropyLoss())
    if gs_mode == "ghost":
        module, dp_opt, criterion, dp_loader = made
    else:
        (module, dp_opt, dp_loader), criterion = made, F.cross_entropy
    if masks is not None:
        named = dict(model.named_parameters())
        dp_opt = MaskedDPOptimizer.from_dp_optimizer(
            dp_opt, {named[k]: m for k, m in masks.items()})
    return _Private(module, dp_opt, criterion, dp_loader)


def _run_epochs(model, parts: _Private, *, epochs, seed, dev, pruned, reselect, select_every,
                progress) -> dict:
    """The training loop; returns ``steps``, ``history`` and the mean ``trainable_fraction``
    of the maskable weights. Removes Opacus' hooks from ``model`` at the end."""
    from tqdm.auto import tqdm

    named = dict(model.named_parameters())
    maskable = [named[k] for k, _ in maskable_weights(model)]
    n_maskable = max(sum(p.numel() for p in maskable), 1)
    opt, trainable_sum, steps, history = parts.optimizer, 0.0, 0, []
    try:
        with quiet_opacus(), torch.random.fork_rng(devices=[dev] if dev.type == "cuda" else []):
            torch.manual_seed(int(seed))
            for epoch in tqdm(range(1, epochs + 1), desc="DP-SGD", disable=not progress,
                              leave=False):
                tot, count, t0 = 0.0, 0, time.perf_counter()
                for xb, yb in parts.loader:
                    if reselect is not None and steps % select_every == 0:
                        opt.set_masks(_selected(model, reselect(model, steps), pruned, dev))
                    xb, yb = xb.to(dev), yb.to(dev)
                    opt.zero_grad(set_to_none=True)
                    loss = parts.criterion(parts.module(xb), yb)
                    loss.backward()
                    opt.step()
                    steps += 1
                    if isinstance(opt, MaskedDPOptimizer):
                        trainable_sum += sum(float(opt.masks[p].sum()) if p in opt.masks
                                             else p.numel() for p in maskable) / n_maskable
                    if len(yb):
                        tot += float(loss.detach()) * len(yb)
                        count += len(yb)
                history.append({"epoch": epoch, "train_loss": tot / max(count, 1),
                                "seconds": time.perf_counter() - t0})
    finally:
        parts.module._close()  # removes Opacus' hooks and attributes from the user's model
    return {"steps": steps, "history": history,
            "trainable_fraction": trainable_sum / steps if steps else 1.0}


def _selected(model, new: dict, pruned: dict, dev) -> dict:
    """Masks of parameter selection, keyed by parameter; pruned coordinates stay frozen."""
    named = dict(model.named_parameters())
    for k, v in pruned.items():
        new[k] = new[k] * v.to(dev) if k in new else v.to(dev)
    return {named[k]: m.to(dev) for k, m in new.items()}
