"""What attacks see of a model: its outputs on members and non-members, and reference models'
outputs on the attacked samples.

Lesson: notebook 02 (``02_membership_inference``), section 3.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .. import signals, train

__all__ = ["ModelOutputs", "ReferenceOutputs", "query"]


@dataclass
class ModelOutputs:
    """A model's logits on its members and non-members (balanced), with labels and, for
    attacks that need it, prediction sensitivities. ``membership`` is 1 for members."""

    logits: torch.Tensor
    labels: torch.Tensor
    membership: np.ndarray
    sensitivity: np.ndarray | None = None

    @staticmethod
    def concat(items: list[ModelOutputs]) -> ModelOutputs:
        """Several models' outputs stacked (sensitivities only if all have them).

        Example:
            >>> one = ModelOutputs(torch.zeros(2, 3), torch.tensor([0, 1]), np.array([1, 0]))
            >>> ModelOutputs.concat([one, one]).membership.tolist()
            [1, 0, 1, 0]
        """
        sens = (None if any(i.sensitivity is None for i in items)
                else np.concatenate([i.sensitivity for i in items]))
        return ModelOutputs(torch.cat([i.logits for i in items]),
                            torch.cat([i.labels for i in items]),
                            np.concatenate([i.membership for i in items]), sens)


@dataclass
class ReferenceOutputs:
    """What reference-kind attacks (LiRA, RMIA) are fitted on.

    Attributes:
        logits: ``(n_reference, n, C)`` reference models' logits on the attacked samples (the
            target's members then non-members, as in the target's :class:`ModelOutputs`).
        labels: ``(n,)`` their labels.
        ref_in: ``(n_reference, n)`` bool, sample j in reference model i's training set.
        population_logits, population_labels: reference models' logits on the population
            (the shadow pool, disjoint from the attacked samples), or None.
        target_population_logits: the target's logits on the population, or None.
    """

    logits: torch.Tensor
    labels: torch.Tensor
    ref_in: np.ndarray
    population_logits: torch.Tensor | None = None
    population_labels: torch.Tensor | None = None
    target_population_logits: torch.Tensor | None = None


def query(model: nn.Module, members, nonmembers, *, with_sensitivity: bool = False,
          seed: int = 0, device: str = "auto") -> ModelOutputs:
    """Query ``model`` on ``members`` and ``nonmembers`` (each ``(X, y)``).

    Raises:
        ValueError: unbalanced sets.
    """
    if len(members[1]) != len(nonmembers[1]):
        raise ValueError(f"Members ({len(members[1])}) and non-members ({len(nonmembers[1])}) "
                         "must be balanced.")
    X = torch.cat([members[0], nonmembers[0]])
    y = torch.cat([members[1], nonmembers[1]])
    logits = train.predict_logits(model, X, device=device)
    sens = None
    if with_sensitivity:
        sens = signals.sensitivity(model, X, generator=torch.Generator().manual_seed(seed),
                                   device=device)
    membership = np.r_[np.ones(len(members[1]), int), np.zeros(len(nonmembers[1]), int)]
    return ModelOutputs(logits, y, membership, sens)

