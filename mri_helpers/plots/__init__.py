"""Every figure of the course. Each function returns a matplotlib ``Figure``.

Keeping figure code here (as *PyTorch Step by Step* keeps it in ``plots/``) lets the
notebooks show one line per figure and lets tests check the axes and titles. The figures of
the robustness study live in :mod:`.shifts`, and are imported here with the rest.
:func:`save_figure` writes a figure atomically, so an interrupted run never leaves a
truncated PNG in ``imgs/``.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, FormatStrFormatter, NullFormatter
from sklearn.metrics import ConfusionMatrixDisplay

from ..transforms import unnormalize

# Notebook figures are stored inside the .ipynb files: a modest screen resolution keeps them
# small. Files in imgs/ are saved at a higher resolution by save_figure.
plt.rcParams["figure.dpi"] = 72


def save_figure(fig: Figure, directory: str | os.PathLike, name: str, dpi: int = 100) -> None:
    """Save ``fig`` as ``directory/name`` (PNG): to a temporary file first, then renamed onto the name."""
    path = Path(directory) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fig.savefig(tmp, format="png", dpi=dpi, bbox_inches="tight", metadata={"Software": None})
    os.replace(tmp, path)


def _show(ax, image) -> None:
    """Draw a ``3 x H x W`` (or ``H x W``) image, uint8 or float in [0, 1], without ticks."""
    image = image.numpy() if isinstance(image, torch.Tensor) else np.asarray(image)
    if image.ndim == 3:
        image = image[0] if image.shape[0] == 1 else image.transpose(1, 2, 0)
    top = 255 if image.dtype == np.uint8 else 1
    if top == 1:
        image = np.clip(image, 0, 1)
    ax.imshow(image, cmap="gray", vmin=0, vmax=top)
    ax.set_xticks([])
    ax.set_yticks([])


def class_distribution(labels, classes: list[str], title: str) -> Figure:
    """Bar chart of how many images each class has, with the counts on the bars."""
    counts = np.bincount(np.asarray(labels), minlength=len(classes))
    fig, ax = plt.subplots(figsize=(6, 3.5))
    bars = ax.bar(classes, counts, color="tab:blue")
    ax.bar_label(bars)
    ax.set_title(title)
    ax.set_ylabel("images")
    return fig


def sample_grid(images, labels, classes: list[str], per_class: int = 4, title: str = "Samples per class") -> Figure:
    """One row per class with its first ``per_class`` images (uint8 ``3 x H x W``)."""
    labels = np.asarray(labels)
    fig, axes = plt.subplots(len(classes), per_class, figsize=(2 * per_class, 2 * len(classes)), squeeze=False)
    for row, name in enumerate(classes):
        picks = np.flatnonzero(labels == row)[:per_class]
        for col in range(per_class):
            ax = axes[row, col]
            if col < len(picks):
                _show(ax, images[picks[col]])
            else:
                ax.axis("off")
        axes[row, 0].set_ylabel(name)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def augmented_batch(batch: torch.Tensor, labels, classes: list[str], normalize, columns: int = 8,
                    title: str = "An augmented training batch") -> Figure:
    """A training batch as the model sees it (augmented), un-normalised for display."""
    images = unnormalize(batch, normalize)
    rows = math.ceil(len(images) / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(1.5 * columns, 1.9 * rows), squeeze=False, layout="constrained")
    for ax in axes.flat:
        ax.axis("off")
    for ax, image, label in zip(axes.flat, images, labels):
        _show(ax, image)
        ax.set_title(classes[int(label)], fontsize=8)
    fig.suptitle(title)
    return fig


def dropout_distributions(sums: dict[float, np.ndarray], reference: float) -> Figure:
    """Histograms of summed dropout outputs per p, with their mean and the no-dropout sum."""
    fig, axes = plt.subplots(1, len(sums), figsize=(4 * len(sums), 3.2), sharex=True, squeeze=False)
    for ax, (p, values) in zip(axes[0], sums.items()):
        ax.hist(values, bins=40, color="tab:blue", alpha=0.8)
        ax.axvline(values.mean(), color="tab:red", label=f"mean {values.mean():.1f}")
        ax.axvline(reference, color="black", linestyle="--", label=f"no dropout {reference:.1f}")
        ax.set_title(f"p = {p}")
        ax.set_xlabel("sum of outputs")
        ax.legend(fontsize=8)
    axes[0, 0].set_ylabel("number of draws")
    fig.suptitle("Dropout keeps the mean, widens the spread")
    fig.tight_layout()
    return fig


def dropout_images(image: torch.Tensor, p: float = 0.3, seed: int = 0, draws: int = 3) -> Figure:
    """An image (``3 x H x W`` in [0, 1]) under ``dropout`` (single values) and ``dropout2d`` (whole channels).

    ``dropout2d`` is shown for several draws: each keeps or drops whole channels at random
    (a dropped channel shows as a colour shift, all kept ones as a brighter image).
    """
    g = torch.Generator().manual_seed(seed)
    panels = {"original": image, f"dropout, p={p}": image * (torch.rand(image.shape, generator=g) >= p) / (1 - p)}
    for draw in range(1, draws + 1):
        kept = (torch.rand(image.shape[0], 1, 1, generator=g) >= p).float()
        panels[f"dropout2d, p={p} (draw {draw})"] = image * kept / (1 - p)
    fig, axes = plt.subplots(1, len(panels), figsize=(3.3 * len(panels), 3.6))
    for ax, (title, shown) in zip(axes, panels.items()):
        _show(ax, shown)
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig


def accuracy_curve(history: list[dict], title: str) -> Figure:
    """Validation accuracy per epoch."""
    epochs = [h["epoch"] for h in history]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(epochs, [h["val_accuracy"] for h in history], marker="o")
    ax.set_title(title)
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation accuracy")
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    return fig


def loss_curves(history: list[dict], title: str) -> Figure:
    """Training and validation loss per epoch, on a log axis."""
    epochs = [h["epoch"] for h in history]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(epochs, [h["train_loss"] for h in history], marker="o", label="training")
    ax.plot(epochs, [h["val_loss"] for h in history], marker="o", label="validation")
    ax.set_yscale("log")
    ax.set_title(title)
    ax.set_xlabel("epoch")
    ax.set_ylabel("cross-entropy (log scale)")
    ax.legend()
    ax.grid(alpha=0.3, which="both")
    return fig


def confusion_matrix(matrix, classes: list[str], title: str) -> Figure:
    """A confusion matrix: rows are true classes, columns predicted ones."""
    fig, ax = plt.subplots(figsize=(5, 4.5))
    ConfusionMatrixDisplay(np.asarray(matrix), display_labels=classes).plot(ax=ax, colorbar=False, cmap="Blues")
    ax.set_title(title)
    ax.tick_params(axis="x", labelrotation=30)
    return fig


def feature_maps(maps: torch.Tensor, layer: str, channels: int = 8, row_labels: list[str] | None = None) -> Figure:
    """The first ``channels`` feature maps of a layer (``images x C x H x W``), a row per image."""
    n_images, n_channels = maps.shape[:2]
    shown = min(channels, n_channels)
    fig, axes = plt.subplots(n_images, shown, figsize=(1.1 * shown, 1.2 * n_images), squeeze=False)
    for i in range(n_images):
        for c in range(shown):
            axes[i, c].imshow(maps[i, c].numpy(), cmap="viridis")
            axes[i, c].set_xticks([])
            axes[i, c].set_yticks([])
            if i == 0:
                axes[i, c].set_title(f"ch {c}", fontsize=8)
        if row_labels:
            axes[i, 0].set_ylabel(row_labels[i], fontsize=8)
    fig.suptitle(f"{layer}: {n_channels} maps of {maps.shape[2]}x{maps.shape[3]} (first {shown} shown)")
    fig.tight_layout()
    return fig


def conv_filters(weights: torch.Tensor, layer: str) -> Figure:
    """Each 3x3 filter of a conv layer, its input channels averaged, on a shared colour scale."""
    kernels = weights.mean(dim=1)
    limit = float(kernels.abs().max())
    columns = min(8, len(kernels))
    rows = math.ceil(len(kernels) / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(1.3 * columns + 1, 1.4 * rows), squeeze=False,
                             layout="constrained")
    for ax in axes.flat:
        ax.axis("off")
    for i, (ax, kernel) in enumerate(zip(axes.flat, kernels)):
        shown = ax.imshow(kernel.numpy(), cmap="RdBu_r", vmin=-limit, vmax=limit)
        ax.set_title(str(i), fontsize=7)
    fig.colorbar(shown, ax=axes, shrink=0.8, label="weight (blue < 0 < red)")
    fig.suptitle(f"{layer} filters (mean over input channels)")
    return fig


def kernel_responses(image: torch.Tensor, responses: dict[str, torch.Tensor]) -> Figure:
    """A grey image (H x W) and what each kernel made of it (H x W each), side by side: red > 0 > blue."""
    fig, axes = plt.subplots(1, 1 + len(responses), figsize=(2.8 * (1 + len(responses)), 3))
    axes[0].imshow(image.numpy(), cmap="gray")
    axes[0].set_title("input")
    for ax, (name, out) in zip(axes[1:], responses.items()):
        limit = float(out.abs().max()) or 1.0
        ax.imshow(out.numpy(), cmap="RdBu_r", vmin=-limit, vmax=limit)
        ax.set_title(name)
    for ax in axes:
        ax.axis("off")
    fig.tight_layout()
    return fig


def kernel_values(kernels: dict[str, torch.Tensor]) -> Figure:
    """3 x 3 kernels side by side, each weight written in its cell (red > 0 > blue)."""
    fig, axes = plt.subplots(1, len(kernels), figsize=(2.4 * len(kernels), 2.4), squeeze=False)
    for ax, (name, kernel) in zip(axes[0], kernels.items()):
        values = kernel.detach().reshape(3, 3).numpy()
        limit = float(np.abs(values).max()) or 1.0
        ax.imshow(values, cmap="RdBu_r", vmin=-limit, vmax=limit)
        for (r, c), v in np.ndenumerate(values):
            ax.text(c, r, f"{v:.2f}", ha="center", va="center", fontsize=9)
        ax.set_title(name)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    return fig


def _probability_bars(ax, probs, classes: list[str], highlight: int, colour: str) -> None:
    """Horizontal bars of class probabilities, class ``highlight`` in ``colour``, the rest grey."""
    ax.barh(classes, probs, color=[colour if c == highlight else "tab:gray" for c in range(len(classes))])
    ax.set_xlim(0, 1)
    ax.set_xlabel("predicted probability")


def prediction(image: torch.Tensor, probs, true: int, classes: list[str], normalize) -> Figure:
    """One test image beside its predicted class probabilities (the true class in green)."""
    predicted = int(np.argmax(probs))
    fig, (left, right) = plt.subplots(1, 2, figsize=(8, 3.5))
    _show(left, unnormalize(image, normalize))
    left.set_title(f"true: {classes[true]}")
    _probability_bars(right, probs, classes, highlight=true, colour="tab:green")
    right.set_title(f"predicted: {classes[predicted]} ({'right' if predicted == true else 'wrong'})")
    fig.tight_layout()
    return fig


def image_pairs(lefts, rights, titles: list[str], suptitle: str) -> Figure:
    """Images side by side, one pair per row (uint8 ``C x H x W``), e.g. a test scan and its training twin."""
    fig, axes = plt.subplots(len(lefts), 2, figsize=(5, 2.5 * len(lefts)), squeeze=False)
    for row, (left, right, title) in enumerate(zip(lefts, rights, titles)):
        _show(axes[row, 0], left)
        _show(axes[row, 1], right)
        axes[row, 0].set_title(title, fontsize=8, loc="left")
    fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def lr_range(lrs: list[float], losses: list[float]) -> Figure:
    """The LR range test: smoothed loss against a log-scaled learning rate."""
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(lrs, losses)
    ax.set_xscale("log")
    ax.set_title("Learning-rate range test")
    ax.set_xlabel("learning rate (log scale)")
    ax.set_ylabel("smoothed training loss")
    ax.grid(alpha=0.3, which="both")
    return fig


def _overlay(ax, image: torch.Tensor, heatmap: torch.Tensor, normalize):
    """A grey image with a Grad-CAM heatmap laid over it (transparent where the map is zero); returns the map's image."""
    _show(ax, unnormalize(image, normalize))
    return ax.imshow(np.ma.masked_less(heatmap.numpy(), 0.05), cmap="jet", alpha=0.45, vmin=0, vmax=1)


HEAT_LABEL = "Grad-CAM, scaled to its maximum"


def gradcam_grid(images: torch.Tensor, heatmaps: torch.Tensor, titles: list[str], normalize,
                 columns: int = 4, suptitle: str = "Grad-CAM") -> Figure:
    """Heatmaps over their images, ``columns`` per row, each with its title."""
    rows = math.ceil(len(images) / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(2.4 * columns + 1, 2.8 * rows), squeeze=False,
                             layout="constrained")
    for ax in axes.flat:
        ax.axis("off")
    for ax, image, heat, title in zip(axes.flat, images, heatmaps, titles):
        shown = _overlay(ax, image, heat, normalize)
        ax.set_title(title, fontsize=8)
    fig.colorbar(shown, ax=axes, shrink=0.6, label=HEAT_LABEL)
    fig.suptitle(suptitle)
    return fig


def gradcam_view(image: torch.Tensor, heatmap: torch.Tensor, probs, true: int, target: int, classes: list[str],
                 normalize) -> Figure:
    """One image, its heatmap for class ``target``, and the model's probabilities."""
    fig, (left, middle, right) = plt.subplots(1, 3, figsize=(11, 3.3), layout="constrained")
    _show(left, unnormalize(image, normalize))
    left.set_title(f"true: {classes[true]}")
    fig.colorbar(_overlay(middle, image, heatmap, normalize), ax=middle, shrink=0.8, label=HEAT_LABEL)
    middle.set_title(f"evidence for: {classes[target]}")
    _probability_bars(right, probs, classes, highlight=target, colour="tab:orange")
    return fig


def lr_schedule(history: list[dict], title: str) -> Figure:
    """The learning rate each epoch ended with."""
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.plot([h["epoch"] for h in history], [h["lr"] for h in history], marker="o")
    ax.set_title(title)
    ax.set_xlabel("epoch")
    ax.set_ylabel("learning rate")
    ax.grid(alpha=0.3)
    return fig


def model_comparison(rows: dict[str, dict]) -> Figure:
    """Test accuracy against size and against training time, one point per model.

    Filled markers are the standard test half, with its 95% interval as an error bar;
    hollow ones the twin-free score re-weighted to the same class mix.
    """
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
    for ax, key, label in ((axes[0], "parameters", "parameters (log scale)"),
                           (axes[1], "train_minutes", "training wall time, minutes (log scale)")):
        for name, row in rows.items():
            low, high = row["test_interval"]
            acc = row["test_accuracy"]
            ax.errorbar(row[key], acc, yerr=[[acc - low], [high - acc]], fmt="o", ms=7, capsize=3, zorder=3)
            if row["twin_free_accuracy"] is not None:
                ax.scatter(row[key], row["twin_free_accuracy"], s=60, facecolors="none", edgecolors="k", zorder=3)
            ax.annotate(name, (row[key], acc), textcoords="offset points", xytext=(6, 4))
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(NullFormatter())  # unlabelled minor ticks: no crowded "3x10^0"
        ax.set_xlabel(label)
        ax.grid(alpha=0.3, which="both")
    axes[1].xaxis.set_major_locator(FixedLocator([1, 2, 5, 10, 20, 50, 100, 200, 500]))
    axes[1].xaxis.set_major_formatter(FormatStrFormatter("%g"))
    axes[0].set_ylabel("test accuracy, 95% CI (hollow: twin-free, re-weighted)")
    fig.suptitle("Accuracy, size and training time")
    fig.tight_layout()
    return fig



from .shifts import severity_curves, shift_gallery, shifted_scores  # noqa: E402, F401  (after _show, which they use)
