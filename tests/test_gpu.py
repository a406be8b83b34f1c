"""The CUDA path gives the CPU's results, and device handling never surprises (issue 21).

Tests marked ``gpu`` need a CUDA GPU and are skipped without one (tests/conftest.py says why);
run them with ``pytest -m gpu tests/test_gpu.py``, or through ``benchmarks/gpu_check.py``,
which also times the paper-scale workload. The unmarked tests run everywhere: asking for CUDA
where there is none is an error (never a silent CPU fallback), device strings are validated,
CPU placement copies nothing, and the check script's CPU half runs.

Tolerances (same seeds on both devices; what differs is only the kernels):

* Linear layers in float32: cuBLAS and the CPU's BLAS sum in different orders (~1e-7
  relative per product); over tens of Adam steps that stays around 1e-5..1e-4 in the weights.
  Bound: logits within ``atol=2e-3``, losses within ``rel=1e-3``, >= 99 % of predictions equal.
* Convolutions: cuDNN uses TF32 by default (10-bit mantissa, ~5e-4 relative per product), so
  LeNet-5 gets ten times the MLP's bounds: logits ``atol=5e-2``, losses ``rel=2e-2``, >= 97 %
  of predictions equal, accuracies within 0.03.
* Attack AUCs: the models' logits differ as above; threshold and reference attacks (LiRA,
  RMIA) are monotone maps of them: AUC within 0.02. Learned attack classifiers (Shokri's
  family, Salem, SAMIA) can flip a cross-validated choice on features that moved in the 4th
  digit; with ~300 scored samples an AUC's own standard error is ~0.03: within 0.10.
* DP-SGD: the noise is drawn on the device, from another stream than the CPU's, so the steps
  are compared without noise (three Opacus steps, dense and masked: ``atol=1e-5`` for the MLP,
  ``1e-4`` with TF32 convolutions), and whole ``train_private`` runs with sigma = 1 by what
  does not depend on the noise: the Poisson batches (a CPU generator), hence the steps, and the
  accounting (arithmetic) are equal; frozen coordinates are equal bit for bit; accuracies
  within 0.15 (two noise draws of a short run on 1000 digits).
* Inversion: the image starts from the same CPU draw; Adam divides by the gradient's running
  RMS, so relative gradient differences pass through nearly unchanged: pixels within 0.02 on
  average, objectives within 5 %.
"""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from sparsepriv_nb import attacks, dp, ensembles, experiments, inversion, train
from sparsepriv_nb._checks import ParameterError
from sparsepriv_nb.models import build_model

ROOT = Path(__file__).resolve().parent.parent
#: The device the ``gpu`` tests compare with the CPU. ``SPARSEPRIV_TEST_GPU=cpu`` runs their
#: code here, CPU against CPU (a dry run of the test code itself, e.g. before a GPU run;
#: tests/conftest.py then does not skip them).
GPU = os.environ.get("SPARSEPRIV_TEST_GPU", "cuda")


def on_gpu(t) -> bool:
    return t.device.type == torch.device(GPU).type


def _model(arch, digits, seed=0, **params):
    return build_model(arch, input_shape=digits.input_shape, num_classes=10, seed=seed, **params)


def _agree(a, b, margin: float = 0.0) -> float:
    """Share of samples whose predicted class agrees, among those whose top-2 logit margin in
    ``a`` exceeds ``margin``. A sample the reference (CPU) model nearly ties between two
    classes can flip on rounding alone: on the H200, LeNet-5 members after one epoch have
    logits of about 0.05 and agreed on 96.3 % of all samples although every logit was within
    the stated tolerance; where the margin exceeds twice that tolerance a flip is a bug."""
    top2 = a.topk(2, dim=1).values
    clear = (top2[:, 0] - top2[:, 1]) > margin
    if not bool(clear.any()):
        return 1.0
    return (a.argmax(1) == b.argmax(1))[clear].float().mean().item()


# ---------------------------------------------------------------- tolerances by architecture
TOL = {"mlp": dict(logits=2e-3, loss=1e-3, agree=0.99, acc=0.01),
       "lenet5": dict(logits=5e-2, loss=2e-2, agree=0.97, acc=0.03)}


# =========================================================================== CPU-runnable


@pytest.mark.parametrize("bad", ["gpu", "tpu", "mps", "meta", "cuda:x", "", 3, None, 1.5,
                                 torch.device("meta")])
def test_resolve_device_rejects_anything_but_cpu_cuda_auto(bad):
    with pytest.raises(ParameterError, match=r"The 'device' parameter of resolve_device must be "
                                             r"'auto', 'cpu', 'cuda' or 'cuda:N'"):
        train.resolve_device(bad)


def test_resolve_device_accepts_cpu_spellings():
    for d in ("cpu", "cpu:0", torch.device("cpu")):
        assert train.resolve_device(d).type == "cpu"


@pytest.fixture
def no_cuda(monkeypatch):
    """This process sees no GPU, also on a GPU machine."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)


def test_auto_is_cpu_without_cuda(no_cuda):
    assert train.resolve_device("auto") == torch.device("cpu")


@pytest.mark.parametrize("device", ["cuda", "cuda:0", torch.device("cuda")])
def test_cuda_without_a_gpu_is_an_error_not_a_fallback(no_cuda, device):
    with pytest.raises(ParameterError, match="torch sees no CUDA GPU") as err:
        train.resolve_device(device)
    assert "device='cpu'" in str(err.value)  # says what to do


def test_cuda_index_beyond_the_devices_is_an_error(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    with pytest.raises(ParameterError, match=r"sees 1 CUDA device\(s\): use 'cuda:0'"):
        train.resolve_device("cuda:1")


def test_every_entry_point_refuses_cuda_without_a_gpu(no_cuda, digits):
    X, y = digits.X[:64], digits.y[:64]
    m = _model("mlp", digits)
    before = {k: v.clone() for k, v in m.state_dict().items()}
    calls = {
        "fit": lambda: train.fit(m, (X, y), epochs=1, device="cuda", progress=False),
        "predict_logits": lambda: train.predict_logits(m, X, device="cuda"),
        "evaluate": lambda: train.evaluate(m, (X, y), device="cuda"),
        "train_ensemble": lambda: ensembles.train_ensemble(
            "mlp", [np.arange(32), np.arange(32, 64)], X=X, y=y,
            input_shape=digits.input_shape, num_classes=10, seeds=[0, 1], device="cuda"),
        "invert": lambda: inversion.invert(m, "fc1", X[:2], steps=2, device="cuda"),
        "train_private": lambda: dp.train_private(m, (X, y), epochs=1, batch_size=16,
                                                  noise_multiplier=1.0, device="cuda"),
    }
    for owner, call in calls.items():
        with pytest.raises(ParameterError, match=f"'device' parameter of {owner} is 'cuda'"):
            call()
    # nothing was trained or moved
    assert all(torch.equal(v, before[k]) for k, v in m.state_dict().items())
    assert all(p.device.type == "cpu" for p in m.parameters())


def test_stage_tensors_copies_nothing_on_cpu_and_take_batch_indexes():
    X, y = torch.randn(10, 3), torch.arange(10)
    Xs, ys = train.stage_tensors((X, y), "cpu")
    assert Xs is X and ys is y  # CPU runs keep their tensors, hence their numbers
    idx = torch.tensor([3, 1, 7])
    assert torch.equal(train.take_batch(X, idx, torch.device("cpu")), X[idx])


def test_gpu_check_script_cpu_half_runs(tmp_path):
    """benchmarks/gpu_check.py --smoke --cpu-only: the script the GPU machine runs, CPU half."""
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "gpu_check.py"), "--smoke", "--cpu-only",
         "--no-tests", "--budget", "3", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    import json

    report = json.loads((tmp_path / "gpu_check.json").read_text())
    parts = [r["part"] for r in report["rows"]]
    assert parts == ["fit", "ensemble 4", "ensemble 8", "lira+rmia", "dp-sgd", "inversion"]
    for r in report["rows"]:
        m = r["cpu"]
        assert m["seconds_full"] > 0 and m["samples_per_s"] > 0
        assert 0 < m["measured_fraction"] <= 1
        # an extrapolated time is the measured one scaled to the full size
        assert m["seconds_full"] == pytest.approx(m["seconds_measured"] / m["measured_fraction"])
    md = (tmp_path / "gpu_check.md").read_text()
    assert "| fit |" in md and "cpu s (full)" in md


# =========================================================================== on CUDA


@pytest.mark.gpu
@pytest.mark.parametrize("arch", ["mlp", "lenet5"])
def test_fit_on_cuda_matches_cpu(arch, digits):
    tol = TOL[arch]
    X, y = digits.X[:400], digits.y[:400]
    Xv, yv = digits.X[1000:1300], digits.y[1000:1300]
    out = {}
    for d in ("cpu", GPU):
        m = _model(arch, digits)
        hist = train.fit(m, (X, y), val_data=(Xv, yv), epochs=4, seed=3, device=d,
                         progress=False)
        assert all(p.device.type == torch.device(d).type for p in m.parameters())
        logits = train.predict_logits(m, Xv, device=d)
        assert logits.device.type == "cpu"  # predictions always come back to the host
        out[d] = (hist, logits)
    (hc, lc), (hg, lg) = out["cpu"], out[GPU]
    for a, b in zip(hc, hg):
        assert b["train_loss"] == pytest.approx(a["train_loss"], rel=tol["loss"])
        assert b["val_acc"] == pytest.approx(a["val_acc"], abs=tol["acc"])
    assert (lg - lc).abs().max().item() < tol["logits"]
    assert _agree(lc, lg, 2 * tol["logits"]) >= tol["agree"]


@pytest.mark.gpu
def test_fit_without_room_on_the_gpu_gives_the_staged_result(digits, monkeypatch):
    """Data kept on the host (pinned, one batch at a time) trains the same model as data
    staged whole on the GPU: the batches and the kernels are the same."""
    X, y = digits.X[:300], digits.y[:300]
    staged, host = _model("mlp", digits), _model("mlp", digits)
    train.fit(staged, (X, y), epochs=2, seed=0, device=GPU, progress=False)
    monkeypatch.setattr(train, "GPU_DATA_FRACTION", 0.0)
    Xh, yh = train.stage_tensors((X, y), GPU)
    assert not Xh.is_cuda
    if GPU != "cpu":
        assert Xh.is_pinned() and yh.is_pinned()
    train.fit(host, (X, y), epochs=2, seed=0, device=GPU, progress=False)
    for (n, a), (_, b) in zip(staged.state_dict().items(), host.state_dict().items()):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=0, msg=n)


@pytest.mark.gpu
@pytest.mark.parametrize("arch", ["mlp", "lenet5"])
def test_vectorised_ensemble_on_cuda_matches_cpu(arch, digits):
    tol = TOL[arch]
    X, y = digits.X[:600], digits.y[:600]
    subsets = [np.arange(0, 300), np.arange(150, 450), np.arange(300, 600), np.arange(0, 600, 2)]
    kw = dict(X=X, y=y, input_shape=digits.input_shape, num_classes=10, seeds=[5, 6, 7, 8],
              epochs=3, vectorise=True)
    Xt = digits.X[1200:1500]
    cpu = ensembles.train_ensemble(arch, subsets, device="cpu", **kw)
    gpu = ensembles.train_ensemble(arch, subsets, device=GPU, **kw)
    assert all(on_gpu(p) for m in gpu for p in m.parameters())
    lc = ensembles.predict_logits_ensemble(cpu, Xt, device="cpu")
    lg = ensembles.predict_logits_ensemble(gpu, Xt, device=GPU)
    assert lg.device.type == "cpu"
    assert (lg - lc).abs().max().item() < tol["logits"]
    for k in range(len(subsets)):
        assert _agree(lc[k], lg[k], 2 * tol["logits"]) >= tol["agree"]
    # the vectorised CUDA members are the sequential CUDA fits, as on the CPU
    seq = ensembles.train_ensemble(arch, subsets[:2], device=GPU,
                                   **{**kw, "seeds": [5, 6], "vectorise": False})
    ls = ensembles.predict_logits_ensemble(seq, Xt, device=GPU)
    assert (ls - lg[:2]).abs().max().item() < tol["logits"]


def _all_attacks_config():
    names = tuple(attacks.available_attacks())
    return experiments.ExperimentConfig(
        data={"name": "digits", "max_samples": 1000}, train={"epochs": 15},
        attack={"names": names, "n_shadows": 1, "n_reference": 4,
                "params": {"samia": {"epochs": 5}}}, seed=0)


LEARNED = ("shokri", "salem", "samia")  # attack classifiers trained on shadow features


@pytest.mark.gpu
def test_every_registered_attack_scores_on_cuda_as_on_cpu():
    cfg = _all_attacks_config()
    runs = {d: experiments.run_experiment(cfg, cache=False, device=d, return_outputs=True,
                                          progress=False) for d in ("cpu", GPU)}
    (dc, oc), (dg, og) = runs["cpu"], runs[GPU]
    assert list(dc.attack) == list(dg.attack) == list(cfg.attack.names)
    assert np.array_equal(oc["target"].membership, og["target"].membership)
    # 1e-2: the MLP bound of test_fit_on_cuda_matches_cpu (2e-3 after 4 epochs) with room
    # for 15 epochs and a pruning-free but longer run
    assert (og["target"].logits - oc["target"].logits).abs().max().item() < 1e-2
    assert dg.test_acc.iloc[0] == pytest.approx(dc.test_acc.iloc[0], abs=0.01)
    assert dg.density_achieved.iloc[0] == dc.density_achieved.iloc[0]
    auc_c, auc_g = dc.set_index("attack").auc, dg.set_index("attack").auc
    for name in cfg.attack.names:
        band = 0.10 if name.startswith(LEARNED) else 0.02
        assert abs(auc_g[name] - auc_c[name]) <= band, (name, auc_c[name], auc_g[name])
        assert np.isfinite(og["scores"][name]).all(), name


@pytest.mark.gpu
def test_invert_on_cuda_matches_cpu(digits):
    model = _model("mlp", digits)
    train.fit(model, (digits.X[:500], digits.y[:500]), epochs=3, device="cpu", progress=False)
    targets = digits.X[1500:1508]
    res = {}
    for d in ("cpu", GPU):
        res[d] = inversion.invert(model, "fc1", targets, steps=60, seed=1, device=d,
                                  record_every=60, progress=False)
        assert res[d].images.device.type == "cpu"
    c, g = res["cpu"], res[GPU]
    assert (g.images - c.images).abs().mean().item() < 0.02
    np.testing.assert_allclose(g.history[60], c.history[60], rtol=0.05, atol=1e-4)


def _dp_model(arch, digits):
    return _model(arch, digits, seed=4, **({"norm": "group"} if arch == "lenet5" else {}))


def _opacus_steps(model, X, y, masks, dev):
    """Three DP-SGD steps without noise (Opacus' GradSampleModule and DPOptimizer, or the
    package's MaskedDPOptimizer as train_private installs it) on fixed batches."""
    from opacus import GradSampleModule
    from opacus.optimizers import DPOptimizer

    model.to(dev)
    gsm = GradSampleModule(model)
    opt = DPOptimizer(torch.optim.SGD(model.parameters(), lr=0.2), noise_multiplier=0.0,
                      max_grad_norm=0.5, expected_batch_size=64)
    if masks is not None:
        named = dict(model.named_parameters())
        opt = dp.MaskedDPOptimizer.from_dp_optimizer(
            opt, {named[k]: m.to(dev) for k, m in masks.items()})
    for i in range(3):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(gsm(X[64 * i:64 * (i + 1)].to(dev)),
                                          y[64 * i:64 * (i + 1)].to(dev)).backward()
        opt.step()
    gsm._close()
    return {k: v.detach().cpu() for k, v in model.named_parameters()}


def _fc1_mask():
    return (torch.rand(256, 64, generator=torch.Generator().manual_seed(0)) < 0.3).float()


@pytest.mark.gpu
@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("arch", ["mlp", "lenet5"])
def test_dp_sgd_steps_on_cuda_match_cpu(arch, masked, digits):
    """Per-sample gradients, clipping and masking on CUDA give the CPU's step (noise 0: the
    noise is drawn on the device from another stream, so only the noise-free step compares)."""
    masks = ({"fc1.weight": _fc1_mask()} if arch == "mlp" else
             {"conv2.weight": (torch.rand(16, 6, 5, 5, generator=torch.Generator()
                                          .manual_seed(0)) < 0.3).float()}) if masked else None
    init = {k: v.detach().clone() for k, v in _dp_model(arch, digits).named_parameters()}
    cpu = _opacus_steps(_dp_model(arch, digits), digits.X, digits.y, masks, "cpu")
    gpu = _opacus_steps(_dp_model(arch, digits), digits.X, digits.y, masks,
                        train.resolve_device(GPU))
    atol = 1e-5 if arch == "mlp" else 1e-4  # TF32 convolutions on CUDA
    for k in cpu:
        torch.testing.assert_close(gpu[k], cpu[k], atol=atol, rtol=0, msg=k)
        # every weight moved (a bias before GroupNorm may get no gradient)
        assert k.endswith("bias") or not torch.equal(cpu[k], init[k]), k
    for k, m in (masks or {}).items():
        assert torch.equal(gpu[k][m == 0], init[k][m == 0])  # frozen: bit for bit


def _dp_run(arch, digits, device, masks=None):
    m = _dp_model(arch, digits)
    init = {k: v.detach().clone() for k, v in m.named_parameters()}
    out = dp.train_private(m, (digits.X[:1000], digits.y[:1000]), epochs=3, batch_size=64,
                           lr=0.5, noise_multiplier=1.0, max_grad_norm=1.0, seed=2,
                           device=device, masks=masks, delta=1e-5)
    assert all(p.device.type == torch.device(device).type for p in m.parameters())
    acc = train.evaluate(m, (digits.X[1200:1700], digits.y[1200:1700]), device=device)
    return m, init, out, acc["accuracy"]


@pytest.mark.gpu
@pytest.mark.parametrize("arch", ["mlp", "lenet5"])  # ghost clipping, expanded weights
def test_train_private_on_cuda_matches_cpu(arch, digits):
    _, _, oc, acc_c = _dp_run(arch, digits, "cpu")
    _, _, og, acc_g = _dp_run(arch, digits, GPU)
    assert og["grad_sample_mode"] == oc["grad_sample_mode"]
    # the Poisson batches come from a CPU generator and the accounting is arithmetic
    for key in ("steps", "sample_rate", "noise_multiplier", "epsilon", "epsilon_rdp",
                "n_train"):
        assert og[key] == pytest.approx(oc[key], rel=1e-12), key
    assert abs(acc_g - acc_c) <= 0.15  # two draws of the noise


@pytest.mark.gpu
def test_masked_train_private_on_cuda_freezes_exactly(digits):
    mask = _fc1_mask()
    runs = {d: _dp_run("mlp", digits, d, masks={"fc1.weight": mask}) for d in ("cpu", GPU)}
    (_, init, oc, acc_c), (mg, _, og, acc_g) = runs["cpu"], runs[GPU]
    assert og["grad_sample_mode"] == oc["grad_sample_mode"] == "hooks"
    assert og["trainable_fraction"] == pytest.approx(oc["trainable_fraction"], rel=1e-9)
    assert og["epsilon"] == pytest.approx(oc["epsilon"], rel=1e-12)
    w = mg.fc1.weight.detach().cpu()
    assert torch.equal(w[mask == 0], init["fc1.weight"][mask == 0])  # frozen: bit for bit
    assert not torch.equal(w[mask == 1], init["fc1.weight"][mask == 1])
    assert abs(acc_g - acc_c) <= 0.15


# --------------------------------------------------------------------------- mixed devices


@pytest.mark.gpu
def test_model_on_cuda_with_data_on_cpu_and_the_reverse(digits):
    X, y = digits.X[:256], digits.y[:256]
    Xg, yg = X.to(GPU), y.to(GPU)
    ref = _model("mlp", digits)
    train.fit(ref, (X, y), epochs=2, device=GPU, progress=False)
    ref_logits = train.predict_logits(ref, X, device=GPU)
    cases = {  # (model placed on, data) -> all trained on CUDA
        "model cuda, data cpu": (_model("mlp", digits).to(GPU), (X, y)),
        "model cpu, data cuda": (_model("mlp", digits), (Xg, yg)),
        "both cuda": (_model("mlp", digits).to(GPU), (Xg, yg)),
    }
    for what, (m, data) in cases.items():
        train.fit(m, data, epochs=2, device=GPU, progress=False)
        assert all(on_gpu(p) for p in m.parameters()), what
        for Xin in (X, Xg):
            out = train.predict_logits(m, Xin, device=GPU)
            assert out.device.type == "cpu", what
            # same batches, same kernels (1e-5: room for a non-deterministic cuBLAS choice)
            torch.testing.assert_close(out, ref_logits, atol=1e-5, rtol=0, msg=what)
        ev = train.evaluate(m, data, device=GPU)
        assert 0 <= ev["accuracy"] <= 1, what
    # CUDA data, CPU training: batches come back to the host, the model stays there
    m = _model("mlp", digits)
    train.fit(m, (Xg, yg), epochs=1, device="cpu", progress=False)
    assert all(p.device.type == "cpu" for p in m.parameters())
    assert train.predict_logits(m, Xg, device="cpu").device.type == "cpu"


@pytest.mark.gpu
def test_ensembles_inversion_and_dp_with_mixed_devices(digits):
    X, y = digits.X[:256], digits.y[:256]
    subs = [np.arange(0, 128), np.arange(128, 256)]
    kw = dict(input_shape=digits.input_shape, num_classes=10, seeds=[0, 1], epochs=1,
              vectorise=True)
    for data, dev in (((X.to(GPU), y.to(GPU)), "cpu"), ((X, y), GPU)):
        ms = ensembles.train_ensemble("mlp", subs, X=data[0], y=data[1], device=dev, **kw)
        assert all(p.device.type == torch.device(dev).type for m in ms for p in m.parameters())
        out = ensembles.predict_logits_ensemble(ms, data[0], device=dev)
        assert out.device.type == "cpu" and out.shape == (2, 256, 10)
    for model, targets in ((_model("mlp", digits).to(GPU), X[:4]),
                           (_model("mlp", digits), X[:4].to(GPU))):
        res = inversion.invert(model, "fc1", targets, steps=3, device=GPU, progress=False)
        assert res.images.device.type == "cpu" and res.images.shape == (4, 1, 8, 8)
    for data in ((X, y), (X.to(GPU), y.to(GPU))):
        m = _model("mlp", digits)
        out = dp.train_private(m, data, epochs=1, batch_size=32, noise_multiplier=1.0,
                               device=GPU)
        assert out["steps"] > 0 and all(on_gpu(p) for p in m.parameters())
