"""A content-addressed, corruption-safe cache for trained models, result records and arrays.

Keys are SHA-256 hashes of a JSON description (the full config plus the package version).
Files are written atomically (temporary file in the same folder, then ``os.replace``), so a
crash never leaves a partial entry under the final name. Models are stored as
``torch.save(state_dict)`` with a JSON sidecar holding the SHA-256 of the ``.pt`` bytes; on
load the hash is checked and the weights are read with ``weights_only=True``. Arrays (per-sample
attack scores, model outputs) are stored as compressed ``.npz`` read with
``allow_pickle=False``; :meth:`Cache.save_arrays` returns their SHA-256 for the record that
refers to them. A missing, truncated or corrupt entry reads as a miss (and is recomputed by the
caller), never trusted.

Example:
    >>> import tempfile
    >>> c = Cache(tempfile.mkdtemp())
    >>> k = c.key({"a": 1})
    >>> c.load_json("records", k) is None
    True
    >>> c.save_json("records", k, {"x": 2}); c.load_json("records", k)
    {'x': 2}
    >>> sha = c.save_arrays("scores", k, {"s": np.arange(3.0)})
    >>> c.load_arrays("scores", k, sha256=sha)["s"]
    array([0., 1., 2.])

Lesson: notebook 03 (``03_confounding_by_accuracy``) (sweeps cached as they finish); every
    notebook caches through it.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
import warnings
from pathlib import Path

import numpy as np
import torch

from ._checks import InstanceOf, validate_params

__all__ = ["Cache", "config_key", "atomic_write_bytes", "SCHEMA"]

#: Bumped whenever what is stored under a key changes (record columns, state-dict layout), so
#: that entries written by older code are never read as current ones.
SCHEMA = 4  # 3: sectioned ExperimentConfig, flat section_field columns, cached scores;
#            4: DP phases composed by one accountant, default delta min(1e-5, 1/(10 n))


def config_key(obj) -> str:
    """SHA-256 of the canonical JSON of ``obj`` plus the package version and cache schema."""
    from . import __version__

    blob = json.dumps({"obj": obj, "version": __version__, "schema": SCHEMA}, sort_keys=True,
                      default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


_PATH_PARTS = {
    "key": [InstanceOf(str, "a SHA-256 hex digest (64 characters 0-9a-f)",
                       lambda k: len(k) == 64 and all(c in "0123456789abcdef" for c in k))],
    "kind": [InstanceOf(str, "a plain folder name such as 'models'",
                        lambda k: k.isidentifier())],
}


class Cache:
    """Folder ``root`` with ``models/<key>.pt`` + ``.json`` and ``records/<key>.json``.

    Args:
        root: cache folder (created on first write).
        enabled: ``False`` turns every load into a miss and every save into a no-op.
    """

    def __init__(self, root: str | os.PathLike, *, enabled: bool = True):
        validate_params({"root": root, "enabled": enabled},
                        {"root": [InstanceOf((str, os.PathLike), "a folder (str or path)")],
                         "enabled": [InstanceOf(bool, "a bool")]}, "Cache")
        self.root = Path(root)
        self.enabled = enabled

    @staticmethod
    def key(obj) -> str:
        return config_key(obj)

    def _path(self, kind: str, key: str, suffix: str) -> Path:
        validate_params({"key": key, "kind": kind}, _PATH_PARTS, "Cache")
        return self.root / kind / f"{key}{suffix}"

    # JSON records -------------------------------------------------------------------
    def save_json(self, kind: str, key: str, obj) -> None:
        if self.enabled:
            atomic_write_bytes(self._path(kind, key, ".json"),
                               json.dumps(obj, sort_keys=True, default=str).encode())

    def load_json(self, kind: str, key: str):
        path = self._path(kind, key, ".json")
        if not self.enabled or not path.exists():
            return None
        try:
            obj = json.loads(path.read_text())
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            warnings.warn(f"cache: corrupt entry {path} ({exc}); recomputing.", stacklevel=2)
            return None
        return obj

    # models ------------------------------------------------------------------------
    def save_model(self, key: str, state_dict: dict, meta: dict) -> None:
        if not self.enabled:
            return
        buf = io.BytesIO()
        torch.save({k: v.detach().cpu() for k, v in state_dict.items()}, buf)
        data = buf.getvalue()
        atomic_write_bytes(self._path("models", key, ".pt"), data)
        self.save_json("models", key, {**meta, "sha256": hashlib.sha256(data).hexdigest()})

    def load_model(self, key: str) -> tuple[dict, dict] | None:
        """``(state_dict, meta)`` or ``None`` when missing or corrupt."""
        pt = self._path("models", key, ".pt")
        meta = self.load_json("models", key)
        if meta is None:
            return None
        try:
            data = pt.read_bytes()
            if hashlib.sha256(data).hexdigest() != meta.get("sha256"):
                raise ValueError("checksum mismatch")
            state = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
        except Exception as exc:  # truncated, corrupt, missing .pt: recompute
            warnings.warn(f"cache: corrupt model {pt} ({exc}); recomputing.", stacklevel=2)
            return None
        return state, meta

    # arrays ------------------------------------------------------------------------
    def save_arrays(self, kind: str, key: str, arrays: dict) -> str | None:
        """Write ``arrays`` (name -> array) as one compressed ``.npz``; return its SHA-256
        (``None`` when the cache is disabled)."""
        if not self.enabled:
            return None
        buf = io.BytesIO()
        np.savez_compressed(buf, **{k: np.asarray(v) for k, v in arrays.items()})
        data = buf.getvalue()
        atomic_write_bytes(self._path(kind, key, ".npz"), data)
        return hashlib.sha256(data).hexdigest()

    def load_arrays(self, kind: str, key: str, *, sha256: str | None = None) -> dict | None:
        """The arrays saved under ``key`` (name -> ndarray), or ``None`` when missing,
        corrupt or not matching ``sha256``."""
        path = self._path(kind, key, ".npz")
        if not self.enabled or not path.exists():
            return None
        try:
            data = path.read_bytes()
            if sha256 is not None and hashlib.sha256(data).hexdigest() != sha256:
                raise ValueError("checksum mismatch")
            with np.load(io.BytesIO(data), allow_pickle=False) as npz:
                return {k: npz[k] for k in npz.files}
        except Exception as exc:  # truncated, corrupt, foreign: recompute
            warnings.warn(f"cache: corrupt arrays {path} ({exc}); recomputing.", stacklevel=2)
            return None
