"""The method specifications that docstrings and notebooks cite live in the repository
(``docs/methods.md``), and every section a citation names exists there."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
METHODS = ROOT / "docs" / "methods.md"

# "docs/methods.md#anchor", "docs/methods.md section 2", "docs/methods.md sections 5 and 6",
# "docs/methods.md 5-6", 'docs/methods.md, "Unknowns"', or the bare file name
CITATION = re.compile(
    r"docs/methods\.md`?"
    r"(?:#(?P<anchor>[\w-]+)"
    r"|,? (?:sections? )?(?P<numbers>\d+(?:\s*(?:-|–|and|,)\s*\d+)*)\b"
    r"|,? \"(?P<name>[^\"]+)\")?")


def _sources():
    files = sorted((ROOT / "sparsepriv_nb").rglob("*.py"))
    files += sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.py"))
    files += sorted((ROOT / "tests").glob("*.py"))
    return [f for f in files if f.name != "test_docs.py"]


def _headings(text):
    return [line.lstrip("#").strip() for line in text.splitlines() if line.startswith("#")]


def _slug(heading):
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")


def _section_numbers(headings):
    return {m.group(1) for h in headings if (m := re.match(r"(\d+)\.", h))}


def citations(text):
    """Every (anchor, numbers, name) a text cites in docs/methods.md."""
    out = []
    for m in CITATION.finditer(text):
        numbers = []
        if m["numbers"]:
            parts = re.split(r"\s*(?:,|and)\s*", m["numbers"])
            for part in parts:
                ends = [int(n) for n in re.split(r"\s*[-–]\s*", part)]
                numbers += [str(n) for n in range(ends[0], ends[-1] + 1)]
        out.append((m["anchor"], numbers, m["name"]))
    return out


def test_methods_spec_is_in_the_repository():
    text = METHODS.read_text(encoding="utf-8")
    assert text.startswith("# Method specifications")
    assert {"1", "2", "5", "6"} <= _section_numbers(_headings(text))


def test_citation_parser_reads_every_form():
    text = ('docs/methods.md#2-membership-inference; docs/methods.md section 1; '
            'docs/methods.md 5-6; `docs/methods.md` sections 5 and 6; '
            'docs/methods.md, "Unknowns"')
    assert citations(text) == [("2-membership-inference", [], None), (None, ["1"], None),
                               (None, ["5", "6"], None), (None, ["5", "6"], None),
                               (None, [], "Unknowns")]


@pytest.mark.parametrize("path", _sources(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_cited_section_exists(path):
    headings = _headings(METHODS.read_text(encoding="utf-8"))
    numbers, slugs = _section_numbers(headings), {_slug(h) for h in headings}
    text = path.read_text(encoding="utf-8")
    assert "METHODS.md" not in text, f"{path.name} cites METHODS.md, not in the repository"
    for anchor, nums, name in citations(text):
        if anchor:
            assert anchor in slugs, f"{path.name}: no heading with anchor #{anchor}"
        for n in nums:
            assert n in numbers, f"{path.name}: docs/methods.md has no section {n}"
        if name:
            assert any(name in h for h in headings), f"{path.name}: no section {name!r}"


def test_the_package_cites_the_spec():
    cited = [p.name for p in (ROOT / "sparsepriv_nb").rglob("*.py")
             if "docs/methods.md" in p.read_text(encoding="utf-8")]
    assert len(cited) >= 3, cited  # metrics, signals, data, defenses, analysis, ...


_LESSON = re.compile(r"notebooks? 0\d|^Lesson: (every|none yet)", re.M)


@pytest.mark.parametrize("path", sorted(p for p in (ROOT / "sparsepriv_nb").rglob("*.py")
                                        if not p.name.startswith("_")),
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_every_public_module_names_the_lesson_that_teaches_it(path):
    """As d2l's helpers point back to their section: a reader of a module can find the lesson
    where its idea is taught (or is told that none uses it yet)."""
    import ast

    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    assert _LESSON.search(doc), f"{path.relative_to(ROOT)}: its docstring names no lesson"
