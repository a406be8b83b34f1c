"""Who loses privacy when a network is pruned: sparsepriv_nb.shifts on synthetic scores with
planted shifts (and none)."""

import numpy as np
import pytest
import torch

from sparsepriv_nb import metrics, shifts
from sparsepriv_nb._checks import ParameterError
from sparsepriv_nb.experiments import ReferenceOutputs

MORE, LESS = shifts.MORE, shifts.LESS


def synthetic(seed=0, n=400, n_classes=4, planted=0.0, planted_class=2, top_shift=0.0,
              shared=0.7, calibration=0.0):
    """Members' scores = 1 + latent vulnerability + noise; non-members' = noise. The sparse
    model's noise is partly independent of the dense one's (a fraction ``shared`` of its
    variance is common, as for a model pruned from the dense one), so binning by the dense score
    regresses to the mean. ``planted`` is added to the sparse scores of the members of
    ``planted_class``, ``calibration`` to those of all its samples (members and non-members),
    ``top_shift`` to the members in the top quarter of the latent."""
    rng = np.random.default_rng(seed)
    m = np.r_[np.ones(n), np.zeros(n)].astype(int)
    labels = rng.integers(0, n_classes, 2 * n)
    latent = rng.normal(size=2 * n)
    common = rng.normal(size=2 * n)

    def scores():
        noise = np.sqrt(shared) * common + np.sqrt(1 - shared) * rng.normal(size=2 * n)
        return m * (1.0 + latent) + noise

    dense, sparse = scores(), scores()
    sparse += planted * ((labels == planted_class) & (m == 1))
    sparse += calibration * (labels == planted_class)
    sparse += top_shift * ((latent > np.quantile(latent[m == 1], 0.75)) & (m == 1))
    return dense, sparse, m, labels, latent


def verdicts(r, family):
    g = r.groups[r.groups.family == family]
    return dict(zip(g.group, g.verdict))


def test_exposure_mean_over_members_is_the_auc():
    d, s, m, labels, _ = synthetic(1)
    e = shifts.exposure(d, m)
    assert e[m == 1].mean() == pytest.approx(metrics.auc(d, m), abs=1e-12)
    r = shifts.membership_shifts(d, s, m, labels=labels, within_class=False, n_resamples=50)
    auc_change = metrics.auc(s, m) - metrics.auc(d, m)
    g = r.groups.set_index(["family", "group"])
    assert g.loc[("all members", "all"), "diff"] == pytest.approx(auc_change, abs=1e-12)
    cls = r.groups[r.groups.family == "class"]
    assert (cls.n * cls["diff"]).sum() / cls.n.sum() == pytest.approx(auc_change, abs=1e-12)


def test_within_class_exposure_is_each_class_auc():
    d, s, m, labels, _ = synthetic(1)
    r = shifts.membership_shifts(d, s, m, labels=labels, n_resamples=50)
    assert r.within_class
    for c in range(4):
        k = labels == c
        row = r.groups[(r.groups.family == "class") & (r.groups.group == str(c))].iloc[0]
        assert row.dense == pytest.approx(metrics.auc(d[k], m[k]), abs=1e-12)
        assert row["diff"] == pytest.approx(metrics.auc(s[k], m[k]) - metrics.auc(d[k], m[k]),
                                            abs=1e-12)


def test_a_model_more_confident_on_a_whole_class_shifts_nobody_within_class():
    d, s, m, labels, _ = synthetic(9, calibration=0.8)  # members and non-members of class 2
    within = shifts.membership_shifts(d, s, m, labels=labels, n_resamples=400)
    assert set(verdicts(within, "class").values()) == {metrics.NO_DIFFERENCE}
    glob = shifts.membership_shifts(d, s, m, labels=labels, within_class=False, n_resamples=400)
    assert verdicts(glob, "class")["2"] == MORE  # the confound that within_class removes


def test_a_planted_shift_in_one_class_is_detected_there_only():
    d, s, m, labels, _ = synthetic(2, planted=0.6)
    r = shifts.membership_shifts(d, s, m, labels=labels, n_resamples=400)
    v = verdicts(r, "class")
    assert v["2"] == MORE, v  # the sign: sparse minus dense, positive = more exposed
    assert all(w == metrics.NO_DIFFERENCE for c, w in v.items() if c != "2"), v
    row = r.groups[(r.groups.family == "class") & (r.groups.group == "2")].iloc[0]
    assert 0 < row.lo < row["diff"] < row.hi
    assert r.samples.loc[r.samples.label == 2, "shift"].mean() > 0.05


def test_a_planted_drop_reads_less_exposed_and_swapping_the_models_flips_it():
    d, s, m, labels, _ = synthetic(3, planted=-0.6)
    assert verdicts(shifts.membership_shifts(d, s, m, labels=labels, n_resamples=400),
                    "class")["2"] == LESS
    assert verdicts(shifts.membership_shifts(s, d, m, labels=labels, n_resamples=400),
                    "class")["2"] == MORE


def test_no_planted_shift_gives_no_more_detections_than_holm_allows():
    families_with_a_detection = 0
    uncorrected = 0
    for seed in range(60):
        d, s, m, labels, _ = synthetic(100 + seed, n=300, n_classes=5)
        r = shifts.membership_shifts(d, s, m, labels=labels, n_resamples=300, random_state=seed)
        families_with_a_detection += set(verdicts(r, "class").values()) != {
            metrics.NO_DIFFERENCE}
        uncorrected += (r.families["class"].frame.verdict_uncorrected
                        != metrics.NO_DIFFERENCE).any()
    # Holm keeps the family-wise error at 5 %: 3 of 60 expected; 8 or more has p ~ 0.01
    assert families_with_a_detection <= 7, families_with_a_detection
    assert uncorrected >= families_with_a_detection


def test_binning_by_the_dense_score_regresses_to_the_mean_and_independent_bins_do_not():
    d, s, m, labels, latent = synthetic(4, n=600)  # nothing planted
    naive = shifts.membership_shifts(d, s, m, vulnerability=d, n_resamples=400)
    assert verdicts(naive, "vulnerability")["Q4 (most)"] == LESS  # the artefact
    assert verdicts(naive, "vulnerability")["Q1 (least)"] == MORE
    fair = shifts.membership_shifts(d, s, m, vulnerability=latent, n_resamples=400)
    assert set(verdicts(fair, "vulnerability").values()) == {metrics.NO_DIFFERENCE}
    assert verdicts(fair, "most vs rest") == {"Q4 (most) - rest": metrics.NO_DIFFERENCE}


def test_a_planted_shift_of_the_most_vulnerable_is_detected_in_the_top_bin():
    d, s, m, labels, latent = synthetic(5, n=600, top_shift=1.2)
    r = shifts.membership_shifts(d, s, m, vulnerability=latent, n_resamples=400)
    v = verdicts(r, "vulnerability")
    assert v["Q4 (most)"] == MORE, v
    assert v["Q1 (least)"] == metrics.NO_DIFFERENCE, v
    assert verdicts(r, "most vs rest")["Q4 (most) - rest"] == MORE
    assert r.answer().startswith("The most vulnerable quarter of the members (Q4, "
                                 "n=150): more exposed, shift +")
    assert "compared with the other members: more exposed" in r.answer()
    lines = r.verdict_lines()
    assert any(x.startswith("Verdict: vulnerability, Q1, least vulnerable (n=150)") for x in lines)
    assert any(x.startswith("Verdict: most vs rest, Q4 - rest (n = 150 vs 450): ") for x in lines)
    top = r.samples[r.samples.vulnerability_bin == "Q4 (most)"]
    assert (top.vulnerability >= r.samples.vulnerability.quantile(0.75) - 1e-9).all()


def test_dense_prediction_groups_and_small_groups():
    d, s, m, labels, _ = synthetic(6)
    correct = np.ones(len(d), int)
    correct[np.flatnonzero(m == 1)[:3]] = 0  # three wrong members: fewer than min_group
    r = shifts.membership_shifts(d, s, m, dense_correct=correct, n_resamples=100)
    v = verdicts(r, "dense prediction")
    assert v["wrong"] == "not measurable here"
    assert r.groups.set_index("group").loc["wrong", "n"] == 3
    assert any("not measurable here" in line for line in r.verdict_lines())


def test_dense_prediction_with_an_empty_group_says_so_instead_of_a_family():
    d, s, m, labels, _ = synthetic(6)
    r = shifts.membership_shifts(d, s, m, dense_correct=np.ones(len(d), int), n_resamples=100)
    assert "dense prediction" not in set(r.groups.family) and "dense prediction" not in r.families
    lines = r.verdict_lines()
    assert not any("Verdict: dense prediction" in line for line in lines)
    n = int(m.sum())
    assert (f"By dense prediction: the dense model classified all {n} attacked members correctly, "
            "so there is no 'wrong' group to compare (no family).") in lines


def test_same_seed_same_numbers_and_verdict_lines_state_intervals_and_mdes():
    d, s, m, labels, latent = synthetic(7, planted=0.6)
    kw = dict(labels=labels, vulnerability=latent, n_resamples=200)
    a = shifts.membership_shifts(d, s, m, random_state=3, **kw)
    b = shifts.membership_shifts(d, s, m, random_state=3, **kw)
    c = shifts.membership_shifts(d, s, m, random_state=4, **kw)
    assert a.groups[["lo", "hi"]].equals(b.groups[["lo", "hi"]])
    assert not a.groups["lo"].equals(c.groups["lo"])
    lines = a.verdict_lines()
    assert all(line.startswith("Verdict: ") for line in lines)
    assert any(line.startswith("Verdict: class, 2 (n=") and "more exposed, shift +" in line
               for line in lines), lines
    assert all("could detect |Δ| ≥" in line for line in lines if "no detectable" in line)


def test_most_shifted_are_the_largest_changes_each_way():
    d, s, m, labels, _ = synthetic(8)
    r = shifts.membership_shifts(d, s, m, n_resamples=20)
    top = r.most_shifted(3)
    assert list(top.direction) == [MORE] * 3 + [LESS] * 3
    assert top["shift"].iloc[0] == r.samples["shift"].max()
    assert top["shift"].iloc[3] == r.samples["shift"].min()
    assert (m[top["index"]] == 1).all()


def test_reference_vulnerability_is_the_in_minus_out_confidence_gap():
    rng = np.random.default_rng(0)
    keep = np.array([[1, 0, 1], [0, 1, 0], [1, 1, 0], [0, 0, 1]], bool)
    logits = torch.tensor(rng.normal(size=(4, 3, 2)))
    y = torch.tensor([0, 1, 1])
    phi = np.stack([logits[i, np.arange(3), y].numpy() - logits[i, np.arange(3), 1 - y].numpy()
                    for i in range(4)])  # two classes: phi = z_y - z_other
    want = [phi[keep[:, j], j].mean() - phi[~keep[:, j], j].mean() for j in range(3)]
    got = shifts.reference_vulnerability(ReferenceOutputs(logits, y, keep))
    np.testing.assert_allclose(got, want, rtol=1e-10)


@pytest.mark.parametrize("change, match", [
    (dict(sparse_scores=np.zeros(5)), "'sparse_scores'.*shape"),
    (dict(dense_scores=np.r_[np.nan, np.zeros(7)]), "'dense_scores'.*NaN"),
    (dict(sparse_scores=np.r_[np.inf, np.zeros(7)]), "'sparse_scores'.*NaN or infinite"),
    (dict(membership=np.r_[np.ones(4), 2 * np.ones(4)]), "'membership'.*0/1"),
    (dict(membership=np.ones(8)), "single class"),
    (dict(labels=np.zeros(3)), "'labels'.*shape \\(8,\\)"),
    (dict(vulnerability=np.r_[np.nan, np.arange(7.0)]), "'vulnerability'.*NaN"),
    (dict(vulnerability=np.zeros(8)), "fewer than n_bins=4"),
    (dict(dense_correct=np.full(8, 2)), "'dense_correct'.*0/1"),
    (dict(n_bins=1), "'n_bins'.*\\[2, inf\\)"),
    (dict(n_resamples=5), "'n_resamples'"),
    (dict(alpha=1.5), "'alpha'"),
    (dict(within_class=True), "'within_class'.*needs 'labels'"),
    (dict(within_class=1), "'within_class'.*bool"),
    (dict(labels=np.r_[0, 0, 0, 1, 0, 0, 0, 0]), "class.*\\[1\\] have none"),
])
def test_bad_input_names_the_parameter(change, match):
    kw = dict(dense_scores=np.arange(8.0), sparse_scores=np.arange(8.0)[::-1],
              membership=np.r_[np.ones(4), np.zeros(4)])
    kw.update(change)
    with pytest.raises(ValueError, match=match):
        shifts.membership_shifts(**kw)


def test_reference_vulnerability_rejects_what_is_not_a_reference_output():
    with pytest.raises(ParameterError, match="'references'.*ReferenceOutputs"):
        shifts.reference_vulnerability(np.zeros((4, 3, 2)))
    keep = np.zeros((4, 3), bool)
    keep[:2] = True
    keep[:, 0] = True  # sample 0: no OUT model
    with pytest.raises(ValueError, match="one IN and one OUT"):
        shifts.reference_vulnerability(ReferenceOutputs(torch.zeros(4, 3, 2),
                                                        torch.tensor([0, 1, 0]), keep))


def test_answer_needs_vulnerability_bins_and_plots_need_a_result():
    from sparsepriv_nb import plots_shifts

    d, s, m, labels, _ = synthetic(10)
    r = shifts.membership_shifts(d, s, m, labels=labels, n_resamples=20)
    with pytest.raises(ValueError, match="vulnerability=") as e:
        r.answer()
    assert "vulnerability" in str(e.value)
    with pytest.raises(ParameterError, match="'result' parameter of plot_group_shifts"):
        plots_shifts.plot_group_shifts(r.groups)
    fig = plots_shifts.plot_most_shifted(r, np.zeros((len(d), 1, 4, 4)), k=2)
    titles = [ax.get_title() for ax in fig.axes]
    row = r.most_shifted(2).iloc[0]
    assert titles[0] == f"{int(row.label)}\n{row['dense']:.2f} → {row['sparse']:.2f}"


def _run(logits, target_logits, y, keep, m):
    from sparsepriv_nb.experiments import ModelOutputs

    return {"references": ReferenceOutputs(logits, y, keep),
            "target": ModelOutputs(target_logits, y, m)}


def _two_runs(n, *, seed, keep_seed):
    """A dense and a sparse run of random logits on the same n samples, 8 reference models:
    ``(keep, labels, membership, [dense, sparse])``."""
    from sparsepriv_nb.attacks import reference_in_masks

    rng = np.random.default_rng(seed)
    keep = reference_in_masks(n, 8, seed=keep_seed)
    y = torch.tensor(rng.integers(0, 3, n))
    m = np.r_[np.ones(n // 2), np.zeros(n // 2)].astype(int)
    runs = [_run(torch.tensor(rng.normal(size=(8, n, 3))), torch.tensor(rng.normal(size=(n, 3))),
                 y, keep, m) for _ in range(2)]
    return keep, y, m, runs


def test_held_out_lira_bins_from_one_half_and_scores_from_the_other():
    from sparsepriv_nb.attacks import LiRA

    keep, y, m, (dense, sparse) = _two_runs(60, seed=0, keep_seed=1)
    h = shifts.held_out_lira(dense, sparse)
    idx = h.index
    even, odd = np.arange(8) % 2 == 0, np.arange(8) % 2 == 1
    assert all(keep[half][:, idx].any(0).all() and (~keep[half][:, idx]).any(0).all()
               for half in (even, odd))
    rd = dense["references"]
    want_v = shifts.reference_vulnerability(ReferenceOutputs(rd.logits[even][:, idx], y[idx],
                                                             keep[even][:, idx]))
    np.testing.assert_allclose(h.vulnerability, want_v)
    for run, got in ((dense, h.dense), (sparse, h.sparse)):
        r = run["references"]
        lira = LiRA().fit(r.logits[odd][:, idx], y[idx], keep[odd][:, idx])
        np.testing.assert_allclose(got, lira.score_samples(run["target"].logits[idx], y[idx]))
    assert (h.membership == m[idx]).all() and (h.labels == y.numpy()[idx]).all()
    with pytest.raises(ValueError, match="at least 8 reference models"):
        shifts.held_out_lira(_run(rd.logits[:6], dense["target"].logits, y, keep[:6], m),
                             _run(rd.logits[:6], dense["target"].logits, y, keep[:6], m))
    with pytest.raises(ParameterError, match="needs both runs' outputs with reference models"):
        shifts.held_out_lira({"references": None}, sparse)


def _lira(run, mask, idx):
    from sparsepriv_nb.attacks import LiRA

    r = run["references"]
    return LiRA().fit(r.logits[mask][:, idx], r.labels[idx], r.ref_in[mask][:, idx]) \
        .score_samples(run["target"].logits[idx], r.labels[idx])


def test_reference_check_holds_the_full_auc_difference_and_the_held_out_shift():
    from sparsepriv_nb import power

    n = 120
    _, _, m, runs = _two_runs(n, seed=2, keep_seed=3)
    rc = shifts.reference_check(*runs, n_resamples=200, random_state=4)
    t = rc.table.set_index(["samples", "references", "ranking"])
    assert len(t) == 7 and rc.n_models == 8
    every, all8 = np.arange(n), np.ones(8, bool)
    d, s = (_lira(r, all8, every) for r in runs)
    full = t.loc[(shifts.ALL_SAMPLES, shifts.ALL_REFS, shifts.GLOBAL)]
    want = power.paired_mde(s, d, m, "auc", n_resamples=200, random_state=4)
    assert np.isclose(full["diff"], metrics.auc(s, m) - metrics.auc(d, m))
    assert np.isclose(full.lo, want["lo"]) and np.isclose(full.hi, want["hi"])
    h = shifts.held_out_lira(*runs)
    who = shifts.membership_shifts(h.dense, h.sparse, h.membership, labels=h.labels,
                                   n_resamples=200, random_state=4)
    got = t.loc[(shifts.BOTH_HALVES, shifts.HELD_OUT, shifts.WITHIN)]
    want = who.groups.set_index("family").loc["all members"]
    assert np.isclose(got["diff"], want["diff"]) and np.isclose(got.lo, want.lo)
    assert np.isclose(got.hi, want.hi)
    even = np.arange(8) % 2 == 0
    d, s = (_lira(r, even, h.index) for r in runs)
    other = t.loc[(shifts.BOTH_HALVES, shifts.OTHER_HALF, shifts.GLOBAL)]
    assert np.isclose(other["diff"], metrics.auc(s, h.membership) - metrics.auc(d, h.membership))
    assert rc.sentence().endswith(".")
    with pytest.raises(ParameterError, match="'n_resamples' parameter of reference_check"):
        shifts.reference_check(*runs, n_resamples=1)


def _check(diffs):
    keys = [(shifts.ALL_SAMPLES, shifts.ALL_REFS, shifts.GLOBAL)] + [
        (shifts.BOTH_HALVES, r, k) for r in (shifts.ALL_REFS, shifts.HELD_OUT, shifts.OTHER_HALF)
        for k in (shifts.GLOBAL, shifts.WITHIN)]
    import pandas as pd

    t = pd.DataFrame(keys, columns=["samples", "references", "ranking"]).assign(diff=diffs)
    return shifts.ReferenceCheck(t, 8)


@pytest.mark.parametrize("diffs, start, noise", [
    # full, same, same-within, half, half-within, other, other-within
    ([.03, .03, .02, -.01, -.02, .07, .06], "The sign flips with the reference models, not with "
     "the ranking", "more than"),
    ([.03, .03, -.01, .025, -.02, .035, .01], "The sign flips with the ranking, not with the "
     "reference models", "less than"),
    ([.03, .03, .02, .02, .01, .04, .03], "The two comparisons agree in sign here", "less than"),
    ([.03, .03, -.005, -.03, -.04, .05, .04], "Both changes move it; the larger move comes from "
     "the references", "more than"),
])
def test_reference_check_sentence_names_the_change_that_flips_the_sign(diffs, start, noise):
    text = _check(diffs).sentence()
    assert text.startswith(start + ":"), text
    gap = abs(diffs[3] - diffs[5])
    assert f"differ by {gap:.3f}, {noise} the full comparison's 0.030" in text
    assert ("its sign rests on reference-model noise" in text) == (noise == "more than")


def test_a_family_line_with_no_detected_group_has_no_dangling_none():
    d, s, m, labels, _ = synthetic(9, n_classes=6)
    r = shifts.membership_shifts(d, d, m, labels=labels, n_resamples=100)
    line = next(x for x in r.verdict_lines() if x.startswith("Verdict: by class"))
    assert "none" not in line and "((" not in line and ") (" not in line, line
    assert "groups shift detectably after Holm (chance alone would give" in line, line
    assert line.endswith(", per group in the table."), line
