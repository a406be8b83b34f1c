"""The main job's wall time: cold and warm cache, one and two notebooks at a time.

Run: ``python benchmarks/suite.py [--only 01,02] [--profile quick] [--jobs 1,2]
[--keep DIR]``.

For each ``--jobs`` value it runs ``sparsepriv-nb run`` twice with ``SPARSEPRIV_DATA`` pointing
to a fresh temporary folder: first with an empty experiment cache (*cold*), then again on the
cache that run left (*warm*). Each run writes its report into a temporary folder; the
per-notebook seconds are read from the rows of its ``index.html`` (the run-time column that
:func:`sparsepriv_nb._report.write_index` writes, one row per notebook) and the total is the
wall time of the whole command (process start, imports and HTML export included). It prints
one table with every notebook's time in each of the four runs, the totals, and the ratios
cold/warm and jobs 1/jobs N. The issue's budget: the quick profile of all six notebooks, cold,
<= 180 s, and warm <= 90 s on a 2-core machine.

Never a test (it takes minutes); every run is the real CLI in a subprocess. Timings on a shared
machine are noisy: compare ratios from the same run of this script.
"""

import argparse
import html
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROW = re.compile(r"<tr><td>(?:<a class='notebook' href='[^']*'>)?(?P<name>[^<]+)(?:</a>)?</td>"
                 r"<td class='(?P<status>[a-z]+)'>.*?</td><td>(?P<seconds>[0-9.]+)</td>",
                 re.S)


def notebook_seconds(report: Path) -> dict:
    """``{notebook: (status, seconds)}`` from a report's ``index.html``."""
    text = (report / "index.html").read_text(encoding="utf-8")
    return {html.unescape(m["name"]): (m["status"], float(m["seconds"]))
            for m in ROW.finditer(text)}


def run_suite(data_dir: Path, report: Path, *, jobs: int, profile: str, only: str | None):
    """Run the CLI once; return (wall seconds, {notebook: (status, seconds)}, exit code)."""
    cmd = [sys.executable, "-m", "sparsepriv_nb", "run", "--profile", profile,
           "--jobs", str(jobs), "--output", str(report)]
    if only:
        cmd += ["--only", only]
    env = dict(os.environ, SPARSEPRIV_DATA=str(data_dir))
    t = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        print(proc.stdout[-2000:], proc.stderr[-2000:], sep="\n", file=sys.stderr)
    return wall, notebook_seconds(report), proc.returncode


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="notebooks to run, as for sparsepriv-nb run --only")
    parser.add_argument("--profile", default="quick")
    parser.add_argument("--jobs", default="1,2", help="comma-separated --jobs values")
    parser.add_argument("--keep", type=Path,
                        help="keep the data folders and reports here (default: a temporary "
                             "folder, removed at the end)")
    args = parser.parse_args()
    jobs_list = [int(j) for j in args.jobs.split(",")]
    root = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="spn-suite-"))
    root.mkdir(parents=True, exist_ok=True)
    results, failed = {}, False
    try:
        for jobs in jobs_list:
            data = root / f"data-jobs{jobs}"  # own, empty cache per --jobs value
            data.mkdir()
            # digits is embedded; other datasets are linked from the user's data folder so
            # that nothing downloads, while the experiment cache (data/cache) starts empty
            from sparsepriv_nb.data import default_root

            for item in default_root().iterdir() if default_root().is_dir() else []:
                if item.name != "cache" and not (data / item.name).exists():
                    (data / item.name).symlink_to(item.resolve())
            for temp in ("cold", "warm"):
                wall, rows, rc = run_suite(data, root / f"report-jobs{jobs}-{temp}", jobs=jobs,
                                           profile=args.profile, only=args.only)
                failed |= rc != 0
                results[(jobs, temp)] = (wall, rows)
                print(f"jobs {jobs}, {temp} cache: {wall:.1f} s (exit {rc})", flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    cols = [(j, t) for j in jobs_list for t in ("cold", "warm")]
    names = sorted({n for _, rows in results.values() for n in rows})
    head = "".join(f"{f'j{j} {t}':>10}" for j, t in cols)
    print(f"\nprofile {args.profile}, seconds per notebook (from index.html) and in total "
          "(wall time of the command)")
    print(f"{'notebook':34}{head}")
    for name in names:
        cells = ""
        for col in cols:
            status, sec = results[col][1].get(name, ("missing", float("nan")))
            cells += f"{sec:9.1f}{'' if status == 'ok' else '!'}"
        print(f"{name[:34]:34}{cells}")
    print(f"{'total (wall)':34}" + "".join(f"{results[c][0]:10.1f}" for c in cols))
    print("\nratios of total wall times:")
    for j in jobs_list:
        print(f"  jobs {j}: cold / warm = {results[(j, 'cold')][0] / results[(j, 'warm')][0]:.2f}")
    for j in jobs_list[1:]:
        for t in ("cold", "warm"):
            r = results[(jobs_list[0], t)][0] / results[(j, t)][0]
            print(f"  {t}: jobs {jobs_list[0]} / jobs {j} = {r:.2f}")
    if failed:
        print("some runs failed (marked '!' above); see the messages printed above",
              file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
