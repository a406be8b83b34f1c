"""Vectorised ensembles: the same models as sequential ``fit``, faster (never timed here)."""

import numpy as np
import pytest
import torch
from torch.nn.utils import prune

from sparsepriv_nb import ensembles as ENS
from sparsepriv_nb import models, train


def _kw(ds, **over):
    kw = dict(X=ds.X, y=ds.y, input_shape=ds.input_shape, num_classes=ds.num_classes,
              epochs=2, batch_size=64, lr=1e-3, optimizer="adam")
    kw.update(over)
    return kw


def _params(m):
    return torch.cat([p.detach().flatten() for p in m.parameters()])


@pytest.mark.parametrize("optimizer,lr,wd", [("adam", 1e-3, 1e-3), ("sgd", 0.05, 1e-3)])
def test_members_are_the_models_fit_trains(digits, optimizer, lr, wd):
    """Same init, order, batches (short last batch, members idle while a bigger subset ends
    its epoch) and optimiser as fit: the weights agree up to float rounding."""
    subsets = [np.arange(0, 600), np.arange(600, 1000), np.arange(1000, 1030)]
    seeds = [3, 4, 5]
    kw = _kw(digits, seeds=seeds, optimizer=optimizer, lr=lr, weight_decay=wd)
    vec = ENS.train_ensemble("mlp", subsets, vectorise=True, **kw)
    for m, sub, s in zip(vec, subsets, seeds):
        ref = models.build_model("mlp", input_shape=digits.input_shape, num_classes=10, seed=s)
        train.fit(ref, (digits.X[sub], digits.y[sub]), epochs=2, batch_size=64, lr=lr,
                  optimizer=optimizer, weight_decay=wd, seed=s, progress=False, device="cpu")
        init = models.build_model("mlp", input_shape=digits.input_shape, num_classes=10, seed=s)
        moved = (_params(ref) - _params(init)).abs().max().item()
        assert moved > 1e-3  # training did something, so agreement below is not trivial
        assert (_params(m) - _params(ref)).abs().max().item() < 1e-4 * max(1.0, moved)
        assert not m.training


def test_accuracy_distribution_matches_sequential(digits):
    """8 LiRA-style members (random halves) vectorised vs 8 sequential fits with other seeds:
    the same test-accuracy distribution within tolerance."""
    rng = np.random.default_rng(0)
    pool = rng.permutation(1200)
    keep = rng.random((16, len(pool))) < 0.5
    subsets = [pool[k] for k in keep]
    test = (digits.X[1200:], digits.y[1200:])
    kw = _kw(digits, epochs=8)
    vec = ENS.train_ensemble("mlp", subsets[:8], seeds=list(range(8)), vectorise=True, **kw)
    seq = ENS.train_ensemble("mlp", subsets[8:], seeds=list(range(100, 108)), vectorise=False,
                             **kw)
    acc = {}
    for name, ms in (("vec", vec), ("seq", seq)):
        logits = ENS.predict_logits_ensemble(ms, test[0])
        acc[name] = (logits.argmax(2) == test[1]).float().mean(1).numpy()
    assert acc["vec"].mean() > 0.85 and acc["seq"].mean() > 0.85
    assert abs(acc["vec"].mean() - acc["seq"].mean()) < 0.02, acc
    assert acc["vec"].std() < 0.03 and acc["seq"].std() < 0.03, acc


def test_members_have_their_own_initialisation(digits):
    sub = np.arange(400)
    ms = ENS.train_ensemble("mlp", [sub, sub, sub], seeds=[0, 1, 0], vectorise=True,
                            **_kw(digits))
    assert not torch.allclose(_params(ms[0]), _params(ms[1]))  # own init and order
    assert torch.allclose(_params(ms[0]), _params(ms[2]), atol=1e-6)  # same seed: same model


def test_a_one_class_member_never_sees_other_members_data(digits):
    only3 = np.flatnonzero(digits.y.numpy() == 3)
    rest = np.flatnonzero(digits.y.numpy() != 3)[:500]
    ms = ENS.train_ensemble("mlp", [rest, only3, rest[::-1].copy()], seeds=[0, 1, 2],
                            vectorise=True, **_kw(digits, epochs=5, lr=1e-2))
    pred = ENS.predict_logits_ensemble(ms, digits.X).argmax(2)
    assert set(pred[1].tolist()) == {3}
    assert len(set(pred[0].tolist())) >= 8  # the others learnt the other classes


def test_seeded_reproducible_and_global_rng_untouched(digits):
    subsets = [np.arange(0, 300), np.arange(300, 500)]
    kw = _kw(digits, seeds=[7, 8], model_params={"dropout": 0.3})
    state = torch.get_rng_state()
    a = ENS.train_ensemble("mlp", subsets, vectorise=True, **kw)
    assert torch.equal(state, torch.get_rng_state())
    b = ENS.train_ensemble("mlp", subsets, vectorise=True, **kw)
    for ma, mb in zip(a, b):
        assert torch.equal(_params(ma), _params(mb))
    c = ENS.train_ensemble("mlp", subsets, vectorise=True, **{**kw, "seeds": [7, 9]})
    assert not torch.allclose(_params(a[1]), _params(c[1]))


def test_fallbacks_and_should_vectorise(digits):
    assert ENS.should_vectorise("mlp", 16)
    assert not ENS.should_vectorise("lenet5", 16, input_shape=(1, 28, 28))
    assert not ENS.should_vectorise("mlp", 1) and not ENS.should_vectorise("resnet18", 64)
    X = torch.rand(40, 3, 8, 8)
    y = torch.arange(40) % 3
    subsets = [np.arange(20), np.arange(20, 40)]
    kw = dict(X=X, y=y, input_shape=(3, 8, 8), num_classes=3, seeds=[0, 1], epochs=1)
    # BatchNorm (buffers): sequential by default, an error when vectorising is forced
    ms = ENS.train_ensemble("cnn", subsets, **kw)
    assert len(ms) == 2 and not ms[0].training
    with pytest.raises(ValueError, match="'vectorise'.*buffers"):
        ENS.train_ensemble("cnn", subsets, vectorise=True, **kw)
    ms = ENS.train_ensemble("cnn", subsets, vectorise=True, model_params={"norm": "group"}, **kw)
    assert len(ms) == 2


def test_predict_logits_ensemble_equals_one_by_one():
    X = torch.rand(30, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    for name, kw in (("mlp", {}), ("cnn", {}), ("lenet5", {"norm": "group"})):
        ms = [models.build_model(name, input_shape=(3, 8, 8), num_classes=4, seed=s, **kw)
              for s in range(3)]
        out = ENS.predict_logits_ensemble(ms, X, batch_size=7)
        assert out.shape == (3, 30, 4)
        for m, o in zip(ms, out):
            assert torch.allclose(o, train.predict_logits(m, X, device="cpu"), atol=1e-5)
    pruned = [models.build_model("mlp", input_shape=(3, 8, 8), num_classes=4, seed=s)
              for s in range(2)]
    for m in pruned:
        prune.l1_unstructured(m.fc1, "weight", amount=0.5)
    out = ENS.predict_logits_ensemble(pruned, X)
    assert torch.allclose(out[1], train.predict_logits(pruned[1], X, device="cpu"))


def test_argument_errors(digits):
    kw = _kw(digits, seeds=[0, 1])
    with pytest.raises(ValueError, match=r"'subsets'.*member 1.*\[0, 1796\]"):
        ENS.train_ensemble("mlp", [np.arange(5), np.array([3, 5000])], **kw)
    with pytest.raises(ValueError, match="'subsets'.*member 0 has no sample"):
        ENS.train_ensemble("mlp", [np.array([], int), np.arange(3)], **kw)
    with pytest.raises(ValueError, match="'seeds'.*1 seeds for 2 subsets"):
        ENS.train_ensemble("mlp", [np.arange(5)] * 2, **{**kw, "seeds": [0]})
    with pytest.raises(ValueError, match="'optimizer'.*rmsprop"):
        ENS.train_ensemble("mlp", [np.arange(5)] * 2, **{**kw, "optimizer": "rmsprop"})
    with pytest.raises(ValueError, match="'vectorise'"):
        ENS.train_ensemble("mlp", [np.arange(5)] * 2, **{**kw, "vectorise": "yes"})
    with pytest.raises(ValueError, match="architecture"):
        ENS.predict_logits_ensemble([models.build_model("mlp", input_shape=(1, 8, 8),
                                                        num_classes=10, seed=0),
                                     models.build_model("lenet5", input_shape=(1, 8, 8),
                                                        num_classes=10, seed=0)], digits.X)
    mask = np.zeros(len(digits.X), bool)
    mask[:50] = True  # a boolean mask is the same index set as its positions
    ms = ENS.train_ensemble("mlp", [mask, np.arange(50)], vectorise=True,
                            **{**kw, "seeds": [0, 0]})
    assert torch.allclose(_params(ms[0]), _params(ms[1]), atol=1e-6)
