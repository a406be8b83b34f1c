"""The GPU check of issue 21 in one command: the ``gpu`` tests, then a paper-scale workload timed
on CUDA and on this machine's CPU cores, in one run.

Run (on the GPU machine; ``--data`` holds ``FashionMNIST/*.gz`` or the raw IDX files)::

    python3 benchmarks/gpu_check.py --data .gpu_data --out $OUT --budget 240

Here, without a GPU (digits, tiny sizes, the CPU half only, a few seconds)::

    python benchmarks/gpu_check.py --smoke --cpu-only --no-tests --out /tmp/gpu_check

Steps:

1. ``pytest -m gpu tests/test_gpu.py`` in a subprocess (log in ``pytest.log``); a failure is
   reported in the table's header and the exit status, and the timings still run.
2. The workload of the paper profile (``notebooks/params/paper.yaml``) on full Fashion-MNIST,
   each part timed on CUDA and then on the CPU (``--cpu-threads``, default all cores):

   * ``fit``: one LeNet-5 target, one epoch of Adam (batch 64) on the 60,000 training images;
   * ``ensemble K``: K = 16 and 64 vectorised LeNet-5 reference models
     (``ensembles.train_ensemble(vectorise=True)``), one epoch, each on its random half of
     the attacked samples (the target's train + test pools, as ``run_experiment`` draws them);
   * ``lira+rmia``: 64 reference models' and the target's logits on the attacked samples and
     the population (``predict_logits_ensemble`` on the device), then LiRA (online) and RMIA
     (online) fitted and scored (NumPy, the same work on both halves);
   * ``dp-sgd``: one epoch of DP-SGD (Opacus, LeNet-5 with GroupNorm, expected batch 256,
     sigma 1, C 1) on the 60,000 training images;
   * ``inversion``: one batched inversion of 32 images through LeNet-5's conv2, 400 steps.

   Each part runs first on a small probe (which also warms CUDA up), then on as much of its
   full size as its share of ``--budget`` allows: the full epoch (or all steps) when it fits,
   else a fixed number of steps whose time is scaled to the full size (and when the probe
   alone took half the share, the probe is the measurement). The table's ``measured`` column
   says which (``100 %`` = measured whole, less = extrapolated; ``(probe)``: includes the
   warm-up). The CPU half gets ``--cpu-share`` of the budget.

Outputs in ``--out``: ``gpu_check.md`` (the table), ``gpu_check.json`` (every number) and
``pytest.log``. Exit status: 0 when the tests passed (or were skipped with ``--no-tests``) and
CUDA was there (or ``--cpu-only``), else 1.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # the checkout's package, also without an install
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import sparsepriv_nb as spn  # noqa: E402  (sets OMP_WAIT_POLICY before torch loads)
import torch  # noqa: E402


# --------------------------------------------------------------------------- the gpu tests


def run_gpu_tests(out: Path, timeout: int) -> dict:
    """``pytest -m gpu tests/test_gpu.py`` in a subprocess; its output goes to pytest.log.

    ``-o addopts=`` drops the project's nbval/doctest options (the GPU machine has no nbval).
    """
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]), PYTHONUNBUFFERED="1")
    cmd = [sys.executable, "-m", "pytest", "-o", "addopts=", "-p", "no:cacheprovider", "-q",
           "-rfEs", "-m", "gpu", "tests/test_gpu.py"]
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=timeout)
        log, rc = proc.stdout + proc.stderr, proc.returncode
    except subprocess.TimeoutExpired as exc:
        log = f"{exc.stdout or ''}{exc.stderr or ''}\nTIMEOUT after {timeout} s"
        log, rc = log if isinstance(log, str) else str(log), 124
    (out / "pytest.log").write_text(log)
    lines = [ln for ln in log.strip().splitlines() if ln.strip()]
    summary = lines[-1] if lines else "(no output)"
    print(f"gpu tests: rc={rc}: {summary}", flush=True)
    return {"rc": rc, "summary": summary, "seconds": time.perf_counter() - t0,
            "command": " ".join(cmd)}


# --------------------------------------------------------------------------- workload


class Workload:
    """Data and models of the timed parts, identical on both devices."""

    def __init__(self, args):
        from sparsepriv_nb import attacks, data

        self.smoke = args.smoke
        if args.smoke:
            ds = data.load_dataset("digits")
            n_train = 1200
        else:
            ds = data.load_dataset("fashion-mnist", root=args.data)
            n_train = 60000  # IDX train part first, then t10k (data._mnist_like joins them)
        self.ds = ds
        self.X_train, self.y_train = ds.X[:n_train], ds.y[:n_train]
        pools = data.make_pools(len(ds), seed=0)
        attacked = np.r_[pools.target_train, pools.target_test]
        population = np.r_[pools.shadow_train, pools.shadow_test]
        self.n_target_train = len(pools.target_train)
        self.X_att, self.y_att = ds.subset(attacked)
        self.X_pop, self.y_pop = ds.subset(population)
        self.ks = [int(k) for k in args.ks.split(",")]
        self.keep = {k: attacks.reference_in_masks(len(attacked), k, seed=55) for k in self.ks}
        self.n_scores_models = max(self.ks)
        self.inv_images, self.inv_steps = (8, 40) if args.smoke else (32, 400)
        self.dp_batch = 256

    def lenet(self, seed=0, **params):
        from sparsepriv_nb.models import build_model

        return build_model("lenet5", input_shape=self.ds.input_shape,
                           num_classes=self.ds.num_classes, seed=seed, **params)

    # Each part: full size in units, and run(units, dev) -> samples processed.

    def fit_part(self):
        full = math.ceil(len(self.X_train) / 64)

        def run(units, dev):
            from sparsepriv_nb.train import fit

            m = min(len(self.X_train), units * 64)
            fit(self.lenet(), (self.X_train[:m], self.y_train[:m]), epochs=1, batch_size=64,
                lr=1e-3, seed=0, device=dev, progress=False)
            return m

        return full, run, "batches of 64 (one epoch)"

    def ensemble_part(self, K):
        from sparsepriv_nb.ensembles import train_ensemble

        subsets = [np.flatnonzero(row) for row in self.keep[K]]
        full = max(math.ceil(len(s) / 64) for s in subsets)

        def run(units, dev):
            subs = [s[:units * 64] for s in subsets]
            train_ensemble("lenet5", subs, X=self.X_att, y=self.y_att,
                           input_shape=self.ds.input_shape, num_classes=self.ds.num_classes,
                           seeds=[5000 + i for i in range(K)], epochs=1, batch_size=64,
                           lr=1e-3, device=dev, vectorise=True)
            return sum(len(s) for s in subs)

        return full, run, f"steps of {K} x 64 (one epoch per member)"

    def scores_part(self):
        from sparsepriv_nb import attacks
        from sparsepriv_nb.ensembles import predict_logits_ensemble
        from sparsepriv_nb.train import predict_logits

        K = self.n_scores_models
        chunk = 256
        full = math.ceil(len(self.X_att) / chunk)
        refs = [self.lenet(seed=5000 + i) for i in range(K)]
        target = self.lenet(seed=1)

        def run(units, dev):
            n = min(len(self.X_att), units * chunk)
            n_pop = min(len(self.X_pop), n)
            Xa, ya, Xp, yp = self.X_att[:n], self.y_att[:n], self.X_pop[:n_pop], self.y_pop[:n_pop]
            keep = self.keep[K][:, :n]
            ref_logits = predict_logits_ensemble(refs, Xa, device=dev)
            pop_logits = predict_logits_ensemble(refs, Xp, device=dev)
            t_logits = predict_logits(target, Xa, device=dev)
            t_pop = predict_logits(target, Xp, device=dev)
            lira = attacks.LiRA(online=True).fit(ref_logits, ya, keep)
            lira.score_samples(t_logits, ya)
            rmia = attacks.RMIA(online=True).fit(ref_logits, ya, keep,
                                                 population_logits=pop_logits,
                                                 population_labels=yp)
            rmia.score_samples(t_logits, ya, target_population_logits=t_pop)
            return n

        return full, run, f"chunks of {chunk} attacked samples (+ as many population samples)" \
            f", {K} reference models"

    def dp_part(self):
        from sparsepriv_nb.dp import train_private

        full = math.ceil(len(self.X_train) / self.dp_batch)

        def run(units, dev):
            m = min(len(self.X_train), max(units, 2) * self.dp_batch)
            train_private(self.lenet(norm="group"), (self.X_train[:m], self.y_train[:m]),
                          epochs=1, batch_size=self.dp_batch, lr=2.0, noise_multiplier=1.0,
                          max_grad_norm=1.0, seed=0, device=dev, delta=1e-5)
            return m

        return full, run, f"expected batches of {self.dp_batch} (one Poisson epoch)"

    def inversion_part(self):
        from sparsepriv_nb.inversion import invert

        model = self.lenet(seed=2)
        targets = self.X_train[:self.inv_images]

        def run(units, dev):
            invert(model, "conv2", targets, steps=units, seed=0, device=dev, progress=False)
            return units * len(targets)

        return self.inv_steps, run, f"steps on a batch of {self.inv_images} images"


def _sync(dev):
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)


def _timed(run, units, dev):
    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats(dev)
    _sync(dev)
    t0 = time.perf_counter()
    samples = run(units, dev)
    _sync(dev)
    seconds = time.perf_counter() - t0
    peak = torch.cuda.max_memory_allocated(dev) / 2**20 if dev.type == "cuda" else None
    return seconds, samples, peak


def measure(full, run, dev, share, probe):
    """Probe (warm-up), then as many units as ``share`` seconds allow (all when they fit)."""
    probe = max(1, min(probe, full))
    t_probe, samples, peak = _timed(run, probe, dev)
    per_unit = t_probe / probe
    units = full if per_unit * full <= share else max(probe, int(share / max(per_unit, 1e-9)))
    units = min(units, full)
    seconds, from_probe = t_probe, t_probe >= share / 2
    if from_probe:  # no time left for a second run: the probe is the measurement
        units = probe
    else:
        seconds, samples, peak = _timed(run, units, dev)
    return {"units": units, "full_units": full, "measured_fraction": units / full,
            "seconds_measured": seconds, "samples_measured": samples,
            "seconds_full": seconds * full / units, "samples_per_s": samples / seconds,
            "gpu_peak_mib": peak, "probe_units": probe, "probe_seconds": t_probe,
            "from_probe": from_probe}


# --------------------------------------------------------------------------- report


def _fmt(x, nd=2):
    return "-" if x is None else f"{x:.{nd}f}" if isinstance(x, float) else str(x)


def table(rows, devices) -> str:
    head = ["part", "unit"]
    for d in devices:
        head += [f"{d} s (full)", f"{d} samples/s", f"{d} measured"]
    head += ["GPU peak MiB", "CPU/CUDA time"] if "cuda" in devices else []
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [r["part"], r["unit"]]
        for d in devices:
            m = r.get(d)
            cells += ["-", "-", "-"] if m is None else [
                _fmt(m["seconds_full"]), _fmt(m["samples_per_s"], 0),
                f"{100 * m['measured_fraction']:.0f} %" + (" (probe)" if m["from_probe"] else "")]
        if "cuda" in devices:
            c, g = r.get("cpu"), r.get("cuda")
            cells.append(_fmt(g and g["gpu_peak_mib"], 0))
            cells.append(f"{c['seconds_full'] / g['seconds_full']:.1f}x" if c and g else "-")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def paper_estimate(rows, devices, w) -> dict:
    """Notebook 02's paper profile, one dense experiment, from the per-epoch times: the target
    and 8 shadow models, 50 epochs each on a target-train-sized pool (trained one by one, as
    ``fit``), 64 reference models, 50 epochs (vectorised), and the LiRA / RMIA scores."""
    by = {r["part"]: r for r in rows}
    k = max(w.ks)
    out = {"what": f"notebook 02 paper profile, one dense experiment (target + 8 shadows x 50 "
                   f"epochs on {w.n_target_train} samples, {k} reference models x 50 epochs, "
                   "LiRA + RMIA scores; SAMIA and the Shokri classifiers not included)"}
    for d in devices:
        fit_epoch = by["fit"][d]["seconds_full"] * w.n_target_train / len(w.X_train)
        out[d] = (9 * 50 * fit_epoch + 50 * by[f"ensemble {k}"][d]["seconds_full"]
                  + by["lira+rmia"][d]["seconds_full"])
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=os.environ.get("SPARSEPRIV_DATA"),
                   help="folder with the Fashion-MNIST IDX files (.gz or raw), directly or in "
                        "FashionMNIST/ (default $SPARSEPRIV_DATA)")
    p.add_argument("--out", default="gpu_check_out", help="folder for the table and logs")
    p.add_argument("--budget", type=float, default=240.0,
                   help="seconds for all timed parts, both devices (probes included)")
    p.add_argument("--cpu-share", type=float, default=0.65,
                   help="fraction of --budget for the CPU half (the slower one)")
    p.add_argument("--cpu-threads", type=int, default=os.cpu_count() or 1)
    p.add_argument("--ks", default="16,64", help="reference-model counts to time")
    p.add_argument("--smoke", action="store_true",
                   help="digits and tiny sizes: a check of the script itself")
    p.add_argument("--cpu-only", action="store_true", help="skip the CUDA half")
    p.add_argument("--no-tests", action="store_true", help="skip the pytest -m gpu step")
    p.add_argument("--tests-timeout", type=int, default=180)
    args = p.parse_args(argv)
    if args.smoke and args.ks == "16,64":
        args.ks = "4,8"
    if not args.smoke and not args.data:
        p.error("--data (or $SPARSEPRIV_DATA) is needed without --smoke")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t_start = time.perf_counter()
    cuda = torch.cuda.is_available()
    info = {"python": platform.python_version(), "torch": torch.__version__,
            "cuda_available": cuda, "cpu_count": os.cpu_count(), "cpu_threads": args.cpu_threads,
            "gpu": torch.cuda.get_device_name(0) if cuda else None, "smoke": args.smoke,
            "budget_s": args.budget}
    print(json.dumps(info), flush=True)
    tests = None if args.no_tests else run_gpu_tests(out, args.tests_timeout)

    devices = ["cpu"] if args.cpu_only or not cuda else ["cuda", "cpu"]
    if not cuda and not args.cpu_only:
        print("NO CUDA: torch sees no GPU; only the CPU half runs, and the exit status is 1.",
              flush=True)
    torch.set_num_threads(args.cpu_threads)
    t_data = time.perf_counter()
    w = Workload(args)
    info["data_seconds"] = time.perf_counter() - t_data
    parts = [("fit", w.fit_part(), 10)]
    parts += [(f"ensemble {k}", w.ensemble_part(k), 3) for k in w.ks]
    parts += [("lira+rmia", w.scores_part(), 1), ("dp-sgd", w.dp_part(), 4),
              ("inversion", w.inversion_part(), 10)]
    shares = {"cuda": args.budget * (1 - args.cpu_share), "cpu": args.budget * args.cpu_share}
    if devices == ["cpu"]:
        shares["cpu"] = args.budget
    rows = [{"part": name, "unit": unit, "full_units": full} for name, (full, _, unit), _ in parts]
    for d in devices:
        dev = spn.train.resolve_device(d)
        left = shares[d]
        for i, (name, (full, run, _), probe) in enumerate(parts):
            t0 = time.perf_counter()
            share = left / (len(parts) - i)  # what earlier parts left, split evenly
            rows[i][d] = m = measure(full, run, dev, share, probe)
            left -= time.perf_counter() - t0
            print(f"{d:4s} {name:12s} {m['seconds_full']:9.2f} s per full run "
                  f"({100 * m['measured_fraction']:.0f} % measured in {m['seconds_measured']:.2f}"
                  f" s), {m['samples_per_s']:.0f} samples/s"
                  + (f", GPU peak {m['gpu_peak_mib']:.0f} MiB" if m["gpu_peak_mib"] else ""),
                  flush=True)
    info["total_seconds"] = time.perf_counter() - t_start
    derived = paper_estimate(rows, devices, w)
    md = [f"# GPU check ({'smoke, ' if args.smoke else ''}{info['gpu'] or 'no GPU'}, "
          f"{info['cpu_count']} CPU cores, {args.cpu_threads} torch threads on the CPU half)",
          "", f"torch {info['torch']}, Python {info['python']}; total {info['total_seconds']:.0f}"
          f" s, budget {args.budget:.0f} s for the timed parts.", ""]
    if tests is not None:
        md += [f"`pytest -m gpu tests/test_gpu.py`: rc {tests['rc']}, {tests['summary']}", ""]
    md += [table(rows, devices), "",
           "Seconds are per full run (one epoch, all steps); a `measured` below 100 % means that "
           "many units were timed after a probe and the time was scaled to the full size "
           "(extrapolated). samples/s: training samples (fit, ensembles: all members' samples; "
           "dp-sgd), attacked samples scored (lira+rmia) or image-steps (inversion).", ""]
    md += [f"Derived (not measured): {derived['what']}: "
           + ", ".join(f"{d} {derived[d] / 60:.1f} min" for d in devices)]
    text = "\n".join(md) + "\n"
    print("\n" + text, flush=True)
    (out / "gpu_check.md").write_text(text)
    (out / "gpu_check.json").write_text(json.dumps({"info": info, "tests": tests, "rows": rows,
                                                    "derived": derived},
                                                   indent=1, default=str))
    ok = (tests is None or tests["rc"] == 0) and (cuda or args.cpu_only)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
