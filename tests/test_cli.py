import json
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
    with pytest.raises(ValueError, match="Unknown parameter.*'Y'"):
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


def test_run_writes_notebooks_html_and_index_and_names_failures(nbdir, tmp_path):
    out, rows = cli.run(overrides={"X": 21}, notebooks_dir=nbdir, output=tmp_path / "rep",
                        log=lambda *a, **k: None)
    assert [r["status"] for r in rows] == ["ok", "failed"]
    assert "cell 3 of the executed notebook" in rows[1]["error"] and "boom" in rows[1]["error"]
    executed = nbformat.read(out / "01_ok.ipynb", as_version=4)
    assert "42 a" in json.dumps(executed.cells[-1].outputs)
    index = (out / "index.html").read_text()
    assert "01_ok.html" in index and "failed" in index and "boom" in index
    assert (out / "02_fails.html").exists()


def test_main_rejects_bad_input_with_exit_code_2(tmp_path, capsys):
    code = cli.main(["run", "-p", "NO_SUCH_PARAM=1", "--output", str(tmp_path / "o")])
    assert code == 2 and "Unknown parameter" in capsys.readouterr().err
    code = cli.main(["run", "-p", "EPOCHS=ten", "--only", "01", "--output", str(tmp_path / "o")])
    assert code == 2 and "EPOCHS='ten'" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_real_profiles_validate_against_real_notebooks():
    for profile in cli.PROFILES:
        prof = cli.load_profile(profile)
        for info in cli.find_notebooks():
            cli.resolve_parameters(info, prof, {})


def test_papermill_parses_every_parameter_of_every_notebook():
    """papermill drops (with a warning) parameter lines it cannot parse; ours must all parse."""
    import papermill

    for info in cli.find_notebooks():
        found = papermill.inspect_notebook(str(info.path))
        assert set(found) == set(info.parameters), info.path.name
