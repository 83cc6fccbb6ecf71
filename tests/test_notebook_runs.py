"""Notebooks executed for real (papermill, quick mode): out of order, and without touching committed files.

Each guards a bug a student met: notebook 11 crashed after notebook 08 had left a brief
CNN3 made at another image size, and a quick ``make run-all`` rewrote every committed
notebook. The first runs two course notebooks, which ``make test``'s nbval pass runs anyway
(08 before 11), so it is marked slow and runs in ``make test-slow``; the second runs a
one-cell notebook.
"""

from __future__ import annotations

import subprocess

import pytest

from mri_helpers.course import notebooks
from mri_helpers.course.files import output_dirs
from mri_helpers.sources import REPO_ROOT

NOTEBOOKS = REPO_ROOT / "notebooks"


@pytest.fixture
def quick(monkeypatch):
    """Quick mode on the synthetic phantoms, whatever the developer's environment says."""
    monkeypatch.setenv("MRI_QUICK", "1")
    monkeypatch.delenv("MRI_CACHE_DIR", raising=False)  # the notebooks' kernels share the repository's cache
    if (REPO_ROOT / "data" / "brain-tumor-mri").is_dir():
        pytest.skip("data/brain-tumor-mri exists: these tests need the synthetic fallback")


def git_status() -> str:
    return subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=REPO_ROOT,
                          capture_output=True, text=True, check=True).stdout


@pytest.mark.slow
def test_notebook_08_then_11_in_quick_mode(quick, tmp_path):
    for name in ("08_hooks_feature_maps", "11_gradcam"):  # 08 looks at CNN3 at 256 px, 11 at 64 px
        notebooks.run_notebook(NOTEBOOKS / f"{name}.ipynb", "python3", timeout=600, dest=tmp_path / f"{name}.ipynb")
        assert (tmp_path / f"{name}.ipynb").stat().st_size > 0


def test_quick_run_all_leaves_the_committed_files_alone(quick, tmp_path):
    import nbformat

    tiny = tmp_path / "00_tiny.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(6 * 7)")]), tiny)
    before = git_status()
    assert notebooks.run_all([str(tiny)], "python3", timeout=600) == 0
    assert git_status() == before
    executed = output_dirs("synthetic", quick=True).notebooks / "00_tiny.ipynb"
    assert nbformat.read(executed, 4).cells[0].outputs[0]["text"] == "42\n"
    assert nbformat.read(tiny, 4).cells[0].outputs == []  # the source notebook is left as it was
