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

import math

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


def _caveat(statistic: str, detail: str) -> str:
    """What limits a verdict, read from its record: one seed, or a Holm family that does not
    confirm it."""
    text = f"{statistic} {detail}".lower()
    notes = []
    if "one seed" in text:
        notes.append("one seed")
    if "holm family: no detectable" in text:
        notes.append("not confirmed in its notebook's Holm family")
    return f" ({'; '.join(notes)})" if notes else ""


def _names(frame: pd.DataFrame, ids) -> str:
    rows = frame.set_index("claim")
    return ", ".join(f"{c}, {CLAIMS[c].paper}: {rows.at[c, 'verdict']}"
                     + _caveat(str(rows.at[c, "statistic"]), str(rows.at[c, "detail"]))
                     for c in ids)


def _privacy_sentences(frame: pd.DataFrame) -> tuple[list[str], dict[str, list[str]]]:
    """One sentence per attack listing the claims by what their verdicts say, one naming the
    privacy claims left unresolved (with their MDEs), and the claims by direction."""
    by_dir: dict[str, list[str]] = {"more": [], "less": [], "same": [], "differs": []}
    sentences = []
    for attack in dict.fromkeys(c.attack for c in CLAIMS.values() if c.attack):
        parts = []
        for label, words in (("more", "sparser networks were more private"),
                             ("less", "sparser networks were less private"),
                             ("same", "sparse and dense networks were equally exposed"),
                             ("differs", "sparse and dense networks differed, not in one "
                                         "direction")):
            ids = [r.claim for r in frame.itertuples()
                   if CLAIMS[r.claim].attack == attack
                   and _direction(r.claim, r.verdict, getattr(r, "params", None)) == label]
            by_dir[label] += ids
            if ids:
                parts.append(f"{words} ({_names(frame, ids)})")
        if parts:
            sentences.append(f"Against {attack}: " + "; ".join(parts) + ".")
    # every unresolved claim the head counts, privacy or not (accuracy control, PPB, DP masks)
    open_ = [r.claim + (f" (MDE {r.mde:.3g}; estimate "
                        f"{format_interval(r.estimate, r.lo, r.hi)})" if math.isfinite(r.mde)
                        else "")
             for r in frame.itertuples() if r.verdict == VERDICTS[2]]
    if open_:
        sentences.append("Not detectable at this power: " + ", ".join(open_) + ".")
    return sentences, by_dir


def _side_sentences(frame: pd.DataFrame) -> list[str]:
    """Accuracy cost, the accuracy confound, the defense and DP training, when resolved."""
    v = dict(zip(frame["claim"], frame["verdict"]))
    s = []
    cost = {VERDICTS[0]: "Sparsity cost accuracy (test error rose as density fell).",
            VERDICTS[1]: "Sparsity did not cost accuracy here (test error fell as density "
                         "fell)."}
    conf = {VERDICTS[0]: "Controlling for test accuracy shrank the association of density "
                         "with attack success, so part of any privacy gain is an accuracy "
                         "loss.",
            VERDICTS[1]: "The association of density with attack success did not shrink once "
                         "accuracy was controlled for."}
    ppb = {VERDICTS[0]: "PPB protected pruned networks at a small accuracy cost, as claimed.",
           VERDICTS[1]: "PPB's claim failed on at least one of its parts (the gap, the attack's "
                        "success, a small accuracy cost; its row says which)."}
    dp = {VERDICTS[0]: "Under DP-SGD, a random public mask did as well as a magnitude mask.",
          VERDICTS[1]: "Under DP-SGD, random and magnitude public masks differed."}
    for cid, words in (("gonon_density_error", cost), ("gonon_accuracy_control", conf),
                       ("yuan_zhang_ppb", ppb), ("adamczewski_random_vs_magnitude", dp)):
        if v.get(cid) in words:
            s.append(words[v[cid]])
    return s


def _conclusion(frame: pd.DataFrame, by_dir: dict[str, list[str]]) -> str:
    more, less = by_dir["more"], by_dir["less"]
    same = by_dir["same"]
    confounded = (frame.set_index("claim")["verdict"].get("gonon_accuracy_control")
                  == VERDICTS[0])
    if more and not less:
        tail = (", but partly by making them less accurate" if confounded else "")
        return f"So, in this run: yes, sparsity made networks more private{tail}."
    if less and not more:
        return "So, in this run: no; sparser networks were more exposed, not less."
    if more and less:
        return ("So, in this run, the answer depends on the claim and the comparison: some "
                "verdicts found sparser networks more private and others less private (see "
                "the rows above).")
    if by_dir["differs"]:
        return ("So, in this run, the answer depends on the comparison: sparse and dense "
                "networks differed, in opposite directions within a claim (see the rows above).")
    if same:
        return ("So, in this run: sparsity did not change how exposed the networks were, "
                "within the equivalence margins of the claims that said so.")
    return ("So this run cannot answer the question: no claim about sparsity and privacy was "
            "resolved at this power.")


def answer(frame: pd.DataFrame) -> str:
    """One paragraph answering "can sparsity make a network more private?" from the verdicts
    of :func:`table` (nothing in it is fixed in advance).

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
    sentences, by_dir = _privacy_sentences(frame)
    return " ".join([head, *sentences, *_side_sentences(frame), _conclusion(frame, by_dir)])


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
