"""Auditing DP training from one run: an empirical lower bound on epsilon.

Steinke, Nasr & Jagielski (2023): include each of ``m`` audit examples in training
independently with probability 1/2 (:func:`audit_inclusion`), train once, score every
audit example, guess "in" for the highest scores and "out" for the lowest, and turn the
number of correct guesses into an epsilon that (epsilon, delta)-DP training would make
unlikely (:func:`audit_epsilon`, with :func:`audit_p_value` and
:func:`one_run_epsilon_bound`). :func:`bound_sentence` says what a bound checks: a positive
bound below the accountant's epsilon is consistent with it, a bound of 0 checks nothing.

The guessing step, :func:`rank_order` and :func:`guess_counts`, is the one of every one-run
audit of the package (:mod:`sparsepriv_nb.auditing` reads its guesses from here too), so the two
give the same guesses for the same scores and seed, ties included. **Ties:** examples with
equal scores are ranked by a seeded permutation ``key = default_rng(seed).permutation(m)``:
of two tied examples ``i`` and ``j``, ``i`` ranks higher when ``key[i] < key[j]``. The key is
drawn without looking at the inclusion bits, so a tied block is guessed at random, as the bound
requires (docs/methods.md 6; ranking ties by input position would let the order of the examples
guess: with members listed first, constant scores would "guess" every member right).

Lesson: notebook 06 (``06_dp_sgd_and_pruning``), section 7.

Example:
    >>> inc = audit_inclusion(1000, seed=0)
    >>> audit_epsilon(inc.astype(float), inc, delta=1e-5)["epsilon_lb"] > 2  # perfect scores
    True
    >>> audit_epsilon(np.zeros(1000), inc, delta=1e-5)["epsilon_lb"]  # no information
    0.0
"""

from __future__ import annotations

import math

import numpy as np

from .._checks import ParameterError, check_int, check_number

__all__ = ["audit_inclusion", "audit_p_value", "one_run_epsilon_bound", "audit_epsilon",
           "default_k_grid", "bound_sentence", "rank_order", "guess_counts"]


def audit_inclusion(m: int, *, seed: int) -> np.ndarray:
    """Include each of ``m`` audit examples independently with probability 1/2 (seeded).

    Example:
        >>> audit_inclusion(8, seed=0).astype(int).tolist()
        [0, 1, 1, 1, 0, 0, 0, 0]
    """
    m = check_int(m, "m", "audit_inclusion", 1)
    return np.random.default_rng(seed).random(m) < 0.5


def audit_p_value(m: int, r: int, v: int, epsilon: float, delta: float) -> float:
    """Probability bound for ``>= v`` correct guesses out of ``r`` under (epsilon, delta)-DP.

    Steinke, Nasr & Jagielski (2023), Theorem 3.1 and their Algorithm for ``delta > 0``:
    ``P[W >= v] <= P[Binomial(r, e^eps/(1+e^eps)) >= v] + 2 m delta * alpha`` with
    ``alpha = max_{i = 1..v} P[v > Binomial(r, .) >= v - i] / i``.

    Example:
        >>> round(audit_p_value(100, 10, 10, 0.0, 0.0), 6)  # 10 of 10 right by coin flips
        0.000977
    """
    from scipy import stats

    if not 0 <= v <= r <= m:
        raise ParameterError(f"The 'v', 'r' and 'm' parameters of audit_p_value must satisfy "
                             f"0 <= v <= r <= m. Got m={m}, r={r}, v={v} instead.")
    q = 1.0 / (1.0 + math.exp(-epsilon))
    beta = float(stats.binom.sf(v - 1, r, q))
    alpha, total = 0.0, 0.0
    if delta > 0:
        pmf = stats.binom.pmf(np.arange(v - 1, -1, -1), r, q)  # v-1, v-2, ..., 0
        cums = np.cumsum(pmf)
        if len(cums):
            alpha = float(np.max(cums / np.arange(1, v + 1)))
        total = alpha * delta * 2 * m
    return min(beta + total, 1.0)


def one_run_epsilon_bound(m: int, r: int, v: int, *, delta: float, beta: float = 0.05,
                          tol: float = 1e-4) -> float:
    """Largest epsilon rejected at level ``beta``: ``audit_p_value(eps) < beta``; 0 if none.

    Example:
        >>> round(one_run_epsilon_bound(1000, 100, 100, delta=0.0), 2)  # 100/100 right
        3.49
        >>> one_run_epsilon_bound(1000, 100, 50, delta=0.0)  # chance level
        0.0
    """
    check_number(beta, "beta", "one_run_epsilon_bound", low=0, low_open=True, high=1)
    check_number(delta, "delta", "one_run_epsilon_bound", low=0, high=1)
    if r == 0 or audit_p_value(m, r, v, 0.0, delta) >= beta:
        return 0.0
    lo, hi = 0.0, 1.0
    while audit_p_value(m, r, v, hi, delta) < beta:
        lo, hi = hi, hi * 2
        if hi > 200:
            return lo
    while hi - lo > tol:
        mid = (lo + hi) / 2
        if audit_p_value(m, r, v, mid, delta) < beta:
            lo = mid
        else:
            hi = mid
    return lo


def default_k_grid(m: int) -> list[tuple[int, int]]:
    """``(k+, k-)`` pairs tried by default: ``k`` in 5, 10, 20, 50, ... with ``2k <= m``, each as
    ``(k, 0)``, ``(0, k)`` and ``(k, k)``; shared by :func:`audit_epsilon` and
    :mod:`sparsepriv_nb.auditing`.

    Example:
        >>> default_k_grid(20)
        [(5, 0), (0, 5), (5, 5), (10, 0), (0, 10), (10, 10)]
    """
    ks = [k for k in (5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000) if 2 * k <= m]
    return [pair for k in ks for pair in ((k, 0), (0, k), (k, k))]


def rank_order(scores, *, random_state: int = 0) -> np.ndarray:
    """Indices of ``scores`` from the highest to the lowest, ties in a seeded random order.

    Of two equal scores ``i`` and ``j``, ``i`` comes first when ``key[i] < key[j]``, with
    ``key = numpy.random.default_rng(random_state).permutation(len(scores))`` (the module's
    tie rule: independent of which examples were included).

    Example:
        >>> rank_order([0.0, 1.0, 0.0, 0.0], random_state=0).tolist()
        [1, 2, 0, 3]
        >>> np.random.default_rng(0).permutation(4).tolist()  # key[2] < key[0] < key[3]
        [2, 0, 1, 3]
    """
    s = np.asarray(scores, dtype=float)
    key = np.random.default_rng(random_state).permutation(len(s))
    return np.lexsort((key, -s))  # the last key is the primary one


def guess_counts(scores, included, k_grid, *, random_state: int = 0):
    """Guesses and correct guesses for every ``(k+, k-)`` of ``k_grid``: "in" for the ``k+``
    first of :func:`rank_order`, "out" for the ``k-`` last, abstain on the rest.

    The inputs are not checked (:func:`audit_epsilon` and
    :func:`sparsepriv_nb.auditing.count_correct` validate them first).

    Returns:
        Two int arrays, ``guesses`` (``k+ + k-``) and ``correct``, one entry per pair.

    Example:
        >>> r, v = guess_counts([0.9, 0.1, 0.8, 0.2], [1, 0, 0, 0], [(1, 0), (2, 2)])
        >>> r.tolist(), v.tolist()
        ([1, 4], [1, 3])
    """
    ranked = np.asarray(included, dtype=bool)[rank_order(scores, random_state=random_state)]
    top = np.concatenate([[0], np.cumsum(ranked)])  # members among the k highest
    bottom = np.concatenate([[0], np.cumsum(~ranked[::-1])])  # non-members among the k lowest
    kp, km = np.array(k_grid).T
    return kp + km, top[kp] + bottom[km]


def audit_epsilon(scores, included, *, delta: float, beta: float = 0.05,
                  k_grid: list[tuple[int, int]] | None = None, seed: int = 0) -> dict:
    """Empirical epsilon lower bound from one training run (Steinke, Nasr & Jagielski 2023).

    The ``m`` audit examples were each included in training independently with probability
    1/2 (:func:`audit_inclusion`). Guess "in" for the ``k+`` highest membership scores and
    "out" for the ``k-`` lowest, abstain on the rest; with ``v`` correct out of
    ``r = k+ + k-``, any (epsilon, delta)-DP training makes ``v`` unlikely (probability
    ``< beta``) for every epsilon below the returned bound. Each ``(k+, k-)`` of ``k_grid``
    is tried at level ``beta / len(k_grid)`` (union bound), so picking the best is honest.

    Unlike a Clopper-Pearson interval over the members and non-members of one model (whose
    guesses are not independent trials), this bound holds with probability ``>= 1 - beta``
    over the random inclusion.

    The guesses are :func:`guess_counts`' (those of :mod:`sparsepriv_nb.auditing` too): ties
    between scores are broken by the permutation :func:`rank_order` draws from ``seed``,
    independent of the inclusion bits, so the guesses are a function of the scores and of
    coins of their own, as the bound requires. Constant scores give chance-level guesses,
    hence a bound of 0 unless the coins are lucky (probability below ``beta``).

    Args:
        scores: membership score per audit example (higher = member).
        included: bool per audit example: was it in the training set.
        delta: the delta of the guarantee being audited.
        beta: failure probability of the bound.
        k_grid: ``(k+, k-)`` pairs; default ``k`` in 5, 10, 20, 50, ... (``2k <= m``) as
            ``(k, 0)``, ``(0, k)`` and ``(k, k)``.
        seed: seeds the permutation that breaks ties between equal scores.

    Returns:
        ``epsilon_lb``, ``k_plus``, ``k_minus``, ``guesses``, ``correct``, ``m``, ``beta``,
        ``grid_size``, ``delta``.

    Example:
        >>> inc = audit_inclusion(1000, seed=0)
        >>> audit_epsilon(inc.astype(float), inc, delta=1e-5)["epsilon_lb"] > 2  # perfect
        True
    """
    s = np.asarray(scores, dtype=float)
    inc = np.asarray(included)
    if s.ndim != 1 or inc.shape != s.shape:
        raise ParameterError(f"The 'scores' and 'included' parameters of audit_epsilon must be "
                             f"1-D of the same length. Got shapes {s.shape} and {inc.shape}.")
    if not np.isfinite(s).all():
        raise ParameterError("The 'scores' parameter of audit_epsilon must be finite. Got NaN "
                             "or infinite values.")
    check_number(delta, "delta", "audit_epsilon", low=0, high=1)
    check_number(beta, "beta", "audit_epsilon", low=0, low_open=True, high=1)
    check_int(seed, "seed", "audit_epsilon", 0)
    inc = inc.astype(bool)
    m = len(s)
    grid = list(k_grid) if k_grid is not None else default_k_grid(m)
    if not grid or any(kp < 0 or km < 0 or kp + km > m or kp + km == 0 for kp, km in grid):
        raise ParameterError(f"The 'k_grid' parameter of audit_epsilon must be non-empty pairs "
                             f"(k+, k-) with 0 < k+ + k- <= m = {m}. Got {k_grid!r} instead.")
    guesses, correct = guess_counts(s, inc, grid, random_state=seed)
    best = {"epsilon_lb": 0.0, "k_plus": grid[0][0], "k_minus": grid[0][1], "guesses": 0,
            "correct": 0}
    level = beta / len(grid)
    for (kp, km), r, v in zip(grid, guesses.tolist(), correct.tolist()):
        eps = one_run_epsilon_bound(m, r, v, delta=delta, beta=level)
        if eps > best["epsilon_lb"] or best["guesses"] == 0:
            best = {"epsilon_lb": eps, "k_plus": kp, "k_minus": km, "guesses": r,
                    "correct": v}
    return {**best, "m": m, "beta": beta, "grid_size": len(grid), "delta": delta}


def bound_sentence(accountant: float, epsilon_lb: float, *, guesses: int | None = None,
                   correct: int | None = None, grid_size: int | None = None,
                   source: str = "", grid_parts: dict | None = None,
                   k_plus: int | None = None, k_minus: int | None = None,
                   label: str = "lower bound") -> str:
    """What an audited lower bound says about the accountant's epsilon, in words.

    A positive bound at or below the accountant's epsilon is *consistent* with it (and names
    the guesses it rests on); above it, *INCONSISTENT* (a bug, or the ``beta`` chance that the
    bound fails). A bound of 0 means no guess set beat a fair coin: it is *vacuous* and checks
    nothing, whatever the number of guesses behind it (so none is named). A non-private model
    (``accountant = inf``) has nothing to check.

    Args:
        accountant: the accountant's epsilon (``inf`` for a non-private model).
        epsilon_lb: the audited lower bound (>= 0).
        guesses, correct: of the guess set the bound comes from (shown for positive bounds).
        grid_size: how many guess sets were tried (shown for a bound of 0).
        source: what was audited ("natural examples", "canaries"), shown after the bound.
        grid_parts: ``{source: guess sets tried}`` when ``grid_size`` adds up several audits
            (shown after the total of a bound of 0, so that 21 + 15 = 36 is not a mystery).
        k_plus, k_minus: the guess set of a positive bound, ``k+`` "in" for the highest scores
            and ``k-`` "out" for the lowest (shown with the guesses when both are given).
        label: the words naming the bound (e.g. ``"Steinke lower bound"`` where another bound
            of the same guesses is quoted elsewhere).

    Example:
        >>> bound_sentence(0.99, 0.173, guesses=200, correct=130)
        'lower bound 0.17 (130/200 guesses right) <= accountant 0.99: consistent'
        >>> bound_sentence(0.99, 0.0, guesses=5, correct=3, grid_size=21)
        'lower bound 0: vacuous, no check of accountant 0.99; none of the 21 guess sets tried beat a fair coin'
        >>> bound_sentence(0.99, 0.0, grid_size=36,
        ...                grid_parts={"natural examples": 21, "canaries": 15})[52:]
        ' none of the 36 guess sets tried, 21 on natural examples and 15 on canaries, beat a fair coin'
        >>> bound_sentence(0.99, 0.173, guesses=200, correct=130, k_plus=0, k_minus=200)
        "lower bound 0.17 (130/200 guesses right: 0 'in', 200 'out') <= accountant 0.99: consistent"
        >>> bound_sentence(float("inf"), 3.03, guesses=200, correct=200, source="canaries")
        'lower bound 3.03 from canaries (200/200 guesses right); no accountant (not private), nothing to check'
        >>> bound_sentence(0.99, 0.173, guesses=200, correct=130, label="Steinke lower bound")[:28]
        'Steinke lower bound 0.17 (13'
    """  # noqa: E501
    if isinstance(accountant, (float, np.floating)) and accountant == math.inf:
        eps = math.inf
    else:
        eps = check_number(accountant, "accountant", "bound_sentence", low=0)
    lb = check_number(epsilon_lb, "epsilon_lb", "bound_sentence", low=0)
    where = f" from {source}" if source else ""
    if lb <= 0:
        tried = (f"none of the {grid_size} guess sets tried" if grid_size else "no guess set")
        if grid_size and grid_parts:
            parts = [f"{n} on {k}" for k, n in grid_parts.items()]
            tried += (", " + ", ".join(parts[:-1]) + (" and " if len(parts) > 1 else "")
                      + parts[-1] + ",")
        head = f"{label} 0{where}: vacuous, "
        tail = f"; {tried} beat a fair coin"
        if math.isinf(eps):
            return head + "and no accountant (not private)" + tail
        return head + f"no check of accountant {eps:.2f}" + tail
    split = (f": {k_plus} 'in', {k_minus} 'out'" if k_plus is not None and k_minus is not None
             else "")
    right = f" ({correct}/{guesses} guesses right{split})" if guesses else ""
    head = f"{label} {lb:.2f}{where}{right}"
    if math.isinf(eps):
        return head + "; no accountant (not private), nothing to check"
    if lb <= eps:
        return head + f" <= accountant {eps:.2f}: consistent"
    return (head + f" > accountant {eps:.2f}: INCONSISTENT (a bug in training or accounting, "
            "or the chance beta that the audit's bound fails)")
