"""Checkers for notebook 09: a perceptual hash, the bit distances between hashes, and twins per class.

Each checker runs the student's function on data of its own (phantom images from
:mod:`mri_helpers.synthetic`, random hashes, labels) and compares with the library:
:func:`mri_helpers.leakage.dhash` and :func:`mri_helpers.leakage.hamming`. The twin count at
a stricter threshold is checked by :func:`~mri_helpers.exercises.statistics.check_twin_count`,
which lives there and is imported here, so that the notebook finds all four checkers in one module.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from PIL import Image

from .. import leakage
from ..synthetic import render
from .data import attempt
from .statistics import check_twin_count
from .verdict import missing, verdict

__all__ = ["check_dhash", "check_hamming", "check_twin_count", "check_twin_share"]


@lru_cache(maxsize=1)
def _images() -> tuple[np.ndarray, ...]:
    """Phantom slices of the checker's own: two with three unequal channels, one grey (1 x H x W).

    Rendered once; the student's function only ever gets copies.
    """
    rng = np.random.default_rng(11)
    images = []
    for label in ("meningioma", "pituitary"):
        grey = render(label, rng)
        images.append(np.stack([grey, grey // 2, np.roll(grey, 25, axis=1)]))  # the channels differ
    images.append(render("glioma", rng)[None])
    return tuple(images)


def _variant(image: np.ndarray, size: int, swap: bool = False, reverse: bool = False) -> np.ndarray:
    """The dHash with a common slip: ``swap`` the resize's (width, height), or ``reverse`` the comparison."""
    grey = np.asarray(image, dtype=np.float32).mean(axis=0)
    shape = (size, size + 1) if swap else (size + 1, size)
    small = np.asarray(Image.fromarray(grey, mode="F").resize(shape, Image.BILINEAR))
    return np.packbits(small[:, :-1] > small[:, 1:] if reverse else small[:, 1:] > small[:, :-1])


def check_dhash(dhash) -> bool:
    """09: does ``dhash(image, size=16)`` give the library's difference hash of a ``C x H x W`` uint8 image?

    Tried on phantom slices of the checker's own, at the default size and at ``size=8``.
    """
    if missing(dhash, "`dhash`"):
        return False
    for image in _images():
        for size in (leakage.HASH_SIZE, 8):
            true = leakage.dhash(image, size)
            args = (image.copy(),) if size == leakage.HASH_SIZE else (image.copy(), size)
            answer, hint = attempt(dhash, *args)
            if hint:
                return verdict(False, hint)
            if answer is None:
                return verdict(False, "return the packed bits at the end of the function")
            found = np.asarray(answer)
            if found.size == size * size and found.size != true.size:
                return verdict(False, f"pack the {size * size} bits into bytes with np.packbits "
                                       f"({size * size // 8} bytes)")
            if found.shape != true.shape:
                return verdict(False, f"for size {size}, return size x size bits packed into {true.size} bytes "
                                       f"(got shape {found.shape})")
            if np.array_equal(found, true):
                continue
            if np.array_equal(found, _variant(image, size, swap=True)):
                hint = "PIL's resize takes (width, height): size + 1 wide and size high, so each row has size pairs"
            elif np.array_equal(found, _variant(image, size, reverse=True)):
                hint = "each bit says whether the RIGHT neighbour is brighter: small[:, 1:] > small[:, :-1]"
            elif image.shape[0] > 1 and np.array_equal(found, leakage.dhash(image[:1], size)):
                hint = "average the channels first (axis 0), not just the first channel"
            else:
                hint = ("average the channels, shrink to (size + 1) x size with bilinear resizing, compare each "
                        "pixel with its left neighbour, and np.packbits the result")
            return verdict(False, hint)
    return verdict(True, "")


def check_hamming(hamming) -> bool:
    """09: does ``hamming(a, b)`` give the bit distance between every hash in ``a`` and every hash in ``b``?

    Tried on packed hashes of the checker's own, some a few bits apart, against the library's.
    """
    if missing(hamming, "`hamming`"):
        return False
    rng = np.random.default_rng(9)
    b = rng.integers(0, 256, (6, 32), dtype=np.uint8)
    a = np.concatenate([b[:2] ^ np.array([3] + [0] * 31, dtype=np.uint8),  # two bits from b[0], b[1]
                        rng.integers(0, 256, (2, 32), dtype=np.uint8)])
    true = leakage.hamming(a, b)
    answer, hint = attempt(hamming, a.copy(), b.copy())
    if hint:
        return verdict(False, hint)
    if answer is None:
        return verdict(False, "return the distances at the end of the function")
    found = np.asarray(answer)
    if found.shape == true.T.shape and found.shape != true.shape:
        return verdict(False, "one row per hash in a and one column per hash in b: len(a) x len(b)")
    if found.shape != true.shape:
        return verdict(False, f"return one distance for every pair: a len(a) x len(b) array, got shape {found.shape}")
    if np.array_equal(found, 8 * a.shape[1] - true):
        return verdict(False, "that counts the bits that agree: count the bits that differ")
    if np.array_equal(found, (a[:, None, :] != b[None, :, :]).sum(axis=2)):
        return verdict(False, "that counts the bytes that differ; unpack them into bits first (np.unpackbits, axis=1)")
    return verdict(np.array_equal(found, true),
                   "unpack the bits (np.unpackbits(..., axis=1)), then for every pair count the positions where "
                   "one hash has 1 and the other 0: x @ (1 - y).T + (1 - x) @ y.T")


def check_twin_share(twin_share) -> bool:
    """09: does ``twin_share(twins, labels, n_classes)`` give, per class, the fraction of its images with a twin?

    Tried on labels and twin indices of the checker's own.
    """
    if missing(twin_share, "`twin_share`"):
        return False
    labels = np.array([2, 0, 1, 2, 2, 3, 0, 2, 1, 3, 2, 0, 1, 2])
    twins = [0, 3, 4, 7, 10, 13, 2, 6]  # most of class 2, one of class 0, one of class 1, none of class 3
    n_classes = 4
    per_class = np.bincount(labels, minlength=n_classes)
    twin_counts = np.bincount(labels[twins], minlength=n_classes)
    answer, hint = attempt(twin_share, list(twins), labels.copy(), n_classes)
    if hint:
        return verdict(False, hint)
    if answer is None:
        return verdict(False, "return the fractions at the end of the function")
    try:
        found = np.asarray(answer, dtype=float).reshape(-1)
    except (TypeError, ValueError):
        return verdict(False, f"return {n_classes} numbers, one per class")
    if found.size != n_classes:
        return verdict(False, f"return {n_classes} numbers, one per class (0 for a class without twins); "
                               f"got {found.size}")

    def close(expected) -> bool:
        return np.allclose(found, expected, atol=1e-6)

    if close(twin_counts):
        return verdict(False, "those are the counts of twins: divide by each class's number of images")
    if close(twin_counts / len(labels)):
        return verdict(False, "divide by each class's own number of images, not by all the images")
    if close(twin_counts / len(twins)):
        return verdict(False, "that is how the twins split over the classes; the task is, for each class, "
                               "the fraction of its own images that have a twin")
    return verdict(close(twin_counts / per_class),
                   "count the twins' labels per class (labels[twins]), then divide by each class's number of images")
