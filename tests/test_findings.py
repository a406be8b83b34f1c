"""spn.findings: the verdict rules, the records notebooks 02-06 write, and what notebook 07
(and ``sparsepriv-nb findings``) make of them."""

from __future__ import annotations

import csv
import json
import math
import os
import runpy
from pathlib import Path

import pytest

from sparsepriv_nb import findings
from sparsepriv_nb._checks import ParameterError

ROOT = Path(__file__).resolve().parent.parent
SUP, CON, ND = findings.VERDICTS
write_synthetic = runpy.run_path(str(ROOT / "tools" / "synthetic_findings.py"))["write_synthetic"]


def _all(verdict: str, **some) -> dict:
    return {**{c: verdict for c in findings.CLAIMS}, **some}


# --------------------------------------------------------------------------- verdict rules

@pytest.mark.parametrize("lo, hi, sign, expected", [
    (0.01, 0.07, +1, SUP), (-0.07, -0.01, -1, SUP),       # on the claimed side
    (-0.07, -0.01, +1, CON), (0.01, 0.07, -1, CON),       # on the other side
    (-0.02, 0.04, +1, ND), (-0.02, 0.04, -1, ND),         # zero inside
    (0.0, 0.05, +1, ND), (-0.05, 0.0, +1, ND),            # zero on the edge is not excluded
    (0.0, 0.0, +1, ND), (math.nan, 0.05, +1, ND), (0.01, math.inf, +1, ND),
])
def test_directional_verdict(lo, hi, sign, expected):
    assert findings.directional_verdict(0.0, lo, hi, sign=sign) == expected


@pytest.mark.parametrize("lo, hi, expected", [
    (-0.01, 0.015, SUP), (-0.02, 0.02, SUP),              # inside [-m, m], edges included
    (0.001, 0.01, SUP),                                   # excludes zero, inside m
    (0.021, 0.05, CON), (-0.05, -0.03, CON),              # wholly outside [-m, m]
    (0.02, 0.05, ND), (-0.05, -0.02, ND),                 # touching the margin: not outside
    (0.01, 0.05, ND), (-0.05, -0.015, ND),                # excludes 0, not the margin
    (-0.03, 0.01, ND), (-0.01, 0.021, ND), (math.nan, math.nan, ND),
])
def test_equivalence_verdict(lo, hi, expected):
    assert findings.equivalence_verdict(lo, hi, margin=0.02) == expected


def test_equivalence_needs_a_half_width_below_margin_minus_estimate():
    r = findings.equivalence_needs(0.017, -0.007, 0.041, margin=0.02)
    assert r["half"] == pytest.approx(0.024) and r["needed"] == pytest.approx(0.003)
    assert r["factor"] == pytest.approx((0.024 / 0.003) ** 2)      # half-width ~ 1/sqrt(n)
    assert r["factor_at_zero"] == pytest.approx((0.024 / 0.02) ** 2)
    assert "0.02 - |+0.017| = 0.003; this run's is 0.024" in r["sentence"]
    assert "about 64x the members" in r["sentence"] and "about 1.4x the members" in r["sentence"]
    # negative estimates count by their size; an interval already narrow enough needs nothing
    assert findings.equivalence_needs(-0.017, -0.041, 0.007, margin=0.02)["needed"] == \
        pytest.approx(0.003)
    ok = findings.equivalence_needs(0.0, -0.01, 0.01, margin=0.02)
    assert ok["factor"] == pytest.approx(0.25) and "suffice" in ok["sentence"]
    # an estimate beyond the margin: no sample size shows equivalence
    far = findings.equivalence_needs(0.03, 0.01, 0.05, margin=0.02)
    assert far["factor"] == math.inf and "already beyond the margin" in far["sentence"]
    with pytest.raises(ParameterError, match="'margin' parameter of equivalence_needs"):
        findings.equivalence_needs(0.0, -0.01, 0.01, margin=0)
    with pytest.raises(ParameterError, match="lo <= hi"):
        findings.equivalence_needs(0.0, 0.01, -0.01, margin=0.02)


@pytest.mark.parametrize("call, words", [
    (lambda: findings.directional_verdict(0, -1, 1, sign=0), "'sign' parameter must be +1 or -1"),
    (lambda: findings.directional_verdict(0, -1, 1, sign=True), "Got True"),
    (lambda: findings.directional_verdict(0, 0.2, 0.1, sign=1), "lo <= hi. Got lo=0.2, hi=0.1"),
    (lambda: findings.directional_verdict("big", 0.1, 0.2, sign=1),
     "'estimate' parameter of directional_verdict must be a number"),
    (lambda: findings.equivalence_verdict(-1, 1, margin=0), "'margin' parameter"),
    (lambda: findings.equivalence_verdict(-1, 1, margin=-0.1), "positive number. Got -0.1"),
    (lambda: findings.equivalence_verdict(-1, 1, margin="a"), "Got 'a'"),
    (lambda: findings.equivalence_verdict(1, -1, margin=0.1), "lo <= hi"),
])
def test_verdict_rules_reject_bad_input(call, words):
    with pytest.raises(ParameterError, match=words.replace("(", r"\(").replace(")", r"\)")
                       .replace("+", r"\+").replace(".", r"\.")):
        call()


# --------------------------------------------------------------------------- records

def _rec(root, claim="yuan_zhang_attack", profile="quick", **kw):
    args = dict(estimate=0.04, lo=0.01, hi=0.07, mde=0.023, verdict=SUP,
                statistic="LiRA AUC, sparse - dense", root=root, profile=profile)
    return findings.record(claim, **{**args, **kw})


def test_record_round_trip_keeps_numbers_and_provenance(tmp_path):
    path = _rec(tmp_path, params={"SEED": 0, "PATH": Path("/x")}, detail="d")
    assert path == tmp_path / "findings" / "quick" / "yuan_zhang_attack.json"
    row = findings.load(claims=["yuan_zhang_attack"], root=tmp_path, profile="quick").iloc[0]
    assert (row.estimate, row.lo, row.hi, row.mde) == (0.04, 0.01, 0.07, 0.023)
    assert row.verdict == SUP and row.notebook == "02_membership_inference"
    assert row.params == {"SEED": 0, "PATH": "/x"} and row.detail == "d"
    assert row.profile == "quick" and row.written


def test_numpy_numbers_are_recorded_as_plain_floats(tmp_path):
    import numpy as np

    path = _rec(tmp_path, estimate=np.float64(0.04), lo=np.float32(0.01), hi=np.float64(0.07),
                mde=np.float64(0.02))
    entry = json.loads(path.read_text())
    assert entry["estimate"] == 0.04 and isinstance(entry["lo"], float)
    assert findings.directional_verdict(np.float64(0.1), np.float64(0.05), np.float64(0.2),
                                        sign=1) == SUP


def test_nan_interval_round_trips(tmp_path):
    _rec(tmp_path, lo=math.nan, hi=math.nan, mde=math.nan, verdict=ND)
    row = findings.load(claims=["yuan_zhang_attack"], root=tmp_path, profile="quick").iloc[0]
    assert math.isnan(row.lo) and math.isnan(row.mde)


def test_profiles_have_their_own_folders(tmp_path, monkeypatch):
    _rec(tmp_path, profile="standard", estimate=0.05)
    with pytest.raises(findings.FindingsMissing, match="profile 'quick'"):
        findings.load(claims=["yuan_zhang_attack"], root=tmp_path, profile="quick")
    monkeypatch.setenv("SPARSEPRIV_PROFILE", "standard")  # what `sparsepriv-nb run` sets
    assert findings.current_profile() == "standard"
    _rec(tmp_path, profile=None, estimate=0.06)  # default: $SPARSEPRIV_PROFILE
    got = findings.load(claims=["yuan_zhang_attack"], root=tmp_path)
    assert got.estimate.tolist() == [0.06] and got.profile.tolist() == ["standard"]
    monkeypatch.delenv("SPARSEPRIV_PROFILE")
    assert findings.current_profile() == "quick"
    assert not (tmp_path / "findings" / "quick").exists()


def test_default_root_is_the_data_folders_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SPARSEPRIV_DATA", str(tmp_path))
    assert findings.findings_dir(profile="quick") == tmp_path / "cache" / "findings" / "quick"


def test_record_is_atomic(tmp_path, monkeypatch):
    path = _rec(tmp_path, estimate=0.04)
    before = path.read_bytes()

    def crash(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        _rec(tmp_path, estimate=0.09)
    assert path.read_bytes() == before  # the old record, whole
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]  # no temporary left


@pytest.mark.parametrize("kw, words", [
    (dict(claim="gonon"), "'claim' parameter of record must be one of"),
    (dict(verdict="yes"), "'verdict' parameter of record must be one of"),
    (dict(estimate="high"), "'estimate' parameter of record must be a number"),
    (dict(mde=None), "'mde' parameter of record must be a number"),
    (dict(lo=0.1, hi=0.0), "lo <= hi"),
    (dict(mde=-0.01), "'mde' parameter of record must be >= 0"),
    (dict(statistic=" "), "'statistic' parameter of record must say"),
    (dict(profile="../etc"), "'profile' parameter of findings_dir must be a plain name"),
    (dict(profile=""), "'profile' parameter of findings_dir"),
])
def test_record_rejects_bad_input_and_writes_nothing(tmp_path, kw, words):
    with pytest.raises(ParameterError, match=words.replace("(", r"\(").replace(".", r"\.")):
        _rec(tmp_path, **kw)
    assert not (tmp_path / "findings").exists() or not any((tmp_path / "findings").rglob("*"))


def test_missing_records_name_the_notebooks_to_run(tmp_path):
    write_synthetic(tmp_path, verdicts=_all(ND))
    for c in ("yuan_zhang_attack", "bagmar_ticket"):  # both from notebook 02
        (tmp_path / "findings" / "quick" / f"{c}.json").unlink()
    (tmp_path / "findings" / "quick" / "huang_inversion.json").write_text("{not json")
    with pytest.raises(findings.FindingsMissing) as err:
        findings.load(root=tmp_path, profile="quick")
    msg = str(err.value)
    assert "for yuan_zhang_attack, huang_inversion, bagmar_ticket (" in msg  # CLAIMS order
    assert "huang_inversion: file unreadable" in msg
    assert "Run 02_membership_inference, 04_model_inversion first" in msg
    assert "sparsepriv-nb run --profile quick --only 02,04" in msg
    assert "03_confounding" not in msg
    got = findings.load(root=tmp_path, profile="quick", missing="skip")
    assert len(got) == 6 and "bagmar_ticket" not in set(got.claim)


def test_a_record_with_an_unknown_verdict_counts_as_unreadable(tmp_path):
    path = _rec(tmp_path)
    path.write_text(json.dumps({**json.loads(path.read_text()), "verdict": "maybe"}))
    with pytest.raises(findings.FindingsMissing, match="file unreadable"):
        findings.load(claims=["yuan_zhang_attack"], root=tmp_path, profile="quick")


def test_every_claim_is_quoted_or_marked_as_a_paraphrase():
    seeds = Path("/work/shared/seeds")
    texts = " ".join(p.read_text(errors="replace") for p in seeds.glob("*.txt")) \
        if seeds.is_dir() else None  # the workspace's copies; absent from a fresh clone
    if texts is not None:  # one word broken over a line ("non-\nmembers") is one word
        texts = " ".join(texts.split()).replace("- ", "-")
    for cid, c in findings.CLAIMS.items():
        prose = findings.claim_prose(cid)
        if c.quote:
            assert prose.startswith(f'"{c.quote}"') and c.paper in prose
            if texts is not None:  # the quote is the paper's words (our copy of them)
                assert " ".join(c.quote.split()) in texts, cid
        else:
            assert prose.startswith("Paraphrase: ")


# --------------------------------------------------------------------------- the summary

def test_table_keeps_a_row_for_every_claim_and_says_what_is_missing(tmp_path):
    write_synthetic(tmp_path, verdicts=_all(ND, huang_inversion=SUP))
    (tmp_path / "findings" / "quick" / "yuan_zhang_ppb.json").unlink()
    t = findings.table(root=tmp_path, profile="quick")
    assert t.claim.tolist() == list(findings.CLAIMS)
    row = t.set_index("claim").loc["yuan_zhang_ppb"]
    assert row.verdict == findings.NO_RECORD and math.isnan(row.estimate)
    assert "Run 05_ppb_defense first" in t.attrs["missing"]
    assert t.set_index("claim").loc["huang_inversion", "verdict"] == SUP
    assert findings.table(root=tmp_path, profile="standard").verdict.eq(
        findings.NO_RECORD).all()


def _answer(tmp_path, **verdicts):
    write_synthetic(tmp_path, verdicts=_all(ND, **verdicts))
    return findings.answer(findings.table(root=tmp_path, profile="quick"))


def _lead(text: str) -> str:
    return text.split("\n\n")[0]


def _titles(text: str) -> list[str]:
    return [line.split("*")[1] for line in text.splitlines() if line.startswith("- *")]


def test_answer_is_one_sentence_then_one_bullet_per_question_then_the_count(tmp_path):
    text = _answer(tmp_path, gonon_density_attack=SUP, huang_inversion=SUP)
    lead, bullets, count = text.split("\n\n")
    assert "\n" not in lead and lead.count(". ") == 0 and lead.endswith(".")
    assert all(line.startswith("- *") for line in bullets.splitlines())
    # resolved claims first (no seeds recorded: none counts as multi-seed), ties in topic order
    assert _titles(text) == ["Across densities", "Model inversion", "At one density", "PPB",
                             "DP-SGD with public masks"]
    assert count == ("Profile 'quick': 9 of 9 claims have a record (2 supported, 0 "
                     "contradicted, 7 not detectable at this power).")
    assert lead == "In this run sparser networks were more private in every comparison that " \
                   "resolved."
    for claim in findings.CLAIMS:  # prose names papers, not claim ids
        assert claim not in text


@pytest.mark.parametrize("verdicts, words", [
    (dict(yuan_zhang_attack=SUP, gonon_density_attack=CON), "more exposed, not less, in every "
                                                            "comparison that resolved"),
    (dict(gonon_density_attack=SUP, yuan_zhang_attack=SUP), "the answer depends on the "
                                                            "comparison"),
    (dict(bagmar_ticket=SUP), "sparsity did not change how exposed the networks were"),
    (dict(gonon_density_error=SUP, adamczewski_random_vs_magnitude=SUP),
     "This run cannot answer the question: no claim about sparsity and privacy was resolved"),
])
def test_the_lead_sentence_follows_the_verdicts(tmp_path, verdicts, words):
    assert words in _lead(_answer(tmp_path, **verdicts))


def test_a_claim_whose_parts_disagree_reads_differed_not_less_private(tmp_path):
    write_synthetic(tmp_path, verdicts=_all(ND))
    findings.record("huang_inversion", estimate=1.1, lo=0.3, hi=1.9, mde=1.2, verdict=CON,
                    statistic="PSNR slope", detail="fc1 harder, fc2 easier",
                    params={"direction": "differs"}, root=tmp_path, profile="quick")
    text = findings.answer(findings.table(root=tmp_path, profile="quick"))
    assert "the answer depends on the comparison" in _lead(text)
    assert "less private" not in text and "more exposed" not in text


def test_answer_without_records_names_the_notebooks_to_run(tmp_path):
    empty = findings.answer(findings.table(root=tmp_path / "none", profile="quick"))
    assert "0 of 9 claims have a record" in empty and "02_membership_inference" in empty
    assert "- *" not in empty



def test_markdown_has_one_row_per_claim_with_interval_and_mde(tmp_path):
    write_synthetic(tmp_path, verdicts=_all(ND))
    _rec(tmp_path, estimate=0.04, lo=0.01, hi=0.07, mde=0.023, statistic="a | b")
    md = findings.to_markdown(findings.table(root=tmp_path, profile="quick")).splitlines()
    assert len(md) == 2 + len(findings.CLAIMS)
    row = next(line for line in md if "a \\| b" in line)
    assert "+0.040 [+0.010, +0.070] | 0.023 | **supported** | – | `02_membership_inference`" in row
    assert row.count(" | ") == 7  # the escaped pipe does not split the row


def test_forest_plot_draws_one_panel_per_recorded_claim(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    write_synthetic(tmp_path, verdicts=_all(ND))
    (tmp_path / "findings" / "quick" / "bagmar_ticket.json").unlink()
    fig = findings.forest_plot(findings.table(root=tmp_path, profile="quick"))
    assert len(fig.axes) == len(findings.CLAIMS) - 1
    assert all(ax.get_xlabel() for ax in fig.axes)
    empty = findings.forest_plot(findings.table(root=tmp_path / "none", profile="quick"))
    assert "no finding recorded yet" in [t.get_text() for t in empty.axes[0].texts]


def test_notebook_07_reads_the_records_and_names_what_is_missing(tmp_path):
    """07 executed (papermill, as `sparsepriv-nb run` does) on a cache holding every record
    but notebook 04's: it shows the others' verdicts, says which notebook to run, writes its
    CSV, and fails no cell."""
    import papermill as pm

    write_synthetic(tmp_path / "data" / "cache", verdicts=_all(ND, yuan_zhang_attack=CON))
    (tmp_path / "data" / "cache" / "findings" / "quick" / "huang_inversion.json").unlink()
    env = {"SPARSEPRIV_DATA": str(tmp_path / "data"), "SPARSEPRIV_PROFILE": "quick"}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        out = pm.execute_notebook(str(ROOT / "notebooks" / "07_what_we_found.ipynb"),
                                  str(tmp_path / "07.ipynb"), cwd=str(tmp_path),
                                  progress_bar=False, kernel_name="python3")
    finally:
        for k, v in old.items():
            os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)
    text = "".join(o.get("text", "") for c in out.cells if c.cell_type == "code"
                   for o in c.get("outputs", []))
    assert "Missing: No finding recorded for huang_inversion" in text
    assert "Run 04_model_inversion first" in text
    assert "8 records, written 20" in text
    assert "Verdict: Yuan & Zhang 2022, yuan_zhang_attack: contradicted; LiRA AUC" in text
    assert "Verdict: Huang et al. 2020, huang_inversion: no record; run 04_model_inversion " \
           "first." in text
    assert "Verdict: In this run sparser networks were more private in every" in text
    assert "\n- *At one density* (notebook 02" in text
    assert "Profile 'quick': 8 of 9 claims have a record" in text
    csv = (tmp_path / "claims.csv").read_text()
    assert csv.splitlines()[0].startswith("claim,paper,claim_text,notebook")
    assert len(csv.splitlines()) == 1 + len(findings.CLAIMS)


# --------------------------------------------------------------------------- exercises of 07

def test_exercise_checks_pass_the_packages_own_rules(capsys):
    from sparsepriv_nb import findings_exercises as fx
    from sparsepriv_nb.power import mde_from_se

    for hidden in (False, True):
        fx.check_directional_verdict(
            lambda lo, hi, s: findings.directional_verdict(0.0, lo, hi, sign=s), hidden)
        fx.check_equivalence_verdict(
            lambda lo, hi, m: findings.equivalence_verdict(lo, hi, margin=m), hidden)
        fx.check_mde_from_se(lambda se, a, p: mde_from_se(se, alpha=a, power=p), hidden)
    out = capsys.readouterr().out
    assert out.count("checks passed") == 6
    assert out.count("(with hidden tests): all ") == 3


def _stub(*args):
    raise NotImplementedError()


@pytest.mark.parametrize("check, wrong, words, secret", [
    ("check_directional_verdict", lambda lo, hi, s: "supported",
     "Exercise 07.1, case 3 (an interval below zero, a positive effect claimed): expected the "
     "verdict the directional rule of section 2 gives for arguments (-0.05, -0.01, 1); yours "
     "returned 'supported'.", "'contradicted'"),
    ("check_directional_verdict", lambda lo, hi, s: "yes", "expected one of", None),
    ("check_equivalence_verdict", lambda lo, hi, m: ND,
     "Exercise 07.2, case 1 (an interval inside the margin): expected the verdict the "
     "equivalence rule", "'supported'"),
    ("check_mde_from_se", lambda se, a, p: 1.96 * se,
     "Exercise 07.3, case 1 (se = 0.01, alpha = 0.05, power = 0.8): expected (z of 1 - alpha/2 "
     "plus z of power) times se, within 1e-6 of the package's value; yours returned 0.0196.",
     "0.028"),
    ("check_mde_from_se", lambda se, a, p: "big", "expected one number", None),
    ("check_mde_from_se", _stub, "Exercise 07.3: `_stub` still raises NotImplementedError", None),
])
def test_a_wrong_exercise_answer_fails_readably_without_the_answer(check, wrong, words, secret):
    from sparsepriv_nb import findings_exercises as fx

    with pytest.raises(AssertionError) as err:
        getattr(fx, check)(wrong)
    assert words in str(err.value)
    if secret:
        assert secret not in str(err.value)


# ------------------------------------------------- the answer, from records like a real run's

def _run_like(root, params=True):
    """Records shaped like a quick run's (the numbers of one), with the params notebooks 03-06
    record, or without any params (notebook 04's are always kept)."""
    g = {"density_range": [0.02, 1.0], "n_seeds": 3, "main_attack": "lira-offline",
         "n_models": 24, "sparsest_density": 0.02,
         "acc_sparsest": [0.18, 0.57], "acc_dense": [0.77, 0.80],
         "slope_at_fixed_accuracy": [0.0644, 0.0024, 0.1265]}
    ctl = {**g, "controlled_slope_without_sparsest": [0.0328, -0.0447, 0.1103],
           "controlled_slope_with_lowered_dense": [-0.0332, -0.0692, 0.0028]}
    p02 = {"DENSITY": 0.25, "SEED": 0}

    def part(est, lo, hi, verdict):
        return {"estimate": est, "lo": lo, "hi": hi, "verdict": verdict}

    p05 = {"acc_margin": 0.02, "accuracy_margin": 0.02, "deciding_part": "accuracy",
           "baselines_beaten": 0, "n_baselines": 4, "n_seeds": 1,
           "best_attack_of": ["loss", "confidence", "modified_entropy-per-class", "salem"],
           "verdict_by_margin": {"0.01": CON, "0.02": CON, "0.03": ND, "0.05": ND},
           "parts": {"auc": part(-0.043, -0.067, -0.016, SUP),
                     "gap": part(0.004, -0.023, 0.031, ND),
                     "accuracy": part(-0.052, -0.080, -0.024, CON),
                     "adaptive_auc": part(-0.041, -0.076, -0.005, ND)}}
    p04 = {"direction": "differs", "unit": "dB per unit ln k", "n_images": 8, "seed": 0,
           "claimed_sign": 1, "opposed": ["fc2"],
           "layers": {"fc1": [4.3041, 2.0131, 6.5951, "worse reconstructed when sparse"],
                      "fc2": [-0.9911, -1.3053, -0.6770, "better reconstructed when sparse"],
                      "fc3": [0.112, -0.066, 0.291, "no detectable difference (within noise)"]}}
    p06 = {"DATASET": "fashion-small", "ARCH": "mlp", "MASK_EPSILON": 1.0, "DENSITY": 0.3,
           "EQUIVALENCE_MARGIN": 0.03, "epsilon": 0.99, "below_public_only": 4, "n_models": 5,
           "random_minus_magnitude": [-0.054, -0.088, -0.021],
           "dp_accuracy_vs_dense": {"freeze-magnitude": [0.072, 0.037, 0.102],
                                    "freeze-random": [-0.079, -0.117, -0.045],
                                    "select-magnitude": [0.106, 0.071, 0.140],
                                    "select-random": [0.052, 0.022, 0.083]},
           "dp_accuracy_vs_dense_holm": {"freeze-magnitude": "higher", "freeze-random": "lower",
                                         "select-magnitude": "higher", "select-random": "higher"}}
    holm = "in section 3's Holm family: no detectable difference (within noise)"
    halves = (f"{holm}. One seed and one set of reference models: ... nor the choice of "
              "reference models: two disjoint halves of them give -0.004 and +0.076.")
    for claim, numbers, verdict, statistic, detail, p in [
        ("gonon_density_error", (-0.2746, -0.3944, -0.1549, 0.1493), SUP,
         "slope of test error on log10 density (seed-clustered OLS)", "",
         {**g, "slope_without_sparsest": [-0.0416, -0.1264, 0.0433]}),
        ("gonon_density_attack", (0.1119, 0.1030, 0.1208, 0.0111), SUP,
         "slope of lira-offline AUC on log10 density (seed-clustered OLS)", "",
         {**g, "slope_without_sparsest": [0.0606, 0.0418, 0.0794]}),
        ("gonon_accuracy_control", (0.0541, -0.0120, 0.1203, 0.0824), ND,
         "shrink of that slope once test accuracy is controlled (raw minus controlled)", "", ctl),
        ("yuan_zhang_gap", (0.0066, -0.0039, 0.0166, 0.0151), ND,
         "confidence gap, magnitude-pruned (density 0.25) minus dense, one seed", "", p02),
        ("yuan_zhang_attack", (0.0244, 0.0012, 0.0483, 0.0338), SUP,
         "lira AUC, magnitude-pruned (density 0.25) minus dense, one seed", halves, p02),
        ("bagmar_ticket", (0.0169, -0.0066, 0.0412, 0.0338), ND,
         "lira AUC, lottery ticket (density 0.25) minus dense, one seed (equivalence margin "
         "0.02)", holm, p02),
        ("yuan_zhang_ppb", (-0.043, -0.067, -0.016, 0.0365), CON,
         "best non-adaptive attack AUC, PPB (lambda 4) minus plain fine-tuning",
         "adaptive attacker: not detectable after Holm over section 9's family", p05),
        ("huang_inversion", (1.142, 0.301, 1.917, 1.15), CON, "PSNR slope on ln k",
         "Per layer (Holm; dB per unit ln k)", p04),
        ("adamczewski_random_vs_magnitude", (-0.054, -0.088, -0.021, 0.0479), ND,
         "test accuracy, select-random minus select-magnitude (DP-SGD, public masks)",
         "at epsilon 0.99; equivalence margin 0.03, MDE of the difference test 0.048", p06)]:
        est, lo, hi, mde = numbers
        findings.record(claim, estimate=est, lo=lo, hi=hi, mde=mde, verdict=verdict,
                        statistic=statistic, detail=detail,
                        params=p if params or claim == "huang_inversion" else {},
                        root=root, profile="quick")
    return findings.table(root=root, profile="quick")


_WITH_PARAMS = [  # clauses that need a record's params
    "In this run sparser networks were less exposed to membership inference over densities "
    "0.02 to 1 (notebook 03, 3 seeds), but they were also less accurate, and whether part of "
    "the privacy gain is the accuracy lost is not resolved; 2 one-seed comparisons point "
    "elsewhere, Yuan & Zhang 2022's (notebook 02, at density 0.25, one seed, not detectable "
    "within its notebook's Holm family) and Huang et al. 2020's (notebook 04, model "
    "inversion), and are weaker evidence.\n\n",
    "- *Across densities* (notebook 03, densities 0.02 to 1, 3 seeds, lira-offline): attack "
    "AUC fell as density fell, +0.112 [+0.103, +0.121] per tenfold density; without density "
    "0.02: +0.061 [+0.042, +0.079], still detectable (Gonon et al. 2023: supported).",
    "Test error rose as density fell, -0.275 [-0.394, -0.155] per tenfold density, but it "
    "rests on density 0.02: without it -0.042 [-0.126, +0.043], not detectable; at density "
    "0.02 test accuracy was 0.18-0.57, against 0.77-0.80 dense (Gonon et al. 2023: supported).",
    ", and the slope at fixed test accuracy is detectable in 1 of 3 fits, estimates from "
    "-0.033 to +0.064 (Gonon et al. 2023: not detectable at this power).",
    "- *Model inversion* (notebook 04, one model, 8 images): the layers disagreed: fc1 became "
    "harder to invert as weights were pruned (+4.30 [+2.01, +6.60] dB per unit ln k), fc2 "
    "easier (-0.99 [-1.31, -0.68] dB per unit ln k); Huang et al. 2020: contradicted, and the "
    "mean over layers, +1.14 dB per unit ln k, hides this.",
    "- *PPB* (notebook 05, one seed): it lowered the AUC of the best of 4 non-adaptive attacks "
    "(loss, confidence, modified_entropy-per-class, salem; LiRA not run on defended models) by "
    "0.043 [0.016, 0.067] but cost 0.052 [0.024, 0.080] test accuracy, more than the 0.02 "
    "margin: Yuan & Zhang's PPB claim is contradicted at that margin; at margin 0.03 it is not "
    "detectable at this power. It did not detectably narrow the confidence gap, +0.004 "
    "[-0.023, +0.031]. After Holm it did not detectably change an adaptive attacker's AUC "
    "(-0.041), and it beat 0 of 4 baselines at equal accuracy.",
    "- *DP-SGD with public masks* (notebook 06, epsilon 0.99): ",
    "3 of 4 masked variants were more accurate than dense DP-SGD and 1 less accurate (Holm), "
    "but 4 of 5 DP models fell below the public-only model they started from (Holm).",
]
_ALWAYS = [  # clauses the records' numbers and words give without params
    "the pruned model was more attackable, lira AUC +0.024 [+0.001, +0.048] (Yuan & Zhang "
    "2022: supported), but this is not detectable after its notebook's Holm correction and the "
    "two halves of the reference models give -0.004 and +0.076.",
    "The lottery ticket's difference, +0.017 [-0.007, +0.041], shows neither equivalence "
    "within ±0.02 nor a difference (Bagmar et al. 2021: not detectable at this power).",
    "The confidence gap did not detectably change, +0.007 [-0.004, +0.017], MDE 0.0151",
    "random selection was less accurate than magnitude selection, -0.054 [-0.088, -0.021]; "
    "whether by more than the 0.03 margin is not resolved, so \"on par\" is neither shown nor "
    "excluded (Adamczewski & Park 2023: not detectable at this power).",
    "Whether part of this privacy gain is accuracy lost is not resolved: controlling for test "
    "accuracy shrinks the slope by +0.054 [-0.012, +0.120], MDE 0.0824",
]


def test_answer_says_what_each_verdict_rests_on(tmp_path):
    text = findings.answer(_run_like(tmp_path))
    for clause in _WITH_PARAMS + _ALWAYS:
        assert clause in text
    # the multi-seed result leads; the one-seed result that Holm did not confirm comes late
    assert _titles(text) == ["Across densities", "Model inversion", "PPB", "At one density",
                             "DP-SGD with public masks"]
    assert "supported, 2 contradicted, 4 not detectable at this power)." in text


def test_answer_leaves_out_what_the_records_do_not_hold(tmp_path):
    text = findings.answer(_run_like(tmp_path, params=False))
    for clause in _ALWAYS:
        assert clause in text
    for missing in ("densities 0.02", "0.18-0.57", "fixed test accuracy", "best of 4",
                    "masked variants", "public-only", "at margin 0.03", "adaptive attacker",
                    "baselines", "without density"):
        assert missing.lower() not in text.lower()
    # without n_seeds nothing counts as multi-seed: the lead weighs the resolved claims alike
    assert _lead(text) == ("In this run the answer depends on the comparison: the comparisons "
                           "that resolved do not point one way.")


def test_answer_reads_params_back_from_the_claims_csv(tmp_path):
    """Notebook 07 writes params as JSON into claims.csv; `sparsepriv-nb findings` computes
    the answer again from that file: it must say the same."""
    import pandas as pd

    frame = _run_like(tmp_path)
    path = tmp_path / "claims.csv"
    frame.assign(params=frame["params"].map(json.dumps)).to_csv(path, index=False)
    back = pd.read_csv(path)
    back.attrs["profile"] = "quick"
    assert findings.answer(back) == findings.answer(frame)
    back["params"] = "not json"
    assert "densities 0.02" not in findings.answer(back)


def _rerecord(root, claim, **params):
    """Record ``claim`` again with its params updated by ``params`` (and ``verdict``,
    ``estimate``, ``lo``, ``hi`` when given); returns the answer."""
    row = findings.table(root=root, profile="quick").set_index("claim").loc[claim]
    nums = {k: params.pop(k, getattr(row, k)) for k in ("estimate", "lo", "hi", "verdict")}
    findings.record(claim, **nums, mde=row.mde, statistic=row.statistic, detail=row.detail,
                    params={**row.params, **params}, root=root, profile="quick")
    return findings.answer(findings.table(root=root, profile="quick"))


def test_a_standard_like_run_reads_the_accuracy_control_and_agreeing_one_seed_results(tmp_path):
    """Notebook 03 resolves the control (supported) and its fixed-accuracy fits disagree in
    sign; notebook 02's one-seed result points the same way as 03's: weaker, but agreeing."""
    _run_like(tmp_path)
    _rerecord(tmp_path, "gonon_accuracy_control", verdict=SUP, estimate=0.074, lo=0.059,
              hi=0.089, slope_at_fixed_accuracy=[0.050, 0.034, 0.066],
              controlled_slope_without_sparsest=[0.050, 0.037, 0.062],
              controlled_slope_with_lowered_dense=[-0.049, -0.061, -0.036])
    _rerecord(tmp_path, "huang_inversion", verdict=ND, estimate=0.03, lo=-0.17, hi=0.23,
              direction="", opposed=[], layers={"fc1": [0.19, -0.27, 0.66, "no detectable"]})
    text = _rerecord(tmp_path, "yuan_zhang_attack", verdict=CON, estimate=-0.018, lo=-0.032,
                     hi=-0.004)
    assert _lead(text).endswith("but they were also less accurate, and part of the privacy gain "
                                "is the accuracy lost; the resolved one-seed comparisons below "
                                "agree, but are weaker evidence.")
    assert ("Part of this privacy gain is accuracy lost: controlling for test accuracy shrank "
            "the slope by +0.074 [+0.059, +0.089], and the slope at fixed test accuracy is "
            "detectable in 3 of 3 fits with opposite signs, estimates from -0.049 to +0.050") \
        in text
    assert "the pruned model was less attackable, lira AUC -0.018 [-0.032, -0.004]" in text
    assert ("no layer's PSNR slope was detectable after Holm; the mean over layers is +0.03 "
            "[-0.17, +0.23] dB per unit ln k, MDE 1.15 (Huang et al. 2020: not detectable") in text


def test_an_equivalence_claim_with_a_detected_difference_is_not_called_undetected(tmp_path):
    _run_like(tmp_path)
    text = _rerecord(tmp_path, "bagmar_ticket", estimate=-0.021, lo=-0.036, hi=-0.005)
    assert ("The lottery ticket differed from the dense model, -0.021 [-0.036, -0.005], but "
            "whether by more than the 0.02 margin is not resolved (Bagmar et al. 2021: not "
            "detectable at this power).") in text


def test_ppb_sentences_follow_each_parts_recorded_verdict(tmp_path):
    _run_like(tmp_path)
    p = findings.table(root=tmp_path, profile="quick").set_index("claim").at[
        "yuan_zhang_ppb", "params"]
    parts = {**p["parts"], "gap": {**p["parts"]["gap"], "verdict": SUP, "hi": -0.01},
             "accuracy": {"estimate": -0.004, "lo": -0.012, "hi": 0.005, "verdict": SUP},
             "adaptive_auc": {**p["parts"]["adaptive_auc"], "verdict": SUP}}
    text = _rerecord(tmp_path, "yuan_zhang_ppb", parts=parts, deciding_part=None, verdict=SUP,
                     verdict_by_margin={"0.02": SUP}, best_attack_of=["loss", "lira"])
    assert ("it lowered the AUC of the best of 2 non-adaptive attacks (loss, lira) by 0.043 "
            "[0.016, 0.067] and changed test accuracy by -0.004 [-0.012, +0.005], within the "
            "0.02 margin: Yuan & Zhang's PPB claim is supported. It narrowed the confidence "
            "gap by 0.004 [0.010, 0.023]. After Holm it lowered an adaptive attacker's AUC "
            "(-0.041)") in text
    parts["gap"] = {**parts["gap"], "verdict": ND, "lo": -0.02, "hi": 0.03}
    text = _rerecord(tmp_path, "yuan_zhang_ppb", parts=parts, deciding_part="gap", verdict=ND,
                     verdict_by_margin={"0.02": ND})
    assert "PPB claim is not detectable at this power, left open by its confidence-gap part." \
        in text


def test_dp_accuracy_counts_are_holm_words_when_recorded(tmp_path):
    """An interval that excludes 0 but that Holm did not detect is not counted as more
    accurate; without the Holm words the answer falls back to the intervals and says so."""
    _run_like(tmp_path)
    rec = tmp_path / "findings" / "quick" / "adamczewski_random_vs_magnitude.json"
    data = json.loads(rec.read_text())
    data["params"]["dp_accuracy_vs_dense_holm"]["select-random"] = \
        "no detectable difference (within noise)"
    data["params"]["below_public_only"] = 0
    rec.write_text(json.dumps(data))
    text = findings.answer(findings.table(root=tmp_path, profile="quick"))
    assert ("2 of 4 masked variants were more accurate than dense DP-SGD and 1 less accurate "
            "(Holm); 0 of 5 DP models fell below") in text
    del data["params"]["dp_accuracy_vs_dense_holm"]
    rec.write_text(json.dumps(data))
    text = findings.answer(findings.table(root=tmp_path, profile="quick"))
    assert ("3 of 4 masked variants were more accurate than dense DP-SGD and 1 less accurate "
            "(unadjusted 95 % intervals)") in text


def test_forest_plot_draws_margins_and_names_the_deciding_part(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    fig = findings.forest_plot(_run_like(tmp_path))
    panels = {ax.get_yticklabels()[0].get_text().split("\n")[1]: ax for ax in fig.axes}

    def dashed(ax):
        return sorted(round(line.get_xdata()[0], 4) for line in ax.get_lines()
                      if line.get_linestyle() == "--")
    assert dashed(panels["bagmar_ticket"]) == [-0.02, 0.02]
    assert dashed(panels["adamczewski_random_vs_magnitude"]) == [-0.03, 0.03]
    assert dashed(panels["yuan_zhang_attack"]) == []
    texts = {k: [t.get_text() for t in ax.texts] for k, ax in panels.items()}
    assert texts["yuan_zhang_ppb"] == ["decided by: test-accuracy part -0.052 [-0.080, -0.024] "
                                       "(contradicted at margin 0.02)"]
    assert texts["huang_inversion"] == ["decided by: layer fc2 -0.99 [-1.31, -0.68] (better "
                                        "reconstructed when sparse)"]
    assert texts["gonon_density_attack"] == []



# ------------------------------------------------- the "decided by / caveats" column

_NOTES = {  # what the column says for records shaped like a quick run's
    "gonon_density_error": "rests on density 0.02: without it -0.042 [-0.126, +0.043], not "
                           "detectable; 3 seeds",
    "gonon_accuracy_control": "interval includes 0; slope at fixed accuracy detectable in 1 of 3 "
                              "fits; 3 seeds",
    "yuan_zhang_gap": "interval includes 0; one seed",
    "yuan_zhang_attack": "one seed; not detectable after its notebook's Holm correction; "
                         "reference-model halves give -0.004 and +0.076",
    "bagmar_ticket": "interval includes 0 but reaches past the ±0.02 margin; one seed",
    "yuan_zhang_ppb": "decided by its test-accuracy part -0.052 [-0.080, -0.024] (contradicted "
                      "at margin 0.02); the estimate shown is its attack-AUC part (supported); "
                      "becomes not detectable at this power at margin 0.03; one seed",
    "adamczewski_random_vs_magnitude": "differs (interval excludes 0); whether by more than "
                                       "the 0.03 margin is not resolved",
}


def test_note_says_what_decided_or_limits_each_verdict(tmp_path):
    table = _run_like(tmp_path)
    notes = {r.claim: findings.note(r) for r in table.itertuples()}
    for claim, text in _NOTES.items():
        assert notes[claim] == text, claim
    md = findings.to_markdown(table)
    assert "| decided by / caveats |" in md.splitlines()[0]
    assert f"| {_NOTES['yuan_zhang_attack']} |" in md
    # read back from claims.csv (numbers as text, params as JSON): the same words
    path = tmp_path / "claims.csv"
    table.assign(params=table["params"].map(json.dumps)).to_csv(path, index=False)
    with open(path, newline="", encoding="utf-8") as f:
        rows = {r["claim"]: findings.note(r) for r in csv.DictReader(f)}
    assert rows == notes
    assert findings.note({"claim": "bagmar_ticket", "verdict": "no record"}) == ""


def test_note_names_the_layer_that_contradicted_huang(tmp_path):
    layers = {"fc1": [4.30, 2.01, 6.60, "worse when sparse"],
              "fc2": [-0.99, -1.31, -0.68, "better when sparse"],
              "fc3": [0.11, -0.07, 0.29, "no detectable difference"]}
    row = {"claim": "huang_inversion", "verdict": CON, "estimate": 1.14, "lo": 0.30, "hi": 1.92,
           "params": {"layers": layers, "opposed": ["fc2"]}}
    want = ("decided by layer fc2 -0.99 [-1.31, -0.68] (better when sparse); but fc1 +4.30 "
            "[+2.01, +6.60] (worse when sparse); the estimate shown averages the layers")
    assert findings.note(row) == want
    old = {**row, "params": {"direction": "differs"},  # an older record: from its detail
           "detail": "Layers detectably easier to invert when sparse: fc2. Per layer (Holm): "
                     "fc1: +4.30 [+2.01, +6.60] (worse when sparse); fc2: -0.99 [-1.31, -0.68] "
                     "(better when sparse); fc3: +0.11 [-0.07, +0.29] (no detectable "
                     "difference). Test accuracy k = 0.1 minus k = 1: -0.037 [-0.062, -0.012] "
                     "(paired)."}
    assert findings.note(old) == want
    assert findings.note({**row, "params": {}}) == ""  # nothing recorded to name a layer


def test_note_says_whether_a_density_slope_rests_on_the_sparsest_density():
    p = {"density_range": [0.02, 1.0], "n_seeds": 3, "sparsest_density": 0.02}
    row = {"claim": "gonon_density_error", "verdict": SUP, "estimate": -0.27, "lo": -0.39,
           "hi": -0.15, "params": {**p, "slope_without_sparsest": [-0.042, -0.126, 0.043]}}
    assert findings.note(row) == ("rests on density 0.02: without it -0.042 [-0.126, +0.043], "
                                  "not detectable; 3 seeds")
    row["params"]["slope_without_sparsest"] = [0.061, 0.042, 0.079]
    assert findings.note(row) == "holds without density 0.02 (+0.061 [+0.042, +0.079]); 3 seeds"
    assert findings.note({**row, "verdict": ND}) == "interval includes 0; 3 seeds"


def test_note_says_at_which_margin_a_verdict_would_change():
    row = {"claim": "yuan_zhang_ppb", "verdict": CON, "estimate": -0.043, "lo": -0.067,
           "hi": -0.016, "params": {"accuracy_margin": 0.02, "verdict_by_margin": {
               "0.01": CON, "0.02": CON, "0.03": "not detectable at this power",
               "0.05": "not detectable at this power"}}}
    assert findings.note(row) == "becomes not detectable at this power at margin 0.03"
    same = {**row["params"], "verdict_by_margin": {"0.01": CON, "0.05": CON}}
    assert findings.note({**row, "params": same}) == ""  # every margin agrees: nothing to say
    nearest = {**row["params"], "verdict_by_margin": {"0.001": "supported", "0.05": "x"}}
    assert findings.note({**row, "params": nearest}) == "becomes supported at margin 0.001"


def test_note_names_one_seed_from_the_params_when_the_text_does_not():
    row = {"claim": "yuan_zhang_ppb", "verdict": "not detectable at this power",
           "estimate": -0.01, "lo": -0.03, "hi": 0.01, "statistic": "best attack AUC",
           "detail": "one training seed per model", "params": {"n_seeds": 1}}
    assert findings.note(row).endswith("one seed")
    assert "one seed" not in findings.note({**row, "params": {"n_seeds": 3}})
