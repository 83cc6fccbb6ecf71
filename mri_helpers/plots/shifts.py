"""The robustness study's figures: one scan under each shift, scores per shift, severity curves."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure

from . import _show


def shift_gallery(image: torch.Tensor, shifts: dict, title: str = "One scan, exported eight ways") -> Figure:
    """One uint8 scan (``C x H x W``) as exported, and under each shift (:data:`~mri_helpers.shifts.SEEN`)."""
    panels = {"as exported": image, **{name: shift(image[None])[0] for name, shift in shifts.items()}}
    columns = 4
    rows = math.ceil(len(panels) / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(2.6 * columns, 2.8 * rows), squeeze=False, layout="constrained")
    for ax in axes.flat:
        ax.axis("off")
    for ax, (name, shown) in zip(axes.flat, panels.items()):
        _show(ax, shown)
        ax.set_title(name, fontsize=9)
    fig.suptitle(title)
    return fig


def shifted_scores(scores: dict[str, dict[str, float]], intervals: dict[str, dict[str, tuple]] | None = None) -> Figure:
    """Test accuracy of each model (one line each) with no shift and under every shift, with 95% intervals."""
    fig, ax = plt.subplots(figsize=(10, 3.8), layout="constrained")
    for k, (name, accuracy) in enumerate(scores.items()):
        x = np.arange(len(accuracy)) + (k - (len(scores) - 1) / 2) * 0.12
        y = np.array(list(accuracy.values()))
        if intervals:
            low, high = np.array([intervals[name][s] for s in accuracy]).T
            ax.errorbar(x, y, yerr=[y - low, high - y], fmt="o", capsize=3, label=name)
        else:
            ax.plot(x, y, "o", label=name)
    ax.set_xticks(np.arange(len(accuracy)), list(accuracy), rotation=20)
    ax.set_ylabel("test accuracy")
    ax.grid(alpha=0.3, axis="y")
    ax.legend()
    ax.set_title("Accuracy when the scans are exported differently (95% intervals)")
    return fig


def severity_curves(curves: dict[str, dict[str, list[tuple]]], title: str = "Accuracy under held-out shifts") -> Figure:
    """One panel per held-out family: accuracy (with its 95% interval) at no shift and at the three
    severities, a line per model (:func:`~mri_helpers.course.robustness.severity_curves`)."""
    families = list(next(iter(curves.values())))
    rows = math.ceil(len(families) / 4)
    fig, axes = plt.subplots(rows, 4, figsize=(12.8, 2.6 * rows), sharey=True, squeeze=False)
    for ax, family in zip(axes.flat, families):
        for model, by_family in curves.items():
            points = by_family[family]
            acc = np.array([p[1] for p in points])
            err = np.array([[p[1] - p[2] for p in points], [p[3] - p[1] for p in points]])
            ax.errorbar(range(len(points)), acc, yerr=err, marker="o", capsize=2, label=model)
        ax.set_xticks(range(len(points)), ["none", *(f"{p[0]:g}" for p in points[1:])])
        ax.set_title(family, fontsize=10)
        ax.set_ylim(0, 1.02)
        ax.grid(alpha=0.3)
    for ax in axes.flat[len(families):]:
        ax.axis("off")
    for ax in axes[:, 0]:
        ax.set_ylabel("accuracy")
    axes.flat[0].legend(fontsize=8, loc="lower left")
    fig.suptitle(title)
    fig.tight_layout()
    return fig

