"""``sparsepriv-nb``: run the notebook sequence as a report, list notebooks and parameters.

Commands:
    ``sparsepriv-nb run [--profile quick|standard|paper] [--only 01,02] [-p NAME=VALUE]...
    [--output DIR]`` executes the notebooks in order with papermill into
    ``reports/<timestamp>/``, converts each to HTML and writes ``index.html``.
    ``sparsepriv-nb list [--profile P]`` prints the notebooks and their parameters.
    ``sparsepriv-nb clean [--cache]`` removes reports (and the experiment cache).

Every ``-p`` value is parsed as YAML and checked against the notebook's ``parameters`` cell
before anything runs: an unknown name or a value of the wrong type is an error.
"""

from __future__ import annotations

import argparse
import ast
import datetime as _dt
import html
import os
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

__all__ = ["main", "find_notebooks", "notebook_parameters", "resolve_parameters", "run"]

PROFILES = ("quick", "standard", "paper")


def repo_root() -> Path:
    """The folder holding ``notebooks/`` (the checkout)."""
    return Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class NotebookInfo:
    key: str  # "01"
    path: Path
    parameters: dict  # name -> default value (literals)


def notebook_parameters(path: Path) -> dict:
    """Name -> default of the literal assignments in the cell tagged ``parameters``."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            params = {}
            for node in ast.parse(cell.source).body:
                if isinstance(node, ast.Assign) and len(node.targets) == 1 and \
                        isinstance(node.targets[0], ast.Name):
                    params[node.targets[0].id] = ast.literal_eval(node.value)
            return params
    raise ValueError(f"{path.name} has no cell tagged 'parameters'.")


def find_notebooks(folder: Path | None = None) -> list[NotebookInfo]:
    """The numbered notebooks ``NN_*.ipynb`` in order."""
    folder = folder or repo_root() / "notebooks"
    if not folder.is_dir():
        raise FileNotFoundError(f"No notebooks folder at {folder}: run sparsepriv-nb from an "
                                "editable install of a checkout (pip install -e .).")
    out = []
    for path in sorted(folder.glob("[0-9][0-9]_*.ipynb")):
        out.append(NotebookInfo(path.name[:2], path, notebook_parameters(path)))
    return out


def load_profile(profile: str, folder: Path | None = None) -> dict:
    """The profile YAML: ``{"all": {...}, "01": {...}, ...}``."""
    if profile not in PROFILES:
        raise ValueError(f"The '--profile' option must be one of {PROFILES}. Got {profile!r}.")
    path = (folder or repo_root() / "notebooks") / "params" / f"{profile}.yaml"
    data = yaml.safe_load(path.read_text()) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path} must hold a mapping of notebook keys to parameters.")
    return {str(k).zfill(2) if str(k).isdigit() else str(k): (v or {}) for k, v in data.items()}


def _type_ok(default, value) -> bool:
    if default is None or value is None:
        return True
    if isinstance(default, bool):
        return isinstance(value, bool)
    if isinstance(default, float):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if isinstance(default, (list, tuple)):
        return isinstance(value, (list, tuple))
    return isinstance(value, type(default))


def parse_assignments(items: list[str]) -> dict:
    """``["EPOCHS=5", "DATASET=fashion-mnist"]`` -> dict (values parsed as YAML)."""
    out = {}
    for item in items:
        name, sep, raw = item.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"The '-p' option must be NAME=VALUE. Got {item!r} instead.")
        out[name.strip()] = yaml.safe_load(raw)
    return out


def resolve_parameters(info: NotebookInfo, profile: dict, overrides: dict) -> dict:
    """Parameters for one notebook: profile's ``all`` (where declared), its own section,
    then ``-p`` overrides (applied where declared; unknown everywhere is an error upstream).

    Raises:
        ValueError: a name the notebook does not declare in its own profile section, or a
            value whose type differs from the default's.
    """
    params = {k: v for k, v in profile.get("all", {}).items() if k in info.parameters}
    own = profile.get(info.key, {})
    unknown = set(own) - set(info.parameters)
    if unknown:
        raise ValueError(f"Profile section {info.key!r} sets {sorted(unknown)}, which "
                         f"{info.path.name} does not declare; known: {sorted(info.parameters)}.")
    params.update(own)
    params.update({k: v for k, v in overrides.items() if k in info.parameters})
    for name, value in params.items():
        default = info.parameters[name]
        if not _type_ok(default, value):
            raise ValueError(f"Parameter {name}={value!r} for {info.path.name} must be of type "
                             f"{type(default).__name__} like its default {default!r}.")
    return params


def _select(notebooks: list[NotebookInfo], only: str | None) -> list[NotebookInfo]:
    if not only:
        return notebooks
    keys = [k.strip().zfill(2) for k in only.split(",") if k.strip()]
    known = [nb.key for nb in notebooks]
    bad = [k for k in keys if k not in known]
    if bad:
        raise ValueError(f"The '--only' option names {bad}; the notebooks are {known}.")
    return [nb for nb in notebooks if nb.key in keys]


def _to_html(nb_path: Path) -> Path:
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter().from_filename(str(nb_path))
    out = nb_path.with_suffix(".html")
    out.write_text(body, encoding="utf-8")
    return out


def _write_index(out_dir: Path, rows: list[dict], profile: str) -> Path:
    lines = [
        "<!doctype html><html><head><meta charset='utf-8'><title>sparsepriv_nb report</title>",
        "<style>body{font-family:sans-serif;margin:2em}td,th{padding:4px 12px;text-align:left}"
        ".ok{color:green}.failed{color:#b00}.pending{color:#888}</style></head><body>",
        f"<h1>sparsepriv_nb report</h1><p>profile: <b>{html.escape(profile)}</b>, "
        f"written {_dt.datetime.now().isoformat(timespec='seconds')}</p>",
        "<table><tr><th>notebook</th><th>status</th><th>run time (s)</th><th>parameters</th>"
        "<th>detail</th></tr>",
    ]
    for r in rows:
        link = (f"<a href='{html.escape(r['html'])}'>{html.escape(r['name'])}</a>"
                if r.get("html") else html.escape(r["name"]))
        lines.append(
            f"<tr><td>{link}</td><td class='{r['status']}'>{r['status']}</td>"
            f"<td>{r.get('seconds', 0):.1f}</td><td><code>{html.escape(str(r['params']))}"
            f"</code></td><td>{html.escape(r.get('error', ''))}</td></tr>")
    lines.append("</table></body></html>")
    path = out_dir / "index.html"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def run(*, profile: str = "quick", only: str | None = None, overrides: dict | None = None,
        output: Path | None = None, notebooks_dir: Path | None = None,
        cell_timeout: int = 1800, log=print) -> tuple[Path, list[dict]]:
    """Execute the selected notebooks; return the report folder and one row per notebook.

    All parameters are validated for every selected notebook before the first one runs.
    A cell running longer than ``cell_timeout`` seconds fails its notebook (a hung kernel
    never blocks a report run forever).
    """
    import papermill as pm

    overrides = overrides or {}
    notebooks = _select(find_notebooks(notebooks_dir), only)
    if not notebooks:
        raise ValueError("No notebooks found to run.")
    prof = load_profile(profile, notebooks_dir)
    declared = set().union(*(nb.parameters for nb in notebooks))
    unknown = set(overrides) - declared
    if unknown:
        raise ValueError(f"Unknown parameter(s) {sorted(unknown)} in -p; the selected notebooks"
                         f" declare {sorted(declared)}.")
    plan = [(nb, resolve_parameters(nb, prof, overrides)) for nb in notebooks]

    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    out_dir = Path(output) if output else repo_root() / "reports" / stamp
    out_dir.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # inherited by the kernels
    rows = [dict(name=nb.path.name, status="pending", params=p) for nb, p in plan]
    _write_index(out_dir, rows, profile)
    for i, ((nb, params), row) in enumerate(zip(plan, rows), start=1):
        target = out_dir / nb.path.name
        log(f"[{i}/{len(plan)}] {nb.path.name} ({profile}) ...", flush=True)
        t0 = time.perf_counter()
        try:
            pm.execute_notebook(str(nb.path), str(target), parameters=params,
                                cwd=str(nb.path.parent), progress_bar=False,
                                kernel_name="python3", log_output=False,
                                execution_timeout=cell_timeout)
            row["status"] = "ok"
        except pm.PapermillExecutionError as exc:
            row["status"] = "failed"
            row["error"] = (f"cell {exc.cell_index} of the executed notebook (execution count "
                            f"{exc.exec_count}): "
                            f"{exc.ename}: {exc.evalue}")
        except Exception as exc:  # kernel died, bad notebook, ...
            row["status"] = "failed"
            row["error"] = f"{type(exc).__name__}: {exc}"
        row["seconds"] = time.perf_counter() - t0
        if target.exists():
            try:
                row["html"] = _to_html(target).name
            except Exception as exc:  # keep the executed notebook even if HTML fails
                row["error"] = (row.get("error", "") + f" [HTML conversion: {exc}]").strip()
        log(f"    {row['status']} in {row['seconds']:.1f} s"
            + (f": {row['error']}" if row.get("error") else ""), flush=True)
        _write_index(out_dir, rows, profile)
    return out_dir, rows


def _cmd_list(args) -> int:
    prof = load_profile(args.profile)
    for nb in find_notebooks():
        print(nb.path.name)
        eff = {**nb.parameters, **resolve_parameters(nb, prof, {})}
        for name, default in nb.parameters.items():
            note = "" if eff[name] == default else f"   ({args.profile}: {eff[name]!r})"
            print(f"    {name} = {default!r}{note}")
    return 0


def _cmd_run(args) -> int:
    overrides = parse_assignments(args.param or [])
    out_dir, rows = run(profile=args.profile, only=args.only, overrides=overrides,
                        output=args.output, cell_timeout=args.cell_timeout)
    failed = [r for r in rows if r["status"] != "ok"]
    print(f"report: {out_dir / 'index.html'}")
    if failed:
        for r in failed:
            print(f"FAILED {r['name']}: {r.get('error', '')}", file=sys.stderr)
        return 1
    return 0


def _cmd_clean(args) -> int:
    reports = repo_root() / "reports"
    if reports.exists():
        shutil.rmtree(reports)
        print(f"removed {reports}")
    if args.cache:
        from .data import default_root

        cache = default_root() / "cache"
        if cache.exists():
            shutil.rmtree(cache)
            print(f"removed {cache}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sparsepriv-nb", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_run = sub.add_parser("run", help="execute the notebooks into a report")
    p_run.add_argument("--profile", default="quick", choices=PROFILES)
    p_run.add_argument("--only", help="comma-separated notebook numbers, e.g. 01,02")
    p_run.add_argument("-p", "--param", action="append", metavar="NAME=VALUE",
                       help="override a parameter (YAML value); repeatable")
    p_run.add_argument("--output", type=Path, help="report folder (default reports/<time>)")
    p_run.add_argument("--cell-timeout", type=int, default=1800, metavar="SECONDS",
                       help="fail a notebook whose cell runs longer than this (default 1800)")
    p_run.set_defaults(func=_cmd_run)
    p_list = sub.add_parser("list", help="print notebooks and their parameters")
    p_list.add_argument("--profile", default="quick", choices=PROFILES)
    p_list.set_defaults(func=_cmd_list)
    p_clean = sub.add_parser("clean", help="remove reports/ (and with --cache the cache)")
    p_clean.add_argument("--cache", action="store_true")
    p_clean.set_defaults(func=_cmd_clean)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, FileNotFoundError) as exc:
        print(f"sparsepriv-nb: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
