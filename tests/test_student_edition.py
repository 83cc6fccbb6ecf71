"""The student edition runs headless: no cell fails, and every checker prints a hint (``make test-student``).

Each notebook's student edition (solutions stubbed, answers and outputs removed) is
executed in quick mode on the synthetic phantoms, as a student who has not yet written
anything would run it.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from mri_helpers.course import editions

pytestmark = pytest.mark.student

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def _text(cell) -> str:
    return "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("output_type") == "stream")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_student_edition_runs_and_every_checker_gives_a_hint(path, tmp_path, monkeypatch):
    monkeypatch.setenv("MRI_QUICK", "1")
    monkeypatch.delenv("MRI_EXERCISES_STRICT", raising=False)
    [student] = editions.write_student_edition([path], tmp_path)
    nb = nbformat.read(student, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="mri-course", resources={"metadata": {"path": str(tmp_path)}}).execute()
    checks = [c for c in nb.cells if c.cell_type == "code" and re.search(r"^check_\w+\(", c.source, re.M)]
    assert checks, "no checker cell found"
    for cell in checks:
        assert "✗ not yet" in _text(cell) and "✓" not in _text(cell), cell.source
