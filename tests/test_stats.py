"""Known answers for the intervals and the paired test (mri_helpers.stats)."""

import math

import numpy as np
import pytest

from mri_helpers.stats import (
    accuracy_interval,
    difference_interval,
    format_accuracy,
    mcnemar,
    paired_over_seeds,
    spread,
    wilson_interval,
)


def wilson_by_hand(k, n, z=1.959963984540054):
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


@pytest.mark.parametrize("k,n", [(498, 655), (5, 10), (0, 10), (655, 655)])
def test_wilson_interval_matches_the_formula(k, n):
    assert wilson_interval(k, n) == pytest.approx(wilson_by_hand(k, n), abs=1e-9)


def test_wilson_interval_known_values():
    # Newcombe (1998), Statistics in Medicine 17:857, table I: 81/263 -> 0.2553 to 0.3662
    assert wilson_interval(81, 263) == pytest.approx((0.2553, 0.3662), abs=5e-5)
    low, high = wilson_interval(0, 10)
    assert low == pytest.approx(0.0, abs=1e-12) and high == pytest.approx(0.2775, abs=5e-5)


def test_wilson_interval_of_nothing_is_a_clear_error():
    with pytest.raises(ValueError, match="at least one"):
        wilson_interval(0, 0)


def test_accuracy_interval_and_its_format():
    y = np.array([0, 1, 2, 3] * 5)
    pred = y.copy()
    pred[:5] = (pred[:5] + 1) % 4  # 15 of 20 right
    acc, low, high = accuracy_interval(y, pred)
    assert acc == 0.75 and (low, high) == pytest.approx(wilson_by_hand(15, 20))
    assert format_accuracy(0.76, 0.7259, 0.7916) == "0.760 [0.726, 0.792]"


def test_mcnemar_counts_only_the_discordant_images():
    y = np.zeros(30, dtype=int)
    a = np.zeros(30, dtype=int)  # A right everywhere ...
    b = np.zeros(30, dtype=int)
    a[:1] = 1  # ... but on image 0
    b[1:10] = 1  # B wrong on images 1-9
    b[20:] = 3  # and on 20-29, where A is right too: they count
    result = mcnemar(y, a, b)
    assert (result.only_a, result.only_b) == (19, 1)
    # two-sided exact binomial, n = 20, k = 1: 2 * (1 + 20) / 2**20
    assert result.p_value == pytest.approx(2 * 21 / 2**20)


def test_mcnemar_known_p_value_and_symmetry():
    y = np.zeros(10, dtype=int)
    a = np.array([0] * 9 + [1])  # A right on 9, B right on 1: 9 vs 1 discordant
    b = np.array([1] * 9 + [0])
    assert mcnemar(y, a, b).p_value == pytest.approx(22 / 1024)
    assert mcnemar(y, b, a).p_value == mcnemar(y, a, b).p_value
    assert mcnemar(y, a, a).p_value == 1.0
    assert str(mcnemar(y, a, b)) == "9 images only A got right, 1 only B; exact McNemar p = 0.0215"


def test_mcnemar_refuses_unpaired_predictions():
    with pytest.raises(ValueError, match="same images"):
        mcnemar([0, 1], [0, 1], [0])


def test_spread_is_mean_and_sample_standard_deviation():
    assert spread([0.7, 0.8, 0.9]) == pytest.approx((0.8, 0.1))
    assert spread([0.5]) == (0.5, 0.0)
    with pytest.raises(ValueError, match="at least one seed"):
        spread([])


def test_paired_over_seeds_tests_the_differences_seed_by_seed():
    # differences 0.01, 0.02, 0.03: mean 0.02, sd 0.01, t = 0.02 / (0.01 / sqrt 3) = 3.464 with 2 degrees of freedom
    assert paired_over_seeds([0.81, 0.82, 0.83], [0.80, 0.80, 0.80]) == pytest.approx(0.0742, abs=1e-4)
    # the same numbers unpaired would hide the pairing: a shift shared by both runs of a seed cancels
    assert paired_over_seeds([0.71, 0.92, 0.83], [0.70, 0.90, 0.80]) == pytest.approx(0.0742, abs=1e-4)
    assert math.isnan(paired_over_seeds([0.8], [0.7]))
    assert paired_over_seeds([0.8, 0.9], [0.8, 0.9]) == 1.0
    assert math.isnan(paired_over_seeds([0.8, 0.9], [0.7, 0.8]))  # same gap on every seed: no spread, no t
    with pytest.raises(ValueError, match="same length"):
        paired_over_seeds([0.8, 0.9], [0.8])


def test_difference_interval_is_the_t_interval_of_the_differences():
    # differences 0.01, 0.02, 0.03: mean 0.02, sd 0.01; t(0.975, 2 df) = 4.303, so 0.02 ± 4.303 * 0.01 / sqrt 3
    gap, low, high = difference_interval([0.81, 0.82, 0.83], [0.80, 0.80, 0.80])
    assert gap == pytest.approx(0.02) and (low, high) == pytest.approx((0.02 - 0.02484, 0.02 + 0.02484), abs=1e-4)


def test_difference_interval_is_nan_where_the_paired_test_is():
    for a, b in (([0.8, 0.9], [0.7, 0.8]), ([0.9, 0.9, 0.9], [0.8, 0.8, 0.8]), ([0.8], [0.7])):
        gap, low, high = difference_interval(a, b)
        assert gap == pytest.approx(0.1) and math.isnan(low) and math.isnan(high)
        assert math.isnan(paired_over_seeds(a, b))
    assert difference_interval([0.8, 0.9], [0.8, 0.9]) == (0.0, 0.0, 0.0)
