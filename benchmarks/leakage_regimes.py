"""Which quick-profile setting makes a dense target overfit as the seed papers' targets do?

Issue 18, item 1: train accuracy >= 0.99, generalisation gap >= 0.10 and the strongest attack's
AUC lower bound above 0.65. Each setting trains one dense target plus the LiRA / RMIA reference
models (``run_experiment``, no cache, one torch thread) and reports train / test accuracy, the
gap, the strongest attack's AUC with its bootstrap interval, and the wall time.

Run: ``OMP_NUM_THREADS=1 python benchmarks/leakage_regimes.py [--seeds 0,1,2] [NAME ...]``
(no names: all settings; seeds: 0); ``... --mde NAME ...``: train dense and magnitude-pruned
(density 0.25) targets at that setting and print the paired comparison's MDE per attack.
Results are appended as JSON lines to ``benchmarks/results_leakage_regimes.jsonl`` and
printed.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import sparsepriv_nb  # noqa: F401  (sets OMP_WAIT_POLICY=PASSIVE before torch loads)
import torch
from sparsepriv_nb import experiments as E

OUT = Path(__file__).with_name("results_leakage_regimes.jsonl")
ATTACKS = ("loss", "lira", "rmia")

#: name -> (data section, model params, train section, n_reference)
SETTINGS = {
    # digits (1797 samples, 404 members per target with the default pools)
    "digits-mlp-e30": ({"name": "digits"}, {}, {"epochs": 30}, 8),
    "digits-mlp-e60": ({"name": "digits"}, {}, {"epochs": 60}, 8),
    "digits-mlp-e100": ({"name": "digits"}, {}, {"epochs": 100}, 8),
    "digits-mlp-n150-e100": ({"name": "digits", "train_size": 150}, {}, {"epochs": 100}, 8),
    "digits-mlp-n100-e150": ({"name": "digits", "train_size": 100}, {}, {"epochs": 150}, 8),
    "digits-mlp1024-n150-e100": ({"name": "digits", "train_size": 150},
                                 {"hidden": (1024, 512)}, {"epochs": 100}, 8),
    "digits-mlp-n150-e60": ({"name": "digits", "train_size": 150}, {}, {"epochs": 60}, 8),
    "digits-mlp-n200-e100": ({"name": "digits", "train_size": 200}, {}, {"epochs": 100}, 8),
    "digits-mlp-n250-e100": ({"name": "digits", "train_size": 250}, {}, {"epochs": 100}, 8),
    "digits-mlp-n150-e100-r16": ({"name": "digits", "train_size": 150}, {}, {"epochs": 100},
                                 16),
    # Fashion-MNIST subsets (the reference: 4000 samples, 900 members, 60 epochs)
    "fashion4000-mlp-e60": ({"name": "fashion-mnist", "max_samples": 4000}, {},
                            {"epochs": 60}, 8),
    "fashion4000-mlp-e30": ({"name": "fashion-mnist", "max_samples": 4000}, {},
                            {"epochs": 30}, 8),
    "fashion4000-mlp-n500-e40": ({"name": "fashion-mnist", "max_samples": 4000,
                                  "train_size": 500}, {}, {"epochs": 40}, 8),
    "fashion3000-mlp-e40": ({"name": "fashion-mnist", "max_samples": 3000}, {},
                            {"epochs": 40}, 8),
    "fashion-small-mlp-e40": ({"name": "fashion-small"}, {}, {"epochs": 40}, 8),
    "fashion-small-mlp-e60": ({"name": "fashion-small"}, {}, {"epochs": 60}, 8),
    "fashion-small-mlp-n500-e40": ({"name": "fashion-small", "train_size": 500}, {},
                                   {"epochs": 40}, 8),
    "fashion-small-mlp-n500-e30": ({"name": "fashion-small", "train_size": 500}, {},
                                   {"epochs": 30}, 8),
    "fashion-small-mlp-n500-e60": ({"name": "fashion-small", "train_size": 500}, {},
                                   {"epochs": 60}, 8),
    "fashion-small-mlp-n700-e60": ({"name": "fashion-small", "train_size": 700}, {},
                                   {"epochs": 60}, 8),
    "fashion-small-mlp-n500-e40-lr3": ({"name": "fashion-small", "train_size": 500}, {},
                                       {"epochs": 40, "lr": 3e-3}, 8),
}


def config(name: str, seed: int = 0) -> E.ExperimentConfig:
    data, params, train, n_ref = SETTINGS[name]
    return E.ExperimentConfig(data=data, model={"arch": "mlp", "params": params}, train=train,
                              attack={"names": ATTACKS, "n_reference": n_ref}, seed=seed)


def measure(name: str, seed: int = 0) -> dict:
    cfg = config(name, seed)
    t, c = time.perf_counter(), time.process_time()
    df = E.run_experiment(cfg, cache=False, progress=False)
    seconds, cpu = time.perf_counter() - t, time.process_time() - c
    best = df.loc[df["auc"].idxmax()]
    r = df.iloc[0]
    return {"setting": name, "seed": seed, "n_members": int(r["n_members"]),
            "train_acc": round(float(r["train_acc"]), 3),
            "test_acc": round(float(r["test_acc"]), 3), "gap": round(float(r["gen_gap"]), 3),
            "attack": best["attack"], "auc": round(float(best["auc"]), 3),
            "auc_lo": round(float(best["auc_lo"]), 3), "auc_hi": round(float(best["auc_hi"]), 3),
            "aucs": {a: round(float(v), 3) for a, v in zip(df["attack"], df["auc"])},
            "seconds": round(seconds, 1), "cpu_seconds": round(cpu, 1),
            "torch_threads": torch.get_num_threads(),
            "ok": bool(r["train_acc"] >= 0.99 and r["gen_gap"] >= 0.10
                       and best["auc_lo"] > 0.65)}


def dense_vs_sparse_mde(name: str, seed: int = 0, density: float = 0.25) -> dict:
    """The paired dense-vs-magnitude comparison at ``name``'s sizes: difference, interval and
    MDE of each attack's AUC and TPR at 1 % FPR (:func:`sparsepriv_nb.power.paired_mde`)."""
    from sparsepriv_nb import power

    dense = config(name, seed)
    sparse = dense.replace(sparsity__method="magnitude-global", sparsity__density=density)
    t = time.perf_counter()
    runs = [E.run_experiment(c, cache=False, progress=False, return_outputs=True)[1]
            for c in (dense, sparse)]
    m = runs[0]["target"].membership
    assert (runs[1]["target"].membership == m).all()
    rows = {}
    for attack in ATTACKS:
        for metric in ("auc", "tpr_at_1pct_fpr"):
            r = power.paired_mde(runs[1]["scores"][attack], runs[0]["scores"][attack], m, metric)
            rows[f"{attack}/{metric}"] = {k: round(r[k], 4) for k in
                                          ("diff", "lo", "hi", "se", "mde")}
    return {"setting": name, "seed": seed, "density": density, "n_attacked": len(m),
            "seconds": round(time.perf_counter() - t, 1), "sparse_minus_dense": rows}


if __name__ == "__main__":
    torch.set_num_threads(1)
    args = sys.argv[1:]
    seeds = [0]
    if args[:1] == ["--seeds"]:
        seeds, args = [int(v) for v in args[1].split(",")], args[2:]
    if args[:1] == ["--mde"]:  # dense vs magnitude 25 %: the comparison's MDE at these sizes
        torch.set_num_threads(1)
        for name in args[1:]:
            row = dense_vs_sparse_mde(name, seeds[0])
            with OUT.open("a") as f:
                f.write(json.dumps(row) + "\n")
            print(json.dumps(row, indent=1), flush=True)
        sys.exit()
    names = args or list(SETTINGS)
    print(f"{'setting':28} {'n':>4} {'train':>6} {'test':>6} {'gap':>6} "
          f"{'attack':>6} {'AUC [lo, hi]':>22} {'s':>6} ok", flush=True)
    for name, seed in ((n, s) for n in names for s in seeds):
        row = measure(name, seed)
        with OUT.open("a") as f:
            f.write(json.dumps(row) + "\n")
        print(f"{name + f' s{seed}':28} {row['n_members']:4d} {row['train_acc']:6.3f} "
              f"{row['test_acc']:6.3f} "
              f"{row['gap']:6.3f} {row['attack']:>6} {row['auc']:.3f} [{row['auc_lo']:.3f}, "
              f"{row['auc_hi']:.3f}] {row['seconds']:6.1f} {row['ok']}", flush=True)
