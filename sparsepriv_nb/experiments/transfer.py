"""Attack transfer (Bagmar et al.): an attack fitted on one model's shadows, scored on
another model; and fitting or scoring one attack on stored outputs.

Lesson: notebook 02 (``02_membership_inference``), section 7.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import metrics as M
from .. import power
from .._checks import check_choice
from ..attacks import ATTACKS, AttackInputs, available_attacks, make_attack
from ..config import ExperimentConfig
from .outputs import ModelOutputs

__all__ = ["fit_attack", "score_attack", "attack_transfer", "transfer_vs_matched",
           "transferable_attacks"]

#: The fields a transfer provides: a source's shadow outputs and a target's outputs.
_TRANSFER_FIELDS = {"target", "shadow", "sensitivity"}


def transferable_attacks() -> list[str]:
    """Registered attacks that need nothing beyond shadow and target outputs (and their
    sensitivities): those :func:`attack_transfer` can fit on one model and score on another.

    Example:
        >>> "lira" in transferable_attacks(), "shokri" in transferable_attacks()
        (False, True)
    """
    return [n for n in available_attacks() if set(ATTACKS.get(n).needs) <= _TRANSFER_FIELDS]


def fit_attack(name: str, attack, shadow: ModelOutputs):
    """Fit ``attack`` (built from the registered attack ``name``) on shadow outputs alone,
    through its ``fit_inputs``."""
    return attack.fit_inputs(_inputs(name, shadow=shadow))


def score_attack(name: str, attack, target: ModelOutputs) -> np.ndarray:
    """Membership scores of a fitted ``attack`` on a target's outputs."""
    return attack.score_inputs(_inputs(name, target=target))


def _inputs(name: str, **fields) -> AttackInputs:
    check_choice(name, transferable_attacks(), "name", "fit_attack / score_attack")
    flags = {"sensitivity": True} if "sensitivity" in ATTACKS.get(name).needs else {}
    return AttackInputs(**fields, **flags)


def attack_transfer(outputs: dict[str, tuple[ModelOutputs, ModelOutputs]],
                    attack: str = "shokri", *, cfg: ExperimentConfig | None = None,
                    metric: str | tuple[str, ...] = "balanced_accuracy", n_resamples: int = 0,
                    random_state=0) -> pd.DataFrame | dict[str, pd.DataFrame]:
    """Bagmar et al.'s transfer heat-map: fit the attack on model A's shadows, score model B.

    Args:
        outputs: model name -> ``(shadow_outputs, target_outputs)``.
        attack: an attack of :func:`transferable_attacks` (fitted on shadow outputs).
        cfg: its seed and the attack's parameters (``attack.params``).
        metric: which :func:`metrics.attack_metrics` value fills the table, computed at the
            threshold fitted on the source's shadows, or several names (one fit per source
            for all of them). The default, balanced accuracy, is what transfers (or not); AUC
            ignores the threshold, so for threshold attacks it only depends on the attacked
            model. Interval columns (``balanced_accuracy_lo``, ...) need ``n_resamples`` > 0.
        n_resamples, random_state: the bootstrap behind interval metrics.

    Returns:
        DataFrame indexed by the attack's source model, columns = target model; for several
        metrics, ``{metric: DataFrame}``.
    """
    check_choice(attack, transferable_attacks(), "attack", "attack_transfer")
    names = (metric,) if isinstance(metric, str) else tuple(metric)
    for name in names:
        if name.endswith(("_lo", "_hi")) and not n_resamples:
            raise ValueError(f"The 'metric' parameter of attack_transfer is the interval bound "
                             f"{name!r}, which needs n_resamples > 0. Got n_resamples="
                             f"{n_resamples!r}.")
    cfg = cfg or ExperimentConfig()
    tables = {m: pd.DataFrame(index=list(outputs), columns=list(outputs), dtype=float)
              for m in names}
    for src, (shadow, _) in outputs.items():
        atk = fit_attack(attack, make_attack(attack, random_state=cfg.seed,
                                               **cfg.attack.params_of(attack)), shadow)
        for dst, (_, target) in outputs.items():
            scores = score_attack(attack, atk, target)
            row = M.attack_metrics(scores, target.membership, n_resamples=n_resamples,
                                   random_state=random_state, threshold=atk.threshold_)
            for m in names:
                tables[m].loc[src, dst] = row[m]
    for table in tables.values():
        table.index.name = "attack trained on"
        table.columns.name = "attacked model"
    return tables[metric] if isinstance(metric, str) else tables


def transfer_vs_matched(outputs: dict[str, tuple[ModelOutputs, ModelOutputs]],
                        attack: str = "shokri", *, cfg: ExperimentConfig | None = None,
                        alpha: float = 0.05, n_resamples: int = 1000,
                        random_state=0) -> pd.DataFrame:
    """Does a transferred attack do as well as a matched one? For every attacked model B and
    every other source A: balanced accuracy of the attack fitted on A's shadows minus that of
    the attack fitted on B's own shadows, both scored on B's attacked samples (paired: one
    bootstrap resample of those samples, each attack at its own fitted threshold).

    Args:
        outputs, attack, cfg: as for :func:`attack_transfer`.
        alpha, n_resamples, random_state: the paired interval and its MDE
            (:func:`sparsepriv_nb.power.paired_mde`).

    Returns:
        One row per (source, attacked) pair with source != attacked: ``name``
        ("A -> B vs B -> B"), ``source``, ``attacked``, ``transferred``, ``matched``,
        ``diff`` (transferred - matched), ``lo``, ``hi``, ``se``, ``mde``: the input of
        :func:`sparsepriv_nb.families.holm_verdicts`.

    Example:
        >>> import torch
        >>> g = torch.Generator().manual_seed(0)
        >>> def outs(shift):
        ...     m = torch.tensor([1] * 50 + [0] * 50)
        ...     logits = torch.randn(100, 3, generator=g)
        ...     logits[:50, 0] += shift
        ...     return ModelOutputs(logits, torch.zeros(100, dtype=torch.long), m)
        >>> rows = transfer_vs_matched({"a": (outs(3.0), outs(3.0)), "b": (outs(3.0), outs(3.0))},
        ...                            "loss", n_resamples=200)
        >>> rows.name.tolist()
        ['b -> a vs a -> a', 'a -> b vs b -> b']
        >>> bool((rows.lo <= rows["diff"]).all() and (rows["diff"] <= rows.hi).all())
        True
    """
    check_choice(attack, transferable_attacks(), "attack", "transfer_vs_matched")
    cfg = cfg or ExperimentConfig()
    fitted = {src: fit_attack(attack, make_attack(attack, random_state=cfg.seed,
                                                  **cfg.attack.params_of(attack)), shadow)
              for src, (shadow, _) in outputs.items()}
    rows = []
    for dst, (_, target) in outputs.items():
        own = fitted[dst]
        own_scores = score_attack(attack, own, target)
        for src, atk in fitted.items():
            if src == dst:
                continue
            r = power.paired_mde(score_attack(attack, atk, target), own_scores, target.membership,
                                 "balanced_accuracy", alpha=alpha, n_resamples=n_resamples,
                                 random_state=random_state, threshold_a=atk.threshold_,
                                 threshold_b=own.threshold_)
            rows.append({"name": f"{src} -> {dst} vs {dst} -> {dst}", "source": src,
                         "attacked": dst, "transferred": r["a"], "matched": r["b"],
                         **{k: r[k] for k in ("diff", "lo", "hi", "se", "mde")}})
    return pd.DataFrame(rows)
