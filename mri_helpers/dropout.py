"""Dropout, measured (notebook 06): what it does to a layer's outputs, and to a model's learning curves."""

from __future__ import annotations

import time

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from torch import nn
from torch.utils.data import DataLoader

from .datasets import Datasets
from .models import build_model
from .recipes import Recipe
from .training import Trainer, seed_everything
from .transforms import Prepare


def dropout_sums(p: float, draws: int = 1000, features: int = 100, seed: int = 0) -> tuple[np.ndarray, float]:
    """Sum the outputs of a fixed linear layer after ``nn.Dropout(p)``, ``draws`` times.

    Returns the sums and the sum without dropout. Because dropout scales the kept
    values by ``1 / (1 - p)``, the sums average to the no-dropout sum for every ``p``;
    only their spread grows with ``p``. That is why a network trained with dropout
    needs no change at evaluation time, when dropout is switched off.
    """
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        layer = nn.Linear(features, features)
        x = torch.rand(1, features)
        dropout = nn.Dropout(p).train()
        with torch.no_grad():
            outputs = torch.relu(layer(x))  # dropout usually follows a ReLU
            sums = torch.stack([dropout(outputs).sum() for _ in range(draws)])
    return sums.numpy(), float(outputs.sum())


# ------------------------------------------------------------------ dropout against overfitting

def set_dropout(model: nn.Module, p: float) -> nn.Module:
    """Set every dropout layer of ``model`` to probability ``p`` (0 switches them off); returns the model."""
    if not 0 <= p <= 1:
        raise ValueError(f"p is a probability, between 0 and 1, got {p!r}.")
    for module in model.modules():
        if isinstance(module, (nn.Dropout, nn.Dropout2d)):
            module.p = p
    return model


def dropout_run(data: Datasets, recipe: Recipe, p: float, model: str = "cnn1", seed: int = 42,
                device=None) -> list[dict]:
    """Train ``model`` with its dropout at ``p`` on ``recipe.train_subset`` training images; losses per epoch.

    Training uses no augmentation, so that dropout is the only thing standing between the
    model and learning its few images by heart. After every epoch both losses are measured
    the same way, in evaluation mode (dropout off): on those training images (``train_loss``)
    and on the validation half (``val_loss``). The seed fixes the starting weights, the
    images and the order of the batches, so runs with different ``p`` differ in ``p`` alone.
    """
    if not recipe.train_subset:
        raise ValueError("Give the recipe a train_subset: this experiment trains on a few images, briefly.")
    if recipe.image_size != data.image_size:
        raise ValueError(f"The recipe's image size ({recipe.image_size}) is not the data's ({data.image_size}).")
    seed_everything(seed)
    net = set_dropout(build_model(model, num_classes=len(data.classes), image_size=data.image_size), p)
    picked = torch.randperm(len(data.train), generator=torch.Generator().manual_seed(seed))[: recipe.train_subset]
    rows = data.train.rows[picked.numpy()]
    plain = Prepare(data.normalize)  # normalise only: no augmentation
    train_loader = DataLoader(data.train.subset(rows, raw=True), batch_size=recipe.batch_size, shuffle=True,
                              generator=torch.Generator().manual_seed(seed))
    train_images = DataLoader(data.train.subset(rows, prepare=plain, raw=False), batch_size=128)
    val_loader = DataLoader(data.val, batch_size=128)
    trainer = Trainer(net, recipe, seed=seed, device=device, prepare=plain)
    history = []
    for epoch in range(1, recipe.epochs + 1):
        start = time.perf_counter()
        dropout_on = trainer.train_epoch(train_loader)  # the mean loss of the epoch's steps, dropout on
        val = trainer.validate(val_loader)
        history.append({"epoch": epoch, "train_loss": trainer.validate(train_images)["val_loss"],
                        "val_loss": val["val_loss"], "val_accuracy": val["val_accuracy"],
                        "train_loss_dropout_on": dropout_on, "seconds": time.perf_counter() - start})
    return history


def _by_p(curves: dict) -> dict[float, list[dict]]:
    """``curves`` with float keys (a JSON record stores them as strings)."""
    return {float(p): history for p, history in curves.items()}


def format_curves(curves: dict) -> str:
    """Per epoch and per p: training loss, validation loss and their gap (validation minus training)."""
    curves = _by_p(curves)
    head = "".join(f"{f'p = {p}':^27}" for p in curves)
    lines = [f"{'':>5} {head}", f"{'epoch':>5} " + f"{'train':>9}{'val':>9}{'gap':>9}" * len(curves)]
    for rows in zip(*curves.values()):
        lines.append(f"{rows[0]['epoch']:>5} " + "".join(
            f"{r['train_loss']:>9.3f}{r['val_loss']:>9.3f}{r['val_loss'] - r['train_loss']:>9.3f}" for r in rows))
    return "\n".join(lines)


def plot_dropout_curves(curves: dict, title: str = "The same model with and without dropout") -> Figure:
    """Training and validation loss per epoch, one panel per dropout p, side by side on one shared axis."""
    curves = _by_p(curves)
    fig, axes = plt.subplots(1, len(curves), figsize=(4.5 * len(curves), 3.5), sharey=True, squeeze=False)
    for ax, (p, history) in zip(axes[0], curves.items()):
        epochs = [h["epoch"] for h in history]
        ax.plot(epochs, [h["train_loss"] for h in history], marker="o", label="training")
        ax.plot(epochs, [h["val_loss"] for h in history], marker="o", label="validation")
        ax.set_title(f"dropout p = {p}")
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
    axes[0, 0].set_ylim(bottom=0)
    axes[0, 0].set_ylabel("cross-entropy, dropout off")
    axes[0, 0].legend()
    fig.suptitle(title)
    fig.tight_layout()
    return fig
