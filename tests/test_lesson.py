"""Lesson support (spn.lesson) and the defense-comparison plumbing of notebook 05
(spn.defense_eval): the numbers the notebooks print come from here, so each helper is checked
against the computation the notebooks used to write out."""

from types import SimpleNamespace

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import torch
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

import sparsepriv_nb as spn
from sparsepriv_nb import defense_eval as DE
from sparsepriv_nb import lesson as L
from sparsepriv_nb._checks import ParameterError


# ----------------------------------------------------------------------------- setup

def test_setup_seeds_sets_figures_and_times(monkeypatch):
    monkeypatch.setitem(plt.rcParams, "figure.dpi", 100)
    lesson = L.setup(seed=7, dpi=80)
    first = (np.random.rand(), torch.rand(1).item())
    L.setup(seed=7, dpi=80)
    assert (np.random.rand(), torch.rand(1).item()) == first
    assert plt.rcParams["figure.dpi"] == 80
    assert lesson.seed == 7 and lesson.cache is False
    assert 0 <= lesson.elapsed() < 60
    assert lesson.ci == {"n_resamples": 1000, "random_state": 7}


def test_setup_opens_the_default_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SPARSEPRIV_DATA", str(tmp_path))
    lesson = L.setup(seed=0, cache=True, n_resamples=50)
    assert isinstance(lesson.cache, spn.cache.Cache)
    assert lesson.cache.root == tmp_path / "cache"
    assert lesson.ci == {"n_resamples": 50, "random_state": 0}


def test_setup_display_width():
    with pd.option_context("display.width", 80):
        L.setup(seed=0, display_width=120)
        assert pd.get_option("display.width") == 120


@pytest.mark.parametrize("kw, param", [({"seed": -1}, "seed"), ({"seed": 1.5}, "seed"),
                                       ({"cache": "yes"}, "cache"), ({"dpi": 0}, "dpi"),
                                       ({"n_resamples": 0}, "n_resamples"),
                                       ({"display_width": 0}, "display_width")])
def test_setup_rejects_bad_parameters(kw, param):
    with pytest.raises(ParameterError, match=f"The '{param}' parameter of setup must be"):
        L.setup(**kw)


# ----------------------------------------------------------------------------- intervals

def test_accuracy_interval_is_wilson_as_the_notebooks_wrote_it():
    acc, n = pd.Series([0.8, 0.9133, 1.0]), 150
    lo, hi = proportion_confint((acc * n).round(), n, method="wilson")
    got = L.accuracy_interval(acc, n)
    assert np.allclose(got, (lo, hi), rtol=0, atol=1e-15)
    lo1, hi1 = L.accuracy_interval(0.8, 150)
    assert isinstance(lo1, float) and (lo1, hi1) == (got[0][0], got[1][0])
    assert L.accuracy_interval(0.8, 150, confidence=0.5)[0] > lo1  # narrower


@pytest.mark.parametrize("args, param", [((1.2, 10), "accuracy"), ((float("nan"), 10), "accuracy"),
                                         ((0.5, 0), "n"), ((0.5, 2.5), "n")])
def test_accuracy_interval_rejects_bad_input(args, param):
    with pytest.raises(ParameterError, match=f"'{param}' parameter of accuracy_interval"):
        L.accuracy_interval(*args)
    with pytest.raises(ParameterError, match="'confidence' parameter"):
        L.accuracy_interval(0.5, 10, confidence=1.0)


def test_interval_strings():
    assert L.interval_column([0.1234], [0.5]) == ["[0.123, 0.500]"]
    assert L.format_interval(0.5, 0.4, 0.6, digits=2) == "0.50 [0.40, 0.60]"
    frame = pd.DataFrame({"a": [0.5, np.nan]}, index=["x", "y"])
    out = L.format_interval(frame, frame - 0.1, frame + 0.1)
    assert out.loc["x", "a"] == "0.500 [0.400, 0.600]" and out.loc["y", "a"] == "nan [nan, nan]"
    df = pd.DataFrame({"tpr": [0.2, np.nan], "tpr_lo": [0.1, np.nan], "tpr_hi": [0.3, np.nan]})
    assert L.with_interval(df, "tpr", nan="NaN (FPR not resolvable)").tolist() == [
        "0.200 [0.100, 0.300]", "NaN (FPR not resolvable)"]
    with pytest.raises(ValueError, match="Missing \\['auc', 'auc_hi', 'auc_lo'\\]"):
        L.with_interval(df, "auc")


def test_paired_seed_difference_matches_aggregate_seeds():
    rng = np.random.default_rng(0)
    a = pd.Series(rng.normal(0.9, 0.02, 5), index=range(5))
    b = pd.Series(rng.normal(0.85, 0.02, 5), index=range(5)).drop(3)  # seed 3 unpaired
    d = L.paired_seed_difference(a, b)
    diff = (a - b).dropna()
    half = stats.t.ppf(0.975, 3) * diff.std(ddof=1) / np.sqrt(4)
    assert d["n"] == 4
    assert d["mean"] == pytest.approx(diff.mean())
    assert (d["lo"], d["hi"]) == pytest.approx((diff.mean() - half, diff.mean() + half))
    with pytest.raises(ValueError, match="share at least one seed"):
        L.paired_seed_difference(a, pd.Series([1.0], index=[9]))


def test_paired_accuracy_difference_is_the_notebooks_bootstrap():
    rng = np.random.default_rng(1)
    a, b = rng.random(300) < 0.8, rng.random(300) < 0.7
    idx = np.random.default_rng(4).integers(0, 300, size=(500, 300))
    lo, hi = np.percentile(a[idx].mean(1) - b[idx].mean(1), [2.5, 97.5])
    assert L.paired_accuracy_difference(a, b, n_resamples=500, seed=4) == (
        pytest.approx(a.mean() - b.mean()), pytest.approx(lo), pytest.approx(hi))
    same = L.paired_accuracy_difference(a, a, n_resamples=100)
    assert same == (0.0, 0.0, 0.0)
    with pytest.raises(ValueError, match="same non-zero length"):
        L.paired_accuracy_difference(a, b[:10])
    with pytest.raises(ParameterError, match="'n_resamples'"):
        L.paired_accuracy_difference(a, b, n_resamples=0)


def test_log_ticks_thin_close_values():
    assert L.log_ticks([0.02, 0.05, 0.1, 0.105, 1.0, 0.5]) == [1.0, 0.5, 0.105, 0.05, 0.02]
    assert L.log_ticks([0.3, 0.3]) == [0.3]


# ----------------------------------------------------------------------------- defense_eval

def _study(membership=(1, 1, 0, 0, 0, 0)):
    membership = np.array(membership)
    labels = torch.tensor([0, 1, 0, 1, 0, 1])

    def target(correct):  # logits that are right exactly where `correct` says
        pred = torch.where(torch.tensor(correct, dtype=torch.bool), labels, 1 - labels)
        return SimpleNamespace(logits=torch.nn.functional.one_hot(pred, 2).float(),
                               labels=labels, membership=membership)

    outputs = {("none", False): {"target": target([1, 1, 1, 1, 1, 0]),
                                 "scores": {"loss": np.array([.9, .8, .1, .2, .3, .4]),
                                            "salem": np.array([.5, .5, .5, .5, .5, .5])}},
               ("ppb", False): {"target": target([1, 1, 0, 0, 1, 0]),
                                "scores": {"loss": np.array([.5, .4, .6, .3, .2, .7]),
                                           "salem": np.array([.1, .9, .2, .8, .3, .7])}}}
    records = pd.DataFrame({
        "defense": ["none", "none", "ppb", "ppb"], "attacker": ["non-adaptive"] * 4,
        "attack": ["loss", "salem", "loss", "salem"], "auc": [1.0, 0.5, 0.5, 0.625],
        "auc_lo": [0.9, 0.3, 0.3, 0.4], "auc_hi": [1.0, 0.7, 0.7, 0.8],
        "threshold": [0.5, 0.5, 0.45, 0.5]})
    return DE.DefenseComparison(records, outputs, {"auc": "AUC"}, n_resamples=200, seed=0)


def test_defense_comparison_best_attack_and_summary():
    study = _study()
    assert study.best(("none", False), "auc").attack == "loss"
    assert study.best(("ppb", False), "auc").attack == "salem"
    summary = study.summary().set_index("defense")
    assert summary.loc["none", "test_acc"] == 0.75 and summary.loc["ppb", "test_acc"] == 0.25
    lo, hi = proportion_confint(3, 4, method="wilson")
    assert (summary.loc["none", "test_acc_lo"], summary.loc["none", "test_acc_hi"]) == \
        pytest.approx((lo, hi))
    assert summary.loc["ppb", "auc_attack"] == "salem" and summary.loc["ppb", "auc"] == 0.625


def test_defense_comparison_paired_verdicts():
    study = _study()
    d = study.paired(("ppb", False), ("none", False), "auc")
    direct = spn.metrics.paired_difference(
        study.outputs[("ppb", False)]["scores"]["salem"],
        study.outputs[("none", False)]["scores"]["loss"], study.membership, "auc",
        n_resamples=200, random_state=0)
    assert d == (direct["diff"], direct["lo"], direct["hi"])
    acc = study.accuracy_difference(("ppb", False), ("none", False))
    assert acc[0] == pytest.approx(-0.5)
    row = study.compare("PPB vs no defense", ("ppb", False), ("none", False), "auc")
    assert row["metric"] == "AUC" and row["Δ metric"] == pytest.approx(-0.5)
    assert row["metric verdict"] == spn.metrics.verdict(*d)
    assert DE.verdict_sentence(row).startswith("- PPB vs no defense, non-adaptive attacker: "
                                               "best AUC ")


def test_gap_interval_and_difference_find_a_planted_gap():
    rng = np.random.default_rng(0)
    m = np.r_[np.ones(400), np.zeros(400)]
    z = rng.normal(size=800)
    g = DE.gap_interval(z + 0.3 * m, m, n_resamples=500, seed=1)
    direct = (z + 0.3 * m)[m == 1].mean() - (z + 0.3 * m)[m == 0].mean()
    assert g["gap"] == pytest.approx(direct) and g["lo"] < direct < g["hi"]
    assert g["hi"] - g["lo"] == pytest.approx(2 * 1.96 * np.sqrt(2 / 400), rel=0.2)
    # a planted narrowing of 0.3 is found and the paired interval is far narrower than the
    # separate ones (the shared noise z cancels); no planted change: the interval holds 0
    d = DE.gap_difference(z, z + 0.3 * m, m, n_resamples=500, seed=1)
    assert d["diff"] == pytest.approx(-0.3) and d["hi"] < 0
    assert d["mde"] == pytest.approx(spn.power.mde_from_se(d["se"]))
    noise = DE.gap_difference(z + 0.01 * rng.normal(size=800), z, m, n_resamples=500, seed=1)
    assert noise["lo"] < 0 < noise["hi"] and noise["mde"] < 0.01
    assert DE.gap_difference(z, z, m, seed=3) == DE.gap_difference(z, z, m, seed=3)
    with pytest.raises(ValueError, match="'membership'"):
        DE.gap_interval(z, np.ones(800))
    with pytest.raises(ValueError, match="one value per sample"):
        DE.gap_difference(z, z[:10], m)


def test_verdict_sentence_states_the_mde_of_a_null():
    row = {"comparison": "PPB vs dropout", "attacker": "adaptive", "metric": "AUC",
           "metric verdict": spn.metrics.NO_DIFFERENCE, "Δ metric": 0.01,
           "metric CI": "[-0.02, +0.04]", "accuracy verdict": spn.metrics.NO_DIFFERENCE,
           "Δ test acc": 0.0, "acc CI": "[-0.01, +0.01]", "metric MDE": 0.0456,
           "acc MDE": 0.0212}
    text = DE.verdict_sentence(row)
    assert "(+0.010, 95% CI [-0.02, +0.04]; this run could detect |Δ| ≥ 0.046)" in text
    assert "no detectable accuracy difference (this run could detect |Δ| ≥ 0.021)" in text
    assert "could detect" not in DE.verdict_sentence({**row, "metric MDE": float("nan"),
                                                      "acc MDE": None})


def test_defense_comparison_needs_the_same_attacked_samples():
    study = _study()
    outputs = dict(study.outputs)
    other = outputs[("ppb", False)]["target"]
    outputs[("ppb", False)] = {**outputs[("ppb", False)],
                               "target": SimpleNamespace(logits=other.logits, labels=other.labels,
                                                         membership=other.membership[::-1])}
    with pytest.raises(ValueError, match="attacked on the same samples"):
        DE.DefenseComparison(study.records, outputs, {"auc": "AUC"})


def test_pareto_front_keeps_only_undominated_rows():
    df = pd.DataFrame({"test_acc": [0.9, 0.8, 0.85, 0.9], "auc": [0.7, 0.6, 0.75, 0.7]})
    assert DE.pareto_front(df).index.tolist() == [0, 1, 3]  # ties dominate nothing


def test_defense_runs_builds_one_config_per_run():
    base = spn.config.ExperimentConfig()
    specs = {"none": (None, {}), "ppb 4": ("ppb", {"lam": 4.0}),
             "dropout 0.5": ("dropout", {"p": 0.5})}
    runs = DE.defense_runs(base, specs, adaptive=["ppb 4", "none"])
    assert list(runs) == [("none", False), ("ppb 4", False), ("ppb 4", True),
                          ("dropout 0.5", False)]
    cfg = runs[("ppb 4", True)]
    assert (cfg.defense.name, dict(cfg.defense.params), cfg.defense.adaptive) == \
        ("ppb", {"lam": 4.0}, True)
    assert runs[("none", False)].defense.name is None
    with pytest.raises(ValueError, match="must name labels"):
        DE.defense_runs(base, specs, adaptive=["ppb 16"])


def test_confidence_gap_is_members_minus_nonmembers():
    model = torch.nn.Linear(2, 2)
    with torch.no_grad():
        model.weight.copy_(torch.eye(2) * 5)
        model.bias.zero_()
    X = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    members, nonmembers = (X, torch.tensor([0, 1])), (X, torch.tensor([1, 0]))
    conf = torch.softmax(torch.tensor([5.0, 0.0]), 0)
    assert DE.confidence_gap(model, members, nonmembers) == pytest.approx(
        float(conf[0] - conf[1]), rel=1e-5)


def test_ppb_claim_verdict_needs_every_part():
    sup, con, nd = spn.findings.VERDICTS
    down, up, zero = (-0.04, -0.07, -0.01), (0.04, 0.01, 0.07), (0.0, -0.02, 0.02)
    small, large, unclear = (-0.005, -0.015, 0.005), (-0.05, -0.08, -0.03), (-0.02, -0.04, 0.0)
    assert DE.ppb_claim_verdict(down, down, small, margin=0.02) == (
        sup, {"gap": sup, "AUC": sup, "accuracy": sup})
    assert DE.ppb_claim_verdict(down, down, large, margin=0.02)[0] == con  # too costly
    assert DE.ppb_claim_verdict(down, up, small, margin=0.02)[0] == con  # attack rose
    assert DE.ppb_claim_verdict(zero, down, small, margin=0.02)[0] == nd  # gap unresolved
    assert DE.ppb_claim_verdict(down, down, unclear, margin=0.02) == (
        nd, {"gap": sup, "AUC": sup, "accuracy": nd})
    assert DE.ppb_claim_verdict(down, down, unclear, margin=0.05)[0] == sup


def test_holm_words_and_verdict_sentence_explain_a_null_that_excludes_zero():
    null = spn.metrics.NO_DIFFERENCE
    assert "Holm p = 0.06" in DE.holm_words(null, 0.06, -0.08, -0.01, 0.07)
    assert "Holm p" not in DE.holm_words(null, 0.9, -0.08, 0.01, 0.07)
    assert DE.holm_words("lower", 0.01, -0.08, -0.01) == "lower (Holm p = 0.01)"
    row = {"comparison": "PPB vs none", "attacker": "adaptive", "metric": "AUC",
           "metric verdict": null, "Δ metric": -0.04, "metric CI": "[-0.076, -0.005]",
           "metric lo": -0.076, "metric hi": -0.005, "metric p_holm": 0.069, "metric MDE": 0.063,
           "accuracy verdict": "lower", "Δ test acc": -0.05, "acc CI": "[-0.08, -0.02]"}
    assert "(Holm p = 0.069; own CI excludes 0; this run could detect" in DE.verdict_sentence(row)
    assert "Holm p" not in DE.verdict_sentence({**row, "metric hi": 0.01})
    assert DE.chance_words(0.58, 0.64).startswith("not reproduced")
    assert DE.chance_words(0.45, 0.55).startswith("reproduced")
    assert DE.chance_words(0.40, 0.45).startswith("not reproduced")  # below chance


def test_paired_seed_rows_one_paired_difference_per_group():
    idx = pd.MultiIndex.from_product([["loss", "salem"], [0, 1, 2, 3]], names=["attack", "seed"])
    w = pd.DataFrame({2: [0.50, 0.52, 0.51, 0.55, 0.6, 0.6, 0.6, 0.6],
                      10: [0.60, 0.61, 0.63, 0.60, 0.5, 0.6, 0.7, 0.6]}, index=idx)
    rows = {r["name"]: r for r in L.paired_seed_rows(w, 10, 2)}
    assert set(rows) == {"loss", "salem"}
    d = np.array([0.10, 0.09, 0.12, 0.05])
    assert rows["loss"]["diff"] == pytest.approx(d.mean())  # a minus b, not b minus a
    assert rows["loss"]["sd"] == pytest.approx(d.std(ddof=1))
    assert rows["loss"]["n"] == 4 and rows["loss"]["lo"] < d.mean() < rows["loss"]["hi"]
    assert rows["loss"]["p"] == pytest.approx(stats.ttest_1samp(d, 0).pvalue)
    assert rows["salem"]["diff"] == pytest.approx(0.0, abs=1e-12)
    assert rows["salem"]["p"] == pytest.approx(1.0)


def test_value_span_collapses_equal_ends():
    assert L.value_span(pd.Series([0.981, 0.996])) == "0.98-1.00"
    assert L.value_span([0.9981, 1.0]) == "1.00"
    assert L.value_span([0.21, 0.234], digits=3) == "0.210-0.234"
