"""What happens to a batch of decoded pixels before a model sees it: one function per operation.

Each operation takes a float batch ``N x C x H x W`` in [0, 1] and a parameter, either one
value for the whole batch or one per image (a tensor of N values), and runs on whatever
device the batch is on:

* :func:`flip_rotate_shift` (one affine resampling), :func:`brightness`, :func:`gamma`
  and :func:`contrast`: how an image moves and how its grey levels are mapped;
* :func:`blur` and :func:`downsample`: how much detail it keeps.

:class:`Augment` composes them with random parameters for training, and the robustness
study (:mod:`shifts`) applies the same functions with fixed ones. :class:`Prepare` turns a
raw uint8 batch into the normalised input a model expects; :func:`unnormalize` undoes that
for showing an image.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torchvision.transforms import v2


def _per_image(value, x: torch.Tensor) -> torch.Tensor:
    """``value`` (a number, or one per image) shaped to broadcast over a batch: N x 1 x 1 x 1."""
    return torch.as_tensor(value, dtype=x.dtype, device=x.device).reshape(-1, 1, 1, 1)


def flip_rotate_shift(x: torch.Tensor, flip: torch.Tensor, angle: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    """Flip (``flip`` -1) or not (1), rotate by ``angle`` radians and shift by ``shift`` (N x 2, in
    half-widths) each image, in one nearest-neighbour resampling; what falls outside is black.

    Each output pixel (u, v) reads from (x, y) = rotation @ (flip * u, v) + shift, in
    ``grid_sample``'s [-1, 1] coordinates, built by broadcasting (cheaper than ``affine_grid``).
    """
    n, (h, w) = x.shape[0], x.shape[-2:]
    cos, sin = angle.cos().view(n, 1, 1), angle.sin().view(n, 1, 1)
    u = torch.linspace(-1 + 1 / w, 1 - 1 / w, w, device=x.device).view(1, 1, w) * flip.view(n, 1, 1)
    v = torch.linspace(-1 + 1 / h, 1 - 1 / h, h, device=x.device).view(1, h, 1)
    grid = torch.stack((cos * u - sin * v + shift[:, :1, None], sin * u + cos * v + shift[:, 1:, None]), dim=-1)
    return nn.functional.grid_sample(x, grid, mode="nearest", padding_mode="zeros", align_corners=False)


def brightness(x: torch.Tensor, factor) -> torch.Tensor:
    """Scale every grey level by ``factor``, clipped to white."""
    return x.mul(_per_image(factor, x)).clamp_(0, 1)


def gamma(x: torch.Tensor, g) -> torch.Tensor:
    """A gamma curve, ``x ** g``: below 1 brightens the mid-tones, above 1 darkens them."""
    return x.pow(_per_image(g, x))


def contrast(x: torch.Tensor, factor) -> torch.Tensor:
    """Stretch (``factor`` > 1) or flatten (< 1) each image's grey levels around its own mean."""
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return x.sub(mean).mul_(_per_image(factor, x)).add_(mean).clamp_(0, 1)


def blur(x: torch.Tensor, sigma, radius: int = 4) -> torch.Tensor:
    """A Gaussian blur of each image with its own ``sigma`` (pixels), edges reflected.

    ``torchvision.transforms.v2.functional.gaussian_blur`` takes one sigma per call; here
    each image's kernel is a row of one tensor, and a grouped convolution (one group per
    image channel) applies them all at once, separably: rows, then columns. ``radius`` 4
    spans 2.7 sigma at sigma 1.5.
    """
    n, c, h, w = x.shape
    t = torch.arange(-radius, radius + 1, device=x.device, dtype=x.dtype)
    kernel = torch.exp(-t**2 / (2 * _per_image(sigma, x).expand(n, 1, 1, 1).view(n, 1) ** 2))
    kernel = (kernel / kernel.sum(1, keepdim=True)).repeat_interleave(c, dim=0)  # one row per image channel
    y = nn.functional.pad(x.reshape(1, n * c, h, w), [radius] * 4, mode="reflect")
    y = nn.functional.conv2d(y, kernel.view(n * c, 1, 1, -1), groups=n * c)
    y = nn.functional.conv2d(y, kernel.view(n * c, 1, -1, 1), groups=n * c)
    return y.view(n, c, h, w)


def downsample(x: torch.Tensor, factor: float) -> torch.Tensor:
    """Shrink the side by ``factor`` and scale back up (antialiased bilinear): the detail of a coarser scan."""
    small = nn.functional.interpolate(x, scale_factor=factor, mode="bilinear", antialias=True)
    return nn.functional.interpolate(small, size=x.shape[-2:], mode="bilinear", antialias=True)


def _uniform(n: int, low: float, high: float, device) -> torch.Tensor:
    return torch.empty(n, device=device).uniform_(low, high)


class Augment:
    """Random versions of the operations above, a draw per image, for a uint8 training batch.

    Always: a horizontal flip (half the images), a rotation (up to ``degrees``), a shift (up
    to ``translate`` of the side) and a brightness factor, the original project's
    augmentation. ``transforms.v2`` would draw one set of parameters per call, that is per
    batch, so here each image gets its own draw, and one resampling does flip, rotation and
    shift together. With ``intensity``, also a random gamma (drawn uniformly on a log scale,
    so a gamma and its inverse are equally likely) and contrast: an export's grey levels
    carry no label. With ``detail``, a random third of the batch is blurred and another
    third down-sampled: scans can come coarser. Randomness comes from the device's global
    generator, which the trainer seeds.
    """

    GAMMA, CONTRAST = (0.7, 1.5), (0.75, 1.25)  # intensity ranges
    SIGMA, SCALE = (0.5, 1.5), (0.4, 0.8)  # detail ranges: blur sigma (pixels), down-sampling factor

    def __init__(self, degrees: float = 10.0, translate: float = 0.1, brightness=(0.8, 1.2), intensity: bool = False,
                 detail: bool = False):
        self.degrees, self.translate, self.brightness = degrees, translate, brightness
        self.intensity, self.detail = intensity, detail

    def __call__(self, batch: torch.Tensor) -> torch.Tensor:
        n, device = batch.shape[0], batch.device
        x = batch.float().div_(255)
        angle = _uniform(n, -1, 1, device) * math.radians(self.degrees)
        flip = torch.where(torch.rand(n, device=device) < 0.5, -1.0, 1.0)
        shift = (torch.rand(n, 2, device=device) * 2 - 1) * 2 * self.translate  # the image spans 2 grid units
        x = flip_rotate_shift(x, flip, angle, shift)
        x = brightness(x, _uniform(n, *self.brightness, device))
        if self.detail:
            x = self.lose_detail(x)
        if self.intensity:
            g = _uniform(n, *map(math.log, self.GAMMA), device).exp_()
            x = contrast(gamma(x, g), _uniform(n, *self.CONTRAST, device))
        return x

    def lose_detail(self, x: torch.Tensor) -> torch.Tensor:
        """Blur a random third of the batch (a sigma per image) and down-sample another third (one factor).

        The thirds are slices of one random permutation, so their sizes are known in
        advance: only those images are processed, and a GPU never waits to count them.
        """
        third = x.shape[0] // 3
        order = torch.randperm(x.shape[0], device=x.device)
        blurred, coarse = order[:third], order[third:2 * third]
        sigma = _uniform(third, *self.SIGMA, x.device)
        x[coarse] = downsample(x[coarse], float(torch.empty(1).uniform_(*self.SCALE)))
        x[blurred] = blur(x[blurred], sigma)
        return x


class Prepare:
    """Raw uint8 batch ``N x C x S x S`` (C is 1 or 3) -> normalised float ``N x 3 x S x S``.

    With ``augment`` the batch is augmented first (training). It runs on whichever device
    the batch is on, so a trainer on a GPU moves the compact uint8 batch there and augments
    it there. A grey cache stores one channel; it is normalised, then repeated three times
    for the models' 3-channel input.
    """

    def __init__(self, normalize: v2.Normalize, augment: Augment | None = None):
        self.normalize, self.augment = normalize, augment

    def __call__(self, batch: torch.Tensor) -> torch.Tensor:
        x = self.augment(batch) if self.augment else batch.float().div_(255)
        channels = x.shape[1]
        x = v2.functional.normalize(x, self.normalize.mean[:channels], self.normalize.std[:channels])
        return x.expand(-1, 3, -1, -1)


def eval_transform(normalize: v2.Normalize) -> v2.Compose:
    """How a single uint8 image becomes model input outside the datasets (the CLI's predict)."""
    return v2.Compose([v2.ToDtype(torch.float32, scale=True), normalize])


def unnormalize(batch: torch.Tensor, normalize) -> torch.Tensor:
    """Undo ``Normalize`` so a batch can be shown: ``x * std + mean``."""
    mean = torch.tensor(normalize.mean, device=batch.device).view(-1, 1, 1)
    std = torch.tensor(normalize.std, device=batch.device).view(-1, 1, 1)
    return batch * std + mean
