"""Kaggle and Colab, simulated: the set-up cell's command, where the data comes from, the badges."""

import subprocess
import sys
import types
from pathlib import Path

import nbformat
import pytest

from mri_helpers import hosted, sources, synthetic
from mri_helpers.course.editions import SETUP_TAG, with_hosted_cells

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("[0-9][0-9]_*.ipynb"))
KAGGLE = {"KAGGLE_KERNEL_RUN_TYPE": "Interactive", "KAGGLE_URL_BASE": "https://www.kaggle.com"}
COLAB = {"COLAB_RELEASE_TAG": "release-colab_20261201-060000_RC00", "COLAB_GPU": "1"}


def test_runtime_is_read_from_the_kernels_environment():
    assert hosted.runtime(KAGGLE) == "kaggle" and hosted.runtime(COLAB) == "colab"
    assert hosted.runtime({"HOME": "/home/me", "JPY_PARENT_PID": "12"}) is None


def _run_setup_cell(monkeypatch, environ: dict) -> list:
    for key, value in environ.items():
        monkeypatch.setenv(key, value)
    calls = []
    monkeypatch.setattr(subprocess, "run", lambda cmd, check: calls.append(cmd))
    exec(hosted.SETUP_CELL, {})
    return calls


@pytest.mark.parametrize("environ", [KAGGLE, COLAB])
def test_on_a_hosted_runtime_the_cell_installs_the_package_and_keeps_torch(monkeypatch, environ):
    (command,) = _run_setup_cell(monkeypatch, environ)
    assert command == hosted.install_command(sys.executable)
    assert command[-1] == f"git+https://github.com/{hosted.REPOSITORY}@{hosted.BRANCH}"
    assert not any("torch" in part for part in command)  # the runtime's own torch (and its GPU build) stays


def test_on_a_local_machine_the_cell_does_nothing(monkeypatch):
    assert _run_setup_cell(monkeypatch, {}) == []


def test_every_notebook_has_its_badges_and_the_setup_cell_after_its_parameters():
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        assert hosted.badges(path.name) in nb.cells[0].source.splitlines()[2], path.name
        assert nb.cells[0].source.startswith("# ") and "What you will learn" in nb.cells[0].source
        assert "parameters" in nb.cells[1].metadata["tags"], path.name
        assert nb.cells[2].source == hosted.SETUP_CELL and nb.cells[2].metadata["tags"] == [SETUP_TAG], path.name
        again = with_hosted_cells(nbformat.reads(nbformat.writes(nb), as_version=4), path.name)
        assert nbformat.writes(again) == nbformat.writes(nb), f"{path.name}: rewriting its hosted cells changes it"


def test_badges_open_this_notebook_on_kaggle_and_colab():
    line = hosted.badges("07_cnn3_wide_model.ipynb")
    repo = f"{hosted.REPOSITORY}/blob/{hosted.BRANCH}/notebooks/07_cnn3_wide_model.ipynb"
    assert f"(https://kaggle.com/kernels/welcome?src=https://github.com/{repo})" in line
    assert f"(https://colab.research.google.com/github/{repo})" in line


def _fake_kagglehub(monkeypatch, root_of_phantoms):
    fetched = []

    def dataset_download(handle, output_dir):
        fetched.append(handle)
        synthetic.make_dataset(Path(output_dir) / "nested", n_train_per_class=2, n_test_per_class=1, seed=0)
        return output_dir

    monkeypatch.setitem(sys.modules, "kagglehub", types.SimpleNamespace(dataset_download=dataset_download))
    return fetched


def test_on_colab_the_data_is_downloaded_once_into_the_home_folder(monkeypatch, tmp_path):
    fetched = _fake_kagglehub(monkeypatch, tmp_path)
    monkeypatch.setattr(Path, "home", lambda: tmp_path / "home")
    for key, value in COLAB.items():
        monkeypatch.setenv(key, value)
    root = sources.resolve_data_dir()
    assert root == tmp_path / "home" / "brain-tumor-mri" and (root / "Training").is_dir()
    assert sources.resolve_data_dir() == root and fetched == [sources.KAGGLE_HANDLE]  # the second call finds it


def test_on_kaggle_an_attached_dataset_comes_first_else_a_download(monkeypatch, tmp_path):
    fetched = _fake_kagglehub(monkeypatch, tmp_path)
    for key, value in KAGGLE.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(sources, "data_home", lambda name: tmp_path / f"{name}-working" / "brain-tumor-mri")
    assert sources.resolve_data_dir() == tmp_path / "kaggle-working" / "brain-tumor-mri" and len(fetched) == 1
    attached = synthetic.make_dataset(tmp_path / "input" / "brain-tumor-mri-dataset", n_train_per_class=2,
                                      n_test_per_class=1, seed=0)
    monkeypatch.setattr(sources, "KAGGLE_INPUT", tmp_path / "input")
    assert sources.resolve_data_dir() == attached and len(fetched) == 1
    assert hosted.data_home("kaggle") == Path("/kaggle/working/brain-tumor-mri")
