"""Controlled changes in how a scan looks, and a model's accuracy under each.

MRI intensities have no fixed scale: the same slice exported by another scanner, viewer or
pipeline can come out darker, flatter, blurrier or re-compressed. A model that learned the
anatomy should shrug that off; one that learned this export's grey levels will not. Each
shift applies one of :mod:`transforms`' operations, the ones augmentation draws at random,
with a fixed parameter to the decoded uint8 pixels, before normalisation, exactly where a
different export would differ; :func:`jpeg` re-encodes with Pillow.
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

from . import transforms as T
from .metrics import model_device


def on_pixels(operation: Callable[[torch.Tensor], torch.Tensor]) -> Callable[[torch.Tensor], torch.Tensor]:
    """``operation`` on float pixels in [0, 1], as a shift of uint8 pixels, converted both ways as torchvision does."""
    def shift(batch: torch.Tensor) -> torch.Tensor:
        pixels = F.to_dtype(batch, torch.float32, scale=True)
        return F.to_dtype(operation(pixels).clamp_(0, 1), torch.uint8, scale=True)

    return shift


def darker(batch: torch.Tensor, levels: int = 20) -> torch.Tensor:
    """Subtract ``levels`` grey levels (of 255) everywhere, clipping at black."""
    return (batch.to(torch.int16) - levels).clamp_(0, 255).to(torch.uint8)


def jpeg(batch: torch.Tensor, quality: int = 30) -> torch.Tensor:
    """Re-encode every image as a JPEG at ``quality`` with Pillow, as an export or a viewer might."""
    out = []
    for image in batch:
        array = image.permute(1, 2, 0).numpy()
        buffer = io.BytesIO()
        Image.fromarray(array[..., 0] if array.shape[-1] == 1 else array).save(buffer, "JPEG", quality=quality)
        decoded = np.asarray(Image.open(buffer))
        out.append(torch.from_numpy(decoded.reshape(*decoded.shape[:2], -1).copy()).permute(2, 0, 1))
    return torch.stack(out)


# name -> function of a uint8 batch (N x C x H x W), returning one of the same shape and dtype
SHIFTS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "gamma 0.7": on_pixels(partial(T.gamma, g=0.7)),  # brighter mid-tones
    "gamma 1.5": on_pixels(partial(T.gamma, g=1.5)),  # darker mid-tones
    "contrast x0.75": on_pixels(partial(T.contrast, factor=0.75)),  # pulled towards the mean grey
    "brightness -20": darker,
    "half resolution": on_pixels(partial(T.downsample, factor=0.5)),
    "blur (sigma 1)": on_pixels(partial(T.blur, sigma=1.0, radius=2)),
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
