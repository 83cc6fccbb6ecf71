"""The robustness study: every trained run scored under every shift of :mod:`shifts`.

``python -m mri_helpers robustness`` (``make robustness``) trains the remedies
(:data:`~mri_helpers.training.ROBUST`) on the seeds asked for, then scores every run that
has a checkpoint here and no score yet. Scores are filed like run records, one file per
run, written once: ``results/shifts/<name>/<run-id>.json``. :mod:`reports` reads them into
the robustness table and checks them against the course's target.
"""

from __future__ import annotations

import logging
from pathlib import Path

from .datasets import Datasets
from .files import OutputDirs, write_json
from .models import MODELS
from .reports import SHIFT_SCORES, load_records, seed_runs
from .runs import load_model
from .shifts import shifted_accuracy
from .training import ROBUST
from .transforms import Prepare

log = logging.getLogger(__name__)


def score_path(results: str | Path, record: dict) -> Path:
    return Path(results) / SHIFT_SCORES / record["name"] / f"{record['run_id']}.json"


def studied(records: list[dict], recipes: dict | None = None) -> list[dict]:
    """The runs the study compares: one run per seed of each course model (``recipes``) and
    of each remedy, as :func:`~mri_helpers.reports.seed_runs` picks them (the current
    recipe; the fp32 run where a seed has both precisions)."""
    return [r for mine in seed_runs(records, recipes, names=(*MODELS, *ROBUST)).values() for r in mine]


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
