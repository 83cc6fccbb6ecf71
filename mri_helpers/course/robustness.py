"""The robustness study: every trained run scored under every shift of :mod:`~mri_helpers.shifts`.

``python -m mri_helpers robustness`` (``make robustness``) trains the remedies (the
``"remedy"`` variants of :data:`~mri_helpers.recipes.VARIANTS`) on the seeds asked for, then
scores every run that has a checkpoint here and no score yet. Scores are filed like run
records, one file per run, written once: ``results/shifts/<name>/<run-id>.json``. The
tables below read them back and check them against the course's target.
"""

from __future__ import annotations

import json
import logging
import math
import os
from pathlib import Path

import numpy as np

from ..datasets import Datasets
from ..recipes import variants
from ..shifts import SHIFTS, shifted_accuracy
from ..stats import paired_over_seeds
from ..transforms import Prepare
from .files import OutputDirs, write_json
from .records import COURSE_MODELS, load_records, seed_runs
from .runs import load_model

log = logging.getLogger(__name__)

SHIFT_SCORES = "shifts"  # results/shifts/<name>/<run-id>.json: one run's test accuracy under each shift
STUDIED = (*COURSE_MODELS, *variants("remedy"))

# The course-best model's robustness target: over at least 3 seeds, a mean test accuracy of at
# least 0.975 as exported, and a mean loss of at most 2 points under every shift.
ROBUSTNESS_TARGET = {"seeds": 3, "floor": 0.975, "max_loss": 0.02}


def score_path(results: str | Path, record: dict) -> Path:
    return Path(results) / SHIFT_SCORES / record["name"] / f"{record['run_id']}.json"


def studied(records: list[dict], known: dict | None = None) -> list[dict]:
    """The runs the study compares: one run per seed of each course model and each remedy, as
    :func:`~mri_helpers.course.records.seed_runs` picks them (the current recipe; the fp32 run
    where a seed has both precisions)."""
    return [r for mine in seed_runs(records, known, names=STUDIED).values() for r in mine]


def score_runs(out: OutputDirs, data_for_size, known: dict | None = None) -> list[Path]:
    """Score every studied run that has a checkpoint and no score file yet; return the files written.

    ``data_for_size(image_size)`` gives the datasets at a run's image size. A run whose
    checkpoint is not on this machine is skipped with a log line.
    """
    written = []
    for record in studied(load_records(out.results), known):
        target = score_path(out.results, record)
        checkpoint = Path(out.checkpoints) / record["name"] / f"{record['run_id']}.pt"
        if target.exists():
            continue
        if not checkpoint.exists():
            log.warning("skipped %s %s: no checkpoint here (train it, or score it where it was trained)",
                        record["name"], record["run_id"])
            continue
        data: Datasets = data_for_size(record["image_size"])
        model, _ = load_model(checkpoint, device=None)
        scores = shifted_accuracy(model, data.test.subset(data.test.rows, raw=True), Prepare(data.normalize))
        write_json(target, {"run_id": record["run_id"], "name": record["name"], "seed": record["seed"],
                            "test_images": len(data.test), "accuracy": scores})
        print(f"{record['name']} seed {record['seed']}: " + ", ".join(f"{k} {v:.3f}" for k, v in scores.items()))
        written.append(target)
    return written


def load_scores(results: str | os.PathLike) -> list[dict]:
    """Every robustness score file (:mod:`robustness` writes one per run)."""
    return [json.loads(p.read_text()) for p in sorted((Path(results) / SHIFT_SCORES).glob("*/*.json"))]


def _mean_scores(scores: list[dict]) -> dict[str, tuple[int, dict[str, float], str]]:
    """Per model, in course order: its number of scored seeds, its mean accuracy per shift,
    and the shift whose mean loses most against the unshifted mean."""
    out = {}
    for name in STUDIED:
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
