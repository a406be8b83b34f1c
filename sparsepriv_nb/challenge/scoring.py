"""``challenge score``: each submission's AUC and TPR at 1 % and 10 % FPR per target, with
seeded bootstrap intervals (:func:`sparsepriv_nb.metrics.bootstrap_ci`), and a leaderboard.

Submissions are ranked by their mean AUC over the targets. Intervals are 95 % percentile
bootstrap intervals over the candidates (members and non-members resampled separately, 1000
resamples, seed 0): the same submission always gets the same numbers. Chance is AUC 0.5 and a
TPR equal to the FPR.

Lesson: notebook 02 (``02_membership_inference``), section 3 (metrics and their intervals).
"""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
import pandas as pd

from .. import metrics as M
from .make import SOLUTIONS
from .submission import read_solutions, read_submission

__all__ = ["METRICS", "score_scores", "score_submissions", "leaderboard_html", "format_table"]

#: Column -> (bootstrap_ci metric, its keyword arguments, chance level).
METRICS = {"auc": ("auc", {}, 0.5),
           "tpr_at_1pct_fpr": ("tpr_at_1pct_fpr", {}, 0.01),
           "tpr_at_10pct_fpr": ("tpr_at_fpr", {"fpr": 0.1}, 0.1)}


def score_scores(scores, membership, *, n_resamples: int = 1000, random_state: int = 0) -> dict:
    """``{metric: estimate, metric_lo: ..., metric_hi: ...}`` of one target's scores.

    Example:
        >>> m = np.r_[np.ones(200), np.zeros(200)]
        >>> r = score_scores(m + np.random.default_rng(0).normal(size=400), m)
        >>> round(r["auc"], 3), bool(r["auc_lo"] < r["auc"] < r["auc_hi"])
        (0.788, True)
    """
    out = {}
    for col, (metric, kw, _) in METRICS.items():
        ci = M.bootstrap_ci(scores, membership, metric, n_resamples=n_resamples,
                            random_state=random_state, **kw)
        out[col], out[f"{col}_lo"], out[f"{col}_hi"] = ci["estimate"], ci["lo"], ci["hi"]
    return out


def score_submissions(folder, submissions, *, n_resamples: int = 1000,
                      random_state: int = 0) -> pd.DataFrame:
    """One row per (submission, target): the metrics with their intervals, ``rank`` by mean
    AUC over targets (1 = best). Submissions are named by their file stem (made unique)."""
    solutions = read_solutions(Path(folder) / SOLUTIONS)
    rows, seen = [], set()
    for path in submissions:
        name = Path(path).stem
        while name in seen:
            name += "'"
        seen.add(name)
        per_target = read_submission(path, solutions)
        for target, ids in solutions.items():
            membership = np.fromiter(ids.values(), int)
            rows.append({"submission": name, "target": target, "n_candidates": len(ids),
                         **score_scores(per_target[target], membership,
                                        n_resamples=n_resamples, random_state=random_state)})
    df = pd.DataFrame(rows)
    mean = df.groupby("submission", sort=False)["auc"].mean()
    rank = mean.rank(ascending=False, method="min").astype(int)
    return df.assign(mean_auc=df.submission.map(mean), rank=df.submission.map(rank)) \
        .sort_values(["rank", "submission"], kind="stable").reset_index(drop=True)


def _cell(row, col: str) -> str:
    if np.isnan(row[col]):
        return "n/a"
    return f"{row[col]:.3f} [{row[f'{col}_lo']:.3f}, {row[f'{col}_hi']:.3f}]"


def format_table(df: pd.DataFrame) -> str:
    """The scores as plain text, one line per (submission, target)."""
    lines = [f"{'rank':>4}  {'submission':<16} {'target':<10} {'AUC [95% CI]':<24} "
             f"{'TPR@1%FPR':<24} {'TPR@10%FPR':<24}"]
    for _, r in df.iterrows():
        lines.append(f"{r['rank']:>4}  {r.submission:<16} {r.target:<10} "
                     + " ".join(f"{_cell(r, c):<24}" for c in METRICS))
    return "\n".join(lines)


def leaderboard_html(df: pd.DataFrame, *, title: str = "Membership-inference leaderboard") -> str:
    """A self-contained HTML page: the ranking by mean AUC, then one table per target."""
    e = html.escape
    head = ("<style>body{font-family:sans-serif;margin:2em;max-width:1200px}"
            "table{border-collapse:collapse;margin-bottom:1.5em}td,th{border:1px solid #ccc;"
            "padding:.3em .6em;text-align:right}td:first-child,th:first-child{text-align:left}"
            "td.name{text-align:left}</style>")
    targets = list(dict.fromkeys(df.target))
    subs = df.drop_duplicates("submission")
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{e(title)}</title>{head}"
             f"</head><body><h1>{e(title)}</h1><p>Ranked by mean AUC over the targets. "
             "Brackets: 95 % bootstrap intervals over the candidates (1000 resamples, seed 0)."
             " Chance: AUC 0.5, TPR equal to the FPR. Each interval misses the true value 1 "
             "time in 20, so a random submission's intervals exclude chance on about "
             f"{0.05 * 3 * len(targets):.1f} of its {3 * len(targets)} numbers.</p>"
             "<h2>Ranking</h2><table><tr>"
             "<th>rank</th><th>submission</th><th>mean AUC</th>"
             + "".join(f"<th>AUC {e(t)}</th>" for t in targets) + "</tr>"]
    for _, s in subs.iterrows():
        mine = df[df.submission == s.submission].set_index("target")
        parts.append(f"<tr><td>{s['rank']}</td><td class='name'>{e(s.submission)}</td>"
                     f"<td>{s.mean_auc:.3f}</td>"
                     + "".join(f"<td>{_cell(mine.loc[t], 'auc')}</td>" for t in targets)
                     + "</tr>")
    parts.append("</table>")
    for t in targets:
        n = int(df[df.target == t].n_candidates.iloc[0])
        parts.append(f"<h2>Target {e(t)} ({n} candidates)</h2><table><tr><th>submission</th>"
                     "<th>AUC</th><th>TPR at 1 % FPR</th><th>TPR at 10 % FPR</th></tr>")
        for _, r in df[df.target == t].iterrows():
            parts.append(f"<tr><td>{e(r.submission)}</td>"
                         + "".join(f"<td>{_cell(r, c)}</td>" for c in METRICS) + "</tr>")
        parts.append("</table>")
    return "".join(parts) + "</body></html>\n"
