"""Runs: an identity from recipe, data, architecture and seed; files per run; records written once."""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import asdict, replace

import numpy as np
import pytest
import torch

from mri_helpers.course import precision, runs
from mri_helpers.course.files import OutputDirs
from mri_helpers.datasets import load_datasets, make_loaders
from mri_helpers.metrics import predict
from mri_helpers.models import build_model
from mri_helpers.recipes import RECIPES
from mri_helpers.stats import wilson_interval
from mri_helpers.training import Trainer

RECIPE = replace(RECIPES["cnn0"], image_size=32, epochs=1, batch_size=16, precision="fp32")


def _out(base) -> OutputDirs:
    return OutputDirs(base / "imgs", base / "results", base / "checkpoints", base / "notebooks")


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("runs-cache")


@pytest.fixture(scope="module")
def data(small_root, cache_dir):
    return load_datasets(small_root, image_size=32, cache_dir=cache_dir)


@pytest.fixture(scope="module")
def data64(small_root, cache_dir):
    return load_datasets(small_root, image_size=64, cache_dir=cache_dir)


@pytest.fixture(scope="module")
def first(data, tmp_path_factory):
    """One quick CNN0 run (1 epoch, 32 px, seed 0), shared by the tests that only read it."""
    return runs.train_and_evaluate("cnn0", data, _out(tmp_path_factory.mktemp("first")), RECIPE, seed=0,
                                   progress=False, device="cpu")


@pytest.fixture
def no_training(monkeypatch):
    """Any training step fails the test: what must be reused is not retrained."""
    def boom(self, x, y):
        raise AssertionError("trained again")

    monkeypatch.setattr(Trainer, "train_step", boom)


def _plan(data, recipe=RECIPE, seed=0, name="cnn0", out=None, **kwargs):
    run, _ = runs.plan(name, data, out or _out(data.root), recipe, seed, device="cpu", **kwargs)
    return run


# ---------------------------------------------------------------- identity


def test_same_recipe_data_and_seed_is_the_same_run(data, small_root, cache_dir):
    a, b = _plan(data), _plan(data)
    assert a.id == b.id and a.fingerprint == b.fingerprint
    assert a.id.startswith("seed0-") and len(a.id) == len("seed0-") + 12
    again = load_datasets(small_root, image_size=32, cache_dir=cache_dir)  # loaded again: the same data
    assert _plan(again).id == a.id
    assert a.fingerprint == {
        "model": "cnn0", "model_options": {}, "architecture": runs.architecture(build_model("cnn0", image_size=32)),
        "recipe": {"lr": 3e-4, "epochs": 1, "image_size": 32, "batch_size": 16, "precision": "fp32"},
        "data": data.key, "seed": 0,
    }  # the recipe names only what differs from the defaults, so a new field with a default renames no run


@pytest.mark.parametrize("change,line", [
    ({"lr": 1e-3}, "recipe.lr: 0.0003 -> 0.001"),
    ({"weight_decay": 1e-4}, "recipe.weight_decay: 0.0 -> 0.0001"),
    ({"batch_size": 8}, "recipe.batch_size: 16 -> 8"),
    ({"epochs": 2}, "recipe.epochs: 1 -> 2"),
])
def test_a_changed_recipe_is_another_run(data, change, line):
    a, b = _plan(data), _plan(data, replace(RECIPE, **change))
    assert a.id != b.id
    assert a.checkpoint != b.checkpoint and a.checkpoint.parent == b.checkpoint.parent
    assert b.checkpoint == a.checkpoint.parent / f"{b.id}.pt" and b.record == a.record.parent / f"{b.id}.json"
    assert runs.differences(a.fingerprint, b.fingerprint) == [line]


def test_seed_model_options_and_data_are_part_of_the_identity(data, data64):
    base = _plan(data)
    other_seed = _plan(data, seed=7)
    assert other_seed.id.startswith("seed7-") and runs.differences(base.fingerprint, other_seed.fingerprint) == [
        "seed: 0 -> 7"]
    recipe = replace(RECIPES["bestnet"], image_size=32)
    plain = _plan(data, recipe, name="bestnet_no_batch_norm", model="bestnet", options={"batch_norm": False})
    normed = _plan(data, recipe, name="bestnet")
    diff = runs.differences(normed.fingerprint, plain.fingerprint)
    assert [d.split(":")[0] for d in diff] == ["architecture", "model_options.batch_norm"]
    assert plain.checkpoint.parent.name == "bestnet_no_batch_norm" and plain.fingerprint["model"] == "bestnet"
    bigger = _plan(data64, replace(RECIPE, image_size=64))
    assert {d.split(":")[0] for d in runs.differences(base.fingerprint, bigger.fingerprint)} == {
        "architecture", "data", "recipe.image_size"}


def test_identity_holds_the_precision_auto_became(data, monkeypatch):
    monkeypatch.setattr(precision, "cpu_flags", lambda *a: {"avx2"})
    auto = _plan(data, replace(RECIPE, precision="auto"))
    assert auto.id == _plan(data).id and auto.fingerprint["recipe"]["precision"] == "fp32"
    monkeypatch.setattr(precision, "cpu_flags", lambda *a: {"avx2", "amx_bf16"})
    fast = _plan(data, replace(RECIPE, precision="auto"))
    assert fast.fingerprint["recipe"]["precision"] == "bf16" and fast.id != auto.id
    assert runs.differences(auto.fingerprint, fast.fingerprint) == ["recipe.precision: 'fp32' -> 'bf16'"]


def test_plan_refuses_data_of_another_size(data):
    with pytest.raises(ValueError, match="recipe asks for 64-px images but the data is 32 px"):
        _plan(data, replace(RECIPE, image_size=64))


def test_plan_gives_a_freshly_seeded_model(data):
    _, a = runs.plan("cnn0", data, _out(data.root), RECIPE, seed=0, device="cpu")
    torch.manual_seed(123)
    _, b = runs.plan("cnn0", data, _out(data.root), RECIPE, seed=0, device="cpu")
    _, c = runs.plan("cnn0", data, _out(data.root), RECIPE, seed=1, device="cpu")
    assert torch.equal(a.fc1.weight, b.fc1.weight) and not torch.equal(a.fc1.weight, c.fc1.weight)


# ---------------------------------------------------------------- the record


def test_record_holds_the_run(first, data):
    record, run = first.record, first.run
    assert json.loads(run.record.read_text()) == record
    assert run.record.parent.name == "cnn0" and run.record.stem == run.id == record["run_id"]
    assert run.checkpoint.is_file() and run.finished()
    assert record["schema"] == runs.SCHEMA == 2
    assert record["name"] == record["model"] == "cnn0" and record["seed"] == 0
    assert record["fingerprint"] == run.fingerprint and record["recipe"] == RECIPE.identity()
    assert record["data_source"] == "synthetic" and record["image_size"] == 32 and record["classes"] == data.classes
    assert record["epochs"] == len(record["history"]) == 1 and record["stopped_early"] is False
    assert record["parameters"] == sum(p.numel() for p in build_model("cnn0", image_size=32).parameters()) == 1232
    assert record["train_images"] == 48 and record["test_images"] == 12
    assert record["test_indices"] == data.test.rows.tolist()
    assert record["test_labels"] == data.test.labels.tolist()
    right = sum(p == t for p, t in zip(record["test_predictions"], record["test_labels"]))
    assert record["test_accuracy"] == right / 12
    assert sum(record["confusion_matrix"][i][i] for i in range(4)) == right
    assert sum(map(sum, record["confusion_matrix"])) == 12
    assert record["device"] == "cpu" and record["precision"] == "fp32"
    assert record["cpu_bf16"] == precision.cpu_bf16_capability()
    assert "dedup_test_accuracy" not in record  # derived numbers are computed when read (reports)


def test_describe_says_what_ran(first):
    line = runs.describe(first)
    r = first.record
    low, high = wilson_interval(round(r["test_accuracy"] * 12), 12)
    assert line == (f"cnn0 ({first.run.id}): 1 epochs, trained in {r['train_seconds'] / 60:.1f} min on cpu (fp32); "
                    f"test accuracy {r['test_accuracy']:.3f} [{low:.3f}, {high:.3f}] on 12 images")


def test_load_model_predicts_what_the_record_says(first, data):
    model, meta = runs.load_model(first.run.checkpoint)
    assert not model.training and next(model.parameters()).device.type == "cpu"
    assert meta["run_id"] == first.run.id and meta["recipe"] == asdict(RECIPE) and len(meta["history"]) == 1
    assert meta["mean"] == list(data.normalize.mean) and meta["classes"] == data.classes
    _, _, test = make_loaders(data, batch_size=5)
    y_true, y_pred, _ = predict(model, test)
    assert y_true.tolist() == first.record["test_labels"] and y_pred.tolist() == first.record["test_predictions"]


def test_the_same_run_reuses_its_checkpoint_and_record(first, data, no_training):
    record_before = first.run.record.read_bytes(), first.run.record.stat().st_mtime_ns
    checkpoint_before = first.run.checkpoint.read_bytes(), first.run.checkpoint.stat().st_mtime_ns
    again = runs.train_and_evaluate("cnn0", data, first.run.out, RECIPE, seed=0, progress=False, device="cpu")
    assert again.run.id == first.run.id
    assert again.history == first.history and again.record == first.record
    assert (first.run.record.read_bytes(), first.run.record.stat().st_mtime_ns) == record_before
    assert (first.run.checkpoint.read_bytes(), first.run.checkpoint.stat().st_mtime_ns) == checkpoint_before
    assert again.test.y_pred.tolist() == first.record["test_predictions"]


def test_a_changed_recipe_trains_a_new_run_and_leaves_the_old_one(first, data, tmp_path, capsys):
    out = _out(tmp_path)
    shutil.copytree(first.run.out.results, out.results)
    shutil.copytree(first.run.out.checkpoints, out.checkpoints)
    old_record = out.results / "cnn0" / f"{first.run.id}.json"
    old_checkpoint = out.checkpoints / "cnn0" / f"{first.run.id}.pt"
    before = old_record.read_bytes(), old_record.stat().st_mtime_ns, old_checkpoint.read_bytes()

    changed = runs.train_and_evaluate("cnn0", data, out, replace(RECIPE, lr=1e-3), seed=0, progress=False,
                                      device="cpu")
    assert changed.run.id != first.run.id and len(changed.history) == 1
    assert changed.history[0]["lr"] == 1e-3 and changed.record["recipe"]["lr"] == 1e-3
    assert sorted(p.name for p in (out.results / "cnn0").iterdir()) == sorted(
        [f"{first.run.id}.json", f"{changed.run.id}.json"])
    assert sorted(p.name for p in (out.checkpoints / "cnn0").iterdir()) == sorted(
        [f"{first.run.id}.pt", f"{changed.run.id}.pt"])
    assert (old_record.read_bytes(), old_record.stat().st_mtime_ns, old_checkpoint.read_bytes()) == before
    assert (f"cnn0: new run {changed.run.id}; it differs from {first.run.id} in recipe.lr: 0.0003 -> 0.001"
            in capsys.readouterr().out)


def test_write_record_never_rewrites(first, caplog):
    path = first.run.record
    before = path.read_bytes(), path.stat().st_mtime_ns
    same = runs.write_record(first.run, dict(first.record, train_seconds=999.0))
    assert same == first.record and "kept the earlier record" not in caplog.text
    flipped = [(p + 1) % 4 for p in first.record["test_predictions"]]
    with caplog.at_level(logging.WARNING, logger="mri_helpers.course.runs"):
        kept = runs.write_record(first.run, dict(first.record, test_predictions=flipped))
    assert kept == first.record and "kept the earlier record" in caplog.text
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before


def test_the_record_keeps_probabilities_of_both_halves(first, data):
    r = first.record
    test, val = np.array(r["test_probabilities"]), np.array(r["val_probabilities"])
    assert test.shape == (12, 4) and val.shape == (len(data.val), 4) == (len(r["val_labels"]), 4)
    assert np.allclose(test.sum(axis=1), 1, atol=1e-5) and np.allclose(val.sum(axis=1), 1, atol=1e-5)
    assert test.argmax(axis=1).tolist() == r["test_predictions"]
    assert r["val_indices"] == data.val.rows.tolist() and r["val_labels"] == data.val.labels.tolist()


def test_an_older_record_gains_missing_fields_only(first, caplog):
    path = first.run.record
    older = {k: v for k, v in first.record.items() if not k.endswith("probabilities")}
    path.write_text(json.dumps(older))
    with caplog.at_level(logging.INFO, logger="mri_helpers.course.runs"):
        kept = runs.write_record(first.run, dict(first.record, train_seconds=999.0))
    assert "added test_probabilities, val_probabilities" in caplog.text
    assert kept["train_seconds"] == older["train_seconds"] != 999.0  # present fields never change
    assert kept["test_probabilities"] == first.record["test_probabilities"]
    assert json.loads(path.read_text()) == kept


def test_a_checkpoint_of_another_run_is_refused(first, data, tmp_path):
    other = _plan(data, replace(RECIPE, lr=1e-3), out=_out(tmp_path))
    other.checkpoint.parent.mkdir(parents=True)
    shutil.copy(first.run.checkpoint, other.checkpoint)  # the wrong file under the new run's name
    with pytest.raises(ValueError, match=f"belongs to run {first.run.id}, not {other.id}"):
        runs.train_and_evaluate("cnn0", data, _out(tmp_path), replace(RECIPE, lr=1e-3), seed=0, progress=False,
                                device="cpu")


def test_train_subset_trains_on_that_many_images(data, tmp_path):
    result = runs.train_and_evaluate("cnn0", data, _out(tmp_path), replace(RECIPE, train_subset=20, batch_size=8),
                                     seed=0, progress=False, device="cpu")
    assert result.record["train_images"] == 20 and result.record["recipe"]["train_subset"] == 20
    assert result.record["test_images"] == 12  # the test half is never cut


def test_finished_means_all_the_recipe_epochs(first, data, tmp_path):
    longer = _plan(data, replace(RECIPE, epochs=2), out=_out(tmp_path))
    assert not longer.finished()  # no checkpoint
    longer.checkpoint.parent.mkdir(parents=True)
    state = torch.load(first.run.checkpoint, weights_only=True)
    torch.save(state, longer.checkpoint)
    assert not longer.finished()  # one epoch of two
    assert first.run.finished()


def test_finished_reads_an_epoch_count_the_identity_leaves_out(first, data, tmp_path):
    default = _plan(data, replace(RECIPE, epochs=10), out=_out(tmp_path))  # 10 is Recipe's default
    assert "epochs" not in default.fingerprint["recipe"]
    default.checkpoint.parent.mkdir(parents=True)
    state = torch.load(first.run.checkpoint, weights_only=True)
    torch.save(dict(state, history=state["history"] * 9), default.checkpoint)
    assert not default.finished()
    torch.save(dict(state, history=state["history"] * 10), default.checkpoint)
    assert default.finished()


def test_an_early_stopped_run_counts_as_finished(data, tmp_path, monkeypatch):
    stops = replace(RECIPE, epochs=5, lr=0.0, patience=1)  # nothing changes, so it stops after 2 epochs
    result = runs.train_and_evaluate("cnn0", data, _out(tmp_path), stops, seed=0, progress=False, device="cpu")
    assert result.trainer.stopped_early and len(result.history) == 2
    monkeypatch.setattr(runs, "output_dirs", lambda source, quick: _out(tmp_path / "brief"))
    assert result.run.finished()
    _, meta = runs.load_or_train_briefly("cnn0", data, _out(tmp_path), seed=0, recipe=stops)
    assert meta["run_id"] == result.run.id


# ---------------------------------------------------------------- notebooks that only look at a model


@pytest.fixture
def brief_out(tmp_path, monkeypatch):
    """Where brief stand-ins go (scratch/<source>-quick/ in the repository, here a temporary folder)."""
    asked = []
    monkeypatch.setattr(runs, "output_dirs", lambda source, quick: asked.append((source, quick)) or _out(tmp_path / "brief"))
    return asked


def test_brief_model_follows_the_image_size(data, data64, tmp_path, brief_out, capsys):
    """A brief CNN3 made at one size must not be handed to data of another (it crashed with a shape error)."""
    out = _out(tmp_path / "course")
    model32, meta32 = runs.load_or_train_briefly("cnn3", data, out, seed=0)
    assert brief_out == [("synthetic", True)] and "training cnn3 briefly" in capsys.readouterr().out
    model64, meta64 = runs.load_or_train_briefly("cnn3", data64, out, seed=0)
    assert (meta32["image_size"], meta64["image_size"]) == (32, 64) and meta32["run_id"] != meta64["run_id"]
    assert model64.fc1.in_features == 256 * 2 * 2 and model32.fc1.in_features == 256
    _, _, test64 = make_loaders(data64, batch_size=6)
    y_true, y_pred, probs = predict(model64, test64)
    assert probs.shape == (12, 4) and y_true.tolist() == data64.test.labels.tolist()
    assert meta64["recipe"]["epochs"] == 1 and meta64["recipe"]["train_subset"] == 256
    assert meta64["recipe"]["batch_size"] == 16 and meta64["train_images"] == 48
    assert not (tmp_path / "course").exists()  # a brief run never lands among the course's results
    assert sorted(p.name for p in (tmp_path / "brief" / "checkpoints" / "cnn3").iterdir()) == sorted(
        [f"{meta32['run_id']}.pt", f"{meta64['run_id']}.pt"])


def test_brief_model_is_reused(data, tmp_path, brief_out, monkeypatch, capsys):
    out = _out(tmp_path / "course")
    model, meta = runs.load_or_train_briefly("cnn0", data, out, seed=0)
    capsys.readouterr()

    def boom(self, x, y):
        raise AssertionError("trained again")

    monkeypatch.setattr(Trainer, "train_step", boom)
    again, meta_again = runs.load_or_train_briefly("cnn0", data, out, seed=0)
    assert meta_again["run_id"] == meta["run_id"]
    assert all(torch.equal(a, b) for a, b in zip(again.state_dict().values(), model.state_dict().values()))


def test_a_finished_course_run_is_loaded_not_trained(first, data, brief_out, no_training, capsys):
    model, meta = runs.load_or_train_briefly("cnn0", data, first.run.out, seed=0, recipe=RECIPE)
    assert brief_out == [] and meta["run_id"] == first.run.id
    assert capsys.readouterr().out.startswith("loaded cnn0: 1 epochs")
    trained = runs.load_model(first.run.checkpoint)[0]
    assert all(torch.equal(a.cpu(), b) for a, b in zip(model.state_dict().values(), trained.state_dict().values()))


# ---------------------------------------------------------------- schema 1
