"""How sure a score is: intervals for one accuracy, paired tests for two models, spread across seeds.

655 test images are not many. An accuracy of 0.76 on them has a 95% interval about six
points wide, so two models a point or two apart may well be equally good. These
functions put the uncertainty next to every number the course shows:

* :func:`wilson_interval`: a 95% interval for one accuracy (Wilson's score interval, which
  stays inside [0, 1] and behaves near 0 and 1, unlike the textbook ``p ± 1.96·SE``);
* :func:`mcnemar`: the exact McNemar test for two models scored on the *same* images. It
  looks only at the images where exactly one model is right: if the models were equally
  good, each of those would be equally likely to favour either model (a fair coin);
* :func:`spread`: the mean and standard deviation of one score across seeds;
* :func:`holm`: Holm's step-down correction, for many tests at once (the appendix, notebook 14).

Both tests come from :mod:`scipy.stats` (``binomtest``); this module only says which
numbers to feed it, which is the part worth learning.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import binomtest, ttest_rel


def wilson_interval(correct: int, total: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a proportion of ``correct`` out of ``total``."""
    if total <= 0:
        raise ValueError("An interval needs at least one scored image (total > 0).")
    ci = binomtest(int(correct), int(total)).proportion_ci(confidence_level=confidence, method="wilson")
    return float(ci.low), float(ci.high)


def accuracy_interval(y_true, y_pred, confidence: float = 0.95) -> tuple[float, float, float]:
    """``(accuracy, low, high)`` of predictions against labels, with a Wilson interval."""
    right = np.asarray(y_true) == np.asarray(y_pred)
    return (float(right.mean()), *wilson_interval(int(right.sum()), len(right), confidence))


def format_accuracy(accuracy: float, low: float, high: float) -> str:
    """``0.760 [0.726, 0.792]``: how the course prints an accuracy with its interval."""
    return f"{accuracy:.3f} [{low:.3f}, {high:.3f}]"


@dataclass(frozen=True)
class Paired:
    """The exact McNemar test of two models on the same images."""

    only_a: int  # images model A got right and model B got wrong
    only_b: int  # and the other way round
    p_value: float  # two-sided: how surprising a split at least this uneven would be if the models were equal

    def __str__(self) -> str:
        return (f"{self.only_a} images only A got right, {self.only_b} only B; "
                f"exact McNemar p = {self.p_value:.3g}")


def mcnemar(y_true, pred_a, pred_b) -> Paired:
    """Exact McNemar test: are two models' error rates on the same images different?

    Images both models get right, or both get wrong, say nothing about which is better, so
    only the discordant ones count. Under "equally good", the number that favour A is
    binomial with ``p = 1/2``; the p-value is scipy's exact two-sided binomial test.
    """
    y_true, pred_a, pred_b = map(np.asarray, (y_true, pred_a, pred_b))
    if not (y_true.shape == pred_a.shape == pred_b.shape):
        raise ValueError("Pair the models on the same images: the labels and both predictions need the same length.")
    right_a, right_b = pred_a == y_true, pred_b == y_true
    only_a, only_b = int((right_a & ~right_b).sum()), int((right_b & ~right_a).sum())
    p = 1.0 if only_a + only_b == 0 else float(binomtest(only_a, only_a + only_b, 0.5).pvalue)
    return Paired(only_a, only_b, p)


def spread(values) -> tuple[float, float]:
    """Mean and sample standard deviation (``ddof=1``) across seeds; the deviation is 0 for one seed."""
    values = np.asarray(values, dtype=float)
    if values.size == 0:
        raise ValueError("No values: train at least one seed.")
    return float(values.mean()), float(values.std(ddof=1)) if values.size > 1 else 0.0


def difference_interval(a, b, confidence: float = 0.95) -> tuple[float, float, float]:
    """Mean of ``a[i] - b[i]`` over seeds and its t interval: how big the gap may be, not only
    whether it is zero.

    ``nan`` bounds where :func:`paired_over_seeds` gives ``nan``: fewer than 2 seeds, or every
    seed differing by the same non-zero amount (no spread to size the interval with; a
    zero-width interval would claim certainty 2-3 seeds cannot give). Identical scores give
    ``(0, 0, 0)``.
    """
    d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    if d.size < 2 or np.isnan(paired_over_seeds(a, b)):
        return float(d.mean()), float("nan"), float("nan")
    if np.allclose(d, 0):
        return 0.0, 0.0, 0.0
    low, high = ttest_rel(a, b).confidence_interval(confidence)
    return float(d.mean()), float(low), float(high)


def paired_over_seeds(a, b) -> float:
    """Two-sided p-value of the paired t-test of two scores over the same seeds (a[i] and b[i] share seed i).

    The seed fixes the initial weights and the data order, so two variants trained on one
    seed pair up, and their differences are what is tested. ``nan`` with fewer than 2 seeds,
    and when every seed differs by the same non-zero amount: the test divides by the spread of
    the differences, so it is undefined there (and a p of exactly 0 would overstate what 2-3
    seeds show).
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape:
        raise ValueError("Pair the scores seed by seed: both lists need the same length.")
    if a.size < 2:
        return float("nan")
    if np.allclose(a - b, (a - b)[0]):
        return 1.0 if np.isclose((a - b)[0], 0) else float("nan")
    return float(ttest_rel(a, b).pvalue)


def holm(p_values) -> list[float]:
    """Holm's step-down adjusted p-values, in the order the tests were given."""
    p = np.asarray(p_values, dtype=float)
    m = len(p)
    adjusted, running = np.empty(m), 0.0
    for rank, i in enumerate(np.argsort(p)):  # the smallest p first
        running = max(running, (m - rank) * p[i])  # times m, then m - 1, ...; never below the one before
        adjusted[i] = min(1.0, running)  # a probability: at most 1
    return adjusted.tolist()
