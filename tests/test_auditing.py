"""Auditing: validity of every bound by simulation on mechanisms of known privacy, f-DP versus
Steinke et al. on the same guesses, tie handling, conversions, canaries and scores."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch
from scipy import special

from sparsepriv_nb import auditing as au
from sparsepriv_nb._checks import ParameterError
from sparsepriv_nb.dp import audit_inclusion

M, RUNS, BETA, DELTA = 1000, 200, 0.05, 1e-5
#: Most runs in which a valid bound at level 0.05 may exceed the truth: 10 expected at worst,
#: 20 is beyond the binomial 99.9 % quantile (19).
MAX_EXCEED = 20
EPS_RR, MU_GAUSS = 2.0, 1.0


def randomised_response(seed: int, eps: float = EPS_RR, m: int = M):
    """eps-DP randomised response on each inclusion bit; +-1 scores (almost all tied), the
    inputs listed members first, so that ranking ties by position would cheat."""
    rng = np.random.default_rng(seed)
    inc = np.sort(rng.random(m) < 0.5)[::-1]
    flip = rng.random(m) < 1 / (1 + math.exp(eps))
    return np.where(inc ^ flip, 1.0, -1.0), inc


def gaussian_mechanism(seed: int, mu: float = MU_GAUSS, m: int = M):
    rng = np.random.default_rng(seed)
    inc = rng.random(m) < 0.5
    return rng.normal(size=m) + mu * inc, inc


def _one_run_bounds(draws, delta=DELTA):
    grid = au.default_k_grid(M)
    counts = [au.count_correct(s, inc, grid, random_state=seed) for seed, (s, inc) in
              enumerate(draws)]
    r, v = (np.array(c) for c in zip(*counts))
    return {"steinke": au.steinke_bound_over_grid(M, r, v, delta=delta, beta=BETA)[0],
            "fdp_eps_delta": au.fdp_bound_over_grid(M, r, v, au.eps_delta(delta),
                                                    beta=BETA)[0],
            "fdp_gdp_mu": au.fdp_bound_over_grid(M, r, v, au.GAUSSIAN, beta=BETA)[0]}


@pytest.fixture(scope="module")
def rr_bounds():
    return _one_run_bounds([randomised_response(seed) for seed in range(RUNS)])


@pytest.fixture(scope="module")
def gauss_draws():
    return [gaussian_mechanism(seed) for seed in range(RUNS)]


# ----------------------------------------------------------------------- validity by simulation

def test_one_run_bounds_valid_on_randomised_response(rr_bounds):
    # randomised response at eps is exactly eps-DP and exactly mu-GDP for mu = 2 Phi^-1(q):
    # the Gaussian curve through its kink (x, x) with x = 1 / (1 + e^eps).
    mu_rr = 2 * special.ndtri(math.exp(EPS_RR) / (1 + math.exp(EPS_RR)))
    assert (rr_bounds["steinke"] > EPS_RR).sum() <= MAX_EXCEED
    assert (rr_bounds["fdp_eps_delta"] > EPS_RR).sum() <= MAX_EXCEED
    assert (rr_bounds["fdp_gdp_mu"] > mu_rr).sum() <= MAX_EXCEED
    # and the bounds see something: randomised response at eps = 2 is easy to audit
    assert rr_bounds["fdp_eps_delta"].mean() > 1.2


def test_one_run_bounds_valid_on_gaussian_mechanism(gauss_draws):
    b = _one_run_bounds(gauss_draws)
    eps_true = au.gdp_epsilon(MU_GAUSS, DELTA)
    assert (b["steinke"] > eps_true).sum() <= MAX_EXCEED
    assert (b["fdp_eps_delta"] > eps_true).sum() <= MAX_EXCEED
    assert (b["fdp_gdp_mu"] > MU_GAUSS).sum() <= MAX_EXCEED
    assert b["fdp_gdp_mu"].mean() > 0.3


def test_score_gdp_bound_valid_on_gaussian_mechanism(gauss_draws):
    mus = np.array([au.gdp_audit(s, inc, delta=DELTA, beta=BETA)["mu_lb"]
                    for s, inc in gauss_draws])
    assert (mus > MU_GAUSS).sum() <= MAX_EXCEED
    assert 0.4 < mus.mean() < MU_GAUSS


def test_clopper_pearson_epsilon_valid_on_independent_trials():
    # many runs: each guess an independent trial of eps-randomised response
    rng = np.random.default_rng(0)
    q = math.exp(EPS_RR) / (1 + math.exp(EPS_RR))
    tp, fp = rng.binomial(100, q, RUNS), rng.binomial(100, 1 - q, RUNS)
    eps = np.array([au.clopper_pearson_epsilon(a, 100 - a, b, 100 - b, delta=0.0, beta=BETA)
                    for a, b in zip(tp, fp)])
    assert (eps > EPS_RR).sum() <= MAX_EXCEED
    assert eps.mean() > 0.8


# ------------------------------------------------------------------- f-DP against Steinke et al.

def test_fdp_at_least_steinke_on_the_same_guesses(rr_bounds):
    # At a tiny delta * m the two agree to about 1 % (Steinke's binomial tail is exact for
    # randomised response); the f-DP analysis never pays Steinke's 2 m delta term.
    fdp, st = rr_bounds["fdp_eps_delta"], rr_bounds["steinke"]
    assert np.all(fdp >= st - 0.02)
    assert fdp.mean() > st.mean()
    r, v = np.array([[100, 200]]), np.array([[90, 170]])
    big = au.fdp_bound_over_grid(M, r, v, au.eps_delta(1e-3), beta=BETA)[0]
    assert big > au.steinke_bound_over_grid(M, r, v, delta=1e-3, beta=BETA)[0] + 0.5


def test_union_bound_over_the_grid():
    m = 300
    s, inc = gaussian_mechanism(0, mu=2.0, m=m)
    grid = au.default_k_grid(m)
    r, v = au.count_correct(s, inc, grid, random_state=0)
    for family in ("eps_delta", "gdp"):
        fam = au.eps_delta(DELTA) if family == "eps_delta" else au.GAUSSIAN
        out = au.fdp_audit(s, inc, delta=DELTA, beta=BETA, family=family)
        each = au.fdp_bound(m, r, v, fam, beta=BETA / len(grid))
        value = out["epsilon_lb"] if family == "eps_delta" else out["mu_lb"]
        assert value == pytest.approx(each.max())
        assert au.fdp_bound(m, r, v, fam, beta=BETA).max() > value  # the split costs
    st = au.steinke_audit(s, inc, delta=DELTA, beta=BETA)
    assert st["epsilon_lb"] == pytest.approx(
        au.steinke_bound(m, r, v, delta=DELTA, beta=BETA / len(grid)).max())


def test_fdp_rejection_is_monotone():
    thetas = np.linspace(0, 3, 31)
    rej = au.fdp_rejects(M, 100, 95, au.GAUSSIAN, thetas, beta=BETA)
    assert rej[0] and not rej[-1] and np.all(np.diff(rej.astype(int)) <= 0)
    by_v = au.fdp_rejects(M, 100, np.arange(50, 101), au.eps_delta(DELTA), 1.0, beta=BETA)
    assert not by_v[0] and by_v[-1] and np.all(np.diff(by_v.astype(int)) >= 0)


def test_fdp_pure_dp_matches_a_binomial_tail_at_full_guessing():
    # all m guessed, all right: both analyses give the same epsilon at delta = 0
    eps_fdp = au.fdp_bound(M, M, M, au.eps_delta(0.0), beta=BETA)
    eps_st = au.steinke_bound(M, M, M, delta=0.0, beta=BETA)
    assert float(eps_fdp) == pytest.approx(float(eps_st), abs=2e-3)


# ----------------------------------------------------------------------------------------- ties

def test_constant_scores_give_zero():
    inc = audit_inclusion(300, seed=3)
    order = np.argsort(~inc, kind="stable")  # members first: position would cheat
    for rs in range(5):
        table = au.audit_all(np.zeros(300), inc[order], delta=DELTA, random_state=rs)
        assert (table["epsilon_lb"] == 0).all()


def test_ties_are_broken_by_a_seeded_permutation_not_by_position():
    order = au.rank_order(np.zeros(50), random_state=0)
    assert sorted(order) == list(range(50)) and list(order) != list(range(50))
    assert list(order) == list(au.rank_order(np.zeros(50), random_state=0))


def test_one_tie_break_for_dp_audit_epsilon_and_the_auditing_bounds():
    """The rule, pinned: scores high to low; of two tied examples, i first when key[i] <
    key[j], key = default_rng(seed).permutation(m). dp.audit_epsilon and auditing's bounds
    share it, so on tied scores they make the same guesses for every (k+, k-)."""
    from sparsepriv_nb import dp

    m = 200
    inc = audit_inclusion(m, seed=7)
    tied = np.round(np.random.default_rng(3).normal(size=m) + inc)  # 6 values: blocks straddle cuts
    grid = au.default_k_grid(m)
    for seed in range(4):
        key = np.random.default_rng(seed).permutation(m)
        assert au.rank_order(tied, random_state=seed).tolist() == \
            sorted(range(m), key=lambda i: (-tied[i], key[i]))
        r, v = au.count_correct(tied, inc, grid, random_state=seed)
        for pair, correct in zip(grid, v):
            assert dp.audit_epsilon(tied, inc, delta=DELTA, k_grid=[pair],
                                    seed=seed)["correct"] == correct, (seed, pair)
        st = au.steinke_audit(tied, inc, delta=DELTA, beta=BETA, random_state=seed)
        assert dp.audit_epsilon(tied, inc, delta=DELTA, beta=BETA, seed=seed) == st


def test_result_does_not_depend_on_input_order():
    s, inc = gaussian_mechanism(1, mu=2.0, m=300)
    perm = np.random.default_rng(5).permutation(300)
    a = au.audit_all(s, inc, delta=DELTA, random_state=0)
    b = au.audit_all(s[perm], inc[perm], delta=DELTA, random_state=0)
    assert a.equals(b)


# ------------------------------------------------------------------------- curves, conversions

@pytest.mark.parametrize("family", [au.GAUSSIAN, au.eps_delta(1e-3)])
def test_inverse_blowup_inverts_one_minus_the_curve(family):
    x = np.linspace(0.01, 0.5, 50)
    y = 1 - family.curve(x, 1.0)
    inside = y < 1 - 1e-9
    assert np.allclose(family.inverse_blowup(y, 1.0)[inside], x[inside], atol=1e-9)


def test_gdp_conversion():
    assert au.gdp_epsilon(1.0, 1e-5) == pytest.approx(4.37718, abs=1e-4)
    for mu in (0.3, 1.0, 4.0):
        assert au.gdp_delta(mu, au.gdp_epsilon(mu, 1e-6)) == pytest.approx(1e-6, rel=1e-6)
    assert au.gdp_epsilon(0.1, 0.5) == 0.0  # delta above the total variation


def test_audit_all_table():
    s, inc = gaussian_mechanism(2, mu=2.0, m=300)
    table = au.audit_all(s, inc, delta=DELTA, beta=0.1)
    assert list(table.index) == ["steinke", "fdp_eps_delta", "fdp_gdp"]
    assert (table["beta"] == 0.1).all() and (table["m"] == 300).all()
    assert np.isnan(table.loc["steinke", "mu_lb"]) and table.loc["fdp_gdp", "mu_lb"] > 0
    assert (table["correct"] <= table["guesses"]).all() and (table["epsilon_lb"] > 0).all()


def test_bad_parameters_name_themselves():
    s, inc = gaussian_mechanism(0)
    with pytest.raises(ParameterError, match="'beta' parameter of fdp_audit"):
        au.fdp_audit(s, inc, delta=DELTA, beta=1.5)
    with pytest.raises(ValueError, match="'k_grid' parameter of fdp_audit"):
        au.fdp_audit(s, inc, delta=DELTA, k_grid=[(M, 1)])
    with pytest.raises(ValueError, match="'family' parameter of fdp_audit"):
        au.fdp_audit(s, inc, delta=DELTA, family="rdp")
    with pytest.raises(ValueError, match="correct <= guesses"):
        au.fdp_rejects(M, 10, 11, au.GAUSSIAN, 1.0, beta=BETA)


# ------------------------------------------------------------------------------------- canaries

def test_canaries_are_inserted_half_of_the_time_reproducibly():
    X, y = torch.rand(100, 1, 4, 4), torch.randint(0, 3, (100,))
    canaries = au.ood_canaries(400, (1, 4, 4), kind="noise", label=1, seed=0)
    Xa, ya, inc = au.insert_canaries((X, y), canaries, seed=7)
    Xb, _, inc_b = au.insert_canaries((X, y), canaries, seed=7)
    assert torch.equal(Xa, Xb) and np.array_equal(inc, inc_b)
    assert 160 < inc.sum() < 240 and len(Xa) == 100 + inc.sum()
    assert torch.equal(Xa[100:], canaries[0][torch.as_tensor(inc)])
    assert (ya[100:] == 1).all()


def test_mislabelled_canaries_have_wrong_labels():
    X = torch.arange(30.0).reshape(30, 1)
    Xc, yc = au.mislabel_canaries((X, X[:, 0].long() % 5), 20, num_classes=5, seed=1)
    assert len(set(Xc[:, 0].tolist())) == 20
    assert (yc != Xc[:, 0].long() % 5).all() and ((0 <= yc) & (yc < 5)).all()


def test_blank_canaries_differ_and_dirac_scores_read_their_column():
    X, _ = au.ood_canaries(16, (1, 4, 4), kind="blank", label=0, seed=0)
    assert len({tuple(x.flatten().tolist()) for x in X}) == 16
    assert au.quiet_pixels(torch.cat([X[:1], torch.zeros(1, 1, 4, 4)])).size == 15
    w0 = torch.zeros(3, 16)
    w1 = w0.clone()
    w1[:, 5] = 1.0
    assert au.dirac_scores(w0, w1, [5, 6]).tolist() == [math.sqrt(3), 0.0]


def test_gradient_scores_detect_a_step_against_the_canary():
    model = torch.nn.Linear(20, 1)
    before = au.flat_parameters(model)
    d = au.canary_directions(2, before.numel(), seed=0)
    with torch.no_grad():  # a descent step on canary 0's gradient, direction d[0]
        step = -0.5 * d[0]
        model.weight += step[:20].reshape(1, 20)
        model.bias += step[20:]
    scores = au.gradient_scores(before, model, d)
    assert scores[0] == pytest.approx(0.5, abs=1e-6) and abs(scores[1]) < 0.4


def test_loss_scores_rank_fitted_canaries_higher():
    torch.manual_seed(0)
    X, y = au.ood_canaries(40, (1, 4, 4), kind="noise", label=0, seed=0)
    y = torch.randint(0, 3, (40,), generator=torch.Generator().manual_seed(0))
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 3))
    opt = torch.optim.SGD(model.parameters(), lr=1.0)
    for _ in range(50):  # memorise the first half
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(X[:20]), y[:20]).backward()
        opt.step()
    s = au.loss_scores(model, (X, y), device="cpu")
    assert s[:20].mean() > s[20:].mean()


def test_score_gdp_bound_pays_a_union_bound_over_its_thresholds():
    from scipy import stats

    s, inc = gaussian_mechanism(4, mu=1.5)
    out = au.gdp_audit(s, inc, delta=DELTA, beta=BETA)
    members, others = s[inc], np.sort(s[~inc])[::-1]
    ranks = au.default_ranks(len(others))
    level = BETA / (2 * len(ranks))
    mus = []
    for j in ranks:  # threshold: the j-th highest non-member score, "in" when score >= it
        t = others[j - 1]
        tp, fp = int((members >= t).sum()), int((others >= t).sum())
        tpr_lo = stats.beta.ppf(level, tp, len(members) - tp + 1) if tp else 0.0
        fpr_hi = stats.beta.ppf(1 - level, fp + 1, len(others) - fp)
        mus.append(special.ndtri(tpr_lo) - special.ndtri(fpr_hi))
    assert out["mu_lb"] == pytest.approx(max(mus), rel=1e-9)
    assert out["n_thresholds"] == len(ranks) > 10


def test_ood_canaries_with_random_labels_and_bad_label_arguments():
    _, y = au.ood_canaries(200, (1, 4, 4), label=None, num_classes=10, seed=0)
    assert len(set(y.tolist())) == 10
    with pytest.raises(ParameterError, match="'num_classes' parameter of ood_canaries"):
        au.ood_canaries(5, (1, 4, 4), label=None, seed=0)
    with pytest.raises(ValueError, match="'kind' parameter of ood_canaries"):
        au.ood_canaries(5, (1, 4, 4), kind="grey", seed=0)


# ------------------------------------------------------------------ several models, verdicts

def test_audit_models_matches_audit_all_and_flags_inconsistency():
    scores, inc = gaussian_mechanism(0, mu=3.0, m=400)
    table = au.audit_models({"leaky": scores, "blind": np.zeros(400)},
                            {"leaky": 1.0, "blind": 1.0}, inc, delta=DELTA)
    assert table.model.tolist() == ["leaky"] * 3 + ["blind"] * 3
    alone = au.audit_all(scores, inc, delta=DELTA)
    np.testing.assert_allclose(table.epsilon_lb[:3], alone.epsilon_lb)
    assert (table.epsilon_lb[3:] == 0).all() and table.consistent[3:].all()
    # a 3-GDP mechanism audited well above the claimed epsilon 1: the check must fail
    assert not table.consistent[:3].any()
    lines = au.audit_verdicts(table)
    assert "INCONSISTENT" in lines[0]
    # a bound of 0 checks nothing: vacuous, never "consistent"
    assert "lower bound 0: vacuous, no check of accountant 1.00" in lines[1]
    assert "consistent" not in lines[1] and ">=" not in lines[1].split("(")[0]
    assert "none of the 18 guess sets tried" in lines[1]  # not the 5 guesses of the first pair
    lead = table[table.bound == au.HEADLINE_BOUND].iloc[0]
    assert (f"lower bound {lead.epsilon_lb:.2f} ({lead.correct}/{lead.guesses} guesses right) > "
            "accountant 1.00") in lines[0]


def test_audit_verdicts_positive_bound_below_accountant_is_consistent():
    t = pd.DataFrame({"model": ["m", "z"], "epsilon": [1.0, 1.0], "bound": [au.HEADLINE_BOUND] * 2,
                      "epsilon_lb": [0.4, 0.0], "beta": [0.05] * 2})
    lines = au.audit_verdicts(t)
    assert lines[0] == "Verdict: m: lower bound 0.40 <= accountant 1.00: consistent (beta=0.05)"
    assert "vacuous" in lines[1] and "no check of accountant 1.00" in lines[1]


def _one(lb, guesses=200, correct=120):
    return pd.DataFrame({"model": ["m"], "epsilon": [1.0], "bound": [au.HEADLINE_BOUND],
                         "epsilon_lb": [lb], "beta": [0.05], "guesses": [guesses],
                         "correct": [correct], "grid_size": [21]})


def test_audit_verdicts_use_the_larger_of_natural_and_canary_bounds():
    # the natural-example bound 0.19 is a check even though the canary bound is 0
    line = au.audit_verdicts({"natural examples": _one(0.19, 200, 130),
                              "canaries": _one(0.0, 5, 3)})[0]
    assert line.startswith("Verdict: m: lower bound 0.19 from natural examples (130/200 guesses "
                           "right) <= accountant 1.00: consistent")
    assert "canaries 0 (vacuous))" in line and "probability >= 0.9" in line
    assert "from natural examples and canaries" not in line
    # the order of the sources does not matter: the larger bound wins
    swapped = au.audit_verdicts({"canaries": _one(0.0, 5, 3),
                                 "natural examples": _one(0.19, 200, 130)})[0]
    assert "0.19 from natural examples" in swapped and "canaries 0 (vacuous)" in swapped
    # above the accountant in either source: inconsistent
    assert "INCONSISTENT" in au.audit_verdicts({"natural examples": _one(0.1),
                                                "canaries": _one(1.5)})[0]
    # both 0: vacuous, both sources named, no guess count
    both = au.audit_verdicts({"natural examples": _one(0.0, 5, 3), "canaries": _one(0.0, 5, 2)})
    assert both[0] == ("Verdict: m: lower bound 0 from natural examples and canaries: vacuous, "
                       "no check of accountant 1.00; none of the 42 guess sets tried, 21 on "
                       "natural examples and 21 on canaries, beat a fair coin (beta=0.05 each)")
    assert "/5 guesses" not in both[0]


def test_audit_verdicts_reject_bad_sources():
    with pytest.raises(ParameterError, match="'table' parameter of audit_verdicts"):
        au.audit_verdicts({})
    other = _one(0.1).assign(model="other")
    with pytest.raises(ParameterError, match="same models in every source; 'b' differs"):
        au.audit_verdicts({"a": _one(0.1), "b": other})


def test_audit_models_nonprivate_and_bad_input():
    inc = audit_inclusion(100, seed=3)
    table = au.audit_models({"np": inc * 1.0}, {"np": math.inf}, inc, delta=DELTA)
    assert table.consistent.all()
    assert "no accountant" in au.audit_verdicts(table, bound="steinke")[0]
    with pytest.raises(ValueError, match="'epsilons' parameter of audit_models.*'x'"):
        au.audit_models({"x": inc * 1.0}, {}, inc, delta=DELTA)
    with pytest.raises(ParameterError, match="'bound' parameter of audit_verdicts"):
        au.audit_verdicts(table, bound="best")


def test_bound_sentence_words_each_case():
    from sparsepriv_nb.dp import bound_sentence

    assert bound_sentence(0.99, 0.0, guesses=5, correct=3, grid_size=21) == (
        "lower bound 0: vacuous, no check of accountant 0.99; none of the 21 guess sets tried "
        "beat a fair coin")
    assert bound_sentence(0.99, 0.17, guesses=200, correct=130).endswith(
        "(130/200 guesses right) <= accountant 0.99: consistent")
    assert "INCONSISTENT" in bound_sentence(0.99, 1.2, guesses=200, correct=190)
    assert "nothing to check" in bound_sentence(math.inf, 3.0, guesses=200, correct=200)
    assert bound_sentence(math.inf, 0.0).startswith("lower bound 0: vacuous")
    assert bound_sentence(1.0, 1.0) == "lower bound 1.00 <= accountant 1.00: consistent"
    assert bound_sentence(1.0, 1.0, label="Steinke lower bound") == (
        "Steinke lower bound 1.00 <= accountant 1.00: consistent")
    assert bound_sentence(1.0, 0.0, label="Steinke bound").startswith("Steinke bound 0:")
    parts = bound_sentence(1.0, 0.0, grid_size=36, grid_parts={"natural examples": 21,
                                                              "canaries": 15})
    assert "none of the 36 guess sets tried, 21 on natural examples and 15 on canaries, beat" \
        in parts
    assert "((" not in parts and ") (" not in parts
    split = bound_sentence(0.99, 0.17, guesses=200, correct=130, k_plus=0, k_minus=200)
    assert split.startswith("lower bound 0.17 (130/200 guesses right: 0 'in', 200 'out') <=")
    assert "'in'" not in bound_sentence(0.99, 0.17, guesses=200, correct=130, k_plus=0)
    with pytest.raises(ParameterError, match="'epsilon_lb' parameter of bound_sentence"):
        bound_sentence(1.0, -0.1)
    with pytest.raises(ParameterError, match="'accountant' parameter of bound_sentence"):
        bound_sentence("big", 0.1)
