"""Notebook 09's checkers accept the solution, reject plausible mistakes with a hint, and handle a stub."""

import numpy as np
import pytest
from PIL import Image

from mri_helpers import leakage
from mri_helpers.exercises.leakage import check_dhash, check_hamming, check_twin_share
from mri_helpers.exercises.verdict import ExerciseError


def _said(capsys):
    return capsys.readouterr().out.strip()


def stub(*args):
    raise NotImplementedError("the task")


def dhash(image, size=leakage.HASH_SIZE):  # the notebook's solution: the library's, line for line
    grey = np.asarray(image, dtype=np.float32).mean(axis=0)
    small = np.asarray(Image.fromarray(grey, mode="F").resize((size + 1, size), Image.BILINEAR))
    return np.packbits(small[:, 1:] > small[:, :-1])


def hamming(a, b):  # the notebook's solution: the library's, line for line
    x = np.unpackbits(np.asarray(a), axis=1).astype(np.float32)
    y = np.unpackbits(np.asarray(b), axis=1).astype(np.float32)
    return np.rint(x @ (1 - y).T + (1 - x) @ y.T).astype(np.int32)


def twin_share(twins, labels, n_classes):  # the notebook's solution
    labels = np.asarray(labels)
    twin_counts = np.bincount(labels[twins], minlength=n_classes)
    return twin_counts / np.bincount(labels, minlength=n_classes)


def _dhash_with(resize=lambda size: (size + 1, size), compare=lambda s: s[:, 1:] > s[:, :-1], pack=np.packbits,
                grey=lambda image: np.asarray(image, dtype=np.float32).mean(axis=0)):
    def wrong(image, size=leakage.HASH_SIZE):
        small = np.asarray(Image.fromarray(grey(image), mode="F").resize(resize(size), Image.BILINEAR))
        return pack(compare(small))
    return wrong


def test_dhash(capsys):
    flat = np.zeros((3, 40, 40), dtype=np.uint8)
    ramp = np.tile(np.arange(40, dtype=np.uint8) * 6, (3, 40, 1))  # brighter to the right: every bit 1
    assert not dhash(flat).any() and (dhash(ramp) == 255).all() and dhash(ramp).shape == (32,)
    assert check_dhash(dhash) is True and _said(capsys) == "✓ correct"
    for wrong, hint in (
        (_dhash_with(resize=lambda size: (size, size + 1)), "(width, height)"),
        (_dhash_with(compare=lambda s: s[:, :-1] > s[:, 1:]), "RIGHT neighbour"),
        (_dhash_with(grey=lambda image: np.asarray(image[0], dtype=np.float32)), "average the channels first"),
        (_dhash_with(pack=lambda bits: bits.reshape(-1)), "np.packbits"),
        (_dhash_with(compare=lambda s: s[1:, :] > s[:-1, :]), "its left neighbour"),  # vertical pairs
        (lambda image, size=16: dhash(image, 16), "for size 8"),  # ignores its size argument
        (_dhash_with(resize=lambda size: (size + 1, size), compare=lambda s: s[:, 1:] > s[:, :-1] + 1),
         "compare each pixel with its left neighbour"),
        (lambda image, size=16: image.no_such_method(), "raised AttributeError"),
        (stub, "replace the raise"),
        (None, "set `dhash`"),
    ):
        assert check_dhash(wrong) is False
        said = _said(capsys)
        assert said.startswith("✗ not yet: ") and hint in said


def test_hamming(capsys):
    a = np.array([[0b1010_0000, 0], [255, 255]], dtype=np.uint8)
    b = np.array([[0, 0], [0b1010_0000, 1], [255, 255]], dtype=np.uint8)
    assert hamming(a, b).tolist() == [[2, 1, 14], [16, 13, 0]]
    assert check_hamming(hamming) is True and _said(capsys) == "✓ correct"

    def bits(h):
        return np.unpackbits(np.asarray(h), axis=1).astype(int)

    for wrong, hint in (
        (lambda a, b: hamming(b, a), "one row per hash in a"),
        (lambda a, b: (bits(a) != bits(b)[: len(a)]).sum(axis=1), "one distance for every pair"),
        (lambda a, b: (bits(a)[:, None] == bits(b)[None]).sum(axis=2), "bits that agree"),
        (lambda a, b: (a[:, None, :] != b[None, :, :]).sum(axis=2), "bytes that differ"),
        (lambda a, b: bits(a) @ (1 - bits(b)).T, "x @ (1 - y).T + (1 - x) @ y.T"),  # only half the differences
        (stub, "replace the raise"),
        (None, "set `hamming`"),
    ):
        assert check_hamming(wrong) is False
        said = _said(capsys)
        assert said.startswith("✗ not yet: ") and hint in said


def test_twin_share(capsys):
    assert twin_share([0, 2], np.array([0, 1, 1, 0]), 2).tolist() == [0.5, 0.5]
    assert check_twin_share(twin_share) is True and _said(capsys) == "✓ correct"

    def counts(twins, labels, n):
        return np.bincount(np.asarray(labels)[twins], minlength=n)

    for wrong, hint in (
        (counts, "those are the counts of twins"),
        (lambda t, labels, n: counts(t, labels, n) / len(labels), "not by all the images"),
        (lambda t, labels, n: counts(t, labels, n) / len(t), "how the twins split over the classes"),
        (lambda t, labels, n: np.bincount(np.asarray(labels)[t]) / np.bincount(labels)[:3], "got 3"),
        (lambda t, labels, n: np.bincount(np.asarray(labels), minlength=n) / len(labels), "labels[twins]"),
        (stub, "replace the raise"),
        (None, "set `twin_share`"),
    ):
        assert check_twin_share(wrong) is False
        said = _said(capsys)
        assert said.startswith("✗ not yet: ") and hint in said


def test_strict_mode_raises_on_a_wrong_answer(monkeypatch):
    monkeypatch.setenv("MRI_EXERCISES_STRICT", "1")
    with pytest.raises(ExerciseError, match="bits that agree"):
        check_hamming(lambda a, b: 256 - hamming(a, b))
    assert check_twin_share(twin_share)
