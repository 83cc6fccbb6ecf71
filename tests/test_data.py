"""The loader: discovery, splits, normaliser, cache, and every kind of bad input."""

from __future__ import annotations

import logging
import os
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from mri_helpers import data as D
from mri_helpers.synthetic import CLASSES

REAL = Path(__file__).resolve().parents[2] / "shared" / "brain-tumor-mri"


def test_splits_classes_and_items(small_root):
    d = D.load_datasets(small_root, image_size=64)
    assert d.classes == list(CLASSES)
    assert (len(d.train), len(d.val), len(d.test)) == (48, 12, 12)
    assert d.source == "synthetic"
    assert np.bincount(D.labels_of(d.train)).tolist() == [12, 12, 12, 12]
    x, y = d.train[0]
    assert x.shape == (3, 64, 64) and x.dtype == torch.float32
    assert isinstance(y, int) and y == 0
    v, _ = d.val[0]
    assert v.shape == (3, 64, 64) and v.dtype == torch.float32


def test_split_is_deterministic_per_seed(small_root):
    a = D.load_datasets(small_root, image_size=32, seed=1)
    b = D.load_datasets(small_root, image_size=32, seed=1)
    c = D.load_datasets(small_root, image_size=32, seed=2)
    assert a.val.indices == b.val.indices
    assert a.val.indices != c.val.indices
    assert sorted(a.val.indices + a.test.indices) == list(range(24))


def test_normalizer_matches_direct_computation(small_root):
    d = D.load_datasets(small_root, image_size=32)
    files = sorted((small_root / "Training").glob("*/*.jpg"))
    pixels = np.stack([
        np.asarray(Image.open(f).convert("RGB").resize((32, 32), Image.BILINEAR), dtype=np.float64) / 255
        for f in files
    ])
    assert d.normalize.mean == pytest.approx(pixels.mean(axis=(0, 1, 2)).tolist(), abs=1e-9)
    assert d.normalize.std == pytest.approx(pixels.std(axis=(0, 1, 2)).tolist(), abs=1e-9)


def test_eval_items_are_normalised_pixels(small_root):
    d = D.load_datasets(small_root, image_size=32)
    x, label = d.test[0]
    index = d.test.indices[0]
    raw = d.test.dataset.images[index].astype(np.float32) / 255
    mean = np.array(d.normalize.mean, dtype=np.float32)[:, None, None]
    std = np.array(d.normalize.std, dtype=np.float32)[:, None, None]
    np.testing.assert_allclose(x.numpy(), (raw - mean) / std, atol=1e-5)
    assert label == int(d.test.dataset.labels[index])


def test_training_items_are_augmented(small_root):
    d = D.load_datasets(small_root, image_size=64)
    torch.manual_seed(0)
    first = d.train[5][0]
    second = d.train[5][0]
    assert not torch.equal(first, second)


def test_grey_images_become_three_equal_channels(tmp_path):
    path = tmp_path / "grey.png"
    Image.fromarray(np.tile(np.arange(64, dtype=np.uint8) * 4, (64, 1)), mode="L").save(path)
    pixels = D.read_image(path, 32)
    assert pixels.shape == (3, 32, 32) and pixels.dtype == np.uint8
    assert np.array_equal(pixels[0], pixels[1]) and np.array_equal(pixels[1], pixels[2])


# ---------------------------------------------------------------- the cache


def test_cache_is_reused_then_invalidated(root_copy, monkeypatch):
    D.load_datasets(root_copy, image_size=32)
    calls = []
    real_read = D.read_image
    monkeypatch.setattr(D, "read_image", lambda *a: calls.append(a) or real_read(*a))
    D.load_datasets(root_copy, image_size=32)
    assert calls == []  # warm cache: nothing decoded

    victim = next((root_copy / "Testing" / "glioma").glob("*.jpg"))
    os.utime(victim, ns=(1, 1))
    D.load_datasets(root_copy, image_size=32)
    assert len(calls) == 24  # only the changed split is decoded again

    calls.clear()
    D.load_datasets(root_copy, image_size=64)
    assert len(calls) == 72  # another size is another cache


def test_corrupt_cache_is_rebuilt(root_copy, caplog):
    first = D.load_datasets(root_copy, image_size=32)
    expected = np.array(first.train.images)
    folder = next(Path(os.environ["MRI_CACHE_DIR"]).glob("*/Training-32"))
    data = (folder / "images.npy").read_bytes()
    (folder / "images.npy").write_bytes(data[: len(data) // 2])
    with caplog.at_level(logging.WARNING, logger="mri_helpers.data"):
        again = D.load_datasets(root_copy, image_size=32)
    assert "damaged" in caplog.text
    assert np.array_equal(np.array(again.train.images), expected)

    (folder / "meta.json").write_text("{not json")
    assert np.array_equal(np.array(D.load_datasets(root_copy, image_size=32).train.images), expected)


# ---------------------------------------------------------------- discovery


def test_discovery_order(small_root, monkeypatch, tmp_path):
    assert D.resolve_data_dir(small_root) == small_root
    monkeypatch.setenv("MRI_DATA_DIR", str(small_root))
    assert D.resolve_data_dir() == small_root
    monkeypatch.setenv("MRI_DATA_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(D.DataError, match="MRI_DATA_DIR points to .* not a folder"):
        D.resolve_data_dir()
    monkeypatch.delenv("MRI_DATA_DIR")
    monkeypatch.setattr(D, "DATA_ROOT", tmp_path / "data")
    monkeypatch.setattr(D, "KAGGLE_INPUT", tmp_path / "kaggle" / "input")
    root = D.resolve_data_dir()
    assert root == tmp_path / "data" / "synthetic"
    assert D.source_of(root) == "synthetic"
    assert "SYNTHETIC DATA" in D.banner("synthetic", root)
    (tmp_path / "data" / "brain-tumor-mri").mkdir()
    assert D.resolve_data_dir() == tmp_path / "data" / "brain-tumor-mri"


def test_kaggle_input_comes_after_mri_data_dir_and_before_data(small_root, monkeypatch, tmp_path):
    kaggle = tmp_path / "kaggle" / "input"
    monkeypatch.setattr(D, "KAGGLE_INPUT", kaggle)
    monkeypatch.setattr(D, "DATA_ROOT", tmp_path / "data")
    (tmp_path / "data" / "brain-tumor-mri").mkdir(parents=True)
    assert D.kaggle_input() is None
    (kaggle / "other-dataset").mkdir(parents=True)  # attached datasets without the layout are passed over
    attached = kaggle / "brain-tumor-mri-dataset"
    (attached / "Training").mkdir(parents=True)
    assert D.kaggle_input() is None  # Training/ without Testing/ is not the dataset
    (attached / "Testing").mkdir()
    assert D.kaggle_input() == attached
    assert D.resolve_data_dir() == attached
    monkeypatch.setenv("MRI_DATA_DIR", str(small_root))
    assert D.resolve_data_dir() == small_root


def test_kaggle_input_one_level_deeper(monkeypatch, tmp_path):
    nested = tmp_path / "input" / "brain-tumor-mri-dataset" / "v1"
    (nested / "Training").mkdir(parents=True)
    (nested / "Testing").mkdir()
    assert D.kaggle_input(tmp_path / "input") == nested


# ---------------------------------------------------------------- bad input


def test_missing_directory(tmp_path):
    with pytest.raises(D.DataError, match="does not exist: run 'make data'"):
        D.scan(tmp_path / "absent")


@pytest.mark.parametrize("split", ["Training", "Testing"])
def test_missing_split_folder(root_copy, split):
    import shutil

    shutil.rmtree(root_copy / split)
    with pytest.raises(D.DataError, match=f"has no '{split}/' folder"):
        D.load_datasets(root_copy)


def test_empty_class_folder(root_copy):
    for f in (root_copy / "Training" / "pituitary").iterdir():
        f.unlink()
    with pytest.raises(D.DataError, match="'Training/pituitary/' has no images"):
        D.load_datasets(root_copy)


def test_class_in_one_split_only(root_copy):
    (root_copy / "Testing" / "astrocytoma").mkdir()
    Image.new("L", (40, 40)).save(root_copy / "Testing" / "astrocytoma" / "a.jpg")
    with pytest.raises(D.DataError, match="'astrocytoma' is in Testing/ but not in Training/"):
        D.load_datasets(root_copy)


def test_non_image_files_and_hidden_folders_are_ignored(root_copy):
    (root_copy / "Training" / "glioma" / ".DS_Store").write_bytes(b"\0\1junk")
    (root_copy / "Training" / "glioma" / "notes.txt").write_text("reader notes")
    (root_copy / "Training" / ".ipynb_checkpoints").mkdir()
    d = D.load_datasets(root_copy, image_size=32)
    assert d.classes == list(CLASSES)
    assert len(d.train) == 48 and d.skipped == []


def test_hidden_files_and_folders_at_any_depth_are_ignored(root_copy):
    glioma = root_copy / "Training" / "glioma"
    image = next(glioma.glob("*.jpg"))
    for hidden in (glioma / ".ipynb_checkpoints", glioma / "deeper" / ".hidden"):
        hidden.mkdir(parents=True)
        (hidden / "copy.jpg").write_bytes(image.read_bytes())
    (glioma / "._resource.jpg").write_bytes(image.read_bytes())
    (glioma / "deeper" / "visible.jpg").write_bytes(image.read_bytes())  # a plain sub-folder still counts
    classes, samples = D.scan(root_copy)
    names = [Path(p).relative_to(root_copy).as_posix() for p, _ in samples["Training"]]
    assert len(names) == 49 and "Training/glioma/deeper/visible.jpg" in names
    assert not any("/." in n for n in names)
    assert D.visible(str(glioma / "a.jpg"), root_copy) and not D.visible(str(glioma / ".x" / "a.jpg"), root_copy)


def test_unreadable_files_are_skipped_logged_and_counted(root_copy, caplog):
    folder = root_copy / "Training" / "meningioma"
    good = next(folder.glob("*.jpg")).read_bytes()
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "truncated.jpg").write_bytes(good[: len(good) // 3])
    (folder / "text.jpg").write_text("this is not a JPEG")
    with caplog.at_level(logging.WARNING, logger="mri_helpers.data"):
        d = D.load_datasets(root_copy, image_size=32)
    assert len(d.train) == 48
    reasons = {Path(s.path).name: s.reason for s in d.skipped}
    assert set(reasons) == {"empty.jpg", "truncated.jpg", "text.jpg"}
    assert reasons["empty.jpg"].startswith("empty file")
    assert reasons["truncated.jpg"].startswith("corrupt or truncated")
    assert reasons["text.jpg"].startswith("not an image")
    for name in reasons:
        assert f"skipped Training/meningioma/{name}" in caplog.text


def test_sixteen_bit_png_is_scaled_not_clipped(tmp_path):
    wide = np.zeros((64, 64), np.uint16)
    wide[:, :32] = 65535
    wide[:, 32:] = 128 * 257
    Image.fromarray(wide).save(tmp_path / "deep.png")
    assert Image.open(tmp_path / "deep.png").mode.startswith("I")
    pixels = D.read_image(tmp_path / "deep.png", 64)
    assert pixels[:, 10, 5].tolist() == [255, 255, 255]
    assert pixels[:, 10, 60].tolist() == [128, 128, 128]


def test_rgba_is_laid_over_black(tmp_path):
    rgba = np.zeros((64, 64, 4), np.uint8)
    rgba[:, :32] = (200, 100, 50, 255)
    rgba[:, 32:] = (255, 255, 255, 0)
    Image.fromarray(rgba, mode="RGBA").save(tmp_path / "alpha.png")
    pixels = D.read_image(tmp_path / "alpha.png", 64)
    assert pixels[:, 10, 5].tolist() == [200, 100, 50]
    assert pixels[:, 10, 60].tolist() == [0, 0, 0]


def test_cmyk_and_palette_images_are_converted(tmp_path):
    Image.new("CMYK", (64, 64), (0, 255, 255, 0)).save(tmp_path / "cmyk.jpg", quality=95)
    red = D.read_image(tmp_path / "cmyk.jpg", 32)[:, 16, 16]
    assert red[0] > 245 and red[1] < 10 and red[2] < 10

    palette = Image.new("P", (64, 64), 1)
    palette.putpalette([0, 0, 0, 10, 20, 30] + [0] * 762)
    palette.save(tmp_path / "palette.png")
    assert D.read_image(tmp_path / "palette.png", 32)[:, 16, 16].tolist() == [10, 20, 30]


def _png_header_only(path: Path, width: int, height: int) -> None:
    """A PNG whose header claims ``width x height`` grey pixels (no pixel data needed)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b""))


@pytest.mark.parametrize("side", [8000, 40000])
def test_absurdly_large_image_is_refused(tmp_path, side):
    _png_header_only(tmp_path / "huge.png", side, side)
    with pytest.raises(D.BadImage, match="too large"):
        D.read_image(tmp_path / "huge.png", 32)


@pytest.mark.parametrize("size", [0, -32, 100, 250, 31.5, "256", True])
def test_bad_image_size_is_rejected(small_root, size):
    with pytest.raises(D.DataError, match="positive multiple of 32"):
        D.load_datasets(small_root, image_size=size)


# ---------------------------------------------------------------- the real data, when present


@pytest.mark.skipif(not REAL.is_dir(), reason="../shared/brain-tumor-mri is not beside the repository")
def test_real_dataset_counts_and_one_batch():
    d = D.load_datasets(REAL, image_size=32)
    assert d.source == "real"
    assert d.classes == ["glioma", "meningioma", "notumor", "pituitary"]
    assert len(d.train) == 5708 and d.skipped == []
    assert len(d.val) + len(d.test) == 1311 and len(d.val) == 656
    assert np.bincount(D.labels_of(d.train)).tolist() == [1321, 1339, 1591, 1457]
    assert np.bincount(D.labels_of(d.val.dataset)).tolist() == [300, 306, 405, 300]
    train_loader, _, _ = D.make_loaders(d, batch_size=16)
    x, y = next(iter(train_loader))
    assert x.shape == (16, 3, 32, 32) and x.dtype == torch.float32
    assert y.shape == (16,) and set(y.tolist()) <= {0, 1, 2, 3}


# ---------------------------------------------------------------- augmentation and grey storage


def test_augment_draws_per_image_and_keeps_range():
    torch.manual_seed(0)
    batch = torch.randint(0, 256, (1, 1, 32, 32), dtype=torch.uint8).expand(64, 1, 32, 32)
    out = D.Augment()(batch)
    assert out.shape == (64, 1, 32, 32) and out.dtype == torch.float32
    assert 0 <= out.min() and out.max() <= 1
    assert len({round(float(x.sum()), 3) for x in out}) == 64  # every image got its own draw

    plain = D.Augment(degrees=0, translate=0, brightness=(1, 1))(batch)
    original = batch.float() / 255
    mirrored = [torch.allclose(x, original[0].flip(-1), atol=1e-6) for x in plain]
    kept = [torch.allclose(x, original[0], atol=1e-6) for x in plain]
    assert all(m or k for m, k in zip(mirrored, kept)) and 10 < sum(mirrored) < 54


def test_grey_datasets_are_cached_as_one_channel(root_copy):
    d = D.load_datasets(root_copy, image_size=32)
    assert d.train.images.shape == (48, 1, 32, 32)
    assert d.train[0][0].shape == (3, 32, 32)
    colour = np.zeros((40, 40, 3), np.uint8)
    colour[..., 0] = 200
    Image.fromarray(colour).save(root_copy / "Training" / "glioma" / "red.png")
    d = D.load_datasets(root_copy, image_size=32)
    assert d.train.images.shape == (49, 3, 32, 32)
    assert d.normalize.mean[0] > d.normalize.mean[1] == d.normalize.mean[2]


def test_tinted_flags_colour_beyond_jpeg_noise():
    from mri_helpers.data import tinted

    images = np.full((3, 3, 8, 8), 100, dtype=np.uint8)
    images[1, 2, :4] += 1  # half a level apart on average in one channel: JPEG noise, still grey
    images[2, 0] += 4  # a red tint of 4 levels
    assert tinted(images).tolist() == [False, False, True]
    assert tinted(np.zeros((2, 1, 8, 8), dtype=np.uint8)).tolist() == [False, False]
