"""Checkers for notebook 11: Grad-CAM by hand, the border test by hand, and the runner-up class's heatmap.

Each runs the student's function on a model and images of its own and compares the result
with the library's answer on the same weights: Captum's ``LayerGradCam`` for Grad-CAM, and
:func:`mri_helpers.gradcam.border_sensitivity` and :func:`mri_helpers.gradcam.gradcam` for the others.
"""

from __future__ import annotations

import torch
from captum.attr import LayerGradCam, LayerGradientXActivation
from torch import nn
from torch.utils.data import TensorDataset
from torchvision.transforms import v2

from ..gradcam import blank_border, border_sensitivity, gradcam
from ..models import build_model
from .verdict import attempt, missing, verdict

SEED = 28  # a CNN0 at 64 px and an image whose class-2 map has 32 positive and 32 negative cells
TARGET = 2  # not the class this CNN0 predicts (0), so a map of the prediction cannot pass
NORMALIZE = v2.Normalize([0.5] * 3, [0.25] * 3)  # black becomes -2


def _run(function, *args):
    """``(result, None)``, or ``(None, hint)`` when the student's function is a stub or fails."""
    with torch.enable_grad():  # the notebook may call the checker under no_grad
        return attempt(function, *args)


def _same(answer: torch.Tensor, expected: torch.Tensor) -> bool:
    scale = float(expected.abs().max())
    return answer.shape == expected.shape and torch.allclose(answer, expected, rtol=1e-4, atol=1e-4 * scale + 1e-12)


def _hooks(layer: nn.Module) -> int:
    """How many hooks are registered on ``layer``."""
    return sum(len(hooks) for hooks in (layer._forward_hooks, layer._forward_pre_hooks,
                                        layer._backward_hooks, layer._backward_pre_hooks))


def _tensor(answer) -> torch.Tensor | None:
    try:
        return torch.as_tensor(answer).detach().float().cpu()
    except (TypeError, ValueError, RuntimeError):
        return None


def cam_case() -> tuple[nn.Module, torch.Tensor]:
    """The checker's CNN0 (64 px, seeded, untrained, in eval mode) and its image (1 x 3 x 64 x 64)."""
    torch.manual_seed(SEED)
    model = build_model("cnn0", image_size=64).eval()
    return model, torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(SEED))


def _cam_hint(answer: torch.Tensor, model: nn.Module, image: torch.Tensor) -> str:
    """What went wrong with a map of the right shape: the common mistakes, tried on the same weights."""
    layer = model.cam_layer
    with torch.enable_grad():
        raw = LayerGradCam(model, layer).attribute(image, target=TARGET)[0, 0].detach()  # before ReLU
        unweighted = LayerGradientXActivation(model, layer).attribute(image, target=TARGET)[0].detach()
        predicted = int(model(image).argmax())
        of_prediction = LayerGradCam(model, layer).attribute(image, target=predicted, relu_attributions=True)
        of_softmax = LayerGradCam(lambda x: model(x).softmax(dim=1), layer).attribute(
            image, target=TARGET, relu_attributions=True)[0, 0].detach()
        of_sum = LayerGradCam(lambda x: model(x).sum(dim=1, keepdim=True), layer).attribute(
            image, target=0, relu_attributions=True)[0, 0].detach()
    expected, (channels, height, width) = raw.clamp(min=0), unweighted.shape
    if (answer < 0).any() or _same(answer, raw):
        return "the map has negative values: keep only the positive evidence (ReLU of the weighted sum)"
    if _same(answer, unweighted.sum(dim=0).clamp(min=0)):
        return ("each map needs one weight: average its gradients over height and width first "
                "(mean over dims 2 and 3), then multiply")
    if _same(answer, expected / channels):
        return "add the weighted maps over the channels (.sum(dim=1)): a mean divides by the number of channels"
    if _same(answer, expected * height * width):
        return "average the gradients over height and width (.mean), rather than adding them"
    if _same(answer, of_prediction[0, 0].detach()):
        return "backpropagate the score of `target`, not that of the predicted class"
    if _same(answer, of_softmax):
        return "backpropagate the raw score of `target` (scores[0, target]), not its softmax probability"
    if _same(answer, of_sum):
        return "backpropagate the score of `target` alone (scores[0, target]), not the sum of all the scores"
    if not answer.any():
        return ("the map is all zero: does the backward hook keep grad_output[0], and do you call backward() "
                "on the score of `target`?")
    return ("not the Grad-CAM map yet: weights = the gradients' mean over height and width, one per channel; "
            "the weighted maps added over the channels; then ReLU")


def check_grad_cam(grad_cam) -> bool:
    """11: does ``grad_cam(model, layer, image, target)`` give Captum's ``LayerGradCam`` map (ReLU applied)?

    It runs on the checker's own CNN0 and image, for a class the model does not predict, with the
    model left in training mode (the function must switch it to eval), and checks that no hook is
    left on the layer, also when the pass fails (a class that does not exist).
    """
    if missing(grad_cam, "`grad_cam`"):
        return False
    model, image = cam_case()
    layer = model.cam_layer
    with torch.enable_grad():
        expected = LayerGradCam(model, layer).attribute(image, target=TARGET, relu_attributions=True)[0, 0].detach()
    model.train()
    answer, hint = _run(grad_cam, model, layer, image, TARGET)
    if hint is not None:
        if "must match the size" in hint:
            hint += " (the weights should be 1 x C x 1 x 1: mean over dims 2 and 3 with keepdim=True)"
        return verdict(False, hint)
    if answer is None:
        return verdict(False, "return the map at the end of the function")
    if _hooks(layer):
        return verdict(False, "remove both hooks before returning (handle.remove()), in a `finally:` block")
    if model.training:
        return verdict(False, "put the model in evaluation mode (model.eval()) first: dropout changes the score")
    answer = _tensor(answer)
    if answer is None:
        return verdict(False, "return the map as one tensor (h x w)")
    while answer.dim() > 2 and answer.shape[0] == 1:  # 1 x 1 x h x w and 1 x h x w are fine too
        answer = answer[0]
    if answer.shape != expected.shape:
        if answer.shape[-2:] == image.shape[-2:]:
            return verdict(False, "return the coarse map, at the size of the layer's maps: "
                                  "stretching it to the image comes later (the library does that)")
        if answer.dim() == 3 and answer.shape[1:] == expected.shape:
            return verdict(False, "add the weighted maps over the channels (dim 1 of 1 x C x h x w): one map remains")
        return verdict(False, f"return one map as large as the layer's maps (h x w), not shape {tuple(answer.shape)}: "
                              "weights = the gradients' mean over dims 2 and 3, then sum weights x maps over dim 1")
    if not _same(answer, expected):
        return verdict(False, _cam_hint(answer, model.eval(), image))
    model, image = cam_case()
    _run(grad_cam, model, model.cam_layer, image, 99)  # no class 99: the pass fails half-way
    return verdict(not _hooks(model.cam_layer), "remove the hooks in a `finally:` block: when the pass fails "
                                                "(try target=99), they stay on the layer")


def frame_case() -> tuple[nn.Module, TensorDataset]:
    """The checker's model and data: a small CNN whose flattened head reads position, 100 images of 20 px.

    A third of the labels are changed at random, so the accuracy without a frame is below 1.
    """
    torch.manual_seed(2)
    model = nn.Sequential(nn.Conv2d(3, 4, kernel_size=3, padding=1), nn.ReLU(), nn.Flatten(), nn.Dropout(0.5),
                          nn.Linear(4 * 20 * 20, 4)).eval()
    generator = torch.Generator().manual_seed(2)
    images = NORMALIZE(torch.rand(100, 3, 20, 20, generator=generator))
    with torch.no_grad():
        predicted = model(images).argmax(dim=1)
    changed = torch.rand(100, generator=generator) < 0.3
    labels = torch.where(changed, torch.randint(0, 4, (100,), generator=generator), predicted)
    return model, TensorDataset(images, labels)


def check_frame_accuracy(frame_accuracy) -> bool:
    """11: does ``frame_accuracy(model, dataset, normalize, fraction)`` score a model with a black frame?

    The reference is the library's ``border_sensitivity``, on the checker's own model and data, for
    frames of 10% and 25% (the model is left in training mode: the function must switch it to eval).
    """
    if missing(frame_accuracy, "`frame_accuracy`"):
        return False
    model, data = frame_case()
    for fraction in (0.10, 0.25):
        expected = border_sensitivity(model, data, NORMALIZE, (0.0, fraction))
        model.train()
        answer, hint = _run(frame_accuracy, model, data, NORMALIZE, fraction)
        if hint is not None:
            return verdict(False, hint)
        if model.training:
            return verdict(False, "put the model in evaluation mode (model.eval()): dropout changes the predictions")
        value = _tensor(answer)
        if value is None or value.numel() != 1:
            return verdict(False, "return one number: the share of images the model gets right")
        value = float(value)
        if abs(value - expected[fraction]) < 1e-6:
            continue
        images, labels = data.tensors
        with torch.no_grad():
            last = blank_border(images[64:], fraction, NORMALIZE)  # the last batch of 64, framed
            last_right = float((model(last).argmax(dim=1) == labels[64:]).float().mean())
        if value > 1:
            hint = "return a share, not a count: divide the number right by the number of images"
        elif abs(value - expected[0.0]) < 1e-6:
            hint = "that is the accuracy without a frame: paint it with blank_border(x, fraction, normalize) first"
        elif abs(value - last_right) < 1e-6:
            hint = "that is the last batch's accuracy: add up the right answers over every batch, then divide"
        else:
            hint = "not the framed accuracy yet: frame every batch, predict with argmax, count the right answers"
        return verdict(False, hint)
    return verdict(True, "")


def check_runner_up(runner_up) -> bool:
    """11: does ``runner_up(model, image)`` give the second most likely class and the library's heatmap for it?

    It runs on the checker's own CNN0 and image (3 x 64 x 64); the heatmap must be ``gradcam``'s (64 x 64).
    """
    if missing(runner_up, "`runner_up`"):
        return False
    model, image = cam_case()
    image = image[0]
    with torch.no_grad():
        order = model(image[None])[0].argsort(descending=True).tolist()  # most likely first
    other = order[1]
    expected = gradcam(model, image[None], other)[0]
    model.train()
    answer, hint = _run(runner_up, model, image)
    if hint is not None:
        return verdict(False, hint)
    try:
        found, heatmap = answer
        found = int(torch.as_tensor(found))
    except (TypeError, ValueError, RuntimeError):
        return verdict(False, "return two things: the class (an int) and its heatmap, as `return other, heatmap`")
    if found != other:
        if found == order[0]:
            hint = "that is the predicted class, the most likely: take the second most likely"
        elif found in order[2:]:
            hint = "argsort sorts from the smallest: the second most likely is second from the end ([-2])"
        else:
            hint = "the class is the index (0 to 3) of the second largest probability"
        return verdict(False, hint)
    heatmap = _tensor(heatmap)
    if heatmap is None:
        return verdict(False, "return the heatmap as a tensor (H x W)")
    if heatmap.dim() > 2 and heatmap.shape[0] == 1:
        return verdict(False, "return one map, H x W: gradcam returns a batch (N x H x W), take its [0]")
    if _same(heatmap, gradcam(model, image[None], order[0])[0]):
        return verdict(False, "that heatmap is the predicted class's: ask gradcam for the runner-up class")
    return verdict(_same(heatmap, expected), "compute the heatmap with the library: gradcam(model, image[None], other)[0]")
