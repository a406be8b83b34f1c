"""Train many small models of one recipe at once: vectorised ensembles with ``torch.func``.

LiRA and RMIA need many reference models (``N_REFERENCE = 16`` in notebook 02), Shokri's attack
several shadows, and a sweep several seeds: models that share an architecture and a training
recipe and differ only in their data subset, data order and initialisation. Trained one by one
with :func:`sparsepriv_nb.train.fit`, a digits MLP spends most of each step in Python and
dispatch overhead, not arithmetic. :func:`train_ensemble` instead stacks the K members'
parameters along a leading dimension (``torch.func.stack_module_state``) and runs one batched
forward and backward pass per step: for :class:`~sparsepriv_nb.models.MLP` written with
``torch.baddbmm`` (one batched matrix product per layer), for other architectures a ``vmap``-ed
``functional_call``. :mod:`sparsepriv_nb.experiments` trains dense LiRA / RMIA reference models
this way.

**How it matches sequential training.** Member ``k`` is exactly the model that
``fit(build_model(arch, seed=seeds[k]), (X[subsets[k]], y[subsets[k]]), seed=seeds[k], ...)``
would train: the same initialisation, the same per-epoch ``torch.randperm`` order drawn from
its own ``torch.Generator`` seeded with ``seeds[k]``, the same batches (the last one of an
epoch smaller), the same mean cross-entropy and the same optimiser (``torch.optim``'s Adam, or
SGD with momentum, with L2 weight decay, fused where this torch has it, each member's row of
the stacked parameters a parameter of its own, so that step counts are per member). Subsets of
different sizes are handled by **padding with a loss mask**: every step gathers a ``(K,
batch_size)`` block of indices; a member's short last batch is padded and its loss averaged
over the real samples only, and a member that has finished its epoch (fewer batches than the
largest subset) is *inactive*: its parameters and optimiser state are left untouched, as if
that step did not exist for it. So each member sees the very batch sequence that sequential
``fit`` gives it; the results differ from sequential training only by floating-point rounding
(batched matrix products sum in another order), which is why the tests compare the first steps
closely and trained members statistically. Dropout masks are drawn independently per member
(one mask over the ``(K, B, H)`` activations, or ``vmap(randomness="different")``), from a
stream other than ``fit``'s, which is equal in distribution.

**Limits.** Only dense models without buffers (no BatchNorm running statistics, no pruning
masks) are vectorised: LiRA/RMIA reference and shadow models of a pruned configuration keep the
sequential path of :mod:`sparsepriv_nb.sparsity` (prune, fine-tune, IMP rounds), though their
dense first phase is the cached dense member (:mod:`sparsepriv_nb.experiments`). Early stopping
(``patience``) and defenses' custom losses are not supported here either.

**When it pays.** The batched path removes per-step overhead, not arithmetic: both paths do the
same floating-point work, so the speed-up is bounded by how much of a sequential step is
overhead. For 16 digits-MLP reference models (hidden 256, 128; 30 epochs on ~400 samples) a
step of the ensemble is ~280 MFLOP of batched matrix products, which one CPU thread runs at ~45
GFLOPS (about 1.3 s of the 1.7 s the ensemble took), against 4.3 s for the 16 sequential fits:
2.5x, and about 3x were the overhead gone entirely. :func:`should_vectorise` encodes what
``benchmarks/ensembles.py`` measured (:data:`MEASURED_SPEEDUP`); convolutional models on inputs
larger than the measured 8x8 stay sequential, where their convolutions dominate.
:func:`train_ensemble` asks it by default.

Example:
    >>> from sparsepriv_nb.data import load_dataset
    >>> ds = load_dataset("digits")
    >>> subsets = [np.arange(0, 600), np.arange(600, 1000)]  # sizes may differ
    >>> members = train_ensemble("mlp", subsets, X=ds.X, y=ds.y, input_shape=ds.input_shape,
    ...                          num_classes=10, seeds=[0, 1], epochs=10, vectorise=True)
    >>> logits = predict_logits_ensemble(members, ds.X[1000:1400])
    >>> logits.shape
    torch.Size([2, 400, 10])
    >>> accuracy = (logits.argmax(2) == ds.y[1000:1400]).float().mean(1)
    >>> bool((accuracy > 0.8).all())
    True

Lesson: notebook 02 (``02_membership_inference``), section 4 (reference models).
"""

from __future__ import annotations

import copy
import math
from typing import Sequence

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ._checks import InstanceOf, Options, ParameterError, check_int, check_number, \
    validate_params
from .models import MLP, build_model
from .inputs import check_inputs
from .train import resolve_device, stage_tensors, take_batch

__all__ = ["train_ensemble", "predict_logits_ensemble", "should_vectorise", "why_not_vectorisable",
           "MEASURED_SPEEDUP"]

_OPTIMIZERS = ("adam", "sgd")
_TRAIN_CONSTRAINTS = {"optimizer": [Options(_OPTIMIZERS)],
                      "model_params": [InstanceOf(dict, "a dict of builder options"), None],
                      "vectorise": [InstanceOf(bool, "True or False"), None]}

#: Speed-up of :func:`train_ensemble` (vectorised) over K sequential :func:`train.fit` calls,
#: measured by ``benchmarks/ensembles.py --threads 1,2 --repeats 2`` on digits (8x8 inputs;
#: LiRA reference models on ~400 samples, 30 epochs of Adam, batch 64) on an idle 2-core CPU
#: with one torch thread (as each notebook of the main job runs), best of 2, interleaved.
#: With two threads on both paths the MLP gained 2.6x / 5.1x / 5.7x and LeNet-5 1.9x / 2.4x /
#: 3.4x, but two threads made the sequential fits slower (7.7 s instead of 4.3 s for 16 MLPs):
#: against the faster, one-thread sequential run, 16 MLPs on two threads gained 2.8x.
#: :func:`should_vectorise` vectorises where the one-thread speed-up is > 1.2.
MEASURED_SPEEDUP: dict[str, dict[int, float]] = {
    "mlp": {4: 2.3, 16: 2.5, 64: 2.3},
    "lenet5": {4: 1.1, 16: 1.5, 64: 1.7},
}
#: The input size (pixels) the table was measured at. LeNet-5 on larger inputs (28x28) is
#: dominated by its convolutions, which were measured not faster vectorised (issue 13), so it
#: stays sequential there; an MLP's cost grows alike on both paths.
_MEASURED_PIXELS = 64
_MIN_SPEEDUP = 1.2


def should_vectorise(arch: str, n_models: int, *, input_shape=None,
                     device: str | torch.device = "cpu") -> bool:
    """Whether ``n_models`` members of ``arch`` train faster as one vectorised ensemble.

    From :data:`MEASURED_SPEEDUP` (CPU): ``True`` where the measured speed-up at the nearest
    measured K (not above ``n_models``) exceeds 1.2; architectures never measured (``cnn``,
    ``resnet18``, whose default BatchNorm cannot be vectorised anyway), a single model, and
    convolutional models on inputs larger than the measured 8x8 stay sequential. On CUDA the
    same table is used: it was not measured there.

    Example:
        >>> should_vectorise("mlp", 16), should_vectorise("mlp", 1)
        (True, False)
        >>> should_vectorise("lenet5", 16, input_shape=(1, 8, 8))
        True
        >>> should_vectorise("lenet5", 16, input_shape=(1, 28, 28))
        False
    """
    validate_params({"arch": arch}, {"arch": [InstanceOf(str, "a model name (str)")]},
                    "should_vectorise")
    n_models = check_int(n_models, "n_models", "should_vectorise", 1)
    resolve_device(device, "should_vectorise")
    table = MEASURED_SPEEDUP.get(arch)
    if n_models < 2 or not table:
        return False
    if arch != "mlp" and input_shape is not None \
            and math.prod(tuple(input_shape)[1:]) > _MEASURED_PIXELS:
        return False
    measured = [k for k in sorted(table) if k <= n_models] or [min(table)]
    return table[measured[-1]] > _MIN_SPEEDUP


# --------------------------------------------------------------------------- arguments


_SUBSETS = "The 'subsets' parameter of train_ensemble"


def _check_subset(k: int, s, n: int) -> np.ndarray:
    """Member ``k``'s index array (or boolean mask of length ``n``) -> int64 indices."""
    a = s.detach().cpu().numpy() if isinstance(s, torch.Tensor) else np.asarray(s)
    if a.dtype == bool:
        if a.shape != (n,):
            raise ParameterError(f"{_SUBSETS}: member {k}'s boolean mask has shape {a.shape}; "
                                 f"it must be ({n},), one entry per row of X.")
        a = np.flatnonzero(a)
    if a.ndim != 1 or (a.size and not np.issubdtype(a.dtype, np.integer)):
        raise ParameterError(f"{_SUBSETS}: member {k} must be a 1-D array of int indices into X. "
                             f"Got dtype {a.dtype}, shape {a.shape}.")
    if a.size == 0:
        raise ParameterError(f"{_SUBSETS}: member {k} has no sample; every member needs at "
                             "least one.")
    if a.min() < 0 or a.max() >= n:
        raise ParameterError(f"{_SUBSETS}: member {k} has indices in [{a.min()}, {a.max()}]; "
                             f"they must be in [0, {n - 1}] (X has {n} rows).")
    return a.astype(np.int64)


def _check_subsets(subsets, n: int) -> list[np.ndarray]:
    """Index arrays (or boolean masks of length ``n``) -> int64 index arrays into ``X``."""
    if isinstance(subsets, (str, bytes, torch.Tensor)) or not isinstance(subsets, Sequence) \
            and not isinstance(subsets, np.ndarray):
        raise ParameterError(f"{_SUBSETS} must be a sequence of index arrays (one per member). "
                             f"Got {type(subsets).__name__} instead.")
    if len(subsets) == 0:
        raise ParameterError(f"{_SUBSETS} must hold at least one index array. Got an empty "
                             "sequence.")
    return [_check_subset(k, s, n) for k, s in enumerate(subsets)]


def _check_seeds(seeds, k: int) -> list[int]:
    start = "The 'seeds' parameter of train_ensemble"
    if isinstance(seeds, (str, bytes)) or not isinstance(seeds, (Sequence, np.ndarray)):
        raise ParameterError(f"{start} must be a sequence of ints >= 0 (one per member). Got "
                             f"{type(seeds).__name__} instead.")
    if len(seeds) != k:
        raise ParameterError(f"{start} has {len(seeds)} seeds for {k} subsets; give one seed "
                             "per member.")
    return [check_int(s, "seeds", "train_ensemble", 0) for s in seeds]


def why_not_vectorisable(model: nn.Module) -> str | None:
    """Why ``model`` cannot be trained vectorised, or ``None`` when it can.

    Example:
        >>> why_not_vectorisable(nn.Linear(2, 2)) is None
        True
        >>> why_not_vectorisable(nn.BatchNorm1d(2))  # doctest: +ELLIPSIS
        "it has buffers ['running_mean', ...
    """
    from torch.nn.utils import prune

    if prune.is_pruned(model):
        return "it is pruned (masks are buffers re-applied by hooks)"
    buffers = [n for n, _ in model.named_buffers()]
    if buffers:
        return (f"it has buffers {buffers[:3]} (e.g. BatchNorm running statistics, which vmap "
                "cannot update in place); build it with norm='group' or 'none'")
    return None


# --------------------------------------------------------------------------- training


def train_ensemble(arch: str, subsets, *, X, y, input_shape, num_classes: int, seeds,
                   epochs: int = 10, batch_size: int = 64, lr: float = 1e-3,
                   optimizer: str = "adam", weight_decay: float = 0.0, momentum: float = 0.9,
                   model_params: dict | None = None, device: str | torch.device = "cpu",
                   vectorise: bool | None = None) -> list[nn.Module]:
    """Train one model per subset, all with the recipe of :func:`sparsepriv_nb.train.fit`.

    Member ``k`` is ``build_model(arch, seed=seeds[k], **model_params)`` trained on
    ``(X[subsets[k]], y[subsets[k]])`` with ``fit(..., seed=seeds[k])``'s order and batches (see
    the module docstring for how the vectorised path reproduces it).

    Args:
        arch: a registered model name (``"mlp"``, ``"lenet5"``, ...).
        subsets: K index arrays into ``X`` (or boolean masks of length ``len(X)``), one per
            member; sizes may differ.
        X, y: the shared inputs ``(N, C, H, W)`` and integer labels ``(N,)``.
        input_shape, num_classes: as for :func:`~sparsepriv_nb.models.build_model`.
        seeds: K ints >= 0: member k's initialisation and shuffling seed.
        epochs, batch_size, lr, optimizer, weight_decay, momentum: as for ``fit``
            (``momentum`` is used by ``"sgd"`` only).
        model_params: builder options (``{"hidden": (64,)}``, ``{"dropout": 0.2}``).
        device: ``"cpu"``, ``"cuda"`` or ``"auto"``.
        vectorise: ``True`` vectorise (an error where the model cannot be), ``False`` train
            sequentially with ``fit``, ``None`` ask :func:`should_vectorise` (and fall back to
            sequential for models with buffers or masks).

    Returns:
        K trained models in eval mode on ``device``, in the order of ``subsets``.

    Raises:
        ValueError / TypeError: naming the bad argument; ``vectorise=True`` for a model with
            buffers (BatchNorm).
    """
    from .inputs import check_xy
    from .train import fit

    owner = "train_ensemble"
    X, y = check_xy((X, y), "X, y", owner)
    idx = _check_subsets(subsets, len(X))
    seeds = _check_seeds(seeds, len(idx))
    epochs = check_int(epochs, "epochs", owner, 1)
    batch_size = check_int(batch_size, "batch_size", owner, 1)
    check_number(lr, "lr", owner, low=0.0, low_open=True)
    check_number(weight_decay, "weight_decay", owner, low=0.0)
    check_number(momentum, "momentum", owner, low=0.0, high=1.0)
    validate_params({"optimizer": optimizer, "model_params": model_params,
                     "vectorise": vectorise}, _TRAIN_CONSTRAINTS, owner)
    dev = resolve_device(device, owner)
    members = [build_model(arch, input_shape=input_shape, num_classes=num_classes, seed=s,
                           **(model_params or {})) for s in seeds]
    why_not = why_not_vectorisable(members[0])
    if vectorise is None:
        vectorise = why_not is None and should_vectorise(
            arch, len(members), input_shape=input_shape, device=dev)
    elif vectorise and why_not is not None:
        raise ValueError(f"The 'vectorise' parameter of {owner} is True, but {arch!r} with "
                         f"{model_params or {}} cannot be vectorised: {why_not}. Pass "
                         "vectorise=None or False.")
    if not vectorise:
        for m, sub, s in zip(members, idx, seeds):
            fit(m, (X[sub], y[sub]), epochs=epochs, batch_size=batch_size, lr=lr,
                optimizer=optimizer, weight_decay=weight_decay, momentum=momentum, seed=s,
                device=dev, progress=False)
        return members
    from .inputs import check_fits

    for m in members:  # all on one device: stack_module_state concatenates their tensors
        m.to(dev)
    check_fits(members[0], X, y, "X, y", owner, dev)
    _train_vectorised(members, idx, seeds, X, y, epochs=epochs, batch_size=batch_size, lr=lr,
                      optimizer=optimizer, weight_decay=weight_decay, momentum=momentum,
                      dev=dev)
    return members


def _epoch_indices(idx, gens, batch_size: int, steps: int, dev):
    """One epoch's ``(steps, K, batch_size)`` indices into X and the matching 0/1 mask."""
    K = len(idx)
    flat = torch.zeros(K, steps * batch_size, dtype=torch.long)
    mask = torch.zeros(K, steps * batch_size)
    for k, (sub, gen) in enumerate(zip(idx, gens)):
        order = torch.randperm(len(sub), generator=gen)  # the draw fit makes each epoch
        flat[k, :len(sub)] = sub[order]
        mask[k, :len(sub)] = 1.0
    shape = (K, steps, batch_size)
    return (flat.view(shape).transpose(0, 1).to(dev), mask.view(shape).transpose(0, 1).to(dev))


def _member_optimizer(rows, *, optimizer, lr, weight_decay, momentum):
    """``torch.optim`` Adam / SGD over the members' rows, fused where this torch has it.

    Each member's slice of each stacked parameter is a parameter of its own, so step counts
    (Adam's bias correction) are per member, and a member whose gradient is ``None`` at a step
    (it has finished its epoch) is skipped by the optimiser, state and all.
    """
    def make(fused):
        if optimizer == "adam":
            return torch.optim.Adam(rows, lr=lr, weight_decay=weight_decay, fused=fused)
        return torch.optim.SGD(rows, lr=lr, momentum=momentum, weight_decay=weight_decay,
                               fused=fused)

    try:  # one pass over the parameters instead of one per operation (torch >= 2.4 on CPU)
        return make(True)
    except (RuntimeError, ValueError, TypeError):
        return make(None)


def _mlp_forward(base, layers: dict, xb: torch.Tensor) -> torch.Tensor:
    """K members of :class:`~sparsepriv_nb.models.MLP` at once, with batched matrix products:
    ``layers`` maps ``fc{i}.weight`` to ``(K, out, in)`` and ``fc{i}.bias`` to ``(K, out)``,
    ``xb`` is ``(K, B, ...)``; returns ``(K, B, C)``. ``MLP.forward`` written with ``baddbmm``
    (``x @ W.T + b`` per member), without ``vmap``'s and ``functional_call``'s per-step
    dispatch."""
    h = xb.flatten(2)
    for i in range(1, base.n_layers + 1):
        w, b = layers[f"fc{i}.weight"], layers[f"fc{i}.bias"]
        h = torch.baddbmm(b.unsqueeze(1), h, w.transpose(1, 2))
        if i < base.n_layers:
            h = F.relu(h)
            if base.dropout > 0:
                h = F.dropout(h, base.dropout, True)
    return h


def _train_vectorised(members, idx, seeds, X, y, *, epochs, batch_size, lr, optimizer,
                      weight_decay, momentum, dev) -> None:
    from torch.func import functional_call, stack_module_state, vmap

    K = len(members)
    stacked, _ = stack_module_state(members)  # name -> (K, *shape)
    names = list(stacked)
    shapes = [stacked[n].shape[1:] for n in names]
    bounds = np.r_[0, np.cumsum([math.prod(sh) for sh in shapes])].tolist()
    spans = list(zip(names, bounds[:-1], bounds[1:], shapes))
    # Member k's parameters are row k of one (K, P) tensor; the rows (views) are the
    # optimiser's parameters, one per member, updated in place. Each layer is a strided
    # (K, *shape) view of it, and each step differentiates a fresh detached alias of those
    # views (differentiating slices of the (K, P) tensor itself would add one (K, P) gradient
    # per layer). The layer gradients are copied into the matching views of one (K, P)
    # gradient buffer, whose rows are the members' .grad.
    theta = torch.cat([stacked[n].detach().reshape(K, -1) for n in names], 1).to(dev)
    grad = torch.zeros_like(theta)
    layers = {n: theta[:, a:b].view(K, *sh) for n, a, b, sh in spans}
    grad_layers = [grad[:, a:b].view(K, *sh) for _, a, b, sh in spans]
    rows = [theta[k] for k in range(K)]
    opt = _member_optimizer(rows, optimizer=optimizer, lr=lr, weight_decay=weight_decay,
                            momentum=momentum)
    base = copy.deepcopy(members[0]).to("meta").train()
    if isinstance(base, MLP):
        def batched(layers, xb):
            return _mlp_forward(base, layers, xb)
    else:
        def forward(p, xb):
            return functional_call(base, p, (xb,))

        batched = vmap(forward, randomness="different")
    X, y = stage_tensors((X, y), dev)  # whole on a GPU only when it fits
    idx_t = [torch.as_tensor(a) for a in idx]
    gens = [torch.Generator().manual_seed(s) for s in seeds]
    steps = max(math.ceil(len(a) / batch_size) for a in idx)
    # Dropout (the only randomness inside a step) from a stream of its own, seeded by all
    # members' seeds; the caller's global RNG state is restored afterwards.
    rng_seed = int(np.random.SeedSequence(seeds).generate_state(1)[0])
    with torch.random.fork_rng(devices=[dev] if dev.type == "cuda" else []):
        torch.manual_seed(rng_seed)
        for _ in range(epochs):
            ids, mask = _epoch_indices(idx_t, gens, batch_size, steps, dev)
            counts = mask.sum(2)  # (steps, K) real samples per member and step
            widths = counts.max(1).values.long().tolist()
            full = (counts == counts[:, :1]).all(1).tolist()  # steps without padding
            for s in range(steps):
                width = int(widths[s])  # no column where every member is padding
                cols = ids[s, :, :width]
                xb, yb = take_batch(X, cols, dev), take_batch(y, cols, dev)
                leaves = {n: p.detach().requires_grad_() for n, p in layers.items()}
                logits = batched(leaves, xb)  # (K, width, C)
                ce = F.cross_entropy(logits.flatten(0, 1), yb.flatten(), reduction="none")
                # Each member's loss is the mean over its real samples, as fit's batch mean;
                # members are independent, so the gradient of the sum is each one's own.
                if full[s]:
                    loss = ce.sum() / width
                else:
                    loss = ((ce.view(K, -1) * mask[s, :, :width]).sum(1)
                            / counts[s].clamp(min=1)).sum()
                for buf, g in zip(grad_layers, torch.autograd.grad(loss, list(leaves.values()))):
                    buf.copy_(g)
                active = [True] * K if full[s] else (counts[s] > 0).tolist()
                for k, r in enumerate(rows):
                    r.grad = grad[k] if active[k] else None
                opt.step()
    final = theta.cpu()
    for k, m in enumerate(members):
        m.load_state_dict({n: final[k, a:b].view(sh).clone() for n, a, b, sh in spans})
        m.to(dev).eval()


# --------------------------------------------------------------------------- prediction


@torch.no_grad()
def predict_logits_ensemble(models: Sequence[nn.Module], X, *, batch_size: int = 1024,
                            device: str | torch.device = "cpu") -> torch.Tensor:
    """Logits of K models of one architecture on the same inputs: ``(K, n, C)`` on the CPU.

    Models in eval mode, evaluated with one ``vmap``-ed ``functional_call`` per batch of
    ``X``; pruned models (whose masks are applied by forward hooks) are evaluated one by one
    with :func:`sparsepriv_nb.train.predict_logits`, with the same result.

    Example:
        >>> ms = [build_model("mlp", input_shape=(1, 8, 8), num_classes=3, seed=s)
        ...       for s in range(4)]
        >>> x = torch.rand(5, 1, 8, 8, generator=torch.Generator().manual_seed(0))
        >>> out = predict_logits_ensemble(ms, x)
        >>> out.shape, bool(torch.allclose(out[2], ms[2](x), atol=1e-5))
        (torch.Size([4, 5, 3]), True)
    """
    from torch.func import functional_call, stack_module_state, vmap
    from torch.nn.utils import prune

    from .train import predict_logits

    owner = "predict_logits_ensemble"
    if isinstance(models, nn.Module) or not isinstance(models, Sequence) or not models:
        raise TypeError(f"The 'models' parameter of {owner} must be a non-empty sequence of "
                        f"torch.nn.Module. Got {type(models).__name__} instead.")
    for k, m in enumerate(models):
        if not isinstance(m, nn.Module):
            raise TypeError(f"The 'models' parameter of {owner}: item {k} is a "
                            f"{type(m).__name__}, not a torch.nn.Module.")
    batch_size = check_int(batch_size, "batch_size", owner, 1)
    dev = resolve_device(device, owner)
    X = check_inputs(X, "X", owner)
    layout = [(n, p.shape) for n, p in models[0].state_dict().items()]
    for k, m in enumerate(models[1:], start=1):
        other = [(n, p.shape) for n, p in m.state_dict().items()]
        if type(m) is not type(models[0]) or other != layout:
            raise ValueError(f"The 'models' parameter of {owner} must hold models of one "
                             f"architecture; item {k} ({type(m).__name__}) differs from item 0 "
                             f"({type(models[0]).__name__}) in its layers or shapes.")
    if len(models) == 1 or any(prune.is_pruned(m) for m in models):
        return torch.stack([predict_logits(m, X, batch_size=batch_size, device=dev)
                            for m in models])
    for m in models:
        m.to(dev).eval()
    params, buffers = stack_module_state(list(models))
    base = copy.deepcopy(models[0]).to("meta").eval()

    def forward(p, b, xb):
        return functional_call(base, (p, b), (xb,))

    batched = vmap(forward, in_dims=(0, 0, None))
    outs = [batched(params, buffers, X[i:i + batch_size].to(dev)).cpu()
            for i in range(0, len(X), batch_size)]
    if not outs:
        return torch.empty(len(models), 0, 0)
    return torch.cat(outs, 1)
