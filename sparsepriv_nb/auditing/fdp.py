"""One-run audit of f-differential privacy (Mahloujifar, Melis & Chaudhuri, ICML 2025,
"Auditing f-Differential Privacy in One Run", arXiv 2410.22235).

The game is that of Steinke, Nasr & Jagielski (2023) (:mod:`~sparsepriv_nb.auditing.guesses`):
``m`` canaries, each included with probability 1/2, ``r`` guesses of which ``v`` are correct.
Steinke et al. bound the number of correct guesses by a binomial tail, which only uses the
(epsilon, delta) of the mechanism; this audit uses its whole trade-off curve ``f``
(:mod:`~sparsepriv_nb.auditing.tradeoff`) and is tighter for the same guesses.

**The test.** Write ``P_j = P[W = j]`` for the number ``W`` of correct guesses, and for a level
``i`` the "mass" of correct and of wrong guesses made in outcomes with at least ``i`` correct:
``R_i = sum_{j >= i} P_j j / m`` and ``H_i = sum_{j >= i} P_j (r - j) / m``, so that
``R_0 + H_0 = r / m``. Flipping the inclusion of one canary turns a correct guess with ``W >= i+1``
into a wrong one with ``W >= i`` on the same output, so f-DP (averaged over the canaries, with
the concavity of ``1 - f``) gives ``H_i >= inverse_blowup(R_{i+1})``; and
``R_i - R_{i+1} = i / (r - i) (H_i - H_{i+1})`` by definition. If ``P[W >= v] >= beta``, start
from ``R_v = beta v / m``, ``H_v = beta (r - v) / m`` and run these inequalities down to ``i = 0``:
the smallest possible ``R_0 + H_0``. When it exceeds ``r / m`` the assumption is impossible:
an f-DP mechanism gives ``v`` or more correct guesses with probability below ``beta``, and the
observed ``v`` *rejects* f at level ``beta`` (:func:`fdp_rejects`; the paper's Algorithm for the
membership game, ``k = 2`` choices per canary).

**The bound.** For a family ``f_theta`` that is less private as ``theta`` grows (mu of Gaussian DP,
or epsilon at a fixed delta), rejection is monotone in ``theta``; :func:`fdp_bound` searches for the
largest ``theta`` rejected. :func:`fdp_audit` does this for every ``(k+, k-)`` of a grid, each at
level ``beta / len(grid)`` (a union bound, so taking the best pair is honest): with probability at
least ``1 - beta`` over the random inclusion, the mechanism is not ``f_theta``-DP for any ``theta``
below the returned one.

* ``family="eps_delta"``: a lower bound on epsilon at the given delta, with no assumption on the
  mechanism (it is an (epsilon, delta)-DP statement).
* ``family="gdp"``: a lower bound on mu; its ``epsilon_lb`` is the epsilon at delta of
  ``mu_lb``-GDP (:func:`~sparsepriv_nb.auditing.tradeoff.gdp_epsilon`). That conversion is a
  lower bound on the mechanism's epsilon *only if its trade-off curve is Gaussian* (DP-SGD after
  many steps is close to it); a mechanism with another curve (randomised response) can be
  ``(eps, delta)``-DP with a smaller epsilon while not being ``mu_lb``-GDP.

Example:
    >>> rejected = fdp_rejects(1000, 100, 100, GAUSSIAN, [1.0, 2.0], beta=0.05)
    >>> rejected.tolist()  # 100 of 100 right rules out 1-GDP, not 2-GDP
    [True, False]

Lesson: notebook 06 (``06_dp_sgd_and_pruning``), section 6b.
"""

from __future__ import annotations

import math

import numpy as np

from .._checks import check_int, check_number, check_choice
from .guesses import check_audit, count_correct
from .tradeoff import GAUSSIAN, TradeOff, eps_delta, gdp_epsilon

__all__ = ["fdp_rejects", "fdp_bound", "fdp_bound_over_grid", "fdp_audit"]

_COMPACT_EVERY = 32
#: Points tried per bracket and pass. 1 is bisection; more points mean fewer passes over the
#: levels but more special-function evaluations, which dominate for the Gaussian curve (15
#: points were 4x slower than bisection on 200 runs x 21 pairs at m = 1000).
_SPLITS = 1


def _check_level(beta, owner: str) -> float:
    return check_number(beta, "beta", owner, low=0.0, low_open=True, high=1.0)


def _excess_mass(m: int, r, v, family: TradeOff, theta, beta) -> np.ndarray:
    """``R_0 + H_0 - r / m`` of the recursion (any positive value: rejected), vectorised.

    Entries are sorted by ``v`` (descending) so that the entries whose recursion has started at
    level ``i`` (those with ``v > i``) are a prefix, updated in place; entries whose mass
    already exceeds ``r / m`` (the masses only grow as ``i`` falls) are set aside every few
    levels.
    """
    r, v, theta, beta = (np.array(a, dtype=float).ravel() for a in
                         np.broadcast_arrays(r, v, theta, beta))
    idx = np.argsort(-v, kind="stable")  # original position of each live entry
    r, v, theta = r[idx], v[idx], theta[idx]
    corr, wrong = beta[idx] * v / m, beta[idx] * (r - v) / m
    excess = np.empty(len(idx))
    for i in range(int(v.max()) - 1 if len(v) else -1, -1, -1):
        n = int(np.searchsorted(-v, -i, side="left"))  # entries with v > i
        h_new = np.maximum(wrong[:n], family.inverse_blowup(corr[:n], theta[:n]))
        corr[:n] += i / (r[:n] - i) * (h_new - wrong[:n])
        wrong[:n] = h_new
        if i % _COMPACT_EVERY == 0:
            over = corr + wrong > r / m
            excess[idx[over]] = 1.0
            keep = ~over
            idx, r, v, theta, corr, wrong = (a[keep] for a in (idx, r, v, theta, corr, wrong))
            if not len(idx):
                break
    excess[idx] = corr + wrong - r / m
    return excess


def fdp_rejects(m: int, guesses, correct, family: TradeOff, theta, *, beta: float
                ) -> np.ndarray:
    """Whether ``correct`` of ``guesses`` right rejects ``f_theta``-DP at level ``beta``.

    True means: under any ``f_theta``-DP mechanism, ``correct`` or more right guesses out of
    ``guesses`` have probability below ``beta`` (module docstring). Broadcasts over
    ``guesses``, ``correct`` and ``theta``.

    Args:
        m: number of audit examples (each included with probability 1/2).
        guesses: number of guesses ``r`` (``<= m``).
        correct: number of correct guesses ``v`` (``<= r``).
        family: :data:`~sparsepriv_nb.auditing.tradeoff.GAUSSIAN` or
            :func:`~sparsepriv_nb.auditing.tradeoff.eps_delta`.
        theta: the family's parameter (mu, or epsilon).
        beta: the level (failure probability) of the test.
    """
    m = check_int(m, "m", "fdp_rejects", 1)
    beta = _check_level(beta, "fdp_rejects")
    r, v = np.asarray(guesses), np.asarray(correct)
    if np.any(v < 0) or np.any(v > r) or np.any(r > m):
        raise ValueError(f"fdp_rejects needs 0 <= correct <= guesses <= m = {m}. "
                         f"Got guesses={guesses!r}, correct={correct!r}.")
    shape = np.broadcast_shapes(r.shape, v.shape, np.shape(theta))
    return (_excess_mass(m, r, v, family, theta, beta) > 0).reshape(shape)


def fdp_bound(m: int, guesses, correct, family: TradeOff, *, beta: float,
              tol: float = 1e-3) -> np.ndarray:
    """Largest ``theta`` rejected at level ``beta`` (0 if none), per entry, to within ``tol``.

    Example:
        >>> np.round(fdp_bound(1000, [100, 100], [100, 50], GAUSSIAN, beta=0.05), 2).tolist()
        [1.22, 0.0]
    """
    m = check_int(m, "m", "fdp_bound", 1)
    beta = _check_level(beta, "fdp_bound")
    r, v = (np.asarray(a).ravel() for a in np.broadcast_arrays(guesses, correct))
    ends = fdp_rejects(m, r[:, None], v[:, None], family, [0.0, family.upper], beta=beta)
    lo = np.where(ends[:, 1], family.upper, 0.0)
    hi = np.full(len(r), family.upper)
    todo = np.flatnonzero(ends[:, 0] & ~ends[:, 1])
    # Bracketing search: each pass tries _SPLITS points inside every bracket at once (one
    # vectorised recursion) and keeps the sub-bracket where rejection stops (it is monotone).
    while len(todo) and np.max(hi[todo] - lo[todo]) > tol:
        a, b = lo[todo], hi[todo]
        grid = a[:, None] + (b - a)[:, None] * np.arange(1, _SPLITS + 1) / (_SPLITS + 1)
        rej = fdp_rejects(m, r[todo, None], v[todo, None], family, grid, beta=beta)
        k = rej.sum(1)  # rejected candidates form a prefix
        lo[todo] = np.where(k > 0, grid[np.arange(len(todo)), np.maximum(k - 1, 0)], a)
        hi[todo] = np.where(k < _SPLITS, grid[np.arange(len(todo)), np.minimum(k, _SPLITS - 1)],
                            b)
    return lo.reshape(np.broadcast_shapes(np.shape(guesses), np.shape(correct)))


def fdp_bound_over_grid(m: int, guesses, correct, family: TradeOff, *, beta: float):
    """Best bound over the ``(k+, k-)`` pairs of a grid, each tried at ``beta / len(grid)``.

    ``guesses`` and ``correct`` have the grid on their last axis (any leading axes, e.g. one
    row per simulated run, are kept): the union bound makes the best pair a valid bound at
    level ``beta``.

    Returns:
        ``(bound, best)``: the largest ``theta`` rejected and the index of its pair, per row.

    Example:
        >>> bound, best = fdp_bound_over_grid(1000, [[100, 200]], [[95, 180]], GAUSSIAN,
        ...                                   beta=0.05)
        >>> bound.round(2).tolist(), best.tolist()
        ([0.73], [0])
    """
    r, v = np.broadcast_arrays(np.asarray(guesses), np.asarray(correct))
    theta = fdp_bound(m, r, v, family, beta=beta / r.shape[-1])
    return theta.max(-1), theta.argmax(-1)


def fdp_audit(scores, included, *, delta: float, beta: float = 0.05, family: str = "eps_delta",
              k_grid=None, random_state: int = 0) -> dict:
    """One-run f-DP lower bound from audit scores (module docstring).

    Args:
        scores: membership score per audit example (higher = member).
        included: 0/1 per example: was it in the training set (drawn with probability 1/2).
        delta: the delta at which epsilon is reported.
        beta: failure probability of the bound (split over the grid by a union bound).
        family: ``"eps_delta"`` (epsilon at ``delta``, no assumption) or ``"gdp"`` (mu, and
            the epsilon at ``delta`` of mu-GDP: valid only for Gaussian-shaped curves).
        k_grid: ``(k+, k-)`` pairs; ``None`` for
            :func:`~sparsepriv_nb.auditing.guesses.default_k_grid`.
        random_state: seed of the tie-breaking permutation.

    Returns:
        ``epsilon_lb``, ``mu_lb`` (``gdp`` only, else None), ``beta``, ``k_plus``,
        ``k_minus``, ``guesses``, ``correct`` (of the best pair), ``m``, ``grid_size``,
        ``delta``, ``family``.

    Example:
        >>> from sparsepriv_nb.dp import audit_inclusion
        >>> inc = audit_inclusion(1000, seed=0)
        >>> out = fdp_audit(inc.astype(float), inc, delta=1e-5)  # a perfect attack
        >>> round(out["epsilon_lb"], 2), out["guesses"], out["correct"]
        (4.41, 500, 500)
    """
    check_choice(family, ("eps_delta", "gdp"), "family", "fdp_audit")
    delta = check_number(delta, "delta", "fdp_audit", low=0.0, high=1.0)
    beta = _check_level(beta, "fdp_audit")
    s, inc, grid = check_audit(scores, included, k_grid, "fdp_audit")
    r, v = count_correct(s, inc, grid, random_state=random_state)
    fam = GAUSSIAN if family == "gdp" else eps_delta(delta)
    theta, best = fdp_bound_over_grid(len(s), r, v, fam, beta=beta)
    best = int(best)
    mu = float(theta) if family == "gdp" else None
    if family == "gdp":
        eps = gdp_epsilon(mu, delta) if delta > 0 else (math.inf if mu > 0 else 0.0)
    else:
        eps = float(theta)
    return {"epsilon_lb": eps, "mu_lb": mu, "beta": beta, "k_plus": grid[best][0],
            "k_minus": grid[best][1], "guesses": int(r[best]), "correct": int(v[best]),
            "m": len(s), "grid_size": len(grid), "delta": delta, "family": family}
