"""Sparsity methods, built on ``torch.nn.utils.prune`` (lesson 01).

Each method changes the model in place *and* returns it, like torch's own
``prune.l1_unstructured``. Masks live in torch's reparametrisation (``weight_orig`` and
``weight_mask`` with a forward pre-hook), so they stay exact through any later training and
several calls compose: an ``amount`` always refers to the weights still alive.

One concept per module; every public name is re-exported here (``spn.sparsity.X``):

* :mod:`.masks` - :func:`prunable_layers`, :func:`get_masks`, :func:`density_report`
  (butterfly layers: effective density), :func:`remove_reparametrisation`.
* :mod:`.one_shot` - :func:`magnitude_prune` (Han et al. 2015), :func:`random_prune`
  (matched-density baseline), :func:`l1_filter_prune` (Li et al. 2017) and
  :func:`apply_sparsity` with its registry :data:`ONE_SHOT_METHODS`.
* :mod:`.imp` - :func:`iterative_magnitude_pruning` (IMP, and lottery tickets with rewinding:
  Frankle & Carbin 2019; Frankle et al. 2020), :func:`one_shot_lottery_ticket` (Bagmar et
  al.'s Algorithm 1), :func:`snapshot_weights`, :func:`rewind_weights`.
* :mod:`.schedules` - :data:`SPARSITY_METHODS`, the whole training schedules by name
  (``dense``, ``magnitude``, ..., ``butterfly``) that :mod:`sparsepriv_nb.experiments` runs;
  :func:`register_sparsity_method`, :func:`register_one_shot_method`, :func:`imp_rounds`.
* :mod:`.butterfly` - :func:`butterfly_supports`, :class:`ButterflyLinear`,
  :func:`butterfly_sparsify`: butterfly (Kronecker-sparse) factorisations (Dao et al. 2019;
  Gonon et al. 2023).

Every prune first recomputes ``weight = weight_orig * weight_mask`` (torch only does it on a
forward pass), so a model trained by your own loop that ends with ``optimizer.step()`` is
ranked by its current weights, not by those of the last forward pass.

Example:
    >>> from sparsepriv_nb.models import build_model
    >>> m = build_model("mlp", input_shape=(1, 8, 8), num_classes=10, seed=0)
    >>> _ = magnitude_prune(m, 0.9)
    >>> round(overall_density(m), 3)
    0.1

Lesson: notebook 01 (``01_sparsity_methods``).
"""

from .butterfly import ButterflyLinear, butterfly_sparsify, butterfly_supports
from .imp import (iterative_magnitude_pruning, one_shot_lottery_ticket, rewind_weights,
                  snapshot_weights)
from .masks import (PRUNABLE_TYPES, density_report, get_masks, layer_densities, overall_density,
                    prunable_layers, refresh_masked_weights, remove_reparametrisation)
from .one_shot import (METHODS, ONE_SHOT_METHODS, RandomMatchedUnstructured, apply_sparsity,
                       channel_params, l1_filter_prune, magnitude_prune, random_prune)
from .schedules import (SPARSITY_METHODS, SparsityMethod, available_sparsity_methods,
                        imp_rounds, register_one_shot_method, register_sparsity_method)

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
    "channel_params",
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
