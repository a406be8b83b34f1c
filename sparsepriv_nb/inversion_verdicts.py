"""Tables and sentences that read model-inversion results: each number with its interval.

:mod:`sparsepriv_nb.inversion` computes the inversions, their quality and the trend over k;
this module turns those numbers into what a lesson prints, so that a cell shows the
comparison and not the string plumbing, and so that every sentence is computed from the
numbers it states (both halves of a two-part claim, "every" only when it is every cell).

Example:
    >>> import pandas as pd
    >>> recs = pd.DataFrame({"beta": [1.0] * 3 + [2.0] * 3,
    ...                      "psnr": [10.0, 11.0, 12.0, 12.0, 13.0, 14.0]})
    >>> interval_table(recs, "beta", ["psnr"], digits={"psnr": 2}).loc[2.0, "psnr"]
    '13.00 [10.52, 15.48]'

Lesson: notebook 04 (``04_model_inversion``), sections 4 to 9.
"""

from __future__ import annotations

import pandas as pd

from . import metrics
from ._checks import ParameterError, check_int
from .lesson import format_interval

__all__ = ["interval_table", "staircase_sentence", "saturation_sentence", "endpoint_sentence"]


def interval_table(records: pd.DataFrame, by: str, columns, *, digits=4) -> pd.DataFrame:
    """The mean of each column per group with its 95 % t-interval over the rows (the images),
    as ``"mean [lo, hi]"`` strings: one row per group, one column per metric.

    Args:
        records: one row per image and group.
        by: the grouping column (e.g. ``"beta"``).
        columns: the metrics shown, in this order.
        digits: decimals, one number for all or a dict metric -> decimals (default 4).

    Example:
        >>> recs = pd.DataFrame({"g": ["a"] * 2 + ["b"] * 2, "x": [0.1, 0.3, 0.5, 0.5]})
        >>> interval_table(recs, "g", ["x"], digits=2)["x"].tolist()
        ['0.20 [-1.07, 1.47]', '0.50 [0.50, 0.50]']
    """
    columns = list(columns)
    agg = metrics.aggregate_seeds(records, by, columns)
    places = digits if isinstance(digits, dict) else {}
    agg["value"] = [format_interval(r["mean"], r["lo"], r["hi"],
                                    digits=places.get(r["metric"], 4 if places else digits))
                    for _, r in agg.iterrows()]
    return agg.pivot(index=by, columns="metric", values="value")[columns].rename_axis(
        columns=None)


def _require(have, names, param: str, owner: str) -> None:
    """A :class:`ParameterError` naming the rows of ``param`` that ``owner`` needs and lacks."""
    missing = [n for n in names if n not in set(have)]
    if missing:
        raise ParameterError(f"The '{param}' parameter of {owner} must have the rows {names}. "
                             f"Missing {missing}; it has {list(have)}.")


def _part(row, more: str, less: str) -> str:
    """One half of a two-part claim: the estimate, its interval and what it says."""
    iv = format_interval(row["diff"], row["lo"], row["hi"], signed=True)
    if row["verdict"] == less:
        return f"{iv}: holds (beta = 1 has {-row['diff']:.3f} more)"
    if row["verdict"] == more:
        return f"{iv}: does not hold (beta = 2 has {row['diff']:.3f} more)"
    return f"{iv}: not detectable (this run could detect |Δ| ≥ {row['mde']:.3f})"


def staircase_sentence(frame: pd.DataFrame, *, higher: str, lower: str, caveat: str = "") -> str:
    """The staircasing expectation (beta = 1 gives more flat patches *and* more hard edges than
    beta = 2) read from a Holm family of differences beta = 2 minus beta = 1: both halves, each
    with its estimate and interval, and a conclusion computed from the two verdicts.

    Args:
        frame: a :class:`~sparsepriv_nb.families.Family` frame indexed by metric name, with rows
            ``"flat"`` and ``"edges"`` (``diff``, ``lo``, ``hi``, ``verdict``, ``mde``).
        higher, lower: the family's verdict words for beta = 2 higher / lower.
        caveat: a clause appended in parentheses before the final period (e.g. that the two
            priors' strengths are not matched).

    The words are "holds" / "does not hold": staircasing is a textbook expectation, not one of
    the seed papers' claims (which notebook 07 calls supported / contradicted).

    Example:
        >>> f = pd.DataFrame({"diff": [-0.265, 0.153], "lo": [-0.337, 0.063],
        ...                   "hi": [-0.194, 0.243], "verdict": ["lo", "hi"],
        ...                   "mde": [0.05, 0.08]}, index=["flat", "edges"])
        >>> print(staircase_sentence(f, higher="hi", lower="lo"))  # doctest: +NORMALIZE_WHITESPACE
        Staircasing (beta = 1 has more flat patches and more hard edges than beta = 2), beta = 2
        minus beta = 1: flat patches -0.265 [-0.337, -0.194]: holds (beta = 1 has 0.265
        more); hard edges +0.153 [+0.063, +0.243]: does not hold (beta = 2 has 0.153 more).
        So here beta = 1 makes more flat patches but not more hard edges: half of the
        expectation holds.
        >>> staircase_sentence(f, higher="hi", lower="lo", caveat="priors not matched")[-27:]
        'holds (priors not matched).'
    """
    _require(frame.index, ["flat", "edges"], "frame", "staircase_sentence")
    flat, edges = frame.loc["flat"], frame.loc["edges"]
    ok = {k: frame.loc[k, "verdict"] == lower for k in ("flat", "edges")}
    bad = {k: frame.loc[k, "verdict"] == higher for k in ("flat", "edges")}
    if all(ok.values()):
        end = "beta = 1 staircases here: both halves of the expectation hold."
    elif all(bad.values()):
        end = "the expectation does not hold here: beta = 2 has more of both."
    elif ok["flat"] or ok["edges"]:
        yes, no = ("flat patches", "hard edges") if ok["flat"] else ("hard edges", "flat patches")
        end = (f"here beta = 1 makes more {yes} but not more {no}: "
               + ("half of the expectation holds." if bad["flat"] or bad["edges"]
                  else f"the {no} half is not resolved at this power."))
    else:
        end = "neither half is detectable at this power."
    return ("Staircasing (beta = 1 has more flat patches and more hard edges than beta = 2), "
            f"beta = 2 minus beta = 1: flat patches {_part(flat, higher, lower)}; hard edges "
            f"{_part(edges, higher, lower)}. So {end[:-1]}" + (f" ({caveat})." if caveat else "."))


def saturation_sentence(at_ceiling: int, at_one: int, n_cells: int, n_images: int) -> str:
    """Whether ``label_kept`` and ``prediction_kept`` can show a trend: how many (layer, k)
    cells sit at their ceiling, and "every" only when it is every cell.

    Args:
        at_ceiling: cells where ``label_kept`` equals the model's accuracy on the originals.
        at_one: cells where ``prediction_kept`` is 1.
        n_cells: the number of (layer, k) cells.
        n_images: the images per cell (each metric moves in steps of ``1 / n_images``).

    Example:
        >>> saturation_sentence(12, 12, 12, 8)[-87:]
        'survives inversion in every cell, and PSNR / SSIM carry the comparison of layers and k.'
        >>> saturation_sentence(9, 3, 12, 8)[-67:]
        'is not: read the trend over k from prediction_kept, not label_kept.'
    """
    n_cells = check_int(n_cells, "n_cells", "saturation_sentence", 1)
    check_int(n_images, "n_images", "saturation_sentence", 1)
    for name, value in (("at_ceiling", at_ceiling), ("at_one", at_one)):
        check_int(value, name, "saturation_sentence", 0, n_cells)
    head = (f"Saturation: label_kept is at its ceiling (the model's accuracy on the originals) in "
            f"{at_ceiling} of {n_cells} cells and prediction_kept is 1.00 in {at_one} of "
            f"{n_cells}; each moves in steps of 1/{n_images}. ")
    full = {"label_kept": at_ceiling > n_cells / 2, "prediction_kept": at_one > n_cells / 2}
    if at_ceiling == at_one == n_cells:
        return head + ("Both are saturated in every cell, so they cannot show a trend over k "
                       "here: the model's prediction survives inversion in every cell, and PSNR / "
                       "SSIM carry the comparison of layers and k.")
    if all(full.values()):
        return head + ("Both are saturated in most cells, so they can hardly show a trend over k "
                       "here: PSNR / SSIM carry the comparison of layers and k.")
    if not any(full.values()):
        return head + ("Both are below their ceilings in most cells, so they can show a trend "
                       "over k.")
    sat = next(k for k, v in full.items() if v)
    free = next(k for k, v in full.items() if not v)
    return head + (f"{sat} is saturated in most cells, {free} is not: read the trend over k from "
                   f"{free}, not {sat}.")


def endpoint_sentence(frame: pd.DataFrame, layers, *, worse: str, better: str) -> str:
    """Per layer, what the endpoint comparison (sparsest minus dense, paired over images, Holm)
    found for PSNR and for SSIM, each with its interval (a null with its MDE).

    Args:
        frame: a :class:`~sparsepriv_nb.families.Family` frame with rows named
            ``"<layer> PSNR"`` and ``"<layer> SSIM"``.
        layers: the layers, in order.
        worse, better: the family's verdict words.

    Example:
        >>> f = pd.DataFrame({"name": ["fc3 PSNR", "fc3 SSIM"], "diff": [-0.199, -0.126],
        ...                   "lo": [-0.773, -0.190], "hi": [0.374, -0.063],
        ...                   "verdict": [metrics.NO_DIFFERENCE, "w"], "mde": [1.099, 0.05]})
        >>> print(endpoint_sentence(f, ["fc3"], worse="w", better="b"))
        ... # doctest: +NORMALIZE_WHITESPACE
        fc3: PSNR no detectable change (-0.20 [-0.77, +0.37], MDE 1.10),
        SSIM lower (-0.126 [-0.190, -0.063])
    """
    by_name = frame.set_index("name")
    _require(by_name.index, [f"{lay} {m}" for lay in layers for m in ("PSNR", "SSIM")], "frame",
             "endpoint_sentence")
    parts = []
    for layer in layers:
        said = []
        for metric, digits in (("PSNR", 2), ("SSIM", 3)):
            r = by_name.loc[f"{layer} {metric}"]
            iv = format_interval(r["diff"], r["lo"], r["hi"], digits=digits, signed=True)
            word = {worse: "lower", better: "higher"}.get(r["verdict"])
            said.append(f"{metric} {word} ({iv})" if word else
                        f"{metric} no detectable change ({iv}, MDE {r['mde']:.{digits}f})")
        parts.append(f"{layer}: {', '.join(said)}")
    return "; ".join(parts)
