"""Checkers for the training loop a student writes in notebook 03: one step, then the epochs.

Each runs the student's function and a reference written the plain way (the steps
``Trainer.train_step`` and ``Trainer.train_epoch`` take, without mixed precision or a
schedule) on the same seeded model and the checker's own small data, and compares the
losses, accuracies and weights.
"""

from __future__ import annotations

import copy

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from ..models import build_model
from .verdict import attempt, missing, number, verdict

SIZE = 32  # small scans: the checks take a fraction of a second
VALIDATION = ("after each epoch: eval mode, torch.no_grad(), count argmax == label over the validation loader, "
              "divide by the number of validation images")


def _model_and_optimizer(seed: int = 0):
    torch.manual_seed(seed)
    model = build_model("cnn0", image_size=SIZE)
    return model, torch.optim.Adam(model.parameters(), lr=1e-3)


def _reference_step(model, optimizer, loss_fn, x, y) -> float:
    loss = loss_fn(model(x), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()


def _same_weights(a: nn.Module, b: nn.Module) -> bool:
    return all(torch.allclose(p, q, atol=1e-6) for p, q in zip(a.parameters(), b.parameters()))


def check_train_step(train_step) -> bool:
    """Does ``train_step(model, optimizer, loss_fn, x, y)`` take one step and return the loss as a number?

    Two steps in a row are compared with the reference's, so that gradients carried over
    from the first step (no ``zero_grad``) show up in the second.
    """
    if missing(train_step, "`train_step`"):
        return False
    generator = torch.Generator().manual_seed(5)
    x, y = torch.randn(6, 3, SIZE, SIZE, generator=generator), torch.tensor([0, 1, 2, 3, 0, 1])
    loss_fn = nn.CrossEntropyLoss()
    mine, my_optimizer = _model_and_optimizer()
    start = copy.deepcopy(mine.state_dict())
    reference, optimizer = _model_and_optimizer()
    mine.train()
    reference.train()
    for step in (1, 2):
        torch.manual_seed(step)  # the same dropout masks for both
        value, hint = attempt(train_step, mine, my_optimizer, loss_fn, x, y)
        if hint:
            return verdict(False, hint)
        torch.manual_seed(step)
        expected = _reference_step(reference, optimizer, loss_fn, x, y)
        if step == 1 and all(torch.equal(p, start[k]) for k, p in mine.state_dict().items()):
            return verdict(False, "the weights did not move: zero the gradients, call loss.backward(), "
                                  "then optimizer.step()")
        if not mine.training:
            return verdict(False, "train_step must not switch the model's mode: the epoch loop calls model.train()")
        if not isinstance(value, float):
            return verdict(False, "return the loss as a Python float, loss.item(): a tensor would keep its graph alive")
        got = value
        if abs(got - expected) > 1e-5 or not _same_weights(mine, reference):
            hint = ("the first step is right, the second is not: call optimizer.zero_grad() in every step, "
                    "since backward() adds to the gradients already stored") if step == 2 else \
                   "compute loss_fn(model(x), y), then zero_grad, backward and step, in that order"
            return verdict(False, hint)
    return verdict(True, "")


def _tiny_data():
    generator = torch.Generator().manual_seed(6)
    train = TensorDataset(torch.randint(0, 256, (20, 3, SIZE, SIZE), generator=generator, dtype=torch.uint8),
                          torch.randint(0, 4, (20,), generator=generator))
    val = TensorDataset(torch.randn(10, 3, SIZE, SIZE, generator=generator),
                        torch.randint(0, 4, (10,), generator=generator))
    return DataLoader(train, batch_size=8), DataLoader(val, batch_size=4)


def _prepare(pixels: torch.Tensor) -> torch.Tensor:
    return pixels.float() / 127.5 - 1  # uint8 0..255 -> -1..1


def _reference_fit(model, optimizer, loss_fn, train_loader, val_loader, epochs) -> list[dict]:
    history = []
    for epoch in range(1, epochs + 1):
        model.train()
        total, count = 0.0, 0
        for pixels, labels in train_loader:
            total += _reference_step(model, optimizer, loss_fn, _prepare(pixels), labels) * len(labels)
            count += len(labels)
        model.eval()
        correct = 0
        with torch.no_grad():
            for images, targets in val_loader:
                correct += (model(images).argmax(dim=1) == targets).sum().item()
        history.append({"epoch": epoch, "train_loss": total / count, "val_accuracy": correct / len(val_loader.dataset)})
    return history


def check_fit(fit) -> bool:
    """Does ``fit(model, optimizer, loss_fn, train_loader, val_loader, epochs, prepare)`` train and validate?

    It must return one dict per epoch with ``epoch``, ``train_loss`` (the mean over the
    epoch's images) and ``val_accuracy``, and leave the weights where the reference does.
    """
    if missing(fit, "`fit`"):
        return False
    train_loader, val_loader = _tiny_data()
    loss_fn = nn.CrossEntropyLoss()
    mine, my_optimizer = _model_and_optimizer()
    reference, optimizer = _model_and_optimizer()
    torch.manual_seed(3)
    history, hint = attempt(fit, mine, my_optimizer, loss_fn, train_loader, val_loader, 2, _prepare)
    if hint:
        return verdict(False, hint)
    torch.manual_seed(3)
    expected = _reference_fit(reference, optimizer, loss_fn, train_loader, val_loader, 2)
    if not isinstance(history, list) or len(history) != 2:
        return verdict(False, "return a list with one entry per epoch (2 epochs here)")
    if not all(isinstance(h, dict) and {"epoch", "train_loss", "val_accuracy"} <= set(h) for h in history):
        return verdict(False, "each entry is a dict with 'epoch', 'train_loss' and 'val_accuracy'")
    first_loss, first_accuracy = number(history[0]["train_loss"]), number(history[0]["val_accuracy"])
    if first_loss is not None and abs(first_loss - expected[0]["train_loss"]) < 1e-5 \
            and (first_accuracy is None or abs(first_accuracy - expected[0]["val_accuracy"]) > 1e-6):
        return verdict(False, VALIDATION)  # epoch 1 trained right: the validation is what differs
    losses = [number(h["train_loss"]) for h in history]
    if None in losses:
        return verdict(False, "train_loss must be one number per epoch (use loss.item() in train_step)")
    if any(abs(got - e["train_loss"]) > 1e-5 for got, e in zip(losses, expected)) or not _same_weights(mine, reference):
        return verdict(False, "train on prepare(pixels) with train_step for every batch, in training mode; "
                              "train_loss is the mean over the epoch's images (sum loss x batch size, divide by count)")
    accuracies = [number(h["val_accuracy"]) for h in history]
    ok = None not in accuracies and all(abs(a - e["val_accuracy"]) < 1e-6 for a, e in zip(accuracies, expected))
    return verdict(ok, VALIDATION)
