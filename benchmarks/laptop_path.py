"""The whole course as a student runs it on a laptop CPU: CNN0-CNN2 trained, the slower models loaded.

    MRI_DATA_DIR=../shared/brain-tumor-mri python benchmarks/laptop_path.py [--notebooks 01 02 ...]

A fresh clone of this repository's HEAD in a temporary folder stands in for the student's:
the committed records and ``weights/`` are there, no checkpoint and no decoded-image cache.
Every notebook runs there in course order under papermill, with ``SHIPPED = True`` wherever a
notebook takes that parameter, and each is timed. Beside the total, ``full_training_minutes``
adds back the recorded training time of each run the laptop path loads from ``weights/`` or, for
notebook 13's unchosen remedy, reads as filed.

Writes ``benchmarks/results/laptop_path.json`` (only when every notebook ran).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import papermill

from mri_helpers.course.files import write_json
from mri_helpers.course.lesson import reader
from mri_helpers.course.notebooks import local_kernel_manager
from mri_helpers.course.precision import cpu_model
from mri_helpers.sources import REPO_ROOT, resolve_data_dir, source_of

TARGET_MINUTES = 30  # issue 21: the laptop path, CNN0-CNN2 trained, on a 2-core CPU


RECORDED = ["bestnet_robust"]  # notebook 13 reads it as filed with SHIPPED (its weights would pass 25 MB)


def shipped_minutes(clone: Path) -> dict[str, float]:
    """The recorded training minutes of each run the laptop path loads or reads instead of training."""
    manifest = json.loads((clone / "weights" / "manifest.json").read_text())
    records = {name: json.loads((clone / entry["record"]).read_text()) for name, entry in manifest.items()}
    records |= {name: reader("real", results_dir=clone / "results").recorded(name).record for name in RECORDED}
    return {name: round(record["train_seconds"] / 60, 1) for name, record in records.items()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--notebooks", nargs="*", default=None, help="only these two-digit numbers (a trial run)")
    parser.add_argument("--kernel", default="mri-course")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds per cell")
    args = parser.parse_args()

    data = resolve_data_dir()
    if source_of(data) != "real":
        sys.exit("the laptop path needs the real data (the shipped weights were trained on it): set MRI_DATA_DIR")
    with tempfile.TemporaryDirectory() as tmp:
        clone = Path(tmp) / "course"
        subprocess.run(["git", "clone", "-q", str(REPO_ROOT), str(clone)], check=True)
        commit = subprocess.run(["git", "-C", str(clone), "rev-parse", "--short", "HEAD"], check=True,
                                capture_output=True, text=True).stdout.strip()
        # the clone's package, results and weights, and an empty image cache, as a student starts
        os.environ.update(PYTHONPATH=str(clone), MRI_DATA_DIR=str(Path(data).resolve()))
        for name in ("MRI_QUICK", "MRI_CACHE_DIR"):  # the clone's own data/cache/ starts empty
            os.environ.pop(name, None)
        notebooks = sorted((clone / "notebooks").glob("[0-9][0-9]_*.ipynb"))
        if args.notebooks:
            notebooks = [nb for nb in notebooks if nb.name[:2] in args.notebooks]
        seconds, shipped = {}, []
        for nb in notebooks:
            parameters = {"SHIPPED": True} if "SHIPPED" in papermill.inspect_notebook(str(nb)) else {}
            if parameters:
                shipped.append(nb.stem)
            print(f"{nb.stem}{' (shipped weights)' if parameters else ''} ...", end=" ", flush=True)
            start = time.perf_counter()
            papermill.execute_notebook(str(nb), str(nb), parameters=parameters, kernel_name=args.kernel,
                                       cwd=str(nb.parent), execution_timeout=args.timeout, progress_bar=False,
                                       kernel_manager_class=local_kernel_manager())
            seconds[nb.stem] = round(time.perf_counter() - start, 1)
            print(f"{seconds[nb.stem]:.0f} s", flush=True)
        skipped = shipped_minutes(clone)
    total = sum(seconds.values()) / 60
    result = {"cpu": cpu_model(), "cpu_count": os.cpu_count(), "commit": commit, "data_source": "real",
              "shipped_in": shipped, "seconds": seconds, "minutes": round(total, 1),
              "target_minutes": TARGET_MINUTES, "met": total <= TARGET_MINUTES,
              "shipped_training_minutes": skipped,
              "full_training_minutes": round(total + sum(skipped.values()), 1)}
    print(json.dumps(result, indent=1))
    if args.notebooks:
        print("a trial run over some notebooks: nothing written")
        return
    write_json(Path(__file__).parent / "results" / "laptop_path.json", result)


if __name__ == "__main__":
    main()
