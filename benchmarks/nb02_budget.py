"""Notebook 02's budget, estimated from single experiments: the dense, magnitude-pruned and
lottery-ticket targets of its section 3 (its costliest cell), each run cold (an empty
experiment cache, one torch thread) with a profile's parameters, as the notebook builds them.

Prints, per target, the CPU seconds (on a busy machine the CPU time of a single-threaded
process stays close to the idle wall time, while the wall time does not) and the dense target's
regime: train / test accuracy, gap, strongest attack's AUC with its interval. The whole quick
notebook, timed cell by cell in one process from a cold cache (2026-12-04), took 39.6 CPU
seconds where this benchmark's three quick targets take 28.9, so the notebook's estimate is this
benchmark x 1.37 plus a kernel start (about 3 s). For the standard profile add its section 7,
which transfers Shokri's attack (three more cross-validated fits, about 30 s at its sizes).

Measured 2026-12-04 (2 cores shared by 8 jobs; CPU seconds):

* quick: dense 10.0, magnitude 4.2, lottery 14.6 -> notebook about 43 s; dense train 1.000,
  test 0.794, gap 0.206, LiRA AUC 0.775 [0.747, 0.802].
* standard: dense 47.8, magnitude 30.5, lottery 60.1 -> notebook about 190 + 30 s (under 4
  min on one idle core); dense train 1.000, test 0.801, gap 0.199, offline LiRA AUC 0.728
  [0.706, 0.751].

Run: ``OMP_NUM_THREADS=1 python benchmarks/nb02_budget.py [quick|standard]``.
"""

from __future__ import annotations

import sys
import tempfile
import time

import sparsepriv_nb  # noqa: F401  (sets OMP_WAIT_POLICY=PASSIVE before torch loads)
import torch
from sparsepriv_nb import cli
from sparsepriv_nb import experiments as E

NOTEBOOK_PER_BENCHMARK = 39.6 / 28.9  # quick notebook / this benchmark, CPU seconds
KERNEL_S = 3.0


def notebook_params(profile: str) -> dict:
    info = next(n for n in cli.find_notebooks() if n.key == "02")
    return {**info.parameters, **cli.resolve_parameters(info, cli.load_profile(profile), {})}


def configs(p: dict) -> dict:
    params = {"samia": {"epochs": p["SAMIA_EPOCHS"]}} if "samia" in p["ATTACKS"] else {}
    base = E.ExperimentConfig(
        data={"name": p["DATASET"], "max_samples": p["MAX_SAMPLES"], "train_size": p["TRAIN_SIZE"]},
        model={"arch": p["ARCH"]},
        train={"epochs": p["EPOCHS"], "finetune_epochs": p["FINETUNE_EPOCHS"], "lr": p["LR"]},
        attack={"names": tuple(p["ATTACKS"]), "n_shadows": p["N_SHADOWS"],
                "n_reference": p["N_REFERENCE"], "params": params}, seed=p["SEED"])
    return {"dense": base,
            "magnitude": base.replace(sparsity__method="magnitude-global",
                                      sparsity__density=p["DENSITY"]),
            "lottery ticket": base.replace(sparsity__method="lottery",
                                           sparsity__density=p["DENSITY"],
                                           sparsity__imp_amount=p["IMP_AMOUNT"])}


if __name__ == "__main__":
    torch.set_num_threads(1)
    profile = sys.argv[1] if len(sys.argv) > 1 else "quick"
    p = notebook_params(profile)
    total = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for name, cfg in configs(p).items():
            c, w = time.process_time(), time.perf_counter()
            df = E.run_experiment(cfg, cache=tmp, device="cpu", progress=False)
            cpu = time.process_time() - c
            total += cpu
            print(f"{profile} {name:15} cpu {cpu:6.1f} s  wall {time.perf_counter() - w:6.1f} s",
                  flush=True)
            if name == "dense":
                r, b = df.iloc[0], df.loc[df.auc.idxmax()]
                print(f"  dense: train {r.train_acc:.3f}, test {r.test_acc:.3f}, gap "
                      f"{r.gen_gap:.3f}; strongest {b.attack} AUC {b.auc:.3f} "
                      f"[{b.auc_lo:.3f}, {b.auc_hi:.3f}]", flush=True)
    print(f"{profile}: section 3 {total:.1f} CPU s; notebook estimate "
          f"{total * NOTEBOOK_PER_BENCHMARK + KERNEL_S:.0f} s on one idle core")
