"""Controlled changes in how a scan looks, and a model's accuracy under each.

MRI intensities have no fixed scale: the same slice exported by another scanner, viewer or
pipeline can come out darker, flatter, blurrier, noisier or re-compressed. A model that
learned the anatomy should shrug that off; one that learned this export's grey levels will
not. Two suites:

* :data:`SEEN`: one setting each of the operations augmentation draws at random (or near
  them), applied at a model's own input size. Augmented models were trained on these, so
  they measure invariance to what training showed, not robustness.
* :data:`HELD_OUT`: eleven kinds of change, three severities each, none inside any range a
  recipe augments with (:func:`trained_ranges`; a test holds them apart). They act on the
  images at :data:`COMMON_SIZE`, the stored files' side, before the resize to a model's
  input, so a row means the same change for a 128-px and a 256-px model.
"""

from __future__ import annotations

import io
import math
import zlib
from dataclasses import dataclass
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
SEEN: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
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
    shifts = {"none": lambda x: x, **(shifts or SEEN)}
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


COMMON_SIZE = 224  # the side of the stored files: held-out shifts act here, before a model's resize


def bias_field(x: torch.Tensor, strength: float) -> torch.Tensor:
    """A smooth gain across the image, from ``exp(-strength)`` in one corner to ``exp(strength)``
    in the opposite one: the intensity inhomogeneity of an MR receive coil."""
    h, w = x.shape[-2:]
    ramp = (torch.linspace(-1, 1, h).view(h, 1) + torch.linspace(-1, 1, w).view(1, w)) / 2
    return x * torch.exp(strength * ramp)


def rician(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Rician noise, the noise of a magnitude image: ``|x + sigma * (n1 + i n2)|``.

    Each image's noise is seeded by its own pixels, so a scan gets the same noise in any
    batch, for every model scored.
    """
    out = torch.empty_like(x)
    for i, image in enumerate(x):
        g = torch.Generator().manual_seed(zlib.crc32(image.numpy().tobytes()))
        n1, n2 = (torch.randn(image.shape, generator=g) for _ in range(2))
        out[i] = torch.sqrt((image + sigma * n1) ** 2 + (sigma * n2) ** 2)
    return out


def ghosting(x: torch.Tensor, strength: float) -> torch.Tensor:
    """Motion ghosts: faint copies a quarter of the image up and down (the phase-encoding
    direction), ``strength`` of the scan's intensity each, as breathing or a moving head leaves."""
    quarter = x.shape[-2] // 4
    return x + strength * (x.roll(quarter, dims=-2) + x.roll(-quarter, dims=-2)) / 2


def resample(x: torch.Tensor, factor: float, mode: str) -> torch.Tensor:
    """Shrink by ``factor`` and scale back up with ``mode`` (``"nearest"`` or ``"bicubic"``) and no
    antialiasing: the blocky or ringing resize of another viewer or export."""
    small = nn.functional.interpolate(x, scale_factor=factor, mode=mode)
    return nn.functional.interpolate(small, size=x.shape[-2:], mode=mode)


@dataclass(frozen=True)
class HeldOut:
    """One kind of change at three severities (mild, middle, severe).

    ``apply(batch, parameter)`` changes a uint8 batch. ``axis`` names the augmentation range it
    is compared with (:func:`trained_ranges`), and ``on_axis(parameter)`` is the parameter in
    that range's units; ``axis`` is ``None`` where no recipe augments anything like it.
    """

    apply: Callable[[torch.Tensor, float], torch.Tensor]
    severities: tuple[float, float, float]
    unit: str
    axis: str | None = None
    on_axis: Callable[[float], float] = lambda p: p

    def shifts(self, family: str) -> dict[str, Callable[[torch.Tensor], torch.Tensor]]:
        """``{"<family> <parameter>": shift}`` for its three severities."""
        return {f"{family} {p:g}": partial(self.apply, **{"parameter": p}) for p in self.severities}


def _pixels(operation, **fixed):
    """A uint8 batch function of ``(batch, parameter)`` from a float operation ``operation(x, parameter)``."""
    def shift(batch: torch.Tensor, parameter: float) -> torch.Tensor:
        return on_pixels(lambda x: operation(x, parameter, **fixed))(batch)

    return shift


HELD_OUT: dict[str, HeldOut] = {
    "gamma (brighter)": HeldOut(_pixels(T.gamma), (0.6, 0.5, 0.4), "gamma", "gamma"),
    "gamma (darker)": HeldOut(_pixels(T.gamma), (1.75, 2.0, 2.5), "gamma", "gamma"),
    "low contrast": HeldOut(_pixels(T.contrast), (0.6, 0.5, 0.4), "contrast factor", "contrast"),
    "bias field": HeldOut(_pixels(bias_field), (0.3, 0.5, 0.7), "log gain at the corners",
                          "gain", math.exp),
    "Rician noise": HeldOut(_pixels(rician), (0.03, 0.06, 0.1), "noise sigma (of white)"),
    "motion ghosts": HeldOut(_pixels(ghosting), (0.1, 0.2, 0.35), "ghost strength"),
    "blur": HeldOut(lambda b, parameter: on_pixels(partial(T.blur, sigma=parameter, radius=math.ceil(3 * parameter)))(b),
                    (3.0, 4.0, 5.0), "sigma (stored pixels)", "blur sigma"),
    "low resolution": HeldOut(lambda b, parameter: on_pixels(partial(T.downsample, factor=parameter))(b),
                              (0.2, 0.15, 0.1), "side kept", "side kept"),
    "nearest resampling": HeldOut(_pixels(resample, mode="nearest"), (0.8, 0.65, 0.5), "side kept", "side kept"),
    "bicubic resampling": HeldOut(_pixels(resample, mode="bicubic"), (0.8, 0.65, 0.5), "side kept", "side kept"),
    "JPEG": HeldOut(lambda b, parameter: jpeg(b, int(parameter)), (20, 10, 5), "quality"),
}


def held_out_shifts(severity: int | None = None) -> dict[str, Callable[[torch.Tensor], torch.Tensor]]:
    """Every held-out shift by name, family by family, mild to severe; or one severity of each
    family (0 mild, 1 middle, 2 severe)."""
    return {name: shift for family, h in HELD_OUT.items() for k, (name, shift) in enumerate(h.shifts(family).items())
            if severity is None or k == severity}


def trained_ranges(variants: dict | None = None) -> dict[str, list[tuple[float, float]]]:
    """Per axis, every range a recipe's augmentation draws from, in the units of :class:`HeldOut`.

    Ranges that depend on resolution are converted to the stored files' pixels: a blur of
    sigma 1 at a 128-px input is a sigma of 1.75 stored pixels, and down-sampling a 128-px
    input by 0.4 keeps 0.4 x 128 / 224 of the stored side.
    """
    from .recipes import VARIANTS

    augment = T.Augment()
    ranges: dict[str, list[tuple[float, float]]] = {"gain": [augment.brightness]}
    for v in (variants or VARIANTS).values():
        r, px = v.recipe, COMMON_SIZE / v.recipe.image_size  # stored pixels per input pixel
        if r.intensity_augment:
            ranges.setdefault("gamma", []).append(T.Augment.GAMMA)
            ranges.setdefault("contrast", []).append(T.Augment.CONTRAST)
        if r.detail_augment:
            ranges.setdefault("blur sigma", []).append(tuple(s * px for s in T.Augment.SIGMA))
            ranges.setdefault("side kept", []).append(tuple(f / px for f in T.Augment.SCALE))
    return ranges


def inside_training(variants: dict | None = None) -> list[str]:
    """The held-out settings that fall inside a trained range (the suite's promise: none)."""
    ranges = trained_ranges(variants)
    return [f"{family} {p:g}" for family, h in HELD_OUT.items() for p in h.severities if h.axis
            for low, high in ranges.get(h.axis, []) if low <= h.on_axis(p) <= high]


@torch.no_grad()
def shifted_probabilities(model: nn.Module, raw, prepare, shifts: dict, image_size: int | None = None,
                          batch_size: int = 64) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The labels, and the class probabilities with no shift (``"none"``) and under each shift.

    ``raw`` yields uint8 images. With ``image_size``, each batch is shifted first and then
    resized to the model's input (antialiased bilinear), as :data:`HELD_OUT` asks.
    """
    shifts = {"none": lambda x: x, **shifts}
    device = model_device(model)
    model.eval()
    probs, labels = {name: [] for name in shifts}, []
    for x, y in DataLoader(raw, batch_size=batch_size):
        labels.append(np.asarray(y))
        for name, shift in shifts.items():
            z = shift(x)
            if image_size and z.shape[-1] != image_size:
                z = F.resize(z, [image_size, image_size], antialias=True)
            probs[name].append(torch.softmax(model(prepare(z).to(device)).float(), 1).cpu().numpy())
    return np.concatenate(labels), {name: np.concatenate(p) for name, p in probs.items()}
