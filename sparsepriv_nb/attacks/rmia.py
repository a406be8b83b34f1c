"""RMIA, Zarifzadeh et al.'s relative membership inference attack on reference models and a
population.

Lesson: notebook 02 (``02_membership_inference``), section 3.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted

from .._checks import Interval
from ..signals import check_outputs
from .base import BOOL, Attack
from .reference import check_reference, need_per_sample

__all__ = ["RMIA"]

class RMIA(Attack):
    """Zarifzadeh et al.'s relative membership inference attack.

    ``LR(x, z) = [P(x|theta) / P(x)] / [P(z|theta) / P(z)]``, ``Score(x)`` = fraction of
    population samples z with ``LR(x, z) >= gamma``. ``P(.|theta)`` is the true-class
    probability; ``P(x)`` the mean over reference models (online: all of them, half IN);
    offline ``P(x) = ((1 + a) P_OUT(x) + (1 - a)) / 2`` with ``a`` tuned (grid 0..1, step 0.1)
    by attacking reference model 0 with the others when ``a`` is None.

    ``fit(ref_logits, labels, ref_in, population_logits=..., population_labels=...)`` with the
    reference models' logits on the attacked samples ``(M, N, C)`` (``M >= 4``) and on the
    population ``(M, Z, C)`` (samples none of the models trained on);
    ``score_samples(logits, labels, target_population_logits=...)`` with the target's logits on
    the attacked samples and on the population.

    Example:
        >>> from sparsepriv_nb.attacks import reference_in_masks
        >>> rng = np.random.default_rng(0)
        >>> keep = reference_in_masks(40, 4, seed=0)
        >>> R = torch.tensor(rng.normal(size=(4, 40, 2))); R[..., 0] += 2.0 * torch.tensor(keep)
        >>> P = torch.tensor(rng.normal(size=(4, 30, 2)))
        >>> y, yp = torch.zeros(40, dtype=torch.long), torch.zeros(30, dtype=torch.long)
        >>> rmia = RMIA().fit(R, y, keep, population_logits=P, population_labels=yp)
        >>> s = rmia.score_samples(R[0], y, target_population_logits=P[0])
        >>> bool(s[keep[0]].mean() > s[~keep[0]].mean()), float(s.min()) >= 0
        (True, True)
    """

    _parameter_constraints = {"online": [BOOL],
                              "gamma": [Interval(float, 0, math.inf, "neither")],
                              "a": [Interval(float, 0, 1), None]}  # None: tuned

    def __init__(self, *, online: bool = True, gamma: float = 1.0, a: float | None = None):
        self.online = online
        self.gamma = gamma
        self.a = a

    @staticmethod
    def _prob(R, y):
        return torch.softmax(R.double(), -1).gather(-1, y.expand(R.shape[0], -1)[..., None]
                                                   ).squeeze(-1).numpy()

    def _marginal(self, probs, keep, a):
        if self.online:
            return probs.mean(0)
        out = np.where(~keep, probs, np.nan) if keep is not None else probs
        p_out = np.nanmean(out, 0)
        return 0.5 * ((1 + a) * p_out + (1 - a))

    def _scores(self, px_theta, px, pz_theta, pz):
        ratio_x = px_theta / np.maximum(px, 1e-30)
        ratio_z = pz_theta / np.maximum(pz, 1e-30)
        # fraction of z with ratio_x / ratio_z >= gamma  <=>  ratio_z <= ratio_x / gamma
        sorted_z = np.sort(ratio_z)
        return np.searchsorted(sorted_z, ratio_x / self.gamma, side="right") / len(sorted_z)

    # the population arguments may be given positionally (the orchestrator's older call style)
    def fit(self, ref_logits, labels, ref_in, population_logits=None, population_labels=None):
        """Compute ``P(x)`` on the attacked samples and ``P(z)`` on the population."""
        self._validate_params()
        if ref_in is None or population_logits is None or population_labels is None:
            raise ValueError("RMIA needs 'ref_in', 'population_logits' and 'population_labels' "
                             "(reference models' logits on samples none of them trained on).")
        R, y, _, keep = check_reference(ref_logits, labels, ref_in, owner="RMIA")
        P, yz, _, _ = check_reference(population_logits, population_labels, owner="RMIA",
                                       name="population_logits")
        if P.shape[0] != R.shape[0] or P.shape[2] != R.shape[2]:
            raise ValueError("The 'population_logits' parameter of RMIA must come from the same "
                             f"{R.shape[0]} reference models and {R.shape[2]} classes as "
                             f"'ref_logits'. Got shape {tuple(P.shape)}.")
        if not self.online:
            need_per_sample(keep, "OUT", 2 if self.a is None else 1, "RMIA (offline)",
                             "(tuning a on reference 0)" if self.a is None else "")
        probs, pop_probs = self._prob(R, y), self._prob(P, yz)
        self.a_ = 1.0 if self.online else (float(self.a) if self.a is not None else
                                           self._tune_a(probs, keep, pop_probs))
        self.px_ = self._marginal(probs, keep, self.a_)
        self.pz_ = self._marginal(pop_probs, None, self.a_)
        self.n_classes_ = R.shape[2]
        self.labels_ = y.numpy().copy()
        self.pop_labels_ = yz.numpy().copy()
        self.threshold_ = 0.5
        return self

    def _tune_a(self, probs, keep, pop_probs) -> float:
        """Attack reference model 0 with the others, for each a; keep the best AUC."""
        from sklearn.metrics import roc_auc_score

        if len(np.unique(keep[0])) < 2:  # reference 0 saw all or none: nothing to tune on
            return 0.0
        others, k_others = probs[1:], keep[1:]
        best = (-1.0, 0.0)
        for a in np.round(np.arange(0, 1.01, 0.1), 1):
            px = self._marginal(others, k_others, a)
            pz = self._marginal(pop_probs[1:], None, a)
            auc = roc_auc_score(keep[0].astype(int), self._scores(probs[0], px, pop_probs[0], pz))
            if auc > best[0] + 1e-12:
                best = (auc, float(a))
        return best[1]

    def fit_inputs(self, inputs) -> RMIA:
        """Fit on ``inputs.references`` and the population they carry."""
        r = inputs.references
        return self.fit(r.logits, r.labels, r.ref_in, population_logits=r.population_logits,
                        population_labels=r.population_labels)

    def score_inputs(self, inputs) -> np.ndarray:
        """Score ``inputs.target``'s logits against the population."""
        r = inputs.references
        return self.score_samples(inputs.target.logits, r.labels,
                                  target_population_logits=r.target_population_logits)

    def score_samples(self, logits, labels, target_population_logits=None) -> np.ndarray:
        """Fraction of population samples that each sample dominates by a ratio >= gamma."""
        check_is_fitted(self, "threshold_")
        if target_population_logits is None:
            raise ValueError("RMIA.score_samples needs 'target_population_logits': the target's "
                             "logits on the population given to fit.")
        z, y = check_outputs(logits, labels)
        zp, yp = check_outputs(target_population_logits, torch.as_tensor(self.pop_labels_),
                               "target_population_logits")
        if len(z) != len(self.px_):
            raise ValueError(f"RMIA was fitted on {len(self.px_)} samples; score_samples got "
                             f"{len(z)}.")
        if not np.array_equal(y.numpy(), self.labels_):
            raise ValueError("RMIA.score_samples got labels that differ from those of 'fit'.")
        px_theta = torch.softmax(z, 1).gather(1, y[:, None]).squeeze(1).numpy()
        pz_theta = torch.softmax(zp, 1).gather(1, yp[:, None]).squeeze(1).numpy()
        return self._scores(px_theta, self.px_, pz_theta, self.pz_)
