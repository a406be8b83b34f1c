"""Trade-off curves of f-differential privacy and the Gaussian-DP / (epsilon, delta) conversion.

A mechanism is *f-DP* (Dong, Roth & Su 2019, "Gaussian differential privacy") when every test
between two neighbouring datasets with type-I error ``x`` has type-II error at least ``f(x)``.
Two families are used by the audits of this package, each *monotone* in its parameter (a larger
parameter gives a lower curve, i.e. less privacy), which is what lets an audit bisect on it:

* :data:`GAUSSIAN` - mu-GDP, ``f_mu(x) = Phi(Phi^{-1}(1 - x) - mu)``: the curve of one Gaussian
  mechanism of sensitivity 1 and noise 1/mu (and, by the central limit theorem of composition,
  close to that of DP-SGD after many steps);
* :func:`eps_delta` - ``f_{eps,delta}(x) = max(0, 1 - delta - e^eps x, e^-eps (1 - delta - x))``,
  the curve that is exactly the (epsilon, delta)-DP guarantee at a fixed delta.

An audit uses a curve through its *inverse blow-up*: ``f``-DP bounds the probability of any
event ``E`` under one dataset by ``1 - f(P'[E])`` under the neighbour, so
``P'[E] >= inverse_blowup(P[E])`` (:meth:`TradeOff.inverse_blowup`, the smallest ``x`` with
``1 - f(x) >= y``).

:func:`gdp_delta` and :func:`gdp_epsilon` convert mu-GDP to its exact (epsilon, delta) profile
(Dong, Roth & Su 2019, Corollary 2.13):
``delta(eps) = Phi(-eps/mu + mu/2) - e^eps Phi(-eps/mu - mu/2)``.

Example:
    >>> round(float(GAUSSIAN.curve(0.5, 1.0)), 4)  # 1-GDP: a test at 50 % type I errs 16 % type II
    0.1587
    >>> round(gdp_epsilon(1.0, 1e-5), 3)
    4.377

Lesson: notebook 06 (``06_dp_sgd_and_pruning``), section 6b.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
from scipy import optimize, special

from .._checks import check_number

__all__ = ["TradeOff", "GAUSSIAN", "eps_delta", "gdp_delta", "gdp_epsilon"]


@dataclass(frozen=True)
class TradeOff:
    """A family of trade-off curves ``f_theta``, lower (less private) as ``theta`` grows.

    Attributes:
        name: short name, used in audit tables.
        parameter: what ``theta`` is (``"mu"``, ``"epsilon"``).
        curve: ``curve(x, theta) -> f_theta(x)`` (NumPy broadcasting).
        inverse_blowup: ``inverse_blowup(y, theta)``: the smallest ``x`` with
            ``1 - f_theta(x) >= y`` (broadcasting; ``y`` in [0, 1]).
        upper: the largest ``theta`` an audit searches (a bound equal to it means "at least").
    """

    name: str
    parameter: str
    curve: Callable
    inverse_blowup: Callable
    upper: float


def _gauss_curve(x, mu):
    return special.ndtr(special.ndtri(1.0 - np.asarray(x, dtype=float)) - mu)


def _gauss_inverse_blowup(y, mu):
    # 1 - f_mu(x) = Phi(Phi^{-1}(x) + mu), whose inverse is Phi(Phi^{-1}(y) - mu).
    return special.ndtr(special.ndtri(np.clip(y, 0.0, 1.0)) - mu)


#: mu-Gaussian DP; audits search ``mu`` in [0, 30] (mu = 30 is a mechanism that leaks every bit).
GAUSSIAN = TradeOff("gdp", "mu", _gauss_curve, _gauss_inverse_blowup, 30.0)


def eps_delta(delta: float) -> TradeOff:
    """The (epsilon, delta)-DP trade-off curves at a fixed ``delta``, as a family in epsilon.

    Example:
        >>> fam = eps_delta(0.0)
        >>> round(float(fam.curve(0.1, math.log(2))), 3)  # pure ln 2-DP: 1 - 2 * 0.1
        0.8
        >>> round(float(fam.inverse_blowup(0.2, math.log(2))), 3)  # P'[E] >= P[E] / 2
        0.1
    """
    delta = check_number(delta, "delta", "eps_delta", low=0.0, high=1.0)

    def curve(x, eps):
        x = np.asarray(x, dtype=float)
        return np.maximum.reduce([np.zeros_like(x + eps), 1 - delta - np.exp(eps) * x,
                                  np.exp(-eps) * (1 - delta - x)])

    def inverse_blowup(y, eps):
        # 1 - f(x) = min(1, delta + e^eps x, 1 - e^-eps (1 - delta - x)) is concave and
        # increasing, so its inverse is the maximum of the inverses of its pieces.
        y = np.clip(y, 0.0, 1.0)
        return np.maximum.reduce([np.zeros_like(y + eps), np.exp(-eps) * (y - delta),
                                  1 - delta - np.exp(eps) * (1 - y)])

    return TradeOff("eps_delta", "epsilon", curve, inverse_blowup, 50.0)


def _log_delta(eps: float, mu: float) -> float:
    a, b = special.log_ndtr(-eps / mu + mu / 2), special.log_ndtr(-eps / mu - mu / 2)
    gap = eps + b - a  # log of the ratio of the two terms, < 0
    return float(a + np.log1p(-np.exp(gap))) if gap < 0 else -math.inf


def gdp_delta(mu: float, epsilon: float) -> float:
    """The smallest delta with mu-GDP implying (epsilon, delta)-DP.

    Example:
        >>> round(gdp_delta(1.0, 0.0), 4)  # = total variation 2 Phi(mu/2) - 1
        0.3829
    """
    mu = check_number(mu, "mu", "gdp_delta", low=0.0)
    epsilon = check_number(epsilon, "epsilon", "gdp_delta", low=0.0)
    return 0.0 if mu == 0 else math.exp(_log_delta(epsilon, mu))


def gdp_epsilon(mu: float, delta: float, *, tol: float = 1e-9) -> float:
    """The epsilon of mu-GDP at ``delta``: the root of ``gdp_delta(mu, eps) = delta``.

    ``delta(eps)`` decreases in ``eps``, so the root is unique; 0 when ``delta`` already
    exceeds ``delta(0)``. Solved in the log domain (Brent's method) so tiny deltas are exact.

    Example:
        >>> round(gdp_epsilon(0.5, 1e-5), 3), gdp_epsilon(0.0, 1e-5)
        (1.993, 0.0)
    """
    mu = check_number(mu, "mu", "gdp_epsilon", low=0.0)
    delta = check_number(delta, "delta", "gdp_epsilon", low=0.0, low_open=True, high=1.0)
    if mu == 0 or _log_delta(0.0, mu) <= math.log(delta):
        return 0.0
    hi = 1.0
    while _log_delta(hi, mu) > math.log(delta):
        hi *= 2
    return float(optimize.brentq(lambda e: _log_delta(e, mu) - math.log(delta), 0.0, hi,
                                 xtol=tol))
