"""The course's models: CNN0-CNN3 from the original project, and the course-best BestNet.

CNN0-CNN3 are built by one configurable class. Every block is a 3x3 convolution (padding 1, stride 1), a ReLU and a 2x2 max-pool with
stride 2, so each block keeps the channels it is given and halves the height and width.
After the last block the feature maps are flattened and go through two linear layers.
The four models differ only in the numbers below, which is the lesson: width (more
filters), depth (an extra block) and capacity (a wide head) are separate levers.

:class:`BestNet` is this course's own design (notebook 09): batch normalisation after
every convolution and global average pooling instead of a flattened head.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode


@dataclass(frozen=True)
class ModelSpec:
    channels: tuple[int, ...]  # output channels of conv1..convN
    hidden: int  # width of fc1
    dropout: float  # p of every dropout layer
    dropout_hidden: bool  # also drop between fc1 and fc2 (not only before fc1)


SPECS = {
    "cnn0": ModelSpec((4, 4, 4, 4), 32, 0.3, True),
    "cnn1": ModelSpec((4, 8, 16, 16), 64, 0.3, True),
    "cnn2": ModelSpec((4, 8, 16, 32, 32), 64, 0.3, False),
    "cnn3": ModelSpec((32, 64, 128, 256, 256), 512, 0.5, True),
}


class SmallCNN(nn.Module):
    """``conv1..convN`` blocks, then dropout, ``fc1``, ReLU, (dropout), ``fc2``."""

    def __init__(self, spec: ModelSpec, num_classes: int = 4, image_size: int = 256, in_channels: int = 3):
        super().__init__()
        self.spec = spec
        blocks = len(spec.channels)
        if image_size <= 0 or image_size % 2**blocks:
            raise ValueError(
                f"image_size must be a positive multiple of {2**blocks} for {blocks} pooling "
                f"blocks, got {image_size}: try 256."
            )
        for i, (cin, cout) in enumerate(zip((in_channels, *spec.channels), spec.channels), start=1):
            self.add_module(f"conv{i}", nn.Conv2d(cin, cout, kernel_size=3, stride=1, padding=1))
            self.add_module(f"relu{i}", nn.ReLU())  # a module, not F.relu, so Grad-CAM can read its output
        self.pool = nn.MaxPool2d(kernel_size=2, stride=2)
        self.flatten = nn.Flatten()
        side = image_size // 2**blocks
        self.drop_features = nn.Dropout(spec.dropout)
        self.fc1 = nn.Linear(spec.channels[-1] * side * side, spec.hidden)
        self.relu_fc1 = nn.ReLU()
        self.drop_hidden = nn.Dropout(spec.dropout) if spec.dropout_hidden else nn.Identity()
        self.fc2 = nn.Linear(spec.hidden, num_classes)

    @property
    def convs(self) -> list[nn.Conv2d]:
        return [getattr(self, f"conv{i}") for i in range(1, len(self.spec.channels) + 1)]

    @property
    def cam_layer(self) -> nn.Module:
        """The layer whose feature maps Grad-CAM weighs: the last convolution's ReLU."""
        return getattr(self, f"relu{len(self.spec.channels)}")

    def features(self, x: torch.Tensor) -> torch.Tensor:
        for i, conv in enumerate(self.convs, start=1):
            x = self.pool(getattr(self, f"relu{i}")(conv(x)))
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.drop_features(self.flatten(self.features(x)))
        x = self.drop_hidden(self.relu_fc1(self.fc1(x)))
        return self.fc2(x)


class Standardize(nn.Module):
    """Scale each image to zero mean and unit standard deviation over its whole frame.

    Per-image intensity normalisation, as MONAI's ``NormalizeIntensity`` does. Whatever
    brightness and contrast an export gave a scan, the network sees the same numbers, so
    a global linear change of the grey levels cannot move its prediction. (A gamma curve
    is not linear: intensity augmentation in training covers that.) It sits inside the
    model so that every caller, from the trainer to Grad-CAM, applies it.
    """

    def __init__(self, eps: float = 1e-5):
        super().__init__()
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean = x.mean(dim=(1, 2, 3), keepdim=True)
        return (x - mean) / (x.std(dim=(1, 2, 3), keepdim=True) + self.eps)


class BestNet(nn.Module):
    """The course-best model: small, batch-normalised, globally pooled.

    ``stages`` are groups of (3x3 convolution, batch norm, ReLU) at one resolution,
    separated by 2x2 max-pools. Batch norm keeps every layer's inputs on a stable scale,
    so a high learning rate trains quickly. Global average pooling then averages each of
    the last stage's maps to one number, so the head is a single small linear layer
    whatever the image size: CNN3 spends 8.4 M of its 9.4 M parameters on ``fc1``
    because it flattens a 256 x 8 x 8 block.
    """

    def __init__(self, widths=(16, 32, 64, 128, 256), repeats=(1, 1, 2, 2, 2), num_classes: int = 4,
                 dropout: float = 0.2, in_channels: int = 3, batch_norm: bool = True, standardize: bool = False):
        super().__init__()
        # Only a model that standardises has the layer, so the plain BestNet's structure (and runs) stay as they were.
        self.standardize = Standardize() if standardize else None
        stages, cin = [], in_channels
        for width, repeat in zip(widths, repeats):
            layers = []
            for _ in range(repeat):
                norm = [nn.BatchNorm2d(width)] if batch_norm else []  # off only for the ablation in notebook 09
                layers += [nn.Conv2d(cin, width, 3, padding=1, bias=not batch_norm), *norm, nn.ReLU(inplace=True)]
                cin = width
            stages.append(nn.Sequential(*layers))
        self.stages = nn.ModuleList(stages)
        self.pool = nn.MaxPool2d(kernel_size=2, stride=2)
        self.gap = nn.AdaptiveAvgPool2d(1)  # global average pooling: one number per map
        self.flatten = nn.Flatten()
        self.drop = nn.Dropout(dropout)
        self.fc = nn.Linear(cin, num_classes)

    @property
    def convs(self) -> list[nn.Conv2d]:
        return [m for m in self.modules() if isinstance(m, nn.Conv2d)]

    @property
    def cam_layer(self) -> nn.Module:
        """The layer whose feature maps Grad-CAM weighs: the last stage, after its ReLU."""
        return self.stages[-1]

    def features(self, x: torch.Tensor) -> torch.Tensor:
        if self.standardize is not None:
            x = self.standardize(x)
        for i, stage in enumerate(self.stages):
            x = stage(x if i == 0 else self.pool(x))
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.drop(self.flatten(self.gap(self.features(x)))))


MODELS = (*SPECS, "bestnet")


def build_model(name: str, num_classes: int = 4, image_size: int = 256, **options) -> nn.Module:
    """Build ``'cnn0'``..``'cnn3'`` or ``'bestnet'`` for ``image_size`` x ``image_size`` RGB inputs.

    BestNet's global pooling accepts any size; ``image_size`` only shapes CNN0-CNN3's ``fc1``.
    ``options`` go to BestNet (``batch_norm=False`` for the ablation, ``standardize=True``
    for the robust variant); a run stores them,
    so its checkpoint rebuilds the same architecture.
    """
    if name == "bestnet":
        return BestNet(num_classes=num_classes, **options)
    if options:
        raise ValueError(f"'{name}' takes no options, got {sorted(options)}.")
    if name not in SPECS:
        raise ValueError(f"Unknown model '{name}': choose one of {', '.join(MODELS)}.")
    return SmallCNN(SPECS[name], num_classes=num_classes, image_size=image_size)


def layer_parameters(model: nn.Module) -> dict[str, int]:
    """Parameter count of every layer that has parameters, by layer name."""
    counts = {}
    for name, module in model.named_modules():
        own = sum(p.numel() for p in module.parameters(recurse=False))
        if own:
            counts[name] = own
    return counts


@torch.no_grad()
def macs(model: nn.Module, image_size: int) -> int:
    """Multiply-accumulates of one forward pass on one image, counted by torch's FlopCounterMode.

    Only convolutions and linear layers count (torch counts 2 FLOPs per
    multiply-accumulate); pooling, ReLU and batch norm are cheap beside them. The model
    is left in evaluation mode.
    """
    model.eval()
    with FlopCounterMode(display=False) as counter:
        model(torch.zeros(1, model.convs[0].in_channels, image_size, image_size))
    return counter.get_total_flops() // 2


FOLDED = (nn.ReLU, nn.BatchNorm2d, nn.Dropout, nn.Identity)  # shown on the row of the layer they follow


@torch.no_grad()
def shape_table(model: nn.Module, image_size: int = 256) -> list[tuple[str, tuple[int, ...], int]]:
    """Rows ``(layer, output shape, parameters)``, traced with forward hooks on a dummy image.

    Every leaf module gets a hook that records its output shape as the zero image flows
    through, so the table works for any model and can never disagree with it. A ReLU,
    batch norm or dropout is folded into the row of the layer before it. A module that
    runs several times (the shared pool) gets a row per call, numbered (``pool1``,
    ``pool2``, ...), and its parameters count once.
    """
    rows: list[list] = [["input", (model.convs[0].in_channels, image_size, image_size), 0]]
    counted: set[int] = set()
    calls: dict[str, int] = {}

    def record(name, shared):
        def hook(module, inputs, output):
            shape = tuple(output.shape[1:])
            params = 0 if id(module) in counted else sum(p.numel() for p in module.parameters())
            counted.add(id(module))
            if isinstance(module, FOLDED) and len(rows) > 1:
                if not isinstance(module, nn.Identity):
                    rows[-1][0] += f" + {type(module).__name__}"
                rows[-1][2] += params
            else:
                calls[name] = calls.get(name, 0) + 1
                rows.append([f"{name}{calls[name]}" if shared else name, shape, params])

        return hook

    leaves = [(name, m) for name, m in model.named_modules() if name and not list(m.children())]
    shared = _called_more_than_once(model, rows[0][1], [m for _, m in leaves])
    handles = [m.register_forward_hook(record(name, id(m) in shared)) for name, m in leaves]
    try:
        model.eval()(torch.zeros(1, *rows[0][1]))
    finally:
        for handle in handles:
            handle.remove()
    return [(name, shape, n) for name, shape, n in rows]


@torch.no_grad()
def _called_more_than_once(model: nn.Module, input_shape: tuple, modules: list[nn.Module]) -> set[int]:
    """ids of the modules that one forward pass calls more than once."""
    seen: dict[int, int] = {}
    handles = [m.register_forward_hook(lambda m, i, o: seen.__setitem__(id(m), seen.get(id(m), 0) + 1))
               for m in modules]
    try:
        model.eval()(torch.zeros(1, *input_shape))
    finally:
        for handle in handles:
            handle.remove()
    return {key for key, count in seen.items() if count > 1}


def format_shape_table(rows) -> str:
    """The shape table as aligned text, with a total row, for printing in a notebook."""
    width = max(14, *(len(step) + 2 for step, *_ in rows))
    lines = [f"{'layer':<{width}}{'output shape':>18}{'parameters':>14}"]
    for step, shape, n in rows:
        lines.append(f"{step:<{width}}{' x '.join(map(str, shape)):>18}{n:>14,}")
    lines.append(f"{'total':<{width}}{'':>18}{sum(n for *_, n in rows):>14,}")
    return "\n".join(lines)
