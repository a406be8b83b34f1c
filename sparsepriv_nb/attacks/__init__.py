"""Membership inference attacks as scikit-learn estimators, and their registry.

Every attack is a :class:`sklearn.base.BaseEstimator` (:mod:`.base`): parameters validated in
``fit`` against declared constraints, fitted state ending in ``_`` (always a ``threshold_``),
``score_samples`` giving a membership score per sample (higher = more likely a member) and
``predict`` 1 where ``score_samples(...) >= threshold_``.

Two families, told apart by their array-level ``fit`` arguments (what notebooks call):

* **shadow** attacks learn from *shadow* models' outputs on their own members / non-members and
  are then scored on the target's outputs:
  ``fit(logits, labels, membership, *, sensitivity=None)`` and
  ``score_samples(logits, labels, *, sensitivity=None)``.

  - :class:`ThresholdAttack` (:mod:`.threshold`): a signal with a global or per-class
    threshold (Yeom et al.; Song & Mittal).
  - :class:`ShadowModelAttack` (:mod:`.shadow`): Shokri et al.'s attack classifier, Salem et
    al.'s top-3 variant.
  - :class:`SAMIA` (:mod:`.samia`): Yuan & Zhang's transformer over per-class tokens.

* **reference** attacks are fitted on *reference* models' outputs on the very samples they later
  score: ``fit(ref_logits, labels, ref_in, *, population_logits=None, population_labels=None)``
  and ``score_samples(logits, labels, *, target_population_logits=None)``.

  - :class:`LiRA` (:mod:`.lira`): Carlini et al.'s likelihood-ratio attack.
  - :class:`RMIA` (:mod:`.rmia`): Zarifzadeh et al.'s relative attack (needs a population).

The orchestrator uses one contract for all: ``attack.fit_inputs(inputs)`` then
``attack.score_inputs(inputs)``, with ``inputs`` an :class:`AttackInputs` (:mod:`.inputs`)
holding the fields the attack's registry entry (:mod:`.registry`) declares in ``needs``.

    >>> atk = make_attack("lira", fixed_variance=False)
    >>> type(atk).__name__, atk.get_params()
    ('LiRA', {'fixed_variance': False, 'online': True})
    >>> ATTACKS.get("rmia").needs
    ('target', 'references', 'population')

Lesson: notebook 02 (``02_membership_inference``).
"""

# the single-module ``attacks`` had these in its namespace (``spn.attacks.SIGNALS``, ...)
from ..signals import SIGNALS, check_outputs, logit_scaled_confidence, membership_signal  # noqa: F401
from .base import Attack, ShadowAttack
from .inputs import BUILTIN_INPUTS, INPUTS, AttackInputs, InputField, register_input
from .lira import LiRA
from .reference import MIN_REFERENCE_MODELS, reference_in_masks
from .registry import (ATTACKS, KIND_INPUTS, AttackEntry, available_attacks, make_attack,
                       register_attack)
from .rmia import RMIA
from .samia import SAMIA, SAMIANet
from .shadow import PARAM_GRIDS, ShadowModelAttack
from .threshold import ThresholdAttack

__all__ = ["ThresholdAttack", "ShadowModelAttack", "SAMIA", "SAMIANet", "LiRA", "RMIA",
           "reference_in_masks", "AttackEntry", "ATTACKS", "register_attack", "make_attack",
           "available_attacks", "MIN_REFERENCE_MODELS", "Attack", "ShadowAttack",
           "AttackInputs", "InputField", "INPUTS", "register_input", "BUILTIN_INPUTS",
           "KIND_INPUTS", "PARAM_GRIDS"]
