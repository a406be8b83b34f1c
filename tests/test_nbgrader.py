"""A real nbgrader round trip on the lessons' graded exercises (issue 20).

In a temporary course folder: ``nbgrader generate_assignment`` makes the release from the
instructor version, and it equals ``sparsepriv-nb lessons --student``'s student version cell
by cell; ``nbgrader autograde`` then gives the instructor solutions full points and the
unchanged release (the stubs) zero. The assignment is the exercise cells of one lesson
(:func:`grading.exercise_notebook`; they are self-contained), so autograde runs seconds, not a
whole lesson. Skipped where nbgrader is not installed (``pip install nbgrader``, the
``course`` extra); it runs offline.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from sparsepriv_nb import _lessons, grading

pytest.importorskip("nbgrader", reason="nbgrader is not installed (pip install nbgrader)")

LESSON = sorted(_lessons.lessons_dir().glob("02_*.ipynb"))[0]


@pytest.fixture(autouse=True)
def _venv_scripts_on_path(monkeypatch):
    """nbgrader runs the ``alembic`` script by name (its gradebook's schema check), so the
    environment's scripts folder must be on PATH even when the tests run as
    ``.venv/bin/python -m pytest`` from an unactivated virtual environment."""
    scripts = str(Path(sys.executable).parent)
    monkeypatch.setenv("PATH", os.pathsep.join([scripts, os.environ.get("PATH", "")]))


def _nbgrader(course: Path, *args: str) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(Path(grading.__file__).resolve().parent.parent),
         os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
    done = subprocess.run([sys.executable, "-m", "nbgrader", *args, "--force"], cwd=course,
                          env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]


def test_generate_assignment_and_autograde(tmp_path):
    from nbgrader.api import Gradebook

    course = tmp_path / "course"
    (course / "source" / "ps1").mkdir(parents=True)
    (course / "nbgrader_config.py").write_text(
        "c = get_config()\nc.CourseDirectory.course_id = 'sparsepriv'\n"
        f"c.CourseDirectory.root = {str(course)!r}\n")
    name = "exercises.ipynb"
    source = grading.exercise_notebook(nbformat.read(str(LESSON), as_version=4))
    nbformat.write(source, str(course / "source" / "ps1" / name))

    _nbgrader(course, "generate_assignment", "ps1")
    release = nbformat.read(str(course / "release" / "ps1" / name), as_version=4)
    ours = grading.student_notebook(source)
    assert [c.source for c in release.cells] == [c.source for c in ours.cells]

    for student, notebook in (("stubs", release), ("solutions", source)):
        (course / "submitted" / student / "ps1").mkdir(parents=True)
        nbformat.write(notebook, str(course / "submitted" / student / "ps1" / name))
    _nbgrader(course, "autograde", "ps1")

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        stubs = gb.find_submission("ps1", "stubs")
        solutions = gb.find_submission("ps1", "solutions")
        n_graded = sum(bool(grading.nbgrader_metadata(c).get("grade")) for c in source.cells)
        assert len(solutions.notebooks[0].grades) == n_graded >= 3
        assert solutions.max_score == sum(grading.nbgrader_metadata(c).get("points", 0)
                                          for c in source.cells) > 0
        assert solutions.score == solutions.max_score
        assert stubs.score == 0
