"""What Opacus needs from a model, and the silencing of its harmless warnings.

* :func:`check_dp_compatible` - a clear error when DP-SGD cannot train a model (BatchNorm).
* :func:`quiet_opacus` - a context that ignores only the Opacus / torch warnings listed in
  :data:`QUIET_WARNINGS`, which say nothing about the user's setup.

Lesson: notebook 06 (``06_dp_sgd_and_pruning``), section 3.

Example:
    >>> import warnings
    >>> with quiet_opacus(), warnings.catch_warnings(record=True) as caught:
    ...     warnings.warn("Secure RNG turned off. This is perfectly fine for experimentation")
    >>> caught
    []
"""

from __future__ import annotations

import contextlib
import warnings

from torch import nn

__all__ = ["QUIET_WARNINGS", "quiet_opacus", "check_dp_compatible"]

#: Opacus / torch warnings that say nothing about the user's setup (message fragments).
QUIET_WARNINGS = (
    # We seed the noise and the Poisson sampler on purpose (reproducible lessons); secure_mode
    # needs torchcsprng and gives up reproducibility.
    "Secure RNG turned off",
    # Hooks mode registers full backward hooks; torch warns about modules whose inputs need no
    # gradient (the first layer), which is harmless for per-sample gradients of parameters.
    "Full backward hook will not fire",
    "Using a non-full backward hook",
    "Full backward hook is firing when gradients are computed with respect to module outputs",
    # RDP: the optimal order is at the edge of Opacus' grid of orders (very large or very
    # small epsilon); the bound returned is still valid, only looser.
    "Optimal order is the",
)


@contextlib.contextmanager
def quiet_opacus():
    """Silence the known, harmless warnings of :data:`QUIET_WARNINGS`, nothing else."""
    with warnings.catch_warnings():
        for msg in QUIET_WARNINGS:
            warnings.filterwarnings("ignore", message=f".*{msg}.*")
        yield


def check_dp_compatible(model: nn.Module) -> nn.Module:
    """Raise a ``ValueError`` with Opacus' reasons if DP-SGD cannot train ``model``.

    Opacus' ``ModuleValidator`` rejects layers that mix the samples of a batch (BatchNorm),
    because then one sample's gradient depends on the others and per-sample clipping no
    longer bounds its influence.

    Example:
        >>> from sparsepriv_nb.models import build_model
        >>> m = build_model("lenet5", input_shape=(1, 8, 8), num_classes=10, norm="batch")
        >>> check_dp_compatible(m)
        Traceback (most recent call last):
        ...
        ValueError: The 'model' parameter cannot be trained with DP-SGD: BatchNorm cannot ...
    """
    from opacus.validators import ModuleValidator

    was_training = model.training
    model.train()  # the validator also insists on training mode, which is not our concern
    try:
        errors = ModuleValidator.validate(model, strict=False)
    finally:
        model.train(was_training)
    if errors:
        # Opacus' messages run to several paragraphs (with sentences run together): keep the
        # first sentence of each, which names the layer and the problem
        reasons = "; ".join(dict.fromkeys(_first_sentence(str(e)) for e in errors))
        hint = (" Build it with norm='group' or norm='none' (BatchNorm mixes the samples of a "
                "batch).") if "BatchNorm" in reasons else ""
        raise ValueError(f"The 'model' parameter cannot be trained with DP-SGD: {reasons}.{hint}")
    return model


def _first_sentence(text: str) -> str:
    """The first sentence of ``text``, without its full stop.

    Example:
        >>> _first_sentence("BatchNorm cannot be used. The reason is long.")
        'BatchNorm cannot be used'
    """
    text = " ".join(text.split())
    head = text.split(". ", 1)[0]
    return head.rstrip(".")
