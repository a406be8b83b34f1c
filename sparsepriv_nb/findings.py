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
  difference: the whole interval lies outside the margin, ``lo > margin`` or ``hi < -margin``);
* ``not detectable at this power``: neither; the record's MDE says how large an effect the run
  could have seen.

:func:`directional_verdict` and :func:`equivalence_verdict` compute them from the numbers;
:func:`table`, :func:`answer`, :func:`to_markdown` and :func:`forest_plot` (from
:mod:`sparsepriv_nb.findings_summary`) add them up for notebook 07.

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

__all__ = ["Claim", "CLAIMS", "VERDICTS", "NO_RECORD", "FindingsMissing", "record", "load",
           "directional_verdict", "equivalence_verdict", "current_profile", "findings_dir",
           "claim_prose", "missing_message",
           "equivalence_needs"]  # + table, answer, ... (findings_summary, below)

VERDICTS = ("supported", "contradicted", "not detectable at this power")
NO_RECORD = "no record"  # the verdict column of :func:`table` for a claim nobody recorded yet


@dataclass(frozen=True)
class Claim:
    """One seed paper's claim: who made it, what it says, and which notebook tests it.

    Attributes:
        id: the key of :data:`CLAIMS` (``record`` and ``load`` use it).
        paper: authors and year.
        claim: the claim in one sentence, in this project's words (a paraphrase).
        notebook: the notebook that records it.
        quote: the paper's own words where the seed text (``shared/seeds/*.txt``) has them,
            else ``""``.
        where: the part of the paper the quote comes from ("abstract", "Figure 1").
        privacy: what a *supported* verdict says about sparsity and privacy: ``"more"``
            (sparser is more private), ``"less"``, ``"same"`` (no difference), or ``""``
            (the claim is about accuracy, a defense or DP training, not sparsity's effect).
        attack: the attack the privacy is measured with (``"membership inference"``,
            ``"model inversion"``), ``""`` when ``privacy`` is ``""``.
    """

    id: str
    paper: str
    claim: str
    notebook: str
    quote: str = ""
    where: str = ""
    privacy: str = ""
    attack: str = ""


_MIA, _INV = "membership inference", "model inversion"
_GONON_A = ("The experiments show positive correlations between the sparsity of the model, "
            "its privacy, and its classification error.")
CLAIMS: dict[str, Claim] = {c.id: c for c in [
    Claim("gonon_density_error", "Gonon et al. 2023",
          "Sparser networks are less accurate: test error rises as density falls.",
          "03_confounding_by_accuracy", _GONON_A, "abstract"),
    Claim("gonon_density_attack", "Gonon et al. 2023",
          "Sparser networks are less vulnerable: membership-inference success falls as density "
          "falls.", "03_confounding_by_accuracy", _GONON_A, "abstract", "more", _MIA),
    Claim("gonon_accuracy_control", "Gonon et al. 2023",
          "Much of that privacy gain is an accuracy loss: the association of density with "
          "attack success shrinks once test accuracy is controlled for.",
          "03_confounding_by_accuracy",
          "Simply comparing the privacy of two models with different sparsity levels can yield "
          "misleading conclusions on the role of sparsity, because of the additional "
          "correlation with the classification error.", "abstract"),
    Claim("yuan_zhang_gap", "Yuan & Zhang 2022",
          "Pruning widens the gap between members' and non-members' confidence.",
          "02_membership_inference",
          "neural network pruning makes the distances between the two vertical lines in the "
          "pruned model larger than that in the original model, which indicates a larger "
          "confidence gap and sensitivity gap between members and non-members due to pruning.",
          "Figure 1", "less", _MIA),
    Claim("yuan_zhang_attack", "Yuan & Zhang 2022",
          "Pruned networks are more vulnerable to membership inference than the dense network.",
          "02_membership_inference",
          "we demonstrated the substantially increased privacy risks of the pruned models.",
          "conclusion", "less", _MIA),
    Claim("yuan_zhang_ppb", "Yuan & Zhang 2022",
          "Pair-based posterior balancing (PPB) narrows the gaps and lowers attack success at a "
          "small cost in accuracy.", "05_ppb_defense",
          "Experimental results demonstrate the effectiveness of the PPB mechanism, which "
          "significantly mitigates the privacy risks while maintaining the sparsity and accuracy "
          "of the pruned model.", "introduction"),
    Claim("huang_inversion", "Huang et al. 2020",
          "Inverting a pruned network's hidden layers recovers its inputs worse as fewer weights "
          "are kept (k falls).", "04_model_inversion",
          "neural network pruning makes the inversion from hidden-layers harder, as the "
          "percentage of remained weight decreases", "introduction", "more", _INV),
    Claim("adamczewski_random_vs_magnitude", "Adamczewski & Park 2023",
          "Under DP-SGD, a random public mask does about as well as a magnitude mask.",
          "06_dp_sgd_and_pruning",
          "we show that random selection performs on par with magnitude-based selection when it "
          "comes to DP-SGD training.", "abstract"),
    Claim("bagmar_ticket", "Bagmar et al. 2021",
          "Lottery tickets are as vulnerable to membership inference as the dense network.",
          "02_membership_inference",
          "we show that the lottery ticket networks are equally vulnerable to membership "
          "inference attacks as the original dense networks.", "introduction", "same", _MIA),
]}


def claim_prose(claim: str) -> str:
    """The claim as the paper put it: its quoted words where the seed text has them, else this
    project's paraphrase, marked as such.

    Example:
        >>> claim_prose("bagmar_ticket")[:40]
        '"we show that the lottery ticket network'
    """
    check_choice(claim, tuple(CLAIMS), "claim", "claim_prose")
    c = CLAIMS[claim]
    if c.quote:
        tested = c.claim[0].lower() + c.claim[1:].rstrip(".")
        return f'"{c.quote}" ({c.paper}, {c.where}; tested here: {tested})'
    return f"Paraphrase: {c.claim} ({c.paper})"


class FindingsMissing(LookupError):
    """A claim has no recorded finding: the message names the notebook to run first."""


def current_profile() -> str:
    """``$SPARSEPRIV_PROFILE`` if set (``sparsepriv-nb run`` sets it), else ``"quick"``."""
    return os.environ.get("SPARSEPRIV_PROFILE") or "quick"


def findings_dir(*, root=None, profile: str | None = None) -> Path:
    """The folder holding one profile's records (``<root>/findings/<profile>``).

    ``root`` defaults to the default cache's folder (``data/cache`` or
    ``$SPARSEPRIV_DATA/cache``); ``profile`` to :func:`current_profile`.

    Raises:
        ParameterError: a profile that is not a plain name (it becomes a folder name).
    """
    if root is None:
        from .data import default_root

        root = default_root() / "cache"  # the default cache's folder (experiments.default_cache)
    profile = current_profile() if profile is None else profile
    plain = InstanceOf(str, "a plain name such as 'quick'",
                       lambda p: bool(p) and p.replace("-", "").replace("_", "").isalnum())
    validate_params({"profile": profile}, {"profile": [plain]}, "findings_dir")
    return Path(root) / "findings" / profile


def _check_sign(sign) -> int:
    if isinstance(sign, bool) or sign not in (1, -1):
        raise ParameterError(f"The 'sign' parameter must be +1 or -1 (the direction the paper "
                             f"claims). Got {sign!r} instead.")
    return int(sign)


def _number(name: str, value, owner: str) -> float:
    if isinstance(value, bool):
        value = None  # True is not a number here
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ParameterError(f"The '{name}' parameter of {owner} must be a number (NaN where "
                             f"none exists). Got {value!r} instead.") from None


def _interval(lo, hi, owner: str) -> tuple[float, float]:
    lo, hi = _number("lo", lo, owner), _number("hi", hi, owner)
    if lo > hi:
        raise ParameterError(f"The interval of {owner} must have lo <= hi. Got lo={lo!r}, "
                             f"hi={hi!r} instead.")
    return lo, hi


def directional_verdict(estimate: float, lo: float, hi: float, *, sign: int) -> str:
    """The verdict on a claim that the effect has sign ``sign`` (+1: positive, -1: negative).

    ``supported`` when the whole interval lies strictly on the claimed side of zero,
    ``contradicted`` when it lies strictly on the other side, else (zero inside or on the
    interval, or no interval) ``not detectable at this power``.

    Example:
        >>> directional_verdict(-0.03, -0.05, -0.01, sign=+1)
        'contradicted'
        >>> directional_verdict(0.01, -0.02, 0.04, sign=+1)
        'not detectable at this power'
    """
    sign = _check_sign(sign)
    _number("estimate", estimate, "directional_verdict")
    lo, hi = _interval(lo, hi, "directional_verdict")
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
    the whole interval lies outside it (``lo > margin`` or ``hi < -margin``: every difference
    the interval allows is larger than the margin); else ``not detectable at this power`` (the
    interval reaches past the margin but still holds differences inside it: excluding zero is
    not enough to contradict "on par within the margin").

    Example:
        >>> equivalence_verdict(-0.01, 0.015, margin=0.02)
        'supported'
        >>> equivalence_verdict(0.03, 0.05, margin=0.02)
        'contradicted'
        >>> equivalence_verdict(0.01, 0.05, margin=0.02)  # excludes 0, not the margin
        'not detectable at this power'
    """
    margin = _number("margin", margin, "equivalence_verdict")
    if not margin > 0 or not math.isfinite(margin):
        raise ParameterError(f"The 'margin' parameter of equivalence_verdict must be a "
                             f"positive number. Got {margin!r} instead.")
    lo, hi = _interval(lo, hi, "equivalence_verdict")
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return VERDICTS[2]
    if lo > margin or hi < -margin:
        return VERDICTS[1]
    if -margin <= lo and hi <= margin:
        return VERDICTS[0]
    return VERDICTS[2]


def equivalence_needs(estimate: float, lo: float, hi: float, *, margin: float,
                      unit: str = "members") -> dict:
    """What showing equivalence within ``±margin`` would take: a 95 % interval inside the
    margin, i.e. a half-width below ``margin - |estimate|`` (the MDE of a difference test
    answers another question).

    The half-width is ``(hi - lo) / 2`` and shrinks as ``1/sqrt(n)``, so ``(half / needed)²``
    times the samples would reach the needed half-width if the estimate stayed where it is;
    at a true difference of 0 the interval only has to fit inside ``±margin``, which takes
    ``(half / margin)²`` times the samples.

    Args:
        estimate, lo, hi: the difference and its 95 % interval.
        margin: the equivalence margin (> 0).
        unit: what the sample count counts, for the sentence.

    Returns:
        ``{"half", "needed", "factor", "factor_at_zero", "sentence"}``; ``needed <= 0`` (the
        estimate already beyond the margin) gives ``factor = inf``.

    Example:
        >>> r = equivalence_needs(0.017, -0.007, 0.041, margin=0.02)
        >>> round(r["half"], 3), round(r["needed"], 3), round(r["factor"])
        (0.024, 0.003, 64)
        >>> round(r["factor_at_zero"], 2)
        1.44
        >>> equivalence_needs(0.03, 0.01, 0.05, margin=0.02)["factor"]
        inf
    """
    margin = _number("margin", margin, "equivalence_needs")
    if not margin > 0 or not math.isfinite(margin):
        raise ParameterError(f"The 'margin' parameter of equivalence_needs must be a positive "
                             f"number. Got {margin!r} instead.")
    estimate = _number("estimate", estimate, "equivalence_needs")
    lo, hi = _interval(lo, hi, "equivalence_needs")
    half, needed = (hi - lo) / 2, margin - abs(estimate)
    factor = (half / needed) ** 2 if needed > 0 else math.inf
    at_zero = (half / margin) ** 2
    zero = (f"at a true difference of 0 the half-width need only be below {margin:g}: " + (
        f"about {at_zero:.1f}x the {unit} would reach it" if at_zero > 1
        else f"this run's {unit} suffice"))
    if needed <= 0:
        here = (f"the estimate |{estimate:+.3f}| is already beyond the margin {margin:g}, so no "
                f"interval around it can lie inside ±{margin:g} (this run's half-width {half:.3f})")
    else:
        here = (f"equivalence within ±{margin:g} needs a 95 % half-width below {margin:g} - "
                f"|{estimate:+.3f}| = {needed:.3f}; this run's is {half:.3f}" + (
                    "" if factor <= 1
                    else f": at this estimate about {factor:.0f}x the {unit} would reach it"))
    return {"half": half, "needed": needed, "factor": factor, "factor_at_zero": at_zero,
            "sentence": f"{here}; {zero} (half-width ~ 1/sqrt(n))"}


def record(claim: str, *, estimate, lo, hi, mde, verdict: str, statistic: str,
           detail: str = "", params: dict | None = None, root=None,
           profile: str | None = None) -> Path:
    """Write one claim's finding for notebook 07 and return the file.

    The file is replaced atomically (a reader never sees half a record; a crash leaves the old
    one). Recording a claim again overwrites it: the cache holds the latest run's finding.

    Args:
        claim: a key of :data:`CLAIMS`.
        estimate, lo, hi: the statistic and its interval (NaN allowed where none exists).
        mde: the minimum detectable difference of this comparison at the run's sizes (NaN if
            not computable), >= 0.
        verdict: one of :data:`VERDICTS`.
        statistic: what the estimate is, in words ("LiRA AUC, sparse - dense").
        detail: one computed sentence to show beside the verdict.
        params: the notebook's parameters (stored for provenance; JSON-serialisable).
        root: the cache folder (default: the default cache's).
        profile: the profile (default :func:`current_profile`).

    Raises:
        ParameterError: an unknown claim or verdict, a non-numeric number, lo > hi, a negative
            MDE or an empty statistic.
    """
    check_choice(claim, tuple(CLAIMS), "claim", "record")
    check_choice(verdict, VERDICTS, "verdict", "record")
    nums = {"estimate": _number("estimate", estimate, "record"), "mde": _number("mde", mde,
                                                                                "record")}
    nums["lo"], nums["hi"] = _interval(lo, hi, "record")
    if nums["mde"] < 0:
        raise ParameterError(f"The 'mde' parameter of record must be >= 0 (or NaN). Got "
                             f"{mde!r} instead.")
    if not str(statistic).strip():
        raise ParameterError("The 'statistic' parameter of record must say what the estimate "
                             "is (e.g. 'LiRA AUC, sparse - dense'). Got '' instead.")
    profile = current_profile() if profile is None else profile
    path = findings_dir(root=root, profile=profile) / f"{claim}.json"
    info = CLAIMS[claim]
    entry = {"claim": claim, "paper": info.paper, "claim_text": info.claim,
             "notebook": info.notebook, "statistic": str(statistic), **nums,
             "verdict": verdict, "detail": str(detail),
             "params": json.loads(json.dumps(params or {}, default=str)), "profile": profile,
             "written": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")}
    atomic_write_bytes(path, json.dumps(entry, indent=1, allow_nan=True).encode())
    return path


COLUMNS = ["claim", "paper", "claim_text", "notebook", "statistic", "estimate", "lo", "hi",
           "mde", "verdict", "detail", "params", "profile", "written"]


def _read(folder: Path, claims: list[str]) -> tuple[list[dict], dict[str, str]]:
    """The readable records, and ``{claim: why}`` for the others ("absent", "unreadable")."""
    rows, problems = [], {}
    for c in claims:
        path = folder / f"{c}.json"
        try:
            entry = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            problems[c] = "absent"
            continue
        except (OSError, ValueError):
            problems[c] = "unreadable"
            continue
        if not isinstance(entry, dict) or entry.get("verdict") not in VERDICTS:
            problems[c] = "unreadable"
            continue
        rows.append(entry)
    return rows, problems


def missing_message(problems: dict[str, str], folder: Path) -> str:
    """One paragraph naming the claims without a usable record and the notebooks to run first
    (``""`` when nothing is missing)."""
    if not problems:
        return ""
    books = sorted({CLAIMS[c].notebook for c in problems})
    bad = [c for c, why in problems.items() if why == "unreadable"]
    note = f" ({', '.join(bad)}: file unreadable, it is rewritten by a new run)" if bad else ""
    return (f"No finding recorded for {', '.join(problems)}{note} (profile {folder.name!r}, "
            f"folder {folder}). Run {', '.join(books)} first with the same profile, e.g. "
            f"`sparsepriv-nb run --profile {folder.name} --only "
            f"{','.join(b[:2] for b in books)}`.")


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
    rows, problems = _read(folder, ids)
    if problems and missing == "raise":
        raise FindingsMissing(missing_message(problems, folder))
    return pd.DataFrame(rows, columns=COLUMNS)



# The summary (notebook 07's table, answer and figure) lives in its own module, loaded on first
# use so that notebooks write ``spn.findings.table()`` (and either module may be imported first).
_SUMMARY = ("table", "answer", "to_markdown", "forest_plot", "format_interval", "note")


def __getattr__(name):
    if name in _SUMMARY:
        from . import findings_summary

        return getattr(findings_summary, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
