"""Numbers derived from the run records, computed when read: scores, tables, the README.

Run records (:mod:`runs`) are written once and never edited. Everything derived from
them is computed here, each time it is needed, by joining the records with the leakage
audit (``results/leakage.json``, notebook 08), the robustness scores (``results/shifts/``,
:mod:`robustness`) and the benchmark JSON. So rerunning one
notebook can never drop a number that another notebook added.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np

from .files import atomic_path
from .models import MODELS, build_model
from .runs import SCHEMA, architecture
from .shifts import SHIFTS
from .stats import Paired, accuracy_interval, difference_interval, format_accuracy, mcnemar, paired_over_seeds, spread
from .training import ABLATIONS, RECIPES, ROBUST, Recipe

# What the original project reported: test accuracy for CNN0-CNN2, validation for CNN3.
REFERENCE_PRECISION = "fp32"  # the course's reported runs; bf16 runs are compared with them

SHIFT_SCORES = "shifts"  # results/shifts/<name>/<run-id>.json: one run's test accuracy under each shift

# The course-best model's robustness target (issue: "honest numbers"): over at least 3 seeds,
# a mean test accuracy of at least 0.975 as exported, and a mean loss of at most 2 points under every shift.
ROBUSTNESS_TARGET = {"seeds": 3, "floor": 0.975, "max_loss": 0.02}

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


def course_spec(name: str, recipes: dict | None = None) -> tuple[str, dict, Recipe]:
    """The model, its options and the recipe the course trains ``name`` with: a course model
    of ``recipes`` (default :data:`~mri_helpers.training.RECIPES`), a remedy of
    :data:`~mri_helpers.training.ROBUST` or an ablation of :data:`~mri_helpers.training.ABLATIONS`."""
    for variants in (ROBUST, ABLATIONS):
        if name in variants:
            _, model, options, recipe = variants[name]
            return model, options, recipe
    return name, {}, (recipes or RECIPES)[name]


def is_current(record: dict, name: str, recipes: dict | None = None) -> bool:
    """Was ``record`` made by the course's recipe and architecture for ``name``, as they are now?

    ``recipes`` defaults to :data:`~mri_helpers.training.RECIPES` (a quick pass passes its
    shrunk ones). Precision is not compared: the same recipe runs in fp32 or bf16
    depending on the machine.
    """
    if record["name"] != name:
        return False
    model_name, options, recipe = course_spec(name, recipes)
    recipe = {k: v for k, v in recipe.identity().items() if k != "precision"}
    theirs = {k: v for k, v in record["fingerprint"]["recipe"].items() if k != "precision"}
    model = build_model(model_name, num_classes=len(record["classes"]), image_size=record["image_size"], **options)
    return (theirs == recipe and record["fingerprint"]["model_options"] == options
            and record["fingerprint"]["architecture"] == architecture(model))


def seed_runs(records: list[dict], recipes: dict | None = None, names=MODELS) -> dict[str, list[dict]]:
    """For each name of ``names`` (the course models by default; remedies and ablations
    too, see :func:`course_spec`), one record of its course recipe per seed (seed order),
    in the order of ``names``.

    A seed trained in both fp32 and bf16 (the parity study, :func:`precision_parity`) counts
    once, by its fp32 run: fp32 is the course's reference precision.
    """
    runs = {}
    for name in names:
        mine = sorted((r for r in records if is_current(r, name, recipes)),
                      key=lambda r: (r["seed"], r["precision"] != REFERENCE_PRECISION, r["run_id"]))
        one_per_seed = {}
        for record in mine:  # sorted so that a seed's fp32 run comes first
            one_per_seed.setdefault(record["seed"], record)
        if one_per_seed:
            runs[name] = list(one_per_seed.values())
    return runs


def precision_parity(records: list[dict], recipes: dict | None = None) -> dict[str, dict]:
    """Per model, its course runs in fp32 against bf16 on the seeds trained in both.

    For each such model: the seeds, each precision's test accuracies with their mean and
    standard deviation, and per seed the exact McNemar test of the two runs (the same
    initial weights and data order, so they pair image by image), and the paired t-test of
    the accuracies over the seeds (:func:`stats.paired_over_seeds`). Speed is not compared
    here: the runs' wall times depend on what else the machine was doing, and ``make
    bench`` times both precisions side by side.
    """
    out = {}
    for name in MODELS:
        mine = [r for r in records if is_current(r, name, recipes)]
        row = compare_seeds({p: [r for r in mine if r["precision"] == p] for p in ("bf16", "fp32")})
        if row:
            out[name] = row
    return out


def compare_seeds(by: dict[str, list[dict]]) -> dict | None:
    """Two recipes, ``{label: records}`` (A first, then B; one record per seed), on the seeds both were trained on.

    Returns the seeds; per label its test accuracies and their mean and standard deviation;
    per seed the exact McNemar test of A's run against B's on their shared test images (for
    one architecture the same seed also gives the same initial weights, and for one
    augmentation the same data order; an ablation that changes either pairs more loosely); and the paired
    t-test of the accuracies over the seeds (:func:`stats.paired_over_seeds`). ``None``
    when no seed has both.
    """
    by = {label: {r["seed"]: r for r in records} for label, records in by.items()}
    (a, runs_a), (b, runs_b) = by.items()
    seeds = sorted(set(runs_a) & set(runs_b))
    if not seeds:
        return None
    row = {"seeds": seeds, "paired": {s: paired(runs_a[s], runs_b[s]) for s in seeds}}
    for label, runs in by.items():
        accuracies = [runs[s]["test_accuracy"] for s in seeds]
        row[label] = {"test_accuracy": accuracies, "mean_sd": spread(accuracies)}
    row["over_seeds_p"] = paired_over_seeds(row[a]["test_accuracy"], row[b]["test_accuracy"])
    return row


def describe_comparison(row: dict, a: str, b: str) -> str:
    """One :func:`compare_seeds` row as a sentence's worth of numbers, A against B."""
    acc = {label: "{} ({:.3f} ± {:.3f})".format(", ".join(f"{x:.3f}" for x in row[label]["test_accuracy"]),
                                               *row[label]["mean_sd"]) for label in (a, b)}
    tests = ", ".join(f"{t.p_value:.2g} ({t.only_a}:{t.only_b})" for t in row["paired"].values())
    over = "-" if math.isnan(row["over_seeds_p"]) else f"{row['over_seeds_p']:.2g}"
    gap, low, high = difference_interval(row[a]["test_accuracy"], row[b]["test_accuracy"])
    interval = "" if math.isnan(low) else f", 95% CI {100 * low:.1f} to {100 * high:.1f}"
    return (f"seeds {', '.join(map(str, row['seeds']))}: {a} {acc[a]} against {b} {acc[b]}; "
            f"McNemar p per seed (only {a} right : only {b} right) {tests}; paired t over seeds p = {over} "
            f"(mean gap {100 * gap:.1f} points{interval})")


def parity_table(parity: dict[str, dict]) -> str:
    """:func:`precision_parity` as a Markdown table (a hint when no model has both)."""
    if not parity:
        return "No model has been trained in both precisions on the same seed yet."
    lines = ["| model | seeds | fp32 test acc | bf16 test acc | fp32 mean ± sd | bf16 mean ± sd "
             "| McNemar p per seed, bf16 vs fp32 (discordant) | paired t over seeds p |",
             "| --- | --- | --- | --- | ---: | ---: | --- | ---: |"]
    for name, row in parity.items():
        accs = {p: ", ".join(f"{a:.3f}" for a in row[p]["test_accuracy"]) for p in ("fp32", "bf16")}
        sd = {p: "{:.3f} ± {:.3f}".format(*row[p]["mean_sd"]) for p in ("fp32", "bf16")}
        tests = ", ".join(f"{t.p_value:.2f} ({t.only_a}:{t.only_b})" for t in row["paired"].values())
        over = "-" if math.isnan(row["over_seeds_p"]) else f"{row['over_seeds_p']:.2f}"
        lines.append(f"| {name} | {', '.join(map(str, row['seeds']))} | {accs['fp32']} | {accs['bf16']} "
                     f"| {sd['fp32']} | {sd['bf16']} | {tests} | {over} |")
    return "\n".join(lines)


def course_runs(records: list[dict], recipes: dict | None = None, seed: int = 42) -> dict[str, dict]:
    """For each model, the record of its course recipe and ``seed`` (the worked example), in course order."""
    picked = {}
    for name, mine in seed_runs(records, recipes).items():
        chosen = [r for r in mine if r["seed"] == seed]
        if chosen:
            picked[name] = chosen[0]
    return picked


def twins(results_dir: str | os.PathLike) -> list[int] | None:
    """Testing indices with a twin in Training, from notebook 08's audit (``None`` before it has run)."""
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


def paired(a: dict, b: dict) -> Paired:
    """Exact McNemar test of two run records on their shared test images (A is ``a``)."""
    if a["test_indices"] != b["test_indices"]:
        raise ValueError(f"{a['name']} and {b['name']} were scored on different test images: pair runs of one split.")
    return mcnemar(a["test_labels"], a["test_predictions"], b["test_predictions"])


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
        twin_free = "-" if twin_free is None else f"{twin_free:.3f}"
        lines.append(
            f"| {name} | {r['parameters']:,} | {r['epochs']} | {r['train_seconds'] / 60:.1f} min ({r['device']}) "
            f"| {r['history'][-1]['val_accuracy']:.3f} | {interval} | {seeds} | {twin_free} "
            f"| {r['test_macro_f1']:.3f} | {was} |"
        )
    return "\n".join(lines)


def course_table(results_dir: str | os.PathLike, recipes: dict | None = None) -> str:
    """:func:`results_table` of every model's course runs (all seeds) in ``results_dir``."""
    return results_table(seed_runs(load_records(results_dir), recipes), twins(results_dir))


def time_to_accuracy(record: dict) -> dict:
    """Wall minutes until a run's validation accuracy first reached its final value, from its history."""
    history = record["history"]
    final = history[-1]["val_accuracy"]
    reached = next(i for i, h in enumerate(history) if h["val_accuracy"] >= final)
    return {"epoch": reached + 1, "minutes": sum(h["seconds"] for h in history[: reached + 1]) / 60,
            "device": record["device"], "precision": record["precision"]}


def speed_table(data_pipeline: dict | None, train: dict | None, runs: dict[str, dict] | None = None) -> str:
    """Markdown tables of the benchmark JSON files (absent files give a hint instead).

    ``runs`` (:func:`course_runs`) adds each model's time to its final validation
    accuracy, from the run's own per-epoch history: measured on the machine that trained
    it, which need not be the benchmark's.
    """
    if not (data_pipeline and train):
        return "Run `make bench` to measure."
    auto = train["auto_precision"]
    bf16 = train["cpu_bf16"] if train["device"] == "cpu" else []
    if train["device"] != "cpu":
        why = "."
    elif auto == "bf16":
        why = f" (fast bfloat16: {', '.join(bf16)})."
    elif bf16:
        why = f" ({', '.join(bf16)} but no AMX: bfloat16 runs, but no faster; see the bf16 column)."
    else:
        why = " (no bfloat16 instructions on this CPU)."
    lines = [
        f"Input pipeline, {data_pipeline['images']} training images at {data_pipeline['image_size']} px "
        f"({data_pipeline['data_source']} data, warm cache): seed-style {data_pipeline['seed_style_img_per_s']:.0f} img/s, "
        f"cached {data_pipeline['cached_img_per_s']:.0f} img/s, **{data_pipeline['speedup']:.1f}x**.",
        "",
        f"Training on {train['device']} ({train['device_name']}, {train['torch_threads']} threads); "
        f"auto precision here is **{auto}**" + why,
        "",
        "| model | train img/s fp32 / bf16 | inference img/s fp32 / bf16 | epoch (auto) | recipe (auto) "
        "| epoch seed-style | speed-up | time to final val acc |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]

    def pair(m: dict, key: str) -> str:
        return f"{m['fp32'][key]:.0f} / " + (f"{m['bf16'][key]:.0f}" if "bf16" in m else "-")

    for name, m in train["models"].items():
        best = m["auto"]
        seed = m.get("seed_style")
        was = f"{seed['epoch_seconds'] / 60:.1f} min | {seed['speedup']:.1f}x" if seed else "- | -"
        tta = time_to_accuracy(runs[name]) if runs and name in runs else None
        reached = (f"{tta['minutes']:.1f} min (epoch {tta['epoch']}, {tta['device']} {tta['precision']})"
                   if tta else "-")
        lines.append(
            f"| {name} ({m['image_size']} px) | {pair(m, 'train_img_per_s')} | {pair(m, 'inference_img_per_s')} "
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


def load_scores(results: str | os.PathLike) -> list[dict]:
    """Every robustness score file (:mod:`robustness` writes one per run)."""
    return [json.loads(p.read_text()) for p in sorted((Path(results) / SHIFT_SCORES).glob("*/*.json"))]


def _mean_scores(scores: list[dict]) -> dict[str, tuple[int, dict[str, float], str]]:
    """Per model, in course order: its number of scored seeds, its mean accuracy per shift,
    and the shift whose mean loses most against the unshifted mean."""
    out = {}
    for name in (*MODELS, *ROBUST):
        mine = [s["accuracy"] for s in scores if s["name"] == name]
        if mine:
            mean = {c: sum(m[c] for m in mine) / len(mine) for c in mine[0]}
            out[name] = (len(mine), mean, max(SHIFTS, key=lambda c: mean["none"] - mean[c]))
    return out


def robustness_table(scores: list[dict]) -> str:
    """Markdown: per model, mean test accuracy over its seeds with no shift and under each
    shift, and its largest mean loss (in points) under any shift."""
    if not scores:
        return "No scores yet: run `make robustness` where the checkpoints are."
    columns = ["none", *SHIFTS]
    lines = ["| model | seeds | " + " | ".join(columns) + " | largest loss |",
             "| --- | ---: |" + " ---: |" * (len(columns) + 1)]
    for name, (n, mean, worst) in _mean_scores(scores).items():
        cells = [f"{mean[c]:.3f}" for c in columns]
        lines.append(f"| {name} | {n} | " + " | ".join(cells) + f" | {100 * (mean['none'] - mean[worst]):.1f} ({worst}) |")
    return "\n".join(lines)


def robustness_verdicts(scores: list[dict], target: dict | None = None) -> dict[str, str]:
    """Per model, one line on :data:`ROBUSTNESS_TARGET`: met, missed (and where), or not yet measured.

    With fewer seeds than the target asks for, a model is "not yet measured" unless even
    perfect scores on its missing seeds could not lift its means to the target.
    """
    target = target or ROBUSTNESS_TARGET
    verdicts = {}
    for name, (n, mean, worst) in _mean_scores(scores).items():
        loss = mean["none"] - mean[worst]
        facts = (f"{mean['none']:.3f} as exported (target ≥ {target['floor']}), largest loss "
                 f"{100 * loss:.1f} points, {worst} (target ≤ {100 * target['max_loss']:.0f})")
        missing = max(target["seeds"] - n, 0)
        # the best the missing seeds could do: 1.0 as exported and under every shift
        best = {c: (v * n + missing) / (n + missing) for c, v in mean.items()}
        missed = [what for what, bad in (("accuracy", best["none"] < target["floor"]),
                                         ("loss", max(best["none"] - best[c] for c in SHIFTS) > target["max_loss"]))
                  if bad]
        if missed and missing:
            verdict = (f"cannot meet the target ({' and '.join(missed)}), whatever its missing "
                       + ("seed scores" if missing == 1 else f"{missing} seeds score"))
        elif missing:
            verdict = f"not yet measured: {n} of {target['seeds']} seeds scored"
        else:
            verdict = "meets the target" if not missed else "misses the target on " + " and ".join(missed)
        verdicts[name] = f"{name} ({n} seed{'s' * (n != 1)}): {facts}: {verdict}"
    return verdicts


def shift_comparison(scores: list[dict], a: str, b: str) -> str:
    """Markdown: two models' scores with no shift and under each shift, compared seed by seed.

    Per column, the mean over the seeds both were scored on, the mean difference in points
    (A minus B) and the paired t-test over those seeds (:func:`stats.paired_over_seeds`).
    The score files keep accuracies, not per-scan predictions, so the seeds are the pairs.
    """
    by = {name: {s["seed"]: s["accuracy"] for s in scores if s["name"] == name} for name in (a, b)}
    seeds = sorted(set(by[a]) & set(by[b]))
    if not seeds:
        return f"No seed has scores for both {a} and {b} yet."
    lines = [f"| shift | {a} | {b} | difference (points) | paired t p ({len(seeds)} seeds) |",
             "| --- | ---: | ---: | ---: | ---: |"]
    for column in ("none", *SHIFTS):
        x, y = ([by[name][s][column] for s in seeds] for name in (a, b))
        p = paired_over_seeds(x, y)
        points = round(100 * (np.mean(x) - np.mean(y)), 1) + 0.0  # + 0.0: no "-0.0"
        lines.append(f"| {column} | {np.mean(x):.3f} | {np.mean(y):.3f} | {points:+.1f} "
                     f"| {'-' if math.isnan(p) else f'{p:.2g}'} |")
    return "\n".join(lines)


def robustness_report(results_dir: str | os.PathLike) -> str:
    """The robustness table and, under it, each model's verdict on the target."""
    scores = load_scores(results_dir)
    if not scores:
        return robustness_table(scores)
    return robustness_table(scores) + "\n\n" + "\n".join(f"- {v}" for v in robustness_verdicts(scores).values())


MARKERS = {key: (f"<!-- {key}:start -->", f"<!-- {key}:end -->")
           for key in ("results", "speed", "parity", "robustness")}


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
    if MARKERS["parity"][0] in new:
        new = _replace_between(new, MARKERS["parity"], parity_table(precision_parity(records)))
    if MARKERS["robustness"][0] in new:
        new = _replace_between(new, MARKERS["robustness"], robustness_report(results_dir))
    if new != text:
        with atomic_path(readme) as tmp:
            tmp.write_text(new)
    return new != text
