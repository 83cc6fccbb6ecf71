"""Interactive explorers for JupyterLab, built with ipywidgets.

Each explorer is a small class: its ``widget`` goes on screen, its controls are
attributes, a one-line ``summary`` (an ``HTML`` widget) states what is shown, and the
figure is rendered to PNG bytes in an ``Image`` widget. So a test can set a control and
read back the change without a browser, and headless runs (papermill, nbval) never
route large figures through an ``Output`` widget. On GitHub, where
widgets do not render, every notebook shows a static figure beside each explorer.
"""

from __future__ import annotations

import io

import ipywidgets as w
import matplotlib.pyplot as plt
import numpy as np
import torch
from PIL import Image

from . import plots
from .dropout import dropout_sums
from .gradcam import gradcam

# Figures are shown at 100 screen pixels per inch of figure, rendered at twice that: sharp on a
# high-density screen, and never stretched to the notebook's width (which blurs them and can push
# the controls out of view).
PIXEL_RATIO = 2
SHOWN_DPI = 100


class _Explorer:
    """Shared plumbing: controls, a summary line and a figure redrawn on every change."""

    def __init__(self, controls: list[w.Widget]):
        self.summary = w.HTML()
        self.image = w.Image(format="png")
        for control in controls:
            control.observe(lambda _: self.update(), names="value")
        self.widget = w.VBox([w.HBox(controls), self.summary, self.image])
        self.update()

    def update(self) -> None:
        summary, fig = self.draw()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", bbox_inches="tight", dpi=SHOWN_DPI * PIXEL_RATIO)
        plt.close(fig)
        width = Image.open(buffer).size[0]
        self.image.layout = w.Layout(width=f"{width // PIXEL_RATIO}px", max_width="100%")
        self.summary.value, self.image.value = summary, buffer.getvalue()

    def draw(self):  # pragma: no cover - each explorer defines it
        """Return ``(summary text, matplotlib Figure)`` for the current control values."""
        raise NotImplementedError

    def _ipython_display_(self):
        from IPython.display import display

        display(self.widget)


class DropoutExplorer(_Explorer):
    """A slider for dropout's p and the distribution of summed outputs it gives."""

    def __init__(self, p: float = 0.3, draws: int = 1000):
        self.draws = draws
        self.p = w.FloatSlider(value=p, min=0.05, max=0.95, step=0.05, description="p")
        super().__init__([self.p])

    def draw(self):
        sums, reference = dropout_sums(self.p.value, draws=self.draws)
        fig = plots.dropout_distributions({round(self.p.value, 2): sums}, reference)
        return f"p = {self.p.value:.2f}: mean {sums.mean():.2f}, standard deviation {sums.std():.2f}", fig


class FeatureMapBrowser(_Explorer):
    """Pick a layer, a channel and an image; see that feature map."""

    def __init__(self, maps: dict[str, torch.Tensor]):
        """``maps`` holds ``images x channels x H x W`` outputs by layer, as captured by ``hooks.capture``."""
        self.maps = dict(maps)
        layers = list(self.maps)
        self.layer = w.Dropdown(options=layers, description="layer")
        self.channel = w.IntSlider(value=0, min=0, max=self.maps[layers[0]].shape[1] - 1, description="channel")
        self.picked = w.IntSlider(value=0, min=0, max=len(self.maps[layers[0]]) - 1, description="image")
        self.layer.observe(self._fit_channel_range, names="value")
        super().__init__([self.layer, self.channel, self.picked])

    def _fit_channel_range(self, _=None) -> None:
        self.channel.max = self.maps[self.layer.value].shape[1] - 1

    def current(self) -> torch.Tensor:
        return self.maps[self.layer.value][self.picked.value, self.channel.value]

    def draw(self):
        fmap = self.current()
        fig, ax = plt.subplots(figsize=(4, 4))
        ax.imshow(fmap.numpy(), cmap="viridis")
        ax.axis("off")
        h, wd = fmap.shape
        return f"{self.layer.value}, channel {self.channel.value}, image {self.picked.value}: {h}x{wd} map", fig


class PredictionBrowser(_Explorer):
    """Step through test images: the image, its true label and the predicted probabilities."""

    def __init__(self, images: torch.Tensor, labels, probs: np.ndarray, classes: list[str], normalize):
        self.images, self.labels, self.probs, self.classes = images, np.asarray(labels), probs, classes
        self.normalize = normalize
        self.index = w.IntSlider(value=0, min=0, max=len(images) - 1, description="image")
        super().__init__([self.index])

    def draw(self):
        i = self.index.value
        probs, true = self.probs[i], int(self.labels[i])
        predicted = int(probs.argmax())
        fig = plots.prediction(self.images[i], probs, true, self.classes, self.normalize)
        verdict = "right" if predicted == true else "wrong"
        summary = (
            f"image {i}: true <b>{self.classes[true]}</b>, predicted <b>{self.classes[predicted]}</b> "
            f"({probs[predicted]:.2f}), {verdict}"
        )
        return summary, fig


class GradCamExplorer(_Explorer):
    """Pick a test image and a class; see where the model found evidence for that class."""

    def __init__(self, model, images: torch.Tensor, labels, probs: np.ndarray, classes: list[str], normalize):
        self.model, self.images, self.labels, self.probs = model, images, np.asarray(labels), probs
        self.classes, self.normalize = classes, normalize
        self.index = w.IntSlider(value=0, min=0, max=len(images) - 1, description="image")
        self.target = w.Dropdown(options=[(c, i) for i, c in enumerate(classes)], value=int(probs[0].argmax()),
                                 description="class")
        super().__init__([self.index, self.target])

    def draw(self):
        i, target = self.index.value, self.target.value
        heat = gradcam(self.model, self.images[i : i + 1], target)[0]
        probs, true = self.probs[i], int(self.labels[i])
        fig = plots.gradcam_view(self.images[i], heat, probs, true, target, self.classes, self.normalize)
        summary = (
            f"image {i}: true <b>{self.classes[true]}</b>, predicted <b>{self.classes[int(probs.argmax())]}</b>; "
            f"heatmap for <b>{self.classes[target]}</b> (p = {probs[target]:.2f})"
        )
        return summary, fig
