"""The masks' bookkeeping shared by :mod:`sparsity` (its butterfly layers too) and :mod:`train`.

torch's pruning reparametrisation (``weight_orig`` * ``weight_mask``, recomputed by a forward
pre-hook) lives here once, at the bottom of the package, so that no two modules import each
other for it.

Example:
    >>> from torch import nn
    >>> lin = nn.Linear(3, 2)
    >>> _ = prune.l1_unstructured(lin, "weight", amount=0.5)
    >>> [type(h).__name__ for _, h in pruning_hooks(lin)]
    ['L1Unstructured']
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils import prune

__all__ = ["refresh_masked_weights", "pruning_hooks"]


@torch.no_grad()
def refresh_masked_weights(model: nn.Module) -> nn.Module:
    """Recompute ``weight = weight_orig * weight_mask`` now rather than at the next forward.

    torch's pruning hooks update a pruned module's ``weight`` only on a forward pass, so after
    an ``optimizer.step()`` it holds the previous step's values: a prune would rank stale
    weights, and ``copy.deepcopy`` fails on the non-leaf tensor a training forward leaves
    behind. Every prune of :mod:`sparsepriv_nb.sparsity` calls this first;
    :func:`sparsepriv_nb.train.fit` calls it after training. Runs without gradient tracking, so
    the attribute is a plain tensor.

    Returns:
        The same model.

    Example:
        >>> lin = nn.Sequential(nn.Linear(3, 2))
        >>> _ = prune.l1_unstructured(lin[0], "weight", amount=0.5)
        >>> with torch.no_grad():
        ...     _ = lin[0].weight_orig.add_(1.0)  # as an optimiser step would
        >>> torch.equal(refresh_masked_weights(lin)[0].weight,
        ...             lin[0].weight_orig * lin[0].weight_mask)
        True
    """
    for mod, hook in pruning_hooks(model):
        setattr(mod, hook._tensor_name, hook.apply_mask(mod))
    return model


def pruning_hooks(model: nn.Module) -> list[tuple[nn.Module, prune.BasePruningMethod]]:
    """``(module, pruning method)`` of every ``torch.nn.utils.prune`` reparametrisation."""
    return [(mod, hook) for mod in model.modules() for hook in mod._forward_pre_hooks.values()
            if isinstance(hook, prune.BasePruningMethod)]
