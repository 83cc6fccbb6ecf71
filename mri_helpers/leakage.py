"""How honest is the test score? Find images that appear in both training and testing.

Two kinds of twins:

* **exact duplicates**: identical decoded pixels. We hash each file's decoded pixels at full
  resolution rather than its bytes, so the same scan saved twice with different metadata or
  file names still collides;
* **near-duplicates**: the same scan re-encoded, resized or slightly brightened. Their
  pixels differ, so we compare *perceptual* hashes: a difference hash (dHash) shrinks the
  image to (size + 1) x size grey pixels and keeps one bit per pair of horizontal
  neighbours (is the right one brighter?). Similar images give hashes that differ in few bits.

The dHash is a few lines of NumPy and PIL here instead of a dependency (the ``imagehash``
package implements the same algorithm): short enough to read, and it teaches what a
perceptual hash is. We use 16 x 16 = 256 bits: at imagehash's default 8 x 8, different
MRI slices (dark background, centred head) collide far too often.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from pathlib import Path

import numpy as np
from PIL import Image

from .cache import to_rgb

HASH_SIZE = 16  # 16 x 16 = 256 bits: 8 x 8 is too coarse for MRI slices, which all look alike at that size
NEAR_THRESHOLD = 10  # differing bits (of 256) that still count as "the same scan"


def pixel_hash(path: str | Path) -> str:
    """SHA-1 of a file's decoded pixels at full resolution (as RGB, so grey and RGB copies match)."""
    with Image.open(path) as image:
        pixels = np.asarray(to_rgb(image))
    return hashlib.sha1(str(pixels.shape).encode() + pixels.tobytes()).hexdigest()


def dhash(image: np.ndarray, size: int = HASH_SIZE) -> np.ndarray:
    """Difference hash of a ``C x H x W`` uint8 image: ``size * size`` bits, packed in bytes."""
    grey = np.asarray(image, dtype=np.float32).mean(axis=0)
    small = np.asarray(Image.fromarray(grey, mode="F").resize((size + 1, size), Image.BILINEAR))
    return np.packbits(small[:, 1:] > small[:, :-1])


def hamming(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Bit distances between every hash in ``a`` and every one in ``b`` (``len(a) x len(b)``).

    With bits as 0/1 vectors, the distance is ``a . (1 - b) + (1 - a) . b``: two matrix
    products instead of a Python double loop.
    """
    x = np.unpackbits(np.asarray(a), axis=1).astype(np.float32)
    y = np.unpackbits(np.asarray(b), axis=1).astype(np.float32)
    return np.rint(x @ (1 - y).T + (1 - x) @ y.T).astype(np.int32)


def exact_groups(hashes: list[str]) -> list[list[int]]:
    """Groups of indices (size 2 or more) whose pixel hashes are equal."""
    groups = defaultdict(list)
    for i, h in enumerate(hashes):
        groups[h].append(i)
    return [g for g in groups.values() if len(g) > 1]


def audit(train_pixels, test_pixels, train_dhash, test_dhash, threshold: int = NEAR_THRESHOLD) -> dict:
    """Exact duplicates within Training, within Testing and across; near twins across.

    Takes the pixel hashes and dHashes of both splits. ``test_with_twin`` lists every
    Testing index with an exact or near twin in Training; ``nearest`` holds each Testing
    image's closest Training image and their distance, for showing pairs side by side.
    """
    distances = hamming(test_dhash, train_dhash)
    nearest = distances.argmin(axis=1)
    closest = distances[np.arange(len(nearest)), nearest]
    train_set = set(train_pixels)
    exact_across = {j for j, h in enumerate(test_pixels) if h in train_set}
    near_across = set(np.flatnonzero(closest <= threshold).tolist())
    return {
        "exact_redundant_in_training": sum(len(g) - 1 for g in exact_groups(train_pixels)),
        "exact_redundant_in_testing": sum(len(g) - 1 for g in exact_groups(test_pixels)),
        "testing_with_exact_twin_in_training": len(exact_across),
        "testing_with_near_twin_in_training": len(near_across),
        "threshold": threshold,
        "test_with_twin": sorted(exact_across | near_across),
        "nearest": nearest.tolist(),
        "nearest_distance": closest.tolist(),
    }


def audit_dataset(data, threshold: int = NEAR_THRESHOLD) -> dict:
    """:func:`audit` for a :func:`~mri_helpers.data.load_datasets` result (all of Testing)."""
    train, testing = data.train, data.testing
    pixels = [[pixel_hash(data.root / f) for f in split.files] for split in (train, testing)]
    hashes = [np.stack([dhash(im) for im in split.images]) for split in (train, testing)]
    return audit(pixels[0], pixels[1], hashes[0], hashes[1], threshold)
