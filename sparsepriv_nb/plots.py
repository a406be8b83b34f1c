"""The figures the notebooks show (matplotlib + seaborn), each a pure function of its data.

Every function takes an optional ``ax`` (or returns a new figure) and returns the figure, so
notebooks, widgets and tests share them.

Lesson: every notebook's figures.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

from ._checks import InstanceOf, Interval, ParameterError, validate_params

__all__ = ["plot_accuracy_vs_density", "plot_masks", "plot_butterfly_supports", "plot_roc",
           "plot_intervals",
           "plot_member_histograms", "plot_heatmap", "show_image", "plot_inversion_grid",
           "plot_inversion_metrics", "mask_key", "pixel_key"]

_FRAME = InstanceOf(pd.DataFrame, "a pandas DataFrame")
_NON_EMPTY = InstanceOf(dict, "a non-empty dict", len)
_POSITIVE = Interval(int, 1, None)


def _check_columns(df, columns, owner: str) -> None:
    """``df`` is a DataFrame holding every name in ``columns`` (a :class:`ParameterError`
    naming the missing ones otherwise)."""
    validate_params({"df": df}, {"df": [_FRAME]}, owner)
    missing = sorted(set(columns) - set(df.columns))
    if missing:
        raise ParameterError(f"The 'df' parameter of {owner} must have the columns "
                             f"{sorted(set(columns))}; the data lacks {missing}. Got columns "
                             f"{list(df.columns)} instead.")


def _ax(ax, figsize=(6, 4)):
    if ax is None:
        fig, ax = plt.subplots(figsize=figsize)
    return ax.figure, ax


def plot_accuracy_vs_density(df: pd.DataFrame, *, x: str = "density", y: str = "test_acc",
                             hue: str = "method", ax=None, logx: bool = True):
    """Mean +/- std over seeds of ``y`` against ``x``, one line per ``hue``.

    Rows are grouped by (hue, rounded x): methods whose achieved density varies a little
    across seeds (butterfly, IMP) still average together.

    Example:
        >>> df = pd.DataFrame(dict(method=["a"] * 4, density=[1, 1, .1, .1],
        ...                        test_acc=[.9, .92, .7, .74], seed=[0, 1, 0, 1]))
        >>> fig = plot_accuracy_vs_density(df)
    """
    import seaborn as sns

    _check_columns(df, {x, y, hue}, "plot_accuracy_vs_density")
    fig, ax = _ax(ax)
    d = df.assign(**{x: df[x].round(3)})
    sns.lineplot(data=d, x=x, y=y, hue=hue, style=hue, markers=True, dashes=False,
                 errorbar="sd", err_style="bars", ax=ax)
    if logx:
        ax.set_xscale("log")
    ax.invert_xaxis()
    ax.set_xlabel(f"{x} (fraction of weights kept)")
    ax.set_ylabel(y.replace("_", " "))
    ax.grid(alpha=0.3)
    return fig


def plot_masks(masks: dict[str, torch.Tensor], *, title: str | None = None, max_cols: int = 4,
               axes=None):
    """Show each layer's 0/1 mask as an image (conv masks flattened to out x in*k*k).

    Example:
        >>> fig = plot_masks({"fc1": torch.ones(4, 6), "fc2": torch.zeros(2, 4)})
    """
    validate_params({"masks": masks, "max_cols": max_cols},
                    {"masks": [_NON_EMPTY], "max_cols": [_POSITIVE]}, "plot_masks")
    n = len(masks)
    if axes is None:
        cols = min(n, max_cols)
        rows = math.ceil(n / cols)
        fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.8 * rows), squeeze=False)
        axes = axes.ravel()
    fig = axes[0].figure
    for ax, (name, m) in zip(axes, masks.items()):
        img = m.detach().float().reshape(m.shape[0], -1).cpu().numpy()
        ax.imshow(img, cmap="Greys", vmin=0, vmax=1, aspect="auto", interpolation="nearest")
        ax.set_title(f"{name}: {img.mean():.1%} kept", fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in axes[n:]:
        ax.axis("off")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_butterfly_supports(supports: list[torch.Tensor]):
    """The factor supports ``B_1 .. B_L`` and the support of their product.

    Example:
        >>> from sparsepriv_nb.sparsity import butterfly_supports
        >>> fig = plot_butterfly_supports(butterfly_supports(8))
    """
    prod = torch.eye(supports[0].shape[0])
    for s in supports:
        prod = s.float() @ prod
    panels = [*(s.float() for s in supports), (prod != 0).float()]
    names = [f"$B_{i + 1}$" for i in range(len(supports))] + ["product"]
    fig, axes = plt.subplots(1, len(panels), figsize=(2.2 * len(panels), 2.4))
    for ax, p, name in zip(np.atleast_1d(axes), panels, names):
        ax.imshow(p.numpy(), cmap="Greys", vmin=0, vmax=1, interpolation="nearest")
        ax.set_title(f"{name}\n{int(p.sum())} non-zeros", fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    return fig


def plot_roc(curves: dict, *, ax=None, title: str | None = None, loglog: bool = True):
    """ROC curves of several attacks, log-log by default (Carlini et al.'s low-FPR view).

    On log axes the FPR axis starts at ``1 / n`` (n = the largest number of non-members among
    the curves): no smaller non-zero FPR can be measured, so the plot shows nothing below it.

    Args:
        curves: label -> ``(scores, membership)``.

    Example:
        >>> rng = np.random.default_rng(0); m = np.r_[np.ones(100), np.zeros(100)]
        >>> fig = plot_roc({"toy": (rng.normal(size=200) + m, m)})
        >>> float(fig.axes[0].get_xlim()[0])
        0.01
    """
    from .metrics import auc, roc

    validate_params({"curves": curves}, {"curves": [_NON_EMPTY]}, "plot_roc")
    fig, ax = _ax(ax, (5, 5))
    n0 = 1
    for label, (scores, membership) in curves.items():
        fpr, tpr, _ = roc(scores, membership)
        n0 = max(n0, int((np.asarray(membership) == 0).sum()))
        ax.plot(fpr, tpr, label=f"{label} (AUC {auc(scores, membership):.2f})", lw=1.5)
    lo = 1.0 / n0 if loglog else 0
    ax.plot([lo, 1], [lo, 1], ls="--", color="grey", lw=1, label="chance")
    if loglog:
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlim(lo, 1)
        ax.set_ylim(lo, 1)
    ax.set_xlabel("false positive rate" + (f" (from 1/{n0} non-members)" if loglog else ""))
    ax.set_ylabel("true positive rate")
    ax.legend(fontsize=8, loc="lower right")
    if title:
        ax.set_title(title)
    return fig


def plot_intervals(df: pd.DataFrame, *, x: str, y: str = "mean", lo: str = "lo", hi: str = "hi",
                   hue: str | None = None, ax=None, logx: bool = False, xlabel: str | None = None,
                   ylabel: str | None = None, title: str | None = None, chance=None):
    """Point estimates with interval bars, one line per ``hue`` (for example the tidy output of
    :func:`sparsepriv_nb.metrics.aggregate_seeds`, or records with ``auc``, ``auc_lo``,
    ``auc_hi``).

    Example:
        >>> d = pd.DataFrame(dict(k=[1, .5], mean=[.6, .55], lo=[.55, .5], hi=[.65, .6]))
        >>> fig = plot_intervals(d, x="k", ylabel="AUC", chance=0.5)
    """
    _check_columns(df, {x, y, lo, hi, *([hue] if hue else [])}, "plot_intervals")
    fig, ax = _ax(ax)
    groups = df.groupby(hue, sort=False) if hue else [(None, df)]
    for name, g in groups:
        g = g.sort_values(x)
        err = np.vstack([g[y] - g[lo], g[hi] - g[y]]).clip(min=0)
        ax.errorbar(g[x], g[y], yerr=err, marker="o", capsize=3, lw=1.5,
                    label=None if name is None else str(name))
    if chance is not None:
        ax.axhline(chance, ls="--", color="grey", lw=1, label="chance")
    if logx:
        ax.set_xscale("log")
    ax.set_xlabel(xlabel or x.replace("_", " "))
    ax.set_ylabel(ylabel or y.replace("_", " "))
    if hue or chance is not None:
        ax.legend(fontsize=8)
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3)
    return fig


def plot_member_histograms(values: dict, membership, *, bins: int = 30, axes=None,
                           title: str | None = None):
    """Member vs non-member histograms of per-sample values (Yuan & Zhang's Fig. 1 view).

    Args:
        values: panel title -> per-sample values (e.g. confidence, mean sensitivity).
        membership: 1 for members.
    """
    validate_params({"values": values, "bins": bins},
                    {"values": [_NON_EMPTY], "bins": [_POSITIVE]}, "plot_member_histograms")
    membership = np.asarray(membership).astype(bool)
    if axes is None:
        fig, axes = plt.subplots(1, len(values), figsize=(4.2 * len(values), 3.2),
                                 squeeze=False)
        axes = axes.ravel()
    fig = axes[0].figure
    for ax, (name, v) in zip(axes, values.items()):
        v = np.asarray(v, dtype=float)
        edges = np.histogram_bin_edges(v, bins=bins)
        ax.hist(v[membership], bins=edges, alpha=0.6, label="members", density=True)
        ax.hist(v[~membership], bins=edges, alpha=0.6, label="non-members", density=True)
        gap = v[membership].mean() - v[~membership].mean()
        ax.set_title(f"{name}\nmean gap {gap:+.3g}", fontsize=9)
        ax.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_heatmap(table: pd.DataFrame, *, ax=None, title: str | None = None, fmt: str = ".2f",
                 vmin: float = 0.5, vmax: float = 1.0, cbar_label: str | None = None):
    """Annotated heat-map (e.g. attack transfer AUCs, Bagmar et al.), its colour bar labelled.

    Args:
        table: the cells; its index and columns name the two axes (their ``name``, if any,
            labels the axis).
        cbar_label: the colour bar's label: the quantity and its unit (or scale).

    Example:
        >>> t = pd.DataFrame([[0.6, 0.7]], index=pd.Index(["dense"], name="trained on"),
        ...                  columns=pd.Index(["a", "b"], name="attacked"))
        >>> fig = plot_heatmap(t, cbar_label="balanced accuracy (0.5 = chance)")
        >>> fig.axes[1].get_ylabel()
        'balanced accuracy (0.5 = chance)'
    """
    import seaborn as sns

    fig, ax = _ax(ax, (1.6 + 1.3 * table.shape[1], 1.2 + 1.0 * table.shape[0]))
    sns.heatmap(table.astype(float), annot=True, fmt=fmt, cmap="rocket_r", vmin=vmin,
                vmax=vmax, ax=ax, cbar_kws={"shrink": 0.8, "label": cbar_label or ""})
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


def show_image(ax, img, value_range=(0.0, 1.0)):
    """Draw one image ``(C, H, W)``, ``(H, W)`` or ``(H, W, C)`` on ``ax``, grey for one
    channel, with its pixel range (``Dataset.value_range``) mapped to black..white and no ticks.

    Example:
        >>> fig, ax = plt.subplots()
        >>> show_image(ax, torch.zeros(1, 8, 8), value_range=(-1.0, 1.0))
        >>> ax.images[0].get_clim()
        (-1.0, 1.0)
    """
    img = np.asarray(img, dtype=float)
    if img.ndim == 3 and img.shape[0] in (1, 3):
        img = img[0] if img.shape[0] == 1 else np.moveaxis(img, 0, -1)
    ax.imshow(img, cmap="gray" if img.ndim == 2 else None, vmin=value_range[0],
              vmax=value_range[1], interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])


#: Former private name (notebooks saved before it became public may still call it).
_show_image = show_image


def plot_inversion_grid(images: dict, original, *, layers, ks, value_range=(0.0, 1.0)):
    """Huang et al.'s Fig. 2 layout: rows = layers, columns = k (fraction of weights left).

    Args:
        images: ``(k, layer) -> image (C, H, W)`` (the keys of the inversion results).
        original: the image ``(C, H, W)`` shown in the first column.
        layers, ks: row and column order.
    """
    fig, axes = plt.subplots(len(layers), len(ks) + 1,
                             figsize=(1.5 * (len(ks) + 1), 1.5 * len(layers)), squeeze=False)
    for r, layer in enumerate(layers):
        show_image(axes[r, 0], original, value_range)
        axes[r, 0].set_ylabel(layer, fontsize=9)
        for c, k in enumerate(ks, start=1):
            show_image(axes[r, c], images[(k, layer)], value_range)
            if r == 0:
                axes[r, c].set_title(f"k={k:.3g}", fontsize=9)
    axes[0, 0].set_title("original", fontsize=9)
    fig.tight_layout()
    return fig


_UNITS = {"psnr": "PSNR (dB, higher = closer)", "ssim": "SSIM (1 = same structure)",
          "mse": "MSE (pixel range$^2$)", "label_kept": "label kept (fraction)"}


def plot_inversion_metrics(df: pd.DataFrame, *, metrics=("psnr", "ssim"), x: str = "k",
                           errorbar=("ci", 95)):
    """Mean of each metric against ``x`` (fraction of weights left), one line per layer, with
    seaborn's bootstrap 95 % interval over images by default (``errorbar="sd"`` for the spread).

    Example:
        >>> d = pd.DataFrame(dict(k=[1, 1, .5, .5], layer="fc1", psnr=[30, 32, 25, 27],
        ...                       ssim=[.9, .95, .7, .8]))
        >>> fig = plot_inversion_metrics(d)
    """
    import seaborn as sns

    fig, axes = plt.subplots(1, len(metrics), figsize=(5 * len(metrics), 3.6), squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        sns.lineplot(data=df, x=x, y=metric, hue="layer", marker="o", errorbar=errorbar,
                     ax=ax, n_boot=1000, seed=0)
        ax.set_xscale("log")
        ax.invert_xaxis()
        ax.set_xlabel(f"{x} (fraction of weights left, log scale)")
        ax.set_ylabel(_UNITS.get(metric, metric))
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def mask_key(fig, *, on: str = "kept (mask = 1)", off: str = "pruned (mask = 0)"):
    """Axis labels and a colour key under a mask figure (:func:`plot_masks`,
    :func:`plot_butterfly_supports`): black = ``on`` (1), white = ``off`` (0).

    Example:
        >>> fig = mask_key(plot_masks({"fc1": torch.ones(4, 6)}))
        >>> [t.get_text() for t in fig.legends[0].get_texts()]
        ['kept (mask = 1)', 'pruned (mask = 0)']
        >>> fig.axes[0].get_ylabel()
        'output unit (row)'
    """
    from matplotlib.patches import Patch

    for ax in fig.axes:
        if ax.get_visible() and ax.axison:
            ax.set_xlabel("input (column)", fontsize=8)
    fig.axes[0].set_ylabel("output unit (row)", fontsize=8)
    fig.subplots_adjust(bottom=0.24)
    fig.legend(handles=[Patch(facecolor="black", label=on),
                        Patch(facecolor="white", edgecolor="grey", label=off)],
               loc="lower center", ncol=2, fontsize=8, bbox_to_anchor=(0.5, 0.0))
    return fig


def pixel_key(fig, axes, value_range=(0.0, 1.0)):
    """A grey-scale colour bar beside a grid of images drawn by :func:`show_image`, naming the
    pixel value that black and white stand for.

    Example:
        >>> fig, ax = plt.subplots()
        >>> show_image(ax, torch.zeros(1, 8, 8))
        >>> pixel_key(fig, [ax]).ax.get_ylabel()
        'pixel value (0 = black, 1 = white)'
    """
    lo, hi = value_range
    return fig.colorbar(np.ravel(axes)[0].images[0], ax=list(np.ravel(axes)), shrink=0.8,
                        label=f"pixel value ({lo:g} = black, {hi:g} = white)")
