"""The statistics checkers of notebooks 04, 12 and 14: each accepts the notebook's solution, rejects plausible
mistakes with their hints, and handles a stub; Holm's correction agrees with closed testing."""

import math

import numpy as np
import pytest
import scipy.stats
from scipy.stats import binomtest

from mri_helpers import stats
from mri_helpers.exercises.stats_lessons import (
    DISCORDANT,
    check_holm,
    check_mcnemar_p,
    check_paired_t,
    check_spread,
    check_welch,
    check_wilson_function,
    holm_the_long_way,
    predictions_with,
)
from mri_helpers.exercises.verdict import ExerciseError


def _said(capsys):
    return capsys.readouterr().out.strip()


def stub(*args, **kwargs):
    raise NotImplementedError("the task")


# The notebooks' solutions, as the instructor edition holds them.

def wilson_interval(correct, total, z=1.96):  # 04
    p = correct / total
    centre = (p + z**2 / (2 * total)) / (1 + z**2 / total)
    half = z / (1 + z**2 / total) * math.sqrt(p * (1 - p) / total + z**2 / (4 * total**2))
    return centre - half, centre + half


def mcnemar_p(only_a, only_b):  # 04
    n = only_a + only_b
    k = min(only_a, only_b)
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2**n
    return min(1.0, 2 * tail)


def mean_and_sd(values):  # 12
    values = np.asarray(values, dtype=float)
    sd = values.std(ddof=1) if len(values) > 1 else 0.0
    return float(values.mean()), float(sd)


def welch_t(a, b):  # 14
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    t = (a.mean() - b.mean()) / np.sqrt(va + vb)
    df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    p = 2 * scipy.stats.t.sf(abs(t), df)
    return t, df, p


def paired_t(a, b):  # 14
    d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    n = len(d)
    t = d.mean() / (d.std(ddof=1) / np.sqrt(n))
    p = 2 * scipy.stats.t.sf(abs(t), n - 1)
    return t, p


def holm(p_values):  # 14: the library's, line for line
    p = np.asarray(p_values, dtype=float)
    m = len(p)
    adjusted, running = np.empty(m), 0.0
    for rank, i in enumerate(np.argsort(p)):
        running = max(running, (m - rank) * p[i])
        adjusted[i] = min(1.0, running)
    return adjusted.tolist()


def _rejects(check, wrong, hint, capsys):
    assert check(wrong) is False
    said = _said(capsys)
    assert said.startswith("✗ not yet: ") and hint in said, said


def test_the_solutions_agree_with_known_values():
    assert wilson_interval(81, 263) == pytest.approx((0.2553, 0.3662), abs=5e-5)  # Newcombe (1998), table I
    assert mcnemar_p(9, 1) == pytest.approx(22 / 1024) and mcnemar_p(6, 6) == 1.0
    assert mean_and_sd([0.7, 0.8, 0.9]) == pytest.approx((0.8, 0.1)) and mean_and_sd([0.5]) == (0.5, 0.0)
    # differences 0.01, 0.02, 0.03: t = 0.02 / (0.01 / sqrt 3) = 3.464, 2 degrees of freedom
    assert paired_t([0.81, 0.82, 0.83], [0.8, 0.8, 0.8]) == pytest.approx((2 * math.sqrt(3), 0.0742), abs=1e-4)
    t, df, p = welch_t([1.0, 2.0, 3.0], [4.0, 5.0, 6.0, 7.0])  # se² = 1/3 + 5/12 = 3/4
    assert (t, df) == pytest.approx((-3.5 / math.sqrt(0.75), 0.75**2 / ((1 / 3) ** 2 / 2 + (5 / 12) ** 2 / 3)))
    assert holm([0.01, 0.04, 0.03, 0.20]) == pytest.approx([0.04, 0.09, 0.09, 0.20])


def test_the_library_holm_is_closed_testing_and_the_solution():
    rng = np.random.default_rng(0)
    for p in [[0.3, 0.6, 0.9], [0.02, 0.02, 0.5], [], *(rng.uniform(0, 0.2, size) for size in (1, 5, 8))]:
        assert stats.holm(p) == pytest.approx(holm_the_long_way(p)) and stats.holm(p) == pytest.approx(holm(p))
    assert stats.holm([0.3, 0.6, 0.9]) == pytest.approx([0.9, 1.0, 1.0])
    assert holm_the_long_way([0.01, 0.04, 0.03, 0.20]) == pytest.approx([0.04, 0.09, 0.09, 0.20])


def test_the_mcnemar_references_agree():
    for only_a, only_b in DISCORDANT:
        paired = stats.mcnemar(*predictions_with(only_a, only_b))
        assert (paired.only_a, paired.only_b) == (only_a, only_b)
        assert paired.p_value == pytest.approx(binomtest(only_a, only_a + only_b, 0.5).pvalue, rel=1e-9)
        assert paired.p_value == pytest.approx(mcnemar_p(only_a, only_b), rel=1e-6)


def test_wilson_function(capsys):
    assert check_wilson_function(wilson_interval) is True and _said(capsys) == "✓ correct"

    def wald(correct, total, z=1.96):
        p = correct / total
        return p - z * math.sqrt(p * (1 - p) / total), p + z * math.sqrt(p * (1 - p) / total)

    for wrong, hint in (
        (wald, "Wald"),
        (lambda k, n, z=1.96: wilson_interval(k, n, z)[::-1], "wrong order"),
        (lambda k, n, z=1.96: wilson_interval(k, n), "use the argument z"),
        (lambda k, n, z=1.96: wilson_interval(k, n + 1, z), "wrong for 498 right of 655"),
        (lambda k, n, z=1.96: (k / n), "a pair of numbers"),
        (lambda k, n, z=1.96: wilson_interval(k, 0), "raised ZeroDivisionError"),
        (stub, "replace the raise"),
        (None, "set `wilson_interval`"),
    ):
        _rejects(check_wilson_function, wrong, hint, capsys)


def test_mcnemar_p(capsys):
    assert check_mcnemar_p(mcnemar_p) is True and _said(capsys) == "✓ correct"

    def uncapped(a, b):
        n = a + b
        return 2 * sum(math.comb(n, i) for i in range(min(a, b) + 1)) / 2**n

    for wrong, hint in (
        (lambda a, b: mcnemar_p(a, b) / 2, "one tail"),
        (uncapped, "cap it at 1"),
        (lambda a, b: min(1.0, 2 * scipy.stats.binom.cdf(a, a + b, 0.5)), "SMALLER count"),
        (lambda a, b: scipy.stats.chi2.sf((abs(a - b) - 1) ** 2 / (a + b), 1), "chi-square"),
        (lambda a, b: 0.05, "math.comb"),
        (lambda a, b: (a, b), "one number"),
        (stub, "replace the raise"),
        (None, "set `mcnemar_p`"),
    ):
        _rejects(check_mcnemar_p, wrong, hint, capsys)


@pytest.mark.filterwarnings("ignore:Degrees of freedom:RuntimeWarning", "ignore:invalid value:RuntimeWarning")
def test_spread(capsys):
    assert check_spread(mean_and_sd) is True and _said(capsys) == "✓ correct"
    assert check_spread(stats.spread) is True and _said(capsys) == "✓ correct"
    for wrong, hint in (
        (lambda v: (float(np.mean(v)), float(np.std(v))), "ddof=1"),
        (lambda v: (float(np.mean(v)), float(np.std(v, ddof=1))), "return 0"),  # nan for one seed
        (lambda v: mean_and_sd(v)[::-1], "wrong order"),
        (lambda v: (float(np.median(v)), 0.1), "sum of (x - mean)²"),
        (lambda v: np.mean(v), "two numbers"),
        (stub, "replace the raise"),
        (None, "set `mean_and_sd`"),
    ):
        _rejects(check_spread, wrong, hint, capsys)


def test_welch(capsys):
    assert check_welch(welch_t) is True and _said(capsys) == "✓ correct"

    def student(a, b):
        result = scipy.stats.ttest_ind(a, b)
        return result.statistic, result.df, result.pvalue

    def ddof0(a, b):
        t = (np.mean(a) - np.mean(b)) / math.sqrt(np.var(a) / len(a) + np.var(b) / len(b))
        return t, welch_t(a, b)[1], 0.5

    for wrong, hint in (
        (student, "pooled variance"),
        (lambda a, b: welch_t(b, a), "a first"),
        (ddof0, "ddof=1"),
        (lambda a, b: (welch_t(a, b)[0], len(a) + len(b) - 1, welch_t(a, b)[2]), "t is right; Welch-Satterthwaite"),
        (lambda a, b: (*welch_t(a, b)[:2], welch_t(a, b)[2] / 2), "one tail"),
        (lambda a, b: (*welch_t(a, b)[:2], 0.5), "2 · scipy.stats.t.sf"),
        (lambda a, b: (1.0, 2.0, 0.5), "sample variances"),
        (lambda a, b: welch_t(a, b)[:2], "three numbers"),
        (lambda a, b: a.mean(), "raised AttributeError"),  # lists, not arrays
        (stub, "replace the raise"),
        (None, "set `welch_t`"),
    ):
        _rejects(check_welch, wrong, hint, capsys)


def test_paired_t(capsys):
    assert check_paired_t(paired_t) is True and _said(capsys) == "✓ correct"

    def ddof0(a, b):
        d = np.subtract(a, b)
        return d.mean() / (d.std() / math.sqrt(len(d))), 0.5

    for wrong, hint in (
        (lambda a, b: welch_t(a, b)[::2], "unpaired"),
        (lambda a, b: paired_t(b, a), "a first"),
        (ddof0, "ddof=1"),
        (lambda a, b: (paired_t(a, b)[0], paired_t(a, b)[1] / 2), "one tail"),
        (lambda a, b: (paired_t(a, b)[0], 2 * scipy.stats.t.sf(abs(paired_t(a, b)[0]), len(a))), "n - 1 degrees"),
        (lambda a, b: (0.0, 1.0), "d = a - b"),
        (lambda a, b: 0.5, "two numbers"),
        (stub, "replace the raise"),
        (None, "set `paired_t`"),
    ):
        _rejects(check_paired_t, wrong, hint, capsys)


def test_holm(capsys):
    assert check_holm(holm) is True and _said(capsys) == "✓ correct"
    assert check_holm(holm_the_long_way) is True and _said(capsys) == "✓ correct"

    def no_running_max(p_values):
        p, m = np.asarray(p_values), len(p_values)
        out = np.empty(m)
        out[np.argsort(p)] = np.minimum(1.0, (m - np.arange(m)) * np.sort(p))
        return out

    for wrong, hint in (
        (lambda p: np.minimum(1.0, len(p) * np.asarray(p)), "Bonferroni"),
        (lambda p: sorted(holm(p)), "not sorted"),
        (no_running_max, "running maximum"),
        (lambda p: np.asarray(holm(p)) * np.where(np.asarray(holm(p)) >= 1, 1.2, 1.0), "cap it at 1"),
        (lambda p: np.asarray(p), "sort the p-values"),
        (lambda p: holm(p)[:-1], "one adjusted p-value per test"),
        (stub, "replace the raise"),
        (None, "set `holm`"),
    ):
        _rejects(check_holm, wrong, hint, capsys)


def test_strict_mode_raises_on_a_wrong_answer(monkeypatch):
    monkeypatch.setenv("MRI_EXERCISES_STRICT", "1")
    with pytest.raises(ExerciseError, match="Bonferroni"):
        check_holm(lambda p: np.minimum(1.0, len(p) * np.asarray(p)))
    assert check_holm(holm) and check_welch(welch_t) and check_paired_t(paired_t) and check_spread(mean_and_sd)
    assert check_wilson_function(wilson_interval) and check_mcnemar_p(mcnemar_p)


def test_the_holm_a_student_writes_is_the_library_line_for_line():
    """Notebook 14's solution is `stats.holm`, so the cells after it may use the library's."""
    import inspect
    from pathlib import Path

    import nbformat

    path = Path(__file__).resolve().parents[1] / "notebooks" / "14_appendix_statistics.ipynb"
    cells = [c.source for c in nbformat.read(path, as_version=4).cells
             if "solution" in c.metadata.get("tags", []) and "def holm(" in c.source]
    assert len(cells) == 1, "notebook 14 has no single solution cell writing holm"
    written = [line for line in cells[0].splitlines() if not line.startswith("#")]
    assert written == inspect.getsource(stats.holm).rstrip().splitlines()


def test_paired_t_without_abs_is_rejected(capsys):

    def no_abs(a, b):
        d = np.subtract(a, b)
        t = d.mean() / (d.std(ddof=1) / np.sqrt(len(d)))
        return t, 2 * scipy.stats.t.sf(t, len(d) - 1)

    assert not check_paired_t(no_abs)
    assert "✗" in capsys.readouterr().out


def test_twin_count_of_an_array_gets_a_hint(capsys):
    from mri_helpers.exercises.statistics import check_twin_count

    hashes = np.zeros((3, 4), dtype=np.uint8)
    assert not check_twin_count(hashes, hashes, 5, np.array([True, True, False]))
    assert "one number" in capsys.readouterr().out


def test_wilson_in_percent_or_as_centre_and_half_width_gets_its_hint(capsys):
    def percent(correct, total, z=1.96):
        low, high = stats.wilson_interval(correct, total)
        return 100 * low, 100 * high

    def centre_and_half(correct, total, z=1.96):
        low, high = stats.wilson_interval(correct, total)
        return (low + high) / 2, (high - low) / 2

    assert not check_wilson_function(percent) and "in percent" in capsys.readouterr().out
    assert not check_wilson_function(centre_and_half) and "(centre, half-width)" in capsys.readouterr().out
