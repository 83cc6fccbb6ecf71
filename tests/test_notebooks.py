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
    from mri_helpers import files, notebooks

    monkeypatch.setattr(files, "output_dirs", lambda source, quick: files.OutputDirs(tmp_path, tmp_path, tmp_path))
    monkeypatch.setattr(notebooks, "run_notebook", lambda path, kernel, timeout: 2.0 if "02" in str(path) else 3.0)
    (tmp_path / "notebook_times.json").write_text(json.dumps({"seconds": {"01_a": 9.0, "02_b": 8.0}}))
    assert notebooks.run_all(["notebooks/02_b.ipynb", "notebooks/03_c.ipynb"], "python3", 60) == 0
    times = json.loads((tmp_path / "notebook_times.json").read_text())
    assert times["seconds"] == {"01_a": 9.0, "02_b": 2.0, "03_c": 3.0}
    assert "all 2 notebooks ran in 0.1 min" in capsys.readouterr().out
