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
