"""The tables the notebooks print and the README shows, computed from the records when read.

Nothing here is typed by hand: every number comes from a run record (:mod:`records`), the
leakage audit (``results/leakage.json``, notebook 09), the robustness scores
(:mod:`robustness`) or the benchmark JSON. ``python -m mri_helpers readme`` rewrites the
README's generated tables between their markers.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from ..sources import REPO_ROOT
from ..stats import accuracy_interval, format_accuracy, spread
from .files import atomic_path
from .held_out import held_out_report
from .measure import stats_table
from .records import course_runs, load_records, parity_table, precision_parity, seed_runs
from .robustness import robustness_report
from .speed import compile_table, laptop_table, speed_table

# What the original project reported: test accuracy for CNN0-CNN2, validation for CNN3.
ORIGINAL = {
    "cnn0": ("test", 0.72),
    "cnn1": ("test", 0.77),
    "cnn2": ("test", 0.81),
    "cnn3": ("validation", 0.93),
}


def twins(results_dir: str | os.PathLike) -> list[int] | None:
    """Testing indices with a twin in Training, from notebook 09's audit (``None`` before it has run)."""
    path = Path(results_dir) / "leakage.json"
    return json.loads(path.read_text())["test_with_twin"] if path.exists() else None


def _twin_free(record: dict, twins: list[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per test image of a record: its label, whether the prediction was right, whether it has no twin."""
    drop = set(twins)
    free = np.array([i not in drop for i in record["test_indices"]])
    labels = np.array(record["test_labels"])
    return labels, np.array(record["test_predictions"]) == labels, free


def deduplicated_accuracy(record: dict, twins: list[int]) -> tuple[float, int]:
    """Test accuracy of a record on the test images without a twin in Training.

    Uses the per-image predictions stored in the record, so no model has to run again.
    Returns ``(accuracy, number of images kept)``. Dropping the twins also changes the
    class mix (most twins are *notumor*), so compare it with :func:`reweighted_accuracy`.
    """
    _, right, free = _twin_free(record, twins)
    return float(right[free].mean()), int(free.sum())


def reweighted_accuracy(record: dict, twins: list[int]) -> float | None:
    """Twin-free accuracy with the class mix of the whole test half.

    Each class's accuracy is measured on its test images without a twin, and the classes
    are then weighted by their share of the full test half. Unlike
    :func:`deduplicated_accuracy`, a change of class mix cannot move it: only a change in
    how well each class is recognised can. ``None`` when a class is left with no twin-free
    image (a tiny test set): the score is then undefined.
    """
    labels, right, free = _twin_free(record, twins)
    total = 0.0
    for c in np.unique(labels):
        mine = free & (labels == c)
        if not mine.any():
            return None
        total += (labels == c).mean() * right[mine].mean()
    return float(total)


def reweighted_interval(record: dict, twins: list[int], resamples: int = 2000, seed: int = 0) -> tuple[float, float]:
    """A 95% percentile bootstrap interval for :func:`reweighted_accuracy`.

    Each draw resamples every class's twin-free test images with replacement (so each class
    keeps its count and its weight) and re-weights as the score does. A class left with few
    twin-free images, ``notumor`` here, makes the interval wide: read gaps against it.
    """
    labels, right, free = _twin_free(record, twins)
    rng = np.random.default_rng(seed)
    draws = np.zeros(resamples)
    for c in np.unique(labels):
        mine = right[free & (labels == c)]
        if mine.size == 0:
            return float("nan"), float("nan")
        draws += (labels == c).mean() * mine[rng.integers(0, mine.size, (resamples, mine.size))].mean(axis=1)
    low, high = np.percentile(draws, [2.5, 97.5])
    return float(low), float(high)


def twin_breakdown(record: dict, twins: list[int]) -> list[dict]:
    """Per class: how many test images have a twin in Training, and the accuracy with and without one."""
    labels, right, free = _twin_free(record, twins)
    rows = []
    for c, name in enumerate(record["classes"]):
        mine = labels == c
        row = {"class": name}
        for key, part in (("with_twin", mine & ~free), ("without_twin", mine & free)):
            row[key] = int(part.sum())
            row[f"{key}_accuracy"] = float(right[part].mean()) if part.any() else None
        rows.append(row)
    return rows


def format_twin_breakdown(rows: list[dict]) -> str:
    """:func:`twin_breakdown` as aligned text for a notebook."""
    def cell(n, acc):
        return f"{n:>4} {'-' if acc is None else f'{acc:.3f}':>7}"

    lines = [f"{'class':<12}{'with a twin':>14}{'without':>14}", f"{'':<12}{'n    acc':>14}{'n    acc':>14}"]
    for r in rows:
        lines.append(f"{r['class']:<12}  {cell(r['with_twin'], r['with_twin_accuracy'])}  "
                     f"{cell(r['without_twin'], r['without_twin_accuracy'])}")
    return "\n".join(lines)




def results_table(runs: dict[str, list[dict]], twin_list: list[int] | None, seed: int = 42) -> str:
    """A Markdown table of the runs, one row per name, beside the original project's numbers.

    ``runs`` maps a name to its records, one per seed. The row's own numbers are the
    ``seed`` run's (the worked example; the first seed if it has none), with a 95% Wilson
    interval on its test accuracy; "over seeds" is the mean ± standard deviation of every
    seed's test accuracy. The validation accuracy is the evaluated epoch's (the last),
    so it describes the same weights as the test score.
    """
    lines = [
        "| model | parameters | epochs | train time | val acc | test acc [95% CI] | test acc over seeds "
        "| twin-free acc (re-weighted) | test macro F1 | original |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for name, records in runs.items():
        r = next((x for x in records if x["seed"] == seed), records[0])
        original = ORIGINAL.get(name)
        was = f"{original[1]:.2f} ({original[0]})" if original else "-"
        interval = format_accuracy(*accuracy_interval(r["test_labels"], r["test_predictions"]))
        mean, sd = spread([x["test_accuracy"] for x in records])
        seeds = f"{mean:.3f} ± {sd:.3f} ({len(records)} seeds)" if len(records) > 1 else "1 seed"
        twin_free = reweighted_accuracy(r, twin_list) if twin_list is not None else None
        twin_free = "-" if twin_free is None else "{:.3f} [{:.3f}, {:.3f}]".format(
            twin_free, *reweighted_interval(r, twin_list))
        lines.append(
            f"| {name} | {r['parameters']:,} | {r['epochs']} | {r['train_seconds'] / 60:.1f} min ({r['device']}) "
            f"| {r['history'][-1]['val_accuracy']:.3f} | {interval} | {seeds} | {twin_free} "
            f"| {r['test_macro_f1']:.3f} | {was} |"
        )
    return "\n".join(lines)


def clinical_table(runs: dict[str, dict]) -> str:
    """Markdown: per model's seed-42 run (:func:`course_runs`), what a clinician asks, from the
    probabilities its record keeps (:mod:`~mri_helpers.clinical`): the one-vs-rest AUC of each
    class, tumour sensitivity and specificity with Wilson intervals, and the calibration error
    before and after temperature scaling fitted on the validation half. A record without
    probabilities is left out, and a line under the table says so."""
    from ..clinical import auc_per_class, expected_calibration_error, fit_temperature, scale, tumour_screen

    lines = ["| model | AUC per class (one vs rest) | tumour sensitivity [95% CI] | specificity [95% CI] "
             "| ECE | temperature (validation) | ECE after |", "| --- | --- | ---: | ---: | ---: | ---: | ---: |"]
    skipped = []
    for name, r in runs.items():
        if "test_probabilities" not in r:
            skipped.append(name)
            continue
        labels, probs = np.array(r["test_labels"]), np.array(r["test_probabilities"])
        auc = auc_per_class(labels, probs, r["classes"])
        screen = tumour_screen(labels, r["test_predictions"], r["classes"])
        t = fit_temperature(r["val_labels"], r["val_probabilities"])
        aucs = ", ".join(f"{c} {a[0]:.3f}" for c, a in auc.items())
        lines.append(f"| {name} | {aucs} | {format_accuracy(*screen.sensitivity)} | {format_accuracy(*screen.specificity)} "
                     f"| {expected_calibration_error(labels, probs):.3f} | {t:.2f} "
                     f"| {expected_calibration_error(labels, scale(probs, t)):.3f} |")
    if skipped:
        lines.append(f"\nNot shown: {', '.join(skipped)} (their records predate stored probabilities; retrain to add them).")
    return "\n".join(lines)


def course_table(results_dir: str | os.PathLike, known=None) -> str:
    """:func:`results_table` of every model's course runs (all seeds) in ``results_dir``."""
    return results_table(seed_runs(load_records(results_dir), known), twins(results_dir))


def benchmark(path: str | os.PathLike | None = None) -> dict:
    """The training-speed benchmark's JSON (default: ``benchmarks/results/train_throughput.json``)."""
    return json.loads(Path(path or REPO_ROOT / "benchmarks" / "results" / "train_throughput.json").read_text())


COMPARISON_COLUMNS = {
    "parameters": "parameters",
    "macs": "MACs per image",
    "image_size": "input px",
    "train_img_per_s": "train img/s",
    "inference_img_per_s": "inference img/s",
    "epochs": "epochs",
    "train_minutes": "wall time (min)",
    "test_accuracy": "test acc",
    "test_interval": "95% CI",
    "twin_free_accuracy": "twin-free acc (re-weighted)",
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
            "test_interval": accuracy_interval(r["test_labels"], r["test_predictions"])[1:],
            "twin_free_accuracy": reweighted_accuracy(r, twin_list) if twin_list is not None else None,
            "test_macro_f1": r["test_macro_f1"],
        }
    return rows


def _cell(key: str, value) -> str:
    if value is None:
        return "-"
    if key in ("parameters", "macs"):
        return f"{value / 1e9:.2f} G" if value >= 1e9 else f"{value / 1e6:.2f} M"
    if key in ("train_img_per_s", "inference_img_per_s"):
        return f"{value:.0f}"
    if key == "train_minutes":
        return f"{value:.1f}"
    if key == "test_interval":
        return f"{value[0]:.3f}-{value[1]:.3f}"
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


MARKERS = {key: (f"<!-- {key}:start -->", f"<!-- {key}:end -->")
           for key in ("results", "clinical", "speed", "parity", "robustness", "held-out", "course-stats",
                       "laptop", "compile")}


def _replace_between(text: str, markers: tuple[str, str], body: str) -> str:
    start, end = text.index(markers[0]) + len(markers[0]), text.index(markers[1])
    return text[:start] + "\n" + body + "\n" + text[end:]


def update_readme(readme: str | os.PathLike, results_dir: str | os.PathLike, bench_dir: str | os.PathLike) -> bool:
    """Rewrite the README's generated tables from the JSON files; return whether it changed."""
    readme, bench_dir = Path(readme), Path(bench_dir)
    bench = {p.stem: json.loads(p.read_text()) for p in bench_dir.glob("*.json")}
    text = readme.read_text()
    records = load_records(results_dir)
    table = results_table(seed_runs(records), twins(results_dir))
    new = _replace_between(text, MARKERS["results"], table)
    new = _replace_between(new, MARKERS["speed"], speed_table(bench.get("data_pipeline"), bench.get("train_throughput"),
                                                            course_runs(records)))
    if MARKERS["clinical"][0] in new:
        new = _replace_between(new, MARKERS["clinical"], clinical_table(course_runs(records)))
    if MARKERS["parity"][0] in new:
        new = _replace_between(new, MARKERS["parity"], parity_table(precision_parity(records)))
    if MARKERS["robustness"][0] in new:
        new = _replace_between(new, MARKERS["robustness"], robustness_report(results_dir))
    if MARKERS["held-out"][0] in new:
        new = _replace_between(new, MARKERS["held-out"], held_out_report(results_dir))
    if MARKERS["laptop"][0] in new:
        new = _replace_between(new, MARKERS["laptop"], laptop_table(bench.get("laptop_path")))
    if MARKERS["compile"][0] in new:
        new = _replace_between(new, MARKERS["compile"], compile_table(bench.get("compile_step")))
    if MARKERS["course-stats"][0] in new:
        stats = Path(results_dir) / "course_stats.json"
        new = _replace_between(new, MARKERS["course-stats"],
                               stats_table(json.loads(stats.read_text()) if stats.exists() else None))
    if new != text:
        with atomic_path(readme) as tmp:
            tmp.write_text(new)
    return new != text
