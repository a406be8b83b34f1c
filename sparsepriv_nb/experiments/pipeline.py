"""One experiment: train the target, build the inputs its attacks declare, fit and score every
attack, and return (and cache) one record per attack.

Lesson: notebook 02 (``02_membership_inference``); notebook 03 (``03_confounding_by_accuracy``).
"""

from __future__ import annotations

import json

import pandas as pd

from .. import metrics as M
from .. import train
from .._progress import show_progress
from ..attacks import ATTACKS, make_attack
from ..config import ExperimentConfig
from .pools import prepare_data
from .providers import ExperimentContext, build_inputs, needed_fields
from .store import (arrays_from_outputs, as_cache, experiment_key, load_finished,
                    outputs_from_arrays, stored_parts)
from .training import train_or_load

__all__ = ["run_experiment"]


def run_experiment(cfg: ExperimentConfig, *, cache=None, device: str = "auto",
                   root=None, return_outputs: bool = False, progress: bool | None = None):
    """Run one privacy experiment (or read it from the cache); see :mod:`sparsepriv_nb.experiments`.

    Args:
        cfg: the :class:`ExperimentConfig`.
        cache: a :class:`Cache`, a folder, ``None``/``True`` (``data/cache``) or ``False``.
        device: training device.
        root: data folder.
        return_outputs: also return a dict with ``"target"`` and ``"shadow"``
            (:class:`ModelOutputs`; shadow None without shadow-kind attacks),
            ``"references"`` (:class:`ReferenceOutputs` or None), ``"model"`` (the target
            model) and ``"scores"`` ({attack: membership scores on the target}). A finished
            experiment is read from the cache (the target model is loaded, not retrained).
        progress: a tqdm bar over models and attacks (default: in notebooks and terminals).

    Returns:
        DataFrame, one row per attack: ``model`` (label), ``attack``, ``attack_params``,
        ``seed`` and the config's ``section_field`` columns, ``density_achieved``,
        ``train_acc``, ``test_acc``, ``gen_gap``, ``n_members``, with a DP mode ``epsilon``,
        ``delta``, ``dp_calls`` and ``fit_*`` (see
        :func:`~sparsepriv_nb.experiments.training.dp_summary`),
        the metrics of :func:`metrics.attack_record` with their intervals, ``from_cache``.
    """
    cache = as_cache(cache)
    key = experiment_key(cfg)
    hit = load_finished(cache, key, cfg)
    if hit is not None and not return_outputs:
        return hit[0].assign(from_cache=True)
    ds, pools = prepare_data(cfg, root=root)
    train_kw = dict(input_shape=ds.input_shape, num_classes=ds.num_classes, cache=cache,
                    device=device,
                    public_data=ds.subset(pools.public) if len(pools.public) else None)
    tr, te = ds.subset(pools.target_train), ds.subset(pools.target_test)
    if hit is not None:
        target, _ = train_or_load(cfg, tr, role="target", seed=cfg.seed, attacker=False,
                                  val_data=ds.subset(pools.target_val), **train_kw)
        return hit[0].assign(from_cache=True), {**outputs_from_arrays(hit[1], cfg),
                                                "model": target}
    df, outputs = _compute(cfg, ds, pools, tr, te, train_kw, progress)
    arrays = arrays_from_outputs(outputs, cfg)
    sha = cache.save_arrays("scores", key, arrays)  # first the arrays, then the record
    cache.save_json("records", key, {"config": cfg.as_dict(), "scores_sha256": sha,
                                     "columns": list(df.columns),
                                     "records": df.to_dict(orient="records")})
    df = df.assign(from_cache=False)
    return (df, outputs) if return_outputs else df


def _compute(cfg, ds, pools, tr, te, train_kw, progress):
    """Train the target, build the union of the attacks' declared inputs once, then fit and
    score each attack on the fields it declared: ``(records, outputs)``."""
    from tqdm.auto import tqdm

    names = list(cfg.attack.names)
    needs = {n: ATTACKS.get(n).needs for n in names}
    bar = tqdm(total=1 + len(names), desc=cfg.label, leave=False,
               disable=not show_progress(progress))
    target, info = train_or_load(cfg, tr, role="target", seed=cfg.seed, attacker=False,
                                 val_data=ds.subset(pools.target_val), **train_kw)
    bar.update()
    ctx = ExperimentContext(cfg, ds, pools, tr, te, target, train_kw, bar=bar)
    inputs = build_inputs(ctx, needed_fields(needs.values()))
    base = _target_columns(cfg, target, tr, te, train_kw["device"], info)
    records, scores = [], {}
    for name in names:
        params = cfg.attack.params_of(name)
        attack = make_attack(name, random_state=cfg.seed, **params)
        own = inputs.select(needs[name])
        scores[name] = attack.fit_inputs(own).score_inputs(own)
        records.append(M.attack_record(
            scores[name], inputs.target.membership, model=cfg.label, attack=name,
            threshold=attack.threshold_, random_state=cfg.seed,
            attack_params=json.dumps(params, sort_keys=True, default=str), **base))
        bar.update()
    bar.close()
    return pd.DataFrame(records), {**stored_parts(inputs), "model": target, "scores": scores}


def _target_columns(cfg, target, tr, te, device, info: dict) -> dict:
    """The record columns every attack of the experiment shares: the config's, the achieved
    density, accuracies and the generalisation gap, DP accounting."""
    from ..sparsity import overall_density

    base = {**cfg.flat(), "density_achieved": overall_density(target),
            "train_acc": train.evaluate(target, tr, device=device)["accuracy"],
            "test_acc": train.evaluate(target, te, device=device)["accuracy"],
            "n_members": len(tr[1]), **info}
    base["gen_gap"] = base["train_acc"] - base["test_acc"]
    return base
