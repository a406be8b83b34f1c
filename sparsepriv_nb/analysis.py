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

  (these three live in :mod:`sparsepriv_nb.matching` and are re-exported here)
* :func:`simulate_confounding`: a toy where the answer is known, to see the tools work;
* :func:`leakage_regime`: do the dense targets overfit and leak as the seed papers' do (train
  accuracy, generalisation gap and the strongest attack's AUC, each with an interval)?
* :func:`seed_slopes`: one regression coefficient per seed, the seed-level units of the
  minimum detectable slope (:func:`sparsepriv_nb.power.seed_mde`);
* :func:`slope_variants` and :func:`robustness_sentence`: one slope refitted on subsets of the
  models (does a detectable slope rest on a few of them?);
* :func:`paired_seed_spread`: the seed spread of a one-seed difference from the seed's own
  baseline model (paired, so not ``sqrt(2)`` times one model's seed sd).

All functions take a tidy frame with one row per model. Sweep records have one row per
model x attack: select one attack first (``df[df.attack == "loss"]``); the functions refuse a
frame that mixes attacks. Column names, queries and formulas are checked against the frame
(:mod:`sparsepriv_nb._frame_checks`): a name that is not a column is an error naming the
parameter, the value and the columns.

Example:
    >>> toy = simulate_confounding(400, direct_effect=0.0, seed=0)
    >>> raw = partial_correlation(toy, "x", "y", [])
    >>> controlled = partial_correlation(toy, "x", "y", ["z"])
    >>> bool(raw["r"] > 0.3), bool(controlled["lo"] < 0 < controlled["hi"])
    (True, True)

Lesson: notebook 03 (``03_confounding_by_accuracy``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from . import power
from ._checks import InstanceOf, Interval, Options, ParameterError, validate_params
from ._frame_checks import (CI, COUNT, FINITE, FORMULA_HINT, NAME, NAMES, SEED, TWO_NAMES,
                            check_columns, check_formula, check_frame, row_mask)
from .matching import (VERDICTS, confounding_verdict, family_brief, match_to_reference,
                       matched_difference, method_verdicts)

__all__ = ["simulate_confounding", "correlations", "partial_correlation", "fit_ols", "regress",
           "coef_table", "match_to_reference", "matched_difference", "confounding_verdict",
           "VERDICTS", "leakage_regime", "seed_slopes", "REGIME", "method_verdicts", "family_brief",
           "coef_with_mde", "regime_contrast", "slope_variants", "robustness_sentence",
           "paired_seed_spread"]


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
    validate_params(dict(n=n, direct_effect=direct_effect, confounding=confounding,
                         noise=noise, seed=seed),
                    dict(n=[Interval(int, 10, None)], direct_effect=FINITE,
                         confounding=FINITE, noise=[Interval(float, 0, None, "neither")],
                         seed=SEED), "simulate_confounding")
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
        raise ParameterError(f"The 'bootstrap' parameter of correlations must name a column "
                             f"with at least 2 clusters. Got {cluster!r}, with {len(parts)}.")

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
    fn = "correlations"
    validate_params(dict(method=method, columns=columns, bootstrap=bootstrap, ci=ci,
                         n_boot=n_boot, seed=seed),
                    dict(method=[Options(("pearson", "spearman"))], columns=TWO_NAMES,
                         bootstrap=NAME + [None], ci=CI, n_boot=COUNT, seed=SEED), fn)
    d = check_frame(df, fn, {"columns": list(columns),
                              **({"bootstrap": bootstrap} if bootstrap else {})}, min_rows=4)
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

    fn = "partial_correlation"
    validate_params(dict(x=x, y=y, covariates=covariates, ci=ci),
                    dict(x=NAME, y=NAME, covariates=NAMES, ci=CI), fn)
    covariates = list(covariates)
    if x in covariates or y in covariates or x == y:
        raise ParameterError(f"The 'x' and 'y' parameters of {fn} must be two different "
                             f"columns, neither among the covariates {covariates}. Got "
                             f"x={x!r}, y={y!r} instead.")
    k = len(covariates)
    d = check_frame(df, fn, {"x": x, "y": y, "covariates": covariates}, min_rows=k + 4)
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
    return _fit_ols(df, formula, cluster=cluster, cov_type=cov_type, fn="fit_ols")


def _fit_ols(df: pd.DataFrame, formula: str, *, cluster, cov_type, fn: str):
    import statsmodels.formula.api as smf

    check_frame(df, fn, {}, min_rows=0)
    check_formula(df, formula, fn, env=globals())  # statsmodels evaluates it here
    validate_params({"cluster": cluster}, {"cluster": NAME + [None]}, fn)
    validate_params({"cov_type": cov_type},
                    {"cov_type": [Options(("cluster", "nonrobust", "HC0", "HC1", "HC2", "HC3")),
                                  None]}, fn)
    cov_type = cov_type or ("cluster" if cluster else "HC3")
    if cov_type == "cluster":
        if cluster is None:
            raise ParameterError(f"The 'cluster' parameter of {fn} must name a column when "
                                 "cov_type='cluster'. Got None instead.")
        check_columns(df, {"cluster": cluster}, fn)
    try:
        model = smf.ols(formula, data=df, missing="drop")
    except Exception as exc:  # patsy's error: a formula it cannot parse or evaluate
        if not type(exc).__module__.startswith("patsy"):
            raise
        first = str(exc).splitlines()[0]
        raise ParameterError(f"The 'formula' parameter of {fn} must be {FORMULA_HINT}. Got "
                             f"{formula!r} instead ({first}).") from None
    if cov_type != "cluster":
        return model.fit(cov_type=cov_type, use_t=True)
    groups = df.loc[model.data.row_labels, cluster]
    if groups.nunique() < 2:
        raise ParameterError(f"The 'cluster' parameter of {fn} must name a column with at least "
                             f"2 groups among the rows fitted. Got {cluster!r}, with "
                             f"{groups.nunique()}.")
    codes = pd.factorize(groups)[0]
    return model.fit(cov_type="cluster", cov_kwds={"groups": codes}, use_t=True)


def coef_table(results, *, ci: float = 0.95) -> pd.DataFrame:
    """Tidy coefficients of a statsmodels fit: ``term, coef, se, lo, hi, p`` plus ``n``,
    ``n_groups`` (clusters, or NaN) and ``cov_type``."""
    validate_params({"ci": ci}, {"ci": CI}, "coef_table")
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


def coef_with_mde(coefs: pd.DataFrame, model: str, term: str = "log_density", *,
                  n_groups: int) -> tuple:
    """``(estimate, lo, hi, MDE)`` of one clustered coefficient of a table of fits.

    The MDE (power 0.8, two-sided 5 %) treats the coefficient as a mean over ``n_groups``
    clusters (seeds): the per-seed sd is ``se * sqrt(n_groups)``, passed to
    :func:`sparsepriv_nb.power.seed_mde`.

    Args:
        coefs: Rows of :func:`regress` tables with a ``model`` column naming each fit.
        model: Which fit.
        term: Which coefficient of it.
        n_groups: Number of clusters (seeds) behind the standard error.

    Example:
        >>> t = pd.DataFrame({"model": ["raw"], "term": ["log_density"], "coef": [0.1],
        ...                   "se": [0.02], "lo": [0.05], "hi": [0.15]})
        >>> [round(float(v), 4) for v in coef_with_mde(t, "raw", n_groups=5)]
        [0.1, 0.05, 0.15, 0.0743]
    """
    rows = coefs[(coefs.model == model) & (coefs.term == term)]
    if rows.empty:
        raise ParameterError(f"The 'model' and 'term' parameters of coef_with_mde must name a row "
                             f"of coefs. Got {model!r} and {term!r}.")
    r = rows.iloc[0]
    return r.coef, r.lo, r.hi, power.seed_mde(r.se * np.sqrt(n_groups), n_groups)


def regress(df: pd.DataFrame, formula: str, *, cluster: str | None = "seed",
            cov_type: str | None = None, ci: float = 0.95) -> pd.DataFrame:
    """:func:`fit_ols` then :func:`coef_table`: coefficients with ``ci`` intervals.

    Example:
        >>> toy = simulate_confounding(300, seed=0).assign(seed=np.arange(300) % 10)
        >>> t = regress(toy, "y ~ x + z").set_index("term")
        >>> bool(t.loc["x", "lo"] < 0 < t.loc["x", "hi"]), bool(t.loc["z", "lo"] > 0.5)
        (True, True)
    """
    validate_params({"ci": ci}, {"ci": CI}, "regress")
    return coef_table(_fit_ols(df, formula, cluster=cluster, cov_type=cov_type, fn="regress"),
                      ci=ci)


# --------------------------------------------------------------------------- regime and seeds

#: What "leaks as the seed papers' targets do" means here (issue 18): the dense target fits its
#: training set, generalises visibly worse, and the strongest attack beats chance clearly.
REGIME = {"train_acc": 0.99, "gen_gap": 0.10, "auc_lo": 0.65}


def leakage_regime(df: pd.DataFrame, *, seed: str = "seed", confidence: float = 0.95,
                   thresholds: dict | None = None) -> pd.DataFrame:
    """Per seed, whether the dense target is in the leaking regime of :data:`REGIME`.

    Args:
        df: the records of the dense targets, one row per (seed, attack), with ``train_acc``,
            ``test_acc``, ``n_members`` (as many non-members), ``auc``, ``auc_lo``, ``auc_hi``.
        seed: the seed column.
        confidence: of the Wilson intervals of the accuracies and the gap's normal interval
            (``sqrt(p_tr (1 - p_tr) / n + p_te (1 - p_te) / n)``).
        thresholds: overrides of :data:`REGIME`.

    Returns:
        One row per seed: ``train_acc`` (``_lo``, ``_hi``), ``test_acc``, ``gen_gap`` (``_lo``,
        ``_hi``), the strongest ``attack`` (highest AUC) with ``auc``, ``auc_lo``, ``auc_hi``,
        and ``leaks``: all three thresholds met (by the estimates; the AUC by its lower bound).

    Example:
        >>> rows = pd.DataFrame(dict(seed=0, attack=["loss", "lira"], train_acc=1.0,
        ...                          test_acc=0.8, n_members=500, auc=[0.64, 0.75],
        ...                          auc_lo=[0.61, 0.72], auc_hi=[0.67, 0.78]))
        >>> r = leakage_regime(rows).iloc[0]
        >>> r.attack, round(float(r.gen_gap), 2), bool(r.leaks)
        ('lira', 0.2, True)
    """
    from statsmodels.stats.proportion import proportion_confint

    fn = "leakage_regime"
    validate_params({"confidence": confidence, "seed": seed}, {"confidence": CI, "seed": NAME},
                    fn)
    need = ["train_acc", "test_acc", "n_members", "auc", "auc_lo", "auc_hi", seed]
    validate_params({"df": df}, {"df": [InstanceOf(pd.DataFrame, "a pandas DataFrame")]}, fn)
    check_columns(df, {"df": need}, fn)  # several attacks per model allowed: the strongest wins
    d = df.dropna(subset=need)
    if d.empty:
        raise ParameterError(f"The 'df' parameter of {fn} must have rows without NaN in {need}.")
    t = {**REGIME, **(thresholds or {})}
    z = stats.norm.ppf(0.5 + confidence / 2)
    rows = []
    for s, part in d.groupby(seed, sort=True):
        best = part.loc[part["auc"].idxmax()]
        n = int(best["n_members"])
        row = {seed: s, "n_members": n}
        for col in ("train_acc", "test_acc"):
            p = float(best[col])
            lo, hi = proportion_confint(round(p * n), n, alpha=1 - confidence, method="wilson")
            row.update({col: p, f"{col}_lo": float(lo), f"{col}_hi": float(hi)})
        gap = row["train_acc"] - row["test_acc"]
        se = np.sqrt(sum(row[c] * (1 - row[c]) for c in ("train_acc", "test_acc")) / n)
        row.update(gen_gap=gap, gen_gap_lo=float(gap - z * se), gen_gap_hi=float(gap + z * se),
                   attack=best.get("attack", ""), auc=float(best["auc"]),
                   auc_lo=float(best["auc_lo"]), auc_hi=float(best["auc_hi"]))
        row["leaks"] = bool(row["train_acc"] >= t["train_acc"] and gap >= t["gen_gap"]
                            and row["auc_lo"] > t["auc_lo"])
        rows.append(row)
    return pd.DataFrame(rows)


def regime_contrast(gap_a: pd.Series, gap_b: pd.Series, *, labels=("a", "b"),
                    factor: str = "the factor compared", threshold: float | None = None) -> dict:
    """Do two groups of targets whose leakage is compared overfit alike?

    Taught in notebook 02, section 9 (10 vs 2 classes). A leakage difference between two
    groups is a difference of ``factor`` only at equal overfitting: if one group is in the
    leaking regime (generalisation gap at least ``threshold``, :data:`REGIME`) and the other is
    not, the comparison is between a leaking and a non-leaking regime.

    Args:
        gap_a, gap_b: the generalisation gap (train minus test accuracy) of each group's
            targets, indexed by seed (paired by seed where both have it).
        labels: the two groups' names, for the sentence.
        factor: what the comparison is meant to vary (e.g. "the number of classes").
        threshold: the gap of the leaking regime; default ``REGIME["gen_gap"]``.

    Returns:
        ``{"spans"``: each group's ``"min-max"`` gap, ``"diff", "lo", "hi", "n"``: the mean
        paired gap difference ``a - b`` with its t-interval over seeds (NaN below 2 seeds),
        ``"regimes_differ"``: every target of one group at or above ``threshold`` and every
        one of the other below, ``"material"``: the regimes differ or the interval excludes
        0, ``"sentence"}``.

    Example:
        >>> a = pd.Series([0.28, 0.31, 0.26]); b = pd.Series([0.01, 0.04, 0.00])
        >>> r = regime_contrast(a, b, labels=("10 classes", "2 classes"),
        ...                     factor="the number of classes")
        >>> r["spans"], r["regimes_differ"], r["material"]
        (('0.26-0.31', '0.00-0.04'), True, True)
    """
    from .lesson import paired_seed_difference, value_span

    fn = "regime_contrast"
    for name, g in (("gap_a", gap_a), ("gap_b", gap_b)):
        validate_params({name: g}, {name: [InstanceOf(pd.Series, "a pandas Series")]}, fn)
        if g.dropna().empty:
            raise ParameterError(f"The '{name}' parameter of {fn} must hold at least one gap. "
                                 f"Got {g.tolist()!r} instead.")
    t = REGIME["gen_gap"] if threshold is None else float(threshold)
    a, b = gap_a.dropna(), gap_b.dropna()
    spans = (value_span(a), value_span(b))
    shared = a.index.intersection(b.index)
    d = (paired_seed_difference(a[shared], b[shared]) if len(shared) >= 2 else
         {"mean": float(a.mean() - b.mean()), "lo": np.nan, "hi": np.nan, "n": len(shared)})
    differ = bool((a.min() >= t and b.max() < t) or (b.min() >= t and a.max() < t))
    excl = bool(d["lo"] > 0 or d["hi"] < 0)
    est = (f"{labels[0]} minus {labels[1]}: {d['mean']:+.3f} [{d['lo']:+.3f}, {d['hi']:+.3f}] "
           f"over {d['n']} seeds")
    if differ:
        leak, calm = (0, 1) if a.min() >= t else (1, 0)
        sentence = (f"Caveat: the {labels[calm]} targets do not overfit (generalisation gap "
                    f"{spans[calm]}, below the leaking regime's {t:.2f}) and the {labels[leak]} "
                    f"targets do (gap {spans[leak]}; {est}): this compares a non-leaking with a "
                    f"leaking regime, not {factor} at equal overfitting.")
    elif excl:
        sentence = (f"Caveat: the generalisation gaps differ ({est}), so part of the "
                    f"difference may come from overfitting, not from {factor}.")
    else:
        sentence = (f"The generalisation gaps do not differ detectably ({est}; gaps "
                    f"{spans[0]} and {spans[1]}).")
    return {"spans": spans, "diff": d["mean"], "lo": d["lo"], "hi": d["hi"], "n": d["n"],
            "regimes_differ": differ, "material": differ or excl, "sentence": sentence}


def seed_slopes(df: pd.DataFrame, formula: str, term: str, *, seed: str = "seed") -> pd.Series:
    """The coefficient of ``term`` in ``formula`` fitted by OLS within each seed: the seed-level
    estimates whose spread sets the minimum detectable slope
    (:func:`sparsepriv_nb.power.seed_mde`).

    Example:
        >>> toy = simulate_confounding(300, direct_effect=0.4, seed=0)
        >>> toy = toy.assign(seed=np.arange(300) % 3)
        >>> s = seed_slopes(toy, "y ~ x", "x")
        >>> list(s.index), bool((s > 0).all())
        ([0, 1, 2], True)
    """
    import statsmodels.formula.api as smf

    fn = "seed_slopes"
    validate_params({"term": term, "seed": seed}, {"term": NAME, "seed": NAME}, fn)
    check_frame(df, fn, {"seed": seed}, min_rows=2)
    check_formula(df, formula, fn, env=globals())
    out = {}
    for s, part in df.groupby(seed, sort=True):
        params = smf.ols(formula, data=part, missing="drop").fit().params
        if term not in params.index:
            raise ParameterError(f"The 'term' parameter of {fn} must be a term of the formula "
                                 f"{formula!r}: one of {list(params.index)}. Got {term!r}.")
        out[s] = float(params[term])
    return pd.Series(out, name=term).rename_axis(seed)


# --------------------------------------------------------------------------- sensitivity


def slope_variants(df: pd.DataFrame, formula: str, variants: dict, *,
                   term: str = "log_density", seed: str = "seed",
                   ci: float = 0.95) -> pd.DataFrame:
    """One seed-clustered coefficient refitted on several subsets of the models: does a
    detectable slope rest on a few of them?

    Args:
        df: one row per model (one attack), with the formula's columns and ``seed``.
        formula: a statsmodels formula, e.g. ``"auc ~ log_density + test_acc"``.
        variants: ``{name: rows}``; ``rows`` is a query string, a boolean mask of ``df``'s rows,
            or ``None`` (all rows).
        term: the coefficient to report.
        seed: the cluster column.
        ci: coverage of the intervals.

    Returns:
        One row per variant: ``variant``, ``n_models``, ``n_groups``, ``coef``, ``lo``,
        ``hi``, ``mde`` (:func:`coef_with_mde`'s rule, power 0.8) and ``detected`` (the
        interval excludes 0).

    Example:
        >>> toy = simulate_confounding(300, direct_effect=0.4, seed=0)
        >>> toy = toy.assign(seed=np.arange(300) % 5)
        >>> t = slope_variants(toy, "y ~ x", {"all": None, "x > 0": "x > 0"}, term="x")
        >>> list(t.variant), list(t.n_models), bool(t.detected.iloc[0])
        (['all', 'x > 0'], [300, 147], True)
    """
    fn = "slope_variants"
    validate_params({"term": term, "seed": seed, "ci": ci, "variants": variants},
                    {"term": NAME, "seed": NAME, "ci": CI,
                     "variants": [InstanceOf(dict, "a non-empty dict {name: rows}",
                                             lambda v: len(v) > 0)]}, fn)
    rows = []
    for name, sel in variants.items():
        part = df if sel is None else df[row_mask(df, sel, "variants", fn)]
        t = regress(part, formula, cluster=seed, ci=ci).set_index("term")
        if term not in t.index:
            raise ParameterError(f"The 'term' parameter of {fn} must be a term of the formula "
                                 f"{formula!r}: one of {list(t.index)}. Got {term!r}.")
        r, g = t.loc[term], int(part[seed].nunique())
        rows.append({"variant": name, "n_models": int(r.n), "n_groups": g,
                     "coef": float(r.coef), "lo": float(r.lo), "hi": float(r.hi),
                     "mde": power.seed_mde(float(r.se) * np.sqrt(g), g),
                     "detected": bool(r.lo > 0 or r.hi < 0)})
    return pd.DataFrame(rows)


def robustness_sentence(table: pd.DataFrame, *, what: str, digits: int = 4) -> str:
    """One sentence from :func:`slope_variants`: in which variants the first row's (the main
    fit's) coefficient is detectable, and whether the others agree with it.

    Example:
        >>> t = pd.DataFrame({"variant": ["all", "without 0.02"], "coef": [0.06, 0.03],
        ...                   "lo": [0.01, -0.04], "hi": [0.12, 0.11], "mde": [0.05, 0.09],
        ...                   "detected": [True, False]})
        >>> robustness_sentence(t, what="the slope")  # doctest: +NORMALIZE_WHITESPACE
        'the slope is detectable in all (+0.0600 [+0.0100, +0.1200]) but not in: without 0.02
        (+0.0300 [-0.0400, +0.1100]; could detect |slope| >= 0.0900).'
    """
    check_columns(table, {"table": ["variant", "coef", "lo", "hi", "mde", "detected"]},
                  "robustness_sentence")

    def nums(r, mde=False):
        s = f"{r.coef:+.{digits}f} [{r.lo:+.{digits}f}, {r.hi:+.{digits}f}]"
        flip = "; opposite sign" if np.sign(r.coef) != np.sign(main.coef) else ""
        return s + (f"; could detect |slope| >= {r.mde:.{digits}f}" if mde else "") + flip

    main, rest = table.iloc[0], list(table.iloc[1:].itertuples())
    if not main.detected:
        return (f"{what} is not detectable in {main.variant} ({nums(main, True)}), so no "
                "variant can overturn a detection.")
    same = [r for r in rest if r.detected and np.sign(r.coef) == np.sign(main.coef)]
    other = [r for r in rest if r not in same]
    if not other:
        return f"{what} is detectable, with the same sign, in every variant."
    return (f"{what} is detectable in {main.variant} ({nums(main)}) but not in: "
            + "; ".join(f"{r.variant} ({nums(r, not r.detected)})" for r in other) + ".")


def paired_seed_spread(df: pd.DataFrame, *, by: str, baseline, metric: str = "auc",
                       seed: str = "seed", z: float = 1.96) -> pd.DataFrame:
    """How much a one-seed difference from the seed's own baseline model moves with the seed.

    Models of one seed share their data pools (and a pruned model starts from that seed's
    dense model), so a single-seed difference ``model - baseline`` is paired: its spread is
    the sd over seeds of the *paired* differences, not ``sqrt(2)`` times the sd of either side.

    Args:
        df: one row per model (one attack), with ``by``, ``metric`` and ``seed``.
        by: the configuration column (e.g. ``"config"``).
        baseline: the baseline rows (query string or boolean mask), one or more per seed
            (averaged).
        metric: the compared column.
        seed: the seed column.
        z: the band's multiplier (1.96: a 95 % band for a normal spread).

    Returns:
        One row per non-baseline configuration (index ``by``): ``n_seeds``, ``mean_diff``,
        ``sd_diff`` (ddof 1; NaN with one seed) and ``band`` (``z * sd_diff``).

    Example:
        >>> d = pd.DataFrame({"config": ["dense", "sparse"] * 3, "seed": [0, 0, 1, 1, 2, 2],
        ...                   "auc": [0.70, 0.65, 0.80, 0.76, 0.75, 0.69]})
        >>> t = paired_seed_spread(d, by="config", baseline="config == 'dense'")
        >>> [round(float(v), 3) for v in t.loc["sparse", ["mean_diff", "sd_diff"]]]
        [-0.05, 0.01]
    """
    fn = "paired_seed_spread"
    validate_params({"by": by, "metric": metric, "seed": seed, "z": z},
                    {"by": NAME, "metric": NAME, "seed": NAME, "z": FINITE}, fn)
    d = check_frame(df, fn, {"by": by, "metric": metric, "seed": seed}, min_rows=2)
    is_base = row_mask(d, baseline, "baseline", fn)
    base = d[is_base].groupby(seed)[metric].mean()
    if base.empty:
        raise ParameterError(f"The 'baseline' parameter of {fn} must select at least one row. "
                             f"Got {baseline!r}, which selects none.")
    other = d[~is_base]
    diffs = (other[metric] - other[seed].map(base)).dropna()
    per_seed = diffs.groupby([other.loc[diffs.index, by], other.loc[diffs.index, seed]]).mean()
    g = per_seed.groupby(level=0)
    out = pd.DataFrame({"n_seeds": g.size(), "mean_diff": g.mean(), "sd_diff": g.std(ddof=1)})
    out.index.name = by
    return out.assign(band=z * out["sd_diff"])
