"""Tests for sparsepriv_nb.defenses: the PPB loss against a direct implementation, its
invariances, parameter validation, the registry, and PPB's effect on a small pruned target."""

import math
import pickle

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from sparsepriv_nb import defenses as D


def _direct_ppb(logits: np.ndarray, y: np.ndarray, lam: float) -> float:
    """PPB written from docs/methods.md section 5 with plain loops (no torch)."""
    def softmax(z):
        e = np.exp(z - z.max())
        return e / e.sum()

    B = len(logits)
    ce = np.mean([-math.log(softmax(logits[i])[y[i]]) for i in range(B)])
    h = B // 2
    kls = []
    for i in range(h):
        q = softmax(np.sort(logits[i])[::-1])       # first half
        p = softmax(np.sort(logits[i + h])[::-1])   # its pair in the second half
        kls.append(float(np.sum(p * np.log(p / q))))
    return ce + lam * (np.mean(kls) if kls else 0.0)


LOGITS = np.array([[2.0, 0.5, -1.0, 0.0],
                   [0.1, 0.2, 3.0, -2.0],
                   [-1.0, 4.0, 0.0, 0.5],
                   [0.0, 0.0, 0.0, 1.0],
                   [1.5, -0.5, 2.5, 0.3]])
LABELS = np.array([0, 2, 3, 1, 2])


@pytest.mark.parametrize("B", [1, 2, 4, 5])
@pytest.mark.parametrize("lam", [0.0, 1.0, 4.0])
def test_ppb_loss_equals_direct_implementation(B, lam):
    z, y = torch.tensor(LOGITS[:B]), torch.tensor(LABELS[:B])
    got = D.ppb_loss(z, y, lam).item()
    assert got == pytest.approx(_direct_ppb(LOGITS[:B], LABELS[:B], lam), rel=1e-10)


def test_ppb_pairs_i_with_i_plus_half():
    # rows 0 and 2 share a sorted profile, rows 1 and 3 another: pairing (0,2), (1,3) gives 0
    z = torch.tensor([[3.0, 0.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 3.0], [1.0, 0.0, 1.0]])
    assert D.ppb_penalty(z).item() == pytest.approx(0.0, abs=1e-12)
    # neighbours (0,1) would not be
    assert D.ppb_penalty(z[:2]).item() > 0.1
    # KL(second || first), not the reverse
    a, b = torch.tensor([[4.0, 0.0, 0.0]]), torch.tensor([[1.0, 0.5, 0.0]])
    p, q = F.softmax(b[0], 0), F.softmax(a[0], 0)
    assert D.ppb_penalty(torch.cat([a, b])).item() == pytest.approx(
        (p * (p / q).log()).sum().item(), rel=1e-6)


def test_odd_batch_leaves_last_sample_out_of_pairs():
    z = torch.tensor(LOGITS)
    assert D.ppb_penalty(z).item() == pytest.approx(D.ppb_penalty(z[:4]).item(), rel=1e-12)
    one = torch.tensor(LOGITS[:1], requires_grad=True)
    loss = D.ppb_loss(one, torch.tensor(LABELS[:1]), 4.0)
    loss.backward()  # a lone sample still trains on its cross-entropy
    assert loss.item() == pytest.approx(F.cross_entropy(one, torch.tensor(LABELS[:1])).item())


def test_lam_zero_is_cross_entropy():
    z, y = torch.tensor(LOGITS), torch.tensor(LABELS)
    assert torch.equal(D.ppb_loss(z, y, 0.0), F.cross_entropy(z, y))
    assert torch.equal(D.make_ppb_loss(0)(z, y), F.cross_entropy(z, y))
    assert D.ppb_loss(z, y, 4.0) > F.cross_entropy(z, y)
    assert torch.equal(D.make_ppb_loss(4)(z, y), D.ppb_loss(z, y, 4.0))


def test_invariant_to_permuting_classes_within_a_sample():
    g = torch.Generator().manual_seed(0)
    z, y = torch.randn(8, 6, generator=g), torch.randint(0, 6, (8,), generator=g)
    # each sample its own class permutation, labels relabelled: CE and pair term unchanged
    perms = torch.stack([torch.randperm(6, generator=g) for _ in range(8)])
    z_perm = torch.gather(z, 1, perms)             # new class j = old class perms[j]
    y_perm = torch.argsort(perms, dim=1).gather(1, y[:, None])[:, 0]
    assert torch.allclose(z_perm.gather(1, y_perm[:, None]), z.gather(1, y[:, None]))
    assert D.ppb_loss(z_perm, y_perm, 4.0).item() == pytest.approx(
        D.ppb_loss(z, y, 4.0).item(), rel=1e-6)
    assert D.ppb_penalty(z_perm).item() == pytest.approx(D.ppb_penalty(z).item(), rel=1e-6)


@pytest.mark.parametrize("labels, expected", [
    ([0, 1, 2, 5], r"The 'targets' parameter of ppb_loss must be class labels in \[0, 2\] "
                   r"\(the logits have 3 classes\)\. Got labels from 0 to 5 instead\."),
    ([0, -1, 2, 1], r"labels in \[0, 2\].*Got labels from -1 to 2"),
    ([0, 3, 3, 3], r"Got labels from 0 to 3"),
    (torch.tensor([0.0, 1.0, 2.0, 1.0]), r"must be integer class labels\. Got dtype torch.float32"),
    (torch.tensor([True, False, True, False]), r"integer class labels\. Got dtype torch.bool"),
])
@pytest.mark.parametrize("lam", [0.0, 4.0])
def test_ppb_loss_rejects_labels_outside_the_classes(labels, expected, lam):
    from sparsepriv_nb._checks import ParameterError

    targets = labels if isinstance(labels, torch.Tensor) else torch.tensor(labels)
    with pytest.raises(ParameterError, match=expected):  # torch: IndexError / RuntimeError
        D.ppb_loss(torch.zeros(4, 3), targets, lam)
    with pytest.raises(ParameterError, match=expected):  # the loss_fn fit() receives
        D.PPBLoss(lam)(torch.zeros(4, 3), targets)


def test_ppb_loss_takes_any_integer_label_dtype():
    z, y = torch.tensor(LOGITS), torch.tensor(LABELS)
    assert torch.equal(D.ppb_loss(z, y.to(torch.int32), 4.0), D.ppb_loss(z, y, 4.0))


def test_gradient_reaches_both_halves():
    z = torch.tensor(LOGITS[:4], requires_grad=True)
    D.ppb_penalty(z).backward()
    assert (z.grad[:2].abs().sum() > 0) and (z.grad[2:].abs().sum() > 0)


def test_label_smoothing_loss_matches_formula():
    z, y = torch.tensor(LOGITS), torch.tensor(LABELS)
    s, C = 0.2, LOGITS.shape[1]
    target = (1 - s) * F.one_hot(y, C) + s / C
    manual = -(target * F.log_softmax(z, 1)).sum(1).mean()
    assert D.LabelSmoothingLoss(s)(z, y).item() == pytest.approx(manual.item(), rel=1e-6)
    assert torch.equal(D.make_label_smoothing_loss(0.0)(z, y), F.cross_entropy(z, y))


@pytest.mark.parametrize("call,match", [
    (lambda: D.ppb_loss(torch.zeros(2, 3), torch.zeros(2, dtype=torch.long), -1.0), "'lam'.*-1.0"),
    (lambda: D.ppb_loss(torch.zeros(2, 3), torch.zeros(2, dtype=torch.long), float("nan")),
     "'lam'"),
    (lambda: D.ppb_loss(torch.zeros(2, 3), torch.zeros(3, dtype=torch.long), 1.0), "'targets'"),
    (lambda: D.ppb_loss(torch.zeros(3), torch.zeros(3, dtype=torch.long), 1.0), "'logits'"),
    (lambda: D.PPBLoss(-0.5), "'lam'"),
    (lambda: D.LabelSmoothingLoss(1.0), r"'smoothing'.*\[0, 1\)"),
    (lambda: D.defense_setup("ppb", {"lam": -4}), "'lam' parameter of the 'ppb' defense"),
    (lambda: D.defense_setup("label-smoothing", {"smoothing": 1.0}), r"\[0, 1\).*1.0"),
    (lambda: D.defense_setup("label-smoothing", {"smoothing": -0.1}), "'smoothing'"),
    (lambda: D.defense_setup("dropout", {"p": 1.0}), r"'p'.*\[0, 1\)"),
    (lambda: D.defense_setup("early-stopping", {"patience": 0}),
     r"'patience'.*\[1, inf\).*Got 0 instead"),
    (lambda: D.defense_setup("weight-decay", {"weight_decay": -1e-4}), "'weight_decay'"),
    (lambda: D.defense_setup("ppb", {"lambda": 4}), r"takes parameters \['lam'\]"),
    (lambda: D.defense_setup("mixup"), "registered: .*'ppb'"),
    (lambda: D.defense_setup(None, {"lam": 4}), "without a defense name"),
    (lambda: D.DefenseSetup(phase="pretrain"), "'phase'"),
])
def test_bad_parameters_raise_value_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.parametrize("call", [
    lambda: D.defense_setup("early-stopping", {"patience": 2.5}),
    lambda: D.defense_setup("ppb", {"lam": True}),
    lambda: D.defense_setup("ppb", {"lam": "4"}),
    lambda: D.register_defense("bad", configure=42),
])
def test_wrong_types_raise_type_errors(call):
    with pytest.raises(TypeError):
        call()


def test_registry_and_setups():
    assert {"ppb", "early-stopping", "weight-decay", "dropout",
            "label-smoothing"} <= set(D.DEFENSES.names())
    ppb = D.defense_setup("ppb")
    assert ppb.phase == "finetune" and ppb.fit_kwargs["loss_fn"] == D.PPBLoss(4.0)
    assert D.defense_setup("early-stopping", (("patience", 2),)).fit_kwargs == {"patience": 2}
    assert D.defense_setup("early-stopping").needs_val_data
    assert not D.defense_setup("ppb").needs_val_data
    assert D.defense_setup("dropout", {"p": 0.3}).model_kwargs == {"dropout": 0.3}
    assert D.defense_setup("weight-decay", {"weight_decay": 1e-3}).fit_kwargs == {
        "weight_decay": 1e-3}
    ls = D.defense_setup("label-smoothing", {"smoothing": 0.1})
    assert ls.phase == "all" and ls.fit_kwargs["loss_fn"] == D.LabelSmoothingLoss(0.1)
    assert D.defense_setup(None) == D.DefenseSetup()
    for name in D.DEFENSES:
        assert D.DEFENSES.get(name).description


def test_losses_pickle_and_have_stable_reprs():
    # joblib workers pickle fit kwargs; cache keys are built from their repr
    for loss in (D.PPBLoss(4), D.LabelSmoothingLoss(0.1)):
        assert pickle.loads(pickle.dumps(loss)) == loss
    assert repr(D.make_ppb_loss(4)) == "PPBLoss(lam=4.0)"
    assert repr(D.PPBLoss(4)) != repr(D.PPBLoss(2))


def test_register_custom_defense():
    D.register_defense("toy-wd", lambda *, wd=0.1: D.DefenseSetup(fit_kwargs={"weight_decay": wd}))
    try:
        assert D.defense_setup("toy-wd", {"wd": 0.2}).fit_kwargs == {"weight_decay": 0.2}
        with pytest.raises(ValueError, match="already registered"):
            D.register_defense("toy-wd", lambda: D.DefenseSetup())
    finally:
        D.DEFENSES.unregister("toy-wd")


# --------------------------------------------------------------------------- behaviour


def _confidence_gap(model, members, nonmembers) -> float:
    from sparsepriv_nb import signals, train

    conf_in = signals.confidence(train.predict_logits(model, members[0]), members[1])
    conf_out = signals.confidence(train.predict_logits(model, nonmembers[0]), nonmembers[1])
    return float(np.mean(conf_in) - np.mean(conf_out))


@pytest.fixture(scope="module")
def pruned_targets(digits):
    """A small overfit digits MLP (150 members), pruned to 25 % and fine-tuned 10 epochs with
    cross-entropy or with PPB at Yuan & Zhang's lam = 4, from the same dense weights."""
    from sparsepriv_nb import data, models, sparsity, train

    pools = data.make_pools(len(digits), seed=0)
    members = digits.subset(pools.target_train[:150])
    nonmembers = digits.subset(pools.target_test[:150])
    dense = models.build_model("mlp", input_shape=digits.input_shape, num_classes=10, seed=0)
    train.fit(dense, members, epochs=30, seed=0, progress=False, device="cpu")
    out = {}
    for name, loss_fn in (("plain", None), ("ppb", D.make_ppb_loss(4.0))):
        m = models.build_model("mlp", input_shape=digits.input_shape, num_classes=10, seed=0)
        m.load_state_dict(dense.state_dict())
        sparsity.apply_sparsity(m, "magnitude-global", 0.25, seed=0)
        train.fit(m, members, epochs=10, seed=1, loss_fn=loss_fn, progress=False, device="cpu")
        out[name] = m
    return out, members, nonmembers


def test_ppb_narrows_the_confidence_gap(pruned_targets):
    from sparsepriv_nb import sparsity, train

    models_, members, nonmembers = pruned_targets
    gap = {k: _confidence_gap(m, members, nonmembers) for k, m in models_.items()}
    # measured (seeds 0-2): plain 0.095-0.097, PPB 0.075-0.080; a tolerance of 0.005
    assert gap["plain"] > 0.05
    assert gap["ppb"] < gap["plain"] - 0.005, gap
    # and the defended model is still a working, still-sparse classifier
    assert train.evaluate(models_["ppb"], nonmembers)["accuracy"] > 0.75
    assert sparsity.overall_density(models_["ppb"]) == pytest.approx(0.25, abs=0.01)


def test_setups_plug_into_fit_and_build_model(digits):
    from sparsepriv_nb import models, train

    X, y = digits.X[:200], digits.y[:200]
    val = (digits.X[200:300], digits.y[200:300])
    drop = D.defense_setup("dropout", {"p": 0.5})
    m = models.build_model("mlp", input_shape=digits.input_shape, num_classes=10, seed=0,
                           **drop.model_kwargs)
    m.train()
    assert not torch.equal(m(X[:4]), m(X[:4]))  # dropout is active in training mode
    es = D.defense_setup("early-stopping", {"patience": 1})
    hist = train.fit(m, (X, y), val_data=val if es.needs_val_data else None, epochs=40, seed=0,
                     lr=0.05, progress=False, device="cpu", **es.fit_kwargs)
    assert len(hist) < 40 and "restored_best_epoch" in hist[-1]  # stopped early


def test_adaptive_flag_trains_the_shadows_with_the_defense():
    from sparsepriv_nb import experiments as E

    base = E.ExperimentConfig(data={"train_size": 40},
                              sparsity={"method": "magnitude-global", "density": 0.5},
                              train={"epochs": 3, "finetune_epochs": 2},
                              attack={"names": ("loss",), "n_shadows": 1})
    ppb = {"defense__name": "ppb", "defense__params": (("lam", 16.0),)}
    out = {}
    for name, cfg in (("none", base), ("ppb", base.replace(**ppb)),
                      ("ppb-adaptive", base.replace(**ppb, defense__adaptive=True))):
        _, o = E.run_experiment(cfg, cache=False, device="cpu", progress=False,
                                return_outputs=True)
        out[name] = o
    # the defense always reaches the target ...
    assert not torch.equal(out["ppb"]["target"].logits, out["none"]["target"].logits)
    assert torch.equal(out["ppb"]["target"].logits, out["ppb-adaptive"]["target"].logits)
    # ... and the shadows only when the attacker is adaptive
    assert torch.equal(out["ppb"]["shadow"].logits, out["none"]["shadow"].logits)
    assert not torch.equal(out["ppb-adaptive"]["shadow"].logits, out["none"]["shadow"].logits)
