"""The attack estimator base: parameter checks, ``predict``, and the one entry point the
orchestrator calls.

Every attack is a :class:`sklearn.base.BaseEstimator`: ``get_params`` / ``set_params`` /
:func:`sklearn.base.clone` work, parameters are stored unchanged by ``__init__`` and validated
in ``fit`` against the class's ``_parameter_constraints`` (:func:`sparsepriv_nb._checks.
validate_params`: one exception, :class:`~sparsepriv_nb._checks.ParameterError`, one message
shape), fitted state ends in ``_`` (always a ``threshold_``), ``fit`` returns ``self`` and an
unfitted attack raises :class:`sklearn.exceptions.NotFittedError`.

Two ways in:

* array level, for notebooks: each family's own ``fit(...)`` / ``score_samples(...)``
  (shadow attacks: logits, labels, membership; reference attacks: reference logits, labels,
  IN masks);
* one contract, for the orchestrator: ``fit_inputs(inputs)`` then ``score_inputs(inputs)``,
  with ``inputs`` an :class:`~sparsepriv_nb.attacks.inputs.AttackInputs` holding the fields
  the attack's registry entry declares (``needs``).

Example:
    >>> from sparsepriv_nb._checks import Interval
    >>> class Constant(Attack):
    ...     _parameter_constraints = {"value": [Interval(float)]}
    ...     def __init__(self, value=0.5):
    ...         self.value = value
    ...     def fit_inputs(self, inputs):
    ...         self._validate_params()
    ...         self.threshold_ = self.value
    ...         return self
    ...     def score_inputs(self, inputs):
    ...         return np.full(len(inputs.target.labels), self.value)
    >>> try:
    ...     Constant("a").fit_inputs(None)
    ... except ValueError as e:
    ...     print(e)
    The 'value' parameter of Constant must be a float. Got 'a' instead.

Lesson: notebook 02 (``02_membership_inference``), section 3 (every attack).
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from .._checks import InstanceOf, validate_params

__all__ = ["Attack", "ShadowAttack", "check_n_classes", "BOOL"]

#: The constraint of a flag parameter (``numpy.bool_`` and 0 / 1 are refused).
BOOL = InstanceOf(bool, "a bool")


class Attack(BaseEstimator):
    """Base of every attack: parameter checks, ``predict`` and the orchestrator's contract.

    Subclasses declare ``_parameter_constraints`` (parameter name -> list of allowed
    constraints, as scikit-learn), set ``threshold_`` last in ``fit``, and implement
    ``fit_inputs`` / ``score_inputs`` (the shadow and reference families do it once for all
    their members).
    """

    _parameter_constraints: dict = {}

    def _validate_params(self) -> None:
        """Raise :class:`~sparsepriv_nb._checks.ParameterError` for the first parameter outside
        its constraints."""
        params = {k: getattr(self, k) for k in self._parameter_constraints}
        validate_params(params, self._parameter_constraints, type(self).__name__)

    def fit_inputs(self, inputs) -> Attack:
        """Fit on the fields of ``inputs`` (an :class:`AttackInputs`) that the attack declared."""
        raise NotImplementedError(f"{type(self).__name__} does not implement fit_inputs.")

    def score_inputs(self, inputs) -> np.ndarray:
        """Membership scores of the target's samples (``inputs.target``), higher = member."""
        raise NotImplementedError(f"{type(self).__name__} does not implement score_inputs.")

    def predict(self, *args, **kwargs) -> np.ndarray:
        """1 (member) where ``score_samples(...) >= threshold_``, else 0 (same arguments as
        ``score_samples``)."""
        check_is_fitted(self, "threshold_")
        return (self.score_samples(*args, **kwargs) >= self.threshold_).astype(int)


class ShadowAttack(Attack):
    """An attack fitted on shadow models' outputs (field ``shadow``) and scored on the
    target's (field ``target``), through ``fit(logits, labels, membership, *,
    sensitivity=None)`` and ``score_samples(logits, labels, *, sensitivity=None)``; the
    sensitivities are ``None`` unless the entry declares the ``sensitivity`` field."""

    def fit_inputs(self, inputs) -> ShadowAttack:
        s = inputs.shadow
        return self.fit(s.logits, s.labels, s.membership, sensitivity=s.sensitivity)

    def score_inputs(self, inputs) -> np.ndarray:
        t = inputs.target
        return self.score_samples(t.logits, t.labels, sensitivity=t.sensitivity)


def check_n_classes(est, z: torch.Tensor) -> None:
    """Raise if logits ``z`` do not have the number of classes ``est`` was fitted on.

    Example:
        >>> class Fitted:
        ...     n_classes_ = 3
        >>> check_n_classes(Fitted(), torch.zeros(2, 4))
        Traceback (most recent call last):
        ...
        ValueError: Fitted was fitted on 3 classes; got logits with 4 classes.
    """
    if z.shape[1] != est.n_classes_:
        raise ValueError(f"{type(est).__name__} was fitted on {est.n_classes_} classes; got "
                         f"logits with {z.shape[1]} classes.")
