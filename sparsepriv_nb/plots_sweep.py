"""Figures for sweeps over method x density x seed (notebook 03), each a pure function of
tidy data that returns its figure.

Example:
    >>> df = pd.DataFrame(dict(method=["dense", "magnitude", "magnitude"] * 2,
    ...                        density=[1, .1, .1] * 2, density_achieved=[1, .1, .1] * 2,
    ...                        test_acc=[.9, .7, .72, .91, .69, .7], seed=[0, 0, 0, 1, 1, 1],
    ...                        defense_level=[.8, .9, .92, .82, .91, .9]))
    >>> fig = plot_accuracy_vs_defense(df)
    >>> len(fig.axes)  # the plot and its density colour bar
    2

Lesson: notebook 03 (``03_confounding_by_accuracy``).
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ._checks import InstanceOf, validate_params
from ._frame_checks import check_columns

__all__ = ["plot_accuracy_vs_defense", "plot_matched", "plot_coefficients"]

_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "<", ">")


def _ax(ax, figsize=(6, 4.5)):
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax.figure, ax


def _need(frame, param: str, columns: dict, fn: str) -> None:
    """``frame`` (parameter ``param``) is a DataFrame holding the named columns."""
    validate_params({param: frame}, {param: [InstanceOf(pd.DataFrame, "a pandas DataFrame")]},
                    fn)
    check_columns(frame, columns, fn)


def plot_accuracy_vs_defense(df: pd.DataFrame, *, x: str = "test_acc",
                             y: str = "defense_level", by: Sequence[str] = ("method", "density"),
                             method: str = "method", density: str = "density_achieved",
                             ax=None, colorbar: bool = True, legend: bool = True):
    """Gonon et al.'s Fig. 1: mean +/- sd over seeds of accuracy (x) and an attack measure (y)
    per configuration; colour = density (log scale), marker = method.

    Args:
        df: one row per model (one attack).
        x, y: the two columns (``y`` may be ``auc`` or ``tpr_at_1pct_fpr`` too).
        by: columns defining a configuration (rows differing only in the seed).
        method: the column that picks the marker.
        density: the column that picks the colour (its mean per configuration).
        ax: an axes to draw on.
        colorbar, legend: draw them.
    """
    from matplotlib.colors import LogNorm

    by = [by] if isinstance(by, str) else list(by)
    _need(df, "df", dict(x=x, y=y, method=method, density=density, by=by),
          "plot_accuracy_vs_defense")
    fig, ax = _ax(ax)
    g = df.groupby(by, dropna=False, sort=True)
    agg = g[[x, y, density]].mean().join(g[[x, y]].std(ddof=1).add_suffix("_sd"))
    agg = agg.reset_index() if method in by else agg.join(g[method].first()).reset_index()
    dmin = max(float(df[density].min()), 1e-4)
    norm = LogNorm(vmin=dmin, vmax=max(1.0, float(df[density].max())))
    cmap = plt.get_cmap("viridis")
    methods = list(dict.fromkeys(agg[method]))
    for i, m in enumerate(methods):
        part = agg[agg[method] == m]
        colours = cmap(norm(part[density].clip(lower=dmin)))
        ax.errorbar(part[x], part[y], xerr=part[f"{x}_sd"].fillna(0),
                    yerr=part[f"{y}_sd"].fillna(0), fmt="none", ecolor="0.6", elinewidth=0.8,
                    capsize=2, zorder=1)
        ax.scatter(part[x], part[y], c=colours, marker=_MARKERS[i % len(_MARKERS)], s=50,
                   edgecolors="k", linewidths=0.5, label=str(m), zorder=2)
    if colorbar:
        sm = plt.cm.ScalarMappable(norm=norm, cmap=cmap)
        fig.colorbar(sm, ax=ax, label=f"{density.replace('_', ' ')} (fraction of weights kept)")
    if legend:
        leg = ax.legend(title=method, fontsize=8, loc="best")
        for h in leg.legend_handles:
            h.set_facecolor("white")
    ax.set_xlabel(f"{x.replace('_', ' ')} (mean ± sd over seeds)")
    ax.set_ylabel(y.replace("_", " "))
    ax.grid(alpha=0.3)
    return fig


def plot_matched(matched: pd.DataFrame, reference: pd.DataFrame, *, metric: str,
                 accuracy: str = "test_acc", seed: str = "seed", method: str = "method",
                 ax=None, title: str | None = None,
                 reference_label: str = "reference curve (one line per seed)"):
    """The accuracy-matched comparison: each seed's reference curve (grey lines through the
    dense models whose accuracy was lowered) and the other models (colour = method; hollow
    when outside the reference range, so not matched).

    Args:
        matched: output of :func:`analysis.match_to_reference`.
        reference: the reference rows (one attack).
        metric, accuracy, seed, method: column names.
        reference_label: the legend entry of the reference curves (say which models trace
            them, e.g. "dense curve (full and fewer-epoch dense models, one line per seed)").

    Example:
        >>> ref = pd.DataFrame(dict(seed=0, test_acc=[.6, .9], auc=[.5, .6]))
        >>> m = pd.DataFrame(dict(seed=0, method="random", test_acc=[.7, .4], auc=[.5, .5],
        ...                       in_range=[True, False]))
        >>> fig = plot_matched(m, ref, metric="auc", reference_label="dense curve")
        >>> fig.axes[0].get_legend_handles_labels()[1][0]
        'dense curve'
    """
    names = dict(metric=metric, accuracy=accuracy, seed=seed)
    _need(matched, "matched", dict(names, method=method), "plot_matched")
    check_columns(matched, {"matched": ["in_range"]}, "plot_matched")
    _need(reference, "reference", names, "plot_matched")
    validate_params({"reference_label": reference_label},
                    {"reference_label": [InstanceOf(str, "a string")]}, "plot_matched")
    fig, ax = _ax(ax)
    for i, (_, part) in enumerate(reference.groupby(seed)):
        pts = part.groupby(accuracy)[metric].mean().sort_index()
        ax.plot(pts.index, pts.to_numpy(), "-", color="0.55", lw=1, marker=".", zorder=1,
                label=reference_label if i == 0 else None)
    colours = plt.get_cmap("tab10")
    for i, (m, part) in enumerate(matched.groupby(method, sort=True)):
        inside = part["in_range"].astype(bool)
        c = colours(i % 10)
        ax.scatter(part.loc[inside, accuracy], part.loc[inside, metric], color=c, s=28,
                   marker=_MARKERS[i % len(_MARKERS)], label=str(m), zorder=2)
        ax.scatter(part.loc[~inside, accuracy], part.loc[~inside, metric], facecolors="none",
                   edgecolors=[c], s=28, marker=_MARKERS[i % len(_MARKERS)], zorder=2)
    ax.set_xlabel(accuracy.replace("_", " "))
    ax.set_ylabel(metric.replace("_", " "))
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    if title:
        ax.set_title(title)
    return fig


def plot_coefficients(table: pd.DataFrame, *, terms: Sequence[str] | None = None,
                      label: str = "model", ax=None, title: str | None = None):
    """Coefficients with their intervals (a forest plot), one colour per ``label`` value.

    Args:
        table: rows of :func:`analysis.coef_table` (``term, coef, lo, hi``) stacked, with a
            ``label`` column naming the fit each row comes from.
        terms: which terms to show (default all but the intercept).

    Example:
        >>> t = pd.DataFrame(dict(model=["raw", "controlled"], term="density",
        ...                       coef=[.1, .02], lo=[.05, -.03], hi=[.15, .07]))
        >>> fig = plot_coefficients(t)
    """
    _need(table, "table", {"table": ["term", "coef", "lo", "hi"], "label": label},
          "plot_coefficients")
    t = table if terms is None else table[table.term.isin(list(terms))]
    t = t[t.term != "Intercept"] if terms is None else t
    fig, ax = _ax(ax, figsize=(6, 0.5 + 0.45 * len(t)))
    ys = np.arange(len(t))[::-1]
    colours = {k: plt.get_cmap("tab10")(i) for i, k in enumerate(dict.fromkeys(t[label]))}
    for yv, (_, r) in zip(ys, t.iterrows()):
        ax.errorbar(r.coef, yv, xerr=[[r.coef - r.lo], [r.hi - r.coef]], fmt="o",
                    color=colours[r[label]], capsize=3)
    ax.set_yticks(ys, [f"{r[label]}: {r.term}" for _, r in t.iterrows()])
    ax.axvline(0, color="k", lw=0.8)
    ax.set_xlabel("coefficient (95 % interval)")
    ax.grid(alpha=0.3, axis="x")
    if title:
        ax.set_title(title)
    return fig
