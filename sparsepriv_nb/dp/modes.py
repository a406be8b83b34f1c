"""DP training recipes: a registry of modes, each training a model in place privately.

:data:`DP_MODES` holds :class:`DPMode` recipes, each
``fit(model, train_data, *, epochs, batch_size, lr, seed, device, public_data=None, **params)``
training ``model`` in place and returning a dict with at least ``epsilon``, ``delta``,
``noise_multiplier``, ``accountant``, ``steps`` and ``sample_rate`` (see
:func:`~.training.train_private`):

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

Lesson: notebook 06 (``06_dp_sgd_and_pruning``), sections 3 and 5.

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

import copy
import math
from dataclasses import dataclass
from typing import Callable

import torch
from torch.nn.utils import prune

from .._checks import ParameterError, check_choice, check_int, check_number
from ..inputs import check_xy
from ..registry import Registry
from .masks import MASK_RULES, weight_masks
from .training import train_private

__all__ = ["DPMode", "DP_MODES"]


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
    from ..train import fit as plain_fit

    if public_data is None:
        if need_public:
            raise ParameterError("The 'public_data' parameter is required for mask='magnitude' "
                                 "(the mask must come from public data only). Got None.")
        return model
    check_int(public_epochs, "public_epochs", "public pre-training", 1)
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
    check_choice(mask, MASK_RULES, "mask", "the 'freeze' DP mode")
    check_number(density, "density", "the 'freeze' DP mode", low=0, low_open=True, high=1,
                 high_open=False)
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
    check_choice(mask, MASK_RULES, "mask", "the 'select' DP mode")
    check_number(density, "density", "the 'select' DP mode", low=0, low_open=True, high=1,
                 high_open=False)
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
    from ..train import fit as plain_fit

    ignored = set(params) - {"target_epsilon", "noise_multiplier", "max_grad_norm", "delta",
                             "accountant", "grad_sample_mode", "progress"}
    if ignored:
        raise ParameterError(f"The 'nonprivate' DP mode got unexpected parameters "
                             f"{sorted(ignored)}.")
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
