"""Sparsity methods, built on ``torch.nn.utils.prune`` (docs/methods.md section 1).

Each method changes the model in place *and* returns it, like torch's own
``prune.l1_unstructured``. Masks live in torch's reparametrisation (``weight_orig`` and
``weight_mask`` with a forward pre-hook), so they stay exact through any later training and
several calls compose: an ``amount`` always refers to the weights still alive.

* :func:`magnitude_prune` - layer-wise or global magnitude pruning (Han et al. 2015).
* :func:`random_prune` - random positions with the per-layer densities of another mask
  (matched-density baseline), through :class:`RandomMatchedUnstructured`.
* :func:`l1_filter_prune` - structured pruning of Conv filters by L1 norm (Li et al. 2017).
* :func:`iterative_magnitude_pruning` - IMP, and lottery tickets with rewinding to
  initialisation or to an early iteration (Frankle & Carbin 2019; Frankle et al. 2020).
* :func:`one_shot_lottery_ticket` - Bagmar et al.'s Algorithm 1.
* :func:`butterfly_supports`, :class:`ButterflyLinear`, :func:`butterfly_sparsify` - butterfly
  (Kronecker-sparse) factorisations (Dao et al. 2019; Gonon et al. 2023).
* :func:`density_report` - density per layer and overall (butterfly layers: effective density).
* :data:`SPARSITY_METHODS` - the registry of whole training schedules by name (``dense``,
  ``magnitude``, ..., ``butterfly``) that :mod:`sparsepriv_nb.experiments` runs, and
  :data:`ONE_SHOT_METHODS`, the prune-a-trained-model functions behind :func:`apply_sparsity`.

Every prune first recomputes ``weight = weight_orig * weight_mask`` (torch only does it on a
forward pass), so a model trained by your own loop that ends with ``optimizer.step()`` is
ranked by its current weights, not by those of the last forward pass.

Example:
    >>> from sparsepriv_nb.models import build_model
    >>> m = build_model("mlp", input_shape=(1, 8, 8), num_classes=10, seed=0)
    >>> _ = magnitude_prune(m, 0.9)
    >>> round(overall_density(m), 3)
    0.1
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.nn.utils import prune

from ._checks import check_choice
from ._masks import pruning_hooks as _pruning_hooks
from ._masks import refresh_masked_weights
from ._progress import show_progress
from .butterfly import ButterflyLinear, butterfly_sparsify, butterfly_supports
from .registry import Registry

#: Former private name, kept for callers that imported it.
_refresh_masked = refresh_masked_weights

__all__ = [
    "PRUNABLE_TYPES",
    "METHODS",
    "SPARSITY_METHODS",
    "ONE_SHOT_METHODS",
    "SparsityMethod",
    "register_sparsity_method",
    "register_one_shot_method",
    "available_sparsity_methods",
    "imp_rounds",
    "prunable_layers",
    "layer_densities",
    "overall_density",
    "density_report",
    "get_masks",
    "refresh_masked_weights",
    "magnitude_prune",
    "RandomMatchedUnstructured",
    "random_prune",
    "l1_filter_prune",
    "iterative_magnitude_pruning",
    "one_shot_lottery_ticket",
    "rewind_weights",
    "snapshot_weights",
    "butterfly_supports",
    "ButterflyLinear",
    "butterfly_sparsify",
    "apply_sparsity",
    "remove_reparametrisation",
]

#: Layers whose ``weight`` is prunable; biases and norm layers are never pruned.
PRUNABLE_TYPES = (nn.Linear, nn.Conv2d)


# --------------------------------------------------------------------------- validation


def _validate_amount(amount, fn: str) -> float:
    if isinstance(amount, bool) or not isinstance(amount, (int, float)):
        raise TypeError(f"The 'amount' parameter of {fn} must be a float in [0, 1). "
                        f"Got {type(amount).__name__} instead.")
    if not 0.0 <= float(amount) < 1.0:
        raise ValueError(f"The 'amount' parameter of {fn} must be a float in [0, 1). "
                         f"Got {amount!r} instead.")
    return float(amount)


def _validate_scope(scope, fn: str) -> str:
    if scope not in ("layer", "global"):
        raise ValueError(f"The 'scope' parameter of {fn} must be 'layer' or 'global'. "
                         f"Got {scope!r} instead.")
    return scope


def _validate_seed(seed, fn: str) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"The 'seed' parameter of {fn} must be an int >= 0. Got {seed!r} "
                         "instead.")
    return int(seed)


def _validate_density(density, fn: str) -> float:
    if isinstance(density, bool) or not isinstance(density, (int, float, np.floating)):
        raise TypeError(f"The 'density' parameter of {fn} must be a float in (0, 1]. "
                        f"Got {type(density).__name__} instead.")
    if not 0.0 < float(density) <= 1.0:  # also rejects NaN
        raise ValueError(f"The 'density' parameter of {fn} must be a float in (0, 1]. "
                         f"Got {density!r} instead.")
    return float(density)


def prunable_layers(model: nn.Module, types=PRUNABLE_TYPES) -> list[tuple[str, nn.Module]]:
    """``(name, module)`` of every Linear/Conv2d layer, in definition order.

    Raises:
        ValueError: the model has no prunable layer.
    """
    layers = [(n, m) for n, m in model.named_modules() if isinstance(m, types)]
    if not layers:
        names = ", ".join(t.__name__ for t in types)
        raise ValueError(f"The model {type(model).__name__} has no prunable layers ({names}).")
    return layers


# --------------------------------------------------------------------------- reports


def get_masks(model: nn.Module) -> dict[str, torch.Tensor]:
    """Layer name -> 0/1 mask of its weight (all ones for an unpruned layer)."""
    out = {}
    for name, mod in prunable_layers(model):
        mask = getattr(mod, "weight_mask", None)
        out[name] = (mask if mask is not None else torch.ones_like(mod.weight)).detach().clone()
    return out


def density_report(model: nn.Module) -> pd.DataFrame:
    """Kept / total weights per prunable layer and overall.

    Butterfly layers count their *effective* entries: the entries of the factors' supports
    that can reach the output (padded inputs and cropped outputs excluded, see
    :attr:`ButterflyLinear.n_effective`), against the dense ``in x out`` matrix they replace,
    capped at that size (``kind == "butterfly"``), so a density is never above 1.

    Returns:
        DataFrame with columns ``layer, kind, shape, total, kept, density, sparsity``; the
        last row is ``layer == "overall"``.

    Example:
        >>> m = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), ButterflyLinear(4, 3, n_factors=1))
        >>> density_report(m)[["layer", "kept", "density"]].values.tolist()
        [['0', 16, 1.0], ['2', 12, 1.0], ['overall', 28, 1.0]]
    """
    rows = []
    for name, mod in model.named_modules():
        if isinstance(mod, ButterflyLinear):
            total, kind = mod.in_features * mod.out_features, "butterfly"
            kept = min(mod.n_effective, total)
            shape = (mod.out_features, mod.in_features)
        elif isinstance(mod, PRUNABLE_TYPES):
            mask = getattr(mod, "weight_mask", None)
            total = mod.weight.numel()
            kept = int(mask.sum().item()) if mask is not None else total
            kind = "conv" if isinstance(mod, nn.Conv2d) else "linear"
            shape = tuple(mod.weight.shape)
        else:
            continue
        rows.append(dict(layer=name, kind=kind, shape=shape, total=total, kept=kept))
    if not rows:
        raise ValueError(f"The model {type(model).__name__} has no prunable layers.")
    df = pd.DataFrame(rows)
    df.loc[len(df)] = dict(layer="overall", kind="all", shape=None, total=df.total.sum(),
                           kept=df.kept.sum())
    df["density"] = df.kept / df.total
    df["sparsity"] = 1.0 - df.density
    return df


def layer_densities(model: nn.Module) -> dict[str, float]:
    """Layer name -> density (fraction of weights kept)."""
    df = density_report(model)
    return dict(zip(df.layer[:-1], df.density[:-1]))


def overall_density(model: nn.Module) -> float:
    """Kept fraction over all prunable weights."""
    return float(density_report(model).density.iloc[-1])


# --------------------------------------------------------------------------- one-shot methods


def magnitude_prune(model: nn.Module, amount: float, *, scope: str = "layer") -> nn.Module:
    """Prune the fraction ``amount`` of the smallest-|w| surviving weights.

    Args:
        model: pruned in place.
        amount: fraction in [0, 1) of the *surviving* weights to remove.
        scope: ``"layer"`` (each layer loses ``amount``, ``prune.l1_unstructured``) or
            ``"global"`` (one threshold over all layers, ``prune.global_unstructured``).

    Returns:
        The same model.

    Example:
        >>> lin = nn.Sequential(nn.Linear(10, 10))
        >>> int(magnitude_prune(lin, 0.3)[0].weight_mask.sum())
        70
    """
    amount = _validate_amount(amount, "magnitude_prune")
    scope = _validate_scope(scope, "magnitude_prune")
    layers = prunable_layers(model)
    refresh_masked_weights(model)  # rank the current weights, not the last forward's
    if scope == "layer":
        for _, mod in layers:
            prune.l1_unstructured(mod, "weight", amount=amount)
    else:
        prune.global_unstructured([(m, "weight") for _, m in layers],
                                  pruning_method=prune.L1Unstructured, amount=amount)
    return refresh_masked_weights(model)  # a plain tensor again: the model can be deepcopied


class RandomMatchedUnstructured(prune.BasePruningMethod):
    """Prune ``amount`` of the surviving entries at positions drawn with a seeded generator.

    Unlike ``prune.RandomUnstructured`` it never touches torch's global RNG.
    """

    PRUNING_TYPE = "unstructured"

    def __init__(self, amount: float, generator: torch.Generator):
        prune._validate_pruning_amount_init(amount)
        self.amount = amount
        self.generator = generator

    def compute_mask(self, t, default_mask):
        n_prune = prune._compute_nparams_toprune(self.amount, t.nelement())
        mask = default_mask.clone(memory_format=torch.contiguous_format)
        if n_prune:
            idx = torch.randperm(t.nelement(), generator=self.generator)[:n_prune]
            mask.view(-1)[idx.to(mask.device)] = 0
        return mask

    @classmethod
    def apply(cls, module, name, amount, generator):  # noqa: D102 - torch's signature
        return super().apply(module, name, amount=amount, generator=generator)


def random_prune(model: nn.Module, amount: float | None = None, *, seed: int = 0,
                 densities: dict[str, float] | None = None,
                 match: str = "layer") -> nn.Module:
    """Random unstructured pruning with controlled per-layer densities.

    The per-layer numbers of kept weights come from, in order of precedence: ``densities``
    (e.g. ``layer_densities(magnitude_pruned_model)``, the matched baseline of the lottery
    literature), or those that magnitude pruning with ``amount`` and ``match`` scope would
    give. Positions are uniform at random from ``seed``.

    Args:
        model: pruned in place (its current masks are kept; new zeros are added at random
            among surviving weights).
        amount: fraction to remove when ``densities`` is not given.
        seed: seed of the positions.
        densities: layer name -> target density in [0, 1].
        match: ``"layer"`` or ``"global"``: whose per-layer densities ``amount`` mimics.

    Example:
        >>> from sparsepriv_nb.models import build_model
        >>> m = build_model("mlp", input_shape=(1, 8, 8), num_classes=10, seed=0)
        >>> d = layer_densities(magnitude_prune(copy.deepcopy(m), 0.8, scope="global"))
        >>> r = random_prune(m, densities=d, seed=0)
        >>> all(abs(layer_densities(r)[k] - v) < 1e-3 for k, v in d.items())
        True
    """
    layers = dict(prunable_layers(model))
    _validate_seed(seed, "random_prune")
    refresh_masked_weights(model)  # a model fresh from a training loop can then be deepcopied
    if densities is None:
        if amount is None:
            raise ValueError("random_prune needs 'amount' or 'densities'. Got neither.")
        amount = _validate_amount(amount, "random_prune")
        _validate_scope(match, "random_prune")
        densities = layer_densities(magnitude_prune(copy.deepcopy(model), amount, scope=match))
    if not isinstance(densities, dict):
        raise TypeError("The 'densities' parameter of random_prune must be a dict layer name ->"
                        f" density. Got {type(densities).__name__} instead.")
    unknown = set(densities) - set(layers)
    if unknown:
        raise ValueError(f"The 'densities' parameter of random_prune names unknown layers "
                         f"{sorted(unknown)}; the prunable layers are {sorted(layers)}.")
    gen = torch.Generator().manual_seed(seed)
    current = layer_densities(model)
    for name, target in densities.items():
        if isinstance(target, bool) or not isinstance(target, (int, float)) or \
                not 0.0 <= target <= 1.0:
            raise ValueError(f"The 'densities' parameter of random_prune must map layers to "
                             f"densities in [0, 1]. Got {target!r} for {name!r}.")
        mod = layers[name]
        alive = int(round(current[name] * mod.weight.numel()))
        keep = int(round(target * mod.weight.numel()))
        if keep > alive:
            raise ValueError(f"random_prune cannot raise the density of {name!r} from "
                             f"{current[name]:.4f} to {target:.4f}.")
        RandomMatchedUnstructured.apply(mod, "weight", amount=alive - keep, generator=gen)
    return refresh_masked_weights(model)


def _channel_params(model: nn.Module) -> list[tuple[str, nn.Conv2d, list[tuple[nn.Module, str]]]]:
    """Each Conv2d with the per-output-channel parameters that must die with its filters.

    A removed filter must output exactly zero, not a constant: its bias goes with it, and so do
    the affine weight and bias of a normalisation layer registered right after the conv in the
    same parent (``conv1`` -> ``norm1`` / ``bn1``, ``downsample.0`` -> ``downsample.1``), whose
    shift would otherwise turn the zero map into a constant one.
    """
    out = []
    for name, conv in prunable_layers(model, types=(nn.Conv2d,)):
        extra: list[tuple[nn.Module, str]] = []
        if conv.bias is not None or hasattr(conv, "bias_orig"):
            extra.append((conv, "bias"))
        parent_name, _, child = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        children = list(parent.named_children())
        pos = [n for n, _ in children].index(child)
        if pos + 1 < len(children):
            nxt = children[pos + 1][1]
            width = getattr(nxt, "num_features", getattr(nxt, "num_channels", None))
            if isinstance(nxt, (nn.modules.batchnorm._BatchNorm, nn.GroupNorm)) and \
                    width == conv.out_channels and getattr(nxt, "affine", False):
                extra += [(nxt, "weight"), (nxt, "bias")]
        out.append((name, conv, extra))
    return out


def _prune_filters(conv: nn.Conv2d, extra: list[tuple[nn.Module, str]], n: int) -> None:
    """Zero the ``n`` filters of ``conv`` with the smallest L1 norm and their channel params."""
    prune.ln_structured(conv, "weight", amount=n, n=1, dim=0)
    dead = conv.weight_mask.flatten(1).sum(1) == 0  # (out_channels,)
    for mod, pname in extra:
        prune.custom_from_mask(mod, pname, (~dead).to(getattr(mod, pname).dtype))


def l1_filter_prune(model: nn.Module, amount: float | None = None, *,
                    density: float | None = None) -> nn.Module:
    """Remove whole Conv2d filters (output channels) with the smallest L1 norm (Li et al. 2017).

    ``prune.ln_structured(n=1, dim=0)`` on each conv weight; the filter's bias and the affine
    parameters of a normalisation layer right after the conv are masked with it, so a removed
    channel outputs exactly zero. Linear layers stay dense. The next layer's weights that read
    a removed channel then only ever multiply zeros, but they stay in the model and in the
    density count: masks make a model sparse, not smaller (physically removing channels would
    need a rebuilt architecture).

    Give exactly one of:

    Args:
        model: pruned in place; its conv layers must not be pruned already when ``density``
            is given.
        amount: fraction in [0, 1) of each conv layer's filters to remove (Li et al.'s
            per-layer rate).
        density: the overall density wanted over *all* prunable weights (the number every
            report shows). The same fraction of filters is removed in each conv layer, chosen
            so that the achieved density is the closest one reachable at filter granularity.

    Raises:
        ValueError: the model has no Conv2d layer, or ``density`` is below what removing all
            but one filter per conv layer reaches (convs usually hold a small share of the
            weights: about 5 % in LeNet-5 on 28x28 inputs).

    Example:
        >>> from sparsepriv_nb.models import build_model
        >>> m = build_model("lenet5", input_shape=(1, 8, 8), num_classes=10, seed=0)
        >>> round(overall_density(l1_filter_prune(m, density=0.97)), 2)  # nearest reachable
        0.97
        >>> dead = m.conv2.weight.flatten(1).abs().sum(1) == 0  # removed filters
        >>> bool((m.conv2.bias[dead] == 0).all()), int(dead.sum()) > 0
        (True, True)
    """
    if (amount is None) == (density is None):
        raise ValueError("l1_filter_prune needs exactly one of 'amount' and 'density'. Got "
                         f"amount={amount!r}, density={density!r}.")
    convs = _channel_params(model)
    if not convs:
        raise ValueError(f"The model {type(model).__name__} has no prunable layers (Conv2d).")
    refresh_masked_weights(model)
    if amount is not None:
        amount = _validate_amount(amount, "l1_filter_prune")
        for _, conv, extra in convs:
            _prune_filters(conv, extra, prune._compute_nparams_toprune(amount, conv.out_channels))
        return refresh_masked_weights(model)
    density = _validate_density(density, "l1_filter_prune")
    if any(hasattr(conv, "weight_mask") for _, conv, _ in convs):
        raise ValueError("l1_filter_prune(density=...) needs conv layers that are not pruned "
                         "yet; use 'amount' to prune a pruned model further.")
    counts = _filter_counts(model, convs, density)
    for (_, conv, extra), n in zip(convs, counts):
        _prune_filters(conv, extra, n)
    return refresh_masked_weights(model)


def _filter_counts(model: nn.Module, convs, density: float) -> list[int]:
    """Filters to remove per conv layer so the overall density is closest to ``density``."""
    rep = density_report(model)
    total, kept = int(rep.total.iloc[-1]), int(rep.kept.iloc[-1])
    sizes = [(conv.out_channels, conv.weight[0].numel()) for _, conv, _ in convs]

    def removed(frac: float) -> list[int]:  # a common fraction; at least one filter survives
        return [min(f - 1, int(math.floor(frac * f + 0.5))) for f, _ in sizes]

    def achieved(counts: list[int]) -> float:
        return (kept - sum(n * k for n, (_, k) in zip(counts, sizes))) / total

    lowest = achieved([f - 1 for f, _ in sizes])
    if density < lowest - 1e-9:
        share = sum(f * k for f, k in sizes) / total
        raise ValueError(f"The 'density' parameter of l1_filter_prune is {density!r}, below the "
                         f"lowest density that filter pruning reaches on this model: "
                         f"{lowest:.4f} (conv filters hold {share:.1%} of the prunable weights "
                         "and one filter per layer is kept). Use a density in "
                         f"[{lowest:.4f}, 1] or an unstructured method.")
    fracs = sorted({j / f for f, _ in sizes for j in range(f)} | {1.0})
    return min((removed(a) for a in fracs), key=lambda c: abs(achieved(c) - density))


# --------------------------------------------------------------------------- IMP / lottery


def snapshot_weights(model: nn.Module) -> dict[str, torch.Tensor]:
    """Copy of every parameter, keyed by its *unpruned* name (``fc1.weight``, not ``_orig``)."""
    return {n.removesuffix("_orig"): p.detach().clone() for n, p in model.named_parameters()}


def rewind_weights(model: nn.Module, saved: dict[str, torch.Tensor]) -> nn.Module:
    """Reset every parameter to ``saved`` (from :func:`snapshot_weights` or a state dict).

    Masks are kept, so surviving weights take their saved values and pruned ones stay zero.
    """
    saved = {k.removesuffix("_orig"): v for k, v in saved.items() if not k.endswith("_mask")}
    with torch.no_grad():
        for n, p in model.named_parameters():
            key = n.removesuffix("_orig")
            if key not in saved:
                raise KeyError(f"rewind_weights: no saved value for parameter {key!r}.")
            p.copy_(saved[key].to(p.device))
    refresh_masked_weights(model)
    return model


def iterative_magnitude_pruning(model: nn.Module, train_fn: Callable[[nn.Module, int], dict],
                                *, rounds: int, amount: float = 0.2, scope: str = "layer",
                                rewind: str | None = None,
                                rewind_state: dict[str, torch.Tensor] | None = None,
                                retrain: bool = True,
                                eval_fn: Callable[[nn.Module], dict] | None = None,
                                progress: bool | None = None) -> tuple[nn.Module, pd.DataFrame]:
    """Iterative magnitude pruning (IMP), optionally with lottery-ticket rewinding.

    Repeats ``rounds`` times: train (``train_fn(model, round)``), prune ``amount`` of the
    surviving weights by magnitude (ranked by the current weights, even when ``train_fn`` is
    a hand-written loop ending with ``optimizer.step()``), and with ``rewind`` reset the
    survivors to the saved weights. After the last prune the model is retrained once more
    (``retrain=True``), so the final density is ``(1 - amount) ** rounds``.

    Args:
        model: trained in place.
        train_fn: ``train_fn(model, round_index)`` trains the model (e.g. a wrapped
            :func:`sparsepriv_nb.train.fit`); its return value is ignored.
        rounds: number of prune rounds n >= 1.
        amount: fraction p of survivors pruned per round (Huang et al.: 0.2, k = 0.8^n).
        scope: ``"layer"`` or ``"global"`` magnitude pruning.
        rewind: ``None`` (plain IMP: keep training the pruned weights), ``"init"`` (lottery
            ticket: reset to the weights before the first training) or ``"state"`` (late
            rewinding: reset to ``rewind_state``, e.g. a snapshot after k iterations from
            ``fit(snapshot_steps=[k])``).
        rewind_state: the weights for ``rewind="state"``.
        retrain: train once more after the final prune.
        eval_fn: ``eval_fn(model) -> dict`` recorded after each (re)training.
        progress: tqdm bar over rounds.

    Returns:
        ``(model, history)``: history has one row per training phase with ``round``,
        ``density`` and the ``eval_fn`` metrics.
    """
    if isinstance(rounds, bool) or not isinstance(rounds, int) or rounds < 1:
        raise ValueError(f"The 'rounds' parameter of iterative_magnitude_pruning must be an "
                         f"int >= 1. Got {rounds!r} instead.")
    amount = _validate_amount(amount, "iterative_magnitude_pruning")
    _validate_scope(scope, "iterative_magnitude_pruning")
    if rewind not in (None, "init", "state"):
        raise ValueError("The 'rewind' parameter of iterative_magnitude_pruning must be None, "
                         f"'init' or 'state'. Got {rewind!r} instead.")
    if rewind == "state" and rewind_state is None:
        raise ValueError("rewind='state' needs 'rewind_state' (e.g. a snapshot after k steps).")
    prunable_layers(model)
    init = snapshot_weights(model) if rewind == "init" else rewind_state
    from tqdm.auto import tqdm

    rows = []
    phases = rounds + (1 if retrain else 0)
    for r in tqdm(range(phases), desc="IMP rounds", disable=not show_progress(progress),
                  leave=False):
        train_fn(model, r)
        row = {"round": r, "density": overall_density(model)}
        if eval_fn is not None:
            row.update(eval_fn(model))
        rows.append(row)
        if r < rounds:
            magnitude_prune(model, amount, scope=scope)
            if rewind is not None:
                rewind_weights(model, init)
    return model, pd.DataFrame(rows)


def one_shot_lottery_ticket(model: nn.Module, train_fn: Callable[[nn.Module, int], dict], *,
                            amount: float, scope: str = "global",
                            init_state: dict[str, torch.Tensor] | None = None) -> nn.Module:
    """Bagmar et al.'s one-shot lottery ticket (their Algorithm 1).

    Train from w0, prune the bottom ``amount`` by magnitude to get the mask m, reset the
    survivors to w0, retrain ``m * w`` from w0.

    Args:
        model: holds w0 on entry (or pass ``init_state``); trained in place.
        train_fn: ``train_fn(model, phase)`` trains; phase 0 is before pruning, 1 after.
        amount: fraction of weights pruned.
        scope: magnitude pruning scope (``"global"`` as in the paper).
        init_state: w0 if the model was already trained.
    """
    amount = _validate_amount(amount, "one_shot_lottery_ticket")
    w0 = init_state if init_state is not None else snapshot_weights(model)
    train_fn(model, 0)
    magnitude_prune(model, amount, scope=scope)
    rewind_weights(model, w0)
    train_fn(model, 1)
    return model


def remove_reparametrisation(model: nn.Module) -> nn.Module:
    """Make masks permanent (``prune.remove``): zeros stay, hooks and ``_orig`` go."""
    for mod, hook in _pruning_hooks(model):
        prune.remove(mod, hook._tensor_name)
    return model


# --------------------------------------------------------------------------- one-shot registry

#: One-shot prunes of a trained model: name -> ``prune(model, density, *, seed) -> model``.
ONE_SHOT_METHODS: Registry[Callable[..., nn.Module]] = Registry("one-shot sparsity method")

ONE_SHOT_METHODS.register(
    "magnitude", lambda model, density, *, seed=0: magnitude_prune(model, 1.0 - density,
                                                                   scope="layer"))
ONE_SHOT_METHODS.register(
    "magnitude-global", lambda model, density, *, seed=0: magnitude_prune(model, 1.0 - density,
                                                                          scope="global"))
ONE_SHOT_METHODS.register(
    "random", lambda model, density, *, seed=0: random_prune(model, 1.0 - density,
                                                             match="global", seed=seed))
ONE_SHOT_METHODS.register(
    "l1-filter", lambda model, density, *, seed=0: l1_filter_prune(model, density=density))

#: The built-in names accepted by :func:`apply_sparsity` (see :data:`ONE_SHOT_METHODS` for
#: those registered since).
METHODS = tuple(ONE_SHOT_METHODS.names())


def apply_sparsity(model: nn.Module, method: str, density: float, *, seed: int = 0) -> nn.Module:
    """Prune a model to ``density`` with a one-shot method of :data:`ONE_SHOT_METHODS`.

    ``density`` is the overall fraction of prunable weights kept. ``random`` matches the
    per-layer densities of global magnitude pruning; ``l1-filter`` removes whole conv filters
    and rejects a density it cannot reach. Iterative methods (IMP, lottery tickets) need
    training and butterfly needs a new architecture: see :data:`SPARSITY_METHODS`.

    Example:
        >>> from sparsepriv_nb.models import build_model
        >>> m = build_model("mlp", input_shape=(1, 8, 8), num_classes=10, seed=0)
        >>> round(overall_density(apply_sparsity(m, "random", 0.25)), 2)
        0.25
    """
    check_choice(method, ONE_SHOT_METHODS.names(), "method", "apply_sparsity")
    density = _validate_density(density, "apply_sparsity")
    return ONE_SHOT_METHODS.get(method)(model, density, seed=seed)


# --------------------------------------------------------------------------- schedule registry


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
    for arg, fn in (("train", train), ("structure", structure)):
        if not callable(fn):
            raise TypeError(f"The '{arg}' parameter of register_sparsity_method must be "
                            f"callable. Got {type(fn).__name__} instead.")
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
    density = _validate_density(density, "imp_rounds")
    amount = _validate_amount(amount, "imp_rounds")
    if density >= 1:
        return 0
    if amount == 0:
        raise ValueError("The 'amount' parameter of imp_rounds must be > 0 to reach a density "
                         f"below 1. Got amount=0.0 for density={density!r}.")
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
    if not callable(prune_fn):
        raise TypeError("The 'prune_fn' parameter of register_one_shot_method must be "
                        f"callable. Got {type(prune_fn).__name__} instead.")
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
    for _, conv, extra in _channel_params(model):
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
