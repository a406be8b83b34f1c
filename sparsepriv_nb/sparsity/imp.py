"""Iterative magnitude pruning, lottery tickets and weight rewinding.

These prune *between* trainings, so they take the training as a callback ``train_fn(model,
round)`` (e.g. a wrapped :func:`sparsepriv_nb.train.fit`) and work with any training loop.

* :func:`snapshot_weights`, :func:`rewind_weights` - save the weights, and put them back
  under the current masks (pruned weights stay zero).
* :func:`iterative_magnitude_pruning` - IMP, and lottery tickets with rewinding to the
  initialisation or to an early iteration (Frankle & Carbin 2019; Frankle et al. 2020).
* :func:`one_shot_lottery_ticket` - Bagmar et al.'s Algorithm 1.

Example:
    >>> import torch
    >>> from sparsepriv_nb.sparsity import overall_density
    >>> m = nn.Sequential(nn.Linear(8, 8))
    >>> def train_fn(model, r):  # stands in for a real training
    ...     with torch.no_grad():
    ...         model[0].weight_orig.add_(0.01) if r else None
    >>> _, history = iterative_magnitude_pruning(m, train_fn, rounds=2, amount=0.5,
    ...                                          rewind="init")
    >>> history.density.tolist()
    [1.0, 0.5, 0.25]

Lesson: notebook 01 (``01_sparsity_methods``); notebook 04 (``04_model_inversion``) (IMP models).
"""

from __future__ import annotations

from typing import Callable

import pandas as pd
import torch
from torch import nn

from .._checks import InstanceOf, Interval, Options, ParameterError, validate_params
from .._progress import show_progress
from ._constraints import AMOUNT, SCOPE
from .masks import overall_density, prunable_layers, refresh_masked_weights
from .one_shot import magnitude_prune

__all__ = ["snapshot_weights", "rewind_weights", "iterative_magnitude_pruning",
           "one_shot_lottery_ticket"]


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


_IMP_CONSTRAINTS = {"rounds": [Interval(int, 1, None)], "amount": [AMOUNT], "scope": [SCOPE],
                    "rewind": [Options(("init", "state")), None],
                    "rewind_state": [InstanceOf(dict, "a dict of weights"), None]}


def _check_imp(params: dict) -> None:
    owner = "iterative_magnitude_pruning"
    validate_params(params, _IMP_CONSTRAINTS, owner)
    if params["rewind"] == "state" and params["rewind_state"] is None:
        raise ParameterError(f"The 'rewind_state' parameter of {owner} must be a dict of "
                             "weights (e.g. a snapshot after k steps) when rewind='state'. Got "
                             "None instead.")


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
    _check_imp(dict(rounds=rounds, amount=amount, scope=scope, rewind=rewind,
                    rewind_state=rewind_state))
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
    validate_params({"amount": amount, "scope": scope}, {"amount": [AMOUNT], "scope": [SCOPE]},
                    "one_shot_lottery_ticket")
    w0 = init_state if init_state is not None else snapshot_weights(model)
    train_fn(model, 0)
    magnitude_prune(model, amount, scope=scope)
    rewind_weights(model, w0)
    train_fn(model, 1)
    return model
