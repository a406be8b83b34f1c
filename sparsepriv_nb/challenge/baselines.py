"""``challenge baseline``: example submissions from the files a student gets (never the labels).

* ``random``: seeded uniform scores (chance: the floor every attack must beat);
* ``loss``: minus the cross-entropy of the target's logits (Yeom et al.'s loss attack);
* ``lira``: :class:`~sparsepriv_nb.attacks.LiRA` (online, fixed variance) fitted on the
  reference models of ``reference.npz``.

Lesson: notebook 02 (``02_membership_inference``), sections 2 (loss attack) and 4 (LiRA).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from .._checks import check_choice
from ..attacks import LiRA
from .submission import SubmissionError

__all__ = ["BASELINES", "baseline_scores", "write_baseline"]

BASELINES = ("random", "loss", "lira")


def _load(folder: Path, target: str, name: str) -> dict:
    path = folder / target / f"{name}.npz"
    if not path.is_file():
        raise SubmissionError(f"No {name}.npz for target {target!r} at {path}; is {folder} a "
                              "challenge folder written by 'challenge make'?")
    with np.load(path) as z:
        return dict(z)


def baseline_scores(folder, target: str, attack: str, *, seed: int = 0) -> tuple:
    """``(ids, scores)`` of one baseline on one target, from the student's files only.

    Example:
        >>> try:
        ...     baseline_scores("nowhere", "dense", "guess")
        ... except ValueError as exc:
        ...     print(str(exc)[:77])
        The 'attack' parameter of challenge baseline must be one of ['random', 'loss'
    """
    check_choice(attack, BASELINES, "attack", "challenge baseline")
    folder = Path(folder)
    cand = _load(folder, target, "candidates")
    logits, y = torch.from_numpy(cand["logits"]), torch.from_numpy(cand["y"]).long()
    if attack == "random":
        scores = np.random.default_rng([seed, len(cand["id"])]).random(len(cand["id"]))
    elif attack == "loss":
        scores = -torch.nn.functional.cross_entropy(logits.double(), y, reduction="none").numpy()
    else:
        ref = _load(folder, target, "reference")
        lira = LiRA().fit(torch.from_numpy(ref["ref_logits"]), y, ref["ref_in"].astype(bool))
        scores = lira.score_samples(logits, y)
    return cand["id"], np.asarray(scores, dtype=float)


def write_baseline(folder, attack: str, output, *, seed: int = 0) -> Path:
    """Write ``attack``'s submission for every target of the challenge to ``output`` (CSV
    ``target,id,score``) and return its path."""
    folder, output = Path(folder), Path(output)
    info_path = folder / "challenge.json"
    if not info_path.is_file():
        raise SubmissionError(f"No challenge.json in {folder}; run 'sparsepriv-nb challenge "
                              "make' first.")
    targets = [t["name"] for t in json.loads(info_path.read_text())["targets"]]
    lines = ["target,id,score"]
    for k, target in enumerate(targets):
        ids, scores = baseline_scores(folder, target, attack, seed=seed + k)
        lines += [f"{target},{int(i)},{s!r}" for i, s in zip(ids, scores.tolist())]
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text("\n".join(lines) + "\n")
    return output
