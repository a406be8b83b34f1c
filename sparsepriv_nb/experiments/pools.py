"""The data of an experiment: the dataset and its disjoint pools.

Lesson: notebook 02 (``02_membership_inference``), section 1 (threat model, disjoint pools).
"""

from __future__ import annotations

import numpy as np

from .. import data as D
from ..config import ExperimentConfig
from .store import check_cfg

__all__ = ["prepare_data", "check_disjoint"]


def prepare_data(cfg: ExperimentConfig, *, root=None):
    """The dataset of ``cfg`` (subset, restricted classes) and its pools (``train_size``: a
    seeded random subset of each train / test pool)."""
    d = check_cfg(cfg).data
    ds = D.load_dataset(d.name, root=root, max_samples=d.max_samples, seed=cfg.seed)
    if d.n_classes is not None:
        ds = D.restrict_classes(ds, d.n_classes)
    pools = D.make_pools(len(ds), seed=cfg.seed, public_fraction=d.public_fraction)
    if d.train_size is not None:
        pools = D.subsample_pools(pools, d.train_size, seed=cfg.seed)
    return ds, pools


def check_disjoint(a, b, what: str, other: str) -> None:
    """Raise if index sets ``a`` and ``b`` share a sample (an explicit check, kept under -O).

    Example:
        >>> check_disjoint([1, 2], [3], "the shadow data", "the target's pool")
        >>> check_disjoint([1, 2], [2], "the shadow data", "the pool")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        AssertionError: the shadow data contains 1 of the pool (e.g. index 2); the attacker ...
    """
    shared = np.intersect1d(np.asarray(a), np.asarray(b))
    if len(shared):
        raise AssertionError(f"{what} contains {len(shared)} of {other} (e.g. index "
                             f"{int(shared[0])}); the attacker must never train on them.")
