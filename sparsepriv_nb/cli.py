"""``sparsepriv-nb``: run the notebook sequence as a report, list notebooks, copy the lessons.

Commands:
    ``sparsepriv-nb run [--profile quick|standard|paper] [--only 01,02] [-p NAME=VALUE]...
    [--output DIR] [--jobs N] [--cell-timeout S] [--notebooks DIR]`` executes the notebooks
    with papermill into ``reports/<timestamp>/``, converts each to HTML that works offline and
    writes ``index.html`` (effective parameters, verdicts, headline figure, data files).
    ``sparsepriv-nb findings REPORT_DIR [--output FILE] [--independent JSON]`` writes
    ``FINDINGS.md`` from a report (notebook 07's claims table, every verdict, run times, commit,
    machine; with ``--independent``, the table of ``benchmarks/gonon_independent.py``).
    ``sparsepriv-nb list [--profile P]`` prints the notebooks and their parameters.
    ``sparsepriv-nb lessons DEST [--force] [--student]`` copies the lessons into ``DEST`` to
    open in JupyterLab, never overwriting a file the student edited; ``--student`` writes the
    student version (solutions replaced by stubs, hidden tests removed, outputs cleared).
    ``sparsepriv-nb check NOTEBOOK [--exercises-only]`` runs a notebook's graded exercises
    offline and prints a score per exercise (exit status 1 if any check fails).
    ``sparsepriv-nb clean [--cache]`` removes reports (and the experiment cache).
    ``sparsepriv-nb challenge make|baseline|score`` runs a membership-inference challenge
    (:mod:`sparsepriv_nb.challenge`).

Every ``-p`` value is parsed as YAML and checked against the notebook's ``parameters`` cell
before anything runs: an unknown name or a value of the wrong type is an error, and so is a
profile whose ``params/<profile>.yaml`` is missing, not UTF-8, not YAML, or has a section or
name no notebook declares (:mod:`sparsepriv_nb._profiles`). Bad input ends with one line naming
the option and the value, and exit status 2.

Lesson: every notebook (the main job runs them all; see the README).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import os
import shutil
import sys
import time
from pathlib import Path

from . import _lessons, _report
from ._checks import ParameterError, check_int
from ._profiles import (PROFILES, NotebookInfo, check_profile, find_notebooks, load_profile,
                        notebook_parameters, parse_assignments, resolve_parameters)

__all__ = ["main", "find_notebooks", "notebook_parameters", "resolve_parameters", "run",
           "load_profile", "check_profile", "parse_assignments", "PROFILES"]
# The kernel's own log is not progress: a warning about TCP transport on every start, and
# "ERROR | KeyboardInterrupt caught in kernel" when jupyter_client interrupts the finished
# kernel before shutting it down (it always does). A cell's errors reach the notebook, not
# this log, so CRITICAL hides nothing a user needs.
KERNEL_ARGS = ["--IPKernelApp.log_level=CRITICAL"]


def repo_root() -> Path:
    """The checkout holding ``notebooks/`` (editable install), else the current folder."""
    return _lessons.checkout_root() or Path.cwd()


def _select(notebooks: list[NotebookInfo], only: str | None) -> list[NotebookInfo]:
    if only is None:
        return notebooks
    keys = [k.strip().zfill(2) for k in only.split(",") if k.strip()]
    known = [nb.key for nb in notebooks]
    if not keys:
        raise ParameterError(f"The '--only' option must name at least one notebook, e.g. 01,02. "
                         f"Got {only!r}; the notebooks are {known}.")
    bad = [k for k in keys if k not in known]
    if bad:
        raise ParameterError(f"The '--only' option names {bad}; the notebooks are {known}.")
    return [nb for nb in notebooks if nb.key in keys]


def default_jobs(n_notebooks: int) -> int:
    """The number of usable cores, capped by the number of notebooks (at least 1)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, n_notebooks))


def _one_line(text: str, limit: int = 300) -> str:
    lines = [ln.strip() for ln in str(text).strip().splitlines() if ln.strip()]
    text = lines[-1] if lines else ""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _kernel_sockets() -> dict:
    """Unix-socket (IPC) transport for one kernel, in a fresh private folder.

    With TCP, a kernel manager picks free ports by binding and releasing them before the
    kernel binds them, so two notebooks starting at once (``--jobs``) can pick the same port
    and one kernel dies ("Kernel died before replying to kernel_info"). Sockets named by an
    absolute path in a folder of their own cannot collide. Returns ``{"dir", "engine"}``
    (papermill engine arguments), or ``{}`` where Unix sockets do not exist (Windows: TCP).
    """
    if os.name != "posix":
        return {}
    import tempfile

    from traitlets.config import Config

    folder = tempfile.mkdtemp(prefix="spn-kernel-")  # short: socket paths are <= ~100 bytes
    config = Config({"KernelManager": {"transport": "ipc", "ip": os.path.join(folder, "k")}})
    return {"dir": folder, "engine": {"config": config}}


def _execute(task: dict) -> dict:
    """Run one notebook (in this process or a worker); never raises: the row says what failed."""
    import papermill as pm

    for key, value in task.get("env", {}).items():
        os.environ[key] = value
    row = dict(task["row"])
    src, target, workdir = Path(task["src"]), Path(task["target"]), Path(task["workdir"])
    workdir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    sockets = _kernel_sockets()
    try:
        pm.execute_notebook(str(src), str(target), parameters=task["params"], cwd=str(workdir),
                            progress_bar=False, kernel_name="python3", log_output=False,
                            execution_timeout=task["cell_timeout"],
                            extra_arguments=list(KERNEL_ARGS), **sockets.get("engine", {}))
        row["status"] = "ok"
    except pm.PapermillExecutionError as exc:
        row["status"] = "failed"
        row["error"] = (f"cell {exc.cell_index} of the executed notebook (In [{exc.exec_count}]):"
                        f" {exc.ename}: {_one_line(exc.evalue)}")
    except Exception as exc:  # kernel died, cell timeout, bad notebook, ...
        row["status"] = "failed"
        row["error"] = f"{type(exc).__name__}: {_one_line(exc)}"
    finally:
        if "dir" in sockets:
            shutil.rmtree(sockets["dir"], ignore_errors=True)
    row["seconds"] = time.perf_counter() - t0
    out_dir = target.parent
    row["csv"] = sorted(str(p.relative_to(out_dir)) for p in workdir.rglob("*.csv"))
    if not any(workdir.iterdir()):
        workdir.rmdir()
    if target.exists():
        try:
            row.update(_report.summarize(target, out_dir / f"{target.stem}.headline.png"))
        except Exception as exc:  # a summary is a convenience; the report stays usable
            row["error"] = (row.get("error", "") + f" [summary: {exc}]").strip()
        try:
            row["html"] = _report.to_html(target, task.get("mathjax_url")).name
        except Exception as exc:  # keep the executed notebook even if HTML fails
            row["error"] = (row.get("error", "") + f" [HTML conversion: {exc}]").strip()
    return row


def _mp_context(multiprocessing):
    # fork: the workers need not import torch again (seconds each); nothing has started a
    # thread or a kernel in this process yet. Elsewhere spawn.
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn")


def _plan(profile: str, only: str | None, overrides: dict,
          notebooks_dir: Path | None) -> list[tuple[NotebookInfo, dict]]:
    """The selected notebooks with their parameters, every input checked (nothing runs)."""
    everything = find_notebooks(notebooks_dir)
    prof = load_profile(profile, notebooks_dir or everything[0].path.parent)
    check_profile(prof, everything, profile)
    notebooks = _select(everything, only)
    declared = set().union(*(nb.parameters for nb in notebooks))
    unknown = set(overrides) - declared
    if unknown:
        raise ParameterError(f"The '-p' option sets {sorted(unknown)}, which no selected "
                             f"notebook declares (unknown parameter); known: {sorted(declared)}.")
    return [(nb, resolve_parameters(nb, prof, overrides)) for nb in notebooks]


def _start_report(output: Path | None, plan: list, overrides: dict, profile: str,
                  log) -> tuple[Path, list[dict], str | None]:
    """The report folder, one pending row per notebook (already in ``index.html``) and the
    MathJax address the HTML loads."""
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    out_dir = Path(output) if output else repo_root() / "reports" / stamp
    out_dir.mkdir(parents=True, exist_ok=True)
    mathjax_url = _report.stage_mathjax(out_dir)
    if mathjax_url is None:
        log("note: jupyter-server-mathjax is not installed; the HTML loads MathJax from a CDN.")
    rows = [dict(name=nb.path.name, status="pending", params={**nb.parameters, **p},
                 defaults=nb.parameters, overrides={k: v for k, v in overrides.items()
                                                    if k in nb.parameters})
            for nb, p in plan]
    _report.write_index(out_dir, rows, profile, fresh=True)  # provenance: this run's start
    return out_dir, rows, mathjax_url


def runs_last(path: Path) -> bool:
    """Whether a notebook reads what the others leave in the cache (notebook 07): its metadata
    ``{"sparsepriv_nb": {"runs_last": true}}``. ``run`` starts it only after every other
    selected notebook has finished, whatever ``--jobs``."""
    import json

    try:
        meta = json.loads(Path(path).read_text(encoding="utf-8")).get("metadata", {})
    except (OSError, ValueError):
        return False
    return bool(meta.get("sparsepriv_nb", {}).get("runs_last"))


def _run_tasks(tasks: list[tuple[int, dict]], n: int, jobs: int, done, log,
               profile: str) -> None:
    """Execute ``tasks`` (``(index, task)``, one notebook each; ``n`` in the whole run),
    ``jobs`` at a time; ``done(index, row)`` per task."""
    jobs = min(jobs, len(tasks))
    if jobs == 1:
        for i, task in tasks:
            log(f"[{i + 1}/{n}] {task['row']['name']} ({profile}) ...", flush=True)
            done(i, _execute(task))
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    log(f"running {len(tasks)} notebooks ({profile}), {jobs} at a time ...", flush=True)
    with ProcessPoolExecutor(max_workers=jobs, mp_context=_mp_context(multiprocessing)) as pool:
        futures = {pool.submit(_execute, task): (i, task) for i, task in tasks}
        for fut in as_completed(futures):
            i, task = futures[fut]
            try:
                row = fut.result()
            except Exception as exc:  # the worker process itself died
                row = dict(task["row"], status="failed", seconds=0.0,
                           error=f"{type(exc).__name__}: {_one_line(exc)}")
            done(i, row)


def run(*, profile: str = "quick", only: str | None = None, overrides: dict | None = None,
        output: Path | None = None, notebooks_dir: Path | None = None,
        cell_timeout: int = 1800, jobs: int | None = 1, log=print) -> tuple[Path, list[dict]]:
    """Execute the selected notebooks; return the report folder and one row per notebook.

    All parameters are validated for every selected notebook before the first one runs.
    A cell running longer than ``cell_timeout`` seconds fails its notebook (a hung kernel
    never blocks a report run forever). With ``jobs > 1`` that many notebooks run at once, each
    kernel with one torch thread (``OMP_NUM_THREADS=1``) and ``OMP_WAIT_POLICY=PASSIVE``; the
    rows, the index and the failures are the same as with one job. A notebook marked
    :func:`runs_last` (07, which reads what 02-06 recorded) starts when the others are done.

    Args:
        profile: one of :data:`PROFILES`; its file ``params/<profile>.yaml`` must exist.
        only: comma-separated notebook keys (``"01,02"``); ``None`` runs all.
        overrides: parameter values that win over the profile.
        output: the report folder (default ``reports/<timestamp>``); an existing folder is
            reused, an existing file is an error.
        notebooks_dir: the lessons folder (default :func:`_lessons.lessons_dir`).
        cell_timeout: seconds, >= 1.
        jobs: notebooks at once, >= 1; ``None`` = cores capped by the notebook count.
        log: called with progress lines.

    Raises:
        ParameterError: bad input (a ``ValueError``), before anything runs.
        FileNotFoundError: ``notebooks_dir`` does not exist.
    """
    overrides = overrides or {}
    check_int(cell_timeout, "cell_timeout", "run", 1)
    if jobs is not None:
        check_int(jobs, "jobs", "run", 1)
    if output is not None and Path(output).exists() and not Path(output).is_dir():
        raise ParameterError(f"The '--output' option must name a folder. Got {str(output)!r}, "
                             "an existing file.")
    plan = _plan(profile, only, overrides, notebooks_dir)
    jobs = min(jobs, len(plan)) if jobs is not None else default_jobs(len(plan))
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # inherited by the kernels
    out_dir, rows, mathjax_url = _start_report(output, plan, overrides, profile, log)
    env = {"OMP_WAIT_POLICY": "PASSIVE", "SPARSEPRIV_PROFILE": profile}  # findings.record
    if jobs > 1:
        env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    tasks = [dict(src=str(nb.path), target=str(out_dir / nb.path.name),
                  workdir=str(out_dir / nb.path.stem), params=p, cell_timeout=cell_timeout,
                  mathjax_url=mathjax_url, row=row, env=env)
             for (nb, p), row in zip(plan, rows)]

    def done(i: int, row: dict) -> None:
        rows[i] = row
        log(f"[{i + 1}/{len(tasks)}] {row['name']}: {row['status']} in {row['seconds']:.1f} s"
            + (f": {row['error']}" if row.get("error") else ""), flush=True)
        _report.write_index(out_dir, rows, profile)

    last = {i for i, t in enumerate(tasks) if runs_last(Path(t["src"]))}
    for phase in ([i for i in range(len(tasks)) if i not in last], sorted(last)):
        if phase:  # notebooks that read the others' records start after those finished
            _run_tasks([(i, tasks[i]) for i in phase], len(tasks), jobs, done, log, profile)
    return out_dir, rows


def _cmd_list(args) -> int:
    folder = Path(args.notebooks) if args.notebooks else None
    notebooks = find_notebooks(folder)
    prof = load_profile(args.profile, folder or notebooks[0].path.parent)
    check_profile(prof, notebooks, args.profile)
    print(f"lessons in {notebooks[0].path.parent}")
    for nb in notebooks:
        print(nb.path.name)
        eff = {**nb.parameters, **resolve_parameters(nb, prof, {})}
        for name, default in nb.parameters.items():
            note = "" if eff[name] == default else f"   ({args.profile}: {eff[name]!r})"
            print(f"    {name} = {default!r}{note}")
    return 0


def _cmd_findings(args) -> int:
    from ._findings_md import write_findings

    out = write_findings(Path(args.report), Path(args.output) if args.output else None,
                         Path(args.independent) if args.independent else None)
    print(f"wrote {out}")
    return 0


def _cmd_run(args) -> int:
    overrides = parse_assignments(args.param or [])
    out_dir, rows = run(profile=args.profile, only=args.only, overrides=overrides,
                        output=args.output, cell_timeout=args.cell_timeout, jobs=args.jobs,
                        notebooks_dir=Path(args.notebooks) if args.notebooks else None)
    failed = [r for r in rows if r["status"] != "ok"]
    print(f"report: {out_dir / 'index.html'}")
    if failed:
        for r in failed:
            where = f" (at {r['failed_cell']})" if r.get("failed_cell") else ""
            print(f"FAILED {r['name']}: {r.get('error', '')}{where}", file=sys.stderr)
        return 1
    return 0


def _cmd_lessons(args) -> int:
    written = _lessons.copy_lessons(Path(args.dest), force=args.force, student=args.student)
    print(f"{len(written)} file(s) copied to {args.dest}; open them with: "
          f"jupyter lab {args.dest}")
    return 0


def _cmd_check(args) -> int:
    from . import grading

    rows = grading.check_notebook(Path(args.notebook), exercises_only=args.exercises_only,
                                  timeout=args.cell_timeout)
    print(grading.format_scores(rows))
    return 0 if all(r["passed"] for r in rows) else 1


def _is_report(folder: Path) -> bool:
    index = folder / "index.html"
    return index.is_file() and "sparsepriv_nb report" in index.read_text(errors="replace")


def _cmd_clean(args) -> int:
    reports = repo_root() / "reports"
    if reports.is_dir() and _lessons.checkout_root() is not None:
        shutil.rmtree(reports)
        print(f"removed {reports}")
    elif reports.is_dir():  # ./reports outside a checkout: remove only what we wrote
        for folder in sorted(p for p in reports.iterdir() if p.is_dir() and _is_report(p)):
            shutil.rmtree(folder)
            print(f"removed {folder}")
        if not any(reports.iterdir()):
            reports.rmdir()
    if args.cache:
        from .data import default_root

        cache = default_root() / "cache"
        if cache.exists():
            shutil.rmtree(cache)
            print(f"removed {cache}")
    return 0


class _Parser(argparse.ArgumentParser):
    """argparse that reports bad input in one line (no usage block) and exits 2."""

    def error(self, message):
        self.exit(2, f"sparsepriv-nb: error: {message}\n")


def _int_option(option: str):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < 1:
            raise argparse.ArgumentTypeError(
                f"the '{option}' option must be a whole number >= 1. Got {text!r}.")
        return value
    return parse


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="sparsepriv-nb", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    p_run = sub.add_parser("run", help="execute the notebooks into a report")
    p_run.add_argument("--profile", default="quick", choices=PROFILES)
    p_run.add_argument("--only", help="comma-separated notebook numbers, e.g. 01,02")
    p_run.add_argument("-p", "--param", action="append", metavar="NAME=VALUE",
                       help="override a parameter (YAML value); repeatable")
    p_run.add_argument("--output", type=Path, help="report folder (default reports/<time>)")
    p_run.add_argument("--cell-timeout", type=_int_option("--cell-timeout"), default=1800,
                       metavar="SECONDS",
                       help="fail a notebook whose cell runs longer than this (default 1800)")
    p_run.add_argument("--jobs", "-j", type=_int_option("--jobs"), default=None, metavar="N",
                       help="notebooks run at once, each with one torch thread (default: the "
                            "number of cores, at most the number of notebooks)")
    p_run.add_argument("--notebooks", metavar="DIR",
                       help="lessons folder (default: the checkout's or the installed ones)")
    p_run.set_defaults(func=_cmd_run)
    p_list = sub.add_parser("list", help="print notebooks and their parameters")
    p_list.add_argument("--profile", default="quick", choices=PROFILES)
    p_list.add_argument("--notebooks", metavar="DIR", help="lessons folder")
    p_list.set_defaults(func=_cmd_list)
    p_find = sub.add_parser("findings", help="write FINDINGS.md from a report (07's table, "
                                             "verdicts, run times, commit, machine)")
    p_find.add_argument("report", metavar="REPORT_DIR", help="a folder `run` wrote")
    p_find.add_argument("--output", metavar="FILE",
                        help="where to write (default REPORT_DIR/FINDINGS.md)")
    p_find.add_argument("--independent", metavar="JSON",
                        help="add the section 'Held against an independent run' from "
                             "benchmarks/results_gonon_independent.json")
    p_find.set_defaults(func=_cmd_findings)
    p_les = sub.add_parser("lessons", help="copy the lessons into a folder for JupyterLab")
    p_les.add_argument("dest", metavar="DEST", help="folder to copy into (created if needed)")
    p_les.add_argument("--force", action="store_true", help="overwrite edited lessons too")
    p_les.add_argument("--student", action="store_true",
                       help="the student version: solutions replaced by stubs, no outputs")
    p_les.set_defaults(func=_cmd_lessons)
    p_chk = sub.add_parser("check", help="score a notebook's graded exercises offline")
    p_chk.add_argument("notebook", metavar="NOTEBOOK", help="a lesson notebook (.ipynb)")
    p_chk.add_argument("--exercises-only", action="store_true",
                       help="run only the exercise cells (they are self-contained; seconds)")
    p_chk.add_argument("--cell-timeout", type=_int_option("--cell-timeout"), default=1800,
                       metavar="SECONDS", help="fail a cell running longer (default 1800)")
    p_chk.set_defaults(func=_cmd_check)
    p_clean = sub.add_parser("clean", help="remove reports/ (and with --cache the cache)")
    p_clean.add_argument("--cache", action="store_true")
    p_clean.set_defaults(func=_cmd_clean)
    from .challenge.command import add_parser as add_challenge

    add_challenge(sub)  # sparsepriv-nb challenge make / baseline / score
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, FileNotFoundError) as exc:
        print(f"sparsepriv-nb: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
