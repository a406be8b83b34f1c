"""Figures of who loses privacy when a network is pruned (:mod:`sparsepriv_nb.shifts`), each a
pure function of a :class:`~sparsepriv_nb.shifts.Shifts` that returns its figure.

Example:
    >>> from sparsepriv_nb import shifts
    >>> rng = np.random.default_rng(0); m = np.r_[np.ones(80), np.zeros(80)].astype(int)
    >>> d = rng.normal(size=160) + m
    >>> r = shifts.membership_shifts(d, d + rng.normal(size=160), m, labels=rng.integers(0, 2, 160),
    ...                              vulnerability=rng.normal(size=160), n_resamples=50)
    >>> len(plot_group_shifts(r).axes)
    2
    >>> len(plot_most_shifted(r, rng.random((160, 8, 8)), k=2).axes)
    4

Lesson: notebook 02 (``02_membership_inference``), section "Who loses privacy when a network is
pruned".
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from ._checks import InstanceOf, Interval, validate_params
from .shifts import LESS, MORE, Shifts

__all__ = ["plot_group_shifts", "plot_most_shifted"]

_COLOURS = {MORE: "tab:red", LESS: "tab:blue"}
_XLABELS = {"class": "class of the member",
            "vulnerability": "vulnerability quartile (memorisation gap over reference models)"}


def _legend_handles() -> list:
    """One legend entry per colour :func:`plot_group_shifts` can draw."""
    from matplotlib.lines import Line2D

    return [Line2D([], [], marker="o", ls="", color=c, label=lab) for c, lab in
            ((_COLOURS[MORE], "more exposed (Holm)"), (_COLOURS[LESS], "less exposed (Holm)"),
             ("grey", "no detectable shift"))]


def _check(result, fn: str) -> None:
    validate_params({"result": result}, {"result": [InstanceOf(Shifts, "a shifts.Shifts")]}, fn)


def plot_group_shifts(result: Shifts, *, families=("class", "vulnerability"),
                      class_names=None):
    """One panel per family: each group's mean exposure shift (sparse - dense) with its 95 %
    interval; red = more exposed, blue = less exposed after Holm, grey = no detectable shift.

    Args:
        result: :func:`~sparsepriv_nb.shifts.membership_shifts`'s result.
        families: the families to draw (those the result lacks are skipped).
        class_names: optional names of the classes, indexed by label.
    """
    _check(result, "plot_group_shifts")
    shown = [f for f in families if (result.groups.family == f).any()]
    fig, axes = plt.subplots(1, max(len(shown), 1), figsize=(5.5 * max(len(shown), 1), 3.8),
                             squeeze=False)
    for ax, fam in zip(axes[0], shown):
        g = result.groups[result.groups.family == fam].reset_index(drop=True)
        names = [class_names[int(c)] if fam == "class" and class_names is not None else c
                 for c in g.group]
        for i, r in g.iterrows():
            colour = _COLOURS.get(r.verdict, "grey")
            ax.errorbar(i, r["diff"], yerr=[[r["diff"] - r.lo], [r.hi - r["diff"]]], fmt="o",
                        color=colour, capsize=3)
        ax.axhline(0, color="black", lw=0.8)
        ax.set_xticks(range(len(g)), names, rotation=30 if fam == "class" else 0, ha="right"
                      if fam == "class" else "center")
        ax.set(title=f"by {fam}", ylabel="exposure shift, sparse - dense\n(rank fraction)",
               xlabel=_XLABELS.get(fam, fam))
    fig.suptitle("Who became more or less exposed: mean shift with its 95 % interval, Holm",
                 fontsize=10)
    fig.legend(handles=_legend_handles(), loc="upper center", ncol=3, fontsize=8,
               frameon=False, bbox_to_anchor=(0.5, 0.94))
    fig.tight_layout(rect=(0, 0, 1, 0.88))
    return fig


def plot_most_shifted(result: Shifts, images, *, k: int = 6, class_names=None):
    """The ``k`` members whose exposure rose most (top row) and fell most (bottom row), each
    titled with its class and its dense -> sparse exposure.

    Args:
        result: :func:`~sparsepriv_nb.shifts.membership_shifts`'s result.
        images: the attacked samples' images, indexed like the scores (``(n, ...)``, any
            array or tensor whose items reshape to a square or ``(C, H, W)``).
        k: members per row.
        class_names: optional names of the classes, indexed by label.
    """
    _check(result, "plot_most_shifted")
    validate_params({"k": k}, {"k": [Interval(int, 1, None)]}, "plot_most_shifted")
    images = np.asarray(images)
    top = result.most_shifted(k)
    fig, axes = plt.subplots(2, k, figsize=(1.7 * k, 4.6), squeeze=False)
    for ax, (_, r) in zip(axes.ravel(), top.iterrows()):
        img = images[int(r["index"])].squeeze()
        if img.ndim == 1:
            side = int(round(np.sqrt(img.size)))
            img = img.reshape(side, side)
        elif img.ndim == 3:  # (C, H, W) -> (H, W, C)
            img = np.moveaxis(img, 0, -1)
        ax.imshow(img, cmap="gray_r" if img.ndim == 2 else None)
        label = ""
        if "label" in r:
            c = int(r["label"])
            label = (class_names[c] if class_names is not None else str(c)) + "\n"
        ax.set_title(f"{label}{r['dense']:.2f} → {r['sparse']:.2f}", fontsize=8,
                     color=_COLOURS[r.direction])
        ax.set_xticks([])
        ax.set_yticks([])
    axes[0, 0].set_ylabel("more exposed", color=_COLOURS[MORE])
    axes[1, 0].set_ylabel("less exposed", color=_COLOURS[LESS])
    fig.suptitle("Members whose exposure changed most (dense → sparse exposure)", fontsize=10)
    fig.tight_layout()
    return fig
