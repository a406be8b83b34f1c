"""Sequential against vectorised training of K reference models, in the same run.

Run: ``python benchmarks/ensembles.py [--ks 4,16,64] [--archs mlp,lenet5] [--threads 1,2]
[--epochs 30] [--repeats 3]``.

The models are LiRA / RMIA reference models as notebook 02 trains them on digits (quick
profile): the target's members and non-members are the attacked samples, and each of the K
models trains on its own random half of them (``attacks.reference_in_masks``), with its own
seed, for ``--epochs`` epochs of Adam (lr 1e-3, batch 64). For each architecture and K it
times ``train_ensemble(..., vectorise=False)`` (K calls of ``train.fit``) and
``vectorise=True`` (one ``torch.func`` ensemble), interleaved, best of ``--repeats``, and prints
a table with the speed-up and both paths' mean test accuracy (a sanity check that they learn the
same). ``--threads`` repeats everything at each torch thread count (both paths use the same
count; the main job's notebooks run with one thread each). Timings on a shared machine are
noisy: compare only ratios from one run. The issue's goal: >= 4x for 16 digits-MLP reference
models. ``ensembles.MEASURED_SPEEDUP`` (what
``should_vectorise`` decides from) holds numbers from this script.
"""

import argparse
import time

import numpy as np
import sparsepriv_nb as spn  # sets OMP_WAIT_POLICY=PASSIVE before torch loads
import torch


def reference_subsets(n_models: int, seed: int = 0):
    """Digits, its pools as notebook 02 builds them, and K random halves of the attacked
    samples (indices into the dataset), as ``experiments.references.reference_outputs`` draws
    them."""
    cfg = spn.experiments.ExperimentConfig()
    ds, pools = spn.experiments.prepare_data(cfg)
    attacked = np.r_[pools.target_train, pools.target_test]
    keep = spn.attacks.reference_in_masks(len(attacked), n_models, seed=seed + 55)
    return ds, pools, [attacked[k] for k in keep]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archs", default="mlp,lenet5")
    parser.add_argument("--ks", default="4,16,64")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", default="1", help="comma-separated torch thread counts")
    args = parser.parse_args()
    archs = args.archs.split(",")
    ks = [int(k) for k in args.ks.split(",")]
    print(f"torch {torch.__version__}, device {args.device}, epochs {args.epochs}, best of "
          f"{args.repeats}")
    rows = []
    for threads, arch, K in [(t, a, k) for t in map(int, args.threads.split(","))
                             for a in archs for k in ks]:
        torch.set_num_threads(threads)
        ds, pools, subsets = reference_subsets(K)
        Xt, yt = ds.subset(pools.shadow_test)  # held-out samples for the accuracy check
        kw = dict(X=ds.X, y=ds.y, input_shape=ds.input_shape, num_classes=ds.num_classes,
                  seeds=[5000 + i for i in range(K)], epochs=args.epochs, batch_size=64,
                  lr=1e-3, optimizer="adam", device=args.device)
        best = {False: float("inf"), True: float("inf")}
        acc = {}
        for _ in range(args.repeats):
            for vec in (False, True):  # interleaved
                t = time.perf_counter()
                models = spn.ensembles.train_ensemble(arch, subsets, vectorise=vec, **kw)
                sec = time.perf_counter() - t
                best[vec] = min(best[vec], sec)
                logits = spn.ensembles.predict_logits_ensemble(models, Xt,
                                                               device=args.device)
                acc[vec] = (logits.argmax(2) == yt).float().mean().item()
        rows.append((threads, arch, K, len(subsets[0]), best[False], best[True],
                     best[False] / best[True], acc[False], acc[True]))
        print(f"  threads {threads} {arch} K={K}: sequential {best[False]:.2f} s, vectorised "
              f"{best[True]:.2f} s", flush=True)
    print()
    print(f"{'threads':>7} {'arch':8} {'K':>4} {'n/model':>8} {'sequential s':>13} "
          f"{'vectorised s':>13} {'speed-up':>9} {'acc seq':>8} {'acc vec':>8}  should_vectorise")
    for threads, arch, K, n, seq, vec, ratio, a_s, a_v in rows:
        print(f"{threads:7d} {arch:8} {K:4d} {n:8d} {seq:13.2f} {vec:13.2f} {ratio:8.1f}x "
              f"{a_s:8.3f} "
              f"{a_v:8.3f}  {spn.ensembles.should_vectorise(arch, K)}")


if __name__ == "__main__":
    main()
