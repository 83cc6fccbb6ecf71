"""Controlled shifts in how a scan looks, and a model's accuracy under each.

MRI intensities have no fixed scale: the same slice exported by another scanner, viewer
or pipeline can come out darker, flatter, blurrier or re-compressed. A model that learned
the anatomy should shrug that off; one that learned this export's grey levels will not.
Each shift here is one of torchvision's own functional transforms (or a few lines of
arithmetic or Pillow), applied to the decoded uint8 pixels before normalisation, exactly where a
different export would differ.
"""

from __future__ import annotations

import io
from functools import partial
from typing import Callable

import numpy as np
import torch
from PIL import Image
from torch import nn
from torch.utils.data import DataLoader
from torchvision.transforms.v2 import functional as F

from .metrics import model_device


def darker(batch: torch.Tensor, levels: int = 20) -> torch.Tensor:
    """Subtract ``levels`` grey levels (of 255) everywhere, clipping at black."""
    return (batch.to(torch.int16) - levels).clamp_(0, 255).to(torch.uint8)


def jpeg(batch: torch.Tensor, quality: int = 30) -> torch.Tensor:
    """Re-encode every image as a JPEG at ``quality`` with Pillow, as an export or a viewer might.

    (torchvision's ``functional.jpeg`` does the same, but its codec is deprecated.)
    """
    out = []
    for image in batch:
        array = image.permute(1, 2, 0).numpy()
        buffer = io.BytesIO()
        Image.fromarray(array[..., 0] if array.shape[-1] == 1 else array).save(buffer, "JPEG", quality=quality)
        decoded = np.asarray(Image.open(buffer))
        out.append(torch.from_numpy(decoded.reshape(*decoded.shape[:2], -1).copy()).permute(2, 0, 1))
    return torch.stack(out)


def coarser(batch: torch.Tensor, factor: float = 0.5) -> torch.Tensor:
    """Downscale the side by ``factor`` (antialiased) and back up: the detail of a coarser scan."""
    size = list(batch.shape[-2:])
    return F.resize(F.resize(batch, [round(s * factor) for s in size], antialias=True), size, antialias=True)


# name -> function of a uint8 batch (N x C x H x W), returning one of the same shape and dtype
SHIFTS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "gamma 0.7": partial(F.adjust_gamma, gamma=0.7),  # brighter mid-tones
    "gamma 1.5": partial(F.adjust_gamma, gamma=1.5),  # darker mid-tones
    "contrast x0.75": partial(F.adjust_contrast, contrast_factor=0.75),  # pulled towards the mean grey
    "brightness -20": darker,
    "half resolution": coarser,
    "blur (sigma 1)": partial(F.gaussian_blur, kernel_size=[5, 5], sigma=[1.0, 1.0]),
    "JPEG quality 30": jpeg,
}


@torch.no_grad()
def shifted_accuracy(model: nn.Module, raw_test, prepare, shifts: dict | None = None,
                     batch_size: int = 64) -> dict[str, float]:
    """Test accuracy with no shift (``"none"``) and under each shift.

    ``raw_test`` yields uint8 images (``data.test.subset(data.test.rows, raw=True)``) and
    ``prepare`` normalises a batch as the model was trained to expect (``Prepare(data.normalize)``).
    """
    shifts = {"none": lambda x: x, **(shifts or SHIFTS)}
    device = model_device(model)
    model.eval()
    right = dict.fromkeys(shifts, 0)
    total = 0
    for x, y in DataLoader(raw_test, batch_size=batch_size):
        y = y.to(device)
        for name, shift in shifts.items():
            logits = model(prepare(shift(x)).to(device))
            right[name] += int((logits.argmax(1) == y).sum())
        total += len(y)
    return {name: right[name] / total for name in shifts}
