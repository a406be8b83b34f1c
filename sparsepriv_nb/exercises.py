"""Checks for the graded exercises at the end of notebooks 01-06.

Each ``check_*`` function calls the student's function on small synthetic inputs and compares
what it returns with the package's own implementation (``spn.signals``, ``spn.defenses``,
``spn.dp``, ...). A failure raises :class:`ExerciseFailure` (an ``AssertionError``, so
nbgrader and ``sparsepriv-nb check`` count the check cell as failed) whose message names the
exercise, the input, what was expected (a property, a shape, "equal to the package's value
within 1e-6") and what the student's function gave, never the expected numbers themselves.
``hidden=True`` adds harder cases (edge cases, large inputs); the notebooks call it between
nbgrader's ``### BEGIN HIDDEN TESTS`` markers, which the student version drops.

Example:
    >>> import torch
    >>> check_loss_scores(lambda z, y: -torch.nn.functional.cross_entropy(
    ...     z, y, reduction="none"))
    Exercise 02.1: all 3 checks passed.
    >>> try:
    ...     check_loss_scores(lambda z, y: torch.zeros(len(y)))
    ... except ExerciseFailure as exc:
    ...     print(str(exc).split(":")[0])
    Exercise 02.1, case 1 (8 samples, 3 classes)

Lesson: the graded exercises of notebooks 01-06 (``sparsepriv-nb check``; docs/instructors.md).
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np
import torch
from torch import nn
from torch.nn.utils import prune

__all__ = ["ExerciseFailure", "check_density", "check_magnitude_mask", "check_global_masks",
           "check_loss_scores", "check_modified_entropy", "check_lira_score",
           "check_partial_correlation", "check_fisher_interval", "check_mde", "check_psnr",
           "check_total_variation", "check_inversion_objective", "check_ppb_penalty",
           "check_ppb_loss", "check_label_smoothing", "check_clip", "check_noisy_mean",
           "check_noise_for_epsilon"]


class ExerciseFailure(AssertionError):
    """A graded check failed; the message says what was expected and what the code gave."""


# --------------------------------------------------------------------------- helpers

def _short(value: Any, n: int = 5) -> str:
    """A readable excerpt of what the student's function returned."""
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    if isinstance(value, np.ndarray) and value.size == 1:
        value = float(value.reshape(-1)[0])
    if isinstance(value, np.ndarray):
        flat = value.reshape(-1)
        body = np.array2string(flat[:n], precision=4, separator=", ")
        more = f" ... ({flat.size} values)" if flat.size > n else ""
        return f"array of shape {value.shape}: {body}{more}"
    if isinstance(value, dict):
        return "dict with keys " + str(sorted(value))
    return repr(value) if not isinstance(value, float) else f"{value:.6g}"


def call_student(ex: str, case: str, fn: Callable, *args, **kwargs):
    """``fn(*args, **kwargs)``; a stub or a crash becomes one readable failure (shared by
    every lesson's checks, :mod:`sparsepriv_nb.findings_exercises` too)."""
    name = getattr(fn, "__name__", "your function")
    try:
        return fn(*args, **kwargs)
    except NotImplementedError:
        raise ExerciseFailure(
            f"Exercise {ex}: `{name}` still raises NotImplementedError. Replace the lines "
            "`# YOUR CODE HERE` / `raise NotImplementedError()` with your code.") from None
    except Exception as exc:
        raise ExerciseFailure(f"Exercise {ex}, case {case}: `{name}` raised "
                              f"{type(exc).__name__}: {exc}") from None


def _array(ex: str, case: str, got) -> np.ndarray:
    if isinstance(got, torch.Tensor):
        got = got.detach().cpu().numpy()
    try:
        return np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        raise ExerciseFailure(f"Exercise {ex}, case {case}: expected numbers (an array, a "
                              f"tensor or a float); your function returned {_short(got)}.") \
            from None


def _close(ex: str, case: str, got, expected, what: str, *, atol: float = 1e-6,
           rtol: float = 1e-6) -> None:
    """Fail unless ``got`` has ``expected``'s shape and values (``what`` describes them)."""
    exp = _array(ex, case, expected)
    arr = _array(ex, case, got)
    if arr.shape != exp.shape and arr.size == exp.size == 1:
        arr = arr.reshape(exp.shape)
    if arr.shape != exp.shape:
        raise ExerciseFailure(f"Exercise {ex}, case {case}: expected {what} of shape "
                              f"{exp.shape}; your function returned shape {arr.shape}.")
    ok = np.isclose(arr, exp, atol=atol, rtol=rtol) | (np.isinf(exp) & (arr == exp))
    if not ok.all():
        bad = ~ok
        finite = np.isfinite(arr[bad]) & np.isfinite(exp[bad])
        # only the order of magnitude: the exact gap and the student's value would give away
        # the expected value
        gap = np.abs(arr[bad] - exp[bad])[finite].max() if finite.any() else math.nan
        largest = (f"by up to about 1e{math.floor(math.log10(gap)):+03d}" if gap > 0
                   else "some values are NaN or infinite")
        where = f" at {int(bad.sum())} of {bad.size} entries" if bad.size > 1 else ""
        raise ExerciseFailure(
            f"Exercise {ex}, case {case}: expected {what} (equal to the package's value within "
            f"{max(atol, rtol):g}); yours differs{where} ({largest}). You returned "
            f"{_short(arr)}.")


def report_passed(ex: str, n: int, hidden: bool = False) -> None:
    """Print that exercise ``ex`` passed its ``n`` checks (the instructor version runs the
    visible and then the hidden checks: the line says which)."""
    print(f"Exercise {ex}{' (with hidden tests)' if hidden else ''}: all {n} checks passed.")


def _rng(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _layer(n_in: int, n_out: int, bias: bool = True) -> nn.Linear:
    """A linear layer left uninitialised (its weights are set or unused), so that a check
    never draws from the global random generator the student's notebook uses."""
    return nn.utils.skip_init(nn.Linear, n_in, n_out, bias=bias)


# --------------------------------------------------------------------------- notebook 01

def check_density(fn: Callable, hidden: bool = False) -> None:
    """Exercise 01.1: ``fn(masks)`` -> the kept fraction over all layers' 0/1 masks."""
    from .sparsity import overall_density

    g = _rng(1)
    cases = [("two layers, float masks", {"fc1": (10, 10), "fc2": (4, 10)}, 0.3, torch.float32),
             ("one layer", {"fc1": (6, 5)}, 0.5, torch.float32)]
    if hidden:
        cases += [("bool masks, a dead layer", {"a": (8, 8), "b": (3, 8)}, 0.0, torch.bool),
                  ("three layers", {"a": (5, 7), "b": (7, 7), "c": (2, 7)}, 0.8, torch.float64)]
    for i, (label, shapes, p, dtype) in enumerate(cases, 1):
        case = f"{i} ({label})"
        masks, layers = {}, []
        for k, (name, shape) in enumerate(shapes.items()):
            m = (torch.rand(shape, generator=g) < (p if k == 0 else 0.5)).to(dtype)
            masks[name] = m.clone()
            lin = _layer(shape[1], shape[0])
            prune.custom_from_mask(lin, "weight", m.float())
            layers.append(lin)
        expected = overall_density(nn.Sequential(*layers))
        _close("01.1", case, call_student("01.1", case, fn, masks), expected,
               "one number, the fraction of kept weights")
    report_passed("01.1", len(cases), hidden)


def _l1_mask(weight: torch.Tensor, density: float) -> torch.Tensor:
    holder = nn.Module()
    holder.weight = nn.Parameter(weight.clone())
    prune.l1_unstructured(holder, "weight", amount=1.0 - density)
    return holder.weight_mask


def _mask_matches(ex: str, case: str, got, expected: torch.Tensor, what: str) -> None:
    arr = _array(ex, case, got)
    exp = expected.numpy()
    if arr.shape != exp.shape:
        raise ExerciseFailure(f"Exercise {ex}, case {case}: expected {what} of shape "
                              f"{exp.shape}; your function returned shape {arr.shape}.")
    if not np.isin(arr, (0.0, 1.0)).all():
        raise ExerciseFailure(f"Exercise {ex}, case {case}: expected a 0/1 mask ({what}); "
                              f"yours holds other values: {_short(arr)}.")
    if not np.array_equal(arr, exp):
        raise ExerciseFailure(
            f"Exercise {ex}, case {case}: expected {what} keeping {int(exp.sum())} of "
            f"{exp.size} weights, those of largest |w|; yours keeps {int(arr.sum())} and "
            f"differs from the package's mask at {int((arr != exp).sum())} entries.")


def check_magnitude_mask(fn: Callable, hidden: bool = False) -> None:
    """Exercise 01.2: ``fn(weight, density)`` -> a layer-wise magnitude mask."""
    g = _rng(2)
    cases = [((10, 10), 0.3), ((4, 8), 0.5), ((6, 9), 0.2)]
    if hidden:
        cases += [((3, 2, 3, 3), 0.25), ((7, 9), 1.0), ((7, 9), 0.05)]
    for i, (shape, density) in enumerate(cases, 1):
        case = f"{i} (a weight of shape {shape}, density {density})"
        w = torch.randn(shape, generator=g)
        got = call_student("01.2", case, fn, w.clone(), density)
        _mask_matches("01.2", case, got, _l1_mask(w, density),
                      "the mask of prune.l1_unstructured(amount=1 - density)")
    report_passed("01.2", len(cases), hidden)


def check_global_masks(fn: Callable, hidden: bool = False) -> None:
    """Exercise 01.3: ``fn(weights, density)`` -> one mask per layer, one global threshold."""
    g = _rng(3)
    cases = [({"fc1": (12, 10), "fc2": (5, 12)}, 0.3, (1.0, 1.0)),
             ({"fc1": (8, 8), "fc2": (8, 8)}, 0.5, (1.0, 3.0))]
    if hidden:
        cases += [({"a": (6, 6), "b": (6, 6), "c": (2, 6)}, 0.1, (0.1, 1.0, 5.0)),
                  ({"a": (5, 5), "b": (5, 5)}, 1.0, (1.0, 1.0))]
    for i, (shapes, density, scales) in enumerate(cases, 1):
        case = f"{i} (layers {list(shapes)}, density {density}, scales {scales})"
        layers = {}
        for (name, shape), s in zip(shapes.items(), scales):
            lin = _layer(shape[1], shape[0])
            with torch.no_grad():
                lin.weight.copy_(s * torch.randn(shape, generator=g))
            layers[name] = lin
        weights = {k: m.weight.detach().clone() for k, m in layers.items()}
        prune.global_unstructured([(m, "weight") for m in layers.values()],
                                  pruning_method=prune.L1Unstructured, amount=1.0 - density)
        got = call_student("01.3", case, fn, weights, density)
        if not isinstance(got, dict) or sorted(got) != sorted(shapes):
            raise ExerciseFailure(f"Exercise 01.3, case {case}: expected a dict with the keys "
                                  f"{sorted(shapes)}; your function returned {_short(got)}.")
        for name, lin in layers.items():
            _mask_matches("01.3", f"{case}, layer {name!r}", got[name], lin.weight_mask,
                          "the layer's mask under one global magnitude threshold")
    report_passed("01.3", len(cases), hidden)


# --------------------------------------------------------------------------- notebook 02

def _logits(n: int, c: int, seed: int, scale: float = 2.0) -> tuple[torch.Tensor, torch.Tensor]:
    g = _rng(seed)
    z = scale * torch.randn(n, c, generator=g, dtype=torch.float64)
    return z, torch.randint(0, c, (n,), generator=g)


def check_loss_scores(fn: Callable, hidden: bool = False) -> None:
    """Exercise 02.1: ``fn(logits, labels)`` -> ``-cross-entropy`` per sample (higher = member)."""
    from .signals import loss

    cases = [("8 samples, 3 classes", *_logits(8, 3, 0)),
             ("5 samples, 2 classes", *_logits(5, 2, 1)),
             ("4 samples, 10 classes", *_logits(4, 10, 2))]
    if hidden:
        cases += [("very confident logits (scale 1000)", *_logits(6, 4, 3, scale=1000.0)),
                  ("one sample", *_logits(1, 3, 4))]
    for i, (label, z, y) in enumerate(cases, 1):
        case = f"{i} ({label})"
        got = call_student("02.1", case, fn, z.clone(), y.clone())
        _close("02.1", case, got, -loss(z, y), "one membership score per sample, -loss")
    report_passed("02.1", len(cases), hidden)


def check_modified_entropy(fn: Callable, hidden: bool = False) -> None:
    """Exercise 02.2: ``fn(probs, labels)`` -> Song & Mittal's modified entropy per sample."""
    from .signals import modified_entropy

    rng = np.random.default_rng(5)
    cases = [("6 samples, 3 classes", rng.dirichlet(np.ones(3), 6), rng.integers(0, 3, 6)),
             ("4 samples, 5 classes", rng.dirichlet(np.ones(5), 4), rng.integers(0, 5, 4))]
    if hidden:
        sharp = np.array([[0.998, 0.001, 0.001], [0.001, 0.998, 0.001]])
        cases += [("near one-hot rows, true and wrong label", sharp, np.array([0, 0])),
                  ("10 classes", rng.dirichlet(np.ones(10) * 0.3, 5) * 0.98 + 0.002,
                   rng.integers(0, 10, 5))]
    for i, (label, p, y) in enumerate(cases, 1):
        case = f"{i} ({label})"
        p = p / p.sum(1, keepdims=True)
        got = call_student("02.2", case, fn, p.copy(), y.copy())
        _close("02.2", case, got, modified_entropy(np.log(p), y), "Mentr of each sample")
    report_passed("02.2", len(cases), hidden)


def check_lira_score(fn: Callable, hidden: bool = False) -> None:
    """Exercise 02.3: ``fn(phi_target, phi_in, phi_out)`` -> online LiRA score of one sample."""
    from .attacks import LiRA

    rng = np.random.default_rng(6)
    cases = [("4 IN and 4 OUT references, target near IN", 3.0, rng.normal(3, 1, 4),
              rng.normal(0, 1, 4)),
             ("target near OUT", 0.2, rng.normal(3, 1, 4), rng.normal(0, 1, 4)),
             ("8 IN and 8 OUT, wide OUT", 1.5, rng.normal(2, 0.5, 8), rng.normal(0, 2, 8))]
    if hidden:
        cases += [("3 IN and 9 OUT, target far out", 9.0, rng.normal(2, 1, 3),
                   rng.normal(-1, 1, 9))]
    for i, (label, t, p_in, p_out) in enumerate(cases, 1):
        case = f"{i} ({label})"
        phis = np.r_[p_in, p_out]
        ref = torch.tensor(np.stack([phis, np.zeros_like(phis)], -1)[:, None, :])
        keep = np.r_[np.ones(len(p_in), bool), np.zeros(len(p_out), bool)][:, None]
        y = torch.zeros(1, dtype=torch.long)
        lira = LiRA(online=True, fixed_variance=False).fit(ref, y, keep)
        expected = lira.score_samples(torch.tensor([[t, 0.0]], dtype=torch.float64), y)[0]
        got = call_student("02.3", case, fn, float(t), p_in.copy(), p_out.copy())
        _close("02.3", case, got, expected, "one number, the log-likelihood ratio")
    report_passed("02.3", len(cases), hidden)


# --------------------------------------------------------------------------- notebook 03

def _confounded(n: int, k: int, seed: int, effect: float):
    from .analysis import simulate_confounding

    df = simulate_confounding(n, direct_effect=effect, seed=seed)
    covs = ["z"]
    for j in range(1, k):
        df[f"z{j}"] = np.random.default_rng(seed + j).normal(size=n) + 0.5 * df["x"]
        covs.append(f"z{j}")
    return df, covs


def check_partial_correlation(fn: Callable, hidden: bool = False) -> None:
    """Exercise 03.1: ``fn(x, y, Z)`` -> the correlation of x and y once Z is regressed out."""
    from .analysis import partial_correlation

    cases = [(200, 1, 0, 0.0), (150, 1, 1, 0.5)]
    if hidden:
        cases += [(120, 2, 2, 0.3), (60, 1, 3, -0.4)]
    for i, (n, k, seed, effect) in enumerate(cases, 1):
        case = f"{i} ({n} rows, {k} covariate(s), direct effect {effect})"
        df, covs = _confounded(n, k, seed, effect)
        Z = df[covs].to_numpy() if k > 1 else df["z"].to_numpy()
        got = call_student("03.1", case, fn, df["x"].to_numpy(), df["y"].to_numpy(), Z)
        expected = partial_correlation(df, "x", "y", covs)["r"]
        _close("03.1", case, got, expected, "one number, the partial correlation",
               atol=1e-8, rtol=1e-8)
    report_passed("03.1", len(cases), hidden)


def check_fisher_interval(fn: Callable, hidden: bool = False) -> None:
    """Exercise 03.2: ``fn(r, n, k, ci)`` -> Fisher's z interval ``(lo, hi)`` of a partial r."""
    from .analysis import partial_correlation

    cases = [(200, 1, 0, 0.0, 0.95), (80, 1, 1, 0.6, 0.95)]
    if hidden:
        cases += [(50, 2, 2, 0.2, 0.9), (30, 1, 3, -0.8, 0.99)]
    for i, (n, k, seed, effect, ci) in enumerate(cases, 1):
        df, covs = _confounded(n, k, seed, effect)
        pc = partial_correlation(df, "x", "y", covs, ci=ci)
        case = f"{i} (r = {pc['r']:.3f}, n = {n}, k = {k}, ci = {ci})"
        got = call_student("03.2", case, fn, pc["r"], n, k, ci)
        _close("03.2", case, got, (pc["lo"], pc["hi"]), "a pair (lo, hi)", atol=1e-8)
    report_passed("03.2", len(cases), hidden)


def check_mde(fn: Callable, hidden: bool = False) -> None:
    """Exercise 03.3: ``fn(diffs, alpha, power)`` -> the MDE from bootstrap differences."""
    from .metrics import paired_bootstrap
    from .power import paired_mde

    cases = [(300, 0, 0.5, 0.05, 0.8), (200, 1, 0.0, 0.05, 0.8)]
    if hidden:
        cases += [(400, 2, 0.2, 0.01, 0.9), (100, 3, 1.0, 0.1, 0.5)]
    for i, (n, seed, shift, alpha, power) in enumerate(cases, 1):
        rng = np.random.default_rng(seed)
        m = np.r_[np.ones(n // 2), np.zeros(n - n // 2)]
        a = rng.normal(size=n) + m
        b = a + shift * m + rng.normal(size=n)
        boot = paired_bootstrap(a, b, m, n_resamples=300, random_state=seed)
        expected = paired_mde(a, b, m, n_resamples=300, random_state=seed, alpha=alpha,
                              power=power)["mde"]
        case = (f"{i} ({len(boot['diffs'])} bootstrap AUC differences, alpha = {alpha}, "
                f"power = {power})")
        got = call_student("03.3", case, fn, boot["diffs"].copy(), alpha, power)
        _close("03.3", case, got, expected, "one number, the minimum detectable difference")
    report_passed("03.3", len(cases), hidden)


# --------------------------------------------------------------------------- notebook 04

def check_psnr(fn: Callable, hidden: bool = False) -> None:
    """Exercise 04.1: ``fn(inverted, original, data_range)`` -> PSNR in dB."""
    from .metrics import psnr

    rng = np.random.default_rng(7)
    img = rng.uniform(size=(28, 28))
    cases = [("28x28 image plus noise of sd 0.1", img + rng.normal(0, 0.1, img.shape), img, 1.0),
             ("data range 2 (pixels in [-1, 1])", 2 * img - 1 + rng.normal(0, 0.3, img.shape),
              2 * img - 1, 2.0)]
    if hidden:
        cases += [("identical images", img.copy(), img, 1.0),
                  ("a batch (3, 1, 8, 8)", rng.uniform(size=(3, 1, 8, 8)),
                   rng.uniform(size=(3, 1, 8, 8)), 1.0)]
    for i, (label, a, b, r) in enumerate(cases, 1):
        case = f"{i} ({label})"
        got = call_student("04.1", case, fn, a.copy(), b.copy(), r)
        _close("04.1", case, got, psnr(a, b, r), "one number in dB")
    report_passed("04.1", len(cases), hidden)


def check_total_variation(fn: Callable, hidden: bool = False) -> None:
    """Exercise 04.2: ``fn(x, beta)`` -> the per-image TV prior of a batch ``(B, C, H, W)``."""
    from .inversion import total_variation

    g = _rng(8)
    cases = [("2 images 1x8x8, beta 2", torch.rand(2, 1, 8, 8, generator=g), 2.0),
             ("3 images 1x5x7, beta 2", torch.rand(3, 1, 5, 7, generator=g), 2.0)]
    if hidden:
        cases += [("beta 1", torch.rand(2, 1, 6, 6, generator=g), 1.0),
                  ("3 channels, beta 1.5", torch.rand(1, 3, 6, 6, generator=g), 1.5),
                  ("a constant image", torch.full((1, 1, 5, 5), 0.3), 2.0)]
    for i, (label, x, beta) in enumerate(cases, 1):
        case = f"{i} ({label})"
        got = call_student("04.2", case, fn, x.clone(), beta)
        _close("04.2", case, got, total_variation(x, beta), "one TV value per image",
               atol=1e-5, rtol=1e-5)
    report_passed("04.2", len(cases), hidden)


def check_inversion_objective(fn: Callable, hidden: bool = False) -> None:
    """Exercise 04.3: ``fn(feat, ref, x, tv_weight, tv_beta)`` -> the per-image objective."""
    from .inversion import _objective

    g = _rng(9)
    cases = [("2 images, TV weight 0.01", 2, 0.01, 2.0), ("3 images, no TV", 3, 0.0, 2.0)]
    if hidden:
        cases += [("TV weight 0.5, beta 1", 2, 0.5, 1.0)]
    for i, (label, b, w, beta) in enumerate(cases, 1):
        case = f"{i} ({label})"
        ref = torch.randn(b, 16, generator=g)
        feat = ref + 0.3 * torch.randn(b, 16, generator=g)
        x = torch.rand(b, 1, 6, 6, generator=g)
        ref_norm = ref.pow(2).sum(1).clamp_min(1e-12)
        expected = _objective(feat, ref, ref_norm, x, tv_weight=w, tv_beta=beta,
                              alpha_weight=0.0, alpha=6.0, lo=0.0, hi=1.0)
        x_student = x.clone().requires_grad_(True)
        got = call_student("04.3", case, fn, feat.clone(), ref.clone(), x_student, w, beta)
        _close("04.3", case, got, expected, "one objective value per image", atol=1e-5,
               rtol=1e-5)
        if w and hidden:
            if not isinstance(got, torch.Tensor) or not got.requires_grad:
                raise ExerciseFailure(f"Exercise 04.3, case {case}: the objective must be a "
                                      "tensor differentiable with respect to x (the inversion "
                                      "descends its gradient); yours is not.")
    report_passed("04.3", len(cases), hidden)


# --------------------------------------------------------------------------- notebook 05

def _needs_tensor(ex: str, case: str, got) -> torch.Tensor:
    if not isinstance(got, torch.Tensor):
        raise ExerciseFailure(f"Exercise {ex}, case {case}: expected a torch scalar tensor "
                              "(training back-propagates through it); your function returned "
                              f"{_short(got)}.")
    return got


def check_ppb_penalty(fn: Callable, hidden: bool = False) -> None:
    """Exercise 05.1: ``fn(logits)`` -> PPB's pair penalty (a scalar tensor)."""
    from .defenses import ppb_penalty

    cases = [("a batch of 6, 4 classes", _logits(6, 4, 10)[0].float()),
             ("an odd batch of 7", _logits(7, 3, 11)[0].float())]
    if hidden:
        same = torch.tensor([[3.0, 0.0, 1.0], [1.0, 3.0, 0.0]])
        cases += [("one sample (no pair)", _logits(1, 3, 12)[0].float()),
                  ("a pair with the same sorted logits", same),
                  ("a batch of 32, 10 classes", _logits(32, 10, 13, scale=4.0)[0].float())]
    for i, (label, z) in enumerate(cases, 1):
        case = f"{i} ({label})"
        got = _needs_tensor("05.1", case, call_student("05.1", case, fn, z.clone()))
        _close("05.1", case, got, ppb_penalty(z), "one number, the mean KL over pairs",
               atol=1e-5, rtol=1e-5)
    report_passed("05.1", len(cases), hidden)


def _check_batch_loss(ex: str, fn: Callable, cases: list, reference: Callable, what: str,
                      hidden: bool) -> None:
    """Compare ``fn(logits, targets, parameter)`` with ``reference`` on each case
    ``(label, logits, targets, parameter)`` (float32 logits, copies passed to ``fn``)."""
    for i, (label, z, y, param) in enumerate(cases, 1):
        case = f"{i} ({label})"
        z = z.float()
        got = _needs_tensor(ex, case, call_student(ex, case, fn, z.clone(), y.clone(), param))
        _close(ex, case, got, reference(z, y, param), what, atol=1e-5, rtol=1e-5)
    report_passed(ex, len(cases), hidden)


def check_ppb_loss(fn: Callable, hidden: bool = False) -> None:
    """Exercise 05.2: ``fn(logits, targets, lam)`` -> cross-entropy + lam * PPB penalty."""
    from .defenses import ppb_loss

    cases = [("a batch of 8, lam 4", *_logits(8, 3, 14), 4.0),
             ("lam 0 (plain cross-entropy)", *_logits(6, 5, 15), 0.0)]
    if hidden:
        cases += [("an odd batch, lam 16", *_logits(9, 4, 16), 16.0)]
    _check_batch_loss("05.2", fn, cases, ppb_loss, "one number, the PPB loss", hidden)


def check_label_smoothing(fn: Callable, hidden: bool = False) -> None:
    """Exercise 05.3: ``fn(logits, targets, smoothing)`` -> label-smoothed cross-entropy."""
    from .defenses import LabelSmoothingLoss

    cases = [("a batch of 8, smoothing 0.1", *_logits(8, 3, 17), 0.1),
             ("smoothing 0 (plain cross-entropy)", *_logits(5, 4, 18), 0.0)]
    if hidden:
        cases += [("10 classes, smoothing 0.5", *_logits(6, 10, 19), 0.5)]
    _check_batch_loss("05.3", fn, cases, lambda z, y, s: LabelSmoothingLoss(s)(z, y),
                      "one number, the mean loss", hidden)


# --------------------------------------------------------------------------- notebook 06

def check_clip(fn: Callable, hidden: bool = False) -> None:
    """Exercise 06.1: ``fn(grads, max_grad_norm)`` -> per-sample gradients clipped to norm C."""
    from .dp import clip_gradients

    g = _rng(20)
    cases = [("8 samples of 5 values, C = 1", 3 * torch.randn(8, 5, generator=g), 1.0),
             ("4 samples, C = 0.5", torch.randn(4, 10, generator=g), 0.5)]
    if hidden:
        cases += [("all norms below C", 0.01 * torch.randn(5, 3, generator=g), 1.0),
                  ("a zero gradient", torch.cat([torch.zeros(1, 4),
                                                 torch.randn(2, 4, generator=g)]), 1.0)]
    for i, (label, grads, c) in enumerate(cases, 1):
        case = f"{i} ({label})"
        got = call_student("06.1", case, fn, grads.clone(), c)
        expected = clip_gradients({"g": grads}, c)[0]["g"]
        _close("06.1", case, got, expected, "the clipped gradients")
    report_passed("06.1", len(cases), hidden)


def check_noisy_mean(fn: Callable, hidden: bool = False) -> None:
    """Exercise 06.2: ``fn(grads, C, sigma, generator, batch)`` -> DP-SGD's noisy mean."""
    from .dp import dp_sgd_step, per_sample_gradients

    cases = [("6 samples, 3 classes x 4 inputs, sigma 1", 6, 4, 1.0, 1.0, None),
             ("no noise (sigma 0)", 4, 3, 0.0, 0.5, None)]
    if hidden:
        cases += [("expected batch size 10, sigma 2", 7, 5, 2.0, 1.0, 10)]
    for i, (label, b, d, sigma, c, expected_b) in enumerate(cases, 1):
        case = f"{i} ({label}, C = {c})"
        lin = _layer(d, 3, bias=False)
        with torch.no_grad():
            lin.weight.copy_(torch.randn(3, d, generator=_rng(100 + i)))
        X = 3 * torch.randn(b, d, generator=_rng(i))
        y = torch.randint(0, 3, (b,), generator=_rng(50 + i))
        grads = per_sample_gradients(lin, X, y)["weight"].reshape(b, 3 * d)
        expected = dp_sgd_step(lin, X, y, lr=1e-3, max_grad_norm=c, noise_multiplier=sigma,
                               generator=_rng(7), expected_batch_size=expected_b)["weight"]
        got = call_student("06.2", case, fn, grads.clone(), c, sigma, _rng(7), expected_b or b)
        _close("06.2", case, got, expected.reshape(3 * d), "the noisy mean gradient",
               atol=1e-5, rtol=1e-5)
    report_passed("06.2", len(cases), hidden)


def check_noise_for_epsilon(fn: Callable, hidden: bool = False) -> None:
    """Exercise 06.3: ``fn(target_epsilon, delta, sample_rate, steps)`` -> the noise multiplier."""
    from .dp import compute_epsilon, noise_for_epsilon

    cases = [(8.0, 1e-5, 0.04, 500), (2.0, 1e-5, 0.02, 1000)]
    if hidden:
        cases += [(1.0, 1e-6, 0.01, 2000)]
    for i, (eps, delta, q, steps) in enumerate(cases, 1):
        case = f"{i} (epsilon {eps}, delta {delta}, sample rate {q}, {steps} steps)"
        got = call_student("06.3", case, fn, eps, delta, q, steps)
        sigma = float(_array("06.3", case, got))
        reached = compute_epsilon(q, sigma, steps, delta) if sigma > 0 else math.inf
        if not reached <= eps + 1e-9:
            raise ExerciseFailure(f"Exercise 06.3, case {case}: expected a noise multiplier "
                                  f"whose epsilon is at most {eps}; yours ({sigma:.4g}) gives "
                                  f"epsilon {reached:.4g}: too little noise.")
        ref = noise_for_epsilon(eps, delta, q, steps)
        if sigma > ref * 1.02:
            raise ExerciseFailure(f"Exercise 06.3, case {case}: expected the smallest noise "
                                  f"multiplier reaching epsilon {eps} (within 2 %); yours "
                                  f"({sigma:.4g}) gives epsilon {reached:.4g}: more noise than "
                                  "needed. Search until the interval is narrow.")
    report_passed("06.3", len(cases), hidden)
