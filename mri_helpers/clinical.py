"""What a clinician asks of a classifier, computed from the probabilities a run record keeps.

Accuracy answers "how often is it right?". A clinician asks three other questions:

* does it rank the scans well? One-vs-rest ROC AUC per class (scikit-learn's
  ``roc_auc_score``), with a bootstrap interval over the test images;
* how often does it miss a tumour, and how often does it raise a false alarm? Sensitivity and
  specificity of "tumour" (any of the three tumour classes) against "no tumour", each with a
  Wilson interval;
* can its confidence be trusted? The expected calibration error (ECE), the gap between how
  sure the model says it is and how often it is right, and a reliability diagram; then again
  after temperature scaling, one number fitted on the validation half that softens or
  sharpens every prediction without changing any of them.

Everything here takes labels and class probabilities (N x classes), so it runs on the stored
records, without a checkpoint.
"""

from __future__ import annotations

from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax
from sklearn.calibration import calibration_curve
from sklearn.metrics import roc_auc_score

from .stats import wilson_interval

NO_TUMOUR = "notumor"  # the dataset's folder name for scans without a tumour


def auc_per_class(labels, probs, classes: list[str], resamples: int = 1000, seed: int = 0) -> dict[str, tuple]:
    """Per class, ``(AUC, low, high)``: one-vs-rest ROC AUC and its 95% percentile bootstrap interval.

    The bootstrap redraws the test images with replacement ``resamples`` times, a fixed seed
    so the interval is repeatable; a draw that lacks a class or its complement is skipped.
    """
    labels, probs = np.asarray(labels), np.asarray(probs, dtype=float)
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(labels), size=(resamples, len(labels)))
    out = {}
    for k, name in enumerate(classes):
        positive, score = labels == k, probs[:, k]
        boot = [roc_auc_score(positive[d], score[d]) for d in draws if 0 < positive[d].sum() < len(d)]
        low, high = np.percentile(boot, [2.5, 97.5])
        out[name] = (float(roc_auc_score(positive, score)), float(low), float(high))
    return out


@dataclass(frozen=True)
class TumourScreen:
    """Tumour (any tumour class) against no tumour, from 4-class predictions."""

    sensitivity: tuple[float, float, float]  # of the scans with a tumour, the share called a tumour; Wilson interval
    specificity: tuple[float, float, float]  # of the scans without, the share called "no tumour"
    missed: int  # tumours called "no tumour"
    false_alarms: int  # scans without a tumour called a tumour


def tumour_screen(labels, predictions, classes: list[str]) -> TumourScreen:
    """Sensitivity and specificity of the tumour/no-tumour decision a 4-class prediction implies.

    Calling a meningioma a glioma is still "tumour found": it counts as right here.
    """
    none = classes.index(NO_TUMOUR)
    tumour, called = np.asarray(labels) != none, np.asarray(predictions) != none
    found, cleared = int((tumour & called).sum()), int((~tumour & ~called).sum())
    return TumourScreen(
        sensitivity=(found / tumour.sum(), *wilson_interval(found, int(tumour.sum()))),
        specificity=(cleared / (~tumour).sum(), *wilson_interval(cleared, int((~tumour).sum()))),
        missed=int((tumour & ~called).sum()),
        false_alarms=int((~tumour & called).sum()),
    )


def expected_calibration_error(labels, probs, bins: int = 15) -> float:
    """ECE: sort the predictions into ``bins`` equal-width bins of confidence (the top probability);
    in each, the gap between mean confidence and accuracy, weighted by the bin's share of images."""
    probs = np.asarray(probs, dtype=float)
    confidence, right = probs.max(axis=1), probs.argmax(axis=1) == np.asarray(labels)
    which = np.minimum((confidence * bins).astype(int), bins - 1)  # confidence 1.0 goes in the top bin
    ece = 0.0
    for b in range(bins):
        here = which == b
        if here.any():
            ece += here.mean() * abs(confidence[here].mean() - right[here].mean())
    return float(ece)


def log_probabilities(probs) -> np.ndarray:
    """Logits up to a constant per image (all softmax needs): the log of stored probabilities,
    floored where a probability was stored as 0."""
    return np.log(np.clip(np.asarray(probs, dtype=float), 1e-45, None))


def fit_temperature(labels, probs) -> float:
    """The temperature T that minimises the validation half's negative log-likelihood of
    ``softmax(logits / T)``; T > 1 means the model was over-confident."""
    logits, labels = log_probabilities(probs), np.asarray(labels)

    def nll(log_t: float) -> float:
        return float(-log_softmax(logits / np.exp(log_t), axis=1)[np.arange(len(labels)), labels].mean())

    return float(np.exp(minimize_scalar(nll, bounds=(-3, 3), method="bounded").x))


def scale(probs, temperature: float) -> np.ndarray:
    """Probabilities after temperature scaling: the same ranking and predictions, softer or sharper."""
    return np.exp(log_softmax(log_probabilities(probs) / temperature, axis=1))


def reliability_diagram(labels, probs: dict[str, np.ndarray], bins: int = 10) -> Figure:
    """A reliability diagram: per bin of confidence (the top probability), how often the
    prediction was right, one line per set of probabilities (before and after temperature
    scaling, say). On the diagonal, a model is as sure as it is right."""
    fig, ax = plt.subplots(figsize=(4.2, 4))
    ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=1, label="calibrated")
    for name, p in probs.items():
        p = np.asarray(p)
        right = p.argmax(1) == np.asarray(labels)
        accuracy, confidence = calibration_curve(right, p.max(1), n_bins=bins, strategy="uniform")
        ax.plot(confidence, accuracy, marker="o", label=name)
    ax.set_xlabel("confidence (top probability)")
    ax.set_ylabel("share right")
    ax.set_title("Reliability")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
