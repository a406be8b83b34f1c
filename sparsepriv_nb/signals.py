"""Membership signals computed from a model's outputs (docs/methods.md section 2).

All functions take logits ``(N, C)`` and labels ``(N,)`` (torch tensors or arrays) and return
a NumPy array. :data:`MEMBERSHIP_SIGNALS` gives each signal *oriented as a membership score*
(higher = more likely a training member): for example ``-loss``.

Example:
    >>> import torch
    >>> z = torch.tensor([[4.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    >>> y = torch.tensor([0, 0])
    >>> loss(z, y).round(3).tolist(), confidence(z, y).round(3).tolist()
    ([0.036, 1.099], [0.965, 0.333])

Lesson: notebook 02 (``02_membership_inference``), sections 3 and 6.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ._checks import InstanceOf, Interval, check_choice, check_number, validate_params

__all__ = ["loss", "confidence", "entropy", "modified_entropy", "logit_scaled_confidence",
           "sensitivity", "SIGNALS", "MEMBERSHIP_SIGNALS", "membership_signal", "check_outputs"]

_LOG_FLOOR = float(np.log(1e-30))


def check_outputs(logits, labels, name: str = "logits") -> tuple[torch.Tensor, torch.Tensor]:
    """Validate and convert ``(logits, labels)``: 2-D finite logits, matching integer labels."""
    z = torch.as_tensor(np.asarray(logits) if not torch.is_tensor(logits) else logits)
    y = torch.as_tensor(np.asarray(labels) if not torch.is_tensor(labels) else labels)
    z = z.detach().double().cpu()
    y = y.detach().long().cpu()
    if z.ndim != 2 or z.shape[1] < 2:
        raise ValueError(f"The '{name}' parameter must have shape (n_samples, n_classes>=2). "
                         f"Got {tuple(z.shape)} instead.")
    if y.ndim != 1 or len(y) != len(z):
        raise ValueError(f"The 'labels' parameter must have shape ({len(z)},) to match "
                         f"'{name}'. Got {tuple(y.shape)} instead.")
    if not torch.isfinite(z).all():
        raise ValueError(f"The '{name}' parameter contains NaN or infinite values "
                         f"({int((~torch.isfinite(z)).sum())} entries).")
    if len(y) and (y.min() < 0 or y.max() >= z.shape[1]):
        raise ValueError(f"The 'labels' parameter must be in [0, {z.shape[1] - 1}]. "
                         f"Got values in [{int(y.min())}, {int(y.max())}].")
    return z, y


def _phi(z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``z_y - logsumexp_{i != y} z_i`` in float64 (``z`` is already float64)."""
    onehot = torch.nn.functional.one_hot(y, z.shape[1]).bool()
    return z[onehot] - torch.logsumexp(z.masked_fill(onehot, float("-inf")), 1)


def loss(logits, labels) -> np.ndarray:
    """Cross-entropy ``-log p_y`` per sample (Yeom et al. 2018), computed stably in float64.

    ``-log p_y = log(1 + exp(-phi)) = softplus(-phi)`` with ``phi`` the logit-scaled confidence
    (:func:`logit_scaled_confidence`). ``log_softmax`` would subtract two nearly equal numbers
    and return exactly 0 for every margin above ~37 in float64 (~16 in float32); this keeps
    values like ``exp(-40)``, so confident samples, where low-FPR metrics are read, do not tie.

    Example:
        >>> import torch
        >>> float(loss(torch.tensor([[40.0, 0.0]]), torch.tensor([0])) [0]) > 0
        True
    """
    z, y = check_outputs(logits, labels)
    return torch.nn.functional.softplus(-_phi(z, y)).numpy()


def confidence(logits, labels) -> np.ndarray:
    """True-class probability ``p_y = sigmoid(phi)``, computed in float64 from ``phi``.

    Float64 cannot hold ``p_y`` closer to 1 than about 1e-16, so samples with a margin above
    ~37 still share ``p_y = 1.0``: rank by :func:`loss` or :func:`logit_scaled_confidence`
    (the same order, without ties) when the top of the ranking matters.
    """
    z, y = check_outputs(logits, labels)
    return torch.sigmoid(_phi(z, y)).numpy()


def entropy(logits, labels=None) -> np.ndarray:
    """Prediction entropy ``-sum_i p_i log p_i`` (labels unused)."""
    z, _ = check_outputs(logits, labels if labels is not None else
                         torch.zeros(len(logits), dtype=torch.long))
    logp = torch.log_softmax(z, 1)
    return (-(logp.exp() * logp).sum(1)).numpy()


def modified_entropy(logits, labels) -> np.ndarray:
    """Song & Mittal's ``Mentr = -(1-p_y) log p_y - sum_{i != y} p_i log(1 - p_i)``.

    Logarithms of 0 are floored at ``log(1e-30)``.
    """
    z, y = check_outputs(logits, labels)
    p = torch.softmax(z, 1)
    log_p = torch.log(p).clamp_min(_LOG_FLOOR)
    log_1mp = torch.log1p(-p).clamp_min(_LOG_FLOOR)
    onehot = torch.nn.functional.one_hot(y, z.shape[1]).bool()
    py = p[onehot]
    term_y = -(1 - py) * log_p[onehot]
    term_rest = -(p * log_1mp).masked_fill(onehot, 0).sum(1)
    return (term_y + term_rest).numpy()


def logit_scaled_confidence(logits, labels) -> np.ndarray:
    """LiRA's ``phi = log p_y - log sum_{i != y} p_i``, computed stably from logits.

    Both terms share ``logsumexp(z)``, which cancels: ``phi = z_y - logsumexp_{i != y} z_i``.
    """
    z, y = check_outputs(logits, labels)
    return _phi(z, y).numpy()


@torch.no_grad()
def sensitivity(model: nn.Module, X: torch.Tensor, *, n_draws: int = 10, eps: float = 1e-3,
                generator: torch.Generator | None = None, batch_size: int = 512,
                device: str = "auto") -> np.ndarray:
    """Prediction sensitivity of Yuan & Zhang: ``(1/m) sum_j |p(x + eps u_j) - p(x)| / eps``.

    Args:
        model: evaluated in eval mode.
        X: inputs ``(N, ...)``.
        n_draws: m Gaussian directions ``u_j ~ N(0, I)``.
        eps: step size.
        generator: seeds the directions (default: seed 0).

    Returns:
        ``(N, C)`` array, one sensitivity per class.
    """
    from .train import resolve_device

    validate_params({"n_draws": n_draws, "batch_size": batch_size, "generator": generator},
                    {"n_draws": [Interval(int, 1, None)], "batch_size": [Interval(int, 1, None)],
                     "generator": [InstanceOf(torch.Generator, "a torch.Generator"), None]},
                    "sensitivity")
    eps = check_number(eps, "eps", "sensitivity", low=0.0, low_open=True)
    gen = generator or torch.Generator().manual_seed(0)
    dev = resolve_device(device, "sensitivity")
    model.to(dev).eval()
    out = []
    for i in range(0, len(X), batch_size):
        xb = X[i:i + batch_size].to(dev)
        p0 = torch.softmax(model(xb).double(), 1)
        acc = torch.zeros_like(p0)
        for _ in range(n_draws):
            u = torch.randn(xb.shape, generator=gen).to(dev)
            acc += (torch.softmax(model(xb + eps * u).double(), 1) - p0).abs() / eps
        out.append((acc / n_draws).cpu())
    return torch.cat(out).numpy()


#: Signal name -> function ``(logits, labels) -> values``.
SIGNALS = {
    "loss": loss,
    "confidence": confidence,
    "entropy": entropy,
    "modified_entropy": modified_entropy,
    "logit_scaled_confidence": logit_scaled_confidence,
}

#: Sign that turns each signal into a membership score (higher = member).
MEMBERSHIP_SIGNALS = {"loss": -1.0, "confidence": 1.0, "entropy": -1.0,
                      "modified_entropy": -1.0, "logit_scaled_confidence": 1.0}


def membership_signal(name: str, logits, labels) -> np.ndarray:
    """The signal ``name`` oriented so that higher means 'more likely a member'.

    Example:
        >>> import torch
        >>> z = torch.tensor([[5.0, 0.0], [0.0, 5.0]])
        >>> int(membership_signal("loss", z, torch.tensor([0, 0])).argmax())
        0
    """
    check_choice(name, sorted(SIGNALS), "signal", "membership_signal")
    return MEMBERSHIP_SIGNALS[name] * SIGNALS[name](logits, labels)
