import json
import os
import shutil
from pathlib import Path

import nbformat
import pytest

from sparsepriv_nb import cli


def _notebook(folder: Path, name: str, source: str, params: str = "X = 1\nNAME = 'a'\n"):
    nb = nbformat.v4.new_notebook()
    p = nbformat.v4.new_code_cell(params)
    p.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell("# t"), p, nbformat.v4.new_code_cell(source)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, folder / name)


@pytest.fixture
def nbdir(tmp_path):
    (tmp_path / "params").mkdir()
    for prof in cli.PROFILES:
        (tmp_path / "params" / f"{prof}.yaml").write_text("all: {}\n")
    _notebook(tmp_path, "01_ok.ipynb", "print(X * 2, NAME)")
    _notebook(tmp_path, "02_fails.ipynb", "raise RuntimeError('boom')")
    return tmp_path


def test_parameters_are_read_from_tagged_cell(nbdir):
    infos = cli.find_notebooks(nbdir)
    assert [i.key for i in infos] == ["01", "02"]
    assert infos[0].parameters == {"X": 1, "NAME": "a"}


def test_unknown_parameter_is_rejected_before_running(nbdir, tmp_path):
    with pytest.raises(cli.ParameterError, match=r"'-p' option sets \['Y'\].*unknown "
                                                 r"parameter.*known: \['NAME', 'X'\]"):
        cli.run(overrides={"Y": 3}, notebooks_dir=nbdir, output=tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_ill_typed_parameter_is_rejected(nbdir, tmp_path):
    with pytest.raises(ValueError, match="X='many'.*int"):
        cli.run(overrides={"X": "many"}, notebooks_dir=nbdir, output=tmp_path / "out")


def test_only_validates_keys(nbdir):
    with pytest.raises(ValueError, match="'07'"):
        cli.run(only="07", notebooks_dir=nbdir)


def test_parse_assignments():
    assert cli.parse_assignments(["A=3", "B=[1, 2]", "C=fashion-mnist", "D=0.5"]) == \
        {"A": 3, "B": [1, 2], "C": "fashion-mnist", "D": 0.5}
    with pytest.raises(ValueError, match="NAME=VALUE"):
        cli.parse_assignments(["oops"])


_REPORTING = (
    "import os, matplotlib\nmatplotlib.use('Agg')\nimport matplotlib.pyplot as plt\n"
    "from IPython.display import display, Image\nimport io\n"
    "fig, ax = plt.subplots(); ax.plot([0, X]); buf = io.BytesIO(); fig.savefig(buf)\n"
    "display(Image(buf.getvalue()))\n"
    "print('Verdict: X doubled is', X * 2)\nprint('not a verdict')\n"
    "open('table.csv', 'w').write('a,b\\n1,2\\n')\n"
    "print('env', os.environ.get('OMP_NUM_THREADS'), os.environ.get('OMP_WAIT_POLICY'))"
)


def _collector(lines):
    return lambda *a, **k: lines.append(a[0])


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    """The same three notebooks (ok with verdict/figure/CSV, failing, ok) run with one job and
    with two: one kernel start per notebook and run, shared by the tests below."""
    folder = tmp_path_factory.mktemp("nbs")
    (folder / "params").mkdir()
    for prof in cli.PROFILES:
        (folder / "params" / f"{prof}.yaml").write_text("all: {X: 5}\n")
    _notebook(folder, "01_ok.ipynb", _REPORTING)
    _notebook(folder, "02_fails.ipynb", "import time\ntime.sleep(1)\nraise RuntimeError('boom')")
    _notebook(folder, "03_ok.ipynb", "print(NAME)")
    out = {}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("OMP_NUM_THREADS", "3")  # a user's setting: kept with one job only
        for jobs in (1, 2):
            lines = []
            out[jobs] = cli.run(overrides={"NAME": "b"}, notebooks_dir=folder,
                                output=tmp_path_factory.mktemp(f"rep{jobs}"), jobs=jobs,
                                log=_collector(lines)) + (lines,)
    return out


def test_run_writes_notebooks_html_and_index_and_names_failures(reports):
    out, rows, _ = reports[1]
    assert [r["status"] for r in rows] == ["ok", "failed", "ok"]
    assert "cell 3 of the executed notebook" in rows[1]["error"] and "boom" in rows[1]["error"]
    assert rows[1]["error"].endswith("RuntimeError: boom")  # the error's last line
    executed = nbformat.read(out / "01_ok.ipynb", as_version=4)
    assert "Verdict: X doubled is 10" in json.dumps(executed.cells[-1].outputs)
    index = (out / "index.html").read_text()
    assert "01_ok.html" in index and "failed" in index and "boom" in index
    assert rows[1]["failed_cell"] == "line 3: raise RuntimeError('boom')"
    assert "at <code>line 3: raise RuntimeError(&#39;boom&#39;)</code>" in index  # the line
    assert (out / "02_fails.html").exists()


def test_index_shows_effective_parameters_verdicts_thumbnail_and_data(reports):
    out, rows, _ = reports[1]
    r = rows[0]
    assert r["params"] == {"X": 5, "NAME": "b"}  # profile value and -p value, not only -p
    assert r["verdicts"] == ["Verdict: X doubled is 10"]
    assert r["csv"] == ["01_ok/table.csv"] and (out / "01_ok" / "table.csv").exists()
    assert (out / r["thumbnail"]).read_bytes()[:4] == b"\x89PNG"
    index = (out / "index.html").read_text()
    assert "X=5" in index and "NAME=&#39;b&#39;" in index
    assert "Verdict: X doubled is 10" in index and "not a verdict" not in index
    sections = index.split("<section class='notebook'>")[1:]
    assert len(sections) == 3  # one full-width block per notebook, in order
    assert "<div class='headline'>Verdict: X doubled is 10</div>" in sections[0]
    assert "No verdict cell ran: the notebook failed before printing one." in sections[1]
    assert "No verdict cell: this notebook prints no verdict line" in sections[2]
    assert f"href='01_ok.html'><img class='figure thumb' src='{r['thumbnail']}'" in index
    assert "href='01_ok/table.csv'" in index
    assert not (out / "03_ok").exists()  # no empty working folders left behind


def test_report_html_needs_no_network(reports):
    out, _, _ = reports[1]
    page = (out / "01_ok.html").read_text()
    assert "_static/mathjax/MathJax.js?config=" in page
    assert (out / "_static" / "mathjax" / "MathJax.js").exists()
    assert (out / "_static" / "mathjax" / "config" / "sparsepriv.js").exists()
    import re

    # nothing loaded from a network (nbconvert's Mermaid loader only imports when the page has
    # Mermaid diagrams, which the lessons do not)
    assert not re.findall(r"<(?:script|link|img)[^>]*(?:src|href)=[\"']?(?:https?:)?//", page)


def test_jobs_gives_the_same_rows_index_and_failures_as_one_job(reports):
    (out1, rows1, _), (out2, rows2, log2) = reports[1], reports[2]
    keep = ("name", "status", "params", "verdicts", "csv", "html", "thumbnail", "error")
    assert [{k: r.get(k) for k in keep} for r in rows2] == \
        [{k: r.get(k) for k in keep} for r in rows1]

    def table(out):  # the index without times
        import re
        return re.sub(r"<td>\d+\.\d</td>|written [^.]*\.|run time \d+\.\d s", "",
                      (out / "index.html").read_text())

    assert table(out1) == table(out2)
    assert "2 at a time" in log2[0]
    env = {j: json.dumps(nbformat.read(reports[j][0] / "01_ok.ipynb", as_version=4)
                         .cells[-1].outputs) for j in (1, 2)}
    assert "env 3 PASSIVE" in env[1]
    assert "env 1 PASSIVE" in env[2]  # one torch thread per kernel when notebooks run at once


def test_a_runs_last_notebook_starts_after_the_others_finish(tmp_path):
    """07 reads what 02-06 recorded: with two jobs it must not start beside them."""
    marker = tmp_path / "recorded.txt"
    _notebook(tmp_path, "01_writer.ipynb",
              f"import time\ntime.sleep(3)\nopen({str(marker)!r}, 'w').write('done')")
    _notebook(tmp_path, "02_reader.ipynb", f"assert open({str(marker)!r}).read() == 'done'")
    nb = nbformat.read(tmp_path / "02_reader.ipynb", as_version=4)
    nb.metadata["sparsepriv_nb"] = {"runs_last": True}
    nbformat.write(nb, tmp_path / "02_reader.ipynb")
    assert cli.runs_last(tmp_path / "02_reader.ipynb")
    assert not cli.runs_last(tmp_path / "01_writer.ipynb")
    (tmp_path / "params").mkdir()
    (tmp_path / "params" / "quick.yaml").write_text("all: {}\n")
    _, rows = cli.run(notebooks_dir=tmp_path, output=tmp_path / "o", jobs=2,
                      log=lambda *a, **k: None)
    assert [r["name"] for r in rows] == ["01_writer.ipynb", "02_reader.ipynb"]
    assert [r["status"] for r in rows] == ["ok", "ok"], rows


def test_jobs_exit_status_matches_one_job(nbdir, tmp_path, capsys):
    codes = [cli.main(["run", "--notebooks", str(nbdir), "--jobs", str(j),
                       "--output", str(tmp_path / f"o{j}")]) for j in (1, 2)]
    err = capsys.readouterr().err
    assert codes == [1, 1]
    assert err.count("FAILED 02_fails.ipynb: cell 2 of the executed notebook (In [2]): "
                     "RuntimeError: boom (at line 1: raise RuntimeError('boom'))") == 2


def test_cli_output_has_no_kernel_transport_warning(nbdir, tmp_path, capfd):
    assert cli.main(["run", "--notebooks", str(nbdir), "--only", "01", "--jobs", "1",
                     "--output", str(tmp_path / "o")]) == 0
    captured = capfd.readouterr()
    assert "TCP" not in captured.err + captured.out
    assert "01_ok.ipynb: ok" in captured.out


@pytest.mark.skipif(os.name != "posix", reason="Unix sockets only")
def test_concurrent_kernels_use_private_unix_sockets(tmp_path, monkeypatch, request):
    """Kernels started at once by --jobs never race for a TCP port: each listens on Unix
    sockets in a folder of its own, removed afterwards."""
    import tempfile

    # a temporary folder of this test's own: other processes' kernels (parallel workers,
    # other runs) come and go in the system's, so a before/after comparison there is flaky
    # (a short path: a Unix socket's path must stay under ~100 bytes)
    private = Path(tempfile.mkdtemp(prefix="spn-test-"))
    request.addfinalizer(lambda: shutil.rmtree(private, ignore_errors=True))
    monkeypatch.setattr(tempfile, "tempdir", str(private))
    monkeypatch.setenv("TMPDIR", str(private))
    before = set(private.glob("spn-kernel-*"))
    _notebook(tmp_path, "01_where.ipynb",
              "from ipykernel import get_connection_info\n"
              "import json\ninfo = json.loads(get_connection_info())\n"
              "print(info['transport'], info['ip'])")
    (tmp_path / "params").mkdir()
    (tmp_path / "params" / "quick.yaml").write_text("all: {}\n")
    out, rows = cli.run(notebooks_dir=tmp_path, output=tmp_path / "o", log=lambda *a, **k: None)
    assert rows[0]["status"] == "ok", rows
    nb = nbformat.read(tmp_path / "o" / "01_where.ipynb", 4)
    transport, ip = nb.cells[2].outputs[0]["text"].split()
    assert transport == "ipc" and Path(ip).is_absolute() and "spn-kernel-" in ip
    assert Path(ip).parent.parent == private  # in the temporary folder this test chose
    assert set(private.glob("spn-kernel-*")) == before  # cleaned up


def test_default_jobs_is_cores_capped_by_notebooks():
    import os

    cores = len(os.sched_getaffinity(0))
    assert cli.default_jobs(1) == 1
    assert cli.default_jobs(100) == cores
    assert cli.default_jobs(0) == 1


def test_main_rejects_bad_input_with_exit_code_2(tmp_path, capsys):
    code = cli.main(["run", "-p", "NO_SUCH_PARAM=1", "--output", str(tmp_path / "o")])
    assert code == 2 and "'-p' option sets ['NO_SUCH_PARAM']" in capsys.readouterr().err
    code = cli.main(["run", "-p", "EPOCHS=ten", "--only", "01", "--output", str(tmp_path / "o")])
    assert code == 2 and "EPOCHS='ten'" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_real_profiles_validate_against_real_notebooks():
    notebooks = cli.find_notebooks()
    for profile in cli.PROFILES:
        prof = cli.load_profile(profile)
        cli.check_profile(prof, notebooks, profile)
        for info in notebooks:
            cli.resolve_parameters(info, prof, {})


def test_papermill_parses_every_parameter_of_every_notebook():
    """papermill drops (with a warning) parameter lines it cannot parse; ours must all parse."""
    import papermill

    for info in cli.find_notebooks():
        found = papermill.inspect_notebook(str(info.path))
        assert set(found) == set(info.parameters), info.path.name


def _error_line(capsys):
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err  # one line, no traceback, no usage block
    return err


@pytest.mark.parametrize("argv, expected", [
    (["-p", "X=[1, 2"], "'-p' option 'X=[1, 2' is not valid YAML"),
    (["-p", "X={a: 1"], "'-p' option 'X={a: 1' is not valid YAML"),
    (["-p", "NAME='unclosed"], "'-p' option \"NAME='unclosed\" is not valid YAML"),
    (["-p", "=3"], "'-p' option must be NAME=VALUE. Got '=3'"),
    (["--only", ""], "'--only' option must name at least one notebook"),
    (["--only", " , "], "'--only' option must name at least one notebook, e.g. 01,02. Got ' , '"),
    (["--only", "07"], "'--only' option names ['07']"),
    (["--cell-timeout", "0"], "'--cell-timeout' option must be a whole number >= 1. Got '0'"),
    (["--cell-timeout", "-5"], "'--cell-timeout' option must be a whole number >= 1. Got '-5'"),
    (["--cell-timeout", "ten"], "'--cell-timeout' option must be a whole number >= 1"),
    (["--jobs", "0"], "'--jobs' option must be a whole number >= 1. Got '0'"),
    (["--profile", "huge"], "argument --profile: invalid choice: 'huge'"),
])
def test_bad_run_options_give_one_line_and_exit_2(nbdir, tmp_path, capsys, argv, expected):
    assert _exit_code(["run", "--notebooks", str(nbdir), "--output", str(tmp_path / "o"),
                       *argv]) == 2
    assert expected in _error_line(capsys)
    assert not (tmp_path / "o").exists()  # nothing ran


def _exit_code(argv):
    """``cli.main``'s return value, or the status argparse exits with."""
    try:
        return cli.main(argv)
    except SystemExit as exc:
        return exc.code


def test_output_naming_an_existing_file_is_rejected(nbdir, tmp_path, capsys):
    target = tmp_path / "report.html"
    target.write_text("keep me")
    assert cli.main(["run", "--notebooks", str(nbdir), "--output", str(target)]) == 2
    assert f"'--output' option must name a folder. Got '{target}', an existing file" in \
        _error_line(capsys)
    assert target.read_text() == "keep me"


@pytest.mark.parametrize("text, expected", [
    ("all: {X: [1, 2}\n", "is not valid YAML at line 1"),
    ("all:\n  X: 1\n bad indent: 2\n", "is not valid YAML at line"),
    ("- 1\n- 2\n", "must hold a mapping of notebook keys to parameters. Got a list"),
    ("'01': [1, 2]\n", "section '01' must be a mapping of NAME: value. Got [1, 2]"),
    ("al: {X: 2}\n", "has section(s) ['al']; a section is 'all' or a notebook's number: "
                     "['01', '02']"),
    ("'07': {X: 2}\n", "has section(s) ['07']"),
    ("all: {Y: 2}\n", "sets ['Y'] in section 'all', which no notebook declares; known: "
                      "['NAME', 'X']"),
    ("'01': {Y: 2}\n", "section '01' sets ['Y'], which 01_ok.ipynb does not declare"),
    ("all: {X: \"many\"}\n", "X='many' for 01_ok.ipynb must be of type int"),
    ("all: {X: 1}\nall: {X: 2}\n", ""),  # YAML keeps the last duplicate key: accepted
])
def test_broken_profile_file_gives_one_line_and_exit_2(nbdir, tmp_path, capsys, text, expected):
    (nbdir / "params" / "standard.yaml").write_text(text)
    if not expected:
        assert cli.main(["list", "--notebooks", str(nbdir), "--profile", "standard"]) == 0
        return
    for argv in (["run", "--output", str(tmp_path / "o")], ["list"]):
        assert cli.main([*argv, "--notebooks", str(nbdir), "--profile", "standard"]) == 2
        err = _error_line(capsys)
        if "must be of type" not in expected:
            assert "'--profile standard' file" in err and "standard.yaml" in err
        assert expected in err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("command", ["run", "list"])
def test_missing_profile_file_stops_with_exit_2(nbdir, tmp_path, capsys, command):
    (nbdir / "params" / "standard.yaml").unlink()
    argv = [command, "--notebooks", str(nbdir), "--profile", "standard"]
    assert _exit_code(argv + (["--output", str(tmp_path / "o")] if command == "run" else [])) == 2
    err = _error_line(capsys)
    assert "The '--profile' option names 'standard', but its file" in err
    assert f"{nbdir / 'params' / 'standard.yaml'} does not exist" in err
    assert "profiles available in" in err and "['quick', 'paper']" in err
    assert not (tmp_path / "o").exists()  # the notebooks did not run with their defaults


def test_profile_file_that_is_not_utf8_names_the_file_and_option(nbdir, tmp_path, capsys):
    path = nbdir / "params" / "paper.yaml"
    path.write_bytes("all: {NAME: 'é'}\n".encode("latin-1"))
    for argv in (["run", "--output", str(tmp_path / "o")], ["list"]):
        assert cli.main([*argv, "--notebooks", str(nbdir), "--profile", "paper"]) == 2
        err = _error_line(capsys)
        assert f"The '--profile paper' file {path} is not UTF-8 text: byte 0xe9" in err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("write, expected", [
    (lambda d: None, "holds no numbered notebook (NN_name.ipynb)"),
    (lambda d: (d / "01_x.ipynb").write_text("{not json"), "01_x.ipynb cannot be read: "
                                                          "Notebook does not appear to be JSON"),
    (lambda d: _notebook(d, "01_x.ipynb", "", params="X = list(range(3))\n"),
     "01_x.ipynb: the parameter X = list(range(3)) is not a literal"),
    (lambda d: _notebook(d, "01_x.ipynb", "", params="X = (\n"),
     "01_x.ipynb: the parameters cell is not valid Python"),
])
def test_bad_lessons_folder_gives_one_line_and_exit_2(tmp_path, capsys, write, expected):
    folder = tmp_path / "nbs"
    folder.mkdir()
    write(folder)
    for argv in (["run", "--output", str(tmp_path / "o")], ["list"]):
        assert cli.main([*argv, "--notebooks", str(folder)]) == 2
        assert expected in _error_line(capsys)
    assert not (tmp_path / "o").exists()


def test_list_uses_the_given_lessons_folder(nbdir, capsys):
    assert cli.main(["list", "--notebooks", str(nbdir)]) == 0
    out = capsys.readouterr().out
    assert f"lessons in {nbdir}" in out and "01_ok.ipynb" in out and "X = 1" in out


def test_lessons_copy_refuses_to_overwrite_edited_files(nbdir, tmp_path, capsys):
    from sparsepriv_nb import _lessons

    dest = tmp_path / "mine"
    written = _lessons.copy_lessons(dest, source=nbdir, log=lambda *a: None)
    assert sorted(p.name for p in written) == ["01_ok.ipynb", "02_fails.ipynb", "paper.yaml",
                                               "quick.yaml", "standard.yaml"]
    # unchanged copies follow a new version of the lessons
    _notebook(nbdir, "01_ok.ipynb", "print('new version')")
    assert [p.name for p in _lessons.copy_lessons(dest, source=nbdir, log=lambda *a: None)] \
        == ["01_ok.ipynb"]
    assert "new version" in (dest / "01_ok.ipynb").read_text()
    # an edited copy is never overwritten, and nothing else is written either
    (dest / "01_ok.ipynb").write_text("my notes")
    _notebook(nbdir, "01_ok.ipynb", "print('newer version')")
    (nbdir / "params" / "quick.yaml").write_text("all: {X: 2}\n")
    with pytest.raises(ValueError, match=r"edited lessons \['01_ok.ipynb'\]"):
        _lessons.copy_lessons(dest, source=nbdir, log=lambda *a: None)
    assert (dest / "01_ok.ipynb").read_text() == "my notes"
    assert (dest / "params" / "quick.yaml").read_text() == "all: {}\n"
    # a file the student put there themselves counts as edited too
    (dest / "02_fails.ipynb").write_text("theirs")
    (dest / ".sparsepriv-lessons.json").unlink()
    with pytest.raises(ValueError, match="02_fails.ipynb"):
        _lessons.copy_lessons(dest, source=nbdir, log=lambda *a: None)
    written = _lessons.copy_lessons(dest, source=nbdir, force=True, log=lambda *a: None)
    assert "newer version" in (dest / "01_ok.ipynb").read_text()
    assert (dest / "params" / "quick.yaml").read_text() == "all: {X: 2}\n"


def test_lessons_command(tmp_path, capsys, monkeypatch, nbdir):
    monkeypatch.setenv("SPARSEPRIV_NOTEBOOKS", str(nbdir))
    assert cli.main(["lessons", str(tmp_path / "l")]) == 0
    assert (tmp_path / "l" / "01_ok.ipynb").exists()
    assert "copied" in capsys.readouterr().out
    (tmp_path / "l" / "01_ok.ipynb").write_text("edited")
    assert cli.main(["lessons", str(tmp_path / "l")]) == 2
    assert "edited lessons ['01_ok.ipynb']" in _error_line(capsys)
    (tmp_path / "afile").write_text("x")
    assert cli.main(["lessons", str(tmp_path / "afile")]) == 2
    assert "'DEST' argument of lessons must be a folder" in _error_line(capsys)


def test_real_lessons_are_found_and_copied(tmp_path):
    from sparsepriv_nb import _lessons

    folder = _lessons.lessons_dir()
    names = [p.name for p in _lessons.copy_lessons(tmp_path, log=lambda *a: None)]
    assert names == [p.name for p in _lessons.lesson_files(folder)]
    assert "quick.yaml" in names and any(n.startswith("01_") for n in names)


def test_summary_prefers_the_headline_cell_and_reads_verdict_cells(tmp_path):
    import base64

    from sparsepriv_nb import _report

    def png(shade):
        import io

        from PIL import Image

        buf = io.BytesIO()
        Image.new("RGB", (4, 4), (shade, shade, shade)).save(buf, format="PNG")
        return base64.b64encode(buf.getvalue()).decode()

    def cell(tags, *outputs):
        c = nbformat.v4.new_code_cell("x")
        c.metadata["tags"] = tags
        c.outputs = list(outputs)
        return c

    stream = nbformat.v4.new_output
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        cell(["headline"], stream("display_data", data={"image/png": png(10)})),
        cell(["verdict"], stream("stream", name="stdout", text="sparser is lower\n\n"
                                                           "      mse   psnr\nbeta\n"
                                                           "1.0  0.01  18.2\n2.0  0.02  17.9\n"
                                                           "after the table\n")),
        cell([], stream("stream", name="stdout", text="noise\n  Verdict: computed\n"),
             stream("display_data", data={"image/png": png(200)})),
    ]
    nbformat.write(nb, tmp_path / "n.ipynb")
    out = _report.summarize(tmp_path / "n.ipynb", tmp_path / "thumb.png")
    assert out["verdicts"] == ["sparser is lower", "after the table", "Verdict: computed"]
    assert out["headline"] == "Verdict: computed"  # no verdict in the headline cell: the first
    nb.cells.append(cell(["headline"], stream("stream", name="stdout",
                                              text="Verdict: the answer\n")))
    nbformat.write(nb, tmp_path / "n.ipynb")  # a verdict printed by a headline cell wins
    assert _report.summarize(tmp_path / "n.ipynb")["headline"] == "Verdict: the answer"
    assert out["tables_left_out"] == 1  # the printed table is not dumped into the index
    assert out["thumbnail"] == "thumb.png"
    assert (tmp_path / "thumb.png").read_bytes() == base64.b64decode(png(10))
    assert out["failed_cell"] is None


def test_clean_outside_a_checkout_removes_only_reports(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(cli._lessons, "checkout_root", lambda: None)
    monkeypatch.chdir(tmp_path)
    ours, theirs = tmp_path / "reports" / "20260101-000000", tmp_path / "reports" / "mine"
    ours.mkdir(parents=True)
    theirs.mkdir()
    cli._report.write_index(ours, [], "quick")
    (theirs / "notes.txt").write_text("keep")
    assert cli.main(["clean"]) == 0
    assert not ours.exists() and (theirs / "notes.txt").read_text() == "keep"


def test_index_escapes_values_and_says_what_is_missing(tmp_path):
    from sparsepriv_nb import _report

    rows = [dict(name="01_a.ipynb", status="ok", seconds=2.25, html="01_a.html",
                 params={"X": 5, "NAME": "<b>"}, defaults={"X": 1, "NAME": "a"},
                 overrides={"NAME": "<b>"}, verdicts=["Verdict: x < y & z"], csv=[],
                 thumbnail=None, tables_left_out=2),
            dict(name="02_b.ipynb", status="pending", params={"X": 1}, defaults={"X": 1},
                 overrides={})]
    index = _report.write_index(tmp_path, rows, "quick").read_text()
    assert "<div class='headline'>Verdict: x &lt; y &amp; z</div>" in index
    assert "<b>'" not in index
    assert "<b title='set with -p'>NAME=&#39;&lt;b&gt;&#39;</b>" in index
    assert "<i title='set by the profile'>X=5</i>" in index
    assert "2 tables printed next to these verdicts are shown in the notebook only" in index
    assert "run time 2.2 s" in index and "<td>2.2</td>" in index
    pending = index.split("<section class='notebook'>")[2]
    assert "Not run yet." in pending and "run time" not in pending
    assert "href" not in pending  # no HTML yet: the name is not a link
