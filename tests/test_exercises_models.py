"""The checkers of the student-written models and training loop: each accepts the library's answer and rejects
a plausible wrong one with its hint."""

from pathlib import Path

import pytest
import torch
from torch import nn

from mri_helpers.exercises.models import check_model
from mri_helpers.exercises.training import check_fit, check_train_step
from mri_helpers.exercises.verdict import ExerciseError
from mri_helpers.models import CNN0, CNN1, CNN2


@pytest.mark.parametrize("cls, name", [(CNN0, "cnn0"), (CNN1, "cnn1"), (CNN2, "cnn2")])
def test_check_model_accepts_the_library_models(cls, name, capsys):
    assert check_model(cls, name)
    assert "✓" in capsys.readouterr().out


def test_check_model_rejects_another_model_and_says_which_weight(capsys):
    assert not check_model(CNN0, "cnn1")
    assert "conv2.weight has shape (4, 4, 3, 3), the reference (8, 4, 3, 3)" in capsys.readouterr().out


class NoDropout(CNN0):
    p = 0.0


class HiddenLayerInAList(CNN0):
    def __init__(self, num_classes=4, image_size=256):
        super().__init__(num_classes, image_size)
        self.extra = [nn.Linear(4, 4)]  # not registered: harmless here, but the names still match


class Unregistered(CNN0):
    """fc2 kept in a plain list: its weights are not in the state dict."""

    def __init__(self, num_classes=4, image_size=256):
        super().__init__(num_classes, image_size)
        self.heads = [self.fc2]
        del self.fc2

    def forward(self, x):
        x = self.drop_features(self.flatten(self.features(x)))
        return self.heads[0](self.drop_hidden(self.relu_fc1(self.fc1(x))))


class Stub(nn.Module):
    def __init__(self, num_classes=4, image_size=256):
        raise NotImplementedError("Write CNN0")


@pytest.mark.parametrize("cls, hint", [
    (NoDropout, "not in training mode: put dropout where the reference does"),
    (Unregistered, "no weight named 'fc2.weight'"),
    (Stub, "replace the raise"),
    (None, "set your model class"),
    (type("CNN1", (CNN0,), {"widths": None, "hidden": None}), "set the class attributes widths, hidden (still None)"),
])
def test_check_model_rejects_wrong_models_with_a_hint(cls, hint, capsys):
    assert not check_model(cls, "cnn0")
    assert hint in capsys.readouterr().out


def test_check_model_accepts_a_harmless_extra_attribute():
    assert check_model(HiddenLayerInAList, "cnn0")


def test_check_model_raises_in_strict_mode(monkeypatch):
    monkeypatch.setenv("MRI_EXERCISES_STRICT", "1")
    with pytest.raises(ExerciseError):
        check_model(NoDropout, "cnn0")


def train_step(model, optimizer, loss_fn, x, y):
    loss = loss_fn(model(x), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()


def no_zero_grad(model, optimizer, loss_fn, x, y):
    loss = loss_fn(model(x), y)
    loss.backward()
    optimizer.step()
    return loss.item()


def no_step(model, optimizer, loss_fn, x, y):
    loss = loss_fn(model(x), y)
    optimizer.zero_grad()
    loss.backward()
    return loss.item()


def no_return(model, optimizer, loss_fn, x, y):
    train_step(model, optimizer, loss_fn, x, y)


@pytest.mark.parametrize("function, hint", [
    (no_zero_grad, "call optimizer.zero_grad() in every step"),
    (no_step, "the weights did not move"),
    (no_return, "return the loss as a Python float"),
    (lambda m, o, f, x, y: torch.tensor(train_step(m, o, f, x, y)), "return the loss as a Python float"),
    (lambda m, o, f, x, y: (train_step(m, o, f, x, y), m.eval())[0], "must not switch the model's mode"),
    (lambda m, o, f, x, y: train_step(m, o, f, y, x), "your code raised"),  # PyTorch's own NotImplementedError
])
def test_check_train_step(function, hint, capsys):
    assert check_train_step(train_step)
    capsys.readouterr()
    assert not check_train_step(function)
    assert hint in capsys.readouterr().out


def fit(model, optimizer, loss_fn, train_loader, val_loader, epochs, prepare):
    history = []
    for epoch in range(1, epochs + 1):
        model.train()
        total, count = 0.0, 0
        for pixels, labels in train_loader:
            loss = train_step(model, optimizer, loss_fn, prepare(pixels), labels)
            total += loss * len(labels)
            count += len(labels)
        model.eval()
        correct = 0
        with torch.no_grad():
            for images, targets in val_loader:
                correct += (model(images).argmax(dim=1) == targets).sum().item()
        history.append({"epoch": epoch, "train_loss": total / count, "val_accuracy": correct / len(val_loader.dataset)})
    return history


def fit_without_prepare(model, optimizer, loss_fn, train_loader, val_loader, epochs, prepare):
    return fit(model, optimizer, loss_fn, train_loader, val_loader, epochs, lambda pixels: pixels.float())


def fit_validating_in_train_mode(model, optimizer, loss_fn, train_loader, val_loader, epochs, prepare):
    history = fit(model, optimizer, loss_fn, train_loader, val_loader, epochs, prepare)
    return [{**h, "val_accuracy": h["val_accuracy"] + 0.1} for h in history]


@pytest.mark.parametrize("function, hint", [
    (fit_without_prepare, "train on prepare(pixels)"),
    (fit_validating_in_train_mode, "after each epoch: eval mode"),
])
def test_check_fit(function, hint, capsys):
    assert check_fit(fit)
    capsys.readouterr()
    assert not check_fit(function)
    assert hint in capsys.readouterr().out


NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


@pytest.mark.parametrize("notebook, cls", [("03_cnn0_base_model", CNN0), ("04_cnn1_more_filters", CNN1),
                                           ("05_cnn2_extra_block", CNN2)])
def test_the_model_a_student_writes_is_the_library_model_line_for_line(notebook, cls):
    """Issue 19: a student never meets two versions of one model."""
    import inspect

    import nbformat

    cells = [c.source for c in nbformat.read(NOTEBOOKS / f"{notebook}.ipynb", as_version=4).cells
             if "solution" in c.metadata.get("tags", []) and f"class {cls.__name__}(" in c.source]
    assert len(cells) == 1, f"{notebook} has no single solution cell writing {cls.__name__}"
    written = "\n".join(line for line in cells[0].splitlines() if not line.startswith("#")).strip("\n").splitlines()
    library = inspect.getsource(cls).split("    @property")[0].rstrip().splitlines()
    assert written == library
