"""Membership inference attacks as scikit-learn-style estimators (METHODS.md section 2).

Every attack has ``fit(...)`` returning ``self``, ``score_samples(...)`` returning a membership
score per sample (higher = more likely a member) and ``predict(...)`` returning 0/1 with the
fitted ``threshold_``. Fitted state ends in ``_``; randomness comes from ``random_state``.

* :class:`ThresholdAttack` - a signal (loss, confidence, entropy, modified entropy,
  logit-scaled confidence) with a global or per-class threshold fitted on shadow data
  (Yeom et al.; Song & Mittal).
* :class:`ShadowModelAttack` - Shokri et al.'s shadow-model attack: a scikit-learn classifier
  (MLP, random forest, logistic regression) on full / sorted / top-3 probabilities, one per
  class or one with the label as input; ``features="top3"`` is Salem et al.'s variant.
* :class:`SAMIA` - Yuan & Zhang's transformer over per-class tokens (confidence, sensitivity,
  one-hot label).
* :class:`LiRA` - Carlini et al.'s likelihood-ratio attack, online and offline.
* :class:`RMIA` - Zarifzadeh et al.'s relative membership inference attack.

The threshold, shadow and SAMIA attacks are fitted on *shadow* models' outputs for their own
members and non-members and then scored on the target's outputs. LiRA and RMIA are fitted on
*reference* models' outputs for the very samples they later score.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from scipy import stats
from torch import nn

from . import metrics as M
from ._checks import check_choice
from .signals import SIGNALS, check_outputs, logit_scaled_confidence, membership_signal

__all__ = ["ThresholdAttack", "ShadowModelAttack", "SAMIA", "SAMIANet", "LiRA", "RMIA",
           "reference_in_masks"]


class _NotFitted(AttributeError):
    pass


class _Attack:
    """Shared ``predict`` and fitted-state check."""

    threshold_: float

    def _check_fitted(self, attr: str = "threshold_") -> None:
        if not hasattr(self, attr):
            raise _NotFitted(f"This {type(self).__name__} instance is not fitted yet. Call "
                             "'fit' before 'score_samples' or 'predict'.")

    def predict(self, *args, **kwargs) -> np.ndarray:
        """1 (member) where ``score_samples(...) >= threshold_``, else 0."""
        self._check_fitted()
        return (self.score_samples(*args, **kwargs) >= self.threshold_).astype(int)

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.endswith("_"))
        return f"{type(self).__name__}({params})"


# --------------------------------------------------------------------------- threshold


class ThresholdAttack(_Attack):
    """Threshold on one signal; global or per-class thresholds fitted on shadow outputs.

    Args:
        signal: one of ``loss``, ``confidence``, ``entropy``, ``modified_entropy``,
            ``logit_scaled_confidence`` (oriented so that higher = member).
        per_class: one threshold per true class ``tau_y`` (Song & Mittal); classes absent
            from the shadow data use the global threshold (listed in ``fallback_classes_``).

    Example:
        >>> z = torch.tensor([[5., 0.], [4., 0.], [0., 1.], [1., 0.]])
        >>> y = torch.tensor([0, 0, 0, 0]); member = [1, 1, 0, 0]
        >>> ThresholdAttack("loss").fit(z, y, member).predict(z, y).tolist()
        [1, 1, 0, 0]
    """

    def __init__(self, signal: str = "loss", *, per_class: bool = False):
        self.signal = signal
        self.per_class = per_class

    def _values(self, logits, labels):
        return membership_signal(self.signal, logits, labels)

    def fit(self, logits, labels, membership):
        check_choice(self.signal, sorted(SIGNALS), "signal", "ThresholdAttack")
        z, y = check_outputs(logits, labels)
        m = M.check_membership(membership, len(z))
        v = self._values(z, y)
        self.threshold_ = M.best_threshold(v, m)
        self.n_classes_ = z.shape[1]
        self.class_thresholds_ = np.full(self.n_classes_, self.threshold_)
        self.fallback_classes_ = []
        if self.per_class:
            for c in range(self.n_classes_):
                sel = (y == c).numpy()
                if len(np.unique(m[sel])) == 2:
                    self.class_thresholds_[c] = M.best_threshold(v[sel], m[sel])
                else:
                    self.fallback_classes_.append(c)
        return self

    def score_samples(self, logits, labels) -> np.ndarray:
        """Signal value minus the sample's class threshold (global: minus ``threshold_``) plus
        ``threshold_``, so that ``predict`` compares with one ``threshold_`` either way."""
        self._check_fitted()
        z, y = check_outputs(logits, labels)
        if z.shape[1] != self.n_classes_:
            raise ValueError(f"ThresholdAttack was fitted on {self.n_classes_} classes; got "
                             f"logits with {z.shape[1]}.")
        return self._values(z, y) - self.class_thresholds_[y.numpy()] + self.threshold_


# --------------------------------------------------------------------------- shadow models


_FEATURES = ("full", "sorted", "top3")
_CLASSIFIERS = ("mlp", "random_forest", "logistic")


def _make_classifier(name: str, random_state):
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if name == "mlp":  # Bagmar et al. use scikit-learn's MLPClassifier; strong L2 (alpha) wins
        # on the few, simple features here (measured over seeds on overfit digits models)
        return make_pipeline(StandardScaler(), MLPClassifier(
            hidden_layer_sizes=(64,), alpha=10.0, max_iter=1000, random_state=random_state))
    if name == "random_forest":
        return RandomForestClassifier(n_estimators=100, min_samples_leaf=5, n_jobs=1,
                                      random_state=random_state)
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))


class ShadowModelAttack(_Attack):
    """Shokri et al.'s shadow-model attack (and Salem et al.'s top-3 variant).

    Fitted on the outputs of k shadow models on their own members and non-members (stack
    them), scored on the target's outputs.

    Args:
        classifier: ``"mlp"`` (as in Bagmar et al.), ``"random_forest"`` or ``"logistic"``.
        features: ``"full"`` probability vector, ``"sorted"`` (descending), or ``"top3"``
            sorted probabilities (Salem et al.: label-agnostic, one shadow suffices).
        per_class: one attack model per true class (Shokri) instead of one model that gets
            the one-hot label as extra input (``top3`` ignores labels).
        log_features: feed ``log p`` (floored at 1e-30) instead of ``p``. Overfit models give
            members probabilities like 0.9999 and non-members 0.99: indistinguishable for a
            classifier on ``p`` after scaling, clear on ``log p``. ``False`` gives the papers'
            raw probabilities.
        random_state: seeds the classifier.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> z = torch.tensor(rng.normal(size=(200, 3)) * 3)
        >>> y = z.argmax(1); member = (rng.random(200) < 0.5).astype(int)
        >>> z[member == 1, y[member == 1]] += 3  # members are more confident
        >>> atk = ShadowModelAttack("logistic", features="top3").fit(z, y, member)
        >>> s = atk.score_samples(z, y)
        >>> bool(s[member == 1].mean() > s[member == 0].mean())
        True
    """

    def __init__(self, classifier: str = "mlp", *, features: str = "full",
                 per_class: bool = False, log_features: bool = True, random_state=0):
        self.classifier = classifier
        self.features = features
        self.per_class = per_class
        self.log_features = log_features
        self.random_state = random_state

    def _features(self, z: torch.Tensor, y: torch.Tensor) -> np.ndarray:
        p = torch.softmax(z, 1).numpy()
        if self.log_features:
            p = np.log(np.maximum(p, 1e-30))
        if self.features == "full":
            f = p
        else:
            f = -np.sort(-p, axis=1)
            if self.features == "top3":
                return f[:, :3]
        if not self.per_class:
            f = np.hstack([f, np.eye(z.shape[1])[y.numpy()]])
        return f

    def fit(self, logits, labels, membership):
        check_choice(self.classifier, _CLASSIFIERS, "classifier", "ShadowModelAttack")
        check_choice(self.features, _FEATURES, "features", "ShadowModelAttack")
        z, y = check_outputs(logits, labels)
        m = M.check_membership(membership, len(z))
        X = self._features(z, y)
        self.n_classes_ = z.shape[1]
        per_class = self.per_class and self.features != "top3"
        self.models_ = {}
        if per_class:
            for c in range(self.n_classes_):
                sel = (y == c).numpy()
                if len(np.unique(m[sel])) == 2:
                    self.models_[c] = _make_classifier(self.classifier, self.random_state).fit(
                        X[sel], m[sel])
        self.global_model_ = _make_classifier(self.classifier, self.random_state).fit(X, m)
        self.threshold_ = M.best_threshold(self._score(X, y.numpy()), m)
        return self

    def _score(self, X: np.ndarray, y: np.ndarray) -> np.ndarray:
        out = self.global_model_.predict_proba(X)[:, 1]
        for c, model in self.models_.items():
            sel = y == c
            if sel.any():
                out[sel] = model.predict_proba(X[sel])[:, 1]
        return out

    def score_samples(self, logits, labels) -> np.ndarray:
        """Probability of 'member' from the attack classifier(s)."""
        self._check_fitted("global_model_")
        z, y = check_outputs(logits, labels)
        if z.shape[1] != self.n_classes_:
            raise ValueError(f"ShadowModelAttack was fitted on {self.n_classes_} classes; got "
                             f"logits with {z.shape[1]}.")
        return self._score(self._features(z, y), y.numpy())


# --------------------------------------------------------------------------- SAMIA


class SAMIANet(nn.Module):
    """Yuan & Zhang's SAMIA network (their ``transformer.py``).

    Input ``[p (C), s (C), onehot(y) (C)]`` -> BatchNorm1d -> C tokens of 3 features ->
    Linear(3, 64) + GELU -> TransformerEncoder (3 layers, d_model 64, 4 heads, feed-forward
    128, dropout 0.2, GELU) -> flatten -> Linear(64 C, 64) + ReLU -> Linear(64, 2).
    """

    def __init__(self, n_classes: int, d_model: int = 64, n_heads: int = 4, n_layers: int = 3,
                 d_ff: int = 128, dropout: float = 0.2):
        super().__init__()
        self.n_classes = n_classes
        self.norm = nn.BatchNorm1d(3 * n_classes)
        self.embed = nn.Sequential(nn.Linear(3, d_model), nn.GELU())
        layer = nn.TransformerEncoderLayer(d_model, n_heads, d_ff, dropout, activation="gelu",
                                           batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, n_layers, enable_nested_tensor=False)
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(d_model * n_classes, 64), nn.ReLU(),
                                  nn.Linear(64, 2))

    def forward(self, x):
        x = self.norm(x).view(-1, 3, self.n_classes).transpose(1, 2)  # (B, C tokens, 3)
        return self.head(self.encoder(self.embed(x)))


class SAMIA(_Attack):
    """Self-attention membership inference attack (Yuan & Zhang 2022).

    Trained on pruned shadow models' outputs: probabilities, prediction sensitivities
    (:func:`sparsepriv_nb.signals.sensitivity`) and labels.

    Args:
        epochs: training epochs (paper: 100, with the learning rate x0.1 at 50 % and 75 %).
        lr, momentum, weight_decay, batch_size: SGD settings of the paper.
        random_state: seeds the network's initialisation, dropout and batches.
    """

    def __init__(self, *, epochs: int = 100, lr: float = 1e-3, momentum: float = 0.9,
                 weight_decay: float = 5e-4, batch_size: int = 128, random_state: int = 0):
        self.epochs = epochs
        self.lr = lr
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.random_state = random_state

    @staticmethod
    def features(logits, labels, sensitivity) -> torch.Tensor:
        """``[p, s, onehot(y)]`` as a float tensor ``(N, 3C)``."""
        z, y = check_outputs(logits, labels)
        s = torch.as_tensor(np.asarray(sensitivity), dtype=torch.float64)
        if s.shape != z.shape:
            raise ValueError(f"The 'sensitivity' parameter must have the logits' shape "
                             f"{tuple(z.shape)}. Got {tuple(s.shape)} instead.")
        if not torch.isfinite(s).all():
            raise ValueError("The 'sensitivity' parameter contains NaN or infinite values.")
        onehot = torch.nn.functional.one_hot(y, z.shape[1]).double()
        return torch.cat([torch.softmax(z, 1), s, onehot], 1).float()

    def fit(self, logits, labels, membership, sensitivity):
        from .train import fit as train_fit

        X = self.features(logits, labels, sensitivity)
        m = M.check_membership(membership, len(X))
        if not isinstance(self.epochs, int) or self.epochs < 1:
            raise ValueError(f"The 'epochs' parameter of SAMIA must be an int >= 1. "
                             f"Got {self.epochs!r}.")
        self.n_classes_ = X.shape[1] // 3
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.random_state)
            self.net_ = SAMIANet(self.n_classes_)
        # step the learning rate down x0.1 at 50 % and 75 % of training, as in the paper
        milestones = {int(self.epochs * 0.5), int(self.epochs * 0.75)}
        lr = self.lr
        self.history_ = []
        for epoch in range(self.epochs):
            if epoch in milestones and epoch > 0:
                lr *= 0.1
            self.history_ += train_fit(
                self.net_, (X, torch.as_tensor(m)), epochs=1, optimizer="sgd", lr=lr,
                momentum=self.momentum, weight_decay=self.weight_decay,
                batch_size=self.batch_size, seed=self.random_state * 10_000 + epoch,
                device="cpu", progress=False)
        self.net_.eval()
        self.threshold_ = M.best_threshold(self._score(X), m)
        return self

    @torch.no_grad()
    def _score(self, X: torch.Tensor) -> np.ndarray:
        self.net_.eval()
        return torch.softmax(self.net_(X), 1)[:, 1].double().numpy()

    def score_samples(self, logits, labels, sensitivity) -> np.ndarray:
        """Probability of 'member' from the transformer."""
        self._check_fitted("net_")
        X = self.features(logits, labels, sensitivity)
        if X.shape[1] != 3 * self.n_classes_:
            raise ValueError(f"SAMIA was fitted on {self.n_classes_} classes; got "
                             f"{X.shape[1] // 3}.")
        return self._score(X)


# --------------------------------------------------------------------------- LiRA / RMIA


def reference_in_masks(n_samples: int, n_models: int, *, seed: int = 0) -> np.ndarray:
    """Which samples each reference model trains on: ``(n_models, n_samples)`` booleans with
    every sample IN for exactly half of the models (Carlini et al.'s ``keep`` matrix).

    Example:
        >>> keep = reference_in_masks(6, 4, seed=0)
        >>> keep.sum(0).tolist()
        [2, 2, 2, 2, 2, 2]
    """
    if not isinstance(n_models, int) or n_models < 2 or n_models % 2:
        raise ValueError(f"The 'n_models' parameter of reference_in_masks must be an even int "
                         f">= 2. Got {n_models!r} instead.")
    rng = np.random.default_rng(seed)
    order = rng.random((n_models, n_samples)).argsort(0)
    return order < n_models // 2


def _check_reference(ref_logits, labels, ref_in=None):
    R = torch.as_tensor(np.asarray(ref_logits) if not torch.is_tensor(ref_logits) else ref_logits)
    if R.ndim != 3:
        raise ValueError("The 'ref_logits' parameter must have shape (n_models, n_samples, "
                         f"n_classes). Got {tuple(R.shape)} instead.")
    y = torch.as_tensor(np.asarray(labels))
    phis = np.stack([logit_scaled_confidence(r, y) for r in R])  # validates each
    if ref_in is None:
        return R, y, phis, None
    keep = np.asarray(ref_in, dtype=bool)
    if keep.shape != phis.shape:
        raise ValueError(f"The 'ref_in' parameter must have shape {phis.shape}. "
                         f"Got {keep.shape} instead.")
    return R, y, phis, keep


class LiRA(_Attack):
    """Carlini et al.'s likelihood-ratio attack on the logit-scaled confidence ``phi``.

    Args:
        online: fit Gaussians to IN and OUT reference models; ``False`` uses OUT only.
        fixed_variance: one global standard deviation for all samples (better with few
            reference models) instead of a per-sample one.

    ``fit(ref_logits, labels, ref_in)`` takes the reference models' logits on the samples to
    attack ``(M, N, C)``, their labels and the IN mask ``(M, N)``;
    ``score_samples(logits, labels)`` scores the target's logits on the same N samples:

    * online: ``log N(phi; mu_in, s_in) - log N(phi; mu_out, s_out)``;
    * offline: ``-log(1 - Phi((phi - mu_out) / s_out))``, the one-sided tail as a score
      (higher = member).
    """

    def __init__(self, *, online: bool = True, fixed_variance: bool = True):
        self.online = online
        self.fixed_variance = fixed_variance

    def fit(self, ref_logits, labels, ref_in):
        _, y, phi, keep = _check_reference(ref_logits, labels, ref_in)
        n_in, n_out = keep.sum(0), (~keep).sum(0)
        if (n_out == 0).any() or (self.online and (n_in == 0).any()):
            raise ValueError("LiRA needs, for every sample, OUT reference models (and IN ones "
                             "when online); use reference_in_masks to build 'ref_in'.")
        with np.errstate(invalid="ignore"):
            self.mu_out_ = np.nanmean(np.where(~keep, phi, np.nan), 0)
            self.mu_in_ = np.nanmean(np.where(keep, phi, np.nan), 0) if self.online else None
            dev_out = np.where(~keep, phi - self.mu_out_, np.nan)
            dev_in = np.where(keep, phi - self.mu_in_, np.nan) if self.online else None
        if self.fixed_variance:
            self.std_out_ = np.full(phi.shape[1], np.nanstd(dev_out))
            self.std_in_ = np.full(phi.shape[1], np.nanstd(dev_in)) if self.online else None
        else:
            self.std_out_ = np.nanstd(dev_out, 0)
            self.std_in_ = np.nanstd(dev_in, 0) if self.online else None
        self.labels_ = y.numpy().copy()
        self.threshold_ = 0.0 if self.online else -math.log(0.5)
        return self

    def score_samples(self, logits, labels) -> np.ndarray:
        self._check_fitted("mu_out_")
        phi = logit_scaled_confidence(logits, labels)
        if len(phi) != len(self.mu_out_):
            raise ValueError(f"LiRA was fitted on {len(self.mu_out_)} samples; score_samples got"
                             f" {len(phi)}. Score the same samples the references saw.")
        if not np.array_equal(np.asarray(labels).reshape(-1), self.labels_):
            raise ValueError("LiRA.score_samples got labels that differ from those of 'fit'.")
        tiny = 1e-30
        if self.online:
            return (stats.norm.logpdf(phi, self.mu_in_, self.std_in_ + tiny)
                    - stats.norm.logpdf(phi, self.mu_out_, self.std_out_ + tiny))
        return -stats.norm.logsf(phi, self.mu_out_, self.std_out_ + tiny)


class RMIA(_Attack):
    """Zarifzadeh et al.'s relative membership inference attack.

    ``LR(x, z) = [P(x|theta) / P(x)] / [P(z|theta) / P(z)]``, ``Score(x)`` = fraction of
    population samples z with ``LR(x, z) >= gamma``. ``P(.|theta)`` is the true-class
    probability; ``P(x)`` the mean over reference models (online: all of them, half IN);
    offline ``P(x) = ((1 + a) P_OUT(x) + (1 - a)) / 2`` with ``a`` tuned (grid 0..1, step 0.1)
    by attacking one reference model with the others.

    ``fit(ref_logits, labels, ref_in, pop_ref_logits, pop_labels)``;
    ``score_samples(logits, labels, pop_logits)`` with the target's logits on the attacked
    samples and on the population.
    """

    def __init__(self, *, online: bool = True, gamma: float = 1.0, a: float | None = None):
        self.online = online
        self.gamma = gamma
        self.a = a

    @staticmethod
    def _prob(R, y):
        return torch.softmax(R.double(), -1).gather(-1, y.expand(R.shape[0], -1)[..., None]
                                                   ).squeeze(-1).numpy()

    def _marginal(self, probs, keep, a):
        if self.online:
            return probs.mean(0)
        out = np.where(~keep, probs, np.nan) if keep is not None else probs
        p_out = np.nanmean(out, 0)
        return 0.5 * ((1 + a) * p_out + (1 - a))

    def _scores(self, px_theta, px, pz_theta, pz):
        ratio_x = px_theta / np.maximum(px, 1e-30)
        ratio_z = pz_theta / np.maximum(pz, 1e-30)
        # fraction of z with ratio_x / ratio_z >= gamma  <=>  ratio_z <= ratio_x / gamma
        sorted_z = np.sort(ratio_z)
        return np.searchsorted(sorted_z, ratio_x / self.gamma, side="right") / len(sorted_z)

    def fit(self, ref_logits, labels, ref_in, pop_ref_logits, pop_labels):
        if not self.gamma > 0:
            raise ValueError(f"The 'gamma' parameter of RMIA must be > 0. Got {self.gamma!r}.")
        R, y, _, keep = _check_reference(ref_logits, labels, ref_in)
        P, yz, _, _ = _check_reference(pop_ref_logits, pop_labels)
        if P.shape[0] != R.shape[0]:
            raise ValueError("'pop_ref_logits' must come from the same reference models as "
                             f"'ref_logits' ({R.shape[0]}). Got {P.shape[0]}.")
        probs, pop_probs = self._prob(R, y), self._prob(P, yz)
        self.a_ = 1.0 if self.online else (self.a if self.a is not None else
                                           self._tune_a(probs, keep, pop_probs))
        if not 0 <= self.a_ <= 1:
            raise ValueError(f"The 'a' parameter of RMIA must be in [0, 1]. Got {self.a_!r}.")
        self.px_ = self._marginal(probs, keep, self.a_)
        self.pz_ = self._marginal(pop_probs, None, self.a_)
        self.labels_ = y.numpy().copy()
        self.pop_labels_ = yz.numpy().copy()
        self.threshold_ = 0.5
        return self

    def _tune_a(self, probs, keep, pop_probs) -> float:
        """Attack reference model 0 with the others, for each a; keep the best AUC."""
        if len(np.unique(keep[0])) < 2:  # reference 0 saw all or none: nothing to tune on
            return 0.0
        others, k_others = probs[1:], keep[1:]
        best = (-1.0, 0.0)
        for a in np.round(np.arange(0, 1.01, 0.1), 1):
            px = self._marginal(others, k_others, a)
            pz = self._marginal(pop_probs[1:], None, a)
            scores = self._scores(probs[0], px, pop_probs[0], pz)
            auc = M.attack_metrics(scores, keep[0].astype(int))["auc"]
            if auc > best[0] + 1e-12:
                best = (auc, float(a))
        return best[1]

    def score_samples(self, logits, labels, pop_logits) -> np.ndarray:
        self._check_fitted("px_")
        z, y = check_outputs(logits, labels)
        zp, yp = check_outputs(pop_logits, torch.as_tensor(self.pop_labels_), "pop_logits")
        if len(z) != len(self.px_):
            raise ValueError(f"RMIA was fitted on {len(self.px_)} samples; score_samples got "
                             f"{len(z)}.")
        px_theta = torch.softmax(z, 1).gather(1, y[:, None]).squeeze(1).numpy()
        pz_theta = torch.softmax(zp, 1).gather(1, yp[:, None]).squeeze(1).numpy()
        return self._scores(px_theta, self.px_, pz_theta, self.pz_)
