"""A membership-inference challenge for a class, in the style of Microsoft's MICO competition.

``sparsepriv-nb challenge make DIR`` trains four targets (dense, magnitude-pruned to densities
0.5 and 0.1, DP-SGD) in a leaking regime and writes, per target, candidates with shuffled ids
(half of them members), the target's logits on them, reference models' logits and a disjoint
population; the labels go to ``DIR/solutions/`` (:mod:`.make`). ``... baseline`` writes
example submissions (:mod:`.baselines`), ``... score`` scores submissions at AUC and TPR at
1 % and 10 % FPR with bootstrap intervals and writes a leaderboard (:mod:`.scoring`,
:mod:`.submission`). ``docs/instructors.md`` says how to run it with a class.

Lesson: notebook 02 (``02_membership_inference``): the attacks students improve on.
"""

from .baselines import BASELINES, baseline_scores, write_baseline
from .make import SOLUTIONS, make_challenge
from .scoring import leaderboard_html, score_scores, score_submissions
from .submission import SubmissionError, read_solutions, read_submission
from .targets import SIZES, TARGETS, target_configs

__all__ = ["make_challenge", "write_baseline", "baseline_scores", "score_submissions",
           "score_scores", "leaderboard_html", "read_submission", "read_solutions",
           "SubmissionError", "target_configs", "TARGETS", "SIZES", "BASELINES", "SOLUTIONS"]
