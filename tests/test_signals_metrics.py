import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score, roc_curve

from sparsepriv_nb import metrics as M
from sparsepriv_nb import signals as S


@pytest.fixture
def logits():
    g = torch.Generator().manual_seed(0)
    return torch.randn(50, 5, generator=g) * 3, torch.randint(0, 5, (50,), generator=g)


def test_signals_match_their_formulas(logits):
    z, y = logits
    p = torch.softmax(z.double(), 1)
    py = p[torch.arange(50), y]
    assert np.allclose(S.loss(z, y), -torch.log(py))
    assert np.allclose(S.confidence(z, y), py)
    assert np.allclose(S.entropy(z), -(p * p.log()).sum(1))
    rest = p.clone()
    rest[torch.arange(50), y] = 0
    mentr = -(1 - py) * py.log() - (rest * torch.log(1 - rest)).sum(1)
    assert np.allclose(S.modified_entropy(z, y), mentr)
    phi = py.log() - torch.log(p.sum(1) - py)
    assert np.allclose(S.logit_scaled_confidence(z, y), phi)


def test_logit_scaled_confidence_is_stable_for_huge_logits():
    z = torch.tensor([[1000.0, 0.0, -5.0], [0.0, 800.0, 0.0]])
    phi = S.logit_scaled_confidence(z, torch.tensor([0, 0]))
    assert np.isfinite(phi).all()
    assert phi[0] == pytest.approx(1000.0 - np.log(np.exp(0) + np.exp(-5)), rel=1e-9)
    assert phi[1] == pytest.approx(-800.0, rel=1e-6)
    assert np.isfinite(S.modified_entropy(z, torch.tensor([0, 0]))).all()


def test_sensitivity_shape_seed_and_scale():
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 3))
    X = torch.randn(7, 1, 2, 2)
    a = S.sensitivity(model, X, generator=torch.Generator().manual_seed(1))
    b = S.sensitivity(model, X, generator=torch.Generator().manual_seed(1))
    assert a.shape == (7, 3) and np.array_equal(a, b) and (a >= 0).all()
    # a constant model is insensitive
    const = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 3))
    torch.nn.init.zeros_(const[1].weight)
    assert np.allclose(S.sensitivity(const, X), 0)


@pytest.mark.parametrize("bad,match", [
    (torch.tensor([[float("nan"), 0.0]]), "NaN"), (torch.zeros(3), "shape"),
])
def test_signals_reject_bad_logits(bad, match):
    with pytest.raises(ValueError, match=match):
        S.loss(bad, torch.zeros(len(bad), dtype=torch.long))


def test_signals_reject_mismatched_labels(logits):
    z, y = logits
    with pytest.raises(ValueError, match="labels"):
        S.loss(z, y[:-1])
    with pytest.raises(ValueError, match="unknown|one of"):
        S.membership_signal("gradnorm", z, y)


def test_metrics_agree_with_sklearn():
    rng = np.random.default_rng(0)
    m = np.r_[np.ones(500), np.zeros(500)].astype(int)
    s = rng.normal(size=1000) + 0.8 * m
    out = M.attack_metrics(s, m, threshold=0.4)
    assert out["auc"] == pytest.approx(roc_auc_score(m, s))
    fpr, tpr, _ = roc_curve(m, s)
    assert out["max_advantage"] == pytest.approx(np.max(tpr - fpr))
    pred = s >= 0.4
    bacc = 0.5 * (pred[m == 1].mean() + (~pred[m == 0]).mean())
    assert out["balanced_accuracy"] == pytest.approx(bacc)
    assert out["advantage"] == pytest.approx(2 * bacc - 1)
    assert out["defense_level"] == pytest.approx(2 * (1 - bacc))
    assert out["threshold_source"] == "fitted"
    assert M.attack_metrics(s, m)["advantage"] == pytest.approx(out["max_advantage"])


def test_tpr_at_fpr_reads_roc_steps():
    # 1000 non-members: 10 (1 %) at 6.0, 5 more at 3.0. Members: 30 at 5.0, 70 at 1.0.
    m = np.r_[np.ones(100), np.zeros(1000)].astype(int)
    s = np.r_[np.full(30, 5.0), np.full(70, 1.0), np.full(10, 6.0), np.full(5, 3.0),
              np.zeros(985)]
    out = M.attack_metrics(s, m)
    # threshold 5: FPR 1 %, TPR 30 %; any lower threshold passes the 5 at 3.0 (FPR 1.5 %);
    # below FPR 0.1 % only thresholds above 6 remain: TPR 0
    assert out["tpr@1%fpr"] == pytest.approx(0.30)
    assert out["tpr@0.1%fpr"] == pytest.approx(0.0)
    assert M.tpr_at_fpr(np.array([0, 0.001, 0.0011, 1]), np.array([0, 0.2, 0.5, 1]),
                        0.001) == 0.2


def test_metrics_validation():
    with pytest.raises(ValueError, match="single class"):
        M.attack_metrics([0.1, 0.2], [1, 1])
    with pytest.raises(ValueError, match="shape"):
        M.attack_metrics([0.1, 0.2], [1, 0, 1])
    with pytest.raises(ValueError, match="NaN"):
        M.attack_metrics([np.nan, 0.2], [1, 0])


def test_confident_samples_do_not_tie_in_loss():
    """Issue 7: low-FPR metrics are read at the top of the ranking, where float logits used to
    give loss = 0 exactly for every margin above ~16 (float32) or ~37 (float64)."""
    g = torch.Generator().manual_seed(0)
    n = 2000
    z = torch.randn(n, 10, generator=g)
    y = torch.randint(0, 10, (n,), generator=g)
    z[torch.arange(n), y] = z.max(1).values + 40 * torch.rand(n, generator=g)
    z = z.float()
    ell = S.loss(z, y)
    assert len(np.unique(ell)) >= 1995 and (ell > 0).all()
    # two classes: -log p_y = log(1 + e^-m), about e^-m for large m, to full relative precision
    m = np.array([20.0, 30.0, 40.0, 60.0])
    two = torch.tensor(np.c_[m, np.zeros(4)], dtype=torch.float32)
    assert np.allclose(S.loss(two, torch.zeros(4, dtype=torch.long)), np.log1p(np.exp(-m)),
                       rtol=1e-12, atol=0)
    conf = S.confidence(two, torch.zeros(4, dtype=torch.long))
    assert np.allclose(1 - conf[:2], np.exp(-m[:2]) / (1 + np.exp(-m[:2])), rtol=1e-3)
    # same order as the logit-scaled confidence (ties only where float64 saturates at 1)
    phi = S.logit_scaled_confidence(z, y)
    order = np.argsort(phi)
    assert (np.diff(S.confidence(z, y)[order]) >= 0).all()
    assert (np.diff(ell[order]) <= 0).all()
