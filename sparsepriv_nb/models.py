"""Model registry: ``mlp``, ``lenet5``, ``cnn`` and ``resnet18`` (CIFAR stem).

Layers carry explicit names (``fc1``, ``conv2``, ...) because model inversion (notebook 04)
and the density reports refer to them. ``norm="group"`` or ``"none"`` gives BatchNorm-free
models for DP-SGD (Opacus rejects BatchNorm, which mixes samples of a batch).

Example:
    >>> m = build_model("lenet5", input_shape=(1, 28, 28), num_classes=10, seed=0)
    >>> [n for n, _ in m.named_children()]
    ['conv1', 'conv2', 'fc1', 'fc2', 'fc3']
    >>> m(torch.zeros(2, 1, 28, 28)).shape
    torch.Size([2, 10])

Lesson: notebook 01 (``01_sparsity_methods``); every notebook builds its models here.
"""

from __future__ import annotations

import inspect
import math
from typing import Callable, Iterator

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ._checks import InstanceOf, Interval, Options, validate_params

__all__ = ["MODELS", "build_model", "MLP", "LeNet5", "SmallCNN"]

_NORMS = ("batch", "group", "none")


def _norm2d(kind: str, channels: int) -> nn.Module | None:
    """A normalisation layer, or None (not registered, so layer lists stay clean)."""
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "group":
        return nn.GroupNorm(min(8, channels), channels)
    return None


def _maybe(norm: nn.Module | None, x: torch.Tensor) -> torch.Tensor:
    return x if norm is None else norm(x)


def _drop(x: torch.Tensor, p: float, training: bool) -> torch.Tensor:
    """Dropout with probability ``p``; ``p == 0`` is skipped entirely, so a model without
    dropout computes (and draws random numbers) exactly as before the option existed."""
    return F.dropout(x, p, training) if p > 0 else x


class MLP(nn.Module):
    """Fully connected ReLU network ``fc1 .. fcK`` on flattened inputs.

    Args:
        in_features: flattened input size.
        num_classes: number of outputs.
        hidden: widths of the hidden layers.
        dropout: probability of zeroing each hidden unit after its ReLU, during training
            only (a regulariser, notebook 05). It adds no parameter, so state dicts are the
            same with and without it.
    """

    def __init__(self, in_features: int, num_classes: int, hidden=(256, 128),
                 dropout: float = 0.0):
        super().__init__()
        widths = [in_features, *hidden, num_classes]
        for i, (a, b) in enumerate(zip(widths[:-1], widths[1:]), start=1):
            self.add_module(f"fc{i}", nn.Linear(a, b))
        self.n_layers = len(widths) - 1
        self.dropout = dropout

    def forward(self, x):
        x = x.flatten(1)
        for i in range(1, self.n_layers + 1):
            x = getattr(self, f"fc{i}")(x)
            if i < self.n_layers:
                x = _drop(F.relu(x), self.dropout, self.training)
        return x


class LeNet5(nn.Module):
    """LeNet-5 (conv 6@5x5, pool, conv 16@5x5, pool, fc 120, 84, C) as in Huang et al.

    The first convolution is padded so that 28x28 and 8x8 inputs both work; fc1's input size
    is inferred from the input shape. ``dropout`` zeroes units of the fc1 and fc2 outputs
    (after their ReLU) during training; it adds no parameter.
    """

    def __init__(self, input_shape, num_classes: int, norm: str = "none", dropout: float = 0.0):
        super().__init__()
        self.dropout = dropout
        c, h, w = input_shape
        self.small = min(h, w) < 16  # 8x8 digits: pool once only
        self.conv1 = nn.Conv2d(c, 6, 5, padding=2)
        self.norm1 = _norm2d(norm, 6)
        self.conv2 = nn.Conv2d(6, 16, 5, padding=2 if self.small else 0)
        self.norm2 = _norm2d(norm, 16)
        with torch.no_grad():
            n_flat = self._features(torch.zeros(1, c, h, w)).shape[1]
        self.fc1 = nn.Linear(n_flat, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, num_classes)

    def _features(self, x):
        x = F.max_pool2d(F.relu(_maybe(self.norm1, self.conv1(x))), 2)
        x = F.relu(_maybe(self.norm2, self.conv2(x)))
        if not self.small:
            x = F.max_pool2d(x, 2)
        return x.flatten(1)

    def forward(self, x):
        x = self._features(x)
        x = _drop(F.relu(self.fc1(x)), self.dropout, self.training)
        x = _drop(F.relu(self.fc2(x)), self.dropout, self.training)
        return self.fc3(x)


class SmallCNN(nn.Module):
    """A small CIFAR-sized CNN: two conv blocks (32, 64 filters) and two linear layers.

    ``dropout`` zeroes units of fc1's output (after its ReLU, before the classifier fc2)
    during training; it adds no parameter.
    """

    def __init__(self, input_shape, num_classes: int, norm: str = "batch", width: int = 32,
                 dropout: float = 0.0):
        super().__init__()
        self.dropout = dropout
        c, h, w = input_shape
        self.conv1 = nn.Conv2d(c, width, 3, padding=1)
        self.norm1 = _norm2d(norm, width)
        self.conv2 = nn.Conv2d(width, 2 * width, 3, padding=1)
        self.norm2 = _norm2d(norm, 2 * width)
        with torch.no_grad():
            n_flat = self._features(torch.zeros(1, c, h, w)).shape[1]
        self.fc1 = nn.Linear(n_flat, 128)
        self.fc2 = nn.Linear(128, num_classes)

    def _features(self, x):
        x = F.max_pool2d(F.relu(_maybe(self.norm1, self.conv1(x))), 2)
        x = F.max_pool2d(F.relu(_maybe(self.norm2, self.conv2(x))), 2)
        return x.flatten(1)

    def forward(self, x):
        h = _drop(F.relu(self.fc1(self._features(x))), self.dropout, self.training)
        return self.fc2(h)


def _resnet18(input_shape, num_classes: int, norm: str = "batch") -> nn.Module:
    import torchvision

    norm_layer = {
        "batch": nn.BatchNorm2d,
        "group": lambda ch: nn.GroupNorm(min(32, ch), ch),
        "none": lambda ch: nn.Identity(),
    }[norm]
    model = torchvision.models.resnet18(weights=None, num_classes=num_classes,
                                        norm_layer=norm_layer)
    # CIFAR stem: 3x3 stride-1 first convolution and no max-pool (32x32 inputs).
    model.conv1 = nn.Conv2d(input_shape[0], 64, 3, stride=1, padding=1, bias=False)
    model.maxpool = nn.Identity()
    return model


#: Registry: name -> builder ``(input_shape, num_classes, **kwargs) -> nn.Module``.
def _mlp(input_shape, num_classes: int, hidden=(256, 128), dropout: float = 0.0) -> nn.Module:
    return MLP(math.prod(input_shape), num_classes, hidden, dropout)


def _lenet5(input_shape, num_classes: int, norm: str = "none", dropout: float = 0.0):
    return LeNet5(input_shape, num_classes, norm, dropout)


def _cnn(input_shape, num_classes: int, norm: str = "batch", width: int = 32,
         dropout: float = 0.0) -> nn.Module:
    return SmallCNN(input_shape, num_classes, norm, width, dropout)


MODELS: dict[str, Callable[..., nn.Module]] = {
    "mlp": _mlp,
    "lenet5": _lenet5,
    "cnn": _cnn,
    "resnet18": _resnet18,
}


def _is_shape(value) -> bool:
    try:
        shape = tuple(value)
    except TypeError:
        return False
    return len(shape) == 3 and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool)
                                   and v >= 1 for v in shape)


def _is_widths(value) -> bool:
    return len(value) > 0 and all(isinstance(v, int) and not isinstance(v, bool) and v >= 1
                                  for v in value)


#: Declared constraints of :func:`build_model`'s arguments and of the builders' options.
_BUILD_CONSTRAINTS = {
    "name": [Options(lambda: sorted(MODELS))],
    "input_shape": [InstanceOf(object, "(C, H, W) with positive int sizes", _is_shape)],
    "num_classes": [Interval(int, 2, None)],
    "seed": [Interval(int, 0, None), None],
}
_OPTION_CONSTRAINTS = {
    "norm": [Options(_NORMS)],
    "dropout": [Interval(float, 0, 1, "left")],
    "hidden": [InstanceOf((tuple, list), "a non-empty tuple of positive ints (hidden widths)",
                          _is_widths)],
    "width": [Interval(int, 1, None)],
}


def build_model(name: str, *, input_shape, num_classes: int, seed: int | None = None,
                **kwargs) -> nn.Module:
    """Build a registered model with a seeded initialisation.

    Args:
        name: one of ``MODELS``.
        input_shape: ``(C, H, W)`` of one sample (``Dataset.input_shape``).
        num_classes: number of outputs.
        seed: initialisation seed; the global RNG state is restored afterwards.
        **kwargs: builder options, e.g. ``hidden=(64,)`` for ``mlp``, ``norm="group"`` for
            ``lenet5`` / ``cnn`` / ``resnet18``, ``dropout=0.5`` for ``mlp`` / ``lenet5`` /
            ``cnn`` (0, the default, builds exactly the model without dropout).

    Raises:
        ValueError: unknown name, option or norm, bad shapes or option values.

    Example:
        >>> a = build_model("mlp", input_shape=(1, 8, 8), num_classes=10, seed=1)
        >>> b = build_model("mlp", input_shape=(1, 8, 8), num_classes=10, seed=1)
        >>> bool(torch.equal(a.fc1.weight, b.fc1.weight))
        True
    """
    if isinstance(input_shape, Iterator):  # read a generator once
        input_shape = tuple(input_shape)
    validate_params({"name": name, "input_shape": input_shape, "num_classes": num_classes,
                     "seed": seed}, _BUILD_CONSTRAINTS, "build_model")
    _check_options(name, kwargs)
    with torch.random.fork_rng(devices=[]):
        if seed is not None:
            torch.manual_seed(int(seed))
        return MODELS[name](tuple(int(v) for v in input_shape), int(num_classes), **kwargs)


def _check_options(name: str, kwargs: dict) -> None:
    """Builder options: known names and sensible values, each error naming the option."""
    params = inspect.signature(MODELS[name]).parameters
    allowed = [p for p in params if p not in ("input_shape", "num_classes")]
    unknown = sorted(set(kwargs) - set(allowed))
    if unknown:
        raise ValueError(f"build_model({name!r}) got unknown options {unknown}; its options are "
                         f"{allowed}.")
    validate_params(kwargs, _OPTION_CONSTRAINTS, "build_model")
