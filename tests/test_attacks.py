"""Attacks on real models: overfit digits MLPs (members leak), a null check, and Shokri's
attack against simple alternatives. Synthetic, by-hand checks live in test_attacks_synthetic.py.

The models are trained here with ``data`` / ``models`` / ``train`` (no experiment cache), small
enough for one CPU core: 100-400 members, 100-150 epochs.
"""

import warnings

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score

from sparsepriv_nb import attacks as A
from sparsepriv_nb import data as D
from sparsepriv_nb import models, signals, train


def _train(ds, idx, seed, epochs):
    X, y = ds.subset(idx)
    model = models.build_model("mlp", input_shape=ds.input_shape, num_classes=10, seed=seed)
    train.fit(model, (X, y), epochs=epochs, seed=seed, device="cpu", progress=False)
    return model


def _outputs(model, ds, members, nonmembers, sens=False):
    X, y = ds.subset(np.r_[members, nonmembers])
    z = train.predict_logits(model, X, device="cpu")
    m = np.r_[np.ones(len(members), int), np.zeros(len(nonmembers), int)]
    s = signals.sensitivity(model, X, generator=torch.Generator().manual_seed(0),
                            device="cpu") if sens else None
    return {"logits": z, "labels": y, "membership": m, "sensitivity": s}


def _fit(name, shadow, **params):
    atk = A.make_attack(name, random_state=0, **params)
    kw = {"sensitivity": shadow["sensitivity"]} if "sensitivity" in A.ATTACKS.get(name).needs \
        else {}
    return atk.fit(shadow["logits"], shadow["labels"], shadow["membership"], **kw), kw != {}


def _score(atk, out, sens):
    kw = {"sensitivity": out["sensitivity"]} if sens else {}
    return atk.score_samples(out["logits"], out["labels"], **kw)


SHADOW = A.available_attacks("shadow")
REFERENCE = A.available_attacks("reference")


@pytest.fixture(scope="module")
def overfit(digits):
    """Target: 100 members, 120 epochs (train acc 1); two shadows on their own pool halves."""
    warnings.filterwarnings("ignore")
    ds = digits
    p = D.make_pools(len(ds), seed=0)
    mem, non = p.target_train[:100], p.target_test[:100]
    target = _train(ds, mem, 0, 120)
    shadows = []
    for k, (a, b) in enumerate(((p.shadow_train[:100], p.shadow_test[:100]),
                                (p.shadow_test[100:200], p.shadow_train[100:200]))):
        shadows.append(_outputs(_train(ds, a, 10 + k, 120), ds, a, b, sens=True))
    shadow = {k: (torch.cat([s[k] for s in shadows]) if torch.is_tensor(shadows[0][k])
                  else np.concatenate([s[k] for s in shadows])) for k in shadows[0]}
    return {"ds": ds, "pools": p, "target": target, "mem": mem, "non": non, "shadow": shadow,
            "target_out": _outputs(target, ds, mem, non, sens=True)}


def test_overfit_target_really_overfits(overfit):
    out = overfit["target_out"]
    acc = (out["logits"].argmax(1) == out["labels"]).double()
    m = torch.as_tensor(out["membership"]).bool()
    assert acc[m].mean() == 1.0 and acc[m].mean() - acc[~m].mean() > 0.05


@pytest.mark.parametrize("name", SHADOW)
def test_every_shadow_attack_finds_the_members_of_an_overfit_model(overfit, name):
    atk, sens = _fit(name, overfit["shadow"], **({"epochs": 30} if name == "samia" else {}))
    out = overfit["target_out"]
    auc = roc_auc_score(out["membership"], _score(atk, out, sens))
    assert auc > 0.6, (name, auc)


@pytest.mark.parametrize("name", SHADOW)
def test_null_every_attack_is_at_chance_on_never_trained_samples(overfit, name):
    """'Members' and non-members both drawn from data neither target nor shadows saw."""
    ds, p = overfit["ds"], overfit["pools"]
    held_out = np.r_[p.target_val, p.target_test[100:]]
    half = len(held_out) // 2
    fake = _outputs(overfit["target"], ds, held_out[:half], held_out[half:2 * half], sens=True)
    atk, sens = _fit(name, overfit["shadow"], **({"epochs": 30} if name == "samia" else {}))
    auc = roc_auc_score(fake["membership"], _score(atk, fake, sens))
    assert abs(auc - 0.5) < 0.1, (name, auc)  # about 3 sd at ~190 per side


@pytest.fixture(scope="module")
def references(overfit):
    """16 reference models on random halves of the 200 attacked samples; the population is
    shadow-pool data no reference (nor the target) trained on."""
    ds, p = overfit["ds"], overfit["pools"]
    attacked = np.r_[overfit["mem"], overfit["non"]]
    keep = A.reference_in_masks(len(attacked), 16, seed=55)
    X, y = ds.subset(attacked)
    population = p.shadow_val
    assert not set(population) & set(attacked)
    Xp, yp = ds.subset(population)
    R, P = [], []
    for i in range(16):
        ref = _train(ds, attacked[keep[i]], 5000 + i, 120)
        R.append(train.predict_logits(ref, X, device="cpu"))
        P.append(train.predict_logits(ref, Xp, device="cpu"))
    return {"R": torch.stack(R), "y": y, "keep": keep, "P": torch.stack(P), "yp": yp,
            "target_pop": train.predict_logits(overfit["target"], Xp, device="cpu")}


@pytest.mark.parametrize("name", REFERENCE)
def test_every_reference_attack_finds_the_members_of_an_overfit_model(overfit, references,
                                                                      name):
    r = references
    atk = A.make_attack(name)
    if "population" in A.ATTACKS.get(name).needs:
        atk.fit(r["R"], r["y"], r["keep"], population_logits=r["P"], population_labels=r["yp"])
        scores = atk.score_samples(overfit["target_out"]["logits"], r["y"],
                                   target_population_logits=r["target_pop"])
    else:
        scores = atk.fit(r["R"], r["y"], r["keep"]).score_samples(
            overfit["target_out"]["logits"], r["y"])
    auc = roc_auc_score(overfit["target_out"]["membership"], scores)
    assert auc > 0.65, (name, auc)


# ----------------------------------------------------------------------------- Shokri


@pytest.fixture(scope="module")
def shokri_setting(digits):
    """The quick profile's scale: a digits MLP on ~400 members, 150 epochs; one shadow model
    on the shadow pool (~800 attack training samples)."""
    warnings.filterwarnings("ignore")
    p = D.make_pools(len(digits), seed=0)
    target = _train(digits, p.target_train, 0, 150)
    shadow = _train(digits, p.shadow_train, 7, 150)
    return (_outputs(shadow, digits, p.shadow_train, p.shadow_test),
            _outputs(target, digits, p.target_train, p.target_test))


def test_shokri_default_is_not_beaten_by_a_random_forest_or_gradient_boosting(shokri_setting):
    """Issue 7: another toolkit's forest / boosting on the same probabilities beat `shokri`
    (a fixed strong-L2 MLP per class). The default now chooses family and hyperparameters by
    cross-validated AUC on the shadow data; measured here: shokri 0.630, RF 0.615,
    GB 0.623, loss threshold 0.560 (the old default: 0.55)."""
    shadow, target = shokri_setting
    auc = {}
    for name, params in (("shokri", {}), ("shokri-rf", {"tune": False}),
                         ("shokri-gb", {"tune": False})):
        atk, _ = _fit(name, shadow, **params)
        auc[name] = roc_auc_score(target["membership"], _score(atk, target, False))
    loss = roc_auc_score(target["membership"],
                         signals.membership_signal("loss", target["logits"], target["labels"]))
    assert auc["shokri"] >= max(auc["shokri-rf"], auc["shokri-gb"]) - 0.02, auc
    assert auc["shokri"] > loss + 0.02, (auc, loss)


# ----------------------------------------------------------------------------- conventions


def test_attack_misuse_on_real_outputs_is_a_clear_error(overfit):
    sh = overfit["shadow"]
    for name in ("loss-per-class", "shokri-rf", "samia"):
        atk = A.make_attack(name, **({"epochs": 1} if name == "samia" else {}))
        kw = {"sensitivity": sh["sensitivity"]}
        with pytest.raises(ValueError, match="single class"):
            atk.fit(sh["logits"], sh["labels"], np.ones(len(sh["labels"]), int), **kw)
        with pytest.raises(ValueError, match="shape"):
            atk.fit(sh["logits"], sh["labels"], sh["membership"][:-1], **kw)
        bad = sh["logits"].clone()
        bad[0, 0] = float("nan")
        with pytest.raises(ValueError, match="NaN"):
            atk.fit(bad, sh["labels"], sh["membership"], **kw)


def test_reference_masks_half_in():
    keep = A.reference_in_masks(101, 16, seed=3)
    assert keep.shape == (16, 101) and (keep.sum(0) == 8).all()
    assert not np.array_equal(keep, A.reference_in_masks(101, 16, seed=4))
    with pytest.raises(ValueError, match="n_models"):
        A.reference_in_masks(10, 3)
