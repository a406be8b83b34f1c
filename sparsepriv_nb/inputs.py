"""Checks of the tensors a public function receives: inputs, (X, y) pairs, models.

Shared by :mod:`~sparsepriv_nb.train`, :mod:`~sparsepriv_nb.ensembles` and :mod:`~sparsepriv_nb.dp`,
so it lives below them (it imports nothing of the package but :mod:`~sparsepriv_nb._checks`).
Messages have the package's one shape: the parameter, its owner, what was given, what is allowed.

Example:
    >>> import torch
    >>> X, y = check_xy((torch.zeros(3, 2), [0, 1, 1]), "train_data", "fit")
    >>> y.dtype
    torch.int64
    >>> check_xy((torch.zeros(3, 2), [0, 1]), "train_data", "fit")
    Traceback (most recent call last):
    ...
    ValueError: The 'train_data' parameter of fit has 3 inputs but 2 labels.

Lesson: notebook 01 (``01_sparsity_methods``); every function that takes data checks it here.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from ._checks import ParameterError

__all__ = ["check_inputs", "check_xy", "check_model", "check_fits"]


def check_inputs(X, name: str, owner: str) -> torch.Tensor:
    """``X`` as a finite floating-point tensor of at least one dimension."""
    try:
        X = torch.as_tensor(X)
    except (TypeError, ValueError, RuntimeError) as exc:
        raise TypeError(f"The '{name}' parameter of {owner} must hold numeric inputs (a tensor "
                        f"or array). Got {type(X).__name__} instead ({exc}).") from None
    if X.ndim == 0:
        raise ValueError(f"The '{name}' parameter of {owner} must be a batch of inputs, "
                         f"(n, ...). Got a scalar instead.")
    if not X.is_floating_point():
        raise TypeError(f"The '{name}' parameter of {owner} must hold floating-point inputs. "
                        f"Got dtype {X.dtype}; convert it, e.g. X.float() / 255 for pixels.")
    bad = int((~torch.isfinite(X)).flatten(1).any(1).sum()) if X.numel() else 0
    if bad:
        raise ValueError(f"The '{name}' parameter of {owner} has {bad} of {len(X)} inputs with "
                         "NaN or infinite values; inputs must be finite (drop or impute them).")
    return X


def check_xy(data, name: str, owner: str = "fit") -> tuple[torch.Tensor, torch.Tensor]:
    if isinstance(data, torch.utils.data.TensorDataset):
        data = data.tensors
    if isinstance(data, (str, bytes)) or not (isinstance(data, Sequence) and len(data) == 2):
        raise TypeError(f"The '{name}' parameter of {owner} must be a pair (X, y) of tensors. "
                        f"Got {type(data).__name__} instead.")
    X = check_inputs(data[0], name, owner)
    try:
        y = torch.as_tensor(data[1])
    except (TypeError, ValueError, RuntimeError):
        raise TypeError(f"The '{name}' parameter of {owner} must hold integer class labels. "
                        f"Got {type(data[1]).__name__} instead.") from None
    if y.ndim != 1:
        raise ValueError(f"The '{name}' parameter of {owner} must have 1-D labels (n,). Got "
                         f"labels of shape {tuple(y.shape)}.")
    if len(X) != len(y):
        raise ValueError(f"The '{name}' parameter of {owner} has {len(X)} inputs but {len(y)} "
                         "labels.")
    if len(X) == 0:
        raise ValueError(f"The '{name}' parameter of {owner} is empty.")
    if y.is_floating_point() and not bool((torch.isfinite(y) & (y == y.round())).all()):
        raise ValueError(f"The '{name}' parameter of {owner} must have integer class labels. "
                         f"Got non-integer values such as {y[y != y.round()][:3].tolist()}.")
    if y.dtype == torch.bool or y.is_complex():
        raise TypeError(f"The '{name}' parameter of {owner} must have integer class labels. "
                        f"Got dtype {y.dtype}.")
    y = y.long()
    if int(y.min()) < 0:
        raise ValueError(f"The '{name}' parameter of {owner} has negative labels (min "
                         f"{int(y.min())}); labels must be in [0, num_classes - 1].")
    return X, y


def check_model(model, owner: str) -> None:
    if not isinstance(model, nn.Module):
        raise TypeError(f"The 'model' parameter of {owner} must be a torch.nn.Module. Got "
                        f"{type(model).__name__} instead.")


@torch.no_grad()
def check_fits(model: nn.Module, X: torch.Tensor, y: torch.Tensor | None, name: str,
                owner: str, dev: torch.device) -> None:
    """One forward pass on two samples: the inputs fit the model, and the labels its outputs.

    In eval mode and without gradients, so it changes no weight, statistic or RNG state.
    """
    was_training = model.training
    model.eval()
    try:
        out = model(X[:2].to(dev))
    except (RuntimeError, ValueError, IndexError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ValueError(f"The '{name}' parameter of {owner} has inputs of shape "
                         f"{tuple(X.shape[1:])} (per sample), which {type(model).__name__} "
                         f"cannot take ({first}). Pass data of the shape the model was built "
                         "for (its input_shape).") from None
    finally:
        model.train(was_training)
    if out.ndim != 2:
        raise ValueError(f"{owner} needs a classifier returning logits (n, num_classes); "
                         f"{type(model).__name__} returned shape {tuple(out.shape)}.")
    if y is not None and int(y.max()) >= out.shape[1]:
        raise ParameterError(f"The '{name}' parameter of {owner} has labels up to "
                             f"{int(y.max())}, but the model has {out.shape[1]} outputs: labels "
                             f"must be in [0, {out.shape[1] - 1}].")
