"""Attack metrics with bootstrap intervals, paired comparisons and seed aggregation
(docs/methods.md section 2 and "Numbers and the words about them" in DESIGN.md).

* balanced accuracy ``(TPR + TNR) / 2`` at a chosen threshold;
* ROC AUC, the probability that a random member scores above a random non-member (ties
  count one half);
* TPR at FPR = 0.1 % and 1 %, read off the full ROC as the largest TPR whose FPR does not
  exceed the target (Carlini et al. 2022). With ``n`` non-members the smallest non-zero FPR
  is ``1 / n``: a target below it cannot be resolved and is reported as NaN
  (:func:`tpr_note` says why);
* membership advantage ``TPR - FPR``: ``advantage`` at the chosen threshold and
  ``max_advantage`` over all thresholds;
* defense level = ``1 - advantage`` = ``2 (1 - balanced accuracy)`` (this project's definition
  for Gonon et al.'s Figure 1 view): 1 = chance, 0 = perfect attack.

Uncertainty. :func:`bootstrap_ci` gives percentile intervals over samples, resampling members
and non-members separately (the attack's evaluation set is balanced by design, and stays so).
:func:`paired_difference` compares two models attacked on the same samples with the *same*
resampled indices. :func:`aggregate_seeds` summarises repeated runs (seeds) with a t-interval.
Sample variance (bootstrap) and seed variance (t-interval) answer different questions: the
first is "how sure are we about *this* model?", the second "how much does training vary?".
:func:`verdict` and :func:`describe_difference` turn a difference and its interval into words.

All bootstrap statistics are computed from resampling *counts* (how often each sample is drawn)
and cumulative sums over the scores sorted once, so 1000 resamples of 2000 samples cost a few
tens of milliseconds.

Example:
    >>> scores = [0.9, 0.8, 0.3, 0.2]; members = [1, 1, 0, 0]
    >>> m = attack_metrics(scores, members, threshold=0.5, n_resamples=0)
    >>> m["auc"], m["balanced_accuracy"], m["defense_level"]
    (1.0, 1.0, 0.0)

Lesson: notebook 02 (``02_membership_inference``), section 3; every notebook's intervals and
    verdicts.
"""

from __future__ import annotations

import math
import numbers
from typing import Callable

import numpy as np
import pandas as pd

from ._checks import InstanceOf, Interval, ParameterError, check_number, validate_params

__all__ = ["check_membership", "check_scores", "roc", "tpr_at_fpr", "best_threshold",
           "balanced_accuracy", "auc", "tpr_at_fpr_score", "min_resolvable_fpr", "tpr_note",
           "bootstrap_ci", "paired_bootstrap", "paired_difference", "aggregate_seeds", "verdict",
           "describe_difference", "attack_metrics", "attack_record", "inversion_quality",
           "psnr", "NO_DIFFERENCE", "LOW_FPRS"]

#: The verdict when an interval contains 0.
NO_DIFFERENCE = "no detectable difference (within noise)"

#: Formula-friendly column name -> target FPR of the low-FPR metrics in every record.
LOW_FPRS = {"tpr_at_1pct_fpr": 0.01, "tpr_at_0p1pct_fpr": 0.001}

#: Old column names kept for existing users (same values as the formula-friendly ones).
_LEGACY = {"tpr_at_1pct_fpr": "tpr@1%fpr", "tpr_at_0p1pct_fpr": "tpr@0.1%fpr"}


# ----------------------------------------------------------------------------- validation

def check_membership(membership, n: int) -> np.ndarray:
    """Validate 0/1 (or bool) ``membership`` of length ``n`` holding both classes."""
    m = np.asarray(membership)
    if m.shape != (n,):
        raise ValueError(f"The 'membership' parameter must have shape ({n},) to match the "
                         f"scores or logits. Got {m.shape} instead.")
    if not np.isin(m, [0, 1]).all():
        raise ValueError("The 'membership' parameter must hold 0/1 (or bool) values.")
    m = m.astype(int)
    if len(np.unique(m)) < 2:
        raise ValueError("The 'membership' parameter holds a single class "
                         f"({'members' if m.size and m[0] else 'non-members'} only); "
                         "an attack needs both members (1) and non-members (0).")
    return m


def check_scores(scores, membership, name: str = "scores") -> tuple[np.ndarray, np.ndarray]:
    """Validate ``scores`` (finite, 1-D) and ``membership`` (see :func:`check_membership`)."""
    s = np.asarray(scores, dtype=float)
    if s.ndim != 1:
        raise ValueError(f"The '{name}' parameter must be 1-D. Got shape {s.shape}.")
    if not np.isfinite(s).all():
        raise ValueError(f"The '{name}' parameter contains {int((~np.isfinite(s)).sum())} NaN "
                         "or infinite values.")
    return s, check_membership(membership, len(s))


#: Declared constraints of the parameters several functions share (see :mod:`._checks`).
_FPR = Interval(float, 0, 1)
_CONFIDENCE = Interval(float, 0, 1, "neither")
_RANDOM_STATE = [Interval(int, 0, None),
                 InstanceOf(np.random.Generator, "a numpy.random.Generator")]
_NUMBER = InstanceOf(numbers.Real, "a real number", lambda v: not isinstance(v, bool))


def _check_resampling(n_resamples, confidence, random_state, owner: str, low: int = 1):
    """``(n_resamples, confidence)`` as int and float, else a :class:`ParameterError`."""
    validate_params({"n_resamples": n_resamples, "confidence": confidence,
                     "random_state": random_state},
                    {"n_resamples": [Interval(int, low, None)], "confidence": [_CONFIDENCE],
                     "random_state": _RANDOM_STATE}, owner)
    return int(n_resamples), float(confidence)


# ----------------------------------------------------------------------------- plain metrics

def roc(scores, membership) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(fpr, tpr, thresholds)`` from ``sklearn.metrics.roc_curve`` (member = positive), with
    every threshold kept (``drop_intermediate=False``)."""
    from sklearn.metrics import roc_curve

    s, m = check_scores(scores, membership)
    return roc_curve(m, s, drop_intermediate=False)


def tpr_at_fpr(fpr: np.ndarray, tpr: np.ndarray, target: float) -> float:
    """Largest TPR on a given ROC with ``FPR <= target`` (0 if no such point but the origin).

    This reads a curve; it cannot know whether the target is resolvable. From scores, use
    :func:`tpr_at_fpr_score`, which returns NaN below ``1 / n_nonmembers``.

    Example:
        >>> tpr_at_fpr(np.array([0, 0.005, 0.02, 1]), np.array([0, 0.3, 0.6, 1]), 0.01)
        0.3
    """
    validate_params({"target": target}, {"target": [_FPR]}, "tpr_at_fpr")
    target = float(target)
    ok = np.asarray(fpr) <= target + 1e-12
    return float(np.max(np.asarray(tpr)[ok])) if ok.any() else 0.0


def min_resolvable_fpr(n_nonmembers: int) -> float:
    """The smallest non-zero FPR that ``n_nonmembers`` non-members can show: ``1 / n``.

    Example:
        >>> min_resolvable_fpr(400)
        0.0025
    """
    validate_params({"n_nonmembers": n_nonmembers}, {"n_nonmembers": [Interval(int, 1, None)]},
                    "min_resolvable_fpr")
    return 1.0 / int(n_nonmembers)


def _resolvable(target: float, n0: int) -> bool:
    return target * n0 >= 1 - 1e-9


def tpr_note(target: float, n_nonmembers: int) -> str:
    """Why TPR at ``target`` FPR is (or is not) a number for ``n_nonmembers`` non-members.

    Example:
        >>> tpr_note(0.001, 400)  # doctest: +NORMALIZE_WHITESPACE
        'TPR at 0.1% FPR is NaN: with 400 non-members the smallest non-zero FPR is 1/400 =
        0.25%, so an FPR of 0.1% cannot be told apart from 0; it needs at least 1000
        non-members.'
    """
    validate_params({"target": target, "n_nonmembers": n_nonmembers},
                    {"target": [_FPR], "n_nonmembers": [Interval(int, 1, None)]}, "tpr_note")
    target = float(target)
    lo = min_resolvable_fpr(n_nonmembers)
    if _resolvable(target, n_nonmembers):
        return (f"TPR at {100 * target:.3g}% FPR is resolvable: {n_nonmembers} non-members "
                f"allow up to {math.floor(target * n_nonmembers + 1e-9)} false positive(s).")
    return (f"TPR at {100 * target:.3g}% FPR is NaN: with {n_nonmembers} non-members the "
            f"smallest non-zero FPR is 1/{n_nonmembers} = {100 * lo:.3g}%, so an FPR of "
            f"{100 * target:.3g}% cannot be told apart from 0; it needs at least "
            f"{math.ceil(1 / target - 1e-9)} non-members.")


def best_threshold(scores, membership) -> float:
    """The threshold maximising ``TPR - FPR`` (equivalently balanced accuracy); predict member
    when ``score >= threshold``."""
    fpr, tpr, thr = roc(scores, membership)  # every candidate threshold
    i = int(np.argmax(tpr - fpr))
    t = thr[i]
    s = np.asarray(scores, dtype=float)
    return float(t if np.isfinite(t) else np.max(s) + 1.0)


def balanced_accuracy(scores, membership, threshold: float) -> float:
    """``(TPR + TNR) / 2`` when predicting member for ``score >= threshold``.

    Example:
        >>> balanced_accuracy([0.9, 0.4, 0.6, 0.1], [1, 1, 0, 0], threshold=0.5)
        0.5
    """
    s, m = check_scores(scores, membership)
    threshold = check_number(threshold, "threshold", "balanced_accuracy")
    pred = s >= threshold
    return float(0.5 * (pred[m == 1].mean() + (~pred[m == 0]).mean()))


# ----------------------------------------------------------------------------- resampling core
#
# A bootstrap resample is represented by counts: Wp[b, i] = how often member i is drawn in
# resample b (rows sum to n1), Wn likewise for non-members. The full sample is all-ones counts,
# so the point estimate and every resample go through the same code.

class _Sample:
    """Scores split by membership and sorted once; statistics of count-weighted resamples."""

    def __init__(self, s: np.ndarray, m: np.ndarray):
        pos, neg = s[m == 1], s[m == 0]
        self.op, self.on = np.argsort(pos, kind="stable"), np.argsort(neg, kind="stable")
        self.pos, self.neg = pos[self.op], neg[self.on]  # ascending
        self.n1, self.n0 = len(pos), len(neg)
        self.idx_pos, self.idx_neg = np.flatnonzero(m == 1), np.flatnonzero(m == 0)

    def sorted_counts(self, Wp, Wn):
        """Counts in ascending score order and their cumulative sums with a leading 0."""
        Wp, Wn = Wp[:, self.op], Wn[:, self.on]
        Cp = np.zeros((len(Wp), self.n1 + 1), dtype=np.int64)
        Cn = np.zeros((len(Wn), self.n0 + 1), dtype=np.int64)
        np.cumsum(Wp, 1, out=Cp[:, 1:])
        np.cumsum(Wn, 1, out=Cn[:, 1:])
        return Wp, Wn, Cp, Cn

    def stat(self, name: str, Wp, Wn, *, threshold=None, fpr=None, cache=None) -> np.ndarray:
        c = cache if cache is not None else {}
        if "cum" not in c:
            c["cum"] = self.sorted_counts(Wp, Wn)
        Wps, _, Cp, Cn = c["cum"]
        B = len(Wps)
        if name == "auc":
            lt = np.searchsorted(self.neg, self.pos, "left")    # non-members strictly below
            le = np.searchsorted(self.neg, self.pos, "right")   # ... or tied
            less, leq = Cn[:, lt], Cn[:, le]
            return (Wps * (less + 0.5 * (leq - less))).sum(1) / (self.n1 * self.n0)
        if name == "tpr_at_fpr":
            if not _resolvable(fpr, self.n0):
                return np.full(B, np.nan)
            k = math.floor(fpr * self.n0 + 1e-9)  # false positives allowed
            if k >= self.n0:
                return np.ones(B)
            # (k+1)-th largest non-member score: index j* = largest j with Cn[j] <= n0-k-1;
            # the threshold sits just above it, so TPR = members strictly above it.
            j = (Cn[:, :self.n0] <= self.n0 - k - 1).sum(1) - 1
            v = self.neg[j]
            below = Cp[np.arange(B), np.searchsorted(self.pos, v, "right")]
            return (self.n1 - below) / self.n1
        if name == "balanced_accuracy":
            tpr = (self.n1 - Cp[:, np.searchsorted(self.pos, threshold, "left")]) / self.n1
            tnr = Cn[:, np.searchsorted(self.neg, threshold, "left")] / self.n0
            return 0.5 * (tpr + tnr)
        if name == "max_advantage":
            if "max_advantage" in c:
                return c["max_advantage"]
            grid = np.unique(np.r_[self.pos, self.neg])  # every distinct score is a threshold
            tpr = (self.n1 - Cp[:, np.searchsorted(self.pos, grid, "left")]) / self.n1
            fpr_ = (self.n0 - Cn[:, np.searchsorted(self.neg, grid, "left")]) / self.n0
            c["max_advantage"] = np.maximum((tpr - fpr_).max(1), 0.0)  # +inf: (0, 0)
            return c["max_advantage"]
        raise ValueError(name)  # internal

    def counts(self, n_resamples: int, rng: np.random.Generator):
        """Stratified resampling counts ``(Wp, Wn)`` in the original member / non-member order."""
        def draw(n):
            idx = rng.integers(0, n, size=(n_resamples, n))
            idx += (np.arange(n_resamples) * n)[:, None]
            return np.bincount(idx.ravel(), minlength=n_resamples * n).reshape(n_resamples, n)
        return draw(self.n1), draw(self.n0)

    def ones(self):
        return np.ones((1, self.n1), np.int64), np.ones((1, self.n0), np.int64)


_NAMED = ("auc", "balanced_accuracy", "max_advantage", "tpr_at_fpr", *LOW_FPRS)


def _resolve_metric(metric, threshold, fpr, owner: str, threshold_name: str = "threshold"):
    """``metric`` -> (internal name, kwargs) or a callable."""
    if callable(metric):
        return metric, {}
    if metric in LOW_FPRS:
        return "tpr_at_fpr", {"fpr": LOW_FPRS[metric]}
    if metric == "tpr_at_fpr":
        if fpr is None:
            raise ParameterError(f"The 'fpr' parameter of {owner} must be {_FPR.describe()} "
                                 "with metric='tpr_at_fpr' (e.g. fpr=0.01). Got None instead.")
        validate_params({"fpr": fpr}, {"fpr": [_FPR]}, owner)
        return "tpr_at_fpr", {"fpr": float(fpr)}
    if metric == "balanced_accuracy":
        if threshold is None:
            return "max_advantage", {"oracle": True}
        return "balanced_accuracy", {"threshold": check_number(threshold, threshold_name, owner)}
    if metric in ("auc", "max_advantage"):
        return metric, {}
    raise ParameterError(f"The 'metric' parameter of {owner} must be one of {list(_NAMED)} or "
                         f"a callable (scores, membership) -> float. Got {metric!r} instead.")


def _values(sample: _Sample, name, kw, Wp, Wn, cache, s=None, m=None):
    if callable(name):  # generic (slow) path: materialise each resample
        out = []
        for wp, wn in zip(Wp, Wn):
            idx = np.r_[np.repeat(sample.idx_pos, wp), np.repeat(sample.idx_neg, wn)]
            out.append(float(name(s[idx], m[idx])))
        return np.asarray(out)
    kw = dict(kw)
    if kw.pop("oracle", False):  # balanced accuracy at each resample's own best threshold
        return 0.5 * (1 + sample.stat("max_advantage", Wp, Wn, cache=cache))
    return sample.stat(name, Wp, Wn, cache=cache, **kw)


def _rng(random_state):
    """A generator from a checked ``random_state`` (see :func:`_check_resampling`)."""
    if isinstance(random_state, np.random.Generator):
        return random_state
    return np.random.default_rng(int(random_state))


def _percentile(values: np.ndarray, confidence: float) -> tuple[float, float]:
    if np.isnan(values).any():
        return float("nan"), float("nan")
    a = (1 - confidence) / 2
    lo, hi = np.quantile(values, [a, 1 - a])
    return float(lo), float(hi)


# ----------------------------------------------------------------------------- public API

def auc(scores, membership) -> float:
    """ROC AUC: P(member score > non-member score) + P(tie) / 2 (Mann-Whitney).

    Example:
        >>> auc([3, 2, 2, 1], [1, 1, 0, 0])
        0.875
    """
    s, m = check_scores(scores, membership)
    sample = _Sample(s, m)
    return float(sample.stat("auc", *sample.ones())[0])


def tpr_at_fpr_score(scores, membership, target: float) -> float:
    """TPR at FPR ``<= target`` from scores, on the full ROC (ties kept together).

    Returns NaN when ``target * n_nonmembers < 1``: the data cannot resolve that FPR
    (see :func:`tpr_note`).

    Example:
        >>> s = [5, 4, 3, 2, 1, 0]; m = [1, 0, 1, 0, 1, 0]
        >>> tpr_at_fpr_score(s, m, 1 / 3), tpr_at_fpr_score(s, m, 0.1)
        (0.6666666666666666, nan)
    """
    s, m = check_scores(scores, membership)
    sample = _Sample(s, m)
    validate_params({"target": target}, {"target": [_FPR]}, "tpr_at_fpr_score")
    return float(sample.stat("tpr_at_fpr", *sample.ones(), fpr=float(target))[0])


def bootstrap_ci(scores, membership, metric: str | Callable = "auc", *,
                 n_resamples: int = 1000, confidence: float = 0.95, random_state=0,
                 threshold: float | None = None, fpr: float | None = None) -> dict:
    """Percentile bootstrap interval of an attack metric, stratified by membership.

    Members and non-members are resampled separately (with replacement, each to its own
    size), so every resample keeps the evaluation set's balance.

    Args:
        scores: membership scores (higher = member).
        membership: 1 for members, 0 for non-members.
        metric: ``"auc"``, ``"balanced_accuracy"`` (at ``threshold``; ``None`` = each
            resample's own best threshold), ``"max_advantage"``, ``"tpr_at_1pct_fpr"``,
            ``"tpr_at_0p1pct_fpr"``, ``"tpr_at_fpr"`` (with ``fpr``), or a callable
            ``(scores, membership) -> float`` (slow: a Python loop over resamples).
        n_resamples: number of resamples (>= 1 here).
        confidence: coverage of the interval.
        random_state: int seed or ``numpy.random.Generator``.
        threshold: for ``"balanced_accuracy"``.
        fpr: for ``"tpr_at_fpr"``.

    Returns:
        ``{"estimate", "lo", "hi", "n_resamples", "confidence"}``; all NaN for a TPR at an
        unresolvable FPR.

    Example:
        >>> rng = np.random.default_rng(0); m = np.r_[np.ones(500), np.zeros(500)]
        >>> ci = bootstrap_ci(rng.normal(size=1000) + m, m, "auc")
        >>> bool(ci["lo"] < ci["estimate"] < ci["hi"]), round(ci["estimate"], 3)
        (True, 0.779)
    """
    s, m = check_scores(scores, membership)
    n_resamples, confidence = _check_resampling(n_resamples, confidence, random_state,
                                                "bootstrap_ci")
    name, kw = _resolve_metric(metric, threshold, fpr, "bootstrap_ci")
    sample = _Sample(s, m)
    est = _values(sample, name, kw, *sample.ones(), None, s, m)[0]
    Wp, Wn = sample.counts(n_resamples, _rng(random_state))
    vals = _values(sample, name, kw, Wp, Wn, {}, s, m)
    lo, hi = _percentile(vals, confidence)
    if np.isnan(est):
        lo = hi = float("nan")
    return {"estimate": float(est), "lo": lo, "hi": hi, "n_resamples": n_resamples,
            "confidence": confidence}


def paired_bootstrap(scores_a, scores_b, membership, metric: str | Callable = "auc", *,
                     n_resamples: int = 1000, random_state=0,
                     threshold_a: float | None = None, threshold_b: float | None = None,
                     fpr: float | None = None, owner: str = "paired_bootstrap") -> dict:
    """The paired bootstrap behind :func:`paired_difference`: both models' point estimates and
    the ``n_resamples`` resampled differences ``metric(a) - metric(b)``, drawn with the same
    resampled samples for both models.

    Their standard deviation is the standard error of the difference, from which
    :mod:`sparsepriv_nb.power` computes the minimum detectable difference.

    Args:
        scores_a, scores_b, membership, metric, n_resamples, random_state, threshold_a,
            threshold_b, fpr: as in :func:`paired_difference`.
        owner: the function named in error messages.

    Returns:
        ``{"a", "b", "diffs"}``: the two estimates (floats) and the resampled differences
        (an array of ``n_resamples``; NaN for a TPR at an unresolvable FPR).

    Example:
        >>> m = np.r_[np.ones(200), np.zeros(200)]; a = np.random.default_rng(0).normal(size=400)
        >>> b = paired_bootstrap(a + m, a, m, n_resamples=200)
        >>> b["diffs"].shape, bool(b["a"] > b["b"])
        ((200,), True)
    """
    sa, m = check_scores(scores_a, membership, "scores_a")
    if np.shape(scores_b) != sa.shape:
        raise ParameterError(f"The 'scores_b' parameter of {owner} must have the "
                             f"shape of 'scores_a' {sa.shape} (the same samples, same order). "
                             f"Got shape {np.shape(scores_b)} instead.")
    sb, _ = check_scores(scores_b, membership, "scores_b")
    n_resamples, _ = _check_resampling(n_resamples, 0.95, random_state, owner)
    name_a, kw_a = _resolve_metric(metric, threshold_a, fpr, owner, "threshold_a")
    name_b, kw_b = _resolve_metric(metric, threshold_b, fpr, owner, "threshold_b")
    A, Bs = _Sample(sa, m), _Sample(sb, m)
    ea = _values(A, name_a, kw_a, *A.ones(), None, sa, m)[0]
    eb = _values(Bs, name_b, kw_b, *Bs.ones(), None, sb, m)[0]
    Wp, Wn = A.counts(n_resamples, _rng(random_state))  # indices in the shared sample order
    diffs = (_values(A, name_a, kw_a, Wp, Wn, {}, sa, m)
             - _values(Bs, name_b, kw_b, Wp, Wn, {}, sb, m))
    return {"a": float(ea), "b": float(eb), "diffs": diffs}


def paired_difference(scores_a, scores_b, membership, metric: str | Callable = "auc", *,
                      n_resamples: int = 1000, confidence: float = 0.95, random_state=0,
                      threshold_a: float | None = None, threshold_b: float | None = None,
                      fpr: float | None = None) -> dict:
    """Difference ``metric(a) - metric(b)`` of two models attacked on the same samples, with a
    paired bootstrap interval (the same resampled samples for both models).

    Pairing removes the sampling noise the two models share (which samples happen to be
    easy), so the interval is usually much narrower than comparing two separate intervals.

    Args:
        scores_a, scores_b: the two models' scores on the same samples, in the same order.
        membership: shared 0/1 labels.
        metric, n_resamples, confidence, random_state, fpr: as in :func:`bootstrap_ci`.
        threshold_a, threshold_b: fitted thresholds for ``"balanced_accuracy"``.

    Returns:
        ``{"diff", "lo", "hi", "a", "b", "n_resamples", "confidence"}``.

    Example:
        >>> rng = np.random.default_rng(1); m = np.r_[np.ones(300), np.zeros(300)]
        >>> a = rng.normal(size=600) + m
        >>> paired_difference(a, a, m)["lo"], paired_difference(a, a, m)["hi"]
        (0.0, 0.0)
    """
    n_resamples, confidence = _check_resampling(n_resamples, confidence, random_state,
                                                "paired_difference")
    boot = paired_bootstrap(scores_a, scores_b, membership, metric, n_resamples=n_resamples,
                            random_state=random_state, threshold_a=threshold_a,
                            threshold_b=threshold_b, fpr=fpr, owner="paired_difference")
    lo, hi = _percentile(boot["diffs"], confidence)
    diff = boot["a"] - boot["b"]
    if np.isnan(diff):
        lo = hi = float("nan")
    return {"diff": diff, "lo": lo, "hi": hi, "a": boot["a"], "b": boot["b"],
            "n_resamples": n_resamples, "confidence": confidence}


def aggregate_seeds(df: pd.DataFrame, by, metrics, *, confidence: float = 0.95) -> pd.DataFrame:
    """Mean, standard deviation, n and a t-interval over repeated runs (seeds), per group.

    The interval is ``mean +/- t_{n-1} sd / sqrt(n)`` (Student's t with n - 1 degrees of
    freedom): it shows *seed* variance (how much a retrained model varies), not the sampling
    noise of one model's attack (that is :func:`bootstrap_ci`). Groups with one run get
    ``sd``, ``lo``, ``hi`` = NaN. NaN values (e.g. an unresolvable TPR) are left out of n.

    Args:
        df: one row per run.
        by: column name(s) defining the groups (e.g. ``["density", "attack"]``).
        metrics: column name(s) to summarise.
        confidence: coverage of the interval.

    Returns:
        Tidy frame: the ``by`` columns, ``metric``, ``mean``, ``sd``, ``n``, ``lo``, ``hi``.

    Example:
        >>> d = pd.DataFrame(dict(k=[1, 1, 1, .5], auc=[.6, .7, .8, .55]))
        >>> aggregate_seeds(d, "k", "auc").round(3).to_dict("records")[0]
        {'k': 1.0, 'metric': 'auc', 'mean': 0.7, 'sd': 0.1, 'n': 3, 'lo': 0.452, 'hi': 0.948}
    """
    from scipy import stats

    validate_params({"df": df, "confidence": confidence},
                    {"df": [InstanceOf(pd.DataFrame, "a pandas DataFrame")],
                     "confidence": [_CONFIDENCE]}, "aggregate_seeds")
    by = [by] if isinstance(by, str) else list(by)
    metrics = [metrics] if isinstance(metrics, str) else list(metrics)
    if not metrics:
        raise ValueError("The 'metrics' parameter must name at least one column. Got [].")
    missing = [c for c in by + metrics if c not in df.columns]
    if missing:
        raise ValueError(f"The 'by'/'metrics' parameters name columns {missing} that the data "
                         f"lacks; it has {list(df.columns)}.")
    confidence = float(confidence)
    long = df[by + metrics].melt(id_vars=by, value_vars=metrics, var_name="metric")
    long["value"] = pd.to_numeric(long["value"], errors="raise")
    g = long.groupby(by + ["metric"], sort=False, dropna=False)["value"]
    out = g.agg(mean="mean", sd="std", n="count").reset_index()
    n = out["n"].to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        tq = np.where(n > 1, stats.t.ppf(0.5 + confidence / 2, np.maximum(n - 1, 1)), np.nan)
        half = tq * out["sd"].to_numpy() / np.sqrt(n)
    out["lo"], out["hi"] = out["mean"] - half, out["mean"] + half
    out["n"] = out["n"].astype(int)
    return out


def verdict(diff: float, lo: float, hi: float, *, higher: str = "higher",
            lower: str = "lower") -> str:
    """Turn a difference and its interval into words: ``higher`` when the whole interval is
    above 0, ``lower`` when below, else :data:`NO_DIFFERENCE`. NaN gives
    ``"not measurable here"``.

    Example:
        >>> verdict(0.03, 0.01, 0.05), verdict(-0.03, -0.05, -0.01), verdict(0.01, -0.01, 0.03)
        ('higher', 'lower', 'no detectable difference (within noise)')
    """
    vals = [diff, lo, hi]
    validate_params({"diff": diff, "lo": lo, "hi": hi},
                    {"diff": [_NUMBER], "lo": [_NUMBER], "hi": [_NUMBER]}, "verdict")
    if any(np.isnan(v) for v in vals):
        return "not measurable here"
    if lo > hi or not lo <= diff <= hi:
        raise ValueError(f"verdict needs lo <= diff <= hi. Got diff={diff}, lo={lo}, hi={hi}.")
    if lo > 0:
        return higher
    if hi < 0:
        return lower
    return NO_DIFFERENCE


def describe_difference(name_a: str, name_b: str, metric: str, diff: float, lo: float,
                        hi: float, *, confidence: float = 0.95, digits: int = 3) -> str:
    """One sentence on ``metric(a) - metric(b)`` and its interval, with its :func:`verdict`.

    Example:
        >>> describe_difference("pruned", "dense", "AUC", -0.04, -0.07, -0.01)
        'AUC: pruned is lower than dense (difference -0.040, 95% CI -0.070 to -0.010).'
        >>> describe_difference("pruned", "dense", "AUC", 0.01, -0.02, 0.04)[:73]
        'AUC: pruned vs dense, no detectable difference (within noise): difference'
    """
    v = verdict(diff, lo, hi)
    f = f"+.{digits}f"
    ci = (f"difference {diff:{f}}, {100 * confidence:.0f}% CI {lo:{f}} to {hi:{f}}"
          if not np.isnan(diff) else "difference NaN")
    if v in ("higher", "lower"):
        return f"{metric}: {name_a} is {v} than {name_b} ({ci})."
    return f"{metric}: {name_a} vs {name_b}, {v}: {ci}."


def attack_metrics(scores, membership, *, threshold: float | None = None,
                   n_resamples: int = 1000, confidence: float = 0.95,
                   random_state=0) -> dict:
    """All attack metrics, with bootstrap intervals, as one flat dict.

    Args:
        scores: membership scores (higher = member).
        membership: 1 for members, 0 for non-members.
        threshold: the attack's fitted threshold (e.g. ``attack.threshold_``, fitted on
            shadow data). ``None`` uses the best threshold on these very scores, an
            optimistic upper bound; ``threshold_source`` records which (and the bootstrap then
            re-picks the best threshold in every resample).
        n_resamples: bootstrap resamples for the ``*_lo`` / ``*_hi`` columns (0: no intervals,
            the columns are NaN).
        confidence: coverage of the intervals.
        random_state: seed of the resampling (int or ``numpy.random.Generator``).

    Returns:
        ``auc, balanced_accuracy, advantage, max_advantage, defense_level, tpr_at_1pct_fpr,
        tpr_at_0p1pct_fpr``, each with ``_lo`` and ``_hi``; ``tpr@1%fpr`` and ``tpr@0.1%fpr``
        (the same values under their older names); ``threshold, threshold_source,
        n_members, n_nonmembers, n_resamples, ci_confidence``. A TPR at an FPR below
        ``1 / n_nonmembers`` is NaN (:func:`tpr_note`).
    """
    s, m = check_scores(scores, membership)
    n_resamples, confidence = _check_resampling(n_resamples, confidence, random_state,
                                                "attack_metrics", low=0)
    source = "fitted"
    if threshold is None:
        threshold, source = best_threshold(s, m), "oracle"
    else:
        threshold = check_number(threshold, "threshold", "attack_metrics")
    sample = _Sample(s, m)
    bacc_name, bacc_kw = _resolve_metric("balanced_accuracy",
                                         None if source == "oracle" else threshold, None,
                                         "attack_metrics")
    wanted = {"auc": ("auc", {}), "balanced_accuracy": (bacc_name, bacc_kw),
              "max_advantage": ("max_advantage", {}),
              **{k: ("tpr_at_fpr", {"fpr": f}) for k, f in LOW_FPRS.items()}}

    def compute(Wp, Wn):
        cache = {}
        return {k: _values(sample, n, kw, Wp, Wn, cache) for k, (n, kw) in wanted.items()}

    est = {k: float(v[0]) for k, v in compute(*sample.ones()).items()}
    if source == "fitted":  # exact value at the given threshold
        est["balanced_accuracy"] = balanced_accuracy(s, m, threshold)
    if n_resamples:
        boot = compute(*sample.counts(n_resamples, _rng(random_state)))
        ci = {k: _percentile(v, confidence) for k, v in boot.items()}
    else:
        ci = {k: (float("nan"), float("nan")) for k in wanted}
    for k in LOW_FPRS:
        if np.isnan(est[k]):
            ci[k] = (float("nan"), float("nan"))
    bacc, (blo, bhi) = est["balanced_accuracy"], ci["balanced_accuracy"]
    out = {
        "auc": est["auc"], "auc_lo": ci["auc"][0], "auc_hi": ci["auc"][1],
        "balanced_accuracy": bacc, "balanced_accuracy_lo": blo, "balanced_accuracy_hi": bhi,
        "advantage": 2 * bacc - 1, "advantage_lo": 2 * blo - 1, "advantage_hi": 2 * bhi - 1,
        "max_advantage": est["max_advantage"], "max_advantage_lo": ci["max_advantage"][0],
        "max_advantage_hi": ci["max_advantage"][1],
        "defense_level": 2 * (1 - bacc), "defense_level_lo": 2 * (1 - bhi),
        "defense_level_hi": 2 * (1 - blo),
    }
    for k in LOW_FPRS:
        out.update({k: est[k], f"{k}_lo": ci[k][0], f"{k}_hi": ci[k][1], _LEGACY[k]: est[k]})
    out.update({"threshold": float(threshold), "threshold_source": source,
                "n_members": sample.n1, "n_nonmembers": sample.n0,
                "n_resamples": n_resamples, "ci_confidence": confidence})
    return out


def attack_record(scores, membership, *, model: str, attack: str,
                  threshold: float | None = None, n_resamples: int = 1000,
                  confidence: float = 0.95, random_state=0, **extra) -> dict:
    """:func:`attack_metrics` plus ``model`` and ``attack`` names and any ``extra`` fields:
    one tidy row; a list of them is a DataFrame with one row per (model, attack).

    Example:
        >>> r = attack_record([0.9, 0.1], [1, 0], model="dense", attack="loss", seed=0,
        ...                   n_resamples=0)
        >>> r["model"], r["attack"], r["seed"], r["auc"]
        ('dense', 'loss', 0, 1.0)
    """
    return {"model": model, "attack": attack, **extra,
            **attack_metrics(scores, membership, threshold=threshold, n_resamples=n_resamples,
                             confidence=confidence, random_state=random_state)}


# ----------------------------------------------------------------------------- inversion

def _image_pair(inverted, original, owner: str) -> tuple[np.ndarray, np.ndarray]:
    """The two images as float64 arrays, else a ValueError if their shapes differ."""
    a = np.asarray(inverted, dtype=np.float64)
    b = np.asarray(original, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"{owner}: shapes differ, {a.shape} vs {b.shape}.")
    return a, b


def _psnr(mse: float, data_range: float) -> float:
    return float(10 * np.log10(data_range ** 2 / mse)) if mse > 0 else float("inf")


def psnr(inverted, original, data_range: float = 1.0) -> float:
    """Peak signal-to-noise ratio ``10 log10(R^2 / MSE)`` in dB (R = ``data_range``, the
    distance between the darkest and brightest possible pixel). ``inf`` when identical.

    20 dB is an RMS error of 10 % of the range, 30 dB of 3 %, 40 dB of 1 %.

    Example:
        >>> psnr(np.full((4, 4), 0.1), np.zeros((4, 4)))
        20.0
    """
    a, b = _image_pair(inverted, original, "psnr")
    return _psnr(float(np.mean((a - b) ** 2)), data_range)


def inversion_quality(inverted: np.ndarray, original: np.ndarray,
                      data_range: float = 1.0) -> dict:
    """MSE, PSNR (:func:`psnr`) and SSIM (scikit-image) between two images ``(C, H, W)`` or
    ``(H, W)``.

    SSIM (Wang et al. 2004) compares local means, contrasts and correlations in a sliding
    window (7 x 7, or the largest odd size the image allows) and averages over the image:
    1 = identical structure, 0 = unrelated; it tracks what a viewer recognises better than
    MSE does.

    Example:
        >>> q = inversion_quality(np.full((8, 8), 0.1), np.zeros((8, 8)))
        >>> round(q["mse"], 4), round(q["psnr"], 1)
        (0.01, 20.0)
    """
    from skimage.metrics import structural_similarity

    a, b = _image_pair(inverted, original, "inversion_quality")
    validate_params({"data_range": data_range},
                    {"data_range": [Interval(float, 0, None, "neither")]}, "inversion_quality")
    if a.ndim == 3:
        a, b = np.moveaxis(a, 0, -1), np.moveaxis(b, 0, -1)
    mse = float(np.mean((a - b) ** 2))
    win = min(7, *[s if s % 2 else s - 1 for s in b.shape[:2]])
    ssim = float(structural_similarity(b, a, data_range=data_range, win_size=win,
                                       channel_axis=-1 if a.ndim == 3 else None))
    return {"mse": mse, "psnr": _psnr(mse, data_range), "ssim": ssim}
