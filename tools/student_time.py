"""Estimate a student's time per notebook from the notebooks themselves (an ESTIMATE: nobody
was timed).

Per notebook (its jupytext twin ``notebooks/NN_*.py``):

* reading: words of markdown (LaTeX counts as words; the header and the Exercises section
  excluded) at ``--wpm`` words per minute (default 120: about half the ~240 wpm of adult
  silent reading of non-fiction (Brysbaert 2019), for technical text with formulas);
* code: ``--cell-min`` minutes per code cell (read it, run it, look at the output; default
  0.75) plus ``--line-s`` seconds per non-blank code line (default 3);
* exercises: ``--exercise-min`` minutes per open exercise (a numbered item of the Exercises
  section; default 10) and ``--graded-min`` per graded (nbgrader) exercise (default 15; the
  cells of graded exercises count here, not under reading or code);
* compute: the notebook's quick-profile run time, from ``--report DIR`` (an executed report:
  its "notebook time: N s" line) or else from the README's "quick time" column.

``python tools/student_time.py`` prints a markdown table; ``--write docs/instructors.md``
replaces the table between ``<!-- student-time:start -->`` and ``<!-- student-time:end -->``.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
START, END = "<!-- student-time:start -->", "<!-- student-time:end -->"


def cells(path: Path) -> list[tuple[str, str, list[str]]]:
    """``(kind, header line, body lines)`` of each ``# %%`` cell of a jupytext twin."""
    out, kind, head, body = [], None, "", []
    for line in path.read_text().splitlines():
        if line.startswith("# %%"):
            if kind:
                out.append((kind, head, body))
            kind = "markdown" if "[markdown]" in line else "code"
            head, body = line, []
        elif kind:
            body.append(line)
    if kind:
        out.append((kind, head, body))
    return out


def _exercise_lines(body: list[str]) -> tuple[list[str], list[str]]:
    """Split a markdown cell into (prose, exercises section)."""
    for i, line in enumerate(body):
        if re.match(r"#\s*(\*\*Exercises\*\*|##+ .*[Ee]xercises)", line):
            rest = body[i + 1:]
            end = next((j for j, ln in enumerate(rest) if re.match(r"# ##", ln)), len(rest))
            return body[:i] + rest[end:], rest[:end]
    return body, []


def count(path: Path) -> dict:
    """Words, code cells and lines, open and graded exercises of one notebook twin."""
    words = code_cells = code_lines = open_ex = graded = points = 0
    for kind, head, body in cells(path):
        meta = re.search(r"nbgrader=(\{.*\})", head)
        grade = json.loads(meta.group(1)) if meta else {}
        if grade.get("grade"):
            graded += 1
            points += grade.get("points", 0)
        if meta:
            continue  # a graded exercise's cells: counted in its exercise time
        if kind == "markdown":
            prose, ex = _exercise_lines(body)
            words += sum(len(ln.lstrip("# ").split()) for ln in prose)
            open_ex += sum(1 for ln in ex if re.match(r"#\s*\d+\.\s", ln))
        elif "tags=[\"parameters\"]" not in head:
            lines = [ln for ln in body if ln.strip()]
            code_cells += 1 if lines else 0
            code_lines += len(lines)
    return {"words": words, "code_cells": code_cells, "code_lines": code_lines,
            "open_exercises": open_ex, "graded_exercises": graded, "points": points}


def compute_seconds(report: Path | None) -> dict[str, float]:
    """Notebook number -> quick-profile run time in seconds."""
    out = {}
    if report is not None:
        for nb in sorted(Path(report).glob("[0-9][0-9]_*.ipynb")):
            found = re.findall(r"notebook time: (\d+) s", nb.read_text())
            if found:
                out[nb.name[:2]] = float(found[-1])
        return out
    for line in (ROOT / "README.md").read_text().splitlines():
        m = re.match(r"\| `(\d\d)_\w+` \|.*\| (\d+) s \|\s*$", line)
        if m:
            out[m.group(1)] = float(m.group(2))
    return out


def estimate(args) -> list[dict]:
    secs = compute_seconds(args.report)
    rows = []
    for path in sorted(args.notebooks.glob("[0-9][0-9]_*.py")):
        c = count(path)
        key = path.name[:2]
        read = c["words"] / args.wpm
        code = c["code_cells"] * args.cell_min + c["code_lines"] * args.line_s / 60
        ex = c["open_exercises"] * args.exercise_min + c["graded_exercises"] * args.graded_min
        comp = secs.get(key, float("nan")) / 60
        rows.append({"notebook": path.stem, **c, "read_min": read, "code_min": code,
                     "exercise_min": ex, "compute_min": comp,
                     "total_min": read + code + ex + (0 if comp != comp else comp)})
    return rows


def _minutes(value: float) -> str:
    return "n/a" if value != value else f"{value:.1f} min"


def table(rows: list[dict], args) -> str:
    head = ("| notebook | words | code cells (lines) | exercises open / graded (points) | "
            "reading | code | exercises | compute (quick) | **total** |\n"
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
    body = "".join(
        f"| `{r['notebook']}` | {r['words']} | {r['code_cells']} ({r['code_lines']}) | "
        f"{r['open_exercises']} / {r['graded_exercises']} ({r['points']}) | "
        f"{r['read_min']:.0f} min | {r['code_min']:.0f} min | {r['exercise_min']:.0f} min | "
        f"{_minutes(r['compute_min'])} | **{r['total_min'] / 60:.1f} h** |\n" for r in rows)
    total = sum(r["total_min"] for r in rows) / 60
    return (head + body + f"\nTotal: **{total:.1f} h**. Rates: {args.wpm:g} words/min, "
            f"{args.cell_min:g} min per code cell + {args.line_s:g} s per code line, "
            f"{args.exercise_min:g} min per open and {args.graded_min:g} min per graded "
            "exercise; compute from "
            + ("the report's notebook times" if args.report else "the README's quick times")
            + " (`python tools/student_time.py`).\n")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--wpm", type=float, default=120)
    p.add_argument("--cell-min", type=float, default=0.75)
    p.add_argument("--line-s", type=float, default=3)
    p.add_argument("--exercise-min", type=float, default=10)
    p.add_argument("--graded-min", type=float, default=15)
    p.add_argument("--report", type=Path, help="an executed report folder (compute times)")
    p.add_argument("--notebooks", type=Path, default=ROOT / "notebooks",
                   help="folder of the jupytext twins (default: the checkout's)")
    p.add_argument("--write", type=Path, help="update the table in this markdown file")
    args = p.parse_args(argv)
    text = table(estimate(args), args)
    if args.write:
        doc = args.write.read_text()
        if START not in doc or END not in doc:
            print(f"error: {args.write} has no {START} ... {END} markers", file=sys.stderr)
            return 2
        pre, rest = doc.split(START, 1)
        args.write.write_text(pre + START + "\n" + text + END + rest.split(END, 1)[1])
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
