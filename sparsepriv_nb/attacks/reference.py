"""What reference-model attacks (LiRA, RMIA) share: the IN masks of the reference models and
the checks of their logits.

Lesson: notebook 02 (``02_membership_inference``), section 4.
"""

from __future__ import annotations

import numbers

import numpy as np
import torch

from .._checks import InstanceOf, Interval, validate_params
from ..signals import logit_scaled_confidence

__all__ = ["reference_in_masks", "check_reference", "need_per_sample", "MIN_REFERENCE_MODELS"]

#: LiRA and RMIA refuse fewer reference models: with 2 the Gaussians rest on one IN and one
#: OUT value per sample and the scores are noise (or 1e61 where two values coincide).
MIN_REFERENCE_MODELS = 4


def reference_in_masks(n_samples: int, n_models: int, *, seed: int = 0) -> np.ndarray:
    """Which samples each reference model trains on: ``(n_models, n_samples)`` booleans with
    every sample IN for exactly half of the models (Carlini et al.'s ``keep`` matrix).

    Example:
        >>> keep = reference_in_masks(6, 4, seed=0)
        >>> keep.sum(0).tolist()
        [2, 2, 2, 2, 2, 2]
    """
    even = InstanceOf(numbers.Integral, "an even int >= 2",
                      lambda v: not isinstance(v, bool) and v >= 2 and v % 2 == 0)
    validate_params({"n_models": n_models, "n_samples": n_samples},
                    {"n_models": [even], "n_samples": [Interval(int, 1, None)]},
                    "reference_in_masks")
    rng = np.random.default_rng(seed)
    order = rng.random((n_models, n_samples)).argsort(0)
    return order < n_models // 2


def _as_tensor(x) -> torch.Tensor:
    return x if torch.is_tensor(x) else torch.as_tensor(np.asarray(x))


def check_reference(ref_logits, labels, ref_in=None, *, owner: str, name: str = "ref_logits",
                    min_models: int = MIN_REFERENCE_MODELS):
    """Validate ``(M, N, C)`` reference logits, labels ``(N,)`` and the IN mask ``(M, N)``:
    ``(logits, labels, phi, keep)`` with ``phi`` the logit-scaled confidences ``(M, N)`` and
    ``keep`` the mask as booleans (``None`` without ``ref_in``).

    Example:
        >>> R = torch.zeros(4, 3, 2); y = torch.tensor([0, 1, 0])
        >>> check_reference(R, y, owner="LiRA")[2].shape
        (4, 3)
        >>> check_reference(R[:2], y, owner="LiRA")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: LiRA needs at least 4 reference models; ...
    """
    R = _as_tensor(ref_logits)
    if R.ndim != 3:
        raise ValueError(f"The '{name}' parameter of {owner} must have shape (n_models, "
                         f"n_samples, n_classes). Got {tuple(R.shape)} instead.")
    if R.shape[0] < min_models:
        raise ValueError(f"{owner} needs at least {min_models} reference models; the '{name}' "
                         f"parameter holds {R.shape[0]}. Train more (n_reference), e.g. 16.")
    y = _as_tensor(labels)
    if y.ndim != 1 or len(y) != R.shape[1]:
        raise ValueError(f"The 'labels' parameter of {owner} must have shape ({R.shape[1]},) to "
                         f"match '{name}'. Got {tuple(y.shape)} instead.")
    phis = np.stack([logit_scaled_confidence(r, y) for r in R])  # validates each model's logits
    if ref_in is None:
        return R, y.long(), phis, None
    keep = np.asarray(ref_in)
    if keep.shape != phis.shape:
        raise ValueError(f"The 'ref_in' parameter of {owner} must have shape {phis.shape} "
                         f"(n_models, n_samples). Got {keep.shape} instead.")
    if not np.isin(keep, [0, 1]).all():
        raise ValueError(f"The 'ref_in' parameter of {owner} must hold booleans (or 0/1).")
    return R, y.long(), phis, keep.astype(bool)


def need_per_sample(keep: np.ndarray, which: str, k: int, owner: str, why: str) -> None:
    """Raise unless every sample is ``which`` (``"IN"`` or ``"OUT"``) for ``k`` models of
    ``keep`` ``(M, N)``, naming the first sample short of them."""
    counts = keep.sum(0) if which == "IN" else (~keep).sum(0)
    short = np.flatnonzero(counts < k)
    if len(short):
        raise ValueError(f"{owner} {why} needs at least {k} {which} reference model(s) for every "
                         f"sample; {len(short)} sample(s) have fewer (first: sample {short[0]} "
                         f"with {counts[short[0]]}). Use reference_in_masks with more models.")
