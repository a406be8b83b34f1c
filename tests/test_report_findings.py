"""The report index as a reader sees it (07's claims table first; per notebook its headline
finding, its figure, the rest folded) and ``sparsepriv-nb findings`` (FINDINGS.md from a
report), on synthetic report folders: no kernel runs here."""

from __future__ import annotations

import json
import runpy
from pathlib import Path

import pytest

from sparsepriv_nb import _report, cli, findings

ROOT = Path(__file__).resolve().parent.parent
write_synthetic = runpy.run_path(str(ROOT / "tools" / "synthetic_findings.py"))["write_synthetic"]
LONG = "Verdict: " + "a very long verdict line that must wrap, " * 12 + "end."


def make_report(folder: Path, *, with_07: bool = True) -> tuple[Path, list[dict]]:
    """A report folder as `sparsepriv-nb run` leaves it: rows, index.html, report.json and,
    with ``with_07``, notebook 07's claims.csv built from synthetic records."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = [
        dict(name="02_membership_inference.ipynb", status="ok", seconds=61.25,
             html="02.html", params={"SEED": 0}, defaults={"SEED": 0}, overrides={},
             verdicts=["Verdict: on the dense target, lira beats chance (AUC 0.76).",
                       "Verdict: magnitude vs dense: no detectable difference.", LONG],
             headline="Verdict: magnitude vs dense: no detectable difference.", csv=[]),
        dict(name="04_model_inversion.ipynb", status="ok", seconds=15.5, params={},
             verdicts=["fc1: PSNR lower"], headline=None, tables_left_out=1, csv=[]),
        dict(name="05_ppb_defense.ipynb", status="ok", seconds=18.0, params={}, verdicts=[],
             csv=[]),
        dict(name="06_dp_sgd_and_pruning.ipynb", status="failed", seconds=3.0, params={},
             verdicts=[], error="cell 4: RuntimeError: boom", csv=[]),
    ]
    if with_07:
        cache = folder / "_cache"
        write_synthetic(cache, verdicts={c: "not detectable at this power"
                                         for c in findings.CLAIMS} | {
            "gonon_density_attack": "supported"})
        (folder / "07_what_we_found").mkdir(exist_ok=True)
        table = findings.table(root=cache, profile="quick")
        table.drop(columns=["params"]).to_csv(folder / "07_what_we_found" / "claims.csv",
                                              index=False)
        printed = ("Verdict: " + findings.answer(table)).splitlines()  # as 07's cell prints it
        headline = _report._with_bullets(printed[0], printed)
        rows.append(dict(name="07_what_we_found.ipynb", status="ok", seconds=9.0,
                         html="07.html", params={"PROFILE": None}, csv=[
                             "07_what_we_found/claims.csv"],
                         verdicts=["Verdict: one line per claim", printed[0]],
                         headline=headline))
    _report.write_index(folder, rows, "quick", fresh=True)
    return folder, rows


def test_claims_table_heads_the_index_with_the_computed_answer(tmp_path):
    out, rows = make_report(tmp_path / "r")
    index = (out / "index.html").read_text()
    top, first_notebook = index.index("id='findings'"), index.index("<section class='notebook'>")
    assert top < first_notebook
    head = index[top:index.index("</section>", top)]
    assert head.count("<tr>") == 1 + len(findings.CLAIMS)
    assert "<div class='answer'><p>In this run sparser networks were more private in every " \
           "comparison that resolved.</p>\n<ul>\n<li><em>Across densities</em> (notebook 03): " \
           "attack AUC fell as density fell" in head
    assert head.count("<li>") == 5 and "claims have a record" not in head  # the table counts
    assert "&#34;we show that the lottery ticket networks are equally vulnerable" in head
    row = findings.table(root=out / "_cache", profile="quick").set_index("claim").loc[
        "gonon_density_attack"]
    assert findings.format_interval(row.estimate, row.lo, row.hi) in head
    assert "class='verdict v-supported'>supported</td>" in head


def test_sevens_answer_renders_its_bullets_as_a_list_in_its_own_section(tmp_path):
    out, rows = make_report(tmp_path / "r")
    s07 = (out / "index.html").read_text().split("<section class='notebook'>")[-1]
    headline = s07[s07.index("<div class='headline'>"):s07.index("</div>", s07.index(
        "<div class='headline'>"))]
    assert headline.startswith("<div class='headline'><p>Verdict: In this run")
    assert headline.count("<li>") == 5 and "</ul>" in headline and "- *" not in headline
    assert "<summary>1 more verdict</summary>" in s07  # the answer's line is not repeated


def test_a_headline_takes_the_bullets_printed_under_it_and_nothing_else(tmp_path):
    import nbformat

    nb = nbformat.v4.new_notebook()
    text = "Verdict: yes.\n\n- *a*: 1 < 2\n- b\n\nProfile 'quick': 9 of 9.\n- not this\n"
    cell = nbformat.v4.new_code_cell("print(answer)", metadata={"tags": ["headline"]})
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=text)]
    nb.cells.append(cell)
    nbformat.write(nb, tmp_path / "n.ipynb")
    got = _report.summarize(tmp_path / "n.ipynb")
    assert got["headline"] == "Verdict: yes.\n- *a*: 1 < 2\n- b"
    assert got["verdicts"] == ["Verdict: yes."]
    assert str(_report.markdown_lines(got["headline"])) == (
        "<p>Verdict: yes.</p>\n<ul>\n<li><em>a</em>: 1 &lt; 2</li>\n<li>b</li>\n</ul>")
    assert str(_report.markdown_lines("2*3 = 6, *not* a <b>")) == "2*3 = 6, *not* a &lt;b&gt;"


def test_each_notebook_shows_its_headline_then_figure_then_the_rest_folded(tmp_path):
    out, _ = make_report(tmp_path / "r")
    sections = (out / "index.html").read_text().split("<section class='notebook'>")[1:]
    s02, s04, s05, s06 = sections[:4]
    headline = "<div class='headline'>Verdict: magnitude vs dense: no detectable difference."
    assert headline in s02
    folded = s02[s02.index("<details class='verdicts'>"):]
    assert s02.index(headline) < s02.index("<details class='verdicts'>")
    assert "<summary>2 more verdicts</summary>" in folded
    assert "lira beats chance" in folded and "no detectable difference.</li>" not in folded
    assert "<div class='headline'>fc1: PSNR lower</div>" in s04  # no Verdict: line: the first
    assert "1 table printed next to these verdicts is shown in the notebook only" in s04
    assert "<td>" not in s04  # never a table dump  # never a table dump
    assert "No verdict cell: this notebook prints no verdict line" in s05
    assert "<li>" not in s05  # never an empty list
    assert "No verdict cell ran: the notebook failed" in s06 and "boom" in s06


def test_report_json_keeps_rows_and_the_runs_provenance(tmp_path, monkeypatch):
    out, rows = make_report(tmp_path / "r")
    data = _report.read_report(out)
    assert [r["name"] for r in data["rows"]] == [r["name"] for r in rows]
    assert data["rows"][0]["seconds"] == 61.25 and data["rows"][0]["verdicts"][2] == LONG
    run = data["run"]
    assert run["machine"] and run["python"] and run["started"]
    head = (ROOT / ".git").exists() and _report._git("rev-parse", "HEAD")
    assert run["commit"] == (head or "unknown")
    monkeypatch.setattr(_report, "run_info", lambda: {"commit": "later"})
    _report.write_index(out, rows, "quick")  # a later update of the same run keeps its start
    assert _report.read_report(out)["run"] == run
    _report.write_index(out, rows, "quick", fresh=True)  # a new run takes its own
    assert _report.read_report(out)["run"] == {"commit": "later"}


def test_commit_is_unknown_outside_a_checkout(monkeypatch):
    monkeypatch.setattr(_report, "_git", lambda *a: None)
    info = _report.run_info()
    assert info["commit"] == "unknown" and info["uncommitted_changes"] is None


def test_findings_command_writes_findings_md_from_the_report(tmp_path, capsys):
    out, rows = make_report(tmp_path / "r")
    target = tmp_path / "FINDINGS.md"
    assert cli.main(["findings", str(out), "--output", str(target)]) == 0
    assert f"wrote {target}" in capsys.readouterr().out
    text = target.read_text()
    run = _report.read_report(out)["run"]
    assert "# What the quick profile found" in text
    assert f"| commit | `{run['commit']}" in text and f"| run started | {run['started']} |" in text
    assert f"| machine | {run['machine']}, Python {run['python']} |" in text
    assert "| `02_membership_inference.ipynb` | ok | 61.2 |" in text
    assert "| `06_dp_sgd_and_pruning.ipynb` | failed | 3.0 |" in text
    assert "| sum over notebooks | | 106.8 |" in text
    table = findings.table(root=out / "_cache", profile="quick").drop(columns=["params"])
    assert findings.to_markdown(table) in text  # as claims.csv holds it (here: no params)
    assert findings.answer(table) in text
    assert f"- {LONG}" in text and "### `05_ppb_defense.ipynb`\n\nNo verdict cell." in text
    assert cli.main(["findings", str(out)]) == 0  # default: inside the report
    assert (out / "FINDINGS.md").read_text().split("\n", 4)[4] == text.split("\n", 4)[4]


@pytest.mark.parametrize("setup, words", [
    (lambda d: None, "does not exist"),
    (lambda d: d.mkdir(), "has no report.json: it is not a report written by"),
    (lambda d: (d.mkdir(), (d / "report.json").write_text("{oops")), "not a readable report"),
    (lambda d: (d.mkdir(), (d / "report.json").write_text('{"rows": 3}')),
     "is not a report summary (it needs 'run' and 'rows')"),
    (lambda d: make_report(d, with_07=False), "has no claims table (claims.csv of notebook "
                                              "07_what_we_found"),
])
def test_findings_command_rejects_what_is_not_a_finished_report(tmp_path, capsys, setup, words):
    folder = tmp_path / "rep"
    setup(folder)
    assert cli.main(["findings", str(folder), "--output", str(tmp_path / "F.md")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("sparsepriv-nb: error: ") and words in err, err
    assert err.count("\n") == 1 and not (tmp_path / "F.md").exists()


def test_findings_command_rejects_a_claims_table_from_elsewhere(tmp_path, capsys):
    out, _ = make_report(tmp_path / "r")
    (out / "07_what_we_found" / "claims.csv").write_text("a,b\n1,2\n")
    assert cli.main(["findings", str(out)]) == 2
    assert "is not notebook 07's claims table (missing columns" in capsys.readouterr().err
    out, _ = make_report(tmp_path / "r2")
    assert cli.main(["findings", str(out), "--output", str(tmp_path)]) == 2
    assert "'--output' option must name a file" in capsys.readouterr().err


def test_report_json_is_what_the_run_wrote(tmp_path):
    """Through `sparsepriv-nb run` itself (a tiny notebook): report.json has the row."""
    nbdir = tmp_path / "nbs"
    (nbdir / "params").mkdir(parents=True)
    (nbdir / "params" / "quick.yaml").write_text("all: {}\n")
    import nbformat

    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell("X = 1")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell("print('Verdict: fine')")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, nbdir / "01_x.ipynb")
    out, rows = cli.run(notebooks_dir=nbdir, output=tmp_path / "o", log=lambda *a, **k: None)
    data = json.loads((out / "report.json").read_text())
    assert data["profile"] == "quick" and data["rows"][0]["status"] == "ok"
    assert data["rows"][0]["headline"] == "Verdict: fine"
    assert data["rows"][0]["seconds"] == pytest.approx(rows[0]["seconds"])


def synthetic_independent(path: Path) -> Path:
    """A JSON as benchmarks/gonon_independent.py writes it: two runs, two claims; the runs
    agree on the first claim and disagree on the second."""
    claim = dict(estimate=-0.387, lo=-0.40291, hi=-0.37108, mde=0.02195, verdict="supported")
    runs = [dict(label="notebook analysis, seeds 0-7", seeds=list(range(8)), n_models=120,
                 claims={"gonon_density_error": claim,
                         "gonon_accuracy_control": dict(claim, estimate=0.0742, lo=0.059,
                                                        hi=0.0893)}),
            dict(label="independent analysis, seeds 100-103", seeds=[100, 101, 102, 103],
                 n_models=60,
                 claims={"gonon_density_error": dict(claim, estimate=-0.401),
                         "gonon_accuracy_control": dict(
                             claim, estimate=0.01, lo=-0.02, hi=0.04,
                             verdict="not detectable at this power")})]
    path.write_text(json.dumps({"description": "Synthetic: two runs.", "commit": "abc123",
                                "runs": runs}))
    return path


def test_findings_command_adds_the_independent_run_from_its_json(tmp_path, capsys):
    out, _ = make_report(tmp_path / "r")
    target = tmp_path / "FINDINGS.md"
    ind = synthetic_independent(tmp_path / "ind.json")
    assert cli.main(["findings", str(out), "--output", str(target), "--independent",
                     str(ind)]) == 0
    text = target.read_text()
    head = text.index("## Held against an independent run")
    assert text.index("## The seed papers' claims") < head < text.index("## Run times")
    assert "Synthetic: two runs." in text
    assert ("| `gonon_density_error` | notebook analysis, seeds 0-7 | 0-7 (8) | -0.3870 "
            "[-0.4029, -0.3711] | 0.0220 | supported |") in text
    assert ("| `gonon_accuracy_control` | independent analysis, seeds 100-103 | 100-103 (4) | "
            "+0.0100 [-0.0200, +0.0400] | 0.0220 | not detectable at this power |") in text
    assert "- `gonon_density_error`: every run says **supported**" in text
    assert ("- `gonon_accuracy_control`: the runs disagree (not detectable at this power, "
            "supported)") in text
    assert "commit abc123" in text
    assert cli.main(["findings", str(out), "--output", str(target)]) == 0
    assert "independent run" not in target.read_text()  # only when asked for


@pytest.mark.parametrize("content, words", [
    (None, "does not exist"),
    ("{oops", "is not readable JSON"),
    ('{"runs": [{"label": "x", "seeds": [0], "claims": {"c": {"estimate": 1}}}]}',
     "is not the output of benchmarks/gonon_independent.py"),
    ('{"runs": []}', "is not the output of benchmarks/gonon_independent.py"),
])
def test_findings_command_rejects_a_bad_independent_json(tmp_path, capsys, content, words):
    out, _ = make_report(tmp_path / "r")
    ind = tmp_path / "ind.json"
    if content is not None:
        ind.write_text(content)
    assert cli.main(["findings", str(out), "--output", str(tmp_path / "F.md"),
                     "--independent", str(ind)]) == 2
    err = capsys.readouterr().err
    assert "'--independent' file" in err and words in err, err
    assert not (tmp_path / "F.md").exists()


def test_index_claims_table_has_the_decided_by_column(tmp_path):
    out, _ = make_report(tmp_path / "r")
    index = (out / "index.html").read_text()
    head = index[index.index("id='findings'"):index.index("<section class='notebook'>")]
    assert "<th>verdict</th><th>decided by / caveats</th><th>notebook</th>" in head
    table = findings.table(root=out / "_cache", profile="quick")
    notes = [findings.note(r) or "–" for r in table.itertuples()]
    assert head.count("<td class='note'>") == len(findings.CLAIMS)
    for text in notes:
        assert f"<td class='note'>{text.replace(chr(39), '&#39;')}</td>" in head


def test_a_header_announcing_a_dropped_table_goes_with_it():
    table = ["      mse   psnr", "beta", "1.0  0.01  18.2", "2.0  0.02  17.9"]
    assert _report.drop_tables(["Mean per beta:", *table, "after"]) == (["after"], 1)
    kept = ["Verdict: per beta:", "a header:", "", *table]  # a verdict, or not just above
    assert _report.drop_tables(kept + ["after"]) == (kept[:3] + ["after"], 1)
    series = ["Counts per x:", "x", "a    1", "b    2", "Name: y, dtype: int64", "end"]
    assert _report.drop_tables(series) == (["end"], 1)
    assert _report.drop_tables(["no colon", *table]) == (["no colon"], 1)
