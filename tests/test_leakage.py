"""The leakage audit finds planted duplicates and near-duplicates, and nothing in a clean set."""

import shutil

import numpy as np
from PIL import Image, ImageEnhance

from mri_helpers import leakage
from mri_helpers.datasets import load_datasets


def test_clean_set_has_no_twins(small_root):
    result = leakage.audit_dataset(load_datasets(small_root, image_size=64))
    assert result["exact_redundant_in_training"] == result["exact_redundant_in_testing"] == 0
    assert result["test_with_twin"] == []
    assert min(result["nearest_distance"]) > result["threshold"]


def test_planted_twins_are_found(root_copy):
    train = sorted((root_copy / "Training" / "glioma").glob("*.jpg"))
    test_dir = root_copy / "Testing" / "glioma"
    shutil.copy(train[0], test_dir / "copied.jpg")  # same bytes
    Image.open(train[1]).save(test_dir / "reencoded.png")  # other bytes, same pixels
    smaller = Image.open(train[2])
    smaller.resize((smaller.width * 4 // 5, smaller.height * 4 // 5)).save(test_dir / "resized.jpg", quality=70)
    ImageEnhance.Brightness(Image.open(train[3])).enhance(1.05).save(test_dir / "brighter.jpg", quality=85)
    shutil.copy(train[4], train[4].with_name("again.jpg"))  # a duplicate inside Training

    data = load_datasets(root_copy, image_size=64)
    result = leakage.audit_dataset(data)
    files = data.testing.files
    assert len(files) == 28 and len(result["nearest"]) == 28  # the audit covers all of Testing, both halves
    found = {files[j].split("/")[-1] for j in result["test_with_twin"]}
    assert found == {"copied.jpg", "reencoded.png", "resized.jpg", "brighter.jpg"}
    assert result["testing_with_exact_twin_in_training"] == 2
    assert result["exact_redundant_in_training"] == 1 and result["exact_redundant_in_testing"] == 0
    resized = files.index("Testing/glioma/resized.jpg")
    assert data.train.files[result["nearest"][resized]] == f"Training/glioma/{train[2].name}"


def test_hamming_counts_bits():
    a = np.packbits(np.array([[1, 0, 1, 1, 0, 0, 0, 0]], dtype=bool), axis=1)
    b = np.packbits(np.array([[1, 0, 0, 1, 0, 0, 0, 1], [1, 0, 1, 1, 0, 0, 0, 0]], dtype=bool), axis=1)
    assert leakage.hamming(a, b).tolist() == [[2, 0]]
