"""Opacus' ``DPOptimizer`` that clips and noises only the trainable coordinates.

Parameter freezing and selection (:mod:`~sparsepriv_nb.dp.modes`) train a subset of each
layer's weights. :class:`MaskedDPOptimizer` adds two steps to Opacus' DP-SGD step:
per-sample gradients are multiplied by the 0/1 mask *before* their norms are computed, so
clipping sees only trainable coordinates, and the noise is multiplied by the same mask, so
frozen coordinates get an exactly zero update (plain SGD, no momentum or weight decay on
them). Ghost clipping never materialises per-sample gradients, so masked training uses
Opacus' ``hooks`` (or ``functorch``) mode.

Lesson: notebook 06 (``06_dp_sgd_and_pruning``), section 5.

Example:
    >>> import torch
    >>> from torch import nn
    >>> from opacus import GradSampleModule
    >>> model = GradSampleModule(nn.Linear(2, 1))
    >>> opt = MaskedDPOptimizer(torch.optim.SGD(model.parameters(), lr=1.0),
    ...                         masks={model._module.weight: torch.tensor([[1.0, 0.0]])},
    ...                         noise_multiplier=1.0, max_grad_norm=1.0, expected_batch_size=4)
    >>> model(torch.randn(4, 2, requires_grad=True)).sum().backward()
    >>> before = model._module.weight.detach().clone()
    >>> opt.step()
    >>> bool(model._module.weight[0, 1] == before[0, 1])  # frozen: no clipped gradient, no noise
    True
    >>> model._close()
"""

from __future__ import annotations

import torch
from opacus.optimizers import DPOptimizer

__all__ = ["MaskedDPOptimizer"]


class MaskedDPOptimizer(DPOptimizer):
    """Opacus' ``DPOptimizer`` whose clipping and noise act on the masked coordinates only.

    Args:
        optimizer: the wrapped (non-private) optimizer, as for ``DPOptimizer``.
        masks: parameter -> 0/1 tensor of its shape (a parameter absent: all trainable);
            change them between steps with :meth:`set_masks` (parameter selection).
        **kwargs: ``DPOptimizer``'s arguments (``noise_multiplier``, ``max_grad_norm``,
            ``expected_batch_size``, ``generator``, ...).
    """

    def __init__(self, optimizer: torch.optim.Optimizer, *,
                 masks: dict[torch.Tensor, torch.Tensor] | None = None, **kwargs):
        super().__init__(optimizer, **kwargs)
        self.set_masks(masks or {})

    @classmethod
    def from_dp_optimizer(cls, dp_optimizer: DPOptimizer,
                          masks: dict[torch.Tensor, torch.Tensor]) -> "MaskedDPOptimizer":
        """The masked twin of ``dp_optimizer`` (e.g. made by ``PrivacyEngine.make_private``):
        the same wrapped optimizer, arguments, noise generator and step hook (the
        accountant's), so that it steps exactly as ``dp_optimizer`` would, masks apart."""
        if type(dp_optimizer) is not DPOptimizer:
            raise TypeError(f"The 'dp_optimizer' parameter of {cls.__name__}.from_dp_optimizer "
                            f"must be Opacus' DPOptimizer. Got {type(dp_optimizer).__name__}.")
        new = cls(dp_optimizer.original_optimizer, masks=masks,
                  noise_multiplier=dp_optimizer.noise_multiplier,
                  max_grad_norm=dp_optimizer.max_grad_norm,
                  expected_batch_size=dp_optimizer.expected_batch_size,
                  loss_reduction=dp_optimizer.loss_reduction,
                  generator=dp_optimizer.generator, secure_mode=dp_optimizer.secure_mode)
        if dp_optimizer.step_hook is not None:
            new.attach_step_hook(dp_optimizer.step_hook)
        return new

    def set_masks(self, masks: dict[torch.Tensor, torch.Tensor]) -> None:
        """Use ``masks`` (parameter -> 0/1 tensor) from the next step on."""
        self.masks = dict(masks)

    def clip_and_accumulate(self):
        for p in self.params:
            mask = self.masks.get(p)
            if mask is not None:
                gs = self._get_flat_grad_sample(p)
                p.grad_sample = gs.mul_(mask.to(gs.dtype))  # in place: memory-bound step
        super().clip_and_accumulate()

    def add_noise(self):
        super().add_noise()
        for p in self.params:
            mask = self.masks.get(p)
            if mask is not None:
                p.grad.mul_(mask.to(p.grad.dtype))
