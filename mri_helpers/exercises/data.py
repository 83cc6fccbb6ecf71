"""Checkers for notebook 01: class shares, colour modes per class, and an image turned into model input.

Each checker runs the student's function on data of its own (labels, image files, an image)
and compares with the library: ``np.bincount``, :func:`mri_helpers.sources.modes_per_class`
and torchvision's ``v2`` transforms.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torchvision.transforms import v2

from ..sources import modes_per_class
from .verdict import attempt, missing, verdict


def _as_float(value, shape) -> torch.Tensor | None:
    try:
        found = torch.as_tensor(np.asarray(value, dtype=np.float64)).float()
    except (TypeError, ValueError, RuntimeError):
        return None
    return found if tuple(found.shape) == tuple(shape) else None


def check_class_shares(class_shares) -> bool:
    """01: does ``class_shares(labels, n_classes)`` give each class's fraction of ``labels``?

    Tried on labels of the checker's own, in which one class has no image at all.
    """
    if missing(class_shares, "`class_shares`"):
        return False
    labels = np.array([0, 3, 1, 0, 3, 3, 2, 0, 1, 3, 0, 3])  # the last class, 4, never occurs
    n_classes = 5
    counts = torch.from_numpy(np.bincount(labels, minlength=n_classes)).float()
    answer, hint = attempt(class_shares, labels.copy(), n_classes)
    if hint:
        return verdict(False, hint)
    if answer is None:
        return verdict(False, "return the shares at the end of the function")
    if isinstance(answer, dict):
        return verdict(False, f"return a list or tensor of {n_classes} shares in class order, not a dict")
    found = _as_float(answer, (n_classes,))
    if found is None:
        size = np.size(answer) if not isinstance(answer, dict) else len(answer)
        return verdict(False, f"return {n_classes} numbers, one per class (0 for a class with no images), "
                               f"in class order; got {size}")
    if torch.allclose(found, counts):
        return verdict(False, "those are the counts: divide them by the number of images")
    return verdict(torch.allclose(found, counts / len(labels), atol=1e-6),
                   "for each class k count the labels equal to k, then divide by the number of labels")


def _write_files(folder: Path) -> tuple[list[Path], list[int], list[str]]:
    """Small grey (``L``) and colour (``RGB``) files in three classes, each class with its own mix."""
    classes = ["alpha", "beta", "gamma"]
    mix = {"alpha": "L L RGB L", "beta": "RGB RGB RGB", "gamma": "L RGB"}  # per class, one mode per file
    pixels = np.arange(64, dtype=np.uint8).reshape(8, 8)
    paths, labels = [], []
    for label, name in enumerate(classes):
        for i, mode in enumerate(mix[name].split()):
            path = folder / name / f"{i}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(pixels).convert(mode).save(path)
            paths.append(path)
            labels.append(label)
    order = [4, 0, 6, 2, 8, 1, 5, 3, 7]  # classes interleaved, as in a shuffled file list
    return [paths[i] for i in order], [labels[i] for i in order], classes


def check_count_modes(count_modes) -> bool:
    """01: does ``count_modes(paths, labels, classes)`` count each class's colour modes?

    Tried on small image files the checker writes, and compared with
    :func:`mri_helpers.sources.modes_per_class`.
    """
    if missing(count_modes, "`count_modes`"):
        return False
    with tempfile.TemporaryDirectory() as folder:
        paths, labels, classes = _write_files(Path(folder))
        true = modes_per_class(paths, labels, classes)
        answer, hint = attempt(count_modes, list(paths), list(labels), list(classes))
    if hint:
        return verdict(False, hint)
    if not isinstance(answer, dict):
        return verdict(False, "return a dict {class name: Counter of modes}")
    if set(answer) == set(range(len(classes))):
        return verdict(False, "key the dict by class name, classes[label], not by the label number")
    if set(answer) <= {"L", "RGB"}:
        return verdict(False, "that counts all the files together: keep one Counter per class")
    try:
        found = {name: dict(Counter(counts)) for name, counts in answer.items()}
    except (TypeError, ValueError):
        return verdict(False, "each value should be a Counter (or dict) {mode: number of files}")
    return verdict(found == {name: dict(counts) for name, counts in true.items()},
                   "for each file, open it with Image.open(path) and add 1 to modes[class name][image.mode]")


def check_to_input(to_input) -> bool:
    """01: does ``to_input(image, mean, std)`` turn a uint8 ``H x W x C`` image into normalised ``C x H x W`` floats?

    Compared with torchvision's ``v2.Compose([v2.ToImage(), v2.ToDtype(torch.float32, scale=True),
    v2.Normalize(mean, std)])`` on an image of the checker's own, whose three channels differ.
    """
    if missing(to_input, "`to_input`"):
        return False
    generator = torch.Generator().manual_seed(1)
    image = torch.randint(0, 256, (6, 10, 3), generator=generator, dtype=torch.uint8).numpy()  # H x W x C
    mean, std = [0.2, 0.3, 0.4], [0.1, 0.2, 0.25]
    true = v2.Compose([v2.ToImage(), v2.ToDtype(torch.float32, scale=True), v2.Normalize(mean, std)])(image)
    answer, hint = attempt(to_input, image.copy(), list(mean), list(std))
    if hint and "must match the size" in hint:
        hint += " (shape mean and std C x 1 x 1, torch.tensor(mean).view(-1, 1, 1), so they broadcast over H x W)"
    if hint:
        return verdict(False, hint)
    if answer is None:
        return verdict(False, "return the tensor at the end of the function")
    if not isinstance(answer, torch.Tensor):
        return verdict(False, "return a PyTorch tensor (torch.from_numpy(image) first), not a NumPy array")
    try:
        found = torch.as_tensor(answer).detach().float()
    except (TypeError, ValueError, RuntimeError):
        return verdict(False, "return a float tensor, C x H x W")
    if tuple(found.shape) != tuple(true.shape):
        return verdict(False, f"the result should be C x H x W = {tuple(true.shape)} for an H x W x C = {image.shape} "
                               f"image, got {tuple(found.shape)}: move the channel axis first with .permute(2, 0, 1)")

    def close(expected) -> bool:
        return torch.allclose(found, torch.as_tensor(expected, dtype=torch.float32), atol=1e-4)

    raw = torch.from_numpy(image.copy()).permute(2, 0, 1).float()
    m, s = torch.tensor(mean).view(-1, 1, 1), torch.tensor(std).view(-1, 1, 1)
    if close((raw - m) / s):
        return verdict(False, "scale the pixels to [0, 1] first: divide the uint8 values by 255")
    if close(torch.from_numpy(image.copy()).reshape(true.shape).float().div(255).sub(m).div(s)):
        return verdict(False, "reshape/view keeps the memory order and scrambles the pixels: use .permute(2, 0, 1)")
    if close(raw / 255):
        return verdict(False, "now normalise: subtract each channel's mean and divide by its std")
    return verdict(close(true), "x / 255, then (x - mean) / std with mean and std shaped C x 1 x 1, "
                                "so that each channel gets its own")
