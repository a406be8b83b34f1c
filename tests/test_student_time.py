"""tools/student_time.py: what it counts in a notebook twin, and --write keeps the guide's table
between its markers."""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("student_time", ROOT / "tools" / "student_time.py")
st = importlib.util.module_from_spec(spec)
spec.loader.exec_module(st)

TWIN = '''# %% [markdown]
# # 09 · A lesson
# one two three four five six
# %% tags=["parameters"]
SEED = 0
# %%
x = 1

y = 2
# %% [markdown]
# **Exercises**
# 1. Do this.
# 2. Do that,
#    carefully.
# ## Where next
# seven eight
# %% [markdown] nbgrader={"grade": false, "grade_id": "ex09-1-task", "locked": true}
# **Exercise 09.1 (2 points).** Write f.
# %% nbgrader={"grade": false, "grade_id": "ex09-1-solution", "solution": true}
def f():
    return 1
# %% nbgrader={"grade": true, "grade_id": "ex09-1-check", "locked": true, "points": 2}
assert f() == 1
'''


def test_counts_prose_code_open_and_graded_exercises(tmp_path):
    path = tmp_path / "09_a_lesson.py"
    path.write_text(TWIN)
    c = st.count(path)
    # words: "09 · A lesson", "one ... six", "Where next", "seven eight" (headers' # not words;
    # the exercise items, parameters and nbgrader cells not prose)
    assert c == {"words": 4 + 6 + 2 + 2, "code_cells": 1, "code_lines": 2, "open_exercises": 2,
                 "graded_exercises": 1, "points": 2}


def test_write_replaces_only_the_table_between_the_markers(tmp_path):
    (tmp_path / "nb").mkdir()
    (tmp_path / "nb" / "09_a_lesson.py").write_text(TWIN)
    doc = tmp_path / "guide.md"
    doc.write_text(f"before\n{st.START}\nold table\n{st.END}\nafter\n")
    assert st.main(["--notebooks", str(tmp_path / "nb"), "--write", str(doc)]) == 0
    text = doc.read_text()
    assert text.startswith(f"before\n{st.START}\n| notebook |") and text.endswith(
        f"{st.END}\nafter\n")
    assert "old table" not in text and "`09_a_lesson`" in text
    assert "| 2 / 1 (2) |" in text and "| n/a |" in text  # no compute time for notebook 09
