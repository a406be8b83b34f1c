"""holm_verdicts on t-intervals: the ``df`` argument (review item 8)."""

import numpy as np
import pytest
from scipy import stats

from sparsepriv_nb import families
from sparsepriv_nb._checks import ParameterError


def _t_interval(values):
    values = np.asarray(values, float)
    n = len(values)
    se = values.std(ddof=1) / np.sqrt(n)
    half = stats.t.ppf(0.975, n - 1) * se
    return {"diff": values.mean(), "lo": values.mean() - half, "hi": values.mean() + half}


def test_df_gives_the_t_test_p_value_of_a_t_interval():
    values = [0.9, 1.3, 0.8, 1.6, 1.1, 1.4, 0.7, 1.2]  # eight images
    row = families.holm_verdicts([_t_interval(values)], df=len(values) - 1).frame.iloc[0]
    assert row.p == pytest.approx(stats.ttest_1samp(values, 0).pvalue, rel=1e-9)
    normal = families.holm_verdicts([_t_interval(values)]).frame.iloc[0]
    assert normal.p < row.p / 10  # the z-reading of a t-interval overstates the evidence


def test_df_can_flip_a_borderline_holm_verdict():
    rows = [{"name": str(i), "diff": 1.0, "lo": 0.5, "hi": 1.5} for i in range(4)]
    with_t = families.holm_verdicts(rows, df=2)  # 3 seeds
    assert with_t.n_detected == 0 and (with_t.frame.p_holm > 0.05).all()
    assert with_t.frame.p.iloc[0] == pytest.approx(2 * stats.t.sf(1.0 / (0.5 / stats.t.ppf(
        0.975, 2)), 2))
    assert families.holm_verdicts(rows).n_detected == 4  # the normal reading detects all 4
    # per comparison: None is normal
    mixed = families.holm_verdicts(rows, df=[2, None, 2, 2]).frame
    assert mixed.p.iloc[1] < mixed.p.iloc[0]
    # the MDE uses t quantiles too, at the first Holm step alpha / 4
    se = 0.5 / stats.t.ppf(0.975, 2)
    assert with_t.frame.mde.iloc[0] == pytest.approx(
        (stats.t.ppf(1 - 0.05 / 8, 2) + stats.t.ppf(0.8, 2)) * se)


@pytest.mark.parametrize("bad", [0, -1, "7", [2, 2], True])
def test_bad_df_is_named(bad):
    with pytest.raises(ParameterError, match="'df' parameter of holm_verdicts"):
        families.holm_verdicts([{"diff": 1.0, "lo": 0.5, "hi": 1.5}] * 3, df=bad)
