"""Print the longest code cells of each notebook's jupytext twin (``notebooks/NN_*.py``).

Usage: ``python tools/cell_lengths.py [--over N] [--ref REV]``. For every notebook it prints the
longest code cell (lines, first line) and the cells longer than ``N`` lines (default 25); the
cell tagged ``parameters`` is left out (papermill's literals, kept as they are). With
``--ref REV`` it reads the twins as they are in git revision ``REV`` (e.g. ``main``), so a
refactoring can be compared before and after.
"""

import argparse
import subprocess
from pathlib import Path

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def code_cells(text: str) -> list[list[str]]:
    """The code cells of a percent-format twin, each a list of lines (trailing blanks dropped),
    without the cell tagged ``parameters``."""
    cells, current, kind = [], None, None
    for line in text.splitlines():
        if line.startswith("# %%"):
            if current is not None and kind == "code":
                cells.append(current)
            kind = ("markdown" if "[markdown]" in line else
                    "parameters" if '"parameters"' in line else "code")
            current = []
            continue
        if current is not None:
            current.append(line)
    if current is not None and kind == "code":
        cells.append(current)
    out = []
    for cell in cells:
        while cell and not cell[-1].strip():
            cell.pop()
        out.append(cell)
    return out


def twins(ref: str | None) -> dict[str, str]:
    if ref is None:
        return {p.name: p.read_text() for p in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.py"))}
    root = NOTEBOOKS.parent
    names = subprocess.run(["git", "ls-tree", "--name-only", ref, "notebooks/"], cwd=root,
                           check=True, capture_output=True, text=True).stdout.split()
    return {Path(n).name: subprocess.run(["git", "show", f"{ref}:{n}"], cwd=root, check=True,
                                         capture_output=True, text=True).stdout
            for n in sorted(names) if Path(n).name[:2].isdigit() and n.endswith(".py")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--over", type=int, default=25)
    parser.add_argument("--ref", default=None)
    args = parser.parse_args()
    total_over = 0
    for name, text in twins(args.ref).items():
        cells = code_cells(text)
        lengths = [len(c) for c in cells]
        longest = max(range(len(cells)), key=lengths.__getitem__)
        over = [n for n in lengths if n > args.over]
        total_over += len(over)
        head = next((ln for ln in cells[longest] if ln.strip()), "")[:60]
        print(f"{name}: {len(cells)} code cells, longest {lengths[longest]} lines "
              f"({head!r}); over {args.over}: {sorted(over, reverse=True)}")
    print(f"cells over {args.over} lines: {total_over}")


if __name__ == "__main__":
    main()
