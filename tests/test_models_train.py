import pytest
import torch

from sparsepriv_nb import models, train


@pytest.mark.parametrize("name,shape", [("mlp", (1, 8, 8)), ("lenet5", (1, 8, 8)),
                                        ("lenet5", (1, 28, 28)), ("cnn", (3, 32, 32)),
                                        ("resnet18", (3, 32, 32))])
def test_models_infer_shapes(name, shape):
    m = models.build_model(name, input_shape=shape, num_classes=7, seed=0)
    assert m(torch.zeros(2, *shape)).shape == (2, 7)


@pytest.mark.parametrize("name", ["lenet5", "cnn", "resnet18"])
def test_batchnorm_free_variants(name):
    m = models.build_model(name, input_shape=(3, 32, 32), num_classes=10, norm="group", seed=0)
    assert not any(isinstance(x, torch.nn.modules.batchnorm._BatchNorm) for x in m.modules())


def test_model_validation():
    with pytest.raises(ValueError, match="mlp"):
        models.build_model("vgg", input_shape=(1, 8, 8), num_classes=10)
    with pytest.raises(ValueError, match="norm"):
        models.build_model("cnn", input_shape=(3, 32, 32), num_classes=10, norm="layer")
    with pytest.raises(ValueError, match="num_classes"):
        models.build_model("mlp", input_shape=(1, 8, 8), num_classes=1)


def test_fit_learns_and_is_reproducible(digits):
    data = (digits.X[:600], digits.y[:600])
    test = (digits.X[1200:], digits.y[1200:])
    accs, weights = [], []
    for _ in range(2):
        m = models.build_model("mlp", input_shape=digits.input_shape, num_classes=10, seed=0)
        train.fit(m, data, epochs=15, seed=3, progress=False)
        accs.append(train.evaluate(m, test)["accuracy"])
        weights.append(m.fc1.weight.detach().clone())
    assert accs[0] > 0.85
    assert torch.equal(weights[0], weights[1])


def test_fit_does_not_touch_global_rng(mlp, tiny_train):
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    train.fit(mlp, tiny_train, epochs=1, seed=0, progress=False)
    assert torch.equal(torch.rand(3), expected)


def test_early_stopping_restores_best(mlp, digits):
    hist = train.fit(mlp, (digits.X[:200], digits.y[:200]),
                     val_data=(digits.X[200:300], digits.y[200:300]), epochs=60, lr=0.01,
                     patience=3, seed=0, progress=False)
    assert len(hist) < 60
    best = min(h["val_loss"] for h in hist)
    assert train.evaluate(mlp, (digits.X[200:300], digits.y[200:300]))["loss"] == \
        pytest.approx(best, rel=1e-4)


@pytest.mark.parametrize("kwargs,match", [
    (dict(epochs=0), "epochs"), (dict(optimizer="rmsprop"), "optimizer"), (dict(lr=0), "lr"),
    (dict(patience=2), "patience"), (dict(batch_size=0), "batch_size")])
def test_fit_validation(mlp, tiny_train, kwargs, match):
    with pytest.raises(ValueError, match=match):
        train.fit(mlp, tiny_train, progress=False, **kwargs)


def test_fit_rejects_mismatched_lengths(mlp, digits):
    with pytest.raises(ValueError, match="300 inputs but 299 labels"):
        train.fit(mlp, (digits.X[:300], digits.y[:299]), progress=False)


def test_snapshot_steps(mlp, tiny_train):
    hist = train.fit(mlp, tiny_train, epochs=1, batch_size=100, snapshot_steps=[0, 2],
                     progress=False)
    snaps = hist[0]["snapshots"]
    assert set(snaps) == {0, 2}
    assert not torch.equal(snaps[0]["fc1.weight"], snaps[2]["fc1.weight"])


def test_device_validation():
    assert train.resolve_device("cpu").type == "cpu"
    with pytest.raises(ValueError, match="device"):
        train.resolve_device("tpu")
