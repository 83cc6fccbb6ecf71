"""Grad-CAM: heatmaps have the image's size and point at the evidence for the asked class; the border test."""

import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset
from torchvision.transforms import v2

from mri_helpers.gradcam import blank_border, border_sensitivity, colour_sensitivity, examples, gradcam, to_grey
from mri_helpers.models import build_model


class TwoSpots(nn.Module):
    """Class 0's score is the mean of channel 0, class 1's the mean of channel 1.

    An identity 1x1 convolution is the layer Grad-CAM reads, so the right heatmap for
    class c is exactly where channel c is bright.
    """

    def __init__(self):
        super().__init__()
        self.cam_layer = nn.Conv2d(2, 2, kernel_size=1, bias=False)
        with torch.no_grad():
            self.cam_layer.weight.copy_(torch.eye(2).view(2, 2, 1, 1))

    def forward(self, x):
        return self.cam_layer(x).mean(dim=(2, 3))


def test_heatmap_follows_the_target_class():
    x = torch.zeros(1, 2, 32, 32)
    x[0, 0, 2:8, 2:8] = 1.0  # evidence for class 0: top left
    x[0, 1, 20:30, 22:30] = 1.0  # evidence for class 1: bottom right
    model = TwoSpots()
    for target, (rows, cols) in {0: (slice(2, 8), slice(2, 8)), 1: (slice(20, 30), slice(22, 30))}.items():
        heat = gradcam(model, x, target)[0]
        assert heat.shape == (32, 32) and heat.max() == 1.0
        inside = torch.zeros(32, 32, dtype=torch.bool)
        inside[rows, cols] = True
        assert heat[inside].min() == 1.0 and heat[~inside].max() == 0.0


def test_heatmaps_have_the_input_size_for_the_course_models():
    torch.manual_seed(0)
    for name, size in (("cnn3", 64), ("bestnet", 64)):
        model = build_model(name, image_size=size)
        x = torch.randn(3, 3, size, size)
        heat = gradcam(model, x, torch.tensor([0, 1, 2]))
        assert heat.shape == (3, size, size)
        assert heat.min() >= 0 and heat.max() <= 1
        assert not model.training  # Grad-CAM explains the model as it predicts: dropout off


def test_examples_pick_the_first_right_and_wrong_per_class():
    assert examples([0, 0, 1, 1, 2], [0, 1, 1, 1, 2], ["a", "b", "c"]) == [
        (0, "a (right)"), (1, "a (wrong: b)"), (2, "b (right)"), (4, "c (right)")]


NORMALIZE = v2.Normalize([0.25, 0.25, 0.25], [0.5, 0.5, 0.5])  # black becomes -0.5


def test_blank_border_paints_only_the_frame():
    x = torch.ones(2, 3, 20, 20)
    out = blank_border(x, 0.1, NORMALIZE)  # a 2-pixel frame
    assert torch.equal(x, torch.ones(2, 3, 20, 20))  # the input is untouched
    assert (out[..., 2:18, 2:18] == 1).all()
    frame = torch.ones(20, 20, dtype=torch.bool)
    frame[2:18, 2:18] = False
    assert (out[..., frame] == -0.5).all()
    assert torch.equal(blank_border(x, 0.0, NORMALIZE), x)


class Reader(nn.Module):
    """Predicts class 1 when the mean of the pixels in ``region`` is positive, else class 0.

    The mean is a fixed linear read-out: a weight of ``1 / (3 * region size)`` on every
    pixel of ``region`` in each channel.
    """

    def __init__(self, region):
        super().__init__()
        weight = region.float().expand(3, -1, -1) / (3 * region.sum())
        self.weight = nn.Parameter(weight.clone(), requires_grad=False)

    def forward(self, x):
        score = (x * self.weight).sum(dim=(1, 2, 3))
        return torch.stack([torch.zeros_like(score), score], dim=1)


def test_border_sensitivity_separates_border_readers_from_centre_readers():
    images, labels = torch.ones(10, 3, 20, 20), torch.ones(10, dtype=torch.long)
    border = torch.zeros(20, 20, dtype=torch.bool)
    border[0, :] = True  # the top row
    centre = ~border
    centre[:4], centre[-4:], centre[:, :4], centre[:, -4:] = False, False, False, False
    data = TensorDataset(images, labels)
    reads_border, reads_centre = Reader(border), Reader(centre)
    assert border_sensitivity(reads_border, data, NORMALIZE, (0.0, 0.1)) == {0.0: 1.0, 0.1: 0.0}
    assert border_sensitivity(reads_centre, data, NORMALIZE, (0.0, 0.1, 0.2), batch_size=3) == {0.0: 1.0, 0.1: 1.0, 0.2: 1.0}


def test_to_grey_removes_colour_and_keeps_grey():
    pixels = torch.rand(2, 3, 8, 8)
    pixels[1] = pixels[1, :1]  # image 1 is grey already
    mean, std = torch.tensor([0.2, 0.3, 0.4]).view(1, 3, 1, 1), torch.tensor([0.5, 0.6, 0.7]).view(1, 3, 1, 1)
    normalize = v2.Normalize(mean.flatten().tolist(), std.flatten().tolist())
    grey = to_grey(normalize(pixels), normalize) * std + mean  # back to pixels
    assert torch.allclose(grey[:, 0], grey[:, 1], atol=1e-6) and torch.allclose(grey[:, 0], grey[:, 2], atol=1e-6)
    assert torch.allclose(grey[0, 0], pixels[0].mean(dim=0), atol=1e-6)
    assert torch.allclose(grey[1], pixels[1], atol=1e-6)


class RedderThanGreen(nn.Module):
    """Predicts class 1 when the first channel is brighter than the second on average: a colour reader.

    A 1x1 convolution weighs the channels +1, -1 and 0; the map is then averaged.
    """

    def __init__(self):
        super().__init__()
        self.mix = nn.Conv2d(3, 1, kernel_size=1, bias=False)
        with torch.no_grad():
            self.mix.weight.copy_(torch.tensor([1.0, -1.0, 0.0]).view(1, 3, 1, 1))

    def forward(self, x):
        score = self.mix(x).mean(dim=(1, 2, 3))
        return torch.stack([torch.zeros_like(score), score], dim=1)


def test_colour_sensitivity_counts_changed_predictions():
    pixels = torch.full((5, 3, 8, 8), 0.5)
    pixels[:3, 0] += 0.2  # three red-tinted images
    data = TensorDataset(NORMALIZE(pixels), torch.zeros(5, dtype=torch.long))
    assert colour_sensitivity(RedderThanGreen(), data, NORMALIZE, batch_size=2) == 3
    assert colour_sensitivity(Reader(torch.ones(8, 8, dtype=torch.bool)), data, NORMALIZE) == 0  # brightness only


def test_sensitivities_run_a_course_model_on_a_dataset(small_root):
    """The notebook's call: a course model (not a trainer) and the test half of the data."""
    from mri_helpers.datasets import load_datasets

    data = load_datasets(small_root, image_size=32)
    torch.manual_seed(0)
    model = build_model("cnn0", image_size=32)
    scores = border_sensitivity(model, data.test, data.normalize, (0.0, 0.25), batch_size=5)
    predictions = model.eval()(torch.stack([data.test[i][0] for i in range(len(data.test))])).argmax(dim=1)
    assert scores[0.0] == pytest.approx(float((predictions == torch.as_tensor(data.test.labels)).double().mean()))
    assert set(scores) == {0.0, 0.25} and all(0 <= v <= 1 for v in scores.values())
    assert colour_sensitivity(model, data.test, data.normalize) == 0  # the phantoms are grey already


def test_sensitivities_accept_a_model_without_parameters():
    class BrightIsOne(nn.Module):
        def forward(self, x):
            score = x.mean(dim=(1, 2, 3))
            return torch.stack([torch.zeros_like(score), score], dim=1)

    data = TensorDataset(torch.ones(4, 3, 20, 20), torch.ones(4, dtype=torch.long))
    assert border_sensitivity(BrightIsOne(), data, NORMALIZE, (0.0,)) == {0.0: 1.0}
