"""Bootstrap intervals, paired differences, seed aggregation and verdicts (issue 7, section 1).

References are independent of the package's code: brute-force loops over thresholds, the
Mann-Whitney statistic from SciPy, Student's t from SciPy, and closed-form answers.
"""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sparsepriv_nb import metrics as M


# ----------------------------------------------------------------------------- brute force

def brute_roc(s, m):
    """(fpr, tpr) at every threshold t in the scores and +inf, predicting member if s >= t."""
    s, m = np.asarray(s, float), np.asarray(m).astype(bool)
    thr = np.r_[np.inf, np.unique(s)[::-1]]
    tpr = np.array([(s[m] >= t).mean() for t in thr])
    fpr = np.array([(s[~m] >= t).mean() for t in thr])
    return fpr, tpr


def brute_tpr_at(s, m, alpha):
    n0 = int((np.asarray(m) == 0).sum())
    if alpha * n0 < 1 - 1e-9:
        return np.nan
    fpr, tpr = brute_roc(s, m)
    return tpr[fpr <= alpha + 1e-12].max()


def brute_auc(s, m):
    s, m = np.asarray(s, float), np.asarray(m).astype(bool)
    diff = s[m][:, None] - s[~m][None, :]
    return ((diff > 0) + 0.5 * (diff == 0)).mean()


def brute_max_adv(s, m):
    fpr, tpr = brute_roc(s, m)
    return (tpr - fpr).max()


def tied_data(seed, n1=60, n0=140):
    rng = np.random.default_rng(seed)
    m = np.r_[np.ones(n1), np.zeros(n0)].astype(int)
    s = np.round(rng.normal(size=n1 + n0) + 0.7 * m, 1)  # rounding makes many ties
    return s, m


# ----------------------------------------------------------------------------- point values

@pytest.mark.parametrize("seed", range(4))
def test_point_metrics_match_brute_force_with_ties(seed):
    s, m = tied_data(seed)
    assert M.auc(s, m) == pytest.approx(brute_auc(s, m), abs=1e-12)
    u = stats.mannwhitneyu(s[m == 1], s[m == 0]).statistic  # counts ties as 1/2
    assert M.auc(s, m) == pytest.approx(u / (60 * 140), abs=1e-12)
    for alpha in (0.01, 0.05, 0.2):
        assert M.tpr_at_fpr_score(s, m, alpha) == pytest.approx(brute_tpr_at(s, m, alpha))
    out = M.attack_metrics(s, m, n_resamples=0)
    assert out["max_advantage"] == pytest.approx(brute_max_adv(s, m))
    assert out["balanced_accuracy"] == pytest.approx((1 + brute_max_adv(s, m)) / 2)
    assert out["tpr_at_1pct_fpr"] == pytest.approx(brute_tpr_at(s, m, 0.01))
    assert out["tpr_at_1pct_fpr"] == out["tpr@1%fpr"]  # the legacy name holds the same value


def test_tpr_is_nan_when_the_fpr_cannot_be_resolved():
    rng = np.random.default_rng(0)
    m = np.r_[np.ones(500), np.zeros(500)]
    s = rng.normal(size=1000) + m
    out = M.attack_metrics(s, m, n_resamples=50)
    assert np.isnan(out["tpr_at_0p1pct_fpr"]) and np.isnan(out["tpr@0.1%fpr"])
    assert np.isnan(out["tpr_at_0p1pct_fpr_lo"]) and np.isnan(out["tpr_at_0p1pct_fpr_hi"])
    assert np.isfinite(out["tpr_at_1pct_fpr"])  # 5 false positives allowed: resolvable
    assert "1000 non-members" in M.tpr_note(0.001, 500) and "NaN" in M.tpr_note(0.001, 500)
    assert "resolvable" in M.tpr_note(0.01, 500)
    assert M.min_resolvable_fpr(500) == 0.002
    # exactly 1 / n0 is resolvable: 1000 non-members at 0.1 % allow one false positive
    m2 = np.r_[np.ones(10), np.zeros(1000)]
    s2 = np.r_[np.arange(10) + 100.0, [99.5], np.zeros(999)]
    assert M.tpr_at_fpr_score(s2, m2, 0.001) == 1.0  # threshold below the single top non-member
    assert M.bootstrap_ci(s, m, "tpr_at_0p1pct_fpr", n_resamples=20)["lo"] is not None
    assert np.isnan(M.bootstrap_ci(s, m, "tpr_at_0p1pct_fpr", n_resamples=20)["estimate"])


# ----------------------------------------------------------------------------- bootstrap

@pytest.mark.parametrize("metric,ref,kw", [
    ("auc", brute_auc, {}),
    ("tpr_at_fpr", lambda s, m: brute_tpr_at(s, m, 0.05), {"fpr": 0.05}),
    ("max_advantage", brute_max_adv, {}),
    ("balanced_accuracy", lambda s, m: 0.5 * ((s[m == 1] >= 0.35).mean()
                                              + (s[m == 0] < 0.35).mean()), {"threshold": 0.35}),
    ("balanced_accuracy", lambda s, m: (1 + brute_max_adv(s, m)) / 2, {}),
])
def test_vectorised_bootstrap_equals_brute_force_on_the_same_resamples(metric, ref, kw):
    """A callable metric runs on each materialised resample: the same draws as the vectorised
    path, so both intervals must agree to rounding."""
    s, m = tied_data(7)
    fast = M.bootstrap_ci(s, m, metric, n_resamples=200, random_state=5, **kw)
    slow = M.bootstrap_ci(s, m, ref, n_resamples=200, random_state=5)
    assert fast["estimate"] == pytest.approx(slow["estimate"], abs=1e-12)
    assert (fast["lo"], fast["hi"]) == pytest.approx((slow["lo"], slow["hi"]), abs=1e-12)
    assert fast["lo"] < fast["hi"]


def test_resampling_is_stratified():
    s, m = tied_data(1)
    sizes = []

    def spy(ss, mm):
        sizes.append((int(mm.sum()), int((1 - mm).sum())))
        return 0.0

    M.bootstrap_ci(s, m, spy, n_resamples=30)
    assert set(sizes) == {(60, 140)}


def test_interval_is_the_two_sided_percentile_of_the_resampled_values():
    s, m = tied_data(4)
    seen = []

    def record(ss, mm):
        seen.append(brute_auc(ss, mm))
        return seen[-1]

    ci = M.bootstrap_ci(s, m, record, n_resamples=400, confidence=0.9)
    assert len(seen) == 401  # the estimate, then 400 resamples
    lo, hi = np.quantile(seen[1:], [0.05, 0.95])
    assert (ci["lo"], ci["hi"]) == pytest.approx((lo, hi))


def test_auc_interval_covers_the_truth_at_about_the_nominal_rate():
    """Two unit Gaussians d apart: AUC = Phi(d / sqrt 2). 200 independent data sets."""
    d, n = 0.6, 150
    truth = stats.norm.cdf(d / np.sqrt(2))
    m = np.r_[np.ones(n), np.zeros(n)]
    hits = 0
    for rep in range(200):
        s = np.random.default_rng(1000 + rep).normal(size=2 * n) + d * m
        ci = M.bootstrap_ci(s, m, "auc", n_resamples=1000, random_state=rep)
        hits += ci["lo"] <= truth <= ci["hi"]
    assert 0.90 <= hits / 200 <= 0.99, hits


def test_interval_width_shrinks_with_n_and_seed_controls_it():
    rng = np.random.default_rng(0)
    widths = []
    for n in (100, 1600):
        m = np.r_[np.ones(n), np.zeros(n)]
        s = rng.normal(size=2 * n) + 0.5 * m
        ci = M.bootstrap_ci(s, m, "auc", n_resamples=300)
        widths.append(ci["hi"] - ci["lo"])
    assert widths[1] < widths[0] / 2.5  # ~ 1 / sqrt(n): a factor of 4 expected
    a = M.bootstrap_ci(s, m, "auc", n_resamples=100, random_state=1)
    b = M.bootstrap_ci(s, m, "auc", n_resamples=100, random_state=1)
    c = M.bootstrap_ci(s, m, "auc", n_resamples=100, random_state=2)
    assert a == b and a["lo"] != c["lo"]
    lo80 = M.bootstrap_ci(s, m, "auc", n_resamples=300, confidence=0.8)
    lo95 = M.bootstrap_ci(s, m, "auc", n_resamples=300, confidence=0.95)
    assert lo95["lo"] < lo80["lo"] < lo80["hi"] < lo95["hi"]


def test_attack_metrics_ci_columns():
    s, m = tied_data(3, 400, 400)
    out = M.attack_metrics(s, m, random_state=0)
    for k in ("auc", "balanced_accuracy", "advantage", "max_advantage", "defense_level",
              "tpr_at_1pct_fpr"):
        assert out[f"{k}_lo"] <= out[k] <= out[f"{k}_hi"], k
        assert out[f"{k}_lo"] < out[f"{k}_hi"], k
    assert out["defense_level_lo"] == pytest.approx(2 * (1 - out["balanced_accuracy_hi"]))
    assert out["n_resamples"] == 1000 and out["ci_confidence"] == 0.95
    off = M.attack_metrics(s, m, n_resamples=0)
    assert np.isnan(off["auc_lo"]) and off["auc"] == out["auc"]
    fitted = M.attack_metrics(s, m, threshold=0.2, n_resamples=200)
    assert fitted["balanced_accuracy_lo"] <= fitted["balanced_accuracy"] <= \
        fitted["balanced_accuracy_hi"]
    rec = M.attack_record(s, m, model="dense", attack="loss", n_resamples=0)
    # every metric column can be used in a statsmodels / patsy formula as it is
    ok = [k for k in rec if k.isidentifier()]
    assert {"auc_lo", "tpr_at_1pct_fpr_hi", "tpr_at_0p1pct_fpr", "balanced_accuracy_lo"} <= \
        set(ok)


# ----------------------------------------------------------------------------- paired

def test_paired_difference_of_a_model_with_itself_is_exactly_zero():
    s, m = tied_data(2)
    for metric in ("auc", "tpr_at_1pct_fpr", "max_advantage", "balanced_accuracy"):
        out = M.paired_difference(s, s, m, metric, n_resamples=300)
        if metric == "tpr_at_1pct_fpr":  # 140 non-members: 1 false positive allowed
            assert out["diff"] == 0
        assert out["diff"] == 0 and out["lo"] == 0 and out["hi"] == 0, metric


def test_paired_interval_is_narrower_than_unpaired_and_finds_a_small_shift():
    rng = np.random.default_rng(0)
    n = 1000
    m = np.r_[np.ones(n), np.zeros(n)]
    base = rng.normal(size=2 * n) + 0.6 * m
    a = base + 0.15 * m + 0.1 * rng.normal(size=2 * n)  # a slightly stronger attack
    p = M.paired_difference(a, base, m, "auc")
    assert p["diff"] == pytest.approx(M.auc(a, m) - M.auc(base, m))
    assert p["lo"] > 0 and M.verdict(p["diff"], p["lo"], p["hi"]) == "higher"
    ca, cb = M.bootstrap_ci(a, m), M.bootstrap_ci(base, m)
    assert p["hi"] - p["lo"] < 0.5 * ((ca["hi"] - ca["lo"]) + (cb["hi"] - cb["lo"])) / 2
    r = M.paired_difference(base, a, m, "auc")
    assert r["diff"] == pytest.approx(-p["diff"]) and r["hi"] < 0


def test_paired_difference_validates():
    s, m = tied_data(0)
    with pytest.raises(ValueError, match="scores_b"):
        M.paired_difference(s, s[:-1], m)
    with pytest.raises(ValueError, match="metric"):
        M.paired_difference(s, s, m, "accuracy")


# ----------------------------------------------------------------------------- seeds, verdicts

def test_aggregate_seeds_matches_students_t():
    df = pd.DataFrame({"k": [1.0] * 4 + [0.5] * 3 + [0.2],
                       "attack": ["loss"] * 8,
                       "auc": [.61, .65, .58, .63, .55, .57, .52, .5],
                       "tpr_at_1pct_fpr": [.02, .03, .01, np.nan, .02, .02, .01, .0]})
    out = M.aggregate_seeds(df, ["k", "attack"], ["auc", "tpr_at_1pct_fpr"])
    assert list(out.columns) == ["k", "attack", "metric", "mean", "sd", "n", "lo", "hi"]
    row = out[(out.k == 1.0) & (out.metric == "auc")].iloc[0]
    x = np.array([.61, .65, .58, .63])
    half = stats.t.ppf(0.975, 3) * x.std(ddof=1) / 2
    assert row["mean"] == pytest.approx(x.mean()) and row["n"] == 4
    assert (row["lo"], row["hi"]) == pytest.approx((x.mean() - half, x.mean() + half))
    nan_row = out[(out.k == 1.0) & (out.metric == "tpr_at_1pct_fpr")].iloc[0]
    assert nan_row["n"] == 3  # the NaN run is left out
    single = out[(out.k == 0.2) & (out.metric == "auc")].iloc[0]
    assert single["n"] == 1 and np.isnan(single["sd"]) and np.isnan(single["lo"])
    wide = M.aggregate_seeds(df, "k", "auc", confidence=0.99)
    assert wide.iloc[0]["hi"] - wide.iloc[0]["lo"] > row["hi"] - row["lo"]
    with pytest.raises(ValueError, match="lacks"):
        M.aggregate_seeds(df, "density", "auc")


@pytest.mark.parametrize("args,expected", [
    ((0.02, 0.001, 0.04), "higher"), ((-0.02, -0.04, -0.001), "lower"),
    ((0.02, -0.001, 0.04), M.NO_DIFFERENCE), ((0.0, 0.0, 0.0), M.NO_DIFFERENCE),
    ((0.0, 0.0, 0.01), M.NO_DIFFERENCE), ((np.nan, np.nan, np.nan), "not measurable here"),
])
def test_verdict(args, expected):
    assert M.verdict(*args) == expected


def test_verdict_custom_words_and_bad_input():
    assert M.verdict(1, 0.5, 2, higher="leaks more", lower="leaks less") == "leaks more"
    assert M.verdict(-1, -2, -0.5, higher="leaks more", lower="leaks less") == "leaks less"
    with pytest.raises(ValueError, match="lo <= diff <= hi"):
        M.verdict(0.5, 0.6, 0.7)
    with pytest.raises(TypeError):
        M.verdict("0.1", 0, 1)
    txt = M.describe_difference("pruned", "dense", "AUC", -0.05, -0.08, -0.02)
    assert "pruned is lower than dense" in txt and "-0.050" in txt and "95% CI" in txt
    assert M.NO_DIFFERENCE in M.describe_difference("a", "b", "AUC", 0.0, -0.1, 0.1)


@pytest.mark.parametrize("kwargs,match", [
    (dict(n_resamples=-1), "n_resamples"), (dict(n_resamples=1.5), "n_resamples"),
    (dict(confidence=1.0), "confidence"), (dict(confidence=95), "confidence"),
    (dict(random_state="x"), "random_state"), (dict(metric="tpr_at_fpr"), "fpr"),
    (dict(metric="tpr_at_fpr", fpr=2.0), "fpr"), (dict(metric="f1"), "metric"),
    (dict(metric="balanced_accuracy", threshold=float("nan")), "threshold"),
])
def test_bootstrap_ci_validates(kwargs, match):
    s, m = tied_data(0)
    kwargs.setdefault("metric", "auc")
    with pytest.raises(ValueError, match=match):
        M.bootstrap_ci(s, m, **kwargs)


def test_attack_metrics_rejects_nan_threshold():
    s, m = tied_data(0)
    with pytest.raises(ValueError, match="threshold"):
        M.attack_metrics(s, m, threshold=float("nan"))


def test_log_roc_starts_at_one_over_n_nonmembers():
    import matplotlib

    matplotlib.use("Agg")
    from sparsepriv_nb import plots

    rng = np.random.default_rng(0)
    m = np.r_[np.ones(50), np.zeros(250)]
    fig = plots.plot_roc({"a": (rng.normal(size=300) + m, m)})
    assert fig.axes[0].get_xlim()[0] == pytest.approx(1 / 250)
    agg = M.aggregate_seeds(pd.DataFrame(dict(k=[1, 1, .5, .5], auc=[.6, .62, .55, .58])),
                            "k", "auc")
    fig = plots.plot_intervals(agg, x="k", ylabel="AUC", chance=0.5)
    line = fig.axes[0].lines[0]
    assert list(line.get_xdata()) == [0.5, 1.0]
    with pytest.raises(ValueError, match="lacks"):
        plots.plot_intervals(agg, x="density")
