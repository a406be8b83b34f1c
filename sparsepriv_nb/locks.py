"""Claims on cache entries, so that concurrent notebooks train a shared model only once.

``sparsepriv-nb run --jobs 2`` runs two notebooks at once, and two notebooks often need the
same cached model (the same target, shadows or LiRA reference models). Without coordination
both would miss the cache, both train, and both write the entry. Writes are atomic
(:mod:`sparsepriv_nb.cache`), so the cache would not be corrupted, but the work would be done
twice. :func:`claim` is an inter-process lock keyed by the cache key: ``fcntl.flock`` on
``<cache root>/locks/<key>.lock``. The pattern (what :func:`compute_once` does) is::

    hit = load()                     # fast path: no lock when the entry exists
    if hit is None:
        with claim(cache_root, key):  # waits while another process computes the entry
            hit = load()             # re-check: the other process may have written it
            if hit is None:
                hit = compute_and_save()

Properties that make this safe:

* ``flock`` locks belong to the open file and are released by the kernel when the holder
  exits or is killed, so a crashed notebook never leaves a stale lock behind. Lock files are
  left in place (deleting one while another process waits on it would let a third process lock
  a new file of the same name); they are empty, and ``sparsepriv-nb clean --cache`` removes them
  with the cache.
* Two claims on the same key conflict even within one process (each :func:`claim` opens the
  file anew), so threads are serialised too; a nested claim of the same key by the same thread
  would wait for itself, until its timeout.
* A claim that cannot be had within ``timeout`` seconds raises :class:`ClaimTimeout` (a
  ``TimeoutError``) naming the key, the lock file and the timeout.
* Where ``fcntl`` does not exist (Windows) claims are no-ops: one process at a time is then the
  user's responsibility (``--jobs 1``).

Example:
    >>> import tempfile
    >>> root = tempfile.mkdtemp()
    >>> with claim(root, "ab" * 32, timeout=5) as path:
    ...     path.name
    'abababababababababababababababababababababababababababababababab.lock'
    >>> calls = []
    >>> def train():
    ...     calls.append(1)
    ...     return "model"
    >>> store = {}
    >>> compute_once(root, "k1", load=lambda: store.get("k1"),
    ...              compute=lambda: store.setdefault("k1", train()))
    ('model', True)
    >>> compute_once(root, "k1", load=lambda: store.get("k1"),
    ...              compute=lambda: store.setdefault("k1", train()))
    ('model', False)
    >>> len(calls)
    1
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import time
from pathlib import Path
from typing import Callable, Iterator, TypeVar

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

__all__ = ["claim", "compute_once", "ClaimTimeout", "lock_path"]

T = TypeVar("T")
_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,199}$")


class ClaimTimeout(TimeoutError):
    """Another process held the claim on a cache key for longer than the timeout."""


def lock_path(cache_root: str | os.PathLike, key: str) -> Path:
    """The lock file of ``key``: ``<cache_root>/locks/<key>.lock``.

    Raises:
        ValueError: a key that is not a plain file name (letters, digits, ``_``, ``.``,
            ``-``; at most 200 characters), so that a key can never point outside the folder.
    """
    if not isinstance(key, str) or not _KEY.match(key):
        raise ValueError("The 'key' parameter of claim must be a plain name of letters, digits, "
                         f"'_', '.', '-' (at most 200 characters), such as a cache key's hex "
                         f"digest. Got {key!r} instead.")
    if not isinstance(cache_root, (str, os.PathLike)):
        raise TypeError("The 'cache_root' parameter of claim must be a folder (str or path). "
                        f"Got {type(cache_root).__name__} instead.")
    return Path(cache_root) / "locks" / f"{key}.lock"


def _check_timeout(timeout) -> float | None:
    if timeout is None:
        return None
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) \
            or not (timeout >= 0) or math.isnan(timeout):
        raise ValueError("The 'timeout' parameter of claim must be None (wait for ever) or a "
                         f"number of seconds >= 0. Got {timeout!r} instead.")
    return float(timeout)


@contextlib.contextmanager
def claim(cache_root: str | os.PathLike, key: str, *, timeout: float | None = 3600.0,
          poll: float = 0.05) -> Iterator[Path]:
    """Hold the exclusive claim on cache entry ``key`` for the ``with`` block.

    Args:
        cache_root: the cache folder (:attr:`Cache.root`); ``locks/`` is created in it.
        key: the cache key (a SHA-256 hex digest, or any plain file name).
        timeout: seconds to wait for another holder before raising :class:`ClaimTimeout`;
            ``None`` waits for ever. The default (an hour) exceeds any quick-profile training.
        poll: first wait between attempts in seconds (doubling up to 0.5 s).

    Yields:
        The lock file's path.

    Raises:
        ClaimTimeout: the claim was not obtained within ``timeout`` seconds.
        ValueError: a bad ``key``, ``timeout`` or ``poll``.
    """
    path = lock_path(cache_root, key)
    timeout = _check_timeout(timeout)
    if isinstance(poll, bool) or not isinstance(poll, (int, float)) or not poll > 0:
        raise ValueError(f"The 'poll' parameter of claim must be a number of seconds > 0. Got "
                         f"{poll!r} instead.")
    if fcntl is None:  # pragma: no cover - Windows: no inter-process lock
        yield path
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = None if timeout is None else time.monotonic() + timeout
        wait = float(poll)
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                now = time.monotonic()
                if deadline is not None and now >= deadline:
                    raise ClaimTimeout(
                        f"Could not claim cache entry {key} within timeout={timeout:g} s: "
                        f"another process holds {path} (it is computing that entry). Wait for "
                        "it, pass a larger timeout, or run one notebook at a time (--jobs 1)."
                        ) from None
                time.sleep(wait if deadline is None else min(wait, max(deadline - now, 0)))
                wait = min(wait * 2, 0.5)
        try:
            yield path
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def compute_once(cache_root: str | os.PathLike, key: str, *, load: Callable[[], T | None],
                 compute: Callable[[], T], timeout: float | None = 3600.0) -> tuple[T, bool]:
    """``load()``, or else ``compute()`` under the claim on ``key``, at most once across
    processes: returns ``(value, computed)``.

    ``load`` returns the cached value or ``None``; ``compute`` computes it *and stores it* where
    ``load`` finds it. A process that waited for the claim re-checks with ``load`` before
    computing, so when two processes ask at once, one computes and the other loads.
    """
    hit = load()
    if hit is not None:
        return hit, False
    with claim(cache_root, key, timeout=timeout):
        hit = load()
        if hit is not None:
            return hit, False
        return compute(), True
