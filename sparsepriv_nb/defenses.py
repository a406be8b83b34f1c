"""Defenses against membership inference, as training options (docs/methods.md section 5).

* **PPB**, pair-based posterior balancing (Yuan & Zhang, seed 002; their code
  ``base_model.py: train_defend_ppb``), used while fine-tuning a pruned model: each sample's
  logits are sorted in descending order, the (shuffled) batch is split into halves, sample
  ``i`` of the first half is paired with sample ``i + B/2``, and the loss adds
  ``lam * KL(softmax(sorted second half) || softmax(sorted first half))`` to cross-entropy.
  Sorting forgets *which* class is predicted and keeps only the *shape* of the posterior, so
  the penalty pulls every sample's confidence profile towards every other's: members and
  non-members end up looking alike. See :func:`ppb_loss`.
* Classic baselines, each one training option: **early stopping** on the validation split
  (``patience``), **weight decay**, **dropout** (a model-builder argument) and **label
  smoothing** (:class:`LabelSmoothingLoss`).

Every defense is registered in :data:`DEFENSES` as a :class:`Defense` whose ``configure``
validates its parameters and returns a :class:`DefenseSetup`: extra keyword arguments for
:func:`sparsepriv_nb.train.fit` (``fit_kwargs``), for the model builder (``model_kwargs``),
and the ``phase`` of training it belongs to (``"all"``, or ``"finetune"``: only the training
that follows pruning, as PPB was designed). The experiment pipeline applies the setup to the
target and, for an adaptive attacker, to the shadow and reference models too.

Example:
    >>> import torch
    >>> setup = defense_setup("ppb", {"lam": 4})
    >>> setup.phase, setup.fit_kwargs
    ('finetune', {'loss_fn': PPBLoss(lam=4.0)})
    >>> logits, y = torch.tensor([[2.0, 0.0, -1.0], [0.0, 1.0, 0.0]]), torch.tensor([0, 1])
    >>> round(setup.fit_kwargs["loss_fn"](logits, y).item(), 4)
    1.3775
    >>> try:
    ...     defense_setup("label-smoothing", {"smoothing": 1.5})
    ... except ValueError as e:
    ...     print(e)  # doctest: +NORMALIZE_WHITESPACE
    The 'smoothing' parameter of the 'label-smoothing' defense must be a float in [0, 1).
    Got 1.5 instead.

Lesson: notebook 05 (``05_ppb_defense``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping

import torch
from torch.nn import functional as F

from ._checks import InstanceOf, ParameterError, check_choice, check_int, check_number, \
    validate_params
from .registry import Registry

__all__ = ["ppb_penalty", "ppb_loss", "PPBLoss", "make_ppb_loss", "LabelSmoothingLoss",
           "make_label_smoothing_loss", "DefenseSetup", "Defense", "DEFENSES",
           "register_defense", "defense_setup", "PHASES"]

PHASES = ("all", "finetune")


# --------------------------------------------------------------------------- checks


def _describe(t) -> str:
    return f"shape {tuple(t.shape)}" if isinstance(t, torch.Tensor) else type(t).__name__


def _check_logits(logits, targets, owner: str) -> tuple[torch.Tensor, torch.Tensor]:
    if not isinstance(logits, torch.Tensor) or logits.ndim != 2:
        raise ParameterError(f"The 'logits' parameter of {owner} must be a 2-D tensor "
                             f"(batch, classes). Got {_describe(logits)} instead.")
    if targets is not None:
        if not isinstance(targets, torch.Tensor) or targets.shape != logits.shape[:1]:
            raise ParameterError(f"The 'targets' parameter of {owner} must be a 1-D tensor of "
                                 f"{logits.shape[0]} labels to match the logits. Got "
                                 f"{_describe(targets)} instead.")
    return logits, targets


# --------------------------------------------------------------------------- PPB


def ppb_penalty(logits: torch.Tensor) -> torch.Tensor:
    """PPB's pair term: mean over pairs of ``KL(softmax(sorted z_{i+h}) || softmax(sorted z_i))``.

    With ``h = B // 2``, sample ``i`` of the first half is paired with sample ``i + h``;
    each row of logits is sorted in descending order first. An **odd batch** leaves its last
    sample out of the pairs (it still counts in the cross-entropy of :func:`ppb_loss`),
    as the authors' code does; a batch of one has no pair and a penalty of 0. The batch is
    assumed already shuffled (``fit`` shuffles every epoch), so pairs are random.

    Args:
        logits: ``(B, C)`` tensor.

    Returns:
        A scalar tensor (differentiable through both halves).

    Example:
        >>> z = torch.tensor([[3.0, 0.0, 0.0], [0.0, 0.0, 3.0]])  # same sorted shape
        >>> ppb_penalty(z).item()
        0.0
        >>> ppb_penalty(torch.tensor([[3.0, 0.0], [0.0, 0.0]])).item() > 0
        True
    """
    logits, _ = _check_logits(logits, None, "ppb_penalty")
    half = logits.shape[0] // 2
    if half == 0:
        return logits.sum() * 0.0  # keeps the graph and the device
    ranked = torch.sort(logits, dim=1, descending=True).values
    first, second = ranked[:half], ranked[half:2 * half]
    # F.kl_div(log q, p) = sum p (log p - log q) = KL(p || q); "batchmean" divides by pairs
    return F.kl_div(F.log_softmax(first, dim=1), F.log_softmax(second, dim=1),
                    reduction="batchmean", log_target=True)


def _labels(targets: torch.Tensor, n_classes: int, owner: str) -> torch.Tensor:
    """``targets`` as int64 class labels in ``[0, n_classes - 1]``, else a ParameterError."""
    from ._checks import ParameterError  # (main imports it at the top since the defenses pass)

    if targets.is_floating_point() or targets.is_complex() or targets.dtype == torch.bool:
        raise ParameterError(f"The 'targets' parameter of {owner} must be integer class labels. "
                             f"Got dtype {targets.dtype} instead.")
    if targets.numel() and bool(((targets < 0) | (targets >= n_classes)).any()):
        raise ParameterError(
            f"The 'targets' parameter of {owner} must be class labels in [0, {n_classes - 1}] "
            f"(the logits have {n_classes} classes). Got labels from {int(targets.min())} to "
            f"{int(targets.max())} instead.")
    return targets.long()


def ppb_loss(logits: torch.Tensor, targets: torch.Tensor, lam: float = 4.0) -> torch.Tensor:
    """Pair-based posterior balancing loss: ``CE + lam * KL(sorted second half || first half)``.

    Cross-entropy is the mean over the whole batch; the pair term is :func:`ppb_penalty`
    (mean over the ``B // 2`` pairs; an odd batch's last sample is in the cross-entropy only).

    Args:
        logits: ``(B, C)`` tensor from a (shuffled) training batch.
        targets: ``(B,)`` integer labels.
        lam: weight of the pair term, ``>= 0`` (Yuan & Zhang's default: 4); 0 gives plain
            cross-entropy.

    Returns:
        A scalar tensor.

    Raises:
        ValueError: ``lam`` negative or not finite, or tensors of the wrong shape.
        ParameterError: ``targets`` that are not integer labels in ``[0, C - 1]`` (a
            ``ValueError``; torch itself would raise an ``IndexError``, or on a GPU stop the
            process with a device-side assert).

    Example:
        >>> z, y = torch.tensor([[2.0, 0.0], [0.0, 0.0]]), torch.tensor([0, 1])
        >>> bool(ppb_loss(z, y, lam=0) == F.cross_entropy(z, y))
        True
        >>> ppb_loss(z, y, lam=4) > ppb_loss(z, y, lam=0)
        tensor(True)
        >>> try:
        ...     ppb_loss(z, torch.tensor([0, 2]))
        ... except ValueError as e:
        ...     print(e)  # doctest: +NORMALIZE_WHITESPACE
        The 'targets' parameter of ppb_loss must be class labels in [0, 1] (the logits have
        2 classes). Got labels from 0 to 2 instead.
    """
    lam = check_number(lam, "lam", "ppb_loss", low=0.0)
    logits, targets = _check_logits(logits, targets, "ppb_loss")
    ce = F.cross_entropy(logits, _labels(targets, logits.shape[1], "ppb_loss"))
    if lam == 0:
        return ce
    return ce + lam * ppb_penalty(logits)


@dataclass(frozen=True)
class PPBLoss:
    """``ppb_loss`` with a fixed ``lam``, for ``fit(loss_fn=...)``.

    A frozen dataclass rather than a closure: it pickles (joblib workers) and its ``repr``
    is stable, so it can enter a cache key.

    Example:
        >>> PPBLoss(lam=2)
        PPBLoss(lam=2.0)
    """

    lam: float = 4.0

    def __post_init__(self):
        object.__setattr__(self, "lam", check_number(self.lam, "lam", "PPBLoss", low=0.0))

    def __call__(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return ppb_loss(logits, targets, self.lam)


def make_ppb_loss(lam: float = 4.0) -> PPBLoss:
    """A ``loss_fn(logits, y)`` for :func:`sparsepriv_nb.train.fit` computing PPB with ``lam``.

    Example:
        >>> make_ppb_loss(4)
        PPBLoss(lam=4.0)
    """
    return PPBLoss(lam)


@dataclass(frozen=True)
class LabelSmoothingLoss:
    """Cross-entropy against ``(1 - smoothing) * onehot(y) + smoothing / C`` (Szegedy et al.).

    Training on softened targets caps how confident the model becomes on its members,
    which is the gap that confidence-based attacks exploit.

    Example:
        >>> z, y = torch.tensor([[2.0, 0.0]]), torch.tensor([0])
        >>> round(LabelSmoothingLoss(0.2)(z, y).item(), 4)
        0.3269
        >>> bool(LabelSmoothingLoss(0.0)(z, y) == F.cross_entropy(z, y))
        True
    """

    smoothing: float = 0.1

    def __post_init__(self):
        object.__setattr__(self, "smoothing", check_number(self.smoothing, "smoothing",
                                                           "LabelSmoothingLoss", low=0.0,
                                                           high=1.0))

    def __call__(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(logits, targets, label_smoothing=self.smoothing)


def make_label_smoothing_loss(smoothing: float = 0.1) -> LabelSmoothingLoss:
    """A ``loss_fn(logits, y)`` for :func:`sparsepriv_nb.train.fit` with label smoothing."""
    return LabelSmoothingLoss(smoothing)


# --------------------------------------------------------------------------- registry


@dataclass(frozen=True)
class DefenseSetup:
    """What a configured defense changes in training.

    Attributes:
        fit_kwargs: extra keyword arguments for :func:`sparsepriv_nb.train.fit`
            (``loss_fn``, ``weight_decay``, ``patience``: the last one needs ``val_data``).
        model_kwargs: extra keyword arguments for :func:`sparsepriv_nb.models.build_model`
            (``dropout``).
        phase: ``"all"`` (every training of the model) or ``"finetune"`` (only the training
            that follows pruning; Yuan & Zhang apply PPB there). A model that is never pruned
            (density 1) has no fine-tuning, so the experiment pipeline then applies a
            ``"finetune"`` defense to its one training.
    """

    fit_kwargs: dict = field(default_factory=dict)
    model_kwargs: dict = field(default_factory=dict)
    phase: str = "all"

    def __post_init__(self):
        check_choice(self.phase, PHASES, "phase", "DefenseSetup")

    @property
    def needs_val_data(self) -> bool:
        """True when ``fit`` must be given ``val_data`` (early stopping)."""
        return self.fit_kwargs.get("patience") is not None


@dataclass(frozen=True)
class Defense:
    """A registered defense.

    Attributes:
        name: registry name.
        configure: ``configure(**params) -> DefenseSetup``; validates ``params`` and fills in
            defaults.
        description: one line for tables and error messages.
    """

    name: str
    configure: Callable[..., DefenseSetup]
    description: str = ""


DEFENSES: Registry[Defense] = Registry("defense")


def register_defense(name: str, configure: Callable[..., DefenseSetup], description: str = "",
                     *, overwrite: bool = False) -> Defense:
    """Register a defense under ``name`` and return it.

    Args:
        name: registry name (``"ppb"``).
        configure: keyword-only parameters with defaults -> :class:`DefenseSetup`.
        description: one line.
        overwrite: replace an existing entry of the same name.

    Example:
        >>> d = register_defense("toy", lambda: DefenseSetup(), "does nothing")
        >>> defense_setup("toy").phase
        'all'
        >>> _ = DEFENSES.unregister("toy")
    """
    validate_params({"configure": configure},
                    {"configure": [InstanceOf(object, "callable", callable)]}, "register_defense")
    return DEFENSES.register(name, Defense(name, configure, description), overwrite=overwrite)


def defense_setup(name: str | None, params: Mapping | tuple | None = None) -> DefenseSetup:
    """Validate ``params`` for the defense ``name`` and return its :class:`DefenseSetup`.

    Args:
        name: a registered name, or ``None`` for no defense (an empty setup).
        params: a mapping or ``((key, value), ...)`` pairs (the form a frozen config holds).

    Raises:
        ValueError: unknown defense (the message lists the registered ones), unknown
            parameter, or a value out of range.

    Example:
        >>> defense_setup(None)
        DefenseSetup(fit_kwargs={}, model_kwargs={}, phase='all')
        >>> defense_setup("weight-decay", (("weight_decay", 5e-4),)).fit_kwargs
        {'weight_decay': 0.0005}
        >>> defense_setup("ppb", {"lambda": 4})
        Traceback (most recent call last):
        ...
        ValueError: The 'ppb' defense takes parameters ['lam']. Got unknown ['lambda'].
    """
    params = dict(params or {})
    if name is None:
        if params:
            raise ValueError(f"Defense parameters {params} were given without a defense name; "
                             f"registered defenses: {DEFENSES.names()}.")
        return DefenseSetup()
    defense = DEFENSES.get(name)
    import inspect

    accepted = [p for p in inspect.signature(defense.configure).parameters]
    unknown = sorted(set(params) - set(accepted))
    if unknown:
        raise ValueError(f"The {name!r} defense takes parameters {accepted}. Got unknown "
                         f"{unknown}.")
    return defense.configure(**params)


def _owner(name: str) -> str:
    return f"the {name!r} defense"


def _ppb(*, lam: float = 4.0) -> DefenseSetup:
    lam = check_number(lam, "lam", _owner("ppb"), low=0.0)
    return DefenseSetup(fit_kwargs={"loss_fn": PPBLoss(lam)}, phase="finetune")


def _early_stopping(*, patience: int = 3) -> DefenseSetup:
    return DefenseSetup(fit_kwargs={"patience": check_int(patience, "patience",
                                                           _owner("early-stopping"), 1)})


def _weight_decay(*, weight_decay: float = 5e-4) -> DefenseSetup:
    return DefenseSetup(fit_kwargs={"weight_decay": check_number(
        weight_decay, "weight_decay", _owner("weight-decay"), low=0.0)})


def _dropout(*, p: float = 0.5) -> DefenseSetup:
    return DefenseSetup(model_kwargs={"dropout": check_number(p, "p", _owner("dropout"),
                                                              low=0.0, high=1.0)})


def _label_smoothing(*, smoothing: float = 0.1) -> DefenseSetup:
    s = check_number(smoothing, "smoothing", _owner("label-smoothing"), low=0.0, high=1.0)
    return DefenseSetup(fit_kwargs={"loss_fn": LabelSmoothingLoss(s)})


register_defense("ppb", _ppb, "pair-based posterior balancing while fine-tuning a pruned "
                 "model (Yuan & Zhang); lam = weight of the pair KL term")
register_defense("early-stopping", _early_stopping, "stop when the validation loss has not "
                 "improved for `patience` epochs, restore the best weights")
register_defense("weight-decay", _weight_decay, "L2 penalty on the weights (optimizer's "
                 "weight_decay)")
register_defense("dropout", _dropout, "dropout with probability p before hidden layers")
register_defense("label-smoothing", _label_smoothing, "cross-entropy against smoothed "
                 "one-hot targets")
