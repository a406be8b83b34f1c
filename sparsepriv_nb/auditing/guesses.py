"""The guessing game of a one-run audit: rank the audit examples, guess, count the correct guesses.

``m`` audit examples (canaries) are each included in training independently with probability
1/2 (:func:`sparsepriv_nb.dp.audit_inclusion`). After training, an attack scores every example
(higher = "member"); the auditor guesses "in" for the ``k+`` highest scores and "out" for the
``k-`` lowest and abstains on the rest. The bounds of :mod:`~sparsepriv_nb.auditing.fdp` and
:func:`sparsepriv_nb.dp.one_run_epsilon_bound` turn ``(guesses, correct)`` into an epsilon.

**Ties.** Examples with equal scores are ranked by a permutation drawn from ``random_state``,
independently of the inclusion bits (:func:`sparsepriv_nb.dp.audit.rank_order`, the one
ranking of every one-run audit here, :func:`sparsepriv_nb.dp.audit_epsilon`'s included).
Ranking them by input position instead (a stable sort) is a bug when the input order is
related to inclusion (members listed first, say): with ``m`` identical scores it would guess
every member right and "prove" an arbitrarily large epsilon.
With a seeded permutation, tied examples are guessed at random, as a fair coin would, so the
bounds stay valid whatever the input order. (No rule can make the *count* of a tied block that
straddles a cut independent of the input order without looking at inclusion; what is
independent of it is its distribution.)

Example:
    >>> scores = [0.9, 0.1, 0.8, 0.2, 0.5, 0.5]
    >>> included = [1, 0, 1, 0, 1, 0]
    >>> guesses, correct = count_correct(scores, included, [(2, 0), (2, 2)])
    >>> guesses.tolist(), correct.tolist()
    ([2, 4], [2, 4])

Lesson: notebook 06 (``06_dp_sgd_and_pruning``), sections 6 and 6b.
"""

from __future__ import annotations

import numpy as np

from ..dp.audit import default_k_grid, guess_counts, rank_order
from ..metrics import check_scores

__all__ = ["default_k_grid", "check_audit", "rank_order", "count_correct"]


def check_audit(scores, included, k_grid, owner: str):
    """Validate ``scores`` (finite, 1-D), ``included`` (0/1, both present) and ``k_grid``
    (``None`` for :func:`default_k_grid`); return them as arrays and a list of pairs."""
    s, inc = check_scores(scores, included)
    m = len(s)
    grid = default_k_grid(m) if k_grid is None else [tuple(p) for p in k_grid]
    ok = bool(grid) and all(len(p) == 2 and all(isinstance(k, (int, np.integer)) for k in p)
                            and min(p) >= 0 and 0 < p[0] + p[1] <= m for p in grid)
    if not ok:
        raise ValueError(f"The 'k_grid' parameter of {owner} must be a non-empty list of integer "
                         f"pairs (k+, k-) with 0 < k+ + k- <= m = {m}. Got {k_grid!r} instead.")
    return s, inc.astype(bool), [(int(a), int(b)) for a, b in grid]


def count_correct(scores, included, k_grid=None, *, random_state: int = 0):
    """Number of guesses and of correct guesses for every ``(k+, k-)`` of ``k_grid``.

    Args:
        scores: membership score per audit example (higher = member).
        included: 0/1 per example: was it in the training set.
        k_grid: ``(k+, k-)`` pairs; ``None`` for :func:`default_k_grid`.
        random_state: seed of the tie-breaking permutation.

    Returns:
        Two int arrays, ``guesses`` (``k+ + k-``) and ``correct``, one entry per pair.
    """
    s, inc, grid = check_audit(scores, included, k_grid, "count_correct")
    return guess_counts(s, inc, grid, random_state=random_state)
