"""Attacks on real models: an overfit digits MLP (members leak) and a null check."""

import warnings

import numpy as np
import pytest
import torch

from sparsepriv_nb import attacks as A
from sparsepriv_nb import experiments as E
from sparsepriv_nb import metrics as M
from sparsepriv_nb.cache import Cache

SHADOW_ATTACKS = tuple(E.ATTACKS)


@pytest.fixture(scope="module")
def overfit(tmp_path_factory):
    """Digits MLP on 50 members, 100 epochs (train acc 1, test ~0.9), 8 shadows."""
    warnings.filterwarnings("ignore")
    cfg = E.ExperimentConfig(epochs=100, train_size=50, n_shadows=8, attacks=SHADOW_ATTACKS,
                             samia_epochs=30, seed=0)
    cache = Cache(tmp_path_factory.mktemp("cache"))
    df, outs = E.run_experiment(cfg, cache=cache, return_outputs=True)
    return cfg, df, outs, cache


def test_overfit_target_really_overfits(overfit):
    _, df, _, _ = overfit
    assert df.train_acc.iloc[0] == 1.0 and df.gen_gap.iloc[0] > 0.05


def test_every_shadow_attack_beats_chance_on_overfit_model(overfit):
    _, df, _, _ = overfit
    aucs = df.set_index("attack").auc
    assert set(aucs.index) == set(SHADOW_ATTACKS)
    assert (aucs > 0.6).all(), aucs[aucs <= 0.6]


def test_null_every_attack_is_at_chance_on_never_trained_samples(overfit):
    """'Members' and non-members both drawn from data the target never saw."""
    cfg, _, outs, cache = overfit
    ds, pools = E.prepare_data(cfg)
    target = outs["model"]
    held_out = np.r_[pools.target_val, pools.shadow_val]  # neither target nor shadows saw these
    fake_members = ds.subset(held_out[: len(held_out) // 2])
    nonmembers = ds.subset(held_out[len(held_out) // 2: 2 * (len(held_out) // 2)])
    fake = E.query(target, fake_members, nonmembers, with_sensitivity=True)
    for name in SHADOW_ATTACKS:
        atk = E.fit_attack(name, E.ATTACKS[name](cfg), outs["shadow"])
        auc = M.attack_metrics(E.score_attack(name, atk, fake), fake.membership)["auc"]
        assert abs(auc - 0.5) < 0.05 + 0.03, (name, auc)  # +0.03: 2 sd at n=178 per side


def test_attacks_follow_sklearn_conventions(overfit):
    _, _, outs, _ = overfit
    sh, tg = outs["shadow"], outs["target"]
    for atk in (A.ThresholdAttack("loss"), A.ShadowModelAttack("logistic")):
        with pytest.raises(AttributeError, match="not fitted"):
            atk.score_samples(tg.logits, tg.labels)
        assert atk.fit(sh.logits, sh.labels, sh.membership) is atk
        assert hasattr(atk, "threshold_")
        pred = atk.predict(tg.logits, tg.labels)
        assert set(np.unique(pred)) <= {0, 1}


@pytest.mark.parametrize("attack", [A.ThresholdAttack("loss", per_class=True),
                                    A.ShadowModelAttack("random_forest"), A.SAMIA(epochs=1)])
def test_attack_misuse_is_a_clear_error(overfit, attack):
    _, _, outs, _ = overfit
    sh = outs["shadow"]
    extra = (sh.sensitivity,) if isinstance(attack, A.SAMIA) else ()
    with pytest.raises(ValueError, match="single class"):
        attack.fit(sh.logits, sh.labels, np.ones(len(sh.labels), int), *extra)
    with pytest.raises(ValueError, match="shape"):
        attack.fit(sh.logits, sh.labels, sh.membership[:-1], *extra)
    bad = sh.logits.clone()
    bad[0, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        attack.fit(bad, sh.labels, sh.membership, *extra)


def test_bad_attack_parameters():
    z, y = torch.randn(4, 3), torch.tensor([0, 1, 2, 0])
    with pytest.raises(ValueError, match="signal"):
        A.ThresholdAttack("gradnorm").fit(z, y, [1, 0, 1, 0])
    with pytest.raises(ValueError, match="classifier"):
        A.ShadowModelAttack("svm").fit(z, y, [1, 0, 1, 0])
    with pytest.raises(ValueError, match="n_models"):
        A.reference_in_masks(10, 3)


def test_reference_masks_half_in():
    keep = A.reference_in_masks(101, 16, seed=3)
    assert keep.shape == (16, 101) and (keep.sum(0) == 8).all()


@pytest.fixture(scope="module")
def quick_lira(tmp_path_factory):
    """Notebook 02's quick target (digits MLP, 30 epochs) with 16 reference models."""
    warnings.filterwarnings("ignore")
    cfg = E.ExperimentConfig(epochs=30, attacks=("loss", "lira", "lira-offline", "rmia",
                                                 "rmia-offline"), n_reference=16, seed=0)
    return E.run_experiment(cfg, cache=Cache(tmp_path_factory.mktemp("c"))).set_index("attack")


def test_lira_beats_loss_threshold_at_low_fpr(quick_lira):
    assert quick_lira.loc["lira", "tpr@1%fpr"] > quick_lira.loc["loss", "tpr@1%fpr"]
    assert quick_lira.loc["lira", "auc"] > 0.55


def test_rmia_beats_chance(quick_lira):
    assert quick_lira.loc["rmia", "auc"] > 0.55
    assert quick_lira.loc["rmia-offline", "auc"] > 0.55


def test_lira_scores_only_the_fitted_samples():
    R = torch.randn(4, 6, 3)
    keep = A.reference_in_masks(6, 4)
    y = torch.tensor([0, 1, 2, 0, 1, 2])
    lira = A.LiRA().fit(R, y, keep)
    with pytest.raises(ValueError, match="fitted on 6 samples"):
        lira.score_samples(torch.randn(5, 3), y[:5])
    with pytest.raises(ValueError, match="ref_in"):
        A.LiRA().fit(R, y, keep[:, :5])
