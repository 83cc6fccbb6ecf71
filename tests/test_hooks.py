"""Forward hooks capture the named layers and are always removed."""

import pytest
import torch

from mri_helpers.hooks import capture, conv_filters
from mri_helpers.models import build_model


def _hook_count(model):
    return sum(len(m._forward_hooks) for m in model.modules())


def test_capture_shapes_and_removal():
    model = build_model("cnn2", image_size=64).eval()
    with capture(model, ["conv1", "conv3", "fc1"]) as outputs:
        assert _hook_count(model) == 3
        model(torch.rand(2, 3, 64, 64))
    assert _hook_count(model) == 0
    assert outputs["conv1"].shape == (2, 4, 64, 64)
    assert outputs["conv3"].shape == (2, 16, 16, 16)
    assert outputs["fc1"].shape == (2, 64)
    assert not outputs["conv1"].requires_grad


def test_hooks_are_removed_after_an_exception():
    model = build_model("cnn0", image_size=32)
    with pytest.raises(RuntimeError):
        with capture(model, ["conv1", "conv2"]):
            model(torch.rand(1, 5, 32, 32))  # wrong channel count
    assert _hook_count(model) == 0


def test_unknown_layer_and_filters():
    model = build_model("cnn3", image_size=64)
    with pytest.raises(KeyError, match="No layer named"):
        with capture(model, ["conv9"]):
            pass
    assert _hook_count(model) == 0
    weights = conv_filters(model, "conv1")
    assert weights.shape == (32, 3, 3, 3) and torch.equal(weights, model.conv1.weight.detach())
    with pytest.raises(KeyError, match="not a Conv2d"):
        conv_filters(model, "fc1")
