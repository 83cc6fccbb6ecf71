"""Decode every image once into a cache on disk, and check what comes out.

Why a cache: decoding a JPEG and resizing it with PIL costs more than a small CNN's
training step on a laptop CPU, and the original project paid that cost for every image
in every epoch. Here each image is decoded and resized once per ``image_size`` into a
uint8 array on disk; later runs memory-map it and augment whole batches of tensors. The
cache is keyed on the file list, sizes and modification times, so adding or editing an
image rebuilds it, and a damaged cache is rebuilt rather than trusted.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError
from tqdm.auto import tqdm

from .sources import REPO_ROOT, DataError

log = logging.getLogger(__name__)

MAX_PIXELS = 40_000_000  # about 6300 x 6300; real scans are under 1 megapixel
CACHE_VERSION = 3


@dataclass(frozen=True)
class Skipped:
    """An image file that could not be used, and why."""

    path: str
    reason: str


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


def default_cache_dir() -> Path:
    return Path(os.environ.get("MRI_CACHE_DIR", REPO_ROOT / "data" / "cache"))


def fingerprint(root: Path, samples: list[tuple[str, int]], image_size: int, mtimes: bool = True) -> str:
    """Hash of what decoded images depend on: relative paths, labels, sizes (and mtimes).

    With ``mtimes`` the hash notices an edited file, which is what the cache needs. Without
    them it names the *content* wherever it lies, so the same dataset copied to another
    machine keeps its key: that is the data part of a run's identity (:mod:`mri_helpers.course.runs`).
    """
    h = hashlib.sha256(f"v{CACHE_VERSION}:{image_size}".encode())
    for path, label in samples:
        st = os.stat(path)
        stamp = f"\t{st.st_mtime_ns}" if mtimes else ""
        h.update(f"{os.path.relpath(path, root)}\t{label}\t{st.st_size}{stamp}\n".encode())
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
