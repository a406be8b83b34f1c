"""Rebuild ``notebooks/NN_*.ipynb`` from their jupytext ``.py`` twins, execute them, and keep
only the outputs nbval checks (cells tagged ``nbval-check-output``).

Run after editing a ``.py`` twin: ``python tools/sync_notebooks.py [--no-execute] [01 02 ...]``
(``--no-execute`` converts only, dropping stored outputs). Needs the ``dev`` extra (jupytext).
"""

import os
import shutil
import sys
import tempfile
from pathlib import Path

import jupytext
import nbformat
from jupyter_client import KernelManager
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def sync(py: Path, execute: bool = True) -> Path:
    nb = jupytext.read(py)
    if execute:
        # Unix sockets in a private folder, as `sparsepriv-nb run` does: with TCP, kernels
        # started at once on one machine can pick the same port and lose their messages.
        folder = tempfile.mkdtemp(prefix="spn-sync-")
        km = (KernelManager(kernel_name="python3", transport="ipc",
                            ip=os.path.join(folder, "k"))
              if os.name == "posix" else None)
        try:
            NotebookClient(nb, km=km, timeout=1200, kernel_name="python3",
                           resources={"metadata": {"path": str(NOTEBOOKS)}}).execute(
                               cleanup_kc=True)  # shut the kernel down (we made its manager)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        if "nbval-check-output" not in cell.metadata.get("tags", []):
            cell.outputs = []
            cell.execution_count = None
        cell.metadata.pop("execution", None)
    nb.metadata.pop("widgets", None)
    out = py.with_suffix(".ipynb")
    nbformat.write(nb, out)
    return out


if __name__ == "__main__":
    execute = "--no-execute" not in sys.argv
    keys = [a for a in sys.argv[1:] if not a.startswith("--")]
    for py in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.py")):
        if not keys or py.name[:2] in keys:
            print("synced", sync(py, execute))
