import json
import warnings

import pandas as pd
import pytest
import torch

from sparsepriv_nb import experiments as E
from sparsepriv_nb import train
from sparsepriv_nb.cache import Cache

warnings.filterwarnings("ignore", message="cache:")

BASE = E.ExperimentConfig.from_flat(epochs=3, finetune_epochs=1, attacks=("loss", "salem"),
                                    max_samples=600)


def test_second_sweep_trains_nothing(tmp_path, fit_calls):
    grid = E.make_grid(BASE, sparsity__method=["dense", "magnitude-global"],
                       sparsity__density=[0.3], seed=[0, 1])
    assert len(grid) == 4
    first = E.run_sweep(grid, cache=tmp_path, progress=False)
    assert len(fit_calls) > 0 and not first.from_cache.any()
    fit_calls.clear()
    second = E.run_sweep(grid, cache=tmp_path, progress=False)
    assert fit_calls == []
    assert second.from_cache.all()
    cols = ["sparsity_method", "seed", "attack", "auc", "test_acc"]
    pd.testing.assert_frame_equal(first[cols], second[cols])


def test_sweep_with_joblib_processes_matches_serial(tmp_path):
    grid = E.make_grid(BASE, sparsity__method=["dense"], seed=[0, 1])
    par = E.run_sweep(grid, cache=tmp_path / "a", n_jobs=2, backend="loky", progress=False)
    ser = E.run_sweep(grid, cache=tmp_path / "b", progress=False)
    assert par.auc.round(10).tolist() == ser.auc.round(10).tolist()


def test_corrupt_model_file_is_recomputed(tmp_path, fit_calls):
    cache = Cache(tmp_path)
    cfg = BASE.replace(sparsity__method="magnitude", sparsity__density=0.5,
                       attack__names=("loss",))
    a = E.run_experiment(cfg, cache=cache)
    pts = list((tmp_path / "models").glob("*.pt"))
    assert len(pts) == 4  # target + 1 shadow, and the dense first phase of each (shared)
    for p in pts:  # truncate the weights
        p.write_bytes(p.read_bytes()[:100])
    for r in (tmp_path / "records").glob("*.json"):
        r.unlink()
    fit_calls.clear()
    b = E.run_experiment(cfg, cache=cache)
    assert len(fit_calls) == 4  # both models retrained (train + fine-tune each)
    assert a.auc.tolist() == b.auc.tolist()
    # and the repaired entries load cleanly now
    fit_calls.clear()
    for r in (tmp_path / "records").glob("*.json"):
        r.unlink()
    E.run_experiment(cfg, cache=cache)
    assert fit_calls == []


def test_corrupt_record_is_recomputed(tmp_path):
    cfg = BASE.replace(attack__names=("loss",))
    a = E.run_experiment(cfg, cache=tmp_path)
    (rec,) = list((tmp_path / "records").glob("*.json"))
    rec.write_text('{"records": [')
    with pytest.warns(UserWarning, match="corrupt"):
        b = E.run_experiment(cfg, cache=tmp_path)
    assert not b.from_cache.any() and a.auc.tolist() == b.auc.tolist()
    json.loads(rec.read_text())  # rewritten whole


def test_cached_pruned_model_keeps_masks(tmp_path):
    cfg = BASE.replace(sparsity__method="magnitude-global", sparsity__density=0.2)
    ds, pools = E.prepare_data(cfg)
    data = ds.subset(pools.target_train)
    kw = dict(role="target", seed=0, input_shape=ds.input_shape, num_classes=10,
              cache=Cache(tmp_path))
    m1 = E.train_model(cfg, data, **kw)
    m2 = E.train_model(cfg, data, **kw)
    assert torch.equal(m1.fc1.weight_mask, m2.fc1.weight_mask)
    assert torch.equal(m1.fc1.weight, m2.fc1.weight)
    assert torch.equal(train.predict_logits(m1, data[0]), train.predict_logits(m2, data[0]))


@pytest.mark.parametrize("method,density,expected", [
    ("imp", 0.25, 0.25), ("lottery", 0.25, 0.25), ("random", 0.1, 0.1),
    ("butterfly", 1.0, None)])
def test_every_method_runs_end_to_end(tmp_path, method, density, expected):
    cfg = BASE.replace(sparsity__method=method, sparsity__density=density,
                       attack__names=("loss",))
    df = E.run_experiment(cfg, cache=False)
    if expected is not None:
        assert df.density_achieved.iloc[0] == pytest.approx(expected, abs=0.01)
    else:
        assert df.density_achieved.iloc[0] < 0.5


def test_config_validation():
    with pytest.raises(ValueError, match="method"):
        E.ExperimentConfig.from_flat(method="snip")
    with pytest.raises(ValueError, match="density"):
        E.ExperimentConfig.from_flat(method="magnitude", density=0.0)
    with pytest.raises(ValueError, match="unknown attacks"):
        E.ExperimentConfig.from_flat(attacks=("loss", "oracle"))
    with pytest.raises(ValueError, match="dense"):
        E.ExperimentConfig.from_flat(density=0.5)


def test_query_requires_balance():
    m = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 2))
    with pytest.raises(ValueError, match="balanced"):
        E.query(m, (torch.zeros(3, 1, 2, 2), torch.zeros(3).long()),
                (torch.zeros(2, 1, 2, 2), torch.zeros(2).long()))


def test_attack_transfer_table(tmp_path):
    outs = {}
    for method, density in (("dense", 1.0), ("magnitude-global", 0.1)):
        cfg = BASE.replace(sparsity__method=method, sparsity__density=density,
                           train__epochs=20)
        _, o = E.run_experiment(cfg, cache=tmp_path, return_outputs=True)
        outs[method] = (o["shadow"], o["target"])
    table = E.attack_transfer(outs, "salem")
    assert table.shape == (2, 2) and table.notna().all().all()
    assert ((table > 0.3) & (table < 1)).all().all()


# --------------------------------------------------------------------------- cached scores


def test_scores_are_cached_beside_the_record_and_read_back(tmp_path, fit_calls):
    cfg = BASE.replace(attack__names=("loss", "salem"))
    df, out = E.run_experiment(cfg, cache=tmp_path, return_outputs=True)
    (npz,) = list((tmp_path / "scores").glob("*.npz"))
    assert npz.stem == E.experiment_key(cfg)
    scores = E.load_scores(cfg, cache=tmp_path)
    assert list(scores) == ["loss", "salem"]
    for name, (s, membership) in scores.items():
        assert s.tolist() == out["scores"][name].tolist()
        assert membership.tolist() == out["target"].membership.tolist()
    # the metrics of the row are the metrics of the stored scores
    from sparsepriv_nb import metrics

    loss_row = df.set_index("attack").loc["loss"]
    assert metrics.attack_metrics(*scores["loss"], n_resamples=0)["auc"] == \
        pytest.approx(loss_row.auc)
    # a sweep's scores, in the order of its configs
    assert [list(d) for d in E.load_scores([cfg, cfg], cache=tmp_path)] == [["loss", "salem"]] * 2
    # the shadow outputs let a user refit an attack without any model
    stored = E.load_outputs(cfg, cache=tmp_path)
    from sparsepriv_nb.attacks import make_attack

    refit = make_attack("loss").fit(stored["shadow"].logits, stored["shadow"].labels,
                                    stored["shadow"].membership)
    assert refit.score_samples(stored["target"].logits, stored["target"].labels).tolist() == \
        scores["loss"][0].tolist()
    # return_outputs on a finished experiment reads it: nothing is trained
    fit_calls.clear()
    df2, out2 = E.run_experiment(cfg, cache=tmp_path, return_outputs=True)
    assert fit_calls == [] and df2.from_cache.all()
    assert out2["scores"]["salem"].tolist() == out["scores"]["salem"].tolist()
    assert torch.equal(out2["shadow"].logits, out["shadow"].logits)
    probe = torch.rand(4, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    assert torch.equal(train.predict_logits(out2["model"], probe),
                       train.predict_logits(out["model"], probe))


def test_load_scores_of_an_unfinished_experiment_is_a_clear_error(tmp_path):
    with pytest.raises(LookupError, match="run_experiment"):
        E.load_scores(BASE, cache=tmp_path)


@pytest.mark.parametrize("content", [
    "[]", '{"records": {}}', '{"records": [1, 2]}', '{"config": 1}',
    '{"records": [{"auc": 0.5}], "scores_sha256": "x"}', '"a string"'])
def test_record_of_the_wrong_structure_is_recomputed(tmp_path, content):
    cfg = BASE.replace(attack__names=("loss",))
    a = E.run_experiment(cfg, cache=tmp_path)
    (rec,) = list((tmp_path / "records").glob("*.json"))
    rec.write_text(content)
    with pytest.warns(UserWarning, match="malformed"):
        b = E.run_experiment(cfg, cache=tmp_path)
    assert not b.from_cache.any() and a.auc.tolist() == b.auc.tolist()
    assert E.run_experiment(cfg, cache=tmp_path).from_cache.all()  # repaired


@pytest.mark.parametrize("damage", ["truncate", "delete", "replace"])
def test_corrupt_or_missing_scores_are_recomputed(tmp_path, damage):
    import numpy as np

    cfg = BASE.replace(attack__names=("loss",))
    a = E.run_experiment(cfg, cache=tmp_path)
    (npz,) = list((tmp_path / "scores").glob("*.npz"))
    if damage == "truncate":
        npz.write_bytes(npz.read_bytes()[:50])
    elif damage == "delete":
        npz.unlink()
    else:  # a valid npz, but not the one the record was written with
        np.savez_compressed(npz, **{"score__loss": np.zeros(3)})
    with pytest.warns(UserWarning):
        b = E.run_experiment(cfg, cache=tmp_path)
    assert not b.from_cache.any() and a.auc.tolist() == b.auc.tolist()
    assert len(E.load_scores(cfg, cache=tmp_path)["loss"][0]) == 2 * a.n_members[0]


def test_cache_none_is_the_default_cache_in_train_model_too(tmp_path, monkeypatch):
    monkeypatch.setenv("SPARSEPRIV_DATA", str(tmp_path))
    ds, pools = E.prepare_data(BASE)
    E.train_model(BASE, ds.subset(pools.target_train[:50]), role="target", seed=0,
                  input_shape=ds.input_shape, num_classes=10, cache=None)
    assert len(list((tmp_path / "cache" / "models").glob("*.pt"))) == 1
    E.train_model(BASE, ds.subset(pools.target_train[:50]), role="target", seed=1,
                  input_shape=ds.input_shape, num_classes=10, cache=False)
    assert len(list((tmp_path / "cache" / "models").glob("*.pt"))) == 1


def test_reference_outputs_are_stored_and_refit_the_attack(tmp_path):
    from sparsepriv_nb.attacks import make_attack

    cfg = BASE.replace(attack__names=("lira", "rmia"), attack__n_reference=4, train__epochs=2)
    _, out = E.run_experiment(cfg, cache=tmp_path, return_outputs=True)
    stored = E.load_outputs(cfg, cache=tmp_path)
    refs = stored["references"]
    assert refs.logits.shape[0] == 4 and refs.ref_in.shape == (4, len(refs.labels))
    assert refs.ref_in.sum(0).tolist() == [2] * len(refs.labels)  # IN for half the models
    assert stored["shadow"] is None  # no shadow-kind attack was asked for
    lira = make_attack("lira").fit(refs.logits, refs.labels, refs.ref_in)
    assert lira.score_samples(stored["target"].logits, refs.labels).tolist() == \
        out["scores"]["lira"].tolist()
    assert torch.equal(refs.population_logits, out["references"].population_logits)
    only_lira = cfg.replace(attack__names=("lira",))  # no population needed: none stored
    E.run_experiment(only_lira, cache=tmp_path)
    assert E.load_outputs(only_lira, cache=tmp_path)["references"].population_logits is None
