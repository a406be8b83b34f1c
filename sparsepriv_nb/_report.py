"""The report a run leaves behind: offline HTML of each executed notebook and ``index.html``.

Conventions a notebook follows so that the index can show its findings without opening it:

* **Verdicts**: every printed line that starts with ``Verdict:`` (and every line printed by a
  cell tagged ``verdict``) is copied into the index, in order; a table such a cell prints
  (``print(df)``, ``df.to_string()``) is left out, with a note to see the notebook.
* **Headline finding**: the first verdict line printed by a cell tagged ``headline``, else the
  first line starting with ``Verdict:``, else the first verdict line; the index shows it full
  width above the notebook's other verdicts (folded in ``<details>``).
* **Headline figure**: the last image output of the cell tagged ``headline``, else the last
  image the notebook shows; the index shows it large enough to read, linking to the HTML.
* **Claims table**: a CSV named ``claims.csv`` in a notebook's working folder (notebook 07's
  table of the seed papers' claims) heads the index.
* **Data**: CSV files the notebook writes into its working directory (the run gives each
  notebook its own folder ``<report>/<notebook stem>/``) are linked from the index.

Reports work without a network: MathJax is copied beside the report from the
``jupyter-server-mathjax`` package and widgets are shown as the static view that
:mod:`sparsepriv_nb.widgets` puts beside each explorer (widget state is not embedded, so the
HTML needs no widget renderer from a CDN).

The index is rendered from the Jinja template ``templates/index.html.j2`` (package data), with
every value escaped. Beside it, ``report.json`` holds the same rows (status, run time, verdicts,
headline) and the run's provenance (profile, commit, machine, start time), which
``sparsepriv-nb findings`` turns into ``FINDINGS.md``.

Lesson: every notebook (the report of the main job; notebook 07's table heads it).
"""

from __future__ import annotations

import base64
import csv
import datetime as _dt
import json
import os
import platform
import re
import shutil
import subprocess
import sys
from pathlib import Path

__all__ = ["to_html", "stage_mathjax", "summarize", "write_index", "drop_tables",
           "VERDICT_PREFIX", "run_info", "read_report", "claims_rows", "REPORT_JSON",
           "CLAIMS_CSV"]
REPORT_JSON = "report.json"
CLAIMS_CSV = "claims.csv"

VERDICT_PREFIX = "Verdict:"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
MATHJAX_DIR = "_static/mathjax"
# Our own MathJax config file: the fonts jupyter-server-mathjax ships are STIX-Web only.
_MATHJAX_LOCAL = """MathJax.Hub.Config({
  "HTML-CSS": {availableFonts: [], preferredFont: null, webFont: "STIX-Web", imageFont: null,
               linebreaks: {automatic: true}}
});
MathJax.Ajax.loadComplete("[MathJax]/config/sparsepriv.js");
"""
_MATHJAX_SKIP = ("localization", "mathmaps", "SVG", "MathML", "mml3*", "*.md")


def stage_mathjax(out_dir: Path) -> str | None:
    """Copy MathJax beside the report once; return the URL (relative) the HTML loads it from.

    Returns ``None`` when the ``jupyter-server-mathjax`` package is missing (the HTML then
    falls back to nbconvert's CDN address and formulas need a network).
    """
    try:
        import jupyter_server_mathjax
    except ImportError:
        return None
    src = Path(jupyter_server_mathjax.__file__).parent / "static"
    dst = out_dir / MATHJAX_DIR
    if not (dst / "MathJax.js").exists():
        shutil.copytree(src, dst, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns(*_MATHJAX_SKIP))
        (dst / "config" / "sparsepriv.js").write_text(_MATHJAX_LOCAL)
    return f"{MATHJAX_DIR}/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full,Safe,sparsepriv"


def to_html(nb_path: Path, mathjax_url: str | None = None) -> Path:
    """Export an executed notebook to ``<same name>.html`` that needs no network.

    The widget state is left out of the HTML (it would need a widget renderer from a CDN): each
    explorer of :mod:`sparsepriv_nb.widgets` carries a static image of its default view, which
    the exporter then shows instead.
    """
    import nbformat
    from nbconvert import HTMLExporter

    nb = nbformat.read(nb_path, as_version=4)
    nb.metadata.pop("widgets", None)
    # require.js is only needed by widget renderers and JavaScript outputs, which the report
    # does not embed; an empty address loads nothing instead of waiting on a CDN.
    exporter = HTMLExporter(require_js_url="")
    if mathjax_url:
        exporter.mathjax_url = mathjax_url
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": nb_path.stem}})
    out = nb_path.with_suffix(".html")
    out.write_text(body, encoding="utf-8")
    return out


def _text_lines(output) -> list[str]:
    if output.get("output_type") == "stream":
        text = output.get("text", "")
    elif output.get("output_type") in ("execute_result", "display_data"):
        text = output.get("data", {}).get("text/plain", "")
    else:
        return []
    if isinstance(text, list):
        text = "".join(text)
    return text.splitlines()


def _failing_line(cell, error) -> str:
    """``"line 3: raise RuntimeError('boom')"``: the cell's line the traceback points at (its
    first frame is the cell), else the cell's first line."""
    lines = cell.source.splitlines()
    for frame in error.get("traceback", []):
        match = re.search(r"(?:Cell In\s*\[\d*\]|<ipython-input-[^>]*>), line (\d+)",
                          _ANSI.sub("", frame))
        if match and 0 < int(match.group(1)) <= len(lines):
            n = int(match.group(1))
            return f"line {n}: {lines[n - 1].strip()}"
    return f"line 1: {lines[0].strip()}" if lines else ""


def _with_bullets(first: str, lines: list[str]) -> str:
    r"""A headline line with the Markdown bullets printed right after it (blank lines between
    them allowed), one per line: notebook 07's answer is a sentence and one bullet per
    question. A line that is neither ends it.

    Example:
        >>> _with_bullets("Verdict: yes.", ["Verdict: yes.", "", "- a", "- b", "", "total"])
        'Verdict: yes.\n- a\n- b'
    """
    stripped = [line.strip() for line in lines]
    out = [first]
    for line in stripped[stripped.index(first) + 1:] if first in stripped else []:
        if line.startswith("- "):
            out.append(line)
        elif line:
            break
    return "\n".join(out)


_EMPH = re.compile(r"(?<![\w*])\*([^*\s][^*]*?)\*(?![\w*])")


def markdown_lines(text) -> str:
    r"""A headline as HTML: one line as it is (escaped); several lines as paragraphs, with the
    lines that start ``"- "`` as a bulleted list and ``*words*`` in italics.

    Example:
        >>> str(markdown_lines("Yes.\n- *Across densities*: a < b"))
        '<p>Yes.</p>\n<ul>\n<li><em>Across densities</em>: a &lt; b</li>\n</ul>'
    """
    from markupsafe import Markup, escape

    text = str(text)
    if "\n" not in text:
        return escape(text)
    html, items = [], []

    def flush():
        if items:
            html.append("<ul>\n" + "\n".join(f"<li>{i}</li>" for i in items) + "\n</ul>")
            items.clear()
    for line in text.splitlines():
        line = _EMPH.sub(r"<em>\1</em>", str(escape(line.strip())))
        if line.startswith("- "):
            items.append(line[2:])
        elif line:
            flush()
            html.append(f"<p>{line}</p>")
    flush()
    return Markup("\n".join(html))


def summarize(nb_path: Path, thumb_path: Path | None = None) -> dict:
    """Verdict lines, the headline image (written to ``thumb_path`` as PNG) of an executed
    notebook, and the failing cell's first line if one failed.

    Returns:
        ``{"verdicts": [str], "headline": str or None, "tables_left_out": int,
        "thumbnail": file name or None, "failed_cell": str or None}``.
    """
    import nbformat

    nb = nbformat.read(nb_path, as_version=4)
    verdicts, tables, last_png, headline_png, failed = [], 0, None, None, None
    headline = None
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        tags = cell.get("metadata", {}).get("tags", [])
        lines = [line for output in cell.get("outputs", [])
                 if output.get("output_type") == "stream" for line in _text_lines(output)]
        if "verdict" in tags:
            lines, n_tables = drop_tables(lines)
            tables += n_tables
        found = [line.strip() for line in lines if line.strip() and (
            "verdict" in tags or line.lstrip().startswith(VERDICT_PREFIX))]
        if found and "headline" in tags and headline is None:
            headline = _with_bullets(found[0], lines)
        verdicts += found
        for output in cell.get("outputs", []):
            png = output.get("data", {}).get("image/png") if "data" in output else None
            if png:
                last_png = png
                if "headline" in tags:
                    headline_png = png
            if output.get("output_type") == "error" and failed is None:
                failed = _failing_line(cell, output)
    png = headline_png or last_png
    thumb = None
    if png and thumb_path is not None:
        thumb_path.write_bytes(base64.b64decode(png if isinstance(png, str) else "".join(png)))
        thumb = thumb_path.name
    if headline is None and verdicts:
        headline = next((v for v in verdicts if v.startswith(VERDICT_PREFIX)), verdicts[0])
    return {"verdicts": verdicts, "headline": headline, "tables_left_out": tables,
            "thumbnail": thumb, "failed_cell": failed}


_GAP = re.compile(r"\S {2,}\S")
_DTYPE = re.compile(r"^(Name: .*, )?(Length: \d+, )?dtype: \w+$")


def drop_tables(lines: list[str]) -> tuple[list[str], int]:
    """``lines`` without the tables printed among them, and how many tables were dropped.

    A table (pandas' ``print(df)``, ``to_string``) is a run of at least two lines whose cells
    are separated by two or more spaces, either aligned (lines of one width) or with three
    cells or more; it takes along the single lines between its rows (an index name), a
    one-word line just above it (a Series' index name) and a ``dtype:`` line just below. A
    header line ending in ``:`` just above a dropped table goes with it (it announced the
    table), unless it is a verdict line (``Verdict: ...``).

    Example:
        >>> drop_tables(["Verdict: fine.", "Mean per beta:", "      mse   psnr", "beta",
        ...              "1.0  0.01  18.2", "2.0  0.02  17.9", "x: a is higher than b."])
        (['Verdict: fine.', 'x: a is higher than b.'], 1)
    """
    rows = [line.rstrip() for line in lines]
    gaps = [len(_GAP.findall(r.strip())) for r in rows]
    in_run = [g > 0 for g in gaps]
    for i in range(1, len(rows) - 1):  # a lone line between two table lines (index name)
        in_run[i] = in_run[i] or (gaps[i - 1] > 0 and gaps[i + 1] > 0)
    keep, dropped, i = [], 0, 0
    while i < len(rows):
        j = i
        while j < len(rows) and in_run[j]:
            j += 1
        if j > i and _is_table(rows[i:j], gaps[i:j]):
            dropped += 1
            start = i
            if keep and keep[-1] == start - 1 and len(rows[start - 1].split()) == 1:
                keep.pop()  # the index name above a Series
                start -= 1
            if keep and keep[-1] == start - 1 and rows[start - 1].endswith(":") and \
                    not rows[start - 1].lstrip().startswith(VERDICT_PREFIX):
                keep.pop()  # the header announcing the table
            i = j + (j < len(rows) and bool(_DTYPE.match(rows[j].strip())))
            continue
        keep.extend(range(i, max(j, i + 1)))
        i = max(j, i + 1)
    return [lines[k] for k in keep], dropped


def _is_table(rows: list[str], gaps: list[int]) -> bool:
    cells = [r for r, g in zip(rows, gaps) if g > 0]
    return len(cells) >= 2 and (max(gaps) >= 2 or len({len(r) for r in cells}) == 1)


_NO_VERDICTS = {
    "ok": "No verdict cell: this notebook prints no verdict line (open it for its results).",
    "failed": "No verdict cell ran: the notebook failed before printing one.",
}


def _view(row: dict) -> dict:
    """What the template shows of one row (missing fields filled in)."""
    defaults, overrides = row.get("defaults", {}), row.get("overrides", {})
    items = []
    for name, value in row.get("params", {}).items():
        source = ("override" if name in overrides else
                  "profile" if name in defaults and defaults[name] != value else "default")
        items.append({"text": f"{name}={value!r}", "source": source})
    verdicts = list(row.get("verdicts", []))
    headline = row.get("headline") or (verdicts[0] if verdicts else None)
    others = list(verdicts)
    first = headline.split("\n", 1)[0] if isinstance(headline, str) else headline
    if first in others:  # a headline with bullets: its first line is the verdict line
        others.remove(first)
    return {"name": row["name"], "status": row["status"], "html": row.get("html"),
            "seconds": row.get("seconds"), "error": row.get("error"),
            "failed_cell": row.get("failed_cell"), "thumbnail": row.get("thumbnail"),
            "csv": list(row.get("csv", [])), "verdicts": verdicts, "headline": headline,
            "other_verdicts": others,
            "tables_left_out": row.get("tables_left_out", 0), "param_items": items,
            "no_verdicts": _NO_VERDICTS.get(row["status"], "Not run yet.")}


def _template():
    import jinja2

    env = jinja2.Environment(loader=jinja2.PackageLoader("sparsepriv_nb", "templates"),
                             autoescape=True, undefined=jinja2.StrictUndefined)
    env.filters["md"] = markdown_lines
    return env.get_template("index.html.j2")


def _git(*args: str) -> str | None:
    from ._lessons import checkout_root

    root = checkout_root()
    if root is None or not (root / ".git").exists():
        return None
    try:
        out = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True,
                             timeout=20)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def run_info() -> dict:
    """Where and from what a report comes: commit (``git rev-parse HEAD`` of the checkout, else
    ``"unknown"``) and whether files differed from it, machine, Python, start time (UTC), and
    the command line."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cores = os.cpu_count() or 1
    status = _git("status", "--porcelain", "--untracked-files=no")
    return {"commit": _git("rev-parse", "HEAD") or "unknown",
            "uncommitted_changes": None if status is None else bool(status),
            "machine": f"{platform.platform()}, {platform.machine()}, {cores} usable CPU(s)",
            "python": platform.python_version(),
            "started": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "command": " ".join(["sparsepriv-nb", *sys.argv[1:]])
            if Path(sys.argv[0]).name in ("sparsepriv-nb", "__main__.py") else None}


def read_report(out_dir: Path) -> dict:
    """``report.json`` of a report folder.

    Raises:
        FileNotFoundError: no such folder, or no ``report.json`` in it.
        ValueError: the file is not a report summary (not JSON, or without rows).
    """
    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        raise FileNotFoundError(f"The report folder {str(out_dir)!r} does not exist (give the "
                                "folder `sparsepriv-nb run` wrote, e.g. reports/<time>).")
    path = out_dir / REPORT_JSON
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(f"{str(out_dir)!r} has no {REPORT_JSON}: it is not a report "
                                "written by `sparsepriv-nb run` (or an older one; run it "
                                "again).") from None
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path} is not a readable report summary: {exc}.") from None
    if not isinstance(data, dict) or not isinstance(data.get("rows"), list) or \
            not isinstance(data.get("run"), dict):
        raise ValueError(f"{path} is not a report summary (it needs 'run' and 'rows').")
    return data


def _num(text) -> float:
    try:
        return float(text)
    except (TypeError, ValueError):
        return float("nan")


def claims_rows(out_dir: Path, rows: list[dict]) -> tuple[list[dict], str | None]:
    """The rows of the claims table (``claims.csv`` among a notebook's data, notebook 07) and
    the name of the notebook that wrote it; ``([], None)`` when no notebook did."""
    from .findings_summary import format_interval, note

    found = next(((row["name"], Path(out_dir) / rel) for row in rows for rel in row.get("csv", [])
                  if Path(rel).name == CLAIMS_CSV and (Path(out_dir) / rel).is_file()), None)
    if found is None:
        return [], None
    with open(found[1], newline="", encoding="utf-8") as f:
        table = list(csv.DictReader(f))
    out = []
    for r in table:
        mde = _num(r.get("mde"))
        out.append({"paper": r.get("paper", ""), "claim": r.get("quote") or r.get("claim_text", ""),
                    "statistic": r.get("statistic", ""), "verdict": r.get("verdict", ""),
                    "notebook": r.get("notebook", ""), "mde": f"{mde:.3g}" if mde == mde else "–",
                    "note": note(r) or "–",
                    "estimate": format_interval(_num(r.get("estimate")), _num(r.get("lo")),
                                                _num(r.get("hi")))})
    return out, found[0]


def _atomic_text(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def write_index(out_dir: Path, rows: list[dict], profile: str, *, fresh: bool = False) -> Path:
    """Write ``index.html`` and ``report.json``: the claims table (if a notebook wrote one),
    a summary table, then per notebook its headline finding (full width), its headline figure,
    the other verdicts folded (or a note that there is no verdict cell), parameters and data,
    and for a failure the cell and the error.

    The run's provenance (:func:`run_info`) is taken when ``fresh`` (the run's start) or when
    the folder has none yet, and kept by later calls of the same run.
    """
    out_dir = Path(out_dir)
    run = None
    if not fresh:
        try:
            run = read_report(out_dir)["run"]
        except (OSError, ValueError):
            run = None
    run = run or run_info()
    views = [_view(r) for r in rows]
    claims, claims_from = claims_rows(out_dir, rows)
    answer = next((v["headline"] for v in views if v["name"] == claims_from), None)
    if answer and answer.startswith(VERDICT_PREFIX):
        answer = answer[len(VERDICT_PREFIX):].strip()
    text = _template().render(profile=profile, rows=views, claims=claims,
                              claims_from=claims_from, answer=answer,
                              run={"commit": "unknown", "uncommitted_changes": None,
                                   "machine": "machine unknown", **run},
                              written=_dt.datetime.now().isoformat(timespec="seconds"))
    keep = ("name", "status", "seconds", "error", "failed_cell", "verdicts", "headline",
            "tables_left_out", "thumbnail", "html", "csv", "params")
    summary = {"profile": profile, "run": run,
               "written": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
               "rows": [{k: r.get(k) for k in keep} for r in rows]}
    _atomic_text(out_dir / REPORT_JSON, json.dumps(summary, indent=1, default=str))
    path = out_dir / "index.html"
    _atomic_text(path, text)
    return path
