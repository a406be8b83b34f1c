"""Audit several trained models at once and check each bound against its accountant.

A notebook audits a non-private model and DP models on the same canaries; this module turns
their scores into one tidy table (:func:`audit_models`, :func:`audit_all` per model) and one
computed verdict per model (:func:`audit_verdicts`): a valid lower bound must sit below the
accountant's upper bound, except with probability ``beta``; a bound of 0 checks nothing
(vacuous).

Example:
    >>> import numpy as np
    >>> from sparsepriv_nb.dp import audit_inclusion
    >>> inc = audit_inclusion(200, seed=0)
    >>> scores = {"leaky": inc * 1.0, "private": np.zeros(200)}  # perfect and blind attacks
    >>> table = audit_models(scores, {"leaky": float("inf"), "private": 1.0}, inc, delta=1e-5)
    >>> for line in audit_verdicts(table):
    ...     print(line)
    Verdict: leaky: lower bound 2.83 (beta=0.05); no accountant (not private), nothing to check
    Verdict: private: lower bound 0.00 (beta=0.05): vacuous (no positive bound: no guess set beat a fair coin), so no check of accountant 1.00

Lesson: notebook 06 (``06_dp_sgd_and_pruning``), section 6b.
"""  # noqa: E501

from __future__ import annotations

import math
from collections.abc import Mapping

import pandas as pd

from .._checks import check_choice
from .summary import BOUNDS, audit_all

__all__ = ["audit_models", "audit_verdicts", "HEADLINE_BOUND"]

#: The bound a verdict uses: the tightest of those that assume only (epsilon, delta)-DP
#: (the f-DP bound is at least Steinke's on the same guesses; the GDP row assumes more).
HEADLINE_BOUND = "fdp_eps_delta"


def audit_models(scores: Mapping, epsilons: Mapping, included, *, delta: float,
                 beta: float = 0.05, random_state: int = 0, k_grid=None) -> pd.DataFrame:
    """Every one-run bound (:func:`audit_all`) for every model, as one tidy table.

    Args:
        scores: model name -> membership score of each canary (higher = member), all on the
            same canaries with the same inclusion.
        epsilons: model name -> the accountant's epsilon (``inf`` for a non-private model).
        included: 0/1 per canary, drawn independently with probability 1/2.
        delta, beta, random_state, k_grid: as in :func:`audit_all` (one level ``beta`` per
            bound and model: each row is its own statement).

    Returns:
        One row per model and bound: ``model``, ``epsilon`` (accountant), ``bound``,
        ``epsilon_lb``, ``mu_lb``, ``beta``, ``guesses``, ``correct``, ``m`` and
        ``consistent`` (``epsilon_lb <= epsilon``).

    Example:
        >>> from sparsepriv_nb.dp import audit_inclusion
        >>> inc = audit_inclusion(100, seed=0)
        >>> t = audit_models({"a": inc * 1.0}, {"a": 8.0}, inc, delta=1e-5)
        >>> t[["model", "bound", "consistent"]].values.tolist()[:2]
        [['a', 'steinke', True], ['a', 'fdp_eps_delta', True]]
    """
    missing = sorted(set(scores) - set(epsilons))
    if missing:
        raise ValueError(f"The 'epsilons' parameter of audit_models must give an epsilon for "
                         f"every model of 'scores'. Got none for {missing}.")
    tables = []
    for name, s in scores.items():
        t = audit_all(s, included, delta=delta, beta=beta, random_state=random_state,
                      k_grid=k_grid).reset_index()
        t.insert(0, "epsilon", float(epsilons[name]))
        t.insert(0, "model", name)
        tables.append(t)
    table = pd.concat(tables, ignore_index=True).drop(columns=["assumes", "delta", "k_plus",
                                                               "k_minus"])
    table["consistent"] = table["epsilon_lb"] <= table["epsilon"]
    return table


def _verdict(model: str, eps: float, lb: float, beta: float) -> str:
    head = f"Verdict: {model}: lower bound {lb:.2f} (beta={beta:g})"
    if math.isinf(eps):
        return f"{head}; no accountant (not private), nothing to check"
    if lb <= 0:
        return (f"{head}: vacuous (no positive bound: no guess set beat a fair coin), so no "
                f"check of accountant {eps:.2f}")
    if lb <= eps:
        return f"{head} <= accountant {eps:.2f}: consistent"
    return (f"{head} > accountant {eps:.2f}: INCONSISTENT (a bug in training or accounting, "
            f"or the {beta:g} chance that the audit's bound fails)")


def audit_verdicts(table: pd.DataFrame, *, bound: str = HEADLINE_BOUND) -> list[str]:
    """One computed sentence per model of an :func:`audit_models` table, from one bound.

    Example:
        >>> t = pd.DataFrame({"model": ["m"], "epsilon": [1.0], "bound": ["fdp_eps_delta"],
        ...                   "epsilon_lb": [1.5], "beta": [0.05]})
        >>> audit_verdicts(t)[0][:72]
        'Verdict: m: lower bound 1.50 (beta=0.05) > accountant 1.00: INCONSISTENT'
    """
    check_choice(bound, tuple(BOUNDS), "bound", "audit_verdicts")
    rows = table[table["bound"] == bound]
    return [_verdict(r.model, float(r.epsilon), float(r.epsilon_lb), float(r.beta))
            for r in rows.itertuples()]

