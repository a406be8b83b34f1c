"""Work the pipeline no longer repeats: the dense first phase of pruned models is the cached
dense model, and dense LiRA / RMIA reference models train as one vectorised ensemble."""

import warnings

import numpy as np
import pytest
import torch

from sparsepriv_nb import ensembles
from sparsepriv_nb import experiments as E
from sparsepriv_nb.cache import Cache
from sparsepriv_nb.experiments.training import dense_config, train_or_load

warnings.filterwarnings("ignore", message="cache:")

BASE = E.ExperimentConfig(data={"max_samples": 600}, train={"epochs": 3, "finetune_epochs": 1},
                          attack={"names": ("loss",)})


def _epochs(fit_calls):
    """The ``epochs`` of every recorded ``train.fit`` call."""
    return [kw["epochs"] for *_, kw in fit_calls]


def _weights(model):
    return torch.cat([v.flatten().float() for v in model.state_dict().values()])


def test_pruned_models_reuse_the_cached_dense_phase(tmp_path, fit_calls):
    cfg = BASE.replace(sparsity__method="magnitude", sparsity__density=0.5)
    E.run_experiment(cfg, cache=tmp_path)
    # target and shadow: dense phase, then fine-tuning
    assert sorted(_epochs(fit_calls)) == [1, 1, 3, 3]
    fit_calls.clear()
    for other in (cfg.replace(sparsity__density=0.2), cfg.replace(sparsity__method="random"),
                  BASE):
        E.run_experiment(other, cache=tmp_path)
    # no dense training again: two fine-tunings each, and the dense baseline loads
    assert 3 not in _epochs(fit_calls), fit_calls
    assert sorted(_epochs(fit_calls)) == [1, 1, 1, 1]


def test_shared_dense_phase_gives_the_same_model_bit_for_bit(tmp_path):
    ds, pools = E.prepare_data(BASE)
    kw = dict(role="target", seed=0, input_shape=ds.input_shape, num_classes=10,
              device="cpu", attacker=False)
    data = ds.subset(pools.target_train)
    for method in ("magnitude", "imp"):
        cfg = BASE.replace(sparsity__method=method, sparsity__density=0.25)
        fresh, _ = train_or_load(cfg, data, cache=Cache(tmp_path, enabled=False), **kw)
        train_or_load(dense_config(cfg), data, cache=Cache(tmp_path), **kw)
        shared, _ = train_or_load(cfg, data, cache=Cache(tmp_path / "b"), **kw)
        assert torch.equal(_weights(fresh), _weights(shared))
        # a lottery ticket rewinds to the initialisation: still the same ticket
    cfg = BASE.replace(sparsity__method="lottery", sparsity__density=0.25)
    fresh, _ = train_or_load(cfg, data, cache=Cache(tmp_path, enabled=False), **kw)
    shared, _ = train_or_load(cfg, data, cache=Cache(tmp_path), **kw)
    assert torch.equal(_weights(fresh), _weights(shared))


def test_defended_and_dp_models_do_not_share(tmp_path, fit_calls):
    E.run_experiment(BASE.replace(sparsity__method="magnitude", sparsity__density=0.5),
                     cache=tmp_path)
    fit_calls.clear()
    defended = BASE.replace(sparsity__method="magnitude", sparsity__density=0.5,
                            defense__name="weight-decay",
                            defense__params={"weight_decay": 1e-3})
    E.run_experiment(defended, cache=tmp_path)
    # the target trains with the defense from scratch (no shared dense phase); the shadow,
    # undefended (not adaptive), is the cached one
    assert sorted(_epochs(fit_calls)) == [1, 3], _epochs(fit_calls)


@pytest.fixture
def ensemble_calls(monkeypatch):
    calls = []
    real = ensembles.train_ensemble

    def counting(arch, subsets, **k):
        calls.append(len(subsets))
        return real(arch, subsets, **k)

    monkeypatch.setattr(ensembles, "train_ensemble", counting)
    return calls


LIRA = BASE.replace(attack__names=("lira",), attack__n_reference=4, train__epochs=8)


def test_dense_reference_models_train_as_one_ensemble(tmp_path, fit_calls, ensemble_calls):
    E.run_experiment(LIRA, cache=tmp_path)
    assert ensemble_calls == [4]  # the four reference models at once
    assert _epochs(fit_calls) == [8]  # only the target trains one by one (LiRA needs no shadow)
    metas = [Cache(tmp_path).load_json("models", p.stem)
             for p in (tmp_path / "models").glob("*.pt")]
    assert sorted(m["role"] for m in metas if m.get("ensemble") == 4) == \
        ["ref0", "ref1", "ref2", "ref3"]
    fit_calls.clear(), ensemble_calls.clear()
    # pruned references: their dense phase is the ensemble's cached members
    E.run_experiment(LIRA.replace(sparsity__method="magnitude", sparsity__density=0.5),
                     cache=tmp_path)
    # the target and every reference only fine-tune: their dense phases are the dense
    # target and the ensemble's members, all cached
    assert ensemble_calls == [] and _epochs(fit_calls) == [1] * 5, _epochs(fit_calls)


def test_ensemble_references_match_sequential_ones(tmp_path, monkeypatch):
    vec = E.run_experiment(LIRA, cache=tmp_path / "vec", return_outputs=True)[1]["references"]
    monkeypatch.setattr(ensembles, "should_vectorise", lambda *a, **k: False)
    seq = E.run_experiment(LIRA, cache=tmp_path / "seq", return_outputs=True)[1]["references"]
    p_vec, p_seq = vec.logits.softmax(-1), seq.logits.softmax(-1)
    assert np.array_equal(vec.ref_in, seq.ref_in)
    # the same models up to float rounding: predictions agree almost everywhere
    assert (p_vec.argmax(-1) == p_seq.argmax(-1)).float().mean() > 0.99
    assert (p_vec - p_seq).abs().max() < 0.05


def test_ensemble_references_claim_and_recheck(tmp_path, ensemble_calls):
    E.run_experiment(LIRA, cache=tmp_path)
    for r in (tmp_path / "records").glob("*.json"):
        r.unlink()  # the experiment is recomputed, the reference models are cached
    E.run_experiment(LIRA, cache=tmp_path)
    assert ensemble_calls == [4]
    assert list((tmp_path / "locks").glob("*.lock"))  # the members were claimed
