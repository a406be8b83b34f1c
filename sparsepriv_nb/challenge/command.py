"""The ``sparsepriv-nb challenge`` subcommands (``make``, ``baseline``, ``score``).

``sparsepriv-nb challenge make DIR [--dataset fashion-small] [--seed S] [--size default|tiny]
[--weights]`` trains the targets and writes the challenge; ``... baseline DIR --attack
random|loss|lira [--output FILE]`` writes an example submission; ``... score DIR SUB.csv
[SUB2.csv ...] [--html leaderboard.html]`` prints the scores and writes the leaderboard.
Errors (a malformed submission, a missing folder) end with one line and exit status 2.

Lesson: notebook 02 (``02_membership_inference``): the attacks a class competes with.
"""

from __future__ import annotations

import json
from pathlib import Path

from .baselines import BASELINES, write_baseline
from .make import SOLUTIONS, make_challenge
from .scoring import format_table, leaderboard_html, score_submissions
from .targets import SIZES

__all__ = ["add_parser"]


def _cmd_make(args) -> int:
    info = make_challenge(args.dir, dataset=args.dataset, seed=args.seed, size=args.size,
                          weights=args.weights, jobs=args.jobs, progress=None)
    for t in info["targets"]:
        print(f"{t['name']:<9} {t['n_candidates']} candidates, train acc {t['train_acc']:.3f}, "
              f"test acc {t['test_acc']:.3f}")
    print(f"Wrote {args.dir} in {info['seconds']} s. Give students everything except "
          f"{Path(args.dir) / SOLUTIONS.parent}/ (the membership labels).")
    return 0


def _cmd_baseline(args) -> int:
    out = args.output or Path(f"{args.attack}.csv")
    print(f"Wrote {write_baseline(args.dir, args.attack, out, seed=args.seed)}")
    return 0


def _cmd_score(args) -> int:
    df = score_submissions(args.dir, args.submissions)
    print(format_table(df))
    if args.html:
        Path(args.html).write_text(leaderboard_html(df))
        print(f"Wrote {args.html}")
    if args.json:
        Path(args.json).write_text(json.dumps(df.to_dict(orient="records"), indent=1) + "\n")
    return 0


def _default_jobs() -> int:
    import os

    try:
        return max(1, min(4, len(os.sched_getaffinity(0))))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, min(4, os.cpu_count() or 1))


def add_parser(sub) -> None:
    """Add ``challenge`` and its subcommands to the CLI's subparsers ``sub``."""
    p = sub.add_parser("challenge", help="a membership-inference challenge for a class")
    csub = p.add_subparsers(dest="challenge_command", required=True,
                            parser_class=type(p))
    mk = csub.add_parser("make", help="train the targets and write the challenge folder")
    mk.add_argument("dir", metavar="DIR")
    mk.add_argument("--dataset", default="fashion-small",
                    choices=("fashion-small", "digits", "fashion-mnist"))
    mk.add_argument("--seed", type=int, default=0)
    mk.add_argument("--size", default="default", choices=tuple(SIZES),
                    help="'tiny' is for tests (few candidates, little leakage)")
    mk.add_argument("--weights", action="store_true", help="also write the targets' weights")
    mk.add_argument("--jobs", "-j", type=int, default=_default_jobs(), metavar="N",
                    help="targets trained at once (default: the usable cores, at most 4)")
    mk.set_defaults(func=_cmd_make)
    bl = csub.add_parser("baseline", help="write an example submission")
    bl.add_argument("dir", metavar="DIR")
    bl.add_argument("--attack", required=True, choices=BASELINES)
    bl.add_argument("--output", type=Path, help="CSV to write (default ATTACK.csv)")
    bl.add_argument("--seed", type=int, default=0, help="seed of the random baseline")
    bl.set_defaults(func=_cmd_baseline)
    sc = csub.add_parser("score", help="score submissions and write a leaderboard")
    sc.add_argument("dir", metavar="DIR", help="the challenge folder with solutions/")
    sc.add_argument("submissions", nargs="+", metavar="SUBMISSION.csv")
    sc.add_argument("--html", type=Path, help="write the leaderboard page here")
    sc.add_argument("--json", type=Path, help="write the scores as JSON here")
    sc.set_defaults(func=_cmd_score)
