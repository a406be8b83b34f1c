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

__all__ = ["findings_markdown", "independent_markdown", "read_independent", "write_findings"]


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


def read_independent(path: Path) -> dict:
    """The JSON ``benchmarks/gonon_independent.py`` wrote, checked for what the table needs.

    Raises:
        FileNotFoundError: no such file.
        ValueError: not JSON, or without ``runs`` (each with ``label``, ``seeds`` and
            ``claims``, each claim with ``estimate``, ``lo``, ``hi``, ``mde``, ``verdict``).
    """
    import json

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"The '--independent' file {str(path)!r} does not exist.")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"The '--independent' file {str(path)!r} is not readable JSON: "
                         f"{exc}.") from None
    need = {"estimate", "lo", "hi", "mde", "verdict"}
    runs = data.get("runs") if isinstance(data, dict) else None
    ok = isinstance(runs, list) and runs and all(
        isinstance(r, dict) and {"label", "seeds", "claims"} <= set(r)
        and isinstance(r["claims"], dict)
        and all(isinstance(c, dict) and need <= set(c) for c in r["claims"].values())
        for r in runs)
    if not ok:
        raise ValueError(f"The '--independent' file {str(path)!r} is not the output of "
                         "benchmarks/gonon_independent.py (it needs 'runs', each with "
                         "'label', 'seeds' and 'claims' holding estimate, lo, hi, mde and "
                         "verdict).")
    return data


def _num(value, fmt: str = "+.4f") -> str:
    ok = isinstance(value, (int, float)) and math.isfinite(value)
    return format(value, fmt) if ok else "–"


def independent_markdown(data: dict, *, heading: bool = True) -> str:
    """The section "Held against an independent run": one row per (claim, run), then whether
    the verdicts of every run agree, per claim (all numbers from ``data``)."""
    runs = data["runs"]
    claims = list(dict.fromkeys(c for r in runs for c in r["claims"]))
    lines = (["## Held against an independent run", ""] if heading else []) + [
        str(data.get("description", "")), "",
        "| claim | run | seeds | estimate [95 % interval] | MDE | verdict |",
        "|---|---|---|---|---|---|"]
    agree = []
    for claim in claims:
        verdicts = set()
        for r in runs:
            c = r["claims"].get(claim)
            if c is None:
                continue
            verdicts.add(c["verdict"])
            seeds = r["seeds"]
            span = f"{seeds[0]}-{seeds[-1]} ({len(seeds)})" if seeds else "?"
            lines.append(f"| `{claim}` | {r['label']} | {span} | {_num(c['estimate'])} "
                         f"[{_num(c['lo'])}, {_num(c['hi'])}] | {_num(c['mde'], '.4f')} | "
                         f"{c['verdict']} |")
        agree.append(f"- `{claim}`: " + (f"every run says **{verdicts.pop()}**"
                                         if len(verdicts) == 1 else
                                         f"the runs disagree ({', '.join(sorted(verdicts))})"))
    lines += ["", *agree]
    prov = [f"{k} {data[k]}" for k in ("generated", "commit", "machine") if data.get(k)]
    if data.get("command"):
        prov.append(f"command `{data['command']}`")
    if prov:
        lines += ["", "Written by `benchmarks/gonon_independent.py`: " + "; ".join(prov) + "."]
    return "\n".join(lines)


def findings_markdown(report_dir: Path, independent: Path | None = None) -> str:
    """The text of ``FINDINGS.md`` for one report folder.

    ``independent``: a JSON from ``benchmarks/gonon_independent.py``; its table becomes the
    section "Held against an independent run" (after 07's claims table).

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
        *([independent_markdown(read_independent(independent)), ""] if independent else []),
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


def write_findings(report_dir: Path, output: Path | None = None,
                   independent: Path | None = None) -> Path:
    """Write ``FINDINGS.md`` (default: inside ``report_dir``) and return its path."""
    text = findings_markdown(report_dir, independent)
    out = Path(output) if output is not None else Path(report_dir) / "FINDINGS.md"
    if out.is_dir():
        raise ValueError(f"The '--output' option must name a file. Got {str(out)!r}, a folder.")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(out)
    return out
