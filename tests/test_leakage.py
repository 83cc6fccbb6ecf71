"""The leakage audit finds planted duplicates and near-duplicates, and nothing in a clean set."""

import json
import shutil

import numpy as np
from PIL import Image, ImageEnhance

from mri_helpers import leakage
from mri_helpers.data import load_datasets


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
    files = data.val.dataset.files
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


def test_deduplicated_accuracy_uses_stored_predictions():
    record = {"test_indices": [5, 6, 7, 8], "test_labels": [0, 1, 2, 3], "test_predictions": [0, 0, 2, 3]}
    assert leakage.deduplicated_accuracy(record, twins=[7, 8]) == (0.5, 2)
    assert leakage.deduplicated_accuracy(record, twins=[]) == (0.75, 4)


def test_deduplicated_score_is_added_to_the_results_json(tmp_path):
    record = {"model": "cnn1", "test_indices": [5, 6, 7, 8], "test_labels": [0, 1, 2, 3],
              "test_predictions": [0, 0, 2, 3], "test_accuracy": 0.75}
    (tmp_path / "cnn1.json").write_text(json.dumps(record))
    updated = leakage.add_deduplicated_score(tmp_path, "cnn1", twins=[5])
    assert json.loads((tmp_path / "cnn1.json").read_text()) == updated
    assert updated == dict(record, dedup_test_accuracy=2 / 3, dedup_test_images=3)
