"""Privacy auditing: canaries, and empirical lower bounds on epsilon (docs/methods.md 6, 8).

An audit trains with ``m`` canaries, each included independently with probability 1/2, scores
them with an attack and turns the scores into a lower bound on epsilon that must sit below the
accountant's upper bound. One file per concept:

* :mod:`~sparsepriv_nb.auditing.canaries` - mislabelled, out-of-distribution and gradient
  canaries, inserted with a seeded draw; loss and gradient scores;
* :mod:`~sparsepriv_nb.auditing.guesses` - the one-run guessing game: ranking (ties broken by a
  seeded permutation), guesses and correct guesses per ``(k+, k-)``;
* :mod:`~sparsepriv_nb.auditing.tradeoff` - trade-off curves (Gaussian DP, (epsilon, delta))
  and the exact mu-GDP to (epsilon, delta) conversion;
* :mod:`~sparsepriv_nb.auditing.steinke` - Steinke, Nasr & Jagielski (2023), one run;
* :mod:`~sparsepriv_nb.auditing.fdp` - Mahloujifar, Melis & Chaudhuri (2025), one-run f-DP;
* :mod:`~sparsepriv_nb.auditing.gdp` - bounds from score samples (many-run style): Gaussian DP
  and Clopper-Pearson;
* :func:`audit_all` - the one-run bounds side by side, with their failure probability;
* :mod:`~sparsepriv_nb.auditing.models` - several models at once (:func:`audit_models`) and a
  computed verdict per model against its accountant (:func:`audit_verdicts`).

Example:
    >>> import numpy as np
    >>> from sparsepriv_nb.dp import audit_inclusion
    >>> inc = audit_inclusion(1000, seed=1)
    >>> scores = np.random.default_rng(0).normal(size=1000) + 3.0 * inc  # mu = 3 mechanism
    >>> audit_all(scores, inc, delta=1e-5)["epsilon_lb"].round(2).tolist()
    [3.55, 3.65, 5.33]

Lesson: notebook 06 (``06_dp_sgd_and_pruning``), section 6b.
"""

from .canaries import (canary_directions, dirac_canaries, dirac_scores, flat_parameters,
                       gradient_scores, insert_canaries, loss_scores, mislabel_canaries,
                       ood_canaries, quiet_pixels)
from .fdp import fdp_audit, fdp_bound, fdp_bound_over_grid, fdp_rejects
from .gdp import clopper_pearson, clopper_pearson_epsilon, default_ranks, gdp_audit
from .models import HEADLINE_BOUND, audit_models, audit_verdicts
from .guesses import check_audit, count_correct, default_k_grid, rank_order
from .steinke import steinke_audit, steinke_bound, steinke_bound_over_grid
from .summary import BOUNDS, audit_all
from .tradeoff import GAUSSIAN, TradeOff, eps_delta, gdp_delta, gdp_epsilon

__all__ = ["audit_all", "BOUNDS", "audit_models", "audit_verdicts", "HEADLINE_BOUND",
           "steinke_audit", "steinke_bound", "steinke_bound_over_grid",
           "fdp_audit", "fdp_bound", "fdp_bound_over_grid", "fdp_rejects", "gdp_audit",
           "clopper_pearson", "clopper_pearson_epsilon",
           "default_ranks", "count_correct", "rank_order", "default_k_grid", "check_audit",
           "GAUSSIAN", "TradeOff", "eps_delta", "gdp_delta", "gdp_epsilon", "mislabel_canaries",
           "ood_canaries", "dirac_canaries", "quiet_pixels", "canary_directions",
           "insert_canaries", "loss_scores", "gradient_scores", "dirac_scores",
           "flat_parameters"]
