"""Threshold attacks on one signal (Yeom et al.; Song & Mittal's per-class thresholds).

Lesson: notebook 02 (``02_membership_inference``), section 2 (the loss threshold by hand) and
    section 3.
"""

from __future__ import annotations

import math

import numpy as np
from sklearn.utils.validation import check_is_fitted

from .. import metrics as M
from .._checks import Interval, Options, ParameterError
from ..signals import SIGNALS, check_outputs, membership_signal
from .base import BOOL, ShadowAttack, check_n_classes

__all__ = ["ThresholdAttack"]


class ThresholdAttack(ShadowAttack):
    """Threshold on one signal; global or per-class thresholds fitted on shadow outputs.

    Args:
        signal: one of ``loss``, ``confidence``, ``entropy``, ``modified_entropy``,
            ``logit_scaled_confidence`` (oriented so that higher = member, e.g. ``-loss``).
        per_class: one threshold per true class ``tau_y`` (Song & Mittal), each maximising
            the balanced accuracy on that class's shadow samples; classes with members or
            non-members missing from the shadow data use the global threshold (listed in
            ``fallback_classes_``).
        threshold: a fixed global threshold on the oriented signal instead of a fitted one
            (for example minus the target's mean training loss, as Yeom et al.); ``None``
            fits it.

    Example:
        >>> import torch
        >>> z = torch.tensor([[5., 0.], [4., 0.], [0., 1.], [1., 0.]])
        >>> y = torch.tensor([0, 0, 0, 0]); member = [1, 1, 0, 0]
        >>> ThresholdAttack("loss").fit(z, y, member).predict(z, y).tolist()
        [1, 1, 0, 0]
    """

    _parameter_constraints = {
        "signal": [Options(lambda: sorted(SIGNALS))],
        "per_class": [BOOL],
        "threshold": [Interval(float, -math.inf, math.inf, "neither"), None],
    }

    def __init__(self, signal: str = "loss", *, per_class: bool = False,
                 threshold: float | None = None):
        self.signal = signal
        self.per_class = per_class
        self.threshold = threshold

    def _validate_params(self):
        super()._validate_params()
        if self.threshold is not None and self.per_class:
            raise ParameterError("The 'threshold' parameter of ThresholdAttack fixes one "
                                 "global threshold; it cannot be combined with per_class=True. "
                                 f"Got threshold={self.threshold!r}.")

    def fit(self, logits, labels, membership, *, sensitivity=None):
        """Fit the threshold(s) on shadow outputs (``sensitivity`` is ignored)."""
        self._validate_params()
        z, y = check_outputs(logits, labels)
        m = M.check_membership(membership, len(z))
        v = membership_signal(self.signal, z, y)
        thr = M.best_threshold(v, m) if self.threshold is None else float(self.threshold)
        self.n_classes_ = z.shape[1]
        self.class_thresholds_ = np.full(self.n_classes_, thr)
        self.fallback_classes_ = []
        if self.per_class:
            yn = y.numpy()
            for c in range(self.n_classes_):
                sel = yn == c
                if len(np.unique(m[sel])) == 2:
                    self.class_thresholds_[c] = M.best_threshold(v[sel], m[sel])
                else:
                    self.fallback_classes_.append(c)
        self.threshold_ = thr
        return self

    def score_samples(self, logits, labels, *, sensitivity=None) -> np.ndarray:
        """Signal value minus the sample's class threshold plus ``threshold_``, so that
        ``predict`` compares with one ``threshold_`` either way."""
        check_is_fitted(self, "threshold_")
        z, y = check_outputs(logits, labels)
        check_n_classes(self, z)
        return membership_signal(self.signal, z, y) - self.class_thresholds_[y.numpy()] \
            + self.threshold_
