"""Cache claims: two real processes asking for one cache entry compute it once."""

import multiprocessing
import os
import time
from pathlib import Path

import pytest

from sparsepriv_nb import locks


def _worker(root: str, key: str, barrier, results) -> None:
    """One 'notebook': needs the model cached under ``key``; trains it (slowly) if missing."""
    import torch

    from sparsepriv_nb.cache import Cache

    cache = Cache(root)

    def train():
        with open(Path(root) / "trained_by.log", "a") as f:
            f.write(f"{os.getpid()}\n")
        time.sleep(1.0)  # long enough for the other process to arrive while training
        g = torch.Generator().manual_seed(os.getpid())  # each process would train differently
        state = {"w": torch.randn(4, 3, generator=g)}
        cache.save_model(key, state, {"trainer": os.getpid()})
        return cache.load_model(key)

    barrier.wait()  # both processes ask at the same moment
    (state, meta), computed = locks.compute_once(root, key, load=lambda: cache.load_model(key),
                                                 compute=train, timeout=60)
    results.put((os.getpid(), computed, meta["trainer"], state["w"].tolist()))


def test_two_processes_train_once_and_share_the_result(tmp_path):
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(2), ctx.Queue()
    key = "c0ffee" * 10 + "abcd"
    procs = [ctx.Process(target=_worker, args=(str(tmp_path), key, barrier, results))
             for _ in range(2)]
    for p in procs:
        p.start()
    out = [results.get(timeout=180) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    trained_by = (tmp_path / "trained_by.log").read_text().split()
    assert len(trained_by) == 1  # the training function ran once
    assert sorted(c for _, c, _, _ in out) == [False, True]  # one trained, the other read
    assert out[0][2] == out[1][2] == int(trained_by[0])
    assert out[0][3] == out[1][3]  # both hold the same, intact weights
    assert (tmp_path / "locks" / f"{key}.lock").exists()


def test_claim_times_out_with_a_clear_error(tmp_path):
    with locks.claim(tmp_path, "k", timeout=1):
        t = time.monotonic()
        with pytest.raises(locks.ClaimTimeout, match=r"cache entry k within timeout=0.3 s.*"
                                                     r"k\.lock"):
            with locks.claim(tmp_path, "k", timeout=0.3):
                pass
        assert 0.25 < time.monotonic() - t < 5
        with locks.claim(tmp_path, "other", timeout=0):  # other keys are independent
            pass
    with locks.claim(tmp_path, "k", timeout=0):  # released on exit
        pass


def _hold_and_die(root: str, ready) -> None:
    with locks.claim(root, "k", timeout=5):
        ready.set()
        time.sleep(0.5)
        os._exit(1)  # killed while holding the claim: no release by our code


def test_a_dead_holder_leaves_no_stale_claim(tmp_path):
    ctx = multiprocessing.get_context("spawn")
    ready = ctx.Event()
    p = ctx.Process(target=_hold_and_die, args=(str(tmp_path), ready))
    p.start()
    assert ready.wait(120)
    with locks.claim(tmp_path, "k", timeout=30):  # waits for the holder's death, no longer
        pass
    p.join(30)
    assert p.exitcode == 1


def test_threads_of_one_process_are_serialised(tmp_path):
    import threading

    inside, overlaps = [], []

    def work():
        with locks.claim(tmp_path, "k", timeout=30, poll=0.01):
            inside.append(1)
            overlaps.append(len(inside))
            time.sleep(0.05)
            inside.pop()

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert overlaps == [1, 1, 1, 1]  # never two holders at once


def test_a_nested_claim_without_timeout_fails_at_once_instead_of_hanging(tmp_path):
    with locks.claim(tmp_path, "k", timeout=1):
        t = time.monotonic()
        with pytest.raises(RuntimeError, match="Deadlock"):
            with locks.claim(tmp_path, "k", timeout=None):
                pass
        assert time.monotonic() - t < 5


def test_argument_errors(tmp_path):
    with pytest.raises(ValueError, match="'key'.*'../x'"):
        with locks.claim(tmp_path, "../x"):
            pass
    with pytest.raises(ValueError, match="'timeout'.*-1"):
        with locks.claim(tmp_path, "k", timeout=-1):
            pass
    with pytest.raises(TypeError, match="'cache_root'"):
        locks.lock_path(3, "k")
    with pytest.raises(ValueError, match="'poll' parameter of claim must be a float in "
                                         r"\(0, inf\)\. Got 0 instead"):
        with locks.claim(tmp_path, "k", poll=0):
            pass
    with pytest.raises(ValueError, match="'timeout'.*nan"):
        with locks.claim(tmp_path, "k", timeout=float("nan")):
            pass
    assert not (tmp_path / "locks").exists()  # bad input creates nothing
