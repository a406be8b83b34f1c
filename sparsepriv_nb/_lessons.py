"""Where the lessons (``NN_*.ipynb`` and ``params/*.yaml``) live, and copying them out.

A checkout keeps them in ``notebooks/`` at the top level (the source of truth). A wheel carries
the same folder as ``sparsepriv_nb/lessons/`` (``pyproject.toml`` maps ``notebooks/`` onto that
package folder at build time), so ``sparsepriv-nb run`` and ``list`` work from any install and
``sparsepriv-nb lessons DEST`` gives a student a copy to open in JupyterLab (``--student``: the
student version of each notebook, solutions replaced by stubs; :mod:`sparsepriv_nb.grading`).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from ._checks import ParameterError

__all__ = ["checkout_root", "lessons_dir", "lesson_files", "copy_lessons"]

_MANIFEST = ".sparsepriv-lessons.json"


def checkout_root() -> Path | None:
    """The source checkout this package is imported from (editable install), else ``None``."""
    root = Path(__file__).resolve().parent.parent
    if (root / "pyproject.toml").is_file() and (root / "notebooks").is_dir():
        return root
    return None


def lessons_dir() -> Path:
    """The folder holding the numbered notebooks and ``params/``.

    ``$SPARSEPRIV_NOTEBOOKS`` if set, else the checkout's ``notebooks/``, else the copy shipped
    inside the installed package.

    Raises:
        FileNotFoundError: none of these holds a notebook.
    """
    env = os.environ.get("SPARSEPRIV_NOTEBOOKS")
    candidates = [Path(env)] if env else []
    root = checkout_root()
    if root is not None:
        candidates.append(root / "notebooks")
    candidates.append(Path(__file__).resolve().parent / "lessons")
    for folder in candidates:
        if folder.is_dir() and any(folder.glob("[0-9][0-9]_*.ipynb")):
            return folder
    raise FileNotFoundError(
        "No lessons found (looked in " + ", ".join(str(c) for c in candidates) + "): "
        "reinstall the package (pip install sparsepriv_nb) or point $SPARSEPRIV_NOTEBOOKS "
        "or --notebooks at a folder of NN_*.ipynb files.")


def lesson_files(folder: Path) -> list[Path]:
    """The files that make up the lessons, relative to ``folder``: notebooks and profiles."""
    files = sorted(folder.glob("[0-9][0-9]_*.ipynb")) + sorted(folder.glob("params/*.yaml"))
    return [p.relative_to(folder) for p in files]


def _digest(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def _content(path: Path, student: bool) -> bytes:
    """What to write for the lesson file ``path``: itself, or its student version."""
    if student and path.suffix == ".ipynb":
        from .grading import student_version

        return student_version(path)
    return path.read_bytes()


def copy_lessons(dest: Path, *, source: Path | None = None, force: bool = False,
                 student: bool = False, log=print) -> list[Path]:
    """Copy the lessons into ``dest`` without ever overwriting a student's edits.

    A file already in ``dest`` is replaced only when it is unchanged since this function
    copied it (its digest is recorded in ``dest/.sparsepriv-lessons.json``) or identical to the
    new version; an edited file is kept unless ``force``.

    Args:
        dest: the folder to copy into (created if needed).
        source: the lessons folder (default :func:`lessons_dir`).
        force: overwrite edited files too.
        student: write the student version of each notebook (solutions replaced by stubs,
            hidden tests removed, outputs cleared; :func:`grading.student_notebook`).
        log: called with one line per file.

    Returns:
        The files written.

    Raises:
        ParameterError: ``dest`` is an existing file, or holds edited lessons and not
            ``force`` (nothing is written then); a ``ValueError``.

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as d:
        ...     written = copy_lessons(Path(d), log=lambda *a: None)
        ...     again = copy_lessons(Path(d), log=lambda *a: None)
        >>> len(written) > 0, again
        (True, [])
    """
    source = Path(source) if source else lessons_dir()
    dest = Path(dest)
    if dest.exists() and not dest.is_dir():
        raise ParameterError(f"The 'DEST' argument of lessons must be a folder. Got "
                             f"{str(dest)!r}, an existing file.")
    manifest = _read_manifest(dest / _MANIFEST)
    plan, edited = _plan_copy(source, dest, manifest, force, student)
    if edited:
        raise ParameterError(f"{dest} holds edited lessons {edited}; nothing was copied. Copy "
                             "into another folder, or pass --force to overwrite them.")
    written = []
    for rel, content, dst, digest in plan:
        dst.parent.mkdir(parents=True, exist_ok=True)
        tmp = dst.with_name(dst.name + ".tmp")
        tmp.write_bytes(content)
        os.replace(tmp, dst)
        manifest[str(rel)] = digest
        written.append(dst)
        log(f"copied {rel}" + (" (student version)" if student and rel.suffix == ".ipynb"
                               else ""))
    if written or manifest:
        dest.mkdir(parents=True, exist_ok=True)
        (dest / _MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True))
    return written


def _read_manifest(path: Path) -> dict:
    """The digests recorded by the last copy (empty when missing or unreadable)."""
    try:
        manifest = json.loads(path.read_text()) if path.exists() else {}
    except (OSError, ValueError):
        return {}
    return manifest if isinstance(manifest, dict) else {}


def _plan_copy(source: Path, dest: Path, manifest: dict, force: bool,
               student: bool = False) -> tuple[list, list]:
    """``(files to write, edited files kept)``; identical files only update ``manifest``."""
    plan, edited = [], []
    for rel in lesson_files(source):
        content, dst = _content(source / rel, student), dest / rel
        new = _digest(content)
        if dst.exists():
            old = _digest(dst.read_bytes())
            if old == new:
                manifest[str(rel)] = new
                continue
            if manifest.get(str(rel)) != old and not force:
                edited.append(str(rel))
                continue
        plan.append((rel, content, dst, new))
    return plan, edited
