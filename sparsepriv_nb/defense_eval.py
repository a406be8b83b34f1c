"""Comparing defended models: the plumbing of notebook 05 (``05_ppb_defense``), made reusable.

A defense study trains one model per (defense, attacker) pair through the experiment
pipeline and attacks each with several attacks. This module turns those records into the
numbers the lesson reads: the confidence gap of a model, the configs of every
(defense, attacker) run, the attacker's *best* attack per model and metric, the Pareto front
of the privacy-utility plane, and paired verdicts ("does defense A beat defense B at equal
accuracy?"). The ideas are taught in the notebook; these functions carry the bookkeeping.

A run is named by a key ``(label, adaptive)``: ``label`` a key of the notebook's defense specs
(``"none"``, ``"ppb 4"``, ...), ``adaptive`` whether the attacker trained its shadows with the
defense.

Example:
    >>> specs = {"none": (None, {}), "dropout 0.5": ("dropout", {"p": 0.5})}
    >>> from sparsepriv_nb.config import ExperimentConfig
    >>> runs = defense_runs(ExperimentConfig(), specs, adaptive=["dropout 0.5"])
    >>> list(runs)
    [('none', False), ('dropout 0.5', False), ('dropout 0.5', True)]
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from .lesson import accuracy_interval

__all__ = ["confidence_gap", "gap_interval", "gap_difference", "defense_runs", "attacker_name",
           "correct_on_nonmembers",
           "pareto_front", "DefenseComparison", "verdict_sentence", "model_line", "holm_words",
           "chance_words", "ppb_claim_verdict", "answer", "bootstrap_p", "holm_label",
           "holm_columns", "versus_lines"]


def confidence_gap(model, members, nonmembers) -> float:
    """Mean true-class confidence on the members minus that on the non-members.

    Taught in notebook 05, section 1 (why pruned and fine-tuned models leak).

    Args:
        model: a classifier.
        members, nonmembers: ``(X, y)`` pairs.

    Example:
        >>> import torch
        >>> model = torch.nn.Linear(2, 2)
        >>> X = torch.zeros(4, 2); y = torch.zeros(4, dtype=torch.long)
        >>> confidence_gap(model, (X, y), (X, y))
        0.0
    """
    from .signals import confidence
    from .train import predict_logits

    conf = [confidence(predict_logits(model, X), y).mean() for X, y in (members, nonmembers)]
    return float(conf[0] - conf[1])


def _stratified_resamples(membership, n_resamples: int, seed) -> tuple[np.ndarray, np.ndarray]:
    """Bootstrap indices of the members and of the non-members, each resampled on its own."""
    m = np.asarray(membership).astype(int)
    if m.ndim != 1 or not ((m == 0) | (m == 1)).all() or m.min() == m.max():
        raise ValueError("The 'membership' parameter must be a 1-D array of 0 / 1 with both "
                         f"members and non-members. Got {np.unique(m).tolist()} instead.")
    rng = np.random.default_rng(seed)
    ins, outs = np.flatnonzero(m == 1), np.flatnonzero(m == 0)
    return (ins[rng.integers(0, len(ins), (n_resamples, len(ins)))],
            outs[rng.integers(0, len(outs), (n_resamples, len(outs)))])


def gap_interval(values, membership, *, n_resamples: int = 1000, seed=0,
                 confidence: float = 0.95) -> dict:
    """Members' mean minus non-members' mean of a per-sample signal (the confidence gap of
    a model when ``values`` are true-class confidences), with a percentile bootstrap interval
    (members and non-members resampled separately).

    Taught in notebook 05, sections 1 and 4.

    Returns:
        ``{"gap", "lo", "hi", "se"}``.

    Example:
        >>> m = np.r_[np.ones(200), np.zeros(200)]
        >>> v = np.random.default_rng(0).normal(size=400) + 0.5 * m
        >>> r = gap_interval(v, m)
        >>> bool(r["lo"] < r["gap"] < r["hi"]) and bool(r["lo"] > 0)
        True
    """
    v = np.asarray(values, dtype=float)
    ins, outs = _stratified_resamples(membership, n_resamples, seed)
    m = np.asarray(membership).astype(int) == 1
    boot = v[ins].mean(1) - v[outs].mean(1)
    lo, hi = np.quantile(boot, [(1 - confidence) / 2, (1 + confidence) / 2])
    return {"gap": float(v[m].mean() - v[~m].mean()), "lo": float(lo), "hi": float(hi),
            "se": float(boot.std(ddof=1))}


def gap_difference(values_a, values_b, membership, *, n_resamples: int = 1000, seed=0,
                   alpha: float = 0.05, power: float = 0.8) -> dict:
    """``gap(a) - gap(b)`` of two models measured on the same samples, with a paired
    bootstrap interval (both gaps recomputed on each resample), its standard error and its
    minimum detectable difference (:func:`sparsepriv_nb.power.mde_from_se`).

    Taught in notebook 05, sections 1 and 4 (does pruning widen the gap? does PPB narrow it?).

    Returns:
        ``{"diff", "lo", "hi", "se", "mde"}``.

    Example:
        >>> m = np.r_[np.ones(300), np.zeros(300)]
        >>> z = np.random.default_rng(1).normal(size=600)
        >>> r = gap_difference(z + 0.2 * m, z, m)  # a planted widening of 0.2
        >>> round(r["diff"], 3), bool(r["lo"] > 0), bool(r["mde"] > 0)
        (0.2, True, True)
    """
    from .power import mde_from_se

    a, b = np.asarray(values_a, dtype=float), np.asarray(values_b, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"The 'values_a' and 'values_b' parameters must hold one value per "
                         f"sample each. Got shapes {a.shape} and {b.shape}.")
    ins, outs = _stratified_resamples(membership, n_resamples, seed)
    m = np.asarray(membership).astype(int) == 1
    boot = (a[ins].mean(1) - a[outs].mean(1)) - (b[ins].mean(1) - b[outs].mean(1))
    lo, hi = np.quantile(boot, [alpha / 2, 1 - alpha / 2])
    se = float(boot.std(ddof=1))
    diff = (a[m].mean() - a[~m].mean()) - (b[m].mean() - b[~m].mean())
    return {"diff": float(diff), "lo": float(lo), "hi": float(hi), "se": se,
            "mde": mde_from_se(se, alpha=alpha, power=power)}


def bootstrap_p(diffs) -> float:
    """Two-sided p-value of "no difference" read off a bootstrap distribution of a difference.

    ``p = min(1, 2 (1 + k) / (n + 1))``, ``k`` the number of the ``n`` resampled differences on
    the less populated side of 0 (``<= 0`` or ``>= 0``): the inversion of the percentile
    interval, so that a 95 % percentile interval that excludes 0 goes with ``p`` below about
    0.05, however asymmetric the interval is (a p-value from a symmetric standard error does
    not have this property). The smallest possible value is ``2 / (n + 1)``. NaN resamples (an
    unresolvable TPR) give NaN.

    Taught in notebook 05, sections 8 and 9.

    Example:
        >>> d = np.r_[np.full(970, -0.03), np.full(29, 0.01)]  # 29 of 999 resamples above 0
        >>> round(bootstrap_p(d), 3), bootstrap_p(np.full(999, -0.02)), bootstrap_p(np.zeros(9))
        (0.06, 0.002, 1.0)
    """
    d = np.asarray(diffs, dtype=float).ravel()
    if d.size == 0 or np.isnan(d).any():
        return float("nan")
    k = min(int((d <= 0).sum()), int((d >= 0).sum()))
    return float(min(1.0, 2 * (1 + k) / (d.size + 1)))


def holm_label(verdict: str, lo: float, hi: float) -> str:
    """A Holm verdict word for a table: a null whose own (unadjusted) 95 % interval excludes 0
    is labelled so, instead of "within noise".

    Example:
        >>> holm_label("no detectable difference (within noise)", -0.081, -0.007)
        'not detectable after Holm (own CI excludes 0)'
        >>> holm_label("no detectable difference (within noise)", -0.02, 0.03)
        'no detectable difference (within noise)'
        >>> holm_label("lower", -0.08, -0.02)
        'lower'
    """
    if verdict.startswith("no detectable") and (lo > 0 or hi < 0):
        return "not detectable after Holm (own CI excludes 0)"
    return verdict


def holm_columns(rows: pd.DataFrame, part: str, *, distinct: str | None = None):
    """Holm-corrected verdicts of one family of verdict-table rows
    (:meth:`DefenseComparison.compare`), with the bootstrap p-values of the rows.

    Args:
        rows: the family's rows.
        part: ``"metric"`` (columns ``Δ metric``, ``metric lo/hi/p/se``) or ``"acc"``
            (``Δ test acc``, ``acc lo/hi/p/se``).
        distinct: a column naming what is compared (e.g. ``"acc pair"``); rows that share it
            are one comparison (the same two models), counted once in the family.

    A row whose ``f"{part} flag"`` holds words (a degenerate interval,
    :meth:`DefenseComparison.degenerate`) is not tested: its p is NaN, so it takes no part in
    the correction and its verdict is "not measurable here".

    Returns:
        ``(columns, family)``: a frame on ``rows.index`` with ``verdict``, ``mde`` and
        ``p_holm``, and the :class:`~sparsepriv_nb.families.Family` of the distinct rows.

    Example:
        >>> t = pd.DataFrame({"Δ test acc": [-0.05, -0.05, 0.0], "acc lo": [-0.08, -0.08, -0.02],
        ...                   "acc hi": [-0.02, -0.02, 0.02], "acc p": [0.002, 0.002, 0.9],
        ...                   "acc se": [0.015, 0.015, 0.01], "acc pair": ["p-n", "p-n", "d-n"]})
        >>> cols, fam = holm_columns(t, "acc", distinct="acc pair")
        >>> len(fam.frame), cols.verdict.tolist()[:2], round(float(cols.p_holm.iloc[0]), 3)
        (2, ['lower', 'lower'], 0.004)
    """
    from .families import holm_verdicts

    col = "Δ metric" if part == "metric" else "Δ test acc"
    keep = rows if distinct is None else rows.drop_duplicates(distinct)
    flagged = [isinstance(r.get(f"{part} flag"), str) for _, r in keep.iterrows()]
    fam = holm_verdicts([{"diff": r[col], "lo": r[f"{part} lo"], "hi": r[f"{part} hi"],
                          "p": np.nan if bad else r[f"{part} p"], "se": r[f"{part} se"]}
                         for bad, (_, r) in zip(flagged, keep.iterrows())])
    found = fam.frame[["verdict", "mde", "p_holm"]].set_axis(keep.index)
    if distinct is not None:
        found = found.set_axis(keep[distinct]).loc[rows[distinct]]
    return found.set_axis(rows.index), fam


def attacker_name(adaptive: bool) -> str:
    """``"adaptive"`` or ``"non-adaptive"``, the column value for a run key's second part.

    Taught in notebook 05, section 5.
    """
    return "adaptive" if adaptive else "non-adaptive"


def defense_runs(base, specs: Mapping[str, tuple], *, adaptive: Iterable[str] = ()) -> dict:
    """The experiment config of every (defense, attacker) run of a defense study.

    Taught in notebook 05, section 5 (non-adaptive and adaptive attackers).

    Every label of ``specs`` gets a run against the non-adaptive attacker; the labels in
    ``adaptive`` (other than an undefended one, whose name is ``None``) get a second run
    against an attacker who trains its shadow and reference models with the defense.

    Args:
        base: the :class:`~sparsepriv_nb.config.ExperimentConfig` every run starts from.
        specs: ``{label: (defense name or None, params dict)}``, in display order.
        adaptive: the labels to attack adaptively too.

    Returns:
        ``{(label, adaptive): config}``, label by label, non-adaptive first.
    """
    wanted = set(adaptive)
    unknown = wanted - set(specs)
    if unknown:
        raise ValueError(f"The 'adaptive' parameter of defense_runs must name labels of "
                         f"'specs' {list(specs)}. Got {sorted(unknown)} instead.")
    runs = {}
    for label, (name, params) in specs.items():
        for adapt in (False, True):
            if adapt and (label not in wanted or name is None):
                continue
            runs[(label, adapt)] = base.replace(
                defense__name=name, defense__params=tuple(dict(params).items()),
                defense__adaptive=adapt and name is not None)
    return runs


def correct_on_nonmembers(target) -> np.ndarray:
    """Per-example correctness (0.0 / 1.0) of a target model on its non-members (test set).

    Taught in notebook 05, section 6 (test accuracy of each defended model).

    Args:
        target: the ``"target"`` entry of :func:`sparsepriv_nb.experiments.load_outputs`
            (logits, labels and membership of the attacked samples).

    Example:
        >>> import torch
        >>> from types import SimpleNamespace
        >>> out = SimpleNamespace(logits=torch.tensor([[2., 0.], [0., 2.], [2., 0.]]),
        ...                       labels=torch.tensor([0, 0, 0]), membership=np.array([1, 0, 0]))
        >>> correct_on_nonmembers(out)
        array([0., 1.])
    """
    keep = np.asarray(target.membership) == 0
    return (target.logits[keep].argmax(1) == target.labels[keep]).numpy().astype(float)


def pareto_front(df: pd.DataFrame, x: str = "test_acc", y: str = "auc") -> pd.DataFrame:
    """The rows no other row dominates (higher-or-equal ``x`` and lower-or-equal ``y``, one
    of them strictly): the best privacy-utility trade-offs.

    Taught in notebook 05, section 8.

    Example:
        >>> df = pd.DataFrame({"test_acc": [0.9, 0.8, 0.85], "auc": [0.7, 0.6, 0.75]})
        >>> pareto_front(df).index.tolist()
        [0, 1]
    """
    keep = [not ((df[x] >= r[x]) & (df[y] <= r[y]) & ((df[x] > r[x]) | (df[y] < r[y]))).any()
            for _, r in df.iterrows()]
    return df[keep]


class DefenseComparison:
    """The attacker's best attack per model, and paired comparisons between defended models.

    Taught in notebook 05, sections 6 and 9.

    Args:
        records: the tidy rows of the study's sweep with added ``defense`` and ``attacker``
            columns (one row per run and attack).
        outputs: ``{run key: load_outputs(config)}``.
        metrics: ``{metric column: display name}`` of the privacy metrics compared.
        n_resamples: bootstrap resamples of every paired interval.
        seed: seeds the resampling.
    """

    def __init__(self, records: pd.DataFrame, outputs: Mapping, metrics: Mapping[str, str], *,
                 n_resamples: int = 1000, seed: int = 0):
        self.records, self.outputs, self.metrics = records, outputs, dict(metrics)
        self.n_resamples, self.seed = n_resamples, seed
        first = next(iter(outputs.values()))["target"].membership
        for key, out in outputs.items():  # every model attacked on the same samples, in order
            if not np.array_equal(out["target"].membership, first):
                raise ValueError(f"The 'outputs' parameter of DefenseComparison must hold "
                                 f"models attacked on the same samples. Run {key} differs.")
        self.membership = first

    def rows(self, key) -> pd.DataFrame:
        """The records of one run (one row per attack)."""
        return self.records[(self.records.defense == key[0])
                            & (self.records.attacker == attacker_name(key[1]))]

    def best(self, key, metric: str):
        """The record of the attack that scores highest in ``metric`` on run ``key`` (an
        optimistic attacker), or ``None`` when no attack measured it."""
        sub = self.rows(key).dropna(subset=[metric])
        return sub.loc[sub[metric].idxmax()] if len(sub) else None

    def correct(self, key) -> np.ndarray:
        """Per-example correctness of run ``key``'s target on the non-members."""
        return correct_on_nonmembers(self.outputs[key]["target"])

    def summary(self) -> pd.DataFrame:
        """One row per run: test accuracy with its Wilson interval, then for each metric the
        best attack's value, interval and name."""
        rows = []
        for key in self.outputs:
            c = self.correct(key)
            lo, hi = accuracy_interval(c.mean(), len(c))
            row = {"defense": key[0], "attacker": attacker_name(key[1]), "test_acc": c.mean(),
                   "test_acc_lo": lo, "test_acc_hi": hi}
            for m in self.metrics:
                best = self.best(key, m)
                row.update({m: np.nan, f"{m}_lo": np.nan, f"{m}_hi": np.nan,
                            f"{m}_attack": None} if best is None else
                           {m: best[m], f"{m}_lo": best[f"{m}_lo"], f"{m}_hi": best[f"{m}_hi"],
                            f"{m}_attack": best.attack})
            rows.append(row)
        return pd.DataFrame(rows)

    def paired_test(self, key_a, key_b, metric: str) -> dict:
        """``metric`` of the best attack on ``a`` minus that on ``b``: ``{"diff", "lo", "hi",
        "p", "se"}``, a paired percentile bootstrap over the attacked samples (each side at
        its own fitted threshold), its p-value from the bootstrap distribution
        (:func:`bootstrap_p`) and its standard error (the resamples' SD)."""
        from .metrics import paired_bootstrap

        a, b = self.best(key_a, metric), self.best(key_b, metric)
        if a is None or b is None:
            return dict.fromkeys(("diff", "lo", "hi", "p", "se"), np.nan)
        boot = paired_bootstrap(
            self.outputs[key_a]["scores"][a.attack], self.outputs[key_b]["scores"][b.attack],
            self.membership, metric, n_resamples=self.n_resamples, random_state=self.seed,
            threshold_a=a.threshold, threshold_b=b.threshold)
        return _test(boot["a"] - boot["b"], boot["diffs"], np.quantile)

    def paired(self, key_a, key_b, metric: str) -> tuple[float, float, float]:
        """``(diff, lo, hi)`` of :meth:`paired_test`."""
        d = self.paired_test(key_a, key_b, metric)
        return d["diff"], d["lo"], d["hi"]

    def accuracy_test(self, key_a, key_b) -> dict:
        """Test accuracy of ``a`` minus ``b``, paired bootstrap over the non-members (the
        resamples of :func:`sparsepriv_nb.lesson.paired_accuracy_difference`): ``{"diff",
        "lo", "hi", "p", "se"}`` as in :meth:`paired_test`."""
        ca, cb = self.correct(key_a), self.correct(key_b)
        idx = np.random.default_rng(self.seed).integers(0, len(ca), (self.n_resamples, len(ca)))
        return _test(ca.mean() - cb.mean(), ca[idx].mean(1) - cb[idx].mean(1), np.percentile)

    def accuracy_difference(self, key_a, key_b) -> tuple[float, float, float]:
        """Test accuracy of ``a`` minus ``b``, paired bootstrap over the non-members."""
        d = self.accuracy_test(key_a, key_b)
        return d["diff"], d["lo"], d["hi"]

    def model_id(self, key):
        """The first run key whose target model gives the same logits as ``key``'s (the
        adaptive and non-adaptive attackers of one defense attack one model)."""
        import torch

        logits = self.outputs[key]["target"].logits
        return next(k for k in self.outputs
                    if torch.equal(self.outputs[k]["target"].logits, logits))

    def scores_id(self, key, metric: str) -> str:
        """Names what ``metric``'s comparisons of run ``key`` read: the first run with the same
        target model whose best attack in ``metric`` gave the same scores up to rounding (a
        threshold attack on one model ranks its samples alike for both attackers), and that
        attack."""
        b = self.best(key, metric)
        if b is None:
            return f"{metric}: {key} (not measured)"
        scores = self.outputs[key]["scores"][b.attack]  # threshold-free, except balanced acc.
        same = self.model_id(key)
        for k in self.outputs:
            c = self.best(k, metric)
            if (c is not None and self.model_id(k) == same
                    and (metric != "balanced_accuracy" or c.threshold == b.threshold)
                    and np.allclose(self.outputs[k]["scores"][c.attack], scores, rtol=1e-12,
                                    atol=1e-15)):  # recomputed scores differ by rounding
                return f"{metric}: {k} {c.attack}"
        return f"{metric}: {key} {b.attack}"  # not reached: key matches itself

    def degenerate(self, key, metric: str) -> str | None:
        """Words for a best attack whose own interval in ``metric`` is one point (every
        resample gave the same value), or ``None``."""
        b = self.best(key, metric)
        if b is None or b[f"{metric}_lo"] != b[f"{metric}_hi"]:
            return None
        return (f"{key[0]}'s own {self.metrics[metric]} interval is degenerate, "
                f"[{b[f'{metric}_lo']:.3f}, {b[f'{metric}_hi']:.3f}]")

    def compare(self, question: str, key_a, key_b, metric: str) -> dict:
        """One row of the verdict table: the metric and accuracy differences of ``a - b``,
        their intervals and verdicts (:func:`sparsepriv_nb.metrics.verdict`)."""
        from .metrics import verdict

        t, s = self.paired_test(key_a, key_b, metric), self.accuracy_test(key_a, key_b)
        d, acc = (t["diff"], t["lo"], t["hi"]), (s["diff"], s["lo"], s["hi"])
        return {"comparison": question, "attacker": attacker_name(key_a[1]),
                "metric": self.metrics[metric], "Δ metric": d[0],
                "metric CI": f"[{d[1]:+.3f}, {d[2]:+.3f}]", "metric verdict": verdict(*d),
                "Δ test acc": acc[0], "acc CI": f"[{acc[1]:+.3f}, {acc[2]:+.3f}]",
                "accuracy verdict": verdict(*acc), "metric lo": d[1], "metric hi": d[2],
                "acc lo": acc[1], "acc hi": acc[2], "metric p": t["p"], "metric se": t["se"],
                "acc p": s["p"], "acc se": s["se"],
                "acc pair": f"{self.model_id(key_a)} - {self.model_id(key_b)}",
                "metric pair": f"{self.scores_id(key_a, metric)} - {self.scores_id(key_b, metric)}",
                "metric flag": "; ".join(filter(None, (self.degenerate(k, metric)
                                                       for k in (key_a, key_b)))) or None}


def versus_lines(rows: pd.DataFrame, part: str, found: pd.DataFrame, *, distinct: str,
                 family: str) -> list[str]:
    """One line per distinct comparison of a Holm family (:func:`holm_columns`): the
    difference, its 95 % interval, the Holm words (:func:`holm_words`) and any flag.

    Rows sharing ``distinct`` are one comparison, printed once: "both attackers (same model)"
    (``part == "acc"``) or "(same model and scores)". A row whose ``f"{part} flag"`` holds
    words (a degenerate interval, :meth:`DefenseComparison.degenerate`) is "not tested", with
    the flag.

    Example:
        >>> rows = pd.DataFrame({"comparison": ["ppb 4", "ppb 4"],
        ...                      "attacker": ["non-adaptive", "adaptive"],
        ...                      "Δ test acc": [-0.052, -0.052], "acc lo": [-0.08, -0.08],
        ...                      "acc hi": [-0.024, -0.024], "acc pair": ["p - n", "p - n"]})
        >>> found = pd.DataFrame({"verdict": ["lower"] * 2, "mde": [0.03] * 2,
        ...                       "p_holm": [0.004] * 2})
        >>> versus_lines(rows, "acc", found, distinct="acc pair", family="2 comparisons")
        ['ppb 4, both attackers (same model): -0.052 [-0.080, -0.024]: lower (Holm over 2 \
comparisons: p = 0.004)']
    """
    col = "Δ metric" if part == "metric" else "Δ test acc"
    lines = []
    for _, group in rows.groupby(distinct, sort=False):
        r, h = group.iloc[0], found.loc[group.index[0]]
        who = (r["attacker"] if len(group) == 1 else "both attackers (same model"
               + (")" if part == "acc" else " and scores)"))
        flag = r.get(f"{part} flag")
        words = (f"not tested ({flag}: every resample gave it the same value, so this "
                 "interval carries only the other model's noise)" if isinstance(flag, str) else
                 holm_words(h["verdict"], h["p_holm"], r[f"{part} lo"], r[f"{part} hi"],
                            h["mde"], family=family))
        lines.append(f"{r['comparison']}, {who}: {r[col]:+.3f} [{r[f'{part} lo']:+.3f}, "
                     f"{r[f'{part} hi']:+.3f}]: {words}")
    return lines


def _test(diff, diffs, quantile, confidence: float = 0.95) -> dict:
    """``{"diff", "lo", "hi", "p", "se"}`` of a bootstrap distribution ``diffs`` of ``diff``."""
    diffs = np.asarray(diffs, dtype=float)
    if np.isnan(diff) or np.isnan(diffs).any():
        return {"diff": float(diff), "lo": np.nan, "hi": np.nan, "p": np.nan, "se": np.nan}
    tail = (1 - confidence) / 2
    q = [tail, 1 - tail] if quantile is np.quantile else [100 * tail, 100 * (1 - tail)]
    lo, hi = quantile(diffs, q)
    return {"diff": float(diff), "lo": float(lo), "hi": float(hi), "p": bootstrap_p(diffs),
            "se": float(diffs.std(ddof=1))}


def model_line(name: str, model, members, nonmembers, confidences, membership, *,
               n_resamples: int = 1000, seed=0) -> str:
    """One model's line of notebook 05, section 1: density, train and test accuracy, and the
    confidence gap with its bootstrap interval (:func:`gap_interval`).

    Args:
        name: the model's name in the line.
        model: the model.
        members, nonmembers: ``(X, y)`` tensors.
        confidences: the model's true-class confidence on the members then the non-members.
        membership: 1 for a member, 0 for a non-member (same order as ``confidences``).
        n_resamples, seed: the bootstrap of the gap's interval.
    """
    from .lesson import format_interval
    from .sparsity import overall_density
    from .train import evaluate

    g = gap_interval(confidences, membership, n_resamples=n_resamples, seed=seed)
    return (f"{name:>20}: density {overall_density(model):.2f}, train accuracy "
            f"{evaluate(model, members)['accuracy']:.3f}, test accuracy "
            f"{evaluate(model, nonmembers)['accuracy']:.3f}, confidence gap "
            f"{format_interval(g['gap'], g['lo'], g['hi'], signed=True)}")


def holm_words(verdict: str, p_holm: float, lo: float, hi: float, mde: float | None = None, *,
               family: str | None = None) -> str:
    """A Holm-corrected verdict in words; a null whose own (unadjusted) 95 % interval excludes
    0 says why it is still a null, so that the two never read as a contradiction.

    A Holm p-value depends on the family it was corrected in (the same comparison gets a
    larger p among more comparisons), so ``family`` (e.g. ``"section 9's 6 comparisons"``)
    names it: ``(Holm over section 9's 6 comparisons: p = 0.069)``.

    Example:
        >>> holm_words("lower", 0.0096, -0.067, -0.016)
        'lower (Holm p = 0.0096)'
        >>> holm_words("no detectable difference (within noise)", 0.06, -0.076, -0.005, 0.0667)
        'no detectable difference after Holm correction (Holm p = 0.06; on its own its 95 % \
interval excludes 0); this run could detect |Δ| ≥ 0.067'
        >>> holm_words("no detectable difference (within noise)", 0.9, -0.04, 0.04, 0.0667)
        'no detectable difference; this run could detect |Δ| ≥ 0.067'
        >>> holm_words("lower", 0.0053, -0.067, -0.016, family="section 9's 6 comparisons")
        "lower (Holm over section 9's 6 comparisons: p = 0.0053)"
    """
    power = ("" if mde is None or not np.isfinite(mde)
             else f"; this run could detect |Δ| ≥ {mde:.3f}")
    p_text = _holm_p(p_holm, family)
    if not verdict.startswith("no detectable"):
        return f"{verdict} ({p_text})"
    if lo > 0 or hi < 0:
        return (f"no detectable difference after Holm correction ({p_text}; on its "
                f"own its 95 % interval excludes 0){power}")
    return f"no detectable difference{power}"


def _holm_p(p_holm: float, family: str | None) -> str:
    """``Holm p = 0.069``, or ``Holm over <family>: p = 0.069`` when the family is named."""
    if isinstance(family, str) and family:
        return f"Holm over {family}: p = {p_holm:.2g}"
    return f"Holm p = {p_holm:.2g}"


def chance_words(lo: float, hi: float, chance: float = 0.5) -> str:
    """Whether an attack-accuracy interval ``[lo, hi]`` reproduces "near chance".

    Example:
        >>> chance_words(0.583, 0.640)
        'not reproduced: the interval excludes 0.5'
        >>> chance_words(0.47, 0.53)
        'reproduced: the interval includes 0.5'
    """
    if lo <= chance <= hi:
        return f"reproduced: the interval includes {chance:g}"
    return f"not reproduced: the interval excludes {chance:g}"


def ppb_claim_verdict(gap, auc, accuracy, *, margin: float) -> tuple[str, dict]:
    """The verdict on "PPB narrows the gaps and lowers attack success at a small cost in
    accuracy" from its three parts, each ``(estimate, lo, hi)`` of PPB minus plain fine-tuning.

    The gap and the best attack's AUC must fall (directional verdicts, sign -1); the accuracy
    cost must be small: ``supported`` when the whole accuracy interval is above ``-margin``,
    ``contradicted`` when it is below, else not detectable. The claim is ``supported`` when
    every part is, ``contradicted`` when any part is, else ``not detectable at this power``.

    Returns:
        The verdict (one of :data:`sparsepriv_nb.findings.VERDICTS`) and ``{part: verdict}``.

    Example:
        >>> v, parts = ppb_claim_verdict((0.004, -0.023, 0.031), (-0.043, -0.067, -0.016),
        ...                              (-0.052, -0.080, -0.024), margin=0.02)
        >>> v, parts["AUC"], parts["accuracy"]
        ('contradicted', 'supported', 'contradicted')
    """
    from .findings import VERDICTS, directional_verdict
    from .ppb_claim import accuracy_part_verdict

    parts = {"gap": directional_verdict(*gap, sign=-1), "AUC": directional_verdict(*auc, sign=-1),
             "accuracy": accuracy_part_verdict(accuracy[1], accuracy[2], margin)}
    found = set(parts.values())
    verdict = (VERDICTS[1] if VERDICTS[1] in found else
               VERDICTS[0] if found == {VERDICTS[0]} else VERDICTS[2])
    return verdict, parts


def answer(table: pd.DataFrame, comparison: str, attacker: str, metric: str) -> str:
    """One verdict-table row's metric difference in words: the difference, its 95 % interval,
    and its Holm verdict (:func:`holm_words`; a null says its MDE).

    Args:
        table: the verdict table of notebook 05, section 9 (rows of
            :meth:`DefenseComparison.compare` plus ``metric verdict``, ``metric MDE`` and
            ``metric p_holm`` after the Holm correction; an optional ``holm family`` column
            names each row's family in words).
        comparison, attacker, metric: which row.
    """
    r = table[(table.comparison == comparison) & (table.attacker == attacker)
              & (table.metric == metric)].iloc[0]
    return (f"{r['Δ metric']:+.3f}, 95% CI {r['metric CI']}: "
            + holm_words(r["metric verdict"], r["metric p_holm"], r["metric lo"], r["metric hi"],
                         r["metric MDE"], family=r.get("holm family")))


def verdict_sentence(row) -> str:
    """A verdict-table row (:meth:`DefenseComparison.compare`) in words.

    Taught in notebook 05, section 9.

    Example:
        >>> row = {"comparison": "PPB vs dropout", "attacker": "adaptive", "metric": "AUC",
        ...        "metric verdict": "lower", "Δ metric": -0.05, "metric CI": "[-0.080, -0.020]",
        ...        "accuracy verdict": "no detectable difference (within noise)",
        ...        "Δ test acc": 0.01, "acc CI": "[-0.010, +0.030]"}
        >>> for part in verdict_sentence(row).split("; "):
        ...     print(part)
        - PPB vs dropout, adaptive attacker: best AUC lower (-0.050, 95% CI [-0.080, -0.020])
        no detectable accuracy difference.
        >>> print(verdict_sentence({**row, "acc MDE": 0.0412}).split("; ")[1])
        no detectable accuracy difference (this run could detect |Δ| ≥ 0.041).

    A row may carry ``"metric MDE"`` and ``"acc MDE"`` (minimum detectable differences): a
    null verdict then says how large a difference the run could have detected; and
    ``"holm family"``, the family its Holm p-values were corrected in, named where one is quoted.
    A Holm null whose own 95 % interval excludes 0 is said so once, never "within noise":

        >>> null = {**row, "metric verdict": "no detectable difference (within noise)",
        ...         "Δ metric": -0.045, "metric CI": "[-0.081, -0.007]", "metric lo": -0.081,
        ...         "metric hi": -0.007, "metric p_holm": 0.13, "metric MDE": 0.068}
        >>> print(verdict_sentence(null).split("; no")[0])  # doctest: +NORMALIZE_WHITESPACE
        - PPB vs dropout, adaptive attacker: best AUC -0.045, 95% CI [-0.081, -0.007]: not
        detectable after Holm (Holm p = 0.13; own CI excludes 0; this run could detect |Δ| ≥ 0.068)
    """
    def power(mde):
        if mde is None or not np.isfinite(mde):
            return ""
        return f"this run could detect |Δ| ≥ {mde:.3f}"

    def excludes(what):  # a null whose own interval excludes 0 (the Holm p says why a null)
        lo, hi = (row.get(f"{what} {k}", np.nan) for k in ("lo", "hi"))
        return bool(lo > 0 or hi < 0)

    def why(what, mde):  # "Holm p = 0.13; own CI excludes 0; this run could detect ..."
        p = row.get(f"{what} p_holm", np.nan)
        holm = (f"{_holm_p(p, row.get('holm family'))}; " if np.isfinite(p) else "")
        return "; ".join(x for x in ((f"{holm}own CI excludes 0" if excludes(what) else ""),
                                     power(mde)) if x)

    if row["accuracy verdict"].startswith("no detectable"):
        acc = (f"test accuracy {row['Δ test acc']:+.3f}, 95% CI {row['acc CI']}: not detectable "
               f"after Holm ({why('acc', row.get('acc MDE'))})" if excludes("acc") else
               "no detectable accuracy difference" + (f" ({why('acc', row.get('acc MDE'))})"
                                                      if why("acc", row.get("acc MDE")) else ""))
    else:
        acc = (f"{row['accuracy verdict']} test accuracy ({row['Δ test acc']:+.3f}, 95% CI "
               f"{row['acc CI']})")
    head = f"- {row['comparison']}, {row['attacker']} attacker: best {row['metric']} "
    if not row["metric verdict"].startswith("no detectable"):
        return (f"{head}{row['metric verdict']} ({row['Δ metric']:+.3f}, 95% CI "
                f"{row['metric CI']}); {acc}.")
    extra = why("metric", row.get("metric MDE"))
    if excludes("metric"):
        return (f"{head}{row['Δ metric']:+.3f}, 95% CI {row['metric CI']}: not detectable after "
                f"Holm ({extra}); {acc}.")
    return (f"{head}{row['metric verdict']} ({row['Δ metric']:+.3f}, 95% CI {row['metric CI']}"
            f"{'; ' + extra if extra else ''}); {acc}.")
