"""``sparsepriv-nb findings REPORT_DIR``: ``FINDINGS.md`` written from a report, never by hand.

Everything in the file comes from the report folder that ``sparsepriv-nb run`` wrote: the
provenance and run times from its ``report.json`` (profile, commit, start time, machine, each
notebook's status and seconds), the claims table and the answer from notebook 07's
``claims.csv`` (computed again with :func:`sparsepriv_nb.findings.answer`), and every notebook's
verdict lines as the report's verdict cells printed them.

Lesson: notebook 07 (``07_what_we_found``); the README links the shipped ``FINDINGS.md``.
"""

from __future__ import annotations

import datetime as _dt
import math
from pathlib import Path

from ._report import CLAIMS_CSV, read_report

__all__ = ["findings_markdown", "write_findings"]


def _claims_frame(report_dir: Path, rows: list[dict]):
    """Notebook 07's table as a frame (:func:`findings.table`'s columns), or raise."""
    import pandas as pd

    rel = next((c for r in rows for c in (r.get("csv") or []) if Path(c).name == CLAIMS_CSV),
               None)
    if rel is None or not (report_dir / rel).is_file():
        ran = [r["name"] for r in rows]
        raise FileNotFoundError(
            f"The report {str(report_dir)!r} has no claims table ({CLAIMS_CSV} of notebook "
            f"07_what_we_found; it ran {ran}). Run 07 into it first: `sparsepriv-nb run "
            f"--only 07 --output {report_dir}` after 02-06, or the whole main job.")
    try:
        frame = pd.read_csv(report_dir / rel)
    except (OSError, ValueError) as exc:
        raise ValueError(f"{report_dir / rel} is not a readable claims table: {exc}.") from None
    needed = {"claim", "paper", "notebook", "statistic", "estimate", "lo", "hi", "mde",
              "verdict", "quote", "claim_text"}
    if not needed <= set(frame.columns):
        raise ValueError(f"{report_dir / rel} is not notebook 07's claims table (missing "
                         f"columns {sorted(needed - set(frame.columns))}).")
    text = ["claim", "paper", "notebook", "statistic", "verdict", "quote", "claim_text"]
    frame[text] = frame[text].fillna("").astype(str)
    from .findings import CLAIMS

    unknown = sorted(set(frame["claim"]) - set(CLAIMS))
    if unknown:
        raise ValueError(f"{report_dir / rel} names claims this version does not know: "
                         f"{unknown}; run 07 again with this version.")
    return frame


def _wall(run: dict, data: dict) -> float:
    """Seconds from the run's start to the report's last update (its last notebook)."""
    try:
        start = _dt.datetime.fromisoformat(run["started"])
        end = _dt.datetime.fromisoformat(data["written"])
    except (KeyError, TypeError, ValueError):
        return math.nan
    return (end - start).total_seconds()


def _recorded(frame) -> str:
    """When notebooks 02-06 wrote the records 07 read (a warm cache may hold older ones)."""
    times = sorted(str(t) for t in frame.get("written", []) if isinstance(t, str) and t)
    if not times:
        return "no record"
    return times[0] if times[0] == times[-1] else f"{times[0]} to {times[-1]}"


def _seconds(value) -> str:
    return f"{value:.1f}" if isinstance(value, (int, float)) and math.isfinite(value) else "–"


def findings_markdown(report_dir: Path) -> str:
    """The text of ``FINDINGS.md`` for one report folder.

    Raises:
        FileNotFoundError: no such folder, no ``report.json``, or no claims table.
        ValueError: an unreadable ``report.json`` or claims table.
    """
    from .findings_summary import answer, to_markdown

    report_dir = Path(report_dir)
    data = read_report(report_dir)
    run, rows, profile = data["run"], data["rows"], str(data.get("profile", "?"))
    frame = _claims_frame(report_dir, rows)
    frame.attrs["profile"] = profile
    commit = str(run.get("commit") or "unknown")
    if run.get("uncommitted_changes"):
        commit += " (with uncommitted changes)"
    total = sum(r.get("seconds") or 0 for r in rows)
    lines = [
        f"# What the {profile} profile found",
        "",
        f"Written by `sparsepriv-nb findings` from the report `{report_dir.name}` on "
        f"{_dt.date.today().isoformat()}; every number below comes from that report. Do not "
        "edit it by hand: run the profile and this command again.",
        "",
        "| | |", "|---|---|",
        f"| profile | `{profile}` |",
        f"| commit | `{commit}` |",
        f"| run started | {run.get('started', '?')} |",
        f"| machine | {run.get('machine', '?')}, Python {run.get('python', '?')} |",
        f"| command | `{run.get('command') or 'sparsepriv-nb run'}` |",
        f"| findings recorded | {_recorded(frame)} |",
        "",
        "## Can sparsity make a network more private?", "",
        answer(frame), "",
        "## The seed papers' claims (notebook 07)", "",
        to_markdown(frame), "",
        "## Run times", "",
        "| notebook | status | run time (s) |", "|---|---|---|",
        *[f"| `{r['name']}` | {r.get('status', '?')} | {_seconds(r.get('seconds'))} |"
          for r in rows],
        f"| sum over notebooks | | {_seconds(total)} |",
        f"| whole run, wall clock (start to last notebook) | | {_seconds(_wall(run, data))} |",
        "",
        "## Every verdict, by notebook", "",
    ]
    for r in rows:
        lines += [f"### `{r['name']}`", ""]
        verdicts = r.get("verdicts") or []
        lines += [f"- {v}" for v in verdicts] or ["No verdict cell."]
        lines.append("")
    return "\n".join(lines)


def write_findings(report_dir: Path, output: Path | None = None) -> Path:
    """Write ``FINDINGS.md`` (default: inside ``report_dir``) and return its path."""
    text = findings_markdown(report_dir)
    out = Path(output) if output is not None else Path(report_dir) / "FINDINGS.md"
    if out.is_dir():
        raise ValueError(f"The '--output' option must name a file. Got {str(out)!r}, a folder.")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(out)
    return out
