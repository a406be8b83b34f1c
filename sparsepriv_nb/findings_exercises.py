"""Checks for the graded exercises of notebook 07: a directional verdict, an equivalence
verdict and an MDE from a standard error, each compared with the package's own function.

A failure raises :mod:`sparsepriv_nb.exercises`' ``ExerciseFailure`` (an
``AssertionError``) whose message names the exercise, the case, the rule the answer follows
and what the student's function returned, never the expected value itself.
``hidden=True`` adds edge cases (intervals touching zero or the margin, other levels).

Example:
    >>> from sparsepriv_nb import findings
    >>> check_directional_verdict(lambda lo, hi, sign: findings.directional_verdict(
    ...     0.0, lo, hi, sign=sign))
    Exercise 07.1: all 4 checks passed.
    >>> try:
    ...     check_directional_verdict(lambda lo, hi, sign: "supported")
    ... except AssertionError as exc:
    ...     print(str(exc).split(":")[0])
    Exercise 07.1, case 3 (an interval below zero, a positive effect claimed)

Lesson: notebook 07 (``07_what_we_found``), its graded exercises.
"""

from __future__ import annotations

import math
from typing import Callable

from .exercises import ExerciseFailure, call_student, report_passed
from .findings import VERDICTS, directional_verdict, equivalence_verdict

__all__ = ["ExerciseFailure", "check_directional_verdict", "check_equivalence_verdict",
           "check_mde_from_se"]


def _verdicts(ex: str, fn: Callable, cases: list, expected: Callable, rule: str,
              hidden: bool) -> None:
    for i, (args, why) in enumerate(cases, 1):
        case = f"{i} ({why})"
        got = call_student(ex, case, fn, *args)
        if got not in VERDICTS:
            raise ExerciseFailure(f"Exercise {ex}, case {case}: expected one of {list(VERDICTS)};"
                                  f" your function returned {got!r} for arguments {args}.")
        if got != expected(*args):
            raise ExerciseFailure(f"Exercise {ex}, case {case}: expected the verdict {rule} "
                                  f"gives for arguments {args}; yours returned {got!r}.")
    report_passed(ex, len(cases), hidden)


def check_directional_verdict(fn: Callable, hidden: bool = False) -> None:
    """Exercise 07.1: ``fn(lo, hi, sign)`` -> the verdict on a claimed sign."""
    cases = [((0.01, 0.07, +1), "an interval above zero, a positive effect claimed"),
             ((-0.05, -0.01, -1), "an interval below zero, a negative effect claimed"),
             ((-0.05, -0.01, +1), "an interval below zero, a positive effect claimed"),
             ((-0.02, 0.04, +1), "an interval holding zero")]
    if hidden:
        cases += [((0.0, 0.05, +1), "an interval starting at zero"),
                  ((-0.05, 0.0, -1), "an interval ending at zero"),
                  ((0.02, 0.03, -1), "a narrow interval above zero, a negative effect claimed"),
                  ((-0.3, -0.2, -1), "a wide margin below zero")]
    _verdicts("07.1", fn, cases, lambda lo, hi, s: directional_verdict(0.0, lo, hi, sign=s),
              "the directional rule of section 2", hidden)


def check_equivalence_verdict(fn: Callable, hidden: bool = False) -> None:
    """Exercise 07.2: ``fn(lo, hi, margin)`` -> the verdict on a claim of no difference."""
    cases = [((-0.01, 0.015, 0.02), "an interval inside the margin"),
             ((0.03, 0.06, 0.02), "an interval wholly above the margin"),
             ((-0.04, 0.01, 0.02), "an interval holding zero but reaching past the margin")]
    if hidden:
        cases += [((-0.02, 0.02, 0.02), "an interval exactly as wide as the margin"),
                  ((-0.06, -0.001, 0.05), "an interval just below zero"),
                  ((0.001, 0.01, 0.05), "an interval inside the margin, above zero"),
                  ((-0.1, 0.1, 0.05), "a wide interval"),
                  ((0.01, 0.05, 0.02), "an interval above zero reaching past the margin"),
                  ((-0.09, -0.06, 0.05), "an interval wholly below the margin")]
    _verdicts("07.2", fn, cases, lambda lo, hi, m: equivalence_verdict(lo, hi, margin=m),
              "the equivalence rule of section 2", hidden)


def check_mde_from_se(fn: Callable, hidden: bool = False) -> None:
    """Exercise 07.3: ``fn(se, alpha, power)`` -> the minimum detectable difference."""
    from .power import mde_from_se

    cases = [(0.01, 0.05, 0.8), (0.02, 0.05, 0.8)]
    if hidden:
        cases += [(0.03, 0.01, 0.9), (0.005, 0.1, 0.5), (0.0, 0.05, 0.8)]
    for i, (se, alpha, power) in enumerate(cases, 1):
        case = f"{i} (se = {se}, alpha = {alpha}, power = {power})"
        got = call_student("07.3", case, fn, se, alpha, power)
        try:
            value = float(got)
        except (TypeError, ValueError):
            raise ExerciseFailure(f"Exercise 07.3, case {case}: expected one number; your "
                                  f"function returned {got!r}.") from None
        if not math.isclose(value, mde_from_se(se, alpha=alpha, power=power), rel_tol=1e-6,
                            abs_tol=1e-9):
            raise ExerciseFailure(
                f"Exercise 07.3, case {case}: expected (z of 1 - alpha/2 plus z of power) "
                f"times se, within 1e-6 of the package's value; yours returned {value:.6g}.")
    report_passed("07.3", len(cases), hidden)
