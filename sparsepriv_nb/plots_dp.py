"""Privacy-utility-attack curves: one metric of several DP models against their accountant's
epsilon, with the non-private model (no epsilon) as a dashed line and its interval shaded.

Example:
    >>> import pandas as pd
    >>> dp = pd.DataFrame({"epsilon": [1.0, 4.0], "acc": [0.5, 0.7], "acc_lo": [0.45, 0.65],
    ...                    "acc_hi": [0.55, 0.75]})
    >>> nonprivate = pd.Series({"acc": 0.8, "acc_lo": 0.77, "acc_hi": 0.83})
    >>> fig, ax = plt.subplots()
    >>> epsilon_series(ax, dp, nonprivate, "acc", "accuracy")
    >>> epsilon_axes([ax], dp.epsilon)
    >>> [t.get_text() for t in ax.get_xticklabels()]
    ['1.00', '4.00']

Lesson: notebook 06 (``06_dp_sgd_and_pruning``), section 7.
"""

from __future__ import annotations

import matplotlib.pyplot as plt  # noqa: F401 (the docstring example's figure)
import pandas as pd  # noqa: F401 (the docstring examples)

from .plots import _check_columns

__all__ = ["epsilon_series", "epsilon_axes"]


def epsilon_series(ax, dp_rows, nonprivate, column: str, name: str, *, marker: str = "o"):
    """Draw ``column`` (with ``column_lo`` / ``column_hi`` as error bars) of the DP models
    against ``dp_rows.epsilon``, and the non-private row's value as a dashed line of the same
    colour over its shaded interval (the line's legend entry names the shading).

    The non-private model has no epsilon: it is never placed on the (log) epsilon axis.

    Example:
        >>> dp = pd.DataFrame({"epsilon": [1.0, 4.0], "a": [0.5, 0.7], "a_lo": [0.4, 0.6],
        ...                    "a_hi": [0.6, 0.8]})
        >>> fig, ax = plt.subplots()
        >>> epsilon_series(ax, dp, pd.Series({"a": 0.9, "a_lo": 0.85, "a_hi": 0.95}), "a", "acc")
        >>> [label.split(" (")[0] for label in ax.get_legend_handles_labels()[1]]
        ['acc, non-private', 'acc, DP-SGD']
        >>> "95 % CI shaded" in ax.get_legend_handles_labels()[1][0]
        True
    """
    _check_columns(dp_rows, {"epsilon", column, f"{column}_lo", f"{column}_hi"},
                   "epsilon_series")
    line = ax.errorbar(dp_rows.epsilon, dp_rows[column], marker=marker, capsize=3,
                       label=f"{name}, DP-SGD",
                       yerr=[dp_rows[column] - dp_rows[f"{column}_lo"],
                             dp_rows[f"{column}_hi"] - dp_rows[column]])
    color = line[0].get_color()
    ax.axhline(nonprivate[column], color=color, ls="--",
               label=rf"{name}, non-private ($\varepsilon=\infty$; 95 % CI shaded)")
    ax.axhspan(nonprivate[f"{column}_lo"], nonprivate[f"{column}_hi"], color=color, alpha=0.12)


def epsilon_axes(axes, epsilons) -> None:
    """Log x axes labelled with the accountant's epsilons (no minor ticks), and a legend."""
    for ax in axes:
        ax.set(xscale="log", xlabel=r"accountant $\varepsilon$ of the DP model (log scale)")
        ax.set_xticks(list(epsilons), [f"{e:.2f}" for e in epsilons])
        ax.minorticks_off()
        ax.legend(fontsize=8)

