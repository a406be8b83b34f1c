"""Differential privacy: DP-SGD by hand and with Opacus, with and without masks, and audits.

DP-SGD (Abadi et al. 2016) clips every per-sample gradient to norm ``C`` (``max_grad_norm``),
sums the clipped gradients of a Poisson-sampled batch, adds Gaussian noise of standard
deviation ``sigma * C`` (``noise_multiplier``) and divides by the expected batch size. An
*accountant* turns (sampling rate ``q``, ``sigma``, number of steps, ``delta``) into the
``epsilon`` of an (epsilon, delta)-DP guarantee. One concept per module, every public name
re-exported here (``spn.dp.train_private``):

========================  ====================================================================
module                    what it holds
========================  ====================================================================
:mod:`.by_hand`           :func:`per_sample_gradients`, :func:`clip_gradients`,
                          :func:`dp_sgd_step`: one DP-SGD step with ``torch.func``, equal to
                          Opacus' step (notebook 06, section 2)
:mod:`.accounting`        :func:`compute_epsilon`, :func:`epsilons`, :func:`noise_for_epsilon`
                          (RDP and PRV accountants), :func:`compose_epsilon` and
                          :func:`composed_privacy` (several phases, one accountant),
                          :func:`default_delta`
:mod:`.masks`             :func:`weight_masks` (trainable coordinates per layer),
                          :func:`fold_pruning` / :func:`restore_pruning`
:mod:`.optimizer`         :class:`MaskedDPOptimizer`: Opacus' ``DPOptimizer`` that clips and
                          noises only the trainable coordinates
:mod:`.training`          :func:`train_private`: DP-SGD through Opacus' ``PrivacyEngine``
:mod:`.modes`             :data:`DP_MODES`, a registry of :class:`DPMode` recipes (``dpsgd``,
                          ``freeze``, ``select``, ``nonprivate``)
:mod:`.audit`             :func:`audit_inclusion`, :func:`audit_epsilon`, ...: an empirical
                          lower bound on epsilon from one run (Steinke, Nasr & Jagielski 2023)
:mod:`.compat`            :func:`check_dp_compatible`, :func:`quiet_opacus`
========================  ====================================================================

The masks of parameter freezing and selection never look at the private training data, so
they are post-processing and cost no privacy. Pruned layers (``torch.nn.utils.prune``) are
folded into plain weights for training, their pruned coordinates frozen, and pruned again
afterwards: a pruned model stays pruned, with the same mask.

Lesson: notebook 06 (``06_dp_sgd_and_pruning``).

Example:
    >>> from sparsepriv_nb.data import load_dataset
    >>> from sparsepriv_nb.models import build_model
    >>> ds = load_dataset("digits")
    >>> model = build_model("mlp", input_shape=ds.input_shape, num_classes=10, seed=0)
    >>> out = DP_MODES.get("dpsgd").fit(model, (ds.X[:256], ds.y[:256]), epochs=1,
    ...                                 batch_size=64, lr=0.5, seed=0, device="cpu",
    ...                                 noise_multiplier=1.0)
    >>> out["steps"], out["delta"], out["epsilon"] == compute_epsilon(0.25, 1.0, 4, 1e-5)
    (4, 1e-05, True)
"""

from .accounting import (ACCOUNTANTS, DEFAULT_DELTA, compose_epsilon, composed_privacy,
                         compute_epsilon, default_delta, epsilons, noise_for_epsilon)
from .audit import (audit_epsilon, audit_inclusion, audit_p_value, bound_sentence,
                    one_run_epsilon_bound)
from .by_hand import clip_gradients, dp_sgd_step, per_sample_gradients
from .compat import QUIET_WARNINGS, check_dp_compatible, quiet_opacus
from .masks import MASK_RULES, fold_pruning, maskable_weights, restore_pruning, weight_masks
from .modes import DP_MODES, DPMode
from .optimizer import MaskedDPOptimizer
from .training import GRAD_SAMPLE_MODES, train_private

__all__ = [
    "ACCOUNTANTS",
    "DEFAULT_DELTA",
    "GRAD_SAMPLE_MODES",
    "MASK_RULES",
    "QUIET_WARNINGS",
    "DPMode",
    "DP_MODES",
    "MaskedDPOptimizer",
    "check_dp_compatible",
    "quiet_opacus",
    "per_sample_gradients",
    "clip_gradients",
    "dp_sgd_step",
    "compute_epsilon",
    "compose_epsilon",
    "composed_privacy",
    "default_delta",
    "epsilons",
    "noise_for_epsilon",
    "maskable_weights",
    "weight_masks",
    "fold_pruning",
    "restore_pruning",
    "train_private",
    "audit_inclusion",
    "audit_p_value",
    "one_run_epsilon_bound",
    "audit_epsilon",
    "bound_sentence",
]
