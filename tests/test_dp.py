"""Tests of sparsepriv_nb.dp: the hand step against Opacus, masks, accounting, auditing."""

import math

import numpy as np
import pytest
import torch
from scipy import stats
from torch.nn import functional as F

from sparsepriv_nb import dp
from sparsepriv_nb.data import load_dataset
from sparsepriv_nb.models import build_model
from sparsepriv_nb.sparsity import get_masks, magnitude_prune, overall_density
from sparsepriv_nb.train import fit


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


def _mlp(seed=0, hidden=(32,)):
    return build_model("mlp", input_shape=(1, 8, 8), num_classes=10, seed=seed, hidden=hidden)


def _opacus_step(model, X, y, *, lr, max_grad_norm, noise_multiplier, seed, masks=None):
    """One step of Opacus' own GradSampleModule + DPOptimizer on a fixed batch."""
    from opacus import GradSampleModule
    from opacus.optimizers import DPOptimizer

    gsm = GradSampleModule(model)
    opt = DPOptimizer(torch.optim.SGD(model.parameters(), lr=lr),
                      noise_multiplier=noise_multiplier, max_grad_norm=max_grad_norm,
                      expected_batch_size=len(X), generator=torch.Generator().manual_seed(seed))
    if masks is not None:  # what train_private does
        named = dict(model.named_parameters())
        opt = dp.MaskedDPOptimizer.from_dp_optimizer(opt, {named[k]: m for k, m in masks.items()})
    opt.zero_grad()
    with dp.quiet_opacus():  # torch's note that the first layer's input needs no gradient
        F.cross_entropy(gsm(X), y).backward()
    opt.step()
    gsm._close()


# --------------------------------------------------------------------------- by hand


def test_per_sample_gradients_match_one_sample_backward(digits):
    model = _mlp()
    X, y = digits.X[:5], digits.y[:5]
    grads = dp.per_sample_gradients(model, X, y)
    for i in range(5):
        model.zero_grad()
        F.cross_entropy(model(X[i:i + 1]), y[i:i + 1]).backward()
        for name, p in model.named_parameters():
            torch.testing.assert_close(grads[name][i], p.grad)


def test_clipping_bounds_every_per_sample_norm(digits):
    model = _mlp()
    grads = dp.per_sample_gradients(model, digits.X[:64], digits.y[:64])
    C = float(torch.cat([g.reshape(64, -1) for g in grads.values()], 1).norm(dim=1)
                    .median())  # half of the samples get clipped
    clipped, norms = dp.clip_gradients(grads, C)
    after = torch.cat([g.reshape(64, -1) for g in clipped.values()], 1).norm(dim=1)
    assert (after <= C * (1 + 1e-5)).all()
    small = norms < C
    assert small.any() and (~small).any()
    torch.testing.assert_close(after[small], norms[small])  # below C: untouched
    torch.testing.assert_close(after[~small], torch.full_like(after[~small], C), rtol=1e-5,
                               atol=1e-5)


@pytest.mark.parametrize("arch", ["mlp", "lenet5"])
@pytest.mark.parametrize("noise", [0.0, 1.3])
def test_hand_step_equals_opacus_step(digits, arch, noise):
    kw = {"norm": "group"} if arch == "lenet5" else {}
    hand = build_model(arch, input_shape=(1, 8, 8), num_classes=10, seed=0, **kw)
    ref = build_model(arch, input_shape=(1, 8, 8), num_classes=10, seed=0, **kw)
    X, y = digits.X[:32], digits.y[:32]
    dp.dp_sgd_step(hand, X, y, lr=0.1, max_grad_norm=0.3, noise_multiplier=noise,
                   generator=torch.Generator().manual_seed(5))
    _opacus_step(ref, X, y, lr=0.1, max_grad_norm=0.3, noise_multiplier=noise, seed=5)
    moved = False
    for (name, a), b in zip(hand.named_parameters(), ref.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6, msg=name)
        moved |= not torch.equal(a, build_model(arch, input_shape=(1, 8, 8), num_classes=10,
                                                seed=0, **kw).state_dict()[name])
    assert moved


def test_hand_noise_has_the_dp_sgd_distribution(digits):
    """(noisy - clean) * B / (sigma C) must be standard normal, coordinate by coordinate."""
    X, y = digits.X[:16], digits.y[:16]
    sigma, C = 2.0, 0.7
    clean = dp.dp_sgd_step(_mlp(), X, y, lr=1e-3, max_grad_norm=C, noise_multiplier=0.0)
    noisy = dp.dp_sgd_step(_mlp(), X, y, lr=1e-3, max_grad_norm=C, noise_multiplier=sigma,
                           generator=torch.Generator().manual_seed(0))
    z = torch.cat([((noisy[k] - clean[k]) * 16 / (sigma * C)).flatten() for k in clean])
    assert len(z) > 2000
    assert stats.kstest(z.numpy(), "norm").pvalue > 1e-3
    assert abs(float(z.std()) - 1) < 0.05


# --------------------------------------------------------------------------- masks


def test_masked_step_clips_and_noises_only_trainable_coordinates(digits):
    X, y = digits.X[:32], digits.y[:32]
    model = _mlp()
    init = {k: v.clone() for k, v in model.state_dict().items()}
    masks = dp.weight_masks(model, 0.3, "random", generator=torch.Generator().manual_seed(1))
    _opacus_step(model, X, y, lr=0.1, max_grad_norm=0.2, noise_multiplier=1.0, seed=3,
                 masks=masks)
    for name, m in masks.items():
        after = model.state_dict()[name]
        assert torch.equal(after[m == 0], init[name][m == 0])  # frozen: bit-identical
        assert (after[m == 1] != init[name][m == 1]).float().mean() > 0.9  # noised
    # noise off: the update is the hand step on masked per-sample gradients (norms over the
    # trainable coordinates only)
    model = _mlp()
    _opacus_step(model, X, y, lr=0.1, max_grad_norm=0.2, noise_multiplier=0.0, seed=3,
                 masks=masks)
    grads = dp.per_sample_gradients(_mlp(), X, y)
    grads = {k: g * masks[k] if k in masks else g for k, g in grads.items()}
    clipped, norms = dp.clip_gradients(grads, 0.2)
    assert (norms > 0.2).all()  # every sample clipped, so a wrong norm would show
    for name, p in model.named_parameters():
        torch.testing.assert_close(p, init[name] - 0.1 * clipped[name].mean(0), rtol=1e-5,
                                   atol=1e-6)


def test_masked_optimizer_with_all_ones_masks_steps_as_opacus(digits):
    """Built from Opacus' optimizer with the same arguments, generator and accountant hook,
    the masked optimizer with nothing masked takes Opacus' step bit for bit."""
    from opacus.optimizers import DPOptimizer

    X, y = digits.X[:32], digits.y[:32]
    plain, masked = _mlp(), _mlp()
    ones = {k: torch.ones_like(w) for k, w in dp.maskable_weights(masked)}
    _opacus_step(plain, X, y, lr=0.1, max_grad_norm=0.2, noise_multiplier=1.0, seed=3)
    _opacus_step(masked, X, y, lr=0.1, max_grad_norm=0.2, noise_multiplier=1.0, seed=3,
                 masks=ones)
    for a, b in zip(plain.parameters(), masked.parameters()):
        assert torch.equal(a, b)
    opt = DPOptimizer(torch.optim.SGD(plain.parameters(), lr=0.1), noise_multiplier=1.3,
                      max_grad_norm=0.7, expected_batch_size=17, loss_reduction="sum",
                      generator=torch.Generator())
    opt.attach_step_hook(print)
    twin = dp.MaskedDPOptimizer.from_dp_optimizer(opt, {})
    for attr in ("original_optimizer", "noise_multiplier", "max_grad_norm",
                 "expected_batch_size", "loss_reduction", "generator", "secure_mode",
                 "step_hook"):
        assert getattr(twin, attr) is getattr(opt, attr), attr


def test_freeze_mode_keeps_frozen_coordinates_and_reports_privacy(digits):
    X, y = digits.X[:256], digits.y[:256]
    public = (digits.X[1500:1700], digits.y[1500:1700])
    model = _mlp()
    out = dp.DP_MODES.get("freeze").fit(model, (X, y), epochs=2, batch_size=32, lr=0.5, seed=0,
                                        device="cpu", public_data=public, mask="magnitude",
                                        density=0.25, noise_multiplier=1.0, public_epochs=2)
    masks = get_masks(model)
    assert set(masks) == {"fc1", "fc2"}
    assert overall_density(model) == pytest.approx(0.25, abs=0.01)
    for name, mod in (("fc1", model.fc1), ("fc2", model.fc2)):
        # the underlying parameter, not only the masked view, kept its frozen zeros
        frozen = mod.weight_orig.detach()[masks[name] == 0]
        assert len(frozen) > 0 and float(frozen.abs().max()) == 0.0
    assert out["trainable_fraction"] == pytest.approx(0.25, abs=0.01)
    for key in ("epsilon", "delta", "noise_multiplier", "accountant", "steps", "sample_rate",
                "epsilon_rdp"):
        assert key in out
    assert out["delta"] == 1e-5  # default delta = min(1e-5, 1 / (10 n))
    assert out["steps"] == 16 and out["sample_rate"] == 1 / 8
    assert out["epsilon"] == pytest.approx(dp.compute_epsilon(1 / 8, 1.0, 16, 1e-5))


def test_select_mode_updates_only_the_selected_coordinates(digits):
    X, y = digits.X[:128], digits.y[:128]
    model = _mlp()
    init = {k: v.clone() for k, v in model.state_dict().items()}
    chosen = {}

    def record(step):  # select once (select_every > steps) and remember the choice
        chosen.update(dp.weight_masks(model, 0.2, "random",
                                      generator=torch.Generator().manual_seed(step)))
        return dict(chosen)

    out = dp.train_private(model, (X, y), epochs=1, batch_size=32, lr=0.5, seed=0, device="cpu",
                           noise_multiplier=1.0, delta=1e-5, select_every=10**6,
                           reselect=lambda m, step: record(step))
    assert out["trainable_fraction"] == pytest.approx(0.2, abs=0.01)
    for name, m in chosen.items():
        assert torch.equal(model.state_dict()[name][m == 0], init[name][m == 0])
        assert not torch.equal(model.state_dict()[name][m == 1], init[name][m == 1])
    ok = dp.DP_MODES.get("select").fit(_mlp(), (X, y), epochs=1, batch_size=32, lr=0.5,
                                       seed=0, device="cpu", mask="magnitude", density=0.5,
                                       select_every=2, noise_multiplier=1.0)
    assert ok["trainable_fraction"] == pytest.approx(0.5, abs=0.01) and ok["steps"] == 4


def test_pruned_model_stays_pruned_with_the_same_mask(digits):
    model = _mlp()
    magnitude_prune(model, 0.7)
    before = {k: v.clone() for k, v in get_masks(model).items()}
    out = dp.train_private(model, (digits.X[:128], digits.y[:128]), epochs=1, batch_size=32,
                           lr=0.5, seed=0, device="cpu", noise_multiplier=1.0, delta=1e-5)
    after = get_masks(model)
    assert set(after) == set(before)
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert float(model.fc1.weight_orig.detach()[before["fc1"] == 0].abs().max()) == 0.0
    assert out["trainable_fraction"] == pytest.approx(0.3, abs=0.01)
    assert not hasattr(model.fc1.weight_orig, "grad_sample")  # Opacus cleaned up


def test_target_epsilon_is_reached_and_seed_reproduces(digits):
    X, y = digits.X[:256], digits.y[:256]
    out = dp.DP_MODES.get("dpsgd").fit(_mlp(), (X, y), epochs=2, batch_size=64, lr=0.5, seed=3,
                                       device="cpu", target_epsilon=2.0, delta=1e-5)
    assert 1.8 < out["epsilon"] <= 2.0 + 0.01
    assert dp.compute_epsilon(out["sample_rate"], out["noise_multiplier"], out["steps"], 1e-5,
                              accountant="prv") < out["epsilon_rdp"]
    weights = []
    for seed in (3, 3, 4):
        model = _mlp()
        dp.train_private(model, (X, y), epochs=1, batch_size=64, lr=0.5, seed=seed,
                         device="cpu", noise_multiplier=out["noise_multiplier"], delta=1e-5)
        weights.append(model.fc1.weight.detach().clone())
    assert torch.equal(weights[0], weights[1]) and not torch.equal(weights[0], weights[2])


def test_nonprivate_mode_reports_infinite_epsilon(digits):
    out = dp.DP_MODES.get("nonprivate").fit(_mlp(), (digits.X[:128], digits.y[:128]), epochs=1,
                                            batch_size=32, lr=0.1, seed=0, device="cpu")
    assert math.isinf(out["epsilon"]) and out["steps"] == 4
    assert dp.DP_MODES.names() == ["dpsgd", "freeze", "select", "nonprivate"]


# --------------------------------------------------------------------------- errors


def test_batchnorm_model_gets_a_clear_error(digits):
    model = build_model("lenet5", input_shape=(1, 8, 8), num_classes=10, norm="batch")
    with pytest.raises(ValueError, match="BatchNorm.*norm='group' or norm='none'") as err:
        dp.train_private(model, (digits.X[:64], digits.y[:64]), epochs=1, batch_size=32,
                         noise_multiplier=1.0, device="cpu")
    # Opacus' reason is cut to its first sentence (its full text runs to ~900 characters,
    # with sentences run together), and the hint starts a sentence of its own
    assert len(str(err.value)) < 300, str(err.value)
    assert "privacy. Build it with norm='group'" in str(err.value)


@pytest.mark.parametrize("kwargs, match", [
    (dict(noise_multiplier=1.0, target_epsilon=1.0), "exactly one of"),
    (dict(), "exactly one of"),
    (dict(noise_multiplier=1.0, delta=1.5), "'delta'.*Got 1.5"),
    (dict(noise_multiplier=1.0, grad_sample_mode="fast"), "'grad_sample_mode'.*'fast'"),
    (dict(noise_multiplier=1.0, grad_sample_mode="ghost", masks={}), "materialises"),
    (dict(noise_multiplier=-1.0), "'noise_multiplier'.*-1.0"),
    (dict(noise_multiplier=1.0, accountant="gdp"), "'accountant'.*'gdp'"),
])
def test_train_private_validates(digits, kwargs, match):
    with pytest.raises(ValueError, match=match):
        dp.train_private(_mlp(), (digits.X[:64], digits.y[:64]), epochs=1, batch_size=32,
                         device="cpu", **kwargs)


def test_labels_out_of_range_get_a_parameter_error_and_pruning_survives(digits):
    from sparsepriv_nb._checks import ParameterError

    model = _mlp()
    magnitude_prune(model, 0.5)
    with pytest.raises(ParameterError, match=r"'train_data' parameter of train_private has "
                                             r"labels up to 14.*must be in \[0, 9\]"):
        dp.train_private(model, (digits.X[:64], digits.y[:64] + 5), epochs=1, batch_size=32,
                         noise_multiplier=1.0, device="cpu")
    assert set(get_masks(model)) == {"fc1", "fc2"}  # still pruned


def test_rdp_training_never_runs_the_prv_accountant(digits, monkeypatch):
    """PRV fails ("Maximum allowed size exceeded") or takes minutes for small noise
    multipliers; training with accountant="rdp" must not depend on it."""
    from opacus.accountants import PRVAccountant

    def fail(self, *args, **kwargs):
        raise ValueError("Maximum allowed size exceeded")

    monkeypatch.setattr(PRVAccountant, "get_epsilon", fail)
    out = dp.train_private(_mlp(), (digits.X[:128], digits.y[:128]), epochs=1, batch_size=32,
                           device="cpu", noise_multiplier=0.3, accountant="rdp", delta=1e-5)
    assert out["accountant"] == "rdp" and "epsilon_prv" not in out
    assert 1 < out["epsilon"] == dp.compute_epsilon(0.25, 0.3, 4, 1e-5) < math.inf


def test_magnitude_mask_needs_public_data(digits):
    with pytest.raises(ValueError, match="'public_data'"):
        dp.DP_MODES.get("freeze").fit(_mlp(), (digits.X[:64], digits.y[:64]), epochs=1,
                                      batch_size=32, lr=0.1, seed=0, device="cpu",
                                      mask="magnitude", noise_multiplier=1.0)


# --------------------------------------------------------------------------- accounting


def test_accountants_against_published_values():
    # Opacus' own tests (opacus/tests/accountants_test.py, v1.6): sigma=1.5, q=0.04,
    # delta=1e-5; RDP after int(90 / 0.04) = 2250 steps: 7.32911117143; PRV after
    # int(90 // 0.04) = 2249 steps (floor division of floats): 6.777395712150674.
    assert dp.compute_epsilon(0.04, 1.5, 2250, 1e-5, accountant="rdp") == \
        pytest.approx(7.32911117143, abs=1e-6)
    assert dp.compute_epsilon(0.04, 1.5, 2249, 1e-5, accountant="prv") == \
        pytest.approx(6.777395712150674, abs=1e-4)
    # Microsoft's prv_accountant (github.com/microsoft/prv_accountant), as tabulated in
    # opacus/tests/prv_accountant.py; delta = 1e-6.
    for (sigma, q, steps), ref in {(1.5, 0.05, 100): 1.95385313568420015961635272106,
                                   (0.8, 0.001, 1000): 0.477771266184522591657923840103,
                                   (2.0, 0.2, 100): 5.67205560882372950004537415225}.items():
        assert dp.compute_epsilon(q, sigma, steps, 1e-6, accountant="prv") == \
            pytest.approx(ref, abs=1e-4)
    # Abadi et al. (2016), section 3.1: q = 0.01, sigma = 4, delta = 1e-5, T = 10000 gives
    # epsilon ~ 1.26 with the moments accountant; RDP over more orders is at least as tight.
    e = dp.epsilons(0.01, 4.0, 10000, 1e-5)
    assert 0.9 < e["prv"] <= e["rdp"] <= 1.26
    # Opacus' tests: noise for epsilon 8, delta 1e-5, q 0.04, 2000 steps (RDP) = 1.3562.
    assert dp.noise_for_epsilon(8.0, 1e-5, 0.04, 2000) == pytest.approx(1.3562, abs=1e-4)


def test_default_delta_is_far_below_one_over_n(digits):
    out = dp.train_private(_mlp(), (digits.X[:128], digits.y[:128]), epochs=1, batch_size=32,
                           device="cpu", noise_multiplier=1.0)
    assert out["delta"] <= 1 / (10 * 128)
    assert out["delta"] == dp.default_delta(128) == 1e-5
    for n in (10, 128, 1797, 60000, 10**7):
        assert dp.default_delta(n) <= min(1e-5, 1 / (10 * n))


def test_private_phases_compose_with_one_accountant(digits):
    """Train, prune, fine-tune: both phases feed one accountant (one delta, and an epsilon
    below the sum of the phases' epsilons)."""
    from opacus.accountants import PRVAccountant, RDPAccountant

    model, data = _mlp(), (digits.X[:128], digits.y[:128])
    kw = dict(batch_size=32, lr=0.5, seed=0, device="cpu", noise_multiplier=1.0, delta=1e-5)
    first = dp.train_private(model, data, epochs=2, **kw)
    magnitude_prune(model, 0.5)
    second = dp.train_private(model, data, epochs=1, **kw)
    both = dp.composed_privacy([first, second])
    assert both["delta"] == 1e-5
    assert both["epsilon"] == dp.compute_epsilon(0.25, 1.0, 12, 1e-5)  # the combined history
    assert both["epsilon"] < 0.8 * (first["epsilon"] + second["epsilon"])
    # phases of different noise: the epsilon of one accountant fed both, step by step
    for acc, name in ((RDPAccountant(), "rdp"), (PRVAccountant(), "prv")):
        for sigma, steps in ((1.0, 8), (2.0, 4)):
            for _ in range(steps):
                acc.step(noise_multiplier=sigma, sample_rate=0.25)
        assert dp.compose_epsilon([(0.25, 1.0, 8), (0.25, 2.0, 4)], 1e-5, accountant=name) \
            == pytest.approx(acc.get_epsilon(1e-5))
    assert math.isinf(dp.composed_privacy([first, {**second, "noise_multiplier": 0.0}])[
        "epsilon"])
    with pytest.raises(ValueError, match="one delta"):
        dp.composed_privacy([first, {**second, "delta": 1e-6}])


def test_epsilon_grows_with_steps_and_shrinks_with_noise():
    eps = [dp.compute_epsilon(0.02, 1.0, s, 1e-5) for s in (10, 100, 1000)]
    assert eps[0] < eps[1] < eps[2]
    assert dp.compute_epsilon(0.02, 2.0, 100, 1e-5) < eps[1]


# --------------------------------------------------------------------------- auditing


def test_audit_p_value_is_the_binomial_tail_without_delta():
    for eps in (0.0, 0.5, 2.0):
        q = 1 / (1 + math.exp(-eps))
        assert dp.audit_p_value(500, 40, 30, eps, 0.0) == pytest.approx(
            stats.binom.sf(29, 40, q))
    assert dp.audit_p_value(500, 40, 30, 1.0, 1e-3) > dp.audit_p_value(500, 40, 30, 1.0, 0.0)


def test_audit_bound_is_valid_for_randomized_response():
    """An eps-DP mechanism (randomised response on the inclusion bits) must not be caught
    above its epsilon more often than beta = 5 % of the time."""
    eps, m, trials, above = 1.0, 400, 40, 0
    p_true = math.exp(eps) / (1 + math.exp(eps))
    rng = np.random.default_rng(0)
    for t in range(trials):
        inc = dp.audit_inclusion(m, seed=t)
        flip = rng.random(m) > p_true
        scores = np.where(inc ^ flip, 1.0, 0.0) + 1e-3 * rng.random(m)  # RR output
        above += dp.audit_epsilon(scores, inc, delta=0.0)["epsilon_lb"] > eps
    assert above <= 6  # expected <= 2 at beta = 0.05 (binomial upper tail ~ 0.001)
    assert dp.one_run_epsilon_bound(m, 200, 200 * p_true, delta=0.0) < eps


def test_audit_bound_below_accountant_on_dp_model_and_positive_on_overfit_model(digits):
    inc = dp.audit_inclusion(600, seed=0)
    Xa, ya = digits.X[:600], digits.y[:600]
    train = (Xa[torch.as_tensor(inc)], ya[torch.as_tensor(inc)])

    def loss_scores(model):
        with torch.no_grad():
            return -F.cross_entropy(model.eval()(Xa), ya, reduction="none").numpy()

    private = _mlp(hidden=(64,))
    out = dp.train_private(private, train, epochs=5, batch_size=64, lr=1.0, seed=0,
                           device="cpu", target_epsilon=2.0, delta=1e-5)
    lb_dp = dp.audit_epsilon(loss_scores(private), inc, delta=1e-5)["epsilon_lb"]
    assert lb_dp < out["epsilon"]

    overfit = _mlp(hidden=(64,))
    fit(overfit, train, epochs=150, lr=3e-3, seed=0, device="cpu", progress=False)
    audit = dp.audit_epsilon(loss_scores(overfit), inc, delta=1e-5)
    assert audit["epsilon_lb"] > 0.5, audit


def test_audit_breaks_ties_by_a_seeded_permutation_not_by_position():
    inc = np.r_[np.ones(500, bool), np.zeros(500, bool)]  # members first, as experiments list
    # an order drawn independently of the tie-break's coins (seeds 0-2 below): the one order a
    # seeded rule cannot defend is its own key, default_rng(seed).permutation(m)
    shuffled = np.random.default_rng(101).permutation(1000)
    for order in (np.arange(1000), np.arange(1000)[::-1], shuffled):
        # no information, no bound (whatever the order)
        audit = dp.audit_epsilon(np.zeros(1000), inc[order], delta=1e-5)
        assert audit["epsilon_lb"] == 0.0, (order[:3], audit)
        for seed in (1, 2):
            assert dp.audit_epsilon(np.zeros(1000), inc[order], delta=1e-5,
                                    seed=seed)["epsilon_lb"] == 0.0
    # distinct scores: the audit does not depend on the order of the examples
    scores = np.random.default_rng(2).normal(size=1000) + 1.5 * inc
    ref = dp.audit_epsilon(scores, inc, delta=1e-5)
    assert ref["epsilon_lb"] > 0.5
    assert dp.audit_epsilon(scores[shuffled], inc[shuffled], delta=1e-5) == ref
    # ties: the seed decides, reproducibly
    tied = np.round(scores)
    assert dp.audit_epsilon(tied, inc, delta=1e-5, seed=4) == \
        dp.audit_epsilon(tied, inc, delta=1e-5, seed=4)


def test_audit_validates():
    with pytest.raises(ValueError, match="same length"):
        dp.audit_epsilon([0.1, 0.2], [True], delta=1e-5)
    with pytest.raises(ValueError, match="'k_grid'"):
        dp.audit_epsilon([0.1, 0.2], [True, False], delta=1e-5, k_grid=[(2, 1)])
    with pytest.raises(ValueError, match="'beta' parameter of audit_epsilon.*Got 2"):
        dp.audit_epsilon([0.1, 0.2], [True, False], delta=1e-5, beta=2)
    with pytest.raises(TypeError, match="'seed' parameter of audit_epsilon"):
        dp.audit_epsilon([0.1, 0.2], [True, False], delta=1e-5, seed=0.5)
