"""sparsepriv_nb.inversion_verdicts (notebook 04's tables and sentences) and the keys that
plots.mask_key / plots.pixel_key add to notebook 01's and 04's figures."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from scipy import stats  # noqa: E402

from sparsepriv_nb import inversion_verdicts as iv  # noqa: E402
from sparsepriv_nb import metrics, plots, widgets  # noqa: E402
from sparsepriv_nb._checks import ParameterError  # noqa: E402
from sparsepriv_nb.models import build_model  # noqa: E402

ND = metrics.NO_DIFFERENCE


def test_interval_table_is_the_t_interval_over_images_per_group():
    psnr = [10.0, 11.5, 12.0, 9.0]
    recs = pd.DataFrame({"beta": [1.0] * 4 + [2.0] * 4, "psnr": psnr + [p + 1 for p in psnr],
                         "mse": 0.01})
    table = iv.interval_table(recs, "beta", ["psnr", "mse"], digits={"psnr": 2, "mse": 4})
    assert list(table.columns) == ["psnr", "mse"] and list(table.index) == [1.0, 2.0]
    half = stats.t.ppf(0.975, 3) * np.std(psnr, ddof=1) / 2
    m = np.mean(psnr)
    assert table.loc[1.0, "psnr"] == f"{m:.2f} [{m - half:.2f}, {m + half:.2f}]"
    assert table.loc[2.0, "psnr"].startswith(f"{m + 1:.2f} [")
    assert table.loc[1.0, "mse"] == "0.0100 [0.0100, 0.0100]"


def _stair(flat, edges):
    word = {"-": "lower", "+": "higher", "0": ND}
    return pd.DataFrame({"diff": [-0.2 if flat == "-" else 0.2, -0.1 if edges == "-" else 0.15],
                         "lo": [-0.3, -0.2], "hi": [-0.1, 0.2],
                         "verdict": [word[flat], word[edges]], "mde": [0.05, 0.07]},
                        index=["flat", "edges"])


@pytest.mark.parametrize("flat, edges, ending", [
    ("-", "-", "both halves of the expectation hold."),
    ("+", "+", "the expectation does not hold here: beta = 2 has more of both."),
    ("-", "+", "more flat patches but not more hard edges: half of the expectation holds."),
    ("+", "-", "more hard edges but not more flat patches: half of the expectation holds."),
    ("-", "0", "the hard edges half is not resolved at this power."),
    ("0", "0", "neither half is detectable at this power."),
])
def test_staircase_sentence_reports_both_halves_and_concludes(flat, edges, ending):
    s = iv.staircase_sentence(_stair(flat, edges), higher="higher", lower="lower")
    assert s.endswith(ending)
    # both halves always carry their estimate and interval
    assert "flat patches " in s and "hard edges " in s
    assert "[-0.300, -0.100]" in s and "[-0.200, +0.200]" in s
    if edges == "0":
        assert "this run could detect |Δ| ≥ 0.070" in s
    if flat == "-":
        assert "holds (beta = 1 has 0.200 more)" in s
    if edges == "+":
        assert "hard edges +0.150 [-0.200, +0.200]: does not hold (beta = 2 has 0.150 more)" in s
    assert "supported" not in s and "contradicted" not in s  # notebook 07's words for claims
    c = iv.staircase_sentence(_stair(flat, edges), higher="higher", lower="lower", caveat="x y")
    assert c == s[:-1] + " (x y)."


@pytest.mark.parametrize("ceiling, one, expected", [
    (12, 12, "Both are saturated in every cell"),
    (11, 12, "Both are saturated in most cells"),
    (2, 3, "Both are below their ceilings in most cells"),
    (12, 3, "read the trend over k from prediction_kept, not label_kept."),
    (3, 12, "read the trend over k from label_kept, not prediction_kept."),
])
def test_saturation_sentence_says_every_only_when_it_is_every_cell(ceiling, one, expected):
    s = iv.saturation_sentence(ceiling, one, 12, 8)
    assert f"in {ceiling} of 12 cells" in s and f"1.00 in {one} of 12" in s
    assert expected in s
    assert ("every cell" in s) == (ceiling == one == 12)


def test_endpoint_sentence_names_every_layer_and_metric_with_its_interval():
    frame = pd.DataFrame({
        "name": ["fc1 PSNR", "fc2 PSNR", "fc1 SSIM", "fc2 SSIM"],
        "diff": [-8.144, 2.153, -0.004, 0.075], "lo": [-13.543, 1.238, -0.010, 0.041],
        "hi": [-2.745, 3.068, 0.002, 0.109], "verdict": ["W", "B", ND, "B"],
        "mde": [3.0, 1.0, 0.011, 0.03]})
    s = iv.endpoint_sentence(frame, ["fc1", "fc2"], worse="W", better="B")
    assert s == ("fc1: PSNR lower (-8.14 [-13.54, -2.75]), SSIM no detectable change "
                 "(-0.004 [-0.010, +0.002], MDE 0.011); fc2: PSNR higher (+2.15 [+1.24, +3.07]), "
                 "SSIM higher (+0.075 [+0.041, +0.109])")


def test_mask_key_and_pixel_key_label_the_figures():
    fig = plots.mask_key(plots.plot_masks({"fc1": torch.ones(4, 6), "fc2": torch.zeros(2, 4)}))
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["kept (mask = 1)",
                                                                 "pruned (mask = 0)"]
    assert fig.axes[0].get_ylabel() == "output unit (row)"
    assert all(ax.get_xlabel() == "input (column)" for ax in fig.axes[:2])
    plt.close(fig)
    fig, axes = plt.subplots(1, 2)
    for ax in axes:
        plots.show_image(ax, torch.zeros(1, 8, 8), value_range=(-1.0, 1.0))
    bar = plots.pixel_key(fig, axes, (-1.0, 1.0))
    assert bar.ax.get_ylabel() == "pixel value (-1 = black, 1 = white)"
    assert bar.mappable.get_clim() == (-1.0, 1.0)
    plt.close(fig)


def test_sparsity_view_figure_has_the_mask_key():
    m = build_model("mlp", input_shape=(1, 8, 8), num_classes=10, seed=0)
    out = widgets.sparsity_view(m, (torch.zeros(4, 1, 8, 8), torch.zeros(4).long()), density=0.3)
    assert out["figure"].legends, "the explorer's masks need their colour key"
    plt.close(out["figure"])


def test_bad_input_names_the_parameter():
    with pytest.raises(ParameterError, match="'frame' parameter of staircase_sentence.*'edges'"):
        iv.staircase_sentence(_stair("-", "-").drop("edges"), higher="h", lower="l")
    frame = pd.DataFrame({"name": ["fc1 PSNR"], "diff": [0.0], "lo": [0.0], "hi": [0.0],
                          "verdict": [ND], "mde": [1.0]})
    with pytest.raises(ParameterError, match="'frame' parameter of endpoint_sentence.*fc1 SSIM"):
        iv.endpoint_sentence(frame, ["fc1"], worse="W", better="B")
    with pytest.raises(ParameterError, match="'at_one' parameter of saturation_sentence.*13"):
        iv.saturation_sentence(12, 13, 12, 8)
