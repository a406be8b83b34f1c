"""ipywidgets front-ends wired to pure functions.

Each widget only *calls* a function that the notebook also calls once without the widget, so a
headless run (papermill, nbval) computes and shows every result.

Every explorer also carries a **static view**: a PNG of its current (at display time, the
default) figure, put beside the live widget in the output. JupyterLab shows the live widget; an
HTML report (no widget state, no network) and a notebook reopened without re-running show the
picture instead of an empty cell or ``interactive(children=...``.

Lesson: notebook 01 (``01_sparsity_methods``), notebook 02 (``02_membership_inference``),
    notebook 04 (``04_model_inversion``) (the explorers).
"""

from __future__ import annotations

import base64
import copy
import io

from torch import nn

from . import plots, sparsity, train
from ._checks import Interval, ParameterError, check_choice, validate_params

__all__ = ["sparsity_view", "sparsity_explorer", "mia_view", "mia_explorer", "inversion_view",
           "inversion_explorer", "StaticViewMixin"]

STATIC_NOTE = "static view of the explorer's default setting: run the notebook to use its controls"


def _png(fig, note: str | None = None) -> bytes:
    """The figure as PNG bytes, with ``note`` written under it in the picture only."""
    text = fig.text(0.5, 0.0, note, ha="center", va="top", fontsize=8, color="0.35") \
        if note else None
    try:
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=72, bbox_inches="tight")
        return buf.getvalue()
    finally:
        if text is not None:
            text.remove()


class StaticViewMixin:
    """Adds the last drawn figure (``image/png``) to a widget's display data.

    Frontends with a live kernel render the widget (its MIME type ranks first); nbconvert's
    HTML without widget state, and JupyterLab for an untrusted or not re-run notebook, fall
    back to the picture.
    """

    static_png: bytes | None = None

    def _repr_mimebundle_(self, **kwargs):
        data = super()._repr_mimebundle_(**kwargs)
        if data is not None and self.static_png:
            data["image/png"] = base64.b64encode(self.static_png).decode("ascii")
            data["text/plain"] = f"<{type(self).__name__}: {STATIC_NOTE}>"
        return data


def _interactive(fn, **controls):
    """``ipywidgets.interactive`` over ``fn`` (which returns a figure) that shows the figure
    and keeps a PNG of it as the static view."""
    import ipywidgets as W
    import matplotlib.pyplot as plt

    class Explorer(StaticViewMixin, W.interactive):
        pass

    holder = {}

    def _show(**values):
        fig = fn(**values)
        holder["png"] = _png(fig, STATIC_NOTE)
        if "widget" in holder:
            holder["widget"].static_png = holder["png"]
        plt.show(fig)

    widget = Explorer(_show, **controls)
    widget.static_png = holder.get("png")
    holder["widget"] = widget
    return widget


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
        >>> import torch
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
        title = f"{method}: density {achieved:.3f}, test accuracy {acc:.3f} (no fine-tuning)"
        fig = plots.mask_key(plots.plot_masks(masks, title=title))
    return {"density": achieved, "accuracy": acc, "masks": masks, "figure": fig}


def sparsity_explorer(model: nn.Module, test_data, *, densities=None, methods=None):
    """A slider over densities and a method menu showing :func:`sparsity_view`'s masks."""
    import ipywidgets as W

    densities = densities or [1.0, 0.5, 0.3, 0.2, 0.1, 0.05, 0.02, 0.01]
    methods = methods or ["magnitude", "magnitude-global", "random"]

    def _draw(density, method):
        return sparsity_view(model, test_data, density=density, method=method)["figure"]

    return _interactive(_draw, density=W.SelectionSlider(options=densities, value=densities[3],
                                                         description="density"),
                        method=W.Dropdown(options=methods, value=methods[0],
                                          description="method"))


def mia_view(views: dict, density: float, *, show: bool = True) -> dict:
    """ROC (log-log) and confidence / sensitivity gap histograms for one precomputed density.

    Args:
        views: density -> ``{"outputs": ModelOutputs of the target, "scores": {attack:
            scores}}`` (computed beforehand, so moving a slider only draws).
        density: a key of ``views``.
        show: draw the figure.

    Returns:
        ``{"auc": {attack: auc}, "figure": fig}``.
    """
    import matplotlib.pyplot as plt
    import numpy as np

    from . import metrics

    check_choice(density, sorted(views), "density", "mia_view")
    v = views[density]
    out = v["outputs"]
    auc = {k: metrics.attack_metrics(s, out.membership)["auc"] for k, s in v["scores"].items()}
    fig = None
    if show:
        fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
        plots.plot_roc({k: (s, out.membership) for k, s in v["scores"].items()}, ax=axes[0],
                       title=f"density {density:g}")
        from .signals import confidence

        values = {"true-class confidence": confidence(out.logits, out.labels)}
        if out.sensitivity is not None:
            values["mean prediction sensitivity"] = np.asarray(out.sensitivity).mean(1)
        plots.plot_member_histograms(values, out.membership, axes=list(axes[1:]))
        xlabels = ("probability of the true class", "mean prediction sensitivity")
        for ax, xlabel in zip(axes[1:1 + len(values)], xlabels):
            ax.set(yscale="log", ylabel="density (log scale)", xlabel=xlabel)
        if len(values) == 1:
            axes[2].axis("off")
        fig.tight_layout()
    return {"auc": auc, "figure": fig}


def mia_explorer(views: dict):
    """A density slider over :func:`mia_view`."""
    import ipywidgets as W

    options = sorted(views, reverse=True)

    def _draw(density):
        return mia_view(views, density)["figure"]

    return _interactive(_draw, density=W.SelectionSlider(options=options, value=options[0],
                                                         description="density"))


def inversion_view(results: dict, records, *, k: float, layer: str, index: int = 0,
                   originals=None, show: bool = True) -> dict:
    """Original | inverted image for one (k, layer, image) with its metrics.

    Args:
        results: ``(k, layer) -> inverted images (B, C, H, W)`` (precomputed).
        records: DataFrame from :func:`sparsepriv_nb.inversion.inversion_records` with ``k``.
        k, layer, index: which inversion to show.
        originals: the original images ``(B, C, H, W)``.

    Returns:
        ``{"metrics": dict, "figure": fig}``.
    """
    import matplotlib.pyplot as plt

    if (k, layer) not in results:
        raise ParameterError(f"The 'k' and 'layer' parameters of inversion_view must be a pair "
                             f"with a precomputed result, one of {sorted(results)}. Got "
                             f"k={k!r}, layer={layer!r} instead (no precomputed result).")
    images = results[(k, layer)]
    validate_params({"index": index}, {"index": [Interval(int, 0, len(images) - 1)]},
                    "inversion_view")
    row = records[(records.k == k) & (records.layer == layer) & (records.image == index)]
    cols = ["mse", "psnr", "ssim", "label", "predicted", "original_predicted"]
    m = row.iloc[0][[c for c in cols if c in row.columns]].to_dict()
    fig = None
    if show:
        fig, axes = plt.subplots(1, 2, figsize=(5, 2.8))
        plots.show_image(axes[0], originals[index])
        orig = m.get("original_predicted")
        axes[0].set_title("original" + ("" if orig is None else f", predicted {orig}"))
        plots.show_image(axes[1], images[index])
        axes[1].set_title(f"{layer}, k={k:.3g}, predicted {m['predicted']}")
        fig.suptitle(f"PSNR {m['psnr']:.1f} dB, SSIM {m['ssim']:.2f} (true label "
                     f"{m['label']})", fontsize=9)
        fig.tight_layout()
    return {"metrics": m, "figure": fig}


def inversion_explorer(results: dict, records, originals):
    """Sliders for k, layer and image index over :func:`inversion_view`."""
    import ipywidgets as W

    ks = sorted({k for k, _ in results}, reverse=True)
    layers = list(dict.fromkeys(layer for _, layer in results))

    def _draw(k, layer, index):
        return inversion_view(results, records, k=k, layer=layer, index=index,
                              originals=originals)["figure"]

    return _interactive(
        _draw, k=W.SelectionSlider(options=ks, value=ks[0], description="k"),
        layer=W.Dropdown(options=layers, value=layers[0], description="layer"),
        index=W.IntSlider(min=0, max=len(originals) - 1, value=0, description="image"))
