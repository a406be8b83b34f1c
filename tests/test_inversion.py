import numpy as np
import pandas as pd
import pytest
import torch

from sparsepriv_nb import inversion as inv
from sparsepriv_nb import metrics, models, plots, sparsity, train, widgets


@pytest.fixture(scope="module")
def trained(digits_module):
    ds = digits_module
    m = models.build_model("mlp", input_shape=ds.input_shape, num_classes=10, seed=0)
    train.fit(m, (ds.X[:600], ds.y[:600]), epochs=20, seed=0, progress=False)
    return m, ds.X[1500:1508], ds.y[1500:1508]


@pytest.fixture(scope="module")
def digits_module():
    from sparsepriv_nb.data import load_dataset

    return load_dataset("digits")


def test_first_layer_of_dense_model_is_recovered(trained):
    """fc1 is linear and injective (64 inputs -> 256 outputs, full column rank), so the only
    minimiser of the feature loss is the image itself. 30 dB PSNR is an RMS error of 3 % of
    the pixel range (about 8 grey levels of 255): visually identical digits."""
    m, X, y = trained
    res = inv.invert(m, "fc1", X, steps=300, tv_weight=0.0, progress=False)
    psnr = [metrics.inversion_quality(a, b)["psnr"] for a, b in zip(res.images, X)]
    assert min(psnr) > 30


def test_quality_is_monotone_in_steps(trained):
    m, X, _ = trained
    errs = []
    for steps in (10, 50, 200):
        res = inv.invert(m, "fc2", X, steps=steps, tv_weight=1e-2, seed=3, progress=False)
        errs.append(float(((res.images - X) ** 2).mean()))
    assert errs[0] > errs[1] > errs[2]


def test_objective_decreases_and_is_reproducible(trained):
    m, X, _ = trained
    a = inv.invert(m, "fc2", X, steps=100, seed=1, record_every=10, progress=False)
    b = inv.invert(m, "fc2", X, steps=100, seed=1, progress=False)
    c = inv.invert(m, "fc2", X, steps=100, seed=2, progress=False)
    assert torch.equal(a.images, b.images) and not torch.equal(a.images, c.images)
    assert (a.history[100] < a.history[10]).all()
    assert a.images.min() >= 0 and a.images.max() <= 1
    assert all(p.requires_grad for p in m.parameters())  # weights untouched, flags restored


def test_batched_equals_one_at_a_time_objective(trained):
    """Each image's loss term is independent, so the batch optimises each image alone."""
    m, X, _ = trained
    batch = inv.invert(m, "fc2", X[:2], steps=50, seed=0, progress=False)
    single = inv.invert(m, "fc2", X[:1], steps=50, seed=0, progress=False)
    # image 0's initialisation is the first draws of the same generator in both runs
    assert torch.allclose(batch.images[0], single.images[0], atol=1e-4)


def test_pruned_model_layers_can_be_inverted(trained):
    m, X, y = trained
    import copy

    pruned = sparsity.magnitude_prune(copy.deepcopy(m), 0.8)
    res = inv.invert(pruned, "fc1", X, steps=100, progress=False)
    df = inv.inversion_records(pruned, res, X, y, k=0.2)
    assert list(df.columns[:3]) == ["k", "layer", "image"]
    assert {"mse", "psnr", "ssim", "label_kept"} <= set(df.columns) and len(df) == len(X)
    # label_kept compares with the true label, prediction_kept with the original's prediction
    orig = train.predict_logits(pruned, X).argmax(1)
    inv_pred = train.predict_logits(pruned, res.images).argmax(1)
    assert df.label_kept.tolist() == (inv_pred == y).tolist()
    assert df.prediction_kept.tolist() == (inv_pred == orig).tolist()
    # the inversion itself: label_kept of the originals is the accuracy on them
    same = inv.InversionResult(X.clone(), {}, "fc1")
    df0 = inv.inversion_records(pruned, same, X, y)
    assert df0.prediction_kept.all() and df0.label_kept.tolist() == (orig == y).tolist()


def test_layer_names_and_representation():
    m = models.build_model("lenet5", input_shape=(1, 28, 28), num_classes=10, seed=0)
    assert inv.layer_names(m) == ["conv1", "conv2", "fc1", "fc2", "fc3"]
    assert inv.representation(m, "fc1", torch.zeros(2, 1, 28, 28)).shape == (2, 120)


@pytest.mark.parametrize("kwargs,match", [
    (dict(layer="fc9"), r"valid layers are \['fc1', 'fc2', 'fc3'\]"),
    (dict(steps=0), "steps"), (dict(optimizer="lbfgs"), "optimizer"),
    (dict(targets=torch.zeros(2, 1, 5, 5)), "shape"),
    (dict(targets=torch.zeros(1, 8, 8)), r"\(B, C, H, W\)"), (dict(lr=0), "lr")])
def test_bad_arguments(trained, kwargs, match):
    m, X, _ = trained
    args = dict(layer="fc1", targets=X, steps=5, progress=False)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        inv.invert(m, args.pop("layer"), args.pop("targets"), **args)


def test_views_and_plots(trained):
    m, X, y = trained
    res = inv.invert(m, "fc1", X, steps=20, progress=False)
    rec = inv.inversion_records(m, res, X, y, k=1.0)
    results = {(1.0, "fc1"): res.images}
    out = widgets.inversion_view(results, rec, k=1.0, layer="fc1", index=2, originals=X)
    assert out["metrics"]["psnr"] == pytest.approx(rec.psnr[2])
    with pytest.raises(ValueError, match="no precomputed"):
        widgets.inversion_view(results, rec, k=0.5, layer="fc1", originals=X)
    plots.plot_inversion_grid({(1.0, "fc1"): res.images[0]}, X[0], layers=["fc1"], ks=[1.0])
    plots.plot_inversion_metrics(pd.concat([rec, rec.assign(k=0.5)]))


def test_tv_term_smooths_the_result(trained):
    """With lambda_TV > 0 the inversion is smoother (lower TV) than without the prior, for
    both beta; and a larger lambda smooths more."""
    m, X, _ = trained
    for beta in (1.0, 2.0):
        tv = []
        for w in (0.0, 0.05, 0.5):
            res = inv.invert(m, "fc2", X, steps=150, tv_weight=w, tv_beta=beta, seed=0,
                             progress=False)
            tv.append(float(inv.total_variation(res.images, beta).mean()))
        assert tv[0] > tv[1] > tv[2], (beta, tv)


def test_total_variation_known_answer():
    # a vertical edge of height 1 in a 3x3 image: the (H-1)(W-1) = 4 top-left differences
    # hold dx = 1 at columns 0..1 -> 1 only where the step is crossed (column 1 -> 2)
    x = torch.tensor([[0.0, 0.0, 1.0]] * 3)[None, None]
    # dx at (i, j) for j in 0..1: [0, 1]; dy = 0; mean over 2x2 = 2 / 4
    assert inv.total_variation(x, 2.0).item() == pytest.approx(0.5)
    assert inv.total_variation(2 * x, 2.0).item() == pytest.approx(2.0)  # quadratic
    assert inv.total_variation(2 * x, 1.0).item() == pytest.approx(1.0, abs=1e-3)  # linear


@pytest.mark.parametrize("seed", [0, 1])
def test_objective_improves_with_steps(trained, seed):
    """Property: more steps never leave a higher final objective (per image, on average)."""
    m, X, _ = trained
    finals = []
    for steps in (20, 80, 320):
        res = inv.invert(m, "fc2", X, steps=steps, seed=seed, record_every=steps,
                         progress=False)
        finals.append(float(res.history[steps].mean()))
    assert finals[0] > finals[1] > finals[2], finals


def test_pre_and_post_activation_representations(trained):
    m, X, _ = trained
    pre = inv.representation(m, "fc1", X)
    post = inv.representation(m, "fc1", X, activation="relu")
    assert (pre < 0).any() and torch.equal(post, pre.clamp_min(0))
    # a post-activation inversion matches ReLU(W x + b), not W x + b
    res = inv.invert(m, "fc1", X, steps=200, tv_weight=0.0, activation="relu", progress=False)
    got = inv.representation(m, "fc1", res.images, activation="relu")
    rel = ((got - post) ** 2).sum() / (post ** 2).sum()
    assert rel < 1e-2
    with pytest.raises(ValueError, match="activation"):
        inv.representation(m, "fc1", X, activation="tanh")


@pytest.mark.parametrize("activation", [None, "relu"])
def test_objective_is_computed_on_the_chosen_representation(trained, activation):
    """With a vanishing learning rate the image stays at its start, so the recorded objective
    must equal the feature distance computed here on the chosen representation."""
    m, X, _ = trained
    res = inv.invert(m, "fc1", X, steps=1, lr=1e-12, tv_weight=0.0, record_every=1,
                     activation=activation, progress=False)
    f = (lambda z: z) if activation is None else torch.relu
    with torch.no_grad():
        ref, got = f(m.fc1(X.flatten(1))), f(m.fc1(res.images.flatten(1)))
    want = ((got - ref) ** 2).sum(1) / (ref ** 2).sum(1)
    assert res.history[1] == pytest.approx(want.numpy(), rel=1e-4)


def test_normalize_false_is_huangs_plain_distance(trained):
    m, X, _ = trained
    a = inv.invert(m, "fc2", X[:2], steps=1, tv_weight=0.0, normalize=False, record_every=1,
                   lr=1e-12, progress=False)
    b = inv.invert(m, "fc2", X[:2], steps=1, tv_weight=0.0, record_every=1, lr=1e-12,
                   progress=False)
    ref = inv.representation(m, "fc2", X[:2]).flatten(1).pow(2).sum(1).detach().numpy()
    assert a.history[1] == pytest.approx(b.history[1] * ref, rel=1e-4)


@pytest.mark.parametrize("value_range,match", [
    ((1.0, 0.0), "low < high"), ((0.0, 0.0), "low < high"),
    ((0.0, float("nan")), "finite"), ((0.0,), "pair"), ("01", "pair"),
    ((0.0, 0.5), "does not contain"), ((-1.0, -0.5), "does not contain"),
])
def test_bad_value_range(trained, value_range, match):
    m, X, _ = trained
    with pytest.raises(ValueError, match=match):
        inv.invert(m, "fc1", X, steps=2, value_range=value_range, progress=False)


def test_wider_value_range_is_accepted(trained):
    m, X, _ = trained
    res = inv.invert(m, "fc1", X * 2 - 1, steps=5, value_range=(-1.0, 1.0), progress=False)
    assert res.images.min() >= -1 and res.images.max() <= 1


def test_trend_over_k_recovers_planted_slopes():
    """PSNR = a_i + b_layer ln k + noise: per-layer slopes b come back, the pooled slope is
    their mean, intervals cover them, and the bootstrap is seeded."""
    rng = np.random.default_rng(0)
    ks, true = [1.0, 0.8, 0.64, 0.41], {"fc1": 4.0, "fc2": -2.0}
    recs = pd.DataFrame([{"layer": lay, "image": i, "k": k,
                          "psnr": 20 + i + b * np.log(k) + 0.3 * rng.normal()}
                         for lay, b in true.items() for i in range(12) for k in ks])
    t = inv.trend_over_k(recs, n_resamples=500, seed=1).set_index("layer")
    assert t.index.tolist() == ["fc1", "fc2", "all layers"]
    for lay, b in {**true, "all layers": 1.0}.items():
        r = t.loc[lay]
        assert r.lo < r.slope < r.hi and abs(r.slope - b) < 3 * r.se, (lay, r)
        assert r.hi - r.lo == pytest.approx(2 * 1.96 * r.se, rel=0.25)
    assert (t.mde > 0).all() and (t.n_images == 12).all()
    assert t.equals(inv.trend_over_k(recs, n_resamples=500, seed=1).set_index("layer"))
    with pytest.raises(ValueError, match="two values of k"):
        inv.trend_over_k(recs.assign(k=1.0))


def test_inversion_view_shows_the_originals_prediction(trained):
    m, X, y = trained
    res = inv.invert(m, "fc1", X, steps=5, progress=False)
    rec = inv.inversion_records(m, res, X, y, k=1.0)
    out = widgets.inversion_view({(1.0, "fc1"): res.images}, rec, k=1.0, layer="fc1", index=1,
                                 originals=X)
    assert out["metrics"]["original_predicted"] == rec.original_predicted[1]
    assert out["figure"].axes[0].get_title() == f"original, predicted {rec.original_predicted[1]}"


def test_step_shares_counts_flat_steps_and_edges():
    x = torch.zeros(2, 1, 4, 4)
    x[1, :, :, 2:] = 2.0  # a vertical edge of height 2 in a range of width 2: step 1.0
    flat, edges = inv.step_shares(x, value_span=2.0)
    assert flat.tolist() == [1.0, pytest.approx(6 / 9)]
    assert edges.tolist() == [0.0, pytest.approx(3 / 9)]
    # thresholds are in units of the value range: a step of 0.01 is flat, 0.05 is not
    y = torch.zeros(1, 1, 2, 2)
    y[..., 1] = 0.05
    assert inv.step_shares(y, value_span=1.0)[0].tolist() == [0.0]
    assert inv.step_shares(y / 5, value_span=1.0)[0].tolist() == [1.0]
    # ... and the step is measured in units of value_span: 0.5 in a range of 10 is 0.05
    z = torch.zeros(1, 1, 2, 2)
    z[..., 1] = 0.5
    assert [a.tolist() for a in inv.step_shares(z, value_span=10.0)] == [[0.0], [0.0]]
    assert inv.step_shares(z, value_span=10.0, flat=0.06)[0].tolist() == [1.0]


def test_layer_trend_sentence_names_the_layers_of_each_verdict():
    nd = metrics.NO_DIFFERENCE
    pooled = (1.14, 0.3, 1.92)
    s = inv.layer_trend_sentence(pd.Series({"fc1": "W", "fc2": "B", "fc3": nd}), pooled, [0.3],
                                 worse="W", better="B")
    assert s.startswith("the layers disagree: pruning made fc1 harder to invert and fc2 easier.")
    assert "(+1.14 dB per unit ln k [+0.30, +1.92], about 0.25 dB per IMP round)" in s
    s = inv.layer_trend_sentence(pd.Series({"fc1": nd, "fc2": "B", "fc3": nd}), pooled, [0.3],
                                 worse="W", better="B")
    assert s == "fc2 easier to invert when sparse; fc1, fc3 without a detectable trend."
    s = inv.layer_trend_sentence(pd.Series({"fc1": "W"}), pooled, [0.3], worse="W", better="B")
    assert s == "fc1 harder to invert when sparse; no other layer without a detectable trend."
    s = inv.layer_trend_sentence(pd.Series({"fc1": nd, "fc2": nd}), pooled, [0.5, 0.25],
                                 worse="W", better="B")
    assert s.endswith("could detect slopes of 0.25 to 0.50 dB per unit ln k.")
