"""The run records the course has filed, and comparisons between them.

Run records (:mod:`runs`) are written once and never edited. Everything derived from them
is computed when read, here and in :mod:`tables` and :mod:`robustness`, so rerunning one
notebook can never drop a number that another notebook added.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

from ..models import build_model
from ..recipes import VARIANTS, Variant, variants
from ..stats import Paired, difference_interval, mcnemar, paired_over_seeds, spread
from .runs import SCHEMA, architecture

REFERENCE_PRECISION = "fp32"  # the course's reported runs; bf16 runs are compared with them
COURSE_MODELS = tuple(variants("course"))

def load_records(results_dir: str | os.PathLike) -> list[dict]:
    """Every run record (``<results_dir>/<name>/<run-id>.json``) of the current schema."""
    records = []
    for path in sorted(Path(results_dir).glob("*/*.json")):
        record = json.loads(path.read_text())
        if record.get("schema") == SCHEMA:
            records.append(record)
    return records




def is_current(record: dict, name: str, known: dict[str, Variant] | None = None) -> bool:
    """Was ``record`` made by the course's model, options and recipe for ``name``, as they are now?

    ``known`` defaults to :data:`~mri_helpers.recipes.VARIANTS` (a quick pass passes its
    shrunk ones). Precision is not compared: the same recipe runs in fp32 or bf16
    depending on the machine.
    """
    variant = (known or VARIANTS).get(name)
    if record["name"] != name or variant is None:
        return False
    recipe = {k: v for k, v in variant.recipe.identity().items() if k != "precision"}
    theirs = {k: v for k, v in record["fingerprint"]["recipe"].items() if k != "precision"}
    model = build_model(variant.model, num_classes=len(record["classes"]), image_size=record["image_size"],
                        **variant.options)
    return (theirs == recipe and record["fingerprint"]["model_options"] == variant.options
            and record["fingerprint"]["architecture"] == architecture(model))


def seed_runs(records: list[dict], known: dict[str, Variant] | None = None,
              names=COURSE_MODELS) -> dict[str, list[dict]]:
    """For each name of ``names`` (the course models by default; any variant's name works),
    one record of its current recipe per seed (seed order), in the order of ``names``.

    A seed trained in both fp32 and bf16 (the parity study, :func:`precision_parity`) counts
    once, by its fp32 run: fp32 is the course's reference precision.
    """
    runs = {}
    for name in names:
        mine = sorted((r for r in records if is_current(r, name, known)),
                      key=lambda r: (r["seed"], r["precision"] != REFERENCE_PRECISION, r["run_id"]))
        one_per_seed = {}
        for record in mine:  # sorted so that a seed's fp32 run comes first
            one_per_seed.setdefault(record["seed"], record)
        if one_per_seed:
            runs[name] = list(one_per_seed.values())
    return runs


def precision_parity(records: list[dict], known: dict[str, Variant] | None = None) -> dict[str, dict]:
    """Per model, its course runs in fp32 against bf16 on the seeds trained in both.

    For each such model: the seeds, each precision's test accuracies with their mean and
    standard deviation, and per seed the exact McNemar test of the two runs (the same
    initial weights and data order, so they pair image by image), and the paired t-test of
    the accuracies over the seeds (:func:`stats.paired_over_seeds`). Speed is not compared
    here: the runs' wall times depend on what else the machine was doing, and ``make
    bench`` times both precisions side by side.
    """
    out = {}
    for name in COURSE_MODELS:
        mine = [r for r in records if is_current(r, name, known)]
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


def course_runs(records: list[dict], known: dict[str, Variant] | None = None, seed: int = 42) -> dict[str, dict]:
    """For each model, the record of its course recipe and ``seed`` (the worked example), in course order."""
    picked = {}
    for name, mine in seed_runs(records, known).items():
        chosen = [r for r in mine if r["seed"] == seed]
        if chosen:
            picked[name] = chosen[0]
    return picked



def paired(a: dict, b: dict) -> Paired:
    """Exact McNemar test of two run records on their shared test images (A is ``a``)."""
    if a["test_indices"] != b["test_indices"]:
        raise ValueError(f"{a['name']} and {b['name']} were scored on different test images: pair runs of one split.")
    return mcnemar(a["test_labels"], a["test_predictions"], b["test_predictions"])
