"""Families of comparisons: Holm's family-wise correction of several verdicts of one kind
(issue 18, "Families of comparisons").

A cell that draws six verdicts at the 5 % level (six attacks, dense vs sparse) expects
``0.05 * 6 = 0.3`` "detectable" verdicts from chance alone, and finds at least one with
probability up to ``1 - 0.95^6 = 26 %`` when nothing differs. Holm's step-down procedure
(Holm 1979) keeps that family-wise error at
``alpha``: sort the p-values, compare the smallest with ``alpha / m``, the next with
``alpha / (m - 1)``, ..., and stop at the first that fails. :func:`holm_adjust` computes
exactly what ``statsmodels.stats.multitest.multipletests(p, alpha, "holm")`` does (the tests
check it), without the full garbage collection statsmodels runs on every call (0.3 s in a
process that has imported torch).

Each comparison's p-value is the two-sided normal p-value ``2 (1 - Phi(|diff| / SE))`` from
its standard error, given directly (:func:`sparsepriv_nb.power.paired_mde`'s ``se``) or read off a
``confidence`` interval as ``SE = (hi - lo) / (2 z_{(1 + confidence)/2})``; for t-intervals
(a mean over a few images or seeds) pass ``df`` and both use the t distribution instead.

Example:
    >>> fam = holm_verdicts([{"name": "loss", "diff": 0.05, "se": 0.01},
    ...                      {"name": "lira", "diff": 0.015, "se": 0.01}])
    >>> fam.frame[["name", "verdict"]].values.tolist()
    [['loss', 'higher'], ['lira', 'no detectable difference (within noise)']]
    >>> fam.expected_by_chance
    0.1

Lesson: none yet: issue 18 wires family-wise corrections into notebooks 02-07.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import metrics
from .power import mde_from_se, verdict_with_power
from ._checks import Interval, ParameterError, validate_params

__all__ = ["se_from_interval", "p_value", "holm_adjust", "holm_verdicts", "Family"]

_ALPHA = Interval(float, 0, 1, "neither")


def se_from_interval(lo: float, hi: float, *, confidence: float = 0.95) -> float:
    """The normal standard error an interval ``[lo, hi]`` of coverage ``confidence`` implies:
    ``(hi - lo) / (2 z_{(1 + confidence) / 2})``.

    Example:
        >>> round(se_from_interval(0.02, 0.06), 4)
        0.0102
    """
    from scipy import stats

    validate_params({"confidence": confidence}, {"confidence": [_ALPHA]}, "se_from_interval")
    return float((hi - lo) / (2 * stats.norm.ppf(0.5 + float(confidence) / 2)))


def p_value(diff: float, se: float) -> float:
    """Two-sided normal p-value ``2 (1 - Phi(|diff| / se))`` (NaN in, NaN out; ``se = 0``: 0
    for a non-zero difference, 1 for none).

    Example:
        >>> round(p_value(0.0196, 0.01), 3)
        0.05
    """
    from scipy import stats

    if np.isnan(diff) or np.isnan(se):
        return float("nan")
    if se <= 0:
        return 0.0 if diff != 0 else 1.0
    return float(2 * stats.norm.sf(abs(diff) / se))


def holm_adjust(p, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Holm's step-down procedure: ``(reject, p_adjusted)`` for the p-values ``p``, in their
    order. ``p_adjusted[i]`` is the running maximum of ``(m - j) p_(j)`` over the sorted
    p-values up to ``p_i``'s rank ``j`` (capped at 1); ``reject`` is ``p_adjusted <= alpha``.

    Example:
        >>> r, q = holm_adjust([0.01, 0.04, 0.03])
        >>> r.tolist(), q.round(2).tolist()
        ([True, False, False], [0.03, 0.06, 0.06])
    """
    validate_params({"alpha": alpha}, {"alpha": [_ALPHA]}, "holm_adjust")
    p = np.asarray(p, dtype=float)
    if p.ndim != 1 or np.isnan(p).any() or (p < 0).any() or (p > 1).any():
        raise ParameterError("The 'p' parameter of holm_adjust must be a 1-D array of "
                             f"p-values in [0, 1]. Got {p.tolist()!r} instead.")
    order = np.argsort(p, kind="stable")
    m = len(p)
    adj = np.minimum(np.maximum.accumulate(p[order] * np.arange(m, 0, -1)), 1.0)
    out = np.empty(m)
    out[order] = adj
    return out <= float(alpha), out


@dataclass(frozen=True)
class Family:
    """Holm-corrected verdicts of one family of comparisons.

    Attributes:
        frame: one row per comparison: ``name``, ``diff``, ``lo``, ``hi``, ``se``, ``p``,
            ``p_holm`` (Holm-adjusted), ``verdict`` (after the correction),
            ``verdict_uncorrected``, ``mde`` (at the Bonferroni level ``alpha / m``, the
            first and strictest Holm step) and ``sentence``
            (:func:`~sparsepriv_nb.power.verdict_with_power`).
        alpha: the family-wise error rate.
        expected_by_chance: ``alpha * m``, the "detectable" verdicts chance alone would give
            without the correction when nothing differs.
        n_detected: detectable verdicts after the correction.
    """

    frame: pd.DataFrame
    alpha: float
    expected_by_chance: float
    n_detected: int

    def summary(self) -> str:
        """One sentence: how many verdicts survive, and what chance alone would give.

        Example:
            >>> holm_verdicts([{"diff": 0.05, "se": 0.01}] * 3).summary()
            '3 of 3 comparisons detectable after Holm correction (family-wise alpha 0.05); chance alone would give 0.15 of 3 at alpha 0.05 without it.'
        """  # noqa: E501
        m = int(self.frame["p_holm"].notna().sum())  # the testable ones (no NaN)
        untested = len(self.frame) - m
        return (f"{self.n_detected} of {m} {'testable ' if untested else ''}comparisons "
                "detectable after Holm correction "
                f"(family-wise alpha {self.alpha:g}); chance alone would give "
                f"{self.expected_by_chance:.2g} of {m} at alpha {self.alpha:g} without it"
                + (f"; {untested} not measurable here." if untested else "."))


def _rows(comparisons, confidence: float, dofs: list) -> pd.DataFrame:
    from scipy import stats

    df = pd.DataFrame(list(comparisons))
    if df.empty or "diff" not in df:
        raise ParameterError("The 'comparisons' parameter of holm_verdicts must be a non-empty "
                             "list of dicts with 'diff' and either 'se' or 'lo' and 'hi'. Got "
                             f"{list(df.columns) if not df.empty else 'nothing'} instead.")
    if "se" not in df:
        if not {"lo", "hi"} <= set(df.columns):
            raise ParameterError("The 'comparisons' parameter of holm_verdicts needs 'se' or "
                                 f"'lo' and 'hi' per comparison. Got {list(df.columns)}.")
        df["se"] = [se_from_interval(lo, hi, confidence=confidence) if math.isnan(k) else
                    (hi - lo) / (2 * stats.t.ppf(0.5 + confidence / 2, k))
                    for lo, hi, k in zip(df["lo"], df["hi"], dofs)]
    df["df"] = dofs
    if "name" not in df:
        df.insert(0, "name", [str(i) for i in range(len(df))])
    q = 1 - (1 - confidence) / 2
    z = np.array([_z(q) if math.isnan(k) else stats.t.ppf(q, k) for k in dofs])
    for side, sign in (("lo", -1), ("hi", 1)):
        if side not in df:
            df[side] = df["diff"] + sign * z * df["se"]
    return df


def _z(q: float) -> float:
    from scipy import stats

    return float(stats.norm.ppf(q))


def holm_verdicts(comparisons, *, alpha: float = 0.05, power: float = 0.8,
                  higher: str = "higher", lower: str = "lower", digits: int = 3,
                  df=None) -> Family:
    """Holm-corrected verdicts of a family of comparisons of one kind.

    Args:
        comparisons: dicts (or a DataFrame's records) with ``diff`` and either ``se`` or an
            interval ``lo`` / ``hi`` at coverage ``1 - alpha``; optional ``name``, and
            optional ``p`` (the comparison's own two-sided p-value; default: the normal
            p-value :func:`p_value` of ``diff`` and ``se``).
        alpha: family-wise error rate (and the coverage ``1 - alpha`` of given intervals).
        power: the power the MDE refers to.
        higher, lower: verdict words for a detected difference's sign.
        digits: decimals in the sentences.
        df: degrees of freedom of t-intervals (e.g. ``n - 1`` for a mean over ``n`` images or
            seeds): one number for all comparisons or one per comparison (``None`` in a list:
            that one is normal). With it, an interval's SE is ``(hi - lo) / (2 t_{df})``, the
            p-value is the two-sided t p-value and the MDE is ``(t_{1 - alpha/(2m), df} +
            t_{power, df}) SE``, so verdicts agree with the printed t-intervals. Default: normal.

    Returns:
        A :class:`Family`. A comparison with a NaN difference or SE gets ``"not measurable
        here"`` and takes no part in the correction.
    """
    validate_params({"alpha": alpha, "power": power},
                    {"alpha": [_ALPHA], "power": [_ALPHA]}, "holm_verdicts")
    alpha = float(alpha)
    comparisons = list(comparisons)
    df = _rows(comparisons, 1 - alpha, _dofs(df, len(comparisons)))
    if "p" not in df:  # else: the caller's own p-values (e.g. a bootstrap p-value)
        df["p"] = [_p(d, s, k) for d, s, k in zip(df["diff"], df["se"], df["df"])]
    ok = df["p"].notna().to_numpy()
    m = int(ok.sum())
    df["p_holm"] = np.nan
    reject = np.zeros(len(df), bool)
    if m:
        reject[ok], p_adj = holm_adjust(df.loc[ok, "p"].to_numpy(), alpha)
        df.loc[ok, "p_holm"] = p_adj
    df["verdict_uncorrected"] = [_word(d, p < alpha, higher, lower) if np.isfinite(p)
                                 else "not measurable here" for d, p in zip(df["diff"], df["p"])]
    df["verdict"] = [_word(d, r, higher, lower) if k else "not measurable here"
                     for d, r, k in zip(df["diff"], reject, ok)]
    df["mde"] = [_mde(s, alpha / max(m, 1), power, k) for s, k in zip(df["se"], df["df"])]
    df["sentence"] = [_sentence(r, digits, higher, lower) for r in df.itertuples()]
    return Family(df, alpha, alpha * m, int(reject.sum()))


def _dofs(dof, n: int) -> list:
    """One degrees-of-freedom value (or NaN: normal) per comparison."""
    if dof is None:
        return [math.nan] * n
    values = list(dof) if np.ndim(dof) else [dof] * n
    ok = len(values) == n and all(
        v is None or (isinstance(v, (int, float, np.integer, np.floating))
                      and not isinstance(v, bool) and (math.isnan(v) or v > 0))
        for v in values)
    if not ok:
        raise ParameterError("The 'df' parameter of holm_verdicts must be None, a positive "
                             f"number or one positive number (or None) per comparison ({n}). "
                             f"Got {dof!r} instead.")
    return [math.nan if v is None else float(v) for v in values]


def _p(diff, se, dof) -> float:
    from scipy import stats

    if math.isnan(dof) or np.isnan(diff) or np.isnan(se) or se <= 0:
        return p_value(diff, se)
    return float(2 * stats.t.sf(abs(diff) / se, dof))


def _mde(se, alpha, power, dof) -> float:
    from scipy import stats

    if not np.isfinite(se):
        return math.nan
    if math.isnan(dof):
        return mde_from_se(se, alpha=alpha, power=power)
    return float((stats.t.ppf(1 - alpha / 2, dof) + stats.t.ppf(power, dof)) * se)


def _word(diff, detected, higher, lower) -> str:
    if not detected:
        return metrics.NO_DIFFERENCE
    return higher if diff > 0 else lower


def _sentence(r, digits, higher, lower) -> str:
    if r.verdict == "not measurable here":
        return r.verdict
    if r.verdict == metrics.NO_DIFFERENCE:
        return verdict_with_power(0.0, -1.0, 1.0, r.mde, digits=digits)["sentence"]
    f = f"+.{digits}f"
    return (f"{r.verdict}: difference {r.diff:{f}} [{r.lo:{f}}, {r.hi:{f}}] "
            f"(Holm p = {r.p_holm:.3g})")
