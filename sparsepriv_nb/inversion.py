"""Model inversion of hidden layers (Mahendran & Vedaldi 2015; Huang et al. 2020).

Given a model whose weights are known and the representation ``Phi_l(x0)`` of an image at a
named layer l, find

    x* = argmin_x ||Phi_l(x) - Phi_l(x0)||^2 / ||Phi_l(x0)||^2 + lambda_TV TV_beta(x)
                  (+ lambda_alpha ||x||_alpha^alpha)

with ``TV_beta(x) = mean_ij ((x_{i,j+1} - x_ij)^2 + (x_{i+1,j} - x_ij)^2)^(beta/2)``
(beta = 2 by default). A whole batch is inverted in one optimisation: the loss is a sum of
per-image terms, so each image follows its own gradient, and Adam's per-coordinate updates
keep them independent; this is many times cheaper per image than one at a time
(``benchmarks/inversion_batch.py``).

**Which representation.** ``Phi_l`` is the *output of the module* named l, read by a forward
hook. For a ``Linear`` or ``Conv2d`` layer that is the pre-activation ``W x + b``: the models
of :mod:`sparsepriv_nb.models` apply their ReLU functionally, after the module. Pass
``activation="relu"`` to match ``ReLU(W x + b)`` instead, the post-activation representation
that the next layer receives (exactly so for ``mlp`` and for ``lenet5`` / ``cnn`` built with
``norm="none"``; with a normalisation layer between, the network applies ReLU after the
normalisation). The post-activation representation discards every negative coordinate, so it
is never easier to invert than the pre-activation one.

**How this differs from Huang et al. (2020, Sec. 5.2).** They minimise
``||Phi(x) - Phi(z)||_2^2 + lambda R(z)`` with ``R(a) = sum_ij ((a_{i+1,j} - a_ij)^2 +
(a_{i,j+1} - a_ij)^2)^(1/2)``, i.e.

* **beta = 1** (the square root) where we default to beta = 2 (Mahendran & Vedaldi's choice,
  which avoids spiky reconstructions); ``tv_beta=1.0`` gives theirs;
* an **unnormalised** feature distance, where we divide by ``||Phi(x0)||^2`` so that one
  ``lambda_TV`` means the same for layers whose activations differ in scale (``normalize=False``
  gives theirs);
* a **sum** over pixels where we take a mean: the same objective up to a rescaling of lambda by
  the number of pixel differences, ``C (H-1) (W-1)``.

They do not publish lambda, the optimiser or the number of steps; nor whether Phi is taken
before or after the ReLU.

Example:
    >>> from sparsepriv_nb.models import build_model
    >>> m = build_model("mlp", input_shape=(1, 8, 8), num_classes=10, seed=0)
    >>> x0 = torch.rand(2, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    >>> res = invert(m, "fc1", x0, steps=200, tv_weight=0.0, progress=False)
    >>> bool(((res.images - x0) ** 2).mean() < 1e-3)
    True

Lesson: notebook 04 (``04_model_inversion``).
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from dataclasses import dataclass

import pandas as pd
import torch
from torch import nn

from . import metrics
from ._checks import InstanceOf, Interval, Options, ParameterError, validate_params
from ._progress import show_progress
from .train import resolve_device

__all__ = ["layer_names", "representation", "total_variation", "step_shares", "invert",
           "InversionResult", "inversion_records", "trend_over_k", "layer_trend_sentence"]


class _Stop(Exception):
    """Raised by the capture hook: nothing after the inverted layer needs computing."""


def layer_names(model: nn.Module) -> list[str]:
    """Names of the model's leaf modules with parameters (the layers one can invert)."""
    return [n for n, m in model.named_modules()
            if n and not list(m.children()) and any(True for _ in m.parameters(recurse=False))]


def _check_layer(model: nn.Module, layer: str, owner: str) -> nn.Module:
    names = layer_names(model)
    if not Options(names).accepts(layer):
        raise ParameterError(f"The 'layer' parameter of {owner} must name a layer of the model; "
                             f"valid layers are {names}. Got {layer!r} instead.")
    return model.get_submodule(layer)


_ACTIVATIONS = {None: None, "relu": torch.relu}


def _check_activation(activation, owner: str):
    if callable(activation):
        return activation
    validate_params({"activation": activation}, {"activation": [
        None, Options(["relu"]), InstanceOf(object, "a callable", callable)]}, owner)
    return _ACTIVATIONS[activation]


def representation(model: nn.Module, layer: str, x: torch.Tensor, *,
                   activation=None) -> torch.Tensor:
    """Output of ``layer`` on ``x`` (the forward pass stops right after it).

    Args:
        model: the network.
        layer: a name from :func:`layer_names`.
        x: a batch of inputs.
        activation: ``None``: the module's own output (pre-activation for Linear / Conv);
            ``"relu"`` (or any callable) is applied to it: the post-activation representation.

    Example:
        >>> from sparsepriv_nb.models import build_model
        >>> m = build_model("lenet5", input_shape=(1, 28, 28), num_classes=10)
        >>> representation(m, "conv2", torch.zeros(3, 1, 28, 28)).shape
        torch.Size([3, 16, 10, 10])
        >>> bool((representation(m, "fc1", torch.rand(2, 1, 28, 28), activation="relu")
        ...       >= 0).all())
        True
    """
    module = _check_layer(model, layer, "representation")
    act = _check_activation(activation, "representation")
    store = {}

    def hook(_m, _inp, out):
        store["out"] = out
        raise _Stop

    handle = module.register_forward_hook(hook)
    try:
        model(x)
    except _Stop:
        pass
    finally:
        handle.remove()
    if "out" not in store:
        raise RuntimeError(f"layer {layer!r} was not reached by the forward pass.")
    return store["out"] if act is None else act(store["out"])


def _check_value_range(value_range, targets: torch.Tensor) -> tuple[float, float]:
    start = "The 'value_range' parameter of invert"
    try:
        if isinstance(value_range, (str, bytes)):
            raise TypeError
        lo, hi = (float(v) for v in value_range)
    except (TypeError, ValueError):
        raise ParameterError(f"{start} must be a pair (low, high) of numbers, e.g. (0.0, 1.0). "
                             f"Got {value_range!r} instead.") from None
    if not (math.isfinite(lo) and math.isfinite(hi)) or not lo < hi:
        raise ParameterError(f"{start} must be (low, high) with finite low < high. Got "
                             f"{value_range!r} instead.")
    tmin, tmax = float(targets.min()), float(targets.max())
    tol = 1e-4 * (hi - lo)
    if tmin < lo - tol or tmax > hi + tol:
        raise ParameterError(f"{start} must contain the targets' pixel values, which lie in "
                             f"[{tmin:.4g}, {tmax:.4g}]: pass the range the images were scaled "
                             f"to (Dataset.value_range). Got {value_range!r} instead (it does "
                             "not contain them).")
    return lo, hi


def total_variation(x: torch.Tensor, beta: float = 2.0) -> torch.Tensor:
    """Per-image ``TV_beta`` (mean over pixels and channels) of a batch ``(B, C, H, W)``.

    Example:
        >>> total_variation(torch.zeros(2, 1, 4, 4)).tolist()
        [0.0, 0.0]
    """
    dx = x[..., :-1, 1:] - x[..., :-1, :-1]
    dy = x[..., 1:, :-1] - x[..., :-1, :-1]
    sq = dx ** 2 + dy ** 2
    # beta < 2 is not differentiable at 0: a tiny floor keeps gradients finite
    tv = sq if beta == 2 else (sq + 1e-8) ** (beta / 2)
    return tv.flatten(1).mean(1)


def step_shares(images, *, value_span: float, flat: float = 0.02, edge: float = 0.2):
    """Per image, the shares of neighbouring-pixel steps below ``flat`` and above ``edge``.

    A step is the gradient magnitude ``sqrt(dx**2 + dy**2)`` of the images scaled by
    ``value_span`` (the width of the data's value range), as in :func:`total_variation`. A
    staircased image (TV with beta = 1) has more flat steps and more hard edges.

    Args:
        images: A batch ``(B, C, H, W)`` (tensor).
        value_span: The width of the value range; steps are measured on ``images / value_span``.
        flat: Steps below this count as flat.
        edge: Steps above this count as edges.

    Returns:
        Two numpy arrays of length ``B``: the flat share and the edge share.

    Example:
        >>> x = torch.zeros(1, 1, 3, 3); x[..., 2] = 1.0
        >>> flat, edges = step_shares(x, value_span=1.0)
        >>> flat.tolist(), edges.tolist()
        ([0.5], [0.5])
    """
    x = torch.as_tensor(images).double() / value_span
    dx = x[..., :-1, 1:] - x[..., :-1, :-1]
    dy = x[..., 1:, :-1] - x[..., :-1, :-1]
    step = (dx ** 2 + dy ** 2).sqrt()
    share = lambda mask: mask.flatten(1).double().mean(1).numpy()  # noqa: E731
    return share(step < flat), share(step > edge)


@dataclass
class InversionResult:
    """Inverted images ``(B, C, H, W)`` and the per-image objective along the optimisation
    (``history``: step -> loss array, every ``record_every`` steps)."""

    images: torch.Tensor
    history: dict
    layer: str


_INVERT_CONSTRAINTS = {
    "steps": [Interval(int, 1, None)],
    "optimizer": [Options(("adam", "sgd"))],
    "lr": [Interval(float, 0, None, "neither")],
    "tv_weight": [Interval(float, 0, None)],
    "alpha_weight": [Interval(float, 0, None)],
    "tv_beta": [Interval(float, 0, None, "neither")],
    "alpha": [Interval(float)],
    "seed": [Interval(int, 0, None)],
    "normalize": [InstanceOf(bool, "True or False")],
    "record_every": [Interval(int, 0, None)],
}


def _check_targets(targets) -> torch.Tensor:
    targets = torch.as_tensor(targets, dtype=torch.float32)
    if targets.ndim != 4:
        raise ParameterError("The 'targets' parameter of invert must be a batch of images "
                             f"(B, C, H, W). Got shape {tuple(targets.shape)} instead.")
    if not torch.isfinite(targets).all():
        raise ParameterError("The 'targets' parameter of invert contains NaN or infinite "
                             "pixels.")
    return targets


def _reference(model: nn.Module, layer: str, targets: torch.Tensor, act,
               normalize: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """``Phi_l(x0)`` and the per-image divisor of the feature distance."""
    try:
        with torch.no_grad():
            ref = representation(model, layer, targets, activation=act).detach()
    except RuntimeError as exc:
        raise ValueError(f"The 'targets' parameter has shape {tuple(targets.shape)}, which the "
                         f"model cannot take ({exc}).") from exc
    ref_norm = (ref.flatten(1).pow(2).sum(1).clamp_min(1e-12) if normalize
                else torch.ones(len(ref), device=ref.device))
    return ref, ref_norm


def _start(shape, lo: float, hi: float, seed: int, dev, optimizer: str, lr: float, steps: int):
    """The random starting images (to optimise), the optimiser and its step-down schedule."""
    gen = torch.Generator().manual_seed(seed)
    mid, spread = (lo + hi) / 2, (hi - lo)
    x = (mid + 0.2 * spread * torch.randn(shape, generator=gen)).clamp(lo, hi).to(dev)
    x.requires_grad_(True)
    opt = (torch.optim.Adam([x], lr=lr) if optimizer == "adam"
           else torch.optim.SGD([x], lr=lr, momentum=0.9))
    sched = torch.optim.lr_scheduler.MultiStepLR(
        opt, milestones=[int(0.6 * steps), int(0.85 * steps)], gamma=0.1)
    return x, opt, sched


@contextmanager
def _weights_frozen(model: nn.Module):
    """Only the image is optimised: no gradient for the weights, restored afterwards."""
    flags = [(p, p.requires_grad) for p in model.parameters()]
    for p, _ in flags:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p, flag in flags:
            p.requires_grad_(flag)


def _objective(feat, ref, ref_norm, x, *, tv_weight, tv_beta, alpha_weight, alpha, lo,
               hi) -> torch.Tensor:
    """Per-image loss: normalised feature distance + the TV and alpha-norm priors."""
    mid, spread = (lo + hi) / 2, (hi - lo)
    per_image = (feat - ref).flatten(1).pow(2).sum(1) / ref_norm
    if tv_weight:
        per_image = per_image + tv_weight * total_variation(x, tv_beta)
    if alpha_weight:
        per_image = per_image + alpha_weight * ((x - mid) / spread).abs().pow(
            alpha).flatten(1).mean(1)
    return per_image


def invert(model: nn.Module, layer: str, targets: torch.Tensor, *, steps: int = 300,
           lr: float = 0.05, optimizer: str = "adam", tv_weight: float = 1e-2,
           tv_beta: float = 2.0, alpha_weight: float = 0.0, alpha: float = 6.0,
           value_range: tuple[float, float] = (0.0, 1.0), seed: int = 0,
           activation=None, normalize: bool = True,
           device: str = "auto", record_every: int = 0,
           progress: bool | None = None) -> InversionResult:
    """Invert ``layer``'s representation of ``targets`` (a batch, inverted together).

    Args:
        model: the (possibly pruned) network; weights are not changed.
        layer: a name from :func:`layer_names`.
        targets: images ``(B, C, H, W)`` whose representation is matched.
        steps: optimisation steps (> 0); the learning rate steps down x0.1 at 60 % and 85 %.
        lr: initial learning rate.
        optimizer: ``"adam"`` or ``"sgd"`` (momentum 0.9, as in Mahendran & Vedaldi's code).
        tv_weight: lambda_TV (grow it for deeper layers).
        tv_beta: beta of the TV prior (2; Huang et al. use 1, which tolerates spikes).
        alpha_weight, alpha: optional ``lambda_alpha * mean |x - mid|^alpha`` prior.
        value_range: ``(low, high)`` of the images' pixels (``Dataset.value_range``); pixels
            are projected into it after every step. The targets must lie inside it.
        seed: the random Gaussian initialisation.
        activation: ``None`` matches the module's output (pre-activation for Linear / Conv),
            ``"relu"`` the post-activation representation (see the module docstring).
        normalize: divide the feature distance by ``||Phi(x0)||^2`` (default); ``False`` gives
            Huang et al.'s plain squared distance.
        record_every: store the per-image objective every this many steps (0: never).
        progress: tqdm bar.

    Raises:
        ValueError: unknown layer, ``steps <= 0``, images the model cannot take, an inverted or
            non-finite ``value_range`` or one that does not contain the targets, bad options
            (:class:`~sparsepriv_nb._checks.ParameterError`, also a ``TypeError``).
    """
    from tqdm.auto import tqdm

    _check_layer(model, layer, "invert")
    validate_params(dict(steps=steps, optimizer=optimizer, lr=lr, tv_weight=tv_weight,
                         alpha_weight=alpha_weight, tv_beta=tv_beta, alpha=alpha, seed=seed,
                         normalize=normalize, record_every=record_every),
                    _INVERT_CONSTRAINTS, "invert")
    targets = _check_targets(targets)
    lo, hi = _check_value_range(value_range, targets)
    act = _check_activation(activation, "invert")
    dev = resolve_device(device, "invert")
    model = model.to(dev).eval()
    ref, ref_norm = _reference(model, layer, targets.to(dev), act, normalize)
    x, opt, sched = _start(targets.shape, lo, hi, seed, dev, optimizer, lr, steps)
    priors = dict(tv_weight=tv_weight, tv_beta=tv_beta, alpha_weight=alpha_weight,
                  alpha=alpha, lo=lo, hi=hi)
    bar = tqdm(range(1, steps + 1), desc=f"invert {layer}", disable=not show_progress(progress),
               leave=False)
    with _weights_frozen(model):
        history = _descend(lambda z: representation(model, layer, z, activation=act), x, opt,
                           sched, bar, ref, ref_norm, priors, record_every)
    return InversionResult(x.detach().cpu(), history, layer)


def _descend(phi, x, opt, sched, steps, ref, ref_norm, priors: dict,
             record_every: int) -> dict:
    """The optimisation loop of :func:`invert`: ``x`` is updated in place and projected into
    the pixel range after every step; returns the recorded per-image objectives."""
    history = {}
    for step in steps:
        opt.zero_grad(set_to_none=True)
        per_image = _objective(phi(x), ref, ref_norm, x, **priors)
        per_image.sum().backward()
        opt.step()
        sched.step()
        with torch.no_grad():
            x.clamp_(priors["lo"], priors["hi"])
        if record_every and step % record_every == 0:
            history[step] = per_image.detach().cpu().numpy()
    return history


def inversion_records(model: nn.Module, result: InversionResult, originals: torch.Tensor,
                      labels: torch.Tensor, *, data_range: float = 1.0, **extra) -> pd.DataFrame:
    """Quality of each inverted image: MSE, PSNR, SSIM against the original
    (:func:`sparsepriv_nb.metrics.inversion_quality`), and whether the model still predicts
    the original label on the inversion.

    ``label_kept`` is True when the model classifies the *inverted* image as the original's
    true label: a semantic measure of what leaked (the reconstruction carries the class even
    where the pixels differ), complementary to the pixel metrics. It cannot exceed the
    model's accuracy on the originals: ``prediction_kept`` (the inversion gets the same
    prediction as the original, right or wrong) removes that ceiling. On the last layer (the
    logits) both are nearly forced by the objective, so they say little there.

    Returns:
        One row per image with ``image`` (index), ``layer``, the metrics and ``extra`` fields.
    """
    from .train import predict_logits

    if result.images.shape != originals.shape:
        raise ValueError(f"inversion_records: inverted images {tuple(result.images.shape)} and "
                         f"originals {tuple(originals.shape)} differ in shape.")
    preds = predict_logits(model, result.images).argmax(1).numpy()
    orig_preds = predict_logits(model, originals).argmax(1).numpy()
    rows = []
    for i, (inv, orig) in enumerate(zip(result.images.numpy(), originals.cpu().numpy())):
        q = metrics.inversion_quality(inv, orig, data_range=data_range)
        rows.append({**extra, "layer": result.layer, "image": i, **q,
                     "label": int(labels[i]), "predicted": int(preds[i]),
                     "label_kept": bool(preds[i] == int(labels[i])),
                     "original_predicted": int(orig_preds[i]),
                     "prediction_kept": bool(preds[i] == orig_preds[i])})
    return pd.DataFrame(rows)


def _slopes(records: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Per (layer, image): the least-squares slope of ``metric`` on ``ln k``."""
    import numpy as np

    lk = np.log(records["k"].to_numpy(dtype=float))
    r = records.assign(_x=lk, _y=records[metric].to_numpy(dtype=float))
    g = r.groupby(["layer", "image"], sort=False)
    xc = r["_x"] - g["_x"].transform("mean")
    yc = r["_y"] - g["_y"].transform("mean")
    num = (xc * yc).groupby([r["layer"], r["image"]], sort=False).sum()
    den = (xc * xc).groupby([r["layer"], r["image"]], sort=False).sum()
    return (num / den).rename("slope").reset_index()


def trend_over_k(records: pd.DataFrame, metric: str = "psnr", *, n_resamples: int = 1000,
                 seed: int = 0, alpha: float = 0.05, power: float = 0.8) -> pd.DataFrame:
    """How inversion quality changes with the fraction ``k`` of weights kept: per layer, and
    over all layers, the mean over images of each image's least-squares slope of ``metric``
    on ``ln k``, with a percentile bootstrap interval over the images (the same resampled
    images for every layer), its standard error and its minimum detectable difference.

    A positive slope means quality falls as ``k`` falls (Huang et al.'s claim). The unit is
    ``metric`` per unit of ``ln k``: times ``ln 0.8 = -0.223`` it is the change per IMP round.

    Taught in notebook 04, sections 7 and 9.

    Args:
        records: :func:`inversion_records` rows with ``layer``, ``image``, ``k`` and ``metric``
            (at least two values of ``k``).
        metric: the quality column (``"psnr"``, ``"ssim"``, ...).
        n_resamples, seed: the bootstrap over images.
        alpha, power: the interval's level and the power of the MDE.

    Returns:
        One row per layer, then ``"all layers"``: ``layer``, ``slope``, ``lo``, ``hi``, ``se``,
        ``mde``, ``n_images``.

    Example:
        >>> import numpy as np
        >>> ks = [1.0, 0.8, 0.64]
        >>> recs = pd.DataFrame([{"layer": "fc1", "image": i, "k": k,
        ...                       "psnr": 20 + 5 * np.log(k) + 0.1 * i} for i in range(6)
        ...                      for k in ks])
        >>> trend_over_k(recs)[["layer", "slope"]].round(3).values.tolist()
        [['fc1', 5.0], ['all layers', 5.0]]
    """
    import numpy as np

    from .power import mde_from_se

    need = {"layer", "image", "k", metric}
    if not need <= set(records.columns) or records["k"].nunique() < 2:
        raise ParameterError(f"The 'records' parameter of trend_over_k needs columns "
                             f"{sorted(need)} and at least two values of k. Got columns "
                             f"{sorted(records.columns)}.")
    wide = _slopes(records, metric).pivot(index="image", columns="layer", values="slope")
    wide = wide[list(dict.fromkeys(records["layer"]))]
    wide["all layers"] = wide.mean(axis=1)
    vals = wide.to_numpy()
    idx = np.random.default_rng(seed).integers(0, len(vals), (n_resamples, len(vals)))
    boot = vals[idx].mean(axis=1)  # (n_resamples, layers + 1)
    lo, hi = np.quantile(boot, [alpha / 2, 1 - alpha / 2], axis=0)
    se = boot.std(axis=0, ddof=1)
    return pd.DataFrame({"layer": list(wide.columns), "slope": vals.mean(axis=0), "lo": lo,
                         "hi": hi, "se": se,
                         "mde": [mde_from_se(v, alpha=alpha, power=power) for v in se],
                         "n_images": len(vals)})


def layer_trend_sentence(verdicts: pd.Series, pooled: tuple, mdes, *, worse: str,
                         better: str) -> str:
    """One sentence answering "does pruning protect the representations?" from per-layer
    verdicts on the trend over ``k`` (lower case; the caller capitalises).

    Args:
        verdicts: Layer name -> verdict (``worse``, ``better`` or
            :data:`sparsepriv_nb.metrics.NO_DIFFERENCE`).
        pooled: ``(slope, lo, hi)`` of the slope over all layers, dB per unit ln k.
        mdes: The per-layer MDEs (quoted when no layer shows a trend).
        worse: The verdict meaning "harder to invert when sparse".
        better: The verdict meaning "easier to invert when sparse".

    Example:
        >>> v = pd.Series({"fc1": "w", "fc2": metrics.NO_DIFFERENCE})
        >>> layer_trend_sentence(v, (1.0, 0.2, 1.8), [0.3, 0.5], worse="w", better="b")
        'fc1 harder to invert when sparse; fc2 without a detectable trend.'
    """
    worse_l = verdicts[verdicts == worse].index.tolist()
    better_l = verdicts[verdicts == better].index.tolist()
    flat = verdicts[verdicts == metrics.NO_DIFFERENCE].index.tolist()
    slope, lo, hi = pooled
    if worse_l and better_l:
        return (f"the layers disagree: pruning made {', '.join(worse_l)} harder to invert and "
                f"{', '.join(better_l)} easier. Pruning does not protect the representations "
                "uniformly here: it depends on which layer the attacker sees, and the slope over "
                f"all layers ({slope:+.2f} dB per unit ln k [{lo:+.2f}, {hi:+.2f}], about "
                f"{abs(slope * math.log(0.8)):.2f} dB per IMP round) averages opposite effects.")
    if worse_l or better_l:
        return (f"{', '.join(worse_l or better_l)} {'harder' if worse_l else 'easier'} to invert "
                f"when sparse; {', '.join(flat) or 'no other layer'} without a detectable trend.")
    return ("no layer shows a detectable trend over k; this run could detect slopes of "
            f"{min(mdes):.2f} to {max(mdes):.2f} dB per unit ln k.")
