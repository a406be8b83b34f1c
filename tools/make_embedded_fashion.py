"""Build the embedded Fashion-MNIST subset ``sparsepriv_nb/datasets/fashion_subset.npz``.

Fashion-MNIST (Xiao, Rasul & Vollgraf 2017, https://github.com/zalandoresearch/fashion-mnist)
is MIT licensed. This script reads the four IDX ``.gz`` files (Debian's ``dataset-fashion-mnist``
package by default), joins train and test (70 000 images), draws a seeded class-stratified
subset of ``--n`` images (400 per class for the default 4000) and writes them as ``uint8``
(``images`` ``(n, 28, 28)``, ``labels`` ``(n,)``, ``source_index`` ``(n,)``: the row in the
joined 70 000) with ``numpy.savez_compressed``. The result is deterministic for a given seed
(zip members carry a fixed timestamp), so its SHA-256 is recorded in
``sparsepriv_nb.data.FASHION_SMALL_SHA256`` and checked on every load.

Run: ``python tools/make_embedded_fashion.py [--source DIR] [--n 4000] [--seed 0] [--out PATH]``
and update ``FASHION_SMALL_SHA256`` if anything changed (the script prints the digest).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
from pathlib import Path

import numpy as np

SOURCE = Path("/usr/share/datasets/fashion-mnist")
OUT = Path(__file__).resolve().parent.parent / "sparsepriv_nb" / "datasets" / "fashion_subset.npz"
FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
         "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}


def read_idx(path: Path) -> np.ndarray:
    """An IDX file (``.gz`` or raw) as a uint8 array."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        raw = f.read()
    if raw[:2] != b"\0\0" or raw[2] != 8:
        raise ValueError(f"{path} is not an IDX file of unsigned bytes.")
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(shape)


def _find(source: Path, name: str) -> Path:
    for p in (source / (name + ".gz"), source / name):
        if p.exists():
            return p
    raise FileNotFoundError(f"{name}(.gz) not found in {source}")


def build(source: Path = SOURCE, n: int = 4000, seed: int = 0) -> dict[str, np.ndarray]:
    """The subset's arrays: ``n / 10`` images per class, drawn with ``seed``, in ascending
    order of their index in the joined train + test set."""
    images = np.concatenate([read_idx(_find(source, FILES[p][0])) for p in ("train", "test")])
    labels = np.concatenate([read_idx(_find(source, FILES[p][1])) for p in ("train", "test")])
    if n % 10:
        raise ValueError(f"--n must be a multiple of 10 (the classes). Got {n}.")
    rng = np.random.default_rng(seed)
    idx = np.sort(np.concatenate([rng.choice(np.flatnonzero(labels == c), n // 10,
                                             replace=False) for c in range(10)]))
    return {"images": images[idx], "labels": labels[idx],
            "source_index": idx.astype(np.int32)}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", type=Path, default=SOURCE)
    ap.add_argument("--n", type=int, default=4000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=OUT)
    a = ap.parse_args(argv)
    arrays = build(a.source, a.n, a.seed)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(a.out, **arrays)
    digest = hashlib.sha256(a.out.read_bytes()).hexdigest()
    print(f"{a.out}: {len(arrays['labels'])} images, {a.out.stat().st_size / 1e6:.2f} MB, "
          f"sha256 {digest}")


if __name__ == "__main__":
    main()
