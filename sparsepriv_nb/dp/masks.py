"""Masks of trainable coordinates for DP-SGD: chosen per layer, or folded out of pruning.

* :func:`weight_masks` - a 0/1 mask keeping a fraction of each Linear / Conv2d weight, by
  magnitude or at random (parameter freezing and selection, :mod:`~sparsepriv_nb.dp.modes`);
* :func:`maskable_weights` - the weights those masks cover (biases and norms stay trainable);
* :func:`fold_pruning` / :func:`restore_pruning` - a model pruned with
  ``torch.nn.utils.prune`` (``weight_orig`` times ``weight_mask``) trains as plain ``weight``
  parameters (Opacus computes per-sample gradients of ``layer.weight``) with the pruned
  coordinates frozen, and gets the same reparametrisation back afterwards.

Lesson: notebook 06 (``06_dp_sgd_and_pruning``), section 5.

Example:
    >>> import torch
    >>> from torch import nn
    >>> from torch.nn.utils import prune
    >>> m = prune.l1_unstructured(nn.Linear(4, 4), "weight", amount=0.5)
    >>> masks = fold_pruning(m)
    >>> sorted(masks), hasattr(m, "weight_orig")
    (['weight'], False)
    >>> restore_pruning(m, masks)
    >>> int(m.weight_mask.sum())
    8
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils import prune

from .._checks import check_choice, check_number

__all__ = ["MASK_RULES", "maskable_weights", "weight_masks", "fold_pruning", "restore_pruning"]

#: How :func:`weight_masks` ranks weights.
MASK_RULES = ("magnitude", "random")


def maskable_weights(model: nn.Module) -> list[tuple[str, nn.Parameter]]:
    """``(name, weight)`` of every Linear / Conv2d weight (biases and norms stay trainable).

    Example:
        >>> [name for name, _ in maskable_weights(nn.Sequential(nn.Linear(2, 3), nn.ReLU()))]
        ['0.weight']
    """
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
    check_number(density, "density", "weight_masks", low=0, low_open=True, high=1,
                 high_open=False)
    check_choice(how, MASK_RULES, "how", "weight_masks")
    out = {}
    for name, w in maskable_weights(model):
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


def fold_pruning(model: nn.Module) -> dict[str, torch.Tensor]:
    """Fold every ``torch.nn.utils.prune`` mask into a plain parameter and return
    ``{parameter name: mask}`` (the pruned coordinates are zero in the plain parameter)."""
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


def restore_pruning(model: nn.Module, masks: dict[str, torch.Tensor]) -> None:
    """Prune ``model`` again with the masks :func:`fold_pruning` returned."""
    modules = dict(model.named_modules())
    for key, mask in masks.items():
        mod_name, _, tname = key.rpartition(".")
        prune.custom_from_mask(modules[mod_name], tname, mask.to(getattr(
            modules[mod_name], tname).device))
