"""The trainer: determinism, early stopping, resume, checkpoints, prediction, LR range test."""

import pytest
import torch

from mri_helpers import training
from mri_helpers.data import load_datasets, make_loaders
from mri_helpers.files import atomic_path
from mri_helpers.models import build_model
from mri_helpers.training import Trainer, seed_everything

META = {"model": "cnn0", "image_size": 32, "classes": ["a", "b", "c", "d"], "source": "synthetic"}


@pytest.fixture
def loaders(small_root):
    data = load_datasets(small_root, image_size=32)
    return make_loaders(data, batch_size=8)


def _trainer(seed=0, lr=3e-3):
    seed_everything(seed)
    return Trainer(build_model("cnn0", image_size=32), lr=lr, seed=seed, device="cpu", meta=META)


def _curve(history):
    return [{k: v for k, v in h.items() if k != "seconds"} for h in history]


def test_history_records_every_metric(loaders):
    train, val, _ = loaders
    history = _trainer().fit(train, val, epochs=2, progress=False)
    assert [h["epoch"] for h in history] == [1, 2]
    assert set(history[0]) == {"epoch", "train_loss", "lr", "val_loss", "val_accuracy", "val_precision", "val_recall", "seconds"}
    for h in history:
        assert 0 <= h["val_accuracy"] <= 1 and h["train_loss"] > 0 and h["lr"] == 3e-3  # constant without a schedule


def test_same_seed_same_history(loaders):
    train, val, _ = loaders
    a = _trainer(seed=3).fit(train, val, epochs=2, progress=False)
    b = _trainer(seed=3).fit(train, val, epochs=2, progress=False)
    c = _trainer(seed=4).fit(train, val, epochs=2, progress=False)
    assert _curve(a) == _curve(b)
    assert _curve(a) != _curve(c)


def test_early_stopping_fires(loaders):
    train, val, _ = loaders
    trainer = _trainer(lr=0.0)  # nothing changes, so the validation loss never improves
    history = trainer.fit(train, val, epochs=10, patience=2, progress=False)
    assert len(history) == 3 and trainer.stopped_early
    assert len({h["val_loss"] for h in history}) == 1


def test_resume_equals_uninterrupted_training(loaders, tmp_path):
    train, val, _ = loaders
    straight = _trainer()
    straight.fit(train, val, epochs=3, progress=False)

    first = _trainer()
    first.fit(train, val, epochs=1, checkpoint=tmp_path / "run.pt", progress=False)
    resumed = _trainer(seed=0)
    torch.manual_seed(999)  # disturb the global RNG: the checkpoint must restore it
    resumed.fit(train, val, epochs=3, checkpoint=tmp_path / "run.pt", progress=False)

    assert _curve(resumed.history) == _curve(straight.history)
    for a, b in zip(resumed.model.state_dict().values(), straight.model.state_dict().values()):
        assert torch.equal(a, b)
    assert len(training.load_checkpoint(tmp_path / "run.pt")["history"]) == 3


def test_one_cycle_schedule_resumes_exactly(loaders, tmp_path, monkeypatch):
    """BestNet's recipe: AdamW, label smoothing, one-cycle LR; a resumed run matches a straight one."""
    train, val, _ = loaders
    meta = dict(META, model="bestnet")

    def make():
        seed_everything(0)
        return Trainer(build_model("bestnet"), lr=3e-3, seed=0, device="cpu", meta=meta, weight_decay=5e-4,
                       label_smoothing=0.1, one_cycle=True)

    straight = make()
    straight.fit(train, val, epochs=3, progress=False)
    assert isinstance(straight.optimizer, torch.optim.AdamW) and straight.loss_fn.label_smoothing == 0.1
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
    for a, b in zip(resumed.model.state_dict().values(), straight.model.state_dict().values()):
        assert torch.equal(a, b)
    with pytest.raises(ValueError, match="one-cycle schedule of 18 steps, not 24"):
        make().fit(train, val, epochs=4, checkpoint=tmp_path / "b.pt", progress=False)


def test_checkpoint_loads_weights_only_and_checks_its_model(loaders, tmp_path, monkeypatch):
    train, val, _ = loaders
    trainer = _trainer()
    trainer.fit(train, val, epochs=1, checkpoint=tmp_path / "c.pt", progress=False)
    calls = []
    real_load = torch.load
    monkeypatch.setattr(torch, "load", lambda *a, **k: calls.append(k) or real_load(*a, **k))
    state = training.load_checkpoint(tmp_path / "c.pt")
    assert calls == [{"map_location": "cpu", "weights_only": True}]
    assert state["meta"]["model"] == "cnn0" and state["meta"]["lr"] == 3e-3

    other = Trainer(build_model("cnn0", image_size=32), lr=1e-3, device="cpu", meta=dict(META, image_size=64))
    with pytest.raises(ValueError, match="was made for"):
        other.load_checkpoint(tmp_path / "c.pt")
    with pytest.raises(FileNotFoundError, match="No checkpoint at"):
        training.load_checkpoint(tmp_path / "missing.pt")


def test_from_checkpoint_rebuilds_the_model_for_prediction(loaders, tmp_path):
    train, val, test = loaders
    trainer = _trainer()
    trainer.fit(train, val, epochs=1, checkpoint=tmp_path / "c.pt", progress=False)
    loaded = Trainer.from_checkpoint(tmp_path / "c.pt", device="cpu")
    assert loaded.meta == trainer.meta and len(loaded.history) == 1 and not loaded.model.training
    for a, b in zip(loaded.model.state_dict().values(), trainer.model.state_dict().values()):
        assert torch.equal(a, b)
    assert (loaded.predict(test)[2] == trainer.predict(test)[2]).all()


def test_failed_write_keeps_the_previous_file(tmp_path):
    target = tmp_path / "results.json"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half-writ")
            raise RuntimeError("interrupted")
    assert target.read_text() == "old"
    assert list(tmp_path.iterdir()) == [target]


def test_predict_returns_labels_and_probabilities(loaders):
    train, val, test = loaders
    trainer = _trainer()
    y_true, y_pred, probs = trainer.predict(test)
    assert len(y_true) == len(y_pred) == 12 and probs.shape == (12, 4)
    assert (abs(probs.sum(axis=1) - 1) < 1e-5).all()
    assert (probs.argmax(axis=1) == y_pred).all()


def test_lr_range_test_restores_state(loaders):
    train, _, _ = loaders
    trainer = _trainer()
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


def test_device_choice_and_channels_last():
    assert training.pick_device().type in {"cuda", "mps", "cpu"}
    trainer = Trainer(build_model("cnn0", image_size=32), lr=1e-3, device="cpu")
    assert trainer.channels_last
    assert trainer.model.conv1.weight.is_contiguous(memory_format=torch.channels_last)
