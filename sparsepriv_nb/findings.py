"""What a run found about each seed paper's claim, written by notebooks 02-06 and read by
notebook 07 (issue 18, "Notebook 07: what we found").

Every claim the sequence tests has an entry in :data:`CLAIMS` (its paper, the claim as prose,
the notebook that tests it). A notebook that has computed the statistic answering a claim calls
:func:`record` once with the estimate, its interval, the minimum detectable difference (MDE) of
that comparison and the verdict; the record is a small JSON file under the cache
(``<cache>/findings/<profile>/<claim>.json``, written atomically). Notebook 07 calls
:func:`load`, which raises :class:`FindingsMissing` naming the notebook to run first when a
claim has no record.

Verdict words (:data:`VERDICTS`), one per claim:

* ``supported``: the interval excludes "no effect" on the side the paper claims (for a claim of
  *no* difference: the interval lies inside the equivalence margin);
* ``contradicted``: the interval excludes "no effect" on the other side (for a claim of no
  difference: it excludes zero);
* ``not detectable at this power``: neither; the record's MDE says how large an effect the run
  could have seen.

:func:`directional_verdict` and :func:`equivalence_verdict` compute them from the numbers.

The profile a record belongs to is ``$SPARSEPRIV_PROFILE`` (``sparsepriv-nb run`` sets it to
the profile it runs), else ``"quick"``.

Example:
    >>> import tempfile
    >>> root = tempfile.mkdtemp()
    >>> v = directional_verdict(0.04, 0.01, 0.07, sign=+1)
    >>> v
    'supported'
    >>> _ = record("yuan_zhang_attack", estimate=0.04, lo=0.01, hi=0.07, mde=0.023,
    ...            verdict=v, statistic="LiRA AUC, sparse - dense", root=root)
    >>> load(claims=["yuan_zhang_attack"], root=root)[["claim", "verdict"]].values.tolist()
    [['yuan_zhang_attack', 'supported']]

Lesson: notebook 07 (``07_what_we_found``); notebooks 02-06 record their findings with it.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ._checks import InstanceOf, ParameterError, check_choice, validate_params
from .cache import atomic_write_bytes

__all__ = ["Claim", "CLAIMS", "VERDICTS", "FindingsMissing", "record", "load",
           "directional_verdict", "equivalence_verdict", "current_profile", "findings_dir"]

VERDICTS = ("supported", "contradicted", "not detectable at this power")


@dataclass(frozen=True)
class Claim:
    """One seed paper's claim: who made it, what it says, and which notebook tests it."""

    id: str
    paper: str
    claim: str
    notebook: str


CLAIMS: dict[str, Claim] = {c.id: c for c in [
    Claim("gonon_density_error", "Gonon et al. 2023",
          "Sparser networks are less accurate: test error rises as density falls.",
          "03_confounding_by_accuracy"),
    Claim("gonon_density_attack", "Gonon et al. 2023",
          "Sparser networks are less vulnerable: membership-inference success falls as density "
          "falls.", "03_confounding_by_accuracy"),
    Claim("gonon_accuracy_control", "Gonon et al. 2023",
          "Much of that privacy gain is an accuracy loss: the association of density with "
          "attack success shrinks once test accuracy is controlled for.",
          "03_confounding_by_accuracy"),
    Claim("yuan_zhang_gap", "Yuan & Zhang 2022",
          "Pruning widens the gap between members' and non-members' confidence.",
          "02_membership_inference"),
    Claim("yuan_zhang_attack", "Yuan & Zhang 2022",
          "Pruned networks are more vulnerable to membership inference than the dense network.",
          "02_membership_inference"),
    Claim("yuan_zhang_ppb", "Yuan & Zhang 2022",
          "Pair-based posterior balancing (PPB) narrows the gaps and lowers attack success at a "
          "small cost in accuracy.", "05_ppb_defense"),
    Claim("huang_inversion", "Huang et al. 2020",
          "Inverting a pruned network's hidden layers recovers its inputs worse as fewer weights "
          "are kept (k falls).", "04_model_inversion"),
    Claim("adamczewski_random_vs_magnitude", "Adamczewski & Park 2023",
          "Under DP-SGD, a random public mask does about as well as a magnitude mask.",
          "06_dp_sgd_and_pruning"),
    Claim("bagmar_ticket", "Bagmar et al. 2021",
          "Lottery tickets are as vulnerable to membership inference as the dense network.",
          "02_membership_inference"),
]}


class FindingsMissing(LookupError):
    """A claim has no recorded finding: the message names the notebook to run first."""


def current_profile() -> str:
    """``$SPARSEPRIV_PROFILE`` if set (``sparsepriv-nb run`` sets it), else ``"quick"``."""
    return os.environ.get("SPARSEPRIV_PROFILE") or "quick"


def findings_dir(*, root=None, profile: str | None = None) -> Path:
    """The folder holding one profile's records (``<root>/findings/<profile>``).

    ``root`` defaults to the default cache's folder (``data/cache`` or
    ``$SPARSEPRIV_DATA/cache``).
    """
    if root is None:
        from .experiments import default_cache

        root = default_cache().root
    profile = current_profile() if profile is None else profile
    plain = InstanceOf(str, "a plain name such as 'quick'",
                       lambda p: p.replace("-", "").replace("_", "").isalnum())
    validate_params({"profile": profile}, {"profile": [plain]}, "findings_dir")
    return Path(root) / "findings" / profile


def _check_sign(sign) -> int:
    if sign not in (1, -1) or isinstance(sign, bool):
        raise ParameterError(f"The 'sign' parameter must be +1 or -1 (the direction the paper "
                             f"claims). Got {sign!r} instead.")
    return int(sign)


def directional_verdict(estimate: float, lo: float, hi: float, *, sign: int) -> str:
    """The verdict on a claim that the effect has sign ``sign`` (+1: positive, -1: negative).

    Example:
        >>> directional_verdict(-0.03, -0.05, -0.01, sign=+1)
        'contradicted'
        >>> directional_verdict(0.01, -0.02, 0.04, sign=+1)
        'not detectable at this power'
    """
    sign = _check_sign(sign)
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return VERDICTS[2]
    if min(sign * lo, sign * hi) > 0:
        return VERDICTS[0]
    if max(sign * lo, sign * hi) < 0:
        return VERDICTS[1]
    return VERDICTS[2]


def equivalence_verdict(lo: float, hi: float, *, margin: float) -> str:
    """The verdict on a claim of *no* difference, with equivalence margin ``margin``.

    ``supported`` when the whole interval lies in ``[-margin, margin]``; ``contradicted`` when
    it excludes zero; else ``not detectable at this power``.

    Example:
        >>> equivalence_verdict(-0.01, 0.015, margin=0.02)
        'supported'
        >>> equivalence_verdict(0.01, 0.05, margin=0.02)
        'contradicted'
    """
    if not (isinstance(margin, (int, float)) and margin > 0):
        raise ParameterError(f"The 'margin' parameter of equivalence_verdict must be a "
                             f"positive number. Got {margin!r} instead.")
    if lo > 0 or hi < 0:
        return VERDICTS[1]
    if -margin <= lo and hi <= margin:
        return VERDICTS[0]
    return VERDICTS[2]


def _number(name: str, value, owner: str) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise ParameterError(f"The '{name}' parameter of {owner} must be a number. Got "
                             f"{value!r} instead.") from None
    return out


def record(claim: str, *, estimate, lo, hi, mde, verdict: str, statistic: str,
           detail: str = "", params: dict | None = None, root=None,
           profile: str | None = None) -> Path:
    """Write one claim's finding for notebook 07 and return the file.

    Args:
        claim: a key of :data:`CLAIMS`.
        estimate, lo, hi: the statistic and its interval (NaN allowed where none exists).
        mde: the minimum detectable difference of this comparison at the run's sizes (NaN if
            not computable).
        verdict: one of :data:`VERDICTS`.
        statistic: what the estimate is, in words ("LiRA AUC, sparse - dense").
        detail: one computed sentence to show beside the verdict.
        params: the notebook's parameters (stored for provenance; JSON-serialisable).
        root: the cache folder (default: the default cache's).
        profile: the profile (default :func:`current_profile`).

    Raises:
        ParameterError: an unknown claim or verdict, or a non-numeric estimate.
    """
    check_choice(claim, tuple(CLAIMS), "claim", "record")
    check_choice(verdict, VERDICTS, "verdict", "record")
    nums = {k: _number(k, v, "record") for k, v in
            {"estimate": estimate, "lo": lo, "hi": hi, "mde": mde}.items()}
    info = CLAIMS[claim]
    entry = {"claim": claim, "paper": info.paper, "claim_text": info.claim,
             "notebook": info.notebook, "statistic": str(statistic), **nums,
             "verdict": verdict, "detail": str(detail),
             "params": json.loads(json.dumps(params or {}, default=str)),
             "profile": current_profile() if profile is None else profile,
             "written": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")}
    path = findings_dir(root=root, profile=profile) / f"{claim}.json"
    atomic_write_bytes(path, json.dumps(entry, indent=1, allow_nan=True).encode())
    return path


def load(*, claims=None, root=None, profile: str | None = None,
         missing: str = "raise") -> pd.DataFrame:
    """The recorded findings, one row per claim, in :data:`CLAIMS` order.

    Args:
        claims: the claim ids to load (default: all of :data:`CLAIMS`).
        root, profile: as in :func:`record`.
        missing: ``"raise"`` (default) raises :class:`FindingsMissing` naming the notebooks to
            run first; ``"skip"`` leaves the row out.

    Raises:
        FindingsMissing: a claim has no readable record and ``missing="raise"``.
    """
    check_choice(missing, ("raise", "skip"), "missing", "load")
    ids = list(CLAIMS) if claims is None else list(claims)
    for c in ids:
        check_choice(c, tuple(CLAIMS), "claims", "load")
    folder = findings_dir(root=root, profile=profile)
    rows, absent = [], []
    for c in ids:
        try:
            rows.append(json.loads((folder / f"{c}.json").read_text()))
        except (OSError, ValueError):
            absent.append(c)
    if absent and missing == "raise":
        books = sorted({CLAIMS[c].notebook for c in absent})
        raise FindingsMissing(
            f"No finding recorded for {', '.join(absent)} (profile "
            f"{folder.name!r}, folder {folder}). Run {', '.join(books)} first with the same "
            f"profile, e.g. `sparsepriv-nb run --profile {folder.name} --only "
            f"{','.join(b[:2] for b in books)}`.")
    return pd.DataFrame(rows, columns=["claim", "paper", "claim_text", "notebook", "statistic",
                                       "estimate", "lo", "hi", "mde", "verdict", "detail",
                                       "params", "profile", "written"])
