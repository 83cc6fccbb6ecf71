"""Known answers for what a clinician asks: AUC, sensitivity and specificity, calibration (mri_helpers.clinical)."""

import numpy as np
import pytest
from scipy.special import softmax
from sklearn.metrics import roc_auc_score

from mri_helpers.clinical import (
    auc_per_class,
    expected_calibration_error,
    fit_temperature,
    scale,
    tumour_screen,
)

CLASSES = ["glioma", "meningioma", "notumor", "pituitary"]


def test_auc_is_the_share_of_pairs_ranked_right():
    labels = np.array([0, 0, 1, 1, 2, 3])
    probs = np.array([[.7, .1, .1, .1], [.3, .5, .1, .1], [.4, .4, .1, .1], [.1, .8, .05, .05],
                      [.1, .1, .7, .1], [.1, .1, .1, .7]])
    auc = auc_per_class(labels, probs, CLASSES, resamples=200)
    # glioma: positives score .7 and .3, negatives .4 .1 .1 .1: 4 + 3 of the 8 pairs ranked right
    assert auc["glioma"][0] == pytest.approx(7 / 8)
    for k, name in enumerate(CLASSES):
        assert auc[name][0] == pytest.approx(roc_auc_score(labels == k, probs[:, k]))
        assert auc[name][1] <= auc[name][0] <= auc[name][2]


def test_tumour_screen_counts_a_wrong_tumour_type_as_found():
    labels = [0, 1, 2, 2, 3, 3]
    predictions = [1, 1, 2, 0, 2, 3]  # a glioma called meningioma (found), a pituitary called no tumour (missed)
    screen = tumour_screen(labels, predictions, CLASSES)
    assert screen.sensitivity[0] == pytest.approx(3 / 4) and screen.specificity[0] == pytest.approx(1 / 2)
    assert (screen.missed, screen.false_alarms) == (1, 1)
    assert screen.sensitivity[1] < 0.75 < screen.sensitivity[2]


def test_ece_by_hand():
    # confidences .9 .9 (one right) and .6 .6 (both right): |.9 - .5| * 1/2 + |.6 - 1| * 1/2 = .4
    probs = np.array([[.9, .1], [.9, .1], [.4, .6], [.4, .6]])
    assert expected_calibration_error([0, 1, 1, 1], probs, bins=10) == pytest.approx(0.4)
    assert expected_calibration_error([0, 0, 1, 1], np.array([[1., 0], [1, 0], [0, 1], [0, 1]])) == 0.0


def test_temperature_scaling_recovers_an_over_confident_models_temperature():
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 2, size=(4000, 4))
    labels = np.array([rng.choice(4, p=p) for p in softmax(logits, axis=1)])  # calibrated at T = 1
    over_confident = softmax(2 * logits, axis=1)
    t = fit_temperature(labels, over_confident)
    assert t == pytest.approx(2, rel=0.1)
    fixed = scale(over_confident, t)
    assert (fixed.argmax(1) == over_confident.argmax(1)).all() and np.allclose(fixed.sum(1), 1)
    assert expected_calibration_error(labels, fixed) < expected_calibration_error(labels, over_confident) / 2


def test_reliability_diagram_has_a_line_per_set_of_probabilities():
    from mri_helpers.clinical import reliability_diagram

    probs = np.array([[0.9, 0.1], [0.8, 0.2], [0.3, 0.7], [0.6, 0.4]])
    fig = reliability_diagram([0, 1, 1, 0], {"before": probs, "after": probs ** 0.5 / (probs ** 0.5).sum(1, keepdims=True)})
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["calibrated", "before", "after"]
