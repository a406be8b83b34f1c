"""Who loses privacy when a network is pruned, measured in the leaking quick regime
(``fashion-small``, 500 members, MLP, Adam lr 3e-3, 40 epochs, 8 reference models), and the
regression-to-the-mean check behind :mod:`sparsepriv_nb.shifts`.

It reports :func:`sparsepriv_nb.shifts.membership_shifts` of dense -> magnitude-pruned
(global, density 0.25) by class, dense correctness and vulnerability quartiles: first as
notebook 02 does it (:func:`~sparsepriv_nb.shifts.held_out_lira`: vulnerability from one half
of the reference models, LiRA scores from the other), then for each attack (loss, LiRA) with
the experiment's own scores and bins from all the dense reference models (which share their
estimation noise with LiRA's scores), and the same analysis for a **dense-vs-dense null**: a
second dense target trained on the same members with another seed (scored with the same
reference models), where nothing should shift. The null is binned twice: by the
reference-model vulnerability (expected: no detectable shift) and, for contrast, by the first
dense target's own exposure (expected: the top bin "less exposed", regression to the mean).

Run: ``OMP_NUM_THREADS=1 python benchmarks/shifts.py [--seed 0] [--density 0.25]
[--method magnitude-global] [--cache DIR]``. Prints the verdict lines and appends one JSON line
per (comparison, attack) to ``benchmarks/results_shifts.jsonl``; the timings of the analysis
itself (``analysis_s``) are what notebook 02's section pays.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import sparsepriv_nb  # noqa: F401  (sets OMP_WAIT_POLICY=PASSIVE before torch loads)
import numpy as np
import torch
from sparsepriv_nb import experiments as E
from sparsepriv_nb import shifts, signals
from sparsepriv_nb.attacks import LiRA

OUT = Path(__file__).with_name("results_shifts.jsonl")
ATTACKS = ("loss", "lira")


def config(seed: int) -> E.ExperimentConfig:
    return E.ExperimentConfig(
        data={"name": "fashion-small", "train_size": 500}, model={"arch": "mlp"},
        train={"epochs": 40, "lr": 3e-3}, attack={"names": ATTACKS, "n_reference": 8},
        seed=seed)


def second_dense_scores(cfg, dense_out, cache) -> dict:
    """A dense target of ``cfg`` trained on the same members with another seed, attacked on the
    same samples: loss scores and LiRA against the dense experiment's reference models."""
    ds, pools = E.prepare_data(cfg)
    members, nonmembers = ds.subset(pools.target_train), ds.subset(pools.target_test)
    model = E.train_model(cfg, members, role="target", seed=cfg.seed + 7919,
                          input_shape=ds.input_shape, num_classes=ds.num_classes, cache=cache)
    out = E.query(model, members, nonmembers)
    assert (out.membership == dense_out["target"].membership).all()
    refs = dense_out["references"]
    lira = LiRA().fit(refs.logits, refs.labels, refs.ref_in)
    return {"loss": -signals.loss(out.logits, out.labels),
            "lira": lira.score_samples(out.logits, refs.labels)}


def section_seconds(cfg, dense, sparse, seed: int) -> tuple[float, float]:
    """Wall and CPU time of notebook 02's section on these cached outputs: the analysis and
    both figures, drawn and rendered to PNG (as the notebook's inline backend does)."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sparsepriv_nb import plots_shifts

    ds, pools = E.prepare_data(cfg)
    t, cpu = time.perf_counter(), time.process_time()
    X, _ = ds.subset(np.r_[pools.target_train, pools.target_test])
    a = dense["target"]
    held = shifts.held_out_lira(dense, sparse)
    X = X[held.index]
    who = shifts.membership_shifts(
        held.dense, held.sparse, held.membership, labels=held.labels,
        dense_correct=(a.logits.argmax(1) == a.labels).numpy()[held.index],
        vulnerability=held.vulnerability, random_state=seed)
    for fig in (plots_shifts.plot_most_shifted(who, X, k=6, class_names=ds.classes),
                plots_shifts.plot_group_shifts(who, class_names=ds.classes)):
        fig.savefig(io.BytesIO(), format="png")
        plt.close(fig)
    who.verdict_lines()
    return round(time.perf_counter() - t, 2), round(time.process_time() - cpu, 2)


def summarise(name: str, attack: str, r: shifts.Shifts, seconds: float) -> dict:
    g = r.groups
    return {"comparison": name, "attack": attack, "analysis_s": round(seconds, 2),
            "n_members": int(g.iloc[0]["n"]),
            "groups": [{k: (round(v, 4) if isinstance(v, float) else v)
                        for k, v in row.items() if k not in ("sentence", "p")}
                       for row in g.to_dict("records")]}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--density", type=float, default=0.25)
    p.add_argument("--method", default="magnitude-global")
    p.add_argument("--cache", default="/tmp/sparsepriv_shifts_cache")
    args = p.parse_args()
    torch.set_num_threads(1)
    dense_cfg = config(args.seed)
    sparse_cfg = dense_cfg.replace(sparsity__method=args.method, sparsity__density=args.density)
    t = time.perf_counter()
    (dense_df, dense), (sparse_df, sparse) = (
        E.run_experiment(c, cache=args.cache, progress=False, return_outputs=True)
        for c in (dense_cfg, sparse_cfg))
    null = second_dense_scores(dense_cfg, dense, args.cache)
    print(f"experiments: {time.perf_counter() - t:.1f} s (cache {args.cache})")
    for df, label in ((dense_df, "dense"), (sparse_df, args.method)):
        r = df.set_index("attack")
        print(f"{label}: train {r.train_acc.iloc[0]:.3f} test {r.test_acc.iloc[0]:.3f} gap "
              f"{r.gen_gap.iloc[0]:.3f} density {r.density_achieved.iloc[0]:.3f}; AUC "
              + ", ".join(f"{a} {r.auc[a]:.3f} [{r.auc_lo[a]:.3f}, {r.auc_hi[a]:.3f}]"
                          for a in ATTACKS))
    target = dense["target"]
    m, labels = target.membership, target.labels.numpy()
    correct = (target.logits.argmax(1).numpy() == labels).astype(int)
    vul = shifts.reference_vulnerability(dense["references"])
    held = shifts.held_out_lira(dense, sparse)
    main_run = f"dense -> {args.method} {args.density:g}, held-out reference halves"
    runs = [(main_run, held, None),
            (f"dense -> {args.method} {args.density:g}, bins from the scoring references",
             sparse["scores"], vul),
            ("null: dense -> dense (other seed), reference bins", null, vul),
            ("null: dense -> dense (other seed), bins by the dense exposure", null, None)]
    for name, other, bins in runs:
        for attack in ("lira",) if name == main_run else ATTACKS:
            if name == main_run:  # LiRA from one half of the references, bins from the other
                d, s, mm, kw = (other.dense, other.sparse, other.membership,
                                dict(labels=other.labels, dense_correct=correct[other.index],
                                     vulnerability=other.vulnerability))
            else:
                d, s, mm = dense["scores"][attack], other[attack], m
                kw = dict(labels=labels, dense_correct=correct,
                          vulnerability=shifts.exposure(d, m) if bins is None else bins)
            t = time.perf_counter()
            r = shifts.membership_shifts(d, s, mm, random_state=args.seed, **kw)
            seconds = time.perf_counter() - t
            print(f"\n== {name}, {attack} ({seconds:.2f} s)")
            print("\n".join(r.verdict_lines()))
            row = summarise(name, attack, r, seconds)
            row.update(seed=args.seed, density=args.density, method=args.method)
            if name == main_run:
                row["section_s"], row["section_cpu_s"] = section_seconds(dense_cfg, dense,
                                                                         sparse, args.seed)
                print(f"notebook 02 section (analysis + both figures as PNG): "
                      f"{row['section_s']:.2f} s wall, {row['section_cpu_s']:.2f} s CPU")
                print("In short:", r.answer())
            with OUT.open("a") as f:
                f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
