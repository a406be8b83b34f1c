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

import pandas as pd

from .findings import (CLAIMS, COLUMNS, NO_RECORD, VERDICTS, _read, claim_prose,
                       current_profile, findings_dir, missing_message)

__all__ = ["table", "answer", "to_markdown", "forest_plot", "format_interval"]

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


_PARTS = {"gap": "the confidence gap", "AUC": "the attack's AUC", "accuracy": "the accuracy cost"}


def _ppb_sentence(row) -> str:
    """PPB's result part by part, from the 05 record (a part whose params are missing is
    left out): AUC, accuracy cost against the margin, gap, adaptive attacker, baselines."""
    if row is None or row.verdict not in VERDICTS:
        return ""
    p, parts = _params(row), []
    if math.isfinite(row.lo) and math.isfinite(row.hi):
        by = _by(row.estimate, row.lo, row.hi)
        parts.append(f"lowered the non-adaptive attack's AUC by {by}" if row.hi < 0 else
                     f"raised the non-adaptive attack's AUC by {by}" if row.lo > 0 else
                     "did not detectably change the non-adaptive attack's AUC "
                     f"({format_interval(row.estimate, row.lo, row.hi)}{_mde(row)})")
    acc, m = _numbers(p.get("accuracy_diff"), 3), p.get("acc_margin")
    if acc and isinstance(m, (int, float)):
        judge = (f"more than the {m:g} allowed for a small cost" if acc[2] < -m else
                 f"within the {m:g} allowed for a small cost" if acc[1] > -m else
                 f"possibly more than the {m:g} allowed for a small cost (not resolved)")
        parts.append((f"it cost {_by(*acc)} test accuracy" if acc[2] < 0 else
                      f"it changed test accuracy by {format_interval(*acc)}") + f", {judge}")
    gap = _numbers(p.get("gap_diff"), 3)
    if gap:
        parts.append(("it narrowed" if gap[2] < 0 else "it widened" if gap[1] > 0 else
                      "it did not detectably narrow")
                     + f" the confidence gap ({format_interval(*gap)})")
    ad, det = _numbers(p.get("adaptive_auc_diff"), 3), p.get("adaptive_detected")
    if ad and isinstance(det, bool):
        parts.append(f"its effect on an adaptive attacker's AUC ({format_interval(*ad)}) was "
                     f"{'detectable' if det else 'not detectable'} after Holm")
    beaten, n = p.get("baselines_beaten"), p.get("n_baselines")
    if isinstance(beaten, int) and isinstance(n, int) and n > 0:
        parts.append(f"it beat {beaten} of {n} baselines at equal accuracy")
    split = p.get("parts") if isinstance(p.get("parts"), dict) else {}
    deciding = [_PARTS.get(k, k) for k, v in split.items()
                if v == row.verdict and row.verdict != VERDICTS[0]]
    how, which = (("decided by", "decided it") if row.verdict == VERDICTS[1] else
                  ("left open by", "left it open"))
    return (f"PPB (notebook 05) {'; '.join(parts)}. So Yuan & Zhang's PPB claim (yuan_zhang_ppb) "
            f"is {row.verdict}" + (f", {how} {' and '.join(deciding)}" if deciding else
                                   "" if row.verdict == VERDICTS[0] else
                                   f" (its row's detail says which part {which})")
            + ".")


def _dp_sentences(row) -> list[str]:
    """Random against magnitude masks under DP-SGD (an equivalence claim), and, when notebook
    06's record holds them, what public-mask sparsity did to DP-SGD's accuracy."""
    if row is None or row.verdict not in VERDICTS:
        return []
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
    s = [f"Under DP-SGD (adamczewski_random_vs_magnitude: {row.verdict}), {what}."]
    p = _params(row)
    eps = p.get("epsilon")
    at = f" at epsilon {eps:.2f}" if isinstance(eps, (int, float)) else ""
    vs = _against(p.get("accuracy_vs_dense"))
    if vs:
        moved = ("changed" if ("higher for" in vs or "lower for" in vs)
                 else "did not detectably change")
        s.append(f"Public-mask sparsity {moved} DP-SGD's test accuracy{at} (notebook 06, against "
                 f"dense DP-SGD at the same epsilon): {vs}.")
    pub = p.get("accuracy_vs_public")
    if isinstance(pub, dict) and pub:
        worse = [k for k, v in pub.items() if _word(v) == "lower"]
        s.append(f"DP fine-tuning{at} left {len(worse)} of {len(pub)} models detectably below the "
                 "public-only model they started from" + (
                     f" (all but {', '.join(k for k in pub if k not in worse)})"
                     if worse and len(worse) < len(pub) else "") + ".")
    return s


def _word(value) -> str:
    """``"higher"``, ``"lower"`` or ``""`` for ``[est, lo, hi]`` or ``[est, lo, hi, word]`` (the
    notebook's own, Holm-corrected, word when given)."""
    nums = _numbers(value, 3)
    if not nums:
        return ""
    if isinstance(value, (list, tuple)) and len(value) > 3 and isinstance(value[3], str):
        return value[3] if value[3] in ("higher", "lower") else ""
    return "higher" if nums[1] > 0 else "lower" if nums[2] < 0 else ""


def _against(table) -> str:
    """``"higher for a +0.07 [...]; lower for b ...; not detectably different for c"``."""
    if not isinstance(table, dict):
        return ""
    groups: dict[str, list[str]] = {"higher": [], "lower": [], "": []}
    for name, value in table.items():
        nums = _numbers(value, 3)
        if nums:
            groups[_word(value)].append(f"{name} {format_interval(*nums)}")
    return "; ".join(f"{label} for {', '.join(v)}" for label, v in
                     (("higher", groups["higher"]), ("lower", groups["lower"]),
                      ("not detectably different", groups[""])) if v)


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


def _cell(text) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def to_markdown(frame: pd.DataFrame, *, quotes: bool = True) -> str:
    """The claims as a Markdown table: paper, claim (quoted), statistic, estimate [interval],
    MDE, verdict, notebook.

    Example:
        >>> import tempfile
        >>> to_markdown(table(root=tempfile.mkdtemp(), profile="quick")).splitlines()[0][:39]
        '| paper | claim | this run: statistic |'
    """
    lines = ["| paper | claim | this run: statistic | estimate [95 % interval] | MDE | verdict "
             "| notebook |", "|---|---|---|---|---|---|---|"]
    for r in frame.itertuples():
        mde = f"{r.mde:.3g}" if isinstance(r.mde, float) and math.isfinite(r.mde) else "–"
        claim = r.quote if quotes else r.claim_text
        lines.append("| " + " | ".join(_cell(x) for x in (
            r.paper, claim, r.statistic or "–", format_interval(r.estimate, r.lo, r.hi), mde,
            f"**{r.verdict}**", f"`{r.notebook}`")) + " |")
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
