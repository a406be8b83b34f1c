"""Canaries: audit examples built to be detectable, and the scores that detect them.

Natural training samples are the hardest to audit: a model that generalises treats a member
much like a non-member, so the attack's guesses are near chance and every one-run bound is 0.
A privacy guarantee covers *every* example, so an auditor may choose the examples instead
(Jagielski et al. 2020; Nasr et al. 2021, 2023; Steinke et al. 2023):

* :func:`mislabel_canaries` - natural inputs with a wrong label (seeded): a member is fitted
  against its features, so its loss drops far below a non-member's;
* :func:`ood_canaries` - out-of-distribution inputs, uniform ``"noise"`` images or ``"blank"``
  images with one lit pixel (distinct per canary: ``m`` identical blank images would all get
  the same score and could not be told apart), with one fixed label or a random one each;
* gradient canaries for white-box DP-SGD audits: :func:`canary_directions` (random unit
  directions in parameter space, for a canary gradient inserted into DP-SGD's clipped sum) and
  :func:`dirac_canaries` (inputs lit on one *quiet* pixel, zero in all training data,
  :func:`quiet_pixels`: the first linear layer's gradient for such an input lives only on that
  pixel's column, which no other example moves).

:func:`insert_canaries` includes each canary independently with probability 1/2
(:func:`sparsepriv_nb.dp.audit_inclusion`). Scores, higher = member: :func:`loss_scores`
(minus the loss; for mislabelled and out-of-distribution canaries), :func:`gradient_scores`
(the weight change's inner product with each canary direction) and :func:`dirac_scores` (the
size of the weight change on each canary's pixel column).

Example:
    >>> import torch
    >>> X, y = torch.rand(50, 1, 4, 4), torch.randint(0, 3, (50,))
    >>> Xc, yc = mislabel_canaries((X, y), 10, num_classes=3, seed=0)
    >>> Xtr, ytr, included = insert_canaries((X, y), (Xc, yc), seed=0)
    >>> len(Xtr) == 50 + int(included.sum()), Xc.shape
    (True, torch.Size([10, 1, 4, 4]))

Lesson: notebook 06 (``06_dp_sgd_and_pruning``), section 6b.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from .._checks import check_choice, check_int
from ..dp import audit_inclusion
from ..inputs import check_inputs, check_model, check_xy
from ..signals import loss
from ..train import predict_logits

__all__ = ["mislabel_canaries", "ood_canaries", "dirac_canaries", "quiet_pixels",
           "canary_directions", "insert_canaries", "loss_scores", "gradient_scores",
           "dirac_scores", "flat_parameters"]


def _generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(int(seed))


def mislabel_canaries(data, m: int, *, num_classes: int, seed: int):
    """``m`` distinct inputs of ``data`` (seeded draw) with a wrong label each (seeded).

    Draw them from data *outside* the training set (a held-out pool), so that a canary left
    out is truly unseen.

    Example:
        >>> import torch
        >>> X = torch.arange(6.0).reshape(6, 1)  # input i has label i % 3
        >>> Xc, yc = mislabel_canaries((X, X[:, 0].long() % 3), 4, num_classes=3, seed=0)
        >>> bool((yc != Xc[:, 0].long() % 3).all()), len(Xc)
        (True, 4)
    """
    X, y = check_xy(data, "data", "mislabel_canaries")
    m = check_int(m, "m", "mislabel_canaries", 1, len(X))
    num_classes = check_int(num_classes, "num_classes", "mislabel_canaries", 2)
    g = _generator(seed)
    idx = torch.randperm(len(X), generator=g)[:m]
    shift = torch.randint(1, num_classes, (m,), generator=g)
    return X[idx].clone(), (y[idx] + shift) % num_classes


def dirac_canaries(pixels, input_shape, *, label: int, value: float = 1.0):
    """Blank inputs of ``input_shape``, canary ``i`` lit (``value``) at flat index ``pixels[i]``.

    Example:
        >>> X, y = dirac_canaries([0, 5], (1, 2, 3), label=7)
        >>> X.flatten(1).argmax(1).tolist(), y.tolist()
        ([0, 5], [7, 7])
    """
    px = torch.as_tensor(np.asarray(pixels), dtype=torch.long)
    size = math.prod(input_shape)
    if px.ndim != 1 or not len(px) or int(px.min()) < 0 or int(px.max()) >= size:
        raise ValueError(f"The 'pixels' parameter of dirac_canaries must be flat indices in "
                         f"[0, {size - 1}]. Got {pixels!r} instead.")
    X = torch.zeros(len(px), size)
    X[torch.arange(len(px)), px] = float(value)
    return X.reshape(len(px), *input_shape), torch.full((len(px),), int(label))


def ood_canaries(m: int, input_shape, *, kind: str = "noise", label: int | None = 0,
                 num_classes: int | None = None, seed: int):
    """``m`` out-of-distribution inputs: ``"noise"`` (uniform pixels) or ``"blank"`` (one lit
    pixel, at a distinct seeded position per canary).

    With one fixed ``label`` (the classic choice), a model that fits the included canaries
    also predicts that label for the left-out ones (they look alike), which blurs the audit;
    ``label=None`` gives each canary a seeded random label in ``[0, num_classes)``, so that
    each one must be memorised on its own.

    Example:
        >>> X, y = ood_canaries(3, (1, 4, 4), kind="blank", label=2, seed=0)
        >>> X.sum((1, 2, 3)).tolist(), y.tolist()
        ([1.0, 1.0, 1.0], [2, 2, 2])
        >>> ood_canaries(4, (2,), label=None, num_classes=10, seed=0)[1].tolist()
        [5, 9, 4, 8]
    """
    m = check_int(m, "m", "ood_canaries", 1)
    check_choice(kind, ("noise", "blank"), "kind", "ood_canaries")
    g = _generator(seed)
    if label is None:
        num_classes = check_int(num_classes, "num_classes", "ood_canaries", 2)
        labels = torch.randint(0, num_classes, (m,), generator=_generator(seed + 1))
    else:
        labels = torch.full((m,), check_int(label, "label", "ood_canaries", 0))
    if kind == "noise":
        return torch.rand(m, *input_shape, generator=g), labels
    size = math.prod(input_shape)
    if m > size:
        raise ValueError(f"The 'm' parameter of ood_canaries must be at most the {size} pixels "
                         f"of a blank input. Got {m} instead.")
    X, _ = dirac_canaries(torch.randperm(size, generator=g)[:m], input_shape, label=0)
    return X, labels


def quiet_pixels(X) -> np.ndarray:
    """Flat indices of the input coordinates that are 0 in every input of ``X``.

    Example:
        >>> import torch
        >>> quiet_pixels(torch.tensor([[0.0, 1.0, 0.0], [0.0, 0.5, 0.2]])).tolist()
        [0]
    """
    X = check_inputs(X, "X", "quiet_pixels")
    return torch.nonzero((X.flatten(1) == 0).all(0)).flatten().numpy()


def canary_directions(m: int, dim: int, *, seed: int) -> torch.Tensor:
    """``m`` random unit vectors in ``R^dim`` (seeded): directions of gradient canaries.

    In high dimension they are nearly orthogonal, so each canary's contribution to the weight
    change can be read back by an inner product (Andrew et al. 2024).

    Example:
        >>> d = canary_directions(4, 1000, seed=0)
        >>> off_diagonal = (d @ d.T - torch.eye(4)).abs().max()
        >>> d.norm(dim=1).round(decimals=4).tolist(), bool(off_diagonal < 0.2)
        ([1.0, 1.0, 1.0, 1.0], True)
    """
    m = check_int(m, "m", "canary_directions", 1)
    dim = check_int(dim, "dim", "canary_directions", 1)
    d = torch.randn(m, dim, generator=_generator(seed))
    return d / d.norm(dim=1, keepdim=True)


def insert_canaries(train_data, canaries, *, seed: int):
    """Training data with each canary included independently with probability 1/2.

    Returns:
        ``(X, y, included)``: the training inputs and labels followed by the included
        canaries, and the bool inclusion of every canary (the audit's ground truth).
    """
    X, y = check_xy(train_data, "train_data", "insert_canaries")
    Xc, yc = check_xy(canaries, "canaries", "insert_canaries")
    if Xc.shape[1:] != X.shape[1:]:
        raise ValueError(f"The 'canaries' parameter of insert_canaries has inputs of shape "
                         f"{tuple(Xc.shape[1:])}; the training inputs are {tuple(X.shape[1:])}.")
    included = audit_inclusion(len(Xc), seed=seed)
    keep = torch.as_tensor(included)
    return torch.cat([X, Xc[keep].to(X.dtype)]), torch.cat([y, yc[keep]]), included


def loss_scores(model: nn.Module, canaries, *, batch_size: int = 1024,
                device: str = "auto") -> np.ndarray:
    """Membership score of each canary: minus its loss under ``model`` (:func:`signals.loss`).

    Example:
        >>> import torch
        >>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 3))
        >>> loss_scores(model, (torch.zeros(2, 1, 2, 2), torch.tensor([0, 1]))).shape
        (2,)
    """
    X, y = check_xy(canaries, "canaries", "loss_scores")
    return -loss(predict_logits(model, X, batch_size=batch_size, device=device), y)


def flat_parameters(model: nn.Module) -> torch.Tensor:
    """All of ``model``'s parameters as one detached 1-D CPU tensor (``parameters()`` order)."""
    check_model(model, "flat_parameters")
    return torch.cat([p.detach().cpu().flatten() for p in model.parameters()])


def gradient_scores(before, after, directions) -> np.ndarray:
    """Membership score of gradient canaries: ``<theta_before - theta_after, d_i>``.

    Gradient descent moves the weights *against* each included canary's gradient ``d_i``, so
    an included canary's direction has a positive inner product with ``before - after``.
    ``before`` and ``after`` are models (see :func:`flat_parameters`) or flat tensors.

    Example:
        >>> import torch
        >>> d = torch.eye(3)[:2]  # two canaries, along coordinates 0 and 1
        >>> gradient_scores(torch.zeros(3), torch.tensor([-0.5, 0.0, 0.1]), d).tolist()
        [0.5, 0.0]
    """
    b, a = (flat_parameters(t) if isinstance(t, nn.Module) else torch.as_tensor(t).flatten()
            for t in (before, after))
    d = torch.as_tensor(directions)
    if d.ndim != 2 or d.shape[1] != len(b) or len(a) != len(b):
        raise ValueError(f"gradient_scores needs 'before' and 'after' of one size ({len(b)}, "
                         f"{len(a)}) and 'directions' of shape (m, {len(b)}). Got "
                         f"{tuple(d.shape)}.")
    return (d.double() @ (b - a).double()).numpy()


def dirac_scores(weight_before, weight_after, pixels) -> np.ndarray:
    """Membership score of dirac canaries: the norm of the change of the first linear layer's
    weight column at each canary's pixel (``weight`` of shape ``(out, in)``).

    Example:
        >>> import torch
        >>> w0 = torch.zeros(2, 3)
        >>> w1 = torch.tensor([[0.0, 3.0, 0.0], [0.0, 4.0, 0.1]])
        >>> dirac_scores(w0, w1, [1, 0]).tolist()
        [5.0, 0.0]
    """
    delta = (torch.as_tensor(weight_after) - torch.as_tensor(weight_before)).double()
    px = torch.as_tensor(np.asarray(pixels), dtype=torch.long)
    return delta[:, px].norm(dim=0).numpy()
