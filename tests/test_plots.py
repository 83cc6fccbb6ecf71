"""Every figure function returns a Figure with the expected axes and titles."""

import numpy as np
import torch
from matplotlib.collections import LineCollection, PathCollection
from torchvision.transforms import v2

from mri_helpers import plots
from mri_helpers.transforms import unnormalize

CLASSES = ["glioma", "meningioma", "notumor", "pituitary"]
HISTORY = [{"epoch": e, "train_loss": 1 / e, "val_loss": 1.2 / e, "val_accuracy": 0.5 + e / 20} for e in (1, 2, 3)]
NORMALIZE = v2.Normalize([0.2] * 3, [0.2] * 3)


def _titles(fig):
    return [ax.get_title() for ax in fig.axes]


def test_class_distribution_counts_each_class():
    fig = plots.class_distribution([0, 0, 1, 3, 3, 3], CLASSES, "Training images per class")
    ax = fig.axes[0]
    assert ax.get_title() == "Training images per class"
    assert [p.get_height() for p in ax.patches] == [2, 1, 0, 3]
    assert [t.get_text() for t in ax.get_xticklabels()] == CLASSES


def test_grids():
    images = np.random.default_rng(0).integers(0, 255, (8, 3, 16, 16), dtype=np.uint8)
    fig = plots.sample_grid(images, [0, 0, 1, 1, 2, 2, 3, 3], CLASSES, per_class=3)
    assert len(fig.axes) == 12 and fig.axes[0].get_ylabel() == "glioma" and fig.axes[9].get_ylabel() == "pituitary"
    fig = plots.augmented_batch(torch.zeros(10, 3, 16, 16), [1] * 10, CLASSES, NORMALIZE, columns=4)
    assert len(fig.axes) == 12 and _titles(fig)[:2] == ["meningioma", "meningioma"] and fig._suptitle.get_text()


def test_unnormalize_inverts_normalize():
    x = torch.rand(3, 8, 8)
    assert torch.allclose(unnormalize(NORMALIZE(x), NORMALIZE), x, atol=1e-6)
    batch = torch.rand(2, 3, 8, 8)
    normalize = v2.Normalize([0.1, 0.2, 0.3], [0.4, 0.5, 0.6])
    assert torch.allclose(unnormalize(normalize(batch), normalize), batch, atol=1e-6)


def test_dropout_figures():
    fig = plots.dropout_distributions({0.1: np.ones(10), 0.9: np.arange(10.0)}, reference=1.0)
    assert _titles(fig) == ["p = 0.1", "p = 0.9"]
    assert fig.axes[1].lines[0].get_xdata()[0] == 4.5  # the mean is marked
    fig = plots.dropout_images(torch.rand(3, 32, 32), p=0.3, draws=2)
    assert _titles(fig) == ["original", "dropout, p=0.3", "dropout2d, p=0.3 (draw 1)", "dropout2d, p=0.3 (draw 2)"]


def test_history_figures():
    fig = plots.accuracy_curve(HISTORY, "CNN0: validation accuracy")
    assert _titles(fig) == ["CNN0: validation accuracy"]
    assert list(fig.axes[0].lines[0].get_ydata()) == [0.55, 0.6, 0.65]
    fig = plots.loss_curves(HISTORY, "CNN0: loss")
    assert fig.axes[0].get_yscale() == "log" and len(fig.axes[0].lines) == 2
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["training", "validation"]


def test_confusion_matrix_labels():
    fig = plots.confusion_matrix([[5, 1, 0, 0], [0, 4, 0, 0], [0, 0, 6, 0], [1, 0, 0, 3]], CLASSES, "CM")
    ax = fig.axes[0]
    assert ax.get_title() == "CM"
    assert [t.get_text() for t in ax.get_yticklabels()] == CLASSES
    assert ax.get_xlabel() == "Predicted label" and ax.get_ylabel() == "True label"


def test_feature_maps_filters_lr_and_prediction():
    fig = plots.feature_maps(torch.rand(3, 16, 8, 8), "conv2", channels=8, row_labels=["a", "b", "c"])
    assert len(fig.axes) == 24 and "conv2: 16 maps of 8x8" in fig._suptitle.get_text()
    assert [fig.axes[i].get_ylabel() for i in (0, 8, 16)] == ["a", "b", "c"]
    fig = plots.conv_filters(torch.rand(32, 3, 3, 3), "conv1")
    assert len(fig.axes) == 33 and fig._suptitle.get_text().startswith("conv1 filters")  # 32 filters + a colour bar
    assert fig.axes[-1].get_ylabel() == "weight (blue < 0 < red)"
    fig = plots.lr_range([1e-5, 1e-3, 1e-1], [1.4, 1.0, 3.0])
    assert fig.axes[0].get_xscale() == "log" and _titles(fig) == ["Learning-rate range test"]
    fig = plots.prediction(torch.zeros(3, 16, 16), np.array([0.1, 0.6, 0.2, 0.1]), 0, CLASSES, NORMALIZE)
    assert _titles(fig) == ["true: glioma", "predicted: meningioma (wrong)"]


def test_save_figure_is_atomic_png(tmp_path):
    plots.save_figure(plots.lr_range([1e-3, 1e-2], [1, 2]), tmp_path / "figs", "lr.png")
    files = list((tmp_path / "figs").iterdir())
    assert [f.name for f in files] == ["lr.png"]
    assert files[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_image_pairs():
    images = np.zeros((2, 1, 8, 8), np.uint8)
    fig = plots.image_pairs(images, images, ["a: 3 bits", "b: 0 bits"], "Twins")
    assert len(fig.axes) == 4 and fig._suptitle.get_text() == "Twins"
    assert [fig.axes[i].get_title(loc="left") for i in (0, 2)] == ["a: 3 bits", "b: 0 bits"]


def test_gradcam_figures():
    images, heat = torch.zeros(3, 3, 16, 16), torch.rand(3, 16, 16)
    fig = plots.gradcam_grid(images, heat, ["glioma (right)", "glioma (wrong: notumor)", "notumor (right)"],
                             NORMALIZE, columns=2, suptitle="CNN3")
    assert len(fig.axes) == 5 and fig._suptitle.get_text() == "CNN3"  # 4 panels + a colour bar
    assert fig.axes[-1].get_ylabel() == plots.HEAT_LABEL
    assert _titles(fig)[:3] == ["glioma (right)", "glioma (wrong: notumor)", "notumor (right)"]
    assert len(fig.axes[0].images) == 2 and not fig.axes[3].images  # image + heatmap; a spare axis stays empty
    fig = plots.gradcam_view(images[0], heat[0], [0.1, 0.2, 0.6, 0.1], 0, 2, CLASSES, NORMALIZE)
    assert _titles(fig)[:3] == ["true: glioma", "evidence for: notumor", ""]
    assert [p.get_width() for p in fig.axes[2].patches] == [0.1, 0.2, 0.6, 0.1]
    assert fig.axes[3].get_ylabel() == plots.HEAT_LABEL


def test_lr_schedule_and_model_comparison():
    history = [dict(h, lr=lr) for h, lr in zip(HISTORY, (1e-3, 3e-3, 1e-5))]
    fig = plots.lr_schedule(history, "BestNet: one-cycle")
    assert list(fig.axes[0].lines[0].get_ydata()) == [1e-3, 3e-3, 1e-5]
    rows = {"cnn3": {"parameters": 9e6, "train_minutes": 56, "test_accuracy": 0.94, "test_interval": (0.92, 0.96),
                     "twin_free_accuracy": 0.95},
            "bestnet": {"parameters": 1e6, "train_minutes": 12, "test_accuracy": 0.98, "test_interval": (0.97, 0.99),
                        "twin_free_accuracy": None}}
    fig = plots.model_comparison(rows)
    assert [ax.get_xscale() for ax in fig.axes] == ["log", "log"]
    hollow = [c.get_offsets()[0].tolist() for c in fig.axes[0].collections if isinstance(c, PathCollection)]
    assert hollow == [[9e6, 0.95]]  # bestnet has no twin-free point
    markers = [line.get_xydata().tolist()[0] for line in fig.axes[0].lines if line.get_marker() == "o"]
    assert markers == [[9e6, 0.94], [1e6, 0.98]]  # each model's test accuracy
    spans = sorted(tuple(np.round(seg[:, 1], 3)) for c in fig.axes[0].collections if isinstance(c, LineCollection)
                   for seg in c.get_segments())
    assert spans == [(0.92, 0.96), (0.97, 0.99)]  # the 95% intervals as error bars
    assert [t.get_text() for t in fig.axes[1].texts] == ["cnn3", "bestnet"]


def test_shift_gallery_and_shifted_scores():
    from mri_helpers.shifts import SEEN

    image = torch.randint(0, 256, (1, 32, 32), dtype=torch.uint8)
    fig = plots.shift_gallery(image, SEEN)
    assert _titles(fig)[:8] == ["as exported", *SEEN] and len(fig.axes) == 8
    assert fig._suptitle.get_text() == "One scan, exported eight ways"
    fig = plots.shift_gallery(image, {"darker": SEEN["brightness -20"]}, title="Two ways")
    assert _titles(fig)[:2] == ["as exported", "darker"] and fig._suptitle.get_text() == "Two ways"
    scores = {"bestnet": {"none": 0.97, "gamma 0.7": 0.9}, "robust": {"none": 0.96, "gamma 0.7": 0.95}}
    intervals = {"bestnet": {"none": (0.95, 0.98), "gamma 0.7": (0.87, 0.92)},
                 "robust": {"none": (0.94, 0.97), "gamma 0.7": (0.93, 0.96)}}
    fig = plots.shifted_scores(scores, intervals)
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["none", "gamma 0.7"]
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["bestnet", "robust"]


def test_kernel_figures_show_each_kernel_and_its_values():
    image = torch.zeros(8, 8)
    fig = plots.kernel_responses(image, {"vertical edges": torch.ones(8, 8), "horizontal edges": -torch.ones(8, 8)})
    assert [ax.get_title() for ax in fig.axes] == ["input", "vertical edges", "horizontal edges"]
    sobel = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])
    fig = plots.kernel_values({"hidden": sobel, "learned": sobel.view(1, 1, 3, 3) * 0.5})
    assert [ax.get_title() for ax in fig.axes] == ["hidden", "learned"]
    assert [t.get_text() for t in fig.axes[1].texts][:3] == ["-0.50", "0.00", "0.50"]
