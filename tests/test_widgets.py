"""Drive each explorer from Python: set a control, check what is shown changes."""

import numpy as np
import torch
from torchvision.transforms import v2

from mri_helpers.hooks import capture
from mri_helpers.models import build_model
from mri_helpers.widgets import DropoutExplorer, FeatureMapBrowser, GradCamExplorer, PredictionBrowser


def test_dropout_explorer_follows_the_slider():
    explorer = DropoutExplorer(p=0.1, draws=500)
    low = explorer.summary.value
    assert low.startswith("p = 0.10:")
    png = explorer.image.value
    explorer.p.value = 0.9
    high = explorer.summary.value
    assert explorer.image.value != png
    assert high.startswith("p = 0.90:")
    spread = [float(text.rsplit(" ", 1)[1]) for text in (low, high)]
    assert spread[1] > 3 * spread[0]


def test_explorers_show_a_sharp_figure_at_its_natural_size():
    import io

    from PIL import Image

    from mri_helpers.widgets import PIXEL_RATIO

    explorer = DropoutExplorer(p=0.3, draws=200)
    width, _ = Image.open(io.BytesIO(explorer.image.value)).size
    assert PIXEL_RATIO == 2 and explorer.image.layout.width == f"{width // 2}px"
    assert explorer.image.layout.max_width == "100%"  # a wide figure shrinks to fit, never grows
    assert 1.8 * 400 < width < 2.3 * 400  # dropout_distributions is 4 inches wide: 400 px shown, twice that drawn


def test_feature_map_browser_switches_layer_channel_and_image():
    torch.manual_seed(0)
    model = build_model("cnn2", image_size=64)
    images = torch.rand(3, 3, 64, 64)
    with capture(model, ["conv1", "conv4"]) as maps, torch.no_grad():
        model(images)
    browser = FeatureMapBrowser(maps)
    assert browser.summary.value == "conv1, channel 0, image 0: 64x64 map"
    assert browser.channel.max == 3
    browser.layer.value = "conv4"
    assert browser.channel.max == 31
    browser.channel.value = 20
    first_png = browser.image.value
    browser.picked.value = 2
    assert browser.summary.value == "conv4, channel 20, image 2: 8x8 map"
    assert torch.equal(browser.current(), browser.maps["conv4"][2, 20])
    assert browser.image.value[:8] == b"\x89PNG\r\n\x1a\n" and browser.image.value != first_png


def test_prediction_browser_reports_truth_and_verdict():
    probs = np.array([[0.7, 0.1, 0.1, 0.1], [0.2, 0.1, 0.6, 0.1]])
    browser = PredictionBrowser(torch.zeros(2, 3, 16, 16), [0, 1], probs,
                                ["glioma", "meningioma", "notumor", "pituitary"], v2.Normalize([0.5] * 3, [0.5] * 3))
    assert browser.summary.value == "image 0: true <b>glioma</b>, predicted <b>glioma</b> (0.70), right"
    browser.index.value = 1
    assert browser.summary.value == "image 1: true <b>meningioma</b>, predicted <b>notumor</b> (0.60), wrong"


def test_gradcam_explorer_follows_image_and_class():
    torch.manual_seed(0)
    model = build_model("bestnet")
    images = torch.randn(2, 3, 32, 32)
    probs = np.array([[0.1, 0.1, 0.7, 0.1], [0.6, 0.2, 0.1, 0.1]])
    explorer = GradCamExplorer(model, images, [2, 1], probs, ["glioma", "meningioma", "notumor", "pituitary"],
                               v2.Normalize([0.5] * 3, [0.5] * 3))
    assert explorer.target.value == 2  # starts on the predicted class
    assert explorer.summary.value == ("image 0: true <b>notumor</b>, predicted <b>notumor</b>; "
                                      "heatmap for <b>notumor</b> (p = 0.70)")
    png = explorer.image.value
    explorer.target.value = 3
    assert explorer.summary.value.endswith("heatmap for <b>pituitary</b> (p = 0.10)") and explorer.image.value != png
    explorer.index.value = 1
    assert explorer.summary.value.startswith("image 1: true <b>meningioma</b>, predicted <b>glioma</b>")
