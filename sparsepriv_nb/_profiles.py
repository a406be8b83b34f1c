"""What ``sparsepriv-nb run`` and ``list`` run with: the notebooks, their parameters, profiles.

A lessons folder holds numbered notebooks ``NN_name.ipynb``, each with a cell tagged
``parameters`` of literal assignments (papermill's convention), and ``params/<profile>.yaml``
files: ``{"all": {NAME: value}, "01": {NAME: value}, ...}``. The parameters of one notebook are
its defaults, then the profile's ``all`` section (where the notebook declares the name), then
its own section, then ``-p NAME=VALUE`` overrides. Everything is checked before a notebook runs:
an unknown file, section or name, or a value of another type than the default, is an error
naming the option, the value and what is allowed (:class:`~sparsepriv_nb._checks.ParameterError`).

Example:
    >>> import tempfile, nbformat
    >>> folder = Path(tempfile.mkdtemp())
    >>> nb = nbformat.v4.new_notebook()
    >>> nb.cells = [nbformat.v4.new_code_cell("EPOCHS = 3\\nNAME = 'a'")]
    >>> nb.cells[0].metadata["tags"] = ["parameters"]
    >>> nbformat.write(nb, folder / "01_demo.ipynb")
    >>> (folder / "params").mkdir()
    >>> _ = (folder / "params" / "quick.yaml").write_text("all: {EPOCHS: 1}")
    >>> [info] = find_notebooks(folder)
    >>> resolve_parameters(info, load_profile("quick", folder), parse_assignments(["NAME=b"]))
    {'EPOCHS': 1, 'NAME': 'b'}
    >>> load_profile("paper", folder)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    sparsepriv_nb._checks.ParameterError: The '--profile' option names 'paper', ... ['quick'].
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import yaml

from . import _lessons
from ._checks import ParameterError

__all__ = ["PROFILES", "NotebookInfo", "notebook_parameters", "find_notebooks", "load_profile",
           "check_profile", "parse_assignments", "resolve_parameters"]

PROFILES = ("quick", "standard", "paper")


@dataclass(frozen=True)
class NotebookInfo:
    key: str  # "01"
    path: Path
    parameters: dict  # name -> default value (literals)


def _first_line(exc: BaseException) -> str:
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    return lines[0] if lines else type(exc).__name__


def notebook_parameters(path: Path) -> dict:
    """Name -> default of the literal assignments in the cell tagged ``parameters``.

    Raises:
        ValueError: a file that is not a notebook, no cell tagged ``parameters``, or a
            parameter whose default is not a Python literal.
    """
    import nbformat

    try:
        nb = nbformat.read(path, as_version=4)
    except (ValueError, OSError) as exc:  # not JSON, not UTF-8, not a notebook
        raise ValueError(f"The notebook {path} cannot be read: {_first_line(exc)}.") from None
    for cell in nb.cells:
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            return _literal_assignments(cell.source, path)
    raise ValueError(f"{path.name} has no cell tagged 'parameters'.")


def _literal_assignments(source: str, path: Path) -> dict:
    try:
        body = ast.parse(source).body
    except SyntaxError as exc:
        raise ValueError(f"{path.name}: the parameters cell is not valid Python "
                         f"({exc.msg}, line {exc.lineno}).") from None
    params = {}
    for node in body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and \
                isinstance(node.targets[0], ast.Name):
            name = node.targets[0].id
            try:
                params[name] = ast.literal_eval(node.value)
            except ValueError:
                raise ValueError(
                    f"{path.name}: the parameter {name} = "
                    f"{ast.get_source_segment(source, node.value)} is not a literal (a number, "
                    "string, list, ...); a parameters cell holds literals only.") from None
    return params


def find_notebooks(folder: Path | None = None) -> list[NotebookInfo]:
    """The numbered notebooks ``NN_*.ipynb`` in order (default: :func:`_lessons.lessons_dir`).

    Raises:
        FileNotFoundError: ``folder`` does not exist.
        ValueError: ``folder`` holds no numbered notebook, or one that cannot be read.
    """
    folder = Path(folder) if folder else _lessons.lessons_dir()
    if not folder.is_dir():
        raise FileNotFoundError(f"The '--notebooks' folder {str(folder)!r} does not exist.")
    out = [NotebookInfo(path.name[:2], path, notebook_parameters(path))
           for path in sorted(folder.glob("[0-9][0-9]_*.ipynb"))]
    if not out:
        raise ParameterError(f"The '--notebooks' folder {str(folder)!r} holds no numbered "
                             "notebook (NN_name.ipynb).")
    return out


def _yaml(text: str, what: str):
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ParameterError(f"{what} is not valid YAML{where}: {problem}.") from None


def _profile_text(profile: str, path: Path) -> str:
    what = f"The '--profile {profile}' file {path}"
    if not path.is_file():
        folder = path.parent
        have = [p for p in PROFILES if (folder / f"{p}.yaml").is_file()]
        raise ParameterError(f"The '--profile' option names {profile!r}, but its file {path} "
                             f"does not exist; profiles available in {folder}: {have}.")
    try:
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ParameterError(f"{what} is not UTF-8 text: byte 0x{exc.object[exc.start]:02x} at "
                             f"position {exc.start}. Save it as UTF-8.") from None
    except OSError as exc:
        raise ParameterError(f"{what} cannot be read: {exc.strerror or exc}.") from None


def load_profile(profile: str, folder: Path | None = None) -> dict:
    """The profile YAML ``<folder>/params/<profile>.yaml``: ``{"all": {...}, "01": {...}}``.

    Raises:
        ParameterError: an unknown profile, a missing file, or a file that is not UTF-8,
            not YAML or not a mapping of notebook keys to mappings of parameters.
    """
    if profile not in PROFILES:
        raise ParameterError(f"The '--profile' option must be one of {list(PROFILES)}. Got "
                             f"{profile!r} instead.")
    path = Path(folder or _lessons.lessons_dir()) / "params" / f"{profile}.yaml"
    what = f"The '--profile {profile}' file {path}"
    data = _yaml(_profile_text(profile, path), what)
    data = {} if data is None else data
    if not isinstance(data, dict):
        raise ParameterError(f"{what} must hold a mapping of notebook keys to parameters. Got "
                             f"a {type(data).__name__}.")
    out = {}
    for key, section in data.items():
        key = str(key).zfill(2) if str(key).isdigit() else str(key)
        if section is not None and not isinstance(section, dict):
            raise ParameterError(f"{what}: section {key!r} must be a mapping of NAME: value. "
                                 f"Got {section!r}.")
        out[key] = section or {}
    return out


def check_profile(prof: dict, notebooks: list[NotebookInfo], profile: str) -> None:
    """Every section of ``prof`` is ``all`` or a notebook's key, every name of a notebook's
    section is declared by that notebook, and every name in ``all`` by some notebook (a typo
    would otherwise be ignored in silence).

    Raises:
        ParameterError: naming the profile, the section or name, and what is allowed.
    """
    what = f"The '--profile {profile}' file"
    if notebooks:
        what += f" {notebooks[0].path.parent / 'params' / f'{profile}.yaml'}"
    keys = [nb.key for nb in notebooks]
    bad = [k for k in prof if k != "all" and k not in keys]
    if bad:
        raise ParameterError(f"{what} has section(s) {bad}; a section is 'all' or a notebook's "
                             f"number: {keys}.")
    for nb in notebooks:
        unknown = sorted(set(prof.get(nb.key, {})) - set(nb.parameters))
        if unknown:
            raise ParameterError(f"{what}: section {nb.key!r} sets {unknown}, which "
                                 f"{nb.path.name} does not declare; known: "
                                 f"{sorted(nb.parameters)}.")
    declared = set().union(*(nb.parameters for nb in notebooks))
    unknown = sorted(set(prof.get("all", {})) - declared)
    if unknown:
        raise ParameterError(f"{what} sets {unknown} in section 'all', which no notebook "
                             f"declares; known: {sorted(declared)}.")


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
    """``["EPOCHS=5", "DATASET=fashion-mnist"]`` -> dict (values parsed as YAML).

    Raises:
        ParameterError: an item without ``=`` or a name, or a value that is not valid YAML.
    """
    out = {}
    for item in items:
        name, sep, raw = item.partition("=")
        if not sep or not name.strip():
            raise ParameterError(f"The '-p' option must be NAME=VALUE. Got {item!r} instead.")
        out[name.strip()] = _yaml(raw, f"The '-p' option {item!r}")
    return out


def resolve_parameters(info: NotebookInfo, profile: dict, overrides: dict) -> dict:
    """Parameters for one notebook: profile's ``all`` (where declared), its own section,
    then ``-p`` overrides (applied where declared; unknown everywhere is an error upstream).

    Raises:
        ParameterError: a name the notebook does not declare in its own profile section, or a
            value whose type differs from the default's.
    """
    params = {k: v for k, v in profile.get("all", {}).items() if k in info.parameters}
    own = profile.get(info.key, {})
    unknown = set(own) - set(info.parameters)
    if unknown:
        raise ParameterError(f"Profile section {info.key!r} sets {sorted(unknown)}, which "
                             f"{info.path.name} does not declare; known: "
                             f"{sorted(info.parameters)}.")
    params.update(own)
    params.update({k: v for k, v in overrides.items() if k in info.parameters})
    for name, value in params.items():
        default = info.parameters[name]
        if not _type_ok(default, value):
            raise ParameterError(f"Parameter {name}={value!r} for {info.path.name} must be of "
                                 f"type {type(default).__name__} like its default {default!r}.")
    return params
