"""The challenge's targets: one experiment configuration per target, in a leaking regime.

Every target is trained through :func:`sparsepriv_nb.experiments.run_experiment` (so the
experiment cache is used and filled), on ``fashion-small`` with ~500 members, the MLP, Adam at
lr 3e-3 for 40 epochs: the regime in which a dense model leaks (train accuracy ~1, gap ~0.2,
LiRA AUC ~0.75; ``benchmarks/leakage_regimes.py``). Each target has its own seed, hence its
own members: knowing one target's members tells nothing about another's.

Lesson: notebook 02 (``02_membership_inference``), the attacks the challenge asks for; notebook
06 (``06_dp_sgd_and_pruning``) for the DP-SGD target.
"""

from __future__ import annotations

from dataclasses import dataclass

from .._checks import Interval, Options, validate_params
from ..config import ExperimentConfig

__all__ = ["TargetSpec", "TARGETS", "SIZES", "target_configs"]


@dataclass(frozen=True)
class TargetSpec:
    """One challenge target: its name, a one-line description and its config overrides."""

    name: str
    description: str
    overrides: tuple = ()


#: The targets, in leaderboard order. Names are the ``target`` column of submissions.
TARGETS = (
    TargetSpec("dense", "dense MLP"),
    TargetSpec("pruned50", "magnitude-pruned (global) to density 0.50, fine-tuned",
               (("sparsity__method", "magnitude-global"), ("sparsity__density", 0.5))),
    TargetSpec("pruned10", "magnitude-pruned (global) to density 0.10, fine-tuned",
               (("sparsity__method", "magnitude-global"), ("sparsity__density", 0.1))),
    TargetSpec("dpsgd", "dense MLP trained with DP-SGD (epsilon 8, 15 epochs, SGD lr 0.5)",
               (("dp__mode", "dpsgd"), ("dp__target_epsilon", 8.0), ("train__epochs", 15),
                ("train__lr", 0.5))),
)

#: Size presets: members per target, reference models, training epochs (non-DP targets).
SIZES = {
    "default": {"train_size": 500, "n_reference": 8, "epochs": 40},
    "tiny": {"train_size": 100, "n_reference": 4, "epochs": 40},  # tests: wider intervals
}


def target_configs(*, dataset: str = "fashion-small", seed: int = 0,
                   size: str = "default") -> dict[str, ExperimentConfig]:
    """Target name -> its :class:`~sparsepriv_nb.config.ExperimentConfig`.

    Target ``k`` (in :data:`TARGETS` order) gets seed ``seed + k``: its own data pools and
    members. The attacks recorded are ``loss`` and ``lira`` (the baselines).

    Example:
        >>> cfgs = target_configs(seed=3)
        >>> list(cfgs), cfgs["pruned10"].sparsity.density, cfgs["dpsgd"].seed
        (['dense', 'pruned50', 'pruned10', 'dpsgd'], 0.1, 6)
    """
    validate_params({"dataset": dataset, "seed": seed, "size": size},
                    {"dataset": [Options(("fashion-small", "digits", "fashion-mnist"))],
                     "seed": [Interval(int, 0, None)], "size": [Options(tuple(SIZES))]},
                    "target_configs")
    s = SIZES[size]
    base = ExperimentConfig(
        data={"name": dataset, "train_size": s["train_size"]},
        model={"arch": "mlp"},  # hidden (256, 128)
        train={"epochs": s["epochs"], "lr": 3e-3},
        attack={"names": ("loss", "lira"), "n_reference": s["n_reference"]}, seed=seed)
    out = {}
    for k, spec in enumerate(TARGETS):
        over = dict(spec.overrides)
        if size != "default" and "train__epochs" in over:
            over["train__epochs"] = min(over["train__epochs"], s["epochs"])
        out[spec.name] = base.replace(seed=seed + k, **over)
    return out
