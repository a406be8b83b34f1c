"""The membership-inference challenge: files without labels, scoring, baselines, bad input.

One tiny challenge (size "tiny": 100 members per target) is made once for the module through
the CLI, with the experiment cache in a temporary SPARSEPRIV_DATA (or, to rerun quickly, e.g.
when trying mutations, in $SPN_CHALLENGE_TEST_DATA).
"""

import csv
import os

import numpy as np
import pytest

from sparsepriv_nb import cli
from sparsepriv_nb import challenge as C


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    root = tmp_path_factory.mktemp("challenge")
    mp = pytest.MonkeyPatch()
    mp.setenv("SPARSEPRIV_DATA", os.environ.get("SPN_CHALLENGE_TEST_DATA", str(root / "data")))
    try:
        assert cli.main(["challenge", "make", str(root / "c"), "--size", "tiny",
                         "--seed", "1", "--jobs", "1"]) == 0
        subs = {}
        for attack in C.BASELINES:
            subs[attack] = root / f"{attack}.csv"
            assert cli.main(["challenge", "baseline", str(root / "c"), "--attack", attack,
                             "--output", str(subs[attack])]) == 0
    finally:
        mp.undo()
    return root / "c", subs


def _rows(path):
    with open(path, newline="") as fh:
        return list(csv.reader(fh))


def test_make_writes_balanced_shuffled_candidates_and_keeps_labels_apart(made):
    folder, _ = made
    sol = C.read_solutions(folder / C.SOLUTIONS)
    assert list(sol) == [t.name for t in C.TARGETS]
    all_ids = [i for ids in sol.values() for i in ids]
    assert len(set(all_ids)) == len(all_ids) == 4 * 200  # ids unique over all targets
    for t in C.TARGETS:
        with np.load(folder / t.name / "candidates.npz") as z:
            cand = dict(z)
        with np.load(folder / t.name / "reference.npz") as z:
            ref = dict(z)
        with np.load(folder / t.name / "population.npz") as z:
            pop = dict(z)
        assert set(cand) == {"id", "X", "y", "logits"}  # no label among the student's files
        assert (np.diff(cand["id"]) > 0).all() and list(cand["id"]) == list(sol[t.name])
        member = np.array(list(sol[t.name].values()))
        assert member.sum() * 2 == len(member) == len(cand["X"]) == 200
        # the id order does not sort members first (as the pipeline's order does)
        assert 0.3 < member[:100].mean() < 0.7
        assert ref["ref_logits"].shape[:2] == ref["ref_in"].shape == (4, 200)
        assert (ref["id"] == cand["id"]).all()
        # the population shares no image with the candidates
        seen = {x.tobytes() for x in cand["X"]}
        assert not any(x.tobytes() in seen for x in pop["X"])
    students = [p for p in folder.rglob("*") if p.is_file() and "solutions" not in p.parts]
    assert len(students) == 2 + 3 * len(C.TARGETS)  # challenge.json, README.md, 3 per target
    assert all(p.suffix != ".csv" for p in students)


def test_random_submission_scores_within_its_interval_of_chance(made):
    """Each 95 % interval of a random submission contains chance about 95 % of the time (so
    one of a submission's 12 intervals may miss it: a coverage test, not one draw)."""
    folder, subs = made
    df = C.score_submissions(folder, [subs["random"]])
    assert ((df.auc_lo <= 0.5) & (df.auc_hi >= 0.5)).sum() >= 3  # of 4 targets
    membership = np.array(list(C.read_solutions(folder / C.SOLUTIONS)["dense"].values()))
    rng = np.random.default_rng(0)
    hits = {col: 0 for col in C.scoring.METRICS}
    for _ in range(60):
        r = C.score_scores(rng.random(len(membership)), membership, n_resamples=300)
        for col, (_, _, chance) in C.scoring.METRICS.items():
            hits[col] += r[f"{col}_lo"] <= chance <= r[f"{col}_hi"]
    assert all(52 <= h <= 60 for h in hits.values()), hits  # ~57 of 60 expected


def test_lira_beats_random_with_non_overlapping_intervals(made):
    folder, subs = made
    df = C.score_submissions(folder, [subs["random"], subs["lira"]]).set_index(
        ["submission", "target"])
    for target in ("dense", "pruned50"):
        assert df.loc[("lira", target), "auc_lo"] > df.loc[("random", target), "auc_hi"]
    assert df.loc[("lira", "dense"), "rank"] == 1


def test_scoring_is_deterministic_and_the_leaderboard_lists_every_submission(made, tmp_path):
    folder, subs = made
    paths = [subs[a] for a in C.BASELINES]
    a = C.score_submissions(folder, paths)
    b = C.score_submissions(folder, paths)
    assert a.equals(b)
    html_path = tmp_path / "board.html"
    assert cli.main(["challenge", "score", str(folder), *map(str, paths),
                     "--html", str(html_path)]) == 0
    page = html_path.read_text()
    assert all(f">{n}</td>" in page for n in C.BASELINES)
    assert page.count("<h2>Target ") == len(C.TARGETS)


def _broken(rows, kind):
    header, body = rows[0], [list(r) for r in rows[1:]]
    if kind == "missing id":
        return [header] + body[1:], r"1 candidate id\(s\) have no row, e.g. id \d+"
    if kind == "duplicate id":
        return [header] + body + [body[3]], rf"line {len(body) + 2}, column 'id': id \d+ " \
            r"appears again \(first on line 5\)"
    if kind in ("nan", "inf", "-inf"):
        body[6][2] = kind
        return [header] + body, f"line 8, column 'score': '{kind}' is not finite"
    if kind == "non-numeric":
        body[2][2] = "high"
        return [header] + body, "line 4, column 'score': 'high' is not a number"
    if kind == "non-integer id":
        body[2][1] = "x7"
        return [header] + body, "line 4, column 'id': 'x7' is not a whole number"
    if kind == "wrong column":
        return [["target", "id", "prob"]] + body, "unexpected column 'prob'"
    if kind == "no score column":
        return [["target", "id"]] + [r[:2] for r in body], "no 'score' column"
    if kind == "wrong target":
        body[0][0] = "dpsgd" if body[0][0] != "dpsgd" else "dense"
        return [header] + body, f"line 2, column 'target': id {body[0][1]} is a candidate"
    if kind == "short row":
        body[4] = body[4][:2]
        return [header] + body, "line 6: 2 fields"
    if kind == "header only":
        return [header], "has a header but no rows"
    raise AssertionError(kind)


@pytest.mark.parametrize("kind", ["missing id", "duplicate id", "nan", "inf", "-inf",
                                  "non-numeric", "non-integer id", "wrong column",
                                  "no score column", "wrong target", "short row", "header only",
                                  "empty"])
def test_malformed_submission_gets_one_clear_error_and_status_2(made, tmp_path, capsys, kind):
    folder, subs = made
    bad = tmp_path / "bad.csv"
    if kind == "empty":
        bad.write_text("")
        expected = "bad.csv is empty: expected a header line"
    else:
        rows, expected = _broken(_rows(subs["loss"]), kind)
        with open(bad, "w", newline="") as fh:
            csv.writer(fh).writerows(rows)
    capsys.readouterr()
    assert cli.main(["challenge", "score", str(folder), str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("sparsepriv-nb: error: bad.csv")
    assert __import__("re").search(expected, err), err


def test_id_score_columns_without_target_are_accepted(made, tmp_path):
    folder, subs = made
    rows = _rows(subs["loss"])
    plain = tmp_path / "plain.csv"
    with open(plain, "w", newline="") as fh:
        csv.writer(fh).writerows([["score", "id"]] + [[r[2], r[1]] for r in rows[1:]])
    a, b = (C.score_submissions(folder, [p]).drop(columns="submission")
            for p in (subs["loss"], plain))
    assert a.equals(b)


def test_scoring_without_solutions_and_bad_attack_fail_clearly(tmp_path, capsys):
    assert cli.main(["challenge", "score", str(tmp_path), str(tmp_path / "x.csv")]) == 2
    assert "No solutions file" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        cli.main(["challenge", "baseline", str(tmp_path), "--attack", "guess"])
    assert exc.value.code == 2
