"""Adding up the recorded findings: one row per seed claim, a forest plot, and the answer to
"can sparsity make a network more private?" computed from the verdicts.

:func:`table` reads every claim's record (:mod:`sparsepriv_nb.findings`) and keeps a row for
the claims nobody recorded yet (verdict ``"no record"``, with the notebook to run).
:func:`answer` (:mod:`sparsepriv_nb.findings_answer`) turns the verdicts into one sentence
and one Markdown bullet per question, strongest evidence first; nothing in it is written in
advance. :func:`note` says what decided or limits each verdict, :func:`to_markdown` formats
the table (notebook 07 and ``sparsepriv-nb findings``), :func:`forest_plot` draws each
estimate with its interval (and an equivalence claim's margin).

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
    if re.search(r"holm family: (?:no|not) detectable", text):
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


def answer(frame: pd.DataFrame) -> str:
    """The answer to "can sparsity make a network more private?": one sentence, one Markdown
    bullet per question, the verdict count (:func:`sparsepriv_nb.findings_answer.answer`)."""
    from .findings_answer import answer as _answer

    return _answer(frame)


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


_FITS = ("slope_at_fixed_accuracy", "controlled_slope_without_sparsest",
         "controlled_slope_with_lowered_dense")
_HALVES = re.compile(r"halves of (?:them|the reference models) give ([+-]?\d*\.?\d+) and "
                     r"([+-]?\d*\.?\d+)")


def fixed_accuracy_fits(p: dict) -> tuple[int, int, list[tuple]]:
    """Notebook 03's slopes of attack AUC on density at fixed test accuracy (all models,
    without the sparsest density, with the accuracy-lowered dense models): how many are
    detectably positive, how many detectably negative, and the ``(estimate, lo, hi)`` found.

    Example:
        >>> fixed_accuracy_fits({"slope_at_fixed_accuracy": [0.06, 0.002, 0.13],
        ...                      "controlled_slope_without_sparsest": [0.03, -0.04, 0.11]})[:2]
        (1, 0)
    """
    fits = [nums for key in _FITS if (nums := _numbers(p.get(key), 3))]
    return sum(f[1] > 0 for f in fits), sum(f[2] < 0 for f in fits), fits


def _fits_note(p: dict) -> list[str]:
    pos, neg, fits = fixed_accuracy_fits(p)
    if len(fits) < 2:
        return []
    return [f"slope at fixed accuracy detectable in {pos + neg} of {len(fits)} fits"
            + (" with opposite signs" if pos and neg else "")]


def _halves_note(r) -> list[str]:
    hit = _HALVES.search(r.detail)
    return [f"reference-model halves give {hit.group(1)} and {hit.group(2)}"] if hit else []


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
        "one seed; not detectable after its notebook's Holm correction"
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
        scope.append("not detectable after its notebook's Holm correction")
    if p.get("n_seeds") == 1 and "one seed" not in scope:  # e.g. 05: "one training seed"
        scope.append("one seed")
    decided = _decided_by_part(r, p) or _decided_by_layer(r, p)
    return "; ".join([*decided, *_margin_note(r, p), *([] if decided else _interval_note(r)),
                      *_fits_note(p), *_sparsest_note(r, p), *scope, *_halves_note(r)])


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


def _plot_note(r) -> str:
    """The words a forest-plot panel shows when the verdict is not read off its own dot: the
    part or layer that decided it (``"decided by its test-accuracy part -0.052 [...]"``)."""
    p = _params(r)
    decided = _decided_by_part(r, p) or _decided_by_layer(r, p)
    return decided[0].replace("decided by its ", "decided by: ").replace(
        "decided by layer ", "decided by: layer ").replace("left open by its ",
                                                           "left open by: ") if decided else ""


_COLOURS = {VERDICTS[0]: "#2a7d3c", VERDICTS[1]: "#b3261e", VERDICTS[2]: "#777777"}


def forest_plot(frame: pd.DataFrame, *, figsize=None):
    """Each recorded claim's estimate with its interval, one panel per claim (the statistics
    have different units, so each panel has its own x-axis), a line at zero, the MDE as a
    shaded band around zero, coloured by verdict; a claim of no difference also gets its
    equivalence margin as dashed lines, and a claim decided by one of its parts or layers
    (not by the dot shown) names it in the panel's corner. Returns the figure.
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
        margin = _margin(r)
        if margin is not None:
            for x in (-margin, margin):
                ax.axvline(x, color="black", lw=1, ls="--")
        decided = _plot_note(r)
        if decided:
            ax.text(0.995, 0.95, decided, transform=ax.transAxes, ha="right", va="top",
                    fontsize=7, color=colour, bbox={"facecolor": "white", "alpha": 0.85,
                                                    "lw": 0, "pad": 0.6})
        ax.set_yticks([0], [f"{r.paper}\n{r.claim}"], fontsize=8)
        ax.set_xlabel(r.statistic, fontsize=8, labelpad=1)
        ax.tick_params(axis="x", labelsize=8)
    handles = [Line2D([], [], color=c, marker="o", lw=3, label=v) for v, c in _COLOURS.items()]
    handles.append(Patch(color="#dddddd", label="± MDE around zero"))
    if any(_margin(r) is not None for r in rows.itertuples()):
        handles.append(Line2D([], [], color="black", lw=1, ls="--",
                              label="± equivalence margin"))
    height = fig.get_figheight()
    fig.suptitle(f"Each claim's estimate with its 95 % interval ({frame.attrs.get('profile', '')}"
                 " profile)", y=1 - 0.12 / height, va="top", fontsize=10)
    fig.legend(handles=handles, loc="upper center", ncol=len(handles), fontsize=8, frameon=False,
               bbox_to_anchor=(0.5, 1 - 0.38 / height))
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.7 / height))
    return fig
