"""The answer to "can sparsity make a network more private?", computed from the claims' records.

:func:`answer` writes one sentence that answers the question, then one short Markdown bullet
per question the notebooks asked (membership inference across densities, at one density,
model inversion, the PPB defense, DP-SGD with public masks), strongest evidence first, then
a line counting the verdicts. Every number comes from a record's fields (estimate, interval,
MDE, detail, params); a clause whose fields are missing is left out. A result resting on
several seeds leads; a one-seed result is never given the same weight.

It is re-exported as :func:`sparsepriv_nb.findings.answer` (``spn.findings.answer``).

Example:
    >>> import tempfile
    >>> from sparsepriv_nb.findings_summary import table
    >>> text = answer(table(root=tempfile.mkdtemp(), profile="quick"))
    >>> text.split(":")[0], text.splitlines()[-1][:44]
    ('This run cannot answer the question', "Profile 'quick': 0 of 9 claims have a record")

Lesson: notebook 07 (``07_what_we_found``).
"""

from __future__ import annotations

import math

import pandas as pd

from .findings import CLAIMS, NO_RECORD, VERDICTS, current_profile
from .findings_summary import (_HALVES, _PARTS, _and, _by, _differs_within_margin,
                               _direction, _margin, _margin_note, _numbers, _params, _part,
                               _short, _where, fixed_accuracy_fits, format_interval)

__all__ = ["answer"]

SUP, CON, ND = VERDICTS
_HOLM = "not detectable within its notebook's Holm family"


def _bullet(title: str, basis: list[str], sentences: list[str]) -> str:
    """``"- *title* (basis): first sentence, lower-cased. Next sentence."``"""
    text = " ".join(x for x in sentences if x)
    if text[:1].isupper() and text[1:2].islower():
        text = text[0].lower() + text[1:]
    return f"- *{title}* ({', '.join(x for x in basis if x)}): {text}"


def _fi(est, lo, hi, digits: int = 3) -> str:
    return format_interval(est, lo, hi, digits)


def _row_fi(r, digits: int = 3) -> str:
    return _fi(r.estimate, r.lo, r.hi, digits)


def _mde(r) -> str:
    return f", MDE {r.mde:.3g}" if math.isfinite(r.mde) else ""


def _int(value):
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _seeds(r) -> int | None:
    return _int(_params(r).get("n_seeds"))


def _resolved(r) -> bool:
    return r is not None and r.verdict in VERDICTS[:2]


def _holm_failed(r) -> bool:
    return _HOLM in _where(r)[1]


def _strength(r) -> int:
    """2: resolved on several seeds; 1: resolved, and not undone by its notebook's Holm
    correction; 0: anything else; -1: no record."""
    if r is None:
        return -1
    if _resolved(r) and (_seeds(r) or 0) > 1:
        return 2
    return 1 if _resolved(r) and not _holm_failed(r) else 0


def _who(r) -> str:
    """``"Gonon et al. 2023: supported"``."""
    return f"{CLAIMS[r.claim].paper}: {r.verdict}"


def _nb(claim: str) -> str:
    return f"notebook {CLAIMS[claim].notebook[:2]}"


def _label(r) -> str:
    if _differs_within_margin(r) and CLAIMS[r.claim].privacy:
        return "near"
    return _direction(r.claim, r.verdict, _params(r) or None)


# ------------------------------------------------------------------ the one-sentence answer

_EXPOSED = {"more": "sparser networks were less exposed to {a}",
            "less": "sparser networks were more exposed to {a}",
            "same": "sparse and dense networks were equally exposed to {a}",
            "differs": "sparse and dense networks differed against {a}, not in one direction"}


def _accuracy_clause(rows: dict) -> str:
    err, ctl = rows.get("gonon_density_error"), rows.get("gonon_accuracy_control")
    out = ", but they were also less accurate" if err is not None and err.verdict == SUP else ""
    if ctl is not None:
        out += {SUP: ", and part of the privacy gain is the accuracy lost",
                CON: ", and the privacy gain grew once accuracy was controlled for",
                ND: ", and whether part of the privacy gain is the accuracy lost is not "
                    "resolved"}[ctl.verdict]
    return out


def _weak_clause(weak: list, firm_label: str, firm_attack: str = "") -> str:
    """The one-seed comparisons next to the multi-seed answer: that they agree, or which of
    them point elsewhere and what limits each (its notebook, seeds, Holm)."""
    other = [r for r in weak if _label(r) != firm_label]
    if not other:
        return "; the resolved one-seed comparisons below agree, but are weaker evidence"
    named = []
    for r in other:
        where, notes = _where(r)
        attack = CLAIMS[r.claim].attack if CLAIMS[r.claim].attack != firm_attack else ""
        limits = ", ".join(x for x in (_nb(r.claim), attack, where, *notes) if x)
        named.append(f"{CLAIMS[r.claim].paper}'s ({limits})")
    return (f"; {len(other)} one-seed comparison{'s' if len(other) > 1 else ''} point"
            f"{'' if len(other) > 1 else 's'} elsewhere, {_and(named)}, and "
            f"{'are' if len(other) > 1 else 'is'} weaker evidence")


def _lead(rows: dict) -> str:
    """One sentence: the multi-seed privacy results first, with the accuracy they cost; the
    one-seed results only as weaker evidence that agrees with them or not."""
    privacy = [r for r in rows.values() if CLAIMS[r.claim].privacy]
    directed = [r for r in privacy if _label(r) in _EXPOSED]
    firm = [r for r in directed if (_seeds(r) or 0) > 1]
    weak = [r for r in directed if r not in firm]
    if firm:
        said = []
        for r in firm:
            where, notes = _where(r)
            basis = ", ".join(x for x in (_nb(r.claim), *notes) if x)
            said.append(_EXPOSED[_label(r)].format(a=CLAIMS[r.claim].attack)
                        + (f" {where}" if where else "") + f" ({basis})")
        text = "In this run " + _and(said)
        if any(r.claim == "gonon_density_attack" and _label(r) == "more" for r in firm):
            text += _accuracy_clause(rows)
        if weak:
            text += _weak_clause(weak, _label(firm[0]), CLAIMS[firm[0].claim].attack)
        return text + "."
    labels = {_label(r) for r in directed}
    if not labels:
        return ("This run cannot answer the question: no claim about sparsity and privacy was "
                "resolved at this power.")
    if labels == {"more"}:
        return "In this run sparser networks were more private in every comparison that resolved."
    if labels == {"less"}:
        return ("In this run sparser networks were more exposed, not less, in every comparison "
                "that resolved.")
    if labels == {"same"}:
        return ("In this run sparsity did not change how exposed the networks were, within the "
                "equivalence margins of the claims that said so.")
    return ("In this run the answer depends on the comparison: the comparisons that resolved "
            "do not point one way.")


# ------------------------------------------------------------------ one bullet per question

def _densities(rows: dict):
    atk, err, ctl = (rows.get(c) for c in ("gonon_density_attack", "gonon_density_error",
                                           "gonon_accuracy_control"))
    if atk is None and err is None and ctl is None:
        return None
    first = next(r for r in (atk, err, ctl) if r is not None)
    p = _params(first)
    dens, seeds, attack = _numbers(p.get("density_range"), 2), _int(p.get("n_seeds")), \
        p.get("main_attack")
    basis = [_nb(first.claim), f"densities {dens[0]:g} to {dens[1]:g}" if dens else "",
             f"{seeds} seeds" if seeds else "", attack if isinstance(attack, str) else ""]
    said = []
    if atk is not None:
        said.append(_density_slope(atk, "attack AUC"))
    if err is not None:
        said.append(_density_slope(err, "test error"))
    if ctl is not None:
        said.append(_control(ctl))
    return _strength(atk), _bullet("Across densities", basis, said)


def _per_decade(r) -> str:
    return " per tenfold density" if "log10 density" in str(r.statistic) else ""


def _density_slope(r, what: str) -> str:
    """``"attack AUC fell as density fell, +0.112 [...] per tenfold density (without density
    0.02: ..., detectable) (Gonon et al. 2023: supported)."``"""
    p = _params(r)
    fell = r.estimate > 0  # a positive slope on density: the quantity falls as density falls
    if r.verdict in VERDICTS[:2]:
        text = (f"{what[0].upper()}{what[1:]} {'fell' if fell else 'rose'} as density fell, "
                f"{_row_fi(r)}{_per_decade(r)}")
    else:
        text = (f"{what[0].upper()}{what[1:]} showed no detectable trend with density, "
                f"{_row_fi(r)}{_per_decade(r)}{_mde(r)}")
    nums, dens = _numbers(p.get("slope_without_sparsest"), 3), p.get("sparsest_density")
    if nums and isinstance(dens, (int, float)) and r.verdict in VERDICTS[:2]:
        held = nums[1] > 0 or nums[2] < 0
        text += (f"; without density {dens:g}: {_fi(*nums)}, still detectable" if held else
                 f", but it rests on density {dens:g}: without it {_fi(*nums)}, not detectable")
    sparse, dense = _numbers(p.get("acc_sparsest"), 2), _numbers(p.get("acc_dense"), 2)
    if what == "test error" and sparse and dense and isinstance(dens, (int, float)):
        text += (f"; at density {dens:g} test accuracy was {sparse[0]:.2f}-{sparse[1]:.2f}, "
                 f"against {dense[0]:.2f}-{dense[1]:.2f} dense")
    return f"{text} ({_who(r)})."


def _fits(p: dict) -> str:
    """``"the slope at fixed test accuracy is detectable in 1 of 3 fits, estimates from -0.033
    to +0.064"``; ``""`` without the fits."""
    pos, neg, fits = fixed_accuracy_fits(p)
    if not fits:
        return ""
    if len(fits) == 1:
        return f"the slope at fixed test accuracy is {_fi(*fits[0])}"
    ests = sorted(f[0] for f in fits)
    signs = " with opposite signs" if pos and neg else ""
    return (f"the slope at fixed test accuracy is detectable in {pos + neg} of {len(fits)} "
            f"fits{signs}, estimates from {ests[0]:+.3f} to {ests[-1]:+.3f}")


def _control(r) -> str:
    shrink = f"{_row_fi(r)}{_mde(r) if r.verdict == ND else ''}"
    fits = _fits(_params(r))
    tail = f", and {fits}" if fits else ""
    text = {SUP: f"Part of this privacy gain is accuracy lost: controlling for test accuracy "
                 f"shrank the slope by {shrink}{tail}",
            CON: f"The slope grew once test accuracy was controlled for, {shrink}{tail}",
            ND: f"Whether part of this privacy gain is accuracy lost is not resolved: "
                f"controlling for test accuracy shrinks the slope by {shrink}{tail}"}
    return f"{text.get(r.verdict, '')} ({_who(r)})." if r.verdict in text else ""


def _one_density(rows: dict):
    yza, bag, gap = (rows.get(c) for c in ("yuan_zhang_attack", "bagmar_ticket",
                                           "yuan_zhang_gap"))
    if yza is None and bag is None and gap is None:
        return None
    first = next(r for r in (yza, bag, gap) if r is not None)
    where, notes = _where(first)
    basis = [_nb(first.claim), where.replace("at ", ""), *(n for n in notes if n != _HOLM)]
    said = [s for s in (_pruned(yza), _ticket(bag), _gap(gap)) if s]
    return _strength(yza), _bullet("At one density", basis, said)


def _pruned(r) -> str:
    if r is None:
        return ""
    what = _short(r.statistic)
    if r.verdict in VERDICTS[:2]:
        more = r.estimate > 0
        text = (f"The pruned model was {'more' if more else 'less'} attackable, {what} "
                f"{_row_fi(r)} ({_who(r)})")
        caveats = (["this is not detectable after its notebook's Holm correction"]
                   if _holm_failed(r) else [])
        halves = _HALVES.search(str(r.detail))
        if halves:
            caveats.append(f"the two halves of the reference models give {halves.group(1)} "
                           f"and {halves.group(2)}")
        return text + (f", but {_and(caveats)}." if caveats else ".")
    return (f"The pruned model was not detectably more or less attackable, {what} "
            f"{_row_fi(r)}{_mde(r)} ({_who(r)}).")


def _ticket(r) -> str:
    if r is None:
        return ""
    m = _margin(r)
    m_txt = f"{m:g}" if m is not None else "its"
    if _differs_within_margin(r):
        return (f"The lottery ticket differed from the dense model, {_row_fi(r)}, but whether "
                f"by more than the {m_txt} margin is not resolved ({_who(r)}).")
    return {SUP: f"The lottery ticket was as attackable as the dense model within ±{m_txt}, "
                 f"{_row_fi(r)} ({_who(r)}).",
            CON: f"The lottery ticket differed from the dense model by more than the {m_txt} "
                 f"margin, {_row_fi(r)} ({_who(r)}).",
            ND: f"The lottery ticket's difference, {_row_fi(r)}, shows neither equivalence "
                f"within ±{m_txt} nor a difference ({_who(r)})."}[r.verdict]


def _gap(r) -> str:
    if r is None:
        return ""
    if r.verdict in VERDICTS[:2]:
        return (f"The confidence gap {'widened' if r.estimate > 0 else 'narrowed'}, "
                f"{_row_fi(r)} ({_who(r)}).")
    return f"The confidence gap did not detectably change, {_row_fi(r)}{_mde(r)} ({_who(r)})."


def _inversion(rows: dict):
    r = rows.get("huang_inversion")
    if r is None:
        return None
    p = _params(r)
    unit = p.get("unit") if isinstance(p.get("unit"), str) else ""
    n_img = _int(p.get("n_images"))
    basis = [_nb(r.claim), "one model" if _int(p.get("seed")) is not None else "",
             f"{n_img} images" if n_img else ""]
    sign = -1 if p.get("claimed_sign") == -1 else 1
    layers = {k: v for k, v in (p.get("layers") or {}).items() if _numbers(v, 3)} \
        if isinstance(p.get("layers"), dict) else {}
    harder, easier = [], []
    for name, v in layers.items():
        label = str(v[3]) if len(v) > 3 else ""
        hard = ("worse" in label) or (not label and sign * v[1] > 0)
        easy = ("better" in label) or (not label and sign * v[2] < 0)
        (harder if hard else easier if easy else []).append(
            (name, f"{_fi(*v[:3], digits=2)} {unit}".strip()))
    mean = f"{r.estimate:+.2f} {unit}".strip()

    def names(found):
        return _and([n for n, _ in found])

    def nums(found):
        return f"({'; '.join(i for _, i in found)})"
    holm = " after Holm" if "holm" in str(r.detail).lower() else ""
    if harder and easier:
        text = (f"the layers disagreed: {names(harder)} became harder to invert as weights were "
                f"pruned {nums(harder)}, {names(easier)} easier {nums(easier)}; {_who(r)}, and "
                f"the mean over layers, {mean}, hides this.")
    elif harder or easier:
        text = (f"{names(harder or easier)} became {'harder' if harder else 'easier'} to invert "
                f"as weights were pruned {nums(harder or easier)}; the mean over layers is "
                f"{_row_fi(r, 2)} {unit} ({_who(r)}).")
    elif layers:
        text = (f"no layer's PSNR slope was detectable{holm}; the mean over layers is "
                f"{_row_fi(r, 2)} {unit}{_mde(r)} ({_who(r)}).")
    else:
        text = f"PSNR slope {_row_fi(r, 2)} {unit}{_mde(r)} ({_who(r)})."
    return _strength(r), _bullet("Model inversion", basis, [text.replace(" ,", ",")])


def _attacks(p: dict) -> str:
    """``"the best of 4 non-adaptive attacks (loss, ...; lira not run on defended models)"``."""
    names = p.get("best_attack_of")
    if not isinstance(names, list) or not names:
        return "the non-adaptive attack"
    lira = "" if any("lira" in str(n).lower() for n in names) else \
        "; LiRA not run on defended models"
    return f"the best of {len(names)} non-adaptive attacks ({', '.join(map(str, names))}{lira})"


def _ppb(rows: dict):
    r = rows.get("yuan_zhang_ppb")
    if r is None:
        return None
    p = _params(r)
    seeds = _int(p.get("n_seeds"))
    basis = [_nb(r.claim), "one seed" if seeds == 1 else f"{seeds} seeds" if seeds else ""]
    att = _attacks(p)
    if math.isfinite(r.lo) and math.isfinite(r.hi) and (r.lo > 0 or r.hi < 0):
        first = (f"it {'lowered' if r.hi < 0 else 'raised'} the AUC of {att} by "
                 f"{_by(r.estimate, r.lo, r.hi)}")
    else:
        first = f"it did not detectably change the AUC of {att}, {_row_fi(r)}{_mde(r)}"
    acc, margin = _part(p, "accuracy"), p.get("accuracy_margin")
    if acc:
        est, lo, hi, verdict = acc
        cost = (f"cost {_by(est, lo, hi)} test accuracy" if hi < 0 else
                f"raised test accuracy by {_by(est, lo, hi)}" if lo > 0 else
                f"changed test accuracy by {_fi(est, lo, hi)}")
        if isinstance(margin, (int, float)) and not isinstance(margin, bool):
            cost += {SUP: f", within the {margin:g} margin", CON: f", more than the {margin:g} "
                     "margin", ND: f", possibly more than the {margin:g} margin"}[verdict]
        first += (" but " if r.hi < 0 and hi < 0 else " and ") + cost
    flip = _margin_note(r, p)
    verdict = f"Yuan & Zhang's PPB claim is {r.verdict}" + (" at that margin" if flip else "")
    decider = p.get("deciding_part")
    if isinstance(decider, str) and r.verdict != SUP and decider != "accuracy":
        verdict += (f", {'decided' if r.verdict == CON else 'left open'} by its "
                    f"{_PARTS.get(decider, decider)} part")
    if flip:
        m = flip[0].split(" at margin ")
        verdict += f"; at margin {m[-1]} it is {m[0].replace('becomes ', '')}"
    rest = []
    gap = _part(p, "gap")
    if gap:
        rest.append({SUP: f"It narrowed the confidence gap by {_by(*gap[:3])}.",
                     CON: f"It widened the confidence gap by {_by(*gap[:3])}.",
                     ND: f"It did not detectably narrow the confidence gap, {_fi(*gap[:3])}."}[
                         gap[3]])
    ad = _part(p, "adaptive_auc")
    beaten, n = _int(p.get("baselines_beaten")), _int(p.get("n_baselines"))
    last = []
    if ad:
        last.append("after Holm it " + ("did not detectably change" if ad[3] == ND else
                                        "lowered" if ad[0] < 0 else "raised")
                    + f" an adaptive attacker's AUC ({ad[0]:+.3f})")
    if beaten is not None and n:
        last.append(f"it beat {beaten} of {n} baselines at equal accuracy")
    if last:
        text = ", and ".join(last)
        rest.append(f"{text[0].upper()}{text[1:]}.")
    return _strength(r), _bullet("PPB", basis, [f"{first}: {verdict}.", *rest])


def _dp(rows: dict):
    r = rows.get("adamczewski_random_vs_magnitude")
    if r is None:
        return None
    p = _params(r)
    eps = p.get("epsilon")
    basis = [_nb(r.claim), f"epsilon {eps:.2f}" if isinstance(eps, (int, float)) else ""]
    m = _margin(r)
    m_txt = f"{m:g}" if m is not None else "its"
    if _differs_within_margin(r):
        first = (f"random selection was {'less' if r.hi < 0 else 'more'} accurate than magnitude "
                 f"selection, {_row_fi(r)}; whether by more than the {m_txt} margin is not "
                 f"resolved, so \"on par\" is neither shown nor excluded ({_who(r)}).")
    else:
        first = {SUP: f"random selection did as well as magnitude selection within ±{m_txt}, "
                      f"{_row_fi(r)} ({_who(r)}).",
                 CON: f"random and magnitude selection differed by more than the {m_txt} "
                      f"margin, {_row_fi(r)} ({_who(r)}).",
                 ND: f"whether random selection does as well as magnitude selection is not "
                     f"resolved, {_row_fi(r)}{_mde(r)} ({_who(r)})."}[r.verdict]
    return _strength(r), _bullet("DP-SGD with public masks", basis, [first, _dp_accuracy(p)])


def _dp_accuracy(p: dict) -> str:
    """`` 3 of 4 masked variants were more accurate than dense DP-SGD (Holm), but 4 of 5 DP
    models fell below the public-only model they started from.``"""
    vs, holm = p.get("dp_accuracy_vs_dense"), p.get("dp_accuracy_vs_dense_holm")
    out, up = [], 0
    if isinstance(vs, dict):
        words = []
        for name, value in vs.items():
            nums = _numbers(value, 3)
            if nums:
                words.append(holm.get(name) if isinstance(holm, dict) else
                             "higher" if nums[1] > 0 else "lower" if nums[2] < 0 else "")
        if words:
            up, down = words.count("higher"), words.count("lower")
            how = "Holm" if isinstance(holm, dict) else "unadjusted 95 % intervals"
            out.append(f"{up} of {len(words)} masked variants were more accurate than dense "
                       f"DP-SGD" + (f" and {down} less accurate" if down else "") + f" ({how})")
    below, n = _int(p.get("below_public_only")), _int(p.get("n_models"))
    if below is not None and n:
        out.append(f"{below} of {n} DP models fell below the public-only model they started "
                   "from (Holm)")
    if not out:
        return ""
    text = (", but " if len(out) == 2 and below and up else "; ").join(out) + "."
    return text[0].upper() + text[1:]


def _tally(frame: pd.DataFrame) -> str:
    counts = frame["verdict"].value_counts()
    n, recorded = len(frame), int((frame["verdict"] != NO_RECORD).sum())
    tally = ", ".join(f"{int(counts.get(v, 0))} {v}" for v in VERDICTS)
    text = (f"Profile {frame.attrs.get('profile', current_profile())!r}: {recorded} of {n} "
            f"claims have a record ({tally})")
    if recorded < n:
        text += (f"; {n - recorded} not recorded yet: "
                 f"{', '.join(sorted(set(frame.loc[frame.verdict == NO_RECORD, 'notebook'])))}"
                 " must run first")
    return text + "."


def answer(frame: pd.DataFrame) -> str:
    """The answer to "can sparsity make a network more private?" from the verdicts of
    :func:`sparsepriv_nb.findings.table`, as Markdown: one sentence, a blank line, one bullet
    per question (strongest evidence first: resolved on several seeds, then resolved and not
    undone by its notebook's Holm correction, then the rest), a blank line, the verdict count.
    Nothing in it is fixed in advance; a clause whose record fields are missing is left out.
    """
    rows = {r.claim: r for r in frame.itertuples() if r.verdict in VERDICTS}  # recorded only
    bullets = [b for b in (f(rows) for f in (_densities, _one_density, _inversion, _ppb, _dp))
               if b]
    bullets.sort(key=lambda b: -b[0])  # stable: the order above breaks ties
    parts = [_lead(rows)]
    if bullets:
        parts.append("\n".join(text for _, text in bullets))
    return "\n\n".join([*parts, _tally(frame)])
