"""What one experiment of notebook 03's sweep costs, to size the sweep within its budget.

Each kind of configuration the notebook runs (the dense baseline with its reference models,
one-shot pruning, IMP, butterfly, a dense model trained fewer epochs, a narrower dense MLP) is
timed once, in the order the sweep meets them, in a fresh temporary cache (so a pruned model's
dense phase, and its reference models' dense phases, are loaded from the dense baseline as in
the real sweep). One torch thread. The notebook's cost is then about

    sum over kinds of (experiments of that kind x seconds per experiment)

plus kernel start-up and the analysis (printed by the notebook itself).

Run: ``OMP_NUM_THREADS=1 python benchmarks/sweep03_costs.py [--profile quick|standard]
[--seed 0]``. The settings are read from notebook 03's parameters of that profile (its
defaults for quick, plus ``notebooks/params/standard.yaml`` for standard), so the benchmark
follows the notebook. Results are appended as JSON lines to
``benchmarks/results_sweep03_costs.jsonl`` and printed.
"""

from __future__ import annotations

import argparse
import ast
import json
import tempfile
import time
from pathlib import Path

import sparsepriv_nb  # noqa: F401  (sets OMP_WAIT_POLICY=PASSIVE before torch loads)
import torch
import yaml
from sparsepriv_nb import experiments as E

HERE = Path(__file__).resolve().parent
NOTEBOOK = HERE.parent / "notebooks" / "03_confounding_by_accuracy.py"
OUT = HERE / "results_sweep03_costs.jsonl"


def notebook_params(profile: str) -> dict:
    """Notebook 03's parameter cell (its literal defaults), overlaid with the profile's
    ``all`` and ``"03"`` sections."""
    text = NOTEBOOK.read_text()
    cell = text.split('# %% tags=["parameters"]\n', 1)[1].split("\n# %%", 1)[0]
    params = {}
    for node in ast.parse(cell).body:
        if isinstance(node, ast.Assign):
            params[node.targets[0].id] = ast.literal_eval(node.value)
    if profile != "quick":
        spec = yaml.safe_load((NOTEBOOK.parent / "params" / f"{profile}.yaml").read_text())
        params.update(spec.get("all") or {})
        params.update(spec.get("03") or {})
    return params


def base_config(p: dict, seed: int) -> E.ExperimentConfig:
    is_mlp = p["ARCH"] == "mlp"
    return E.ExperimentConfig(
        data={"name": p["DATASET"], "max_samples": p["MAX_SAMPLES"],
              "train_size": p.get("TRAIN_SIZE")},
        model={"arch": p["ARCH"], "params": {"hidden": tuple(p["HIDDEN"])} if is_mlp else {}},
        train={"epochs": p["EPOCHS"], "finetune_epochs": p["FINETUNE_EPOCHS"], "lr": p["LR"],
               "batch_size": p["BATCH_SIZE"]},
        attack={"names": tuple(p["ATTACKS"]), "params": p["ATTACK_PARAMS"],
                "n_shadows": p["N_SHADOWS"], "n_reference": p["N_REFERENCE"]},
        seed=seed)


def kinds(p: dict, base: E.ExperimentConfig) -> dict:
    """One configuration of each kind, in sweep order (the dense baseline first)."""
    dens = sorted(p["DENSITIES"])
    out = {"dense": base}
    for m in p["METHODS"]:
        if m == "butterfly":
            out["butterfly"] = base.replace(sparsity__method="butterfly",
                                            sparsity__butterfly_factors=p["BUTTERFLY_FACTORS"][0])
        elif m in ("imp", "lottery"):
            d = (p.get("IMP_DENSITIES") or [0.125])[-1]  # the sparsest: the most rounds
            out[m] = base.replace(sparsity__method=m, sparsity__density=d)
        else:
            out[m] = base.replace(sparsity__method=m, sparsity__density=dens[len(dens) // 2])
    if p["ARCH"] == "mlp" and p.get("NARROW_HIDDEN"):
        out["narrow"] = base.replace(model__hidden=tuple(p["NARROW_HIDDEN"][0]))
    out["lowered epochs"] = base.replace(train__epochs=p["LOWERED_EPOCHS"][-1])
    return out


def counts(p: dict) -> dict:
    """How many experiments of each kind the notebook's sweep runs."""
    s = len(p["SEEDS"])
    n = {"dense": s, "lowered epochs": s * len(p["LOWERED_EPOCHS"])}
    for m in p["METHODS"]:
        n[m] = s * (len(p["BUTTERFLY_FACTORS"]) if m == "butterfly" else
                    len(p.get("IMP_DENSITIES") or p["DENSITIES"]) if m in ("imp", "lottery")
                    else len(p["DENSITIES"]))
    if p["ARCH"] == "mlp" and p.get("NARROW_HIDDEN"):
        n["narrow"] = s * len(p["NARROW_HIDDEN"])
    return n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--profile", default="quick", choices=("quick", "standard"))
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(1)
    p = notebook_params(args.profile)
    n = counts(p)
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, cfg in kinds(p, base_config(p, args.seed)).items():
            t, c = time.perf_counter(), time.process_time()
            df = E.run_experiment(cfg, cache=tmp, progress=False)
            s, cpu = time.perf_counter() - t, time.process_time() - c
            r = df.iloc[0]
            best = df.loc[df["auc"].idxmax()]
            rows[name] = {"seconds": round(s, 2), "cpu_seconds": round(cpu, 2),
                          "n": n.get(name, 0),
                          "train_acc": round(float(r.train_acc), 3),
                          "test_acc": round(float(r.test_acc), 3),
                          "density": round(float(r.density_achieved), 4),
                          "best_attack": best.attack, "auc": round(float(best.auc), 3),
                          "auc_lo": round(float(best.auc_lo), 3)}
            print(f"{name:16} {s:6.2f} s ({cpu:5.2f} s CPU) x {n.get(name, 0):3d}  "
                  f"train {r.train_acc:.3f} test {r.test_acc:.3f} density {r.density_achieved:.3f} "
                  f"{best.attack} AUC {best.auc:.3f} [{best.auc_lo:.3f}, {best.auc_hi:.3f}]",
                  flush=True)
    total = sum(v["seconds"] * v["n"] for v in rows.values())
    cpu = sum(v["cpu_seconds"] * v["n"] for v in rows.values())
    print(f"estimated sweep: {sum(v['n'] for v in rows.values())} experiments, {total:.0f} s "
          f"wall ({cpu:.0f} s CPU) on one core, plus kernel start-up and analysis")
    with OUT.open("a") as f:
        f.write(json.dumps({"profile": args.profile, "seed": args.seed, "kinds": rows,
                            "estimated_sweep_s": round(total, 1),
                            "estimated_sweep_cpu_s": round(cpu, 1),
                            "torch_threads": torch.get_num_threads()}) + "\n")


if __name__ == "__main__":
    main()
