"""Find, check, decode, cache and serve the MRI images.

Where the data comes from, in this order:

1. the ``data_dir`` argument;
2. the ``MRI_DATA_DIR`` environment variable;
3. a dataset attached to a Kaggle notebook, under ``/kaggle/input/``;
4. ``data/brain-tumor-mri/`` in the repository (what ``make data`` downloads);
5. otherwise the embedded synthetic phantoms, generated once into ``data/synthetic/``.

Why a cache: decoding a JPEG and resizing it with PIL costs more than a small CNN's
training step on a laptop CPU, and the original project paid that cost for every image
in every epoch. Here each image is decoded and resized once per ``image_size`` into a
uint8 array on disk; later runs memory-map it and augment whole batches of tensors. The cache is
keyed on the file list, sizes and modification times, so adding or editing an image
rebuilds it, and a damaged cache is rebuilt rather than trusted.

Splits follow the original project: all of ``Training/`` trains (with augmentation) and
``Testing/`` is split 50/50 into validation and test halves by a seeded generator.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import shutil
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError
from torch import nn
from torch.utils.data import DataLoader, Dataset, Subset, random_split
from torchvision.datasets.folder import IMG_EXTENSIONS, has_file_allowed_extension, make_dataset
from torchvision.transforms import v2
from tqdm.auto import tqdm

from . import synthetic
from .files import REPO_ROOT

log = logging.getLogger(__name__)

DATA_ROOT = REPO_ROOT / "data"
SPLITS = ("Training", "Testing")
MAX_PIXELS = 40_000_000  # about 6300 x 6300; real scans are under 1 megapixel
CACHE_VERSION = 3
KAGGLE_INPUT = Path("/kaggle/input")  # where Kaggle notebooks see attached datasets


class DataError(ValueError):
    """A problem with the dataset on disk, explained in one line with what to do."""


@dataclass(frozen=True)
class Skipped:
    """An image file that could not be used, and why."""

    path: str
    reason: str


@dataclass
class Datasets:
    """What :func:`load_datasets` returns: three datasets and what describes them."""

    train: Dataset
    val: Dataset
    test: Dataset
    classes: list[str]
    normalize: v2.Normalize
    source: str  # "real" or "synthetic"
    root: Path
    image_size: int
    skipped: list[Skipped] = field(default_factory=list)


# ---------------------------------------------------------------------------- finding


def resolve_data_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """Return the dataset root following the discovery order in the module docstring."""
    for candidate, origin in ((data_dir, "data_dir"), (os.environ.get("MRI_DATA_DIR"), "MRI_DATA_DIR")):
        if candidate:
            root = Path(candidate).expanduser()
            if not root.is_dir():
                raise DataError(
                    f"{origin} points to '{root}', which is not a folder: fix the path, "
                    "run 'make data' to download the dataset, or unset it to use the synthetic set."
                )
            return root
    kaggle = kaggle_input()
    if kaggle is not None:
        return kaggle
    downloaded = DATA_ROOT / "brain-tumor-mri"
    if downloaded.is_dir():
        return downloaded
    return synthetic_root()


def kaggle_input(base: Path | None = None) -> Path | None:
    """The dataset as a Kaggle notebook sees it: the first folder under ``/kaggle/input`` (one
    or two levels down, depending on how it was attached) that holds ``Training/`` and ``Testing/``."""
    base = KAGGLE_INPUT if base is None else base
    if not base.is_dir():
        return None
    for training in sorted(base.glob("*/Training")) + sorted(base.glob("*/*/Training")):
        if (training.parent / "Testing").is_dir():
            return training.parent
    return None


def synthetic_root() -> Path:
    """Generate the embedded synthetic dataset once, then reuse it."""
    root = DATA_ROOT / "synthetic"
    if not (root / synthetic.MARKER).exists():
        tmp = root.with_name(f".synthetic-{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        synthetic.make_dataset(tmp)
        shutil.rmtree(root, ignore_errors=True)
        os.replace(tmp, root)
    return root


def source_of(root: Path) -> str:
    """``"synthetic"`` for a folder made by :mod:`mri_helpers.synthetic`, else ``"real"``."""
    return "synthetic" if (root / synthetic.MARKER).exists() else "real"


def banner(source: str, root: Path) -> str:
    """The one line every notebook prints so nobody mistakes phantoms for real results."""
    if source == "synthetic":
        return (
            "*** SYNTHETIC DATA: results below are on generated phantoms, not real MRI. "
            "Run 'make data' or set MRI_DATA_DIR for the real dataset. ***"
        )
    return f"Real data: the Kaggle Brain Tumor MRI dataset in '{root.name}/'."


def find_classes(split_dir: Path) -> list[str]:
    """Class names are the sorted sub-folder names; hidden ones (``.ipynb_checkpoints``) are ignored."""
    return sorted(d.name for d in os.scandir(split_dir) if d.is_dir() and not d.name.startswith("."))


def visible(path: str, root: Path) -> bool:
    """False for a file that is hidden or inside a hidden folder, at any depth below ``root``.

    Jupyter's ``.ipynb_checkpoints/`` and macOS's ``._`` files must never become training images.
    """
    return not any(part.startswith(".") for part in Path(os.path.relpath(path, root)).parts)


def scan(root: Path) -> tuple[list[str], dict[str, list[tuple[str, int]]]]:
    """Check the Kaggle layout and list ``(path, label)`` image files per split.

    Non-image files (``.DS_Store``, notes) are ignored by extension, as ``ImageFolder``
    does, and hidden files and folders at any depth by :func:`visible`. Every layout
    problem raises :class:`DataError` with a one-line fix.
    """
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"Dataset folder '{root}' does not exist: run 'make data' or set MRI_DATA_DIR.")
    for split in SPLITS:
        if not (root / split).is_dir():
            raise DataError(
                f"'{root}' has no '{split}/' folder: point MRI_DATA_DIR at the folder that "
                "holds Training/ and Testing/ (the Kaggle layout)."
            )
    per_split = {split: find_classes(root / split) for split in SPLITS}
    classes = sorted(set().union(*per_split.values()))
    if not classes:
        raise DataError(f"'{root}/Training' has no class folders: expected glioma/, meningioma/, notumor/, pituitary/.")
    for split in SPLITS:
        for name in classes:
            if name not in per_split[split]:
                other = SPLITS[1 - SPLITS.index(split)]
                raise DataError(
                    f"Class '{name}' is in {other}/ but not in {split}/: "
                    "both splits need the same class folders."
                )
    class_to_idx = {name: i for i, name in enumerate(classes)}
    samples = {}
    for split in SPLITS:
        split_dir = root / split
        found = make_dataset(
            str(split_dir), class_to_idx, allow_empty=True,
            is_valid_file=lambda p: has_file_allowed_extension(p, IMG_EXTENSIONS) and visible(p, split_dir),
        )
        counts = np.bincount([label for _, label in found], minlength=len(classes))
        for name, count in zip(classes, counts):
            if count == 0:
                raise DataError(f"'{split}/{name}/' has no images: add images or remove the empty folder.")
        samples[split] = found
    return classes, samples


KAGGLE_HANDLE = "masoudnickparvar/brain-tumor-mri-dataset/versions/1"  # v2 is a different 7,200-image release


def download(dest: str | os.PathLike | None = None) -> Path:
    """Download the Kaggle dataset, version 1, with kagglehub into ``data/brain-tumor-mri/``.

    Public datasets need no credentials. Any failure becomes one :class:`DataError` line
    that says what to do, including how to use a copy you already have.
    """
    dest = Path(dest) if dest else DATA_ROOT / "brain-tumor-mri"
    if dest.is_dir():
        scan(dest)
        return dest
    manual = (
        "or download it by hand from https://www.kaggle.com/datasets/masoudnickparvar/brain-tumor-mri-dataset "
        "(version 1) and set MRI_DATA_DIR to the folder holding Training/ and Testing/."
    )
    tmp = dest.with_name(f".{dest.name}.download")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        import kagglehub

        fetched = Path(kagglehub.dataset_download(KAGGLE_HANDLE, output_dir=str(tmp)))
    except Exception as err:  # network, credentials, API changes: all end the same way
        reason = (str(err).strip().splitlines() or [type(err).__name__])[0][:200]
        shutil.rmtree(tmp, ignore_errors=True)
        raise DataError(f"Download of {KAGGLE_HANDLE} failed ({reason}): check your connection, {manual}") from None
    roots = [p.parent for p in sorted(fetched.rglob("Training")) if (p.parent / "Testing").is_dir()]
    if not roots:
        raise DataError(f"The download in '{fetched}' has no Training/ and Testing/ folders: {manual}")
    scan(roots[0])
    os.replace(roots[0], dest)
    shutil.rmtree(tmp, ignore_errors=True)
    return dest


def census(root: str | os.PathLike) -> dict[str, dict]:
    """Count image sizes and PIL colour modes per split, reading headers only (fast).

    Real scans come in many sizes and in both grey (``L``) and ``RGB`` files; knowing
    this is why the loader resizes everything and converts to three channels.
    """
    _, samples = scan(Path(root))
    result = {}
    for split, files in samples.items():
        sizes, modes = Counter(), Counter()
        for path, _ in files:
            try:
                with Image.open(path) as image:
                    sizes[image.size] += 1
                    modes[image.mode] += 1
            except (OSError, UnidentifiedImageError):
                modes["unreadable"] += 1
        widths = [w for (w, _), n in sizes.items() for _ in range(n)]
        result[split] = {
            "files": len(files),
            "modes": dict(modes.most_common()),
            "distinct_sizes": len(sizes),
            "most_common_sizes": [(f"{w}x{h}", n) for (w, h), n in sizes.most_common(3)],
            "width_range": (min(widths), max(widths)) if widths else None,
        }
    return result


# ---------------------------------------------------------------------------- decoding


class BadImage(Exception):
    """Raised by :func:`read_image` for a file that is skipped, with the reason."""


def to_rgb(image: Image.Image) -> Image.Image:
    """Convert any PIL mode to 8-bit RGB, keeping greys as three equal channels.

    16-bit greys are scaled (PIL's own ``convert("L")`` would clip them to white),
    transparent pixels are laid over black (the MRI background), CMYK and palette
    images go through PIL's converters.
    """
    if image.mode in ("I", "I;16", "I;16L", "I;16B", "I;16N"):
        wide = np.asarray(image, dtype=np.float32) / 257.0
        image = Image.fromarray(np.clip(wide + 0.5, 0, 255).astype(np.uint8), mode="L")
    elif image.mode == "F":
        image = Image.fromarray(np.clip(np.asarray(image), 0, 255).astype(np.uint8), mode="L")
    if image.mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    if image.mode in ("RGBA", "LA", "PA", "La", "RGBa"):
        background = Image.new("RGBA", image.size, (0, 0, 0, 255))
        image = Image.alpha_composite(background, image.convert("RGBA"))
    if image.mode == "L":
        return Image.merge("RGB", (image, image, image))
    return image.convert("RGB")


def read_image(path: str | os.PathLike, image_size: int) -> np.ndarray:
    """Decode one file to a ``3 x S x S`` uint8 array, or raise :class:`BadImage`."""
    path = Path(path)
    if path.stat().st_size == 0:
        raise BadImage("empty file (0 bytes)")
    try:
        with Image.open(path) as image:
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise BadImage(f"too large ({width}x{height} pixels, limit {MAX_PIXELS:,}); downscale it first")
            image.load()
            rgb = to_rgb(image).resize((image_size, image_size), Image.BILINEAR)
    except UnidentifiedImageError:
        raise BadImage("not an image file PIL can read") from None
    except Image.DecompressionBombError:
        raise BadImage(f"too large (over PIL's {Image.MAX_IMAGE_PIXELS:,}-pixel safety limit)") from None
    except (OSError, SyntaxError, ValueError) as err:
        raise BadImage(f"corrupt or truncated ({err})") from None
    return np.asarray(rgb, dtype=np.uint8).transpose(2, 0, 1).copy()


# ---------------------------------------------------------------------------- caching


def default_cache_dir() -> Path:
    return Path(os.environ.get("MRI_CACHE_DIR", DATA_ROOT / "cache"))


def fingerprint(root: Path, samples: list[tuple[str, int]], image_size: int) -> str:
    """Hash of what the cache depends on: relative paths, labels, sizes and mtimes."""
    h = hashlib.sha256(f"v{CACHE_VERSION}:{image_size}".encode())
    for path, label in samples:
        st = os.stat(path)
        h.update(f"{os.path.relpath(path, root)}\t{label}\t{st.st_size}\t{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


@dataclass
class CachedSplit:
    """A decoded split on disk: ``path`` holds ``N x C x S x S`` uint8 images.

    ``C`` is 1 when every image is grey (three equal channels), which makes the cache
    and the augmentation three times cheaper; the datasets hand out three channels.
    ``files`` are the images' paths relative to the dataset root, in the same order.
    """

    path: Path
    labels: np.ndarray
    files: list[str]
    skipped: list[Skipped]
    mean: list[float]
    std: list[float]


def _cache_folder(cache_dir: Path, root: Path, split: str, image_size: int) -> Path:
    tag = hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:10]
    return cache_dir / f"{root.name}-{tag}" / f"{split}-{image_size}"


def _read_cache(folder: Path, key: str) -> CachedSplit | None:
    """Return the cached split if it is complete and matches ``key``, else ``None``."""
    try:
        meta = json.loads((folder / "meta.json").read_text())
        if meta["fingerprint"] != key:
            return None
        images = np.load(folder / "images.npy", mmap_mode="r")
        n = len(meta["paths"])
        if images.dtype != np.uint8 or images.shape[:2] != (n, meta["channels"]) or len(meta["labels"]) != n:
            raise ValueError(f"shape {images.shape} does not match {n} files")
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as err:
        log.warning("cache in %s is damaged (%s); rebuilding it", folder, err)
        return None
    skipped = [Skipped(**s) for s in meta["skipped"]]
    labels = np.asarray(meta["labels"], dtype=np.int64)
    return CachedSplit(folder / "images.npy", labels, meta["paths"], skipped, meta["mean"], meta["std"])


def _is_grey(image: np.ndarray) -> bool:
    """Three channels equal to within JPEG colour noise (under 1 grey level on average).

    Most ``RGB`` files in the real dataset are grey scans saved as colour; JPEG's colour
    compression leaves a handful of them a level or two apart between channels.
    """
    wide = image.astype(np.int16)
    return bool(np.abs(wide[0] - wide[1]).mean() < 1 and np.abs(wide[0] - wide[2]).mean() < 1)


def tinted(images: np.ndarray) -> np.ndarray:
    """Which cached uint8 images (``N x C x S x S``) carry a colour tint, i.e. are not grey.

    A tint that only one class has is a shortcut a model could learn instead of anatomy.
    """
    if images.shape[1] == 1:
        return np.zeros(len(images), dtype=bool)
    return np.array([not _is_grey(image) for image in images], dtype=bool)


def cache_split(
    root: Path, split: str, samples: list[tuple[str, int]], image_size: int, cache_dir: Path
) -> CachedSplit:
    """Decode ``samples`` once into the cache, or reuse a matching cache."""
    folder = _cache_folder(cache_dir, root, split, image_size)
    key = fingerprint(root, samples, image_size)
    cached = _read_cache(folder, key)
    if cached is not None:
        return cached

    images = np.empty((len(samples), 3, image_size, image_size), np.uint8)
    kept, labels, skipped = [], [], []
    for path, label in tqdm(samples, desc=f"Decoding {split} at {image_size}px", leave=False):
        try:
            images[len(kept)] = read_image(path, image_size)
        except BadImage as err:
            rel = os.path.relpath(path, root)
            log.warning("skipped %s: %s", rel, err)
            skipped.append(Skipped(rel, str(err)))
            continue
        kept.append(os.path.relpath(path, root))
        labels.append(label)
    if not kept:
        raise DataError(f"No readable images in '{root / split}': every file was skipped (see the log).")

    images = images[: len(kept)]
    if not tinted(images).any():  # all grey: store one channel
        images = np.stack([np.round(im.mean(axis=0, dtype=np.float32)).astype(np.uint8)[None] for im in images])
    mean, std = channel_stats(images)
    tmp = folder.with_name(f".{folder.name}.{os.getpid()}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    np.save(tmp / "images.npy", np.ascontiguousarray(images))
    meta = {
        "fingerprint": key, "paths": kept, "labels": labels, "skipped": [vars(s) for s in skipped],
        "channels": images.shape[1], "mean": mean * (3 // images.shape[1]), "std": std * (3 // images.shape[1]),
    }
    (tmp / "meta.json").write_text(json.dumps(meta))
    shutil.rmtree(folder, ignore_errors=True)
    os.replace(tmp, folder)
    return _read_cache(folder, key)


# ---------------------------------------------------------------------------- datasets


class Augment:
    """Flip, rotate, shift and brighten every image of a uint8 batch, each with its own draw.

    The same motions as the original's transforms (RandomHorizontalFlip, RandomAffine
    translate 10%, RandomRotation 10 degrees, ColorJitter brightness 0.8-1.2), but
    applied to a whole batch at once: flip, rotation and shift become one affine matrix
    per image, and a single ``grid_sample`` call resamples the batch. ``transforms.v2``
    would draw one set of parameters per call, i.e. per batch, so here we draw them per
    image ourselves, and resample once instead of twice (shift, then rotate). Like
    torchvision's RandomAffine and RandomRotation (and so the original project), it
    uses nearest-neighbour interpolation. Randomness comes from torch's global generator, which the trainer seeds.
    """

    def __init__(self, degrees: float = 10.0, translate: float = 0.1, brightness=(0.8, 1.2)):
        self.degrees, self.translate, self.brightness = degrees, translate, brightness

    def __call__(self, batch: torch.Tensor) -> torch.Tensor:
        n = batch.shape[0]
        x = batch.float().div_(255)
        angle = (torch.rand(n) * 2 - 1) * math.radians(self.degrees)
        flip = torch.where(torch.rand(n) < 0.5, -1.0, 1.0)
        shift = (torch.rand(n, 2) * 2 - 1) * 2 * self.translate  # the image spans 2 in grid units
        # Where each output pixel (u, v) reads from, in grid_sample's [-1, 1] coordinates:
        # (x, y) = rotation @ (flip * u, v) + shift. Built by broadcasting, which is
        # cheaper than affine_grid's batched matrix product.
        cos, sin = angle.cos().view(n, 1, 1), angle.sin().view(n, 1, 1)
        h, w = x.shape[-2:]
        u = torch.linspace(-1 + 1 / w, 1 - 1 / w, w).view(1, 1, w) * flip.view(n, 1, 1)
        v = torch.linspace(-1 + 1 / h, 1 - 1 / h, h).view(1, h, 1)
        grid = torch.stack((cos * u - sin * v + shift[:, :1, None], sin * u + cos * v + shift[:, 1:, None]), dim=-1)
        x = nn.functional.grid_sample(x, grid, mode="nearest", padding_mode="zeros", align_corners=False)
        factor = torch.empty(n, 1, 1, 1).uniform_(*self.brightness)
        return x.mul_(factor).clamp_(0, 1)


class CachedImages(Dataset):
    """Serve ``(normalised float image 3 x S x S, label)`` pairs from a decoded cache.

    ``__getitems__`` lets a ``DataLoader`` fetch a whole batch in one call, so batches
    are read from the memory map and augmented together; ``dataset[i]`` is the same
    code on a batch of one. The memory map is opened lazily in each process, so
    DataLoader workers share the operating system's page cache instead of copies.
    """

    def __init__(self, path: Path, labels: np.ndarray, normalize: v2.Normalize, augment: Augment | None = None,
                 files: list[str] | None = None):
        self.path, self.labels, self.normalize, self.augment = Path(path), labels, normalize, augment
        self.files = files or []  # image paths relative to the dataset root, in item order
        self._images = None

    @property
    def images(self) -> np.ndarray:
        """The uint8 array, ``N x C x S x S`` (C is 1 for an all-grey dataset)."""
        if self._images is None:
            self._images = np.load(self.path, mmap_mode="r")
        return self._images

    def __getstate__(self):
        return dict(self.__dict__, _images=None)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitems__(self, indices: list[int]) -> list[tuple[torch.Tensor, int]]:
        batch = torch.from_numpy(self.images[np.asarray(indices)])
        x = self.augment(batch) if self.augment else batch.float().div_(255)
        channels = x.shape[1]  # normalise the stored channels, then repeat a grey one three times
        x = v2.functional.normalize(x, self.normalize.mean[:channels], self.normalize.std[:channels])
        return list(zip(x.expand(-1, 3, -1, -1).unbind(0), self.labels[np.asarray(indices)].tolist()))

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        return self.__getitems__([index])[0]


def channel_stats(images: np.ndarray, chunk: int = 256) -> tuple[list[float], list[float]]:
    """Per-channel mean and standard deviation of uint8 images, scaled to [0, 1]."""
    channels = images.shape[1]
    total = np.zeros(channels)
    squares = np.zeros(channels)
    for start in range(0, len(images), chunk):
        block = np.asarray(images[start : start + chunk], dtype=np.float64) / 255.0
        total += block.sum(axis=(0, 2, 3))
        squares += (block**2).sum(axis=(0, 2, 3))
    count = len(images) * images.shape[2] * images.shape[3]
    mean = total / count
    std = np.sqrt(squares / count - mean**2)
    return mean.tolist(), std.tolist()


def eval_transform(normalize: v2.Normalize) -> v2.Compose:
    """How a single uint8 image becomes model input outside the datasets (the CLI's predict)."""
    return v2.Compose([v2.ToDtype(torch.float32, scale=True), normalize])


def check_image_size(image_size: int) -> int:
    if not isinstance(image_size, int) or isinstance(image_size, bool) or image_size <= 0 or image_size % 32:
        raise DataError(
            f"image_size must be a positive multiple of 32 (five 2x2 poolings halve it "
            f"five times), got {image_size!r}: try 256."
        )
    return image_size


def load_datasets(
    data_dir: str | os.PathLike | None = None,
    image_size: int = 256,
    seed: int = 42,
    cache_dir: str | os.PathLike | None = None,
) -> Datasets:
    """Find the data, decode it once into the cache and return train/val/test datasets.

    Items are ``(float tensor 3 x S x S, normalised; int label)``. The normaliser's mean
    and std come from the resized, un-augmented training images. The same ``seed``
    gives the same validation/test split of ``Testing/``.
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
    train_set = CachedImages(train.path, train.labels, normalize, Augment(), files=train.files)
    testing = CachedImages(test.path, test.labels, normalize, files=test.files)
    val_set, test_set = random_split(testing, [0.5, 0.5], generator=torch.Generator().manual_seed(seed))
    return Datasets(
        train=train_set,
        val=val_set,
        test=test_set,
        classes=classes,
        normalize=normalize,
        source=source_of(root),
        root=root,
        image_size=image_size,
        skipped=train.skipped + test.skipped,
    )


def labels_of(dataset: Dataset) -> np.ndarray:
    """Labels of a :class:`CachedImages` or a ``Subset`` of one, without decoding images."""
    if isinstance(dataset, Subset):
        return labels_of(dataset.dataset)[np.asarray(dataset.indices)]
    return np.asarray(dataset.labels)


def make_loaders(data: Datasets, batch_size: int = 32, num_workers: int = 0):
    """Train (shuffled), validation and test ``DataLoader`` objects.

    Shuffling and augmentation draw from torch's global generator, which the trainer
    seeds, so a run is repeatable without a generator per loader.
    """
    common = dict(batch_size=batch_size, num_workers=num_workers, persistent_workers=num_workers > 0)
    return (
        DataLoader(data.train, shuffle=True, **common),
        DataLoader(data.val, **common),
        DataLoader(data.test, **common),
    )
