"""How long does ``sparsepriv-nb challenge make`` take?

Per target: the CPU seconds of one experiment (target + reference models + the baseline
attacks; no cache, one torch thread). Then a whole ``make_challenge`` with an empty cache at
``--jobs 1`` and ``--jobs 2`` (wall seconds). On a shared machine wall times are inflated; the
CPU seconds are not, and the idle-machine wall time at ``--jobs 2`` is estimated from them
(longest-first assignment of the targets to two workers).

Run: ``OMP_NUM_THREADS=1 python benchmarks/challenge_make.py [--size default|tiny]``; results
are appended as JSON lines to ``benchmarks/results_challenge_make.jsonl`` and printed.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import sparsepriv_nb  # noqa: F401  (sets OMP_WAIT_POLICY=PASSIVE before torch loads)
import torch
from sparsepriv_nb import experiments as E
from sparsepriv_nb.challenge import make_challenge, target_configs

OUT = Path(__file__).with_name("results_challenge_make.jsonl")


def per_target(size: str) -> dict:
    out = {}
    for name, cfg in target_configs(size=size).items():
        c = time.process_time()
        E.run_experiment(cfg, cache=False, progress=False)
        out[name] = round(time.process_time() - c, 1)
    return out


def two_workers(cpu: dict) -> float:
    """Wall time of the targets on two idle workers, longest first (as a pool would)."""
    load = [0.0, 0.0]
    for s in sorted(cpu.values(), reverse=True):
        load[load.index(min(load))] += s
    return round(max(load), 1)


def whole(size: str, jobs: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        make_challenge(Path(tmp) / "c", size=size, cache=Path(tmp) / "cache", jobs=jobs)
        return round(time.perf_counter() - t, 1)


if __name__ == "__main__":
    torch.set_num_threads(1)
    size = sys.argv[sys.argv.index("--size") + 1] if "--size" in sys.argv else "default"
    cpu = per_target(size)
    row = {"size": size, "cpu_seconds_per_target": cpu, "cpu_seconds": round(sum(cpu.values()), 1),
           "estimated_idle_wall_jobs2": two_workers(cpu),
           "wall_jobs1": whole(size, 1), "wall_jobs2": whole(size, 2),
           "load_average": [round(v, 2) for v in __import__("os").getloadavg()]}
    with OUT.open("a") as fh:
        fh.write(json.dumps(row) + "\n")
    print(json.dumps(row, indent=1))
