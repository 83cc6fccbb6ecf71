"""Checkers for the statistics a student writes by hand: Wilson's interval and McNemar's exact p-value
(notebook 04), the mean and spread over seeds (12), and the appendix's Welch and paired t-tests and
Holm's correction (14).

Each checker calls the student's function on numbers of its own and compares the result with the
library: :mod:`mri_helpers.stats` and :mod:`scipy.stats`. Holm's correction has no scipy function
(``scipy.stats.false_discovery_control`` is Benjamini-Hochberg's, another correction), so its reference
is :func:`mri_helpers.stats.holm`, which the tests hold to the long way round, closed testing
(:func:`holm_the_long_way`). The discordant counts of 04 and 12 are checked by
:func:`~mri_helpers.exercises.statistics.check_discordant`.
"""

from __future__ import annotations

import math
from itertools import combinations

import numpy as np
from scipy import stats as sp

from .. import stats
from .verdict import attempt, missing, verdict

WILSON_COUNTS = ((498, 655), (81, 263), (3, 40), (0, 10), (10, 10))  # (right, images), from none to all right
DISCORDANT = ((9, 1), (45, 39), (22, 75), (7, 143), (6, 6), (0, 3))  # (only A right, only B right)
SEED_SCORES = ((0.74, 0.716, 0.752), (0.93, 0.95), (0.7, 0.8, 0.9, 0.85), (0.968,))
WELCH_GROUPS = (((0.71, 0.74, 0.76), (0.77, 0.78, 0.80, 0.79)),  # unequal sizes and spreads
                ((0.90, 0.95, 0.93, 0.97, 0.92), (0.88, 0.915)))
PAIRED_SEEDS = (((0.81, 0.82, 0.83), (0.80, 0.79, 0.81)),  # a[i] and b[i] share seed i
                ((0.71, 0.92, 0.83, 0.88), (0.70, 0.90, 0.80, 0.87)),
                ((0.95, 0.93, 0.97), (0.96, 0.91, 0.94)),
                ((0.70, 0.80, 0.75), (0.80, 0.90, 0.82)))  # a below b: t < 0, so p needs |t|
HOLM_CASES = ((0.01, 0.04, 0.03, 0.20),  # the running maximum matters: 3 x 0.03 > 2 x 0.04
              (0.0005, 0.2, 0.001, 0.04, 0.03, 0.5),  # not in sorted order
              (0.3, 0.6, 0.9),  # capped at 1
              (0.02, 0.02, 0.5))  # a tie




def _numbers(value, count: int) -> np.ndarray | None:
    """``value`` as ``count`` floats, or ``None``."""
    try:
        found = np.asarray(value, dtype=float).reshape(-1)
    except (TypeError, ValueError):
        return None
    return found if found.size == count else None


def _close(found, expected, atol: float = 1e-9) -> bool:
    return bool(np.allclose(np.asarray(found, dtype=float), np.asarray(expected, dtype=float), rtol=1e-6, atol=atol))


def _wald(correct: int, total: int, z: float) -> tuple[float, float]:
    p = correct / total
    half = z * math.sqrt(p * (1 - p) / total)
    return p - half, p + half


def check_wilson_function(wilson_interval) -> bool:
    """04: does ``wilson_interval(correct, total, z=1.96)`` give Wilson's interval ``(low, high)``?

    Tried on counts of the checker's own, from none right to all right, and with ``z=2.5758``
    (99%), against :func:`mri_helpers.stats.wilson_interval` (scipy's ``binomtest(...).proportion_ci``).
    """
    if missing(wilson_interval, "`wilson_interval`"):
        return False
    cases = [(k, n, {}, 0.95) for k, n in WILSON_COUNTS] + [(498, 655, {"z": 2.5758}, 0.99)]
    for k, n, z, confidence in cases:
        value, hint = attempt(wilson_interval, k, n, **z)
        if hint:
            return verdict(False, hint)
        found = _numbers(value, 2)
        if found is None:
            return verdict(False, "return the interval as a pair of numbers: (low, high)")
        expected = np.array(stats.wilson_interval(k, n, confidence))
        if _close(found, expected, atol=1e-4):
            continue
        if _close(found, expected[::-1], atol=1e-4):
            hint = "the right bounds in the wrong order: return (low, high)"
        elif _close(found, _wald(k, n, z.get("z", 1.96)), atol=1e-4):
            hint = "that is the textbook (Wald) interval p ± z·SE; Wilson's centre is pulled towards 1/2"
        elif _close(found, 100 * expected, atol=1e-2):
            hint = "the right interval in percent: return fractions between 0 and 1"
        elif _close(found, (expected.mean(), (expected[1] - expected[0]) / 2), atol=1e-4):
            hint = "that is (centre, half-width): return (centre - half-width, centre + half-width)"
        elif z:
            hint = "right with z = 1.96 but not with another z: use the argument z, not the number 1.96"
        else:
            hint = (f"wrong for {k} right of {n}: centre = (p + z²/2n) / (1 + z²/n), half-width = "
                    f"z / (1 + z²/n) · sqrt(p(1-p)/n + z²/4n²), with p = correct / total and n = total")
        return verdict(False, hint)
    return verdict(True, "")


def predictions_with(only_a: int, only_b: int, agree: int = 20):
    """Labels and two models' predictions with ``only_a`` and ``only_b`` discordant images,
    ``agree`` images both get right and ``agree`` both get wrong."""
    y = np.zeros(only_a + only_b + 2 * agree, dtype=int)
    a, b = y.copy(), y.copy()
    b[:only_a] = 1  # only A right
    a[only_a:only_a + only_b] = 2  # only B right
    a[len(y) - agree:] = b[len(y) - agree:] = 3  # both wrong; both right in between
    return y, a, b


def check_mcnemar_p(mcnemar_p) -> bool:
    """04: does ``mcnemar_p(only_a, only_b)`` give the exact two-sided McNemar p-value?

    Tried on discordant counts of the checker's own (lopsided, even, tiny), against
    :func:`mri_helpers.stats.mcnemar` on predictions with those counts, which is scipy's exact
    binomial test (``binomtest(only_a, only_a + only_b, 0.5)``).
    """
    if missing(mcnemar_p, "`mcnemar_p`"):
        return False
    for only_a, only_b in DISCORDANT:
        expected = stats.mcnemar(*predictions_with(only_a, only_b)).p_value
        value, hint = attempt(mcnemar_p, only_a, only_b)
        if hint:
            return verdict(False, hint)
        found = _numbers(value, 1)
        if found is None:
            return verdict(False, "return the p-value as one number")
        if _close(found, expected, atol=0):
            continue
        n, found = only_a + only_b, float(found[0])
        chi2 = [sp.chi2.sf((abs(only_a - only_b) - c) ** 2 / n, 1) for c in (0, 1)]
        if _close(found, expected / 2, atol=0):
            hint = "that is one tail: the test is two-sided, so double it (and cap at 1)"
        elif found > 1:
            hint = "a p-value is a probability: cap it at 1 (when the split is even, the two tails overlap)"
        elif _close(found, min(1.0, 2 * sp.binom.cdf(max(only_a, only_b), n, 0.5)), atol=0):
            hint = "sum the tail of the SMALLER count, min(only_a, only_b): the split's uneven side"
        elif any(_close(found, c, atol=0) for c in chi2):
            hint = "that is the chi-square approximation; the exact test adds binomial probabilities"
        else:
            hint = ("with n = only_a + only_b, add C(n, i) / 2**n for i = 0 .. min(only_a, only_b) "
                    "(math.comb), then double it and cap at 1")
        return verdict(False, hint)
    return verdict(True, "")


def check_spread(mean_and_sd) -> bool:
    """12: does ``mean_and_sd(values)`` give the mean and the sample standard deviation (0 for one value)?

    Tried on test accuracies of the checker's own, against :func:`mri_helpers.stats.spread`.
    """
    if missing(mean_and_sd, "`mean_and_sd`"):
        return False
    for values in SEED_SCORES:
        expected = stats.spread(values)
        value, hint = attempt(mean_and_sd, list(values))
        if hint:
            return verdict(False, hint)
        found = _numbers(value, 2)
        if found is None:
            return verdict(False, "return two numbers: (mean, standard deviation)")
        if _close(found, expected, atol=5.1e-4):  # rounded to 3 decimals, as the table prints them, is fine
            continue
        if len(values) == 1:
            hint = "one seed has no spread to measure: return 0 for its standard deviation, as the table does"
        elif _close(found, (np.mean(values), np.std(values))):
            hint = "np.std divides by n; the sample standard deviation divides by n - 1 (ddof=1)"
        elif _close(found[::-1], expected):
            hint = "the right numbers in the wrong order: (mean, sd)"
        else:
            hint = "mean = sum / n; sd = sqrt(sum of (x - mean)² / (n - 1))"
        return verdict(False, hint)
    return verdict(True, "")


def check_welch(welch_t) -> bool:
    """14: does ``welch_t(a, b)`` return Welch's ``(t, df, p)``, as ``scipy.stats.ttest_ind(a, b, equal_var=False)``?

    Tried on two groups of test accuracies of the checker's own, of unequal sizes and spreads.
    """
    if missing(welch_t, "`welch_t`"):
        return False
    for a, b in WELCH_GROUPS:
        welch, pooled = sp.ttest_ind(a, b, equal_var=False), sp.ttest_ind(a, b)
        expected = (welch.statistic, welch.df, welch.pvalue)
        value, hint = attempt(welch_t, list(a), list(b))
        if hint:
            return verdict(False, hint)
        found = _numbers(value, 3)
        if found is None:
            return verdict(False, "return three numbers: (t, df, p)")
        if _close(found, expected):
            continue
        t_ddof0 = (np.mean(a) - np.mean(b)) / math.sqrt(np.var(a) / len(a) + np.var(b) / len(b))
        if _close(found[0], pooled.statistic) or _close(found[1], pooled.df):
            hint = ("that is Student's t with one pooled variance: Welch keeps each group's own, "
                    "se = sqrt(va/na + vb/nb), and the Welch-Satterthwaite degrees of freedom")
        elif _close(found[0], -expected[0]):
            hint = "t is (mean(a) - mean(b)) / se: a first"
        elif _close(found[0], t_ddof0):
            hint = "the sample variances divide by n - 1 (ddof=1)"
        elif not _close(found[0], expected[0]):
            hint = "t = (mean(a) - mean(b)) / sqrt(va/na + vb/nb), with va and vb the sample variances (ddof=1)"
        elif not _close(found[1], expected[1]):
            hint = "t is right; Welch-Satterthwaite: df = (va/na + vb/nb)² / ((va/na)²/(na - 1) + (vb/nb)²/(nb - 1))"
        elif _close(found[2], expected[2] / 2):
            hint = "t and df are right; that p is one tail: two-sided, p = 2 · t.sf(|t|, df)"
        else:
            hint = "t and df are right: p = 2 · scipy.stats.t.sf(abs(t), df)"
        return verdict(False, hint)
    return verdict(True, "")


def check_paired_t(paired_t) -> bool:
    """14: does ``paired_t(a, b)`` return the paired ``(t, p)`` over seeds, as ``scipy.stats.ttest_rel(a, b)``?

    Tried on pairs of test accuracies of the checker's own, ``a[i]`` and ``b[i]`` from seed ``i``.
    """
    if missing(paired_t, "`paired_t`"):
        return False
    for a, b in PAIRED_SEEDS:
        result = sp.ttest_rel(a, b)
        expected = (result.statistic, result.pvalue)
        value, hint = attempt(paired_t, list(a), list(b))
        if hint:
            return verdict(False, hint)
        found = _numbers(value, 2)
        if found is None:
            return verdict(False, "return two numbers: (t, p)")
        if _close(found, expected):
            continue
        d = np.subtract(a, b)
        unpaired = [sp.ttest_ind(a, b, equal_var=v).statistic for v in (False, True)]
        if any(_close(found[0], t) for t in unpaired):
            hint = "that treats the runs as unpaired: take the differences a[i] - b[i] seed by seed, then test their mean"
        elif _close(found[0], -expected[0]):
            hint = "t is mean(a - b) / se: a first"
        elif _close(found[0], d.mean() / (d.std() / math.sqrt(len(d)))):
            hint = "the differences' standard deviation divides by n - 1 (ddof=1)"
        elif not _close(found[0], expected[0]):
            hint = "d = a - b seed by seed; t = mean(d) / (sd(d) / sqrt(n)), with sd's ddof=1"
        elif _close(found[1], expected[1] / 2):
            hint = "t is right; that p is one tail: two-sided, p = 2 · t.sf(|t|, n - 1)"
        else:
            hint = "t is right: p = 2 · scipy.stats.t.sf(abs(t), n - 1), with n - 1 degrees of freedom"
        return verdict(False, hint)
    return verdict(True, "")


def holm_the_long_way(p_values) -> list[float]:
    """Holm's adjusted p-values by closed testing: test i's is the largest, over every group of tests that
    contains it, of the group's Bonferroni p-value, min(1, size x its smallest p)."""
    p = [float(x) for x in p_values]
    groups = [g for size in range(1, len(p) + 1) for g in combinations(range(len(p)), size)]
    return [max(min(1.0, len(g) * min(p[j] for j in g)) for g in groups if i in g) for i in range(len(p))]


def check_holm(holm) -> bool:
    """14: does ``holm(p_values)`` give Holm's adjusted p-values, in the order given?

    Tried on lists of p-values of the checker's own, against :func:`mri_helpers.stats.holm`.
    """
    if missing(holm, "`holm`"):
        return False
    for p in HOLM_CASES:
        expected, m = np.array(stats.holm(p)), len(p)
        value, hint = attempt(holm, list(p))
        if hint:
            return verdict(False, hint)
        found = _numbers(value, m)
        if found is None:
            return verdict(False, "return one adjusted p-value per test, in the order given")
        if _close(found, expected):
            continue
        order = np.argsort(p)
        if _close(found, np.minimum(1.0, m * np.array(p))):
            hint = "that is Bonferroni (every p times m): Holm multiplies the smallest p by m, the next by m - 1, ..."
        elif _close(found, np.sort(expected)):
            hint = "return the adjusted p-values in the order the tests were given, not sorted"
        elif found.max() > 1:
            hint = "an adjusted p-value is a probability: cap it at 1"
        elif _close(found[order], np.minimum(1.0, (m - np.arange(m)) * np.sort(p))):
            hint = "in sorted order an adjusted p may not fall below the one before it: keep a running maximum"
        else:
            hint = "sort the p-values; multiply the smallest by m, the next by m - 1, ...; keep a running maximum; cap at 1"
        return verdict(False, hint)
    return verdict(True, "")
