"""Checkers for the statistics and leakage exercises: discordant pairs, Wilson intervals, twins."""

from __future__ import annotations

import math

import numpy as np

from ..leakage import hamming
from ..stats import mcnemar, wilson_interval
from .verdict import missing, verdict


def check_discordant(y_true, pred_a, pred_b, answer) -> bool:
    """04: the two discordant counts ``(only A right, only B right)`` that McNemar's test uses."""
    if missing(answer, "`discordant`"):
        return False
    try:
        given = tuple(int(x) for x in answer)
    except (TypeError, ValueError):
        given = None
    if given is None or len(given) != 2:
        return verdict(False, "`discordant` is two numbers, (only A right, only B right): "
                              "count each mask with .sum()")
    paired = mcnemar(y_true, pred_a, pred_b)
    ok = given == (paired.only_a, paired.only_b)
    hint = "count images where A is right and B is wrong, then the reverse; images both get right (or wrong) do not count"
    if given == (paired.only_b, paired.only_a):
        hint = "the right counts, in the wrong order: A first"
    return verdict(ok, hint)


def check_wilson(correct: int, total: int, answer) -> bool:
    """12: the 95% Wilson interval ``(low, high)`` of ``correct`` out of ``total``, to 3 decimals."""
    if missing(answer, "`interval`"):
        return False
    low, high = wilson_interval(correct, total)
    ok = np.allclose(np.asarray(answer, dtype=float), [low, high], atol=5e-4)
    p, n, z = correct / total, total, 1.959964
    wald = (p - z * math.sqrt(p * (1 - p) / n), p + z * math.sqrt(p * (1 - p) / n))
    hint = "centre = (p + z²/2n) / (1 + z²/n); half-width = z / (1 + z²/n) · sqrt(p(1-p)/n + z²/4n²), with z = 1.96"
    if np.allclose(np.asarray(answer, dtype=float), wald, atol=5e-4):
        hint = "that is the textbook (Wald) interval p ± 1.96·SE; Wilson's is centred a little towards 1/2"
    return verdict(ok, hint)


def check_twin_count(test_hashes, train_hashes, threshold: int, answer) -> bool:
    """09: how many test images have a training image within ``threshold`` bits (Hamming distance)?"""
    if missing(answer, "`count`"):
        return False
    if np.ndim(answer) != 0:
        return verdict(False, "`count` is one number: add up the test images that qualify (.sum())")
    nearest = hamming(np.asarray(test_hashes), np.asarray(train_hashes)).min(axis=1)
    return verdict(int(answer) == int((nearest <= threshold).sum()),
                    "for each test hash take the smallest Hamming distance to any training hash, "
                    "then count those at most `threshold`")
