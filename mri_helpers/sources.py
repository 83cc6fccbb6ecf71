"""Where the MRI images come from: finding, checking and downloading the dataset.

The order, first match wins:

1. the ``data_dir`` argument (a notebook's ``DATA_DIR`` parameter);
2. the ``MRI_DATA_DIR`` environment variable;
3. a dataset attached to a Kaggle notebook, under ``/kaggle/input/``;
4. on Kaggle (nothing attached) or Colab, a kagglehub download into :func:`~mri_helpers.hosted.data_home`;
5. ``data/brain-tumor-mri/`` in the repository (what ``make data`` downloads);
6. otherwise the embedded synthetic phantoms, generated once into ``data/synthetic/``.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections import Counter
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError
from torchvision.datasets.folder import (
    IMG_EXTENSIONS,
    has_file_allowed_extension,
    make_dataset,
)

from . import synthetic
from .hosted import data_home, runtime

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parent.parent  # the clone, when the package is installed editable
DATA_ROOT = REPO_ROOT / "data"
SPLITS = ("Training", "Testing")
KAGGLE_INPUT = Path("/kaggle/input")  # where Kaggle notebooks see attached datasets


class DataError(ValueError):
    """A problem with the dataset on disk, explained in one line with what to do."""


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
    hosted = runtime()
    if hosted:  # Kaggle without the dataset attached, or Colab: fetch it once
        return download(data_home(hosted))
    downloaded = DATA_ROOT / "brain-tumor-mri"
    if downloaded.is_dir():
        return downloaded
    return synthetic_root()


def kaggle_input(base: Path | None = None) -> Path | None:
    """The dataset as a Kaggle notebook sees it: the first folder under ``/kaggle/input``
    that holds ``Training/`` and ``Testing/`` (its name depends on how it was attached)."""
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
    return (f"Real data: the Brain Tumor MRI dataset (Kaggle, version 1) in '{root.name}/'. The course's committed "
            "numbers come from a 224-px copy, darker and lower in contrast than Kaggle's files: a download from "
            "Kaggle gives other numbers.")


def find_classes(split_dir: Path) -> list[str]:
    """Class names are the sorted sub-folder names; hidden ones (``.ipynb_checkpoints``) are ignored."""
    return sorted(d.name for d in os.scandir(split_dir) if d.is_dir() and not d.name.startswith("."))


def visible(path: str, root: Path) -> bool:
    """False for a file inside a hidden folder, or itself hidden, at any depth below ``root``.

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




def modes_per_class(paths, labels, classes: list[str]) -> dict[str, Counter]:
    """Count the PIL colour modes (``L``, ``RGB``...) of image files per class, reading headers only.

    Notebook 01's exercise: the student writes this function line for line.
    """
    modes = {name: Counter() for name in classes}
    for path, label in zip(paths, labels):
        with Image.open(path) as image:  # opening reads the header; the pixels are decoded only on use
            modes[classes[label]][image.mode] += 1
    return modes
