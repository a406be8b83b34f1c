"""What ``import sparsepriv_nb`` (and ``import sparsepriv_nb.experiments``) costs, by module.

Run: ``python benchmarks/imports.py [--top 15] [--repeats 3]``.

For each statement it runs ``python -X importtime -c "<statement>"`` in a fresh interpreter
``--repeats`` times, keeps the run with the smallest total, and prints the total import time
(the sum of the top-level entries' cumulative times), the wall time of the interpreter, and the
``--top`` entries with the largest cumulative time (a package's cumulative time includes what it
imports). Heavy libraries that should *not* appear under ``import sparsepriv_nb`` (scikit-image,
Opacus, seaborn, statsmodels, matplotlib, pandas, scikit-learn) are flagged if they do. Timings
on a shared machine are noisy; compare numbers from the same run.
"""

import argparse
import os
import subprocess
import sys
import time

STATEMENTS = ("import sparsepriv_nb", "import sparsepriv_nb.experiments")
HEAVY = ("skimage", "opacus", "seaborn", "statsmodels", "matplotlib", "pandas", "sklearn",
         "scipy", "torchvision", "ipywidgets")


def importtime(statement: str) -> tuple[float, float, list[tuple[str, int, int]]]:
    """``(total_s, wall_s, [(module, self_us, cumulative_us, depth)])`` of one fresh run."""
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-X", "importtime", "-c", statement], env=env,
                          capture_output=True, text=True, check=True)
    wall = time.perf_counter() - t
    rows = []
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, cum_us, name = line[len("import time:"):].split("|")
        depth = (len(name) - len(name.lstrip())) // 2
        rows.append((name.strip(), int(self_us), int(cum_us), depth))
    total = sum(cum for _, _, cum, depth in rows if depth == 0) / 1e6
    return total, wall, rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    for statement in STATEMENTS:
        runs = [importtime(statement) for _ in range(args.repeats)]
        total, wall, rows = min(runs, key=lambda r: r[0])
        print(f"\n$ python -X importtime -c {statement!r}")
        print(f"total import time {total:.2f} s (best of {args.repeats}; all: "
              f"{', '.join(f'{r[0]:.2f}' for r in runs)}), interpreter wall {wall:.2f} s")
        print(f"{'cumulative s':>12} {'self s':>8}  module")
        for name, self_us, cum_us, depth in sorted(rows, key=lambda r: -r[2])[:args.top]:
            print(f"{cum_us / 1e6:12.3f} {self_us / 1e6:8.3f}  {'  ' * depth}{name}")
        loaded = {name.split(".")[0] for name, *_ in rows}
        heavy = [h for h in HEAVY if h in loaded]
        print(f"heavy libraries loaded: {', '.join(heavy) if heavy else 'none'}")


if __name__ == "__main__":
    main()
