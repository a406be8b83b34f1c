"""The figures the notebooks show (matplotlib + seaborn), each a pure function of its data.

Every function takes an optional ``ax`` (or returns a new figure) and returns the figure, so
notebooks, widgets and tests share them.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

__all__ = ["plot_accuracy_vs_density", "plot_masks", "plot_butterfly_supports"]


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

    missing = {x, y, hue} - set(df.columns)
    if missing:
        raise ValueError(f"plot_accuracy_vs_density: data lacks columns {sorted(missing)}.")
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
    if not masks:
        raise ValueError("plot_masks: 'masks' is empty.")
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
