"""Evaluation: classification reports, confusion matrices and the results JSON.

The original project printed its reports with the class names in the wrong order: its
"pituitary" row was really glioma. Here the names always come from
``load_datasets(...).classes`` (the sorted folder names that also define the label
numbers), and scikit-learn is told the label order explicitly, so row ``i`` is class ``i``.
"""

from __future__ import annotations

import json
import os
import platform
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import classification_report, confusion_matrix, f1_score

from .files import atomic_path, write_json
from .models import layer_parameters


# What the original project reported: test accuracy for CNN0-CNN2, validation for CNN3.
ORIGINAL = {
    "cnn0": ("test", 0.72),
    "cnn1": ("test", 0.77),
    "cnn2": ("test", 0.81),
    "cnn3": ("validation", 0.93),
}


@dataclass
class Evaluation:
    """Predictions on one split, and what scikit-learn says about them."""

    y_true: np.ndarray
    y_pred: np.ndarray
    probs: np.ndarray
    classes: list[str]

    @property
    def accuracy(self) -> float:
        return float((self.y_true == self.y_pred).mean())

    @property
    def macro_f1(self) -> float:
        return float(f1_score(self.y_true, self.y_pred, average="macro", zero_division=0))

    def _report(self, as_dict: bool):
        return classification_report(
            self.y_true,
            self.y_pred,
            labels=list(range(len(self.classes))),
            target_names=self.classes,
            digits=3,
            zero_division=0,
            output_dict=as_dict,
        )

    def report(self) -> str:
        """The text report, one row per class, for printing."""
        return self._report(as_dict=False)

    def report_dict(self) -> dict:
        return self._report(as_dict=True)

    def confusion(self) -> np.ndarray:
        """Rows are true classes, columns predicted classes, in ``classes`` order."""
        return confusion_matrix(self.y_true, self.y_pred, labels=list(range(len(self.classes))))


def evaluate(trainer, loader, classes: list[str]) -> Evaluation:
    """Run ``trainer.predict`` on ``loader`` and wrap the result."""
    y_true, y_pred, probs = trainer.predict(loader)
    return Evaluation(y_true, y_pred, probs, list(classes))


def results_record(name: str, trainer, test: Evaluation, data_source: str, **extra) -> dict:
    """Everything a results table needs about one trained model, as plain JSON types."""
    params = layer_parameters(trainer.model)
    return {
        "model": name,
        "data_source": data_source,
        "seed": trainer.seed,
        "epochs": len(trainer.history),
        "stopped_early": trainer.stopped_early,
        "train_seconds": round(sum(h["seconds"] for h in trainer.history), 1),
        "lr": trainer.meta.get("lr"),
        "parameters": sum(params.values()),
        "layer_parameters": params,
        "history": trainer.history,
        "test_accuracy": test.accuracy,
        "test_macro_f1": test.macro_f1,
        "test_report": test.report_dict(),
        "confusion_matrix": test.confusion().tolist(),
        "test_labels": test.y_true.tolist(),
        "test_predictions": test.y_pred.tolist(),
        "classes": test.classes,
        "device": trainer.device.type,
        "torch": torch.__version__,
        "cpu_threads": torch.get_num_threads(),
        "platform": platform.machine(),
        **extra,
    }


def save_results(directory: str | os.PathLike, record: dict):
    """Write ``<directory>/<model>.json`` atomically and return its path."""
    return write_json(os.path.join(directory, f"{record['model']}.json"), record)


def load_results(directory: str | os.PathLike) -> dict[str, dict]:
    """Every model's results JSON in ``directory`` (files with a ``model`` key), by name."""
    loaded = {p.stem: json.loads(p.read_text()) for p in sorted(Path(directory).glob("*.json"))}
    return {name: r for name, r in loaded.items() if "model" in r}


def results_table(results: dict[str, dict]) -> str:
    """A Markdown table of our results beside the original project's numbers."""
    lines = [
        "| model | parameters | epochs | train time | best val acc | test acc | de-duplicated test acc "
        "| test macro F1 | original |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for name, r in results.items():
        best_val = max(h["val_accuracy"] for h in r["history"])
        original = ORIGINAL.get(name)
        was = f"{original[1]:.2f} ({original[0]})" if original else "-"
        dedup = f"{r['dedup_test_accuracy']:.3f} ({r['dedup_test_images']})" if "dedup_test_accuracy" in r else "-"
        lines.append(
            f"| {name} | {r['parameters']:,} | {r['epochs']} | {r['train_seconds'] / 60:.1f} min ({r['device']}) "
            f"| {best_val:.3f} | {r['test_accuracy']:.3f} | {dedup} | {r['test_macro_f1']:.3f} | {was} |"
        )
    return "\n".join(lines)


def speed_table(data_pipeline: dict | None, train: dict | None) -> str:
    """Markdown tables of the benchmark JSON files (absent files give a hint instead)."""
    if not (data_pipeline and train):
        return "Run `make bench` to measure."
    lines = [
        f"Input pipeline, {data_pipeline['images']} training images at {data_pipeline['image_size']} px "
        f"({data_pipeline['data_source']} data, warm cache): seed-style {data_pipeline['seed_style_img_per_s']:.0f} img/s, "
        f"cached {data_pipeline['cached_img_per_s']:.0f} img/s, **{data_pipeline['speedup']:.1f}x**.",
        "",
        "| model | train img/s | inference img/s | epoch (this course) | epoch (seed-style) | speed-up |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, m in train["models"].items():
        seed_style = m.get("seed_style_epoch_seconds")
        was = f"{seed_style / 60:.1f} min | {m['epoch_speedup']:.1f}x" if seed_style else "- | -"
        lines.append(
            f"| {name} ({m.get('image_size', 256)} px) | {m['train_img_per_s']:.0f} | {m['inference_img_per_s']:.0f} "
            f"| {m['epoch_seconds'] / 60:.1f} min | {was} |"
        )
    return "\n".join(lines)


COMPARISON_COLUMNS = {
    "parameters": "parameters",
    "macs": "MACs per image",
    "image_size": "input px",
    "train_img_per_s": "train img/s",
    "inference_img_per_s": "inference img/s",
    "epochs": "epochs",
    "train_minutes": "wall time (min)",
    "test_accuracy": "test acc",
    "dedup_test_accuracy": "de-duplicated test acc",
    "test_macro_f1": "test macro F1",
}


def comparison_rows(results: dict[str, dict], speed: dict) -> dict[str, dict]:
    """One row per model that has both a results JSON and a benchmark entry.

    ``results`` is :func:`load_results`' output, ``speed`` the ``train_throughput``
    benchmark JSON. Nothing is typed by hand: every value is read from one of the two.
    A value that is missing (say, no leakage audit yet) is ``None``.
    """
    rows = {}
    for name, r in results.items():
        bench = speed["models"].get(name)
        if bench is None:
            continue
        rows[name] = {
            "parameters": r["parameters"],
            "macs": bench["macs"],
            "image_size": r.get("image_size"),
            "train_img_per_s": bench["train_img_per_s"],
            "inference_img_per_s": bench["inference_img_per_s"],
            "epochs": r["epochs"],
            "train_minutes": r["train_seconds"] / 60,
            "test_accuracy": r["test_accuracy"],
            "dedup_test_accuracy": r.get("dedup_test_accuracy"),
            "test_macro_f1": r["test_macro_f1"],
        }
    return rows


def _cell(key: str, value) -> str:
    if value is None:
        return "-"
    if key in ("parameters", "macs"):
        return f"{value / 1e6:.2f} M"
    if key in ("train_img_per_s", "inference_img_per_s"):
        return f"{value:.0f}"
    if key == "train_minutes":
        return f"{value:.1f}"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def comparison_table(rows: dict[str, dict]) -> str:
    """The comparison rows as a Markdown table."""
    lines = [
        "| model | " + " | ".join(COMPARISON_COLUMNS.values()) + " |",
        "| --- |" + " ---: |" * len(COMPARISON_COLUMNS),
    ]
    for name, row in rows.items():
        lines.append(f"| {name} | " + " | ".join(_cell(k, row[k]) for k in COMPARISON_COLUMNS) + " |")
    return "\n".join(lines)


MARKERS = {"results": ("<!-- results:start -->", "<!-- results:end -->"), "speed": ("<!-- speed:start -->", "<!-- speed:end -->")}


def _replace_between(text: str, markers: tuple[str, str], body: str) -> str:
    start, end = text.index(markers[0]) + len(markers[0]), text.index(markers[1])
    return text[:start] + "\n" + body + "\n" + text[end:]


def update_readme(readme: str | os.PathLike, results_dir: str | os.PathLike, bench_dir: str | os.PathLike) -> bool:
    """Rewrite the README's results and speed tables from the JSON files; return whether it changed."""
    readme, bench_dir = Path(readme), Path(bench_dir)
    bench = {p.stem: json.loads(p.read_text()) for p in bench_dir.glob("*.json")}
    text = readme.read_text()
    new = _replace_between(text, MARKERS["results"], results_table(load_results(results_dir)))
    new = _replace_between(new, MARKERS["speed"], speed_table(bench.get("data_pipeline"), bench.get("train_throughput")))
    if new != text:
        with atomic_path(readme) as tmp:
            tmp.write_text(new)
    return new != text
