"""Computed sentences for DP-SGD with public masks: what the accuracy comparisons found.

Notebook 06 compares public-mask variants (freezing, selection) with dense DP-SGD at the same
epsilon, and tests the equivalence claim of seed paper 003 (Adamczewski & Park): random
selection on par with magnitude selection. The verdict *words* come from
:mod:`sparsepriv_nb.families` (Holm) and :func:`sparsepriv_nb.findings.equivalence_verdict`;
this module turns the same numbers into
sentences that say which way each difference went and what is left unresolved:

* :func:`equivalence_reading` - an equivalence comparison read in both directions: detected
  or not, and whether the margin is shown, excluded or neither;
* :func:`equivalence_sample_size` - how many samples the half-width criterion of equivalence
  would need (at this estimate, and at a true difference of 0);
* :func:`effect_sentence` - one ``Verdict:`` line per baseline: which variants were detectably
  more / less accurate, and the nulls with their estimate and MDE;
* :func:`null_with_estimate` - a Holm row's sentence with its estimate in front when it is a
  null (the MDE alone hides where the estimate lies);
* :func:`best_versus` - the most accurate variant against a baseline, null or not, with its
  estimate (the comparison a "was it worth it" argument hinges on);
* :func:`versus` - ``{variant: [estimate, lo, hi]}`` of ``variant - baseline`` rows, for
  :func:`sparsepriv_nb.findings.record`'s ``params``.

Example:
    >>> equivalence_reading(-0.054, -0.088, -0.021, margin=0.03, a="random selection",
    ...                     b="magnitude selection")  # doctest: +NORMALIZE_WHITESPACE
    'random selection was detectably less accurate than magnitude selection (-0.054 [-0.088,
    -0.021]); whether by more than the 0.03 margin is not resolved, so "on par" is neither
    shown nor excluded'

Lesson: notebook 06 (``06_dp_sgd_and_pruning``), section 5.
"""

from __future__ import annotations

import math

import pandas as pd

from . import metrics
from ._checks import ParameterError, check_int, check_number
from .lesson import format_interval

__all__ = ["equivalence_reading", "equivalence_sample_size", "effect_sentence",
           "null_with_estimate", "best_versus", "versus"]


def _interval(diff, lo, hi, owner: str) -> tuple[float, float, float]:
    vals = [check_number(v, name, owner) for v, name in ((diff, "diff"), (lo, "lo"),
                                                           (hi, "hi"))]
    if not vals[1] <= vals[2]:
        raise ParameterError(f"The 'lo' and 'hi' parameters of {owner} must satisfy lo <= hi. "
                             f"Got lo={lo!r}, hi={hi!r}.")
    return tuple(vals)


def _margin(margin, owner: str) -> float:
    return check_number(margin, "margin", owner, low=0, low_open=True)


def equivalence_reading(diff, lo, hi, *, margin, a: str, b: str, what: str = "accurate") -> str:
    """What an equivalence comparison ``a - b`` found, in both directions.

    Four cases, from the interval ``[lo, hi]`` and the margin ``m``: inside ``[-m, m]``
    (on par shown); wholly outside it (a difference larger than ``m``: on par excluded);
    excluding 0 but reaching inside the margin (a detected difference whose size relative to
    ``m`` is unresolved); containing 0 and reaching past the margin (neither).

    Example:
        >>> equivalence_reading(0.004, -0.01, 0.02, margin=0.03, a="x", b="y")
        'x and y are on par: the difference +0.004 [-0.010, +0.020] lies inside +-0.03'
        >>> equivalence_reading(0.06, 0.04, 0.08, margin=0.03, a="x", b="y")
        'x was detectably more accurate than y, by more than the 0.03 margin (+0.060 [+0.040, +0.080]): "on par" is excluded'
        >>> equivalence_reading(0.01, -0.03, 0.05, margin=0.03, a="x", b="y")
        'no detectable difference between x and y (+0.010 [-0.030, +0.050]), but the interval reaches past +-0.03, so "on par" is neither shown nor excluded'
    """  # noqa: E501
    diff, lo, hi = _interval(diff, lo, hi, "equivalence_reading")
    m = _margin(margin, "equivalence_reading")
    est = format_interval(diff, lo, hi, signed=True)
    if -m <= lo and hi <= m:
        return f"{a} and {b} are on par: the difference {est} lies inside +-{m:g}"
    word = "more" if diff > 0 else "less"
    if lo > m or hi < -m:
        return (f"{a} was detectably {word} {what} than {b}, by more than the {m:g} margin "
                f"({est}): \"on par\" is excluded")
    if lo > 0 or hi < 0:
        return (f"{a} was detectably {word} {what} than {b} ({est}); whether by more than the "
                f"{m:g} margin is not resolved, so \"on par\" is neither shown nor excluded")
    return (f"no detectable difference between {a} and {b} ({est}), but the interval reaches "
            f"past +-{m:g}, so \"on par\" is neither shown nor excluded")


def equivalence_sample_size(diff, lo, hi, *, margin, n: int, unit: str = "test examples") -> str:
    """How many samples equivalence within ``+-margin`` needs, by the half-width criterion.

    Equivalence needs the whole 95 % interval inside ``[-m, m]``: a half-width below
    ``m - |diff|``. The half-width falls as ``1 / sqrt(n)``, so about
    ``n (half / (m - |diff|))^2`` samples reach it at this estimate (none can when
    ``|diff| >= m``), and ``n (half / m)^2`` if the true difference were 0. (The MDE answers
    another question, what difference the run could *detect*.)

    Example:
        >>> equivalence_sample_size(-0.054, -0.088, -0.021, margin=0.03, n=821)
        'Equivalence sample size: the estimate |diff| = 0.054 is beyond the margin 0.03, so at this estimate no test set can show equivalence. If the true difference were 0: a 95 % half-width below 0.03 needs about 1024 test examples (this run: half-width 0.033 with 821).'
        >>> equivalence_sample_size(0.01, -0.02, 0.04, margin=0.03, n=100)[:122]
        'Equivalence sample size: equivalence within +-0.03 needs a 95 % half-width below 0.03 - |diff| = 0.020; this run has 0.030'
    """  # noqa: E501
    diff, lo, hi = _interval(diff, lo, hi, "equivalence_sample_size")
    m = _margin(margin, "equivalence_sample_size")
    n = check_int(n, "n", "equivalence_sample_size", 1)
    half, room = (hi - lo) / 2, m - abs(diff)
    if room <= 0:
        now = (f"the estimate |diff| = {abs(diff):.3f} is beyond the margin {m:g}, so at this "
               "estimate no test set can show equivalence")
    else:
        now = (f"equivalence within +-{m:g} needs a 95 % half-width below {m:g} - |diff| = "
               f"{room:.3f}; this run has {half:.3f}" + (
                   " (enough)" if half < room else
                   f": at this estimate about {_ceil(n * (half / room) ** 2)} {unit}"))
    at_zero = _ceil(n * (half / m) ** 2)
    return (f"Equivalence sample size: {now}. If the true difference were 0: a 95 % half-width "
            f"below {m:g} needs about {at_zero} {unit} (this run: half-width {half:.3f} with "
            f"{n}).")


def _ceil(x: float) -> int:
    """``ceil`` that ignores float noise (225.00000000003 -> 225)."""
    return math.ceil(round(x, 6))


def _rows(frame: pd.DataFrame, baseline: str) -> pd.DataFrame:
    missing = {"name", "diff", "lo", "hi", "verdict"} - set(frame.columns)
    if missing:
        raise ParameterError(f"The 'frame' parameter must be a holm_verdicts frame with columns "
                             f"name, diff, lo, hi, verdict. Missing {sorted(missing)}.")
    return frame[frame["name"].str.endswith(f" - {baseline}")]


def versus(frame: pd.DataFrame, baseline: str) -> dict[str, list[float]]:
    """``{variant: [estimate, lo, hi]}`` of every ``variant - baseline`` row of ``frame``.

    Example:
        >>> f = pd.DataFrame({"name": ["a - d", "a - b"], "diff": [0.1, 0.2], "lo": [0.0, 0.1],
        ...                   "hi": [0.2, 0.3], "verdict": ["higher", "higher"]})
        >>> versus(f, "d")
        {'a': [0.1, 0.0, 0.2]}
    """
    return {r.name.rsplit(" - ", 1)[0]: [float(r.diff), float(r.lo), float(r.hi)]
            for r in _rows(frame, baseline).itertuples()}


def null_with_estimate(row) -> str:
    """A Holm row's sentence, with ``estimate [lo, hi]`` in front when it is a null.

    Example:
        >>> r = pd.Series({"diff": 0.01, "lo": -0.02, "hi": 0.04, "sentence": "no detectable "
        ...                "difference; this run could detect |Δ| ≥ 0.05",
        ...                "verdict": metrics.NO_DIFFERENCE})
        >>> null_with_estimate(r)
        '+0.010 [-0.020, +0.040]: no detectable difference; this run could detect |Δ| ≥ 0.05'
    """
    if row["verdict"] != metrics.NO_DIFFERENCE:
        return str(row["sentence"])
    return f"{format_interval(row['diff'], row['lo'], row['hi'], signed=True)}: {row['sentence']}"


def best_versus(frame: pd.DataFrame, accuracy, baseline: str) -> str:
    """The most accurate variant of the ``X - baseline`` rows of a Holm frame, against it.

    Args:
        frame: a :func:`sparsepriv_nb.families.holm_verdicts` frame (``name``, ``diff``,
            ``lo``, ``hi``, ``verdict``, ``sentence``).
        accuracy: variant name -> its accuracy; the largest among the frame's ``X - baseline``
            rows is the one reported.
        baseline: the right side of the rows (``"public only"``).

    Returns:
        ``"the most accurate, X (0.630), minus baseline: <estimate and sentence>"``, with the
        estimate and interval in front of a null (:func:`null_with_estimate`).

    Example:
        >>> f = pd.DataFrame({"name": ["a - p", "b - p"], "diff": [-0.12, -0.014],
        ...                   "lo": [-0.16, -0.05], "hi": [-0.08, 0.02],
        ...                   "verdict": ["lower", metrics.NO_DIFFERENCE],
        ...                   "sentence": ["lower: -0.120", "no detectable difference"]})
        >>> best_versus(f, {"a": 0.52, "b": 0.63, "c": 0.9}, "p")
        'the most accurate, b (0.630), minus p: -0.014 [-0.050, +0.020]: no detectable difference'
    """
    rows = _rows(frame, baseline)
    names = {r["name"].rsplit(" - ", 1)[0]: i for i, r in rows.iterrows()}
    known = [n for n in names if n in accuracy]
    if not known:
        raise ParameterError(f"The 'accuracy' parameter of best_versus must name a variant of "
                             f"the 'X - {baseline}' rows {sorted(names)}. Got {sorted(accuracy)}.")
    best = max(known, key=lambda n: float(accuracy[n]))
    row = rows.loc[names[best]]
    return (f"the most accurate, {best} ({float(accuracy[best]):.3f}), minus {baseline}: "
            f"{null_with_estimate(row)}")


def effect_sentence(frame: pd.DataFrame, baseline: str, *, baseline_words: str,
                    context: str = "", what: str = "accurate") -> str:
    """One ``Verdict:`` line: which ``X - baseline`` rows of a Holm frame were detectably more
    or less ``what``, and the nulls with their estimate and MDE (unadjusted 95 % intervals).

    Example:
        >>> f = pd.DataFrame({"name": ["a - d", "b - d", "c - d"], "diff": [0.07, -0.08, 0.01],
        ...                   "lo": [0.04, -0.12, -0.02], "hi": [0.10, -0.05, 0.04],
        ...                   "verdict": ["higher", "lower", metrics.NO_DIFFERENCE],
        ...                   "mde": [0.04, 0.04, 0.05]})
        >>> effect_sentence(f, "d", baseline_words="dense")  # doctest: +NORMALIZE_WHITESPACE
        'Verdict: a was detectably more accurate than dense (+0.070 [+0.040, +0.100]); b was
        detectably less accurate (-0.080 [-0.120, -0.050]); c: no detectable difference
        (+0.010 [-0.020, +0.040]; this run could detect |Δ| >= 0.050) (Holm over the family;
        unadjusted 95 % intervals).'
    """
    rows = _rows(frame, baseline)
    if rows.empty:
        raise ParameterError(f"The 'baseline' parameter of effect_sentence must be the right "
                             f"side of some 'X - baseline' row. Got {baseline!r}.")
    parts, first = [], True
    for r in rows.itertuples():
        name = r.name.rsplit(" - ", 1)[0]
        est = format_interval(r.diff, r.lo, r.hi, signed=True)
        if r.verdict in ("higher", "lower"):
            word = "more" if r.verdict == "higher" else "less"
            than = f" than {baseline_words}" if first else ""
            parts.append(f"{name} was detectably {word} {what}{than} ({est})")
            first = False
        else:
            mde = getattr(r, "mde", math.nan)
            power = f"; this run could detect |Δ| >= {mde:.3f}" if math.isfinite(mde) else ""
            parts.append(f"{name}: {r.verdict.split(' (')[0]} ({est}{power})")
    head = f"Verdict: {context}" if context else "Verdict: "
    return head + "; ".join(parts) + " (Holm over the family; unadjusted 95 % intervals)."
