"""Evaluation: predictions, classification reports and confusion matrices.

The original project printed its reports with the class names in the wrong order: its
"pituitary" row was really glioma. Here the names always come from
``load_datasets(...).classes`` (the sorted folder names that also define the label
numbers), and scikit-learn is told the label order explicitly, so row ``i`` is class ``i``.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import torch
from sklearn.metrics import classification_report, confusion_matrix, f1_score
from torch import nn


@dataclass
class Evaluation:
    """Predictions on one split, and what scikit-learn says about them."""

    y_true: np.ndarray
    y_pred: np.ndarray
    probs: np.ndarray
    classes: list[str]

    @property
    def accuracy(self) -> float:
        return float((self.y_true == self.y_pred).mean())

    @property
    def macro_f1(self) -> float:
        return float(f1_score(self.y_true, self.y_pred, average="macro", zero_division=0))

    def _report(self, as_dict: bool):
        return classification_report(
            self.y_true,
            self.y_pred,
            labels=list(range(len(self.classes))),
            target_names=self.classes,
            digits=3,
            zero_division=0,
            output_dict=as_dict,
        )

    def report(self) -> str:
        """The text report, one row per class, for printing."""
        return self._report(as_dict=False)

    def report_dict(self) -> dict:
        return self._report(as_dict=True)

    def confusion(self) -> np.ndarray:
        """Rows are true classes, columns predicted classes, in ``classes`` order."""
        return confusion_matrix(self.y_true, self.y_pred, labels=list(range(len(self.classes))))


def model_device(model: nn.Module) -> torch.device:
    """The device a model's weights (or buffers) are on; the CPU for a model that has neither."""
    tensor = next(itertools.chain(model.parameters(), model.buffers()), None)
    return tensor.device if tensor is not None else torch.device("cpu")


@torch.no_grad()
def logits_and_labels(model: nn.Module, loader) -> tuple[torch.Tensor, torch.Tensor]:
    """The model's logits (float32, on the CPU) and the true labels for every batch of ``loader``.

    Runs in evaluation mode on the model's device, in the model's memory layout.
    """
    model.eval()
    device = model_device(model)
    weight = next((p for p in model.parameters() if p.dim() == 4), None)
    channels_last = weight is not None and not weight.is_contiguous() and weight.is_contiguous(
        memory_format=torch.channels_last)
    layout = torch.channels_last if channels_last else torch.contiguous_format
    labels, logits = [], []
    for x, y in loader:
        x = x.to(device, non_blocking=True).contiguous(memory_format=layout)
        logits.append(model(x).float().cpu())
        labels.append(torch.as_tensor(y))
    return torch.cat(logits), torch.cat(labels)


def predict(model: nn.Module, loader) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return ``(true labels, predicted labels, class probabilities)`` for a loader."""
    logits, labels = logits_and_labels(model, loader)
    probs = torch.softmax(logits, dim=1).numpy()
    return labels.numpy(), probs.argmax(axis=1), probs


def evaluate(model: nn.Module, loader, classes: list[str]) -> Evaluation:
    """Predict every batch of ``loader`` with ``model`` and wrap the result."""
    y_true, y_pred, probs = predict(model, loader)
    return Evaluation(y_true, y_pred, probs, list(classes))
