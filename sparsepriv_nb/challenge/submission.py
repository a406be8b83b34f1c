"""Reading a challenge submission: one clear error per problem, naming the line or column.

A submission is a CSV with a header ``id,score`` or ``target,id,score`` (any order) and one
row per candidate id of every target; ``score`` is a finite number, higher = member.

Lesson: notebook 02 (``02_membership_inference``): a score per sample is what every attack
there returns.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np

__all__ = ["SubmissionError", "read_submission", "read_solutions"]

REQUIRED = ("id", "score")
OPTIONAL = ("target",)


class SubmissionError(ValueError):
    """A malformed submission or challenge folder (the CLI prints it and exits with status 2)."""


def read_solutions(path) -> dict[str, dict[int, int]]:
    """``solutions/membership.csv`` -> ``{target: {id: member}}`` in file order."""
    path = Path(path)
    if not path.is_file():
        raise SubmissionError(f"No solutions file at {path}: scoring needs the instructor's "
                              "challenge folder (the one 'challenge make' wrote).")
    out: dict[str, dict[int, int]] = {}
    with path.open(newline="") as fh:
        for row in csv.DictReader(fh):
            out.setdefault(row["target"], {})[int(row["id"])] = int(row["member"])
    return out


def _header(reader, name: str) -> list[str]:
    header = next(reader, None)
    while header is not None and not any(c.strip() for c in header):
        header = next(reader, None)  # blank lines before the header
    if header is None:
        raise SubmissionError(f"{name} is empty: expected a header line 'id,score' (or "
                              "'target,id,score') and one row per candidate.")
    cols = [c.strip().lower() for c in header]
    for c in cols:
        if c not in REQUIRED + OPTIONAL:
            raise SubmissionError(f"{name}: unexpected column {c!r} in the header {header!r}; "
                                  "the columns are id, score and optionally target.")
    for c in REQUIRED:
        if c not in cols:
            raise SubmissionError(f"{name}: the header {header!r} has no {c!r} column; the "
                                  "columns are id, score and optionally target.")
    if len(set(cols)) != len(cols):
        raise SubmissionError(f"{name}: the header {header!r} repeats a column.")
    return cols


def _parse_row(fields, cols, line: int, name: str) -> tuple[int, float, str | None]:
    if len(fields) != len(cols):
        raise SubmissionError(f"{name}, line {line}: {len(fields)} fields {fields!r}; the header "
                              f"has {len(cols)} ({','.join(cols)}).")
    row = dict(zip(cols, (f.strip() for f in fields)))
    try:
        ident = int(row["id"])
    except ValueError:
        raise SubmissionError(f"{name}, line {line}, column 'id': {row['id']!r} is not a whole "
                              "number (a candidate id).") from None
    try:
        score = float(row["score"])
    except ValueError:
        raise SubmissionError(f"{name}, line {line}, column 'score': {row['score']!r} is not a "
                              "number.") from None
    if not math.isfinite(score):
        raise SubmissionError(f"{name}, line {line}, column 'score': {row['score']!r} is not "
                              "finite; scores must be finite numbers (rank ties are fine).")
    return ident, score, row.get("target")


def read_submission(path, solutions: dict[str, dict[int, int]]) -> dict[str, np.ndarray]:
    """Check a submission against the candidates and return ``{target: scores}``, each array
    in the order of ``solutions[target]``.

    Raises:
        SubmissionError: an empty file, a missing / unknown / repeated column, a row with the
            wrong number of fields, a non-integer id, a non-numeric or non-finite score, an
            unknown or duplicate id, a target that does not own the id, or missing ids.
    """
    path = Path(path)
    name = path.name
    if not path.is_file():
        raise SubmissionError(f"No submission file at {path}.")
    owner = {i: t for t, ids in solutions.items() for i in ids}
    scores: dict[int, float] = {}
    first: dict[int, int] = {}
    with path.open(newline="") as fh:
        reader = csv.reader(fh)
        cols = _header(reader, name)
        for fields in reader:
            line = reader.line_num
            if not any(f.strip() for f in fields):
                continue
            ident, score, target = _parse_row(fields, cols, line, name)
            if ident not in owner:
                raise SubmissionError(f"{name}, line {line}, column 'id': {ident} is not a "
                                      "candidate id of this challenge.")
            if ident in first:
                raise SubmissionError(f"{name}, line {line}, column 'id': id {ident} appears "
                                      f"again (first on line {first[ident]}).")
            if target is not None and target != owner[ident]:
                raise SubmissionError(f"{name}, line {line}, column 'target': id {ident} is a "
                                      f"candidate of target {owner[ident]!r}, not {target!r}.")
            first[ident], scores[ident] = line, score
    if not scores:
        raise SubmissionError(f"{name} has a header but no rows: expected one row per "
                              f"candidate ({len(owner)} ids).")
    missing = [i for i in owner if i not in scores]
    if missing:
        raise SubmissionError(f"{name}, column 'id': {len(missing)} candidate id(s) have no row,"
                              f" e.g. id {missing[0]} of target {owner[missing[0]]!r}; submit "
                              "one score for every candidate.")
    return {t: np.array([scores[i] for i in ids]) for t, ids in solutions.items()}
