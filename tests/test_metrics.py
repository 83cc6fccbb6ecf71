"""Reports carry the right class names; results JSON holds what the README needs."""

import json
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from mri_helpers.metrics import (
    comparison_rows, comparison_table, evaluate, load_results, results_record, results_table, save_results,
)
from mri_helpers.training import Trainer

CLASSES = ["glioma", "meningioma", "notumor", "pituitary"]


class Oracle(nn.Module):
    """Predicts the class written in each image's first pixel: outputs are known in advance."""

    def __init__(self):
        super().__init__()
        self.unused = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        return nn.functional.one_hot(x[:, 0, 0, 0].long(), 4).float() * 10


def _known_predictions():
    # supports: glioma 5, meningioma 3, notumor 7, pituitary 2 (all different, so a
    # reversed or shifted name order cannot pass)
    labels = torch.tensor([0] * 5 + [1] * 3 + [2] * 7 + [3] * 2)
    predicted = labels.clone()
    predicted[:2] = 2  # two gliomas called "notumor"
    images = predicted.float().view(-1, 1, 1, 1).expand(-1, 3, 4, 4).contiguous()
    trainer = Trainer(Oracle(), lr=1e-3, device="cpu", meta={"model": "oracle"})
    return trainer, evaluate(trainer, DataLoader(TensorDataset(images, labels), batch_size=4), CLASSES)


def test_each_report_row_has_the_right_name_and_support():
    _, ev = _known_predictions()
    report = ev.report_dict()
    assert {name: report[name]["support"] for name in CLASSES} == {
        "glioma": 5, "meningioma": 3, "notumor": 7, "pituitary": 2,
    }
    assert report["glioma"]["recall"] == 3 / 5
    assert report["notumor"]["precision"] == 7 / 9
    rows = {line.split()[0]: line.split() for line in ev.report().splitlines() if line.strip()}
    assert rows["glioma"][-1] == "5" and rows["pituitary"][-1] == "2"
    assert rows["glioma"][2] == "0.600"  # recall column
    assert ev.accuracy == 15 / 17


def test_confusion_matrix_rows_are_true_classes():
    _, ev = _known_predictions()
    assert ev.confusion().tolist() == [[3, 0, 2, 0], [0, 3, 0, 0], [0, 0, 7, 0], [0, 0, 0, 2]]


def test_results_json_round_trip(tmp_path):
    trainer, ev = _known_predictions()
    trainer.history = [{"epoch": 1, "train_loss": 1.0, "val_loss": 0.9, "val_accuracy": 0.5,
                        "val_precision": 0.5, "val_recall": 0.5, "seconds": 12.5}]
    record = results_record("oracle", trainer, ev, "synthetic", batch_size=4)
    path = save_results(tmp_path, record)
    loaded = json.loads(path.read_text())
    assert path.name == "oracle.json"
    assert loaded["parameters"] == 1 and loaded["data_source"] == "synthetic"
    assert loaded["epochs"] == 1 and loaded["train_seconds"] == 12.5
    assert loaded["confusion_matrix"][0] == [3, 0, 2, 0]
    assert loaded["classes"] == CLASSES and loaded["batch_size"] == 4
    assert loaded["test_accuracy"] == ev.accuracy and loaded["seed"] == 42
    assert loaded["test_labels"][:6] == [0, 0, 0, 0, 0, 1] and loaded["test_predictions"][:3] == [2, 2, 0]


def test_results_table_from_fixture_json(tmp_path):
    history = [{"val_accuracy": 0.5}, {"val_accuracy": 0.75}]
    (tmp_path / "notebook_times.json").write_text(json.dumps({"seconds": {"01": 3}}))
    for name, acc in (("cnn0", 0.7), ("cnn3", 0.9)):
        (tmp_path / f"{name}.json").write_text(json.dumps({"model": name,
            "parameters": 33488 if name == "cnn0" else 9369668, "epochs": 2, "train_seconds": 90,
            "device": "cpu", "history": history, "test_accuracy": acc, "test_macro_f1": acc - 0.05,
        }))
    record = json.loads((tmp_path / "cnn3.json").read_text())
    (tmp_path / "cnn3.json").write_text(json.dumps(dict(record, dedup_test_accuracy=0.8, dedup_test_images=500)))
    lines = results_table(load_results(tmp_path)).splitlines()
    assert lines[2] == "| cnn0 | 33,488 | 2 | 1.5 min (cpu) | 0.750 | 0.700 | - | 0.650 | 0.72 (test) |"
    assert lines[3] == "| cnn3 | 9,369,668 | 2 | 1.5 min (cpu) | 0.750 | 0.900 | 0.800 (500) | 0.850 | 0.93 (validation) |"
    assert len(lines) == 4


def test_readme_tables_are_generated_between_markers(tmp_path):
    from mri_helpers.metrics import update_readme

    readme = tmp_path / "README.md"
    readme.write_text("intro\n<!-- results:start -->\nold\n<!-- results:end -->\n"
                      "<!-- speed:start -->\n<!-- speed:end -->\nend\n")
    results, bench = tmp_path / "results", tmp_path / "bench"
    results.mkdir()
    bench.mkdir()
    (results / "cnn2.json").write_text(json.dumps({
        "model": "cnn2", "parameters": 146860, "epochs": 10, "train_seconds": 600, "device": "cpu",
        "history": [{"val_accuracy": 0.8}], "test_accuracy": 0.81, "test_macro_f1": 0.8,
    }))
    assert update_readme(readme, results, bench)
    text = readme.read_text()
    assert "| cnn2 | 146,860 | 10 | 10.0 min (cpu) | 0.800 | 0.810 | - | 0.800 | 0.81 (test) |" in text
    assert "old" not in text and "Run `make bench` to measure." in text and text.endswith("end\n")
    (bench / "data_pipeline.json").write_text(json.dumps({
        "images": 64, "image_size": 256, "data_source": "real", "seed_style_img_per_s": 100, "cached_img_per_s": 450,
        "speedup": 4.5}))
    (bench / "train_throughput.json").write_text(json.dumps({"models": {"cnn0": {
        "image_size": 256, "train_img_per_s": 190, "inference_img_per_s": 900, "epoch_seconds": 30,
        "seed_style_epoch_seconds": 150, "epoch_speedup": 5.0}, "bestnet": {
        "image_size": 128, "train_img_per_s": 120, "inference_img_per_s": 450, "epoch_seconds": 48,
        "seed_style_epoch_seconds": None, "epoch_speedup": None}}}))
    assert update_readme(readme, results, bench)
    assert "| cnn0 (256 px) | 190 | 900 | 0.5 min | 2.5 min | 5.0x |" in readme.read_text()
    assert "| bestnet (128 px) | 120 | 450 | 0.8 min | - | - |" in readme.read_text()
    assert "**4.5x**" in readme.read_text()
    assert not update_readme(readme, results, bench)


FIXTURES = Path(__file__).parent / "fixtures" / "comparison"


def test_comparison_table_from_fixture_json():
    results = load_results(FIXTURES / "results")
    assert set(results) == {"bestnet", "cnn0", "cnn3"}  # leakage.json has no "model": not a model
    speed = json.loads((FIXTURES / "train_throughput.json").read_text())
    rows = comparison_rows(results, speed)
    assert list(rows) == ["bestnet", "cnn3"]  # cnn0 has no benchmark entry, so no row
    assert rows["cnn3"] == {
        "parameters": 9369668, "macs": 1107296256, "image_size": 256, "train_img_per_s": 16.8,
        "inference_img_per_s": 61.2, "epochs": 10, "train_minutes": 56.0, "test_accuracy": 0.945,
        "dedup_test_accuracy": 0.947, "test_macro_f1": 0.941,
    }
    assert rows["bestnet"]["dedup_test_accuracy"] is None
    lines = comparison_table(rows).splitlines()
    assert lines[0] == ("| model | parameters | MACs per image | input px | train img/s | inference img/s | epochs "
                        "| wall time (min) | test acc | de-duplicated test acc | test macro F1 |")
    assert lines[2] == "| bestnet | 1.17 M | 195.89 M | 128 | 120 | 456 | 14 | 11.5 | 0.975 | - | 0.974 |"
    assert lines[3] == "| cnn3 | 9.37 M | 1107.30 M | 256 | 17 | 61 | 10 | 56.0 | 0.945 | 0.947 | 0.941 |"
