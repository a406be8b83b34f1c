"""The experiments' cache: keys, the per-sample arrays beside each record, and reading a
finished experiment back (:func:`load_outputs`, :func:`load_scores`).

Lesson: notebook 03 (``03_confounding_by_accuracy``).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from .. import data as D
from ..cache import Cache
from ..config import ExperimentConfig
from .outputs import ModelOutputs, ReferenceOutputs

__all__ = ["default_cache", "as_cache", "check_cfg", "experiment_key", "arrays_from_outputs",
           "outputs_from_arrays", "stored_parts", "load_finished", "load_outputs", "load_scores"]


def default_cache() -> Cache:
    """The cache under ``data/cache`` (``$SPARSEPRIV_DATA/cache``)."""
    return Cache(D.default_root() / "cache")


def as_cache(cache) -> Cache:
    """``None``/``True``: the default cache; ``False``: none; a :class:`Cache` or a folder."""
    if cache is None or cache is True:
        return default_cache()
    if cache is False:
        return Cache("/nonexistent", enabled=False)
    if isinstance(cache, Cache):
        return cache
    if isinstance(cache, (str, Path)):
        return Cache(Path(cache))
    raise TypeError(f"The 'cache' parameter must be None, a bool, a Cache or a folder. Got "
                    f"{cache!r} instead.")


def check_cfg(cfg) -> ExperimentConfig:
    """``cfg`` if it is an :class:`ExperimentConfig`, else a ``TypeError``."""
    if not isinstance(cfg, ExperimentConfig):
        raise TypeError(f"The 'cfg' parameter must be an ExperimentConfig. Got "
                        f"{type(cfg).__name__} instead.")
    return cfg


def experiment_key(cfg: ExperimentConfig) -> str:
    """The cache key of ``cfg``'s record and per-sample arrays."""
    return Cache.key({"experiment": check_cfg(cfg).as_dict()})


# --------------------------------------------------------------------------- cached arrays

#: The outputs stored beside a record, by part name.
OUTPUT_PARTS = {"target": ModelOutputs, "shadow": ModelOutputs, "references": ReferenceOutputs}


def stored_parts(inputs) -> dict:
    """The parts of an experiment's attack inputs kept beside its record (:data:`OUTPUT_PARTS`;
    ``None`` for a part no attack needed). Other fields (flags, registered ones) are not kept."""
    return {part: inputs.get(part) for part in OUTPUT_PARTS}


def arrays_from_outputs(outputs: dict, cfg) -> dict:
    """The arrays stored beside a record: ``score__<attack>`` and ``<part>__<field>`` of the
    target, shadow and reference outputs."""
    arrays = {f"score__{k}": np.asarray(v, dtype=np.float64)
              for k, v in outputs["scores"].items()}
    for part in OUTPUT_PARTS:
        obj = outputs[part]
        if obj is None:
            continue
        for f in obj.__dataclass_fields__:
            v = getattr(obj, f)
            if v is not None:
                arrays[f"{part}__{f}"] = v.numpy() if isinstance(v, torch.Tensor) else v
    return arrays


def outputs_from_arrays(arrays: dict, cfg) -> dict:
    """The inverse of :func:`arrays_from_outputs`: ``{"scores", "target", "shadow",
    "references"}``."""
    out = {"scores": {a: arrays[f"score__{a}"] for a in cfg.attack.names}}
    for part, cls in OUTPUT_PARTS.items():
        values = {f: arrays.get(f"{part}__{f}") for f in cls.__dataclass_fields__}
        if values[next(iter(values))] is None:
            out[part] = None
            continue
        out[part] = cls(**{f: torch.from_numpy(v) if v is not None and (
            "logits" in f or f.endswith("labels")) else v for f, v in values.items()})
    return out


def load_finished(cache: Cache, key: str, cfg) -> tuple[pd.DataFrame, dict] | None:
    """``(rows, arrays)`` of a finished experiment, or None (missing, wrong structure,
    arrays corrupt or incomplete: recomputed, with a warning when something was there)."""
    hit = cache.load_json("records", key)
    if hit is None:
        return None
    names = list(cfg.attack.names)
    ok = (isinstance(hit, dict) and isinstance(hit.get("records"), list)
          and all(isinstance(r, dict) for r in hit["records"])
          and [r.get("attack") for r in hit["records"]] == names
          and isinstance(hit.get("scores_sha256"), str)
          and isinstance(hit.get("columns"), list))
    arrays = cache.load_arrays("scores", key, sha256=hit["scores_sha256"]) if ok else None
    if arrays is None or not all(f"score__{a}" in arrays for a in names) \
            or "target__membership" not in arrays:
        warnings.warn(f"cache: record {key[:12]} is malformed or its scores are missing; "
                      "recomputing.", stacklevel=3)
        return None
    return pd.DataFrame(hit["records"], columns=hit["columns"]), arrays


def load_outputs(cfg: ExperimentConfig, *, cache=None) -> dict:
    """Everything a finished experiment computed besides its rows, from the cache: a dict
    with ``"scores"`` ({attack: scores on the target}), ``"target"``, ``"shadow"``
    (:class:`ModelOutputs`) and ``"references"`` (:class:`ReferenceOutputs`), so an attack
    can be refitted or a new one tried without training or querying a model.

    Raises:
        LookupError: ``cfg`` has no finished experiment in the cache (run it first).
    """
    cache = as_cache(cache)
    hit = load_finished(cache, experiment_key(cfg), cfg)
    if hit is None:
        raise LookupError(f"No finished experiment for this config in {cache.root}; run "
                          f"run_experiment(cfg) or run_sweep(configs) with this cache first.")
    return outputs_from_arrays(hit[1], cfg)


def load_scores(cfg, *, cache=None):
    """Per-sample attack scores of a finished experiment, or of each of a sweep's configs.

    Args:
        cfg: an :class:`ExperimentConfig`, or a list of them (a sweep).
        cache: as for :func:`run_experiment`.

    Returns:
        ``{attack: (scores, membership)}`` (membership 1 for the target's members), or a list
        of such dicts, one per config.

    Raises:
        LookupError: a config has no finished experiment in the cache.
    """
    if isinstance(cfg, (list, tuple)):
        return [load_scores(c, cache=cache) for c in cfg]
    out = load_outputs(cfg, cache=cache)
    membership = out["target"].membership
    return {a: (s, membership) for a, s in out["scores"].items()}
