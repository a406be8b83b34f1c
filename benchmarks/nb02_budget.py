"""Notebook 02's budget, estimated from single experiments: the dense, magnitude-pruned and
lottery-ticket targets of its section 3 (its costliest cell), each run cold (an empty
experiment cache, one torch thread) with a profile's parameters, as the notebook builds them.

Prints, per target, the CPU seconds (on a busy machine the CPU time of a single-threaded
process stays close to the idle wall time, while the wall time does not) and the dense target's
regime: train / test accuracy, gap, strongest attack's AUC with its interval. Section 3 took
26.5 of the quick notebook's 47.6 CPU seconds (a per-cell timing of the whole notebook,
2026-12-04), so the notebook's estimate is section 3 x 1.8 plus a kernel start (about 3 s).

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

SECTION3_SHARE = 47.6 / 26.5  # whole quick notebook / its section 3, CPU seconds
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
          f"{total * SECTION3_SHARE + KERNEL_S:.0f} s on one idle core")
