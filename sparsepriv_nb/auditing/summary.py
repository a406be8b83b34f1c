"""Every one-run bound on the same audit scores, as one tidy table (:func:`audit_all`).

Lesson: notebook 06 (``06_dp_sgd_and_pruning``), section 6b.
"""

from __future__ import annotations

import pandas as pd

from .._checks import check_int
from .fdp import fdp_audit
from .steinke import steinke_audit

__all__ = ["audit_all", "BOUNDS"]

#: Row name -> what the bound's epsilon assumes beyond the audit game itself.
BOUNDS = {
    "steinke": "(eps, delta)-DP; Steinke, Nasr & Jagielski 2023",
    "fdp_eps_delta": "(eps, delta)-DP; f-DP analysis, Mahloujifar, Melis & Chaudhuri 2025",
    "fdp_gdp": "a Gaussian trade-off curve (mu-GDP), converted to eps at delta",
}


def audit_all(scores, included, *, delta: float, beta: float = 0.05, random_state: int = 0,
              k_grid=None) -> pd.DataFrame:
    """One-run epsilon lower bounds from one set of audit scores, one row per bound.

    All rows use the same guesses: the audit examples ranked by score, ties broken by a
    permutation seeded by ``random_state`` (independent of inclusion), "in" for the ``k+``
    highest and "out" for the ``k-`` lowest, each ``(k+, k-)`` of ``k_grid`` tried at level
    ``beta / len(k_grid)``. Each row holds with probability ``>= 1 - beta`` on its own (the
    rows are not a joint statement: picking the largest of them costs another union bound).

    Args:
        scores: membership score per audit example (higher = member).
        included: 0/1 per example, drawn independently with probability 1/2
            (:func:`sparsepriv_nb.dp.audit_inclusion`).
        delta: the delta of the guarantee being audited.
        beta: failure probability of each bound.
        random_state: seed of the tie-breaking permutation.
        k_grid: ``(k+, k-)`` pairs; ``None`` for
            :func:`~sparsepriv_nb.auditing.guesses.default_k_grid`.

    Returns:
        A DataFrame indexed by ``bound`` (``steinke``, ``fdp_eps_delta``, ``fdp_gdp``) with
        ``epsilon_lb``, ``mu_lb`` (GDP only), ``delta``, ``beta``, ``guesses``, ``correct``,
        ``k_plus``, ``k_minus``, ``m``, ``grid_size`` (pairs tried), ``assumes``.

    Example:
        >>> from sparsepriv_nb.dp import audit_inclusion
        >>> inc = audit_inclusion(1000, seed=0)
        >>> table = audit_all(inc.astype(float), inc, delta=1e-5)  # a perfect attack
        >>> table["epsilon_lb"].round(2).tolist()
        [4.21, 4.41, 6.82]
        >>> audit_all([0.5] * 1000, inc, delta=1e-5)["epsilon_lb"].tolist()  # no information
        [0.0, 0.0, 0.0]
    """
    random_state = check_int(random_state, "random_state", "audit_all", 0)
    kw = dict(delta=delta, beta=beta, k_grid=k_grid, random_state=random_state)
    rows = {"steinke": steinke_audit(scores, included, **kw),
            "fdp_eps_delta": fdp_audit(scores, included, family="eps_delta", **kw),
            "fdp_gdp": fdp_audit(scores, included, family="gdp", **kw)}
    cols = ["epsilon_lb", "mu_lb", "delta", "beta", "guesses", "correct", "k_plus", "k_minus",
            "m", "grid_size"]
    table = pd.DataFrame([{c: out.get(c) for c in cols} for out in rows.values()],
                         index=pd.Index(list(rows), name="bound"))
    table["mu_lb"] = table["mu_lb"].astype(float)
    table["assumes"] = [BOUNDS[name] for name in rows]
    return table
