"""Privacy experiments: (data, model, sparsity, training, attacks) -> tidy records.

One experiment, Gonon et al.'s pipeline (their Fig. 2):

1. split the dataset into disjoint target and shadow pools (one seed);
2. train the target on its members and ``n_shadows`` shadow models, each on its own seeded
   split of the shadow pool, *the same way* (architecture, sparsity schedule, recipe; the
   defense only if ``defense.adaptive``);
3. measure accuracy and the generalisation gap;
4. fit every requested attack on the shadows' members / non-members (reference-kind attacks:
   on reference models trained on random halves of the attacked samples) and score the
   target's members (its training set) and non-members (its test set, same size);
5. return one row per attack with the config's columns, accuracies and :mod:`metrics`.

The orchestrator holds no method names and no attack kinds: sparsity schedules, attacks,
defenses and DP modes are looked up in their registries (:data:`sparsity.SPARSITY_METHODS`,
:data:`attacks.ATTACKS`, :data:`defenses.DEFENSES`, :data:`dp.DP_MODES`). Each attack's entry
declares the input fields it needs (``needs``); the union is built once, each field by its
provider in :data:`attacks.INPUTS` (:mod:`.providers`), and every attack is fitted and scored
the same way: ``attack.fit_inputs(inputs)``, ``attack.score_inputs(inputs)``. The configuration is
:class:`~sparsepriv_nb.config.ExperimentConfig` (sections; see :mod:`sparsepriv_nb.config`).

Trained models, records and per-sample arrays are cached content-addressed under
``data/cache`` (:mod:`sparsepriv_nb.cache`): ``records/<key>.json`` (the rows) beside
``scores/<key>.npz`` (every attack's scores, the membership labels, and the target, shadow and
reference models' outputs). :func:`load_scores` and :func:`load_outputs` read them back for a
finished experiment or sweep; :func:`run_sweep` runs a grid serially, on local processes (loky)
or on a Dask cluster, skipping what is cached, so a killed sweep restarted loses nothing
finished.

Layout: :mod:`.pipeline` (:func:`run_experiment`), :mod:`.training` (models, cached, the
shared dense phase), :mod:`.outputs` (:class:`ModelOutputs`, :func:`query`),
:mod:`.providers` (the attack inputs), :mod:`.references` (reference models), :mod:`.pools`
(:func:`prepare_data`), :mod:`.store` (cache keys, stored arrays, :func:`load_scores`),
:mod:`.sweep` (:func:`run_sweep`), :mod:`.transfer` (:func:`attack_transfer`).

Example:
    >>> cfg = ExperimentConfig(train={"epochs": 5}, attack={"names": ("loss",)})
    >>> df = run_experiment(cfg, cache=False)
    >>> df[["sparsity_method", "attack"]].values.tolist()
    [['dense', 'loss']]

Migration from the flat configuration (before the sections):
    * ``ExperimentConfig(method="magnitude", density=0.5, epochs=5)`` ->
      ``ExperimentConfig.from_flat(method=..., density=..., epochs=...)`` (every old name
      works there, ``samia_epochs`` included) or, better,
      ``ExperimentConfig(sparsity={"method": "magnitude", "density": 0.5}, train={"epochs": 5})``.
    * ``cfg.replace(method=..., density=...)`` -> ``cfg.replace(sparsity__method=...,
      sparsity__density=...)``; grids likewise: ``make_grid(base, sparsity__density=[...])``.
      Old names: dataset -> ``data__name``; max_samples, n_classes, train_size -> ``data__``;
      arch -> ``model__arch``, model_kwargs -> ``model__params``; method, density,
      imp_amount, butterfly_factors -> ``sparsity__``; epochs, finetune_epochs, optimizer,
      lr, batch_size, weight_decay -> ``train__``; attacks -> ``attack__names``; n_shadows,
      n_reference -> ``attack__``; samia_epochs -> ``attack__params={"samia": {"epochs": n}}``.
    * Record columns are ``section_field``: ``method`` -> ``sparsity_method``, ``density`` ->
      ``sparsity_density``, ``n_classes`` -> ``data_n_classes``, ``epochs`` ->
      ``train_epochs``, ``dataset`` -> ``data_name``; ``seed``, ``model`` (label),
      ``attack``, ``density_achieved``, accuracies and metrics are unchanged.
    * ``E.ATTACKS`` / ``E.REFERENCE_ATTACKS`` / ``E.SPARSITY_METHODS`` ->
      ``spn.attacks.available_attacks()`` (``"shadow"`` / ``"reference"``) and
      ``spn.sparsity.available_sparsity_methods()``; ``E.imp_rounds`` ->
      ``spn.sparsity.imp_rounds``.
    * ``train_model(..., cache=None)`` now uses the default cache (as ``run_experiment``
      does); pass ``cache=False`` for none.
    * ``run_experiment(..., return_outputs=True)`` reads a finished experiment from the cache
      instead of recomputing it; its dict gains ``"references"``. Per-sample scores of a
      finished experiment or sweep: :func:`load_scores`.

Lesson: notebook 02 (``02_membership_inference``); notebook 03 (``03_confounding_by_accuracy``).
"""

from ..config import DEFAULT_ATTACKS, ExperimentConfig, make_grid
from .outputs import ModelOutputs, ReferenceOutputs, query
from .pipeline import run_experiment
from .pools import prepare_data
from .providers import ExperimentContext
from .store import default_cache, experiment_key, load_outputs, load_scores
from .sweep import run_sweep
from .training import train_model
from .transfer import (attack_transfer, fit_attack, score_attack, transferable_attacks,
                       transfer_vs_matched)

__all__ = ["ExperimentConfig", "DEFAULT_ATTACKS", "ModelOutputs", "ReferenceOutputs",
           "prepare_data", "train_model", "query", "fit_attack", "score_attack",
           "run_experiment", "run_sweep", "make_grid", "default_cache", "load_scores",
           "load_outputs", "attack_transfer", "experiment_key", "ExperimentContext",
           "transferable_attacks", "transfer_vs_matched"]
