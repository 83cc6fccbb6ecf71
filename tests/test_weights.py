"""Shipped weights (mri_helpers.weights): half precision, a sha256 checked before loading, and the committed
weights reproduce their record."""

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from mri_helpers.cache import read_image
from mri_helpers.course import runs
from mri_helpers.course.files import OutputDirs
from mri_helpers.datasets import load_datasets
from mri_helpers.metrics import predict
from mri_helpers.recipes import RECIPES
from mri_helpers.sources import scan
from mri_helpers.weights import WEIGHTS, export, load_shipped, read_manifest, sha256

REPO = Path(__file__).resolve().parents[1]
REAL = REPO.parent / "shared" / "brain-tumor-mri"


@pytest.fixture(scope="module")
def trained(small_root, tmp_path_factory):
    base = tmp_path_factory.mktemp("run")
    out = OutputDirs(base / "imgs", base / "results", base / "checkpoints", base / "nb")
    data = load_datasets(small_root, image_size=32, cache_dir=base / "cache")
    recipe = replace(RECIPES["cnn0"], image_size=32, epochs=1, batch_size=8, precision="fp32")
    return runs.train_and_evaluate("cnn0", data, out, recipe, seed=1, progress=False), data


def test_export_halves_the_file_and_loading_reproduces_the_predictions(trained, tmp_path, capsys):
    result, data = trained
    entry = export(result.run.checkpoint, "cnn0", result.record, tmp_path)
    assert entry["sha256"] == sha256(tmp_path / "cnn0.pt") and read_manifest(tmp_path) == {"cnn0": entry}
    assert entry["dtype"] == "float16" and entry["run_id"] == result.run.id and "224-px copy" in entry["trained_on"]
    full = sum(p.numel() * 4 for p in result.model.parameters())
    assert full / 2 < entry["bytes"] < full / 2 + 20_000  # half the bytes of float32, plus the metadata
    model, meta = load_shipped("cnn0", tmp_path)
    line = capsys.readouterr().out
    assert line.count("\n") == 1 and f"run {result.run.id}" in line and "sha256 checked" in line
    assert next(model.parameters()).dtype == torch.float32 and not model.training
    assert meta["classes"] == data.classes and meta["run_id"] == result.run.id
    _, predicted, _ = predict(model, torch.utils.data.DataLoader(data.test, batch_size=8))
    assert (predicted == np.array(result.record["test_predictions"])).mean() >= 0.99


def test_a_damaged_or_missing_file_is_refused_in_one_line(trained, tmp_path):
    result, _ = trained
    export(result.run.checkpoint, "cnn0", result.record, tmp_path)
    with pytest.raises(FileNotFoundError, match="No shipped weights named 'cnn3'"):
        load_shipped("cnn3", tmp_path)
    with open(tmp_path / "cnn0.pt", "r+b") as f:
        f.seek(-5, 2)
        f.write(b"XXXXX")
    with pytest.raises(ValueError, match="does not match its sha256"):
        load_shipped("cnn0", tmp_path)
    (tmp_path / "cnn0.pt").unlink()
    with pytest.raises(FileNotFoundError, match="lacks it"):
        load_shipped("cnn0", tmp_path)
    with pytest.raises(ValueError, match="not the record's"):
        export(result.run.checkpoint, "cnn0", dict(result.record, run_id="seed1-other"), tmp_path)


def test_the_shipped_weights_are_small_and_each_names_its_record():
    manifest = read_manifest()
    assert sum(e["bytes"] for e in manifest.values()) <= 25_000_000
    for name, entry in manifest.items():
        record = json.loads((REPO / entry["record"]).read_text())
        assert (record["run_id"], record["seed"], record["data_source"]) == (entry["run_id"], 42, "real"), name
        assert (WEIGHTS / entry["file"]).stat().st_size == entry["bytes"] and sha256(WEIGHTS / entry["file"]) == entry["sha256"]


@pytest.mark.skipif(not REAL.is_dir() or not read_manifest(), reason="needs ../shared/brain-tumor-mri and weights/")
def test_the_shipped_weights_reproduce_their_records_test_predictions():
    _, samples = scan(REAL)
    for name, entry in read_manifest().items():
        record = json.loads((REPO / entry["record"]).read_text())
        model, meta = load_shipped(name, quiet=True)
        files = [samples["Testing"][i] for i in record["test_indices"]]
        assert [label for _, label in files] == record["test_labels"]
        mean, std = torch.tensor(meta["mean"]).view(1, -1, 1, 1), torch.tensor(meta["std"]).view(1, -1, 1, 1)
        predicted = []
        with torch.no_grad():
            for start in range(0, len(files), 64):
                x = torch.stack([torch.from_numpy(read_image(path, meta["image_size"])) for path, _ in files[start:start + 64]])
                predicted += model((x.float() / 255 - mean) / std).argmax(1).tolist()
        agree = np.mean(np.array(predicted) == np.array(record["test_predictions"]))
        assert agree >= 0.99, f"{name}: the shipped weights agree with the record on {agree:.1%} of the test half"


def test_a_notebook_can_take_the_shipped_weights_instead_of_training(trained, tmp_path, monkeypatch):
    from functools import partial

    result, data = trained
    entry = export(result.run.checkpoint, "cnn0", result.record, tmp_path / "weights")
    (tmp_path / entry["record"]).parent.mkdir(parents=True)
    (tmp_path / entry["record"]).write_text(json.dumps(result.record))
    monkeypatch.setattr(runs, "read_manifest", partial(read_manifest, tmp_path / "weights"))
    monkeypatch.setattr(runs, "load_shipped", partial(load_shipped, folder=tmp_path / "weights"))
    monkeypatch.setattr(runs, "REPO_ROOT", tmp_path)
    out = OutputDirs(tmp_path / "imgs", tmp_path / "results", tmp_path / "checkpoints", tmp_path / "nb")
    with pytest.raises(ValueError, match="trained on the real data at 32 px; this is synthetic data"):
        runs.shipped_result("cnn0", data, out)
    shipped = runs.shipped_result("cnn0", replace(data, source="real"), out)
    assert shipped.record == result.record and shipped.history == result.record["history"]
    assert (shipped.test.y_pred == np.array(result.record["test_predictions"])).mean() >= 0.99
    assert not (tmp_path / "checkpoints").exists()  # nothing was trained or written
    with pytest.raises(ValueError, match="No shipped weights of cnn3"):
        runs.shipped_result("cnn3", data, out)
