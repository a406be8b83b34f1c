"""Notebook 05's families of defense comparisons (review q1_b, items 2, 4, 5, 7, 8): p-values
from the bootstrap distribution, one row per distinct comparison, degenerate intervals
flagged, Holm labels that never say "within noise" for an interval excluding 0, and the PPB
headline's computed caveats."""

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch

import sparsepriv_nb as spn
from sparsepriv_nb import defense_eval as DE
from sparsepriv_nb import ppb_claim as PC


def test_bootstrap_p_agrees_with_a_lopsided_interval_that_excludes_zero():
    # review item 7: -0.030 [-0.078, -0.012], a lopsided interval; 1 % of resamples above 0
    rng = np.random.default_rng(0)
    diffs = np.r_[-np.abs(rng.gamma(1.2, 0.02, 990)) - 0.012, np.full(10, 0.004)]
    lo, hi = np.quantile(diffs, [0.025, 0.975])
    assert hi < 0  # the interval excludes 0 ...
    p = DE.bootstrap_p(diffs)
    assert p == pytest.approx(2 * 11 / 1001) and p < 0.05  # ... and so does the p-value
    se_p = spn.families.p_value(diffs.mean(), spn.families.se_from_interval(lo, hi))
    assert DE.bootstrap_p(-diffs) == p and se_p > p  # symmetric in sign; the SE p is larger
    assert DE.bootstrap_p(np.zeros(50)) == 1.0  # a degenerate distribution: no evidence
    assert np.isnan(DE.bootstrap_p([0.1, np.nan])) and np.isnan(DE.bootstrap_p([]))


def _runs():
    """Three runs: none, and one defended model attacked by both attackers (same model)."""
    membership = np.array([1, 1, 1, 0, 0, 0])
    labels = torch.tensor([0, 1, 0, 1, 0, 1])

    def target(correct):
        pred = torch.where(torch.tensor(correct, dtype=torch.bool), labels, 1 - labels)
        return SimpleNamespace(logits=torch.nn.functional.one_hot(pred, 2).float(),
                               labels=labels, membership=membership)

    loss = np.array([.9, .8, .7, .1, .2, .3])
    outputs = {("none", False): {"target": target([1, 1, 1, 1, 1, 1]),
                                 "scores": {"loss": loss, "salem": loss[::-1].copy()}},
               ("d", False): {"target": target([1, 1, 1, 1, 0, 0]),
                              "scores": {"loss": loss * 0.5, "salem": np.ones(6)}},
               ("d", True): {"target": target([1, 1, 1, 1, 0, 0]),  # recomputed scores
                             "scores": {"loss": loss * 0.5 * (1 + 1e-15), "salem": np.ones(6)}}}
    rec = pd.DataFrame({"defense": ["none"] * 2 + ["d"] * 4,
                        "attacker": ["non-adaptive"] * 4 + ["adaptive"] * 2,
                        "attack": ["loss", "salem"] * 3, "auc": [1, 0, .9, .5, .9, .5],
                        "auc_lo": [.9, 0, .8, .5, .9, .5], "auc_hi": [1, .1, 1, .5, .9, .5],
                        "threshold": [.5] * 4 + [.7] * 2})  # AUC ignores the thresholds
    return DE.DefenseComparison(rec, outputs, {"auc": "AUC"}, n_resamples=300, seed=1)


def test_same_model_runs_are_one_comparison_and_p_comes_from_the_bootstrap():
    study = _runs()
    assert study.model_id(("d", True)) == ("d", False)
    assert study.scores_id(("d", True), "auc") == study.scores_id(("d", False), "auc")
    study.outputs[("d", True)]["scores"]["loss"] = np.r_[.1, .45, .35, .05, .1, .15]  # other scores
    assert study.scores_id(("d", True), "auc") != study.scores_id(("d", False), "auc")
    study.outputs[("d", True)]["scores"]["loss"] = study.outputs[("d", False)]["scores"]["loss"]
    rows = pd.DataFrame([study.compare(k[0], k, ("none", False), "auc")
                         for k in (("d", False), ("d", True))])
    assert rows["acc pair"].nunique() == 1 and rows["metric pair"].nunique() == 1
    t = study.accuracy_test(("d", False), ("none", False))  # the lesson's resamples, + p
    assert (t["diff"], t["lo"], t["hi"]) == spn.lesson.paired_accuracy_difference(
        study.correct(("d", False)), study.correct(("none", False)), n_resamples=300, seed=1)
    ca, cb = study.correct(("d", False)), study.correct(("none", False))
    idx = np.random.default_rng(1).integers(0, 3, (300, 3))
    assert rows["acc p"].iloc[0] == t["p"] == DE.bootstrap_p(ca[idx].mean(1) - cb[idx].mean(1))
    cols, fam = DE.holm_columns(rows, "acc", distinct="acc pair")
    assert len(fam.frame) == 1 and cols.index.tolist() == rows.index.tolist()
    assert cols.p_holm.tolist() == pytest.approx([t["p"]] * 2)  # m = 1, not 2
    lines = DE.versus_lines(rows, "acc", cols, distinct="acc pair", family="f")
    assert len(lines) == 1 and lines[0].startswith("d, both attackers (same model): -0.667")
    # with a flagged best attack whose own interval is one point
    assert study.degenerate(("none", False), "auc") is None
    assert study.degenerate(("d", False), "auc") is None
    assert study.degenerate(("d", True), "auc") == \
        "d's own AUC interval is degenerate, [0.900, 0.900]"
    rows.loc[0, "metric flag"] = study.degenerate(("d", True), "auc")
    cols, fam = DE.holm_columns(rows, "metric", distinct="metric pair")
    assert cols.verdict.tolist() == ["not measurable here"] * 2 and fam.n_detected == 0
    text = DE.versus_lines(rows, "metric", cols, distinct="metric pair", family="f")[0]
    assert "(same model and scores): " in text
    assert "not tested (d's own AUC interval is degenerate" in text


def test_holm_columns_counts_duplicates_once():
    t = pd.DataFrame({"Δ metric": [-0.04] * 2 + [0.0], "metric lo": [-0.07] * 2 + [-0.03],
                      "metric hi": [-0.01] * 2 + [0.03], "metric p": [0.02] * 2 + [0.9],
                      "metric se": [0.015] * 2 + [0.015], "metric pair": ["a", "a", "b"]})
    distinct, fam = DE.holm_columns(t, "metric", distinct="metric pair")
    every, fam3 = DE.holm_columns(t, "metric")
    assert len(fam.frame) == 2 and len(fam3.frame) == 3
    assert distinct.p_holm.iloc[0] == pytest.approx(0.04) and distinct.verdict.iloc[0] == "lower"
    assert every.p_holm.iloc[0] == pytest.approx(0.06)  # the duplicate made it stricter


def test_a_holm_null_whose_interval_excludes_zero_is_not_within_noise():
    null = spn.metrics.NO_DIFFERENCE
    row = {"comparison": "PPB vs ls", "attacker": "adaptive", "metric": "AUC",
           "metric verdict": null, "Δ metric": -0.045, "metric CI": "[-0.081, -0.007]",
           "metric lo": -0.081, "metric hi": -0.007, "metric p_holm": 0.087,
           "accuracy verdict": "lower", "Δ test acc": -0.05, "acc CI": "[-0.07, -0.02]"}
    text = DE.verdict_sentence(row)
    assert ("best AUC -0.045, 95% CI [-0.081, -0.007]: not detectable after Holm (Holm p = 0.087; "
            "own CI excludes 0)") in text
    assert "within noise" not in text and ") (" not in text
    no_p = DE.verdict_sentence({k: v for k, v in row.items() if k != "metric p_holm"})
    assert "not detectable after Holm (own CI excludes 0)" in no_p and "within noise" not in no_p
    acc = DE.verdict_sentence({**row, "accuracy verdict": null, "acc lo": -0.07, "acc hi": -0.02,
                               "acc p_holm": 0.2})
    assert ("test accuracy -0.050, 95% CI [-0.07, -0.02]: not detectable after Holm (Holm p = "
            "0.2; own CI excludes 0).") in acc
    assert "within noise" in DE.verdict_sentence({**row, "metric hi": 0.01})


def test_margin_caveat_and_best_of_reach_the_headline():
    v = {"AUC": (-0.043, -0.067, -0.016), "gap": (0.004, -0.023, 0.031),
         "accuracy": (-0.052, -0.080, -0.024)}
    words, by = PC.margin_caveat(v, 0.02)
    assert words == "flips to not detectable at this power at margin 0.03"
    assert by[0.01] == by[0.02] == "contradicted" and by[0.05] == "not detectable at this power"
    # the nearest larger margin wins over a smaller one; a verdict at 0.03 flips back at 0.02
    assert PC.margin_caveat(v, 0.03)[0] == "flips to contradicted at margin 0.02"
    near = {"AUC": v["AUC"], "gap": (-0.03, -0.05, -0.01), "accuracy": (-0.02, -0.028, -0.012)}
    assert PC.margin_caveat(near, 0.02)[0] == "flips to supported at margin 0.03"  # not 0.01
    with pytest.raises(spn._checks.ParameterError, match="'margin'"):
        PC.margin_caveat(v, 0)
    best = PC.best_of_words(["loss", "salem"], "lira")
    assert best.endswith("models: loss, salem; lira not run on them")
    parts = {"AUC": "supported", "gap": "not detectable at this power",
             "accuracy": "contradicted"}
    detail = PC.claim_detail(v, parts, "contradicted", margin=0.02, baselines_beaten=0,
                             n_baselines=4, best_of=best)
    assert detail.startswith(f"Best non-adaptive attack AUC ({best}) -0.043")
