"""sparsepriv_nb.paired: the seed-paired and example-paired comparisons of notebooks 01 and 06,
and sparsepriv_nb.plots_dp (notebook 06's curves)."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from scipy import stats  # noqa: E402

from sparsepriv_nb import metrics, paired, plots_dp  # noqa: E402
from sparsepriv_nb._checks import ParameterError  # noqa: E402
from sparsepriv_nb.families import holm_verdicts  # noqa: E402


def runs(a, b, requested=0.1):
    n = len(a)
    return pd.DataFrame({"method": ["a"] * n + ["b"] * n, "seed": list(range(n)) * 2,
                         "requested": requested, "density": requested, "acc": [*a, *b]})


def test_seed_comparison_is_a_paired_t_test():
    a, b = [0.90, 0.80, 0.95, 0.85], [0.86, 0.79, 0.90, 0.84]
    r = paired.seed_comparison(runs(a, b), "a", "b", "acc", 0.1)
    t = stats.ttest_rel(a, b)
    assert r["p"] == pytest.approx(t.pvalue)
    assert r["diff"] == pytest.approx(np.mean(np.subtract(a, b)))
    assert r["sd"] == pytest.approx(np.std(np.subtract(a, b), ddof=1))
    half = stats.t.ppf(0.975, 3) * r["se"]
    assert (r["lo"], r["hi"]) == pytest.approx((r["diff"] - half, r["diff"] + half))
    # the same difference on every seed: nothing to test, NaN p ("not measurable here")
    same = paired.seed_comparison(runs([0.9, 0.8], [0.9, 0.8]), "a", "b", "acc", 0.1)
    assert np.isnan(same["p"])
    assert holm_verdicts([same]).frame.verdict.iloc[0] == "not measurable here"


def test_seed_comparison_bad_input_names_the_parameter():
    with pytest.raises(ParameterError, match="'a' and 'b' parameters of seed_comparison.*'c'"):
        paired.seed_comparison(runs([0.9, 0.8], [0.8, 0.7]), "a", "c", "acc", 0.1)
    with pytest.raises(ParameterError, match="'column' parameter of seed_comparison"):
        paired.seed_comparison(runs([0.9, 0.8], [0.8, 0.7]), "a", "b", "loss", 0.1)


def _both_entry_points(a, b):
    """paired.seed_comparison (notebooks 01, 06) and lesson.paired_seed_rows (notebook 02) on
    the same per-seed values (NaN allowed), as two rows."""
    from sparsepriv_nb.lesson import paired_seed_rows

    frame = runs(a, b)
    wide = frame.assign(group="g").pivot_table(index=["group", "seed"], columns="method",
                                               values="acc", dropna=False)
    return (paired.seed_comparison(frame, "a", "b", "acc", 0.1),
            paired_seed_rows(wide.reindex(pd.MultiIndex.from_product(
                [["g"], range(len(a))], names=["group", "seed"])), "a", "b", level="group")[0])


def test_seed_tests_of_lesson_and_paired_agree_with_scipy_on_random_data():
    rng = np.random.default_rng(11)
    for n in (2, 3, 5, 8):
        for _ in range(5):
            a = rng.normal(0.8, 0.05, n)
            b = a - rng.normal(0.01, 0.03, n)
            row, rows = _both_entry_points(a, b)
            ref = stats.ttest_rel(a, b)  # independent of the shared implementation
            half = stats.t.ppf(0.975, n - 1) * np.std(a - b, ddof=1) / np.sqrt(n)
            for r in (row, rows):
                assert r["n"] == n
                assert r["p"] == pytest.approx(ref.pvalue, rel=1e-9)  # n - 1 df, not n
                assert r["diff"] == pytest.approx(np.mean(a - b), rel=1e-12)
                assert r["sd"] == pytest.approx(np.std(a - b, ddof=1), rel=1e-9)
                assert (r["lo"], r["hi"]) == pytest.approx((r["diff"] - half, r["diff"] + half))
            assert {k: rows[k] for k in ("diff", "lo", "hi", "n", "p", "sd")} == \
                {k: row[k] for k in ("diff", "lo", "hi", "n", "p", "sd")}  # one implementation


def test_seed_tests_drop_nan_seeds_and_count_the_rest():
    """The policy: a seed NaN on either side is left out, n counts the seeds used, and the
    t-test is that of the remaining seeds (not NaN, as scipy's default nan_policy gives)."""
    a = [0.90, 0.80, np.nan, 0.85, 0.88]
    b = [0.86, 0.79, 0.70, np.nan, 0.84]
    ref = stats.ttest_rel([0.90, 0.80, 0.88], [0.86, 0.79, 0.84])
    for r in _both_entry_points(a, b):
        assert r["n"] == 3
        assert r["p"] == pytest.approx(ref.pvalue, rel=1e-9)
        assert r["diff"] == pytest.approx(np.mean([0.04, 0.01, 0.04]))
    # one seed left: no spread, no test; the same difference on every seed: nothing to test
    for a, b in (([0.9, np.nan], [0.8, 0.7]), ([1.0, 2.0, 3.0], [0.5, 1.5, 2.5])):
        for r in _both_entry_points(a, b):
            assert np.isnan(r["p"])
            assert holm_verdicts([r]).frame.verdict.iloc[0] == "not measurable here"


def test_against_baseline_pairs_each_density_with_the_same_baseline():
    rows = pd.concat([runs([0.8, 0.7, 0.9], [0, 0, 0], 0.5).query("method == 'a'"),
                      runs([0.6, 0.5, 0.7], [0, 0, 0], 0.1).query("method == 'a'")])
    base = runs([0.85, 0.75, 0.95], [0, 0, 0], 1.0).query("method == 'a'").assign(method="d")
    out = paired.against_baseline(rows, base, "a", "acc")
    assert [d for d, _ in out] == pytest.approx([0.5, 0.1])
    assert [round(t["diff"], 3) for _, t in out] == [-0.05, -0.25]


def test_holm_seed_sentence_reports_t_and_the_holm_threshold():
    rows = [{"name": f"c{i}", "diff": 0.438, "lo": 0.152, "hi": 0.724, "se": 0.0665,
             "p": 0.022, "sd": 0.115, "n": 3} for i in range(10)]
    row = holm_verdicts(rows).frame.iloc[0]
    assert row.verdict == metrics.NO_DIFFERENCE
    s = paired.holm_seed_sentence(row, 10)
    assert f"needs |t| > {stats.t.ppf(1 - 0.05 / 20, 2):.2f}" in s  # 14.09
    assert "t = 6.59" in s and "lack of seeds" in s
    n = int(s.split("about ")[1].split(" seeds")[0])
    from sparsepriv_nb.power import seed_mde
    assert seed_mde(0.115, n, alpha=0.005) <= 0.438 < seed_mde(0.115, n - 1, alpha=0.005)


def test_holm_seed_sentence_uses_the_rows_own_holm_step_given_the_family():
    rows = [{"name": f"c{i}", "diff": 0.438, "lo": 0.152, "hi": 0.724, "se": 0.0665,
             "p": p, "sd": 0.115, "n": 3}
            for i, p in enumerate([0.001, 0.002, 0.003, 0.004, 0.0293] + [0.5] * 5)]
    row = holm_verdicts(rows).frame.iloc[4]
    s = paired.holm_seed_sentence(row, 10, family_p=[r["p"] for r in rows])
    assert "its Holm step (5th of 10: alpha/6 = 0.00833, two-sided, 2 df)" in s, s
    assert f"needs |t| > {stats.t.ppf(1 - 0.05 / 12, 2):.2f}" in s  # 10.89, not 14.09
    n = int(s.split("about ")[1].split(" seeds")[0])
    from sparsepriv_nb.power import seed_mde
    assert seed_mde(0.115, n, alpha=0.05 / 6) <= 0.438 < seed_mde(0.115, n - 1, alpha=0.05 / 6)


def test_seed_sentence_null_names_both_mdes():
    rows = [{"name": "x", "diff": 0.01, "lo": -0.02, "hi": 0.04, "se": 0.007, "p": 0.3,
             "sd": 0.012, "n": 3}, {"name": "y", "diff": 0.5, "lo": 0.4, "hi": 0.6,
                                    "se": 0.001, "p": 1e-6, "sd": 0.002, "n": 3}]
    fam = holm_verdicts(rows)
    null, hit = list(fam.frame.itertuples())
    s = paired.seed_sentence(null, 2)
    from sparsepriv_nb.power import seed_mde
    assert f">= {seed_mde(0.012, 3, alpha=0.025):.3f}" in s
    assert f"({seed_mde(0.012, 3):.3f} for one comparison" in s
    assert paired.seed_sentence(hit, 2) == hit.sentence
    wide = next(holm_verdicts([{"name": "z", "diff": 0.3, "lo": -0.2, "hi": 0.8, "se": 0.2,
                                "p": 0.2, "sd": 0.3, "n": 3}]).frame.itertuples())
    s = paired.seed_sentence(wide, 10)
    mdes = f"(MDE {seed_mde(0.3, 3, alpha=0.005):.2f}; {seed_mde(0.3, 3):.3f} for one comparison"
    assert mdes in s, s
    assert ") (" not in s, s


def test_accuracy_rows_and_tally_line():
    rng = np.random.default_rng(0)
    base = rng.random(400) < 0.6
    better = base | (rng.random(400) < 0.5)
    correct = {"d": base, "x": better, "y": base.copy()}
    rows = paired.accuracy_rows(correct, [("x", "d"), ("y", "d")], n_resamples=300)
    assert rows[0]["lo"] > 0 and rows[1]["diff"] == 0
    line = paired.tally_line(holm_verdicts(rows).frame, "d", "variants")
    assert line.startswith("Verdict: test accuracy vs d (Holm): lower for 0 of 2 variants, "
                           "higher for 1 (x +")
    with pytest.raises(ParameterError, match="'pairs' parameter of accuracy_rows.*'z'"):
        paired.accuracy_rows(correct, [("z", "d")])


def test_epsilon_series_draws_the_nonprivate_line_and_checks_columns():
    dp = pd.DataFrame({"epsilon": [1.0, 4.0], "acc": [0.5, 0.7], "acc_lo": [0.45, 0.65],
                       "acc_hi": [0.55, 0.75]})
    fig, ax = plt.subplots()
    plots_dp.epsilon_series(ax, dp, pd.Series({"acc": 0.8, "acc_lo": 0.77, "acc_hi": 0.83}),
                            "acc", "accuracy")
    dashed = [ln for ln in ax.get_lines() if ln.get_linestyle() == "--"]
    assert len(dashed) == 1 and dashed[0].get_ydata()[0] == 0.8
    labels = ax.get_legend_handles_labels()[1]
    assert any("non-private" in t and "95 % CI shaded" in t for t in labels)  # the band's entry
    assert max(max(ln.get_xdata(), default=0) for ln in ax.get_lines()
               if ln.get_linestyle() != "--") == 4.0  # nothing drawn at a stand-in for infinity
    with pytest.raises(ParameterError, match="epsilon_series.*lacks \\['auc', 'auc_hi'"):
        plots_dp.epsilon_series(ax, dp, dp.iloc[0], "auc", "AUC")
    plt.close(fig)


def _acc_tests(sds, diffs):
    return pd.DataFrame({"name": [f"test_acc at density {d:g}, a - b" for d in (0.5, 0.05, 0.02)],
                         "diff": diffs, "lo": [x - 0.1 for x in diffs],
                         "hi": [x + 0.1 for x in diffs], "sd": sds, "n": 3})


def test_precision_clause_names_the_densities_that_could_detect_nothing():
    from sparsepriv_nb.power import seed_mde
    s = paired.precision_clause(_acc_tests([0.003, 0.17, 0.0], [0.017, 0.277, 0.0]), 10)
    assert f"(density 0.5) could detect |difference| >= {seed_mde(0.003, 3, alpha=0.005):.3f}" in s
    assert seed_mde(0.17, 3, alpha=0.005) > 1
    assert ("at density 0.05 the 3 seeds disagree so much, +0.277 [+0.177, +0.377], that no "
            "accuracy difference could be detected at Holm's level") in s
    assert "density 0.02" not in s  # no spread: not testable, not named
    two = paired.precision_clause(_acc_tests([0.003, 0.17, 0.2], [0.017, 0.277, 0.1]), 10)
    assert "at densities 0.05 (+0.277 [+0.177, +0.377]) and 0.02 (+0.100 [+0.000, +0.200])" in two
    assert "disagree" not in paired.precision_clause(_acc_tests([0.003, 0.01, 0.02],
                                                                [0.01, 0.02, 0.03]), 10)
    assert paired.precision_clause(_acc_tests([0.0, 0.0, 0.0], [0.0, 0.0, 0.0]), 10) == ""


def test_match_line_gives_the_reason_it_stops_where_it_does():
    t = [(0.5, {"diff": 0.0, "lo": -0.006, "hi": 0.006}),
         (0.2, {"diff": -0.007, "lo": -0.03, "hi": 0.016}),
         (0.1, {"diff": -0.1, "lo": -0.2, "hi": 0.0})]
    assert paired.match_line("m", t, 0.02, 3) == (
        "m: sparsest density shown to lose at most 0.02: 0.5 (difference +0.000 [-0.006, +0.006]);"
        " not at 0.2 (difference -0.007 [-0.030, +0.016]: the interval reaches below -0.02)")
    t2 = [t[0], (0.2, {"diff": -0.05, "lo": -0.06, "hi": -0.04})]
    assert paired.match_line("m", t2, 0.02, 3).endswith(
        "not at 0.2 (difference -0.050 [-0.060, -0.040]: the mean loses more than 0.02)")
    assert paired.match_line("m", t[1:], 0.02, 3) == (
        "m: not shown to lose at most 0.02 at any density with 3 seeds; the sparsest whose mean "
        "loses at most 0.02 is 0.2 (difference -0.007 [-0.030, +0.016]: the interval reaches "
        "below -0.02)")
    assert paired.match_line("m", t[2:], 0.02, 3).endswith("below dense at every density below 1")
    assert paired.match_line("m", t[:1], 0.02, 3).endswith("(difference +0.000 [-0.006, +0.006])")
    with pytest.raises(ParameterError, match="'margin' parameter of match_line.*-0.02"):
        paired.match_line("m", t, -0.02, 3)


def test_within_method_pairs_a_round_with_the_same_seed_at_the_reference():
    frame = pd.DataFrame({"method": "IMP", "seed": [0, 1, 2] * 2,
                          "requested": [1.0] * 3 + [0.25] * 3, "density": [1.0] * 3 + [0.25] * 3,
                          "acc": [0.80, 0.90, 0.85, 0.83, 0.92, 0.88]})
    r = paired.within_method(frame, "IMP", 0.25, 1.0, "acc")
    t = stats.ttest_rel([0.83, 0.92, 0.88], [0.80, 0.90, 0.85])
    assert r["diff"] == pytest.approx(0.08 / 3) and r["p"] == pytest.approx(t.pvalue)
    with pytest.raises(ParameterError, match="'requested' and 'reference' parameters of "
                                             "within_method.*0.5"):
        paired.within_method(frame, "IMP", 0.5, 1.0, "acc")


def test_by_how_much_prints_the_difference_once_as_a_size():
    assert paired.by_how_much(-0.037, -0.062, -0.012, 0.02) == "lower by 0.037 [0.012, 0.062]"
    assert paired.by_how_much(0.05, 0.01, 0.09, 0.03) == "higher by 0.050 [0.010, 0.090]"
    s = paired.by_how_much(0.01, -0.01, 0.03, 0.031)
    assert s == ("+0.010 [-0.010, +0.030]: no detectable difference; this run could detect "
                 "|Δ| ≥ 0.031")


def test_seed_sentence_tie_gives_the_shared_value_not_same_predictions():
    """Equal accuracies on every seed say nothing about equal predictions (review q1, item 10):
    the sentence gives the shared value over the seeds used (a NaN seed left out) and the
    chance level."""
    r = paired.seed_comparison(runs([0.1, 0.2, np.nan], [0.1, 0.2, 0.9]), "a", "b", "acc", 0.1)
    assert r["diff"] == 0 and r["n"] == 2
    assert r["b_mean"] == pytest.approx(0.15)  # over the 2 seeds used, not 0.4 over all three
    s = paired.seed_sentence(next(holm_verdicts([r]).frame.itertuples()), 1, chance=0.1)
    assert "equal values on every seed (mean 0.150 over 2 seeds; chance level 0.100)" in s
    assert "predictions" not in s
    no_mean = holm_verdicts([{**r, "b_mean": np.nan}]).frame
    bare = paired.seed_sentence(next(no_mean.itertuples()), 1)
    assert bare.endswith("exactly equal values on every seed: nothing to test")
