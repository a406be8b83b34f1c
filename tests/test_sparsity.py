import copy
import math

import pytest
import torch
from torch import nn
from torch.nn.utils import prune

from sparsepriv_nb import models, sparsity as sp, train


@pytest.mark.parametrize("amount", [0.0, 0.3, 0.9, 0.99])
def test_layerwise_magnitude_equals_torch_l1_unstructured(mlp, amount):
    ref = copy.deepcopy(mlp)
    for _, mod in sp.prunable_layers(ref):
        prune.l1_unstructured(mod, "weight", amount=amount)
    ours = sp.get_masks(sp.magnitude_prune(mlp, amount))
    for name, mask in sp.get_masks(ref).items():
        assert torch.equal(mask, ours[name])
        n = mask.numel()
        assert int(mask.sum()) == n - round(amount * n)


@pytest.mark.parametrize("amount", [0.5, 0.95])
def test_global_magnitude_equals_torch_global_unstructured(mlp, amount):
    ref = copy.deepcopy(mlp)
    prune.global_unstructured([(m, "weight") for _, m in sp.prunable_layers(ref)],
                              pruning_method=prune.L1Unstructured, amount=amount)
    ours = sp.magnitude_prune(mlp, amount, scope="global")
    assert all(torch.equal(a, b) for a, b in zip(sp.get_masks(ref).values(),
                                                 sp.get_masks(ours).values()))
    total = sum(m.weight.numel() for _, m in sp.prunable_layers(mlp))
    assert sp.overall_density(ours) == pytest.approx(1 - round(amount * total) / total)


def test_density_report_counts_only_weights(mlp):
    sp.magnitude_prune(mlp, 0.75)
    rep = sp.density_report(mlp)
    assert list(rep.layer) == ["fc1", "fc2", "fc3", "overall"]
    assert rep.total.iloc[-1] == sum(m.weight.numel() for m in (mlp.fc1, mlp.fc2, mlp.fc3))
    assert rep.density.iloc[:-1].round(4).tolist() == [0.25, 0.25, 0.25]
    assert ((rep.density + rep.sparsity) == 1).all()


def test_repeated_pruning_composes_on_survivors(mlp):
    sp.magnitude_prune(mlp, 0.5)
    sp.magnitude_prune(mlp, 0.5)
    assert sp.overall_density(mlp) == pytest.approx(0.25, abs=1e-3)


def test_random_prune_matches_densities_and_is_seeded(mlp):
    target = sp.layer_densities(sp.magnitude_prune(copy.deepcopy(mlp), 0.9, scope="global"))
    a = sp.random_prune(copy.deepcopy(mlp), densities=target, seed=1)
    b = sp.random_prune(copy.deepcopy(mlp), densities=target, seed=1)
    c = sp.random_prune(copy.deepcopy(mlp), densities=target, seed=2)
    for name, d in target.items():
        assert sp.layer_densities(a)[name] == pytest.approx(d, abs=1e-4)
    assert all(torch.equal(x, y) for x, y in zip(sp.get_masks(a).values(),
                                                 sp.get_masks(b).values()))
    assert not torch.equal(sp.get_masks(a)["fc1"], sp.get_masks(c)["fc1"])
    # not magnitude: random keeps many small weights
    mag = sp.get_masks(sp.magnitude_prune(copy.deepcopy(mlp), 0.9, scope="global"))
    assert not torch.equal(sp.get_masks(a)["fc1"], mag["fc1"])


def test_random_prune_does_not_touch_global_rng(mlp):
    torch.manual_seed(0)
    expected = torch.rand(2)
    torch.manual_seed(0)
    sp.random_prune(mlp, 0.5, seed=3)
    assert torch.equal(torch.rand(2), expected)


def test_l1_filter_prune_drops_smallest_filters():
    m = models.build_model("lenet5", input_shape=(1, 28, 28), num_classes=10, seed=0)
    norms = m.conv2.weight.detach().abs().sum(dim=(1, 2, 3))
    sp.l1_filter_prune(m, 0.25)
    zero = m.conv2.weight.detach().abs().sum(dim=(1, 2, 3)) == 0
    assert int(zero.sum()) == 4
    assert set(torch.nonzero(zero).flatten().tolist()) == set(norms.argsort()[:4].tolist())
    assert sp.layer_densities(m)["fc1"] == 1.0


def test_l1_filter_needs_conv(mlp):
    with pytest.raises(ValueError, match="no prunable layers"):
        sp.l1_filter_prune(mlp, 0.5)


@pytest.mark.parametrize("amount", [1.0, -0.1, 1.5])
def test_amount_outside_range_is_an_error(mlp, amount):
    with pytest.raises(ValueError, match=r"'amount' parameter of magnitude_prune must be a "
                                         r"float in \[0, 1\)"):
        sp.magnitude_prune(mlp, amount)


def test_amount_wrong_type_and_unknown_method(mlp):
    with pytest.raises(TypeError, match="amount"):
        sp.magnitude_prune(mlp, "0.5")
    with pytest.raises(ValueError, match="magnitude.*random"):
        sp.apply_sparsity(mlp, "snip", 0.5)
    with pytest.raises(ValueError, match="density"):
        sp.apply_sparsity(mlp, "magnitude", 0.0)
    with pytest.raises(ValueError, match="scope"):
        sp.magnitude_prune(mlp, 0.5, scope="row")


def test_model_without_prunable_layers_is_an_error():
    with pytest.raises(ValueError, match="no prunable layers"):
        sp.magnitude_prune(nn.Sequential(nn.ReLU()), 0.5)


def test_pruned_weights_stay_zero_through_training(mlp, tiny_train):
    sp.magnitude_prune(mlp, 0.8, scope="global")
    masks = sp.get_masks(mlp)
    train.fit(mlp, tiny_train, epochs=3, optimizer="sgd", lr=0.1, weight_decay=1e-3,
              progress=False)
    for name, mod in sp.prunable_layers(mlp):
        assert torch.all(mod.weight[masks[name] == 0] == 0)
        assert torch.equal(mod.weight_mask, masks[name])
    assert sp.overall_density(mlp) == pytest.approx(0.2, abs=1e-3)


def test_rewinding_restores_init_on_survivors(mlp, tiny_train):
    w0 = sp.snapshot_weights(mlp)
    train.fit(mlp, tiny_train, epochs=2, progress=False)
    sp.magnitude_prune(mlp, 0.7, scope="global")
    sp.rewind_weights(mlp, w0)
    for name, mod in sp.prunable_layers(mlp):
        keep = mod.weight_mask.bool()
        assert torch.equal(mod.weight[keep], w0[f"{name}.weight"][keep])
        assert torch.all(mod.weight[~keep] == 0)
        assert torch.equal(mod.bias, w0[f"{name}.bias"])


@pytest.mark.parametrize("rewind", [None, "init"])
def test_imp_density_schedule(mlp, tiny_train, rewind):
    calls = []

    def train_fn(model, r):
        calls.append(r)
        train.fit(model, tiny_train, epochs=1, seed=r, progress=False)

    _, hist = sp.iterative_magnitude_pruning(mlp, train_fn, rounds=3, amount=0.2, rewind=rewind)
    assert calls == [0, 1, 2, 3]
    assert hist.density.round(3).tolist() == pytest.approx([1.0, 0.8, 0.64, 0.512], abs=1e-3)
    assert sp.overall_density(mlp) == pytest.approx(0.8 ** 3, abs=1e-3)


def test_lottery_ticket_rewinds_to_init_each_round(mlp, tiny_train):
    w0 = sp.snapshot_weights(mlp)
    seen = []

    def train_fn(model, r):
        if r > 0:  # at the start of every retraining, survivors must be at w0
            mod = model.fc1
            keep = mod.weight_mask.bool()
            seen.append(torch.equal(mod.weight[keep], w0["fc1.weight"][keep]))
        train.fit(model, tiny_train, epochs=1, seed=r, progress=False)

    sp.iterative_magnitude_pruning(mlp, train_fn, rounds=2, amount=0.5, rewind="init")
    assert seen == [True, True]


def test_late_rewinding_uses_given_state(mlp, tiny_train):
    hist = train.fit(mlp, tiny_train, epochs=1, batch_size=50, snapshot_steps=[3],
                     progress=False)
    state = hist[0]["snapshots"][3]
    fresh = models.build_model("mlp", input_shape=(1, 8, 8), num_classes=10, seed=0)
    sp.magnitude_prune(fresh, 0.5)
    sp.rewind_weights(fresh, state)
    keep = fresh.fc2.weight_mask.bool()
    assert torch.equal(fresh.fc2.weight[keep], state["fc2.weight"][keep])
    with pytest.raises(ValueError, match="rewind_state"):
        sp.iterative_magnitude_pruning(fresh, lambda m, r: None, rounds=1, rewind="state")


def test_one_shot_lottery_ticket(mlp, tiny_train):
    w0 = sp.snapshot_weights(mlp)
    states = []

    def train_fn(model, phase):
        states.append(sp.snapshot_weights(model))
        train.fit(model, tiny_train, epochs=1, seed=phase, progress=False)

    sp.one_shot_lottery_ticket(mlp, train_fn, amount=0.8)
    assert sp.overall_density(mlp) == pytest.approx(0.2, abs=1e-3)
    keep = mlp.fc1.weight_mask.bool()
    assert torch.equal(states[1]["fc1.weight"][keep], w0["fc1.weight"][keep])


@pytest.mark.parametrize("n", [2, 8, 64, 256])
def test_butterfly_supports_structure(n):
    L = int(math.log2(n))
    sup = sp.butterfly_supports(n)
    assert len(sup) == L
    for s in sup:
        assert (s.sum(dim=1) == 2).all() and (s.sum(dim=0) == 2).all()
        assert int(s.sum()) == 2 * n
    assert sum(int(s.sum()) for s in sup) == 2 * n * L
    prod = torch.eye(n)
    for s in sup:
        prod = s.float() @ prod
    assert (prod != 0).all()


def test_butterfly_supports_match_kronecker_formula():
    n, L = 16, 4
    for i, s in enumerate(sp.butterfly_supports(n), start=1):
        ref = torch.kron(torch.kron(torch.eye(2 ** (L - i)), torch.ones(2, 2)),
                         torch.eye(2 ** (i - 1)))
        assert torch.equal(s, ref.bool())


def test_butterfly_fewer_factors_are_denser():
    counts = [sum(int(s.sum()) for s in sp.butterfly_supports(256, k)) for k in (1, 2, 8)]
    assert counts == [256 * 256, 2 * 16 * 256, 2 * 8 * 256]


@pytest.mark.parametrize("n,kw,match", [(12, {}, "power of two"), (1, {}, "power of two"),
                                        (8, dict(n_factors=4), "n_factors")])
def test_butterfly_bad_requests(n, kw, match):
    with pytest.raises(ValueError, match=match):
        sp.butterfly_supports(n, **kw)


def test_butterfly_strict_refuses_non_square():
    with pytest.raises(ValueError, match="power of two"):
        sp.ButterflyLinear(64, 10, strict=True)
    with pytest.raises(ValueError, match="power of two"):
        sp.ButterflyLinear(12, 12, strict=True)
    sp.ButterflyLinear(16, 16, strict=True)


def test_butterfly_layer_is_exact_product_and_trains(mlp, tiny_train):
    layer = sp.ButterflyLinear(64, 256, generator=torch.Generator().manual_seed(0))
    x = torch.randn(5, 64)
    assert torch.allclose(layer(x), x @ layer.dense_weight().T + layer.bias, atol=1e-5)
    model = sp.butterfly_sparsify(mlp, seed=0)
    rep = sp.density_report(model)
    assert rep.kind.tolist()[:2] == ["butterfly", "butterfly"]
    # effective entries only: fc1 has 64 real inputs of the 256 padded ones, fc2 128 outputs
    assert rep.kept.tolist()[:2] == [model.fc1.n_effective, model.fc2.n_effective]
    assert model.fc1.n_effective < model.fc1.n_trainable == 2 * 256 * 8
    hist = train.fit(model, tiny_train, epochs=10, progress=False)
    assert hist[-1]["train_acc"] > 0.6
    for f, s in zip(model.fc1.factors(), sp.butterfly_supports(256)):
        assert torch.all(f[~s] == 0)
        assert (f[s] != 0).float().mean() > 0.99


def test_butterfly_sparsify_validates_layers(mlp):
    with pytest.raises(ValueError, match="fc1.*fc2.*fc3"):
        sp.butterfly_sparsify(mlp, layers=["conv9"])


def test_remove_reparametrisation_keeps_zeros(mlp):
    sp.magnitude_prune(mlp, 0.5)
    sp.remove_reparametrisation(mlp)
    assert not hasattr(mlp.fc1, "weight_mask")
    assert float((mlp.fc1.weight == 0).float().mean()) == pytest.approx(0.5, abs=1e-3)
