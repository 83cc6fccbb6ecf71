"""Checker for the calibration error a student writes by hand (notebook 12).

The checker calls the student's ``calibration_error(labels, probs, bins)`` on predictions of its
own, where the usual slips give different answers: a confidence of exactly 1.0 (it belongs in the
top bin), a signed gap, bins averaged without their weights, and the probability of the true
class used as the confidence. The reference is :func:`mri_helpers.clinical.expected_calibration_error`.
"""

from __future__ import annotations

import numpy as np

from ..clinical import expected_calibration_error
from .verdict import attempt, missing, verdict


def _cases():
    """(labels, probs, bins): over- and under-confident bins, a confidence of 1.0, uneven bins."""
    rng = np.random.default_rng(12)
    logits = rng.normal(0, 3, size=(60, 4))
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    probs[0] = [1.0, 0.0, 0.0, 0.0]
    labels = np.where(rng.random(60) < 0.7, probs.argmax(1), rng.integers(0, 4, 60))
    labels[0] = 2  # a wrong prediction at confidence 1.0: dropping the top edge of the last bin shows
    return ((labels, probs, 15), (labels[:20], probs[:20], 5),
            (np.array([0, 1, 1, 1]), np.array([[.9, .1], [.9, .1], [.4, .6], [.4, .6]]), 10))


def _signed(labels, probs, bins):
    confidence, right = probs.max(1), probs.argmax(1) == labels
    which = np.minimum((confidence * bins).astype(int), bins - 1)
    return sum((which == b).mean() * (confidence[which == b].mean() - right[which == b].mean())
               for b in range(bins) if (which == b).any())


def _unweighted(labels, probs, bins):
    confidence, right = probs.max(1), probs.argmax(1) == labels
    which = np.minimum((confidence * bins).astype(int), bins - 1)
    gaps = [abs(confidence[which == b].mean() - right[which == b].mean()) for b in range(bins) if (which == b).any()]
    return float(np.mean(gaps))


def check_calibration_error(calibration_error) -> bool:
    """12: does ``calibration_error(labels, probs, bins)`` give the expected calibration error?"""
    if missing(calibration_error, "`calibration_error`"):
        return False
    for labels, probs, bins in _cases():
        expected = expected_calibration_error(labels, probs, bins)
        value, hint = attempt(calibration_error, labels.copy(), probs.copy(), bins)
        if hint:
            if "index" in hint.lower() or "out of bounds" in hint.lower():
                hint += ": a confidence of exactly 1.0 falls in bin number `bins`; put it in the top bin"
            return verdict(False, hint)
        try:
            value = float(value)
        except (TypeError, ValueError):
            return verdict(False, f"return one number, not {type(value).__name__}")
        if np.isclose(value, expected, atol=1e-6):
            continue
        if np.isnan(value):
            return verdict(False, "skip the empty bins: a bin with no predictions has no mean confidence")
        if np.isclose(value, _signed(labels, probs, bins), atol=1e-6):
            hint = "over- and under-confident bins cancel out: take the absolute gap |confidence - accuracy|"
        elif np.isclose(value, _unweighted(labels, probs, bins), atol=1e-6):
            hint = "weight each bin's gap by its share of the images, not equally"
        else:
            hint = ("per bin: share of images x |mean top probability - share right|, summed over the bins; "
                    "the confidence is the top probability, whatever the label")
        return verdict(False, hint)
    return verdict(True, "")
