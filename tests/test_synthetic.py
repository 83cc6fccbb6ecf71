"""The embedded phantoms: layout, variety, determinism, and that a CNN can learn them."""

import hashlib

import numpy as np
from PIL import Image

from mri_helpers import synthetic
from mri_helpers.datasets import load_datasets, make_loaders
from mri_helpers.metrics import evaluate
from mri_helpers.models import build_model
from mri_helpers.recipes import Recipe
from mri_helpers.training import Trainer, seed_everything


def _digest(root):
    h = hashlib.sha256()
    for f in sorted(root.rglob("*.jpg")):
        h.update(f.relative_to(root).as_posix().encode() + f.read_bytes())
    return h.hexdigest()


def test_layout_and_names(small_root):
    assert sorted(p.name for p in (small_root / "Training").iterdir()) == list(synthetic.CLASSES)
    assert len(list((small_root / "Training" / "glioma").glob("Tr-gl_*.jpg"))) == 12
    assert len(list((small_root / "Testing" / "pituitary").glob("Te-pi_*.jpg"))) == 6
    assert "not real MRI" in (small_root / synthetic.MARKER).read_text()


def test_sizes_and_modes_vary(small_root):
    images = [Image.open(f) for f in small_root.rglob("*.jpg")]
    sides = [im.size[0] for im in images]
    assert all(im.size[0] == im.size[1] for im in images)
    assert min(sides) >= 200 and max(sides) <= 630
    assert sides.count(512) > len(sides) / 3 and len(set(sides)) > 5
    modes = {im.mode for im in images}
    assert modes == {"L", "RGB"}


def test_same_seed_same_pixels(tmp_path):
    a = synthetic.make_dataset(tmp_path / "a", 2, 1, seed=7)
    b = synthetic.make_dataset(tmp_path / "b", 2, 1, seed=7)
    c = synthetic.make_dataset(tmp_path / "c", 2, 1, seed=8)
    assert _digest(a) == _digest(b) != _digest(c)


def test_lesions_are_where_the_class_says():
    rng = np.random.default_rng(0)
    notumor = np.mean([synthetic.render("notumor", rng).max() for _ in range(5)])
    pituitary = np.mean([synthetic.render("pituitary", rng).max() for _ in range(5)])
    assert pituitary > notumor + 20  # the lesions are brighter than anything in a healthy slice


def test_a_small_cnn_learns_the_phantoms(tmp_path):
    root = synthetic.make_dataset(tmp_path / "medium", n_train_per_class=60, n_test_per_class=20, seed=0)
    data = load_datasets(root, image_size=64)
    train, val, test = make_loaders(data, batch_size=16)
    seed_everything(0)
    recipe = Recipe(lr=3e-3, image_size=64, epochs=8, batch_size=16, precision="fp32")
    trainer = Trainer(build_model("cnn2", image_size=64), recipe, device="cpu", prepare=data.prepare_train)
    trainer.fit(train, val, epochs=recipe.epochs, progress=False)
    accuracy = evaluate(trainer.model, test, data.classes).accuracy
    assert accuracy >= 0.6, accuracy  # chance is 0.25
