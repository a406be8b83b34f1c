"""One-shot pruning of a model, and :func:`apply_sparsity` with its registry.

Each method changes the model in place *and* returns it, like torch's own
``prune.l1_unstructured``; several calls compose, and an ``amount`` always refers to the
weights still alive. Every prune first recomputes ``weight = weight_orig * weight_mask``
(torch only does it on a forward pass), so a model trained by your own loop that ends with
``optimizer.step()`` is ranked by its current weights, not by those of the last forward pass.

* :func:`magnitude_prune` - layer-wise or global magnitude pruning (Han et al. 2015).
* :func:`random_prune` - random positions with the per-layer densities of another mask
  (matched-density baseline), through :class:`RandomMatchedUnstructured`.
* :func:`l1_filter_prune` - structured pruning of Conv filters by L1 norm (Li et al. 2017).
* :data:`ONE_SHOT_METHODS` and :func:`apply_sparsity` - prune a trained model to a density
  by method name (lesson 01 compares them; :mod:`.schedules` wraps each in a training
  schedule).

Example:
    >>> from sparsepriv_nb.models import build_model
    >>> from sparsepriv_nb.sparsity import overall_density
    >>> m = build_model("mlp", input_shape=(1, 8, 8), num_classes=10, seed=0)
    >>> _ = magnitude_prune(m, 0.9)
    >>> round(overall_density(m), 3)
    0.1

Lesson: notebook 01 (``01_sparsity_methods``).
"""

from __future__ import annotations

import copy
import math
from typing import Callable

import torch
from torch import nn
from torch.nn.utils import prune

from .._checks import InstanceOf, Interval, Options, ParameterError, validate_params
from ..registry import Registry
from ._constraints import AMOUNT, DENSITY, SCOPE, SEED
from .masks import density_report, layer_densities, prunable_layers, refresh_masked_weights

__all__ = ["magnitude_prune", "RandomMatchedUnstructured", "random_prune", "channel_params",
           "l1_filter_prune", "ONE_SHOT_METHODS", "METHODS", "apply_sparsity"]

# --------------------------------------------------------------------------- magnitude


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
    validate_params({"amount": amount, "scope": scope}, {"amount": [AMOUNT], "scope": [SCOPE]},
                    "magnitude_prune")
    amount = float(amount)
    layers = prunable_layers(model)
    refresh_masked_weights(model)  # rank the current weights, not the last forward's
    if scope == "layer":
        for _, mod in layers:
            prune.l1_unstructured(mod, "weight", amount=amount)
    else:
        prune.global_unstructured([(m, "weight") for _, m in layers],
                                  pruning_method=prune.L1Unstructured, amount=amount)
    return refresh_masked_weights(model)  # a plain tensor again: the model can be deepcopied


# --------------------------------------------------------------------------- random


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


_DENSITY_MAP = InstanceOf(dict, "a dict layer name -> density")
_LAYER_DENSITY = Interval(float, 0, 1)


def _random_targets(model: nn.Module, layers: dict, amount, densities, match) -> dict:
    """The per-layer densities :func:`random_prune` reaches, checked against ``layers``."""
    owner = "random_prune"
    if densities is None:
        validate_params({"amount": amount, "match": match}, {"amount": [AMOUNT], "match": [SCOPE]},
                        owner)
        pruned = magnitude_prune(copy.deepcopy(model), float(amount), scope=match)
        return layer_densities(pruned)
    validate_params({"densities": densities}, {"densities": [_DENSITY_MAP]}, owner)
    unknown = sorted(set(densities) - set(layers))
    if unknown:
        raise ParameterError(f"The 'densities' parameter of {owner} must name prunable layers "
                             f"{sorted(layers)}. Got unknown layers {unknown} instead.")
    for name, target in densities.items():
        if not _LAYER_DENSITY.accepts(target):
            raise ParameterError(f"The 'densities' parameter of {owner} must map each layer to "
                                 f"{_LAYER_DENSITY.describe()}. Got {target!r} for {name!r} "
                                 "instead.")
    return densities


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
    validate_params({"seed": seed}, {"seed": [SEED]}, "random_prune")
    refresh_masked_weights(model)  # a model fresh from a training loop can then be deepcopied
    densities = _random_targets(model, layers, amount, densities, match)
    gen = torch.Generator().manual_seed(int(seed))
    current = layer_densities(model)
    for name, target in densities.items():
        mod = layers[name]
        alive = int(round(current[name] * mod.weight.numel()))
        keep = int(round(target * mod.weight.numel()))
        if keep > alive:
            raise ValueError(f"random_prune cannot raise the density of {name!r} from "
                             f"{current[name]:.4f} to {target:.4f}.")
        RandomMatchedUnstructured.apply(mod, "weight", amount=alive - keep, generator=gen)
    return refresh_masked_weights(model)


# --------------------------------------------------------------------------- L1 filters


def _norm_after(model: nn.Module, name: str, conv: nn.Conv2d) -> nn.Module | None:
    """The affine normalisation layer registered right after ``name`` in its parent, if it
    normalises ``conv``'s output channels."""
    parent_name, _, child = name.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    children = list(parent.named_children())
    pos = [n for n, _ in children].index(child)
    if pos + 1 >= len(children):
        return None
    nxt = children[pos + 1][1]
    width = getattr(nxt, "num_features", getattr(nxt, "num_channels", None))
    if isinstance(nxt, (nn.modules.batchnorm._BatchNorm, nn.GroupNorm)) and \
            width == conv.out_channels and getattr(nxt, "affine", False):
        return nxt
    return None


def channel_params(model: nn.Module) -> list[tuple[str, nn.Conv2d, list[tuple[nn.Module, str]]]]:
    """Each Conv2d with the per-output-channel parameters that must die with its filters.

    A removed filter must output exactly zero, not a constant: its bias goes with it, and so do
    the affine weight and bias of a normalisation layer registered right after the conv in the
    same parent (``conv1`` -> ``norm1`` / ``bn1``, ``downsample.0`` -> ``downsample.1``), whose
    shift would otherwise turn the zero map into a constant one.

    Example:
        >>> m = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU())
        >>> [(n, [p for _, p in extra]) for n, _, extra in channel_params(m)]
        [('0', ['bias', 'weight', 'bias'])]
    """
    out = []
    for name, conv in prunable_layers(model, types=(nn.Conv2d,)):
        extra: list[tuple[nn.Module, str]] = []
        if conv.bias is not None or hasattr(conv, "bias_orig"):
            extra.append((conv, "bias"))
        norm = _norm_after(model, name, conv)
        if norm is not None:
            extra += [(norm, "weight"), (norm, "bias")]
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
        >>> from sparsepriv_nb.sparsity import overall_density
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
    convs = channel_params(model)
    refresh_masked_weights(model)
    if amount is not None:
        validate_params({"amount": amount}, {"amount": [AMOUNT]}, "l1_filter_prune")
        counts = [prune._compute_nparams_toprune(float(amount), conv.out_channels)
                  for _, conv, _ in convs]
    else:
        validate_params({"density": density}, {"density": [DENSITY]}, "l1_filter_prune")
        if any(hasattr(conv, "weight_mask") for _, conv, _ in convs):
            raise ValueError("l1_filter_prune(density=...) needs conv layers that are not "
                             "pruned yet; use 'amount' to prune a pruned model further.")
        counts = _filter_counts(model, convs, float(density))
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
        raise ParameterError(
            f"The 'density' parameter of l1_filter_prune is {density!r}, below the lowest "
            f"density that filter pruning reaches on this model: {lowest:.4f} (conv filters "
            f"hold {share:.1%} of the prunable weights and one filter per layer is kept). Use "
            f"a density in [{lowest:.4f}, 1] or an unstructured method.")
    fracs = sorted({j / f for f, _ in sizes for j in range(f)} | {1.0})
    return min((removed(a) for a in fracs), key=lambda c: abs(achieved(c) - density))


# --------------------------------------------------------------------------- registry

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
    training and butterfly needs a new architecture: see
    :data:`~sparsepriv_nb.sparsity.schedules.SPARSITY_METHODS`.

    Example:
        >>> from sparsepriv_nb.models import build_model
        >>> from sparsepriv_nb.sparsity import overall_density
        >>> m = build_model("mlp", input_shape=(1, 8, 8), num_classes=10, seed=0)
        >>> round(overall_density(apply_sparsity(m, "random", 0.25)), 2)
        0.25
    """
    validate_params({"method": method, "density": density},
                    {"method": [Options(ONE_SHOT_METHODS.names)], "density": [DENSITY]},
                    "apply_sparsity")
    return ONE_SHOT_METHODS.get(method)(model, float(density), seed=seed)
