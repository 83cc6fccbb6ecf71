"""Notebook 01's checkers accept the solution, reject plausible mistakes with a hint, and handle a stub."""

from collections import Counter

import numpy as np
import pytest
import torch
from PIL import Image

from mri_helpers.exercises.data import check_class_shares, check_count_modes, check_to_input
from mri_helpers.exercises.verdict import ExerciseError
from mri_helpers.sources import modes_per_class


def _said(capsys):
    return capsys.readouterr().out.strip()


def stub(*args):
    raise NotImplementedError("the task")


def class_shares(labels, n_classes):  # the notebook's solution
    labels = np.asarray(labels)
    counts = np.zeros(n_classes)
    for k in range(n_classes):
        counts[k] = (labels == k).sum()
    return counts / len(labels)


def count_modes(paths, labels, classes):  # the notebook's solution: the library's, line for line
    modes = {name: Counter() for name in classes}
    for path, label in zip(paths, labels):
        with Image.open(path) as image:
            modes[classes[label]][image.mode] += 1
    return modes


def to_input(image, mean, std):  # the notebook's solution
    x = torch.from_numpy(np.asarray(image))
    x = x.permute(2, 0, 1).float() / 255
    mean = torch.tensor(mean).view(-1, 1, 1)
    std = torch.tensor(std).view(-1, 1, 1)
    return (x - mean) / std


def test_class_shares(capsys):
    assert class_shares(np.array([0, 0, 2, 1]), 4).tolist() == [0.5, 0.25, 0.25, 0.0]
    assert check_class_shares(class_shares) is True and _said(capsys) == "✓ correct"
    for wrong, hint in (
        (lambda labels, n: torch.bincount(torch.as_tensor(labels), minlength=n), "those are the counts"),
        (lambda labels, n: torch.bincount(torch.as_tensor(labels)) / len(labels), "0 for a class with no images"),
        (lambda labels, n: torch.ones(n) / n, "count the labels equal to k"),
        (lambda labels, n: labels.no_such_method(), "raised AttributeError"),
        (stub, "replace the raise"),
        (None, "set `class_shares`"),
    ):
        assert check_class_shares(wrong) is False
        said = _said(capsys)
        assert said.startswith("✗ not yet: ") and hint in said


def test_modes_per_class_reads_every_files_mode(tmp_path):
    for name, mode in (("a", "L"), ("b", "RGB"), ("c", "RGB")):
        Image.new(mode, (4, 4)).save(tmp_path / f"{name}.png")
    paths = [tmp_path / f"{n}.png" for n in "abc"]
    assert modes_per_class(paths, [1, 0, 1], ["x", "y"]) == {"x": Counter({"RGB": 1}), "y": Counter({"L": 1, "RGB": 1})}


def test_count_modes(capsys):
    assert check_count_modes(count_modes) is True and _said(capsys) == "✓ correct"

    def by_label(paths, labels, classes):
        return {label: Counter(Image.open(p).mode for p, lab in zip(paths, labels) if lab == label)
                for label in range(len(classes))}

    def all_together(paths, labels, classes):
        return Counter(Image.open(p).mode for p in paths)

    def first_class_only(paths, labels, classes):  # forgets to look up each file's own class
        modes = {name: Counter() for name in classes}
        for path in paths:
            modes[classes[0]][Image.open(path).mode] += 1
        return modes

    for wrong, hint in ((by_label, "by class name"), (all_together, "one Counter per class"),
                        (first_class_only, "modes[class name][image.mode]"), (lambda p, l, c: [], "return a dict"),
                        (stub, "replace the raise"), (None, "set `count_modes`")):
        assert check_count_modes(wrong) is False
        said = _said(capsys)
        assert said.startswith("✗ not yet: ") and hint in said


def test_to_input(capsys):
    assert check_to_input(to_input) is True and _said(capsys) == "✓ correct"

    def raw(image, mean, std):
        return (torch.from_numpy(image).permute(2, 0, 1).float() - torch.tensor(mean).view(-1, 1, 1)) \
            / torch.tensor(std).view(-1, 1, 1)

    def reshaped(image, mean, std):
        x = torch.from_numpy(image).reshape(image.shape[2], image.shape[0], image.shape[1]).float() / 255
        return (x - torch.tensor(mean).view(-1, 1, 1)) / torch.tensor(std).view(-1, 1, 1)

    def unnormalised(image, mean, std):
        return torch.from_numpy(image).permute(2, 0, 1).float() / 255

    def channels_last(image, mean, std):
        return (torch.from_numpy(image).float() / 255 - torch.tensor(mean)) / torch.tensor(std)

    def one_mean(image, mean, std):  # the first channel's mean and std for all three
        return (torch.from_numpy(image).permute(2, 0, 1).float() / 255 - mean[0]) / std[0]

    for wrong, hint in ((raw, "divide the uint8 values by 255"), (reshaped, "use .permute(2, 0, 1)"),
                        (unnormalised, "now normalise"), (channels_last, "move the channel axis first"),
                        (one_mean, "each channel gets its own"), (lambda i, m, s: None, "return the tensor"),
                        (lambda i, m, s: torch.tensor(m) @ torch.ones(2), "raised RuntimeError"),
                        (stub, "replace the raise"), (None, "set `to_input`")):
        assert check_to_input(wrong) is False
        said = _said(capsys)
        assert said.startswith("✗ not yet: ") and hint in said


def test_strict_mode_raises_on_a_wrong_answer(monkeypatch):
    monkeypatch.setenv("MRI_EXERCISES_STRICT", "1")
    with pytest.raises(ExerciseError, match="divide them by the number of images"):
        check_class_shares(lambda labels, n: torch.bincount(torch.as_tensor(labels), minlength=n))
    assert check_to_input(to_input)


def test_class_shares_as_a_dict_gets_its_own_hint(capsys):
    assert not check_class_shares(lambda labels, n: {k: float((labels == k).mean()) for k in range(n)})
    assert "not a dict" in capsys.readouterr().out
