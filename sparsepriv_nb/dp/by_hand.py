"""One DP-SGD step by hand with ``torch.func``, equal to Opacus' step.

DP-SGD (Abadi et al. 2016) clips every per-sample gradient to norm ``C`` (``max_grad_norm``),
sums the clipped gradients of a batch, adds Gaussian noise of standard deviation
``sigma * C`` (``noise_multiplier``) and divides by the expected batch size:

* :func:`per_sample_gradients` - ``vmap`` of ``grad`` of a one-sample loss;
* :func:`clip_gradients` - scale each sample's gradient to norm at most ``C``;
* :func:`dp_sgd_step` - the whole step, drawing the noise as Opacus does.

Lesson: notebook 06 (``06_dp_sgd_and_pruning``), section 2.

Example:
    >>> import torch
    >>> from torch import nn
    >>> m = nn.Linear(3, 2)
    >>> g = dp_sgd_step(m, torch.randn(4, 3), torch.tensor([0, 1, 1, 0]), lr=0.1,
    ...                 max_grad_norm=1.0, noise_multiplier=1.0,
    ...                 generator=torch.Generator().manual_seed(0))
    >>> sorted(g)
    ['bias', 'weight']
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn
from torch.nn import functional as F

from .._checks import check_number

__all__ = ["per_sample_gradients", "clip_gradients", "dp_sgd_step"]



def per_sample_gradients(model: nn.Module, X: torch.Tensor, y: torch.Tensor,
                         loss_fn: Callable = F.cross_entropy) -> dict[str, torch.Tensor]:
    """Gradient of each sample's loss w.r.t. every trainable parameter, with ``torch.func``.

    ``vmap`` maps ``grad`` of a one-sample loss over the batch: entry ``name`` has shape
    ``(B, *param.shape)``.

    Example:
        >>> m = nn.Linear(3, 2)
        >>> g = per_sample_gradients(m, torch.randn(5, 3), torch.tensor([0, 1, 0, 1, 1]))
        >>> g["weight"].shape, g["bias"].shape
        (torch.Size([5, 2, 3]), torch.Size([5, 2]))
    """
    from torch.func import functional_call, grad, vmap

    params = {k: v.detach() for k, v in model.named_parameters() if v.requires_grad}
    buffers = {k: v.detach() for k, v in model.named_buffers()}

    def one_loss(p, x, t):
        out = functional_call(model, (p, buffers), (x.unsqueeze(0),))
        return loss_fn(out, t.unsqueeze(0))

    return vmap(grad(one_loss), in_dims=(None, 0, 0))(params, X, y)


def clip_gradients(grads: dict[str, torch.Tensor], max_grad_norm: float
                   ) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """Scale each sample's gradient (all parameters together) to norm at most ``max_grad_norm``.

    The factor is ``min(1, C / (norm + 1e-6))``, as in Opacus' ``DPOptimizer``.

    Returns:
        ``(clipped, norms)``: clipped per-sample gradients and the norms before clipping.

    Example:
        >>> g = {"w": torch.tensor([[3.0, 4.0], [0.3, 0.4]])}
        >>> clipped, norms = clip_gradients(g, 1.0)
        >>> norms.tolist(), clipped["w"].norm(dim=1).round(decimals=4).tolist()
        ([5.0, 0.5], [1.0, 0.5])
    """
    check_number(max_grad_norm, "max_grad_norm", "clip_gradients", low=0, low_open=True)
    flat = [g.reshape(len(g), -1) for g in grads.values()]
    norms = torch.cat(flat, dim=1).norm(2, dim=1)
    factor = (max_grad_norm / (norms + 1e-6)).clamp(max=1.0)
    return {k: torch.einsum("i,i...->i...", factor, g) for k, g in grads.items()}, norms


@torch.no_grad()
def dp_sgd_step(model: nn.Module, X: torch.Tensor, y: torch.Tensor, *, lr: float,
                max_grad_norm: float, noise_multiplier: float,
                generator: torch.Generator | None = None,
                expected_batch_size: int | None = None) -> dict[str, torch.Tensor]:
    """One DP-SGD step by hand: per-sample gradients, clipping, Gaussian noise, SGD update.

    ``g = (sum_i clip(g_i) + N(0, (sigma C)^2 I)) / B`` with ``B = expected_batch_size``
    (Opacus divides by the *expected* Poisson batch size, not the realised one), then
    ``theta <- theta - lr * g``. Noise is drawn parameter by parameter in ``named_parameters``
    order with ``torch.normal(0, sigma C, generator=generator)``, which is what Opacus does,
    so a generator seeded alike gives Opacus' step exactly.

    Args:
        model: updated in place.
        X, y: the batch.
        lr: learning rate.
        max_grad_norm: clipping norm ``C``.
        noise_multiplier: ``sigma`` (0 turns noise off).
        generator: source of the noise (seed it).
        expected_batch_size: divisor; default ``len(X)``.

    Returns:
        The noisy averaged gradient per parameter name.

    Example:
        >>> m = nn.Linear(3, 2)
        >>> g = dp_sgd_step(m, torch.randn(4, 3), torch.tensor([0, 1, 1, 0]), lr=0.1,
        ...                 max_grad_norm=1.0, noise_multiplier=0.0)
        >>> bool(g["weight"].norm() <= 1.0 + 1e-6)  # an average of vectors of norm <= C
        True
    """
    check_number(lr, "lr", "dp_sgd_step", low=0, low_open=True)
    check_number(noise_multiplier, "noise_multiplier", "dp_sgd_step", low=0)
    with torch.enable_grad():
        grads = per_sample_gradients(model, X, y)
    clipped, _ = clip_gradients(grads, max_grad_norm)
    batch = expected_batch_size or len(X)
    std = noise_multiplier * max_grad_norm
    params = dict(model.named_parameters())
    out = {}
    for name, g in clipped.items():
        total = g.sum(0)
        if std > 0:
            total = total + torch.normal(0.0, std, size=total.shape, generator=generator)
        out[name] = total / batch
        params[name].sub_(lr * out[name])
    return out
