"""Membership inference attacks as scikit-learn estimators, and their registry (docs/methods.md 2).

Every attack is a :class:`sklearn.base.BaseEstimator`: ``get_params`` / ``set_params`` /
:func:`sklearn.base.clone` work, parameters are stored unchanged by ``__init__`` and validated
in ``fit``, fitted state ends in ``_`` (always a ``threshold_``), ``fit`` returns ``self`` and
an unfitted attack raises :class:`sklearn.exceptions.NotFittedError`. ``score_samples`` gives a
membership score per sample (higher = more likely a member) and ``predict`` 1 where
``score_samples(...) >= threshold_``.

Two kinds of attack, told apart by their ``fit`` arguments:

* **shadow** attacks learn from *shadow* models' outputs on their own members / non-members and
  are then scored on the target's outputs:
  ``fit(logits, labels, membership, *, sensitivity=None)`` and
  ``score_samples(logits, labels, *, sensitivity=None)``.

  - :class:`ThresholdAttack`: a signal (loss, confidence, entropy, modified entropy,
    logit-scaled confidence) with a global or per-class threshold (Yeom et al.; Song & Mittal).
  - :class:`ShadowModelAttack`: Shokri et al.'s attack classifier (hyperparameters chosen by
    cross-validation on the shadow data), Salem et al.'s top-3 variant.
  - :class:`SAMIA`: Yuan & Zhang's transformer over per-class tokens (needs sensitivity).

* **reference** attacks are fitted on *reference* models' outputs on the very samples they later
  score: ``fit(ref_logits, labels, ref_in, *, population_logits=None, population_labels=None)``
  and ``score_samples(logits, labels, *, target_population_logits=None)``.

  - :class:`LiRA`: Carlini et al.'s likelihood-ratio attack, online and offline.
  - :class:`RMIA`: Zarifzadeh et al.'s relative attack (needs a population).

:data:`ATTACKS` registers every attack by name with what it needs; :func:`make_attack` builds
one, so that an attack spec is a name plus parameters:

    >>> atk = make_attack("lira", fixed_variance=False)
    >>> type(atk).__name__, atk.get_params()
    ('LiRA', {'fixed_variance': False, 'online': True})
    >>> ATTACKS.get("samia").needs, ATTACKS.get("rmia").kind
    (('sensitivity',), 'reference')
"""

from __future__ import annotations

import inspect
import math
import numbers
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import torch
from scipy import stats
from sklearn.base import BaseEstimator, clone
from sklearn.utils.validation import check_is_fitted
from torch import nn

from . import metrics as M
from .registry import Registry
from .signals import SIGNALS, check_outputs, logit_scaled_confidence, membership_signal

__all__ = ["ThresholdAttack", "ShadowModelAttack", "SAMIA", "SAMIANet", "LiRA", "RMIA",
           "reference_in_masks", "AttackEntry", "ATTACKS", "register_attack", "make_attack",
           "available_attacks", "MIN_REFERENCE_MODELS"]

#: LiRA and RMIA refuse fewer reference models: with 2 the Gaussians rest on one IN and one
#: OUT value per sample and the scores are noise (or 1e61 where two values coincide).
MIN_REFERENCE_MODELS = 4


# --------------------------------------------------------------------------- parameter checks

_Real = (numbers.Real, np.floating)
_Int = (numbers.Integral, np.integer)


def _is(types, pred=None, *, none=False):
    """A parameter constraint: ``types`` (bool never counts as a number unless listed), an
    optional value predicate, and whether ``None`` is allowed."""
    return types, pred, none


def _validate(est: BaseEstimator, constraints: dict, allowed: dict) -> None:
    """Raise ``TypeError`` / ``ValueError`` naming the parameter, the value and what is allowed."""
    owner = type(est).__name__
    for param, (types, pred, none) in constraints.items():
        v = getattr(est, param)
        if v is None and none:
            continue
        msg = f"The '{param}' parameter of {owner} must be {allowed[param]}. Got {v!r} instead."
        bool_ok = bool in types if isinstance(types, tuple) else types is bool
        if not isinstance(v, types) or (isinstance(v, (bool, np.bool_)) and not bool_ok):
            raise TypeError(msg)
        if pred is not None and not pred(v):
            raise ValueError(msg)


class _Attack(BaseEstimator):
    """Shared ``predict``; subclasses set ``threshold_`` last in ``fit``."""

    def predict(self, *args, **kwargs) -> np.ndarray:
        """1 (member) where ``score_samples(...) >= threshold_``, else 0 (same arguments as
        ``score_samples``)."""
        check_is_fitted(self, "threshold_")
        return (self.score_samples(*args, **kwargs) >= self.threshold_).astype(int)


def _check_n_classes(est, z: torch.Tensor) -> None:
    if z.shape[1] != est.n_classes_:
        raise ValueError(f"{type(est).__name__} was fitted on {est.n_classes_} classes; got "
                         f"logits with {z.shape[1]} classes.")


# --------------------------------------------------------------------------- threshold


class ThresholdAttack(_Attack):
    """Threshold on one signal; global or per-class thresholds fitted on shadow outputs.

    Args:
        signal: one of ``loss``, ``confidence``, ``entropy``, ``modified_entropy``,
            ``logit_scaled_confidence`` (oriented so that higher = member, e.g. ``-loss``).
        per_class: one threshold per true class ``tau_y`` (Song & Mittal), each maximising
            the balanced accuracy on that class's shadow samples; classes with members or
            non-members missing from the shadow data use the global threshold (listed in
            ``fallback_classes_``).
        threshold: a fixed global threshold on the oriented signal instead of a fitted one
            (for example minus the target's mean training loss, as Yeom et al.); ``None``
            fits it.

    Example:
        >>> z = torch.tensor([[5., 0.], [4., 0.], [0., 1.], [1., 0.]])
        >>> y = torch.tensor([0, 0, 0, 0]); member = [1, 1, 0, 0]
        >>> ThresholdAttack("loss").fit(z, y, member).predict(z, y).tolist()
        [1, 1, 0, 0]
    """

    def __init__(self, signal: str = "loss", *, per_class: bool = False,
                 threshold: float | None = None):
        self.signal = signal
        self.per_class = per_class
        self.threshold = threshold

    def _validate_params(self):
        _validate(self, {
            "signal": _is(str, lambda v: v in SIGNALS),
            "per_class": _is(bool),
            "threshold": _is(_Real, math.isfinite, none=True),
        }, {"signal": f"one of {sorted(SIGNALS)}", "per_class": "a bool",
            "threshold": "None or a finite real number"})
        if self.threshold is not None and self.per_class:
            raise ValueError("The 'threshold' parameter of ThresholdAttack fixes one global "
                             "threshold; it cannot be combined with per_class=True. Got "
                             f"threshold={self.threshold!r}.")

    def fit(self, logits, labels, membership, *, sensitivity=None):
        """Fit the threshold(s) on shadow outputs (``sensitivity`` is ignored)."""
        self._validate_params()
        z, y = check_outputs(logits, labels)
        m = M.check_membership(membership, len(z))
        v = membership_signal(self.signal, z, y)
        thr = M.best_threshold(v, m) if self.threshold is None else float(self.threshold)
        self.n_classes_ = z.shape[1]
        self.class_thresholds_ = np.full(self.n_classes_, thr)
        self.fallback_classes_ = []
        if self.per_class:
            yn = y.numpy()
            for c in range(self.n_classes_):
                sel = yn == c
                if len(np.unique(m[sel])) == 2:
                    self.class_thresholds_[c] = M.best_threshold(v[sel], m[sel])
                else:
                    self.fallback_classes_.append(c)
        self.threshold_ = thr
        return self

    def score_samples(self, logits, labels, *, sensitivity=None) -> np.ndarray:
        """Signal value minus the sample's class threshold plus ``threshold_``, so that
        ``predict`` compares with one ``threshold_`` either way."""
        check_is_fitted(self, "threshold_")
        z, y = check_outputs(logits, labels)
        _check_n_classes(self, z)
        return membership_signal(self.signal, z, y) - self.class_thresholds_[y.numpy()] \
            + self.threshold_


# --------------------------------------------------------------------------- shadow models


_FEATURES = ("full", "sorted", "top3")
_CLASSIFIERS = ("auto", "mlp", "random_forest", "gradient_boosting", "logistic")

#: Hyperparameter grids searched on the shadow data when ``tune=True`` (small on purpose: the
#: quick profile fits an attack on ~1000 shadow samples). ``"auto"`` searches the logistic,
#: gradient-boosting and random-forest grids together, so it picks the family as well.
PARAM_GRIDS = {
    "logistic": {"logisticregression__C": [0.01, 0.1, 1.0, 10.0]},
    "mlp": {"mlpclassifier__alpha": [1e-3, 0.1, 10.0]},
    "random_forest": {"min_samples_leaf": [5, 20]},
    "gradient_boosting": {"learning_rate": [0.03, 0.1], "max_depth": [2, 4]},
}


def _make_classifier(name: str, random_state):
    from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import StandardScaler

    if name == "mlp":  # Bagmar et al. use scikit-learn's MLPClassifier; L-BFGS suits small data
        return make_pipeline(StandardScaler(), MLPClassifier(
            hidden_layer_sizes=(64,), alpha=10.0, solver="lbfgs", max_iter=200,
            random_state=random_state))
    if name == "random_forest":
        return RandomForestClassifier(n_estimators=100, min_samples_leaf=5, n_jobs=1,
                                      random_state=random_state)
    if name == "gradient_boosting":
        return HistGradientBoostingClassifier(max_iter=100, learning_rate=0.1, max_depth=3,
                                              early_stopping=False, random_state=random_state)
    if name == "auto":  # the family is a hyperparameter: step "clf" is replaced by the search
        return Pipeline([("scale", StandardScaler()),
                         ("clf", LogisticRegression(max_iter=1000))])
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))


def _auto_grid(random_state) -> list[dict]:
    """One grid over three families, each with the grid of :data:`PARAM_GRIDS`."""
    grid = []
    for family in ("logistic", "gradient_boosting", "random_forest"):
        est = _make_classifier(family, random_state)
        if family == "logistic":
            est = est[-1]
        grid.append({"clf": [est], **{"clf__" + k.split("__")[-1]: v
                                      for k, v in PARAM_GRIDS[family].items()}})
    return grid


def _describe(params: dict) -> dict:
    """``best_params_`` readable: the chosen family's name instead of an estimator object."""
    return {k: (type(v).__name__ if k == "clf" else v) for k, v in params.items()}


class ShadowModelAttack(_Attack):
    """Shokri et al.'s shadow-model attack (and Salem et al.'s top-3 variant).

    Fitted on the outputs of k shadow models on their own members and non-members (stack
    them), scored on the target's outputs. With ``tune=True`` the classifier's
    hyperparameters are chosen on the shadow data by stratified ``cv``-fold cross-validation,
    scored by ROC AUC, over :data:`PARAM_GRIDS` (or ``param_grid``).

    Args:
        classifier: ``"auto"`` (the family too is chosen by cross-validation: logistic
            regression, gradient boosting or random forest), ``"mlp"`` (as in Bagmar et al.),
            ``"random_forest"``,
            ``"gradient_boosting"`` (scikit-learn's ``HistGradientBoostingClassifier``),
            ``"logistic"``, or any scikit-learn classifier with ``predict_proba`` (cloned).
        features: ``"full"`` probability vector, ``"sorted"`` (descending), or ``"top3"``
            sorted probabilities (Salem et al.: label-agnostic, one shadow suffices).
        per_class: one attack model per true class (Shokri) instead of one model that gets
            the one-hot label as extra input (``top3`` ignores labels).
        log_features: feed ``log p`` (floored at 1e-30) instead of ``p``. Overfit models give
            members probabilities like 0.9999 and non-members 0.99: indistinguishable for a
            classifier on ``p`` after scaling, clear on ``log p``. ``False`` gives the papers'
            raw probabilities.
        tune: choose hyperparameters by cross-validation on the shadow data.
        cv: folds of that cross-validation (>= 2). A class with fewer members or non-members
            than folds keeps the classifier's defaults.
        param_grid: grid for ``tune`` (scikit-learn ``GridSearchCV`` format); ``None`` uses
            :data:`PARAM_GRIDS` for a named classifier and no tuning for an estimator.
        random_state: seeds the classifier and the folds.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> z = torch.tensor(rng.normal(size=(200, 3)) * 3)
        >>> y = z.argmax(1); member = (rng.random(200) < 0.5).astype(int)
        >>> z[member == 1, y[member == 1]] += 3  # members are more confident
        >>> atk = ShadowModelAttack("logistic", features="top3").fit(z, y, member)
        >>> atk.best_params_["global"]
        {'logisticregression__C': 0.01}
        >>> s = atk.score_samples(z, y)
        >>> bool(s[member == 1].mean() > s[member == 0].mean())
        True
    """

    def __init__(self, classifier="auto", *, features: str = "full", per_class: bool = False,
                 log_features: bool = True, tune: bool = True, cv: int = 5,
                 param_grid: dict | None = None, random_state=0):
        self.classifier = classifier
        self.features = features
        self.per_class = per_class
        self.log_features = log_features
        self.tune = tune
        self.cv = cv
        self.param_grid = param_grid
        self.random_state = random_state

    def _validate_params(self):
        _validate(self, {
            "features": _is(str, lambda v: v in _FEATURES),
            "per_class": _is(bool), "log_features": _is(bool), "tune": _is(bool),
            "cv": _is(_Int, lambda v: v >= 2),
            "param_grid": _is((dict, list), None, none=True),
            "random_state": _is(_Int, None, none=True),
        }, {"features": f"one of {list(_FEATURES)}", "per_class": "a bool",
            "log_features": "a bool", "tune": "a bool", "cv": "an int >= 2",
            "param_grid": "None or a GridSearchCV grid (dict or list of dicts)",
            "random_state": "None or an int"})
        c = self.classifier
        if isinstance(c, str):
            if c not in _CLASSIFIERS:
                raise ValueError(f"The 'classifier' parameter of ShadowModelAttack must be one "
                                 f"of {list(_CLASSIFIERS)} or a scikit-learn classifier. Got "
                                 f"{c!r} instead.")
        elif not (hasattr(c, "fit") and hasattr(c, "predict_proba")):
            raise TypeError("The 'classifier' parameter of ShadowModelAttack must be one of "
                            f"{list(_CLASSIFIERS)} or a scikit-learn classifier with "
                            f"predict_proba. Got {c!r} instead.")

    def _base(self):
        if isinstance(self.classifier, str):
            return _make_classifier(self.classifier, self.random_state)
        return clone(self.classifier)

    def _grid(self):
        if self.param_grid is not None:
            return self.param_grid
        if self.classifier == "auto":
            return _auto_grid(self.random_state)
        return PARAM_GRIDS.get(self.classifier) if isinstance(self.classifier, str) else None

    def _fit_one(self, X, m):
        """Fit one classifier, tuned by cross-validated AUC when possible; return it and the
        chosen parameters (``{}`` when untuned)."""
        from sklearn.model_selection import GridSearchCV, StratifiedKFold

        grid = self._grid()
        if self.tune and grid and np.bincount(m, minlength=2).min() >= self.cv:
            folds = StratifiedKFold(self.cv, shuffle=True, random_state=self.random_state)
            search = GridSearchCV(self._base(), grid, scoring="roc_auc", cv=folds,
                                  error_score="raise").fit(X, m)
            return search.best_estimator_, _describe(search.best_params_)
        return self._base().fit(X, m), {}

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

    def fit(self, logits, labels, membership, *, sensitivity=None):
        """Fit the attack classifier(s) on shadow outputs (``sensitivity`` is ignored)."""
        self._validate_params()
        z, y = check_outputs(logits, labels)
        m = M.check_membership(membership, len(z))
        X = self._features(z, y)
        self.n_classes_ = z.shape[1]
        self.models_, self.best_params_ = {}, {}
        if self.per_class and self.features != "top3":
            yn = y.numpy()
            for c in range(self.n_classes_):
                sel = yn == c
                if len(np.unique(m[sel])) == 2:
                    self.models_[c], self.best_params_[c] = self._fit_one(X[sel], m[sel])
        # the global model scores classes without a model of their own
        self.global_model_, self.best_params_["global"] = self._fit_one(X, m)
        self.threshold_ = M.best_threshold(self._score(X, y.numpy()), m)
        return self

    def _score(self, X: np.ndarray, y: np.ndarray) -> np.ndarray:
        out = self.global_model_.predict_proba(X)[:, 1]
        for c, model in self.models_.items():
            sel = y == c
            if sel.any():
                out[sel] = model.predict_proba(X[sel])[:, 1]
        return out

    def score_samples(self, logits, labels, *, sensitivity=None) -> np.ndarray:
        """Probability of 'member' from the attack classifier(s)."""
        check_is_fitted(self, "threshold_")
        z, y = check_outputs(logits, labels)
        _check_n_classes(self, z)
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
    (:func:`sparsepriv_nb.signals.sensitivity`) and labels. One SGD optimizer (momentum kept
    across epochs) and one step schedule (learning rate x0.1 at 50 % and 75 % of the epochs)
    for the whole fit, as in the paper's code.

    Args:
        epochs: training epochs (paper: 100).
        lr, momentum, weight_decay, batch_size: SGD settings of the paper.
        random_state: seeds the network's initialisation, dropout and batches (the global
            torch RNG is left as it was).

    Fitted attributes: ``net_``, ``history_`` (per epoch: ``epoch``, ``lr``, ``train_loss``),
    ``n_classes_``, ``threshold_``.
    """

    def __init__(self, *, epochs: int = 100, lr: float = 1e-3, momentum: float = 0.9,
                 weight_decay: float = 5e-4, batch_size: int = 128, random_state: int = 0):
        self.epochs = epochs
        self.lr = lr
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.random_state = random_state

    def _validate_params(self):
        _validate(self, {
            "epochs": _is(_Int, lambda v: v >= 1),
            "lr": _is(_Real, lambda v: v > 0 and math.isfinite(v)),
            "momentum": _is(_Real, lambda v: 0 <= v < 1),
            "weight_decay": _is(_Real, lambda v: 0 <= v < math.inf),
            "batch_size": _is(_Int, lambda v: v >= 2),
            "random_state": _is(_Int),
        }, {"epochs": "an int >= 1", "lr": "a finite float > 0", "momentum": "a float in [0, 1)",
            "weight_decay": "a finite float >= 0", "batch_size": "an int >= 2 (BatchNorm)",
            "random_state": "an int"})

    @staticmethod
    def features(logits, labels, sensitivity) -> torch.Tensor:
        """``[p, s, onehot(y)]`` as a float tensor ``(N, 3C)``."""
        z, y = check_outputs(logits, labels)
        if sensitivity is None:
            raise ValueError("SAMIA needs the 'sensitivity' parameter: prediction sensitivities "
                             f"of shape {tuple(z.shape)} (signals.sensitivity). Got None.")
        s = torch.as_tensor(np.asarray(sensitivity), dtype=torch.float64)
        if s.shape != z.shape:
            raise ValueError(f"The 'sensitivity' parameter must have the logits' shape "
                             f"{tuple(z.shape)}. Got {tuple(s.shape)} instead.")
        if not torch.isfinite(s).all():
            raise ValueError("The 'sensitivity' parameter contains NaN or infinite values.")
        onehot = torch.nn.functional.one_hot(y, z.shape[1]).double()
        return torch.cat([torch.softmax(z, 1), s, onehot], 1).float()

    def milestones(self) -> list[int]:
        """Epochs (0-based) from which the learning rate is x0.1 lower: 50 % and 75 %."""
        return sorted({e for e in (int(self.epochs * 0.5), int(self.epochs * 0.75)) if e > 0})

    # ``sensitivity`` may be given positionally (the orchestrator's older call style)
    def fit(self, logits, labels, membership, sensitivity=None):
        """Train the transformer on shadow outputs and their sensitivities."""
        self._validate_params()
        X = self.features(logits, labels, sensitivity)
        m = M.check_membership(membership, len(X))
        n_classes = X.shape[1] // 3
        target = torch.as_tensor(m)
        gen = torch.Generator().manual_seed(int(self.random_state))
        history = []
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(self.random_state))  # init and dropout, restored on exit
            net = SAMIANet(n_classes)
            opt = torch.optim.SGD(net.parameters(), lr=self.lr, momentum=self.momentum,
                                  weight_decay=self.weight_decay)
            sched = torch.optim.lr_scheduler.MultiStepLR(opt, self.milestones(), gamma=0.1)
            for epoch in range(self.epochs):
                net.train()
                perm = torch.randperm(len(X), generator=gen)
                total, seen = 0.0, 0
                for i in range(0, len(X), self.batch_size):
                    idx = perm[i:i + self.batch_size]
                    if len(idx) < 2:  # BatchNorm cannot train on one sample
                        continue
                    loss = nn.functional.cross_entropy(net(X[idx]), target[idx])
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
                    total += float(loss) * len(idx)
                    seen += len(idx)
                history.append({"epoch": epoch + 1, "lr": opt.param_groups[0]["lr"],
                                "train_loss": total / max(seen, 1)})
                sched.step()
        net.eval()
        self.net_, self.history_, self.n_classes_ = net, history, n_classes
        self.threshold_ = M.best_threshold(self._score(X), m)
        return self

    @torch.no_grad()
    def _score(self, X: torch.Tensor) -> np.ndarray:
        self.net_.eval()
        return torch.softmax(self.net_(X), 1)[:, 1].double().numpy()

    def score_samples(self, logits, labels, sensitivity=None) -> np.ndarray:
        """Probability of 'member' from the transformer."""
        check_is_fitted(self, "threshold_")
        X = self.features(logits, labels, sensitivity)
        if X.shape[1] != 3 * self.n_classes_:
            raise ValueError(f"SAMIA was fitted on {self.n_classes_} classes; got logits with "
                             f"{X.shape[1] // 3} classes.")
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
    if isinstance(n_models, bool) or not isinstance(n_models, _Int) or n_models < 2 \
            or n_models % 2:
        raise ValueError(f"The 'n_models' parameter of reference_in_masks must be an even int "
                         f">= 2. Got {n_models!r} instead.")
    if isinstance(n_samples, bool) or not isinstance(n_samples, _Int) or n_samples < 1:
        raise ValueError(f"The 'n_samples' parameter of reference_in_masks must be an int >= 1."
                         f" Got {n_samples!r} instead.")
    rng = np.random.default_rng(seed)
    order = rng.random((n_models, n_samples)).argsort(0)
    return order < n_models // 2


def _as_tensor(x):
    return x if torch.is_tensor(x) else torch.as_tensor(np.asarray(x))


def _check_reference(ref_logits, labels, ref_in=None, *, owner: str, name: str = "ref_logits",
                     min_models: int = MIN_REFERENCE_MODELS):
    """Validate ``(M, N, C)`` reference logits, labels ``(N,)`` and the IN mask ``(M, N)``."""
    R = _as_tensor(ref_logits)
    if R.ndim != 3:
        raise ValueError(f"The '{name}' parameter of {owner} must have shape (n_models, "
                         f"n_samples, n_classes). Got {tuple(R.shape)} instead.")
    if R.shape[0] < min_models:
        raise ValueError(f"{owner} needs at least {min_models} reference models; the '{name}' "
                         f"parameter holds {R.shape[0]}. Train more (n_reference), e.g. 16.")
    y = _as_tensor(labels)
    if y.ndim != 1 or len(y) != R.shape[1]:
        raise ValueError(f"The 'labels' parameter of {owner} must have shape ({R.shape[1]},) to "
                         f"match '{name}'. Got {tuple(y.shape)} instead.")
    phis = np.stack([logit_scaled_confidence(r, y) for r in R])  # validates each model's logits
    if ref_in is None:
        return R, y.long(), phis, None
    keep = np.asarray(ref_in)
    if keep.shape != phis.shape:
        raise ValueError(f"The 'ref_in' parameter of {owner} must have shape {phis.shape} "
                         f"(n_models, n_samples). Got {keep.shape} instead.")
    if not np.isin(keep, [0, 1]).all():
        raise ValueError(f"The 'ref_in' parameter of {owner} must hold booleans (or 0/1).")
    return R, y.long(), phis, keep.astype(bool)


def _need_per_sample(keep: np.ndarray, which: str, k: int, owner: str, why: str) -> None:
    counts = keep.sum(0) if which == "IN" else (~keep).sum(0)
    short = np.flatnonzero(counts < k)
    if len(short):
        raise ValueError(f"{owner} {why} needs at least {k} {which} reference model(s) for every "
                         f"sample; {len(short)} sample(s) have fewer (first: sample {short[0]} "
                         f"with {counts[short[0]]}). Use reference_in_masks with more models.")


class LiRA(_Attack):
    """Carlini et al.'s likelihood-ratio attack on the logit-scaled confidence ``phi``.

    Args:
        online: fit Gaussians to IN and OUT reference models; ``False`` uses OUT only.
        fixed_variance: one global standard deviation for all samples (better with few
            reference models) instead of a per-sample one (which needs at least 2 IN and 2 OUT
            models per sample, 2 OUT offline).

    ``fit(ref_logits, labels, ref_in)`` takes the reference models' logits on the samples to
    attack ``(M, N, C)`` (``M >= 4``), their labels and the IN mask ``(M, N)``;
    ``score_samples(logits, labels)`` scores the target's logits on the same N samples:

    * online: ``log N(phi; mu_in, s_in) - log N(phi; mu_out, s_out)``;
    * offline: ``-log(1 - Phi((phi - mu_out) / s_out))``, the one-sided tail as a score
      (higher = member).

    Standard deviations are population ones (``ddof=0``), as in Carlini et al.'s code.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> keep = reference_in_masks(50, 8, seed=0)
        >>> R = torch.tensor(rng.normal(size=(8, 50, 2)))
        >>> R[..., 0] += 2.0 * torch.tensor(keep)  # IN models are confident on class 0
        >>> y = torch.zeros(50, dtype=torch.long)
        >>> lira = LiRA().fit(R, y, keep)
        >>> target = R[0]  # reference 0 as the target: its IN samples are its members
        >>> s = lira.score_samples(target, y)
        >>> bool(s[keep[0]].mean() > s[~keep[0]].mean())
        True
    """

    def __init__(self, *, online: bool = True, fixed_variance: bool = True):
        self.online = online
        self.fixed_variance = fixed_variance

    def fit(self, ref_logits, labels, ref_in, *, population_logits=None,
            population_labels=None):
        """Fit the per-sample Gaussians (the population arguments are ignored)."""
        _validate(self, {"online": _is(bool), "fixed_variance": _is(bool)},
                  {"online": "a bool", "fixed_variance": "a bool"})
        if ref_in is None:
            raise ValueError("LiRA needs the 'ref_in' parameter (which reference models trained "
                             "on which sample); build it with reference_in_masks.")
        _, y, phi, keep = _check_reference(ref_logits, labels, ref_in, owner="LiRA")
        k = 1 if self.fixed_variance else 2
        why = "with fixed variance" if self.fixed_variance else "with per-sample variance"
        _need_per_sample(keep, "OUT", k, "LiRA", why)
        if self.online:
            _need_per_sample(keep, "IN", k, "LiRA (online)", why)
        with np.errstate(invalid="ignore", divide="ignore"):
            mu_out = np.nanmean(np.where(~keep, phi, np.nan), 0)
            dev_out = np.where(~keep, phi - mu_out, np.nan)
            if self.online:
                mu_in = np.nanmean(np.where(keep, phi, np.nan), 0)
                dev_in = np.where(keep, phi - mu_in, np.nan)
        axis = None if self.fixed_variance else 0
        std_out = np.broadcast_to(np.nanstd(dev_out, axis), mu_out.shape).copy()
        std_in = np.broadcast_to(np.nanstd(dev_in, axis), mu_out.shape).copy() \
            if self.online else None
        for what, s in (("OUT", std_out), ("IN", std_in)):
            if s is not None and not (s > 0).all():
                raise ValueError(f"LiRA: the {what} reference models give identical phi for "
                                 f"{int((s <= 0).sum())} sample(s), a zero-width Gaussian; "
                                 "use fixed_variance=True or more (different) reference models.")
        self.mu_out_, self.std_out_ = mu_out, std_out
        self.mu_in_ = mu_in if self.online else None
        self.std_in_ = std_in
        self.labels_ = y.numpy().copy()
        self.threshold_ = 0.0 if self.online else -math.log(0.5)
        return self

    def score_samples(self, logits, labels, *, target_population_logits=None) -> np.ndarray:
        """The likelihood ratio (online) or one-sided tail score (offline) of each sample."""
        check_is_fitted(self, "threshold_")
        phi = logit_scaled_confidence(logits, labels)
        if len(phi) != len(self.mu_out_):
            raise ValueError(f"LiRA was fitted on {len(self.mu_out_)} samples; score_samples got"
                             f" {len(phi)}. Score the same samples the references saw.")
        if not np.array_equal(np.asarray(labels).reshape(-1), self.labels_):
            raise ValueError("LiRA.score_samples got labels that differ from those of 'fit'.")
        if self.online:
            return (stats.norm.logpdf(phi, self.mu_in_, self.std_in_)
                    - stats.norm.logpdf(phi, self.mu_out_, self.std_out_))
        return -stats.norm.logsf(phi, self.mu_out_, self.std_out_)


class RMIA(_Attack):
    """Zarifzadeh et al.'s relative membership inference attack.

    ``LR(x, z) = [P(x|theta) / P(x)] / [P(z|theta) / P(z)]``, ``Score(x)`` = fraction of
    population samples z with ``LR(x, z) >= gamma``. ``P(.|theta)`` is the true-class
    probability; ``P(x)`` the mean over reference models (online: all of them, half IN);
    offline ``P(x) = ((1 + a) P_OUT(x) + (1 - a)) / 2`` with ``a`` tuned (grid 0..1, step 0.1)
    by attacking reference model 0 with the others when ``a`` is None.

    ``fit(ref_logits, labels, ref_in, population_logits=..., population_labels=...)`` with the
    reference models' logits on the attacked samples ``(M, N, C)`` (``M >= 4``) and on the
    population ``(M, Z, C)`` (samples none of the models trained on);
    ``score_samples(logits, labels, target_population_logits=...)`` with the target's logits on
    the attacked samples and on the population.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> keep = reference_in_masks(40, 4, seed=0)
        >>> R = torch.tensor(rng.normal(size=(4, 40, 2))); R[..., 0] += 2.0 * torch.tensor(keep)
        >>> P = torch.tensor(rng.normal(size=(4, 30, 2)))
        >>> y, yp = torch.zeros(40, dtype=torch.long), torch.zeros(30, dtype=torch.long)
        >>> rmia = RMIA().fit(R, y, keep, population_logits=P, population_labels=yp)
        >>> s = rmia.score_samples(R[0], y, target_population_logits=P[0])
        >>> bool(s[keep[0]].mean() > s[~keep[0]].mean()), float(s.min()) >= 0
        (True, True)
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

    # the population arguments may be given positionally (the orchestrator's older call style)
    def fit(self, ref_logits, labels, ref_in, population_logits=None, population_labels=None):
        """Compute ``P(x)`` on the attacked samples and ``P(z)`` on the population."""
        _validate(self, {"online": _is(bool), "gamma": _is(_Real, lambda v: 0 < v < math.inf),
                         "a": _is(_Real, lambda v: 0 <= v <= 1, none=True)},
                  {"online": "a bool", "gamma": "a finite float > 0",
                   "a": "None (tuned) or a float in [0, 1]"})
        if ref_in is None or population_logits is None or population_labels is None:
            raise ValueError("RMIA needs 'ref_in', 'population_logits' and 'population_labels' "
                             "(reference models' logits on samples none of them trained on).")
        R, y, _, keep = _check_reference(ref_logits, labels, ref_in, owner="RMIA")
        P, yz, _, _ = _check_reference(population_logits, population_labels, owner="RMIA",
                                       name="population_logits")
        if P.shape[0] != R.shape[0] or P.shape[2] != R.shape[2]:
            raise ValueError("The 'population_logits' parameter of RMIA must come from the same "
                             f"{R.shape[0]} reference models and {R.shape[2]} classes as "
                             f"'ref_logits'. Got shape {tuple(P.shape)}.")
        if not self.online:
            _need_per_sample(keep, "OUT", 2 if self.a is None else 1, "RMIA (offline)",
                             "(tuning a on reference 0)" if self.a is None else "")
        probs, pop_probs = self._prob(R, y), self._prob(P, yz)
        self.a_ = 1.0 if self.online else (float(self.a) if self.a is not None else
                                           self._tune_a(probs, keep, pop_probs))
        self.px_ = self._marginal(probs, keep, self.a_)
        self.pz_ = self._marginal(pop_probs, None, self.a_)
        self.n_classes_ = R.shape[2]
        self.labels_ = y.numpy().copy()
        self.pop_labels_ = yz.numpy().copy()
        self.threshold_ = 0.5
        return self

    def _tune_a(self, probs, keep, pop_probs) -> float:
        """Attack reference model 0 with the others, for each a; keep the best AUC."""
        from sklearn.metrics import roc_auc_score

        if len(np.unique(keep[0])) < 2:  # reference 0 saw all or none: nothing to tune on
            return 0.0
        others, k_others = probs[1:], keep[1:]
        best = (-1.0, 0.0)
        for a in np.round(np.arange(0, 1.01, 0.1), 1):
            px = self._marginal(others, k_others, a)
            pz = self._marginal(pop_probs[1:], None, a)
            auc = roc_auc_score(keep[0].astype(int), self._scores(probs[0], px, pop_probs[0], pz))
            if auc > best[0] + 1e-12:
                best = (auc, float(a))
        return best[1]

    def score_samples(self, logits, labels, target_population_logits=None) -> np.ndarray:
        """Fraction of population samples that each sample dominates by a ratio >= gamma."""
        check_is_fitted(self, "threshold_")
        if target_population_logits is None:
            raise ValueError("RMIA.score_samples needs 'target_population_logits': the target's "
                             "logits on the population given to fit.")
        z, y = check_outputs(logits, labels)
        zp, yp = check_outputs(target_population_logits, torch.as_tensor(self.pop_labels_),
                               "target_population_logits")
        if len(z) != len(self.px_):
            raise ValueError(f"RMIA was fitted on {len(self.px_)} samples; score_samples got "
                             f"{len(z)}.")
        if not np.array_equal(y.numpy(), self.labels_):
            raise ValueError("RMIA.score_samples got labels that differ from those of 'fit'.")
        px_theta = torch.softmax(z, 1).gather(1, y[:, None]).squeeze(1).numpy()
        pz_theta = torch.softmax(zp, 1).gather(1, yp[:, None]).squeeze(1).numpy()
        return self._scores(px_theta, self.px_, pz_theta, self.pz_)


# --------------------------------------------------------------------------- registry


_KINDS = ("shadow", "reference")
_NEEDS = ("sensitivity", "population")


@dataclass(frozen=True)
class AttackEntry:
    """A registered attack.

    Attributes:
        name: registry name (``"lira-offline"``).
        factory: ``factory(random_state=..., **params)`` -> an unfitted attack estimator.
        kind: ``"shadow"`` (fitted on shadow models' members / non-members) or
            ``"reference"`` (fitted on reference models' outputs on the attacked samples).
        needs: what the orchestrator must compute for it, among ``"sensitivity"`` (passed
            as ``sensitivity=`` to ``fit`` and ``score_samples``) and ``"population"``
            (``population_logits`` / ``population_labels`` / ``target_population_logits``).
        description: one line for listings.
    """

    name: str
    factory: Callable[..., Any]
    kind: str = "shadow"
    needs: tuple = ()
    description: str = ""


#: Attack name -> :class:`AttackEntry`.
ATTACKS: Registry[AttackEntry] = Registry("attack")


def register_attack(name: str, factory: Callable[..., Any], *, kind: str = "shadow",
                    needs=(), description: str = "", overwrite: bool = False) -> AttackEntry:
    """Register an attack under ``name`` and return its :class:`AttackEntry`.

    Example:
        >>> _ = register_attack("toy", lambda random_state=0: ThresholdAttack("confidence"),
        ...                     description="confidence threshold")
        >>> make_attack("toy")
        ThresholdAttack(signal='confidence')
        >>> _ = ATTACKS.unregister("toy")
    """
    if not callable(factory):
        raise TypeError(f"The 'factory' parameter of register_attack must be callable. Got "
                        f"{factory!r} instead.")
    if kind not in _KINDS:
        raise ValueError(f"The 'kind' parameter of register_attack must be one of "
                         f"{list(_KINDS)}. Got {kind!r} instead.")
    needs = (needs,) if isinstance(needs, str) else tuple(needs)
    bad = [n for n in needs if n not in _NEEDS]
    if bad:
        raise ValueError(f"The 'needs' parameter of register_attack must be a subset of "
                         f"{list(_NEEDS)}. Got {list(needs)!r} instead.")
    if not isinstance(description, str):
        raise TypeError(f"The 'description' parameter of register_attack must be a str. Got "
                        f"{description!r} instead.")
    entry = AttackEntry(name, factory, kind, needs, description)
    return ATTACKS.register(name, entry, overwrite=overwrite)


def _factory_params(factory) -> list[str] | None:
    """Parameter names a factory accepts besides ``random_state`` (None: anything)."""
    names = getattr(factory, "param_names", None)
    if names is not None:
        return list(names)
    try:
        sig = inspect.signature(factory)
    except (TypeError, ValueError):
        return None
    if any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values()):
        return None
    return [p for p in sig.parameters if p != "random_state"]


def make_attack(name: str, *, random_state=0, **params):
    """Build the registered attack ``name`` with ``params`` overriding its defaults.

    Args:
        name: a name from :func:`available_attacks`.
        random_state: seed of a stochastic attack (ignored by deterministic ones).
        **params: estimator parameters (``epochs=5`` for SAMIA, ``fixed_variance=False`` for
            LiRA, ``classifier="gradient_boosting"`` for Shokri, ...).

    Raises:
        ValueError: unknown name (the registered ones are listed) or a parameter the attack
            does not have (its parameters are listed).

    Example:
        >>> make_attack("samia", epochs=5, random_state=3).get_params()["epochs"]
        5
        >>> make_attack("lira", epochs=5)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: The attack 'lira' has no parameter(s) ['epochs']; its parameters: [...
    """
    entry = ATTACKS.get(name)
    allowed = _factory_params(entry.factory)
    if allowed is not None:
        unknown = sorted(set(params) - set(allowed))
        if unknown:
            raise ValueError(f"The attack {name!r} has no parameter(s) {unknown}; its "
                             f"parameters: {sorted(allowed)}.")
    try:
        accepts_seed = "random_state" in inspect.signature(entry.factory).parameters
    except (TypeError, ValueError):
        accepts_seed = True
    return entry.factory(random_state=random_state, **params) if accepts_seed \
        else entry.factory(**params)


def available_attacks(kind: str | None = None) -> list[str]:
    """Registered attack names, optionally only those of one ``kind``.

    Example:
        >>> available_attacks("reference")[:2]
        ['lira', 'lira-per-sample']
    """
    if kind is not None and kind not in _KINDS:
        raise ValueError(f"The 'kind' parameter of available_attacks must be None or one of "
                         f"{list(_KINDS)}. Got {kind!r} instead.")
    return [n for n in ATTACKS.names() if kind is None or ATTACKS.get(n).kind == kind]


def _preset(cls, **defaults):
    """A factory building ``cls(**defaults)`` with overrides and ``random_state`` if it has one."""
    names = cls._get_param_names()

    def factory(random_state=0, **params):
        unknown = sorted(set(params) - set(names))
        if unknown:
            raise ValueError(f"{cls.__name__} has no parameter(s) {unknown}; its parameters: "
                             f"{sorted(names)}.")
        kw = {**defaults, **params}
        if "random_state" in names:
            kw["random_state"] = random_state
        return cls(**kw)

    factory.param_names = [n for n in names if n != "random_state"]
    factory.defaults = dict(defaults)
    return factory


def _register_builtins() -> None:
    for s in SIGNALS:
        register_attack(s, _preset(ThresholdAttack, signal=s),
                        description=f"global threshold on {s}")
        register_attack(f"{s}-per-class", _preset(ThresholdAttack, signal=s, per_class=True),
                        description=f"per-class thresholds on {s} (Song & Mittal)")
    # One attack model with the label as input: with a quick profile's ~1000 shadow samples,
    # one model per class sees ~100 samples and loses (digits MLP, 150 epochs: AUC 0.54 per
    # class vs 0.60 for one model; see tests/test_attacks.py).
    one = dict(features="sorted", per_class=False)
    register_attack("shokri", _preset(ShadowModelAttack, classifier="auto", **one),
                    description="Shokri et al.: one attack model (label as input); family and "
                                "hyperparameters chosen by 5-fold CV AUC on the shadow data")
    register_attack("shokri-per-class", _preset(ShadowModelAttack, classifier="logistic",
                                                features="sorted", per_class=True),
                    description="Shokri et al.'s layout: one (tuned logistic) model per class")
    register_attack("shokri-label", _preset(ShadowModelAttack, classifier="mlp", **one),
                    description="Shokri et al. with an MLP (Bagmar et al.), L2 tuned by CV")
    register_attack("shokri-rf", _preset(ShadowModelAttack, classifier="random_forest", **one),
                    description="Shokri et al. with a random forest, tuned by CV")
    register_attack("shokri-gb", _preset(ShadowModelAttack, classifier="gradient_boosting",
                                         **one),
                    description="Shokri et al. with gradient boosting, tuned by CV")
    register_attack("salem", _preset(ShadowModelAttack, classifier="logistic", features="top3"),
                    description="Salem et al.: top-3 sorted probabilities, one model")
    register_attack("samia", _preset(SAMIA, epochs=30), needs=("sensitivity",),
                    description="Yuan & Zhang's transformer on p, sensitivity, label")
    for name, online, fixed in (("lira", True, True), ("lira-per-sample", True, False),
                                ("lira-offline", False, True),
                                ("lira-offline-per-sample", False, False)):
        register_attack(name, _preset(LiRA, online=online, fixed_variance=fixed),
                        kind="reference",
                        description=f"Carlini et al., {'online' if online else 'offline'}, "
                                    f"{'fixed' if fixed else 'per-sample'} variance")
    register_attack("rmia", _preset(RMIA, online=True), kind="reference", needs=("population",),
                    description="Zarifzadeh et al., online")
    register_attack("rmia-offline", _preset(RMIA, online=False), kind="reference",
                    needs=("population",), description="Zarifzadeh et al., offline (a tuned)")


_register_builtins()
