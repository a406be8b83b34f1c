"""Training and evaluation: :func:`fit`, :func:`evaluate`, :func:`predict_logits`.

Threads: on a 2-core machine, two torch threads with OpenMP's default spin-waiting were
measured several times *slower* than one as soon as another process was busy (see
``benchmarks/threads.py``), and the small models here gain little from a second thread even on
an idle machine. :func:`configure_threads` therefore defaults to one thread on machines with
at most 2 cores; ``sparsepriv_nb`` also sets ``OMP_WAIT_POLICY=PASSIVE`` before torch loads.

Devices: :func:`resolve_device` turns ``"auto"`` into CUDA when torch sees a GPU, else the
CPU, and refuses CUDA where there is none (never a silent CPU fallback). Data is moved in
batches: :func:`stage_tensors` puts a whole dataset on a GPU only when it fits (a quarter of
the free memory), else it stays on the host, pinned, and :func:`take_batch` copies one batch
at a time. On the CPU nothing is copied or pinned, so CPU results are bit-identical to the
per-batch code. DataLoaders here read in-memory tensors and keep ``num_workers=0``: worker
processes would only copy (pickle) the tensors they index.

Example:
    >>> from sparsepriv_nb.data import load_dataset
    >>> from sparsepriv_nb.models import build_model
    >>> ds = load_dataset("digits")
    >>> model = build_model("mlp", input_shape=ds.input_shape, num_classes=10, seed=0)
    >>> hist = fit(model, (ds.X[:500], ds.y[:500]), epochs=5, seed=0, progress=False)
    >>> hist[-1]["train_acc"] > 0.8
    True

Lesson: notebook 01 (``01_sparsity_methods``); every notebook trains through ``fit``.
"""

from __future__ import annotations

import copy
import os
from typing import Sequence

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ._checks import ParameterError, check_choice, check_int, check_number
from .inputs import check_fits, check_inputs, check_model, check_xy
from ._masks import refresh_masked_weights
from ._progress import show_progress as _show_progress

__all__ = ["resolve_device", "configure_threads", "fit", "evaluate", "predict_logits",
           "seed_everything", "stage_tensors", "take_batch"]

_OPTIMIZERS = ("sgd", "adam")
_DEVICES = "'auto', 'cpu', 'cuda' or 'cuda:N' (a torch.device of type cpu or cuda)"

#: Largest share of the GPU's free memory a whole dataset may take in :func:`stage_tensors`
#: (the rest is for the model, its activations and the optimiser).
GPU_DATA_FRACTION = 0.25


def resolve_device(device: str | torch.device = "auto", owner: str = "resolve_device"
                   ) -> torch.device:
    """The ``torch.device`` for ``device``: ``"auto"`` is CUDA when torch sees a GPU, else CPU.

    Asking for CUDA where torch sees none is an error, never a silent fall-back to the CPU.

    Args:
        device: ``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or such a ``torch.device``.
        owner: the function named in error messages.

    Raises:
        ParameterError: any other value (``"gpu"``, ``"mps"``, ``"meta"``, ``3``), CUDA asked
            for without CUDA, or a CUDA index beyond the devices present.

    Example:
        >>> resolve_device("cpu")
        device(type='cpu')
        >>> resolve_device("gpu")
        Traceback (most recent call last):
        ...
        sparsepriv_nb._checks.ParameterError: The 'device' parameter of resolve_device must be \
'auto', 'cpu', 'cuda' or 'cuda:N' (a torch.device of type cpu or cuda). Got 'gpu' instead.
    """
    if isinstance(device, str) and device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    dev = None
    if isinstance(device, torch.device):
        dev = device
    elif isinstance(device, str):
        try:
            dev = torch.device(device)
        except (RuntimeError, TypeError, ValueError):
            dev = None
    if dev is None or dev.type not in ("cpu", "cuda"):
        raise ParameterError(f"The 'device' parameter of {owner} must be {_DEVICES}. "
                             f"Got {device!r} instead.")
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ParameterError(
                f"The 'device' parameter of {owner} is {device!r}, but torch sees no CUDA GPU "
                f"(torch {torch.__version__}, built for CUDA {torch.version.cuda}). Pass "
                "device='cpu', or 'auto' to use a GPU only when there is one.")
        count = torch.cuda.device_count()
        if dev.index is not None and dev.index >= count:
            raise ParameterError(f"The 'device' parameter of {owner} is {device!r}, but torch "
                                 f"sees {count} CUDA device(s): use 'cuda:0' .. "
                                 f"'cuda:{count - 1}'.")
        if dev.index is None:  # one spelling, so that tensor.device == dev holds
            dev = torch.device("cuda", torch.cuda.current_device())
    return dev


def stage_tensors(tensors: Sequence[torch.Tensor], device: str | torch.device, *,
                  max_fraction: float | None = None) -> list[torch.Tensor]:
    """Tensors placed for batched use on ``device`` (see :func:`take_batch`).

    On the CPU they are returned as they are (no copy). On CUDA they move whole to the GPU
    when together they take at most ``max_fraction`` (default :data:`GPU_DATA_FRACTION`) of its
    free memory; else they stay on the host, pinned (page-locked, so each batch's copy can run
    asynchronously).

    Example:
        >>> X = torch.zeros(4, 2)
        >>> stage_tensors([X], "cpu")[0] is X
        True
    """
    dev = resolve_device(device, "stage_tensors")
    tensors = list(tensors)
    if dev.type != "cuda":
        return tensors
    nbytes = sum(t.numel() * t.element_size() for t in tensors if t.device != dev)
    free, _ = torch.cuda.mem_get_info(dev)
    if nbytes <= (GPU_DATA_FRACTION if max_fraction is None else max_fraction) * free:
        return [t.to(dev) for t in tensors]
    return [t if t.is_cuda or t.is_pinned() else t.pin_memory() for t in tensors]


def take_batch(t: torch.Tensor, idx: torch.Tensor, device: torch.device) -> torch.Tensor:
    """``t[idx]`` on ``device``: indexed where ``t`` lives, then copied (asynchronously from
    pinned host memory).

    Example:
        >>> take_batch(torch.arange(5.0), torch.tensor([4, 0]), torch.device("cpu"))
        tensor([4., 0.])
    """
    if t.device == device:
        return t[idx.to(device)]
    batch = t[idx.to(t.device)]
    if device.type == "cuda" and not batch.is_cuda:
        batch = batch.pin_memory() if t.is_pinned() else batch
        return batch.to(device, non_blocking=batch.is_pinned())
    return batch.to(device)


def configure_threads(n: int | None = None) -> int:
    """Set torch's intra-op thread count and return it.

    Args:
        n: threads to use; ``None`` picks 1 on machines with <= 2 cores (measured faster and
            robust to a busy neighbour process), else ``min(cores, 4)``.
    """
    if n is None:
        cores = os.cpu_count() or 1
        n = 1 if cores <= 2 else min(cores, 4)
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"The 'n' parameter of configure_threads must be an int >= 1. Got {n!r}.")
    torch.set_num_threads(n)
    return n


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch globally. Notebooks call this once; the library never does."""
    import random

    import numpy as np

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _make_optimizer(params, optimizer: str, lr: float, momentum: float, weight_decay: float):
    # foreach: one multi-tensor kernel per operation instead of a loop over the parameters;
    # the same arithmetic, bit for bit (tests/test_experiments_regression.py pins models), and
    # ~8 % faster for the digits MLP on a CPU, where torch otherwise uses the loop.
    # (fused=True was ~26 % faster but rounds differently.)
    if optimizer == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay,
                               foreach=True)
    return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay, foreach=True)


def _check_fit_options(model, *, epochs, optimizer, lr, momentum, weight_decay, batch_size,
                       patience, has_val, loss_fn, seed, snapshot_steps) -> tuple[int, int, int]:
    """Validate :func:`fit`'s options; returns ``(epochs, batch_size, seed)`` as ints."""
    epochs = check_int(epochs, "epochs", "fit", 1)
    check_choice(optimizer, _OPTIMIZERS, "optimizer", "fit")
    check_number(lr, "lr", "fit", low=0.0, low_open=True)
    check_number(momentum, "momentum", "fit", low=0.0, high=1.0)
    check_number(weight_decay, "weight_decay", "fit", low=0.0)
    batch_size = check_int(batch_size, "batch_size", "fit", 1)
    seed = check_int(seed, "seed", "fit", 0)
    if patience is not None and (not has_val or isinstance(patience, bool)
                                 or not isinstance(patience, int) or patience < 1):
        raise ValueError("The 'patience' parameter of fit must be None or an int >= 1, and "
                         f"needs val_data. Got patience={patience!r}, val_data="
                         f"{'given' if has_val else None}.")
    if loss_fn is not None and not callable(loss_fn):
        raise TypeError("The 'loss_fn' parameter of fit must be None or a callable "
                        f"loss_fn(logits, y). Got {type(loss_fn).__name__} instead.")
    if isinstance(snapshot_steps, (str, bytes)) or not all(
            isinstance(s, (int, np.integer)) and not isinstance(s, bool) and s >= 0
            for s in snapshot_steps):
        raise ValueError("The 'snapshot_steps' parameter of fit must be a sequence of ints >= 0"
                         f" (optimisation steps). Got {snapshot_steps!r} instead.")
    if not any(p.requires_grad for p in model.parameters()):
        raise ValueError(f"fit: the model {type(model).__name__} has no trainable parameter.")
    return epochs, batch_size, seed


def _train_epoch(model, opt, loss_fn, X, y, order, *, batch_size, dev, step, wanted,
                 snapshots) -> tuple[float, int, int]:
    """One pass over ``order``; returns ``(summed loss, correct predictions, step)``."""
    model.train()
    tot_loss, correct = 0.0, 0
    for start in range(0, len(order), batch_size):
        idx = order[start:start + batch_size]
        xb, yb = take_batch(X, idx, dev), take_batch(y, idx, dev)
        opt.zero_grad(set_to_none=True)
        logits = model(xb)
        loss = loss_fn(logits, yb)
        loss.backward()
        opt.step()
        step += 1
        if step in wanted:
            snapshots[step] = copy.deepcopy(model.state_dict())
        tot_loss += loss.item() * len(idx)
        correct += (logits.argmax(1) == yb).sum().item()
    return tot_loss, correct, step


def fit(model: nn.Module, train_data, *, val_data=None, epochs: int = 10,
        optimizer: str = "adam", lr: float = 1e-3, momentum: float = 0.9,
        weight_decay: float = 0.0, batch_size: int = 64, patience: int | None = None,
        loss_fn=None, seed: int = 0, device: str = "auto", progress: bool | None = None,
        snapshot_steps: Sequence[int] = (), desc: str = "fit") -> list[dict]:
    """Train ``model`` in place and return its per-epoch history.

    Pruning masks set with ``torch.nn.utils.prune`` stay exact: the forward pre-hooks
    multiply ``weight_orig`` by ``weight_mask`` at every step, so pruned weights are zero
    whatever the optimiser does to ``weight_orig``.

    Args:
        model: the network (moved to ``device``).
        train_data: ``(X, y)`` tensors (on any device; batches are moved to ``device``, the
            whole set only when it fits, see :func:`stage_tensors`).
        val_data: optional ``(X, y)`` for validation metrics and early stopping.
        epochs: passes over ``train_data`` (>= 1).
        optimizer: ``"adam"`` or ``"sgd"`` (with ``momentum``).
        lr, momentum, weight_decay, batch_size: optimiser settings.
        patience: stop after this many epochs without a lower validation loss and restore
            the best weights (requires ``val_data``); ``None`` trains all epochs.
        loss_fn: ``loss_fn(logits, y) -> scalar``; default cross-entropy.
        seed: seeds shuffling and any dropout; the global RNG state is restored afterwards.
        device: ``"auto"``, ``"cpu"``, ``"cuda"`` (see :func:`resolve_device`).
        progress: tqdm bar; ``None`` shows it only in a notebook or a terminal.
        snapshot_steps: optimisation steps (1-based) after which a copy of the state dict
            is stored in ``history[0]["snapshots"][step]`` (late rewinding for lottery tickets;
            step 0 is the state before training).
        desc: progress bar label.

    Returns:
        One dict per epoch: ``epoch``, ``train_loss``, ``train_acc`` (+ ``val_loss``,
        ``val_acc``). The first dict also holds ``snapshots``.
    """
    check_model(model, "fit")
    X, y = check_xy(train_data, "train_data")
    val = check_xy(val_data, "val_data") if val_data is not None else None
    epochs, batch_size, seed = _check_fit_options(
        model, epochs=epochs, optimizer=optimizer, lr=lr, momentum=momentum,
        weight_decay=weight_decay, batch_size=batch_size, patience=patience,
        has_val=val is not None, loss_fn=loss_fn, seed=seed, snapshot_steps=snapshot_steps)
    dev = resolve_device(device, "fit")
    model.to(dev)
    check_fits(model, X, y, "train_data", "fit", dev)
    if val is not None:
        check_fits(model, val[0], val[1], "val_data", "fit", dev)
    X, y = stage_tensors((X, y), dev)
    opt = _make_optimizer([p for p in model.parameters() if p.requires_grad], optimizer, lr,
                          momentum, weight_decay)
    wanted = set(int(s) for s in snapshot_steps)
    snapshots = {0: copy.deepcopy(model.state_dict())} if 0 in wanted else {}
    history = _fit_epochs(model, opt, loss_fn or F.cross_entropy, X, y, val, epochs=epochs,
                          batch_size=batch_size, seed=seed, dev=dev, patience=patience,
                          wanted=wanted, snapshots=snapshots,
                          bar_kw=dict(desc=desc, disable=not _show_progress(progress)))
    history[0]["snapshots"] = snapshots
    refresh_masked_weights(model)  # pruned weights read after training reflect the last step
    model.eval()
    return history


def _fit_epochs(model, opt, loss_fn, X, y, val, *, epochs, batch_size, seed, dev, patience,
                wanted, snapshots, bar_kw) -> list[dict]:
    """:func:`fit`'s epochs, early stopping and restoring of the best weights."""
    from tqdm.auto import tqdm

    gen = torch.Generator().manual_seed(seed)
    history: list[dict] = []
    best = (float("inf"), None)
    bad_epochs, step = 0, 0
    bar = tqdm(range(1, epochs + 1), leave=False, **bar_kw)
    with torch.random.fork_rng(devices=[dev] if dev.type == "cuda" else []):
        torch.manual_seed(seed)
        for epoch in bar:
            order = torch.randperm(len(X), generator=gen)
            tot_loss, correct, step = _train_epoch(
                model, opt, loss_fn, X, y, order.to(X.device), batch_size=batch_size, dev=dev,
                step=step, wanted=wanted, snapshots=snapshots)
            rec = {"epoch": epoch, "train_loss": tot_loss / len(X), "train_acc": correct / len(X)}
            if val is not None:
                v = evaluate(model, val, device=dev)
                rec.update(val_loss=v["loss"], val_acc=v["accuracy"])
            history.append(rec)
            bar.set_postfix({k: round(v, 3) for k, v in rec.items() if k != "epoch"})
            if patience is not None:
                if rec["val_loss"] < best[0] - 1e-6:
                    best = (rec["val_loss"], copy.deepcopy(model.state_dict()))
                    bad_epochs = 0
                else:
                    bad_epochs += 1
                    if bad_epochs >= patience:
                        break
    if patience is not None and best[1] is not None:
        model.load_state_dict(best[1])
        history[-1]["restored_best_epoch"] = min(history, key=lambda r: r["val_loss"])["epoch"]
    return history


@torch.no_grad()
def predict_logits(model: nn.Module, X: torch.Tensor, *, batch_size: int = 1024,
                   device: str | torch.device = "auto") -> torch.Tensor:
    """Logits of ``model`` (in eval mode) on ``X``, returned on the CPU.

    ``X`` may live on any device; it is moved to ``device`` one batch at a time.

    Example:
        >>> m = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 3))
        >>> predict_logits(m, torch.zeros(5, 1, 2, 2)).shape
        torch.Size([5, 3])
    """
    check_model(model, "predict_logits")
    batch_size = check_int(batch_size, "batch_size", "predict_logits", 1)
    dev = resolve_device(device, "predict_logits")
    model.to(dev).eval()
    X = check_inputs(X, "X", "predict_logits")
    if len(X):
        check_fits(model, X, None, "X", "predict_logits", dev)
    outs = [model(X[i:i + batch_size].to(dev)).cpu() for i in range(0, len(X), batch_size)]
    return torch.cat(outs) if outs else torch.empty(0)


def evaluate(model: nn.Module, data, *, batch_size: int = 1024,
             device: str | torch.device = "auto") -> dict:
    """Mean cross-entropy ``loss`` and ``accuracy`` of ``model`` on ``(X, y)`` (any device)."""
    check_model(model, "evaluate")
    X, y = check_xy(data, "data", "evaluate")
    dev = resolve_device(device, "evaluate")
    check_fits(model.to(dev), X, y, "data", "evaluate", dev)
    logits = predict_logits(model, X, batch_size=batch_size, device=dev)
    y = y.cpu()
    return {"loss": F.cross_entropy(logits, y).item(),
            "accuracy": (logits.argmax(1) == y).float().mean().item()}
