"""Butterfly (Kronecker-sparse) layers (Dao et al. 2019; Gonon et al. 2023; lesson 01).

* :func:`butterfly_supports` - the fixed supports of the factors of an ``N x N`` butterfly.
* :class:`ButterflyLinear` - a Linear layer whose weight is the product of those factors,
  padding and cropping other shapes, with its ``n_effective`` entries.
* :func:`butterfly_sparsify` - swap a model's Linear layers for butterfly ones.

Everything is re-exported by :mod:`sparsepriv_nb.sparsity`, where the notebooks find it (and
by :mod:`sparsepriv_nb.butterfly`, this module's former name).

Example:
    >>> [int(s.sum()) for s in butterfly_supports(8)]
    [16, 16, 16]

Lesson: notebook 01 (``01_sparsity_methods``).
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import torch
from torch import nn
from torch.nn.utils import prune

from .._checks import InstanceOf, Interval, ParameterError, validate_params
from .._masks import refresh_masked_weights
from ._constraints import SEED

__all__ = ["butterfly_supports", "ButterflyLinear", "butterfly_sparsify"]


def _is_power_of_two(n: int) -> bool:
    return isinstance(n, (int, np.integer)) and n >= 1 and (n & (n - 1)) == 0


_POWER_OF_TWO = InstanceOf((int, np.integer), "an int, a power of two >= 2",
                          lambda n: not isinstance(n, bool) and n >= 2 and _is_power_of_two(n))


_SIZE = Interval(int, 1, None)


def _split_log2(total: int, parts: int) -> list[int]:
    """Split ``total`` into ``parts`` positive integers as evenly as possible."""
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


def butterfly_supports(n: int, n_factors: int | None = None) -> list[torch.Tensor]:
    """Supports of the factors of an ``n x n`` butterfly (Kronecker-sparse) matrix.

    With ``n = 2**L`` and the default ``n_factors = L``, factor i (1-based) has support
    ``I_{2^(L-i)} (x) 1_{2x2} (x) I_{2^(i-1)}``: 2 non-zeros per row, ``2n`` per factor and
    ``2 n L`` in all. Fewer factors use wider blocks ``1_{b x b}`` (``b = 2^k_i`` with the
    exponents ``k_i`` summing to L), a denser parametrisation (``sum_i b_i * n`` non-zeros);
    ``n_factors = 1`` is dense. The product of all supports is always dense.

    Args:
        n: matrix size, a power of two >= 2.
        n_factors: number of factors in [1, log2(n)].

    Returns:
        ``n_factors`` boolean tensors ``(n, n)``, applied right to left: ``B_L ... B_1``.

    Example:
        >>> s = butterfly_supports(8)
        >>> [int(x.sum()) for x in s], [int(x.sum(1).max()) for x in s]
        ([16, 16, 16], [2, 2, 2])
    """
    validate_params({"n": n}, {"n": [_POWER_OF_TWO]}, "butterfly_supports")
    L = int(math.log2(n))
    n_factors = L if n_factors is None else n_factors
    if not Interval(int, 1, L).accepts(n_factors):
        raise ParameterError(f"The 'n_factors' parameter of butterfly_supports must be an int "
                             f"in [1, {L}] for n={n}. Got {n_factors!r} instead.")
    supports = []
    inner = 1  # product of the block sizes of the factors already applied (I_d)
    for k in _split_log2(L, n_factors):
        b = 2 ** k
        outer = n // (inner * b)  # I_a
        s = torch.kron(torch.kron(torch.eye(outer), torch.ones(b, b)), torch.eye(inner))
        supports.append(s.bool())
        inner *= b
    return supports


def _orthogonal_blocks(support: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """A matrix on ``support`` (``I_a (x) 1_{b x b} (x) I_d``) with random orthogonal blocks."""
    n = support.shape[0]
    b = int(support[0].sum())
    d = int(torch.nonzero(support[0]).flatten()[1]) if b > 1 else 1  # stride of a block
    a = n // (b * d)
    q, r = torch.linalg.qr(torch.randn(a, d, b, b, generator=gen))
    q = q * torch.sign(torch.diagonal(r, dim1=-2, dim2=-1)).unsqueeze(-2)  # Haar-distributed
    rows = torch.arange(n).view(a, b, d).permute(0, 2, 1)  # (a, d, b): the indices of a block
    w = torch.zeros(n, n)
    w[rows.unsqueeze(-1), rows.unsqueeze(-2)] = q
    assert torch.equal(w != 0, support), "orthogonal blocks must fill the support exactly"
    return w


def _effective_entries(supports: list[torch.Tensor], in_features: int, out_features: int) -> int:
    """Support entries of ``B_L ... B_1`` on a path from a real input to a kept output.

    Entry ``(r, c)`` of factor i matters iff column ``c`` is reachable from the first
    ``in_features`` coordinates through ``B_1 .. B_{i-1}`` and row ``r`` reaches one of the
    first ``out_features`` outputs through ``B_{i+1} .. B_L``. Matrix-vector products only, so
    large N stay cheap.

    Example:
        >>> _effective_entries(butterfly_supports(4, 1), 2, 3)  # a dense 4x4, cropped to 3x2
        6
    """
    n = supports[0].shape[0]
    fwd = [torch.arange(n) < in_features]
    for s in supports[:-1]:
        fwd.append((s.float() @ fwd[-1].float()) > 0)
    bwd = [torch.arange(n) < out_features]
    for s in reversed(supports[1:]):
        bwd.append((s.float().T @ bwd[-1].float()) > 0)
    bwd.reverse()
    return int(sum(float(q.float() @ s.float() @ r.float())
                   for s, r, q in zip(supports, fwd, bwd)))


class ButterflyLinear(nn.Module):
    """A Linear layer whose weight is a product of butterfly factors.

    Non-square or non-power-of-two shapes are handled by *padding and cropping*: the input is
    zero-padded to ``N = 2**ceil(log2(max(in, out)))``, multiplied by the ``N x N`` product
    ``B_L ... B_1`` and the first ``out_features`` outputs are kept. (Stacking square blocks is
    the alternative; padding keeps one factorisation per layer and the exact supports.)
    ``strict=True`` refuses shapes that need padding.

    ``n_trainable`` counts every entry of the supports; ``n_effective`` only those that can
    change the output: an entry that only ever multiplies a padded (zero) input, or feeds only
    cropped outputs, has no effect. :func:`density_report` uses ``n_effective``; for a square
    power-of-two layer the two are equal.

    Each factor ``factorI`` is a dense ``N x N`` parameter masked with its support through
    ``prune.custom_from_mask``, so only the support is trainable and zeros stay exact.

    Args:
        in_features, out_features: the dense layer's shape.
        n_factors: see :func:`butterfly_supports` (default log2 N: the sparsest).
        bias: add a bias.
        strict: raise unless ``in_features == out_features`` is a power of two.
        generator: seeds the initialisation.

    Example:
        >>> layer = ButterflyLinear(16, 16, generator=torch.Generator().manual_seed(0))
        >>> layer(torch.randn(3, 16)).shape, layer.n_trainable  # 2 * 16 * 4
        (torch.Size([3, 16]), 128)
    """

    def __init__(self, in_features: int, out_features: int, *, n_factors: int | None = None,
                 bias: bool = True, strict: bool = False,
                 generator: torch.Generator | None = None):
        super().__init__()
        validate_params({"in_features": in_features, "out_features": out_features},
                        {"in_features": [_SIZE], "out_features": [_SIZE]}, "ButterflyLinear")
        if strict and (in_features != out_features or not _is_power_of_two(in_features)):
            raise ValueError("ButterflyLinear(strict=True) needs a square layer whose size is a"
                             f" power of two. Got in_features={in_features}, "
                             f"out_features={out_features}; use strict=False to pad and crop.")
        self.in_features, self.out_features = in_features, out_features
        self.N = max(2, 2 ** math.ceil(math.log2(max(in_features, out_features))))
        supports = butterfly_supports(self.N, n_factors)
        self.n_factors = len(supports)
        self.n_trainable = int(sum(int(s.sum()) for s in supports))
        self.n_effective = _effective_entries(supports, in_features, out_features)
        gen = generator or torch.Generator().manual_seed(0)
        # Each b x b block starts as a random orthogonal matrix, so the product of all factors
        # is orthogonal: a well-conditioned start (a product of Gaussian factors trains far
        # slower). The first factor's scale gives nn.Linear's default 1/(3 fan_in) variance.
        scale = math.sqrt(self.N / (3.0 * in_features))
        for i, s in enumerate(supports):
            w = _orthogonal_blocks(s, gen) * (scale if i == 0 else 1.0)
            self.register_parameter(f"factor{i}", nn.Parameter(w))
            prune.custom_from_mask(self, f"factor{i}", s.float())
        if bias:
            bound = 1.0 / math.sqrt(in_features)
            self.bias = nn.Parameter((torch.rand(out_features, generator=gen) * 2 - 1) * bound)
        else:
            self.register_parameter("bias", None)
        refresh_masked_weights(self)  # plain tensors, so the layer can be deepcopied

    def factors(self) -> list[torch.Tensor]:
        """The masked factors ``[B_1, ..., B_L]`` (applied first to last).

        Computed from ``factorI_orig * factorI_mask`` so that they are current even between an
        optimiser step and the next forward pass.
        """
        return [getattr(self, f"factor{i}_orig") * getattr(self, f"factor{i}_mask")
                for i in range(self.n_factors)]

    def dense_weight(self) -> torch.Tensor:
        """The equivalent ``(out, in)`` dense weight ``crop(B_L ... B_1)``."""
        w = torch.eye(self.N, device=self.factors()[0].device)
        for f in self.factors():
            w = f @ w
        return w[: self.out_features, : self.in_features]

    def forward(self, x):
        h = nn.functional.pad(x, (0, self.N - self.in_features))
        for f in self.factors():
            h = h @ f.T
        h = h[..., : self.out_features]
        return h + self.bias if self.bias is not None else h

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"N={self.N}, n_factors={self.n_factors}")


def butterfly_sparsify(model: nn.Module, *, layers: Sequence[str] | None = None,
                       n_factors: int | None = None, strict: bool = False,
                       seed: int = 0) -> nn.Module:
    """Replace Linear layers by freshly initialised :class:`ButterflyLinear` layers.

    Butterfly networks are trained from scratch (Gonon et al.), so the dense weights are not
    kept. Density is controlled by which layers are factorised (``layers``) and by
    ``n_factors`` (fewer, wider blocks are denser); read the result off
    :func:`density_report`.

    Args:
        model: changed in place.
        layers: names of Linear layers to factorise; default all but the last (output)
            layer, whose few outputs would make padding wasteful.
        n_factors: factors per layer (default log2 N; capped at each layer's log2 N).
        strict: refuse layers that are not square powers of two.
        seed: initialisation seed.

    Raises:
        ValueError: an unknown or non-Linear layer name, or a strict request that cannot be
            honoured.

    Example:
        >>> from sparsepriv_nb.models import build_model
        >>> from sparsepriv_nb.sparsity import density_report
        >>> m = butterfly_sparsify(build_model("mlp", input_shape=(1, 8, 8), num_classes=10))
        >>> density_report(m).kind.tolist()
        ['butterfly', 'butterfly', 'linear', 'all']
    """
    validate_params({"n_factors": n_factors, "seed": seed},
                    {"n_factors": [_SIZE, None], "seed": [SEED]}, "butterfly_sparsify")
    linear = [n for n, m in model.named_modules() if isinstance(m, nn.Linear)]
    if not linear:
        raise ValueError(f"The model {type(model).__name__} has no Linear layer to factorise.")
    if layers is None:
        layers = linear[:-1] or linear
    bad = [n for n in layers if n not in linear]
    if bad:
        raise ParameterError(f"The 'layers' parameter of butterfly_sparsify must name Linear "
                             f"layers, among {linear}. Got {list(layers)!r} instead ({bad} are "
                             "not Linear layers).")
    gen = torch.Generator().manual_seed(seed)
    for name in layers:
        old = model.get_submodule(name)
        N = max(2, 2 ** math.ceil(math.log2(max(old.in_features, old.out_features))))
        nf = None if n_factors is None else min(n_factors, int(math.log2(N)))
        new = ButterflyLinear(old.in_features, old.out_features, n_factors=nf,
                              bias=old.bias is not None, strict=strict, generator=gen)
        parent_name, _, child = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        setattr(parent, child, new.to(old.weight.device))
    return model
