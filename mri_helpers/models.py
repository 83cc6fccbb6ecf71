"""The course's models: CNN0-CNN3 from the original project, and BestNet, this course's own.

Each is written the way notebook 03 writes CNN0: ``__init__`` names the layers, ``forward``
says the order the data flows through them, and the comments give each output's shape for
a 256-px scan (batch size N). A block is a 3x3 convolution (padding 1, so the size is
kept), a ReLU and a 2x2 max-pool (which halves height and width). CNN0-CNN3 differ only in
width (more filters, CNN1), depth (a fifth block, CNN2) and capacity (a wide head, CNN3),
which is the lesson of notebooks 03-07.

:class:`BestNet` is the course's own design (notebook 10): batch normalisation after every
convolution and global average pooling instead of a flattened head.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode


def pooled_side(image_size: int, pools: int) -> int:
    """The side of the maps after ``pools`` 2x2 max-pools: each halves it (256 -> 16 after four).

    A size that does not halve evenly that often gets a one-line error instead of a shape
    mismatch deep inside ``fc1``.
    """
    if image_size <= 0 or image_size % 2**pools:
        raise ValueError(f"image_size must be a positive multiple of {2**pools} for {pools} pooling blocks, "
                         f"got {image_size}: try 256.")
    return image_size // 2**pools  # the side of the last block's maps


class CNN0(nn.Module):
    """Four blocks of 4 filters, then dropout, fc1 (32 units), ReLU, dropout, fc2: the baseline."""

    widths = (4, 4, 4, 4)  # filters of conv1..conv4
    hidden = 32  # units of fc1
    p = 0.3  # dropout probability, before and after fc1

    def __init__(self, num_classes: int = 4, image_size: int = 256):
        super().__init__()
        side = pooled_side(image_size, 4)  # four pools: 256 -> 16
        c1, c2, c3, c4 = self.widths
        self.conv1 = nn.Conv2d(3, c1, kernel_size=3, padding=1)
        self.relu1 = nn.ReLU()  # a layer of its own, not torch.relu, so hooks and Grad-CAM can read it
        self.conv2 = nn.Conv2d(c1, c2, kernel_size=3, padding=1)
        self.relu2 = nn.ReLU()
        self.conv3 = nn.Conv2d(c2, c3, kernel_size=3, padding=1)
        self.relu3 = nn.ReLU()
        self.conv4 = nn.Conv2d(c3, c4, kernel_size=3, padding=1)
        self.relu4 = nn.ReLU()
        self.pool = nn.MaxPool2d(kernel_size=2, stride=2)  # no weights, so one pool serves every block
        self.flatten = nn.Flatten()
        self.drop_features = nn.Dropout(self.p)
        self.fc1 = nn.Linear(c4 * side * side, self.hidden)
        self.relu_fc1 = nn.ReLU()
        self.drop_hidden = nn.Dropout(self.p)
        self.fc2 = nn.Linear(self.hidden, num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:  # CNN0: N x 3 x 256 x 256
        x = self.pool(self.relu1(self.conv1(x)))  # N x 4 x 128 x 128
        x = self.pool(self.relu2(self.conv2(x)))  # N x 4 x 64 x 64
        x = self.pool(self.relu3(self.conv3(x)))  # N x 4 x 32 x 32
        return self.pool(self.relu4(self.conv4(x)))  # N x 4 x 16 x 16

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.drop_features(self.flatten(self.features(x)))  # N x 1,024
        x = self.drop_hidden(self.relu_fc1(self.fc1(x)))  # N x 32
        return self.fc2(x)  # N x 4 class scores

    @property
    def convs(self) -> list[nn.Conv2d]:
        return [self.conv1, self.conv2, self.conv3, self.conv4]

    @property
    def cam_layer(self) -> nn.Module:
        """The layer whose maps Grad-CAM weighs: the last convolution's ReLU."""
        return self.relu4


class CNN1(CNN0):
    """CNN0, wider: 4, 8, 16 and 16 filters, and 64 units in fc1."""

    widths = (4, 8, 16, 16)
    hidden = 64


class CNN2(nn.Module):
    """CNN1 one block deeper: five blocks (4, 8, 16, 32, 32 filters); dropout before fc1 only."""

    widths = (4, 8, 16, 32, 32)  # filters of conv1..conv5
    hidden = 64  # units of fc1
    p = 0.3  # dropout probability
    drop_between = False  # CNN3 also drops between fc1 and fc2

    def __init__(self, num_classes: int = 4, image_size: int = 256):
        super().__init__()
        side = pooled_side(image_size, 5)  # five pools: 256 -> 8
        c1, c2, c3, c4, c5 = self.widths
        self.conv1 = nn.Conv2d(3, c1, kernel_size=3, padding=1)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(c1, c2, kernel_size=3, padding=1)
        self.relu2 = nn.ReLU()
        self.conv3 = nn.Conv2d(c2, c3, kernel_size=3, padding=1)
        self.relu3 = nn.ReLU()
        self.conv4 = nn.Conv2d(c3, c4, kernel_size=3, padding=1)
        self.relu4 = nn.ReLU()
        self.conv5 = nn.Conv2d(c4, c5, kernel_size=3, padding=1)
        self.relu5 = nn.ReLU()
        self.pool = nn.MaxPool2d(kernel_size=2, stride=2)
        self.flatten = nn.Flatten()
        self.drop_features = nn.Dropout(self.p)
        self.fc1 = nn.Linear(c5 * side * side, self.hidden)
        self.relu_fc1 = nn.ReLU()
        self.drop_hidden = nn.Dropout(self.p) if self.drop_between else nn.Identity()
        self.fc2 = nn.Linear(self.hidden, num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:  # CNN2: N x 3 x 256 x 256
        x = self.pool(self.relu1(self.conv1(x)))  # N x 4 x 128 x 128
        x = self.pool(self.relu2(self.conv2(x)))  # N x 8 x 64 x 64
        x = self.pool(self.relu3(self.conv3(x)))  # N x 16 x 32 x 32
        x = self.pool(self.relu4(self.conv4(x)))  # N x 32 x 16 x 16
        return self.pool(self.relu5(self.conv5(x)))  # N x 32 x 8 x 8

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.drop_features(self.flatten(self.features(x)))  # N x 2,048
        x = self.drop_hidden(self.relu_fc1(self.fc1(x)))  # N x 64
        return self.fc2(x)  # N x 4 class scores

    @property
    def convs(self) -> list[nn.Conv2d]:
        return [self.conv1, self.conv2, self.conv3, self.conv4, self.conv5]

    @property
    def cam_layer(self) -> nn.Module:
        """The layer whose maps Grad-CAM weighs: the last convolution's ReLU."""
        return self.relu5


class CNN3(CNN2):
    """CNN2, wide: 32 to 256 filters, 512 units in fc1, dropout 0.5 before and after it."""

    widths = (32, 64, 128, 256, 256)
    hidden = 512
    p = 0.5
    drop_between = True


class Standardize(nn.Module):
    """Scale each image to zero mean and unit standard deviation over its whole frame.

    Per-image intensity normalisation, as MONAI's ``NormalizeIntensity`` does: whatever
    brightness and contrast an export gave a scan, the network sees the same numbers, so a
    linear change of the grey levels cannot move a prediction (a gamma curve is not linear:
    intensity augmentation covers that). It sits inside the model so that every caller,
    from the trainer to Grad-CAM, applies it.
    """

    def __init__(self, eps: float = 1e-5):
        super().__init__()
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean = x.mean(dim=(1, 2, 3), keepdim=True)
        return (x - mean) / (x.std(dim=(1, 2, 3), keepdim=True) + self.eps)

    def extra_repr(self) -> str:
        return f"eps={self.eps}"


def stage(cin: int, width: int, repeat: int, batch_norm: bool = True) -> nn.Sequential:
    """``repeat`` times a 3x3 convolution, batch norm and ReLU, all at ``width`` channels.

    Batch norm's own shift makes a convolution's bias redundant, so the convolutions drop it;
    without batch norm (the ablation of notebook 10) they keep it.
    """
    layers = []
    for _ in range(repeat):
        layers.append(nn.Conv2d(cin, width, kernel_size=3, padding=1, bias=not batch_norm))
        if batch_norm:
            layers.append(nn.BatchNorm2d(width))
        layers.append(nn.ReLU(inplace=True))
        cin = width
    return nn.Sequential(*layers)


class BestNet(nn.Module):
    """The course-best model: small, batch-normalised, globally pooled.

    Five stages (:func:`stage`) of 16 to 256 channels, with a 2x2 max-pool between them.
    Batch norm keeps every layer's input on a stable scale, so a high learning rate trains
    quickly. Global average pooling then averages each of the last stage's maps to one
    number, so the head is one small linear layer whatever the image size, where CNN3
    flattens a 256 x 8 x 8 block into an 8.4-million-weight fc1.
    """

    def __init__(self, widths=(16, 32, 64, 128, 256), repeats=(1, 1, 2, 2, 2), num_classes: int = 4,
                 dropout: float = 0.2, in_channels: int = 3, batch_norm: bool = True, standardize: bool = False):
        super().__init__()
        self.standardize = Standardize() if standardize else None  # the robust variants' first layer (notebook 13)
        stages, cin = [], in_channels
        for width, repeat in zip(widths, repeats):
            stages.append(stage(cin, width, repeat, batch_norm))
            cin = width
        self.stages = nn.ModuleList(stages)
        self.pool = nn.MaxPool2d(kernel_size=2, stride=2)
        self.gap = nn.AdaptiveAvgPool2d(1)  # global average pooling: one number per map
        self.flatten = nn.Flatten()
        self.drop = nn.Dropout(dropout)
        self.fc = nn.Linear(cin, num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:  # N x 3 x 128 x 128
        if self.standardize is not None:
            x = self.standardize(x)
        x = self.stages[0](x)  # N x 16 x 128 x 128
        for later in self.stages[1:]:
            x = later(self.pool(x))  # 32 x 64 x 64, 64 x 32 x 32, 128 x 16 x 16, 256 x 8 x 8
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.flatten(self.gap(self.features(x)))  # N x 256
        return self.fc(self.drop(x))  # N x 4 class scores

    @property
    def convs(self) -> list[nn.Conv2d]:
        return [m for m in self.modules() if isinstance(m, nn.Conv2d)]

    @property
    def cam_layer(self) -> nn.Module:
        """The layer whose maps Grad-CAM weighs: the last stage, after its ReLU."""
        return self.stages[-1]


CLASSES = {"cnn0": CNN0, "cnn1": CNN1, "cnn2": CNN2, "cnn3": CNN3, "bestnet": BestNet}
MODELS = tuple(CLASSES)


def build_model(name: str, num_classes: int = 4, image_size: int = 256, **options) -> nn.Module:
    """Build ``'cnn0'``..``'cnn3'`` or ``'bestnet'`` for ``image_size`` x ``image_size`` RGB scans.

    BestNet's global pooling takes any size, so ``image_size`` only shapes CNN0-CNN3's fc1.
    ``options`` go to BestNet (``batch_norm=False`` for the ablation, ``standardize=True`` for
    the robust variants); a run stores them, so its checkpoint rebuilds the same model.
    """
    if name not in CLASSES:
        raise ValueError(f"Unknown model '{name}': choose one of {', '.join(MODELS)}.")
    if name == "bestnet":
        return BestNet(num_classes=num_classes, **options)
    if options:
        raise ValueError(f"'{name}' takes no options, got {sorted(options)}.")
    return CLASSES[name](num_classes=num_classes, image_size=image_size)


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

    Only convolutions and linear layers count (torch counts 2 FLOPs per multiply-accumulate);
    pooling, ReLU and batch norm are cheap beside them. The model is left in evaluation mode.
    """
    model.eval()
    with FlopCounterMode(display=False) as counter:
        model(torch.zeros(1, model.convs[0].in_channels, image_size, image_size))
    return counter.get_total_flops() // 2


FOLDED = (nn.ReLU, nn.BatchNorm2d, nn.Dropout, nn.Identity)  # shown on the row of the layer they follow


@torch.no_grad()
def shape_table(model: nn.Module, image_size: int = 256) -> list[tuple[str, tuple[int, ...], int]]:
    """Rows ``(layer, output shape, parameters)``: one dummy image pushed through the model.

    A forward hook on every layer records its output's shape, so the table cannot disagree
    with the code. A ReLU, batch norm or dropout joins the row of the layer before it. A
    layer used several times (the shared pool) gets a row per use, numbered (``pool1``,
    ``pool2``, ...), and its parameters count once.
    """
    shape = (model.convs[0].in_channels, image_size, image_size)
    rows: list[list] = [["input", shape, 0]]
    counted: set[int] = set()

    def record(name: str, module: nn.Module, output: torch.Tensor) -> None:
        params = 0 if id(module) in counted else sum(p.numel() for p in module.parameters())
        counted.add(id(module))
        if isinstance(module, FOLDED) and len(rows) > 1:
            if not isinstance(module, nn.Identity):
                rows[-1][0] += f" + {type(module).__name__}"
            rows[-1][2] += params
        else:
            rows.append([name, tuple(output.shape[1:]), params])

    leaves = [(name, m) for name, m in model.named_modules() if name and not list(m.children())]
    handles = [m.register_forward_hook(lambda m, i, out, name=name: record(name, m, out)) for name, m in leaves]
    try:
        model.eval()(torch.zeros(1, *shape))
    finally:
        for handle in handles:
            handle.remove()
    return _number_repeats([tuple(row) for row in rows])


def _number_repeats(rows: list[tuple]) -> list[tuple]:
    """Rename the rows of a layer used more than once: ``pool`` becomes ``pool1``, ``pool2``, ..."""
    names = [row[0].split(" + ")[0] for row in rows]
    seen: dict[str, int] = {}
    out = []
    for name, (step, shape, params) in zip(names, rows):
        if names.count(name) > 1:
            seen[name] = seen.get(name, 0) + 1
            step = step.replace(name, f"{name}{seen[name]}", 1)
        out.append((step, shape, params))
    return out


def format_shape_table(rows) -> str:
    """The shape table as aligned text, with a total row, for printing in a notebook."""
    width = max(14, *(len(step) + 2 for step, *_ in rows))
    lines = [f"{'layer':<{width}}{'output shape':>18}{'parameters':>14}"]
    for step, shape, n in rows:
        lines.append(f"{step:<{width}}{' x '.join(map(str, shape)):>18}{n:>14,}")
    lines.append(f"{'total':<{width}}{'':>18}{sum(n for *_, n in rows):>14,}")
    return "\n".join(lines)
