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


# --------------------------------------------------------------------------- issue 7 section 3


def _user_loop(model, data, steps=5, lr=0.5):
    """A hand-written training loop that ends with optimizer.step(), as a user writes it."""
    X, y = data
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    for i in range(steps):
        opt.zero_grad()
        nn.functional.cross_entropy(model(X[i * 50:(i + 1) * 50]), y[i * 50:(i + 1) * 50]
                                    ).backward()
        opt.step()
    return model


def _current(mod):
    return (mod.weight_orig * mod.weight_mask).detach()


@pytest.mark.parametrize("scope", ["layer", "global"])
def test_prune_after_a_user_loop_ranks_the_current_weights(mlp, tiny_train, scope):
    sp.magnitude_prune(mlp, 0.5, scope=scope)
    _user_loop(mlp, tiny_train)  # module.weight now holds the last forward's (stale) values
    current = {n: _current(m) for n, m in sp.prunable_layers(mlp)}
    sp.magnitude_prune(mlp, 0.5, scope=scope)
    ref = copy.deepcopy(mlp)  # reference: rank the current values with torch itself
    for name, mod in sp.prunable_layers(ref):
        prune.remove(mod, "weight")
        with torch.no_grad():
            mod.weight.copy_(current[name])
    expected = sp.get_masks(sp.magnitude_prune(ref, 0.75, scope=scope))
    for name, mask in sp.get_masks(mlp).items():
        assert torch.equal(mask, expected[name]), name


def test_random_prune_after_a_user_loop(mlp, tiny_train):
    sp.magnitude_prune(mlp, 0.5)
    _user_loop(mlp, tiny_train)  # a deepcopy of this model used to crash
    sp.random_prune(mlp, amount=0.5, seed=0)
    assert sp.overall_density(mlp) == pytest.approx(0.25, abs=1e-3)
    copy.deepcopy(mlp)


def test_imp_with_a_user_loop_ranks_each_round_on_current_weights(mlp, tiny_train):
    seen = []

    def train_fn(model, r):
        _user_loop(model, tiny_train, steps=3)
        if r < 2:
            seen.append({n: _current(m) if hasattr(m, "weight_mask") else m.weight.detach().clone()
                         for n, m in sp.prunable_layers(model)})

    sp.iterative_magnitude_pruning(mlp, train_fn, rounds=2, amount=0.5, scope="layer")
    # after round 2 the survivors are the largest |w| of round 2's trained (current) weights
    w, mask = seen[1]["fc2"], mlp.fc2.weight_mask
    alive_before = w != 0
    kept, dropped = w[mask.bool()].abs(), w[alive_before & ~mask.bool()].abs()
    assert kept.min() >= dropped.max()


def test_butterfly_density_never_exceeds_one(mlp):
    # n_factors=1 is a dense N x N factor: 256 x 256 entries for a 64 -> 256 layer. The old
    # report counted all of them (density 4 for fc1).
    rep = sp.density_report(sp.butterfly_sparsify(mlp, n_factors=1))
    assert (rep.density <= 1).all()
    assert rep.density.iloc[:2].tolist() == [1.0, 1.0]
    assert sp.overall_density(mlp) == 1.0


def _effective_by_gradient(layer: sp.ButterflyLinear) -> int:
    """Independent count: with positive values on every support entry, an entry can change
    the output iff the output's gradient with respect to it is non-zero."""
    factors = [torch.rand(s.shape, generator=torch.Generator().manual_seed(i)).add(0.5)
               .mul(s).requires_grad_() for i, s in enumerate(sp.butterfly_supports(
                   layer.N, layer.n_factors))]
    h = torch.nn.functional.pad(torch.ones(1, layer.in_features),
                                (0, layer.N - layer.in_features))
    for f in factors:
        h = h @ f.T
    h[:, :layer.out_features].sum().backward()
    supports = sp.butterfly_supports(layer.N, layer.n_factors)
    return int(sum(((f.grad != 0) & s).sum() for f, s in zip(factors, supports)))


@pytest.mark.parametrize("shape,n_factors", [((64, 256), None), ((256, 128), None),
                                             ((2, 3), None), ((10, 100), 2), ((100, 10), 3),
                                             ((16, 16), None), ((64, 256), 1)])
def test_butterfly_effective_entries_match_an_independent_count(shape, n_factors):
    layer = sp.ButterflyLinear(*shape, n_factors=n_factors)
    assert layer.n_effective == _effective_by_gradient(layer)
    if shape[0] == shape[1] == layer.N:
        assert layer.n_effective == layer.n_trainable
    else:
        assert layer.n_effective < layer.n_trainable


def test_l1_filter_pruned_channels_output_exact_zeros():
    m = models.build_model("lenet5", input_shape=(1, 28, 28), num_classes=10, seed=0)
    with torch.no_grad():
        m.conv1.bias.fill_(0.3)  # so a live bias would show
        m.conv2.bias.fill_(0.3)
    sp.l1_filter_prune(m, 0.5)
    x = torch.randn(4, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    for conv in (m.conv1, m.conv2):
        dead = conv.weight_mask.flatten(1).sum(1) == 0
        assert int(dead.sum()) == conv.out_channels // 2
        assert torch.all(conv.bias[dead] == 0) and torch.all(conv.bias[~dead] == 0.3)
        x_in = x if conv is m.conv1 else torch.nn.functional.max_pool2d(torch.relu(m.conv1(x)), 2)
        assert torch.all(conv(x_in)[:, dead] == 0)


def test_l1_filter_masks_the_following_norm_channel():
    m = models.build_model("cnn", input_shape=(3, 16, 16), num_classes=10, width=8, seed=0)
    with torch.no_grad():
        m.norm1.bias.fill_(0.2)
    sp.l1_filter_prune(m, 0.25)
    dead = m.conv1.weight_mask.flatten(1).sum(1) == 0
    assert int(dead.sum()) == 2
    m.eval()
    out = m.norm1(m.conv1(torch.randn(2, 3, 16, 16)))
    assert torch.all(out[:, dead] == 0) and torch.all(out[:, ~dead] != 0)


def test_l1_filter_density_is_the_achieved_overall_density():
    m = models.build_model("lenet5", input_shape=(1, 8, 8), num_classes=10, seed=0)
    sp.apply_sparsity(m, "l1-filter", 0.97)
    rep = sp.density_report(m)
    step = max(conv.weight[0].numel() for conv in (m.conv1, m.conv2)) / rep.total.iloc[-1]
    assert abs(sp.overall_density(m) - 0.97) <= step  # filter granularity
    assert rep.set_index("layer").density[["fc1", "fc2", "fc3"]].tolist() == [1.0, 1.0, 1.0]


def test_l1_filter_rejects_an_unreachable_density():
    # old behaviour: 0.5 requested, 0.98 returned silently
    m = models.build_model("lenet5", input_shape=(1, 28, 28), num_classes=10, seed=0)
    with pytest.raises(ValueError, match=r"'density' parameter of l1_filter_prune is 0.5, "
                                         r"below the lowest density .*: 0\.96\d*.*conv "
                                         r"filters hold 4\.1%"):
        sp.apply_sparsity(m, "l1-filter", 0.5)
    assert not hasattr(m.conv1, "weight_mask")  # nothing half-done
    with pytest.raises(ValueError, match="exactly one of 'amount' and 'density'"):
        sp.l1_filter_prune(m, 0.5, density=0.9)


# --------------------------------------------------------------------------- issue 7 section 5


@pytest.mark.parametrize("density", [0.5, 0.1])
def test_layerwise_magnitude_keeps_the_largest_weights_by_hand(mlp, density):
    weights = {n: m.weight.detach().clone() for n, m in sp.prunable_layers(mlp)}
    sp.apply_sparsity(mlp, "magnitude", density)
    for name, mask in sp.get_masks(mlp).items():
        w = weights[name].abs().flatten()
        k = w.numel() - round((1 - density) * w.numel())
        expected = torch.zeros_like(w)
        expected[w.argsort(descending=True)[:k]] = 1
        assert torch.equal(mask.flatten(), expected), name
        assert sp.layer_densities(mlp)[name] == pytest.approx(density, abs=1 / w.numel())


def test_global_magnitude_uses_one_threshold(mlp):
    sp.apply_sparsity(mlp, "magnitude-global", 0.1)
    kept = torch.cat([m.weight_orig[m.weight_mask.bool()].abs().flatten()
                      for _, m in sp.prunable_layers(mlp)])
    dropped = torch.cat([m.weight_orig[~m.weight_mask.bool()].abs().flatten()
                         for _, m in sp.prunable_layers(mlp)])
    assert kept.min() >= dropped.max()
    dens = sp.layer_densities(mlp)
    assert max(dens.values()) - min(dens.values()) > 0.05  # layers differ, unlike layer-wise
    assert sp.overall_density(mlp) == pytest.approx(0.1, abs=1e-4)


def test_random_positions_ignore_magnitude(mlp):
    mag = sp.layer_densities(sp.apply_sparsity(copy.deepcopy(mlp), "magnitude-global", 0.2))
    w = mlp.fc1.weight.detach().abs().clone()
    sp.apply_sparsity(mlp, "random", 0.2, seed=0)
    assert sp.layer_densities(mlp) == pytest.approx(mag, abs=1e-4)  # matched per layer
    kept = w[mlp.fc1.weight_mask.bool()]
    # magnitude would keep only the top 20 %: random survivors look like all weights
    assert float(kept.mean()) == pytest.approx(float(w.mean()), rel=0.1)
    assert float(kept.min()) < float(w.flatten().quantile(0.05))


def test_apply_sparsity_validates(mlp):
    with pytest.raises(TypeError, match="'density' parameter of apply_sparsity.*Got '0.5'"):
        sp.apply_sparsity(mlp, "magnitude", "0.5")
    with pytest.raises(ValueError, match=r"density.*\(0, 1\]. Got nan"):
        sp.apply_sparsity(mlp, "magnitude", float("nan"))
    with pytest.raises(ValueError, match="'seed' parameter of random_prune"):
        sp.apply_sparsity(mlp, "random", 0.5, seed=-1)
    with pytest.raises(TypeError, match=r"'densities'.*dict.*Got \[0.5\]"):
        sp.random_prune(mlp, densities=[0.5])


def test_imp_rounds():
    assert [sp.imp_rounds(d, 0.5) for d in (1.0, 0.5, 0.25, 0.1, 0.02)] == [0, 1, 2, 3, 6]
    assert sp.imp_rounds(0.8 ** 7, 0.2) == 7
    with pytest.raises(ValueError, match="'density' parameter of imp_rounds"):
        sp.imp_rounds(0.0, 0.5)
    with pytest.raises(ValueError, match="'amount' parameter of imp_rounds must be > 0"):
        sp.imp_rounds(0.5, 0.0)


# --------------------------------------------------------------------------- registry


def test_registry_lists_every_method():
    assert sp.available_sparsity_methods() == ["dense", "magnitude", "magnitude-global",
                                               "random", "l1-filter", "imp", "lottery",
                                               "butterfly"]
    assert set(sp.METHODS) <= set(sp.ONE_SHOT_METHODS.names())
    with pytest.raises(ValueError, match=r"Unknown sparsity method 'snip'; registered: "
                                         r"\['dense', 'magnitude'"):
        sp.SPARSITY_METHODS.get("snip")


class _Spy:
    """The orchestrator's fit callback, recording (epochs, seed, phase) and training a bit."""

    def __init__(self, data):
        self.calls, self.data = [], data

    def __call__(self, model, epochs, seed, *, phase):
        self.calls.append((epochs, seed, phase))
        train.fit(model, self.data, epochs=1, seed=seed, progress=False)


OPTIONS = dict(imp_amount=0.5, butterfly_factors=None)


@pytest.mark.parametrize("method,density,calls,achieved", [
    ("dense", 1.0, [(4, 7, "train")], 1.0),
    ("magnitude", 0.3, [(4, 7, "train"), (2, 8, "finetune")], 0.3),
    ("magnitude-global", 0.3, [(4, 7, "train"), (2, 8, "finetune")], 0.3),
    ("random", 0.3, [(4, 7, "train"), (2, 8, "finetune")], 0.3),
    ("imp", 0.25, [(4, 7, "train"), (2, 7 + 7919, "finetune"), (2, 7 + 2 * 7919, "finetune")],
     0.25),
    ("lottery", 0.25, [(4, 7, "train"), (4, 7 + 7919, "train"), (4, 7 + 2 * 7919, "train")],
     0.25),
    ("imp", 1.0, [(4, 7, "train")], 1.0),
])
def test_schedules_call_fit_with_the_documented_seeds_and_phases(mlp, tiny_train, method,
                                                                  density, calls, achieved):
    spy = _Spy(tiny_train)
    entry = sp.SPARSITY_METHODS.get(method)
    model = entry.train(mlp, spy, density=density, seed=7, epochs=4, finetune_epochs=2,
                        options=OPTIONS)
    assert spy.calls == calls
    assert sp.overall_density(model) == pytest.approx(achieved, abs=1e-3)
    # a cached state dict loads into the structure of the same method
    fresh = models.build_model("mlp", input_shape=(1, 8, 8), num_classes=10, seed=0)
    shell = entry.structure(fresh, density=density, options=OPTIONS)
    shell.load_state_dict(model.state_dict())
    sp.refresh_masked_weights(shell)
    x = tiny_train[0][:20]
    assert torch.equal(shell.eval()(x), model.eval()(x))


def test_lottery_schedule_rewinds_survivors_to_the_initialisation(mlp, tiny_train):
    w0 = sp.snapshot_weights(mlp)
    at_start = []

    def fit(model, epochs, seed, *, phase):
        at_start.append(sp.snapshot_weights(model))
        train.fit(model, tiny_train, epochs=1, seed=seed, progress=False)

    sp.SPARSITY_METHODS.get("lottery").train(mlp, fit, density=0.25, seed=0, epochs=1,
                                              finetune_epochs=1, options=OPTIONS)
    keep = mlp.fc2.weight_mask.bool()
    for state in at_start:
        assert torch.equal(state["fc2.weight"][keep], w0["fc2.weight"][keep])
    imp_start = []
    imp = models.build_model("mlp", input_shape=(1, 8, 8), num_classes=10, seed=0)

    def fit_imp(model, epochs, seed, *, phase):
        imp_start.append(sp.snapshot_weights(model))
        train.fit(model, tiny_train, epochs=1, seed=seed, progress=False)

    sp.SPARSITY_METHODS.get("imp").train(imp, fit_imp, density=0.25, seed=0, epochs=1,
                                          finetune_epochs=1, options=OPTIONS)
    keep = imp.fc2.weight_mask.bool()
    assert not torch.equal(imp_start[2]["fc2.weight"][keep], w0["fc2.weight"][keep])


def test_butterfly_and_l1_schedules(tiny_train):
    spy = _Spy(tiny_train)
    m = models.build_model("mlp", input_shape=(1, 8, 8), num_classes=10, seed=0)
    bf = sp.SPARSITY_METHODS.get("butterfly").train(m, spy, density=1.0, seed=3, epochs=2,
                                                     finetune_epochs=1,
                                                     options=dict(butterfly_factors=2))
    assert spy.calls == [(2, 3, "train")]
    assert isinstance(bf.fc1, sp.ButterflyLinear) and bf.fc1.n_factors == 2
    assert sp.overall_density(bf) < 1
    spy = _Spy(tiny_train)
    le = models.build_model("lenet5", input_shape=(1, 8, 8), num_classes=10, seed=0)
    entry = sp.SPARSITY_METHODS.get("l1-filter")
    le = entry.train(le, spy, density=0.97, seed=3, epochs=1, finetune_epochs=1, options={})
    shell = entry.structure(models.build_model("lenet5", input_shape=(1, 8, 8), num_classes=10),
                            density=0.97, options={})
    shell.load_state_dict(le.state_dict())  # bias masks included
    dead = le.conv2.weight_mask.flatten(1).sum(1) == 0
    assert dead.any() and torch.all(le.conv2.bias[dead] == 0)  # still zero after fine-tuning


def test_a_registered_toy_method_runs_through_apply_sparsity(mlp, tiny_train):
    def every_other(model, density, *, seed=0):
        for _, mod in sp.prunable_layers(model):
            mask = torch.zeros_like(mod.weight)
            mask.view(-1)[::2] = 1
            prune.custom_from_mask(mod, "weight", mask)
        return model

    try:
        entry = sp.register_one_shot_method("every-other", every_other, description="toy")
        assert sp.SPARSITY_METHODS.get("every-other") is entry
        assert sp.overall_density(sp.apply_sparsity(copy.deepcopy(mlp), "every-other", 0.5)) \
            == 0.5
        spy = _Spy(tiny_train)
        entry.train(mlp, spy, density=0.5, seed=1, epochs=1, finetune_epochs=1, options={})
        assert [c[2] for c in spy.calls] == ["train", "finetune"]
        with pytest.raises(ValueError, match="already registered"):
            sp.register_one_shot_method("every-other", every_other)
        with pytest.raises(ValueError, match="already registered"):
            sp.register_one_shot_method("dense", every_other)
        assert "dense" not in sp.ONE_SHOT_METHODS
    finally:
        sp.SPARSITY_METHODS.unregister("every-other")
        sp.ONE_SHOT_METHODS.unregister("every-other")
    with pytest.raises(TypeError, match="'train' parameter of register_sparsity_method"):
        sp.register_sparsity_method("bad", train=None, structure=lambda m, **k: m)
