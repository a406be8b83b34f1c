"""Who loses privacy when a network is pruned: the paired dense-vs-sparse shift of each attacked
member's exposure, by class, by the dense model's prediction and by vulnerability (issue 18,
item 5).

**Exposure.** An attack's raw scores are not comparable across models: LiRA's log-likelihood
ratio of a sparse target is computed against *sparse* reference models, whose spread differs
from the dense ones'. So each member's score is put on the model's own non-member scale: its
*exposure* is the fraction of that model's non-members scoring below it (ties count half),
``1 -`` the false-positive rate at which a threshold attacker just catches it. It is free of
the score's units, lies in [0, 1] (0.5: indistinguishable from a typical non-member), and its
mean over the members *is* the attack's AUC (Mann-Whitney). Hence the mean shift
``exposure_sparse - exposure_dense`` over a group of members is that group's share of the AUC
change: ``sum_g (n_g / n_members) * shift_g = AUC_sparse - AUC_dense`` (tested).

**Within each class.** With labels, each member is ranked against the non-members *of its own
class* (``within_class``), and a class's mean exposure is the attack's AUC on that class. The
global ranking confounds membership with calibration: a model that is merely more confident on
a whole class raises its members *and* non-members, and every member of that class looks "more
exposed". Two dense targets trained with different seeds on the same members differed this
way by up to 0.21 in a class's mean global LiRA exposure (``benchmarks/shifts.py``, seed 0),
with the class's non-members shifting alike; ranking within the class removes it. Only
members are analysed: a member's exposure is what it loses, a non-member's is a false alarm.
The scale has a ceiling: a member already above every non-member (exposure 1) cannot rise
further, so the most exposed have less room to gain than to lose; the per-member table keeps
both exposures to look at the tail directly.

**Regression to the mean.** Binning members by their *dense* exposure and comparing with the
sparse one manufactures the answer "the most exposed become less exposed": a member lands in
the top bin partly because of noise in the dense model (its training randomness), noise the
sparse model does not share, so its sparse exposure falls back towards the mean even when
pruning changes nothing. Vulnerability bins therefore use a score from models that are *not*
the targets: :func:`reference_vulnerability`, each sample's memorisation gap over reference
models (mean logit-scaled confidence of the models that trained on it minus that of those that
did not; Feldman & Zhang's memorisation, and the atypicality Hooker et al. 2019 found pruning
hurts most). One channel remains: LiRA's scores are built from reference models too (the
dense target's from the dense ones, the sparse target's from their pruned copies), so if the
bins come from the same reference models, their estimation noise regresses in the same way.
:func:`held_out_lira` closes it: the bins from one half of the reference models, both targets'
LiRA scores from the other half. (``benchmarks/shifts.py`` measures each channel: a second
dense seed binned by the dense exposure looks "less exposed" in the top bin; binned by the same
references that score it, the least vulnerable bin of dense -> pruned moved +0.057 and +0.160
(seeds 0, 1) but with held-out halves -0.031 and +0.087.) Grouping by the dense model's
*correctness* conditions on the dense model's output and keeps a little of the effect (a member
the dense model got wrong has a low dense exposure by construction): read it as descriptive.

**Intervals and verdicts.** One bootstrap, seeded, paired: each resample draws the non-members
once (the same draw rescales both models) and the members within each group; a group's
interval is the percentile interval of its mean shift, its standard error the resamples'
standard deviation. Each family of groups (classes, correct / wrong, vulnerability bins) is one
Holm family (:func:`sparsepriv_nb.families.holm_verdicts`), whose minimum detectable difference
is stated with every null (:mod:`sparsepriv_nb.power`). "More exposed" means a positive shift.
The intervals cover the sampling of the attacked samples for *these two trained models*, not
the randomness of training itself: a claim about pruning in general needs several seeds. The
dense-vs-dense null of ``benchmarks/shifts.py`` measures what one pair of models carries: with
reference-model bins, two dense seeds gave no detection at seed 0, but at seed 1 the top
quartile's LiRA contrast with the rest moved -0.053 [-0.097, -0.008] and the loss attack's
least vulnerable quartile -0.025 [-0.043, -0.007], so group shifts of a few hundredths from one
pair of models are within what training randomness alone produces. Nor do they cover the
choice of LiRA's reference models: :func:`reference_check` scores both targets with each of two
disjoint halves of them, and says which change (samples, ranking, reference models) separates
the usual AUC difference from the held-out within-class shift.

Example:
    >>> rng = np.random.default_rng(0)
    >>> m = np.r_[np.ones(300), np.zeros(300)].astype(int)
    >>> dense = rng.normal(size=600) + m
    >>> sparse = dense + 0.3 * rng.normal(size=600)
    >>> r = membership_shifts(dense, sparse, m, labels=rng.integers(0, 3, 600), n_resamples=200)
    >>> r.groups[["family", "group", "n"]].values.tolist()[:2]
    [['all members', 'all', 300], ['class', '0', 103]]
    >>> bool(r.groups.verdict.str.startswith("no detectable").all())  # nothing was planted
    True

Lesson: notebook 02 (``02_membership_inference``), section "Who loses privacy when a network is
pruned".
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import families, metrics, power
from ._checks import InstanceOf, Interval, ParameterError, validate_params

__all__ = ["exposure", "reference_vulnerability", "held_out_lira", "HeldOut",
           "membership_shifts", "Shifts", "reference_check", "ReferenceCheck",
           "FAMILIES", "MORE", "LESS"]

#: The verdict words of a detected shift.
MORE, LESS = "more exposed", "less exposed"
#: Family names, in the order of :attr:`Shifts.groups`.
FAMILIES = ("all members", "class", "dense prediction", "vulnerability", "most vs rest")

_OWNER = "membership_shifts"


def _rank_against(values: np.ndarray, reference_sorted: np.ndarray) -> np.ndarray:
    """Fraction of ``reference_sorted`` strictly below each value, ties counted half."""
    lo = np.searchsorted(reference_sorted, values, side="left")
    hi = np.searchsorted(reference_sorted, values, side="right")
    return (lo + hi) / (2.0 * len(reference_sorted))


def exposure(scores, membership, *, strata=None) -> np.ndarray:
    """Each sample's exposure: the fraction of the non-members whose score is below its score
    (ties count half), among the non-members of its own stratum (e.g. its class) if ``strata``
    is given. The mean over the members is the AUC (with strata: each stratum's AUC, weighted
    by its members).

    Args:
        scores: membership scores of one model (higher = member), finite.
        membership: 1 for members, 0 for non-members.
        strata: optional group of each sample (e.g. its label); each needs a non-member.

    Returns:
        ``(n,)`` floats in [0, 1] for every sample (a non-member is ranked against all
        non-members of its stratum, itself included).

    Example:
        >>> exposure([3.0, 1.0, 0.0, 2.0], [1, 1, 0, 0]).tolist()
        [1.0, 0.5, 0.25, 0.75]
        >>> round(float(exposure([3.0, 1.0, 0.0, 2.0], [1, 1, 0, 0])[:2].mean()), 3)  # the AUC
        0.75
        >>> exposure([3.0, 1.0, 0.0, 2.0], [1, 1, 0, 0], strata=[0, 1, 1, 0]).tolist()
        [1.0, 1.0, 0.5, 0.5]
    """
    s, m = metrics.check_scores(scores, membership)
    strata = _strata(strata, m, "exposure")
    out = np.empty(len(s))
    for k in np.unique(strata):
        at = strata == k
        out[at] = _rank_against(s[at], np.sort(s[at & (m == 0)]))
    return out


def _strata(strata, m, owner: str) -> np.ndarray:
    """``strata`` as one code per sample (all 0 when None); each stratum holds a non-member."""
    if strata is None:
        return np.zeros(len(m), int)
    a = np.asarray(strata)
    if a.shape != m.shape:
        raise ParameterError(f"The 'strata' parameter of {owner} must have shape {m.shape}, "
                             f"one entry per sample. Got {a.shape} instead.")
    codes = np.unique(a, return_inverse=True)[1].reshape(-1)
    lonely = [v.item() for v in np.unique(a) if not ((a == v) & (m == 0)).any()]
    if lonely:
        raise ParameterError(f"Every class (stratum) of {owner} needs a non-member to rank its "
                             f"members against; {lonely[:5]} have none (pass "
                             "within_class=False).")
    return codes


def reference_vulnerability(references) -> np.ndarray:
    """Each attacked sample's memorisation gap over the reference models: the mean logit-scaled
    confidence ``phi`` of the reference models that trained on it minus that of those that did
    not. It does not depend on any target model, so binning members by it is free of the
    regression to the mean that binning by a target's own score brings (module docstring).

    Args:
        references: a :class:`~sparsepriv_nb.experiments.ReferenceOutputs` (``logits``
            ``(M, n, C)``, ``labels``, ``ref_in`` ``(M, n)``), e.g. the dense experiment's
            ``outputs["references"]``.

    Returns:
        ``(n,)`` gaps, in the order of the attacked samples (members, then non-members).

    Example:
        >>> import torch
        >>> from sparsepriv_nb.experiments import ReferenceOutputs
        >>> keep = np.array([[1, 0], [0, 1], [1, 0], [0, 1]], bool)
        >>> logits = torch.zeros(4, 2, 2); logits[..., 0] = torch.tensor(keep * 2.0)
        >>> reference_vulnerability(ReferenceOutputs(logits, torch.tensor([0, 0]), keep))
        array([2., 2.])
    """
    from .attacks.reference import check_reference

    for attr in ("logits", "labels", "ref_in"):
        if not hasattr(references, attr):
            raise ParameterError("The 'references' parameter of reference_vulnerability must "
                                 "be a ReferenceOutputs (with logits, labels and ref_in), e.g. "
                                 f"an experiment's outputs['references']. Got {references!r}.")
    if references.ref_in is None:
        raise ParameterError("The 'references' parameter of reference_vulnerability needs "
                             "'ref_in' (which model trained on which sample). Got None.")
    _, _, phi, keep = check_reference(references.logits, references.labels, references.ref_in,
                                      owner="reference_vulnerability", name="references.logits")
    n_in, n_out = keep.sum(0), (~keep).sum(0)
    if (n_in == 0).any() or (n_out == 0).any():
        raise ValueError("reference_vulnerability needs at least one IN and one OUT reference "
                         f"model per sample; {int(((n_in == 0) | (n_out == 0)).sum())} "
                         "sample(s) have none. Train more reference models (n_reference).")
    return (np.where(keep, phi, 0).sum(0) / n_in) - (np.where(~keep, phi, 0).sum(0) / n_out)


@dataclass(frozen=True)
class HeldOut:
    """LiRA scores and a vulnerability from disjoint halves of the reference models
    (:func:`held_out_lira`), on the attacked samples that both halves can score.

    Attributes:
        index: positions of those samples among the attacked samples.
        dense, sparse: LiRA scores of the two targets, from the second half of each model's
            reference models.
        vulnerability: :func:`reference_vulnerability` from the first half of the dense
            reference models.
        membership, labels: of those samples.
    """

    index: np.ndarray
    dense: np.ndarray
    sparse: np.ndarray
    vulnerability: np.ndarray
    membership: np.ndarray
    labels: np.ndarray


def held_out_lira(dense_run: dict, sparse_run: dict) -> HeldOut:
    """Split the reference models in two (even / odd positions): the vulnerability of each
    attacked sample from the dense experiment's first half, both targets' LiRA scores (online,
    fixed variance) from the second half of their own reference models. Nothing the bins are
    made of enters the scores, so neither the targets' noise nor the references' estimation
    noise can regress to the mean (module docstring). Samples that a half leaves without an IN
    or an OUT model are dropped (``index`` says which remain).

    Args:
        dense_run, sparse_run: ``run_experiment(..., return_outputs=True)[1]`` of the two
            targets (same attacked samples; ``"references"`` and ``"target"`` are used).

    Raises:
        ValueError: no reference models, fewer than 8, or different attacked samples.
    """
    rd, rs = _references(dense_run, sparse_run, "held_out_lira")
    halves, idx = _halves(rd.ref_in)
    first = type(rd)(rd.logits[halves[0]][:, idx], rd.labels[idx], rd.ref_in[halves[0]][:, idx])
    return HeldOut(idx, _lira_on(dense_run, rd, halves[1], idx),
                   _lira_on(sparse_run, rs, halves[1], idx), reference_vulnerability(first),
                   np.asarray(dense_run["target"].membership)[idx], rd.labels.numpy()[idx])


def _references(dense_run, sparse_run, owner: str):
    """Both runs' reference outputs: at least 8 models, the same IN masks."""
    refs = [run.get("references") if isinstance(run, dict) else None
            for run in (dense_run, sparse_run)]
    if any(r is None or r.ref_in is None for r in refs):
        raise ParameterError(f"{owner} needs both runs' outputs with reference models "
                             "(run_experiment(..., return_outputs=True) with 'lira' or 'rmia' "
                             "among the attacks).")
    rd, rs = refs
    if rd.ref_in.shape[0] < 8 or not np.array_equal(rd.ref_in, rs.ref_in):
        raise ValueError(f"{owner} needs at least 8 reference models (4 per half), the "
                         "same for both runs; got "
                         f"{rd.ref_in.shape[0]} and {rs.ref_in.shape[0]}. Raise n_reference.")
    return rd, rs


def _halves(ref_in: np.ndarray):
    """The even / odd reference models, and the samples both halves hold IN and OUT."""
    k = np.arange(ref_in.shape[0])
    halves = k % 2 == 0, k % 2 == 1
    ok = np.ones(ref_in.shape[1], bool)
    for h in halves:
        ok &= ref_in[h].any(0) & (~ref_in[h]).any(0)
    return halves, np.flatnonzero(ok)


def _lira_on(run: dict, refs, models: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Online LiRA (fixed variance) scores of ``run``'s target on the attacked samples ``idx``,
    from the reference models selected by the mask ``models``."""
    from .attacks import LiRA

    lab = refs.labels[idx]
    return LiRA().fit(refs.logits[models][:, idx], lab, refs.ref_in[models][:, idx]) \
        .score_samples(run["target"].logits[idx], lab)


def _per_sample(value, n: int, name: str, *, numeric: bool = False):
    """``value`` (None, or one entry per attacked sample) as an array of length ``n``."""
    if value is None:
        return None
    a = np.asarray(value)
    if a.ndim != 1 or len(a) != n:
        raise ParameterError(f"The '{name}' parameter of {_OWNER} must have one entry per "
                             f"attacked sample, shape ({n},), like the scores. Got shape "
                             f"{a.shape} instead.")
    if numeric:
        a = a.astype(float)
        if not np.isfinite(a).all():
            raise ParameterError(f"The '{name}' parameter of {_OWNER} contains "
                                 f"{int((~np.isfinite(a)).sum())} NaN or infinite values.")
    return a


def _checked(dense_scores, sparse_scores, membership, labels, dense_correct, vulnerability,
             n_bins):
    d, m = metrics.check_scores(dense_scores, membership, "dense_scores")
    s = np.asarray(sparse_scores, dtype=float)
    if s.ndim != 1 or len(s) != len(d):
        raise ParameterError(f"The 'sparse_scores' parameter of {_OWNER} must have shape "
                             f"({len(d)},), one score per attacked sample like 'dense_scores' "
                             f"(the same samples, in the same order). Got shape {s.shape}.")
    s, _ = metrics.check_scores(s, m, "sparse_scores")
    correct = _per_sample(dense_correct, len(d), "dense_correct")
    if correct is not None and not np.isin(correct, [0, 1]).all():
        raise ParameterError(f"The 'dense_correct' parameter of {_OWNER} must hold 0/1 (or "
                             "bool) values: did the dense model classify the sample correctly.")
    vul = _per_sample(vulnerability, len(d), "vulnerability", numeric=True)
    if vul is not None and len(np.unique(vul[m == 1])) < n_bins:
        raise ParameterError(f"The 'vulnerability' parameter of {_OWNER} takes fewer than "
                             f"n_bins={n_bins} distinct values among the members; lower n_bins.")
    return d, s, m, _per_sample(labels, len(d), "labels"), correct, vul


def _resampled_exposure(x, ref, counts) -> np.ndarray:
    """``(n_resamples, len(x))``: the exposure of ``x`` against ``ref`` resampled with the
    multiplicities ``counts`` ``(n_resamples, len(ref))``: a cumulative sum of the counts in
    score order, read at each value's (fixed) rank, so no resample is sorted."""
    order = np.argsort(ref, kind="stable")
    cum = np.zeros((counts.shape[0], len(ref) + 1))
    np.cumsum(counts[:, order], axis=1, out=cum[:, 1:])
    lo = np.searchsorted(ref[order], x, side="left")
    hi = np.searchsorted(ref[order], x, side="right")
    return (cum[:, lo] + cum[:, hi]) / (2.0 * len(ref))


def _boot_matrix(d, s, m, strata, n_resamples: int, rng) -> np.ndarray:
    """``(n_resamples, n_members)``: each member's shift with the non-members resampled within
    each stratum (one draw per resample, shared by both models)."""
    out = np.empty((n_resamples, int((m == 1).sum())))
    members_stratum = strata[m == 1]
    for k in np.unique(strata):
        at0, at1 = (strata == k) & (m == 0), (strata == k) & (m == 1)
        n0 = int(at0.sum())
        draws = rng.integers(0, n0, (n_resamples, n0))
        counts = np.bincount((draws + n0 * np.arange(n_resamples)[:, None]).ravel(),
                             minlength=n_resamples * n0).reshape(n_resamples, n0)
        out[:, members_stratum == k] = (_resampled_exposure(s[at1], s[at0], counts)
                                        - _resampled_exposure(d[at1], d[at0], counts))
    return out


def _group_means(boot: np.ndarray, idx: np.ndarray, rng) -> np.ndarray:
    """Bootstrap means of the members ``idx`` (resampled within the group)."""
    draws = idx[rng.integers(0, len(idx), (boot.shape[0], len(idx)))]
    return np.take_along_axis(boot, draws, axis=1).mean(1)


def _groups(samples: pd.DataFrame, bins: list[str]) -> list[tuple[str, str, np.ndarray]]:
    """``(family, group, member positions)`` of every group (the ``most vs rest`` contrast is
    built in :func:`_rows`)."""
    out = [("all members", "all", np.arange(len(samples)))]
    if "label" in samples:
        out += [("class", str(c), np.flatnonzero(samples["label"].to_numpy() == c))
                for c in sorted(samples["label"].unique())]
    if "dense_correct" in samples and samples["dense_correct"].nunique() > 1:  # else no family
        out += [("dense prediction", w, np.flatnonzero(samples["dense_correct"].to_numpy() == v))
                for w, v in (("correct", 1), ("wrong", 0))]
    if "vulnerability_bin" in samples:
        out += [("vulnerability", b, np.flatnonzero(samples["vulnerability_bin"].to_numpy() == b))
                for b in bins]
    return out


def _bin_names(n_bins: int) -> list[str]:
    return [f"Q{i + 1}" + (" (least)" if i == 0 else " (most)" if i == n_bins - 1 else "")
            for i in range(n_bins)]


def _samples(d, s, m, strata, labels, correct, vul, n_bins) -> pd.DataFrame:
    members = np.flatnonzero(m == 1)
    e_d, e_s = exposure(d, m, strata=strata)[members], exposure(s, m, strata=strata)[members]
    df = pd.DataFrame({"index": members, "dense": e_d, "sparse": e_s, "shift": e_s - e_d})
    if labels is not None:
        df["label"] = labels[members]
    if correct is not None:
        df["dense_correct"] = correct[members].astype(int)
    if vul is not None:
        df["vulnerability"] = vul[members]
        df["vulnerability_bin"] = pd.qcut(df["vulnerability"].rank(method="first"), n_bins,
                                          labels=_bin_names(n_bins)).astype(str)
    return df


@dataclass(frozen=True)
class Shifts:
    """What :func:`membership_shifts` found.

    Attributes:
        samples: one row per member: ``index`` (its position among the attacked samples),
            ``dense`` and ``sparse`` exposure, ``shift`` (sparse - dense), and where given
            ``label``, ``dense_correct``, ``vulnerability`` and ``vulnerability_bin``.
        groups: one row per group: ``family`` (:data:`FAMILIES`), ``group``, ``n``, mean
            ``dense`` and ``sparse`` exposure, ``diff`` (mean shift), ``lo``, ``hi``, ``se``,
            and from the family's Holm correction ``p``, ``p_holm``, ``verdict``
            (:data:`MORE`, :data:`LESS`, no detectable difference, not measurable here),
            ``mde`` and ``sentence``. ``most vs rest`` is the top vulnerability bin's mean shift
            minus the other members'.
        families: family name -> :class:`sparsepriv_nb.families.Family`.
        alpha: the family-wise error rate; ``n_resamples``: bootstrap resamples;
        within_class: whether members were ranked against their own class's non-members.
    """

    samples: pd.DataFrame
    groups: pd.DataFrame
    families: dict = field(repr=False)
    alpha: float = 0.05
    n_resamples: int = 1000
    within_class: bool = False

    def most_shifted(self, k: int = 8) -> pd.DataFrame:
        """The ``k`` members whose exposure rose most and the ``k`` whose exposure fell most
        (``direction`` = "more exposed" / "less exposed"), largest change first."""
        validate_params({"k": k}, {"k": [Interval(int, 1, None)]}, "Shifts.most_shifted")
        order = self.samples.sort_values("shift", kind="stable")
        up = order.iloc[::-1].head(k).assign(direction=MORE)
        down = order.head(k).assign(direction=LESS)
        return pd.concat([up, down], ignore_index=True)

    def answer(self, *, digits: int = 3) -> str:
        """One computed sentence: did the most vulnerable members (the top vulnerability bin)
        become more or less exposed, and more than the other members? Needs the
        ``vulnerability`` family.

        Example:
            >>> rng = np.random.default_rng(0); m = np.r_[np.ones(200), np.zeros(200)]
            >>> d = rng.normal(size=400) + m
            >>> membership_shifts(d, d, m, vulnerability=rng.normal(size=400),
            ...                   n_resamples=50).answer()  # doctest: +ELLIPSIS
            'The most vulnerable quarter of the members (Q4, n=50): no detectable shift ...'
        """
        g = self.groups.set_index("family")
        if "vulnerability" not in g.index:
            raise ValueError("Shifts.answer needs vulnerability bins: call membership_shifts "
                             "with vulnerability=... (e.g. reference_vulnerability(...)).")
        top, contrast = g.loc["vulnerability"].iloc[-1], g.loc["most vs rest"]
        f = f"+.{digits}f"
        share = {2: "half", 3: "third", 4: "quarter", 5: "fifth"}.get(
            len(g.loc["vulnerability"]), f"1/{len(g.loc['vulnerability'])}")
        return (f"The most vulnerable {share} of the members ({_plain(top['group'])}, "
                f"n={top['n']}): "
                f"{_text(top.to_dict(), f, digits)}; compared with the other members: "
                f"{_text(contrast.to_dict(), f, digits)}.")

    def verdict_lines(self, *, digits: int = 3) -> list[str]:
        """``Verdict:`` lines, one per group (a family of more than four groups: one line
        naming its detected groups), each with its interval, Holm's family size and MDE."""
        f, lines = f"+.{digits}f", []
        for name in FAMILIES:
            g = self.groups[self.groups.family == name]
            if g.empty:
                continue
            m = len(g)
            if m <= 4:
                lines += [f"Verdict: {name}, {_group_label(r, len(self.samples))}: "
                          f"{_text(r, f, digits)}{'' if m == 1 else f' (Holm over {m})'}."
                          for r in g.to_dict("records")]
                continue
            hit = g[g.verdict.isin([MORE, LESS])]
            found = "; ".join(f"{r.group} {r.verdict} ({r.diff:{f}} [{r.lo:{f}}, {r.hi:{f}}])"
                              for r in hit.itertuples()) or "none"
            lines.append(f"Verdict: by {name}, {len(hit)} of {m} groups shift detectably after "
                         f"Holm{'' if hit.empty else f': {found}'} (chance alone would give "
                         f"{self.families[name].expected_by_chance:.2g} without the correction); "
                         f"they could detect |Δ| ≥ {g.mde.min():.{digits}f} to "
                         f"{g.mde.max():.{digits}f}, per group in the table.")
        if "dense_correct" in self.samples and self.samples["dense_correct"].nunique() == 1:
            right = bool(self.samples["dense_correct"].iloc[0])
            lines.append(f"By dense prediction: the dense model classified all {len(self.samples)} "
                         f"attacked members {'correctly' if right else 'wrongly'}, so there is no "
                         f"'{'wrong' if right else 'correct'}' group to compare (no family).")
        return lines


def _plain(group: str) -> str:
    """A vulnerability bin's name without its "(least)"/"(most)" tag.

    Example:
        >>> _plain("Q4 (most)"), _plain("Q2")
        ('Q4', 'Q2')
    """
    return group.split(" (")[0]


def _group_label(r: dict, n_total: int) -> str:
    """A group's name and size for a ``Verdict:`` line (``r``: a row of ``groups``; ``n_total``:
    all members); a contrast names both sizes.

    Example:
        >>> _group_label({"family": "vulnerability", "group": "Q1 (least)", "n": 121}, 484)
        'Q1, least vulnerable (n=121)'
        >>> _group_label({"family": "most vs rest", "group": "Q4 (most) - rest", "n": 121}, 484)
        'Q4 - rest (n = 121 vs 363)'
        >>> _group_label({"family": "class", "group": "3", "n": 50}, 484)
        '3 (n=50)'
    """
    group, n = r["group"], r["n"]
    if r["family"] == "most vs rest":
        return f"{_plain(group)} - rest (n = {n} vs {n_total - n})"
    tag = group.partition(" (")[2].rstrip(")")
    return f"{_plain(group)}{f', {tag} vulnerable' if tag else ''} (n={n})"


def _text(r: dict, f: str, digits: int) -> str:
    """A group's verdict in words, with its interval or MDE (``r``: a row of ``groups``)."""
    d, lo, hi = (format(r[k], f) for k in ("diff", "lo", "hi"))
    if r["verdict"] in (MORE, LESS):
        return f"{r['verdict']}, shift {d} [{lo}, {hi}]"
    if r["verdict"] == metrics.NO_DIFFERENCE:
        return (f"no detectable shift ({d} [{lo}, {hi}]); this run could detect "
                f"|Δ| ≥ {r['mde']:.{digits}f}")
    return f"{r['verdict']} (only {r['n']} member{'' if r['n'] == 1 else 's'})"


def _row(family, group, n, e_d, e_s, diff, boot, alpha):
    ok = boot is not None
    lo, hi = (np.quantile(boot, [alpha / 2, 1 - alpha / 2]) if ok else (np.nan, np.nan))
    return {"family": family, "group": group, "n": int(n), "dense": e_d, "sparse": e_s,
            "diff": float(diff), "lo": float(lo), "hi": float(hi),
            "se": float(np.std(boot, ddof=1)) if ok else np.nan}


def _rows(samples, boot, bins, rng, alpha, min_group) -> list[dict]:
    rows, shift = [], samples["shift"].to_numpy()
    dense, sparse = samples["dense"].to_numpy(), samples["sparse"].to_numpy()
    for family, group, idx in _groups(samples, bins):
        b = _group_means(boot, idx, rng) if len(idx) >= min_group else None
        e_d, e_s, diff = (float(v[idx].mean()) if len(idx) else np.nan
                          for v in (dense, sparse, shift))
        rows.append(_row(family, group, len(idx), e_d, e_s, diff, b, alpha))
    if bins:
        top = np.flatnonzero(samples["vulnerability_bin"].to_numpy() == bins[-1])
        rest = np.setdiff1d(np.arange(len(samples)), top)
        b = _group_means(boot, top, rng) - _group_means(boot, rest, rng)
        rows.append(_row("most vs rest", f"{bins[-1]} - rest", len(top),
                         dense[top].mean() - dense[rest].mean(),
                         sparse[top].mean() - sparse[rest].mean(),
                         shift[top].mean() - shift[rest].mean(), b, alpha))
    return rows


def membership_shifts(dense_scores, sparse_scores, membership, *, labels=None,
                      dense_correct=None, vulnerability=None, n_bins: int = 4,
                      within_class: bool | None = None, n_resamples: int = 1000,
                      random_state=0, alpha: float = 0.05, power: float = 0.8,
                      min_group: int = 5) -> Shifts:
    """The paired shift of each member's exposure from a dense to a sparse model attacked on the
    same samples, summarised by group with bootstrap intervals and Holm verdicts.

    Args:
        dense_scores, sparse_scores: one attack's membership scores (higher = member) of the
            two models on the same attacked samples, in the same order.
        membership: 1 for members, 0 for non-members (shared by both models).
        labels: optional class of each attacked sample -> the ``class`` family.
        dense_correct: optional 0/1, did the dense model classify each sample correctly ->
            the ``dense prediction`` family.
        vulnerability: optional score per attacked sample that does *not* come from either
            model, e.g. :func:`reference_vulnerability` -> ``n_bins`` quantile bins among the
            members (the ``vulnerability`` family) and the ``most vs rest`` contrast. Never
            the dense model's own score (regression to the mean, module docstring).
        n_bins: vulnerability bins (at least 2).
        within_class: rank each member against the non-members of its own class (default:
            when ``labels`` are given), so that a model that is merely more confident on a
            whole class, members and non-members alike, shifts nobody (module docstring).
        n_resamples, random_state: the paired bootstrap (same seed -> same numbers).
        alpha: two-sided level of the intervals and family-wise error of each Holm family.
        power: the power the MDE refers to.
        min_group: groups with fewer members get no interval ("not measurable here").

    Returns:
        A :class:`Shifts`.

    Raises:
        ParameterError: scores of different lengths or with NaN / infinite values,
            membership not 0/1 or without both classes, per-sample arguments of the wrong
            length, bad settings.
    """
    validate_params({"n_bins": n_bins, "n_resamples": n_resamples, "alpha": alpha,
                     "within_class": within_class,
                     "power": power, "min_group": min_group, "random_state": random_state},
                    {"n_bins": [Interval(int, 2, None)], "n_resamples": [Interval(int, 10, None)],
                     "alpha": [Interval(float, 0, 1, "neither")],
                     "power": [Interval(float, 0, 1, "neither")],
                     "min_group": [Interval(int, 2, None)],
                     "within_class": [InstanceOf(bool, "a bool"), None],
                     "random_state": metrics._RANDOM_STATE}, _OWNER)
    d, s, m, labels, correct, vul = _checked(dense_scores, sparse_scores, membership, labels,
                                             dense_correct, vulnerability, n_bins)
    within = labels is not None if within_class is None else bool(within_class)
    if within and labels is None:
        raise ParameterError(f"The 'within_class' parameter of {_OWNER} needs 'labels'. "
                             "Got within_class=True and labels=None.")
    strata = _strata(labels if within else None, m, _OWNER)
    samples = _samples(d, s, m, strata, labels, correct, vul, n_bins)
    rng = metrics._rng(random_state)
    boot = _boot_matrix(d, s, m, strata, int(n_resamples), rng)
    bins = _bin_names(n_bins) if vul is not None else []
    frame = pd.DataFrame(_rows(samples, boot, bins, rng, float(alpha), min_group))
    fams, parts = {}, []
    for name in FAMILIES:
        g = frame[frame.family == name]
        if g.empty:
            continue
        fam = families.holm_verdicts(g[["group", "diff", "lo", "hi", "se"]]
                                     .rename(columns={"group": "name"}).to_dict("records"),
                                     alpha=float(alpha), power=float(power), higher=MORE,
                                     lower=LESS)
        fams[name] = fam
        cols = ["p", "p_holm", "verdict", "mde", "sentence"]
        parts.append(g.reset_index(drop=True).join(fam.frame[cols]))
    groups = pd.concat(parts, ignore_index=True)
    return Shifts(samples, groups, fams, float(alpha), int(n_resamples), within)


#: ``samples`` of :attr:`ReferenceCheck.table`: every attacked sample, or those both halves score.
ALL_SAMPLES, BOTH_HALVES = "all attacked", "scored by both halves"
#: ``references`` of :attr:`ReferenceCheck.table`.
ALL_REFS, HELD_OUT, OTHER_HALF = "all", "held-out half", "other half"
#: ``ranking`` of :attr:`ReferenceCheck.table`: against all non-members (the AUC) or per class.
GLOBAL, WITHIN = "global (AUC)", "within class"


@dataclass(frozen=True)
class ReferenceCheck:
    """:func:`reference_check`'s variants of one dense-vs-sparse LiRA comparison.

    Attributes:
        table: one row per variant: ``samples`` (:data:`ALL_SAMPLES`, :data:`BOTH_HALVES`),
            ``references`` (:data:`ALL_REFS`, :data:`HELD_OUT` = the half that
            :func:`held_out_lira` scores with, :data:`OTHER_HALF`), ``ranking``
            (:data:`GLOBAL`, :data:`WITHIN`), ``n_members``, ``diff`` (mean member exposure,
            sparse minus dense; with the global ranking it is the AUC difference), ``lo``,
            ``hi`` (paired bootstrap over the attacked samples, the scores held fixed).
        n_models: reference models per target (each half has ``n_models // 2``).
    """

    table: pd.DataFrame
    n_models: int

    def diff(self, samples: str, references: str, ranking: str) -> float:
        """The ``diff`` of one variant (the table's three key columns)."""
        t = self.table.set_index(["samples", "references", "ranking"])
        return float(t.loc[(samples, references, ranking), "diff"])

    def sentence(self, *, digits: int = 3) -> str:
        """Which change turns the full comparison (all samples, all reference models, global
        AUC) into the held-out within-class shift, and how far the two disjoint halves of the
        reference models disagree, in computed words.

        Example:
            >>> keys = [(ALL_SAMPLES, ALL_REFS, GLOBAL)] + [
            ...     (BOTH_HALVES, r, k) for r in (ALL_REFS, HELD_OUT, OTHER_HALF)
            ...     for k in (GLOBAL, WITHIN)]
            >>> diffs = [.025, .026, .013, -.004, -.017, .076, .064]
            >>> t = pd.DataFrame(keys, columns=["samples", "references", "ranking"])
            >>> rc = ReferenceCheck(t.assign(diff=diffs), n_models=8)
            >>> print(rc.sentence())  # doctest: +ELLIPSIS
            The sign flips with the reference models, not with the ranking: ...
        """
        f, v = f"+.{digits}f", self.diff
        full, same = v(ALL_SAMPLES, ALL_REFS, GLOBAL), v(BOTH_HALVES, ALL_REFS, GLOBAL)
        by_class, half = v(BOTH_HALVES, ALL_REFS, WITHIN), v(BOTH_HALVES, HELD_OUT, GLOBAL)
        held, other = v(BOTH_HALVES, HELD_OUT, WITHIN), v(BOTH_HALVES, OTHER_HALF, GLOBAL)
        flips = {"ranking": np.sign(same) != np.sign(by_class) or np.sign(half) != np.sign(held),
                 "references": np.sign(same) != np.sign(half) or np.sign(by_class) != np.sign(held)}
        moves = {"ranking": (by_class - same + held - half) / 2,
                 "references": (half - same + held - by_class) / 2}
        if np.sign(full) == np.sign(held):
            cause = "The two comparisons agree in sign here"
        elif flips["references"] != flips["ranking"]:
            k = "references" if flips["references"] else "ranking"
            a, b = (("reference models", "ranking") if k == "references"
                    else ("ranking", "reference models"))
            cause = f"The sign flips with the {a}, not with the {b}"
        else:
            k = max(moves, key=lambda key: abs(moves[key]))
            cause = f"Both changes move it; the larger move comes from the {k}"
        gap = abs(half - other)
        return (f"{cause}: all {self.n_models} reference models, global AUC: {full:{f}} (on the "
                f"samples both halves score: {same:{f}}); ranking within class instead moves it "
                f"by {moves['ranking']:{f}}, scoring with the held-out half "
                f"({self.n_models // 2} models) instead of all by {moves['references']:{f}}; "
                f"held-out half, within class: {held:{f}}. The other half gives {other:{f}} "
                f"(global): two disjoint, equally valid sets of reference models differ by "
                f"{gap:.{digits}f}, {'more than' if gap > abs(full) else 'less than'} the full "
                f"comparison's {abs(full):.{digits}f}" + (
                    ": its sign rests on reference-model noise of its own size, which its "
                    "bootstrap interval (the scores held fixed) does not cover." if gap > abs(full)
                    else ": reference-model noise of this size does not reach its sign."))


def reference_check(dense_run: dict, sparse_run: dict, *, n_resamples: int = 1000,
                    random_state=0, alpha: float = 0.05) -> ReferenceCheck:
    """The online LiRA comparison, sparse minus dense, under each change that separates the
    usual AUC difference (all samples, all reference models, global ranking) from
    :func:`held_out_lira`'s within-class shift: the samples both halves score, the half of the
    reference models, the ranking; plus the other half. If the two halves disagree by as much
    as the full difference, that difference rests on reference-model noise which the
    bootstrap (scores held fixed) does not cover.

    Args:
        dense_run, sparse_run: as for :func:`held_out_lira`.
        n_resamples, random_state: the paired bootstrap: for the global ranking
            :func:`sparsepriv_nb.power.paired_mde`'s (the AUC difference's own interval), within
            class :func:`membership_shifts`'s "all members" one (non-members resampled per class).
        alpha: two-sided level of the intervals.

    Returns:
        A :class:`ReferenceCheck` (seven variants).

    Raises:
        ValueError, ParameterError: as :func:`held_out_lira`, or bad settings.
    """
    validate_params({"n_resamples": n_resamples, "alpha": alpha, "random_state": random_state},
                    {"n_resamples": [Interval(int, 10, None)],
                     "alpha": [Interval(float, 0, 1, "neither")],
                     "random_state": metrics._RANDOM_STATE}, "reference_check")
    rd, rs = _references(dense_run, sparse_run, "reference_check")
    halves, idx = _halves(rd.ref_in)
    every = np.arange(rd.ref_in.shape[1])
    m = np.asarray(dense_run["target"].membership).astype(int)
    labels = rd.labels.numpy()
    variants = [(ALL_SAMPLES, ALL_REFS, every, np.ones(len(halves[0]), bool))]
    variants += [(BOTH_HALVES, name, idx, mask) for name, mask in (
        (ALL_REFS, np.ones(len(halves[0]), bool)), (HELD_OUT, halves[1]), (OTHER_HALF, halves[0]))]
    rows = []
    for samples, refs, at, mask in variants:
        d, s = _lira_on(dense_run, rd, mask, at), _lira_on(sparse_run, rs, mask, at)
        for ranking in (GLOBAL, WITHIN) if samples == BOTH_HALVES else (GLOBAL,):
            strata = _strata(labels[at] if ranking == WITHIN else None, m[at], "reference_check")
            shift = exposure(s, m[at], strata=strata) - exposure(d, m[at], strata=strata)
            if ranking == GLOBAL:  # the AUC difference's own paired bootstrap
                r = power.paired_mde(s, d, m[at], "auc", alpha=alpha, n_resamples=n_resamples,
                                     random_state=random_state)
                lo, hi = r["lo"], r["hi"]
            else:  # membership_shifts' "all members" bootstrap
                rng = metrics._rng(random_state)
                boot = _boot_matrix(d, s, m[at], strata, int(n_resamples), rng)
                means = _group_means(boot, np.arange(boot.shape[1]), rng)
                lo, hi = np.quantile(means, [alpha / 2, 1 - alpha / 2])
            rows.append({"samples": samples, "references": refs, "ranking": ranking,
                         "n_members": int((m[at] == 1).sum()),
                         "diff": float(shift[m[at] == 1].mean()), "lo": float(lo), "hi": float(hi)})
    return ReferenceCheck(pd.DataFrame(rows), int(rd.ref_in.shape[0]))
