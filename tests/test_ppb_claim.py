"""Yuan & Zhang's PPB claim in words and as a record (spn.ppb_claim), and the Holm family named
wherever notebook 05 quotes a Holm p (spn.defense_eval.holm_words / verdict_sentence / answer)."""

import json

import numpy as np
import pandas as pd
import pytest

import sparsepriv_nb as spn
from sparsepriv_nb import defense_eval as DE
from sparsepriv_nb import ppb_claim as PC

SUP, CON, ND = spn.findings.VERDICTS


def test_accuracy_words_say_the_cost_with_its_sign():
    # the review's case: PPB 0.024 to 0.080 less accurate, margin 0.02: the cost EXCEEDS it
    text = PC.accuracy_cost_words((-0.052, -0.080, -0.024), margin=0.02)
    assert text == ("part contradicted: the cost, 0.024 to 0.080, exceeds the 0.02 allowed for "
                    "'small'")
    small = PC.accuracy_cost_words((-0.004, -0.012, 0.005), margin=0.02)
    assert small.startswith("part supported: the cost is at most 0.012, within the 0.02")
    unclear = PC.accuracy_cost_words((-0.02, -0.035, -0.006), margin=0.02)
    assert unclear.startswith(f"part {ND}: the cost, 0.006 to 0.035, reaches both sides")
    straddle = PC.accuracy_cost_words((-0.01, -0.03, 0.01), margin=0.02)
    assert "-0.010 to +0.030" in straddle  # a cost interval that reaches below 0 keeps its signs
    gain = PC.accuracy_cost_words((0.02, 0.01, 0.03), margin=0.02)
    assert gain == "part supported: no cost, PPB was more accurate by 0.010 to 0.030"


@pytest.mark.parametrize("lo", np.round(np.arange(-0.10, 0.03, 0.01), 3))
@pytest.mark.parametrize("width", [0.005, 0.02, 0.06])
def test_accuracy_words_agree_with_the_compound_verdict(lo, width):
    acc = (lo + width / 2, lo, lo + width)
    _, parts = DE.ppb_claim_verdict((-0.1, -0.2, -0.05), (-0.1, -0.2, -0.05), acc, margin=0.02)
    assert PC.accuracy_cost_words(acc, margin=0.02).startswith(f"part {parts['accuracy']}:")


def test_accuracy_part_rejects_a_bad_margin():
    with pytest.raises(spn._checks.ParameterError, match="'margin'.*accuracy_part_verdict"):
        PC.accuracy_part_verdict(-0.05, -0.01, 0.0)


def test_deciding_part_names_the_part_that_decided():
    parts = {"gap": ND, "AUC": SUP, "accuracy": CON}
    assert PC.deciding_part(CON, parts) == "accuracy"
    assert PC.deciding_part(CON, {"gap": CON, "AUC": CON, "accuracy": SUP}) == "auc"  # first
    assert PC.deciding_part(ND, {"gap": ND, "AUC": SUP, "accuracy": SUP}) == "gap"
    assert PC.deciding_part(ND, {"gap": SUP, "AUC": SUP, "accuracy": ND}) == "accuracy"
    assert PC.deciding_part(SUP, {"gap": SUP, "AUC": SUP, "accuracy": SUP}) is None


def test_claim_params_has_exactly_the_keys_notebook_07_reads():
    values = {"AUC": (np.float64(-0.043), -0.067, -0.016), "gap": (0.004, -0.023, 0.031),
              "accuracy": (-0.052, -0.080, -0.024)}
    verdict, parts = DE.ppb_claim_verdict(values["gap"], values["AUC"], values["accuracy"],
                                          margin=0.02)
    p = PC.claim_params(values, parts, verdict, margin=0.02, baselines_beaten=np.int64(0),
                        n_baselines=4, adaptive_auc=(-0.041, -0.076, -0.005, ND))
    assert set(p) == {"parts", "accuracy_margin", "deciding_part", "baselines_beaten",
                      "n_baselines"}
    assert set(p["parts"]) == {"auc", "gap", "accuracy", "adaptive_auc"}
    for part in p["parts"].values():
        assert set(part) == {"estimate", "lo", "hi", "verdict"}
    assert p["parts"]["auc"] == {"estimate": -0.043, "lo": -0.067, "hi": -0.016, "verdict": SUP}
    assert p["parts"]["accuracy"]["verdict"] == CON and p["parts"]["gap"]["verdict"] == ND
    assert p["parts"]["adaptive_auc"]["verdict"] == ND
    assert (p["deciding_part"], p["accuracy_margin"], p["baselines_beaten"], p["n_baselines"]) \
        == ("accuracy", 0.02, 0, 4)
    assert json.loads(json.dumps(p)) == p  # plain Python numbers: the record stores them as is
    assert "adaptive_auc" not in PC.claim_params(values, parts, verdict, margin=0.02,
                                                 baselines_beaten=0, n_baselines=4)["parts"]


def test_holm_to_claim_reads_a_holm_word_for_a_claim_of_lower():
    assert [PC.holm_to_claim(w) for w in ("lower", "higher", spn.metrics.NO_DIFFERENCE)] == \
        [SUP, CON, ND]
    assert PC.holm_to_claim("lower", sign=+1) == CON


def test_claim_detail_names_the_decider_and_the_adaptive_family():
    values = {"AUC": (-0.043, -0.067, -0.016), "gap": (0.004, -0.023, 0.031),
              "accuracy": (-0.052, -0.080, -0.024)}
    verdict, parts = DE.ppb_claim_verdict(values["gap"], values["AUC"], values["accuracy"],
                                          margin=0.02)
    text = PC.claim_detail(values, parts, verdict, margin=0.02, baselines_beaten=0,
                           n_baselines=4, family="section 9's 6 comparisons",
                           adaptive=(-0.041, -0.076, -0.005, spn.metrics.NO_DIFFERENCE, 0.069))
    assert "the cost, 0.024 to 0.080, exceeds the 0.02 allowed" in text
    assert "the accuracy part decides the verdict" in text
    assert ("not detectable after Holm over section 9's 6 comparisons (p = 0.069; on its own "
            "its 95 % interval excludes 0)") in text
    assert "PPB beats 0 of 4 baselines" in text
    sup = PC.claim_detail(values, {k: SUP for k in parts}, SUP, margin=0.1, baselines_beaten=1,
                          n_baselines=4)
    assert "every part is supported" in sup and "adaptive attacker" not in sup


def test_monotone_direction():
    assert PC.monotone_direction([0, -0.015, -0.043, -0.012]) is None
    assert PC.monotone_direction([0, -0.01, -0.01, -0.03]) == "falls"
    assert PC.monotone_direction([0, 0.01, 0.02]) == "rises"
    assert PC.monotone_direction([0, 0, 0]) == "flat"


def test_sweep_words_flags_a_sweep_that_does_not_move_one_way():
    bent = [(-0.015, -0.038, 0.007), (-0.043, -0.067, -0.016), (-0.012, -0.028, 0.005)]
    text = PC.sweep_words([1, 4, 16], {"best AUC": bent}, lam_fixed=4)
    assert "Not monotone in lambda (best AUC)" in text
    assert "lambda = 4's result may be training noise" in text
    assert "LAM = 4 was fixed before the run" in text
    assert "4: -0.043 [-0.067, -0.016]" in text
    steady = [(-0.01, -0.03, 0.01), (-0.02, -0.04, 0.0), (-0.05, -0.07, -0.03)]
    ok = PC.sweep_words([16, 1, 4], {"best AUC": [steady[2], steady[0], steady[1]]}, lam_fixed=4)
    assert "Monotone in lambda (best AUC: falls)" in ok and "noise" not in ok
    assert ok.index("1: -0.010") < ok.index("4: -0.020") < ok.index("16: -0.050")  # sorted
    both = PC.sweep_words([1, 4, 16], {"best AUC": steady, "test accuracy": bent}, lam_fixed=4)
    assert "Monotone in lambda (best AUC: falls)" in both
    assert "Not monotone in lambda (test accuracy)" in both
    # the sweep starts at 0 (lambda 0 is no defense): down then up past it is not one way
    dip = [(-0.02, -0.04, 0.0), (0.01, -0.01, 0.03), (0.03, 0.01, 0.05)]
    assert "Not monotone" in PC.sweep_words([1, 4, 16], {"best AUC": dip}, lam_fixed=4)
    with pytest.raises(ValueError, match="'effects'.*one .estimate, lo, hi. per lambda"):
        PC.sweep_words([1, 4], {"best AUC": bent}, lam_fixed=4)


def test_holm_p_names_its_family_wherever_it_is_quoted():
    null = spn.metrics.NO_DIFFERENCE
    fam = "section 9's 6 'PPB vs no defense' comparisons"
    assert DE.holm_words("lower", 0.0053, -0.07, -0.02, family=fam) == \
        f"lower (Holm over {fam}: p = 0.0053)"
    assert f"(Holm over {fam}: p = 0.069; on its own" in DE.holm_words(null, 0.069, -0.076,
                                                                       -0.005, family=fam)
    assert DE.holm_words("lower", 0.01, -0.08, -0.01, family=float("nan")) == \
        "lower (Holm p = 0.01)"  # a missing family (NaN in a table) is not named
    row = {"comparison": "PPB vs no defense", "attacker": "adaptive", "metric": "AUC",
           "metric verdict": null, "Δ metric": -0.041, "metric CI": "[-0.076, -0.005]",
           "metric lo": -0.076, "metric hi": -0.005, "metric p_holm": 0.069, "metric MDE": 0.063,
           "accuracy verdict": "lower", "Δ test acc": -0.05, "acc CI": "[-0.08, -0.02]",
           "holm family": fam}
    assert f"not detectable after Holm (Holm over {fam}: p = 0.069; own CI excludes 0;" in \
        DE.verdict_sentence(row)
    table = pd.DataFrame([row])
    assert f"Holm over {fam}: p = 0.069" in DE.answer(table, "PPB vs no defense", "adaptive", "AUC")
    assert "Holm p = 0.069" in DE.answer(table.drop(columns="holm family"), "PPB vs no defense",
                                         "adaptive", "AUC")
