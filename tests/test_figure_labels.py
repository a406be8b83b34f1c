"""Notebook 02's figures name what they show: the heat-map's colour bar, the explorer's
histogram axes, the exposure-shift panels' axes and a legend entry for every colour."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402

from sparsepriv_nb import plots, plots_shifts, shifts, widgets  # noqa: E402
from sparsepriv_nb.experiments import ModelOutputs  # noqa: E402


def test_heatmap_colour_bar_is_labelled():
    t = pd.DataFrame([[0.6, 0.7], [0.65, 0.62]],
                     index=pd.Index(["dense", "sparse"], name="trained on"),
                     columns=pd.Index(["dense", "sparse"], name="attacked model"))
    fig = plots.plot_heatmap(t, cbar_label="balanced accuracy (0.5 = chance)")
    heat, bar = fig.axes
    assert bar.get_ylabel() == "balanced accuracy (0.5 = chance)"
    assert heat.get_xlabel() == "attacked model" and heat.get_ylabel() == "trained on"


def _views():
    rng = np.random.default_rng(0)
    n = 40
    logits = torch.tensor(rng.normal(size=(n, 3)))
    labels = torch.tensor(rng.integers(0, 3, n))
    membership = np.r_[np.ones(n // 2), np.zeros(n // 2)].astype(int)
    out = ModelOutputs(logits=logits, labels=labels, membership=membership,
                       sensitivity=rng.random((n, 3)))
    return {1.0: {"outputs": out, "scores": {"loss": rng.normal(size=n)}}}


def test_explorer_histograms_have_axis_labels_and_legends():
    fig = widgets.mia_view(_views(), 1.0)["figure"]
    roc, conf, sens = fig.axes[:3]
    assert roc.get_xlabel() and roc.get_ylabel()
    assert conf.get_xlabel() == "probability of the true class"
    assert sens.get_xlabel() == "mean prediction sensitivity"
    for ax in (conf, sens):
        assert ax.get_ylabel() == "density (log scale)" and ax.get_yscale() == "log"
        assert [t.get_text() for t in ax.get_legend().get_texts()] == ["members", "non-members"]


def test_group_shift_panels_label_their_axes_and_every_colour():
    rng = np.random.default_rng(0)
    m = np.r_[np.ones(80), np.zeros(80)].astype(int)
    d = rng.normal(size=160) + m
    r = shifts.membership_shifts(d, d + rng.normal(size=160), m, labels=rng.integers(0, 2, 160),
                                 vulnerability=rng.normal(size=160), n_resamples=50)
    fig = plots_shifts.plot_group_shifts(r)
    for ax in fig.axes:
        assert ax.get_xlabel() and "rank fraction" in ax.get_ylabel()
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend == ["more exposed (Holm)", "less exposed (Holm)", "no detectable shift"]
