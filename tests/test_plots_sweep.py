"""sparsepriv_nb.plots_sweep.plot_matched (notebook 03, section 6): the legend names what
traces the reference curves."""

import matplotlib

matplotlib.use("Agg")

import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from sparsepriv_nb import plots_sweep as PS  # noqa: E402
from sparsepriv_nb._checks import ParameterError  # noqa: E402


def _frames():
    ref = pd.DataFrame(dict(seed=[0, 0, 1, 1], test_acc=[.6, .9, .62, .88], auc=[.5, .6, .52, .61]))
    m = pd.DataFrame(dict(seed=[0, 1], method="random", test_acc=[.7, .4], auc=[.5, .5],
                          in_range=[True, False]))
    return m, ref


def test_plot_matched_legend_uses_the_reference_label_once():
    m, ref = _frames()
    label = "dense curve (full and fewer-epoch dense models, one line per seed)"
    labels = PS.plot_matched(m, ref, metric="auc", reference_label=label).axes[0] \
        .get_legend_handles_labels()[1]
    assert labels.count(label) == 1 and "random" in labels  # one entry for the two seeds' lines
    default = PS.plot_matched(m, ref, metric="auc").axes[0].get_legend_handles_labels()[1]
    assert "reference models" not in " ".join(default)  # not LiRA's reference models
    with pytest.raises(ParameterError, match="'reference_label' parameter of plot_matched"):
        PS.plot_matched(m, ref, metric="auc", reference_label=3)
