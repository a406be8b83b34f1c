"""The sectioned ExperimentConfig and the declarative validator (no training here)."""

import dataclasses
import math

import pytest

from sparsepriv_nb import config as C
from sparsepriv_nb._checks import Interval, Options, ParameterError, validate_params

Cfg = C.ExperimentConfig


@pytest.mark.parametrize("section,field,value", [
    ("sparsity", "density", "0.5"), ("sparsity", "density", None),
    ("sparsity", "density", math.nan), ("sparsity", "density", True),
    ("sparsity", "density", 0.0), ("sparsity", "imp_amount", 1.0),
    ("train", "epochs", None), ("train", "epochs", 2.5), ("train", "epochs", True),
    ("train", "epochs", "30"), ("train", "lr", math.nan), ("train", "lr", 0),
    ("train", "lr", "1e-3"), ("train", "batch_size", 0), ("train", "patience", 0),
    ("train", "optimizer", "rmsprop"), ("train", "weight_decay", -1.0),
    ("data", "max_samples", "100"), ("data", "n_classes", 1), ("data", "train_size", 1.5),
    ("data", "name", "imagenet"), ("data", "public_fraction", 1.0),
    ("model", "arch", "vgg"), ("sparsity", "method", "snip"),
    ("sparsity", "butterfly_factors", 0), ("defense", "adaptive", "yes"),
    ("defense", "name", "magic"), ("dp", "mode", "magic"),
    ("attack", "n_shadows", 0), ("attack", "n_reference", 3), ("attack", "n_reference", True),
])
def test_bad_fields_fail_at_construction_naming_field_and_value(section, field, value):
    with pytest.raises(ParameterError) as err:
        Cfg(**{section: {field: value}})
    msg = str(err.value)
    assert f"'{field}'" in msg and repr(value) in msg
    assert isinstance(err.value, ValueError) and isinstance(err.value, TypeError)


def test_message_shape_and_registered_names_are_listed():
    with pytest.raises(ValueError, match=r"The 'density' parameter of SparsitySection must be a "
                                         r"float in \(0, 1\]\. Got 'a' instead\."):
        Cfg(sparsity={"density": "a"})
    with pytest.raises(ValueError, match="magnitude"):
        Cfg(sparsity={"method": "snip"})
    with pytest.raises(ValueError, match=r"unknown attacks \['oracle'\]"):
        Cfg(attack={"names": ("loss", "oracle")})
    with pytest.raises(ValueError, match="dense"):
        Cfg(sparsity={"density": 0.5})
    with pytest.raises(ValueError, match="seed"):
        Cfg(seed=-1)
    with pytest.raises(TypeError, match="'sparsity'"):
        Cfg(sparsity=0.5)


def test_attack_and_defense_parameters_are_checked_by_their_registries():
    with pytest.raises(ValueError, match="epoch"):
        Cfg(attack={"names": ("lira",), "params": {"lira": {"epochs": 3}}})
    with pytest.raises(ValueError, match="lambda"):
        Cfg(defense={"name": "ppb", "params": {"lambda": 3}})
    cfg = Cfg(attack={"names": ("loss", ("samia", {"epochs": 3}))})
    assert cfg.attack.names == ("loss", "samia")
    assert cfg.attack.params_of("samia") == {"epochs": 3} and cfg.attack.params_of("loss") == {}


def test_validator_alternatives_and_lazy_options():
    names = ["a"]
    cons = {"x": [Interval(int, 0, 10), None], "y": [Options(lambda: names)]}
    validate_params({"x": None, "y": "a"}, cons, "Owner")
    names.append("b")  # registered later: accepted
    validate_params({"x": 10, "y": "b"}, cons, "Owner")
    with pytest.raises(ParameterError, match=r"must be an int in \[0, 10\] or None\. Got 11"):
        validate_params({"x": 11}, cons, "Owner")
    with pytest.raises(ParameterError, match=r"among \['a', 'b'\]"):
        validate_params({"y": "c"}, cons, "Owner")


def test_replace_addresses_nested_fields_and_points_to_the_new_name():
    cfg = Cfg().replace(sparsity__method="random", sparsity__density=0.2, train__epochs=3,
                        seed=4)
    assert (cfg.sparsity.method, cfg.sparsity.density, cfg.train.epochs, cfg.seed) == \
        ("random", 0.2, 3, 4)
    assert Cfg().train.epochs == 30  # frozen original unchanged
    with pytest.raises(ValueError, match="did you mean sparsity__method"):
        Cfg().replace(method="random")
    with pytest.raises(ValueError, match="unknown section"):
        Cfg().replace(sparse__density=0.5)
    with pytest.raises(ValueError, match="no field"):
        Cfg().replace(train__epoch=3)
    with pytest.raises(ValueError, match="'density'"):
        Cfg().replace(sparsity__method="random", sparsity__density=2.0)
    # a non-field name in a section with params is one of its params
    ppb = Cfg(defense={"name": "ppb"}).replace(defense__lam=2.0)
    assert dict(ppb.defense.params) == {"lam": 2.0}


def test_make_grid_over_nested_fields_with_dense_once():
    grid = C.make_grid(Cfg(), sparsity__method=["dense", "magnitude"],
                       sparsity__density=[0.5, 0.1], seed=[0, 1])
    assert len(grid) == 6  # dense once per seed
    assert [c.label for c in grid if c.seed == 0] == ["dense", "magnitude@0.5",
                                                        "magnitude@0.1"]
    with pytest.raises(ValueError, match="list of values"):
        C.make_grid(Cfg(), sparsity__density=0.5)


@pytest.mark.parametrize("axes, expected", [
    ({"sparsity__density": []}, "The 'sparsity__density' parameter of make_grid must be a "
                                "non-empty list of values (an empty axis gives no configuration)"
                                ". Got [] instead."),
    ({"seed": [0, 1], "train__epochs": ()}, "'train__epochs' parameter of make_grid must be a "
                                           "non-empty list"),
    ({"seed": (s for s in [])}, "'seed' parameter of make_grid must be a non-empty list"),
    ({"sparsity__method": "magnitude"}, "'sparsity__method' parameter of make_grid must be a "
                                        "list of values (not a str or a mapping). Got 'magnitude'"),
    ({"defense__params": {"lam": 1}}, "must be a list of values (not a str or a mapping)"),
    ({"no_such__field": [1]}, "unknown section 'no_such'"),
    ({"sparsity__densty": [0.5]}, "no field(s) ['densty']"),
    ({"sparsity__density": [0.5, 2.0]}, "'density' parameter of SparsitySection must be a "
                                        "float in (0, 1]. Got 2.0"),
])
def test_make_grid_rejects_bad_axes_naming_the_axis(axes, expected):
    with pytest.raises(ParameterError) as err:
        C.make_grid(Cfg(sparsity={"method": "magnitude", "density": 0.5}), **axes)
    assert expected in str(err.value)


def test_make_grid_needs_a_config_and_reads_generators_once():
    with pytest.raises(ParameterError, match="'base' parameter of make_grid must be an "
                                               "ExperimentConfig. Got 'cfg'"):
        C.make_grid("cfg", seed=[0])
    grid = C.make_grid(Cfg(), seed=(s for s in [0, 1]))
    assert [c.seed for c in grid] == [0, 1]


def test_flat_columns_are_formula_names_one_per_field():
    cfg = Cfg(model={"params": {"hidden": (64,)}}, defense={"name": "ppb", "params": {"lam": 2}})
    flat = cfg.flat()
    assert all(k.isidentifier() for k in flat)
    for name, cls in C.SECTIONS.items():
        if name == "attack":
            continue
        for f in cls.field_names():
            if f != "params":
                assert f"{name}_{f}" in flat
    assert flat["model_hidden"] == (64,) and flat["defense_lam"] == 2
    assert flat["sparsity_density"] == 1.0 and flat["seed"] == 0
    assert "attack_names" not in flat and flat["attack_n_shadows"] == 1
    import pandas as pd
    import statsmodels.formula.api as smf

    df = pd.DataFrame([{**Cfg(seed=s).replace(sparsity__method="random",
                                               sparsity__density=d).flat(), "auc": d + s / 10}
                       for s in (0, 1) for d in (0.2, 0.5, 0.9)])
    fit = smf.ols("auc ~ sparsity_density + seed", df).fit()
    assert fit.params["sparsity_density"] == pytest.approx(1.0)


def test_model_key_is_every_section_but_attack():
    d = Cfg().model_dict()
    assert set(d) == set(C.SECTIONS) - {"attack"} | {"seed"}
    for name, cls in C.SECTIONS.items():
        if name != "attack":
            assert set(d[name]) == set(cls.field_names())
    base = Cfg()
    assert base.replace(attack__n_shadows=4, attack__names=("loss",)).model_dict() == d
    assert base.replace(train__patience=2).model_dict() != d
    assert base.replace(data__train_size=50).model_dict() != d


def test_attacker_models_key_holds_the_defense_only_when_adaptive():
    plain = Cfg()
    ppb = Cfg(defense={"name": "ppb"})
    adaptive = ppb.replace(defense__adaptive=True)
    assert ppb.model_dict() != plain.model_dict()  # the target is defended
    assert ppb.model_dict(attacker=True) == plain.model_dict(attacker=True)
    assert adaptive.model_dict(attacker=True) == ppb.model_dict()  # shadows like the target
    assert adaptive.model_dict() == ppb.model_dict()  # 'adaptive' does not shape the target


def test_from_flat_maps_every_old_name():
    old = dict(dataset="digits", arch="mlp", method="magnitude", density=0.5, epochs=3,
               finetune_epochs=1, imp_amount=0.2, butterfly_factors=None, optimizer="sgd",
               lr=0.01, batch_size=32, weight_decay=1e-4, n_shadows=2, n_reference=4, seed=3,
               max_samples=600, n_classes=5, train_size=100, attacks=("loss", "samia"),
               samia_epochs=7, model_kwargs=(("hidden", (32,)),))
    cfg = Cfg.from_flat(**old)
    assert (cfg.data.name, cfg.data.max_samples, cfg.data.n_classes, cfg.data.train_size) == \
        ("digits", 600, 5, 100)
    assert cfg.sparsity == C.SparsitySection("magnitude", 0.5, 0.2, None)
    assert (cfg.train.epochs, cfg.train.optimizer, cfg.train.lr, cfg.train.batch_size) == \
        (3, "sgd", 0.01, 32)
    assert cfg.attack.params_of("samia") == {"epochs": 7} and cfg.seed == 3
    assert dict(cfg.model.params) == {"hidden": (32,)}
    with pytest.raises(ValueError, match="'bogus'"):
        Cfg.from_flat(bogus=1)


def test_configs_are_hashable_and_frozen():
    cfg = Cfg(model={"params": {"hidden": [64, 32]}})
    assert hash(cfg) == hash(Cfg(model={"params": {"hidden": (64, 32)}}))
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.seed = 3
