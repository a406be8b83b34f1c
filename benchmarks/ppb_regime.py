"""Notebook 05's cost, measured one experiment at a time (issue 18: quick 05 <= 45 s cold).

Times, in CPU seconds of one torch thread (``time.process_time``, so that a busy machine
inflates them less than wall time), with an empty cache:

* ``regime``: the dense target attacked with loss, LiRA and RMIA (section 1's regime check) at
  ``--refs`` reference models, and its train accuracy, gap and strongest AUC;
* ``sweep``: every defense run of the quick profile (non-adaptive, and adaptive for PPB at
  LAM and the baselines), cheap attacks, one shadow model, sharing one cache as the notebook
  does.

Run: ``OMP_NUM_THREADS=1 python benchmarks/ppb_regime.py [--refs 4,8] [--sweep]``. Results
are appended as JSON lines to ``benchmarks/results_ppb_regime.jsonl`` and printed.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import sparsepriv_nb  # noqa: F401  (sets OMP_WAIT_POLICY=PASSIVE before torch loads)
import torch
from sparsepriv_nb import defense_eval as DE
from sparsepriv_nb import experiments as E

OUT = Path(__file__).with_name("results_ppb_regime.jsonl")
BASE = dict(data={"name": "fashion-small", "train_size": 500}, model={"arch": "mlp"},
            sparsity={"method": "magnitude-global", "density": 0.25},
            train={"epochs": 40, "finetune_epochs": 10, "lr": 3e-3}, seed=0)


def regime(n_ref: int) -> dict:
    cfg = E.ExperimentConfig(**{**BASE, "sparsity": {}},
                             attack={"names": ("loss", "lira", "rmia"), "n_reference": n_ref})
    c = time.process_time()
    df = E.run_experiment(cfg, cache=False, progress=False)
    best = df.loc[df.auc.idxmax()]
    return {"what": "regime", "n_reference": n_ref,
            "cpu_seconds": round(time.process_time() - c, 1),
            "train_acc": round(float(best.train_acc), 3), "gap": round(float(best.gen_gap), 3),
            "attack": best.attack, "auc": round(float(best.auc), 3),
            "auc_lo": round(float(best.auc_lo), 3)}


def sweep() -> dict:
    base = E.ExperimentConfig(**BASE, attack={"names": ("loss", "confidence",
                                                        "modified_entropy-per-class", "salem"),
                                              "n_shadows": 1})
    specs = {"none": (None, {}), **{f"ppb {v:g}": ("ppb", {"lam": v}) for v in (1.0, 4.0, 16.0)},
             "early-stopping 2": ("early-stopping", {"patience": 2}),
             "weight-decay 0.005": ("weight-decay", {"weight_decay": 0.005}),
             "dropout 0.5": ("dropout", {"p": 0.5}),
             "label-smoothing 0.1": ("label-smoothing", {"smoothing": 0.1})}
    adaptive = [k for k in specs if k not in ("none", "ppb 1", "ppb 16")]
    runs = DE.defense_runs(base, specs, adaptive=adaptive)
    with tempfile.TemporaryDirectory() as folder:
        c = time.process_time()
        E.run_sweep(list(runs.values()), cache=folder, progress=False)
        return {"what": "sweep", "runs": len(runs),
                "cpu_seconds": round(time.process_time() - c, 1)}


if __name__ == "__main__":
    torch.set_num_threads(1)
    args = sys.argv[1:]
    refs = [8]
    if "--refs" in args:
        refs = [int(v) for v in args[args.index("--refs") + 1].split(",")]
    rows = [regime(n) for n in refs] + ([sweep()] if "--sweep" in args else [])
    with OUT.open("a") as f:
        for r in rows:
            print(json.dumps(r))
            f.write(json.dumps(r) + "\n")
