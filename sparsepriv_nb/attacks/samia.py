"""SAMIA, Yuan & Zhang's self-attention membership inference attack, and its network.

Lesson: notebook 02 (``02_membership_inference``), section 3.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted
from torch import nn

from .. import metrics as M
from .._checks import Interval
from ..signals import check_outputs
from .base import ShadowAttack

__all__ = ["SAMIA", "SAMIANet"]


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


class SAMIA(ShadowAttack):
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

    _parameter_constraints = {
        "epochs": [Interval(int, 1, None)],
        "lr": [Interval(float, 0, math.inf, "neither")],
        "momentum": [Interval(float, 0, 1, "left")],
        "weight_decay": [Interval(float, 0, math.inf, "left")],
        "batch_size": [Interval(int, 2, None)],  # BatchNorm needs two samples
        "random_state": [Interval(int)],
    }

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
