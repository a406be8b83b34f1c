"""Measure training throughput with 1 and 2 torch threads, idle and with a busy neighbour.

Run: ``python benchmarks/threads.py``. The numbers chose ``train.configure_threads``' default.
"""

import multiprocessing as mp
import time

import sparsepriv_nb as spn  # sets OMP_WAIT_POLICY=PASSIVE before torch loads
import torch


def _burn(stop):
    while not stop.is_set():
        sum(i * i for i in range(10000))


def throughput(arch: str, threads: int, epochs: int = 3) -> float:
    torch.set_num_threads(threads)
    shape = (1, 8, 8) if arch == "mlp" else (1, 28, 28)
    X = torch.rand(2048, *shape)
    y = torch.randint(0, 10, (2048,))
    model = spn.models.build_model(arch, input_shape=shape, num_classes=10, seed=0)
    spn.train.fit(model, (X[:256], y[:256]), epochs=1, progress=False)  # warm-up
    t = time.perf_counter()
    spn.train.fit(model, (X, y), epochs=epochs, progress=False)
    return epochs * len(X) / (time.perf_counter() - t)


if __name__ == "__main__":
    for busy in (False, True):
        stop = mp.Event()
        proc = mp.Process(target=_burn, args=(stop,)) if busy else None
        if proc:
            proc.start()
        for arch in ("mlp", "lenet5"):
            for threads in (1, 2):
                rate = throughput(arch, threads)
                print(f"busy_neighbour={busy!s:5} arch={arch:6} threads={threads}: "
                      f"{rate:8.0f} samples/s")
        if proc:
            stop.set()
            proc.join()
