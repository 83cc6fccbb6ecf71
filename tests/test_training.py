"""The trainer: recipes, determinism, early stopping, resume, checkpoints, precision, LR range test."""

import contextlib
from dataclasses import asdict, replace

import numpy as np
import pytest
import torch
from torch import nn

from mri_helpers import training
from mri_helpers.course.files import atomic_path
from mri_helpers.datasets import load_datasets, make_loaders
from mri_helpers.metrics import predict
from mri_helpers.models import build_model
from mri_helpers.recipes import RECIPES, Recipe
from mri_helpers.training import Trainer, seed_everything

RECIPE = Recipe(lr=3e-3, image_size=32, batch_size=8, precision="fp32")
META = {"model": "cnn0", "image_size": 32, "classes": ["a", "b", "c", "d"], "source": "synthetic",
        "recipe": asdict(RECIPE), "run_id": "test-run"}


@pytest.fixture
def data(small_root):
    return load_datasets(small_root, image_size=32)


@pytest.fixture
def loaders(data):
    return make_loaders(data, batch_size=8)


def _trainer(data, seed=0, recipe=RECIPE, meta=META):
    seed_everything(seed)
    return Trainer(build_model("cnn0", image_size=32), recipe, seed=seed, device="cpu", meta=meta,
                   prepare=data.prepare_train)


def _curve(history):
    return [{k: v for k, v in h.items() if k != "seconds"} for h in history]


def _same_weights(a, b):
    return all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


def test_history_records_every_metric(data, loaders):
    train, val, _ = loaders
    history = _trainer(data).fit(train, val, epochs=2, progress=False)
    assert [h["epoch"] for h in history] == [1, 2]
    assert set(history[0]) == {"epoch", "train_loss", "lr", "val_loss", "val_accuracy", "val_precision", "val_recall", "seconds"}
    for h in history:
        assert 0 <= h["val_accuracy"] <= 1 and h["train_loss"] > 0 and h["lr"] == 3e-3  # constant without a schedule


def test_raw_batches_need_prepare(data, loaders):
    train, val, _ = loaders
    seed_everything(0)
    trainer = Trainer(build_model("cnn0", image_size=32), RECIPE, device="cpu")
    with pytest.raises(ValueError, match="pass prepare=data.prepare_train"):
        trainer.fit(train, val, epochs=1, progress=False)


def test_same_seed_same_history(data, loaders):
    train, val, _ = loaders
    a = _trainer(data, seed=3).fit(train, val, epochs=2, progress=False)
    b = _trainer(data, seed=3).fit(train, val, epochs=2, progress=False)
    c = _trainer(data, seed=4).fit(train, val, epochs=2, progress=False)
    assert _curve(a) == _curve(b)
    assert _curve(a) != _curve(c)


def test_early_stopping_fires(data, loaders):
    train, val, _ = loaders
    trainer = _trainer(data, recipe=replace(RECIPE, lr=0.0))  # nothing changes, so the validation loss never improves
    history = trainer.fit(train, val, epochs=10, patience=2, progress=False)
    assert len(history) == 3 and trainer.stopped_early
    assert len({h["val_loss"] for h in history}) == 1


def test_resume_equals_uninterrupted_training(data, loaders, tmp_path):
    train, val, _ = loaders
    straight = _trainer(data)
    straight.fit(train, val, epochs=3, progress=False)

    first = _trainer(data)
    first.fit(train, val, epochs=1, checkpoint=tmp_path / "run.pt", progress=False)
    resumed = _trainer(data, seed=0)
    torch.manual_seed(999)  # disturb the global RNG: the checkpoint must restore it
    resumed.fit(train, val, epochs=3, checkpoint=tmp_path / "run.pt", progress=False)

    assert _curve(resumed.history) == _curve(straight.history)
    assert _same_weights(resumed.model, straight.model)
    assert len(training.load_checkpoint(tmp_path / "run.pt")["history"]) == 3


def test_one_cycle_schedule_resumes_exactly(data, loaders, tmp_path, monkeypatch):
    """BestNet's recipe: AdamW, label smoothing, one-cycle LR; a resumed run matches a straight one."""
    train, val, _ = loaders
    recipe = Recipe(lr=3e-3, image_size=32, batch_size=8, weight_decay=5e-4, label_smoothing=0.1, one_cycle=True,
                    precision="fp32")
    meta = dict(META, model="bestnet", recipe=asdict(recipe))

    def make():
        seed_everything(0)
        return Trainer(build_model("bestnet"), recipe, seed=0, device="cpu", meta=meta, prepare=data.prepare_train)

    straight = make()
    straight.fit(train, val, epochs=3, progress=False)
    assert isinstance(straight.optimizer, torch.optim.AdamW) and straight.loss_fn.label_smoothing == 0.1
    assert straight.optimizer.param_groups[0]["weight_decay"] == 5e-4
    lrs = [h["lr"] for h in straight.history]
    assert lrs[0] > lrs[1] > lrs[2] and lrs[2] < 3e-3 / 50  # past the warm-up peak, then annealed
    interrupted = make()
    real_validate = interrupted.validate
    calls = []

    def validate_then_stop(loader):  # Ctrl-C during the second epoch's validation
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real_validate(loader)

    monkeypatch.setattr(interrupted, "validate", validate_then_stop)
    with pytest.raises(KeyboardInterrupt):
        interrupted.fit(train, val, epochs=3, checkpoint=tmp_path / "b.pt", progress=False)
    resumed = make()
    torch.manual_seed(999)
    resumed.fit(train, val, epochs=3, checkpoint=tmp_path / "b.pt", progress=False)
    assert _curve(resumed.history) == _curve(straight.history)
    assert _same_weights(resumed.model, straight.model)
    with pytest.raises(ValueError, match="one-cycle schedule of 18 steps, not 24"):
        make().fit(train, val, epochs=4, checkpoint=tmp_path / "b.pt", progress=False)



def test_from_checkpoint_continues_a_one_cycle_run_exactly(data, loaders, tmp_path, monkeypatch):
    train, val, _ = loaders
    recipe = Recipe(lr=3e-3, image_size=32, batch_size=8, weight_decay=5e-4, one_cycle=True, precision="fp32")
    meta = dict(META, recipe=asdict(recipe))
    straight = _trainer(data, recipe=recipe, meta=meta)
    straight.fit(train, val, epochs=3, progress=False)
    interrupted = _trainer(data, recipe=recipe, meta=meta)
    real_validate = interrupted.validate
    monkeypatch.setattr(interrupted, "validate", lambda loader: real_validate(loader) if not interrupted.history
                        else (_ for _ in ()).throw(KeyboardInterrupt))  # stop in the second epoch's validation
    with pytest.raises(KeyboardInterrupt):
        interrupted.fit(train, val, epochs=3, checkpoint=tmp_path / "b.pt", progress=False)
    assert len(training.load_checkpoint(tmp_path / "b.pt")["history"]) == 1

    torch.manual_seed(999)
    rebuilt = Trainer.from_checkpoint(tmp_path / "b.pt", device="cpu", prepare=data.prepare_train)
    assert rebuilt.recipe == recipe and rebuilt.scheduler is None  # made by fit, which knows the steps
    used = []
    real_step = rebuilt.train_step
    monkeypatch.setattr(rebuilt, "train_step", lambda x, y: used.append(rebuilt.optimizer.param_groups[0]["lr"])
                        or real_step(x, y))
    rebuilt.fit(train, val, epochs=3, progress=False)
    saved_lr = training.load_checkpoint(tmp_path / "b.pt")["optimizer_state"]["param_groups"][0]["lr"]
    assert used[0] == pytest.approx(saved_lr)  # the first step goes on where the schedule stopped
    assert _curve(rebuilt.history) == _curve(straight.history)
    assert _same_weights(rebuilt.model, straight.model)


def test_checkpoint_loads_weights_only_and_checks_its_run(data, loaders, tmp_path, monkeypatch):
    train, val, _ = loaders
    trainer = _trainer(data)
    trainer.fit(train, val, epochs=1, checkpoint=tmp_path / "c.pt", progress=False)
    calls = []
    real_load = torch.load
    monkeypatch.setattr(torch, "load", lambda *a, **k: calls.append(k) or real_load(*a, **k))
    state = training.load_checkpoint(tmp_path / "c.pt")
    assert calls == [{"map_location": "cpu", "weights_only": True}]
    assert state["meta"] == META and state["seed"] == 0 and len(state["history"]) == 1

    other = _trainer(data, meta=dict(META, run_id="another-run"))
    with pytest.raises(ValueError, match="belongs to run test-run, not another-run"):
        other.restore(training.load_checkpoint(tmp_path / "c.pt"))
    with pytest.raises(ValueError, match="belongs to run test-run"):  # fit refuses it too, before training
        other.fit(train, val, epochs=2, checkpoint=tmp_path / "c.pt", progress=False)
    assert other.history == []
    with pytest.raises(FileNotFoundError, match="No checkpoint at"):
        training.load_checkpoint(tmp_path / "missing.pt")


def test_from_checkpoint_rebuilds_model_optimiser_and_recipe(data, loaders, tmp_path):
    train, val, test = loaders
    recipe = replace(RECIPE, weight_decay=1e-4, label_smoothing=0.05)
    meta = dict(META, recipe=asdict(recipe))
    straight = _trainer(data, recipe=recipe, meta=meta)
    straight.fit(train, val, epochs=2, progress=False)

    trainer = _trainer(data, recipe=recipe, meta=meta)
    trainer.fit(train, val, epochs=1, checkpoint=tmp_path / "c.pt", progress=False)
    loaded = Trainer.from_checkpoint(tmp_path / "c.pt", device="cpu", prepare=data.prepare_train)
    assert loaded.recipe == recipe and loaded.meta == meta and loaded.seed == 0
    assert isinstance(loaded.optimizer, torch.optim.AdamW) and loaded.loss_fn.label_smoothing == 0.05
    assert len(loaded.history) == 1 and not loaded.model.training
    assert _same_weights(loaded.model, trainer.model)
    saved, restored = trainer.optimizer.state_dict()["state"], loaded.optimizer.state_dict()["state"]
    assert saved.keys() == restored.keys() and len(saved) == 12
    assert all(torch.equal(saved[k]["exp_avg"], restored[k]["exp_avg"]) for k in saved)
    assert (predict(loaded.model, test)[2] == predict(trainer.model, test)[2]).all()

    torch.manual_seed(999)
    loaded.fit(train, val, epochs=2, progress=False)  # trained on, it continues the same run
    assert _curve(loaded.history) == _curve(straight.history)
    assert _same_weights(loaded.model, straight.model)


def test_failed_write_keeps_the_previous_file(tmp_path):
    target = tmp_path / "results.json"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half-writ")
            raise RuntimeError("interrupted")
    assert target.read_text() == "old"
    assert list(tmp_path.iterdir()) == [target]


def test_predict_returns_labels_and_probabilities(data, loaders):
    _, _, test = loaders
    trainer = _trainer(data)
    y_true, y_pred, probs = predict(trainer.model, test)
    assert y_true.tolist() == data.test.labels.tolist()
    assert len(y_pred) == 12 and probs.shape == (12, 4)
    assert (abs(probs.sum(axis=1) - 1) < 1e-5).all()
    assert (probs.argmax(axis=1) == y_pred).all()


def test_lr_range_test_restores_state(data, loaders):
    train, _, _ = loaders
    trainer = _trainer(data)
    before = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    rng = torch.get_rng_state()
    lrs, losses = trainer.lr_range_test(train, start_lr=1e-5, end_lr=10, steps=20)
    assert len(lrs) == len(losses) >= 5
    assert lrs[0] == pytest.approx(1e-5) and all(b > a for a, b in zip(lrs, lrs[1:]))
    for k, v in trainer.model.state_dict().items():
        assert torch.equal(v, before[k])
    assert trainer.optimizer.state_dict()["state"] == {}
    assert trainer.optimizer.param_groups[0]["lr"] == 3e-3
    assert torch.equal(torch.get_rng_state(), rng)


def test_steepest_fall_ignores_the_curve_after_its_lowest_point():
    lrs = [1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0]
    # falls slowly, then fastest between 1e-3 and 1e-2, bottoms out at 1e-1, spikes, then sinks back steeply
    losses = [1.40, 1.38, 1.30, 1.00, 0.95, 3.00, 1.50]
    assert training.steepest_fall(lrs, losses) == 1e-3
    assert training.steepest_fall(lrs[:2], [1.0, 2.0]) == 1e-5  # never falls: the first rate
    with pytest.raises(ValueError, match="at least two steps"):
        training.steepest_fall([1e-3], [1.0])


def test_device_choice_and_channels_last():
    assert training.pick_device().type in {"cuda", "mps", "cpu"}
    trainer = Trainer(build_model("cnn0", image_size=32), Recipe(lr=1e-3, image_size=32), device="cpu")
    assert trainer.memory_format == torch.channels_last
    assert trainer.model.conv1.weight.is_contiguous(memory_format=torch.channels_last)
    assert isinstance(trainer.optimizer, torch.optim.Adam) and not isinstance(trainer.optimizer, torch.optim.AdamW)
    plain = Trainer(build_model("cnn0", image_size=32), Recipe(lr=1e-3), device="cpu", channels_last=False)
    assert plain.model.conv1.weight.is_contiguous()


def test_precision_follows_the_recipe(data, loaders):
    model = build_model("cnn0", image_size=32)
    assert Trainer(model, replace(RECIPE, precision="auto"), device="cpu").precision == "fp32"  # runs decide "auto"
    assert Trainer(model, replace(RECIPE, precision="fp32"), device="cpu").precision == "fp32"
    with pytest.raises(ValueError, match="fp16 needs a GPU"):
        Trainer(model, replace(RECIPE, precision="fp16"), device="cpu")

    train, val, _ = loaders  # bf16 on the CPU works everywhere (it is only fast with AMX or AVX512-BF16)
    trainer = _trainer(data, recipe=replace(RECIPE, precision="bf16"))
    history = trainer.fit(train, val, epochs=1, progress=False)
    assert trainer.precision == "bf16" and np.isfinite(history[0]["train_loss"]) and np.isfinite(history[0]["val_loss"])
    assert trainer.model.conv1.weight.dtype == torch.float32  # mixed precision: the weights stay fp32


def test_recipe_repr_shows_the_learning_rate_and_only_what_differs_from_the_defaults():
    assert repr(Recipe(lr=3e-4)) == "Recipe(lr=0.0003)"
    assert repr(RECIPES["bestnet"]) == ("Recipe(lr=0.003, image_size=128, epochs=14, weight_decay=0.0005, "
                                        "label_smoothing=0.1, one_cycle=True)")
    assert repr(Recipe(lr=1e-3, precision="bf16", patience=2)) == "Recipe(lr=0.001, precision='bf16', patience=2)"


def test_autocast_runs_the_forward_pass_in_the_chosen_format():
    layer, x = nn.Linear(4, 2), torch.randn(3, 4)
    assert isinstance(training.autocast("fp32", torch.device("cpu")), contextlib.nullcontext)
    with training.autocast("fp32", torch.device("cpu")):
        assert layer(x).dtype == torch.float32
    with training.autocast("bf16", torch.device("cpu")):
        assert layer(x).dtype == torch.bfloat16
    assert layer.weight.dtype == torch.float32
