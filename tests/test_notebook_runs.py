"""Notebooks executed for real (papermill, quick mode): out of order, and without touching committed files.

These are the slowest tests (about a minute): they start real kernels. Each guards a bug
a student met: notebook 10 crashed after notebook 07 had left a brief CNN3 made at
another image size, and a quick ``make run-all`` rewrote every committed notebook.
"""

from __future__ import annotations

import subprocess

import pytest

from mri_helpers import notebooks
from mri_helpers.files import REPO_ROOT, output_dirs

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


def test_notebook_07_then_10_in_quick_mode(quick, tmp_path):
    for name in ("07_hooks_feature_maps", "10_gradcam"):  # 07 looks at CNN3 at 256 px, 10 at 64 px
        notebooks.run_notebook(NOTEBOOKS / f"{name}.ipynb", "python3", timeout=600, dest=tmp_path / f"{name}.ipynb")
        assert (tmp_path / f"{name}.ipynb").stat().st_size > 0


def test_quick_run_all_leaves_the_committed_files_alone(quick):
    before = git_status()
    assert notebooks.run_all([str(NOTEBOOKS / "02_dropout.ipynb")], "python3", timeout=600) == 0
    assert git_status() == before
    assert (output_dirs("synthetic", quick=True).notebooks / "02_dropout.ipynb").exists()
