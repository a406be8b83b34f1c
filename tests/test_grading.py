"""Graded exercises (issue 20): the format in the lessons, the student version, the checks.

The exercise cells are self-contained, so the checks run them in-process (``exec``), not the
whole lesson in a kernel: seconds instead of minutes. One test runs ``sparsepriv-nb check`` on a
small notebook in a real kernel; tests/test_nbgrader.py does nbgrader's own round trip.

Why no committed copy of the student notebooks: the student version is never stored; it is
built from the instructor notebooks each time (``sparsepriv-nb lessons DEST --student``, in CI
and on a student's machine alike), so it cannot drift from the source as long as the build is
a pure function of it. The tests below check exactly that: two builds are byte-identical, a
build equals :func:`grading.student_version` of the current source, and every solution region
of the source is a stub in it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch

from sparsepriv_nb import _lessons, cli, exercises, grading

NOTEBOOKS = sorted(_lessons.lessons_dir().glob("0[1-6]_*.ipynb"))
IDS = [p.name[:2] for p in NOTEBOOKS]


def _read(path: Path):
    return nbformat.read(str(path), as_version=4)


def _run_cells(nb) -> dict[str, BaseException | None]:
    """Execute ``nb``'s exercise cells in one namespace; the outcome of each graded cell."""
    namespace: dict = {"__name__": "__exercises__"}
    outcome = {}
    for cell in grading.exercise_notebook(nb).cells:
        if cell.cell_type != "code":
            continue
        meta = grading.nbgrader_metadata(cell)
        try:
            exec(compile(cell.source, meta["grade_id"], "exec"), namespace)
            error = None
        except Exception as exc:  # a failing check is data here
            error = exc
        if meta.get("grade"):
            outcome[meta["grade_id"]] = error
        elif error is not None:
            raise AssertionError(f"{meta['grade_id']} (not graded) failed: {error!r}")
    return outcome


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_each_lesson_has_three_graded_exercises_in_nbgrader_format(path):
    nb = _read(path)
    cells = [c for c in nb.cells if grading.nbgrader_metadata(c)]
    ids = [grading.nbgrader_metadata(c)["grade_id"] for c in cells]
    assert len(ids) == len(set(ids)), "grade_ids must be unique"
    graded = [c for c in cells if grading.nbgrader_metadata(c).get("grade")]
    solutions = [c for c in cells if grading.nbgrader_metadata(c).get("solution")]
    assert len(graded) >= 3 and len(solutions) >= 3
    for cell in cells:
        meta = grading.nbgrader_metadata(cell)
        assert meta["schema_version"] == 3 and "locked" in meta
        assert meta["locked"] is (not meta["solution"]), meta["grade_id"]
    for cell in graded:
        meta = grading.nbgrader_metadata(cell)
        assert meta["points"] > 0 and cell.cell_type == "code"
        assert grading.BEGIN_HIDDEN in cell.source and grading.END_HIDDEN in cell.source
    for cell in solutions:
        assert grading.BEGIN_SOLUTION in cell.source and grading.END_SOLUTION in cell.source
    # exercises only at the end: after the Exercises heading, nothing but exercises and prose
    first = nb.cells.index(cells[0])
    assert any("**Exercises**" in c.source for c in nb.cells[:first])
    assert all(c.cell_type == "markdown" or grading.nbgrader_metadata(c)
               or "notebook time" in c.source for c in nb.cells[first:])


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_student_version_has_stubs_no_solution_no_hidden_test_no_output(path):
    source = _read(path)
    student = nbformat.reads(grading.student_version(path).decode(), as_version=4)
    text = "\n".join(c.source for c in student.cells)
    outside = {line.strip() for c in source.cells
               for line in grading.clear_solutions(c.source).splitlines()}
    leaked = [line for line in grading.solution_lines(source)
              if line not in outside and line in {x.strip() for x in text.splitlines()}]
    assert not leaked, f"solution lines in the student version: {leaked}"
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "HIDDEN TESTS", "hidden=True"):
        assert marker not in text
    n_solutions = sum(bool(grading.nbgrader_metadata(c).get("solution")) for c in source.cells)
    code = "\n".join(c.source for c in student.cells if c.cell_type == "code")
    assert code.count("raise NotImplementedError()") == n_solutions
    assert all(c.outputs == [] and c.execution_count is None
               for c in student.cells if c.cell_type == "code")
    # everything but solutions and hidden tests is kept, metadata included
    assert [c.metadata for c in student.cells] == [c.metadata for c in source.cells]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_instructor_passes_every_check_and_each_stub_fails_readably(path, capsys):
    source = _read(path)
    assert all(err is None for err in _run_cells(source).values()), _run_cells(source)
    passed = capsys.readouterr().out
    assert passed.count("checks passed") >= 6  # visible and hidden checks of 3 exercises
    student = grading.student_notebook(source)
    for grade_id, error in _run_cells(student).items():
        assert isinstance(error, exercises.ExerciseFailure), (grade_id, error)
        key = grade_id[2:4] + "." + grade_id.split("-")[1]  # ex02-3-check -> 02.3
        assert str(error).startswith(f"Exercise {key}: `")
        assert "NotImplementedError" in str(error) and "YOUR CODE HERE" in str(error)


def _perturbed(value):
    """A wrong answer of the right type: the solution's output moved a little."""
    if isinstance(value, dict):
        return {k: 1 - v for k, v in value.items()}
    if isinstance(value, tuple):
        return tuple(v + 0.05 for v in value)
    return value + 0.05


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_a_wrong_answer_fails_saying_what_was_expected_and_what_it_got(path):
    nb = grading.exercise_notebook(_read(path))
    namespace: dict = {}
    for cell in nb.cells:
        meta = grading.nbgrader_metadata(cell)
        if cell.cell_type != "code" or meta.get("grade"):
            continue
        exec(cell.source, namespace)
        if not meta.get("solution"):
            continue
        name = re.search(r"^def (\w+)", cell.source, re.M).group(1)
        right = namespace[name]

        def wrong(*args, _right=right, **kwargs):
            return _perturbed(_right(*args, **kwargs))

        wrong.__name__ = name
        check = next(c for c in nb.cells if grading.nbgrader_metadata(c).get("grade")
                     and f"({name})" in c.source)
        visible = grading.remove_hidden_tests(check.source)
        with pytest.raises(exercises.ExerciseFailure) as info:
            exec(visible, {**namespace, name: wrong})
        message = str(info.value)
        assert re.match(r"Exercise \d\d\.\d, case 1 \(", message), message
        assert "expected" in message and ("yours" in message or "your function" in message)


def test_student_build_is_deterministic_and_equals_a_fresh_build(tmp_path):
    first = _lessons.copy_lessons(tmp_path / "a", student=True, log=lambda *a: None)
    _lessons.copy_lessons(tmp_path / "b", student=True, log=lambda *a: None)
    names = sorted(str(p.relative_to(tmp_path / "a")) for p in first)
    assert [n for n in names if n.endswith(".ipynb")] == [p.name for p in
                                                          sorted(_lessons.lessons_dir().glob(
                                                              "[0-9][0-9]_*.ipynb"))]
    for name in names:
        a, b = (tmp_path / "a" / name).read_bytes(), (tmp_path / "b" / name).read_bytes()
        assert a == b, name
        if name.endswith(".ipynb"):
            assert a == grading.student_version(_lessons.lessons_dir() / name)
    # a second build into the same folder finds nothing to change
    assert _lessons.copy_lessons(tmp_path / "a", student=True, log=lambda *a: None) == []


def test_lessons_cli_student_flag_and_instructor_default(tmp_path, capsys):
    assert cli.main(["lessons", str(tmp_path / "s"), "--student"]) == 0
    assert cli.main(["lessons", str(tmp_path / "i")]) == 0
    capsys.readouterr()
    name = NOTEBOOKS[0].name
    assert (tmp_path / "i" / name).read_bytes() == NOTEBOOKS[0].read_bytes()
    student = (tmp_path / "s" / name).read_text()
    assert "NotImplementedError" in student and "BEGIN SOLUTION" not in student


def test_clear_solutions_keeps_indentation_and_rejects_unbalanced_markers():
    src = "x = 1\nif x:\n    ### BEGIN SOLUTION\n    y = 2\n    ### END SOLUTION\nz = 3"
    assert grading.clear_solutions(src) == ("x = 1\nif x:\n    # YOUR CODE HERE\n"
                                            "    raise NotImplementedError()\nz = 3")
    with pytest.raises(ValueError, match="never closed"):
        grading.clear_solutions("### BEGIN SOLUTION\ny = 2")
    with pytest.raises(ValueError, match="without"):
        grading.remove_hidden_tests("### END HIDDEN TESTS")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "### BEGIN SOLUTION\nx\n### END SOLUTION")])
    with pytest.raises(ValueError, match="cell 0 .*not marked solution"):
        grading.student_notebook(nb)


def _graded(source: str, grade_id: str, points: int):
    return nbformat.v4.new_code_cell(source, metadata={"nbgrader": {
        "grade": True, "grade_id": grade_id, "locked": True, "points": points,
        "schema_version": 3, "solution": False, "task": False}})


def test_check_cli_scores_each_exercise_and_fails_with_status_1(tmp_path, capsys):
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("a lesson body cell, not graded"),
        _graded("print('fine')", "ex99-1-check", 1),
        _graded("raise AssertionError('Exercise 99.2: expected 3 values; yours has 2')",
                "ex99-2-check", 2)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    path = tmp_path / "99_toy.ipynb"
    nbformat.write(nb, str(path))
    assert cli.main(["check", str(path)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert re.match(r"ex99-1-check +1/1 +passed +fine", out[0])
    assert re.match(r"ex99-2-check +0/2 +FAILED +AssertionError: Exercise 99\.2: expected 3 "
                    r"values; yours has 2", out[1])
    assert re.match(r"total +1/3 +\(1 of 2 checks passed\)", out[2])
    assert json.loads(path.read_text()) == json.loads(nbformat.writes(nb))  # not modified


def test_check_cli_bad_input_is_one_line_and_status_2(tmp_path, capsys):
    assert cli.main(["check", str(tmp_path / "missing.ipynb")]) == 2
    assert "'NOTEBOOK' argument of check" in capsys.readouterr().err
    plain = tmp_path / "plain.ipynb"
    nbformat.write(nbformat.v4.new_notebook(), str(plain))
    assert cli.main(["check", str(plain)]) == 2
    assert "no graded cell" in capsys.readouterr().err


def test_checks_do_not_touch_global_random_state(capsys):
    def density(masks):
        return (sum(float(m.float().sum()) for m in masks.values())
                / sum(m.numel() for m in masks.values()))

    def noisy_mean(grads, c, sigma, generator, batch):
        clipped = grads * (c / (grads.norm(dim=1, keepdim=True) + 1e-6)).clamp(max=1.0)
        total = clipped.sum(0)
        if sigma * c > 0:
            total = total + torch.normal(0.0, sigma * c, size=total.shape, generator=generator)
        return total / batch

    torch.manual_seed(0)
    np.random.seed(0)
    before = torch.rand(1).item(), np.random.rand()
    torch.manual_seed(0)
    np.random.seed(0)
    exercises.check_density(density, hidden=True)
    exercises.check_noisy_mean(noisy_mean, hidden=True)
    assert (torch.rand(1).item(), np.random.rand()) == before
    out = capsys.readouterr().out
    assert out.count("checks passed") == 2
    # the hidden run says so, so the instructor version's two lines are not read as a mismatch
    assert out.count("(with hidden tests): all ") == 2


def test_a_failing_check_never_prints_the_expected_value():
    from sparsepriv_nb.metrics import psnr

    rng = np.random.default_rng(7)  # the check's own first case, rebuilt here
    img = rng.uniform(size=(28, 28))
    expected = psnr(img + rng.normal(0, 0.1, img.shape), img)
    with pytest.raises(exercises.ExerciseFailure) as info:
        exercises.check_psnr(lambda a, b, r=1.0: 0.0)
    message = str(info.value)
    assert "0" in message and "dB" in message
    for digits in (1, 2, 3, 4):
        assert f"{expected:.{digits}f}" not in message, message
