"""Attacks on synthetic logits, checked against independent references (fast, no training).

Each test guards a way an attack can be wrong: a flipped score direction, the wrong subset of
reference models, a wrong variance, a threshold that does not maximise balanced accuracy, a
restarted optimizer, a silent NaN. The model-based checks live in ``test_attacks.py``.
"""

import math

import numpy as np
import pytest
import sklearn
import torch
from scipy import stats
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.metrics import roc_auc_score

from sparsepriv_nb import attacks as A
from sparsepriv_nb._checks import ParameterError

# ----------------------------------------------------------------------------- data


def shadow_like(n=400, n_classes=5, gap=2.0, seed=0):
    """Outputs of an overfit model: members have a larger true-class margin and a smaller
    prediction sensitivity; half members, half non-members."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, n_classes, n)
    m = np.r_[np.ones(n // 2, int), np.zeros(n - n // 2, int)]
    rng.shuffle(m)
    z = rng.normal(0, 1, (n, n_classes))
    z[np.arange(n), y] += rng.normal(2.0, 1.5, n) + gap * m
    sens = np.abs(rng.normal(0, 1, (n, n_classes))) * (1.0 + (1 - m)[:, None])
    return torch.tensor(z), torch.tensor(y), m, sens


def logits_from_phi(phi, y, n_classes=3):
    """Logits whose logit-scaled confidence ``z_y - logsumexp_{i != y} z_i`` is ``phi``."""
    phi = np.asarray(phi, float)
    z = np.zeros(phi.shape + (n_classes,))
    np.put_along_axis(z, np.broadcast_to(y, phi.shape)[..., None],
                      (phi + math.log(n_classes - 1))[..., None], -1)
    return torch.tensor(z)


def reference_like(n=300, n_models=8, n_pop=200, gap=1.5, seed=0):
    """Reference models whose phi on each sample is a per-sample difficulty plus ``gap`` when
    the sample is IN, plus per-sample (heteroscedastic) noise; a target whose members are a
    random half; a population that no model trained on."""
    rng = np.random.default_rng(seed)
    keep = A.reference_in_masks(n, n_models, seed=seed)
    base, sd = rng.normal(1, 3, n), rng.uniform(0.2, 1.2, n)
    phi = base + gap * keep + sd * rng.normal(size=(n_models, n))
    member = np.r_[np.ones(n // 2, int), np.zeros(n - n // 2, int)]
    rng.shuffle(member)
    target_phi = base + gap * member + sd * rng.normal(size=n)
    base_p, sd_p = rng.normal(1, 3, n_pop), rng.uniform(0.2, 1.2, n_pop)
    pop_phi = base_p + sd_p * rng.normal(size=(n_models, n_pop))
    target_pop_phi = base_p + sd_p * rng.normal(size=n_pop)
    y, yp = np.zeros(n, int), np.zeros(n_pop, int)
    return dict(R=logits_from_phi(phi, y), y=torch.tensor(y), keep=keep,
                target=logits_from_phi(target_phi, y), member=member,
                P=logits_from_phi(pop_phi, yp), yp=torch.tensor(yp),
                target_pop=logits_from_phi(target_pop_phi, yp), phi=phi, target_phi=target_phi)


def fit_score(name, shadow, target, **params):
    """Fit the registered attack ``name`` on shadow-like data, score target-like data."""
    entry = A.ATTACKS.get(name)
    atk = A.make_attack(name, random_state=0, **params)
    z, y, m, s = shadow
    kw = {"sensitivity": s} if "sensitivity" in entry.needs else {}
    atk.fit(z, y, m, **kw)
    zt, yt, _, st = target
    return atk, atk.score_samples(zt, yt, **({"sensitivity": st} if kw else {}))


# ----------------------------------------------------------------------------- every attack


SHADOW_NAMES = A.available_attacks("shadow")
REFERENCE_NAMES = A.available_attacks("reference")


@pytest.fixture(scope="module")
def shadow_target():
    return shadow_like(seed=0), shadow_like(seed=1)


@pytest.mark.parametrize("name", SHADOW_NAMES)
def test_shadow_attack_scores_members_higher(shadow_target, name):
    """Fitted on one overfit model's outputs, scored on another's: members rank higher."""
    shadow, target = shadow_target
    params = {"epochs": 15} if name == "samia" else {}
    atk, scores = fit_score(name, shadow, target, **params)
    auc = roc_auc_score(target[2], scores)
    assert auc > 0.7, (name, auc)
    pred = atk.predict(target[0], target[1],
                       **({"sensitivity": target[3]} if name == "samia" else {}))
    bal = 0.5 * (pred[target[2] == 1].mean() + 1 - pred[target[2] == 0].mean())
    assert bal > 0.6, (name, bal)


@pytest.fixture(scope="module")
def ref():
    return reference_like()


def fit_reference(name, d, **params):
    atk = A.make_attack(name, **params)
    if "population" in A.ATTACKS.get(name).needs:
        atk.fit(d["R"], d["y"], d["keep"], population_logits=d["P"], population_labels=d["yp"])
        return atk, atk.score_samples(d["target"], d["y"], target_population_logits=d["target_pop"])
    atk.fit(d["R"], d["y"], d["keep"])
    return atk, atk.score_samples(d["target"], d["y"])


@pytest.mark.parametrize("name", REFERENCE_NAMES)
def test_reference_attack_scores_members_higher_and_beats_the_global_threshold(ref, name):
    """Per-sample calibration is the point of LiRA / RMIA: on samples of very different
    difficulty they must beat a global threshold on phi (AUC about 0.65 here)."""
    _, scores = fit_reference(name, ref)
    auc = roc_auc_score(ref["member"], scores)
    plain = roc_auc_score(ref["member"], ref["target_phi"])
    assert auc > 0.8 and auc > plain + 0.1, (name, auc, plain)


# ----------------------------------------------------------------------------- LiRA by hand


def lira_by_hand(d, i, *, online, fixed):
    """Carlini et al.'s score for sample i, from the IN / OUT phi lists with scipy.stats.norm."""
    phi, keep = d["phi"], d["keep"]
    x = d["target_phi"][i]
    ins, outs = phi[keep[:, i], i], phi[~keep[:, i], i]
    if fixed:  # pooled deviations from each sample's own mean, over all samples
        n = phi.shape[1]
        dev_in = [phi[keep[:, j], j] - phi[keep[:, j], j].mean() for j in range(n)]
        dev_out = [phi[~keep[:, j], j] - phi[~keep[:, j], j].mean() for j in range(n)]
        s_in, s_out = np.concatenate(dev_in).std(), np.concatenate(dev_out).std()
    else:
        s_in, s_out = ins.std(), outs.std()
    if online:
        return math.log(stats.norm(ins.mean(), s_in).pdf(x) / stats.norm(outs.mean(), s_out).pdf(x))
    return -math.log(stats.norm(outs.mean(), s_out).sf(x))


@pytest.mark.parametrize("name,online,fixed", [("lira", True, True),
                                               ("lira-per-sample", True, False),
                                               ("lira-offline", False, True),
                                               ("lira-offline-per-sample", False, False)])
def test_lira_equals_the_by_hand_gaussian_likelihood_ratio(ref, name, online, fixed):
    _, scores = fit_reference(name, ref)
    for i in (0, 1, 7, 42, 299):
        assert scores[i] == pytest.approx(lira_by_hand(ref, i, online=online, fixed=fixed),
                                          rel=1e-7, abs=1e-9), (name, i)


def test_per_sample_variance_wins_with_many_models_and_heteroscedastic_noise():
    d = reference_like(n_models=32, seed=3)
    fixed = roc_auc_score(d["member"], fit_reference("lira", d)[1])
    per_sample = roc_auc_score(d["member"], fit_reference("lira-per-sample", d)[1])
    assert per_sample > fixed + 0.01, (per_sample, fixed)


def test_offline_lira_is_a_one_sided_tail_of_the_out_gaussian(ref):
    lira, scores = fit_reference("lira-offline", ref)
    assert lira.mu_in_ is None and lira.threshold_ == pytest.approx(math.log(2))
    # monotone in phi for one sample: more confident = more member
    z_hi = ref["target"].clone()
    z_hi[:, 0] += 1.0
    assert (lira.score_samples(z_hi, ref["y"]) > scores).all()
    assert (scores > 0).all()  # -log of a probability


# ----------------------------------------------------------------------------- RMIA by hand


def test_rmia_equals_the_by_hand_pairwise_likelihood_ratio():
    rng = np.random.default_rng(5)
    n, n_pop, n_models, C = 5, 7, 4, 3
    R = torch.tensor(rng.normal(size=(n_models, n, C)))
    P = torch.tensor(rng.normal(size=(n_models, n_pop, C)))
    y, yp = torch.tensor(rng.integers(0, C, n)), torch.tensor(rng.integers(0, C, n_pop))
    keep = A.reference_in_masks(n, n_models, seed=5)
    zt, zpt = torch.tensor(rng.normal(size=(n, C))), torch.tensor(rng.normal(size=(n_pop, C)))

    def p(logits, labels):  # true-class probability, one sample at a time
        e = np.exp(np.asarray(logits, float))
        return e[int(labels)] / e.sum()

    for online, a, gamma in ((True, None, 1.0), (True, None, 2.0), (False, 0.3, 1.0)):
        rmia = A.RMIA(online=online, a=a, gamma=gamma).fit(
            R, y, keep, population_logits=P, population_labels=yp)
        got = rmia.score_samples(zt, y, target_population_logits=zpt)
        for i in range(n):
            refs_x = [p(R[k, i], y[i]) for k in range(n_models) if online or not keep[k, i]]
            px = np.mean(refs_x) if online else 0.5 * ((1 + a) * np.mean(refs_x) + 1 - a)
            wins = 0
            for j in range(n_pop):
                pz = np.mean([p(P[k, j], yp[j]) for k in range(n_models)])
                pz = pz if online else 0.5 * ((1 + a) * pz + 1 - a)
                lr = (p(zt[i], y[i]) / px) / (p(zpt[j], yp[j]) / pz)
                wins += lr >= gamma
            assert got[i] == pytest.approx(wins / n_pop), (online, gamma, i)


def test_rmia_offline_tunes_a_on_the_grid(ref):
    rmia, _ = fit_reference("rmia-offline", ref)
    assert 0 <= rmia.a_ <= 1 and round(rmia.a_, 1) == rmia.a_


# ----------------------------------------------------------------------------- too few models


def test_too_few_reference_models_is_a_clear_error(ref):
    keep2 = A.reference_in_masks(300, 2, seed=0)
    for name in REFERENCE_NAMES:
        atk = A.make_attack(name)
        with pytest.raises(ValueError, match="at least 4 reference models"):
            atk.fit(ref["R"][:2], ref["y"], keep2, population_logits=ref["P"][:2],
                    population_labels=ref["yp"])


def test_per_sample_variance_needs_two_in_and_two_out_models_per_sample(ref):
    keep = ref["keep"].copy()
    keep[:, 3] = [True] * 7 + [False]  # sample 3: one OUT model
    for name in ("lira-per-sample", "lira-offline-per-sample"):
        with pytest.raises(ValueError, match="at least 2 OUT reference model.*sample 3"):
            A.make_attack(name).fit(ref["R"], ref["y"], keep)
    keep[:, 3] = [False] * 7 + [True]  # one IN model: fine offline, not online
    with pytest.raises(ValueError, match="at least 2 IN"):
        A.make_attack("lira-per-sample").fit(ref["R"], ref["y"], keep)
    A.make_attack("lira-offline-per-sample").fit(ref["R"], ref["y"], keep)
    keep[:, 3] = True  # no OUT model at all
    with pytest.raises(ValueError, match="OUT"):
        A.make_attack("lira").fit(ref["R"], ref["y"], keep)


def test_identical_reference_models_are_an_error_not_1e61(ref):
    R = ref["R"][:1].repeat(8, 1, 1)  # eight copies of one model
    with pytest.raises(ValueError, match="identical phi"):
        A.LiRA(fixed_variance=False).fit(R, ref["y"], ref["keep"])


def test_lira_scores_stay_finite_and_moderate(ref):
    for name in REFERENCE_NAMES:
        scores = fit_reference(name, ref)[1]
        assert np.isfinite(scores).all() and np.abs(scores).max() < 1e3, name


# ----------------------------------------------------------------------------- thresholds


def brute_force_balanced_accuracy(values, member):
    """The best balanced accuracy of 'member if value >= t' over every possible t."""
    best = 0.0
    for t in np.r_[np.unique(values), np.inf]:
        pred = values >= t
        best = max(best, 0.5 * (pred[member == 1].mean() + 1 - pred[member == 0].mean()))
    return best


@pytest.mark.parametrize("signal", ["loss", "modified_entropy"])
def test_per_class_thresholds_maximise_balanced_accuracy_per_class(signal):
    z, y, m, _ = shadow_like(n=300, gap=1.0, seed=2)
    atk = A.ThresholdAttack(signal, per_class=True).fit(z, y, m)
    pred = atk.predict(z, y)
    v = A.membership_signal(signal, z, y)
    for c in range(5):
        sel = (y == c).numpy()
        got = 0.5 * (pred[sel][m[sel] == 1].mean() + 1 - pred[sel][m[sel] == 0].mean())
        assert got == pytest.approx(brute_force_balanced_accuracy(v[sel], m[sel])), c
    glob = A.ThresholdAttack(signal).fit(z, y, m)
    pg = glob.predict(z, y)
    got = 0.5 * (pg[m == 1].mean() + 1 - pg[m == 0].mean())
    assert got == pytest.approx(brute_force_balanced_accuracy(v, m))


def test_per_class_falls_back_to_the_global_threshold_for_one_sided_classes():
    z, y, m, _ = shadow_like(n=300, seed=2)
    m = m.copy()
    m[(y == 4).numpy()] = 1  # class 4: members only
    atk = A.ThresholdAttack("loss", per_class=True).fit(z, y, m)
    assert atk.fallback_classes_ == [4]
    assert atk.class_thresholds_[4] == atk.threshold_


def test_fixed_threshold_is_used_and_nan_is_refused():
    z, y, m, _ = shadow_like(n=100)
    atk = A.ThresholdAttack("loss", threshold=-0.5).fit(z, y, m)
    assert atk.threshold_ == -0.5
    assert (atk.predict(z, y) == (A.membership_signal("loss", z, y) >= -0.5)).all()
    for bad in (float("nan"), float("inf"), "0.5"):
        with pytest.raises((ValueError, TypeError), match="'threshold' parameter"):
            A.ThresholdAttack("loss", threshold=bad).fit(z, y, m)
    with pytest.raises(ValueError, match="per_class"):
        A.ThresholdAttack("loss", per_class=True, threshold=0.0).fit(z, y, m)


# ----------------------------------------------------------------------------- SAMIA


def test_samia_keeps_one_optimizer_and_steps_the_schedule(monkeypatch):
    """Momentum must survive epochs: one SGD for the whole fit, lr x0.1 at 50 % and 75 %."""
    made = []
    real_sgd = torch.optim.SGD

    class CountingSGD(real_sgd):
        def __init__(self, *args, **kwargs):
            made.append(1)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(torch.optim, "SGD", CountingSGD)
    z, y, m, s = shadow_like(n=64, n_classes=3)
    atk = A.SAMIA(epochs=8, batch_size=32, lr=0.1).fit(z, y, m, sensitivity=s)
    assert len(made) == 1
    assert [h["lr"] for h in atk.history_] == pytest.approx([0.1] * 4 + [0.01] * 2 + [0.001] * 2)


def test_samia_is_seeded_and_leaves_the_global_rng_alone():
    z, y, m, s = shadow_like(n=64, n_classes=3)
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a = A.SAMIA(epochs=2, random_state=1).fit(z, y, m, s).score_samples(z, y, s)
    assert torch.rand(1) == before
    b = A.SAMIA(epochs=2, random_state=1).fit(z, y, m, sensitivity=s).score_samples(
        z, y, sensitivity=s)
    c = A.SAMIA(epochs=2, random_state=2).fit(z, y, m, s).score_samples(z, y, s)
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_samia_without_sensitivity_is_a_clear_error():
    z, y, m, _ = shadow_like(n=32, n_classes=3)
    with pytest.raises(ValueError, match="sensitivity"):
        A.SAMIA(epochs=1).fit(z, y, m)


# ----------------------------------------------------------------------------- estimators


@pytest.mark.parametrize("name", SHADOW_NAMES + REFERENCE_NAMES)
def test_every_registered_attack_is_a_scikit_learn_estimator(ref, name):
    atk = A.make_attack(name, random_state=3)
    assert isinstance(atk, sklearn.base.BaseEstimator)
    twin = clone(atk)
    assert twin.get_params() == atk.get_params() and twin is not atk
    with pytest.raises(NotFittedError):
        if A.ATTACKS.get(name).kind == "shadow":
            atk.predict(ref["target"], ref["y"])
        else:
            atk.score_samples(ref["target"], ref["y"])
    key = sorted(atk.get_params())[0]
    assert atk.set_params(**{key: atk.get_params()[key]}) is atk


def test_registry_lists_every_attack_with_its_needs():
    names = A.available_attacks()
    expected = {*A.SIGNALS, *(f"{s}-per-class" for s in A.SIGNALS), "shokri", "shokri-label",
                "shokri-per-class", "shokri-rf", "shokri-gb", "salem", "samia", "lira",
                "lira-per-sample", "lira-offline", "lira-offline-per-sample", "rmia",
                "rmia-offline"}
    assert set(names) == expected
    assert set(A.available_attacks("reference")) == {n for n in expected
                                                     if n.startswith(("lira", "rmia"))}
    assert A.ATTACKS.get("samia").needs == ("target", "shadow", "sensitivity")
    assert A.ATTACKS.get("rmia-offline").needs == ("target", "references", "population")
    assert A.ATTACKS.get("lira").needs == ("target", "references")
    assert A.ATTACKS.get("loss").needs == ("target", "shadow")
    assert A.make_attack("samia").epochs == 30  # the experiments' quick default
    assert A.make_attack("shokri", random_state=7).random_state == 7
    assert A.make_attack("rmia-offline").online is False


def test_registry_errors_name_what_is_allowed():
    with pytest.raises(ValueError, match="Unknown attack 'gradnorm'; registered: .*'lira'"):
        A.make_attack("gradnorm")
    with pytest.raises(ValueError, match="'shokri' has no parameter.*'epochs'.*'classifier'"):
        A.make_attack("shokri", epochs=3)
    with pytest.raises(ValueError, match="kind"):
        A.register_attack("x", A.LiRA, kind="teacher")
    with pytest.raises(ValueError, match="needs"):
        A.register_attack("x", A.LiRA, needs=("gradients",))
    with pytest.raises(ValueError, match="already registered"):
        A.register_attack("lira", A.LiRA)
    with pytest.raises(ParameterError, match="'factory' parameter of register_attack must be "
                                             "a callable"):
        A.register_attack("x", "LiRA")
    A.register_attack("x", lambda random_state=0: object())
    try:
        with pytest.raises(TypeError, match="lacks fit_inputs"):
            A.make_attack("x")
    finally:
        A.ATTACKS.unregister("x")
    with pytest.raises(ValueError, match="kind"):
        A.available_attacks("teacher")


def test_a_registered_toy_attack_is_built_with_its_params():
    def toy(random_state=0, signal="confidence"):
        return A.ThresholdAttack(signal)

    A.register_attack("toy", toy, needs="sensitivity", description="a toy")
    try:
        assert A.ATTACKS.get("toy").needs == ("target", "shadow", "sensitivity")
        assert A.make_attack("toy", signal="entropy").signal == "entropy"
        with pytest.raises(ValueError, match="no parameter"):
            A.make_attack("toy", per_class=True)
        assert "toy" in A.available_attacks("shadow")
    finally:
        A.ATTACKS.unregister("toy")
    assert "toy" not in A.ATTACKS


# ----------------------------------------------------------------------------- one contract


@pytest.mark.parametrize("name", ["loss-per-class", "salem", "samia", "lira-offline", "rmia"])
def test_fit_inputs_is_the_array_level_fit_on_the_declared_fields(ref, name):
    """The orchestrator's entry point (``fit_inputs`` / ``score_inputs`` on one
    AttackInputs) gives the scores of the array-level calls notebooks make."""
    from types import SimpleNamespace as NS

    z, y, m, s = shadow_like(n=100)
    zt, yt, mt, st = shadow_like(n=60, seed=1)
    fields = {"shadow": NS(logits=z, labels=y, membership=m, sensitivity=s),
              "target": NS(logits=zt, labels=yt, membership=mt, sensitivity=st),
              "sensitivity": True, "population": True}
    params = {"epochs": 2} if name == "samia" else {}
    if A.ATTACKS.get(name).kind == "reference":
        fields["target"] = NS(logits=ref["target"], labels=ref["y"], membership=ref["member"])
        fields["references"] = NS(logits=ref["R"], labels=ref["y"], ref_in=ref["keep"],
                                  population_logits=ref["P"], population_labels=ref["yp"],
                                  target_population_logits=ref["target_pop"])
        expected = fit_reference(name, ref)[1]
    else:
        expected = fit_score(name, (z, y, m, s), (zt, yt, mt, st), **params)[1]
    inputs = A.AttackInputs(**fields).select(A.ATTACKS.get(name).needs)
    atk = A.make_attack(name, random_state=0, **params)
    np.testing.assert_allclose(atk.fit_inputs(inputs).score_inputs(inputs), expected)
    with pytest.raises(AttributeError, match="declares in needs"):
        atk.fit_inputs(A.AttackInputs(target=fields["target"]))


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("name", ["loss-per-class", "shokri", "salem"])
def test_bad_shapes_and_labels_are_clear_errors(name):
    z, y, m, _ = shadow_like(n=100)
    atk = A.make_attack(name, **({"tune": False} if name.startswith("shokri") else {}))
    with pytest.raises(ValueError, match="'labels' parameter must be in"):
        atk.fit(z, torch.full_like(y, 5), m)
    with pytest.raises(ValueError, match="'labels' parameter must have shape"):
        atk.fit(z, y[:-1], m)
    with pytest.raises(ValueError, match="'logits' parameter must have shape"):
        atk.fit(z[:, 0], y, m)
    with pytest.raises(ValueError, match="'membership' parameter"):
        atk.fit(z, y, np.full(100, 2))
    atk.fit(z, y, m)
    with pytest.raises(ValueError, match="fitted on 5 classes"):
        atk.score_samples(z[:, :4], y.clamp(max=3))
    with pytest.raises(ValueError, match="NaN"):
        atk.score_samples(torch.where(y[:, None] == 0, float("nan"), z), y)


def test_bad_reference_input_is_a_clear_error(ref):
    with pytest.raises(ValueError, match="'ref_logits' parameter of LiRA must have shape"):
        A.LiRA().fit(ref["R"][0], ref["y"], ref["keep"])
    with pytest.raises(ValueError, match="'ref_in' parameter of LiRA must have shape"):
        A.LiRA().fit(ref["R"], ref["y"], ref["keep"][:, :5])
    with pytest.raises(ValueError, match="'labels' parameter of LiRA"):
        A.LiRA().fit(ref["R"], ref["y"][:5], ref["keep"])
    with pytest.raises(ValueError, match="population"):
        A.RMIA().fit(ref["R"], ref["y"], ref["keep"])
    with pytest.raises(ValueError, match="same 8 reference models"):
        A.RMIA().fit(ref["R"], ref["y"], ref["keep"], population_logits=ref["P"][:4],
                     population_labels=ref["yp"])
    lira = A.LiRA().fit(ref["R"], ref["y"], ref["keep"])
    with pytest.raises(ValueError, match="labels that differ"):
        lira.score_samples(ref["target"], ref["y"] + 1)
    with pytest.raises(ValueError, match="fitted on 300 samples"):
        lira.score_samples(ref["target"][:5], ref["y"][:5])
    rmia = fit_reference("rmia", ref)[0]
    with pytest.raises(ValueError, match="target_population_logits"):
        rmia.score_samples(ref["target"], ref["y"])


@pytest.mark.parametrize("attack,param", [
    (A.ThresholdAttack("gradnorm"), "signal"), (A.ThresholdAttack(per_class=1), "per_class"),
    (A.ShadowModelAttack("svm"), "classifier"), (A.ShadowModelAttack(cv=1), "cv"),
    (A.ShadowModelAttack(features="probs"), "features"), (A.SAMIA(epochs=0), "epochs"),
    (A.SAMIA(lr=-1.0), "lr"), (A.SAMIA(batch_size=1), "batch_size"),
    (A.ShadowModelAttack(object()), "classifier"), (A.ShadowModelAttack(tune="yes"), "tune"),
    (A.ThresholdAttack(threshold=float("inf")), "threshold"), (A.SAMIA(momentum=1.0), "momentum")])
def test_bad_shadow_attack_parameters_name_the_parameter(attack, param):
    z, y, m, s = shadow_like(n=40)
    with pytest.raises(ParameterError, match=f"'{param}' parameter of "
                                             f"{type(attack).__name__} must be"):
        attack.fit(z, y, m, sensitivity=s)


@pytest.mark.parametrize("attack,param", [
    (A.LiRA(online="yes"), "online"), (A.RMIA(gamma=0.0), "gamma"), (A.RMIA(a=1.5), "a"),
    (A.RMIA(gamma=float("nan")), "gamma"), (A.RMIA(gamma=float("inf")), "gamma"),
    (A.LiRA(fixed_variance=np.bool_(True)), "fixed_variance")])
def test_bad_reference_attack_parameters_name_the_parameter(ref, attack, param):
    with pytest.raises(ParameterError, match=f"'{param}' parameter of "
                                             f"{type(attack).__name__} must be"):
        attack.fit(ref["R"], ref["y"], ref["keep"], population_logits=ref["P"],
                   population_labels=ref["yp"])
