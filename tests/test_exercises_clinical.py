"""The calibration-error checker (notebook 12) accepts the library's answer and rejects the usual slips."""

import inspect
import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from mri_helpers import clinical
from mri_helpers.exercises.clinical import check_calibration_error
from mri_helpers.exercises.verdict import ExerciseError

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "12_model_comparison.ipynb"


def calibration_error(labels, probs, bins=15):  # 12: the library's, line for line
    probs = np.asarray(probs, dtype=float)
    confidence, right = probs.max(axis=1), probs.argmax(axis=1) == np.asarray(labels)
    which = np.minimum((confidence * bins).astype(int), bins - 1)  # confidence 1.0 goes in the top bin
    ece = 0.0
    for b in range(bins):
        here = which == b
        if here.any():
            ece += here.mean() * abs(confidence[here].mean() - right[here].mean())
    return float(ece)


def _said(capsys):
    return capsys.readouterr().out.strip()


def test_the_solution_passes(capsys):
    assert check_calibration_error(calibration_error) is True and _said(capsys) == "✓ correct"
    assert check_calibration_error(clinical.expected_calibration_error) is True


def _no_clamp(labels, probs, bins=15):
    which = (np.asarray(probs, dtype=float).max(axis=1) * bins).astype(int)
    counts = np.zeros(bins)
    counts[which] += 1  # IndexError at confidence 1.0
    return 0.0


def _signed(labels, probs, bins=15):
    probs = np.asarray(probs, dtype=float)
    confidence, right = probs.max(axis=1), probs.argmax(axis=1) == np.asarray(labels)
    which = np.minimum((confidence * bins).astype(int), bins - 1)
    return float(sum((which == b).mean() * (confidence[which == b].mean() - right[which == b].mean())
                     for b in range(bins) if (which == b).any()))


def _unweighted(labels, probs, bins=15):
    probs = np.asarray(probs, dtype=float)
    confidence, right = probs.max(axis=1), probs.argmax(axis=1) == np.asarray(labels)
    which = np.minimum((confidence * bins).astype(int), bins - 1)
    return float(np.mean([abs(confidence[which == b].mean() - right[which == b].mean())
                          for b in range(bins) if (which == b).any()]))


def _drops_full_confidence(labels, probs, bins=15):
    probs = np.asarray(probs, dtype=float)
    confidence, right = probs.max(axis=1), probs.argmax(axis=1) == np.asarray(labels)
    which = (confidence * bins).astype(int)  # confidence 1.0 lands in bin `bins`, which the loop never visits
    return float(sum((which == b).mean() * abs(confidence[which == b].mean() - right[which == b].mean())
                     for b in range(bins) if (which == b).any()))


def _empty_bins_kept(labels, probs, bins=15):
    probs = np.asarray(probs, dtype=float)
    confidence, right = probs.max(axis=1), probs.argmax(axis=1) == np.asarray(labels)
    which = np.minimum((confidence * bins).astype(int), bins - 1)
    with warnings.catch_warnings():  # the empty bins' "mean of empty slice"
        warnings.simplefilter("ignore")
        return float(sum(np.nan_to_num((which == b).mean(), nan=0.0) * abs(np.mean(confidence[which == b])
                         - np.mean(right[which == b])) for b in range(bins)))


@pytest.mark.parametrize("wrong,hint", [
    (_drops_full_confidence, "summed over the bins"),
    (_empty_bins_kept, "skip the empty bins"),
    (_no_clamp, "put it in the top bin"),
    (_signed, "take the absolute gap"),
    (_unweighted, "by its share of the images"),
    (lambda labels, probs, bins=15: 1 - (np.asarray(probs).argmax(1) == labels).mean(), "summed over the bins"),
    (lambda labels, probs, bins=15: [0.1, 0.2], "return one number"),
    (None, "set `calibration_error`"),
])
def test_wrong_answers_get_a_hint(wrong, hint, capsys):
    assert check_calibration_error(wrong) is False
    out = _said(capsys)
    assert "not yet" in out and hint in out, out


def test_a_stub_is_not_yet_and_strict_mode_raises(monkeypatch, capsys):
    def stub(labels, probs, bins=15):
        raise NotImplementedError("the task")

    assert check_calibration_error(stub) is False and "not yet" in _said(capsys)
    monkeypatch.setenv("MRI_EXERCISES_STRICT", "1")
    with pytest.raises(ExerciseError, match="absolute gap"):
        check_calibration_error(_signed)


def test_the_calibration_error_a_student_writes_is_the_library_line_for_line():
    cells = ["".join(c["source"]) for c in json.loads(NOTEBOOK.read_text())["cells"]
             if "solution" in c["metadata"].get("tags", []) and "def calibration_error(" in "".join(c["source"])]
    assert len(cells) == 1, "notebook 12 has no single solution cell writing calibration_error"
    written = cells[0].split("def calibration_error(labels, probs, bins=15):\n", 1)[1].rstrip().splitlines()
    library = inspect.getsource(clinical.expected_calibration_error).split('"""')[-1].strip("\n").splitlines()
    assert [w.split("  #")[0].rstrip() for w in written] == [x.split("  #")[0].rstrip() for x in library]
