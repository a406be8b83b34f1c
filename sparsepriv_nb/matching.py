"""The accuracy-matched comparison and its verdict (notebook 03; see :mod:`analysis`).

Sparser models are often less accurate, and less accurate models less attackable, so a
sparse model is compared with dense *reference* models of the same accuracy rather than with
the full dense model:

* :func:`match_to_reference`: each sparse model against its seed's reference accuracy ->
  attack curve, interpolated at its own accuracy;
* :func:`matched_difference`: a per-method difference with an interval over seeds;
* :func:`confounding_verdict`: a raw and a controlled estimate with their intervals ->
  whether the effect survives, shrinks, vanishes, reverses or appears;
* :func:`method_verdicts`: the raw and matched differences of several methods (and attacks)
  as two families of comparisons, Holm-corrected, with one verdict word per method;
* :func:`family_brief`: one clause naming a family's detectable comparisons and the range of
  the others' estimates and minimum detectable differences.

All three are also importable from :mod:`sparsepriv_nb.analysis`.

Example:
    >>> confounding_verdict((-0.08, -0.12, -0.04), (-0.01, -0.05, 0.03))["verdict"]
    'vanishes'

Lesson: notebook 03 (``03_confounding_by_accuracy``).
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from ._checks import InstanceOf, Interval, Options, ParameterError, validate_params
from ._frame_checks import CI, COUNT, NAME, NAMES, SEED, check_frame, row_mask

__all__ = ["match_to_reference", "matched_difference", "confounding_verdict", "method_verdicts",
           "family_brief", "VERDICTS"]

#: The outcomes of :func:`confounding_verdict`.
VERDICTS = ("survives", "shrinks", "vanishes", "inconclusive", "reverses", "appears", "none",
            "not measurable")


# --------------------------------------------------------------------------- matching


def _curve(ref: pd.DataFrame, accuracy: str, metric: str, how: str):
    """The reference accuracy -> metric curve of one seed: a function of accuracy and the
    accuracy range it covers (no extrapolation)."""
    pts = ref.groupby(accuracy, as_index=False)[metric].mean().sort_values(accuracy)
    if len(pts) < 2:
        return None, (np.nan, np.nan)
    xs, ys = pts[accuracy].to_numpy(float), pts[metric].to_numpy(float)
    if how == "interp":
        def f(a):
            return np.interp(a, xs, ys)
    else:
        import statsmodels.api as sm

        fit = sm.OLS(ys, sm.add_constant(xs)).fit()

        def f(a):
            return fit.predict(sm.add_constant(np.atleast_1d(np.asarray(a, float)),
                                               has_constant="add"))
    return f, (xs[0], xs[-1])


def match_to_reference(df: pd.DataFrame, *, metric: str, reference, baseline=None,
                       accuracy: str = "test_acc", seed: str = "seed",
                       curve: str = "interp", tolerance: float = 0.0) -> pd.DataFrame:
    """Each non-reference model's ``metric`` against the reference models of its seed at the
    same accuracy.

    The reference rows of a seed (dense models whose accuracy was lowered without sparsity:
    fewer epochs, narrower layers) trace an accuracy -> metric curve; each other row of that
    seed gets ``ref_at_acc`` = the curve at the row's accuracy and ``diff_matched`` =
    ``metric - ref_at_acc``. Rows whose accuracy lies outside the curve's range (widened by
    ``tolerance``) get NaN: extrapolating would invent dense models nobody trained.

    Args:
        df: one row per model, sparse and reference.
        metric: the attack-success column (``"auc"``, ``"defense_level"``, ...).
        reference: rows that trace the curve: a query string (``"method == 'dense'"``) or a
            boolean mask.
        baseline: optional rows (query or mask; one per seed) holding the unmodified dense
            model; adds ``diff_raw`` = ``metric`` minus the baseline's, the comparison that
            ignores accuracy.
        accuracy: the accuracy column.
        seed: the seed column; curves and baselines are per seed.
        curve: ``"interp"`` (piecewise linear through the reference points, means at tied
            accuracies) or ``"linear"`` (an OLS line, steadier with noisy references).
        tolerance: accuracy margin beyond the reference range still matched (with
            ``"interp"`` the curve is flat there).

    Returns:
        The non-reference rows with ``ref_at_acc``, ``diff_matched``, ``in_range`` (and
        ``baseline_metric``, ``diff_raw`` when ``baseline`` is given).

    Example:
        >>> ref = pd.DataFrame(dict(method="dense", seed=0, test_acc=[.6, .8, 1.],
        ...                         auc=[.5, .6, .7]))
        >>> sp = pd.DataFrame(dict(method="magnitude", seed=0, test_acc=[.7, .5], auc=[.5, .5]))
        >>> out = match_to_reference(pd.concat([ref, sp]), metric="auc",
        ...                          reference="method == 'dense'")
        >>> out[["ref_at_acc", "diff_matched"]].round(3).values.tolist()
        [[0.55, -0.05], [nan, nan]]
    """
    fn = "match_to_reference"
    validate_params(dict(curve=curve, metric=metric, accuracy=accuracy, seed=seed,
                         tolerance=tolerance),
                    dict(curve=[Options(("interp", "linear"))], metric=NAME, accuracy=NAME,
                         seed=NAME, tolerance=[Interval(float, 0, None)]), fn)
    d, is_ref, is_base = _reference_rows(df, reference, baseline, [metric, accuracy, seed], fn)
    out = []
    for s, part in d.groupby(seed, sort=True):
        other = _match_seed(part, is_ref[part.index], metric=metric, accuracy=accuracy,
                            curve=curve, tolerance=tolerance)
        if other is not None and is_base is not None:
            other = _with_baseline(other, part[is_base[part.index]], metric, f"{seed}={s!r}")
        if other is not None:
            out.append(other)
    if not out:
        raise ParameterError(f"The 'reference' parameter of {fn} must leave, for some "
                             f"{seed}, both reference and other rows. Got {reference!r}: no "
                             f"{seed} has both.")
    return pd.concat(out)


def _reference_rows(df, reference, baseline, columns: list, fn: str):
    """The rows with ``columns`` known, and the reference and baseline selectors on them."""
    metric, accuracy, seed = columns
    check_frame(df, fn, {"metric": metric, "accuracy": accuracy, "seed": seed})
    d = df.reset_index(drop=True)
    is_ref = pd.Series(row_mask(d, reference, "reference", fn), index=d.index)
    is_base = (pd.Series(row_mask(d, baseline, "baseline", fn), index=d.index)
               if baseline is not None else None)
    keep = d[columns].notna().all(axis=1)
    d, is_ref = d[keep], is_ref[keep]
    if not is_ref.any() or is_ref.all():
        raise ParameterError(f"The 'reference' parameter of {fn} must select some rows but not "
                             f"all. Got {reference!r}, which selects {int(is_ref.sum())} of "
                             f"{len(d)} rows.")
    return d, is_ref, is_base


def _match_seed(part: pd.DataFrame, is_ref: pd.Series, *, metric: str, accuracy: str,
                curve: str, tolerance: float) -> pd.DataFrame | None:
    """One seed's non-reference rows with ``in_range``, ``ref_at_acc``, ``diff_matched``."""
    ref, other = part[is_ref], part[~is_ref].copy()
    if other.empty:
        return None
    f, (lo, hi) = _curve(ref, accuracy, metric, curve)
    acc = other[accuracy].to_numpy(float)
    inside = (acc >= lo - tolerance) & (acc <= hi + tolerance) if f else np.zeros(len(acc), bool)
    other["in_range"] = inside
    other["ref_at_acc"] = np.where(inside, f(acc) if f else np.nan, np.nan)
    other["diff_matched"] = other[metric] - other["ref_at_acc"]
    return other


def _with_baseline(other: pd.DataFrame, base: pd.DataFrame, metric: str,
                   which: str) -> pd.DataFrame:
    if len(base) != 1:
        raise ParameterError(f"The 'baseline' parameter of match_to_reference must select "
                             f"exactly one row per seed. Got {len(base)} rows for {which}.")
    other["baseline_metric"] = float(base[metric].iloc[0])
    other["diff_raw"] = other[metric] - other["baseline_metric"]
    return other


def _interval(values: np.ndarray, how: str, ci: float, n_boot: int, seed: int):
    values = values[np.isfinite(values)]
    n = len(values)
    mean = float(values.mean()) if n else np.nan
    sd = float(values.std(ddof=1)) if n > 1 else np.nan
    if n < 2:
        return mean, sd, n, np.nan, np.nan
    if how == "t":
        lo, hi = stats.t.interval(ci, n - 1, loc=mean, scale=sd / np.sqrt(n)) if sd > 0 \
            else (mean, mean)
    else:
        res = stats.bootstrap((values,), np.mean, n_resamples=n_boot, confidence_level=ci,
                              method="percentile", random_state=np.random.default_rng(seed))
        lo, hi = res.confidence_interval.low, res.confidence_interval.high
    return mean, sd, n, float(lo), float(hi)


def matched_difference(matched: pd.DataFrame, *, by: str | Sequence[str] = "method",
                       seed: str = "seed", interval: str = "t", ci: float = 0.95,
                       n_boot: int = 2000, random_state: int = 0) -> pd.DataFrame:
    """Per group, the mean accuracy-matched difference with an interval over seeds.

    Within each (group, seed) the in-range differences are averaged; the seed means are then
    the independent units: their mean, sd, number and an interval. ``interval="t"`` is a
    t-interval on ``n_seeds - 1`` degrees of freedom (docs/methods.md section 6); ``"bootstrap"``
    resamples seed means (percentile; too narrow with 3 seeds). The same is done for
    ``diff_raw`` when present, twice: ``raw`` over the *same* in-range models as ``matched``
    (so that the two differ only by the matching, which is what a verdict compares), and
    ``raw_all`` over every model of the group, in range or not (the naive comparison).

    Args:
        matched: output of :func:`match_to_reference`.
        by: group column(s), e.g. ``"method"``.
        seed: the seed column.
        interval: ``"t"`` or ``"bootstrap"``.
        ci: confidence level.
        n_boot, random_state: bootstrap resamples and seed.

    Returns:
        One row per group: ``n_models`` (matched), ``n_outside`` (outside the reference
        range), and for ``matched`` (and ``raw``, ``raw_all``): ``*_diff, *_sd, *_n_seeds,
        *_lo, *_hi``.

    Example:
        >>> m = pd.DataFrame(dict(method="a", seed=[0, 1, 2], in_range=True,
        ...                       diff_matched=[-.1, -.12, -.08]))
        >>> r = matched_difference(m).iloc[0]
        >>> round(float(r.matched_diff), 3), bool(r.matched_hi < 0)
        (-0.1, True)
    """
    fn = "matched_difference"
    validate_params(dict(interval=interval, by=by, seed=seed, ci=ci, n_boot=n_boot,
                         random_state=random_state),
                    dict(interval=[Options(("t", "bootstrap"))], by=NAME + NAMES, seed=NAME,
                         ci=CI, n_boot=COUNT, random_state=SEED), fn)
    by = [by] if isinstance(by, str) else list(by)
    if not isinstance(matched, pd.DataFrame) or "diff_matched" not in matched.columns:
        raise ParameterError(f"The 'matched' parameter of {fn} must be the output of "
                             "match_to_reference (a DataFrame with 'diff_matched' and "
                             f"'in_range' columns). Got {type(matched).__name__} with columns "
                             f"{list(getattr(matched, 'columns', []))} instead.")
    d = check_frame(matched, fn, {"by": by, "seed": seed}, min_rows=1)
    kinds = [("matched", "matched", True)]
    if "diff_raw" in d.columns:
        kinds += [("raw", "raw", True), ("raw_all", "raw", False)]
    rows = [_group_row(dict(zip(by, key if isinstance(key, tuple) else (key,))), part, kinds,
                       seed=seed, interval=interval, ci=ci, n_boot=n_boot,
                       random_state=random_state)
            for key, part in d.groupby(by, sort=True)]
    return pd.DataFrame(rows).assign(interval=interval)


def _group_row(row: dict, part: pd.DataFrame, kinds: list, *, seed: str, interval: str,
               ci: float, n_boot: int, random_state: int) -> dict:
    """One group's row of :func:`matched_difference`: counts, then per kind the mean of the
    seed means with its interval."""
    inside = part.in_range.astype(bool)
    row.update(n_models=int(inside.sum()), n_outside=int((~inside).sum()))
    for kind, column, in_range_only in kinds:
        sel = part[inside] if in_range_only else part
        per_seed = sel.groupby(seed)[f"diff_{column}"].mean().to_numpy(float)
        mean, sd, n, lo, hi = _interval(per_seed, interval, ci, n_boot, random_state)
        row.update({f"{kind}_diff": mean, f"{kind}_sd": sd, f"{kind}_n_seeds": n,
                    f"{kind}_lo": lo, f"{kind}_hi": hi})
    return row


# --------------------------------------------------------------------------- verdicts


def _direction(est: float, lo: float, hi: float) -> int:
    from .metrics import verdict

    return {"up": 1, "down": -1}.get(verdict(est, lo, hi, higher="up", lower="down"), 0)


def confounding_verdict(raw: Sequence[float], controlled: Sequence[float], *,
                        label: str = "sparsity effect", fmt: str = "{:+.3f}",
                        control: str = "accuracy", detected=None) -> dict:
    """What happens to an effect once a covariate (by default accuracy) is controlled for.

    Each argument is ``(estimate, lo, hi)``. An estimate is *detectable* when its interval
    excludes 0. Outcomes (:data:`VERDICTS`):

    * ``"survives"``: both detectable with the same sign, and the raw estimate lies inside the
      controlled interval (no detectable change);
    * ``"shrinks"``: both detectable with the same sign, the controlled one smaller in size and
      the raw estimate outside its interval (``"grows"`` is reported as ``"survives"`` with the
      numbers);
    * ``"vanishes"``: raw detectable, controlled not, and the controlled interval excludes the
      raw estimate (control moved the estimate, not only widened its interval);
    * ``"inconclusive"``: raw detectable, controlled not, but the controlled interval still
      contains the raw estimate: the run cannot tell a vanished effect from a wider interval;
    * ``"reverses"``: both detectable with opposite signs;
    * ``"appears"``: raw not detectable, controlled detectable;
    * ``"none"``: neither detectable (within noise at this sample size);
    * ``"not measurable"``: an estimate or interval is NaN (e.g. no sparse model inside the
      reference models' accuracy range).

    Args:
        raw, controlled: ``(estimate, lo, hi)`` before and after control.
        detected: optional ``(raw_detected, controlled_detected)`` flags replacing "the
            interval excludes 0" (e.g. Holm's decisions in a family of comparisons,
            :func:`sparsepriv_nb.families.holm_verdicts`).
        label: what the effect is, at the start of ``text``.
        fmt: number format in ``text``.
        control: what was controlled for, as ``text`` names it (``"accuracy"``,
            ``"the generalisation gap"``, ``"matched accuracy"``).

    Returns:
        ``{"verdict", "text", "raw", "controlled"}``; ``text`` states the numbers.

    Example:
        >>> confounding_verdict((-0.08, -0.12, -0.04), (-0.01, -0.05, 0.03))["verdict"]
        'vanishes'
        >>> confounding_verdict((0.2, 0.1, 0.3), (0.0, -0.1, 0.1), label="x",
        ...                     control="the generalisation gap")["text"][:60]
        'x: vanishes once the generalisation gap is controlled for (t'
        >>> confounding_verdict((-0.08, -0.12, -0.04), (-0.03, -0.05, -0.01))["verdict"]
        'shrinks'
        >>> confounding_verdict((-0.08, -0.12, -0.04), (-0.03, -0.09, 0.03))["verdict"]
        'inconclusive'
    """
    validate_params(dict(raw=raw, controlled=controlled, label=label, fmt=fmt, control=control),
                    dict(raw=_TRIPLE, controlled=_TRIPLE, label=[InstanceOf(str, "a str")],
                         fmt=[InstanceOf(str, "a format string such as '{:+.3f}'",
                                         _formats_a_number)],
                         control=[InstanceOf(str, "a non-empty str naming the covariate",
                                             lambda v: bool(v.strip()))]),
                    "confounding_verdict")
    if detected is not None and not (len(detected) == 2
                                     and all(isinstance(d, (bool, np.bool_)) for d in detected)):
        raise ParameterError("The 'detected' parameter of confounding_verdict must be None or "
                             f"two booleans (raw, controlled). Got {detected!r} instead.")
    vals = [tuple(float(v) for v in raw), tuple(float(v) for v in controlled)]
    v = _classify(*vals[0], *vals[1], detected=detected)
    (r, rlo, rhi), (c, clo, chi) = vals
    f, k = fmt.format, control
    nums = f"raw {f(r)} [{f(rlo)}, {f(rhi)}], controlled for {k} {f(c)} [{f(clo)}, {f(chi)}]"
    return {"verdict": v, "text": f"{label}: {_VERDICT_WORDS[v].format(k=k)}; {nums}.",
            "raw": vals[0], "controlled": vals[1]}


_TRIPLE = [InstanceOf((tuple, list, np.ndarray, pd.Series), "(estimate, lo, hi), three numbers",
                      lambda t: len(t) == 3 and all(isinstance(v, numbers.Real) for v in t))]
_VERDICT_WORDS = {
    "survives": "survives control for {k}",
    "shrinks": "shrinks once {k} is controlled for, but stays detectable",
    "vanishes": "vanishes once {k} is controlled for (the controlled interval covers 0 and "
                "excludes the raw estimate)",
    "inconclusive": "detectable raw, not once {k} is controlled for, but the controlled interval "
                    "still contains the raw estimate (the run cannot tell)",
    "reverses": "reverses sign once {k} is controlled for",
    "appears": "within noise raw, detectable once {k} is controlled for",
    "none": "not detectable, raw or controlled (within noise at this sample size)",
    "not measurable": "cannot be compared here (an estimate or its interval is missing)",
}


def _formats_a_number(fmt: str) -> bool:
    try:
        fmt.format(0.5)
    except (ValueError, IndexError, KeyError):
        return False
    return True


def _classify(r: float, rlo: float, rhi: float, c: float, clo: float, chi: float, *,
              detected=None) -> str:
    """One of :data:`VERDICTS` for a raw and a controlled ``(estimate, lo, hi)``."""
    if not np.isfinite([r, rlo, rhi, c, clo, chi]).all():
        return "not measurable"
    dr, dc = _direction(r, rlo, rhi), _direction(c, clo, chi)
    if detected is not None:  # e.g. Holm's decisions: detected means a non-zero sign
        dr = int(np.sign(r)) if detected[0] else 0
        dc = int(np.sign(c)) if detected[1] else 0
    if dr and dc:
        if dr != dc:
            return "reverses"
        return "shrinks" if abs(c) < abs(r) and not clo <= r <= chi else "survives"
    if dr:
        return "inconclusive" if clo <= r <= chi else "vanishes"
    return "appears" if dc else "none"


# --------------------------------------------------------------------------- families


def _seed_t_p(diff: float, sd: float, n: int) -> float:
    """Two-sided one-sample t-test p-value of a mean of ``n`` seed means with sd ``sd``."""
    if not (n > 1 and np.isfinite(sd) and sd > 0 and np.isfinite(diff)):
        return float("nan")
    return float(2 * stats.t.sf(abs(diff) / (sd / np.sqrt(n)), n - 1))


def _family_sentence(row, detected: bool) -> str:
    """A family member's sentence; a null whose unadjusted interval excludes 0 says why it is
    still a null (the family-wise test), so the two never read as a contradiction."""
    if not detected and (row.lo > 0 or row.hi < 0):
        return (f"{row.sentence} (Holm p = {row.p_holm:.2g}: the unadjusted interval excludes 0, "
                "the family-wise test does not)")
    return row.sentence


def method_verdicts(frames: dict, *, reference, baseline, by: str = "method",
                    alpha: float = 0.05, control: str = "accuracy (by matching)",
                    curve: str = "interp"):
    """Raw and accuracy-matched differences of every (attack, method), decided as two
    families of comparisons with Holm's correction, and one :func:`confounding_verdict` word
    per row from those decisions.

    Args:
        frames: ``{attack: one-attack sweep frame}`` (as :func:`match_to_reference` takes).
        reference, baseline: as in :func:`match_to_reference`.
        by: the group column (``"method"``).
        alpha: the family-wise error rate.
        control: how the verdict text names the control.
        curve: the reference curve, as in :func:`match_to_reference`.

    Returns:
        ``(table, families)``: one row per (attack, method) with the :func:`matched_difference`
        columns, ``verdict``, ``text``, and ``raw_sentence`` / ``matched_sentence`` (a null
        states its minimum detectable difference); ``families`` maps ``"raw"`` and
        ``"matched"`` to :class:`sparsepriv_nb.families.Family` (p-values: seed-level t-tests;
        MDEs at Holm's strictest step, two-sided ``alpha / m`` for ``m`` comparisons, with t
        quantiles on ``n_seeds - 1`` degrees of freedom: ``(t_{1 - alpha/(2m)} + t_{0.8}) SE``).
    """
    from .families import holm_verdicts

    parts = []
    for attack, frame in frames.items():
        m = match_to_reference(frame, metric="auc", reference=reference, baseline=baseline,
                               curve=curve)
        parts.append(matched_difference(m, by=by).assign(attack=attack))
    table = pd.concat(parts, ignore_index=True)
    families = {k: holm_verdicts(
        [{"name": f"{r.attack}/{getattr(r, by)}", "diff": getattr(r, f"{k}_diff"),
          "lo": getattr(r, f"{k}_lo"), "hi": getattr(r, f"{k}_hi"),
          "p": _seed_t_p(getattr(r, f"{k}_diff"), getattr(r, f"{k}_sd"),
                         getattr(r, f"{k}_n_seeds"))} for r in table.itertuples()],
        alpha=alpha, df=[n - 1 if n > 1 else None for n in table[f"{k}_n_seeds"]])
        for k in ("raw", "matched")}
    found = {k: f.frame.verdict.isin(["higher", "lower"]).to_numpy() for k, f in families.items()}
    out = []
    for i, r in enumerate(table.itertuples()):
        v = confounding_verdict((r.raw_diff, r.raw_lo, r.raw_hi),
                                (r.matched_diff, r.matched_lo, r.matched_hi), control=control,
                                label=f"{getattr(r, by)} vs dense",
                                detected=(bool(found["raw"][i]), bool(found["matched"][i])))
        out.append({"verdict": v["verdict"], "text": v["text"].rstrip("."),
                    **{f"{k}_sentence": _family_sentence(f.frame.iloc[i], found[k][i])
                       for k, f in families.items()},
                    **{f"{k}_detected": bool(found[k][i]) for k in families}})
    return pd.concat([table, pd.DataFrame(out)], axis=1), families


def family_brief(family, *, digits: int = 3) -> str:
    """One clause naming a family's detectable comparisons (with their intervals) and, for the
    others, the range of their estimates and of their minimum detectable differences.

    Names ``attack/method`` of one attack are shortened to the method.

    Example:
        >>> from sparsepriv_nb.families import holm_verdicts
        >>> fam = holm_verdicts([{"name": "a/imp", "diff": 0.01, "lo": -0.05, "hi": 0.07},
        ...                      {"name": "a/random", "diff": -0.10, "lo": -0.14, "hi": -0.06}])
        >>> family_brief(fam)
        'random -0.100 [-0.140, -0.060] detectable; not detectable: imp (estimate +0.010; could detect |Δ| ≥ 0.094)'
    """  # noqa: E501
    from .metrics import NO_DIFFERENCE

    f = family.frame.copy()
    prefixes = {str(n).split("/")[0] for n in f["name"]}
    if len(prefixes) == 1 and all("/" in str(n) for n in f["name"]):
        f["name"] = [str(n).split("/", 1)[1] for n in f["name"]]
    hit = ~f["verdict"].isin([NO_DIFFERENCE, "not measurable here"])
    d = f"+.{digits}f"
    found = " and ".join(f"{r.name} {r.diff:{d}} [{r.lo:{d}}, {r.hi:{d}}]"
                         for r in f[hit].itertuples())
    rest = f[~hit & f["diff"].notna()]
    if rest.empty:
        return f"{found} detectable" if found else "none detectable"
    head = f"{found} detectable; not detectable: " if found else "none detectable: "
    if len(rest) == 1:
        r = rest.iloc[0]
        return (head + f"{r['name']} (estimate {r['diff']:{d}}; could detect "
                f"|Δ| ≥ {r['mde']:.{digits}f})")
    lo_m, hi_m = rest.loc[rest["mde"].idxmin()], rest.loc[rest["mde"].idxmax()]
    return (head + f"{', '.join(rest['name'])} (estimates {rest['diff'].min():{d}} to "
            f"{rest['diff'].max():{d}}; could detect |Δ| ≥ {lo_m['mde']:.{digits}f} for "
            f"{lo_m['name']} to {hi_m['mde']:.{digits}f} for {hi_m['name']})")
