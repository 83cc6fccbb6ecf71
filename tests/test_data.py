"""The loader: discovery, splits, normaliser, cache, and every kind of bad input."""

from __future__ import annotations

import logging
import os
import shutil
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import random_split
from torchvision.transforms import v2

from mri_helpers import cache as C
from mri_helpers import datasets as D
from mri_helpers import sources as S
from mri_helpers.synthetic import CLASSES
from mri_helpers.transforms import Augment, Prepare

REAL = Path(__file__).resolve().parents[2] / "shared" / "brain-tumor-mri"


def test_splits_classes_and_items(small_root):
    d = D.load_datasets(small_root, image_size=64)
    assert d.classes == list(CLASSES)
    assert (len(d.train), len(d.val), len(d.test), len(d.testing)) == (48, 12, 12, 24)
    assert d.source == "synthetic" and d.image_size == 64 and d.root == small_root
    assert np.bincount(d.train.labels).tolist() == [12, 12, 12, 12]
    assert np.bincount(d.testing.labels).tolist() == [6, 6, 6, 6]
    x, y = d.train[0]
    assert x.shape == (3, 64, 64) and x.dtype == torch.float32
    assert isinstance(y, int) and y == 0
    v, _ = d.val[0]
    assert v.shape == (3, 64, 64) and v.dtype == torch.float32


def test_split_is_deterministic_per_seed(small_root):
    a = D.load_datasets(small_root, image_size=32, split_seed=1)
    b = D.load_datasets(small_root, image_size=32, split_seed=1)
    c = D.load_datasets(small_root, image_size=32, split_seed=2)
    assert a.val.rows.tolist() == b.val.rows.tolist() and a.test.rows.tolist() == b.test.rows.tolist()
    assert a.val.rows.tolist() != c.val.rows.tolist()
    assert sorted(a.val.rows.tolist() + a.test.rows.tolist()) == list(range(24))
    base = D.load_datasets(small_root, image_size=32).key  # the course's split: the key of the data alone
    assert (a.key, c.key) == (base + "-split1", base + "-split2")  # another split is other data to a run


@pytest.mark.filterwarnings("ignore:Length of split at index 1 is 0")
@pytest.mark.parametrize("n", [1, 2, 7, 24, 1311])
@pytest.mark.parametrize("seed", [0, 42])
def test_split_halves_equal_torch_random_split(n, seed):
    """The committed splits were made by random_split: split_halves must give the very same rows."""
    expected = [list(part.indices) for part in
                random_split(range(n), [0.5, 0.5], generator=torch.Generator().manual_seed(seed))]
    val, test = D.split_halves(n, seed)
    assert [val, test] == expected
    assert len(val) == n - n // 2 and len(test) == n // 2


def test_halves_know_their_rows_files_and_labels(small_root):
    d = D.load_datasets(small_root, image_size=32, split_seed=3)
    val_rows, test_rows = D.split_halves(24, 3)
    assert d.val.rows.tolist() == val_rows and d.test.rows.tolist() == test_rows
    for half, rows in ((d.val, val_rows), (d.test, test_rows)):
        assert half.files == [d.testing.files[r] for r in rows]
        assert half.labels.tolist() == [int(d.testing.labels[r]) for r in rows]
        assert all(f.startswith(f"Testing/{d.classes[label]}/") for f, label in zip(half.files, half.labels))
        assert np.array_equal(half.images, np.asarray(d.testing.images)[rows])
    assert d.testing.rows.tolist() == list(range(24))


def test_subset_serves_the_rows_it_was_given(small_root):
    d = D.load_datasets(small_root, image_size=32)
    part = d.train.subset([40, 3, 17])
    assert part.rows.tolist() == [40, 3, 17] and len(part) == 3
    assert part.labels.tolist() == [3, 0, 1]
    assert part.files == [d.train.files[i] for i in (40, 3, 17)]
    raw = d.train.subset([40, 3, 17], raw=True)
    x, y = raw[1]
    assert x.dtype == torch.uint8 and y == 0
    assert torch.equal(x, torch.from_numpy(np.array(d.train.images[3])))
    assert d.train.raw is False and raw.subset([3]).raw is True  # a subset keeps raw unless told
    plain = d.train.subset([3], prepare=d.testing.prepare)  # the eval preparation: no augmentation
    assert torch.equal(plain[0][0], d.testing.prepare(torch.from_numpy(np.array(d.train.images[3:4])))[0])


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
    index = d.test.rows[0]
    raw = d.testing.images[index].astype(np.float32) / 255
    mean = np.array(d.normalize.mean, dtype=np.float32)[:, None, None]
    std = np.array(d.normalize.std, dtype=np.float32)[:, None, None]
    np.testing.assert_allclose(x.numpy(), (raw - mean) / std, atol=1e-5)
    assert label == int(d.testing.labels[index]) == int(d.test.labels[0])


def test_training_items_are_augmented(small_root):
    d = D.load_datasets(small_root, image_size=64)
    torch.manual_seed(0)
    first = d.train[5][0]
    second = d.train[5][0]
    assert not torch.equal(first, second)


def test_loaders_train_raw_and_evaluate_normalised(small_root):
    d = D.load_datasets(small_root, image_size=32)
    train, val, test = D.make_loaders(d, batch_size=8)
    batches = list(train)
    assert len(batches) == 6
    x, y = batches[0]
    assert x.dtype == torch.uint8 and x.shape == (8, 1, 32, 32)  # the grey cache, untouched
    assert sorted(torch.cat([b[1] for b in batches]).tolist()) == sorted(d.train.labels.tolist())
    prepared = d.prepare_train(x)
    assert prepared.shape == (8, 3, 32, 32) and prepared.dtype == torch.float32
    vx, vy = next(iter(val))
    assert vx.dtype == torch.float32 and vx.shape == (8, 3, 32, 32)
    assert torch.equal(vx, torch.stack([d.val[i][0] for i in range(8)]))
    assert torch.cat([b[1] for b in test]).tolist() == d.test.labels.tolist()  # not shuffled


def test_prepare_normalises_and_repeats_grey():
    normalize = v2.Normalize([0.2, 0.3, 0.4], [0.5, 0.6, 0.7])
    grey = torch.tensor([0, 51, 255], dtype=torch.uint8).view(1, 1, 1, 3).expand(2, 1, 2, 3)
    out = Prepare(normalize)(grey)
    assert out.shape == (2, 3, 2, 3) and out.dtype == torch.float32
    expected = (torch.tensor([0.0, 0.2, 1.0]) - 0.2) / 0.5  # a grey cache uses the first channel's statistics
    assert torch.allclose(out[0, 2, 1], expected) and torch.equal(out[:, 0], out[:, 1])
    colour = torch.full((1, 3, 1, 1), 51, dtype=torch.uint8)
    assert torch.allclose(Prepare(normalize)(colour).flatten(), (0.2 - torch.tensor([0.2, 0.3, 0.4])) / torch.tensor(
        [0.5, 0.6, 0.7]))
    torch.manual_seed(0)
    augmented = Prepare(normalize, Augment())(grey)
    assert augmented.shape == (2, 3, 2, 3) and not torch.equal(augmented, out)


def test_grey_images_become_three_equal_channels(tmp_path):
    path = tmp_path / "grey.png"
    Image.fromarray(np.tile(np.arange(64, dtype=np.uint8) * 4, (64, 1)), mode="L").save(path)
    pixels = C.read_image(path, 32)
    assert pixels.shape == (3, 32, 32) and pixels.dtype == np.uint8
    assert np.array_equal(pixels[0], pixels[1]) and np.array_equal(pixels[1], pixels[2])


# ---------------------------------------------------------------- the cache


def test_cache_is_reused_then_invalidated(root_copy, monkeypatch):
    D.load_datasets(root_copy, image_size=32)
    calls = []
    real_read = C.read_image
    monkeypatch.setattr(C, "read_image", lambda *a: calls.append(a) or real_read(*a))
    D.load_datasets(root_copy, image_size=32)
    assert calls == []  # warm cache: nothing decoded

    victim = next((root_copy / "Testing" / "glioma").glob("*.jpg"))
    os.utime(victim, ns=(1, 1))
    D.load_datasets(root_copy, image_size=32)
    assert len(calls) == 24  # only the changed split is decoded again

    calls.clear()
    D.load_datasets(root_copy, image_size=64)
    assert len(calls) == 72  # another size is another cache


def test_data_key_names_the_content_not_its_place_or_age(small_root, root_copy):
    key = D.load_datasets(small_root, image_size=32).key
    assert key.startswith(f"v{C.CACHE_VERSION}-")
    assert D.load_datasets(root_copy, image_size=32).key == key  # the same files elsewhere
    os.utime(next((root_copy / "Training" / "glioma").glob("*.jpg")), ns=(1, 1))
    assert D.load_datasets(root_copy, image_size=32).key == key  # touched, not changed
    assert D.load_datasets(root_copy, image_size=64).key != key
    victim = next((root_copy / "Testing" / "notumor").glob("*.jpg"))
    victim.write_bytes(victim.read_bytes() + b"\0")
    assert D.load_datasets(root_copy, image_size=32).key != key


def test_corrupt_cache_is_rebuilt(root_copy, caplog):
    first = D.load_datasets(root_copy, image_size=32)
    expected = np.array(first.train.images)
    folder = next(Path(os.environ["MRI_CACHE_DIR"]).glob("*/Training-32"))
    data = (folder / "images.npy").read_bytes()
    (folder / "images.npy").write_bytes(data[: len(data) // 2])
    with caplog.at_level(logging.WARNING, logger="mri_helpers.cache"):
        again = D.load_datasets(root_copy, image_size=32)
    assert "damaged" in caplog.text
    assert np.array_equal(np.array(again.train.images), expected)

    (folder / "meta.json").write_text("{not json")
    assert np.array_equal(np.array(D.load_datasets(root_copy, image_size=32).train.images), expected)


# ---------------------------------------------------------------- discovery


def test_discovery_order(small_root, monkeypatch, tmp_path):
    made = []
    real_make = S.synthetic.make_dataset
    monkeypatch.setattr(S.synthetic, "make_dataset",  # the full phantom set takes a minute: make a tiny one
                        lambda root: made.append(root) or real_make(root, n_train_per_class=1, n_test_per_class=1))
    assert S.resolve_data_dir(small_root) == small_root
    monkeypatch.setenv("MRI_DATA_DIR", str(small_root))
    assert S.resolve_data_dir() == small_root
    monkeypatch.setenv("MRI_DATA_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(S.DataError, match="MRI_DATA_DIR points to .* not a folder"):
        S.resolve_data_dir()
    monkeypatch.delenv("MRI_DATA_DIR")
    monkeypatch.setattr(S, "DATA_ROOT", tmp_path / "data")
    root = S.resolve_data_dir()
    assert root == tmp_path / "data" / "synthetic"
    assert S.source_of(root) == "synthetic"
    assert "SYNTHETIC DATA" in S.banner("synthetic", root)
    assert S.resolve_data_dir() == root and len(made) == 1  # generated once, then reused
    (tmp_path / "data" / "brain-tumor-mri").mkdir()
    assert S.resolve_data_dir() == tmp_path / "data" / "brain-tumor-mri"
    assert S.source_of(tmp_path / "data" / "brain-tumor-mri") == "real"
    said = S.banner("real", tmp_path / "data" / "brain-tumor-mri")  # says which copy the committed numbers used
    assert "version 1" in said and "224-px copy" in said and "'brain-tumor-mri/'" in said and "\n" not in said


def test_kaggle_input_comes_after_the_environment_and_before_the_download(small_root, monkeypatch, tmp_path):
    kaggle = tmp_path / "kaggle" / "input"
    monkeypatch.setattr(S, "KAGGLE_INPUT", kaggle)
    monkeypatch.setattr(S, "DATA_ROOT", tmp_path / "data")
    (tmp_path / "data" / "brain-tumor-mri").mkdir(parents=True)
    assert S.kaggle_input() is None  # no /kaggle/input at all
    attached = kaggle / "brain-tumor-mri-dataset"
    (attached / "Training").mkdir(parents=True)
    assert S.kaggle_input() is None  # Training/ without Testing/ is not the dataset
    assert S.resolve_data_dir() == tmp_path / "data" / "brain-tumor-mri"
    (attached / "Testing").mkdir()
    assert S.kaggle_input() == attached
    assert S.resolve_data_dir() == attached  # before data/brain-tumor-mri
    monkeypatch.setenv("MRI_DATA_DIR", str(small_root))
    assert S.resolve_data_dir() == small_root  # MRI_DATA_DIR still wins
    assert S.resolve_data_dir(tmp_path / "data" / "brain-tumor-mri") == tmp_path / "data" / "brain-tumor-mri"


def test_kaggle_input_finds_a_nested_copy(tmp_path):
    nested = tmp_path / "brain-tumor-mri-dataset" / "versions-1"
    for split in ("Training", "Testing"):
        (nested / split).mkdir(parents=True)
    (tmp_path / "other-dataset").mkdir()
    assert S.kaggle_input(tmp_path) == nested


# ---------------------------------------------------------------- bad input


def test_missing_directory(tmp_path):
    with pytest.raises(S.DataError, match="does not exist: run 'make data'"):
        S.scan(tmp_path / "absent")


@pytest.mark.parametrize("split", ["Training", "Testing"])
def test_missing_split_folder(root_copy, split):
    shutil.rmtree(root_copy / split)
    with pytest.raises(S.DataError, match=f"has no '{split}/' folder"):
        D.load_datasets(root_copy)


def test_empty_class_folder(root_copy):
    for f in (root_copy / "Training" / "pituitary").iterdir():
        f.unlink()
    with pytest.raises(S.DataError, match="'Training/pituitary/' has no images"):
        D.load_datasets(root_copy)


def test_class_in_one_split_only(root_copy):
    (root_copy / "Testing" / "astrocytoma").mkdir()
    Image.new("L", (40, 40)).save(root_copy / "Testing" / "astrocytoma" / "a.jpg")
    with pytest.raises(S.DataError, match="'astrocytoma' is in Testing/ but not in Training/"):
        D.load_datasets(root_copy)


def test_non_image_files_and_hidden_folders_are_ignored(root_copy):
    (root_copy / "Training" / "glioma" / ".DS_Store").write_bytes(b"\0\1junk")
    (root_copy / "Training" / "glioma" / "notes.txt").write_text("reader notes")
    (root_copy / "Training" / ".ipynb_checkpoints").mkdir()
    d = D.load_datasets(root_copy, image_size=32)
    assert d.classes == list(CLASSES)
    assert len(d.train) == 48 and d.skipped == []


def test_hidden_files_and_folders_at_any_depth_are_ignored(root_copy):
    """Jupyter's checkpoints and macOS's ._ files inside a class folder must not become training images."""
    before_classes, before = S.scan(root_copy)
    glioma = root_copy / "Training" / "glioma"
    image = next(glioma.glob("*.jpg"))
    for hidden in (glioma / ".ipynb_checkpoints" / "copy-checkpoint.jpg",
                   glioma / "deeper" / ".hidden" / "copy.jpg",
                   glioma / "._copy.jpg",
                   root_copy / "Testing" / "meningioma" / ".ipynb_checkpoints" / "copy.jpg"):
        hidden.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(image, hidden)
    classes, samples = S.scan(root_copy)
    assert classes == before_classes == list(CLASSES)
    assert samples == before  # the very same files, in the same order
    d = D.load_datasets(root_copy, image_size=32)
    assert (len(d.train), len(d.testing)) == (48, 24) and d.skipped == []
    assert np.bincount(d.train.labels).tolist() == [12, 12, 12, 12]
    assert np.bincount(d.testing.labels).tolist() == [6, 6, 6, 6]
    assert not any("/." in f for f in d.train.files + d.testing.files)


def test_visible_looks_at_every_part_below_the_root(tmp_path):
    root = tmp_path / ".hidden-parent" / "Training"  # a hidden folder above the root does not count
    assert S.visible(str(root / "glioma" / "a.jpg"), root)
    assert S.visible(str(root / "glioma" / "deeper" / "a.jpg"), root)
    assert not S.visible(str(root / "glioma" / ".a.jpg"), root)
    assert not S.visible(str(root / "glioma" / ".ipynb_checkpoints" / "a.jpg"), root)
    assert not S.visible(str(root / "glioma" / "deeper" / ".hidden" / "a.jpg"), root)


def test_unreadable_files_are_skipped_logged_and_counted(root_copy, caplog):
    folder = root_copy / "Training" / "meningioma"
    good = next(folder.glob("*.jpg")).read_bytes()
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "truncated.jpg").write_bytes(good[: len(good) // 3])
    (folder / "text.jpg").write_text("this is not a JPEG")
    with caplog.at_level(logging.WARNING, logger="mri_helpers.cache"):
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
    pixels = C.read_image(tmp_path / "deep.png", 64)
    assert pixels[:, 10, 5].tolist() == [255, 255, 255]
    assert pixels[:, 10, 60].tolist() == [128, 128, 128]


def test_rgba_is_laid_over_black(tmp_path):
    rgba = np.zeros((64, 64, 4), np.uint8)
    rgba[:, :32] = (200, 100, 50, 255)
    rgba[:, 32:] = (255, 255, 255, 0)
    Image.fromarray(rgba, mode="RGBA").save(tmp_path / "alpha.png")
    pixels = C.read_image(tmp_path / "alpha.png", 64)
    assert pixels[:, 10, 5].tolist() == [200, 100, 50]
    assert pixels[:, 10, 60].tolist() == [0, 0, 0]


def test_cmyk_and_palette_images_are_converted(tmp_path):
    Image.new("CMYK", (64, 64), (0, 255, 255, 0)).save(tmp_path / "cmyk.jpg", quality=95)
    red = C.read_image(tmp_path / "cmyk.jpg", 32)[:, 16, 16]
    assert red[0] > 245 and red[1] < 10 and red[2] < 10

    palette = Image.new("P", (64, 64), 1)
    palette.putpalette([0, 0, 0, 10, 20, 30] + [0] * 762)
    palette.save(tmp_path / "palette.png")
    assert C.read_image(tmp_path / "palette.png", 32)[:, 16, 16].tolist() == [10, 20, 30]


def _png_header_only(path: Path, width: int, height: int) -> None:
    """A PNG whose header claims ``width x height`` grey pixels (no pixel data needed)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b""))


@pytest.mark.parametrize("side", [8000, 40000])
def test_absurdly_large_image_is_refused(tmp_path, side):
    _png_header_only(tmp_path / "huge.png", side, side)
    with pytest.raises(C.BadImage, match="too large"):
        C.read_image(tmp_path / "huge.png", 32)


@pytest.mark.parametrize("size", [0, -32, 100, 250, 31.5, "256", True])
def test_bad_image_size_is_rejected(small_root, size):
    with pytest.raises(S.DataError, match="positive multiple of 32"):
        D.load_datasets(small_root, image_size=size)


# ---------------------------------------------------------------- the real data, when present


@pytest.mark.skipif(not REAL.is_dir(), reason="../shared/brain-tumor-mri is not beside the repository")
def test_real_dataset_counts_and_one_batch():
    d = D.load_datasets(REAL, image_size=32)
    assert d.source == "real"
    assert d.classes == ["glioma", "meningioma", "notumor", "pituitary"]
    assert len(d.train) == 5708 and d.skipped == []
    assert len(d.val) + len(d.test) == len(d.testing) == 1311 and len(d.val) == 656
    assert np.bincount(d.train.labels).tolist() == [1321, 1339, 1591, 1457]
    assert np.bincount(d.testing.labels).tolist() == [300, 306, 405, 300]
    train_loader, _, _ = D.make_loaders(d, batch_size=16)
    x, y = next(iter(train_loader))
    assert x.dtype == torch.uint8 and x.shape == (16, d.train.images.shape[1], 32, 32)
    assert d.prepare_train(x).shape == (16, 3, 32, 32)
    assert y.shape == (16,) and set(y.tolist()) <= {0, 1, 2, 3}


# ---------------------------------------------------------------- augmentation and grey storage


def test_augment_draws_per_image_and_keeps_range():
    torch.manual_seed(0)
    batch = torch.randint(0, 256, (1, 1, 32, 32), dtype=torch.uint8).expand(64, 1, 32, 32)
    out = Augment()(batch)
    assert out.shape == (64, 1, 32, 32) and out.dtype == torch.float32
    assert 0 <= out.min() and out.max() <= 1
    assert len({round(float(x.sum()), 3) for x in out}) == 64  # every image got its own draw

    plain = Augment(degrees=0, translate=0, brightness=(1, 1))(batch)
    original = batch.float() / 255
    mirrored = [torch.allclose(x, original[0].flip(-1), atol=1e-6) for x in plain]
    kept = [torch.allclose(x, original[0], atol=1e-6) for x in plain]
    assert all(m or k for m, k in zip(mirrored, kept)) and 10 < sum(mirrored) < 54


def test_augment_repeats_with_the_global_seed():
    batch = torch.randint(0, 256, (4, 1, 16, 16), dtype=torch.uint8, generator=torch.Generator().manual_seed(1))
    torch.manual_seed(5)
    a = Augment()(batch)
    torch.manual_seed(5)
    assert torch.equal(Augment()(batch), a)
    assert not torch.equal(Augment()(batch), a)


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
    images = np.full((3, 3, 8, 8), 100, dtype=np.uint8)
    images[1, 2, :4] += 1  # half a level apart on average in one channel: JPEG noise, still grey
    images[2, 0] += 4  # a red tint of 4 levels
    assert C.tinted(images).tolist() == [False, False, True]
    assert C.tinted(np.zeros((2, 1, 8, 8), dtype=np.uint8)).tolist() == [False, False]
