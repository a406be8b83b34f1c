"""Sweep statistics: is it sparsity, or the accuracy that sparsity costs? (notebook 03)

Sparser models tend to be less accurate *and* less attackable (Gonon et al., seed 000), so a
dense-vs-sparse comparison mixes two effects. This module holds the tools that separate them,
each built on SciPy / statsmodels rather than hand-written algebra:

* :func:`correlations`: Pearson (or Spearman) correlations among sweep columns, with a Fisher
  z interval or a bootstrap over seeds (clusters);
* :func:`partial_correlation`: the correlation of two columns after removing what covariates
  explain (both residualised by statsmodels OLS), with a Fisher z interval on ``n - 3 - k``;
* :func:`regress`: an OLS formula fit (statsmodels) with 95 % intervals, errors clustered by
  seed by default (the seed fixes the data pools every model of that seed shares);
* :func:`match_to_reference` and :func:`matched_difference`: the accuracy-matched comparison:
  each sparse model against the reference (dense) models' accuracy -> attack curve of its
  seed, interpolated at its own accuracy, then a per-method difference with an interval over
  seeds;
* :func:`confounding_verdict`: a raw and a controlled estimate with their intervals ->
  whether the effect survives, shrinks, vanishes, reverses or appears;
* :func:`simulate_confounding`: a toy where the answer is known, to see the tools work.

All functions take a tidy frame with one row per model. Sweep records have one row per
model x attack: select one attack first (``df[df.attack == "loss"]``); the functions refuse a
frame that mixes attacks.

Example:
    >>> toy = simulate_confounding(400, direct_effect=0.0, seed=0)
    >>> raw = partial_correlation(toy, "x", "y", [])
    >>> controlled = partial_correlation(toy, "x", "y", ["z"])
    >>> bool(raw["r"] > 0.3), bool(controlled["lo"] < 0 < controlled["hi"])
    (True, True)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["simulate_confounding", "correlations", "partial_correlation", "fit_ols", "regress",
           "coef_table", "match_to_reference", "matched_difference", "confounding_verdict",
           "VERDICTS"]

#: The outcomes of :func:`confounding_verdict`.
VERDICTS = ("survives", "shrinks", "vanishes", "reverses", "appears", "none",
            "not measurable")


# --------------------------------------------------------------------------- checks


def _check_frame(df, columns: Sequence[str], fn: str, *, min_rows: int = 3) -> pd.DataFrame:
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"The 'df' parameter of {fn} must be a pandas DataFrame. Got "
                        f"{type(df).__name__} instead.")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"The 'df' parameter of {fn} lacks columns {missing}; it has "
                         f"{list(df.columns)}.")
    if "attack" in df.columns and df["attack"].nunique() > 1:
        raise ValueError(f"The 'df' parameter of {fn} mixes attacks "
                         f"{sorted(df['attack'].unique())}; rows must be one per model: "
                         "select one attack first, e.g. df[df.attack == 'loss'].")
    d = df.dropna(subset=list(columns))
    if len(d) < min_rows:
        raise ValueError(f"{fn} needs at least {min_rows} rows without NaN in {list(columns)}. "
                         f"Got {len(d)}.")
    return d


def _check_ci(ci, fn: str) -> float:
    if isinstance(ci, bool) or not isinstance(ci, (int, float)) or not 0 < ci < 1:
        raise ValueError(f"The 'ci' parameter of {fn} must be a float in (0, 1). Got {ci!r} "
                         "instead.")
    return float(ci)


def _mask(df: pd.DataFrame, rows, param: str, fn: str) -> np.ndarray:
    """A boolean row selector (positional) from a query string or a boolean Series / array."""
    if isinstance(rows, str):
        try:
            return np.asarray(df.eval(rows), dtype=bool)
        except Exception as exc:
            raise ValueError(f"The '{param}' parameter of {fn} is not a valid query on the "
                             f"frame's columns: {rows!r} ({exc}).") from exc
    m = np.asarray(rows)
    if m.dtype != bool or m.shape != (len(df),):
        raise ValueError(f"The '{param}' parameter of {fn} must be a query string (e.g. "
                         f"\"method == 'dense'\") or a boolean mask of {len(df)} rows. "
                         f"Got {rows!r} instead.")
    return m


# --------------------------------------------------------------------------- toy


def simulate_confounding(n: int = 200, *, direct_effect: float = 0.0,
                         confounding: float = 1.0, noise: float = 1.0,
                         seed: int = 0) -> pd.DataFrame:
    """A toy data set where a third variable ``z`` drives both ``x`` and ``y``.

    ``z ~ N(0, 1)``; ``x = confounding * z + e_x``; ``y = confounding * z + direct_effect * x
    + e_y``, with ``e ~ N(0, noise^2)``. With ``direct_effect = 0`` the raw correlation of
    ``x`` and ``y`` is entirely spurious (``confounding^2 / (confounding^2 + noise^2)`` in the
    limit), and the partial correlation given ``z`` is 0. Read it as ``x`` = density,
    ``z`` = test accuracy, ``y`` = attack success.

    Args:
        n: number of rows (>= 10).
        direct_effect: the true effect of ``x`` on ``y`` once ``z`` is held fixed.
        confounding: how strongly ``z`` drives ``x`` and ``y``.
        noise: standard deviation of the independent noise terms (> 0).
        seed: NumPy generator seed.

    Returns:
        DataFrame with columns ``x``, ``y``, ``z``.

    Example:
        >>> toy = simulate_confounding(5000, seed=1)
        >>> round(float(toy[["x", "y"]].corr().iloc[0, 1]), 1)
        0.5
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 10:
        raise ValueError(f"The 'n' parameter of simulate_confounding must be an int >= 10. "
                         f"Got {n!r} instead.")
    if not noise > 0:
        raise ValueError(f"The 'noise' parameter of simulate_confounding must be > 0. Got "
                         f"{noise!r} instead.")
    rng = np.random.default_rng(seed)
    z = rng.standard_normal(n)
    x = confounding * z + noise * rng.standard_normal(n)
    y = confounding * z + direct_effect * x + noise * rng.standard_normal(n)
    return pd.DataFrame({"x": x, "y": y, "z": z})


# --------------------------------------------------------------------------- correlations


def _corr(a: np.ndarray, b: np.ndarray, method: str) -> float:
    if method == "spearman":
        return float(stats.spearmanr(a, b).statistic)
    return float(stats.pearsonr(a, b).statistic)


def _cluster_bootstrap(d: pd.DataFrame, cluster: str, statistic, *, n_boot: int, ci: float,
                       seed: int) -> tuple[float, float]:
    """Percentile interval of ``statistic(frame)`` over resampled clusters (scipy.stats.bootstrap
    draws the cluster ids; every row of a drawn cluster comes along)."""
    groups = {g: part for g, part in d.groupby(cluster)}
    ids = np.arange(len(groups))
    parts = list(groups.values())
    if len(parts) < 2:
        raise ValueError(f"A bootstrap over '{cluster}' needs at least 2 clusters. Got "
                         f"{len(parts)}.")

    def stat(sample):
        return statistic(pd.concat([parts[int(i)] for i in sample], ignore_index=True))

    res = stats.bootstrap((ids,), stat, n_resamples=n_boot, confidence_level=ci,
                          method="percentile", vectorized=False,
                          random_state=np.random.default_rng(seed))
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def correlations(df: pd.DataFrame, columns: Sequence[str], *, method: str = "pearson",
                 ci: float = 0.95, bootstrap: str | None = None, n_boot: int = 2000,
                 seed: int = 0) -> pd.DataFrame:
    """Pairwise correlations among ``columns`` with intervals.

    Args:
        df: one row per model (see the module docstring).
        columns: at least two numeric columns.
        method: ``"pearson"`` or ``"spearman"`` (rank correlation; its Fisher z interval is
            the Pearson one on ranks, an approximation).
        ci: confidence level.
        bootstrap: ``None`` for the Fisher z interval (rows treated as independent), or a
            column (``"seed"``) whose clusters are resampled with replacement, a percentile
            interval that respects the rows shared by a seed. With few clusters (3 seeds give
            10 distinct resamples) it is coarse and too narrow: prefer more seeds.
        n_boot: bootstrap resamples.
        seed: bootstrap generator seed.

    Returns:
        DataFrame, one row per pair: ``x, y, r, lo, hi, p, n, interval``.

    Example:
        >>> toy = simulate_confounding(300, seed=0)
        >>> correlations(toy, ["x", "y", "z"])[["x", "y"]].values.tolist()
        [['x', 'y'], ['x', 'z'], ['y', 'z']]
    """
    from ._checks import check_choice

    check_choice(method, ("pearson", "spearman"), "method", "correlations")
    ci = _check_ci(ci, "correlations")
    if len(columns) < 2:
        raise ValueError(f"The 'columns' parameter of correlations needs at least 2 columns. "
                         f"Got {list(columns)!r}.")
    need = list(columns) + ([bootstrap] if bootstrap else [])
    d = _check_frame(df, need, "correlations", min_rows=4)
    rows = []
    for i, a in enumerate(columns):
        for b in columns[i + 1:]:
            x, y = d[a].to_numpy(float), d[b].to_numpy(float)
            if method == "spearman":
                x, y = stats.rankdata(x), stats.rankdata(y)
            res = stats.pearsonr(x, y)
            if bootstrap:
                lo, hi = _cluster_bootstrap(
                    d, bootstrap, lambda f, a=a, b=b: _corr(f[a].to_numpy(float),
                                                            f[b].to_numpy(float), method),
                    n_boot=n_boot, ci=ci, seed=seed)
                how = f"bootstrap over {bootstrap} ({d[bootstrap].nunique()} clusters)"
            else:
                lo, hi = res.confidence_interval(confidence_level=ci)
                how = "Fisher z"
            rows.append({"x": a, "y": b, "r": float(res.statistic), "lo": float(lo),
                         "hi": float(hi), "p": float(res.pvalue), "n": len(d),
                         "interval": how})
    return pd.DataFrame(rows)


def partial_correlation(df: pd.DataFrame, x: str, y: str, covariates: Sequence[str], *,
                        ci: float = 0.95) -> dict:
    """Correlation of ``x`` and ``y`` once linear effects of ``covariates`` are removed.

    Both ``x`` and ``y`` are residualised on ``[1, covariates]`` with statsmodels OLS; ``r`` is
    the Pearson correlation of the residuals. Its interval is Fisher's z with standard error
    ``1 / sqrt(n - 3 - k)`` (k covariates); ``p`` is the OLS t-test of ``x`` in
    ``y ~ x + covariates``, which tests the same hypothesis exactly. With no covariates this
    is the plain correlation.

    Args:
        df: one row per model.
        x, y: the two columns.
        covariates: columns held fixed (may be empty).
        ci: confidence level.

    Returns:
        ``{"x", "y", "covariates", "r", "lo", "hi", "p", "n"}``.

    Example:
        >>> toy = simulate_confounding(400, direct_effect=0.5, seed=0)
        >>> pc = partial_correlation(toy, "x", "y", ["z"])
        >>> bool(pc["lo"] > 0)
        True
    """
    import statsmodels.api as sm

    ci = _check_ci(ci, "partial_correlation")
    covariates = list(covariates)
    if x in covariates or y in covariates or x == y:
        raise ValueError(f"partial_correlation: 'x' ({x!r}) and 'y' ({y!r}) must differ and "
                         f"not be among the covariates {covariates}.")
    k = len(covariates)
    d = _check_frame(df, [x, y, *covariates], "partial_correlation", min_rows=k + 4)
    exog = sm.add_constant(d[covariates].to_numpy(float), has_constant="add")
    rx = sm.OLS(d[x].to_numpy(float), exog).fit().resid
    ry = sm.OLS(d[y].to_numpy(float), exog).fit().resid
    n = len(d)
    r = float(stats.pearsonr(rx, ry).statistic)
    full = sm.OLS(d[y].to_numpy(float),
                  np.column_stack([exog, d[x].to_numpy(float)])).fit()
    q = stats.norm.ppf(0.5 + ci / 2)
    z, se = np.arctanh(np.clip(r, -1 + 1e-15, 1 - 1e-15)), 1 / np.sqrt(n - 3 - k)
    return {"x": x, "y": y, "covariates": tuple(covariates), "r": r,
            "lo": float(np.tanh(z - q * se)), "hi": float(np.tanh(z + q * se)),
            "p": float(full.pvalues[-1]), "n": n}


# --------------------------------------------------------------------------- regression


def fit_ols(df: pd.DataFrame, formula: str, *, cluster: str | None = "seed",
            cov_type: str | None = None):
    """Fit ``formula`` (statsmodels / patsy syntax) by OLS with robust standard errors.

    Args:
        df: one row per model.
        formula: e.g. ``"auc ~ density_achieved + test_acc"``.
        cluster: column whose groups share errors (default ``"seed"``: models of one seed
            share data pools). Cluster-robust errors with a t reference on ``G - 1`` degrees of
            freedom (statsmodels' ``use_t``), so that 3 seeds give honest, wide intervals.
            ``None``: rows independent.
        cov_type: statsmodels covariance type; default ``"cluster"`` when ``cluster`` is set,
            else ``"HC3"``. ``"nonrobust"`` gives the textbook OLS errors.

    Returns:
        statsmodels ``RegressionResults``.

    Example:
        >>> toy = simulate_confounding(200, seed=0).assign(seed=np.arange(200) % 10)
        >>> res = fit_ols(toy, "y ~ x + z")
        >>> res.cov_type, int(res.df_resid)
        ('cluster', 197)
    """
    import statsmodels.formula.api as smf

    if not isinstance(formula, str) or "~" not in formula:
        raise ValueError(f"The 'formula' parameter of fit_ols must be a string like "
                         f"'auc ~ density_achieved + test_acc'. Got {formula!r} instead.")
    if "attack" in df.columns and df["attack"].nunique() > 1:
        _check_frame(df, [], "fit_ols")  # raises the 'mixes attacks' error
    cov_type = cov_type or ("cluster" if cluster else "HC3")
    model = smf.ols(formula, data=df, missing="drop")
    if cov_type == "cluster":
        if cluster is None or cluster not in df.columns:
            raise ValueError(f"fit_ols: cov_type='cluster' needs a 'cluster' column of df. Got "
                             f"cluster={cluster!r}.")
        groups = df.loc[model.data.row_labels, cluster]
        if groups.nunique() < 2:
            raise ValueError(f"fit_ols: clustering by {cluster!r} needs at least 2 groups. Got "
                             f"{groups.nunique()}.")
        codes = pd.factorize(groups)[0]
        return model.fit(cov_type="cluster", cov_kwds={"groups": codes}, use_t=True)
    return model.fit(cov_type=cov_type, use_t=True)


def coef_table(results, *, ci: float = 0.95) -> pd.DataFrame:
    """Tidy coefficients of a statsmodels fit: ``term, coef, se, lo, hi, p`` plus ``n``,
    ``n_groups`` (clusters, or NaN) and ``cov_type``."""
    ci = _check_ci(ci, "coef_table")
    conf = results.conf_int(alpha=1 - ci)
    groups = getattr(results, "n_groups", None) if results.cov_type == "cluster" else None
    if groups is None and results.cov_type == "cluster":
        groups = len(np.unique(results.cov_kwds["groups"]))
    out = pd.DataFrame({
        "term": results.params.index, "coef": results.params.to_numpy(),
        "se": results.bse.to_numpy(), "lo": conf.iloc[:, 0].to_numpy(),
        "hi": conf.iloc[:, 1].to_numpy(), "p": results.pvalues.to_numpy()})
    return out.assign(n=int(results.nobs), n_groups=np.nan if groups is None else groups,
                      cov_type=results.cov_type)


def regress(df: pd.DataFrame, formula: str, *, cluster: str | None = "seed",
            cov_type: str | None = None, ci: float = 0.95) -> pd.DataFrame:
    """:func:`fit_ols` then :func:`coef_table`: coefficients with ``ci`` intervals.

    Example:
        >>> toy = simulate_confounding(300, seed=0).assign(seed=np.arange(300) % 10)
        >>> t = regress(toy, "y ~ x + z").set_index("term")
        >>> bool(t.loc["x", "lo"] < 0 < t.loc["x", "hi"]), bool(t.loc["z", "lo"] > 0.5)
        (True, True)
    """
    return coef_table(fit_ols(df, formula, cluster=cluster, cov_type=cov_type), ci=ci)


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
    from ._checks import check_choice

    fn = "match_to_reference"
    check_choice(curve, ("interp", "linear"), "curve", fn)
    if not tolerance >= 0:
        raise ValueError(f"The 'tolerance' parameter of {fn} must be >= 0. Got {tolerance!r}.")
    _check_frame(df, [metric, accuracy, seed], fn)
    d = df.reset_index(drop=True)
    is_ref = pd.Series(_mask(d, reference, "reference", fn), index=d.index)
    is_base = (pd.Series(_mask(d, baseline, "baseline", fn), index=d.index)
               if baseline is not None else None)
    keep = d[[metric, accuracy, seed]].notna().all(axis=1)
    d, is_ref = d[keep], is_ref[keep]
    if not is_ref.any() or is_ref.all():
        raise ValueError(f"The 'reference' parameter of {fn} must select some rows but not all. "
                         f"Got {int(is_ref.sum())} of {len(d)} rows for {reference!r}.")
    out = []
    for s, part in d.groupby(seed, sort=True):
        ref, other = part[is_ref[part.index]], part[~is_ref[part.index]].copy()
        if other.empty:
            continue
        f, (lo, hi) = _curve(ref, accuracy, metric, curve)
        acc = other[accuracy].to_numpy(float)
        inside = (acc >= lo - tolerance) & (acc <= hi + tolerance) if f else np.zeros(len(acc),
                                                                                       bool)
        other["in_range"] = inside
        other["ref_at_acc"] = np.where(inside, f(acc) if f else np.nan, np.nan)
        other["diff_matched"] = other[metric] - other["ref_at_acc"]
        if is_base is not None:
            base = part[is_base[part.index]]
            if len(base) != 1:
                raise ValueError(f"The 'baseline' parameter of {fn} must select exactly one row "
                                 f"per {seed}; {seed}={s!r} has {len(base)}.")
            other["baseline_metric"] = float(base[metric].iloc[0])
            other["diff_raw"] = other[metric] - other["baseline_metric"]
        out.append(other)
    if not out:
        raise ValueError(f"{fn}: no seed has both reference and other rows.")
    return pd.concat(out)


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
    from ._checks import check_choice

    fn = "matched_difference"
    check_choice(interval, ("t", "bootstrap"), "interval", fn)
    ci = _check_ci(ci, fn)
    by = [by] if isinstance(by, str) else list(by)
    d = _check_frame(matched, [*by, seed, "in_range"], fn, min_rows=1)
    if "diff_matched" not in d.columns:
        raise ValueError(f"The 'matched' parameter of {fn} lacks the 'diff_matched' column: "
                         "pass the output of match_to_reference.")
    kinds = [("matched", "matched", True)]
    if "diff_raw" in d.columns:
        kinds += [("raw", "raw", True), ("raw_all", "raw", False)]
    rows = []
    for key, part in d.groupby(by, sort=True):
        key = key if isinstance(key, tuple) else (key,)
        inside = part.in_range.astype(bool)
        row = dict(zip(by, key), n_models=int(inside.sum()), n_outside=int((~inside).sum()))
        for kind, column, in_range_only in kinds:
            sel = part[inside] if in_range_only else part
            per_seed = sel.groupby(seed)[f"diff_{column}"].mean().to_numpy(float)
            mean, sd, n, lo, hi = _interval(per_seed, interval, ci, n_boot, random_state)
            row.update({f"{kind}_diff": mean, f"{kind}_sd": sd, f"{kind}_n_seeds": n,
                        f"{kind}_lo": lo, f"{kind}_hi": hi})
        rows.append(row)
    return pd.DataFrame(rows).assign(interval=interval)


# --------------------------------------------------------------------------- verdicts


def _direction(est: float, lo: float, hi: float) -> int:
    from .metrics import verdict

    return {"up": 1, "down": -1}.get(verdict(est, lo, hi, higher="up", lower="down"), 0)


def confounding_verdict(raw: Sequence[float], controlled: Sequence[float], *,
                        label: str = "sparsity effect", fmt: str = "{:+.3f}",
                        control: str = "accuracy") -> dict:
    """What happens to an effect once a covariate (by default accuracy) is controlled for.

    Each argument is ``(estimate, lo, hi)``. An estimate is *detectable* when its interval
    excludes 0. Outcomes (:data:`VERDICTS`):

    * ``"survives"``: both detectable with the same sign, and the raw estimate lies inside the
      controlled interval (no detectable change);
    * ``"shrinks"``: both detectable with the same sign, the controlled one smaller in size and
      the raw estimate outside its interval (``"grows"`` is reported as ``"survives"`` with the
      numbers);
    * ``"vanishes"``: raw detectable, controlled not;
    * ``"reverses"``: both detectable with opposite signs;
    * ``"appears"``: raw not detectable, controlled detectable;
    * ``"none"``: neither detectable (within noise at this sample size);
    * ``"not measurable"``: an estimate or interval is NaN (e.g. no sparse model inside the
      reference models' accuracy range).

    Args:
        raw, controlled: ``(estimate, lo, hi)`` before and after control.
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
    """
    vals = []
    for name, t in (("raw", raw), ("controlled", controlled)):
        if len(t) != 3:
            raise ValueError(f"The '{name}' parameter of confounding_verdict must be "
                             f"(estimate, lo, hi). Got {t!r} instead.")
        vals.append(tuple(float(v) for v in t))
    (r, rlo, rhi), (c, clo, chi) = vals
    measurable = np.isfinite([r, rlo, rhi, c, clo, chi]).all()
    dr, dc = (_direction(r, rlo, rhi), _direction(c, clo, chi)) if measurable else (0, 0)
    if not measurable:
        v = "not measurable"
    elif dr and dc:
        if dr != dc:
            v = "reverses"
        elif abs(c) < abs(r) and not clo <= r <= chi:
            v = "shrinks"
        else:
            v = "survives"
    elif dr:
        v = "vanishes"
    elif dc:
        v = "appears"
    else:
        v = "none"
    if not isinstance(control, str) or not control.strip():
        raise ValueError("The 'control' parameter of confounding_verdict must be a non-empty "
                         f"string naming the covariate. Got {control!r} instead.")
    f, k = fmt.format, control
    nums = f"raw {f(r)} [{f(rlo)}, {f(rhi)}], controlled for {k} {f(c)} [{f(clo)}, {f(chi)}]"
    words = {
        "survives": f"survives control for {k}",
        "shrinks": f"shrinks once {k} is controlled for, but stays detectable",
        "vanishes": f"vanishes once {k} is controlled for (the controlled interval covers 0)",
        "reverses": f"reverses sign once {k} is controlled for",
        "appears": f"within noise raw, detectable once {k} is controlled for",
        "none": "not detectable, raw or controlled (within noise at this sample size)",
        "not measurable": "cannot be compared here (an estimate or its interval is missing)",
    }
    return {"verdict": v, "text": f"{label}: {words[v]}; {nums}.", "raw": vals[0],
            "controlled": vals[1]}
