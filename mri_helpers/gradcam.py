"""Grad-CAM: which parts of the image pushed the model towards a class?

Grad-CAM (Selvaraju et al., 2017) takes the feature maps of a late convolutional
layer, weighs each map by how much the class score rises when that map rises (the
gradient, averaged over the map), sums the weighted maps and keeps the positive part.
The result is a coarse map, as small as that layer's maps, which is stretched back to
the image size. We use Captum's implementation (``LayerGradCam``); notebook 11 has the
student write the same map by hand, with a forward and a backward hook, and checks it
against Captum's.

A heatmap shows where the model found evidence for a class, not where the tumour is:
it is not a segmentation. It is also only a hint: :func:`border_sensitivity` tests one
such hint (is the model using the image border?) by blanking the border and re-scoring,
and :func:`colour_sensitivity` checks another possible shortcut, colour.
"""

from __future__ import annotations

import torch
from captum.attr import LayerAttribution, LayerGradCam
from torch import nn
from torch.utils.data import DataLoader

from .metrics import model_device
from .transforms import unnormalize


def gradcam(model: nn.Module, images: torch.Tensor, target: int | torch.Tensor, layer: nn.Module | None = None) -> torch.Tensor:
    """Heatmaps ``N x H x W`` in [0, 1] for ``images`` (``N x C x H x W``) and class ``target``.

    ``layer`` defaults to the model's ``cam_layer`` (its last convolutional maps). Each
    map is scaled so its maximum is 1; a map with no positive evidence stays all zero.
    The model is put in evaluation mode, as for any prediction.
    """
    model.eval()
    layer = layer if layer is not None else model.cam_layer
    with torch.enable_grad():
        coarse = LayerGradCam(model, layer).attribute(images, target=target, relu_attributions=True)
    maps = LayerAttribution.interpolate(coarse.detach(), tuple(images.shape[-2:]), interpolate_mode="bilinear")[:, 0]
    peak = maps.flatten(1).amax(dim=1).clamp_min(1e-12).view(-1, 1, 1)
    return (maps / peak).clamp_(0, 1)


def examples(y_true, y_pred, classes: list[str]) -> list[tuple[int, str]]:
    """For each true class, the first right and the first wrong prediction: ``(index, title)`` pairs.

    A class the model never gets wrong has no wrong example; the titles say what is shown.
    """
    y_true, y_pred = list(y_true), list(y_pred)
    picked = []
    for c, name in enumerate(classes):
        for right in (True, False):
            hit = next((i for i, (t, p) in enumerate(zip(y_true, y_pred)) if t == c and (p == t) == right), None)
            if hit is not None:
                verdict = "right" if right else f"wrong: {classes[y_pred[hit]]}"
                picked.append((hit, f"{name} ({verdict})"))
    return picked


def blank_border(images: torch.Tensor, fraction: float, normalize) -> torch.Tensor:
    """Copies of normalised ``images`` whose outer frame, ``fraction`` of the side wide, is black."""
    out = images.clone()
    margin = int(round(images.shape[-1] * fraction))
    if margin:
        black = normalize(torch.zeros(1, images.shape[1], 1, 1))  # intensity 0, normalised like the images
        out[..., :margin, :] = black
        out[..., -margin:, :] = black
        out[..., :, :margin] = black
        out[..., :, -margin:] = black
    return out


def to_grey(images: torch.Tensor, normalize) -> torch.Tensor:
    """Normalised ``images`` with their colour removed: each pixel becomes the mean of its channels."""
    grey = unnormalize(images, normalize).mean(dim=1, keepdim=True)
    return normalize(grey.expand_as(images))


@torch.no_grad()
def border_sensitivity(model: nn.Module, dataset, normalize, fractions=(0.0, 0.05, 0.10, 0.15),
                       batch_size: int = 64) -> dict:
    """Accuracy on ``dataset`` with a black frame of each width in ``fractions``.

    A model that reads the tumour should barely notice a thin frame; one that leans on
    the border (where Grad-CAM may have pointed) loses accuracy as soon as it is blanked.
    Wide frames start to hide the brain itself, so every model suffers eventually.
    """
    model.eval()
    device = model_device(model)
    right, total = dict.fromkeys(fractions, 0), 0
    for x, y in DataLoader(dataset, batch_size=batch_size):
        for fraction in fractions:
            logits = model(blank_border(x, fraction, normalize).to(device))
            right[fraction] += int((logits.argmax(dim=1).cpu() == y).sum())
        total += len(y)
    return {fraction: right[fraction] / total for fraction in fractions}


@torch.no_grad()
def colour_sensitivity(model: nn.Module, dataset, normalize, batch_size: int = 64) -> int:
    """How many predictions on ``dataset`` change when the images' colour is removed (:func:`to_grey`)."""
    model.eval()
    device = model_device(model)
    changed = 0
    for x, _ in DataLoader(dataset, batch_size=batch_size):
        before, after = (model(v.to(device)).argmax(dim=1) for v in (x, to_grey(x, normalize)))
        changed += int((before != after).sum())
    return changed
