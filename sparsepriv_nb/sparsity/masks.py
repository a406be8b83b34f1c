"""Which layers are prunable, their masks, and how dense a model is.

Masks live in torch's pruning reparametrisation (``weight_orig`` * ``weight_mask``, applied by
a forward pre-hook); this module reads them and makes them permanent. The bookkeeping of the
reparametrisation itself (:func:`refresh_masked_weights`) sits below, in
:mod:`sparsepriv_nb._masks`, shared with :mod:`sparsepriv_nb.train`.

* :func:`prunable_layers` - every Linear / Conv2d layer (biases and norm layers are never
  pruned).
* :func:`get_masks` - layer name -> 0/1 mask.
* :func:`density_report`, :func:`layer_densities`, :func:`overall_density` - achieved
  density, counting butterfly layers by their effective entries.
* :func:`remove_reparametrisation` - make masks permanent.

Example:
    >>> from torch.nn.utils import prune
    >>> m = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 2))
    >>> _ = prune.l1_unstructured(m[0], "weight", amount=0.5)
    >>> layer_densities(m), round(overall_density(m), 3)  # 8 + 8 of 16 + 8 weights
    ({'0': 0.5, '2': 1.0}, 0.667)

Lesson: notebook 01 (``01_sparsity_methods``).
"""

from __future__ import annotations

import pandas as pd
import torch
from torch import nn
from torch.nn.utils import prune

from .._masks import pruning_hooks, refresh_masked_weights
from .butterfly import ButterflyLinear

__all__ = ["PRUNABLE_TYPES", "prunable_layers", "get_masks", "density_report",
           "layer_densities", "overall_density", "refresh_masked_weights",
           "remove_reparametrisation"]

#: Layers whose ``weight`` is prunable; biases and norm layers are never pruned.
PRUNABLE_TYPES = (nn.Linear, nn.Conv2d)


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


def get_masks(model: nn.Module) -> dict[str, torch.Tensor]:
    """Layer name -> 0/1 mask of its weight (all ones for an unpruned layer)."""
    out = {}
    for name, mod in prunable_layers(model):
        mask = getattr(mod, "weight_mask", None)
        out[name] = (mask if mask is not None else torch.ones_like(mod.weight)).detach().clone()
    return out


def _layer_row(name: str, mod: nn.Module) -> dict | None:
    """One row of :func:`density_report`, or ``None`` for a layer that holds no weights."""
    if isinstance(mod, ButterflyLinear):
        total = mod.in_features * mod.out_features
        return dict(layer=name, kind="butterfly", shape=(mod.out_features, mod.in_features),
                    total=total, kept=min(mod.n_effective, total))
    if isinstance(mod, PRUNABLE_TYPES):
        mask = getattr(mod, "weight_mask", None)
        total = mod.weight.numel()
        return dict(layer=name, kind="conv" if isinstance(mod, nn.Conv2d) else "linear",
                    shape=tuple(mod.weight.shape), total=total,
                    kept=int(mask.sum().item()) if mask is not None else total)
    return None


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
    rows = [row for name, mod in model.named_modules()
            if (row := _layer_row(name, mod)) is not None]
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


def remove_reparametrisation(model: nn.Module) -> nn.Module:
    """Make masks permanent (``prune.remove``): zeros stay, hooks and ``_orig`` go."""
    for mod, hook in pruning_hooks(model):
        prune.remove(mod, hook._tensor_name)
    return model
