"""Attack metrics from scikit-learn's ROC (METHODS.md section 2).

* balanced accuracy ``(TPR + TNR) / 2`` at a chosen threshold;
* ROC AUC;
* TPR at FPR = 0.1 % and 1 %, read off the ROC as the largest TPR whose FPR does not exceed
  the target (Carlini et al. 2022);
* membership advantage ``TPR - FPR``: ``advantage`` at the chosen threshold and
  ``max_advantage`` over all thresholds;
* defense level = ``1 - advantage`` = ``2 (1 - balanced accuracy)`` (this project's definition
  for Gonon et al.'s Figure 1 view): 1 = chance, 0 = perfect attack.

Example:
    >>> scores = [0.9, 0.8, 0.3, 0.2]; members = [1, 1, 0, 0]
    >>> m = attack_metrics(scores, members, threshold=0.5)
    >>> m["auc"], m["balanced_accuracy"], m["defense_level"]
    (1.0, 1.0, 0.0)
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import roc_auc_score, roc_curve

__all__ = ["check_membership", "check_scores", "roc", "tpr_at_fpr", "best_threshold",
           "balanced_accuracy", "attack_metrics", "attack_record",
           "inversion_quality"]


def check_membership(membership, n: int) -> np.ndarray:
    """Validate 0/1 (or bool) ``membership`` of length ``n`` holding both classes."""
    m = np.asarray(membership)
    if m.shape != (n,):
        raise ValueError(f"The 'membership' parameter must have shape ({n},) to match the "
                         f"scores or logits. Got {m.shape} instead.")
    if not np.isin(m, [0, 1]).all():
        raise ValueError("The 'membership' parameter must hold 0/1 (or bool) values.")
    m = m.astype(int)
    if len(np.unique(m)) < 2:
        raise ValueError("The 'membership' parameter holds a single class "
                         f"({'members' if m.size and m[0] else 'non-members'} only); "
                         "an attack needs both members (1) and non-members (0).")
    return m


def check_scores(scores, membership) -> tuple[np.ndarray, np.ndarray]:
    """Validate ``scores`` (finite, 1-D) and ``membership`` (see :func:`check_membership`)."""
    s = np.asarray(scores, dtype=float)
    if s.ndim != 1:
        raise ValueError(f"The 'scores' parameter must be 1-D. Got shape {s.shape}.")
    if not np.isfinite(s).all():
        raise ValueError(f"The 'scores' parameter contains {int((~np.isfinite(s)).sum())} NaN "
                         "or infinite values.")
    return s, check_membership(membership, len(s))


def roc(scores, membership) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(fpr, tpr, thresholds)`` from ``sklearn.metrics.roc_curve`` (member = positive)."""
    s, m = check_scores(scores, membership)
    return roc_curve(m, s)


def tpr_at_fpr(fpr: np.ndarray, tpr: np.ndarray, target: float) -> float:
    """Largest TPR on the ROC with ``FPR <= target`` (0 if no such point but the origin).

    Example:
        >>> tpr_at_fpr(np.array([0, 0.005, 0.02, 1]), np.array([0, 0.3, 0.6, 1]), 0.01)
        0.3
    """
    if not 0 <= target <= 1:
        raise ValueError(f"The 'target' parameter of tpr_at_fpr must be in [0, 1]. Got {target}.")
    ok = np.asarray(fpr) <= target + 1e-12
    return float(np.max(np.asarray(tpr)[ok])) if ok.any() else 0.0


def best_threshold(scores, membership) -> float:
    """The threshold maximising ``TPR - FPR`` (equivalently balanced accuracy); predict member
    when ``score >= threshold``."""
    s, m = check_scores(scores, membership)
    fpr, tpr, thr = roc_curve(m, s, drop_intermediate=False)  # every candidate threshold
    i = int(np.argmax(tpr - fpr))
    t = thr[i]
    return float(t if np.isfinite(t) else np.max(s) + 1.0)


def balanced_accuracy(scores, membership, threshold: float) -> float:
    """``(TPR + TNR) / 2`` when predicting member for ``score >= threshold``."""
    s, m = check_scores(scores, membership)
    pred = s >= threshold
    return float(0.5 * (pred[m == 1].mean() + (~pred[m == 0]).mean()))


def attack_metrics(scores, membership, *, threshold: float | None = None) -> dict:
    """All attack metrics as one flat dict.

    Args:
        scores: membership scores (higher = member).
        membership: 1 for members, 0 for non-members.
        threshold: the attack's fitted threshold (e.g. ``attack.threshold_``, fitted on
            shadow data). ``None`` uses the best threshold on these very scores, an
            optimistic upper bound; ``threshold_source`` records which.

    Returns:
        ``auc, balanced_accuracy, advantage, max_advantage, defense_level, tpr@0.1%fpr,
        tpr@1%fpr, threshold, threshold_source, n_members, n_nonmembers``.
    """
    s, m = check_scores(scores, membership)
    fpr, tpr, _ = roc_curve(m, s)
    source = "fitted"
    if threshold is None:
        threshold, source = best_threshold(s, m), "oracle"
    bacc = balanced_accuracy(s, m, threshold)
    adv = 2 * bacc - 1
    return {
        "auc": float(roc_auc_score(m, s)),
        "balanced_accuracy": bacc,
        "advantage": adv,
        "max_advantage": float(np.max(tpr - fpr)),
        "defense_level": 1 - adv,
        "tpr@0.1%fpr": tpr_at_fpr(fpr, tpr, 0.001),
        "tpr@1%fpr": tpr_at_fpr(fpr, tpr, 0.01),
        "threshold": float(threshold),
        "threshold_source": source,
        "n_members": int(m.sum()),
        "n_nonmembers": int((1 - m).sum()),
    }


def attack_record(scores, membership, *, model: str, attack: str,
                  threshold: float | None = None, **extra) -> dict:
    """:func:`attack_metrics` plus ``model`` and ``attack`` names and any ``extra`` fields:
    one tidy row; a list of them is a DataFrame with one row per (model, attack).

    Example:
        >>> r = attack_record([0.9, 0.1], [1, 0], model="dense", attack="loss", seed=0)
        >>> r["model"], r["attack"], r["seed"], r["auc"]
        ('dense', 'loss', 0, 1.0)
    """
    return {"model": model, "attack": attack, **extra,
            **attack_metrics(scores, membership, threshold=threshold)}


def inversion_quality(inverted: np.ndarray, original: np.ndarray,
                      data_range: float = 1.0) -> dict:
    """MSE, PSNR and SSIM (scikit-image) between two images ``(C, H, W)`` or ``(H, W)``."""
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity

    a = np.asarray(inverted, dtype=np.float64)
    b = np.asarray(original, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"inversion_quality: shapes differ, {a.shape} vs {b.shape}.")
    if a.ndim == 3:
        a, b = np.moveaxis(a, 0, -1), np.moveaxis(b, 0, -1)
    mse = float(np.mean((a - b) ** 2))
    psnr = float(peak_signal_noise_ratio(b, a, data_range=data_range)) if mse > 0 else np.inf
    win = min(7, *[s if s % 2 else s - 1 for s in b.shape[:2]])
    ssim = float(structural_similarity(b, a, data_range=data_range, win_size=win,
                                       channel_axis=-1 if a.ndim == 3 else None))
    return {"mse": mse, "psnr": psnr, "ssim": ssim}
