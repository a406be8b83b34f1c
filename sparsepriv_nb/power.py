"""Statistical power: the smallest difference a comparison could have detected, and the sizes a
target difference needs (issue 18, "Power, stated with every null").

A "no detectable difference" verdict says little on its own: the interval may be wide enough to
hide any effect the seed papers report. The *minimum detectable difference* (MDE) at
significance ``alpha`` and power ``power`` is the true difference that a two-sided test at
``alpha`` detects with probability ``power``:

* from a standard error ``SE`` (a paired bootstrap over the attacked samples, for AUC or TPR
  at a low FPR): ``MDE = (z_{1 - alpha/2} + z_{power}) * SE``;
* over ``n`` seeds with paired differences of standard deviation ``sd`` (Student's t with
  ``df = n - 1``): ``MDE = (t_{1 - alpha/2, df} + t_{power, df}) * sd / sqrt(n)``.

The standard error of a sample statistic scales as ``1 / sqrt(n)``, so an MDE measured with
``n`` attacked samples becomes ``MDE * sqrt(n / n')`` with ``n'``, and a target MDE needs
``n * (MDE / target)^2`` samples (:func:`samples_needed`); seeds likewise, with the t
quantiles' own dependence on ``n`` (:func:`seeds_needed`).

:func:`verdict_with_power` draws the verdict of :func:`metrics.verdict` and adds the MDE and one
sentence: ``"no detectable difference; this run could detect |Δ| ≥ 0.031"``.

Example:
    >>> round(mde_from_se(0.01), 4)  # (1.96 + 0.84) * SE
    0.028
    >>> samples_needed(0.014, mde=0.028, n=400)
    1600

Lesson: none yet: issue 18 wires minimum detectable differences into notebooks 02-07.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
import pandas as pd

from . import metrics
from ._checks import InstanceOf, Interval, validate_params

__all__ = ["mde_from_se", "paired_mde", "seed_mde", "mde_at_sizes", "samples_needed",
           "seeds_needed", "mde_table", "seed_mde_table", "needed_sentence",
           "verdict_with_power", "DETECTABLE_SENTENCE"]

#: The sentence of a null verdict; ``{mde}`` is the formatted minimum detectable difference.
DETECTABLE_SENTENCE = "no detectable difference; this run could detect |Δ| ≥ {mde}"

_ALPHA = Interval(float, 0, 1, "neither")
_POWER = Interval(float, 0, 1, "neither")
_POSITIVE = Interval(float, 0, None, "neither")
_NONNEG = Interval(float, 0, None)
_MDE = InstanceOf(numbers.Real, "a non-negative number or NaN",
                  lambda v: not isinstance(v, bool) and (math.isnan(v) or v >= 0))


def _check_alpha_power(alpha, power, owner: str) -> tuple[float, float]:
    validate_params({"alpha": alpha, "power": power},
                    {"alpha": [_ALPHA], "power": [_POWER]}, owner)
    return float(alpha), float(power)


def mde_from_se(se: float, *, alpha: float = 0.05, power: float = 0.8) -> float:
    """``(z_{1 - alpha/2} + z_{power}) * se``: the true difference a two-sided z-test at
    ``alpha`` detects with probability ``power`` when its estimate has standard error ``se``.

    Example:
        >>> round(mde_from_se(0.01, power=0.5), 4)  # at power 1/2 the MDE is the half-width
        0.0196
    """
    from scipy import stats

    alpha, power = _check_alpha_power(alpha, power, "mde_from_se")
    validate_params({"se": se}, {"se": [_NONNEG]}, "mde_from_se")
    return float((stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)) * se)


def paired_mde(scores_a, scores_b, membership, metric: str = "auc", *, alpha: float = 0.05,
               power: float = 0.8, n_resamples: int = 1000, random_state=0,
               fpr: float | None = None, threshold_a: float | None = None,
               threshold_b: float | None = None) -> dict:
    """The paired difference ``metric(a) - metric(b)`` of two models attacked on the same
    samples, its percentile interval at ``1 - alpha``, its bootstrap standard error and its MDE.

    The resampling is :func:`metrics.paired_bootstrap` (the machinery of
    :func:`metrics.paired_difference`, same seed -> same interval).

    Args:
        scores_a, scores_b, membership, metric, n_resamples, random_state, fpr, threshold_a,
            threshold_b: as in :func:`metrics.paired_difference` (e.g. ``metric="auc"`` or
            ``"tpr_at_1pct_fpr"``).
        alpha: two-sided significance level (the interval's coverage is ``1 - alpha``).
        power: the detection probability the MDE refers to.

    Returns:
        ``{"diff", "lo", "hi", "a", "b", "se", "mde", "alpha", "power", "n_members",
        "n_nonmembers", "n_resamples"}``; ``se`` and ``mde`` are NaN for a TPR at an FPR the
        non-members cannot resolve.

    Example:
        >>> rng = np.random.default_rng(0); m = np.r_[np.ones(500), np.zeros(500)]
        >>> z = rng.normal(size=1000)
        >>> r = paired_mde(z + m + 0.5 * rng.normal(size=1000), z + m, m, n_resamples=500)
        >>> round(r["mde"], 3), bool(r["mde"] > r["hi"] - r["diff"])
        (0.022, True)
    """
    alpha, power = _check_alpha_power(alpha, power, "paired_mde")
    boot = metrics.paired_bootstrap(scores_a, scores_b, membership, metric,
                                    n_resamples=n_resamples, random_state=random_state,
                                    threshold_a=threshold_a, threshold_b=threshold_b, fpr=fpr,
                                    owner="paired_mde")
    d = boot["diffs"]
    m = np.asarray(membership).astype(int)
    diff = boot["a"] - boot["b"]
    if np.isnan(d).any() or np.isnan(diff):
        lo = hi = se = mde = float("nan")
    else:
        lo, hi = (float(v) for v in np.quantile(d, [alpha / 2, 1 - alpha / 2]))
        se = float(np.std(d, ddof=1))
        mde = mde_from_se(se, alpha=alpha, power=power)
    return {"diff": float(diff), "lo": lo, "hi": hi, "a": boot["a"], "b": boot["b"], "se": se,
            "mde": mde, "alpha": alpha, "power": power, "n_members": int((m == 1).sum()),
            "n_nonmembers": int((m == 0).sum()), "n_resamples": len(d)}


def _t_factor(n: int, alpha: float, power: float) -> float:
    from scipy import stats

    df = n - 1
    return float(stats.t.ppf(1 - alpha / 2, df) + stats.t.ppf(power, df))


def seed_mde(sd: float, n: int, *, alpha: float = 0.05, power: float = 0.8) -> float:
    """``(t_{1 - alpha/2, n-1} + t_{power, n-1}) * sd / sqrt(n)``: the MDE of a mean over ``n``
    seeds (e.g. of the per-seed paired differences sparse minus dense) whose standard
    deviation is ``sd``.

    Example:
        >>> round(seed_mde(0.02, 5), 4)
        0.0332
    """
    alpha, power = _check_alpha_power(alpha, power, "seed_mde")
    validate_params({"sd": sd, "n": n}, {"sd": [_NONNEG], "n": [Interval(int, 2, None)]},
                    "seed_mde")
    return _t_factor(int(n), alpha, power) * float(sd) / math.sqrt(int(n))


def mde_at_sizes(mde: float, n: int, sizes) -> np.ndarray:
    """The MDE measured with ``n`` attacked samples, rescaled to each of ``sizes`` (the standard
    error scales as ``1 / sqrt(n)``): ``mde * sqrt(n / size)``. For a table or a figure of how
    the MDE shrinks with the member count.

    Example:
        >>> mde_at_sizes(0.04, 400, [100, 400, 1600]).tolist()
        [0.08, 0.04, 0.02]
    """
    validate_params({"mde": mde, "n": n}, {"mde": [_NONNEG], "n": [Interval(int, 1, None)]},
                    "mde_at_sizes")
    sizes = np.asarray(sizes, dtype=float)
    if sizes.ndim != 1 or not (sizes > 0).all():
        raise ValueError(f"The 'sizes' parameter of mde_at_sizes must be positive numbers. "
                         f"Got {sizes.tolist()!r} instead.")
    return float(mde) * np.sqrt(int(n) / sizes)


def samples_needed(target: float, *, mde: float, n: int) -> int:
    """How many attacked samples (in the units of ``n``: members, or members plus non-members)
    bring an MDE of ``mde``, measured with ``n``, down to ``target``: ``ceil(n (mde /
    target)^2)``.

    Example:
        >>> samples_needed(0.02, mde=0.031, n=808)
        1942
    """
    validate_params({"target": target, "mde": mde, "n": n},
                    {"target": [_POSITIVE], "mde": [_NONNEG], "n": [Interval(int, 1, None)]},
                    "samples_needed")
    return max(1, math.ceil(int(n) * (float(mde) / float(target)) ** 2 - 1e-9))


def seeds_needed(target: float, *, sd: float, alpha: float = 0.05, power: float = 0.8,
                 max_seeds: int = 100_000) -> int:
    """The fewest seeds (at least 2) whose :func:`seed_mde` is at most ``target`` when the
    per-seed differences have standard deviation ``sd``.

    Raises:
        ValueError: more than ``max_seeds`` would be needed.

    Example:
        >>> seeds_needed(0.034, sd=0.02), seeds_needed(0.02, sd=0.02)
        (5, 10)
    """
    alpha, power = _check_alpha_power(alpha, power, "seeds_needed")
    validate_params({"target": target, "sd": sd, "max_seeds": max_seeds},
                    {"target": [_POSITIVE], "sd": [_NONNEG],
                     "max_seeds": [Interval(int, 2, None)]}, "seeds_needed")
    z = (float(sd) * _t_factor(10**9, alpha, power) / float(target)) ** 2  # the z-based size
    n = max(2, math.floor(z))
    if n > max_seeds:
        raise ValueError(f"seeds_needed: more than max_seeds={max_seeds} seeds would be "
                         f"needed to detect {target} with sd={sd}.")
    while seed_mde(sd, n, alpha=alpha, power=power) > target:
        n += 1
        if n > max_seeds:
            raise ValueError(f"seeds_needed: more than max_seeds={max_seeds} seeds would be "
                             f"needed to detect {target} with sd={sd}.")
    return n


def mde_table(mde: float, n: int, sizes, *, unit: str = "attacked samples") -> pd.DataFrame:
    """How the MDE measured with ``n`` attacked samples shrinks with their number: one row per
    size (``sizes`` plus ``n`` itself, sorted), the MDE there by :func:`mde_at_sizes`.

    Example:
        >>> mde_table(0.04, 400, [100, 1600], unit="members").to_dict("list")
        {'members': [100, 400, 1600], 'MDE': [0.08, 0.04, 0.02]}
    """
    sizes = sorted({int(s) for s in np.atleast_1d(sizes)} | {int(n)})
    return pd.DataFrame({unit: sizes, "MDE": mde_at_sizes(mde, n, sizes)})


def seed_mde_table(sd: float, seeds, *, alpha: float = 0.05,
                   power: float = 0.8) -> pd.DataFrame:
    """How the seed-level MDE (:func:`seed_mde`) shrinks with the number of seeds when the
    per-seed differences have standard deviation ``sd``.

    Example:
        >>> seed_mde_table(0.02, [5, 10]).round(4).to_dict("list")
        {'seeds': [5, 10], 'MDE': [0.0332, 0.0199]}
    """
    seeds = sorted({int(s) for s in np.atleast_1d(seeds)})
    return pd.DataFrame({"seeds": seeds, "MDE": [seed_mde(sd, s, alpha=alpha, power=power)
                                                  for s in seeds]})


def needed_sentence(target: float, *, mde: float | None = None, n: int | None = None,
                    unit: str = "attacked samples", sd: float | None = None,
                    n_seeds: int | None = None, digits: int = 3) -> str:
    """One sentence: how many attacked samples (from ``mde`` measured with ``n``) and/or seeds
    (from the per-seed standard deviation ``sd``, this run having ``n_seeds``) a comparison
    needs to detect ``|Δ| >= target`` at power 0.8.

    Example:
        >>> needed_sentence(0.02, mde=0.031, n=808, sd=0.02, n_seeds=3)
        'To detect |Δ| ≥ 0.02 this comparison would need about 1942 attacked samples (this run: 808, MDE 0.031), or about 10 seeds (this run: 3, seed-level MDE 0.062).'
    """  # noqa: E501
    parts = []
    if mde is not None and math.isfinite(mde):
        parts.append(f"about {samples_needed(target, mde=mde, n=n)} {unit} (this run: {n}, "
                     f"MDE {mde:.{digits}f})")
    if sd is not None and math.isfinite(sd):
        now = (f"this run: {n_seeds}, seed-level MDE {seed_mde(sd, n_seeds):.{digits}f}"
               if n_seeds and n_seeds >= 2 else f"this run: {n_seeds}")
        parts.append(f"about {seeds_needed(target, sd=sd)} seeds ({now})")
    if not parts:
        raise ValueError("needed_sentence needs 'mde' and 'n', or 'sd'; got neither.")
    return f"To detect |Δ| ≥ {target:g} this comparison would need " + ", or ".join(parts) + "."


def verdict_with_power(diff: float, lo: float, hi: float, mde: float, *,
                       higher: str = "higher", lower: str = "lower", digits: int = 3) -> dict:
    """:func:`metrics.verdict` plus the minimum detectable difference and one sentence.

    Args:
        diff, lo, hi: the difference and its interval.
        mde: the comparison's minimum detectable difference (:func:`paired_mde`,
            :func:`seed_mde`); NaN if unknown.
        higher, lower: the verdict words when the interval excludes 0.
        digits: decimals in the sentence.

    Returns:
        ``{"verdict", "detected", "mde", "sentence"}``: ``verdict`` is exactly
        :func:`metrics.verdict`'s word; a null sentence states the MDE
        (:data:`DETECTABLE_SENTENCE`).

    Example:
        >>> verdict_with_power(0.01, -0.01, 0.03, 0.0312)["sentence"]
        'no detectable difference; this run could detect |Δ| ≥ 0.031'
        >>> verdict_with_power(0.04, 0.01, 0.07, 0.0312)["sentence"]
        'higher: difference +0.040 [+0.010, +0.070]'
    """
    v = metrics.verdict(diff, lo, hi, higher=higher, lower=lower)
    validate_params({"mde": mde, "digits": digits},
                    {"mde": [_MDE],
                     "digits": [Interval(int, 0, 10)]}, "verdict_with_power")
    detected = v in (higher, lower)
    f = f"+.{digits}f"
    if detected:
        sentence = f"{v}: difference {diff:{f}} [{lo:{f}}, {hi:{f}}]"
    elif v == metrics.NO_DIFFERENCE:
        sentence = (DETECTABLE_SENTENCE.format(mde=f"{mde:.{digits}f}") if np.isfinite(mde)
                    else "no detectable difference; its minimum detectable difference is "
                         "unknown")
    else:
        sentence = v
    return {"verdict": v, "detected": detected, "mde": float(mde), "sentence": sentence}
