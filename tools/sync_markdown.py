"""Copy the markdown cells and tags of ``notebooks/NN_*.py`` into their ``.ipynb`` twins
without executing anything (code cells must be unchanged), so that prose fixes keep the
stored outputs that nbval checks. ``python tools/sync_markdown.py 02 05``.
"""

import sys
from pathlib import Path

import jupytext
import nbformat

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def sync_markdown(py: Path) -> Path:
    src = jupytext.read(py)
    out = py.with_suffix(".ipynb")
    nb = nbformat.read(out, as_version=4)
    if [c.cell_type for c in src.cells] != [c.cell_type for c in nb.cells]:
        raise SystemExit(f"{py.name}: cells added or removed; run tools/sync_notebooks.py")
    for a, b in zip(src.cells, nb.cells):
        if a.cell_type == "code" and a.source != b.source:
            raise SystemExit(f"{py.name}: a code cell changed; run tools/sync_notebooks.py:\n"
                             f"{a.source[:200]}")
        b.source = a.source
        if a.metadata.get("tags"):
            b.metadata["tags"] = a.metadata["tags"]
        else:
            b.metadata.pop("tags", None)
    nbformat.write(nb, out)
    return out


if __name__ == "__main__":
    for py in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.py")):
        if len(sys.argv) == 1 or py.name[:2] in sys.argv[1:]:
            print("synced markdown", sync_markdown(py))
