"""The original project's input pipeline, kept only as the baseline the benchmarks beat.

``ImageFolder`` opens, decodes, resizes and augments every JPEG with PIL in every epoch,
and the model runs in the default NCHW memory layout with no DataLoader workers.
"""

from pathlib import Path

import torch
from torchvision import transforms as T
from torchvision.datasets import ImageFolder


def seed_style_dataset(root: Path, image_size: int, mean, std) -> ImageFolder:
    return ImageFolder(
        str(Path(root) / "Training"),
        transform=T.Compose([
            T.Resize((image_size, image_size)),
            T.RandomHorizontalFlip(),
            T.RandomAffine(degrees=0, translate=(0.1, 0.1)),
            T.ColorJitter(brightness=(0.8, 1.2)),
            T.RandomRotation(10),
            T.ToTensor(),
            T.Normalize(mean, std),
        ]),
    )


def loader(dataset, batch_size: int = 32, limit: int | None = None):
    """A shuffled loader over ``limit`` random images (workers 0, as in the original)."""
    indices = torch.randperm(len(dataset), generator=torch.Generator().manual_seed(0))
    subset = torch.utils.data.Subset(dataset, indices[:limit].tolist() if limit else indices.tolist())
    return torch.utils.data.DataLoader(subset, batch_size=batch_size, num_workers=0)
