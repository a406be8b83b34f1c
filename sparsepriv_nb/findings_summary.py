"""Adding up the recorded findings: one row per seed claim, a forest plot, and the answer to
"can sparsity make a network more private?" computed from the verdicts.

:func:`table` reads every claim's record (:mod:`sparsepriv_nb.findings`) and keeps a row for
the claims nobody recorded yet (verdict ``"no record"``, with the notebook to run).
:func:`answer` turns the verdicts into one paragraph: which claims say sparser networks were
more private, less private or no different, against which attack, at what cost; nothing in it
is written in advance. :func:`to_markdown` formats the table (notebook 07 and
``sparsepriv-nb findings``), :func:`forest_plot` draws each estimate with its interval.

The names are re-exported by :mod:`sparsepriv_nb.findings` (``spn.findings.table`` ...).

Example:
    >>> import tempfile
    >>> from sparsepriv_nb import findings
    >>> root = tempfile.mkdtemp()
    >>> _ = findings.record("huang_inversion", estimate=-1.2, lo=-2.0, hi=-0.4, mde=0.7,
    ...                     verdict="supported", statistic="PSNR slope per halving of k",
    ...                     root=root)
    >>> t = table(root=root, profile="quick")
    >>> t.set_index("claim").loc["huang_inversion", "verdict"]
    'supported'
    >>> int((t["verdict"] == "no record").sum())
    8

Lesson: notebook 07 (``07_what_we_found``).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from types import SimpleNamespace

import pandas as pd

from .findings import (CLAIMS, COLUMNS, NO_RECORD, VERDICTS, _read, claim_prose,
                       current_profile, findings_dir, missing_message)

__all__ = ["table", "answer", "to_markdown", "forest_plot", "format_interval", "note"]

_OPPOSITE = {"more": "less", "less": "more"}


def table(*, root=None, profile: str | None = None) -> pd.DataFrame:
    """Every claim of :data:`CLAIMS`, in order, with its record where one exists.

    A claim without a usable record gets the verdict ``"no record"`` and NaN numbers; the
    frame's ``attrs["missing"]`` holds the message naming the notebooks to run first (``""``
    when every claim has a record) and ``attrs["profile"]`` the profile.

    Columns: those of :func:`findings.load` plus ``quote`` (the paper's words, or a marked
    paraphrase: :func:`findings.claim_prose`).
    """
    profile = current_profile() if profile is None else profile
    folder = findings_dir(root=root, profile=profile)
    rows, problems = _read(folder, list(CLAIMS))
    found = {r["claim"]: r for r in rows}
    out = []
    for cid, c in CLAIMS.items():
        row = found.get(cid) or {
            "claim": cid, "paper": c.paper, "claim_text": c.claim, "notebook": c.notebook,
            "statistic": "", "estimate": math.nan, "lo": math.nan, "hi": math.nan,
            "mde": math.nan, "verdict": NO_RECORD,
            "detail": f"run {c.notebook} first", "params": {}, "profile": profile,
            "written": ""}
        out.append({**{k: row.get(k) for k in COLUMNS}, "quote": claim_prose(cid)})
    frame = pd.DataFrame(out, columns=[*COLUMNS, "quote"])
    frame.attrs["missing"] = missing_message(problems, folder)
    frame.attrs["profile"] = profile
    return frame


def format_interval(estimate: float, lo: float, hi: float, digits: int = 3) -> str:
    """``"+0.040 [+0.010, +0.070]"``; ``"–"`` without an estimate, the estimate alone without
    an interval.

    Example:
        >>> format_interval(0.04, 0.01, 0.07)
        '+0.040 [+0.010, +0.070]'
    """
    def fmt(x):
        return f"{x:+.{digits}f}"
    if estimate is None or not math.isfinite(estimate):
        return "–"
    if lo is None or hi is None or not (math.isfinite(lo) and math.isfinite(hi)):
        return f"{fmt(estimate)} (no interval)"
    return f"{fmt(estimate)} [{fmt(lo)}, {fmt(hi)}]"


def _direction(claim: str, verdict: str, params=None) -> str:
    """What a verdict says about sparsity's effect on privacy: ``"more"``, ``"less"``,
    ``"same"``, ``"differs"``, or ``""`` (no evidence either way). A record whose ``params``
    hold ``"direction": "differs"`` (e.g. notebook 04 when layers detectably disagree) says
    "differs" rather than the opposite of the claim."""
    said = CLAIMS[claim].privacy
    if not said or verdict not in VERDICTS[:2]:
        return ""
    if isinstance(params, dict) and params.get("direction") == "differs":
        return "differs"
    if verdict == VERDICTS[0]:
        return said
    return _OPPOSITE.get(said, "differs")


def _params(row) -> dict:
    """A record's ``params`` as a dict: as recorded, or the JSON text a claims table read back
    from CSV holds; ``{}`` when absent or unreadable (the clauses that need them are left out)."""
    p = getattr(row, "params", None)
    if isinstance(p, str):
        try:
            p = json.loads(p)
        except ValueError:
            return {}
    return p if isinstance(p, dict) else {}


def _numbers(value, n: int):
    """The first ``n`` entries of ``value`` as finite floats, or None."""
    try:
        out = tuple(float(x) for x in list(value)[:n])
    except (TypeError, ValueError):
        return None
    return out if len(out) == n and all(math.isfinite(x) for x in out) else None


def _short(statistic) -> str:
    """The statistic without its qualifiers (``"lira AUC, magnitude-pruned ..."``: ``"lira
    AUC"``)."""
    return re.split(r"[(,]", str(statistic), maxsplit=1)[0].strip()


def _interval(row) -> str:
    return f"{_short(row.statistic)} {format_interval(row.estimate, row.lo, row.hi)}"


def _mde(row) -> str:
    return f", MDE {row.mde:.3g}" if math.isfinite(row.mde) else ""


def _where(row) -> tuple[str, list[str]]:
    """Where a verdict holds and what limits it, from its record: ``("over densities 0.02 to
    1", ["3 seeds"])``, ``("at density 0.25", ["one seed", "not detectable within its
    notebook's Holm family"])``, or ``("", [])``."""
    p, text = _params(row), f"{row.statistic} {row.detail}".lower()
    dens, seeds = _numbers(p.get("density_range"), 2), p.get("n_seeds")
    density = next((p[k] for k in ("DENSITY", "density")
                    if isinstance(p.get(k), (int, float)) and not isinstance(p.get(k), bool)), None)
    where, notes = "", []
    if dens:
        where = f"over densities {dens[0]:g} to {dens[1]:g}"
        if isinstance(seeds, int) and not isinstance(seeds, bool):
            notes.append(f"{seeds} seeds")
    elif "one seed" in text:
        where, notes = (f"at density {density:g}" if density is not None else ""), ["one seed"]
    if "holm family: no detectable" in text:
        notes.append("not detectable within its notebook's Holm family")
    return where, notes


def _margin(row):
    """The equivalence margin of a claim of no difference (its params, else its statistic or
    detail: "equivalence margin 0.02"), or None for a directional claim."""
    p = _params(row)
    for key in ("EQUIVALENCE_MARGIN", "equivalence_margin", "margin"):
        if isinstance(p.get(key), (int, float)) and not isinstance(p.get(key), bool):
            return float(p[key])
    hit = re.search(r"(?i)equivalence margin[ =]*([0-9.]*[0-9])", f"{row.statistic} {row.detail}")
    return float(hit.group(1)) if hit else None


def _differs_within_margin(row) -> bool:
    """An equivalence claim left open although its interval excludes 0: the difference is
    detected, only "by more than the margin?" is unresolved."""
    return (row.verdict == VERDICTS[2] and _margin(row) is not None
            and math.isfinite(row.lo) and math.isfinite(row.hi) and (row.lo > 0 or row.hi < 0))


def _item(row) -> str:
    where, notes = _where(row)
    basis = " ".join(x for x in [where, f"({', '.join(notes)})" if notes else ""] if x)
    margin = f", equivalence margin {_margin(row):g}" if _differs_within_margin(row) else ""
    return (f"{row.claim}, {CLAIMS[row.claim].paper}: {row.verdict}; {_interval(row)}"
            + (f" {basis}" if basis else "") + margin)


_WORDS = (("more", "sparser networks were more private"),
          ("less", "sparser networks were less private"),
          ("same", "sparse and dense networks were equally exposed"),
          ("differs", "sparse and dense networks differed, not in one direction"),
          ("near", "sparse and dense networks detectably differed, but whether by more than "
                   "the claim's equivalence margin is not resolved"))


def _label(row) -> str:
    if _differs_within_margin(row) and CLAIMS[row.claim].privacy:
        return "near"
    return _direction(row.claim, row.verdict, _params(row) or None)


def _privacy_sentences(frame: pd.DataFrame) -> tuple[list[str], dict[str, list]]:
    """One sentence per attack listing the claims by what their verdicts say, each with its
    estimate and what it rests on; returns the sentences and the rows by direction."""
    by_dir: dict[str, list] = {label: [] for label, _ in _WORDS}
    sentences = []
    for attack in dict.fromkeys(c.attack for c in CLAIMS.values() if c.attack):
        parts = []
        for label, words in _WORDS:
            rows = [r for r in frame.itertuples()
                    if CLAIMS[r.claim].attack == attack and _label(r) == label]
            by_dir[label] += rows
            if rows:
                parts.append(f"{words} ({'; '.join(_item(r) for r in rows)})")
        if parts:
            sentences.append(f"Against {attack}: " + "; ".join(parts) + ".")
    return sentences, by_dir


def _accuracy_sentences(rows: dict) -> list[str]:
    """What sparsity cost in accuracy (with the accuracy at the sparsest density when the record
    holds it) and whether controlling for accuracy changed the density-attack slope."""
    s = []
    err = rows.get("gonon_density_error")
    if err is not None and err.verdict in VERDICTS[:2]:
        where, notes = _where(err)
        text = ("Sparsity cost accuracy: test error rose as density fell" if err.verdict ==
                VERDICTS[0] else "Sparsity did not cost accuracy here: test error fell as "
                "density fell") + f" ({_interval(err)}" + "".join(
                    f", {x}" for x in [where, *notes] if x) + ")"
        p = _params(err)
        sparse, dense = _numbers(p.get("acc_sparsest"), 2), _numbers(p.get("acc_dense"), 2)
        dens = _numbers(p.get("density_range"), 2)
        if sparse and dense and dens:
            text += (f"; at the sparsest density, {dens[0]:g}, test accuracy was {sparse[0]:.2f}-"
                     f"{sparse[1]:.2f}, against {dense[0]:.2f}-{dense[1]:.2f} for the dense models")
        s.append(text + ".")
    ctl = rows.get("gonon_accuracy_control")
    if ctl is not None and ctl.verdict in VERDICTS:
        p = _params(ctl)
        fixed = _numbers(p.get("slope_at_fixed_accuracy"), 3)
        attack = (f"{p['main_attack']} AUC" if isinstance(p.get("main_attack"), str)
                  else "attack AUC")
        shrink = f"shrink {format_interval(ctl.estimate, ctl.lo, ctl.hi)}" + (
            _mde(ctl) if ctl.verdict == VERDICTS[2] else "")
        lead = (f"At fixed test accuracy the slope of {attack} on log10 density is "
                f"{format_interval(*fixed)}; " if fixed else "")
        it = "it" if lead else "the association of density with attack success"
        what = {VERDICTS[0]: f"controlling for test accuracy shrank {it} ({shrink}), so part of "
                             "any privacy gain is an accuracy loss",
                VERDICTS[1]: f"the association of density with attack success grew once accuracy "
                             f"was controlled for ({shrink})",
                VERDICTS[2]: f"whether accuracy explains part of the association of density with "
                             f"attack success is not resolved ({shrink})"}[ctl.verdict]
        text = lead + what
        s.append(text[0].upper() + text[1:] + ".")
    return s


def _by(est, lo, hi) -> str:
    """``0.043 [0.016, 0.067]``: the size of a difference of known sign."""
    a, b = sorted((abs(lo), abs(hi)))
    return f"{abs(est):.3f} [{a:.3f}, {b:.3f}]"


def _and(items: list[str]) -> str:
    """``"a"``, ``"a and b"``, ``"a, b and c"``."""
    return ", ".join(items[:-1]) + " and " + items[-1] if len(items) > 1 else "".join(items)


def _part(p: dict, name: str):
    """One part of notebook 05's record, ``params["parts"][name]``, as ``(estimate, lo, hi,
    verdict)``; None when it is missing or malformed."""
    parts = p.get("parts")
    part = parts.get(name) if isinstance(parts, dict) else None
    if not isinstance(part, dict) or part.get("verdict") not in VERDICTS:
        return None
    nums = _numbers([part.get(k) for k in ("estimate", "lo", "hi")], 3)
    return (*nums, part["verdict"]) if nums else None


def _ppb_cost(acc, margin) -> str:
    """PPB's accuracy part: ``"cost 0.052 [0.024, 0.080] test accuracy, more than the 0.02
    margin"`` (the margin words follow the part's recorded verdict)."""
    est, lo, hi, verdict = acc
    if lo > 0:
        return f"raised test accuracy by {_by(est, lo, hi)}"
    text = (f"cost {_by(est, lo, hi)} test accuracy" if hi < 0 else
            f"changed test accuracy by {format_interval(est, lo, hi)}")
    if not isinstance(margin, (int, float)) or isinstance(margin, bool):
        return text
    return text + ", " + {VERDICTS[0]: f"within the {margin:g} margin",
                          VERDICTS[1]: f"more than the {margin:g} margin",
                          VERDICTS[2]: f"possibly more than the {margin:g} margin (not "
                                       "resolved)"}[verdict]


def _ppb_clauses(row, p: dict) -> list[str]:
    """What PPB did, one predicate per sentence: the non-adaptive AUC (the record's statistic)
    with the accuracy cost, the confidence gap, the adaptive attacker (Holm), the baselines."""
    out = []
    if math.isfinite(row.lo) and math.isfinite(row.hi):
        by = _by(row.estimate, row.lo, row.hi)
        out.append(f"lowered the non-adaptive attack's AUC by {by}" if row.hi < 0 else
                   f"raised the non-adaptive attack's AUC by {by}" if row.lo > 0 else
                   "did not detectably change the non-adaptive attack's AUC "
                   f"({format_interval(row.estimate, row.lo, row.hi)}{_mde(row)})")
    acc = _part(p, "accuracy")
    if acc:
        cost = _ppb_cost(acc, p.get("accuracy_margin"))
        if out:
            out[0] += (" but " if row.hi < 0 and acc[2] < 0 else " and ") + cost
        else:
            out.append(cost)
    gap = _part(p, "gap")
    if gap:
        out.append({VERDICTS[0]: f"narrowed the confidence gap by {_by(*gap[:3])}",
                    VERDICTS[1]: f"widened the confidence gap by {_by(*gap[:3])}",
                    VERDICTS[2]: "did not detectably narrow the confidence gap "
                                 f"({format_interval(*gap[:3])})"}[gap[3]])
    ad = _part(p, "adaptive_auc")
    if ad:
        out.append({VERDICTS[0]: f"lowered an adaptive attacker's AUC by {_by(*ad[:3])} "
                                 "(detectable after Holm)",
                    VERDICTS[1]: f"raised an adaptive attacker's AUC by {_by(*ad[:3])} "
                                 "(detectable after Holm)",
                    VERDICTS[2]: "did not detectably change an adaptive attacker's AUC after "
                                 f"Holm ({ad[0]:+.3f}, unadjusted 95 % interval "
                                 f"[{ad[1]:+.3f}, {ad[2]:+.3f}])"}[ad[3]])
    beaten, n = p.get("baselines_beaten"), p.get("n_baselines")
    if isinstance(beaten, int) and isinstance(n, int) and n > 0:
        out.append(f"beat {beaten} of {n} baselines at equal accuracy")
    return out


_PART_NAMES = {"auc": "the AUC part", "gap": "the confidence-gap part",
               "accuracy": "the accuracy part"}


def _ppb_sentence(row) -> str:
    """PPB's result in short sentences from notebook 05's record (a clause whose params are
    missing is left out), then the claim's verdict and the part that decided it."""
    if row is None or row.verdict not in VERDICTS:
        return ""
    p = _params(row)
    said = " ".join(f"{'PPB (notebook 05)' if i == 0 else 'It'} {c}."
                    for i, c in enumerate(_ppb_clauses(row, p)))
    decider = p.get("deciding_part")
    how = "decided by" if row.verdict == VERDICTS[1] else "left open by"
    tail = ("" if row.verdict == VERDICTS[0] else
            f", {how} {_PART_NAMES.get(decider, f'the {decider} part')}"
            if isinstance(decider, str) else
            f" (its row's detail says which part "
            f"{'decided it' if row.verdict == VERDICTS[1] else 'left it open'})")
    return (f"{said} " if said else "") + (
        f"So Yuan & Zhang's PPB claim (yuan_zhang_ppb) is {row.verdict}{tail}.")


def _dp_claim(row) -> str:
    """Adamczewski & Park's equivalence claim (random on par with magnitude masks)."""
    m, est = _margin(row), format_interval(row.estimate, row.lo, row.hi)
    m_txt = f"{m:g}" if m is not None else "its"
    acc = f"test accuracy, random minus magnitude, {est}"
    what = ({VERDICTS[0]: f"a random public mask did as well as a magnitude mask ({acc}, within "
                          f"+-{m_txt})",
             VERDICTS[1]: f"random and magnitude public masks differed by more than the {m_txt} "
                          f"margin ({acc})"}.get(row.verdict)
            or (f"random selection was detectably {'less' if row.hi < 0 else 'more'} accurate "
                f"than magnitude selection ({acc}), but whether by more than the {m_txt} margin "
                "is not resolved, so 'on par' is neither shown nor excluded"
                if _differs_within_margin(row) else
                f"whether a random public mask does as well as a magnitude mask is not resolved "
                f"({acc}{_mde(row)})"))
    return f"Under DP-SGD (adamczewski_random_vs_magnitude: {row.verdict}), {what}."


def _dp_accuracy(p: dict) -> str:
    """What public-mask sparsity did to DP-SGD's test accuracy against dense DP-SGD (notebook
    06's ``dp_accuracy_vs_dense``), detection by its Holm words when recorded, else by the
    unadjusted 95 % intervals; ``""`` without the numbers."""
    table, holm = p.get("dp_accuracy_vs_dense"), p.get("dp_accuracy_vs_dense_holm")
    if not isinstance(table, dict):
        return ""
    groups: dict[str, list[str]] = {"higher": [], "lower": [], "": []}
    for name, value in table.items():
        nums = _numbers(value, 3)
        if nums:
            word = (holm.get(name) if isinstance(holm, dict) else
                    "higher" if nums[1] > 0 else "lower" if nums[2] < 0 else "")
            groups[word if word in ("higher", "lower") else ""].append(
                f"{name} {format_interval(*nums)}")
    if not any(groups.values()):
        return ""
    eps = p.get("epsilon")
    at = f"At the same epsilon ({eps:.2f}), " if isinstance(eps, (int, float)) else ""
    moved = "changed" if groups["higher"] or groups["lower"] else "did not detectably change"
    said = [f"{_and(v)} {'were' if len(v) > 1 else 'was'} {words}" for v, words in (
        (groups["higher"], "more accurate"), (groups["lower"], "less accurate"),
        (groups[""], "not detectably different")) if v]
    how = "after Holm" if isinstance(holm, dict) else "by unadjusted 95 % intervals"
    text = (f"{at}public-mask sparsity {moved} DP-SGD's test accuracy against dense DP-SGD "
            f"({how}): {_and(said)}.")
    return text[0].upper() + text[1:]


def _dp_sentences(row) -> list[str]:
    """Notebook 06: the random-against-magnitude claim, what public-mask sparsity did to
    DP-SGD's accuracy, and how many DP fine-tuned models fell below the public-only model
    (each left out when its params are missing)."""
    if row is None or row.verdict not in VERDICTS:
        return []
    p = _params(row)
    s = [_dp_claim(row), _dp_accuracy(p)]
    below, n = p.get("below_public_only"), p.get("n_models")
    if all(isinstance(x, int) and not isinstance(x, bool) for x in (below, n)) and n > 0:
        s.append(f"{below} of {n} DP fine-tuned models were detectably less accurate than the "
                 "public-only model they started from (Holm).")
    return [x for x in s if x]


def _open_sentence(frame: pd.DataFrame) -> list[str]:
    """The claims left unresolved that no other sentence reports, with MDE and estimate."""
    told = {"gonon_accuracy_control", "yuan_zhang_ppb", "adamczewski_random_vs_magnitude"}
    open_ = [r.claim + (f" (MDE {r.mde:.3g}; estimate "
                        f"{format_interval(r.estimate, r.lo, r.hi)})" if math.isfinite(r.mde)
                        else "")
             for r in frame.itertuples() if r.verdict == VERDICTS[2] and r.claim not in told
             and not _differs_within_margin(r)]
    return ["Not detectable at this power: " + ", ".join(open_) + "."] if open_ else []


def _phrase(row) -> str:
    where, notes = _where(row)
    return (f"against {CLAIMS[row.claim].attack}" + (f" {where}" if where else "")
            + f" ({', '.join([*notes, row.claim])})")


def _accuracy_tail(rows: dict, more: list) -> str:
    """Where notebook 03's more-private result came with lower accuracy, say so, and what
    controlling for accuracy found; ``""`` otherwise."""
    if not any(r.claim == "gonon_density_attack" for r in more):
        return ""
    p = _params(rows.get("gonon_density_error") or rows["gonon_density_attack"])
    sparse, dense = _numbers(p.get("acc_sparsest"), 2), _numbers(p.get("acc_dense"), 2)
    dens = _numbers(p.get("density_range"), 2)
    acc = (f"the sparsest of notebook 03's models were also less accurate (test accuracy "
           f"{sparse[0]:.2f}-{sparse[1]:.2f} at density {dens[0]:g}, against "
           f"{dense[0]:.2f}-{dense[1]:.2f} dense)"
           if sparse and dense and dens else "")
    ctl = {VERDICTS[0]: "part of notebook 03's privacy gain is the accuracy lost",
           VERDICTS[1]: "notebook 03's privacy gain did not shrink once accuracy was "
                        "controlled for",
           VERDICTS[2]: "whether part of notebook 03's privacy gain is the accuracy lost is not "
                        "resolved"}.get(
               getattr(rows.get("gonon_accuracy_control"), "verdict", ""), "")
    said = ", and ".join(x for x in (acc, ctl) if x)
    return f"; {said}" if said else ""


def _conclusion(frame: pd.DataFrame, by_dir: dict[str, list]) -> str:
    """The answer in one quotable sentence: where sparser networks were more or less private,
    on what evidence, and what accuracy has to do with it."""
    rows = {r.claim: r for r in frame.itertuples()}
    more, less = by_dir["more"], by_dir["less"]
    more_txt = " and ".join(_phrase(r) for r in more)
    less_txt = " and ".join(_phrase(r) for r in less)
    if more and not less:
        return (f"So, in this run: yes, sparsity made networks more private, {more_txt}"
                f"{_accuracy_tail(rows, more)}.")
    if less and not more:
        return f"So, in this run: no; sparser networks were more exposed, not less, {less_txt}."
    if more and less:
        return (f"So, in this run, the answer depends on the comparison: sparser networks were "
                f"more private {more_txt} and less private {less_txt}"
                f"{_accuracy_tail(rows, more)}.")
    if by_dir["differs"]:
        return ("So, in this run, the answer depends on the comparison: sparse and dense "
                "networks differed, in opposite directions within a claim (see the rows above).")
    if by_dir["same"]:
        return ("So, in this run: sparsity did not change how exposed the networks were, "
                "within the equivalence margins of the claims that said so.")
    return ("So this run cannot answer the question: no claim about sparsity and privacy was "
            "resolved at this power.")


def answer(frame: pd.DataFrame) -> str:
    """One paragraph answering "can sparsity make a network more private?" from the verdicts
    of :func:`table` (nothing in it is fixed in advance): each resolved privacy claim with its
    estimate and what it rests on (densities, seeds, Holm), the accuracy cost and control,
    PPB part by part, DP-SGD, the claims left open, and a closing sentence to quote. Clauses
    that need a record's ``params`` are left out when the record lacks them.

    Example:
        >>> import tempfile
        >>> print(answer(table(root=tempfile.mkdtemp(), profile="quick")).split(" (")[0])
        Profile 'quick': 0 of 9 claims have a record
    """
    counts = frame["verdict"].value_counts()
    n, recorded = len(frame), int((frame["verdict"] != NO_RECORD).sum())
    tally = ", ".join(f"{int(counts.get(v, 0))} {v}" for v in VERDICTS)
    head = (f"Profile {frame.attrs.get('profile', current_profile())!r}: {recorded} of {n} "
            f"claims have a record ({tally}).")
    if recorded < n:
        head += (f" {n - recorded} not recorded yet: "
                 f"{', '.join(sorted(set(frame.loc[frame.verdict == NO_RECORD, 'notebook'])))}"
                 " must run first.")
    rows = {r.claim: r for r in frame.itertuples()}
    sentences, by_dir = _privacy_sentences(frame)
    return " ".join([head, *sentences, *_accuracy_sentences(rows),
                     *[x for x in [_ppb_sentence(rows.get("yuan_zhang_ppb"))] if x],
                     *_dp_sentences(rows.get("adamczewski_random_vs_magnitude")),
                     *_open_sentence(frame), _conclusion(frame, by_dir)])


_PARTS = {"auc": "attack-AUC", "gap": "confidence-gap", "accuracy": "test-accuracy",
          "adaptive_auc": "adaptive-attack AUC"}


def _as_row(row) -> SimpleNamespace:
    """A record as :func:`note` reads it: from a :func:`table` row (``itertuples``) or a dict
    (a ``claims.csv`` row, numbers as text); missing numbers are NaN."""
    get = row.get if isinstance(row, Mapping) else (lambda k, d=None: getattr(row, k, d))

    def num(key):
        try:
            return float(get(key))
        except (TypeError, ValueError):
            return math.nan
    return SimpleNamespace(**{k: str(get(k, "") or "") for k in
                              ("claim", "statistic", "detail", "verdict")},
                           **{k: num(k) for k in ("estimate", "lo", "hi", "mde")},
                           params=get("params"))


def _decided_by_part(r, p: dict) -> list[str]:
    """A verdict from several parts (notebook 05): the part that decided it and which part the
    row's estimate is; ``[]`` without ``deciding_part`` and ``parts`` in the params."""
    name, parts = p.get("deciding_part"), p.get("parts")
    if not isinstance(name, str) or not isinstance(parts, dict) or r.verdict == VERDICTS[0]:
        return []
    decider = _part(p, name)
    if decider is None:
        return []
    margin = next((float(p[k]) for k in (f"{name}_margin", "margin")
                   if isinstance(p.get(k), (int, float)) and not isinstance(p.get(k), bool)), None)
    out = [f"{'decided' if r.verdict == VERDICTS[1] else 'left open'} by its "
           f"{_PARTS.get(name, name)} part {format_interval(*decider[:3])} ({decider[3]}"
           + (f" at margin {margin:g})" if margin is not None else ")")]
    shown = next((k for k in parts if k != name and (_part(p, k) or (None,))[0] is not None
                  and math.isclose(_part(p, k)[0], r.estimate, abs_tol=1e-9)), None)
    if shown:
        out.append(f"the estimate shown is its {_PARTS.get(shown, shown)} part "
                   f"({_part(p, shown)[3]})")
    return out


def _margin_note(r, p: dict) -> list[str]:
    """Where a verdict rests on a margin (notebook 05's accuracy cost): the nearest margin
    recorded in ``params["verdict_by_margin"]`` (``{"0.03": verdict, ...}``) that gives another
    verdict; ``[]`` when the key is missing or every margin agrees.

    Example:
        >>> row = pd.Series({"verdict": "contradicted"})
        >>> _margin_note(row, {"accuracy_margin": 0.02, "verdict_by_margin": {
        ...     "0.01": "contradicted", "0.02": "contradicted", "0.03": "not detectable"}})
        ['becomes not detectable at margin 0.03']
    """
    by_margin, used = p.get("verdict_by_margin"), p.get("accuracy_margin", p.get("margin"))
    if not isinstance(by_margin, dict) or not isinstance(used, (int, float)):
        return []
    try:
        other = [(abs(float(m) - used), float(m), v) for m, v in by_margin.items()
                 if v != r.verdict]
    except (TypeError, ValueError):
        return []
    if not other:
        return []
    _, margin, verdict = min(other)
    return [f"becomes {verdict} at margin {margin:g}"]


_NUM = r"([+-]\d+\.?\d*)"
_LAYER = re.compile(rf"([A-Za-z]\w*): {_NUM} \[{_NUM}, {_NUM}\] \(([^)]*)\)")


def _decided_by_layer(r, p: dict) -> list[str]:
    """A verdict weighing per-layer slopes (notebook 04): the layers that contradicted the
    claim, then the other detectable ones, from ``params["layers"]`` and ``"opposed"`` or, for
    an older record, from its detail ("... easier to invert when sparse: fc2. Per layer ...")."""
    layers, opposed = p.get("layers"), p.get("opposed")
    if isinstance(layers, dict):
        layers = {k: v for k, v in layers.items() if _numbers(v, 3) and len(v) > 3}
    else:
        per = r.detail.split("Per layer", 1)
        layers = {m[0]: [*map(float, m[1:4]), m[4]] for m in _LAYER.findall(per[-1])} \
            if len(per) == 2 else {}
        hit = re.search(r"easier to invert when sparse: ([^.]*)\.", r.detail)
        opposed = [x.strip() for x in hit.group(1).split(",")] if hit else []
    if not layers or not isinstance(opposed, list) or not opposed or r.verdict != VERDICTS[1]:
        return []
    def say(k):
        return f"{k} {format_interval(*layers[k][:3], digits=2)} ({layers[k][3]})"
    others = [say(k) for k in layers if k not in opposed and
              (layers[k][1] > 0 or layers[k][2] < 0)]
    return [f"decided by layer {', '.join(say(k) for k in opposed if k in layers)}",
            *([f"but {'; '.join(others)}"] if others else []),
            "the estimate shown averages the layers"]


def _interval_note(r) -> list[str]:
    """Where the interval lies: against the equivalence margin of a claim of no difference,
    or, for a directional claim left open, that it holds 0."""
    if not (math.isfinite(r.lo) and math.isfinite(r.hi)):
        return ["no interval"] if r.verdict in VERDICTS else []
    margin = _margin(r)
    if margin is None:
        return ["interval includes 0"] if r.verdict == VERDICTS[2] else []
    if _differs_within_margin(r):
        return [f"differs (interval excludes 0); whether by more than the {margin:g} margin is "
                "not resolved"]
    return [{VERDICTS[0]: f"interval inside the ±{margin:g} margin",
             VERDICTS[1]: f"interval wholly beyond the ±{margin:g} margin",
             VERDICTS[2]: f"interval includes 0 but reaches past the ±{margin:g} margin"}[
                 r.verdict]]


def _sparsest_note(r, p: dict) -> list[str]:
    """Whether a resolved slope over density holds without the sparsest density (notebook 03's
    ``slope_without_sparsest``)."""
    nums, dens = _numbers(p.get("slope_without_sparsest"), 3), p.get("sparsest_density")
    if not nums or not isinstance(dens, (int, float)) or r.verdict not in VERDICTS[:2]:
        return []
    if nums[1] > 0 or nums[2] < 0:
        return [f"holds without density {dens:g} ({format_interval(*nums, digits=3)})"]
    return [f"rests on density {dens:g}: without it {format_interval(*nums, digits=3)}, not "
            "detectable"]


def note(row) -> str:
    """What decided a claim's verdict, or what limits it, in a few words computed from its
    record: the deciding part (notebook 05) or layer (notebook 04) where the verdict does not
    follow from the row's own estimate, the interval against an equivalence margin, whether a
    slope rests on the sparsest density, the number of seeds, and a verdict its notebook's
    Holm family did not confirm. Clauses whose record fields are missing are left out; ``""``
    for a claim without a record.

    Args:
        row: a row of :func:`table` (``itertuples``) or a dict with the same keys (a
            ``claims.csv`` row; ``params`` may be JSON text or absent).

    Example:
        >>> note({"claim": "yuan_zhang_attack", "verdict": "supported", "estimate": 0.024,
        ...       "lo": 0.001, "hi": 0.048, "statistic": "lira AUC, pruned - dense, one seed",
        ...       "detail": "in section 3's Holm family: no detectable difference"})
        "one seed; not detectable in its notebook's Holm family"
        >>> note({"claim": "bagmar_ticket", "verdict": "not detectable at this power",
        ...       "estimate": 0.017, "lo": 0.006, "hi": 0.041, "params": {"margin": 0.02}})
        'differs (interval excludes 0); whether by more than the 0.02 margin is not resolved'
    """
    r = _as_row(row)
    if r.verdict not in VERDICTS or r.claim not in CLAIMS:
        return ""
    p = _params(r)
    where, notes = _where(r)
    holm = "not detectable within its notebook's Holm family"
    scope = [x for x in notes if x != holm]
    if holm in notes and r.verdict in VERDICTS[:2]:
        scope.append("not detectable in its notebook's Holm family")
    decided = _decided_by_part(r, p) or _decided_by_layer(r, p)
    return "; ".join([*decided, *_margin_note(r, p), *([] if decided else _interval_note(r)),
                      *_sparsest_note(r, p), *scope])


def _cell(text) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def to_markdown(frame: pd.DataFrame, *, quotes: bool = True) -> str:
    """The claims as a Markdown table: paper, claim (quoted), statistic, estimate [interval],
    MDE, verdict, what decided the verdict or limits it (:func:`note`), notebook.

    Example:
        >>> import tempfile
        >>> to_markdown(table(root=tempfile.mkdtemp(), profile="quick")).splitlines()[0][:39]
        '| paper | claim | this run: statistic |'
    """
    lines = ["| paper | claim | this run: statistic | estimate [95 % interval] | MDE | verdict "
             "| decided by / caveats | notebook |", "|---|---|---|---|---|---|---|---|"]
    for r in frame.itertuples():
        mde = f"{r.mde:.3g}" if isinstance(r.mde, float) and math.isfinite(r.mde) else "–"
        claim = r.quote if quotes else r.claim_text
        lines.append("| " + " | ".join(_cell(x) for x in (
            r.paper, claim, r.statistic or "–", format_interval(r.estimate, r.lo, r.hi), mde,
            f"**{r.verdict}**", note(r) or "–", f"`{r.notebook}`")) + " |")
    return "\n".join(lines)


_COLOURS = {VERDICTS[0]: "#2a7d3c", VERDICTS[1]: "#b3261e", VERDICTS[2]: "#777777"}


def forest_plot(frame: pd.DataFrame, *, figsize=None):
    """Each recorded claim's estimate with its interval, one panel per claim (the statistics
    have different units, so each panel has its own x-axis), a line at zero, the MDE as a
    shaded band around zero, coloured by verdict. Returns the figure.
    """
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    rows = frame[frame["verdict"] != NO_RECORD].reset_index(drop=True)
    n = max(len(rows), 1)
    fig, axes = plt.subplots(n, 1, figsize=figsize or (9, 0.95 * n + 1.4), squeeze=False)
    axes = axes[:, 0]
    if rows.empty:
        axes[0].text(0.5, 0.5, "no finding recorded yet", ha="center", va="center")
        axes[0].set_axis_off()
        return fig
    for ax, r in zip(axes, rows.itertuples()):
        colour = _COLOURS[r.verdict]
        if math.isfinite(r.mde):
            ax.axvspan(-r.mde, r.mde, color="#dddddd", zorder=0)
        ax.axvline(0, color="black", lw=0.8)
        if math.isfinite(r.lo) and math.isfinite(r.hi):
            ax.plot([r.lo, r.hi], [0, 0], color=colour, lw=3)
        ax.plot([r.estimate], [0], "o", color=colour, ms=7)
        ax.set_yticks([0], [f"{r.paper}\n{r.claim}"], fontsize=8)
        ax.set_xlabel(r.statistic, fontsize=8, labelpad=1)
        ax.tick_params(axis="x", labelsize=8)
    handles = [Line2D([], [], color=c, marker="o", lw=3, label=v) for v, c in _COLOURS.items()]
    handles.append(Patch(color="#dddddd", label="± MDE around zero"))
    height = fig.get_figheight()
    fig.suptitle(f"Each claim's estimate with its 95 % interval ({frame.attrs.get('profile', '')}"
                 " profile)", y=1 - 0.12 / height, va="top", fontsize=10)
    fig.legend(handles=handles, loc="upper center", ncol=4, fontsize=8, frameon=False,
               bbox_to_anchor=(0.5, 1 - 0.38 / height))
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.7 / height))
    return fig
