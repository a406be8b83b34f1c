"""Datasets and deterministic, disjoint data pools.

Every dataset is loaded whole into memory as a float tensor in ``[0, 1]`` of shape
``(N, C, H, W)`` with integer labels; the privacy experiments then split it, once and from a
seed, into disjoint *pools* (docs/methods.md section 2): the target model's train (members),
validation and test (non-members) sets, the shadow (attacker) model's own three sets, and an
optional public split for masks that must cost no privacy (notebook 06).

Example:
    >>> ds = load_dataset("digits")
    >>> ds.X.shape, ds.num_classes, ds.input_shape
    (torch.Size([1797, 1, 8, 8]), 10, (1, 8, 8))
    >>> pools = make_pools(len(ds), seed=0)
    >>> len(pools.target_train) == len(pools.target_test)
    True

Lesson: notebook 01 (``01_sparsity_methods``); notebook 02 (``02_membership_inference``), section 1.
"""

from __future__ import annotations

import gzip
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch.utils.data import DataLoader, TensorDataset

from ._checks import Interval, Options, ParameterError, validate_params

__all__ = [
    "Dataset",
    "Pools",
    "DATASETS",
    "DEBIAN_FASHION_MNIST",
    "EMBEDDED_FASHION",
    "FASHION_SMALL_SHA256",
    "FASHION_CLASSES",
    "default_root",
    "load_dataset",
    "make_pools",
    "subsample_pools",
    "shadow_splits",
    "make_loader",
    "restrict_classes",
]

#: Where Debian's ``dataset-fashion-mnist`` package puts the four IDX ``.gz`` files.
DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")

#: The embedded 4000-image Fashion-MNIST subset (``tools/make_embedded_fashion.py``).
EMBEDDED_FASHION = Path(__file__).resolve().parent / "datasets" / "fashion_subset.npz"

#: SHA-256 of :data:`EMBEDDED_FASHION`, checked on every load.
FASHION_SMALL_SHA256 = "66feb334adf34ad93d037e275676dfb1ffcd778ef6fc1f9c125e3f73160b1297"

#: Fashion-MNIST's class names, label order.
FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                   "Sneaker", "Bag", "Ankle boot")

_IDX_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


@dataclass(frozen=True)
class Dataset:
    """A whole labelled dataset in memory.

    Attributes:
        name: registry name.
        X: float32 tensor ``(N, C, H, W)`` with values in ``value_range``.
        y: int64 tensor ``(N,)`` of labels ``0 .. num_classes - 1``.
        num_classes: number of classes.
        value_range: ``(low, high)`` of pixel values (model inversion clamps to it).
        classes: human-readable class names.
    """

    name: str
    X: torch.Tensor
    y: torch.Tensor
    num_classes: int
    value_range: tuple[float, float] = (0.0, 1.0)
    classes: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.y)

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one sample, ``(C, H, W)``."""
        return tuple(self.X.shape[1:])

    def subset(self, indices) -> tuple[torch.Tensor, torch.Tensor]:
        """Return ``(X[indices], y[indices])``."""
        idx = torch.as_tensor(np.asarray(indices), dtype=torch.long)
        return self.X[idx], self.y[idx]


def default_root() -> Path:
    """The data folder: ``$SPARSEPRIV_DATA``, else ``<checkout>/data`` for an editable
    install, else ``~/.cache/sparsepriv_nb`` (never inside site-packages)."""
    env = os.environ.get("SPARSEPRIV_DATA")
    if env:
        return Path(env)
    checkout = Path(__file__).resolve().parent.parent
    if (checkout / "pyproject.toml").exists() and (checkout / "notebooks").is_dir():
        return checkout / "data"
    return Path.home() / ".cache" / "sparsepriv_nb"


# --------------------------------------------------------------------------- loaders


def _load_digits(root: Path, download: bool) -> Dataset:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    X = torch.tensor(bunch.images, dtype=torch.float32).unsqueeze(1) / 16.0
    y = torch.tensor(bunch.target, dtype=torch.long)
    return Dataset("digits", X, y, 10, classes=tuple(str(i) for i in range(10)))


def _load_fashion_small(root: Path, download: bool) -> Dataset:
    """The embedded Fashion-MNIST subset: 4000 images (400 per class), no files, no network."""
    import hashlib

    raw = EMBEDDED_FASHION.read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    if digest != FASHION_SMALL_SHA256:
        raise OSError(f"fashion-small: {EMBEDDED_FASHION} has SHA-256 {digest}, not the "
                      f"recorded {FASHION_SMALL_SHA256}; the file is damaged or was rebuilt "
                      "without updating data.FASHION_SMALL_SHA256 (reinstall the package, or "
                      "run tools/make_embedded_fashion.py).")
    with np.load(EMBEDDED_FASHION) as z:
        images, labels = z["images"], z["labels"]
    X = torch.from_numpy(images.astype(np.float32) / 255.0).unsqueeze(1)
    y = torch.from_numpy(labels.astype(np.int64))
    return Dataset("fashion-small", X, y, 10, classes=FASHION_CLASSES)


def _stage_raw_idx(raw_dir: Path, sources: list[Path]) -> bool:
    """Put decompressed IDX files into ``raw_dir`` from the first source holding all four.

    torchvision checks the MD5 of the ``.gz`` archives it downloads; Debian recompressed its
    copies, so we hand torchvision the decompressed files, which it loads without checksums.
    """
    if all((raw_dir / f).exists() for f in _IDX_FILES):
        return True
    for src in sources:
        found = {}
        for f in _IDX_FILES:
            for candidate in (src / f, src / (f + ".gz")):
                if candidate.exists():
                    found[f] = candidate
                    break
        if len(found) < len(_IDX_FILES):
            continue
        raw_dir.mkdir(parents=True, exist_ok=True)
        for f, path in found.items():
            target = raw_dir / f
            if target.exists():
                continue
            tmp = target.with_suffix(".tmp")
            opener = gzip.open if path.suffix == ".gz" else open
            with opener(path, "rb") as fin, open(tmp, "wb") as fout:
                shutil.copyfileobj(fin, fout)
            tmp.replace(target)  # atomic: a partial file never looks complete
        return True
    return False


def _mnist_like(cls_name: str, name: str, extra_sources: list[Path]):
    def loader(root: Path, download: bool) -> Dataset:
        import torchvision

        cls = getattr(torchvision.datasets, cls_name)
        raw_dir = root / cls_name / "raw"
        have = _stage_raw_idx(raw_dir, [root, root / cls_name, *extra_sources])
        if not have and not download:
            raise FileNotFoundError(
                f"{name}: no IDX files under {raw_dir} (nor in {[str(s) for s in extra_sources]})"
                " and download=False. Pass download=True to fetch them with torchvision, or"
                " place the four IDX files (.gz or raw) in root."
            )
        parts = [cls(str(root), train=t, download=download and not have) for t in (True, False)]
        X = torch.cat([p.data for p in parts]).unsqueeze(1).float() / 255.0
        y = torch.cat([p.targets for p in parts]).long()
        return Dataset(name, X, y, 10, classes=tuple(parts[0].classes))

    return loader


def _load_cifar10(root: Path, download: bool) -> Dataset:
    import torchvision

    parts = [torchvision.datasets.CIFAR10(str(root), train=t, download=download)
             for t in (True, False)]
    X = torch.cat([torch.from_numpy(p.data) for p in parts]).permute(0, 3, 1, 2).float() / 255.0
    y = torch.cat([torch.as_tensor(p.targets) for p in parts]).long()
    return Dataset("cifar10", X, y, 10, classes=tuple(parts[0].classes))


#: Registry: dataset name -> loader ``(root, download) -> Dataset``.
DATASETS: dict[str, Callable[[Path, bool], Dataset]] = {
    "digits": _load_digits,
    "fashion-small": _load_fashion_small,
    "fashion-mnist": _mnist_like("FashionMNIST", "fashion-mnist", [DEBIAN_FASHION_MNIST]),
    "mnist": _mnist_like("MNIST", "mnist", []),
    "cifar10": _load_cifar10,
}

_MEMO: dict[tuple, Dataset] = {}
_SEED = Interval(int, 0, None)


def load_dataset(name: str, *, root: str | os.PathLike | None = None, download: bool = False,
                 max_samples: int | None = None, seed: int = 0) -> Dataset:
    """Load a registered dataset (train and test parts joined; pools re-split them).

    Args:
        name: one of ``DATASETS``: ``digits`` (scikit-learn's bundled 8x8 digits, no files),
            ``fashion-small`` (a seeded 4000-image, 400-per-class subset of Fashion-MNIST
            embedded in the package, no files; see ``data/README.md``), ``fashion-mnist``,
            ``mnist`` (offline IDX files in ``root`` or Debian's Fashion-MNIST package
            first), ``cifar10``.
        root: data folder; defaults to :func:`default_root`.
        download: let torchvision download files that are not found locally.
        max_samples: keep a stratified random subset of this size (for CPU profiles).
        seed: seed of that subset.

    Returns:
        The :class:`Dataset`.

    Raises:
        ValueError: unknown ``name`` or bad ``max_samples``.
        FileNotFoundError: files missing and ``download=False``.

    Example:
        >>> load_dataset("digits", max_samples=100).X.shape
        torch.Size([100, 1, 8, 8])
    """
    validate_params({"name": name, "max_samples": max_samples, "seed": seed},
                    {"name": [Options(lambda: sorted(DATASETS))],
                     "max_samples": [Interval(int, 2, None), None], "seed": [_SEED]},
                    "load_dataset")
    root = Path(root) if root is not None else default_root()
    key = (name, str(root.resolve()))
    if key not in _MEMO:
        _MEMO[key] = DATASETS[name](root, download)
    ds = _MEMO[key]
    if max_samples is None or max_samples >= len(ds):
        return ds
    from sklearn.model_selection import train_test_split

    idx, _ = train_test_split(np.arange(len(ds)), train_size=max_samples,
                              stratify=ds.y.numpy(), random_state=seed)
    idx = np.sort(idx)
    X, y = ds.subset(idx)
    return Dataset(ds.name, X, y, ds.num_classes, ds.value_range, ds.classes)


def restrict_classes(ds: Dataset, n_classes: int) -> Dataset:
    """Keep the samples of the first ``n_classes`` classes (used for 'success vs #classes').

    Example:
        >>> restrict_classes(load_dataset("digits"), 2).num_classes
        2
    """
    validate_params({"n_classes": n_classes},
                    {"n_classes": [Interval(int, 2, ds.num_classes)]}, "restrict_classes")
    keep = ds.y < n_classes
    return Dataset(ds.name, ds.X[keep], ds.y[keep], n_classes, ds.value_range,
                   ds.classes[:n_classes])


# --------------------------------------------------------------------------- pools


@dataclass(frozen=True)
class Pools:
    """Disjoint index sets into one dataset.

    ``target_*`` belong to the model under attack, ``shadow_*`` to the attacker, ``public``
    to nobody's private data. ``*_train`` and ``*_test`` have equal sizes so that members and
    non-members are balanced.
    """

    target_train: np.ndarray
    target_val: np.ndarray
    target_test: np.ndarray
    shadow_train: np.ndarray
    shadow_val: np.ndarray
    shadow_test: np.ndarray
    public: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))

    def as_dict(self) -> dict[str, np.ndarray]:
        """Pool name -> indices."""
        return {k: getattr(self, k) for k in self.__dataclass_fields__}

    def check_disjoint(self) -> None:
        """Raise ``AssertionError`` if any index is in two pools (or twice in one)."""
        all_idx = np.concatenate(list(self.as_dict().values()))
        if len(np.unique(all_idx)) != len(all_idx):
            raise AssertionError("data pools overlap: some sample is in two pools")


def _check_fractions(fractions) -> np.ndarray:
    try:
        fr = np.asarray(fractions, dtype=float)
    except (TypeError, ValueError):
        fr = np.full(1, np.nan)
    if fr.shape != (3,) or not np.isfinite(fr).all() or (fr < 0).any() \
            or not np.isclose(fr.sum(), 1.0) or fr[0] == 0:
        raise ParameterError("The 'fractions' parameter of make_pools must be 3 non-negative "
                             "numbers (train, val, test) summing to 1 with train > 0. Got "
                             f"{fractions!r} instead.")
    return fr


def make_pools(n: int, *, seed: int, fractions=(0.45, 0.10, 0.45),
               public_fraction: float = 0.0) -> Pools:
    """Split ``range(n)`` into disjoint target / shadow / public pools from one seed.

    The public split (if any) is taken first; the rest is halved into the target and shadow
    halves, each split ``fractions`` = (train, val, test) as in Yuan & Zhang (45/10/45).
    Train and test get exactly the same size (the smaller of the two), so attacks are
    evaluated on balanced members and non-members.

    Args:
        n: dataset size.
        seed: the only source of randomness.
        fractions: train / validation / test fractions within each half; must sum to 1.
        public_fraction: fraction of ``n`` set aside as public data, in [0, 1).

    Example:
        >>> p = make_pools(1000, seed=0, public_fraction=0.1)
        >>> len(p.public), len(p.target_train), len(p.target_val), len(p.target_test)
        (100, 202, 45, 202)
    """
    validate_params({"n": n, "seed": seed, "public_fraction": public_fraction},
                    {"n": [Interval(int, 20, None)], "seed": [_SEED],
                     "public_fraction": [Interval(float, 0, 1, "left")]}, "make_pools")
    fr = _check_fractions(fractions)
    perm = np.random.default_rng(seed).permutation(n)
    n_public = int(round(public_fraction * n))
    public, rest = perm[:n_public], perm[n_public:]
    halves = np.array_split(rest, 2)
    out = {}
    for prefix, half in zip(("target", "shadow"), halves):
        m = len(half)
        n_train = int(np.floor(fr[0] * m))
        n_val = int(np.floor(fr[1] * m))
        n_test = min(n_train, m - n_train - n_val)
        n_train = n_test  # balanced members / non-members
        out[f"{prefix}_train"] = np.sort(half[:n_train])
        out[f"{prefix}_val"] = np.sort(half[n_train:n_train + n_val])
        out[f"{prefix}_test"] = np.sort(half[n_train + n_val:n_train + n_val + n_test])
    pools = Pools(**out, public=np.sort(public))
    pools.check_disjoint()
    return pools


def subsample_pools(pools: Pools, n: int, *, seed: int) -> Pools:
    """Keep a seeded random ``n`` of each ``*_train`` and ``*_test`` pool (validation and
    public pools unchanged), so that members and non-members stay balanced.

    Args:
        pools: from :func:`make_pools`.
        n: members per model, in ``[2, len(pools.target_train)]``.
        seed: the subset's seed (each pool gets its own stream).

    Example:
        >>> p = subsample_pools(make_pools(1000, seed=0), 50, seed=0)
        >>> len(p.target_train), len(p.shadow_test), len(p.target_val)
        (50, 50, 50)
    """
    limit = min(len(pools.target_train), len(pools.shadow_train))
    validate_params({"n": n, "seed": seed}, {"n": [Interval(int, 2, limit)], "seed": [_SEED]},
                    "subsample_pools (the train_size, at most the pools' train size)")
    out = {}
    for i, (name, idx) in enumerate(pools.as_dict().items()):
        if name.endswith(("_train", "_test")):
            rng = np.random.default_rng([int(seed), 7919, i])
            idx = np.sort(rng.choice(idx, size=int(n), replace=False))
        out[name] = idx
    return Pools(**out)


def shadow_splits(pools: Pools, n_shadows: int, *,
                  seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Members and non-members of each of ``n_shadows`` shadow models (Shokri et al.): every
    shadow gets its own seeded split of the shadow pool (``shadow_train`` + ``shadow_test``)
    into two halves; the first shadow uses the pools' own split.

    Example:
        >>> p = make_pools(200, seed=0)
        >>> (m0, n0), (m1, n1) = shadow_splits(p, 2, seed=0)
        >>> bool((m0 == p.shadow_train).all()), len(m1) == len(p.shadow_train)
        (True, True)
        >>> sorted(np.r_[m1, n1].tolist()) == sorted(np.r_[m0, n0].tolist())
        True
    """
    validate_params({"n_shadows": n_shadows, "seed": seed},
                    {"n_shadows": [Interval(int, 1, None)], "seed": [_SEED]}, "shadow_splits")
    pool = np.r_[pools.shadow_train, pools.shadow_test]
    m = len(pools.shadow_train)
    splits = [(pools.shadow_train, pools.shadow_test)]
    for i in range(1, int(n_shadows)):
        perm = np.random.default_rng([int(seed), 1000 + i]).permutation(pool)
        splits.append((np.sort(perm[:m]), np.sort(perm[m:])))
    return splits


def make_loader(X: torch.Tensor, y: torch.Tensor, *, batch_size: int = 128,
                shuffle: bool = False, seed: int | None = None) -> DataLoader:
    """A ``DataLoader`` over in-memory tensors; shuffling uses its own seeded generator."""
    validate_params({"batch_size": batch_size, "seed": seed},
                    {"batch_size": [Interval(int, 1, None)], "seed": [_SEED, None]},
                    "make_loader")
    gen = None
    if shuffle:
        gen = torch.Generator().manual_seed(0 if seed is None else int(seed))
    return DataLoader(TensorDataset(X, y), batch_size=batch_size, shuffle=shuffle, generator=gen)
