"""How visible are canaries? Train with canaries (each included with probability 1/2), score
them with the loss attack and print every one-run bound, for a non-private and a DP-SGD model.

Sizes notebook 06's audit (issue 19, phase 2). Usage::

    python benchmarks/audit_canaries.py --dataset digits --arch mlp --m 200 --kind noise \
        --epochs 30 --epsilon 8
    python benchmarks/audit_canaries.py --dataset fashion-mnist --arch lenet5 --max-samples 4000 \
        --train-size 1600 --m 500 --kind mislabel --epochs 30 --epsilon 8

``--kind``: ``mislabel`` (held-out natural inputs, wrong labels), ``noise`` / ``blank``
(out-of-distribution inputs, a seeded random label each).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

import sparsepriv_nb as spn
from sparsepriv_nb import auditing as au


def make_canaries(ds, kind: str, m: int, seed: int):
    """Canaries and the indices of the natural examples left for training."""
    perm = np.random.default_rng(seed).permutation(len(ds.X))
    if kind == "mislabel":  # natural inputs taken out of the training pool
        pool = (ds.X[perm[:m]], ds.y[perm[:m]])
        return au.mislabel_canaries(pool, m, num_classes=ds.num_classes, seed=seed + 1), perm[m:]
    return au.ood_canaries(m, tuple(ds.X.shape[1:]), kind=kind, label=None,
                           num_classes=ds.num_classes, seed=seed + 1), perm


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="digits")
    ap.add_argument("--arch", default="mlp")
    ap.add_argument("--max-samples", type=int, default=None)
    ap.add_argument("--train-size", type=int, default=None)
    ap.add_argument("--m", type=int, default=200)
    ap.add_argument("--kind", default="noise", choices=["mislabel", "noise", "blank"])
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--epsilon", type=float, nargs="+", default=[8.0])
    ap.add_argument("--delta", type=float, default=1e-5)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    ds = spn.data.load_dataset(args.dataset, max_samples=args.max_samples, seed=args.seed)
    canaries, natural = make_canaries(ds, args.kind, args.m, args.seed)
    natural = natural[:args.train_size]
    X, y, included = au.insert_canaries((ds.X[natural], ds.y[natural]), canaries,
                                        seed=args.seed + 2)
    print(f"{len(X)} training examples, {included.sum()} of {args.m} {args.kind} canaries in")
    kw = {"norm": "group"} if args.arch == "lenet5" else {}
    runs = [("nonprivate", {})] + [("dpsgd", {"target_epsilon": e, "delta": args.delta})
                                   for e in args.epsilon]
    for mode, extra in runs:
        t0 = time.perf_counter()
        model = spn.models.build_model(args.arch, input_shape=ds.input_shape,
                                       num_classes=ds.num_classes, seed=args.seed, **kw)
        out = spn.dp.DP_MODES.get(mode).fit(
            model, (X, y), epochs=args.epochs, batch_size=128,
            lr=0.5 if mode == "nonprivate" else 1.0, seed=args.seed, device="cpu", **extra)
        t1 = time.perf_counter()
        table = au.audit_all(au.loss_scores(model, canaries, device="cpu"), included,
                             delta=args.delta)
        print(f"\n{mode} (accountant epsilon {out['epsilon']:.2f}): train {t1 - t0:.1f} s, "
              f"audit {time.perf_counter() - t1:.1f} s")
        print(table[["epsilon_lb", "mu_lb", "beta", "guesses", "correct"]].round(3).to_string())


if __name__ == "__main__":
    torch.set_num_threads(1)
    main()
