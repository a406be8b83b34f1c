"""Lesson support: what every notebook would otherwise repeat, in one place.

Each notebook starts with one line, ``lesson = spn.lesson.setup(seed=SEED, cache=CACHE)``,
which seeds Python, NumPy and torch once (the notebook's choice: the library itself never
seeds globally), opens the experiment cache, starts a timer and sets the figure defaults. The
rest of this module holds the small table and verdict helpers several lessons share: one
accuracy interval (Wilson), interval strings for tables, a paired difference over seeds and a
paired bootstrap of an accuracy difference. Each helper names the lesson that first writes its
idea out by hand, as d2l's helpers point back to their section.

Example:
    >>> lesson = setup(seed=0, dpi=80)
    >>> lesson.seed, lesson.cache
    (0, False)
    >>> lesson.elapsed() >= 0
    True

Lesson: every notebook (its setup cell); each helper names its section.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ._checks import InstanceOf, Interval, ParameterError, check_int, validate_params

__all__ = ["Lesson", "setup", "accuracy_interval", "interval_column", "format_interval",
           "with_interval", "paired_seed_difference", "paired_accuracy_difference",
           "paired_seed_rows", "value_span", "log_ticks"]


@dataclass
class Lesson:
    """What :func:`setup` prepared for one notebook run.

    Attributes:
        seed: the seed passed to :func:`sparsepriv_nb.train.seed_everything`.
        cache: the experiment cache (:func:`sparsepriv_nb.experiments.default_cache`), or
            ``False`` when the notebook asked for none.
        n_resamples: bootstrap resamples behind the lesson's intervals.
        started: :func:`time.perf_counter` when the lesson was set up.
    """

    seed: int
    cache: object = False
    n_resamples: int = 1000
    started: float = field(default_factory=time.perf_counter)

    @property
    def ci(self) -> dict:
        """Keyword arguments for :mod:`sparsepriv_nb.metrics`' bootstrap functions.

        Example:
            >>> Lesson(seed=3, n_resamples=200).ci
            {'n_resamples': 200, 'random_state': 3}
        """
        return {"n_resamples": self.n_resamples, "random_state": self.seed}

    def elapsed(self) -> float:
        """Seconds since :func:`setup`."""
        return time.perf_counter() - self.started


def setup(seed: int = 0, *, cache: bool = False, n_resamples: int = 1000, dpi: int = 80,
          display_width: int | None = None) -> Lesson:
    """Prepare a notebook in one line: seed, cache, timer and figure defaults.

    Taught in notebook 01 (setup cell); every lesson starts with it.

    Seeds Python, NumPy and torch globally once (:func:`sparsepriv_nb.train.seed_everything`),
    so that a rerun of the notebook gives the same numbers; library functions take their own
    seeds and never reseed. Sets matplotlib's figure resolution and, if asked, pandas' display
    width.

    Args:
        seed: the notebook's seed.
        cache: ``True`` to reuse trained models and finished experiments from the default
            cache (``data/cache``), ``False`` for none.
        n_resamples: bootstrap resamples for the intervals (:attr:`Lesson.ci`).
        dpi: matplotlib's ``figure.dpi``.
        display_width: pandas' ``display.width`` (``None`` leaves it).

    Returns:
        A :class:`Lesson` holding the seed, the cache and the start time.

    Raises:
        ParameterError: a parameter has the wrong type or range.

    Example:
        >>> import numpy as np
        >>> _ = setup(seed=5)
        >>> a = np.random.rand()
        >>> _ = setup(seed=5)
        >>> a == np.random.rand()
        True
    """
    validate_params({"seed": seed, "cache": cache, "n_resamples": n_resamples, "dpi": dpi,
                     "display_width": display_width},
                    {"seed": [Interval(int, 0, None, closed="left")],
                     "cache": [InstanceOf(bool, "a bool")],
                     "n_resamples": [Interval(int, 1, None, closed="left")],
                     "dpi": [Interval(int, 1, None, closed="left")],
                     "display_width": [None, Interval(int, 1, None, closed="left")]},
                    owner="setup")
    import matplotlib.pyplot as plt

    from .train import seed_everything

    seed_everything(seed)
    plt.rcParams["figure.dpi"] = dpi
    if display_width is not None:
        pd.set_option("display.width", display_width)
    store = False
    if cache:
        from .experiments import default_cache

        store = default_cache()
    return Lesson(seed=seed, cache=store, n_resamples=n_resamples)


def accuracy_interval(accuracy, n, *, confidence: float = 0.95):
    """Wilson interval of a test accuracy measured on ``n`` examples.

    Taught in notebook 02, section 3 (the accuracy table beside the attacks).

    An accuracy is a proportion of correct predictions, so its sampling noise is binomial; the
    Wilson score interval (statsmodels' ``proportion_confint(method="wilson")``) keeps its
    coverage near 0 and 1, where the normal approximation fails. It shows the noise of a
    finite test set, not the variation between training seeds.

    Args:
        accuracy: the accuracy (a fraction), a number or an array/Series of them.
        n: the number of test examples (broadcast against ``accuracy``).
        confidence: coverage of the interval.

    Returns:
        ``(lo, hi)``, floats for a number, arrays otherwise.

    Example:
        >>> lo, hi = accuracy_interval(0.9, 100)
        >>> round(lo, 3), round(hi, 3)
        (0.826, 0.945)
        >>> lo, hi = accuracy_interval([0.5, 1.0], [10, 20])
        >>> hi.round(3).tolist()
        [0.763, 1.0]
    """
    from statsmodels.stats.proportion import proportion_confint

    validate_params({"confidence": confidence},
                    {"confidence": [Interval(float, 0, 1, "neither")]}, owner="accuracy_interval")
    acc = np.asarray(accuracy, dtype=float)
    size = np.asarray(n)
    if np.any(np.isnan(acc)) or np.any((acc < 0) | (acc > 1)):
        raise ParameterError(f"The 'accuracy' parameter of accuracy_interval must be in [0, 1]. "
                         f"Got {accuracy!r} instead.")
    if not np.issubdtype(size.dtype, np.integer) or np.any(size < 1):
        raise ParameterError(f"The 'n' parameter of accuracy_interval must be a positive int. "
                         f"Got {n!r} instead.")
    lo, hi = proportion_confint(np.rint(acc * size), size, alpha=1 - confidence,
                                method="wilson")
    if np.ndim(lo) == 0:
        return float(lo), float(hi)
    return np.asarray(lo, dtype=float), np.asarray(hi, dtype=float)


def interval_column(lo, hi, *, digits: int = 3) -> list[str]:
    """``"[lo, hi]"`` strings for a table column.

    Taught in notebook 02, section 3 (the Wilson interval of each target's test accuracy).

    Example:
        >>> interval_column([0.1, 0.25], [0.3, 0.5])
        ['[0.100, 0.300]', '[0.250, 0.500]']
    """
    return [f"[{a:.{digits}f}, {b:.{digits}f}]" for a, b in zip(lo, hi)]


def _one_interval(estimate, lo, hi, digits: int, signed: bool, nan: str | None) -> str:
    if nan is not None and np.isnan(estimate):
        return nan
    f = f"{'+' if signed else ''}.{digits}f"
    return f"{estimate:{f}} [{lo:{f}}, {hi:{f}}]"


def format_interval(estimate, lo, hi, *, digits: int = 3, signed: bool = False,
                    nan: str | None = None):
    """``"estimate [lo, hi]"``: one string, or a Series / DataFrame of them, elementwise.

    Taught in notebook 02, section 3 (every table there carries its interval).

    Args:
        estimate, lo, hi: numbers, or Series / DataFrames of the same shape.
        digits: decimals shown.
        signed: show a sign on every number (for differences).
        nan: the text for a NaN estimate (``None``: format it like a number, ``"nan"``).

    Example:
        >>> format_interval(0.71234, 0.65, 0.77)
        '0.712 [0.650, 0.770]'
        >>> format_interval(-0.02, -0.05, 0.01, signed=True)
        '-0.020 [-0.050, +0.010]'
        >>> format_interval(pd.Series([0.5, float("nan")]), pd.Series([0.4, 0.0]),
        ...                 pd.Series([0.6, 0.0]), nan="NaN").tolist()
        ['0.500 [0.400, 0.600]', 'NaN']
    """
    if isinstance(estimate, (pd.Series, pd.DataFrame)):
        one = np.frompyfunc(lambda e, a, b: _one_interval(e, a, b, digits, signed, nan), 3, 1)
        values = one(estimate.to_numpy(dtype=float), np.asarray(lo, dtype=float),
                     np.asarray(hi, dtype=float))
        if isinstance(estimate, pd.Series):
            return pd.Series(values, index=estimate.index, name=estimate.name, dtype=object)
        return pd.DataFrame(values, index=estimate.index, columns=estimate.columns, dtype=object)
    return _one_interval(estimate, lo, hi, digits, signed, nan)


def with_interval(df: pd.DataFrame, metric: str, *, digits: int = 3,
                  nan: str | None = "NaN") -> pd.Series:
    """``"estimate [lo, hi]"`` strings from a tidy table's ``metric``, ``metric_lo`` and
    ``metric_hi`` columns (the shape of every record :mod:`sparsepriv_nb.metrics` returns).

    Taught in notebook 02, section 3.

    Example:
        >>> df = pd.DataFrame({"auc": [0.6], "auc_lo": [0.55], "auc_hi": [0.66]})
        >>> with_interval(df, "auc").tolist()
        ['0.600 [0.550, 0.660]']
    """
    missing = {metric, f"{metric}_lo", f"{metric}_hi"} - set(df.columns)
    if missing:
        raise ValueError(f"The 'df' parameter of with_interval must have the columns "
                         f"{metric!r}, '{metric}_lo' and '{metric}_hi'. Missing {sorted(missing)}.")
    return format_interval(df[metric], df[f"{metric}_lo"], df[f"{metric}_hi"], digits=digits,
                           nan=nan)


def paired_seed_difference(a: pd.Series, b: pd.Series, *, confidence: float = 0.95) -> dict:
    """Mean difference ``a - b`` over seeds: its t-interval and two-sided t-test (``n - 1`` df)
    over the paired differences.

    Taught in notebook 01, section 5 (magnitude vs random pruning, paired by seed). The one
    paired-over-seeds test of the package: :func:`paired_seed_rows` and
    :func:`sparsepriv_nb.paired.seed_comparison` both read their rows from it.

    ``a`` and ``b`` are indexed by seed. **Missing values:** a seed without a value on both
    sides (absent, or NaN, e.g. an unresolvable TPR) is dropped, and ``n`` counts the seeds
    actually used, so a table that prints ``n`` says how many seeds each number rests on. The
    interval is :func:`sparsepriv_nb.metrics.aggregate_seeds`' (seed variance), so it answers
    "would retraining with other seeds give the same sign?", not the sampling noise of one
    model. ``p`` is that of :func:`scipy.stats.ttest_rel` on the seeds used; it is NaN when
    there is nothing to test: one seed, or the same difference on every seed (``sd == 0``).

    Returns:
        ``{"mean", "sd", "n", "lo", "hi", "se", "p"}`` (``se = sd / sqrt(n)``).

    Raises:
        ValueError: no seed has a value on both sides.

    Example:
        >>> a = pd.Series([0.90, 0.92, 0.91], index=[0, 1, 2])
        >>> b = pd.Series([0.85, 0.86, 0.88], index=[0, 1, 2])
        >>> d = paired_seed_difference(a, b)
        >>> round(d["mean"], 3), d["n"], bool(d["lo"] > 0), round(d["p"], 3)
        (0.047, 3, True, 0.034)
        >>> paired_seed_difference(a, b.drop(2).reindex([0, 1, 2]))["n"]  # seed 2: NaN, dropped
        2
    """
    from scipy import stats

    from .metrics import aggregate_seeds

    diff = (a - b).dropna().to_frame("diff").assign(group=0)
    if diff.empty:
        raise ValueError("The 'a' and 'b' parameters of paired_seed_difference must share at "
                         "least one seed with a value on both sides. Got none.")
    row = aggregate_seeds(diff, "group", "diff", confidence=confidence).iloc[0]
    mean, sd, n = float(row["mean"]), float(row["sd"]), int(row["n"])
    se = sd / np.sqrt(n)
    p = float(2 * stats.t.sf(abs(mean) / se, n - 1)) if se > 0 else float("nan")
    return {"mean": mean, "sd": sd, "n": n, "lo": float(row["lo"]), "hi": float(row["hi"]),
            "se": float(se), "p": p}


def paired_seed_rows(wide: pd.DataFrame, a, b, *, level: str = "attack") -> list[dict]:
    """One :func:`paired_seed_difference` of columns ``a - b`` per group of ``wide``'s index
    level ``level``: rows for :func:`sparsepriv_nb.families.holm_verdicts`.

    Taught in notebook 02, section 6 (AUC with many classes minus few, per attack).

    Args:
        wide: Indexed by (``level``, seed), one column per condition (e.g. a pivot table).
        a: The column subtracted from.
        b: The column subtracted.
        level: The index level naming each comparison.

    Returns:
        Per group, ``{"name", "diff", "lo", "hi", "n", "p", "sd"}``: the mean paired
        difference with its t-interval, the t-test p-value and the sd over the seeds used
        (NaN seeds dropped, ``n`` counts the rest: :func:`paired_seed_difference`).

    Example:
        >>> idx = pd.MultiIndex.from_product([["loss"], [0, 1, 2]], names=["attack", "seed"])
        >>> w = pd.DataFrame({2: [0.50, 0.52, 0.51], 10: [0.60, 0.61, 0.63]}, index=idx)
        >>> r = paired_seed_rows(w, 10, 2)[0]
        >>> r["name"], round(r["diff"], 3), r["n"], bool(r["lo"] > 0)
        ('loss', 0.103, 3, True)
    """
    rows = []
    for name, g in wide.groupby(level=level):
        s = paired_seed_difference(g[a], g[b])
        rows.append({"name": name, "diff": s["mean"], "lo": s["lo"], "hi": s["hi"], "n": s["n"],
                     "p": s["p"], "sd": s["sd"]})
    return rows


def value_span(values, *, digits: int = 2) -> str:
    """``"min-max"`` of ``values`` at ``digits`` decimals, or one number when both round alike.

    Example:
        >>> value_span([0.981, 0.996]), value_span([0.9981, 1.0])
        ('0.98-1.00', '1.00')
    """
    v = np.asarray(values, dtype=float)
    lo, hi = v.min(), v.max()
    if round(lo, digits) == round(hi, digits):
        return f"{lo:.{digits}f}"
    return f"{lo:.{digits}f}-{hi:.{digits}f}"


def paired_accuracy_difference(correct_a, correct_b, *, n_resamples: int = 1000, seed: int = 0,
                               confidence: float = 0.95) -> tuple[float, float, float]:
    """Accuracy difference ``a - b`` of two models on the same test examples, with a paired
    percentile bootstrap interval (the same resampled examples for both models).

    Taught in notebook 05, section 9 (written out there), used again in notebook 06.

    Args:
        correct_a, correct_b: per-example correctness (0/1 or bool) of the two models, on the
            same examples in the same order.
        n_resamples: bootstrap resamples.
        seed: seeds the resampling (``numpy.random.default_rng(seed)``).
        confidence: coverage of the interval.

    Returns:
        ``(difference, lo, hi)``.

    Example:
        >>> a = np.r_[np.ones(80), np.zeros(20)]
        >>> diff, lo, hi = paired_accuracy_difference(a, np.zeros(100), n_resamples=200)
        >>> round(diff, 2), lo > 0.6
        (0.8, True)
    """
    a = np.asarray(correct_a, dtype=float)
    b = np.asarray(correct_b, dtype=float)
    if a.ndim != 1 or a.shape != b.shape or len(a) == 0:
        raise ValueError(f"The 'correct_a' and 'correct_b' parameters of "
                         f"paired_accuracy_difference must be 1-d and of the same non-zero "
                         f"length. Got shapes {a.shape} and {b.shape} instead.")
    n_resamples = check_int(n_resamples, "n_resamples", "paired_accuracy_difference", low=1)
    idx = np.random.default_rng(seed).integers(0, len(a), size=(n_resamples, len(a)))
    diffs = a[idx].mean(1) - b[idx].mean(1)
    tail = 100 * (1 - confidence) / 2
    lo, hi = np.percentile(diffs, [tail, 100 - tail])
    return float(a.mean() - b.mean()), float(lo), float(hi)


def log_ticks(values, *, min_ratio: float = 1.12, digits: int = 3) -> list[float]:
    """Tick positions for a log axis: the distinct values, largest first, skipping one that
    would sit closer than ``min_ratio`` to the previous tick (labels would overlap).

    Taught in notebook 01, section 5 (the accuracy-vs-density figure).

    Example:
        >>> log_ticks([1.0, 0.5, 0.5, 0.2, 0.19, 0.05])
        [1.0, 0.5, 0.2, 0.05]
    """
    ticks: list[float] = []
    for t in sorted(set(np.round(np.asarray(values, dtype=float), digits)), reverse=True):
        if not ticks or ticks[-1] / t > min_ratio:
            ticks.append(float(t))
    return ticks
