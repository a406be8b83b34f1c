"""Epsilon lower bounds from member / non-member *score samples*: Gaussian DP and
Clopper-Pearson (the many-run, multi-sample style of audit).

**What these bounds assume.** Every member score is an independent draw from one distribution
and every non-member score an independent draw from another (the two samples independent):
each score is one independent trial of the mechanism. That holds when every score comes from
its own training run (train ``R`` models, each with or without one canary: Jagielski et al.
2020, Nasr et al. 2021), or for a mechanism that treats its canaries independently, like the
simulations of the tests. It does **not** hold for the canaries of one trained model, whose
scores share the model; there, these numbers are estimates, not bounds (Nasr et al. 2023 and
Andrew et al. 2024 use them so, with many random gradient canaries in high dimension, where the
dependence is weak). The one-run bounds of :mod:`~sparsepriv_nb.auditing.fdp` and
:mod:`~sparsepriv_nb.auditing.steinke` need no such assumption.

* :func:`clopper_pearson_epsilon` - counts at one fixed threshold: with Clopper-Pearson bounds
  ``TPR_lo`` and ``FPR_hi`` (each at level ``beta / 2``),
  ``eps >= max(log((TPR_lo - delta) / FPR_hi), log((1 - delta - FPR_hi) / (1 - TPR_lo)))``.
* :func:`gdp_audit` - mu-GDP makes every test satisfy ``TPR <= Phi(Phi^{-1}(FPR) + mu)``, so
  ``mu >= Phi^{-1}(TPR_lo) - Phi^{-1}(FPR_hi)`` at every threshold (Dong, Roth & Su 2019;
  Nasr et al. 2023). The thresholds are the non-member scores at a fixed grid of ranks
  ``j`` (the ``j``-th highest): the FPR bound of such a data-chosen threshold is still valid
  (the true FPR of the ``j``-th highest of ``n0`` draws is ``Beta(j, n0 - j + 1)``, below the
  Clopper-Pearson bound for ``j`` of ``n0``), and given the non-members the thresholds are fixed
  for the members, so their TPR bound is an ordinary one. Each of the ``2 T`` bounds of ``T``
  thresholds is taken at level ``beta / (2 T)`` (union bound): ``mu >= mu_lb`` with probability at
  least ``1 - beta``. ``epsilon_lb`` is the epsilon at delta of ``mu_lb``-GDP, a lower bound on
  the mechanism's epsilon only if its trade-off curve is Gaussian.

Example:
    >>> rng = np.random.default_rng(0)
    >>> included = rng.random(2000) < 0.5
    >>> scores = rng.normal(size=2000) + 2.0 * included  # the Gaussian mechanism, mu = 2
    >>> out = gdp_audit(scores, included, delta=1e-5)
    >>> 1.0 < out["mu_lb"] < 2.0, out["beta"]
    (True, 0.05)

Lesson: notebook 06 (``06_dp_sgd_and_pruning``), section 6b.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special, stats

from .._checks import check_int, check_number
from ..metrics import check_scores
from .tradeoff import gdp_epsilon

__all__ = ["clopper_pearson", "clopper_pearson_epsilon", "default_ranks", "gdp_audit"]


def clopper_pearson(k, n, beta: float, side: str):
    """One-sided Clopper-Pearson bound on a binomial proportion from ``k`` of ``n``.

    ``side="upper"``: ``p <= bound`` with probability ``>= 1 - beta``; ``"lower"``: ``p >= bound``.

    Example:
        >>> round(float(clopper_pearson(0, 100, 0.05, "upper")), 4)  # the "rule of three"
        0.0295
    """
    k, n = np.asarray(k, dtype=float), np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        if side == "upper":
            return np.where(k >= n, 1.0, stats.beta.ppf(1 - beta, k + 1, np.maximum(n - k, 1)))
        return np.where(k <= 0, 0.0, stats.beta.ppf(beta, np.maximum(k, 1), n - k + 1))


def clopper_pearson_epsilon(tp: int, fn: int, fp: int, tn: int, delta: float,
                            beta: float = 0.05) -> float:
    """Many-run epsilon lower bound from the confusion counts of membership guesses.

    Valid when the guesses are *independent trials* (for example, one guess per training run,
    half of the runs with the canary): not for the many examples of one trained model, whose
    guesses are dependent (use the one-run bounds there). Both rates' bounds hold together with
    probability ``>= 1 - beta`` (``beta / 2`` each).

    Example:
        >>> round(clopper_pearson_epsilon(95, 5, 5, 95, delta=0.0), 2)  # 95 % TPR at 5 % FPR
        2.06
        >>> clopper_pearson_epsilon(50, 50, 50, 50, delta=0.0)  # coin flips
        0.0
    """
    owner = "clopper_pearson_epsilon"
    tp, fn, fp, tn = (check_int(v, name, owner, 0) for v, name in
                      ((tp, "tp"), (fn, "fn"), (fp, "fp"), (tn, "tn")))
    delta = check_number(delta, "delta", owner, low=0.0, high=1.0)
    beta = check_number(beta, "beta", owner, low=0.0, low_open=True, high=1.0)
    if tp + fn == 0 or fp + tn == 0:
        raise ValueError(f"{owner} needs at least one member (tp + fn) and one non-member "
                         f"(fp + tn). Got tp={tp}, fn={fn}, fp={fp}, tn={tn}.")
    tpr_lo = float(clopper_pearson(tp, tp + fn, beta / 2, "lower"))
    fpr_hi = float(clopper_pearson(fp, fp + tn, beta / 2, "upper"))
    candidates = [0.0]
    if tpr_lo - delta > 0 and fpr_hi > 0:
        candidates.append(math.log((tpr_lo - delta) / fpr_hi))
    if 1 - delta - fpr_hi > 0 and tpr_lo < 1:
        candidates.append(math.log((1 - delta - fpr_hi) / (1 - tpr_lo)))
    return max(candidates)


def default_ranks(n_nonmembers: int, n_thresholds: int = 20) -> np.ndarray:
    """Ranks ``j`` (the ``j``-th highest non-member score) used as thresholds: a geometric grid
    from 1 to half the non-members, so that low false-positive rates are tried.

    Example:
        >>> default_ranks(1000, 6).tolist()
        [1, 3, 12, 42, 144, 500]
    """
    top = max(1, n_nonmembers // 2)
    return np.unique(np.round(np.geomspace(1, top, n_thresholds)).astype(int))


def gdp_audit(scores, included, *, delta: float, beta: float = 0.05, ranks=None) -> dict:
    """Lower bound on mu (Gaussian DP) from score samples, and its epsilon at ``delta``.

    Read the module docstring for what it assumes (independent scores).

    Args:
        scores: membership score per example (higher = member).
        included: 0/1 per example: member or not.
        delta: the delta at which epsilon is reported.
        beta: failure probability (split over the ``2 T`` rate bounds).
        ranks: non-member ranks used as thresholds; default :func:`default_ranks`.

    Returns:
        ``mu_lb``, ``epsilon_lb``, ``beta``, ``threshold`` (the best one), ``tpr_lo``,
        ``fpr_hi`` (at it), ``n_thresholds``, ``n_members``, ``n_nonmembers``, ``delta``.
    """
    s, inc = check_scores(scores, included)
    delta = check_number(delta, "delta", "gdp_audit", low=0.0, high=1.0)
    beta = check_number(beta, "beta", "gdp_audit", low=0.0, low_open=True, high=1.0)
    members, others = np.sort(s[inc == 1]), np.sort(s[inc == 0])
    n1, n0 = len(members), len(others)
    ranks = default_ranks(n0) if ranks is None else np.unique(np.asarray(ranks, dtype=int))
    if not len(ranks) or ranks.min() < 1 or ranks.max() > n0:
        raise ValueError(f"The 'ranks' parameter of gdp_audit must be ranks in [1, {n0}] (the "
                         f"number of non-members). Got {ranks!r} instead.")
    thresholds = others[n0 - ranks]  # the j-th highest non-member score
    level = beta / (2 * len(ranks))
    fp = n0 - np.searchsorted(others, thresholds, side="left")  # "in" when score >= threshold
    tp = n1 - np.searchsorted(members, thresholds, side="left")
    fpr_hi = clopper_pearson(fp, n0, level, "upper")
    tpr_lo = clopper_pearson(tp, n1, level, "lower")
    with np.errstate(divide="ignore", invalid="ignore"):
        mus = np.nan_to_num(special.ndtri(tpr_lo) - special.ndtri(fpr_hi), nan=0.0,
                            neginf=0.0, posinf=0.0)
    best = int(np.argmax(mus))
    mu = max(0.0, float(mus[best]))
    eps = gdp_epsilon(mu, delta) if delta > 0 else (math.inf if mu > 0 else 0.0)
    return {"mu_lb": mu, "epsilon_lb": eps, "beta": beta, "threshold": float(thresholds[best]),
            "tpr_lo": float(tpr_lo[best]), "fpr_hi": float(fpr_hi[best]),
            "n_thresholds": len(ranks), "n_members": n1, "n_nonmembers": n0, "delta": delta}
