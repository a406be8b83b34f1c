"""Power and families of comparisons (issue 18, items 2 and 3): the minimum detectable difference
is what its name says (a planted difference of that size is detected about 80 % of the time,
no difference about 5 %), and Holm's correction keeps a family's false detections at alpha."""

import math

import numpy as np
import pytest
from scipy import stats

from sparsepriv_nb import families, metrics, power
from sparsepriv_nb._checks import ParameterError

N = 250          # members (and as many non-members) per synthetic attack
REPEATS = 200
RESAMPLES = 250
NOISE = 0.5      # model-specific score noise on top of the shared per-sample latent
AUC_B = 0.70


def _shift(auc: float) -> float:
    """Member mean shift giving ``auc`` for scores ``z + NOISE e + shift * member``."""
    return math.sqrt(2 * (1 + NOISE ** 2)) * stats.norm.ppf(auc)


def _pair(rng, auc_a: float, auc_b: float):
    m = np.r_[np.ones(N), np.zeros(N)]
    z = rng.normal(size=2 * N)  # what makes a sample easy or hard, shared by both models
    a = z + NOISE * rng.normal(size=2 * N) + _shift(auc_a) * m
    b = z + NOISE * rng.normal(size=2 * N) + _shift(auc_b) * m
    return a, b, m


def _detections(auc_a: float, seed: int, metric: str = "auc"):
    rng = np.random.default_rng(seed)
    out = []
    for i in range(REPEATS):
        r = power.paired_mde(*_pair(rng, auc_a, AUC_B), metric, n_resamples=RESAMPLES,
                             random_state=i)
        v = power.verdict_with_power(r["diff"], r["lo"], r["hi"], r["mde"])
        out.append((v["detected"], r["mde"]))
    detected, mdes = map(np.array, zip(*out))
    return detected, mdes


@pytest.fixture(scope="module")
def null_run():
    return _detections(AUC_B, seed=1)


def test_no_planted_difference_is_rarely_detected(null_run):
    detected, _ = null_run
    assert detected.mean() <= 0.07


def test_difference_equal_to_the_mde_is_detected_about_80_percent(null_run):
    mde = float(null_run[1].mean())  # what a run at these sizes reports
    assert 0.01 < mde < 0.1
    detected, _ = _detections(AUC_B + mde, seed=2)
    assert 0.70 <= detected.mean() <= 0.90, detected.mean()


def test_seed_mde_has_its_power():
    rng = np.random.default_rng(3)
    sd, n = 0.02, 6
    mde = power.seed_mde(sd, n)
    for planted, lo_rate, hi_rate in ((mde, 0.70, 0.90), (0.0, 0.0, 0.07)):
        d = planted + sd * rng.normal(size=(5 * REPEATS, n))  # cheap: 1000 repeats
        mean, s = d.mean(1), d.std(1, ddof=1)
        half = stats.t.ppf(0.975, n - 1) * s / math.sqrt(n)
        hits = [power.verdict_with_power(x, x - h, x + h, mde)["detected"]
                for x, h in zip(mean, half)]
        assert lo_rate <= np.mean(hits) <= hi_rate, (planted, np.mean(hits))


def test_inverse_sizes_reach_the_target():
    # SE ~ 1/sqrt(n): 4x the samples halve the MDE
    assert power.samples_needed(0.02, mde=0.04, n=300) == 1200
    assert power.mde_at_sizes(0.04, 300, [1200])[0] == pytest.approx(0.02)
    n = power.seeds_needed(0.01, sd=0.02)
    assert power.seed_mde(0.02, n) <= 0.01 < power.seed_mde(0.02, n - 1)
    with pytest.raises(ValueError, match="max_seeds"):
        power.seeds_needed(1e-6, sd=1.0, max_seeds=50)


def test_mde_from_se_formula_and_checks():
    assert power.mde_from_se(0.01) == pytest.approx((1.959964 + 0.841621) * 0.01, rel=1e-5)
    assert power.mde_from_se(0.01, alpha=0.01, power=0.9) > power.mde_from_se(0.01)
    with pytest.raises(ParameterError, match="'power' parameter of mde_from_se"):
        power.mde_from_se(0.01, power=1.5)
    with pytest.raises(ParameterError, match="'se' parameter"):
        power.mde_from_se(-1)


def test_paired_mde_matches_paired_difference_and_tpr():
    rng = np.random.default_rng(4)
    a, b, m = _pair(rng, 0.75, 0.70)
    r = power.paired_mde(a, b, m, n_resamples=300, random_state=5)
    d = metrics.paired_difference(a, b, m, n_resamples=300, random_state=5)
    assert (r["diff"], r["lo"], r["hi"]) == pytest.approx((d["diff"], d["lo"], d["hi"]))
    assert r["n_members"] == r["n_nonmembers"] == N
    t = power.paired_mde(a, b, m, "tpr_at_1pct_fpr", n_resamples=300)
    assert 0 < t["se"] and t["mde"] > r["mde"]  # low-FPR TPR is the noisier metric
    assert math.isnan(power.paired_mde(a, b, m, "tpr_at_0p1pct_fpr", n_resamples=50)["mde"])


def test_verdict_with_power_words():
    v = power.verdict_with_power(0.01, -0.01, 0.03, 0.0312)
    assert v["verdict"] == metrics.NO_DIFFERENCE and not v["detected"]
    assert v["sentence"] == "no detectable difference; this run could detect |Δ| ≥ 0.031"
    v = power.verdict_with_power(-0.04, -0.07, -0.01, 0.03, lower="more private")
    assert v["verdict"] == "more private" and v["detected"]
    assert power.verdict_with_power(math.nan, math.nan, math.nan, 0.03)["verdict"] == \
        "not measurable here"
    assert "unknown" in power.verdict_with_power(0.0, -1, 1, math.nan)["sentence"]


# ----------------------------------------------------------------------------- families

def _family_rates(effect: float, m: int = 6, repeats: int = REPEATS, se: float = 0.01):
    rng = np.random.default_rng(6)
    any_holm = any_raw = 0
    strong = []
    for _ in range(repeats):
        diffs = se * rng.normal(size=m)
        diffs[0] += effect
        fam = families.holm_verdicts([{"name": f"attack{i}", "diff": d,
                                       "lo": d - 1.96 * se, "hi": d + 1.96 * se}
                                      for i, d in enumerate(diffs)])
        f = fam.frame
        null = f.iloc[1:] if effect else f
        any_holm += (null["verdict"] != metrics.NO_DIFFERENCE).any()
        any_raw += (null["verdict_uncorrected"] != metrics.NO_DIFFERENCE).any()
        strong.append(f["verdict"].iloc[0] == "higher")
        assert fam.expected_by_chance == pytest.approx(0.05 * m)
    return any_holm / repeats, any_raw / repeats, np.mean(strong)


def test_holm_keeps_family_wise_error_at_alpha():
    holm, raw, _ = _family_rates(0.0)
    assert holm <= 0.065, holm
    assert raw >= 0.15, raw  # six uncorrected tests: about 1 - 0.95^6 = 26 %


def test_holm_keeps_a_strong_effect():
    _, _, kept = _family_rates(0.05)  # 5 SE
    assert kept >= 0.95


def test_holm_adjust_is_statsmodels_holm():
    from statsmodels.stats.multitest import multipletests

    rng = np.random.default_rng(7)
    for m in (1, 2, 6, 20):
        p = rng.uniform(0, 0.2, size=m) ** 2
        p[: m // 3] = p[0]  # ties
        reject, adj = families.holm_adjust(p, 0.05)
        ref_reject, ref_adj, _, _ = multipletests(p, alpha=0.05, method="holm")
        np.testing.assert_array_equal(reject, ref_reject)
        np.testing.assert_allclose(adj, ref_adj)
    with pytest.raises(ParameterError, match="'p' parameter of holm_adjust"):
        families.holm_adjust([0.1, 1.5])


def test_holm_sentences_and_inputs():
    fam = families.holm_verdicts([{"diff": 0.05, "se": 0.01}, {"diff": 0.0, "se": 0.01}])
    f = fam.frame
    assert list(f["verdict"]) == ["higher", metrics.NO_DIFFERENCE]
    assert f["sentence"].iloc[1].startswith("no detectable difference; this run could detect")
    assert f["mde"].iloc[1] == pytest.approx(power.mde_from_se(0.01, alpha=0.025))
    assert fam.n_detected == 1 and "1 of 2" in fam.summary()
    with pytest.raises(ParameterError, match="'comparisons' parameter of holm_verdicts"):
        families.holm_verdicts([{"diff": 0.1}])
    own = families.holm_verdicts([{"diff": 0.05, "se": 0.01, "p": 0.2}])
    assert own.frame["verdict"].iloc[0] == metrics.NO_DIFFERENCE  # the given p is used
    nan = families.holm_verdicts([{"diff": math.nan, "se": 0.01}, {"diff": 0.05, "se": 0.01}])
    assert list(nan.frame["verdict"]) == ["not measurable here", "higher"]
    assert nan.expected_by_chance == pytest.approx(0.05)


def test_mde_table_follows_the_sqrt_n_law():
    t = power.mde_table(0.03, 500, [125, 2000, 8000], unit="members")
    assert t.members.tolist() == [125, 500, 2000, 8000]
    np.testing.assert_allclose(t.MDE * np.sqrt(t.members), 0.03 * np.sqrt(500))
    assert power.needed_sentence(0.015, mde=0.03, n=500).startswith(
        "To detect |Δ| ≥ 0.015 this comparison would need about 2000 attacked samples")


def test_seed_mde_table_shrinks_and_matches_seeds_needed():
    t = power.seed_mde_table(0.02, [2, 3, 5, 10, 20])
    assert (np.diff(t.MDE) < 0).all()
    need = power.seeds_needed(0.02, sd=0.02)
    assert "about %d seeds" % need in power.needed_sentence(0.02, sd=0.02, n_seeds=3)
    with pytest.raises(ValueError, match="needs 'mde'"):
        power.needed_sentence(0.02)


def test_family_summary_counts_only_testable_comparisons():
    comps = [{"diff": 0.0, "se": 0.01}] * 10 + [{"diff": float("nan"), "se": float("nan")}]
    s = families.holm_verdicts(comps).summary()
    assert "0 of 10 testable comparisons" in s and "0.5 of 10" in s, s
    assert "1 not measurable here" in s
