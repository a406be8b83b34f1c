"""Graded exercises in nbgrader's format: the student version of a lesson, and offline checks.

The lessons carry their graded exercises in nbgrader's format (cell metadata ``nbgrader`` with
``grade_id``, ``points``, ``locked``, ``solution``; ``### BEGIN SOLUTION`` / ``### END
SOLUTION`` around each solution; hidden tests between ``### BEGIN HIDDEN TESTS`` / ``### END
HIDDEN TESTS``). From that one source:

* :func:`student_notebook` makes the student version, as nbgrader's ``generate_assignment``
  does: each solution region becomes ``# YOUR CODE HERE`` / ``raise NotImplementedError()``
  (indented like the marker), hidden tests are removed, every output is cleared.
  ``sparsepriv-nb lessons DEST --student`` writes it;
* :func:`check_notebook` executes a notebook (or only its exercise cells, which are
  self-contained) with nbclient and scores each graded cell: full points when it runs without
  an error, none otherwise. ``sparsepriv-nb check NOTEBOOK`` prints the scores.

Example:
    >>> src = "def f(x):\\n    ### BEGIN SOLUTION\\n    return -x\\n    ### END SOLUTION"
    >>> print(clear_solutions(src))
    def f(x):
        # YOUR CODE HERE
        raise NotImplementedError()

Lesson: the graded exercises at the end of notebooks 01-06 (docs/instructors.md).
"""

from __future__ import annotations

import copy
import os
import re
import shutil
import tempfile
from pathlib import Path

import nbformat

__all__ = ["BEGIN_SOLUTION", "END_SOLUTION", "BEGIN_HIDDEN", "END_HIDDEN", "STUB",
           "nbgrader_metadata", "clear_solutions", "remove_hidden_tests", "student_notebook",
           "student_version", "solution_lines", "exercise_notebook", "check_notebook",
           "format_scores"]

BEGIN_SOLUTION, END_SOLUTION = "### BEGIN SOLUTION", "### END SOLUTION"
BEGIN_HIDDEN, END_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
STUB = ("# YOUR CODE HERE", "raise NotImplementedError()")  # nbgrader's Python code stub


def nbgrader_metadata(cell) -> dict:
    """The cell's ``nbgrader`` metadata (empty for a cell nbgrader does not manage)."""
    return dict(cell.get("metadata", {}).get("nbgrader", {}))


def _replace_regions(source: str, begin: str, end: str, stub: tuple[str, ...]) -> str:
    """``source`` with every ``begin`` ... ``end`` region (marker lines included) replaced by
    ``stub``, indented like the ``begin`` line (nbgrader's ClearSolutions/ClearHiddenTests)."""
    out, inside = [], False
    for number, line in enumerate(source.splitlines(), 1):
        if begin in line:
            if inside:
                raise ValueError(f"line {number}: {begin!r} inside another region")
            inside = True
            indent = re.match(r"\s*", line).group(0)
            out.extend(indent + s for s in stub)
        elif end in line:
            if not inside:
                raise ValueError(f"line {number}: {end!r} without {begin!r}")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise ValueError(f"{begin!r} is never closed by {end!r}")
    return "\n".join(out)


def clear_solutions(source: str) -> str:
    """Replace each solution region by nbgrader's stub (see the module example)."""
    return _replace_regions(source, BEGIN_SOLUTION, END_SOLUTION, STUB)


def remove_hidden_tests(source: str) -> str:
    """Drop each hidden-test region, markers included.

    Example:
        >>> remove_hidden_tests("check(f)\\n### BEGIN HIDDEN TESTS\\nmore(f)\\n"
        ...                     "### END HIDDEN TESTS")
        'check(f)'
    """
    return _replace_regions(source, BEGIN_HIDDEN, END_HIDDEN, ()).rstrip("\n")


def student_notebook(nb):
    """The student version of a lesson (a new notebook; ``nb`` is not changed).

    Raises:
        ValueError: a solution region outside a solution cell, a hidden test outside a graded
            cell, or an unbalanced marker (the message names the cell's ``grade_id``).
    """
    nb = copy.deepcopy(nb)
    for index, cell in enumerate(nb.cells):
        meta = nbgrader_metadata(cell)
        where = f"cell {index} ({meta.get('grade_id', 'no grade_id')})"
        try:
            if BEGIN_SOLUTION in cell.source and not meta.get("solution"):
                raise ValueError(f"{BEGIN_SOLUTION!r} in a cell not marked solution")
            if BEGIN_HIDDEN in cell.source and not meta.get("grade"):
                raise ValueError(f"{BEGIN_HIDDEN!r} in a cell not marked grade")
            cell.source = remove_hidden_tests(clear_solutions(cell.source))
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from None
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        cell.metadata.pop("execution", None)
    nb.metadata.pop("widgets", None)
    return nb


def student_version(path: Path) -> bytes:
    """The student version of the notebook file ``path``, as the bytes to write."""
    nb = nbformat.read(str(path), as_version=4)
    return (nbformat.writes(student_notebook(nb)) + "\n").encode()


def solution_lines(nb) -> list[str]:
    """The stripped, non-blank lines inside the solution regions of ``nb``."""
    lines = []
    for cell in nb.cells:
        inside = False
        for line in cell.source.splitlines():
            if BEGIN_SOLUTION in line:
                inside = True
            elif END_SOLUTION in line:
                inside = False
            elif inside and line.strip():
                lines.append(line.strip())
    return lines


def exercise_notebook(nb):
    """A notebook of ``nb``'s nbgrader cells only (the exercises are self-contained)."""
    out = nbformat.v4.new_notebook(metadata=copy.deepcopy(nb.metadata))
    out.cells = [copy.deepcopy(c) for c in nb.cells if nbgrader_metadata(c)]
    return out


def _error_text(cell) -> str | None:
    """The last line of the cell's error output, or ``None`` when it ran cleanly."""
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            text = f"{out.get('ename', 'Error')}: {out.get('evalue', '')}"
            return " ".join(text.split())
    return None


def _execute(nb, cwd: Path, timeout: int) -> None:
    from jupyter_client import KernelManager
    from nbclient import NotebookClient

    # Unix sockets in a private folder, as `sparsepriv-nb run` does (no TCP port races).
    folder = tempfile.mkdtemp(prefix="spn-check-")
    km = (KernelManager(kernel_name="python3", transport="ipc", ip=os.path.join(folder, "k"))
          if os.name == "posix" else None)
    try:
        NotebookClient(nb, km=km, timeout=timeout, kernel_name="python3", allow_errors=True,
                       resources={"metadata": {"path": str(cwd)}}).execute(cleanup_kc=True)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def check_notebook(path: Path, *, exercises_only: bool = False, timeout: int = 1800) -> list:
    """Execute the notebook at ``path`` and score its graded cells.

    Args:
        path: a lesson notebook (student or instructor version); not modified.
        exercises_only: run only the nbgrader cells (seconds) instead of the whole lesson.
        timeout: seconds allowed per cell.

    Returns:
        One dict per graded cell, in order: ``grade_id``, ``points``, ``score``, ``passed``,
        ``message`` (the error's last line; the check's own lines when it passed).

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: the notebook has no graded cell.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"The 'NOTEBOOK' argument of check names {str(path)!r}, "
                                "which is not a file.")
    nb = nbformat.read(str(path), as_version=4)
    if exercises_only:
        nb = exercise_notebook(nb)
    if not any(nbgrader_metadata(c).get("grade") for c in nb.cells):
        raise ValueError(f"The 'NOTEBOOK' argument of check names {str(path)!r}, which has no "
                         "graded cell (nbgrader metadata with grade: true).")
    _execute(nb, path.parent, timeout)
    rows = []
    for cell in nb.cells:
        meta = nbgrader_metadata(cell)
        if not meta.get("grade") or cell.cell_type != "code":
            continue
        error = _error_text(cell)
        points = float(meta.get("points", 0))
        printed = "".join(o.get("text", "") for o in cell.outputs
                          if o.get("output_type") == "stream").strip()
        rows.append({"grade_id": meta.get("grade_id", "?"), "points": points,
                     "score": 0.0 if error else points, "passed": error is None,
                     "message": error or printed})
    return rows


def format_scores(rows: list[dict]) -> str:
    """One line per graded cell and a total, as ``sparsepriv-nb check`` prints them.

    Example:
        >>> print(format_scores([{"grade_id": "ex01-1-check", "points": 1.0, "score": 1.0,
        ...                       "passed": True, "message": "ok"}]))
        ex01-1-check   1/1  passed  ok
        total          1/1  (1 of 1 checks passed)
    """
    width = max(len(r["grade_id"]) for r in rows) + 2
    lines = []
    for r in rows:
        status = "passed" if r["passed"] else "FAILED"
        lines.append(f"{r['grade_id']:<{width}} {r['score']:g}/{r['points']:g}  {status}  "
                     f"{r['message'].splitlines()[-1] if r['message'] else ''}".rstrip())
    score, points = sum(r["score"] for r in rows), sum(r["points"] for r in rows)
    n_pass = sum(r["passed"] for r in rows)
    lines.append(f"{'total':<{width}} {score:g}/{points:g}  ({n_pass} of {len(rows)} checks "
                 "passed)")
    return "\n".join(lines)
