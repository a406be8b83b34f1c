"""The lessons travel with the package: build the wheel, install it (not editable) into a fresh
virtual environment, and use ``sparsepriv-nb list / lessons / run`` from there.

The fresh environment gets the wheel only (``--no-deps``); the dependencies are seen through a
``.pth`` line naming this environment's site-packages, so nothing is downloaded. Marked
``slow`` (about a minute or two: a wheel build, a venv, one lesson run).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from sparsepriv_nb import _lessons

pytestmark = pytest.mark.slow

ROOT = _lessons.checkout_root()


def _sh(*cmd, cwd, env=None, timeout=600):
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)
    assert proc.returncode == 0, f"{cmd} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    if ROOT is None:
        pytest.skip("needs the source checkout to build the wheel from")
    base = tmp_path_factory.mktemp("wheel")
    src = base / "src"
    src.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "lessons", ".ipynb_checkpoints")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / "sparsepriv_nb", src / "sparsepriv_nb", ignore=ignore)
    shutil.copytree(ROOT / "notebooks", src / "notebooks", ignore=ignore)
    _sh(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
        "-w", base / "dist", src, cwd=base)
    wheel = next((base / "dist").glob("sparsepriv_nb-*.whl"))
    env_dir = base / "env"
    _sh(sys.executable, "-m", "venv", env_dir, cwd=base)
    py = env_dir / "bin" / "python"
    site = Path(_sh(py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])",
                    cwd=base).strip())
    (site / "shared_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _sh(py, "-m", "pip", "install", "-q", "--no-deps", "--no-index", wheel, cwd=base)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "SPARSEPRIV_NOTEBOOKS")}
    # reuse this checkout's model cache (read-mostly, written atomically): a warm cache
    env["SPARSEPRIV_DATA"] = str(ROOT / "data")
    env["OMP_NUM_THREADS"] = "1"
    # the dependencies' data files (nbconvert's templates, the kernel spec) of this environment,
    # which a real install with dependencies would have in its own prefix
    env["JUPYTER_PATH"] = os.pathsep.join(
        p for p in (str(Path(sys.prefix) / "share" / "jupyter"), env.get("JUPYTER_PATH")) if p)
    work = base / "work"
    work.mkdir()
    return wheel, env_dir, env, work


def test_wheel_carries_the_lessons(installed):
    wheel = installed[0]
    names = zipfile.ZipFile(wheel).namelist()
    lessons = sorted(p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    assert lessons
    for name in lessons:
        assert f"sparsepriv_nb/lessons/{name}" in names
    for profile in ("quick", "standard", "paper"):
        assert f"sparsepriv_nb/lessons/params/{profile}.yaml" in names
    assert "sparsepriv_nb/templates/index.html.j2" in names  # the report index's template


def test_installed_package_lists_copies_and_runs_a_lesson(installed):
    wheel, env_dir, env, work = installed
    py, cli = env_dir / "bin" / "python", env_dir / "bin" / "sparsepriv-nb"
    where = _sh(py, "-c", "import sparsepriv_nb, sparsepriv_nb._lessons as L; "
                "print(sparsepriv_nb.__file__); print(L.lessons_dir())", cwd=work, env=env)
    module, lessons = where.split()
    assert module.startswith(str(env_dir)) and lessons.startswith(str(env_dir)), where

    listing = _sh(cli, "list", cwd=work, env=env)
    assert f"lessons in {lessons}" in listing
    keys = [p.name for p in sorted(Path(lessons).glob("[0-9][0-9]_*.ipynb"))]
    assert all(k in listing for k in keys)

    _sh(cli, "lessons", work / "mine", cwd=work, env=env)
    assert sorted(p.name for p in (work / "mine").glob("*.ipynb")) == keys
    (work / "mine" / keys[0]).write_text("my edits")
    refused = subprocess.run([str(cli), "lessons", str(work / "mine")], cwd=work, env=env,
                             capture_output=True, text=True)
    assert refused.returncode == 2 and "edited lessons" in refused.stderr
    assert (work / "mine" / keys[0]).read_text() == "my edits"

    key = "04" if any(k.startswith("04") for k in keys) else keys[0][:2]
    out = _sh(cli, "run", "--only", key, "--output", work / "report", cwd=work, env=env,
              timeout=900)
    assert ": ok in" in out and "HTML conversion" not in out, out
    assert (work / "report" / "index.html").exists()
    assert next((work / "report").glob(f"{key}_*.html")).stat().st_size > 10_000
