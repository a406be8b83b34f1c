"""Claims on cache entries, so that concurrent notebooks train a shared model only once.

``sparsepriv-nb run --jobs 2`` runs two notebooks at once, and two notebooks often need the
same cached model (the same target, shadows or LiRA reference models). Without coordination
both would miss the cache, both train, and both write the entry. Writes are atomic
(:mod:`sparsepriv_nb.cache`), so the cache would not be corrupted, but the work would be done
twice. :func:`claim` is an inter-process lock keyed by the cache key: a
:class:`filelock.FileLock` on ``<cache root>/locks/<key>.lock`` (``flock`` on Unix,
``LockFileEx`` on Windows). The pattern (what :func:`compute_once` does) is::

    hit = load()                     # fast path: no lock when the entry exists
    if hit is None:
        with claim(cache_root, key):  # waits while another process computes the entry
            hit = load()             # re-check: the other process may have written it
            if hit is None:
                hit = compute_and_save()

Properties that make this safe:

* The operating system's locks belong to the open file and are released by the kernel when
  the holder exits or is killed, so a crashed notebook never leaves a stale lock behind. Lock
  files are left in place (``preserve_lock_file``: deleting one while another process waits on
  it would let a third process lock a new file of the same name; this also refuses filelock's
  fallback to marker files, which a crash would leave stale); they are empty, and
  ``sparsepriv-nb clean --cache`` removes them with the cache.
* Two claims on the same key conflict even within one process (each :func:`claim` is a lock
  object of its own), so threads are serialised too. A nested claim of the same key by the same
  thread waits for itself until its timeout, then raises :class:`ClaimTimeout`; with
  ``timeout=None`` filelock sees the deadlock and raises ``RuntimeError`` at once.
* A claim that cannot be had within ``timeout`` seconds raises :class:`ClaimTimeout` (a
  ``TimeoutError``) naming the key, the lock file and the timeout.

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

Lesson: notebook 03 (``03_confounding_by_accuracy``) (parallel sweeps).
"""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path
from typing import Callable, Iterator, TypeVar

import filelock

from ._checks import InstanceOf, Interval, validate_params

__all__ = ["claim", "compute_once", "ClaimTimeout", "lock_path"]

T = TypeVar("T")
_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,199}$")


class ClaimTimeout(TimeoutError):
    """Another process held the claim on a cache key for longer than the timeout."""


_KEY_NAME = InstanceOf(str, "a plain name of letters, digits, '_', '.', '-' (at most 200 "
                       "characters), such as a cache key's hex digest",
                       lambda k: bool(_KEY.match(k)))
_FOLDER = InstanceOf((str, os.PathLike), "a folder (str or path)")
_SECONDS = Interval(float, 0, None)


def lock_path(cache_root: str | os.PathLike, key: str) -> Path:
    """The lock file of ``key``: ``<cache_root>/locks/<key>.lock``.

    Raises:
        ParameterError: a key that is not a plain file name (letters, digits, ``_``, ``.``,
            ``-``; at most 200 characters), so that a key can never point outside the folder,
            or a ``cache_root`` that is not a path.
    """
    validate_params({"key": key, "cache_root": cache_root},
                    {"key": [_KEY_NAME], "cache_root": [_FOLDER]}, "claim")
    return Path(cache_root) / "locks" / f"{key}.lock"


@contextlib.contextmanager
def claim(cache_root: str | os.PathLike, key: str, *, timeout: float | None = 3600.0,
          poll: float = 0.05) -> Iterator[Path]:
    """Hold the exclusive claim on cache entry ``key`` for the ``with`` block.

    Args:
        cache_root: the cache folder (:attr:`Cache.root`); ``locks/`` is created in it.
        key: the cache key (a SHA-256 hex digest, or any plain file name).
        timeout: seconds to wait for another holder before raising :class:`ClaimTimeout`;
            ``None`` waits for ever. The default (an hour) exceeds any quick-profile training.
        poll: seconds between attempts while another process holds the claim.

    Yields:
        The lock file's path.

    Raises:
        ClaimTimeout: the claim was not obtained within ``timeout`` seconds.
        ParameterError: a bad ``key``, ``cache_root``, ``timeout`` or ``poll`` (a
            ``ValueError``).
    """
    path = lock_path(cache_root, key)
    validate_params({"timeout": timeout, "poll": poll},
                    {"timeout": [_SECONDS, None],
                     "poll": [Interval(float, 0, None, "neither")]}, "claim")
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = filelock.FileLock(path, timeout=-1 if timeout is None else float(timeout),
                             poll_interval=float(poll), preserve_lock_file=True)
    try:
        lock.acquire()
    except filelock.Timeout:
        raise ClaimTimeout(
            f"Could not claim cache entry {key} within timeout={timeout:g} s: another process "
            f"holds {path} (it is computing that entry). Wait for it, pass a larger timeout, "
            "or run one notebook at a time (--jobs 1).") from None
    try:
        yield path
    finally:
        lock.release()


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
