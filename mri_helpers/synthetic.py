"""An embedded synthetic MRI dataset, so the course runs without a Kaggle download.

Each image is a phantom of an axial brain slice: a bright skull ring, a textured brain,
two dark ventricles and, depending on the class, a lesion drawn the way radiologists
describe it:

* ``glioma``: an irregular mass *inside* the brain, with a darker core and a faint
  oedema halo around it;
* ``meningioma``: a round, sharply bounded mass pressed against the inner skull;
* ``pituitary``: a small mass on the midline at the skull base;
* ``notumor``: no lesion.

The phantoms deliberately vary what real scans vary (image size from about 200 to
630 px with most at 512, grey ``L`` and ``RGB`` files, position, contrast and noise) so
that every code path of the loader runs. They are a stand-in for learning the mechanics,
not medical data: results on them say nothing about real MRI.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

CLASSES = ("glioma", "meningioma", "notumor", "pituitary")
MARKER = "SYNTHETIC.md"
_PREFIX = {"glioma": "gl", "meningioma": "me", "notumor": "no", "pituitary": "pi"}


def _image_size(rng: np.random.Generator) -> int:
    """Most real scans are 512 px; the rest spread between about 200 and 630 px."""
    return 512 if rng.random() < 0.6 else int(rng.integers(200, 631))


def _smooth_noise(rng: np.random.Generator, size: int, cells: int) -> np.ndarray:
    """Low-frequency texture: coarse random values upsampled with bilinear smoothing."""
    coarse = rng.random((cells, cells)).astype(np.float32)
    return np.asarray(Image.fromarray(coarse, mode="F").resize((size, size), Image.BILINEAR))


def _blob(x, y, cx, cy, r, wobble):
    """Boolean mask of a radius-``r`` blob whose boundary wobbles by ``wobble`` harmonics."""
    dx, dy = x - cx, y - cy
    angle = np.arctan2(dy, dx)
    edge = r * (1 + sum(a * np.sin(k * angle + ph) for k, a, ph in wobble))
    return np.hypot(dx, dy) <= edge


def render(label: str, rng: np.random.Generator) -> np.ndarray:
    """Draw one phantom slice of class ``label`` as a uint8 array (H x W)."""
    s = _image_size(rng)
    y, x = np.mgrid[0:s, 0:s].astype(np.float32) / s
    cx, cy = 0.5 + rng.normal(0, 0.02), 0.5 + rng.normal(0, 0.02)
    ax, ay = rng.uniform(0.36, 0.42), rng.uniform(0.42, 0.47)
    rho = np.hypot((x - cx) / ax, (y - cy) / ay)  # 1.0 on the outer skull edge

    img = np.zeros((s, s), np.float32)
    brain = rho < 0.9
    img[(rho >= 0.9) & (rho < 1.0)] = rng.uniform(0.6, 0.75)  # skull ring
    texture = _smooth_noise(rng, s, 12) * 0.15 + _smooth_noise(rng, s, 40) * 0.08
    img[brain] = rng.uniform(0.35, 0.45) + texture[brain]
    for side in (-1, 1):  # two ventricles, a dark butterfly at the centre
        vent = ((x - cx - side * 0.045) / 0.03) ** 2 + ((y - cy) / 0.09) ** 2 < 1
        img[vent] = 0.12

    if label != "notumor":
        wobble = [(k, rng.uniform(0.0, 0.02), rng.uniform(0, 6.3)) for k in (2, 3)]
        if label == "glioma":  # irregular, intra-axial, necrotic core, oedema halo
            angle, dist = rng.uniform(0, 2 * np.pi), rng.uniform(0.15, 0.5)
            lx, ly = cx + dist * ax * np.cos(angle), cy + dist * ay * np.sin(angle)
            r = rng.uniform(0.06, 0.1)
            wobble = [(k, rng.uniform(0.1, 0.25), rng.uniform(0, 6.3)) for k in (2, 3, 5)]
            halo = _blob(x, y, lx, ly, r * 1.7, wobble) & brain
            img[halo] = img[halo] * 0.6 + 0.3
            mass = _blob(x, y, lx, ly, r, wobble)
            img[mass] = rng.uniform(0.85, 1.0)
            img[_blob(x, y, lx, ly, r * 0.45, wobble)] = rng.uniform(0.2, 0.3)
        elif label == "meningioma":  # round, sharp, against the inner skull
            angle = rng.uniform(0, 2 * np.pi)
            r = rng.uniform(0.06, 0.09)
            reach = 0.9 - r / min(ax, ay)
            lx, ly = cx + reach * ax * np.cos(angle), cy + reach * ay * np.sin(angle)
            img[_blob(x, y, lx, ly, r, wobble)] = rng.uniform(0.9, 1.0)
        else:  # pituitary: small, midline, at the skull base
            lx, ly = cx + rng.normal(0, 0.01), cy + ay * rng.uniform(0.45, 0.6)
            img[_blob(x, y, lx, ly, rng.uniform(0.035, 0.055), wobble)] = rng.uniform(0.9, 1.0)

    img = img ** rng.uniform(0.8, 1.25) * rng.uniform(0.8, 1.1)  # contrast
    img += rng.normal(0, rng.uniform(0.01, 0.05), img.shape).astype(np.float32)  # noise
    return (np.clip(img, 0, 1) * 255).astype(np.uint8)


def make_dataset(
    root: str | Path,
    n_train_per_class: int = 150,
    n_test_per_class: int = 40,
    seed: int = 0,
) -> Path:
    """Write a synthetic dataset in the Kaggle layout (``Training/<class>/*.jpg``, ``Testing/...``).

    The same ``seed`` gives the same pixels. About half the files are saved as grey ``L``
    JPEGs and half as ``RGB`` ones with three equal channels, as in the real dataset.
    A ``SYNTHETIC.md`` marker tells the loader (and a curious student) what this folder is.
    """
    root = Path(root)
    rng = np.random.default_rng(seed)
    for split, n, tag in (("Training", n_train_per_class, "Tr"), ("Testing", n_test_per_class, "Te")):
        for label in CLASSES:
            folder = root / split / label
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(n):
                pixels = render(label, rng)
                image = Image.fromarray(pixels, mode="L")
                if rng.random() < 0.5:
                    image = image.convert("RGB")
                image.save(folder / f"{tag}-{_PREFIX[label]}_{i:04d}.jpg", quality=90)
    (root / MARKER).write_text(
        "# Synthetic phantoms\n\nGenerated by `mri_helpers.synthetic.make_dataset` "
        f"(seed {seed}). These are not real MRI scans; results on them say nothing "
        "about real tumours.\n"
    )
    return root
