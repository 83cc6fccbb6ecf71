"""Shared fixtures: small synthetic datasets in temporary folders, and a clean environment."""

from __future__ import annotations

import shutil

import matplotlib
import pytest

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

from mri_helpers import sources, synthetic  # noqa: E402


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch, tmp_path):
    """No test reads the user's MRI_DATA_DIR or a Kaggle dataset, or writes into the repository's cache.

    Checkers print their hint instead of raising unless a test sets MRI_EXERCISES_STRICT itself.
    """
    monkeypatch.delenv("MRI_DATA_DIR", raising=False)
    monkeypatch.delenv("MRI_EXERCISES_STRICT", raising=False)
    monkeypatch.delenv("MRI_QUICK", raising=False)
    for marker in ("KAGGLE_KERNEL_RUN_TYPE", "COLAB_RELEASE_TAG"):  # a hosted runtime is simulated, never inherited
        monkeypatch.delenv(marker, raising=False)
    monkeypatch.setenv("MRI_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(sources, "KAGGLE_INPUT", tmp_path / "no-kaggle-input")
    yield
    plt.close("all")


@pytest.fixture(scope="session")
def small_root(tmp_path_factory):
    """12 training and 6 testing phantoms per class (48 + 24 files), made once."""
    return synthetic.make_dataset(tmp_path_factory.mktemp("small"), n_train_per_class=12, n_test_per_class=6, seed=0)


@pytest.fixture
def root_copy(small_root, tmp_path):
    """A private copy of the small dataset that a test may damage."""
    return shutil.copytree(small_root, tmp_path / "copy")
