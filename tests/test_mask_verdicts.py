"""The sentences of notebook 06's public-mask comparisons follow the numbers."""

from __future__ import annotations

import pandas as pd
import pytest

from sparsepriv_nb import mask_verdicts as mv
from sparsepriv_nb import metrics
from sparsepriv_nb._checks import ParameterError

ND = metrics.NO_DIFFERENCE


@pytest.mark.parametrize("diff, lo, hi, start", [
    (0.004, -0.01, 0.02, "a and b are on par"),
    (-0.054, -0.088, -0.021, "a was detectably less accurate than b (-0.054"),
    (0.054, 0.021, 0.088, "a was detectably more accurate than b (+0.054"),
    (-0.06, -0.08, -0.04, "a was detectably less accurate than b, by more than the 0.03 margin"),
    (0.01, -0.04, 0.05, "no detectable difference between a and b"),
    (0.0, -0.031, 0.031, "no detectable difference between a and b"),  # just past the margin
])
def test_equivalence_reading_cases(diff, lo, hi, start):
    text = mv.equivalence_reading(diff, lo, hi, margin=0.03, a="a", b="b")
    assert text.startswith(start)
    unresolved = "neither shown nor excluded" in text
    assert unresolved == (start.endswith(("(-0.054", "(+0.054")) or "no detectable" in start)


def test_equivalence_reading_bad_input():
    with pytest.raises(ParameterError, match="'margin' parameter of equivalence_reading"):
        mv.equivalence_reading(0.0, -0.1, 0.1, margin=0, a="a", b="b")
    with pytest.raises(ParameterError, match="lo <= hi"):
        mv.equivalence_reading(0.0, 0.1, -0.1, margin=0.03, a="a", b="b")


def test_equivalence_sample_size_uses_the_half_width():
    # |diff| beyond the margin: no n at this estimate; at 0: n (half / m)^2
    text = mv.equivalence_sample_size(-0.054, -0.088, -0.021, margin=0.03, n=821)
    assert "no test set can show equivalence" in text
    assert f"about {-(-821 * 0.0335 ** 2 // 0.03 ** 2):.0f} test examples" in text
    # inside the margin: n (half / (m - |diff|))^2 = 100 * (0.03 / 0.02)^2 = 225
    assert "at this estimate about 225 test examples" in mv.equivalence_sample_size(
        0.01, -0.02, 0.04, margin=0.03, n=100)
    assert "(enough)" in mv.equivalence_sample_size(0.0, -0.01, 0.01, margin=0.03, n=100)
    with pytest.raises(ParameterError, match="'n' parameter of equivalence_sample_size"):
        mv.equivalence_sample_size(0.0, -0.01, 0.01, margin=0.03, n=0)


FRAME = pd.DataFrame({
    "name": ["r - m", "f - dense", "g - dense", "h - dense", "f - public"],
    "diff": [-0.05, 0.07, -0.08, 0.01, -0.1], "lo": [-0.09, 0.04, -0.12, -0.02, -0.15],
    "hi": [-0.02, 0.10, -0.05, 0.04, -0.05], "mde": [0.04] * 5,
    "verdict": ["lower", "higher", "lower", ND, "lower"],
    "sentence": ["x", "y", "z", "no detectable difference; this run could detect |Δ| ≥ 0.04",
                 "w"]})


def test_effect_sentence_is_sign_aware_and_lists_nulls():
    text = mv.effect_sentence(FRAME, "dense", baseline_words="dense DP-SGD")
    assert text.startswith("Verdict: f was detectably more accurate than dense DP-SGD "
                           "(+0.070 [+0.040, +0.100]); g was detectably less accurate "
                           "(-0.080 [-0.120, -0.050]); h: no detectable difference "
                           "(+0.010 [-0.020, +0.040]; this run could detect |Δ| >= 0.040)")
    assert "public" not in text and "r was" not in text and "r:" not in text
    with pytest.raises(ParameterError, match="'baseline' parameter of effect_sentence"):
        mv.effect_sentence(FRAME, "nothing", baseline_words="x")
    with pytest.raises(ParameterError, match="Missing \\['verdict'\\]"):
        mv.effect_sentence(FRAME.drop(columns="verdict"), "dense", baseline_words="x")


def test_versus_and_null_with_estimate():
    assert mv.versus(FRAME, "dense") == {"f": [0.07, 0.04, 0.10], "g": [-0.08, -0.12, -0.05],
                                         "h": [0.01, -0.02, 0.04]}
    rows = FRAME.set_index("name")
    assert mv.null_with_estimate(rows.loc["h - dense"]).startswith("+0.010 [-0.020, +0.040]: no")
    assert mv.null_with_estimate(rows.loc["f - dense"]) == "y"  # a detection keeps its sentence


def test_best_versus_picks_the_most_accurate_variant_and_shows_its_null_estimate():
    # h is the most accurate of f, g, h: its row is a null, so its estimate comes first
    text = mv.best_versus(FRAME, {"f": 0.60, "g": 0.50, "h": 0.65, "other": 0.99}, "dense")
    assert text == ("the most accurate, h (0.650), minus dense: +0.010 [-0.020, +0.040]: no "
                    "detectable difference; this run could detect |Δ| ≥ 0.04")
    # f is the most accurate here: a detection keeps its Holm sentence
    assert mv.best_versus(FRAME, {"f": 0.70, "g": 0.50, "h": 0.65}, "dense").endswith(": y")
    with pytest.raises(ParameterError, match="'accuracy' parameter of best_versus"):
        mv.best_versus(FRAME, {"zzz": 0.5}, "dense")
