"""Privacy accounting: the epsilon of Poisson-subsampled Gaussian steps, with Opacus.

An *accountant* turns (sampling rate ``q``, noise multiplier ``sigma``, number of steps,
``delta``) into the ``epsilon`` of an (epsilon, delta)-DP guarantee.

* :func:`compute_epsilon`, :func:`epsilons`, :func:`noise_for_epsilon` - one training run,
  with Opacus' RDP and PRV accountants (:data:`ACCOUNTANTS`).
* :func:`compose_epsilon`, :func:`composed_privacy` - several private phases of one model
  (pruning, then fine-tuning; rounds of iterative pruning): ONE accountant is fed every
  phase's steps, so the phases compose as the accountant composes steps, not by adding
  epsilons and deltas (basic composition, much looser).
* :func:`default_delta` - the ``delta`` used when none is given: ``min(1e-5, 1 / (10 n))``.

Lesson: notebook 06 (``06_dp_sgd_and_pruning``), section 4.

Example:
    >>> one = compute_epsilon(0.1, 1.0, 50, 1e-5)
    >>> two = compose_epsilon([(0.1, 1.0, 50), (0.1, 1.0, 50)], 1e-5)
    >>> two == compute_epsilon(0.1, 1.0, 100, 1e-5) and two < 2 * one
    True
"""

from __future__ import annotations

import functools
import math
from typing import Iterable, Sequence

from .._checks import ParameterError, check_choice, check_int, check_number
from .compat import quiet_opacus

__all__ = ["ACCOUNTANTS", "DEFAULT_DELTA", "default_delta", "compute_epsilon", "epsilons",
           "noise_for_epsilon", "compose_epsilon", "composed_privacy"]

#: Accountants reported by :func:`epsilons` (Opacus' names).
ACCOUNTANTS = ("rdp", "prv")
#: The conventional delta (Abadi et al. 2016), the cap of :func:`default_delta`.
DEFAULT_DELTA = 1e-5


def default_delta(n: int) -> float:
    """The ``delta`` of a guarantee on ``n`` private records when none is given.

    ``min(1e-5, 1 / (10 n))``. ``delta`` bounds the probability of a catastrophic failure: a
    mechanism that publishes each record with probability ``delta`` is (0, delta)-DP, and
    exposes some record with probability up to ``n delta``. ``1 / n`` (publish one random
    record) is therefore no guarantee at all; ``1 / (10 n)`` keeps that chance below 10 %,
    and ``1e-5``, the value of Abadi et al. (2016), caps it for small data sets.

    Example:
        >>> default_delta(1000), default_delta(60000)
        (1e-05, 1.6666666666666667e-06)
    """
    n = check_int(n, "n", "default_delta", 1)
    return min(DEFAULT_DELTA, 1.0 / (10 * n))


def _check_phase(sample_rate, noise_multiplier, steps, owner) -> tuple[float, float, int]:
    return (check_number(sample_rate, "sample_rate", owner, low=0, low_open=True, high=1,
                         high_open=False),
            check_number(noise_multiplier, "noise_multiplier", owner, low=0, low_open=True),
            check_int(steps, "steps", owner, 1))


def _check_delta(delta, owner) -> float:
    return check_number(delta, "delta", owner, low=0, low_open=True, high=1)


def compute_epsilon(sample_rate: float, noise_multiplier: float, steps: int, delta: float,
                    *, accountant: str = "rdp") -> float:
    """Epsilon of ``steps`` Poisson-subsampled Gaussian steps, from one Opacus accountant.

    ``"rdp"``: Rényi DP (Mironov 2017; Mironov, Talwar & Zhang 2019), an upper bound via a
    grid of orders. ``"prv"``: privacy random variables (Gopi, Lee & Wutschitz 2021), a
    numerically tight estimate (upper end of its error interval), usually smaller.

    Example:
        >>> round(compute_epsilon(0.04, 1.5, 2250, 1e-5, accountant="rdp"), 4)
        7.3291
    """
    check_choice(accountant, ACCOUNTANTS, "accountant", "compute_epsilon")
    phase = _check_phase(sample_rate, noise_multiplier, steps, "compute_epsilon")
    return _epsilon_cached((phase,), _check_delta(delta, "compute_epsilon"), accountant)


def compose_epsilon(phases: Iterable[tuple[float, float, int]], delta: float, *,
                    accountant: str = "rdp") -> float:
    """Epsilon of several phases of DP-SGD run one after another, from ONE accountant.

    Each phase ``(sample_rate, noise_multiplier, steps)`` is fed to the same Opacus
    accountant, as its optimizer hook feeds it step by step (consecutive phases with the
    same ``(q, sigma)`` merge into one entry of its history), and the accountant returns
    the epsilon of the whole history at ``delta``: the phases share one ``delta`` instead
    of adding theirs.

    Example:
        >>> phases = [(0.25, 1.0, 8), (0.25, 1.0, 4)]
        >>> compose_epsilon(phases, 1e-5) == compute_epsilon(0.25, 1.0, 12, 1e-5)
        True
    """
    check_choice(accountant, ACCOUNTANTS, "accountant", "compose_epsilon")
    history: list[tuple[float, float, int]] = []
    for phase in phases:
        if not isinstance(phase, Sequence) or len(phase) != 3:
            raise ParameterError("The 'phases' parameter of compose_epsilon must hold "
                                 f"(sample_rate, noise_multiplier, steps) triples. Got "
                                 f"{phase!r} instead.")
        q, sigma, steps = _check_phase(*phase, "compose_epsilon")
        if history and history[-1][:2] == (q, sigma):
            history[-1] = (q, sigma, history[-1][2] + steps)
        else:
            history.append((q, sigma, steps))
    if not history:
        raise ParameterError("The 'phases' parameter of compose_epsilon must hold at least "
                             "one phase. Got none.")
    return _epsilon_cached(tuple(history), _check_delta(delta, "compose_epsilon"), accountant)


# Accounting is pure and, in Python, slow (seconds per call for RDP's fractional orders and
# PRV's grid; a noise search calls it ~15 times): a notebook asks the same questions often.
@functools.lru_cache(maxsize=4096)
def _epsilon_cached(history: tuple, delta: float, accountant: str) -> float:
    from opacus.accountants import create_accountant

    acc = create_accountant(accountant)
    # what acc.step() records after every optimizer step, one phase at a time
    acc.history = [(sigma, q, steps) for q, sigma, steps in history]
    with quiet_opacus():
        return float(acc.get_epsilon(delta=delta))


def composed_privacy(results: Sequence[dict]) -> dict:
    """``epsilon`` and ``delta`` of one model trained privately in several phases.

    ``results`` are the dicts of :func:`~sparsepriv_nb.dp.train_private` or of a DP mode's
    ``fit``, one per phase, in order; they must share ``delta`` and ``accountant``. The
    phases are composed by :func:`compose_epsilon` (one accountant); a phase without noise
    (the ``"nonprivate"`` mode) makes ``epsilon`` infinite.

    Example:
        >>> phase = {"sample_rate": 0.25, "noise_multiplier": 1.0, "steps": 8,
        ...          "delta": 1e-5, "accountant": "rdp"}
        >>> out = composed_privacy([phase, phase])
        >>> out["delta"], out["epsilon"] == compute_epsilon(0.25, 1.0, 16, 1e-5)
        (1e-05, True)
    """
    if not results:
        raise ParameterError("The 'results' parameter of composed_privacy must hold at least "
                             "one training result. Got none.")
    deltas = sorted({float(r["delta"]) for r in results})
    if any(not r["noise_multiplier"] for r in results):
        return {"epsilon": math.inf, "delta": deltas[-1]}
    accountants = sorted({r["accountant"] for r in results})
    if len(deltas) > 1 or len(accountants) > 1:
        raise ParameterError("The 'results' parameter of composed_privacy must share one "
                             f"delta and one accountant. Got deltas {deltas} and accountants "
                             f"{accountants} instead.")
    return {"epsilon": compose_epsilon([(r["sample_rate"], r["noise_multiplier"], r["steps"])
                                        for r in results], deltas[0],
                                       accountant=accountants[0]),
            "delta": deltas[0]}


@functools.lru_cache(maxsize=1024)
def _noise_cached(target_epsilon, delta, sample_rate, steps, accountant) -> float:
    from opacus.accountants.utils import get_noise_multiplier

    with quiet_opacus():
        return float(get_noise_multiplier(target_epsilon=target_epsilon, target_delta=delta,
                                          sample_rate=sample_rate, steps=steps,
                                          accountant=accountant))


def epsilons(sample_rate: float, noise_multiplier: float, steps: int, delta: float
             ) -> dict[str, float]:
    """Epsilon from every accountant in :data:`ACCOUNTANTS` for the same parameters.

    Example:
        >>> e = epsilons(0.04, 1.5, 2250, 1e-5)
        >>> e["prv"] < e["rdp"]
        True
    """
    return {name: compute_epsilon(sample_rate, noise_multiplier, steps, delta, accountant=name)
            for name in ACCOUNTANTS}


def noise_for_epsilon(target_epsilon: float, delta: float, sample_rate: float, steps: int,
                      *, accountant: str = "rdp") -> float:
    """The smallest noise multiplier reaching ``target_epsilon`` (Opacus' binary search).

    Example:
        >>> round(noise_for_epsilon(8.0, 1e-5, 0.04, 2000), 4)
        1.3562
    """
    owner = "noise_for_epsilon"
    check_choice(accountant, ACCOUNTANTS, "accountant", owner)
    target_epsilon = check_number(target_epsilon, "target_epsilon", owner, low=0, low_open=True)
    sample_rate = check_number(sample_rate, "sample_rate", owner, low=0, low_open=True, high=1,
                               high_open=False)
    steps = check_int(steps, "steps", owner, 1)
    return _noise_cached(target_epsilon, _check_delta(delta, owner), sample_rate, steps,
                         accountant)
