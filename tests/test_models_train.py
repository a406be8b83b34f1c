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


# --------------------------------------------------------------------------- dropout option


@pytest.mark.parametrize("name,shape", [("mlp", (1, 8, 8)), ("lenet5", (1, 8, 8)),
                                        ("cnn", (3, 16, 16))])
def test_dropout_zero_is_the_old_model_and_keeps_parameter_names(name, shape):
    plain = models.build_model(name, input_shape=shape, num_classes=5, seed=0)
    zero = models.build_model(name, input_shape=shape, num_classes=5, seed=0, dropout=0.0)
    half = models.build_model(name, input_shape=shape, num_classes=5, seed=0, dropout=0.5)
    assert list(plain.state_dict()) == list(half.state_dict())
    half.load_state_dict(plain.state_dict())  # cached weights load into a dropout model
    x = torch.randn(64, *shape, generator=torch.Generator().manual_seed(0))
    for m in (plain, zero, half):
        m.train()
    torch.manual_seed(0)
    a = plain(x)
    torch.manual_seed(0)
    assert torch.equal(zero(x), a)  # 0 = no dropout call at all, same RNG use
    assert not torch.allclose(half(x), a)  # dropout active in training
    half.eval()
    plain.eval()
    assert torch.equal(half(x), plain(x))  # and off in evaluation


def test_dropout_unit_rate(digits):
    m = models.build_model("mlp", input_shape=(1, 8, 8), num_classes=10, hidden=(400,),
                           dropout=0.3, seed=0).train()
    h = []
    m.fc2.register_forward_pre_hook(lambda mod, inp: h.append(inp[0]))
    torch.manual_seed(1)
    m(digits.X[:200])
    relu = torch.relu(m.fc1(digits.X[:200].flatten(1)))
    alive = relu > 0
    dropped = (h[0][alive] == 0).float().mean().item()
    assert dropped == pytest.approx(0.3, abs=0.02)


@pytest.mark.parametrize("kwargs,match", [
    (dict(name="mlp", dropout=1.0), r"'dropout' parameter of build_model must be a float in "
                                    r"\[0, 1\)\. Got 1\.0"),
    (dict(name="mlp", dropout=-0.1), "dropout.*-0.1"),
    (dict(name="lenet5", dropout="0.5"), "dropout.*'0.5'"),
    (dict(name="mlp", norm="group"), r"unknown options \['norm'\].*\['hidden', 'dropout'\]"),
    (dict(name="resnet18", dropout=0.5), r"unknown options \['dropout'\]"),
    (dict(name="mlp", hidden=(0, 4)), r"'hidden' parameter.*\(0, 4\)"),
    (dict(name="mlp", hidden=()), "hidden"),
    (dict(name="cnn", width=0), r"'width' parameter.*\[1, inf\)\. Got 0"),
])
def test_builder_option_errors(kwargs, match):
    name = kwargs.pop("name")
    with pytest.raises(ValueError, match=match):
        models.build_model(name, input_shape=(3, 16, 16), num_classes=10, **kwargs)


@pytest.mark.parametrize("kwargs,match", [
    (dict(input_shape=(1, 8)), r"'input_shape'.*\(1, 8\)"),
    (dict(input_shape="1x8x8"), "input_shape.*1x8x8"),
    (dict(input_shape=(1, 8, 0)), r"input_shape.*\(1, 8, 0\)"),
    (dict(input_shape=(1, 8.5, 8)), "input_shape"),
    (dict(num_classes=True), "'num_classes'.*True"),
    (dict(num_classes=2.0), "'num_classes'.*2.0"),
    (dict(seed=-1), "'seed'.*-1"),
    (dict(seed="0"), "'seed'.*'0'"),
])
def test_build_model_argument_errors(kwargs, match):
    args = dict(input_shape=(1, 8, 8), num_classes=10) | kwargs
    with pytest.raises(ValueError, match=match):
        models.build_model("mlp", **args)


# --------------------------------------------------------------------------- bad data and args


def test_wrong_input_shape_is_a_clear_error(mlp, digits):
    X = torch.zeros(10, 1, 28, 28)  # a model built for 8x8 digits
    y = torch.zeros(10).long()
    with pytest.raises(ValueError, match=r"'train_data' parameter of fit has inputs of shape "
                                         r"\(1, 28, 28\).*MLP cannot take"):
        train.fit(mlp, (X, y), progress=False)
    with pytest.raises(ValueError, match=r"'val_data'.*\(1, 28, 28\)"):
        train.fit(mlp, (digits.X[:20], digits.y[:20]), val_data=(X, y), progress=False)
    with pytest.raises(ValueError, match=r"'data' parameter of evaluate.*\(1, 28, 28\)"):
        train.evaluate(mlp, (X, y))
    with pytest.raises(ValueError, match=r"'X' parameter of predict_logits.*\(3, 8, 8\)"):
        train.predict_logits(mlp, torch.zeros(4, 3, 8, 8))


def test_wrong_shape_on_a_conv_model():
    m = models.build_model("lenet5", input_shape=(1, 28, 28), num_classes=10, seed=0)
    with pytest.raises(ValueError, match=r"\(3, 28, 28\).*LeNet5 cannot take"):
        train.fit(m, (torch.zeros(4, 3, 28, 28), torch.zeros(4).long()), progress=False)


@pytest.mark.parametrize("labels,match", [
    (lambda y: y + 10, r"labels up to 1[0-9], but the model has 10 outputs: labels must be in "
                       r"\[0, 9\]"),
    (lambda y: y - 10, "negative labels"),
    (lambda y: y.float() + 0.5, "integer class labels.*non-integer"),
    (lambda y: y.view(-1, 1), r"1-D labels \(n,\). Got labels of shape \(300, 1\)"),
    (lambda y: y > 3, "integer class labels. Got dtype torch.bool"),
])
def test_bad_labels_are_clear_errors(mlp, tiny_train, labels, match):
    X, y = tiny_train
    with pytest.raises((ValueError, TypeError), match=match):
        train.fit(mlp, (X, labels(y)), progress=False)


def test_integral_float_labels_are_accepted(mlp, tiny_train):
    X, y = tiny_train
    assert train.evaluate(mlp, (X, y.float()))["accuracy"] == \
        train.evaluate(mlp, (X, y))["accuracy"]


def test_labels_out_of_range_in_evaluate(mlp, tiny_train):
    X, y = tiny_train
    with pytest.raises(ValueError, match="'data' parameter of evaluate has labels up to 12"):
        train.evaluate(mlp, (X, torch.where(y == 0, 12, y)))


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_inputs_are_refused(mlp, tiny_train, bad):
    X, y = tiny_train
    X = X.clone()
    X[3, 0, 2, 2] = bad
    X[7, 0, 0, 0] = bad
    with pytest.raises(ValueError, match="'train_data' parameter of fit has 2 of 300 inputs "
                                         "with NaN or infinite values"):
        train.fit(mlp, (X, y), progress=False)
    with pytest.raises(ValueError, match="'X' parameter of predict_logits has 2"):
        train.predict_logits(mlp, X)


@pytest.mark.parametrize("data,exc,match", [
    (None, TypeError, "pair"), ("digits", TypeError, "pair.*str"),
    ((torch.zeros(3, 1, 8, 8),), TypeError, "pair"),
    ((torch.zeros(3, 1, 8, 8, dtype=torch.uint8), torch.zeros(3)), TypeError,
     "floating-point inputs. Got dtype torch.uint8"),
    ((["a", "b"], [0, 1]), TypeError, "numeric inputs"),
    ((torch.zeros(0, 1, 8, 8), torch.zeros(0)), ValueError, "empty"),
    ((torch.tensor(1.0), torch.zeros(1)), ValueError, "scalar"),
])
def test_malformed_data(mlp, data, exc, match):
    with pytest.raises(exc, match=match):
        train.fit(mlp, data, progress=False)


@pytest.mark.parametrize("kwargs,exc,match", [
    (dict(epochs=2.5), ValueError,
     "'epochs' parameter of fit must be an int in \\[1, inf\\). Got 2.5"),
    (dict(epochs=True), ValueError, "epochs.*True"),
    (dict(lr=float("nan")), ValueError, r"'lr' parameter of fit must be a float in \(0, "
                                        r"inf\).* Got nan"),
    (dict(lr=float("inf")), ValueError, "lr.*inf"),
    (dict(lr="0.1"), TypeError, "'lr'.*Got '0.1' instead"),
    (dict(lr=-1e-3), ValueError, "lr"),
    (dict(momentum=1.5), ValueError, r"'momentum'.*\[0, 1\). Got 1.5"),
    (dict(weight_decay=-1), ValueError, r"'weight_decay'.*\[0, inf\). Got -1"),
    (dict(batch_size=True), ValueError, "batch_size.*True"),
    (dict(seed=-3), ValueError, "'seed' parameter of fit must be an int in \\[0, inf\\). Got -3"),
    (dict(seed=0.5), ValueError, "seed.*0.5"),
    (dict(patience=True), ValueError, "patience"),
    (dict(loss_fn="ce"), TypeError, "'loss_fn'.*callable.*str"),
    (dict(snapshot_steps=[-1]), ValueError, r"'snapshot_steps'.*\[-1\]"),
    (dict(snapshot_steps="12"), ValueError, "snapshot_steps"),
    (dict(device="gpu9"), ValueError, "device"),
])
def test_fit_argument_errors(mlp, tiny_train, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        train.fit(mlp, tiny_train, progress=False, **kwargs)


def test_fit_model_errors(tiny_train):
    with pytest.raises(TypeError, match="'model' parameter of fit must be a torch.nn.Module. "
                                        "Got str"):
        train.fit("mlp", tiny_train, progress=False)
    frozen = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 10))
    for p in frozen.parameters():
        p.requires_grad_(False)
    with pytest.raises(ValueError, match="no trainable parameter"):
        train.fit(frozen, tiny_train, progress=False)
    with pytest.raises(ValueError, match=r"logits \(n, num_classes\).*\(2, 2, 8, 8\)"):
        train.fit(torch.nn.Conv2d(1, 2, 1), tiny_train, progress=False)
    with pytest.raises(ValueError, match="'batch_size' parameter of predict_logits"):
        train.predict_logits(torch.nn.Flatten(), tiny_train[0], batch_size=0)


def test_the_shape_probe_changes_nothing(digits):
    """fit's one-batch check runs in eval mode without gradients: BatchNorm statistics, the
    weights and the training trajectory are those of a fit without it."""
    m = models.build_model("cnn", input_shape=(1, 8, 8), num_classes=10, seed=0, width=4)
    before = {k: v.clone() for k, v in m.state_dict().items()}
    train.check_fits(m, digits.X[:50], digits.y[:50], "train_data", "fit",
                      torch.device("cpu"))
    assert all(torch.equal(before[k], v) for k, v in m.state_dict().items())
    assert m.training
