"""Guard the committed notebooks: parameters cell, checked cells, clean and small."""

import json
import re
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("[0-9][0-9]_*.ipynb"))
WIDGETS = ("Explorer(", "Browser(")


def test_the_course_is_all_there():
    assert [p.stem[:2] for p in NOTEBOOKS] == [f"{i:02d}" for i in range(1, len(NOTEBOOKS) + 1)]
    assert len(NOTEBOOKS) >= 7


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_well_formed(path):
    nb = json.loads(path.read_text())
    cells = nb["cells"]
    code = [c for c in cells if c["cell_type"] == "code"]
    src = ["".join(c["source"]) for c in code]
    assert cells[0]["cell_type"] == "markdown" and "What you will learn" in "".join(cells[0]["source"])
    assert "parameters" in code[0]["metadata"].get("tags", []), "the first code cell must be tagged 'parameters'"
    assert "QUICK = os.environ.get(\"MRI_QUICK\") == \"1\"" in src[0]
    assert any(s.startswith("# NBVAL_CHECK_OUTPUT") for s in src), "no cell is checked by nbval"
    for cell, s in zip(code, src):
        if cell.get("outputs"):
            assert cell["execution_count"] is not None, f"stored output without a run: {s[:40]!r}"
        if any(w in s for w in WIDGETS):
            assert s.startswith("# NBVAL_IGNORE_OUTPUT"), f"widget cell not ignored: {s[:40]!r}"
    text = path.read_text()
    assert "papermill" not in nb["metadata"] and "widgets" not in nb["metadata"]
    assert not re.search(r"/(work|root|home|tmp|Users)/[A-Za-z0-9_.-]+", text), "an absolute path is stored"
    assert path.stat().st_size < 2_000_000


def test_run_all_merges_notebook_times(tmp_path, monkeypatch, capsys):
    from mri_helpers.course import files, notebooks

    monkeypatch.setattr(files, "output_dirs",
                        lambda source, quick: files.OutputDirs(tmp_path, tmp_path, tmp_path, tmp_path / "nb"))
    monkeypatch.setattr(notebooks, "run_notebook",
                        lambda path, kernel, timeout, dest=None: 2.0 if "02" in str(path) else 3.0)
    (tmp_path / "notebook_times.json").write_text(json.dumps({"seconds": {"01_a": 9.0, "02_b": 8.0}}))
    assert notebooks.run_all(["notebooks/02_b.ipynb", "notebooks/03_c.ipynb"], "python3", 60) == 0
    times = json.loads((tmp_path / "notebook_times.json").read_text())
    assert times["seconds"] == {"01_a": 9.0, "02_b": 2.0, "03_c": 3.0}
    assert "all 2 notebooks ran in 0.1 min" in capsys.readouterr().out


def _notebook(path: Path, source: str) -> Path:
    import nbformat

    path.parent.mkdir(parents=True, exist_ok=True)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
    nbformat.write(nb, path)
    return path


@pytest.fixture
def repo(tmp_path, monkeypatch):
    """A stand-in repository root, so output_dirs' real rules pick folders under tmp_path."""
    from mri_helpers.course import files

    monkeypatch.setattr(files, "REPO_ROOT", tmp_path)
    return tmp_path


@pytest.mark.parametrize("source,quick,where", [
    ("synthetic", True, "scratch/synthetic-quick/notebooks"),
    ("synthetic", False, "scratch/synthetic/notebooks"),
    ("real", True, "scratch/real-quick/notebooks"),
    ("real", False, "notebooks"),  # only a full real-data run replaces the committed notebooks
])
def test_run_all_writes_executed_notebooks_where_output_dirs_says(repo, small_root, monkeypatch, source, quick,
                                                                   where, capsys):
    from mri_helpers.course import notebooks

    if source == "synthetic":
        monkeypatch.setenv("MRI_DATA_DIR", str(small_root))
    else:
        (repo / "real-data").mkdir()  # no synthetic marker: real data (run_all only looks, it does not scan)
        monkeypatch.setenv("MRI_DATA_DIR", str(repo / "real-data"))
    monkeypatch.setenv("MRI_QUICK", "1" if quick else "0")
    calls = []
    monkeypatch.setattr(notebooks, "run_notebook",
                        lambda path, kernel, timeout, dest=None: calls.append((Path(path), dest)) or 1.0)
    paths = [str(_notebook(repo / "notebooks" / name, "1 + 1")) for name in ("02_b.ipynb", "03_c.ipynb")]
    assert notebooks.run_all(paths, "python3", 60) == 0
    assert calls == [(Path(p), repo / where / Path(p).name) for p in paths]
    times = json.loads((repo / where.replace("notebooks", "results") / "notebook_times.json").read_text())
    assert times == {"data_source": source, "quick": quick, "seconds": {"02_b": 1.0, "03_c": 1.0}}
    said = "the committed ones are left as they are" in capsys.readouterr().out
    assert said == (where != "notebooks")


def test_quick_run_leaves_the_source_notebook_untouched(repo, small_root, monkeypatch):
    """run_notebook for real (papermill stubbed): the executed, cleaned copy goes to scratch, the source stays."""
    import nbformat
    import papermill

    from mri_helpers.course import notebooks

    monkeypatch.setenv("MRI_DATA_DIR", str(small_root))
    monkeypatch.setenv("MRI_QUICK", "1")

    def execute(inp, out, **kwargs):  # what papermill leaves behind: outputs, counts and its own metadata
        nb = nbformat.read(inp, as_version=4)
        nb.metadata["papermill"] = {"parameters": {}}
        nb.cells[0].metadata["papermill"] = {"duration": 0.1}
        nb.cells[0].execution_count = 1
        nb.cells[0].outputs = [nbformat.v4.new_output("execute_result", {"text/plain": "2"}, execution_count=1)]
        nbformat.write(nb, out)

    monkeypatch.setattr(papermill, "execute_notebook", execute)
    source = _notebook(repo / "notebooks" / "02_b.ipynb", "1 + 1")
    before = source.read_bytes()
    assert notebooks.run_all([str(source)], "python3", 60) == 0
    assert source.read_bytes() == before
    executed = nbformat.read(repo / "scratch" / "synthetic-quick" / "notebooks" / "02_b.ipynb", as_version=4)
    assert executed.cells[0].outputs[0]["data"]["text/plain"] == "2" and executed.cells[0].execution_count == 1
    assert "papermill" not in executed.metadata and "papermill" not in executed.cells[0].metadata
    assert sorted(p.name for p in source.parent.iterdir()) == ["02_b.ipynb"]  # no temporary file left beside it
