"""Datasets and loaders over the decoded cache: what ``load_datasets`` returns.

Splits follow the original project: all of ``Training/`` trains (with augmentation) and
``Testing/`` is split 50/50 into validation and test halves by a generator seeded with
:data:`SPLIT_SEED`, whatever the training seed, so every run is scored on the same test
images and two runs can be compared image by image. Each
half is a dataset of its own, which knows its rows of ``Testing/`` (``rows``), its files
and its labels, so nobody has to reach into a ``Subset``.
"""

from __future__ import annotations

import hashlib
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset
from torchvision.transforms import v2

from .cache import CACHE_VERSION, Skipped, cache_split, default_cache_dir, fingerprint
from .sources import DataError, resolve_data_dir, scan, source_of
from .transforms import Augment, Prepare


class CachedImages(Dataset):
    """Serve ``(normalised float image 3 x S x S, label)`` pairs from a decoded cache.

    ``rows`` picks which rows of the cached array this dataset serves (default: all).
    ``__getitems__`` lets a ``DataLoader`` fetch a whole batch in one call, so batches
    are read from the memory map and prepared together; ``dataset[i]`` is the same code
    on a batch of one. With ``raw=True`` items are the cached uint8 pixels, untouched,
    for a trainer that prepares (augments and normalises) them on its own device. The
    memory map is opened lazily in each process, so DataLoader workers share the
    operating system's page cache instead of copies.
    """

    def __init__(self, path: Path, labels: np.ndarray, files: list[str], prepare: Prepare,
                 rows: np.ndarray | None = None, raw: bool = False):
        self.path, self.prepare, self.raw = Path(path), prepare, raw
        self.rows = np.arange(len(labels)) if rows is None else np.asarray(rows)
        self.labels = np.asarray(labels)[self.rows]
        self.files = [files[r] for r in self.rows]  # image paths relative to the dataset root, in item order
        self._all_labels, self._all_files, self._memmap = np.asarray(labels), files, None

    @property
    def normalize(self) -> v2.Normalize:
        return self.prepare.normalize

    @property
    def images(self) -> np.ndarray:
        """This dataset's uint8 images, ``N x C x S x S`` (C is 1 for an all-grey dataset)."""
        if self._memmap is None:
            self._memmap = np.load(self.path, mmap_mode="r")
        if len(self.rows) == len(self._memmap) and (self.rows == np.arange(len(self.rows))).all():
            return self._memmap
        return self._memmap[self.rows]

    def subset(self, rows, prepare: Prepare | None = None, raw: bool | None = None) -> "CachedImages":
        """The same cache restricted to ``rows`` (of the whole cached array)."""
        return CachedImages(self.path, self._all_labels, self._all_files, prepare or self.prepare,
                            rows=rows, raw=self.raw if raw is None else raw)

    def __getstate__(self):
        return dict(self.__dict__, _memmap=None)

    def __len__(self) -> int:
        return len(self.rows)

    def __getitems__(self, indices: list[int]) -> list[tuple[torch.Tensor, int]]:
        if self._memmap is None:
            self._memmap = np.load(self.path, mmap_mode="r")
        picked = self.rows[np.asarray(indices)]
        batch = torch.from_numpy(self._memmap[picked])
        x = batch if self.raw else self.prepare(batch)
        return list(zip(x.unbind(0), self._all_labels[picked].tolist()))

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        return self.__getitems__([index])[0]


@dataclass
class Datasets:
    """What :func:`load_datasets` returns: the datasets and what describes them.

    ``testing`` is all of ``Testing/``; ``val`` and ``test`` are its two halves.
    ``key`` names the data (files, labels, sizes, image size), not where it lies: it is
    part of every run's identity.
    """

    train: CachedImages
    val: CachedImages
    test: CachedImages
    testing: CachedImages
    classes: list[str]
    normalize: v2.Normalize
    source: str  # "real" or "synthetic"
    root: Path
    image_size: int
    key: str
    skipped: list[Skipped] = field(default_factory=list)

    @property
    def prepare_train(self) -> Prepare:
        """Augment and normalise a raw training batch, on whatever device it is on."""
        return self.train.prepare


def check_image_size(image_size: int) -> int:
    if not isinstance(image_size, int) or isinstance(image_size, bool) or image_size <= 0 or image_size % 32:
        raise DataError(
            f"image_size must be a positive multiple of 32 (five 2x2 poolings halve it "
            f"five times), got {image_size!r}: try 256."
        )
    return image_size


SPLIT_SEED = 42  # the course's one validation/test split of Testing/


def split_halves(n: int, seed: int) -> tuple[list[int], list[int]]:
    """Seeded validation and test halves of ``range(n)``: the same rows as
    ``random_split(range(n), [0.5, 0.5], generator=torch.Generator().manual_seed(seed))``,
    which made the committed splits."""
    sizes = [math.floor(n * 0.5)] * 2
    for i in range(n - sum(sizes)):
        sizes[i % 2] += 1
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed)).tolist()
    return order[: sizes[0]], order[sizes[0] :]


def load_datasets(
    data_dir: str | os.PathLike | None = None,
    image_size: int = 256,
    split_seed: int = SPLIT_SEED,
    cache_dir: str | os.PathLike | None = None,
) -> Datasets:
    """Find the data, decode it once into the cache and return train/val/test datasets.

    Items are ``(float tensor 3 x S x S, normalised; int label)``. The normaliser's mean
    and std come from the resized, un-augmented training images. ``split_seed`` picks the
    validation/test split of ``Testing/``; the training seed does not, so seeds share a test half.
    """
    check_image_size(image_size)
    root = resolve_data_dir(data_dir)
    classes, samples = scan(root)
    cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
    train = cache_split(root, "Training", samples["Training"], image_size, cache_dir)
    test = cache_split(root, "Testing", samples["Testing"], image_size, cache_dir)
    for split, part in (("Training", train), ("Testing", test)):
        missing = sorted(set(classes) - {classes[i] for i in np.unique(part.labels)})
        if missing:
            raise DataError(f"Every image of class {missing} in {split}/ was unreadable: see the skipped files in the log.")

    normalize = v2.Normalize(mean=train.mean, std=train.std)
    train_set = CachedImages(train.path, train.labels, train.files, Prepare(normalize, Augment()))
    testing = CachedImages(test.path, test.labels, test.files, Prepare(normalize))
    val_rows, test_rows = split_halves(len(testing), split_seed)
    key = hashlib.sha256(
        "\n".join(fingerprint(root, samples[s], image_size, mtimes=False) for s in ("Training", "Testing")).encode()
    ).hexdigest()[:16]
    return Datasets(
        train=train_set,
        val=testing.subset(val_rows),
        test=testing.subset(test_rows),
        testing=testing,
        classes=classes,
        normalize=normalize,
        source=source_of(root),
        root=root,
        image_size=image_size,
        key=f"v{CACHE_VERSION}-{key}" + (f"-split{split_seed}" if split_seed != SPLIT_SEED else ""),
        skipped=train.skipped + test.skipped,
    )


def make_loaders(data: Datasets, batch_size: int = 32, num_workers: int = 0, pin_memory: bool = False):
    """Train (shuffled, raw uint8), validation and test ``DataLoader`` objects.

    The training loader hands out raw uint8 batches; the trainer moves them to its device
    and augments them there with ``data.prepare_train``. Shuffling draws from torch's
    global generator, which the trainer seeds, so a run is repeatable without a
    generator per loader.
    """
    common = dict(batch_size=batch_size, num_workers=num_workers, persistent_workers=num_workers > 0,
                  pin_memory=pin_memory)
    return (
        DataLoader(data.train.subset(data.train.rows, raw=True), shuffle=True, **common),
        DataLoader(data.val, **common),
        DataLoader(data.test, **common),
    )
