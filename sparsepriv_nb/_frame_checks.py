"""Checks of the tidy frames the sweep statistics and their figures take
(:mod:`~sparsepriv_nb.analysis`, :mod:`~sparsepriv_nb.matching`,
:mod:`~sparsepriv_nb.plots_sweep`): a DataFrame of one attack, columns that exist, a query or a
boolean mask selecting rows, a formula whose variables are columns. One exception,
:class:`~sparsepriv_nb._checks.ParameterError`, in the package's one message shape.

Example:
    >>> import pandas as pd
    >>> df = pd.DataFrame({"auc": [0.5, 0.6, 0.7], "seed": [0, 1, 2]})
    >>> len(check_frame(df, "demo", {"metric": "auc"}))
    3
    >>> check_formula(df, "auc ~ acc", "regress")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    sparsepriv_nb._checks.ParameterError: The 'formula' parameter of regress must use columns ...
"""

from __future__ import annotations

import math
import numbers

import numpy as np
import pandas as pd

from ._checks import InstanceOf, Interval, ParameterError, validate_params

__all__ = ["CI", "SEED", "COUNT", "NAME", "NAMES", "TWO_NAMES", "FINITE", "FORMULA_HINT",
           "check_columns", "check_frame", "row_mask", "formula_names", "check_formula"]

#: Constraint lists for :func:`~sparsepriv_nb._checks.validate_params`.
CI = [Interval(float, 0, 1, "neither")]
SEED = [Interval(int, 0, None)]
COUNT = [Interval(int, 1, None)]
NAME = [InstanceOf(str, "a column name (str)")]
NAMES = [InstanceOf((list, tuple), "a list of column names (str)",
                     lambda v: all(isinstance(c, str) for c in v))]
TWO_NAMES = [InstanceOf((list, tuple), "a list of at least 2 column names",
                        lambda v: len(v) >= 2 and all(isinstance(c, str) for c in v))]
FINITE = [InstanceOf(numbers.Real, "a finite float",
                      lambda v: not isinstance(v, bool) and math.isfinite(v))]


def check_columns(frame, params: dict, owner: str) -> None:
    """Each ``params[name]`` (a column name, or a list of them) names columns of ``frame`` (a
    pandas DataFrame, or anything with ``.columns``), else a :class:`ParameterError` naming the
    parameter, the value and the frame's columns.

    Example:
        >>> df = pd.DataFrame({"auc": [0.5], "seed": [0]})
        >>> check_columns(df, {"metric": "auc", "by": ["seed"]}, "summary")
        >>> try:
        ...     check_columns(df, {"metric": "acc"}, "summary")
        ... except ParameterError as e:
        ...     print(e)  # doctest: +NORMALIZE_WHITESPACE
        The 'metric' parameter of summary must name columns of the data: ['auc', 'seed'].
        Got 'acc' instead.
    """
    columns = list(frame.columns)
    for param, names in params.items():
        many = isinstance(names, (list, tuple))
        missing = [n for n in (names if many else [names]) if not _is_column(frame, n)]
        if missing:
            note = f" ({', '.join(map(repr, missing))} not among them)" if many else ""
            raise ParameterError(f"The '{param}' parameter of {owner} must name columns of the "
                                 f"data: {columns}. Got {names!r} instead{note}.")


def _is_column(frame, name) -> bool:
    try:
        return name in frame.columns
    except TypeError:  # unhashable
        return False


def check_frame(df, fn: str, columns: dict, *, min_rows: int = 3) -> pd.DataFrame:
    """``df`` as a DataFrame of one attack with the named columns (parameter -> column name or
    names) and at least ``min_rows`` rows without NaN in them; those rows are returned."""
    validate_params({"df": df}, {"df": [InstanceOf(pd.DataFrame, "a pandas DataFrame")]}, fn)
    check_columns(df, columns, fn)
    if "attack" in df.columns and df["attack"].nunique() > 1:
        raise ParameterError(f"The 'df' parameter of {fn} must hold one row per model, so one "
                             "attack: select it first, e.g. df[df.attack == 'loss']. Got "
                             f"attacks {sorted(df['attack'].unique())} instead (it mixes attacks).")
    names = [c for v in columns.values() for c in ([v] if isinstance(v, str) else v)]
    d = df.dropna(subset=names)
    if len(d) < min_rows:
        raise ParameterError(f"The 'df' parameter of {fn} must have at least {min_rows} rows "
                             f"without NaN in {names}. Got {len(d)} instead.")
    return d


def row_mask(df: pd.DataFrame, rows, param: str, fn: str) -> np.ndarray:
    """A boolean row selector (positional) from a query string or a boolean Series / array."""
    if isinstance(rows, str):
        try:
            return np.asarray(df.eval(rows), dtype=bool)
        except Exception as exc:
            raise ParameterError(f"The '{param}' parameter of {fn} must be a query on the "
                                 f"frame's columns {list(df.columns)}. Got {rows!r} instead "
                                 f"({type(exc).__name__}: {exc}).") from None
    m = np.asarray(rows)
    if m.dtype != bool or m.shape != (len(df),):
        raise ParameterError(f"The '{param}' parameter of {fn} must be a query string (e.g. "
                             f"\"method == 'dense'\") or a boolean mask of {len(df)} rows. "
                             f"Got {rows!r} instead.")
    return m


FORMULA_HINT = "a formula on the frame's columns such as 'auc ~ density_achieved + test_acc'"


def formula_names(formula: str) -> set[str]:
    """The variable names a patsy formula reads: names not called, not an attribute, not a
    keyword (``C(method)`` reads ``method``; ``np.log(x)`` reads ``np`` and ``x``)."""
    import io
    import keyword
    import tokenize

    tokens = [t for t in tokenize.generate_tokens(io.StringIO(formula).readline)
              if t.type not in (tokenize.NEWLINE, tokenize.NL, tokenize.ENDMARKER)]
    names = set()
    for i, t in enumerate(tokens):
        if t.type != tokenize.NAME or keyword.iskeyword(t.string):
            continue
        after = tokens[i + 1].string if i + 1 < len(tokens) else ""
        before = tokens[i - 1].string if i else ""
        if after not in ("(", "=") and before != ".":
            names.add(t.string)
    return names


def check_formula(df: pd.DataFrame, formula, fn: str, env=()) -> None:
    """A str with ``~`` whose variables are columns of ``df``, names in ``env`` (those it is
    evaluated with, e.g. the calling module's) or ``np``; else a :class:`ParameterError`
    naming the formula, the unknown names and the columns (patsy's own error names neither
    the columns nor the owner)."""
    import builtins
    import tokenize

    if not isinstance(formula, str) or "~" not in formula:
        raise ParameterError(f"The 'formula' parameter of {fn} must be {FORMULA_HINT}. Got "
                             f"{formula!r} instead.")
    try:
        names = formula_names(formula)
    except (tokenize.TokenError, SyntaxError) as exc:
        raise ParameterError(f"The 'formula' parameter of {fn} must be {FORMULA_HINT}. Got "
                             f"{formula!r} instead ({exc}).") from None
    known = set(df.columns) | set(env) | set(vars(builtins)) | {"np", "numpy"}
    unknown = sorted(names - known)
    if unknown:
        raise ParameterError(f"The 'formula' parameter of {fn} must use columns of the data: "
                             f"{list(df.columns)}. Got {formula!r} instead, which names "
                             f"{unknown} (no such column).")
