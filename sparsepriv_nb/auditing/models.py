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
    Verdict: leaky: lower bound 2.83 (100/100 guesses right); no accountant (not private), nothing to check (beta=0.05)
    Verdict: private: lower bound 0: vacuous, no check of accountant 1.00; none of the 15 guess sets tried beat a fair coin (beta=0.05)

Lesson: notebook 06 (``06_dp_sgd_and_pruning``), section 6b.
"""  # noqa: E501

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from .._checks import ParameterError, check_choice
from ..dp.audit import bound_sentence
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


def _best(tables: Mapping[str, pd.DataFrame], bound: str, model: str):
    """``{source: row}`` of ``model`` and the source of the largest bound (first on ties)."""
    rows = {src: t[(t["bound"] == bound) & (t["model"] == model)].iloc[0]
            for src, t in tables.items()}
    return rows, max(rows, key=lambda k: float(rows[k]["epsilon_lb"]))


def _verdict(model: str, rows: dict, src: str) -> str:
    row = rows[src]
    beta, lb = float(row["beta"]), float(row["epsilon_lb"])
    ints = {k: (None if pd.isna(row.get(k)) else int(row.get(k)))
            for k in ("guesses", "correct", "grid_size")}
    if lb <= 0 and len(rows) > 1:  # every source's bound is 0: name them all, count all sets
        grids = {k: r.get("grid_size") for k, r in rows.items()}
        known = not any(pd.isna(g) for g in grids.values())
        ints["grid_size"] = int(sum(grids.values())) if known else None
        parts = {k: int(g) for k, g in grids.items()} if known else None
        text = bound_sentence(float(row["epsilon"]), lb, source=" and ".join(rows),
                              grid_parts=parts, **ints)
        return f"Verdict: {model}: {text} (beta={beta:g} each)"
    text = bound_sentence(float(row["epsilon"]), lb, source=src if len(rows) > 1 else "", **ints)
    if len(rows) == 1:
        return f"Verdict: {model}: {text} (beta={beta:g})"
    others = "".join(f"; {k} " + (f"{float(r['epsilon_lb']):.2f}" if r["epsilon_lb"] > 0
                                   else "0 (vacuous)") for k, r in rows.items() if k != src)
    return (f"Verdict: {model}: {text} (beta={beta:g} each; the larger of {len(rows)} bounds "
            f"holds with probability >= {1 - len(rows) * beta:g}{others})")


def audit_verdicts(table, *, bound: str = HEADLINE_BOUND) -> list[str]:
    """One computed sentence per model, from one bound of one or several audits.

    Args:
        table: an :func:`audit_models` table, or ``{source: table}`` for several audits of the
            same models (``"natural examples"``, ``"canaries"``): each model's verdict then
            uses the largest of its bounds and names the source (taking the larger of ``k``
            bounds, each at level ``beta``, is a union bound: level ``k beta``).
        bound: which bound of :data:`~sparsepriv_nb.auditing.summary.BOUNDS`.

    Returns:
        One ``Verdict:`` line per model, worded by :func:`sparsepriv_nb.dp.bound_sentence`: a
        bound of 0 is vacuous (no check), a positive bound names its guesses.

    Example:
        >>> t = pd.DataFrame({"model": ["m"], "epsilon": [1.0], "bound": ["fdp_eps_delta"],
        ...                   "epsilon_lb": [1.5], "beta": [0.05]})
        >>> audit_verdicts(t)[0][:60]
        'Verdict: m: lower bound 1.50 > accountant 1.00: INCONSISTENT'
        >>> z = t.assign(epsilon_lb=0.0, grid_size=21)
        >>> print(audit_verdicts({"natural examples": t.assign(epsilon_lb=0.4, guesses=200,
        ...                                                    correct=130),
        ...                       "canaries": z})[0])  # doctest: +NORMALIZE_WHITESPACE
        Verdict: m: lower bound 0.40 from natural examples (130/200 guesses right) <= accountant
        1.00: consistent (beta=0.05 each; the larger of 2 bounds holds with probability >= 0.9;
        canaries 0 (vacuous))
    """
    check_choice(bound, tuple(BOUNDS), "bound", "audit_verdicts")
    tables = {"": table} if isinstance(table, pd.DataFrame) else dict(table)
    if not tables or not all(isinstance(t, pd.DataFrame) for t in tables.values()):
        raise ParameterError("The 'table' parameter of audit_verdicts must be an audit_models "
                             "table or a non-empty {source: table} mapping. Got "
                             f"{type(table).__name__} instead.")
    first = next(iter(tables.values()))
    models = list(dict.fromkeys(first.loc[first["bound"] == bound, "model"]))
    for src, t in tables.items():
        if set(t.loc[t["bound"] == bound, "model"]) != set(models):
            raise ParameterError(f"The 'table' parameter of audit_verdicts must audit the same "
                                 f"models in every source; {src!r} differs.")
    return [_verdict(name, *_best(tables, bound, name)) for name in models]
