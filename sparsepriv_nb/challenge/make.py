"""``challenge make``: train the targets and write what an attacker may see, apart from the
membership labels (``solutions/``, for the instructor only).

Layout of ``DIR``::

    challenge.json              targets, recipe, sizes, file formats (no labels)
    README.md                   what the files are, the submission format
    <target>/candidates.npz     ids, X (images), y (labels), logits (the target's, on X)
    <target>/reference.npz      ref_logits (M, n, C) of M reference models on the candidates
                                (same order), ref_in (M, n): which reference trained on which
    <target>/population.npz     X, y: the attacker's own data, disjoint from the candidates
    <target>/target_state.pt    the target's weights (only with ``weights=True``)
    solutions/membership.csv    target, id, member (1 = trained on): NOT for students

Candidates are sorted by id, and ids are a seeded permutation over all targets, so neither
the order nor the id says who is a member. Reference models are trained, with the target's
recipe, on random halves of the candidates drawn independently of the target's membership
(what LiRA's attacker does itself), so they carry no label.

Lesson: notebook 02 (``02_membership_inference``), sections 1 (threat model) and 4 (LiRA).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from .. import experiments as E
from .._checks import InstanceOf, Interval, validate_params
from ..experiments.pools import check_disjoint, prepare_data
from ..experiments.store import as_cache
from .targets import TARGETS, target_configs

__all__ = ["make_challenge", "SOLUTIONS"]

#: The instructor-only file, relative to the challenge folder.
SOLUTIONS = Path("solutions") / "membership.csv"


def _target_files(cfg, out: dict, ids: np.ndarray) -> tuple[dict, dict, dict, np.ndarray]:
    """(candidates, reference, population) arrays of one target, candidates in id order, and
    the candidates' membership (1 = member) in that order."""
    ds, pools = prepare_data(cfg)
    attacked = np.r_[pools.target_train, pools.target_test]  # the order of out["target"]
    population = np.r_[pools.shadow_train, pools.shadow_val, pools.shadow_test]
    check_disjoint(population, np.r_[attacked, pools.target_val], "the population",
                   "the target's pool")
    t, r = out["target"], out["references"]
    assert np.array_equal(t.labels.numpy(), ds.y[attacked].numpy())
    order = np.argsort(ids)
    X, y = ds.subset(attacked)
    cand = {"id": ids[order], "X": X.numpy()[order], "y": y.numpy()[order],
            "logits": t.logits.numpy().astype(np.float32)[order]}
    ref = {"id": ids[order], "ref_logits": r.logits.numpy().astype(np.float32)[:, order],
           "ref_in": r.ref_in[:, order]}
    Xp, yp = ds.subset(population)
    return cand, ref, {"X": Xp.numpy(), "y": yp.numpy()}, t.membership[order]


def _readme(info: dict) -> str:
    lines = [f"# Membership-inference challenge ({info['dataset']}, seed {info['seed']})", "",
             "Each target folder holds `candidates.npz` (id, X, y, logits: the target's outputs",
             "on each candidate), `reference.npz` (reference models' logits on the candidates",
             "and which of them each reference trained on) and `population.npz` (data you may",
             "train shadow models on; disjoint from every candidate). Half of each target's",
             "candidates were in its training set.", "",
             "Submit one CSV with columns `id,score` (optionally `target,id,score`): one row",
             "per candidate id of every target, higher score = more likely a member. Scored",
             "at ROC AUC and TPR at 1 % and 10 % FPR, with bootstrap intervals.", "",
             "| target | candidates | description |", "|---|---|---|"]
    lines += [f"| {t['name']} | {t['n_candidates']} | {t['description']} |"
              for t in info["targets"]]
    return "\n".join(lines) + "\n"


def make_challenge(folder, *, dataset: str = "fashion-small", seed: int = 0,
                   size: str = "default", weights: bool = False, cache=None,
                   jobs: int = 1, progress: bool | None = False) -> dict:
    """Train (or load from the cache) the challenge targets and write the challenge folder.

    Args:
        folder: the challenge folder (created; existing challenge files are overwritten).
        dataset, seed, size: see :func:`~sparsepriv_nb.challenge.targets.target_configs`.
        weights: also write each target's weights (a white-box challenge).
        cache: as in :func:`~sparsepriv_nb.experiments.run_experiment`.
        jobs: train the targets in this many worker processes first (through
            :func:`~sparsepriv_nb.experiments.run_sweep` and the cache; needs a cache).
        progress: a progress bar per target.

    Returns:
        The ``challenge.json`` content, plus ``"seconds"`` (wall time of this call).
    """
    validate_params({"weights": weights, "jobs": jobs},
                    {"weights": [InstanceOf(bool, "a bool")], "jobs": [Interval(int, 1, None)]},
                    "make_challenge")
    t0 = time.perf_counter()
    cfgs = target_configs(dataset=dataset, seed=seed, size=size)
    folder = Path(folder)
    if jobs > 1 and as_cache(cache).enabled:  # train in parallel; the loop below loads
        E.run_sweep(list(cfgs.values()), n_jobs=min(jobs, len(cfgs)), cache=cache,
                    progress=progress)
    runs = {name: E.run_experiment(cfg, cache=cache, return_outputs=True, progress=progress)
            for name, cfg in cfgs.items()}
    sizes = [len(out["target"].membership) for _, out in runs.values()]
    all_ids = np.random.default_rng([seed, 271828]).permutation(sum(sizes))
    bounds = np.cumsum([0, *sizes])
    solutions, targets = [], []
    for k, (spec, (df, out)) in enumerate(zip(TARGETS, runs.values())):
        cand, ref, pop, member = _target_files(cfgs[spec.name], out, all_ids[bounds[k]:
                                                                             bounds[k + 1]])
        sub = folder / spec.name
        sub.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(sub / "candidates.npz", **cand)
        np.savez_compressed(sub / "reference.npz", **ref)
        np.savez_compressed(sub / "population.npz", **pop)
        if weights:
            import torch

            torch.save(out["model"].state_dict(), sub / "target_state.pt")
        solutions += [(spec.name, int(i), int(m)) for i, m in zip(cand["id"], member)]
        row = df.set_index("attack")
        targets.append({"name": spec.name, "description": spec.description,
                        "n_candidates": len(member), "n_reference": int(ref["ref_in"].shape[0]),
                        "n_population": len(pop["y"]),
                        "train_acc": round(float(row["train_acc"].iloc[0]), 4),
                        "test_acc": round(float(row["test_acc"].iloc[0]), 4),
                        "config": cfgs[spec.name].as_dict()})
    info = {"dataset": dataset, "seed": seed, "size": size, "targets": targets,
            "submission": "CSV with columns id,score (optionally target,id,score); "
                          "higher score = member"}
    (folder / "challenge.json").write_text(json.dumps(info, indent=1, default=str) + "\n")
    (folder / "README.md").write_text(_readme(info))
    (folder / SOLUTIONS).parent.mkdir(parents=True, exist_ok=True)
    lines = ["target,id,member"] + [f"{t},{i},{m}" for t, i, m in solutions]
    (folder / SOLUTIONS).write_text("\n".join(lines) + "\n")
    return {**info, "seconds": round(time.perf_counter() - t0, 1)}
