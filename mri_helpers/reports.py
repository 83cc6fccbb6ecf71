"""Numbers derived from the run records, computed when read: scores, tables, the README.

Run records (:mod:`runs`) are written once and never edited. Everything derived from
them is computed here, each time it is needed, by joining the records with the leakage
audit (``results/leakage.json``, notebook 08) and the benchmark JSON. So rerunning one
notebook can never drop a number that another notebook added.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path

import numpy as np

from .files import atomic_path
from .models import MODELS, build_model
from .runs import SCHEMA, architecture
from .training import RECIPES

# What the original project reported: test accuracy for CNN0-CNN2, validation for CNN3.
ORIGINAL = {
    "cnn0": ("test", 0.72),
    "cnn1": ("test", 0.77),
    "cnn2": ("test", 0.81),
    "cnn3": ("validation", 0.93),
}


def load_records(results_dir: str | os.PathLike) -> list[dict]:
    """Every run record (``<results_dir>/<name>/<run-id>.json``) of the current schema."""
    records = []
    for path in sorted(Path(results_dir).glob("*/*.json")):
        record = json.loads(path.read_text())
        if record.get("schema") == SCHEMA:
            records.append(record)
    return records


def is_current(record: dict, name: str, recipes: dict | None = None) -> bool:
    """Was ``record`` made by the course's recipe and architecture for ``name``, as they are now?

    ``recipes`` defaults to :data:`~mri_helpers.training.RECIPES` (a quick pass passes its
    shrunk ones). Precision is not compared: the same recipe runs in fp32 or bf16
    depending on the machine.
    """
    if record["name"] != name:
        return False
    recipe = {k: v for k, v in asdict((recipes or RECIPES)[name]).items() if k != "precision"}
    theirs = {k: v for k, v in record["fingerprint"]["recipe"].items() if k != "precision"}
    model = build_model(name, num_classes=len(record["classes"]), image_size=record["image_size"])
    return (record["name"] == name and theirs == recipe and not record["fingerprint"]["model_options"]
            and record["fingerprint"]["architecture"] == architecture(model))


def course_runs(records: list[dict], recipes: dict | None = None, seed: int = 42) -> dict[str, dict]:
    """For each model, the record of its course recipe and ``seed`` (the worked example), in course order."""
    picked = {}
    for name in MODELS:
        mine = sorted((r for r in records if r["seed"] == seed and is_current(r, name, recipes)),
                      key=lambda r: r["run_id"])
        if mine:
            picked[name] = mine[0]
    return picked


def twins(results_dir: str | os.PathLike) -> list[int] | None:
    """Testing indices with a twin in Training, from notebook 08's audit (``None`` before it has run)."""
    path = Path(results_dir) / "leakage.json"
    return json.loads(path.read_text())["test_with_twin"] if path.exists() else None


def deduplicated_accuracy(record: dict, twins: list[int]) -> tuple[float, int]:
    """Test accuracy of a record on the test images without a twin in Training.

    Uses the per-image predictions stored in the record, so no model has to run again.
    Returns ``(accuracy, number of images kept)``.
    """
    drop = set(twins)
    keep = np.array([i not in drop for i in record["test_indices"]])
    right = np.array(record["test_predictions"]) == np.array(record["test_labels"])
    return float(right[keep].mean()), int(keep.sum())


def results_table(records: dict[str, dict], twin_list: list[int] | None) -> str:
    """A Markdown table of the runs beside the original project's numbers."""
    lines = [
        "| model | parameters | epochs | train time | best val acc | test acc | de-duplicated test acc "
        "| test macro F1 | original |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for name, r in records.items():
        best_val = max(h["val_accuracy"] for h in r["history"])
        original = ORIGINAL.get(name)
        was = f"{original[1]:.2f} ({original[0]})" if original else "-"
        dedup = "-"
        if twin_list is not None:
            accuracy, kept = deduplicated_accuracy(r, twin_list)
            dedup = f"{accuracy:.3f} ({kept})"
        lines.append(
            f"| {name} | {r['parameters']:,} | {r['epochs']} | {r['train_seconds'] / 60:.1f} min ({r['device']}) "
            f"| {best_val:.3f} | {r['test_accuracy']:.3f} | {dedup} | {r['test_macro_f1']:.3f} | {was} |"
        )
    return "\n".join(lines)


def course_table(results_dir: str | os.PathLike, recipes: dict | None = None) -> str:
    """:func:`results_table` of every model's course run in ``results_dir``, de-duplicated column included."""
    return results_table(course_runs(load_records(results_dir), recipes), twins(results_dir))


def speed_table(data_pipeline: dict | None, train: dict | None) -> str:
    """Markdown tables of the benchmark JSON files (absent files give a hint instead)."""
    if not (data_pipeline and train):
        return "Run `make bench` to measure."
    auto = train["auto_precision"]
    lines = [
        f"Input pipeline, {data_pipeline['images']} training images at {data_pipeline['image_size']} px "
        f"({data_pipeline['data_source']} data, warm cache): seed-style {data_pipeline['seed_style_img_per_s']:.0f} img/s, "
        f"cached {data_pipeline['cached_img_per_s']:.0f} img/s, **{data_pipeline['speedup']:.1f}x**.",
        "",
        f"Training on {train['device']} ({train['device_name']}, {train['torch_threads']} threads); "
        f"auto precision here is **{auto}**"
        + (f" (fast bfloat16: {', '.join(train['cpu_bf16'])})." if train["device"] == "cpu" and train["cpu_bf16"]
           else " (no fast bfloat16 on this CPU, so auto is fp32 and both columns measure the same thing)."
           if train["device"] == "cpu" else "."),
        "",
        "| model | train img/s fp32 / auto | inference img/s fp32 / auto | epoch (auto) | recipe (auto) "
        "| epoch seed-style | speed-up | time to final val acc |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, m in train["models"].items():
        fp32, best = m["fp32"], m["auto"]
        seed = m.get("seed_style")
        was = f"{seed['epoch_seconds'] / 60:.1f} min | {seed['speedup']:.1f}x" if seed else "- | -"
        tta = m.get("time_to_accuracy")
        reached = (f"{tta['minutes']:.1f} min (epoch {tta['epoch']}, {tta['device']} {tta['precision']})"
                   if tta else "-")
        lines.append(
            f"| {name} ({m['image_size']} px) | {fp32['train_img_per_s']:.0f} / {best['train_img_per_s']:.0f} "
            f"| {fp32['inference_img_per_s']:.0f} / {best['inference_img_per_s']:.0f} "
            f"| {best['epoch_seconds'] / 60:.1f} min | {best['recipe_minutes']:.1f} min | {was} | {reached} |"
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


def comparison_rows(records: dict[str, dict], speed: dict, twin_list: list[int] | None) -> dict[str, dict]:
    """One row per model that has both a run record and a benchmark entry.

    ``records`` is :func:`course_runs`' output, ``speed`` the ``train_throughput``
    benchmark JSON. Nothing is typed by hand: every value is read from one of them or
    derived here. A value that is missing (say, no leakage audit yet) is ``None``.
    """
    rows = {}
    for name, r in records.items():
        bench = speed["models"].get(name)
        if bench is None:
            continue
        rows[name] = {
            "parameters": r["parameters"],
            "macs": bench["macs"],
            "image_size": r["image_size"],
            "train_img_per_s": bench["auto"]["train_img_per_s"],
            "inference_img_per_s": bench["auto"]["inference_img_per_s"],
            "epochs": r["epochs"],
            "train_minutes": r["train_seconds"] / 60,
            "test_accuracy": r["test_accuracy"],
            "dedup_test_accuracy": deduplicated_accuracy(r, twin_list)[0] if twin_list is not None else None,
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
    table = results_table(course_runs(load_records(results_dir)), twins(results_dir))
    new = _replace_between(text, MARKERS["results"], table)
    new = _replace_between(new, MARKERS["speed"], speed_table(bench.get("data_pipeline"), bench.get("train_throughput")))
    if new != text:
        with atomic_path(readme) as tmp:
            tmp.write_text(new)
    return new != text
