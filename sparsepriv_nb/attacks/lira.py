"""LiRA, Carlini et al.'s likelihood-ratio attack on reference models.

Lesson: notebook 02 (``02_membership_inference``), section 4 (LiRA by hand) and section 3.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats
from sklearn.utils.validation import check_is_fitted

from ..signals import logit_scaled_confidence
from .base import BOOL, Attack
from .reference import check_reference, need_per_sample

__all__ = ["LiRA"]

class LiRA(Attack):
    """Carlini et al.'s likelihood-ratio attack on the logit-scaled confidence ``phi``.

    Args:
        online: fit Gaussians to IN and OUT reference models; ``False`` uses OUT only.
        fixed_variance: one global standard deviation for all samples (better with few
            reference models) instead of a per-sample one (which needs at least 2 IN and 2 OUT
            models per sample, 2 OUT offline).

    ``fit(ref_logits, labels, ref_in)`` takes the reference models' logits on the samples to
    attack ``(M, N, C)`` (``M >= 4``), their labels and the IN mask ``(M, N)``;
    ``score_samples(logits, labels)`` scores the target's logits on the same N samples:

    * online: ``log N(phi; mu_in, s_in) - log N(phi; mu_out, s_out)``;
    * offline: ``-log(1 - Phi((phi - mu_out) / s_out))``, the one-sided tail as a score
      (higher = member).

    Standard deviations are population ones (``ddof=0``), as in Carlini et al.'s code.

    Example:
        >>> import torch
        >>> from sparsepriv_nb.attacks import reference_in_masks
        >>> rng = np.random.default_rng(0)
        >>> keep = reference_in_masks(50, 8, seed=0)
        >>> R = torch.tensor(rng.normal(size=(8, 50, 2)))
        >>> R[..., 0] += 2.0 * torch.tensor(keep)  # IN models are confident on class 0
        >>> y = torch.zeros(50, dtype=torch.long)
        >>> lira = LiRA().fit(R, y, keep)
        >>> target = R[0]  # reference 0 as the target: its IN samples are its members
        >>> s = lira.score_samples(target, y)
        >>> bool(s[keep[0]].mean() > s[~keep[0]].mean())
        True
    """

    _parameter_constraints = {"online": [BOOL], "fixed_variance": [BOOL]}

    def __init__(self, *, online: bool = True, fixed_variance: bool = True):
        self.online = online
        self.fixed_variance = fixed_variance

    def fit(self, ref_logits, labels, ref_in, *, population_logits=None,
            population_labels=None):
        """Fit the per-sample Gaussians (the population arguments are ignored)."""
        self._validate_params()
        if ref_in is None:
            raise ValueError("LiRA needs the 'ref_in' parameter (which reference models trained "
                             "on which sample); build it with reference_in_masks.")
        _, y, phi, keep = check_reference(ref_logits, labels, ref_in, owner="LiRA")
        k = 1 if self.fixed_variance else 2
        why = "with fixed variance" if self.fixed_variance else "with per-sample variance"
        need_per_sample(keep, "OUT", k, "LiRA", why)
        if self.online:
            need_per_sample(keep, "IN", k, "LiRA (online)", why)
        with np.errstate(invalid="ignore", divide="ignore"):
            mu_out = np.nanmean(np.where(~keep, phi, np.nan), 0)
            dev_out = np.where(~keep, phi - mu_out, np.nan)
            if self.online:
                mu_in = np.nanmean(np.where(keep, phi, np.nan), 0)
                dev_in = np.where(keep, phi - mu_in, np.nan)
        axis = None if self.fixed_variance else 0
        std_out = np.broadcast_to(np.nanstd(dev_out, axis), mu_out.shape).copy()
        std_in = np.broadcast_to(np.nanstd(dev_in, axis), mu_out.shape).copy() \
            if self.online else None
        for what, s in (("OUT", std_out), ("IN", std_in)):
            if s is not None and not (s > 0).all():
                raise ValueError(f"LiRA: the {what} reference models give identical phi for "
                                 f"{int((s <= 0).sum())} sample(s), a zero-width Gaussian; "
                                 "use fixed_variance=True or more (different) reference models.")
        self.mu_out_, self.std_out_ = mu_out, std_out
        self.mu_in_ = mu_in if self.online else None
        self.std_in_ = std_in
        self.labels_ = y.numpy().copy()
        self.threshold_ = 0.0 if self.online else -math.log(0.5)
        return self

    def fit_inputs(self, inputs) -> LiRA:
        """Fit on ``inputs.references``."""
        r = inputs.references
        return self.fit(r.logits, r.labels, r.ref_in)

    def score_inputs(self, inputs) -> np.ndarray:
        """Score ``inputs.target``'s logits on the references' samples."""
        return self.score_samples(inputs.target.logits, inputs.references.labels)

    def score_samples(self, logits, labels, *, target_population_logits=None) -> np.ndarray:
        """The likelihood ratio (online) or one-sided tail score (offline) of each sample."""
        check_is_fitted(self, "threshold_")
        phi = logit_scaled_confidence(logits, labels)
        if len(phi) != len(self.mu_out_):
            raise ValueError(f"LiRA was fitted on {len(self.mu_out_)} samples; score_samples got"
                             f" {len(phi)}. Score the same samples the references saw.")
        if not np.array_equal(np.asarray(labels).reshape(-1), self.labels_):
            raise ValueError("LiRA.score_samples got labels that differ from those of 'fit'.")
        if self.online:
            return (stats.norm.logpdf(phi, self.mu_in_, self.std_in_)
                    - stats.norm.logpdf(phi, self.mu_out_, self.std_out_))
        return -stats.norm.logsf(phi, self.mu_out_, self.std_out_)
