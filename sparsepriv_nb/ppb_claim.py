"""Yuan & Zhang's PPB claim read off a run: the claim's parts in words, the part that decided
the compound verdict, the structured record notebook 07 reads, and whether the lambda sweep
moves one way.

The compound verdict itself is :func:`sparsepriv_nb.defense_eval.ppb_claim_verdict` ("PPB
narrows the gap and lowers attack success at a small cost in accuracy": every part supported
-> supported, any part contradicted -> contradicted, else not detectable at this power). This
module says *why*, so that no sentence reads the opposite of its numbers: an accuracy part
"contradicted" means the cost is surely *larger* than the margin, and its words say so.

Part names in a record: ``"auc"`` (best non-adaptive attack's AUC), ``"gap"`` (mean confidence
gap), ``"accuracy"`` (test accuracy), and ``"adaptive_auc"`` (the adaptive attacker's best
AUC, reported next to the claim but not one of its parts).

Example:
    >>> accuracy_cost_words((-0.052, -0.080, -0.024), margin=0.02)
    "part contradicted: the cost, 0.024 to 0.080, exceeds the 0.02 allowed for 'small'"
    >>> deciding_part("contradicted", {"gap": "not detectable at this power",
    ...                                "AUC": "supported", "accuracy": "contradicted"})
    'accuracy'

Lesson: notebook 05 (05_ppb_defense), sections 7 and 9.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from ._checks import check_number

__all__ = ["RECORD_NAMES", "accuracy_part_verdict", "accuracy_cost_words", "deciding_part",
           "holm_to_claim", "claim_detail", "claim_params", "margin_caveat", "best_of_words",
           "monotone_direction", "sweep_words"]

#: ``ppb_claim_verdict``'s part names -> the names in the record's ``params["parts"]``.
RECORD_NAMES = {"AUC": "auc", "gap": "gap", "accuracy": "accuracy"}
_ORDER = ("AUC", "gap", "accuracy")  # the order parts are named in, and searched for a decider


def accuracy_part_verdict(lo: float, hi: float, margin: float) -> str:
    """The accuracy part of the claim: is PPB's accuracy cost *small* (at most ``margin``)?

    ``lo, hi`` bound PPB's test accuracy minus plain fine-tuning's (negative: a cost).
    ``supported`` when the whole interval lies above ``-margin`` (the cost is surely smaller
    than the margin), ``contradicted`` when it lies below (surely larger), else not detectable.

    Example:
        >>> accuracy_part_verdict(-0.080, -0.024, 0.02), accuracy_part_verdict(-0.01, 0.02, 0.02)
        ('contradicted', 'supported')
        >>> accuracy_part_verdict(-0.04, 0.0, 0.03)
        'not detectable at this power'
    """
    from .findings import VERDICTS

    margin = check_number(margin, "margin", "accuracy_part_verdict", low=0, low_open=True)
    return VERDICTS[0] if lo > -margin else VERDICTS[1] if hi < -margin else VERDICTS[2]


def accuracy_cost_words(accuracy: Sequence[float], margin: float) -> str:
    """The accuracy part in words, its verdict first: the cost (plain fine-tuning's accuracy
    minus PPB's, so positive = PPB is less accurate) as an interval, against ``margin``.

    Args:
        accuracy: ``(estimate, lo, hi)`` of PPB's test accuracy minus plain fine-tuning's.
        margin: the largest cost counted as "small".

    Example:
        >>> accuracy_cost_words((-0.004, -0.012, 0.005), margin=0.02)
        "part supported: the cost is at most 0.012, within the 0.02 allowed for 'small'"
        >>> accuracy_cost_words((-0.02, -0.035, -0.006), margin=0.02)
        "part not detectable at this power: the cost, 0.006 to 0.035, reaches both sides of \
the 0.02 allowed for 'small'"
        >>> accuracy_cost_words((0.02, 0.01, 0.03), margin=0.02)
        'part supported: no cost, PPB was more accurate by 0.010 to 0.030'
    """
    _, lo, hi = (float(v) for v in accuracy)
    verdict = accuracy_part_verdict(lo, hi, margin)
    cost_lo, cost_hi = -hi, -lo
    allowed = f"the {margin:g} allowed for 'small'"
    if cost_hi < 0:
        return f"part {verdict}: no cost, PPB was more accurate by {-cost_hi:.3f} to {-cost_lo:.3f}"
    span = (f"{cost_lo:.3f} to {cost_hi:.3f}" if cost_lo >= 0
            else f"{cost_lo:+.3f} to {cost_hi:+.3f}")
    if verdict.startswith("supported"):
        return f"part {verdict}: the cost is at most {cost_hi:.3f}, within {allowed}"
    if verdict.startswith("contradicted"):
        return f"part {verdict}: the cost, {span}, exceeds {allowed}"
    return f"part {verdict}: the cost, {span}, reaches both sides of {allowed}"


def deciding_part(verdict: str, parts: Mapping[str, str]) -> str | None:
    """The record name of the part that decided a compound verdict, or ``None``.

    ``contradicted``: the first contradicted part (AUC, gap, accuracy); ``not detectable at
    this power``: the first part that is not supported (it keeps the claim from support);
    ``supported``: ``None`` (every part agrees, none decides alone).

    Example:
        >>> deciding_part("not detectable at this power", {"gap": "not detectable at this power",
        ...                                                "AUC": "supported",
        ...                                                "accuracy": "supported"})
        'gap'
        >>> deciding_part("supported", {"gap": "supported"}) is None
        True
    """
    from .findings import VERDICTS

    if verdict == VERDICTS[0]:
        return None
    for name in [*_ORDER, *[p for p in parts if p not in _ORDER]]:
        word = parts.get(name)
        if word is not None and (word == VERDICTS[1] if verdict == VERDICTS[1]
                                 else word != VERDICTS[0]):
            return RECORD_NAMES.get(name, name)
    return None


def holm_to_claim(word: str, *, sign: int = -1) -> str:
    """A Holm verdict word (``"lower"`` / ``"higher"`` / no detectable difference) as a claim
    verdict, for a claim that the difference has sign ``sign`` (-1: PPB lowers it).

    Example:
        >>> holm_to_claim("lower"), holm_to_claim("higher")
        ('supported', 'contradicted')
        >>> holm_to_claim("no detectable difference (within noise)")
        'not detectable at this power'
    """
    from .findings import VERDICTS

    claimed = "lower" if sign < 0 else "higher"
    if word in ("lower", "higher"):
        return VERDICTS[0] if word == claimed else VERDICTS[1]
    return VERDICTS[2]


def margin_caveat(values: Mapping[str, Sequence[float]], margin: float,
                  margins: Sequence[float] = (0.01, 0.02, 0.03, 0.05)) -> tuple[str, dict]:
    """Whether the compound verdict rests on the accuracy margin: the verdict of
    :func:`~sparsepriv_nb.defense_eval.ppb_claim_verdict` at each of ``margins``, and the
    nearest margin (the next larger first) where it differs from the verdict at ``margin``.

    Args:
        values: ``{"AUC" | "gap" | "accuracy": (estimate, lo, hi)}``, PPB minus plain
            fine-tuning.
        margin: the margin of the verdict.
        margins: the margins to try.

    Returns:
        ``(words, {margin: verdict})``.

    Example:
        >>> v = {"AUC": (-0.043, -0.067, -0.016), "gap": (0.004, -0.023, 0.031),
        ...      "accuracy": (-0.052, -0.080, -0.024)}
        >>> words, by = margin_caveat(v, 0.02)
        >>> words
        'flips to not detectable at this power at margin 0.03'
        >>> margin_caveat({**v, "accuracy": (-0.1, -0.2, -0.06)}, 0.02)[0]
        'the same at every margin tried (0.01, 0.02, 0.03, 0.05)'
    """
    from .defense_eval import ppb_claim_verdict

    margin = check_number(margin, "margin", "margin_caveat", low=0, low_open=True)
    by = {float(m): ppb_claim_verdict(values["gap"], values["AUC"], values["accuracy"],
                                      margin=m)[0] for m in sorted({*map(float, margins), margin})}
    here = by[margin]
    other = sorted((m for m in by if by[m] != here), key=lambda m: (m < margin, abs(m - margin)))
    if not other:
        return f"the same at every margin tried ({', '.join(f'{m:g}' for m in by)})", by
    return f"flips to {by[other[0]]} at margin {other[0]:g}", by


def best_of_words(attacks: Sequence[str], strongest: str | None = None) -> str:
    """What "best attack" means in a claim: the attacks it is the best of, and the strongest
    attack measured elsewhere that was not run on the defended models.

    Example:
        >>> best_of_words(["loss", "salem"], "lira")
        'best of the 2 attacks run on defended models: loss, salem; lira not run on them'
        >>> best_of_words(["loss", "lira"], "lira")
        'best of the 2 attacks run on defended models: loss, lira'
    """
    missing = "" if strongest is None or strongest in attacks else f"; {strongest} not run on them"
    return (f"best of the {len(attacks)} attacks run on defended models: {', '.join(attacks)}"
            f"{missing}")


def _interval(v) -> str:
    return f"{v[0]:+.3f} [{v[1]:+.3f}, {v[2]:+.3f}]"


def claim_detail(values: Mapping[str, Sequence[float]], parts: Mapping[str, str],
                 verdict: str, *, margin: float, baselines_beaten: int, n_baselines: int,
                 adaptive: Sequence | None = None, family: str | None = None,
                 best_of: str | None = None) -> str:
    """The verdict line's detail: each part with its interval and verdict, the adaptive
    attacker's result with its Holm family, the deciding part and the baselines beaten.

    Args:
        values: ``{"AUC" | "gap" | "accuracy": (estimate, lo, hi)}``, PPB minus plain
            fine-tuning.
        parts, verdict: the part verdicts and the compound verdict of
            :func:`~sparsepriv_nb.defense_eval.ppb_claim_verdict`.
        margin: the accuracy margin of "small".
        baselines_beaten, n_baselines: how many baselines PPB beat at equal accuracy, of how many.
        adaptive: ``(estimate, lo, hi, Holm verdict word, Holm p)`` of the adaptive attacker's
            best AUC against no defense, or ``None``.
        family: the Holm family of ``adaptive`` in words (e.g. "section 9's 6 comparisons").
        best_of: what "best attack" is the best of (:func:`best_of_words`), or ``None``.
    """
    what = f" ({best_of})" if best_of else ""
    text = [f"Best non-adaptive attack AUC{what} {_interval(values['AUC'])} "
            f"(part {parts['AUC']})"]
    if adaptive is not None:
        e, lo, hi, word, p = adaptive
        holm = f"Holm over {family}" if family else "Holm"
        words = (f"{word} ({holm}: p = {p:.2g})" if word in ("lower", "higher") else
                 f"not detectable after {holm} (p = {p:.2g}"
                 + ("; on its own its 95 % interval excludes 0)" if lo > 0 or hi < 0 else ")"))
        text.append(f"adaptive attacker (not one of the claim's parts) {_interval((e, lo, hi))}: "
                    + words)
    text.append(f"confidence gap {_interval(values['gap'])} (part {parts['gap']})")
    text.append(f"test accuracy {_interval(values['accuracy'])} ("
                + accuracy_cost_words(values["accuracy"], margin) + ")")
    decider = deciding_part(verdict, parts)
    text.append(f"the {decider} part decides the verdict" if decider else "every part is supported")
    text.append(f"PPB beats {baselines_beaten} of {n_baselines} baselines at equal accuracy")
    return "; ".join(text) + "."


def claim_params(values: Mapping[str, Sequence[float]], parts: Mapping[str, str], verdict: str,
                 *, margin: float, baselines_beaten: int, n_baselines: int,
                 adaptive_auc: Sequence | None = None) -> dict:
    """The structured part of the ``yuan_zhang_ppb`` record's ``params`` (notebook 07 reads it).

    Returns:
        ``{"parts": {name: {"estimate", "lo", "hi", "verdict"}}, "accuracy_margin",
        "deciding_part", "baselines_beaten", "n_baselines"}`` with plain Python numbers; the
        part names are :data:`RECORD_NAMES`' values plus ``"adaptive_auc"`` when
        ``adaptive_auc`` = ``(estimate, lo, hi, verdict)`` is given.

    Example:
        >>> p = claim_params({"AUC": (-0.04, -0.07, -0.02), "gap": (0.0, -0.02, 0.03),
        ...                   "accuracy": (-0.05, -0.08, -0.02)},
        ...                  {"AUC": "supported", "gap": "not detectable at this power",
        ...                   "accuracy": "contradicted"}, "contradicted", margin=0.02,
        ...                  baselines_beaten=0, n_baselines=4)
        >>> sorted(p), p["deciding_part"], p["parts"]["auc"]["verdict"]
        (['accuracy_margin', 'baselines_beaten', 'deciding_part', 'n_baselines', 'parts'], \
'accuracy', 'supported')
    """
    def part(v, word):
        return {"estimate": float(v[0]), "lo": float(v[1]), "hi": float(v[2]),
                "verdict": str(word)}

    out = {RECORD_NAMES.get(name, name): part(values[name], parts[name]) for name in parts}
    if adaptive_auc is not None:
        out["adaptive_auc"] = part(adaptive_auc[:3], adaptive_auc[3])
    return {"parts": out, "accuracy_margin": float(margin),
            "deciding_part": deciding_part(verdict, parts),
            "baselines_beaten": int(baselines_beaten), "n_baselines": int(n_baselines)}


def monotone_direction(values: Sequence[float]) -> str | None:
    """``"falls"``, ``"rises"`` or ``"flat"`` when ``values`` move one way (ties allowed),
    else ``None``.

    Example:
        >>> monotone_direction([0, -0.015, -0.043, -0.012]) is None
        True
        >>> monotone_direction([0, -0.01, -0.01, -0.03])
        'falls'
    """
    steps = np.diff(np.asarray(values, dtype=float))
    if (steps == 0).all():
        return "flat"
    if (steps <= 0).all():
        return "falls"
    if (steps >= 0).all():
        return "rises"
    return None


def sweep_words(lams: Sequence[float], effects: Mapping[str, Sequence[Sequence[float]]], *,
                lam_fixed: float, param: str = "LAM", label: str = "PPB minus no defense") -> str:
    """Whether a one-seed lambda sweep moves one way, in words.

    Args:
        lams: the swept lambdas (each > 0; lambda 0, no defense, is the start at 0).
        effects: ``{what: [(estimate, lo, hi) per lambda]}``, each the defended model minus
            no defense.
        lam_fixed: the lambda the verdicts use.
        param: the name of the notebook parameter that holds ``lam_fixed``.
        label: what the differences are, first words of the line.

    Example:
        >>> print(sweep_words([1, 4, 16], {"best AUC": [(-0.015, -0.038, 0.007),
        ...     (-0.043, -0.067, -0.016), (-0.012, -0.028, 0.005)]}, lam_fixed=4))
        ... # doctest: +NORMALIZE_WHITESPACE
        PPB minus no defense, by lambda: best AUC 1: -0.015 [-0.038, +0.007], 4: -0.043 [-0.067,
        -0.016], 16: -0.012 [-0.028, +0.005].
        Not monotone in lambda (best AUC): from 0 at lambda 0 the estimates do not move one way
        as lambda grows. With one model (one seed) per lambda, lambda = 4's result may be
        training noise rather than the penalty's effect; LAM = 4 was fixed before the run (a
        parameter), not picked from this sweep.
    """
    if len(lams) == 0 or any(len(v) != len(lams) for v in effects.values()):
        raise ValueError(f"The 'effects' parameter of sweep_words must hold one (estimate, lo, "
                         f"hi) per lambda of {list(lams)}.")
    order = np.argsort(np.asarray(lams, dtype=float))
    lines = [f"{label}, by lambda: " + "; ".join(
        f"{what} " + ", ".join(f"{lams[i]:g}: {_interval(rows[i])}" for i in order)
        for what, rows in effects.items()) + "."]
    trend = {what: monotone_direction([0.0, *[rows[i][0] for i in order]])
             for what, rows in effects.items()}
    bent = [w for w, d in trend.items() if d is None]
    steady = "; ".join(f"{w}: {d}" for w, d in trend.items() if d is not None)
    if steady:
        lines.append(f"Monotone in lambda ({steady}) from 0 at lambda 0; one model (one seed) "
                     "per lambda, so the steps between lambdas are not tested.")
    if bent:
        lines.append(f"Not monotone in lambda ({', '.join(bent)}): from 0 at lambda 0 the "
                     "estimates do not move one way as lambda grows. With one model (one seed) "
                     f"per lambda, lambda = {lam_fixed:g}'s result may be training noise rather "
                     f"than the penalty's effect; {param} = {lam_fixed:g} was fixed before the "
                     "run (a parameter), not picked from this sweep.")
    return "\n".join(lines)
