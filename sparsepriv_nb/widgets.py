"""ipywidgets front-ends wired to pure functions.

Each widget only *calls* a function that the notebook also calls once without the widget, so a
headless run (papermill, nbval) computes and shows every result.
"""

from __future__ import annotations

import copy

from torch import nn

from . import plots, sparsity, train

__all__ = ["sparsity_view", "sparsity_explorer"]


def sparsity_view(model: nn.Module, test_data, *, density: float,
                  method: str = "magnitude-global", seed: int = 0, show: bool = True) -> dict:
    """Prune a *copy* of ``model`` to ``density`` (no retraining), return masks and accuracy.

    Args:
        model: a trained dense (or already sparse) model; left untouched.
        test_data: ``(X, y)`` to measure accuracy on.
        density: fraction of weights kept, in (0, 1].
        method: a one-shot method of :data:`sparsepriv_nb.sparsity.METHODS`.
        seed: for ``random``.
        show: draw the masks.

    Returns:
        ``{"density", "accuracy", "masks", "figure"}``.

    Example:
        >>> from sparsepriv_nb.models import build_model
        >>> m = build_model("mlp", input_shape=(1, 8, 8), num_classes=10, seed=0)
        >>> out = sparsity_view(m, (torch.zeros(4, 1, 8, 8), torch.zeros(4).long()),
        ...                     density=0.3, show=False)
        >>> round(out["density"], 2)
        0.3
    """
    pruned = sparsity.apply_sparsity(copy.deepcopy(model), method, density, seed=seed)
    masks = sparsity.get_masks(pruned)
    acc = train.evaluate(pruned, test_data)["accuracy"]
    achieved = sparsity.overall_density(pruned)
    fig = None
    if show:
        fig = plots.plot_masks(masks, title=f"{method}: density {achieved:.3f}, "
                                            f"test accuracy {acc:.3f} (no fine-tuning)")
    return {"density": achieved, "accuracy": acc, "masks": masks, "figure": fig}


def sparsity_explorer(model: nn.Module, test_data, *, densities=None, methods=None):
    """A slider over densities and a method menu showing :func:`sparsity_view`'s masks."""
    import ipywidgets as W
    import matplotlib.pyplot as plt

    densities = densities or [1.0, 0.5, 0.3, 0.2, 0.1, 0.05, 0.02, 0.01]
    methods = methods or ["magnitude", "magnitude-global", "random"]

    def _show(density, method):
        out = sparsity_view(model, test_data, density=density, method=method)
        plt.show(out["figure"])

    return W.interactive(_show, density=W.SelectionSlider(options=densities, value=densities[3],
                                                          description="density"),
                         method=W.Dropdown(options=methods, value=methods[0],
                                           description="method"))
