"""The configuration of one privacy experiment: small frozen sections.

An :class:`ExperimentConfig` is a seed plus seven sections, each a frozen dataclass that checks
its own fields when it is built (declarative constraints, one message shape, see
:mod:`sparsepriv_nb._checks`):

============  ===========================================================================
section       fields
============  ===========================================================================
``data``      ``name`` (dataset), ``max_samples``, ``n_classes``, ``train_size``,
              ``public_fraction``
``model``     ``arch``, ``params`` (builder options, e.g. ``hidden``)
``sparsity``  ``method`` (a registered schedule), ``density``, ``imp_amount``,
              ``butterfly_factors``
``train``     ``epochs``, ``finetune_epochs``, ``optimizer``, ``lr``, ``batch_size``,
              ``weight_decay``, ``patience`` (early stopping on the validation split; None:
              off)
``defense``   ``name`` (a registered defense or None), ``params``, ``adaptive`` (the
              attacker's shadow / reference models use the defense too)
``dp``        ``mode`` (a registered DP-SGD mode or None), ``params``
``attack``    ``names`` (registered attacks), ``params`` (per attack), ``n_shadows``,
              ``n_reference``
============  ===========================================================================

Three naming rules, one for each place a field shows up:

* **replace and grids** address a field as ``section__field`` (scikit-learn's ``a__b``):
  ``cfg.replace(sparsity__density=0.1)``, ``make_grid(cfg, sparsity__density=[0.5, 0.1])``.
  In a section with ``params`` (model, defense, dp), ``section__p`` with ``p`` not a field
  sets ``params["p"]``: ``make_grid(cfg, defense__lam=[1, 4])``. ``seed`` is top-level.
* **records** (tidy rows) hold ``seed`` and one column ``section_field`` per field
  (``sparsity_density``, ``train_epochs``, ``data_n_classes``, ``defense_name``), with each
  ``params`` entry as ``section_p`` (``defense_lam``, ``model_hidden``). All are valid Python
  names, so they work in statsmodels formulas (``"auc ~ sparsity_density + test_acc"``). The
  attack section gives ``attack_n_shadows`` and ``attack_n_reference``; the attack itself is
  the row's ``attack`` column (its parameters in ``attack_params``).
* **cache keys**: a trained model's key is derived from every section but ``attack``
  (:meth:`ExperimentConfig.model_dict`), so a field added to any other section enters it with
  no list to update. The attacker's shadow and reference models are trained without the
  defense unless ``defense.adaptive``, so their key holds the defense only then.

Example:
    >>> cfg = ExperimentConfig(sparsity={"method": "magnitude", "density": 0.5})
    >>> cfg.sparsity
    SparsitySection(method='magnitude', density=0.5, imp_amount=0.5, butterfly_factors=None)
    >>> cfg.replace(sparsity__density=0.1, seed=3).flat()["sparsity_density"]
    0.1
    >>> [c.sparsity.density for c in make_grid(cfg, sparsity__density=[0.5, 0.1])]
    [0.5, 0.1]
    >>> ExperimentConfig.from_flat(method="random", density=0.2, epochs=5).train.epochs
    5

Lesson: notebook 03 (``03_confounding_by_accuracy``) (a grid of experiments); notebook 02
    (``02_membership_inference``).
"""

from __future__ import annotations

import dataclasses
import itertools
from dataclasses import dataclass, field
from typing import Any, ClassVar, Mapping

from ._checks import InstanceOf, Interval, Options, ParameterError, validate_params

__all__ = ["DataSection", "ModelSection", "SparsitySection", "TrainSection", "DefenseSection",
           "DPSection", "AttackSection", "ExperimentConfig", "SECTIONS", "DENSE",
           "DEFAULT_ATTACKS", "make_grid"]

#: The sparsity method meaning "no sparsity" (density 1, no fine-tuning): the baseline.
DENSE = "dense"
DEFAULT_ATTACKS = ("loss", "confidence", "entropy", "modified_entropy",
                   "modified_entropy-per-class", "shokri", "salem")


def _registry_names(module: str, attr: str):
    """A lazy ``names()`` of a registry in another module (empty if that module is absent)."""
    def names():
        import importlib

        try:
            reg = getattr(importlib.import_module(f"sparsepriv_nb.{module}"), attr)
        except (ImportError, AttributeError):
            return []
        return reg.names() if hasattr(reg, "names") else sorted(reg)
    return names


def _freeze(value):
    """Lists -> tuples and mappings -> sorted ``((key, value), ...)``, recursively, so that a
    section stays hashable and its JSON form is canonical."""
    if isinstance(value, Mapping):
        return tuple(sorted((k, _freeze(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    return value


def _as_params(value, owner: str) -> tuple:
    if value is None:
        return ()
    if isinstance(value, Mapping):
        value = value.items()
    try:
        pairs = [(k, v) for k, v in value]
    except (TypeError, ValueError):
        raise ParameterError(f"The 'params' parameter of {owner} must be a mapping or "
                             f"((name, value), ...) pairs. Got {value!r} instead.") from None
    bad = [k for k, _ in pairs if not (isinstance(k, str) and k.isidentifier())]
    if bad:
        raise ParameterError(f"The 'params' parameter of {owner} must have identifier str "
                             f"keys. Got {bad!r}.")
    return tuple(sorted((k, _freeze(v)) for k, v in pairs))


_POS_INT = Interval(int, 1, None)


class _Section:
    """Base of the sections: validate on construction, ``replace``, ``flat``."""

    _constraints: ClassVar[dict] = {}

    @classmethod
    def field_names(cls) -> list[str]:
        return [f.name for f in dataclasses.fields(cls)]

    def __post_init__(self):
        if "params" in self.field_names():
            object.__setattr__(self, "params", _as_params(self.params, type(self).__name__))
        validate_params({f: getattr(self, f) for f in self.field_names()},
                        self._constraints, type(self).__name__)
        self._check()

    def _check(self) -> None:
        """Cross-field checks after validation."""

    def replace(self, **changes) -> _Section:
        """A copy with ``changes``; a non-field name sets a ``params`` entry (if any)."""
        fields = set(self.field_names())
        extra = {k: changes.pop(k) for k in list(changes) if k not in fields}
        if extra:
            if "params" not in fields:
                raise ParameterError(f"{type(self).__name__} has no field(s) {sorted(extra)}; "
                                     f"its fields: {sorted(fields)}.")
            changes["params"] = {**dict(changes.get("params", self.params)), **extra}
        return dataclasses.replace(self, **changes)

    def flat(self, prefix: str) -> dict:
        out = {}
        for name in self.field_names():
            value = getattr(self, name)
            if name == "params":
                for k, v in value:
                    out[f"{prefix}_{k}"] = v
            else:
                out[f"{prefix}_{name}"] = value
        return out


@dataclass(frozen=True)
class DataSection(_Section):
    """Which data, and how much of it.

    Attributes:
        name: a dataset of :data:`sparsepriv_nb.data.DATASETS`.
        max_samples: stratified subset of the dataset (CPU profiles); None: all.
        n_classes: keep only the first classes (attack success vs number of classes).
        train_size: members per model, a seeded random subset of each pool split (small =
            more overfitting); None: the whole split.
        public_fraction: fraction of the data set aside as public (DP with public masks).
    """

    name: str = "digits"
    max_samples: int | None = None
    n_classes: int | None = None
    train_size: int | None = None
    public_fraction: float = 0.0

    _constraints: ClassVar[dict] = {
        "name": [Options(_registry_names("data", "DATASETS"))],
        "max_samples": [Interval(int, 2, None), None],
        "n_classes": [Interval(int, 2, None), None],
        "train_size": [Interval(int, 2, None), None],
        "public_fraction": [Interval(float, 0, 1, "left")],
    }


@dataclass(frozen=True)
class ModelSection(_Section):
    """The architecture.

    Attributes:
        arch: a model of :data:`sparsepriv_nb.models.MODELS`.
        params: builder options, e.g. ``{"hidden": (64,)}``.
    """

    arch: str = "mlp"
    params: tuple = ()

    _constraints: ClassVar[dict] = {"arch": [Options(_registry_names("models", "MODELS"))]}


@dataclass(frozen=True)
class SparsitySection(_Section):
    """How the model is made sparse (a schedule of :data:`sparsepriv_nb.sparsity.SPARSITY_METHODS`).

    Attributes:
        method: registered schedule name (``"dense"`` for none).
        density: fraction of prunable weights kept (IMP / lottery: the nearest ``(1 -
            imp_amount)^n``; butterfly: see ``butterfly_factors``); the achieved density is
            recorded.
        imp_amount: fraction of survivors pruned per IMP / lottery round.
        butterfly_factors: factors per butterfly layer (None: log2 N, the sparsest).
    """

    method: str = DENSE
    density: float = 1.0
    imp_amount: float = 0.5
    butterfly_factors: int | None = None

    _constraints: ClassVar[dict] = {
        "method": [Options(_registry_names("sparsity", "SPARSITY_METHODS"))],
        "density": [Interval(float, 0, 1, "right")],
        "imp_amount": [Interval(float, 0, 1, "neither")],
        "butterfly_factors": [_POS_INT, None],
    }

    def _check(self):
        if self.method == DENSE and self.density != 1.0:
            raise ParameterError(f"method={DENSE!r} needs density=1.0. Got "
                                 f"density={self.density!r}; pick a sparsity method.")

    @property
    def options(self) -> dict:
        """The method options a schedule receives."""
        return {"imp_amount": self.imp_amount, "butterfly_factors": self.butterfly_factors}


@dataclass(frozen=True)
class TrainSection(_Section):
    """The training recipe (every model of the experiment; the attacker knows it).

    Attributes:
        epochs: training epochs (lottery tickets: per round, since they rewind).
        finetune_epochs: after a one-shot prune, and per IMP round.
        optimizer, lr, batch_size, weight_decay: optimiser settings.
        patience: early stopping on the model's validation split after this many epochs
            without improvement (best weights restored); None: train every epoch.
    """

    epochs: int = 30
    finetune_epochs: int = 10
    optimizer: str = "adam"
    lr: float = 1e-3
    batch_size: int = 64
    weight_decay: float = 0.0
    patience: int | None = None

    _constraints: ClassVar[dict] = {
        "epochs": [_POS_INT], "finetune_epochs": [_POS_INT],
        "optimizer": [Options(("adam", "sgd"))],
        "lr": [Interval(float, 0, None, "neither")],
        "batch_size": [_POS_INT],
        "weight_decay": [Interval(float, 0, None)],
        "patience": [_POS_INT, None],
    }


@dataclass(frozen=True)
class DefenseSection(_Section):
    """A defense of :data:`sparsepriv_nb.defenses.DEFENSES`, applied to the target.

    Attributes:
        name: registered defense, or None.
        params: its parameters (checked by the defense's ``configure``).
        adaptive: the attacker trains its shadow and reference models with the defense too.
    """

    name: str | None = None
    params: tuple = ()
    adaptive: bool = False

    _constraints: ClassVar[dict] = {
        "name": [Options(_registry_names("defenses", "DEFENSES")), None],
        "adaptive": [InstanceOf(bool, "a bool")],
    }

    def _check(self):
        from .defenses import defense_setup

        defense_setup(self.name, self.params)  # raises on unknown or out-of-range params

    def setup(self):
        """The :class:`sparsepriv_nb.defenses.DefenseSetup` of this section."""
        from .defenses import defense_setup

        return defense_setup(self.name, self.params)


@dataclass(frozen=True)
class DPSection(_Section):
    """Differentially private training (a mode of :data:`sparsepriv_nb.dp.DP_MODES`).

    Attributes:
        mode: registered DP mode, or None for ordinary training.
        params: its parameters (noise multiplier, clipping norm, delta, ...).
    """

    mode: str | None = None
    params: tuple = ()

    _constraints: ClassVar[dict] = {"mode": [Options(_registry_names("dp", "DP_MODES")), None]}

    def _check(self):
        if self.mode is None and self.params:
            raise ParameterError(f"DPSection params {dict(self.params)} were given without a "
                                 f"mode; registered modes: {_registry_names('dp', 'DP_MODES')()}.")


@dataclass(frozen=True)
class AttackSection(_Section):
    """Which attacks, and the attacker's models (not part of any model's cache key).

    Attributes:
        names: registered attacks; an entry may be ``(name, {param: value})``, which goes to
            ``params``.
        params: per-attack parameters, ``{"samia": {"epochs": 10}}``.
        n_shadows: shadow models, each on its own seeded split of the shadow pool (Shokri).
        n_reference: reference models for reference-kind attacks (even: each sample is IN for
            half of them).
    """

    names: tuple = DEFAULT_ATTACKS
    params: tuple = ()
    n_shadows: int = 1
    n_reference: int = 16

    _constraints: ClassVar[dict] = {
        "names": [InstanceOf(tuple, "a non-empty tuple of distinct str",
                             lambda v: len(v) > 0 and len(set(v)) == len(v)
                             and all(isinstance(s, str) for s in v))],
        "n_shadows": [_POS_INT],
        "n_reference": [InstanceOf(int, "an even int >= 2",
                                   lambda v: not isinstance(v, bool) and v >= 2 and v % 2 == 0)],
    }

    def __post_init__(self):
        names = (self.names,) if isinstance(self.names, str) else self.names
        if not isinstance(names, (tuple, list)):
            raise ParameterError(f"The 'names' parameter of AttackSection must be a tuple of "
                                 f"attack names. Got {names!r} instead.")
        per = {}
        for k, v in (self.params.items() if isinstance(self.params, Mapping)
                     else (self.params or ())):
            per[k] = dict(v)
        plain = []
        for entry in names:
            if isinstance(entry, (tuple, list)) and len(entry) == 2 and isinstance(entry[0], str):
                per[entry[0]] = {**per.get(entry[0], {}), **dict(entry[1])}
                entry = entry[0]
            plain.append(entry)
        object.__setattr__(self, "names", tuple(plain))
        object.__setattr__(self, "params", tuple(sorted(
            (k, _as_params(v, f"AttackSection (attack {k!r})")) for k, v in per.items())))
        validate_params({f: getattr(self, f) for f in ("names", "n_shadows", "n_reference")},
                        self._constraints, "AttackSection")
        known = _registry_names("attacks", "ATTACKS")()
        unknown = [a for a in (*self.names, *dict(self.params)) if a not in known]
        if unknown:
            raise ParameterError(f"The 'names' parameter of AttackSection names unknown "
                                 f"attacks {unknown}; registered: {known}.")
        from .attacks import make_attack

        for name in self.names:
            make_attack(name, **self.params_of(name))  # raises on an unknown parameter

    def params_of(self, name: str) -> dict:
        """The parameters given for attack ``name`` (empty: its defaults)."""
        return dict(dict(self.params).get(name, ()))

    def flat(self, prefix: str) -> dict:
        return {f"{prefix}_n_shadows": self.n_shadows, f"{prefix}_n_reference": self.n_reference}


#: Section name -> section class, in the order records list them.
SECTIONS: dict[str, type] = {"data": DataSection, "model": ModelSection,
                             "sparsity": SparsitySection, "train": TrainSection,
                             "defense": DefenseSection, "dp": DPSection, "attack": AttackSection}

# Old flat names whose section field is spelled differently (ExperimentConfig.from_flat).
_FLAT_ALIASES = {"dataset": ("data", "name"), "model_kwargs": ("model", "params"),
                 "attacks": ("attack", "names")}


@dataclass(frozen=True)
class ExperimentConfig:
    """Everything that defines one privacy experiment; see the module docstring.

    Sections may be given as section objects or as mappings of their fields.

    Attributes:
        data, model, sparsity, train, defense, dp, attack: the sections.
        seed: pools, initialisations, batches, attacks.
    """

    data: DataSection = field(default_factory=DataSection)
    model: ModelSection = field(default_factory=ModelSection)
    sparsity: SparsitySection = field(default_factory=SparsitySection)
    train: TrainSection = field(default_factory=TrainSection)
    defense: DefenseSection = field(default_factory=DefenseSection)
    dp: DPSection = field(default_factory=DPSection)
    attack: AttackSection = field(default_factory=AttackSection)
    seed: int = 0

    def __post_init__(self):
        for name, cls in SECTIONS.items():
            value = getattr(self, name)
            if isinstance(value, Mapping):
                object.__setattr__(self, name, cls(**value))
            elif not isinstance(value, cls):
                raise ParameterError(f"The '{name}' parameter of ExperimentConfig must be a "
                                     f"{cls.__name__} or a mapping of its fields. Got "
                                     f"{value!r} instead.")
        validate_params({"seed": self.seed}, {"seed": [Interval(int, 0, None)]},
                        "ExperimentConfig")

    # -------------------------------------------------------------------- views
    def as_dict(self) -> dict:
        """Nested ``{section: {field: value}}`` plus ``seed`` (the record cache key)."""
        return dataclasses.asdict(self)

    def model_dict(self, *, attacker: bool = False) -> dict:
        """What shapes a trained model: every section but ``attack``.

        Args:
            attacker: for a shadow or reference model, which is trained without the defense
                unless ``defense.adaptive``.
        """
        defense = self.defense
        if attacker and not defense.adaptive:
            defense = DefenseSection()
        d = dataclasses.asdict(dataclasses.replace(
            self, defense=dataclasses.replace(defense, adaptive=False)))
        d.pop("attack")
        return d

    def flat(self) -> dict:
        """Tidy record columns: ``seed`` and ``section_field`` per field (module docstring).

        Example:
            >>> sorted(ExperimentConfig().flat())[:4]
            ['attack_n_reference', 'attack_n_shadows', 'data_max_samples', 'data_n_classes']
        """
        out = {"seed": self.seed}
        for name in SECTIONS:
            for k, v in getattr(self, name).flat(name).items():
                if k in out:
                    raise ParameterError(f"Record column {k!r} would be given twice; rename "
                                         f"the {name} parameter.")
                out[k] = v
        return out

    @property
    def label(self) -> str:
        """Short model label: the method, with ``@density`` when below 1."""
        s = self.sparsity
        return s.method if s.density == 1.0 else f"{s.method}@{s.density:g}"

    # -------------------------------------------------------------------- changes
    def replace(self, **changes) -> ExperimentConfig:
        """A copy with ``changes`` given as ``section__field=value``, ``section=...`` or
        ``seed=...``.

        Example:
            >>> ExperimentConfig().replace(train__epochs=3, sparsity__method="random",
            ...                            sparsity__density=0.5).train.epochs
            3
        """
        top, per = {}, {}
        for key, value in changes.items():
            section, sep, rest = key.partition("__")
            if not sep:
                if key not in [f.name for f in dataclasses.fields(self)]:
                    raise ParameterError(self._unknown_message(key))
                top[key] = value
            elif section in SECTIONS:
                per.setdefault(section, {})[rest] = value
            else:
                raise ParameterError(f"{key!r}: unknown section {section!r}; sections: "
                                     f"{list(SECTIONS)}.")
        for section, fields in per.items():
            base = top.pop(section, getattr(self, section))
            if isinstance(base, Mapping):
                base = SECTIONS[section](**base)
            top[section] = base.replace(**fields)
        return dataclasses.replace(self, **top)

    @staticmethod
    def _unknown_message(key: str) -> str:
        where = [f"{s}__{key}" for s, cls in SECTIONS.items() if key in cls.field_names()]
        where += [f"{s}__{f}" for k, (s, f) in _FLAT_ALIASES.items() if k == key]
        hint = f" (did you mean {where[0]}?)" if where else ""
        return (f"ExperimentConfig has no field {key!r}{hint}; address a section's field as "
                f"section__field with sections {list(SECTIONS)}, or 'seed'.")

    @classmethod
    def from_flat(cls, **flat) -> ExperimentConfig:
        """Build a config from the old flat field names (``method=``, ``density=``,
        ``epochs=``, ``attacks=``, ``samia_epochs=``, ...): each name goes to the one section
        that has a field of that name (``dataset``, ``model_kwargs`` and ``attacks`` to
        ``data.name``, ``model.params`` and ``attack.names``). A compatibility path.

        Example:
            >>> ExperimentConfig.from_flat(dataset="digits", n_shadows=2).attack.n_shadows
            2
        """
        changes = {}
        samia_epochs = flat.pop("samia_epochs", None)
        for key, value in flat.items():
            if key == "seed":
                changes[key] = value
                continue
            if key in _FLAT_ALIASES:
                section, name = _FLAT_ALIASES[key]
            else:
                owners = [s for s, c in SECTIONS.items() if key in c.field_names()
                          and key != "params"]
                if len(owners) != 1:
                    raise ParameterError(cls._unknown_message(key))
                section, name = owners[0], key
            changes[f"{section}__{name}"] = value
        cfg = cls()
        if samia_epochs is not None:  # the old flat field for one attack's parameter
            changes["attack__params"] = {"samia": {"epochs": samia_epochs}}
        return cfg.replace(**changes)


_AXIS = InstanceOf(object, "a list of values (not a str or a mapping)",
                   lambda v: hasattr(v, "__iter__") and not isinstance(v, (str, bytes, Mapping)))
_NON_EMPTY = InstanceOf(list, "a non-empty list of values (an empty axis gives no configuration)",
                        lambda v: len(v) > 0)


def make_grid(base: ExperimentConfig, **axes) -> list[ExperimentConfig]:
    """Cartesian product of ``axes`` (``section__field`` or ``seed`` -> values) over ``base``.

    A dense point (method ``"dense"``) gets density 1.0, so a density axis yields it once.

    Raises:
        ParameterError: ``base`` is not an :class:`ExperimentConfig`, an axis is not a list
            of values or is empty, or a value is not allowed for its field.

    Example:
        >>> g = make_grid(ExperimentConfig(), sparsity__method=["dense", "random"],
        ...               sparsity__density=[0.5, 0.1], seed=[0, 1])
        >>> len(g), g[0].label, g[-1].label
        (6, 'dense', 'random@0.1')
        >>> make_grid(ExperimentConfig(), sparsity__density=[])  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        sparsepriv_nb._checks.ParameterError: The 'sparsity__density' parameter of make_grid ...
    """
    validate_params({"base": base},
                    {"base": [InstanceOf(ExperimentConfig, "an ExperimentConfig")]}, "make_grid")
    validate_params(axes, {n: [_AXIS] for n in axes}, "make_grid")
    axes = {n: list(v) for n, v in axes.items()}  # a generator is read once
    validate_params(axes, {n: [_NON_EMPTY] for n in axes}, "make_grid")
    names = list(axes)
    out, seen = [], set()
    for values in itertools.product(*(axes[n] for n in names)):
        changes: dict[str, Any] = dict(zip(names, values))
        if changes.get("sparsity__method", base.sparsity.method) == DENSE:
            changes["sparsity__density"] = 1.0
        cfg = base.replace(**changes)
        if cfg not in seen:
            seen.add(cfg)
            out.append(cfg)
    return out
