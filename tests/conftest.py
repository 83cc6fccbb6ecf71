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
    """No test reads the user's MRI_DATA_DIR or a Kaggle dataset, or writes into the repository's cache."""
    monkeypatch.delenv("MRI_DATA_DIR", raising=False)
    monkeypatch.delenv("MRI_QUICK", raising=False)
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


V1_FIELDS = ("model", "data_source", "seed", "epochs", "stopped_early", "train_seconds", "parameters",
             "layer_parameters", "history", "test_accuracy", "test_macro_f1", "test_report", "confusion_matrix",
             "test_labels", "test_predictions", "classes", "device", "torch", "cpu_threads", "platform",
             "image_size", "train_images", "test_images", "test_indices")


def as_schema1(record: dict, checkpoint=None, old_checkpoint=None) -> dict:
    """A schema-2 run record (and its checkpoint) reshaped the way the course wrote them before runs had ids.

    Schema 1 had ``lr`` and ``batch_size`` at the top, no fingerprint or recipe (CNN0-CNN3),
    and the de-duplicated score written into the record. Its checkpoint's meta held
    ``lr`` and no recipe or run id.
    """
    old = {k: record[k] for k in V1_FIELDS}
    old.update(lr=record["recipe"]["lr"], batch_size=record["recipe"]["batch_size"], dedup_test_accuracy=0.5,
               dedup_test_images=2)
    if checkpoint is not None:
        import torch

        state = torch.load(checkpoint, map_location="cpu", weights_only=True)
        meta = state["meta"]
        state["meta"] = {k: meta[k] for k in ("model", "classes", "image_size", "source", "mean", "std")}
        state["meta"]["lr"] = record["recipe"]["lr"]
        state.pop("scaler_state")
        torch.save(state, old_checkpoint)
    return old


@pytest.fixture
def schema1():
    return as_schema1
