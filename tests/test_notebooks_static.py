"""Static checks of the notebooks' jupytext twins (nothing is executed): prose belongs in
Markdown cells, so a missing ``# %% [markdown]`` marker, which turns a heading or an
exercise into comments at the end of a code cell, is caught here.

Lesson: every notebook (``notebooks/NN_*.py``).
"""

import re
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("[0-9][0-9]_*.py"))
# a Markdown heading or a graded/open exercise written as a comment: "# ## 6. ...", "# **Exercise"
_PROSE = re.compile(r"^# (#{1,6} |\*\*Exercise)")


def code_cells(text: str):
    """``(first line number, lines)`` of each code cell of a percent-format twin."""
    cells, current, start, kind = [], [], 1, "code"
    for number, line in enumerate(text.splitlines(), 1):
        if line.startswith("# %%"):
            if kind == "code":
                cells.append((start, current))
            current, start = [], number
            kind = "markdown" if "[markdown]" in line or "[md]" in line else "code"
        else:
            current.append(line)
    if kind == "code":
        cells.append((start, current))
    return cells


def prose_in_code(text: str) -> list[str]:
    """``"line N: ..."`` for each Markdown-looking comment line inside a code cell."""
    return [f"line {start + i + 1}: {line}" for start, lines in code_cells(text)
            for i, line in enumerate(lines) if _PROSE.match(line)]


def test_the_checker_finds_a_heading_swallowed_by_a_code_cell():
    broken = "# %%\nx = 1\n#\n# ## 6. **Exercises**\n# **Exercise 1.** ...\n"
    assert [h.split(":")[0] for h in prose_in_code(broken)] == ["line 4", "line 5"]
    fixed = "# %%\nx = 1\n\n# %% [markdown]\n# ## 6. **Exercises**\n# **Exercise 1.** ...\n"
    assert prose_in_code(fixed) == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_code_cell_holds_a_markdown_heading_or_exercise(path):
    found = prose_in_code(path.read_text(encoding="utf-8"))
    assert not found, (f"{path.name}: Markdown prose inside a code cell (a '# %% [markdown]' "
                       "marker is missing before it): " + "; ".join(found))
