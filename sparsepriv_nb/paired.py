"""Paired comparisons as rows of a Holm family, and the sentences that read them.

Two pairings recur in the lessons: two methods compared **seed by seed** (the same trained
model pruned two ways; a t-interval and t-test over the per-seed differences) and two models
compared **on the same test examples** (a paired bootstrap of the accuracy difference). Each
function here returns rows that :func:`sparsepriv_nb.families.holm_verdicts` takes, or reads
its frame back as one sentence, so that a notebook cell shows the comparison, not the plumbing.

Example:
    >>> import pandas as pd
    >>> runs = pd.DataFrame({"method": ["a"] * 3 + ["b"] * 3, "seed": [0, 1, 2] * 2,
    ...                      "requested": [0.1] * 6,
    ...                      "acc": [0.90, 0.92, 0.91, 0.85, 0.86, 0.88]})
    >>> r = seed_comparison(runs, "a", "b", "acc", 0.1)
    >>> r["name"], round(r["diff"], 3), r["n"], bool(r["lo"] > 0)
    ('acc at density 0.1, a - b', 0.047, 3, True)

Lesson: notebook 01 (``01_sparsity_methods``), section 5, and notebook 06
(``06_dp_sgd_and_pruning``), section 5.
"""

from __future__ import annotations

import numpy as np  # noqa: F401 (the docstring examples)
import pandas as pd

from . import metrics
from ._checks import ParameterError, check_number
from .lesson import format_interval, paired_accuracy_difference, paired_seed_difference
from .power import seed_mde, seeds_needed, verdict_with_power

__all__ = ["seed_comparison", "against_baseline", "seed_sentence", "holm_seed_sentence",
           "precision_clause", "match_line", "within_method", "by_how_much", "accuracy_rows",
           "tally_line"]


def seed_comparison(frame: pd.DataFrame, a: str, b: str, column: str, requested: float, *,
                    method: str = "method", seed: str = "seed") -> dict:
    """Mean difference ``a - b`` of ``column`` over seeds at one requested density: its
    t-interval, standard error, per-seed sd and two-sided t-test p-value (``n - 1`` df), all
    from :func:`~sparsepriv_nb.lesson.paired_seed_difference` (a seed missing or NaN for
    either method is dropped; ``n`` counts the seeds used).

    Args:
        frame: one row per method, seed and density, with columns ``method``, ``seed``,
            ``requested`` and ``column``.
        a, b: the two methods (values of the ``method`` column).
        column: the metric compared.
        requested: the requested density (matched to 6 decimals).

    Returns:
        ``{"name", "diff", "lo", "hi", "se", "p", "sd", "n", "b_mean"}``: a row for
        :func:`~sparsepriv_nb.families.holm_verdicts` (``p`` is NaN when every seed gives the
        same difference: nothing to test); ``b_mean`` is the mean of ``b`` over the seeds used,
        which :func:`seed_sentence` prints when the two are equal on every seed.
    """
    for name, value in (("method", method), ("seed", seed), ("column", column)):
        if value not in frame.columns:
            raise ParameterError(f"The '{name}' parameter of seed_comparison must name a column "
                                 f"of 'frame'. Got {value!r}; columns: {list(frame.columns)}.")
    rows = frame[frame["requested"].round(6) == round(float(requested), 6)]
    wide = rows.pivot_table(index=seed, columns=method, values=column)
    missing = [m for m in (a, b) if m not in wide.columns]
    if missing:
        raise ParameterError(f"The 'a' and 'b' parameters of seed_comparison must be methods "
                             f"with rows at density {requested:g}. Got none for {missing}.")
    d = paired_seed_difference(wide[a], wide[b])
    used = wide[[a, b]].dropna()
    return {"name": f"{column} at density {requested:g}, {a} - {b}", "diff": d["mean"],
            "lo": d["lo"], "hi": d["hi"], "se": d["se"], "p": d["p"], "sd": d["sd"], "n": d["n"],
            "b_mean": float(used[b].mean()) if len(used) else float("nan")}


def against_baseline(rows: pd.DataFrame, baseline: pd.DataFrame, a: str, column: str, *,
                     name: str = "dense") -> list[tuple[float, dict]]:
    """:func:`seed_comparison` of method ``a`` against one baseline model per seed (e.g. the
    dense model), at every requested density of ``rows``.

    Returns:
        ``[(mean achieved density, comparison), ...]`` in the order of ``rows``' densities.

    Example:
        >>> runs = pd.DataFrame({"method": "m", "seed": [0, 1, 2], "requested": 0.5,
        ...                      "density": 0.5, "acc": [0.80, 0.82, 0.81]})
        >>> dense = pd.DataFrame({"method": "d", "seed": [0, 1, 2], "requested": 1.0,
        ...                       "density": 1.0, "acc": [0.85, 0.86, 0.88]})
        >>> [(d, round(t["diff"], 3)) for d, t in against_baseline(runs, dense, "m", "acc")]
        [(0.5, -0.053)]
    """
    out = []
    for req, g in rows.groupby("requested", sort=False):
        both = pd.concat([g, baseline.assign(method=name, requested=req)])
        out.append((float(g["density"].mean()), seed_comparison(both, a, name, column, req)))
    return out


def seed_sentence(row, m: int, *, alpha: float = 0.05, chance: float | None = None) -> str:
    """One Holm-family row over seeds (a :class:`~sparsepriv_nb.families.Family` frame row
    with ``sd`` and ``n``) read as a sentence; a null names the MDE at Holm's strictest level
    ``alpha / m`` and for one comparison.

    A difference of exactly 0 on every seed says that the two values were equal on every seed
    (with the row's ``b_mean``, their mean, and ``chance``, the chance level, when given); equal
    accuracies do not show that the two models made the same predictions.

    Example:
        >>> from sparsepriv_nb.families import holm_verdicts
        >>> fam = holm_verdicts([{"name": "x", "diff": 0.01, "lo": -0.02, "hi": 0.04,
        ...                       "se": 0.007, "p": 0.3, "sd": 0.012, "n": 3}])
        >>> seed_sentence(next(fam.frame.itertuples()), 1)[:41]
        'no detectable difference after Holm corre'
        >>> tie = holm_verdicts([{"name": "y", "diff": 0.0, "lo": 0.0, "hi": 0.0, "se": 0.0,
        ...                       "p": float("nan"), "sd": 0.0, "n": 3, "b_mean": 0.1}])
        >>> s = seed_sentence(next(tie.frame.itertuples()), 1, chance=0.1)
        >>> "equal values on every seed (mean 0.100 over 3 seeds; chance level 0.100)" in s
        True
    """
    if row.verdict == "not measurable here":
        return (f"the same difference {row.diff:+.3f} on every seed (no spread): "
                + (_tie(row, chance) if row.diff == 0 else "not testable"))
    if row.verdict != metrics.NO_DIFFERENCE:
        return row.sentence
    one, strict = (seed_mde(row.sd, row.n, alpha=a) for a in (alpha, alpha / m))
    alone = ("; on its own (unadjusted) its 95 % interval excludes 0"
             if row.verdict_uncorrected != metrics.NO_DIFFERENCE else "")
    return (f"no detectable difference after Holm correction ({row.diff:+.3f} "
            f"[{row.lo:+.3f}, {row.hi:+.3f}]{alone}); at Holm's strictest level these {row.n} "
            "seeds " + (f"could detect |difference| >= {strict:.3f} (" if strict <= 1
                        else f"could not detect even a difference of 1, the largest a difference "
                             f"of two accuracies can be (MDE {strict:.2f}; ")
            + f"{one:.3f} for one comparison at the 5 % level)")


def _tie(row, chance: float | None) -> str:
    """The two values were equal on every seed: how large they were (not "same predictions")."""
    mean = getattr(row, "b_mean", float("nan"))
    about = "; ".join(([f"mean {mean:.3f} over {row.n} seeds"] if mean == mean else [])
                      + ([f"chance level {chance:.3f}"] if chance is not None else []))
    return ("the two had exactly equal values on every seed" + (f" ({about})" if about else "")
            + ": nothing to test")


def holm_seed_sentence(row, m: int, *, alpha: float = 0.05, power: float = 0.8,
                       family_p=None) -> str:
    """Why a comparison over few seeds whose own interval excludes 0 is still not detectable
    after Holm: its t statistic, the t its Holm step needs on ``n - 1`` df, and about how
    many seeds with the same spread would detect a difference of its size there.

    Args:
        row: a :class:`~sparsepriv_nb.families.Family` frame row (``name``, ``diff``, ``lo``,
            ``hi``, ``se``, ``sd``, ``n``, ``p``, ``p_holm``).
        m: the number of testable comparisons in the family.
        family_p: the family's p-values. When given, the row is judged at its own Holm step
            ``k`` (the rank of its p-value: level ``alpha / (m - k + 1)``); without them, at
            Holm's first and strictest step ``alpha / m``.

    Example:
        >>> from sparsepriv_nb.families import holm_verdicts
        >>> rows = [{"name": f"c{i}", "diff": 0.4, "lo": 0.15, "hi": 0.72, "se": 0.066,
        ...          "p": 0.022, "sd": 0.115, "n": 3} for i in range(10)]
        >>> s = holm_seed_sentence(holm_verdicts(rows).frame.iloc[0], 10)
        >>> "Holm's first step (alpha/10 = 0.005" in s, "needs |t| > 14.09" in s, "t = 6.06" in s
        (True, True, True)
        >>> p = [0.001, 0.002, 0.003, 0.004, 0.022] + [0.5] * 5
        >>> s = holm_seed_sentence(holm_verdicts(rows).frame.iloc[0], 10, family_p=p)
        >>> "its Holm step (5th of 10: alpha/6 = 0.00833" in s, "needs |t| > 10.89" in s
        (True, True)
    """
    from scipy import stats

    if family_p is None:
        k = 1
    else:
        p = np.asarray(family_p, dtype=float)
        k = int((p[~np.isnan(p)] < row["p"]).sum()) + 1
    level = alpha / (m - k + 1)
    step = ("Holm's first step" if family_p is None else
            f"its Holm step ({k}{_ordinal(k)} of {m}:")
    t = abs(row["diff"]) / row["se"]
    need = float(stats.t.ppf(1 - level / 2, row["n"] - 1))
    try:
        n_more = seeds_needed(abs(row["diff"]), sd=row["sd"], alpha=level, power=power)
        more = f"about {n_more} seeds"
    except ValueError:
        more = "far more seeds"
    return (f"Why {row['name']}, {row['diff']:+.3f} [{row['lo']:+.3f}, {row['hi']:+.3f}], is not "
            f"detectable: over {row['n']} seeds its t = {t:.2f} (per-seed sd {row['sd']:.3f}; "
            f"p = {row['p']:.3g}, Holm-adjusted {row['p_holm']:.3g}), while at {step}"
            f"{' (' if family_p is None else ' '}alpha/{m - k + 1} = {level:.3g}, two-sided, "
            f"{row['n'] - 1} df) it needs |t| > {need:.2f}. "
            f"This is a lack of seeds, not evidence of equal accuracy: {more} with this spread "
            f"would detect a difference of this size at that level (power {power:g}).")


def _ordinal(k: int) -> str:
    """The English ordinal suffix of ``k``.

    Example:
        >>> [f"{k}{_ordinal(k)}" for k in (1, 2, 3, 4, 11, 12, 13, 21, 22)]
        ['1st', '2nd', '3rd', '4th', '11th', '12th', '13th', '21st', '22nd']
    """
    if 10 <= k % 100 <= 20:
        return "th"
    return {1: "st", 2: "nd", 3: "rd"}.get(k % 10, "th")


def _density_of(name: str) -> str:
    """The density in a :func:`seed_comparison` name (``"acc at density 0.05, a - b"``)."""
    return name.split("density ")[1].split(",")[0]


def precision_clause(tests: pd.DataFrame, m: int, *, alpha: float = 0.05) -> str:
    """What a family's comparisons over seeds could detect at Holm's strictest level
    ``alpha / m``: the most precise density, and each density whose seeds disagree so much
    that not even a difference of 1 (the largest between two accuracies) could be detected.

    Args:
        tests: rows of a :class:`~sparsepriv_nb.families.Family` frame made by
            :func:`seed_comparison` (``name``, ``diff``, ``lo``, ``hi``, ``sd``, ``n``).
        m: the number of testable comparisons in the family.

    Returns:
        A clause (no final period); ``""`` when no row has a spread.

    Example:
        >>> t = pd.DataFrame({"name": ["acc at density 0.5, a - b", "acc at density 0.05, a - b"],
        ...                   "diff": [0.02, 0.28], "lo": [0.01, -0.16], "hi": [0.03, 0.71],
        ...                   "sd": [0.002, 0.17], "n": [3, 3]})
        >>> print(precision_clause(t, 10))  # doctest: +NORMALIZE_WHITESPACE
        at Holm's level the most precise comparison (density 0.5) could detect |difference| >=
        0.017; at density 0.05 the 3 seeds disagree so much, +0.280 [-0.160, +0.710], that no
        accuracy difference could be detected at Holm's level (power 0.8)
    """
    rows = tests[tests["sd"] > 0]
    if not len(rows):
        return ""
    mde = pd.Series([seed_mde(r.sd, int(r.n), alpha=alpha / m) for r in rows.itertuples()],
                    index=rows.index)
    best = rows.loc[mde.idxmin()]
    out = (f"at Holm's level the most precise comparison (density {_density_of(best['name'])}) "
           f"could detect |difference| >= {mde.min():.3f}")
    hopeless = rows[mde > 1]
    if len(hopeless):
        ivs = [(_density_of(r.name), format_interval(r.diff, r.lo, r.hi, signed=True))
               for r in hopeless.itertuples()]
        seeds = f"the {int(hopeless['n'].iloc[0])} seeds disagree so much"
        out += (f"; at density {ivs[0][0]} {seeds}, {ivs[0][1]}," if len(ivs) == 1 else
                "; at densities " + " and ".join(f"{d} ({i})" for d, i in ivs) + f" {seeds}")
        out += " that no accuracy difference could be detected at Holm's level (power 0.8)"
    return out


def match_line(method: str, tests, margin: float, n_seeds: int) -> str:
    """How sparse ``method`` can go and lose at most ``margin`` against dense, with the reason
    it cannot go sparser.

    Args:
        method: the method's name, the start of the line.
        tests: ``[(density, comparison), ...]`` of method minus dense
            (:func:`against_baseline`).
        margin: the largest loss allowed (positive).
        n_seeds: the number of seeds, named when nothing is shown.

    Example:
        >>> t = [(0.5, {"diff": 0.0, "lo": -0.006, "hi": 0.006}),
        ...      (0.2, {"diff": -0.007, "lo": -0.03, "hi": 0.016}),
        ...      (0.1, {"diff": -0.1, "lo": -0.2, "hi": 0.0})]
        >>> print(match_line("m", t, 0.02, 3))  # doctest: +NORMALIZE_WHITESPACE
        m: sparsest density shown to lose at most 0.02: 0.5 (difference +0.000 [-0.006, +0.006]);
        not at 0.2 (difference -0.007 [-0.030, +0.016]: the interval reaches below -0.02)
    """
    margin = check_number(margin, "margin", "match_line", low=0, low_open=True, high=None)
    def iv(t):
        return format_interval(t["diff"], t["lo"], t["hi"], signed=True)

    def why(t):
        return (f"the interval reaches below -{margin:g}" if t["diff"] > -margin
                else f"the mean loses more than {margin:g}")

    shown = [(d, t) for d, t in tests if t["lo"] > -margin]
    near = [(d, t) for d, t in tests if t["diff"] > -margin]
    if not near:
        return f"{method}: its mean is more than {margin:g} below dense at every density below 1"
    if not shown:
        d, t = min(near, key=lambda x: x[0])
        return (f"{method}: not shown to lose at most {margin:g} at any density with {n_seeds} "
                f"seeds; the sparsest whose mean loses at most {margin:g} is {d:.3g} (difference "
                f"{iv(t)}: {why(t)})")
    d, t = min(shown, key=lambda x: x[0])
    line = (f"{method}: sparsest density shown to lose at most {margin:g}: {d:.3g} "
            f"(difference {iv(t)})")
    sparser = [(e, u) for e, u in tests if e < d]
    if sparser:
        e, u = max(sparser, key=lambda x: x[0])
        line += f"; not at {e:.3g} (difference {iv(u)}: {why(u)})"
    return line


def within_method(frame: pd.DataFrame, method: str, requested: float, reference: float, column: str,
                  ) -> dict:
    """:func:`seed_comparison` of one method with itself: its rows at density ``requested``
    minus its rows at ``reference``, seed by seed (e.g. a later IMP round minus the first).

    Example:
        >>> runs = pd.DataFrame({"method": "m", "seed": [0, 1, 2] * 2,
        ...                      "requested": [1.0] * 3 + [0.25] * 3,
        ...                      "density": [1.0] * 3 + [0.25] * 3,
        ...                      "acc": [0.85, 0.86, 0.88, 0.90, 0.90, 0.91]})
        >>> r = within_method(runs, "m", 0.25, 1.0, "acc")
        >>> r["name"], round(r["diff"], 3)
        ('acc at density 0.25, m - m at density 1', 0.04)
    """
    rows = frame[frame["method"] == method]
    at = rows[rows["requested"].round(6) == round(float(requested), 6)]
    base = rows[rows["requested"].round(6) == round(float(reference), 6)]
    if not len(at) or not len(base):
        raise ParameterError(f"The 'requested' and 'reference' parameters of within_method must "
                             f"be densities with rows of {method!r}. Got {requested:g} and "
                             f"{reference:g}; it has {sorted(rows['requested'].unique())}.")
    name = f"{method} at density {reference:g}"
    return against_baseline(at, base, method, column, name=name)[0][1]


def by_how_much(diff: float, lo: float, hi: float, mde: float, *, higher: str = "higher",
                lower: str = "lower", digits: int = 3) -> str:
    """A difference read once, as a size: ``"lower by 0.037 [0.012, 0.062]"``; a null gives
    its estimate, interval and minimum detectable difference.

    Example:
        >>> by_how_much(-0.037, -0.062, -0.012, 0.02)
        'lower by 0.037 [0.012, 0.062]'
        >>> by_how_much(0.01, -0.01, 0.03, 0.031)
        '+0.010 [-0.010, +0.030]: no detectable difference; this run could detect |Δ| ≥ 0.031'
    """
    v = verdict_with_power(diff, lo, hi, mde, higher=higher, lower=lower, digits=digits)
    f = f".{digits}f"
    if v["verdict"] == lower:
        return f"{lower} by {-diff:{f}} [{-hi:{f}}, {-lo:{f}}]"
    if v["verdict"] == higher:
        return f"{higher} by {diff:{f}} [{lo:{f}}, {hi:{f}}]"
    return f"{format_interval(diff, lo, hi, digits=digits, signed=True)}: {v['sentence']}"


def accuracy_rows(correct: dict, pairs, *, n_resamples: int = 1000, seed: int = 0) -> list[dict]:
    """Paired-bootstrap accuracy differences ``a - b`` (on the same test examples) for each
    ``(a, b)`` of ``pairs``, as rows for :func:`~sparsepriv_nb.families.holm_verdicts`.

    Args:
        correct: model name -> per-example correctness (0/1), same examples for all.
        pairs: ``(a, b)`` names of ``correct``.

    Example:
        >>> c = {"x": np.r_[np.ones(80), np.zeros(20)], "y": np.zeros(100)}
        >>> r = accuracy_rows(c, [("x", "y")], n_resamples=200)[0]
        >>> r["name"], round(r["diff"], 2), r["lo"] > 0.6
        ('x - y', 0.8, True)
    """
    unknown = sorted({n for pair in pairs for n in pair} - set(correct))
    if unknown:
        raise ParameterError(f"The 'pairs' parameter of accuracy_rows must name models of "
                             f"'correct' ({sorted(correct)}). Got unknown {unknown}.")
    rows = []
    for a, b in pairs:
        diff, lo, hi = paired_accuracy_difference(correct[a], correct[b],
                                                  n_resamples=n_resamples, seed=seed)
        rows.append({"name": f"{a} - {b}", "diff": diff, "lo": lo, "hi": hi})
    return rows


def tally_line(frame: pd.DataFrame, baseline: str, what: str) -> str:
    """One ``Verdict:`` line: how many comparisons ``X - baseline`` of a Holm family's frame
    came out lower and higher, each listed with its (unadjusted) interval.

    Example:
        >>> f = pd.DataFrame({"name": ["a - d", "b - d", "a - b"], "diff": [0.1, 0.0, 0.1],
        ...                   "lo": [0.05, -0.1, 0.0], "hi": [0.15, 0.1, 0.2],
        ...                   "verdict": ["higher", metrics.NO_DIFFERENCE, "higher"]})
        >>> tally_line(f, "d", "variants")
        'Verdict: test accuracy vs d (Holm): lower for 0 of 2 variants, higher for 1 (a +0.100 [+0.050, +0.150]); unadjusted 95 % intervals.'
    """  # noqa: E501
    rows = frame[frame["name"].str.endswith(f" - {baseline}")]
    parts = []
    for word in ("lower", "higher"):
        hits = rows[rows["verdict"] == word]
        listed = "; ".join(f"{r.name.split(' - ')[0]} "
                           + format_interval(r.diff, r.lo, r.hi, signed=True)
                           for r in hits.itertuples())
        count = f"{len(hits)} of {len(rows)} {what}" if word == "lower" else f"{len(hits)}"
        parts.append(f"{word} for {count}" + (f" ({listed})" if listed else ""))
    return f"Verdict: test accuracy vs {baseline} (Holm): " + ", ".join(parts) + \
        "; unadjusted 95 % intervals."
