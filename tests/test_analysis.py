import re

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from scipy import stats

from sparsepriv_nb import analysis as AN


# --------------------------------------------------------------------------- the toy


def test_toy_confounder_makes_a_spurious_correlation_that_partial_correlation_removes():
    toy = AN.simulate_confounding(600, direct_effect=0.0, seed=3)
    raw = AN.partial_correlation(toy, "x", "y", [])
    controlled = AN.partial_correlation(toy, "x", "y", ["z"])
    assert raw["r"] > 0.4 and raw["lo"] > 0.3  # large and clearly non-zero
    assert abs(controlled["r"]) < 0.1
    assert controlled["lo"] < 0 < controlled["hi"]
    assert controlled["p"] > 0.05


def test_toy_true_direct_effect_stays_detectable():
    toy = AN.simulate_confounding(600, direct_effect=0.3, seed=3)
    controlled = AN.partial_correlation(toy, "x", "y", ["z"])
    assert controlled["lo"] > 0.1
    assert controlled["p"] < 1e-4


def test_toy_is_reproducible_and_validates():
    pd.testing.assert_frame_equal(AN.simulate_confounding(50, seed=1),
                                  AN.simulate_confounding(50, seed=1))
    assert not AN.simulate_confounding(50, seed=1).equals(AN.simulate_confounding(50, seed=2))
    with pytest.raises(ValueError, match="'n' parameter .* Got 3"):
        AN.simulate_confounding(3)


# --------------------------------------------------------------------------- correlations


def test_partial_correlation_matches_the_textbook_formula_and_ols_p():
    toy = AN.simulate_confounding(200, direct_effect=0.2, seed=0)
    r = toy.corr()
    expected = (r.loc["x", "y"] - r.loc["x", "z"] * r.loc["y", "z"]) / np.sqrt(
        (1 - r.loc["x", "z"] ** 2) * (1 - r.loc["y", "z"] ** 2))
    pc = AN.partial_correlation(toy, "x", "y", ["z"])
    assert pc["r"] == pytest.approx(expected, abs=1e-10)
    assert pc["p"] == pytest.approx(smf.ols("y ~ x + z", toy).fit().pvalues["x"], rel=1e-8)
    # Fisher z interval on n - 3 - k
    z, se = np.arctanh(expected), 1 / np.sqrt(200 - 3 - 1)
    assert pc["lo"] == pytest.approx(np.tanh(z - 1.959964 * se), abs=1e-5)
    assert pc["hi"] == pytest.approx(np.tanh(z + 1.959964 * se), abs=1e-5)


def test_correlations_fisher_interval_equals_scipy():
    toy = AN.simulate_confounding(80, seed=0)
    t = AN.correlations(toy, ["x", "y", "z"]).set_index(["x", "y"])
    res = stats.pearsonr(toy.x, toy.z)
    lo, hi = res.confidence_interval(0.95)
    assert t.loc[("x", "z"), "r"] == pytest.approx(res.statistic)
    assert (t.loc[("x", "z"), "lo"], t.loc[("x", "z"), "hi"]) == pytest.approx((lo, hi))
    sp = AN.correlations(toy, ["x", "z"], method="spearman").iloc[0]
    assert sp.r == pytest.approx(stats.spearmanr(toy.x, toy.z).statistic)


def test_correlations_cluster_bootstrap_resamples_whole_seeds():
    # Within each seed, x and y are independent; the seed shifts both: the correlation is
    # carried by 4 clusters only, and the cluster bootstrap must show a wide interval while
    # Fisher z (rows treated as independent) is narrow.
    rng = np.random.default_rng(0)
    shift = np.repeat([0.0, 1.0, 2.0, 3.0], 50)
    df = pd.DataFrame({"x": shift + rng.normal(0, .3, 200), "y": shift + rng.normal(0, .3, 200),
                       "seed": np.repeat([0, 1, 2, 3], 50)})
    fisher = AN.correlations(df, ["x", "y"]).iloc[0]
    boot = AN.correlations(df, ["x", "y"], bootstrap="seed", n_boot=500, seed=1).iloc[0]
    assert boot.interval.startswith("bootstrap over seed")
    assert (boot.hi - boot.lo) > 3 * (fisher.hi - fisher.lo)
    again = AN.correlations(df, ["x", "y"], bootstrap="seed", n_boot=500, seed=1).iloc[0]
    assert (again.lo, again.hi) == (boot.lo, boot.hi)


def test_functions_refuse_frames_that_mix_attacks_and_name_bad_arguments():
    df = AN.simulate_confounding(20, seed=0).assign(attack=["loss", "shokri"] * 10, seed=0)
    with pytest.raises(ValueError, match="mixes attacks"):
        AN.correlations(df, ["x", "y"])
    with pytest.raises(ValueError, match="mixes attacks"):
        AN.regress(df, "y ~ x")
    with pytest.raises(ValueError, match=r"'covariates' parameter of partial_correlation must "
                                         r"name columns of the data: \['x', 'y', 'z', 'attack', "
                                         r"'seed'\]\. Got \['w'\] instead \('w' not among them"):
        AN.partial_correlation(df[df.attack == "loss"], "x", "y", ["w"])
    with pytest.raises(ValueError, match="'method' parameter of correlations"):
        AN.correlations(df[df.attack == "loss"], ["x", "y"], method="kendall")
    with pytest.raises(ValueError, match="'ci' parameter .* Got 95"):
        AN.partial_correlation(df[df.attack == "loss"], "x", "y", [], ci=95)


# --------------------------------------------------------------------------- regression


@pytest.fixture
def linear():
    """y = 1 + 2 x - 0.5 z + seed effect + noise, 6 seeds x 40 rows."""
    rng = np.random.default_rng(7)
    seeds = np.repeat(np.arange(6), 40)
    x, z = rng.normal(size=240), rng.normal(size=240)
    y = 1 + 2 * x - 0.5 * z + rng.normal(0, 0.3, 6)[seeds] + rng.normal(0, 0.5, 240)
    return pd.DataFrame({"x": x, "z": z, "y": y, "seed": seeds})


def test_regress_equals_statsmodels_with_seed_clusters(linear):
    t = AN.regress(linear, "y ~ x + z").set_index("term")
    direct = smf.ols("y ~ x + z", linear).fit(cov_type="cluster",
                                              cov_kwds={"groups": linear.seed}, use_t=True)
    np.testing.assert_allclose(t.coef, direct.params[t.index], rtol=1e-10)
    np.testing.assert_allclose(t.se, direct.bse[t.index], rtol=1e-10)
    np.testing.assert_allclose(t[["lo", "hi"]], direct.conf_int().loc[t.index], rtol=1e-10)
    assert (t.n_groups == 6).all() and (t.cov_type == "cluster").all()
    # the intervals cover the true coefficients
    for term, true in (("Intercept", 1.0), ("x", 2.0), ("z", -0.5)):
        assert t.loc[term, "lo"] < true < t.loc[term, "hi"]
    # clustering uses t with G - 1 = 5 degrees of freedom: wider than the normal reference
    q = (t.loc["x", "hi"] - t.loc["x", "coef"]) / t.loc["x", "se"]
    assert q == pytest.approx(stats.t.ppf(0.975, 5), rel=1e-8)


def test_regress_hc3_without_clusters(linear):
    t = AN.regress(linear, "y ~ x + z", cluster=None).set_index("term")
    direct = smf.ols("y ~ x + z", linear).fit(cov_type="HC3", use_t=True)
    np.testing.assert_allclose(t.se, direct.bse[t.index], rtol=1e-10)
    assert t.n_groups.isna().all()
    with pytest.raises(ValueError, match="'formula' parameter of regress"):
        AN.regress(linear, "y x")
    with pytest.raises(ValueError, match="'formula' parameter of fit_ols"):
        AN.fit_ols(linear, "y x")


@pytest.mark.parametrize("formula, unknown", [
    ("y ~ x + nope", "['nope']"),
    ("y ~ np.log(zz) + x", "['zz']"),
    ("auc ~ x + C(method)", "['auc', 'method']"),
    ("y ~ x * Z", "['Z']"),  # columns are case-sensitive
])
def test_regress_names_unknown_formula_columns(linear, formula, unknown):
    from sparsepriv_nb._checks import ParameterError

    for fit in (AN.regress, AN.fit_ols):
        with pytest.raises(ParameterError) as err:  # was patsy's PatsyError (a NameError)
            fit(linear, formula)
        assert str(err.value) == (
            f"The 'formula' parameter of {fit.__name__} must use columns of the data: "
            f"['x', 'z', 'y', 'seed']. Got {formula!r} instead, which names {unknown} "
            "(no such column).")


@pytest.mark.parametrize("formula, expected", [
    ("y ~ x +", "expected a noun"),  # patsy's parse error, wrapped
    ("y ~ x + (z", "'formula' parameter of regress must be a formula"),
    (3, "Got 3 instead"),
])
def test_regress_wraps_other_formula_errors(linear, formula, expected):
    from sparsepriv_nb._checks import ParameterError

    with pytest.raises(ParameterError, match=re.escape(expected)):
        AN.regress(linear, formula)


def test_regress_accepts_calls_keywords_and_module_functions(linear):
    lin = linear.assign(method=np.where(linear.x > 0, "a", "b"))
    t = AN.regress(lin, "y ~ np.log(np.abs(x) + 1) + I(z ** 2) + "
                        "C(method, Treatment(reference='b'))")
    assert len(t) == 4


@pytest.mark.parametrize("call, expected", [
    (lambda d: AN.regress(d, "y ~ x", cluster="run"), "'cluster' parameter of regress must "
                                                     "name columns of the data"),
    (lambda d: AN.regress(d, "y ~ x", cov_type="HAC"), "'cov_type' parameter of regress"),
    (lambda d: AN.correlations(d, ["x", "w"]), "'columns' parameter of correlations must name "
                                               "columns of the data"),
    (lambda d: AN.correlations(d, "xy"), "'columns' parameter of correlations must be a list "
                                         "of at least 2 column names. Got 'xy'"),
    (lambda d: AN.correlations(d, ["x", "y"], bootstrap="run"), "'bootstrap' parameter of "
                                                                "correlations must name columns"),
    (lambda d: AN.partial_correlation(d, "x", "Y", []), "'y' parameter of partial_correlation "
                                                        "must name columns of the data"),
    (lambda d: AN.partial_correlation(d, "x", 3, []), "'y' parameter of partial_correlation must "
                                                      "be a column name (str). Got 3"),
    (lambda d: AN.match_to_reference(d, metric="auc", reference="x > 0"),
     "'metric' parameter of match_to_reference must name columns of the data"),
    (lambda d: AN.match_to_reference(d, metric="y", accuracy="acc", reference="x > 0"),
     "'accuracy' parameter of match_to_reference must name columns"),
    (lambda d: AN.match_to_reference(d, metric="y", accuracy="z", reference="methd == 'a'"),
     "'reference' parameter of match_to_reference must be a query on the frame's columns "
     "['x', 'z', 'y', 'seed']. Got \"methd == 'a'\" instead"),
    (lambda d: AN.match_to_reference(d, metric="y", accuracy="z", reference="x > 0",
                                     tolerance=-1), "'tolerance' parameter of match_to_reference"),
    (lambda d: AN.matched_difference(d), "'matched' parameter of matched_difference must be the "
                                         "output of match_to_reference"),
    (lambda d: AN.matched_difference(d.assign(diff_matched=0.0, in_range=True), by="method"),
     "'by' parameter of matched_difference must name columns of the data"),
    (lambda d: AN.simulate_confounding(50, noise=0), "'noise' parameter of simulate_confounding"),
    (lambda d: AN.simulate_confounding(50, confounding=float("nan")), "'confounding' parameter"),
    (lambda d: AN.correlations(d.to_dict(), ["x", "y"]), "'df' parameter of correlations must "
                                                         "be a pandas DataFrame"),
])
def test_analysis_functions_name_the_bad_column_parameter(linear, call, expected):
    from sparsepriv_nb._checks import ParameterError

    with pytest.raises(ParameterError, match=re.escape(expected)):
        call(linear)


# --------------------------------------------------------------------------- matching


def _synthetic_sweep(offset: float, *, seeds=(0, 1, 2, 3), noise=0.005, seed=0):
    """Dense references on a known accuracy -> AUC line (auc = 0.5 + 0.5 (acc - 0.5)), sparse
    models on the same line shifted by ``offset``, with lower accuracy than the full dense."""
    rng = np.random.default_rng(seed)
    rows = []
    for s in seeds:
        for acc in (0.55, 0.65, 0.75, 0.85, 0.95):  # full dense = 0.95
            rows.append(dict(method="dense", seed=s, test_acc=acc,
                             variant="full" if acc == 0.95 else "lowered",
                             auc=0.5 + 0.5 * (acc - 0.5) + rng.normal(0, noise)))
        for method in ("magnitude", "random"):
            for acc in (0.6, 0.7, 0.8, 0.4):  # 0.4: below every dense model
                rows.append(dict(method=method, seed=s, test_acc=acc, variant="sparse",
                                 auc=0.5 + 0.5 * (acc - 0.5) + offset + rng.normal(0, noise)))
    return pd.DataFrame(rows)


@pytest.mark.parametrize("curve", ["interp", "linear"])
def test_accuracy_matching_recovers_a_known_offset(curve):
    df = _synthetic_sweep(-0.03)
    m = AN.match_to_reference(df, metric="auc", reference="method == 'dense'",
                              baseline="variant == 'full'", curve=curve)
    assert set(m.method) == {"magnitude", "random"}
    assert m.loc[m.test_acc == 0.4, "diff_matched"].isna().all()  # outside: not extrapolated
    assert not m.loc[m.test_acc == 0.4, "in_range"].any()
    res = AN.matched_difference(m).set_index("method")
    for method in ("magnitude", "random"):
        r = res.loc[method]
        assert r.matched_diff == pytest.approx(-0.03, abs=0.006)
        assert r.matched_lo < -0.03 < r.matched_hi and r.matched_hi < 0
        assert r.n_models == 12 and r.n_outside == 4 and r.matched_n_seeds == 4
        # raw: sparse vs the full dense model, which is far more accurate; over the same
        # in-range models as the matched difference, and (raw_all) over all of them
        expected_raw = np.mean([0.5 * (a - 0.95) for a in (0.6, 0.7, 0.8)]) - 0.03
        assert r.raw_diff == pytest.approx(expected_raw, abs=0.006)
        expected_all = np.mean([0.5 * (a - 0.95) for a in (0.6, 0.7, 0.8, 0.4)]) - 0.03
        assert r.raw_all_diff == pytest.approx(expected_all, abs=0.006)
        assert r.raw_n_seeds == r.raw_all_n_seeds == 4


def test_accuracy_matching_finds_no_effect_when_there_is_none():
    df = _synthetic_sweep(0.0, noise=0.01, seeds=range(8))
    m = AN.match_to_reference(df, metric="auc", reference=df.method.eq("dense").to_numpy(),
                              baseline="variant == 'full'")
    r = AN.matched_difference(m, interval="bootstrap", n_boot=500).set_index("method")
    for method in ("magnitude", "random"):
        assert r.loc[method, "matched_lo"] < 0 < r.loc[method, "matched_hi"]
        assert r.loc[method, "raw_hi"] < -0.1  # the naive comparison says 'sparse leaks less'
        v = AN.confounding_verdict(r.loc[method, ["raw_diff", "raw_lo", "raw_hi"]],
                                   r.loc[method, ["matched_diff", "matched_lo", "matched_hi"]])
        assert v["verdict"] == "vanishes"


def test_matching_uses_each_seeds_own_curve():
    # seed 1's whole dense curve sits 0.1 higher; its sparse models too: no effect within seeds
    df = _synthetic_sweep(0.0, seeds=(0, 1), noise=0.0)
    df.loc[df.seed == 1, "auc"] += 0.1
    m = AN.match_to_reference(df, metric="auc", reference="method == 'dense'")
    assert m.diff_matched.dropna().abs().max() < 1e-12


def test_matching_validates_its_selectors():
    df = _synthetic_sweep(0.0)
    with pytest.raises(ValueError, match="'reference' parameter .* some rows but not all"):
        AN.match_to_reference(df, metric="auc", reference="method == 'nope'")
    with pytest.raises(ValueError, match="'baseline' parameter .* exactly one row"):
        AN.match_to_reference(df, metric="auc", reference="method == 'dense'",
                              baseline="method == 'dense'")
    with pytest.raises(ValueError, match="'reference' parameter .* boolean mask of"):
        AN.match_to_reference(df, metric="auc", reference=[True, False])
    with pytest.raises(ValueError, match="'curve' parameter"):
        AN.match_to_reference(df, metric="auc", reference="method == 'dense'", curve="spline")


# --------------------------------------------------------------------------- verdicts


@pytest.mark.parametrize("raw, controlled, expected", [
    ((-0.08, -0.12, -0.04), (-0.07, -0.10, -0.04), "survives"),
    ((-0.08, -0.10, -0.06), (-0.03, -0.05, -0.01), "shrinks"),
    ((-0.08, -0.12, -0.04), (-0.01, -0.05, 0.03), "vanishes"),
    ((-0.08, -0.12, -0.04), (-0.01, -0.09, 0.07), "inconclusive"),  # still covers the raw one
    ((-0.08, -0.12, -0.04), (0.05, 0.02, 0.08), "reverses"),
    ((0.01, -0.02, 0.04), (0.05, 0.02, 0.08), "appears"),
    ((0.01, -0.02, 0.04), (0.0, -0.03, 0.03), "none"),
    ((-0.08, -0.12, -0.04), (np.nan, np.nan, np.nan), "not measurable"),
])
def test_confounding_verdicts(raw, controlled, expected):
    v = AN.confounding_verdict(raw, controlled, label="the effect")
    assert v["verdict"] == expected
    assert f"{raw[0]:+.3f}" in v["text"]


def test_confounding_verdict_takes_detection_flags():
    # Holm's decisions replace "the interval excludes 0": a raw interval above 0 that the
    # family correction does not confirm is not a detection
    raw, ctl = (0.05, 0.01, 0.09), (0.0, -0.03, 0.03)
    assert AN.confounding_verdict(raw, ctl)["verdict"] == "vanishes"
    assert AN.confounding_verdict(raw, ctl, detected=(False, False))["verdict"] == "none"
    assert AN.confounding_verdict(raw, ctl, detected=(True, False))["verdict"] == "vanishes"
    with pytest.raises(ValueError, match="'detected' parameter of confounding_verdict"):
        AN.confounding_verdict(raw, ctl, detected=(1, 0))


def test_confounding_verdict_validates():
    with pytest.raises(ValueError, match="'raw' parameter of confounding_verdict"):
        AN.confounding_verdict((0.1, 0.2), (0.0, -1.0, 1.0))
    with pytest.raises(ValueError, match="'controlled' parameter of confounding_verdict"):
        AN.confounding_verdict((0.1, 0.0, 0.2), ("a", -1.0, 1.0))
    with pytest.raises(ValueError, match="'fmt' parameter of confounding_verdict"):
        AN.confounding_verdict((0.1, 0.0, 0.2), (0.0, -1.0, 1.0), fmt="{:d}")
    with pytest.raises(ValueError, match="'control' parameter.*Got ''"):
        AN.confounding_verdict((0.1, 0.0, 0.2), (0.0, -1.0, 1.0), control="")


def test_confounding_verdict_names_the_covariate():
    v = AN.confounding_verdict((0.2, 0.1, 0.3), (0.0, -0.1, 0.1), label="d",
                               control="the generalisation gap")
    assert "once the generalisation gap is controlled for" in v["text"]
    assert "controlled for the generalisation gap +0.000" in v["text"]
    assert "accuracy" not in v["text"]
    default = AN.confounding_verdict((0.2, 0.1, 0.3), (0.0, -0.1, 0.1), label="d")
    assert "once accuracy is controlled for" in default["text"]


# --------------------------------------------------------------------------- figures


def test_fig1_replica_plots_means_over_seeds_with_sd_bars():
    import matplotlib

    matplotlib.use("Agg")
    from sparsepriv_nb import plots_sweep as PS

    df = pd.DataFrame(dict(method=["dense"] * 2 + ["magnitude"] * 4,
                           density=[1, 1, .1, .1, .5, .5], density_achieved=[1, 1, .1, .1, .5, .5],
                           test_acc=[.9, .92, .6, .7, .8, .8], seed=[0, 1, 0, 1, 0, 1],
                           defense_level=[.8, .84, .9, .94, .85, .87]))
    fig = PS.plot_accuracy_vs_defense(df)
    ax = fig.axes[0]
    points = {tuple(np.round(p, 3)) for c in ax.collections if hasattr(c, "get_offsets")
              for p in np.asarray(c.get_offsets())}
    assert {(0.91, 0.82), (0.65, 0.92), (0.8, 0.86)} <= points
    assert len(fig.axes) == 2  # colour bar for density
    with pytest.raises(ValueError, match="'y' parameter of plot_accuracy_vs_defense must name "
                                         "columns of the data"):
        PS.plot_accuracy_vs_defense(df, y="auc")


# --------------------------------------------------------------------------- regime, seeds


def _dense_rows(train_acc=1.0, test_acc=0.8, aucs=((0.64, 0.61, 0.67), (0.75, 0.72, 0.78))):
    return pd.DataFrame([dict(seed=s, attack=a, train_acc=train_acc, test_acc=test_acc,
                              n_members=500, auc=auc, auc_lo=lo, auc_hi=hi)
                         for s in (0, 1) for a, (auc, lo, hi) in zip(("loss", "lira"), aucs)])


def test_leakage_regime_takes_the_strongest_attack_and_all_three_criteria():
    r = AN.leakage_regime(_dense_rows())
    assert list(r.seed) == [0, 1] and (r.attack == "lira").all() and r.leaks.all()
    assert r.gen_gap.iloc[0] == pytest.approx(0.2)
    # Wilson interval of 400 / 500 and the gap's normal interval
    assert r.test_acc_lo.iloc[0] == pytest.approx(0.7627, abs=1e-3)
    se = np.sqrt(0.8 * 0.2 / 500)
    assert r.gen_gap_hi.iloc[0] == pytest.approx(0.2 + 1.959964 * se, abs=1e-6)
    # each criterion alone can fail the regime
    assert not AN.leakage_regime(_dense_rows(train_acc=0.98, test_acc=0.78)).leaks.any()
    assert not AN.leakage_regime(_dense_rows(test_acc=0.95)).leaks.any()
    weak = ((0.64, 0.61, 0.67), (0.68, 0.645, 0.71))  # AUC fine, its lower bound not
    assert not AN.leakage_regime(_dense_rows(aucs=weak)).leaks.any()


def test_leakage_regime_names_missing_columns():
    with pytest.raises(ValueError, match="'df' parameter of leakage_regime"):
        AN.leakage_regime(_dense_rows().drop(columns="n_members"))


def test_regime_contrast_flags_a_leaking_vs_non_leaking_comparison():
    leak, calm = pd.Series([0.28, 0.31, 0.26]), pd.Series([0.01, 0.04, 0.00])
    r = AN.regime_contrast(leak, calm, labels=("10-class", "2-class"),
                           factor="the number of classes")
    assert r["spans"] == ("0.26-0.31", "0.00-0.04") and r["n"] == 3
    assert r["diff"] == pytest.approx(0.8 / 3) and r["lo"] > 0
    assert r["regimes_differ"] and r["material"]
    assert ("the 2-class targets do not overfit" in r["sentence"]
            and "non-leaking with a leaking regime, not the number of classes" in r["sentence"])
    # the order of the groups does not matter for the regime test
    assert AN.regime_contrast(calm, leak)["regimes_differ"]
    # both leak, gaps differ detectably: material, not a regime difference
    both = AN.regime_contrast(leak, leak - pd.Series([0.10, 0.11, 0.10]))
    assert not both["regimes_differ"] and both["material"] and "may come from" in both["sentence"]
    # alike: no caveat
    alike = AN.regime_contrast(leak, leak + pd.Series([0.02, -0.03, 0.01]))
    assert not alike["material"] and alike["sentence"].startswith("The generalisation gaps do")
    # a threshold between the groups decides the regimes
    assert not AN.regime_contrast(leak, calm, threshold=0.02)["regimes_differ"]
    with pytest.raises(ValueError, match="'gap_b' parameter of regime_contrast"):
        AN.regime_contrast(leak, [0.1, 0.2])
    with pytest.raises(ValueError, match="'gap_a' parameter of regime_contrast must hold"):
        AN.regime_contrast(pd.Series([np.nan]), calm)


def test_seed_slopes_are_the_per_seed_ols_coefficients():
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"seed": np.repeat([0, 1, 2], 20), "x": np.tile(np.linspace(0, 1, 20), 3)})
    true = {0: 0.1, 1: 0.2, 2: 0.3}
    df["y"] = df.seed.map(true) * df.x + 0.001 * rng.normal(size=len(df))
    s = AN.seed_slopes(df, "y ~ x", "x")
    assert s.to_dict() == pytest.approx(true, abs=0.01)
    # pooled OLS over identical per-seed designs is the mean of the per-seed slopes
    pooled = AN.regress(df, "y ~ x").set_index("term").loc["x", "coef"]
    assert pooled == pytest.approx(s.mean(), abs=1e-9)
    with pytest.raises(ValueError, match="'term' parameter of seed_slopes"):
        AN.seed_slopes(df, "y ~ x", "z")


def test_method_verdicts_decide_raw_and_matched_as_holm_families():
    # no effect at matched accuracy, a large raw one (sparse models are less accurate)
    df = _synthetic_sweep(0.0, noise=0.01, seeds=range(6))
    table, fams = AN.method_verdicts({"loss": df}, reference="method == 'dense'",
                                     baseline="variant == 'full'")
    assert list(table.method) == ["magnitude", "random"] and (table.attack == "loss").all()
    assert table.raw_detected.all() and not table.matched_detected.any()
    assert (table.verdict == "vanishes").all()
    assert fams["matched"].n_detected == 0 and fams["raw"].n_detected == 2
    assert all("this run could detect" in s for s in table.matched_sentence)
    # a planted matched offset is found in every method, and survives the raw comparison too
    df = _synthetic_sweep(-0.05, noise=0.005, seeds=range(6))
    table, _ = AN.method_verdicts({"loss": df}, reference="method == 'dense'",
                                  baseline="variant == 'full'")
    assert table.matched_detected.all() and (table.matched_diff < 0).all()


def test_method_verdicts_explain_a_null_whose_unadjusted_interval_excludes_zero():
    from sparsepriv_nb import families, matching

    # three comparisons, each alone "detectable" (interval above 0), none after Holm
    fam = families.holm_verdicts([{"diff": 0.03, "lo": 0.001, "hi": 0.059, "p": 0.04}] * 3)
    row = fam.frame.iloc[0]
    assert row.verdict == "no detectable difference (within noise)"
    text = matching._family_sentence(row, False)
    assert "this run could detect" in text and "the family-wise test does not" in text
    assert "Holm p = 0.12" in text
    plain = families.holm_verdicts([{"diff": 0.0, "lo": -0.03, "hi": 0.03}]).frame.iloc[0]
    assert "family-wise" not in matching._family_sentence(plain, False)


def test_coef_with_mde_picks_the_named_fit_and_term_and_scales_se_to_a_seed_sd():
    from sparsepriv_nb import power
    t = pd.DataFrame({"model": ["raw", "raw", "error"], "term": ["Intercept", "log_density",
                                                                  "log_density"],
                      "coef": [0.5, 0.1, -0.2], "se": [0.1, 0.02, 0.03],
                      "lo": [0.3, 0.05, -0.3], "hi": [0.7, 0.15, -0.1]})
    est, lo, hi, mde = AN.coef_with_mde(t, "raw", n_groups=5)
    assert (est, lo, hi) == (0.1, 0.05, 0.15)
    assert mde == pytest.approx(power.seed_mde(0.02 * np.sqrt(5), 5))
    assert AN.coef_with_mde(t, "error", n_groups=8)[0] == -0.2
    assert AN.coef_with_mde(t, "raw", "Intercept", n_groups=5)[0] == 0.5
    with pytest.raises(ValueError, match="'model' and 'term'.*'nope'"):
        AN.coef_with_mde(t, "nope", n_groups=5)


def test_method_verdicts_mde_is_at_holms_level_with_seed_t_quantiles():
    df = _synthetic_sweep(0.0, noise=0.01, seeds=range(4))
    table, fams = AN.method_verdicts({"loss": df}, reference="method == 'dense'",
                                     baseline="variant == 'full'")
    m, n = len(table), int(table.matched_n_seeds.iloc[0])
    se = table.matched_sd.iloc[0] / np.sqrt(n)
    factor = stats.t.ppf(1 - 0.05 / (2 * m), n - 1) + stats.t.ppf(0.8, n - 1)
    assert fams["matched"].frame.mde.iloc[0] == pytest.approx(factor * se, rel=1e-6)


# --------------------------------------------------------------------------- sensitivity


def _stepped_sweep(seeds=range(4), seed=0):
    """AUC flat in log density above 0.02 and a step down at 0.02 (like notebook 03's run)."""
    rng = np.random.default_rng(seed)
    rows = [dict(seed=s, log_density=np.log10(d), auc=0.72 - 0.15 * (d == 0.02)
                 + rng.normal(0, 0.01)) for s in seeds for d in (1, 0.5, 0.25, 0.1, 0.02)
            for _ in range(2)]
    return pd.DataFrame(rows)


def test_slope_variants_show_a_slope_that_rests_on_the_sparsest_models():
    df = _stepped_sweep()
    t = AN.slope_variants(df, "auc ~ log_density",
                          {"all": None, "without 0.02": "log_density > -1.5",
                           "mask": np.asarray(df.log_density > -1.5)}).set_index("variant")
    assert t.loc["all", "detected"] and t.loc["all", "coef"] > 0.05
    assert not t.loc["without 0.02", "detected"] and abs(t.loc["without 0.02", "coef"]) < 0.03
    assert t.loc["without 0.02", "n_models"] == 32 and t.loc["all", "n_groups"] == 4
    assert t.loc["mask", "coef"] == pytest.approx(t.loc["without 0.02", "coef"])
    assert t.loc["all", "mde"] > 0
    with pytest.raises(ValueError, match="'term'.*'density'"):
        AN.slope_variants(df, "auc ~ log_density", {"all": None}, term="density")


def test_robustness_sentence_names_the_variants_that_lose_the_detection():
    t = pd.DataFrame({"variant": ["24 models", "without 0.02", "with lowered"],
                      "coef": [0.064, 0.033, -0.033], "lo": [0.002, -0.045, -0.069],
                      "hi": [0.127, 0.110, 0.003], "mde": [0.05, 0.1, 0.04],
                      "detected": [True, False, False]})
    s = AN.robustness_sentence(t, what="the slope", digits=3)
    assert s.startswith("the slope is detectable in 24 models (+0.064")
    assert "without 0.02 (+0.033 [-0.045, +0.110]; could detect |slope| >= 0.100)" in s
    assert "with lowered (-0.033 [-0.069, +0.003]; could detect |slope| >= 0.040; opposite " \
           "sign)" in s
    t.loc[1:, "detected"] = True
    t.loc[2, "coef"] = 0.01
    assert "every variant" in AN.robustness_sentence(t, what="x")
    t.loc[0, "detected"] = False
    assert "not detectable in 24 models" in AN.robustness_sentence(t, what="x")


def test_paired_seed_spread_removes_the_shared_seed_effect():
    rng = np.random.default_rng(1)
    rows = []
    for s in range(8):
        shared = rng.normal(0, 0.05)  # moves every model of a seed together
        rows.append(dict(config="dense", seed=s, auc=0.75 + shared))
        rows.append(dict(config="sparse", seed=s, auc=0.70 + shared + rng.normal(0, 0.005)))
    df = pd.DataFrame(rows)
    t = AN.paired_seed_spread(df, by="config", baseline="config == 'dense'")
    assert list(t.index) == ["sparse"] and t.loc["sparse", "n_seeds"] == 8
    assert t.loc["sparse", "mean_diff"] == pytest.approx(-0.05, abs=0.005)
    assert t.loc["sparse", "sd_diff"] < 0.01  # the unpaired sd of either side is about 0.05
    assert t.loc["sparse", "band"] == pytest.approx(1.96 * t.loc["sparse", "sd_diff"])
    with pytest.raises(ValueError, match="'baseline'.*selects none"):
        AN.paired_seed_spread(df, by="config", baseline="config == 'nope'")


def test_family_brief_names_detections_and_the_range_of_the_nulls():
    from sparsepriv_nb.families import holm_verdicts

    fam = holm_verdicts([{"name": "a/imp", "diff": -0.005, "lo": -0.2, "hi": 0.2},
                         {"name": "a/random", "diff": -0.10, "lo": -0.14, "hi": -0.06},
                         {"name": "a/magnitude", "diff": 0.028, "lo": -0.05, "hi": 0.10}])
    s = AN.family_brief(fam)
    assert s.startswith("random -0.100 [-0.140, -0.060] detectable; not detectable: imp, magnitude")
    assert "estimates -0.005 to +0.028" in s and "a/" not in s
    mdes = fam.frame.set_index("name").mde
    assert f"could detect |Δ| ≥ {mdes['a/magnitude']:.3f} for magnitude to " \
           f"{mdes['a/imp']:.3f} for imp)" in s
    none = holm_verdicts([{"name": "x", "diff": 0.0, "lo": -0.1, "hi": 0.1}])
    assert AN.family_brief(none).startswith("none detectable: x (estimate")
