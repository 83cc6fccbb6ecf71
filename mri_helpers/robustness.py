"""The robustness study: every trained run scored under every shift of :mod:`shifts`.

``python -m mri_helpers robustness`` (``make robustness``) trains the remedy
(:data:`~mri_helpers.training.ROBUST`) on the seeds asked for, then scores every run that
has a checkpoint here and no score yet. Scores are filed like run records, one file per
run, written once: ``results/shifts/<name>/<run-id>.json``. :mod:`reports` joins them.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from .datasets import Datasets
from .files import OutputDirs, write_json
from .models import MODELS
from .reports import is_current, load_records
from .runs import load_model
from .shifts import SHIFTS, shifted_accuracy
from .training import ROBUST
from .transforms import Prepare

log = logging.getLogger(__name__)


def score_path(results: str | Path, record: dict) -> Path:
    return Path(results) / "shifts" / record["name"] / f"{record['run_id']}.json"


def studied(records: list[dict], recipes: dict | None = None) -> list[dict]:
    """The runs the study compares: every seed of each course model (``recipes``, as in
    :func:`~mri_helpers.reports.is_current`) and of the remedy."""
    return [r for r in records
            if (r["name"] in MODELS and is_current(r, r["name"], recipes)) or r["name"] in ROBUST]


def score_runs(out: OutputDirs, data_for_size, recipes: dict | None = None) -> list[Path]:
    """Score every studied run that has a checkpoint and no score file yet; return the files written.

    ``data_for_size(image_size)`` gives the datasets at a run's image size. A run whose
    checkpoint is not on this machine is skipped with a log line.
    """
    written = []
    for record in studied(load_records(out.results), recipes):
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


def load_scores(results: str | Path) -> list[dict]:
    """Every score file of the study."""
    return [json.loads(p.read_text()) for p in sorted((Path(results) / "shifts").glob("*/*.json"))]


def robustness_table(scores: list[dict]) -> str:
    """Markdown: per model, mean test accuracy over its seeds with no shift and under each shift."""
    if not scores:
        return "No scores yet: run `make robustness` where the checkpoints are."
    columns = ["none", *SHIFTS]
    names = [n for n in (*MODELS, *ROBUST) if any(s["name"] == n for s in scores)]
    lines = ["| model | seeds | " + " | ".join(columns) + " |", "| --- | ---: |" + " ---: |" * len(columns)]
    for name in names:
        mine = [s["accuracy"] for s in scores if s["name"] == name]
        cells = [f"{sum(m[c] for m in mine) / len(mine):.3f}" for c in columns]
        lines.append(f"| {name} | {len(mine)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
