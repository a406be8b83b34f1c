"""Shokri et al.'s shadow-model attack (and Salem et al.'s top-3 variant), with the attack
classifiers and hyperparameter grids searched on the shadow data.

Lesson: notebook 02 (``02_membership_inference``), section 3.
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.base import clone
from sklearn.utils.validation import check_is_fitted

from .. import metrics as M
from .._checks import HasMethods, InstanceOf, Interval, Options
from ..signals import check_outputs, logit_scaled_confidence
from .base import BOOL, ShadowAttack, check_n_classes

__all__ = ["ShadowModelAttack", "PARAM_GRIDS"]


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


def make_classifier(name: str, random_state):
    """A fresh scikit-learn classifier of family ``name`` (see :data:`PARAM_GRIDS`).

    Example:
        >>> type(make_classifier("random_forest", 0)).__name__
        'RandomForestClassifier'
    """
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
        est = make_classifier(family, random_state)
        if family == "logistic":
            est = est[-1]
        grid.append({"clf": [est], **{"clf__" + k.split("__")[-1]: v
                                      for k, v in PARAM_GRIDS[family].items()}})
    return grid


def _readable(params: dict) -> dict:
    """``best_params_`` readable: the chosen family's name instead of an estimator object."""
    return {k: (type(v).__name__ if k == "clf" else v) for k, v in params.items()}


class ShadowModelAttack(ShadowAttack):
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
        true_class: add the true class's logit-scaled confidence ``log(p_y / (1 - p_y))``
            (:func:`~sparsepriv_nb.signals.logit_scaled_confidence`, exact where ``p_y``
            rounds to 1) as a feature. The sorted vector alone hides which probability is the
            label's: a non-member the model misclassifies with confidence looks like a
            confident member, and the one-hot label beside it does not tell a classifier where
            ``p_y`` went (on the standard profile's LeNet-5 target, AUC 0.534 -> 0.584 with
            it; ART's best black-box attack 0.575, ``benchmarks/peers.py``). ``top3`` ignores
            it (label-agnostic).
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

    _parameter_constraints = {
        "classifier": [Options(_CLASSIFIERS), HasMethods(("fit", "predict_proba"))],
        "features": [Options(_FEATURES)],
        "per_class": [BOOL], "log_features": [BOOL], "true_class": [BOOL], "tune": [BOOL],
        "cv": [Interval(int, 2, None)],
        "param_grid": [InstanceOf((dict, list), "a GridSearchCV grid (dict or list of dicts)"),
                       None],
        "random_state": [Interval(int), None],
    }

    def __init__(self, classifier="auto", *, features: str = "full", per_class: bool = False,
                 log_features: bool = True, true_class: bool = True, tune: bool = True,
                 cv: int = 5, param_grid: dict | None = None, random_state=0):
        self.classifier = classifier
        self.features = features
        self.per_class = per_class
        self.log_features = log_features
        self.true_class = true_class
        self.tune = tune
        self.cv = cv
        self.param_grid = param_grid
        self.random_state = random_state

    def _base(self):
        if isinstance(self.classifier, str):
            return make_classifier(self.classifier, self.random_state)
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
            return search.best_estimator_, _readable(search.best_params_)
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
        if self.true_class:
            f = np.hstack([f, logit_scaled_confidence(z, y)[:, None]])
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
        check_n_classes(self, z)
        return self._score(self._features(z, y), y.numpy())
