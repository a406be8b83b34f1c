"""Two processes that need the same cached model: one trains it, the other loads it (the
situation of ``sparsepriv-nb run --jobs 2`` when two notebooks share a model)."""

import multiprocessing as mp

import torch


def _worker(cache_root, log_path, barrier, out_path):
    import sparsepriv_nb.train as T
    from sparsepriv_nb import experiments as E
    from sparsepriv_nb.data import load_dataset

    real_fit = T.fit

    def counting_fit(*args, **kwargs):
        with open(log_path, "a") as f:
            f.write("fit\n")
        return real_fit(*args, **kwargs)

    T.fit = counting_fit
    ds = load_dataset("digits")
    cfg = E.ExperimentConfig(train={"epochs": 3}, attack={"names": ("loss",)})
    barrier.wait()  # both ask for the model at the same moment
    model = E.train_model(cfg, (ds.X[:200], ds.y[:200]), role="target", seed=0,
                          input_shape=ds.input_shape, num_classes=10, cache=cache_root)
    torch.save(model.state_dict(), out_path)


def test_two_processes_train_a_shared_model_once(tmp_path):
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(2)
    log = tmp_path / "fits.log"
    procs = [ctx.Process(target=_worker, args=(str(tmp_path / "cache"), str(log), barrier,
                                              str(tmp_path / f"model{i}.pt")))
             for i in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=300)
        assert p.exitcode == 0
    assert log.read_text().splitlines() == ["fit"], "the shared model was trained twice"
    a, b = (torch.load(tmp_path / f"model{i}.pt", weights_only=True) for i in range(2))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert len(list((tmp_path / "cache" / "models").glob("*"))) >= 1


def test_cache_names_bad_roots_keys_and_kinds(tmp_path):
    import pytest

    from sparsepriv_nb._checks import ParameterError
    from sparsepriv_nb.cache import Cache

    with pytest.raises(ParameterError, match="'root' parameter of Cache must be a folder"):
        Cache(3)
    with pytest.raises(ParameterError, match="'enabled' parameter of Cache must be a bool"):
        Cache(tmp_path, enabled="no")
    cache = Cache(tmp_path)
    with pytest.raises(ParameterError, match="'key' parameter of Cache must be a SHA-256 hex "
                                             "digest.*Got '../x' instead"):
        cache.load_json("records", "../x")
    with pytest.raises(ParameterError, match="'kind' parameter of Cache must be a plain folder "
                                             "name.*Got '../models' instead"):
        cache.save_json("../models", "0" * 64, {})
    assert not any(tmp_path.iterdir())  # nothing written outside or inside
