"""The report a run leaves behind: offline HTML of each executed notebook and ``index.html``.

Conventions a notebook follows so that the index can show its findings without opening it:

* **Verdicts**: every printed line that starts with ``Verdict:`` (and every line printed by a
  cell tagged ``verdict``) is copied into the index, in order.
* **Headline figure**: the last image output of the cell tagged ``headline``, else the last
  image the notebook shows; the index shows it as a thumbnail linking to the notebook's HTML.
* **Data**: CSV files the notebook writes into its working directory (the run gives each
  notebook its own folder ``<report>/<notebook stem>/``) are linked from the index.

Reports work without a network: MathJax is copied beside the report from the
``jupyter-server-mathjax`` package and widgets are shown as the static view that
:mod:`sparsepriv_nb.widgets` puts beside each explorer (widget state is not embedded, so the
HTML needs no widget renderer from a CDN).
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import re
import shutil
from pathlib import Path

__all__ = ["to_html", "stage_mathjax", "summarize", "write_index", "VERDICT_PREFIX"]

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


def summarize(nb_path: Path, thumb_path: Path | None = None) -> dict:
    """Verdict lines, the headline image (written to ``thumb_path`` as PNG) of an executed
    notebook, and the failing cell's first line if one failed.

    Returns:
        ``{"verdicts": [str], "thumbnail": file name or None, "failed_cell": str or None}``.
    """
    import nbformat

    nb = nbformat.read(nb_path, as_version=4)
    verdicts, last_png, headline_png, failed = [], None, None, None
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        tags = cell.get("metadata", {}).get("tags", [])
        for output in cell.get("outputs", []):
            for line in _text_lines(output) if output.get("output_type") == "stream" else []:
                if "verdict" in tags or line.lstrip().startswith(VERDICT_PREFIX):
                    if line.strip():
                        verdicts.append(line.strip())
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
    return {"verdicts": verdicts, "thumbnail": thumb, "failed_cell": failed}


def _params_html(row: dict) -> str:
    defaults, overrides = row.get("defaults", {}), row.get("overrides", {})
    items = []
    for name, value in row["params"].items():
        text = f"{html.escape(name)}={html.escape(repr(value))}"
        if name in overrides:
            text = f"<b title='set with -p'>{text}</b>"
        elif name in defaults and defaults[name] != value:
            text = f"<i title='set by the profile'>{text}</i>"
        items.append(text)
    return "<code>" + ", ".join(items) + "</code>"


def write_index(out_dir: Path, rows: list[dict], profile: str) -> Path:
    """Write ``index.html``: one entry per notebook with status, time, effective parameters,
    verdicts, headline thumbnail, CSV links and, for a failure, the cell and the error."""
    e = html.escape
    lines = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<title>sparsepriv_nb report</title>",
        "<style>body{font-family:sans-serif;margin:2em;max-width:75em}"
        "td,th{padding:6px 12px;text-align:left;vertical-align:top;border-bottom:1px solid #ddd}"
        ".ok{color:green}.failed{color:#b00}.pending,.running{color:#888}"
        "img.thumb{max-width:260px;max-height:180px;border:1px solid #ccc}"
        "ul{margin:0;padding-left:1.2em}code{font-size:90%}</style></head><body>",
        f"<h1>sparsepriv_nb report</h1><p>profile: <b>{e(profile)}</b>, written "
        f"{_dt.datetime.now().isoformat(timespec='seconds')}. Parameters in <i>italics</i> "
        "come from the profile, in <b>bold</b> from <code>-p</code>, the rest are the "
        "notebook's defaults.</p>",
        "<table><tr><th>notebook</th><th>status</th><th>run time (s)</th><th>headline</th>"
        "<th>verdicts</th><th>parameters</th><th>data</th></tr>",
    ]
    for r in rows:
        href = r.get("html")
        name = e(r["name"])
        link = f"<a class='notebook' href='{e(href)}'>{name}</a>" if href else name
        thumb = ""
        if r.get("thumbnail"):
            img = f"<img class='thumb' src='{e(r['thumbnail'])}' alt='headline figure of {name}'>"
            thumb = f"<a href='{e(href)}'>{img}</a>" if href else img
        verdicts = "".join(f"<li>{e(v)}</li>" for v in r.get("verdicts", []))
        status = e(r["status"])
        if r.get("error"):
            cell = (f"<br>at <code>{e(r['failed_cell'])}</code>"
                    if r.get("failed_cell") else "")
            status += f"<div class='error'>{e(r['error'])}{cell}</div>"
        data = "".join(f"<li><a class='data' href='{e(c)}'>{e(Path(c).name)}</a></li>"
                       for c in r.get("csv", []))
        lines.append(
            f"<tr><td>{link}</td><td class='{e(r['status'])}'>{status}</td>"
            f"<td>{r.get('seconds', 0):.1f}</td><td>{thumb}</td>"
            f"<td>{'<ul>' + verdicts + '</ul>' if verdicts else ''}</td>"
            f"<td>{_params_html(r)}</td><td>{'<ul>' + data + '</ul>' if data else ''}</td></tr>")
    lines.append("</table></body></html>")
    path = out_dir / "index.html"
    tmp = path.with_name("index.html.tmp")
    tmp.write_text("\n".join(lines), encoding="utf-8")
    tmp.replace(path)
    return path
