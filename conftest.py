"""Session plumbing for the whole suite: tests/, the lessons under nbval, the doctests.

The suite runs in parallel with pytest-xdist (``-n auto --dist loadfile`` in pyproject's
addopts): one worker per usable core, at most :data:`MAX_WORKERS`; each file (so each
notebook, whose cells share one kernel) stays in one worker. ``-n 0`` runs it serially;
``PYTEST_XDIST_AUTO_NUM_WORKERS=N`` sets the worker count.

* Order: the lessons go first, then the files marked ``slow`` or ``browser`` (the longest
  files first, so the workers finish together; measured: a wheel test left last kept one
  worker busy alone for two minutes), and the notebooks that read the findings 02-06 record
  (07) go last. Under xdist a reader also waits, before its first cell, until every recorder
  notebook of this session has finished on whichever worker ran it (marker files in the
  session's shared temporary folder).
* Kernels: nbval's kernels listen on Unix sockets in a private folder instead of TCP ports,
  which kernels started at once by several workers could pick twice (as ``sparsepriv-nb run
  --jobs`` does; see ``sparsepriv_nb.cli``).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

import pytest

MAX_WORKERS = 4
READERS = ("07_",)  # notebooks that read what the recorders left in the cache
RECORDERS = ("02_", "03_", "04_", "05_", "06_")  # notebooks that call spn.findings.record
READER_WAIT_S = 1800  # then the reader runs anyway (it names the notebooks to run first)


def pytest_xdist_auto_num_workers(config):
    """``-n auto``: the usable cores (CPU affinity), at most MAX_WORKERS."""
    env = os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS")
    if env:
        return int(env)
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return max(1, min(MAX_WORKERS, cores))


def _notebook(item) -> str | None:
    path = Path(str(item.fspath))
    return path.name if path.suffix == ".ipynb" else None


def _rank(item) -> int:
    """0: the lessons, 1: files marked slow or browser (minutes each), 2: the rest, 3: readers."""
    name = _notebook(item)
    if name is not None:
        return 3 if name.startswith(READERS) else 0
    return 1 if item.get_closest_marker("slow") or item.get_closest_marker("browser") else 2


def pytest_collection_modifyitems(session, config, items):
    items[:] = sorted(items, key=_rank)  # stable: each file's items keep their order


def _shared_dir(config) -> Path:
    """A folder all workers of this run share (the parent of each worker's basetemp)."""
    base = config._tmp_path_factory.getbasetemp()
    return base.parent if hasattr(config, "workerinput") else base


def pytest_runtest_teardown(item, nextitem):
    name = _notebook(item)
    if name and (nextitem is None or _notebook(nextitem) != name):
        (_shared_dir(item.config) / f"notebook-done-{name}").touch()


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    name = _notebook(item)
    if (not name or not name.startswith(READERS) or not hasattr(item.config, "workerinput")
            or getattr(item.config, "_spn_waited", None) == name):
        return
    item.config._spn_waited = name
    recorders = {n for n in map(_notebook, item.session.items) if n and n.startswith(RECORDERS)}
    shared, deadline = _shared_dir(item.config), time.monotonic() + READER_WAIT_S
    while time.monotonic() < deadline:
        if all((shared / f"notebook-done-{n}").exists() for n in recorders):
            return
        time.sleep(1)


_SOCKETS: list[str] = []


def _ipc_kernels() -> None:
    """Make nbval start its kernels on Unix sockets in a folder of this process."""
    try:
        import nbval.kernel
    except ImportError:
        return
    base = nbval.kernel.KernelManager

    class IpcKernelManager(base):
        def __init__(self, **kw):
            if not _SOCKETS:
                _SOCKETS.append(tempfile.mkdtemp(prefix="spn-nbval-"))
            kw.setdefault("transport", "ipc")
            kw.setdefault("ip", os.path.join(_SOCKETS[0], f"k{len(_SOCKETS)}"))
            _SOCKETS.append(kw["ip"])
            super().__init__(**kw)

    nbval.kernel.KernelManager = IpcKernelManager


def pytest_configure(config):
    if os.name == "posix":
        _ipc_kernels()


def pytest_unconfigure(config):
    if _SOCKETS:
        shutil.rmtree(_SOCKETS[0], ignore_errors=True)
