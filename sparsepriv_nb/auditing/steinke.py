"""Steinke, Nasr & Jagielski (2023) one-run bound on the guesses of
:mod:`~sparsepriv_nb.auditing.guesses` (ties broken by a seeded permutation).

The p-value and the bisection are :func:`sparsepriv_nb.dp.audit_p_value` and
:func:`sparsepriv_nb.dp.one_run_epsilon_bound`; this module applies them to every ``(k+, k-)``
of a grid at level ``beta / len(grid)`` (union bound) and keeps the best pair. Bounds are
memoised on ``(m, r, v, delta, level)``, which repeat across the runs of a simulation.

Example:
    >>> from sparsepriv_nb.dp import audit_inclusion
    >>> inc = audit_inclusion(1000, seed=0)
    >>> out = steinke_audit(inc.astype(float), inc, delta=1e-5)  # a perfect attack
    >>> round(out["epsilon_lb"], 2), out["guesses"], out["correct"]
    (4.21, 500, 500)

Lesson: notebook 06 (``06_dp_sgd_and_pruning``), sections 6 and 6b.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from .._checks import check_number
from ..dp import one_run_epsilon_bound
from .guesses import check_audit, count_correct

__all__ = ["steinke_bound", "steinke_bound_over_grid", "steinke_audit"]


@lru_cache(maxsize=65536)
def _bound(m: int, r: int, v: int, delta: float, beta: float) -> float:
    return one_run_epsilon_bound(m, r, v, delta=delta, beta=beta)


def steinke_bound(m: int, guesses, correct, *, delta: float, beta: float) -> np.ndarray:
    """Steinke et al.'s epsilon lower bound per ``(guesses, correct)`` entry, at level ``beta``.

    Example:
        >>> steinke_bound(1000, [100, 100], [100, 50], delta=0.0, beta=0.05).round(2).tolist()
        [3.49, 0.0]
    """
    r, v = np.broadcast_arrays(np.asarray(guesses), np.asarray(correct))
    out = [_bound(int(m), int(a), int(b), float(delta), float(beta))
           for a, b in zip(r.ravel(), v.ravel())]
    return np.array(out, dtype=float).reshape(r.shape)


def steinke_bound_over_grid(m: int, guesses, correct, *, delta: float, beta: float):
    """Best bound over a grid of ``(k+, k-)`` (the last axis), each at ``beta / len(grid)``.

    Returns:
        ``(bound, best)``: the largest epsilon and the index of its pair, per row.
    """
    r, v = np.broadcast_arrays(np.asarray(guesses), np.asarray(correct))
    eps = steinke_bound(m, r, v, delta=delta, beta=beta / r.shape[-1])
    return eps.max(-1), eps.argmax(-1)


def steinke_audit(scores, included, *, delta: float, beta: float = 0.05, k_grid=None,
                  random_state: int = 0) -> dict:
    """Steinke et al.'s one-run bound, best over ``k_grid`` with a union bound.

    Returns:
        ``epsilon_lb``, ``beta``, ``k_plus``, ``k_minus``, ``guesses``, ``correct``, ``m``,
        ``grid_size``, ``delta``.
    """
    delta = check_number(delta, "delta", "steinke_audit", low=0.0, high=1.0)
    beta = check_number(beta, "beta", "steinke_audit", low=0.0, low_open=True, high=1.0)
    s, inc, grid = check_audit(scores, included, k_grid, "steinke_audit")
    r, v = count_correct(s, inc, grid, random_state=random_state)
    eps, best = steinke_bound_over_grid(len(s), r, v, delta=delta, beta=beta)
    best = int(best)
    return {"epsilon_lb": float(eps), "beta": beta, "k_plus": grid[best][0],
            "k_minus": grid[best][1], "guesses": int(r[best]), "correct": int(v[best]),
            "m": len(s), "grid_size": len(grid), "delta": delta}
