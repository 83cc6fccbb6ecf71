"""What happens to a batch of decoded pixels before the model sees it.

:class:`Augment` moves and brightens training images; :func:`unnormalize` undoes the
normaliser so an image can be shown; :func:`eval_transform` prepares one image outside the
datasets. They depend on torch only, so Grad-CAM and the CLI need no plotting library.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torchvision.transforms import v2


class Augment:
    """Flip, rotate, shift and brighten every image of a uint8 batch, each with its own draw.

    The same motions as the original's transforms (RandomHorizontalFlip, RandomAffine
    translate 10%, RandomRotation 10 degrees, ColorJitter brightness 0.8-1.2), but
    applied to a whole batch at once: flip, rotation and shift become one affine matrix
    per image, and a single ``grid_sample`` call resamples the batch. ``transforms.v2``
    would draw one set of parameters per call, i.e. per batch, so here we draw them per
    image ourselves, and resample once instead of twice (shift, then rotate). Like
    torchvision's RandomAffine and RandomRotation (and so the original project), it
    uses nearest-neighbour interpolation. It runs on whichever device the batch is on, and
    its randomness comes from that device's global generator, which the trainer seeds.

    With ``intensity=True`` each image also gets a random gamma curve (0.7 to 1.5, drawn
    uniformly on a log scale, so a gamma and its inverse, where both are in range, are
    equally likely; 47 % of draws brighten) and a random
    contrast (0.75 to 1.25 around its own mean): intensity augmentation, which teaches a
    model that an export's grey levels carry no label.

    With ``detail=True`` a random third of the images are blurred (a Gaussian with its own
    sigma, 0.5 to 1.5 pixels) and another third are down-sampled and scaled back up
    (antialiased bilinear, by one factor per batch, 0.4 to 0.8): detail augmentation, for scans
    acquired or exported at a coarser resolution. Intensity and detail augmentation both
    cover the ranges of the shifts the course tests (:mod:`shifts`): they teach invariance
    to known kinds of change, which says nothing about kinds the model never saw.
    """

    GAMMA, CONTRAST = (0.7, 1.5), (0.75, 1.25)
    SIGMA, SCALE = (0.5, 1.5), (0.4, 0.8)

    def __init__(self, degrees: float = 10.0, translate: float = 0.1, brightness=(0.8, 1.2), intensity: bool = False,
                 detail: bool = False):
        self.degrees, self.translate, self.brightness = degrees, translate, brightness
        self.intensity, self.detail = intensity, detail

    def __call__(self, batch: torch.Tensor) -> torch.Tensor:
        n, device = batch.shape[0], batch.device
        x = batch.float().div_(255)
        angle = (torch.rand(n, device=device) * 2 - 1) * math.radians(self.degrees)
        flip = torch.where(torch.rand(n, device=device) < 0.5, -1.0, 1.0)
        shift = (torch.rand(n, 2, device=device) * 2 - 1) * 2 * self.translate  # the image spans 2 in grid units
        # Where each output pixel (u, v) reads from, in grid_sample's [-1, 1] coordinates:
        # (x, y) = rotation @ (flip * u, v) + shift. Built by broadcasting, which is
        # cheaper than affine_grid's batched matrix product.
        cos, sin = angle.cos().view(n, 1, 1), angle.sin().view(n, 1, 1)
        h, w = x.shape[-2:]
        u = torch.linspace(-1 + 1 / w, 1 - 1 / w, w, device=device).view(1, 1, w) * flip.view(n, 1, 1)
        v = torch.linspace(-1 + 1 / h, 1 - 1 / h, h, device=device).view(1, h, 1)
        grid = torch.stack((cos * u - sin * v + shift[:, :1, None], sin * u + cos * v + shift[:, 1:, None]), dim=-1)
        x = nn.functional.grid_sample(x, grid, mode="nearest", padding_mode="zeros", align_corners=False)
        factor = torch.empty(n, 1, 1, 1, device=device).uniform_(*self.brightness)
        x = x.mul_(factor).clamp_(0, 1)
        if self.detail:
            x = self.lose_detail(x)
        if self.intensity:
            gamma = torch.empty(n, 1, 1, 1, device=device).uniform_(*map(math.log, self.GAMMA)).exp_()
            contrast = torch.empty(n, 1, 1, 1, device=device).uniform_(*self.CONTRAST)
            x = x.pow_(gamma)
            mean = x.mean(dim=(1, 2, 3), keepdim=True)
            x = x.sub_(mean).mul_(contrast).add_(mean).clamp_(0, 1)
        return x

    def lose_detail(self, x: torch.Tensor) -> torch.Tensor:
        """Blur a random third of a float batch and down-sample another third (see the class).

        The thirds are slices of one random permutation, so their sizes are known in
        advance: only those images are processed, and a GPU never waits to count them.
        """
        n, third = x.shape[0], x.shape[0] // 3
        order = torch.randperm(n, device=x.device)
        blurred, coarse = order[:third], order[third:2 * third]
        sigma = torch.empty(third, device=x.device).uniform_(*self.SIGMA)
        factor = float(torch.empty(1).uniform_(*self.SCALE))
        small = nn.functional.interpolate(x[coarse], scale_factor=factor, mode="bilinear", antialias=True)
        x[coarse] = nn.functional.interpolate(small, size=x.shape[-2:], mode="bilinear", antialias=True)
        x[blurred] = gaussian_blur(x[blurred], sigma)
        return x


def gaussian_blur(x: torch.Tensor, sigma: torch.Tensor, radius: int = 4) -> torch.Tensor:
    """Blur each image of ``x`` (N x C x H x W, float) with its own ``sigma`` (N values).

    ``torchvision.transforms.v2.functional.gaussian_blur`` takes one sigma per call; here
    each image's kernel is a row of one tensor, and a grouped convolution (one group per
    image channel) applies them all at once, separably: rows, then columns. Edges are
    reflected, as torchvision does. ``radius`` 4 spans 2.7 sigma at the largest sigma.
    """
    n, c, h, w = x.shape
    t = torch.arange(-radius, radius + 1, device=x.device, dtype=x.dtype)
    kernel = torch.exp(-t**2 / (2 * sigma.to(x.dtype).view(n, 1) ** 2))
    kernel = (kernel / kernel.sum(1, keepdim=True)).repeat_interleave(c, dim=0)  # one row per image channel
    y = nn.functional.pad(x.reshape(1, n * c, h, w), [radius] * 4, mode="reflect")
    y = nn.functional.conv2d(y, kernel.view(n * c, 1, 1, -1), groups=n * c)
    y = nn.functional.conv2d(y, kernel.view(n * c, 1, -1, 1), groups=n * c)
    return y.view(n, c, h, w)



def eval_transform(normalize: v2.Normalize) -> v2.Compose:
    """How a single uint8 image becomes model input outside the datasets (the CLI's predict)."""
    return v2.Compose([v2.ToDtype(torch.float32, scale=True), normalize])


def unnormalize(batch: torch.Tensor, normalize) -> torch.Tensor:
    """Undo ``Normalize`` so a batch can be shown: ``x * std + mean``."""
    mean = torch.tensor(normalize.mean, device=batch.device).view(-1, 1, 1)
    std = torch.tensor(normalize.std, device=batch.device).view(-1, 1, 1)
    return batch * std + mean


class Prepare:
    """Raw uint8 batch ``N x C x S x S`` (C is 1 or 3) -> normalised float ``N x 3 x S x S``.

    With ``augment`` the batch is augmented first (training). It runs on whichever device
    the batch is on, so a trainer on a GPU moves the compact uint8 batch there and
    augments it there, and the CPU only slices the memory map. A grey cache stores one
    channel; it is normalised and then repeated three times, for the models' 3-channel input.
    """

    def __init__(self, normalize: v2.Normalize, augment: Augment | None = None):
        self.normalize, self.augment = normalize, augment

    def __call__(self, batch: torch.Tensor) -> torch.Tensor:
        x = self.augment(batch) if self.augment else batch.float().div_(255)
        channels = x.shape[1]
        x = v2.functional.normalize(x, self.normalize.mean[:channels], self.normalize.std[:channels])
        return x.expand(-1, 3, -1, -1)
