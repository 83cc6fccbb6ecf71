"""Command line: ``python -m mri_helpers train ...``, ``predict ...`` and the course's chores.

Examples::

    python -m mri_helpers download
    python -m mri_helpers train --model cnn2 --data-dir data/brain-tumor-mri
    python -m mri_helpers train --model bestnet_robust_detail --seed 42 43 44
    python -m mri_helpers predict scan1.jpg scan2.png --model bestnet_robust_detail
    python -m mri_helpers predict scan1.jpg --checkpoint checkpoints/cnn2/seed42-0123456789ab.pt

``--model`` takes any name of :data:`~mri_helpers.recipes.VARIANTS`: a course model, an
ablation or a remedy.
"""

from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import replace
from pathlib import Path

import torch


def _out(args, source: str):
    from .files import OutputDirs, output_dirs

    if args.out:
        base = Path(args.out)
        return OutputDirs(base / "imgs", base / "results", base / "checkpoints", base / "notebooks")
    return output_dirs(source, quick=False)


def _train(args) -> int:
    from ..datasets import load_datasets
    from ..recipes import VARIANTS
    from ..sources import banner
    from .runs import describe, train_and_evaluate

    variant = VARIANTS[args.model]
    changes = {k: v for k, v in (("epochs", args.epochs), ("image_size", args.image_size),
                                 ("batch_size", args.batch_size), ("precision", args.precision),
                                 ("patience", args.patience)) if v is not None}
    recipe = replace(variant.recipe, **changes)
    data = load_datasets(args.data_dir, image_size=recipe.image_size)
    print(banner(data.source, data.root))
    for seed in args.seed:
        if variant.change:
            print(f"{args.model}: {variant.model} {variant.change}, seed {seed}", flush=True)
        result = train_and_evaluate(args.model, data, _out(args, data.source), recipe, seed=seed)
        print(result.test.report())
        print(describe(result))
        print(f"record {result.run.record}\ncheckpoint {result.run.checkpoint}")
    return 0


def _checkpoint(args) -> Path:
    """The checkpoint ``predict`` uses: ``--checkpoint``, else the newest of ``--model`` in this clone.

    Real-data runs (``checkpoints/``) come before quick or synthetic ones (``scratch/``).
    """
    if args.checkpoint:
        return Path(args.checkpoint)
    from ..sources import REPO_ROOT, DataError

    for pattern in (f"checkpoints/{args.model}/*.pt", f"scratch/*/checkpoints/{args.model}/*.pt"):
        found = sorted(REPO_ROOT.glob(pattern), key=lambda p: p.stat().st_mtime)
        if found:
            return found[-1]
    raise DataError(f"No checkpoint of {args.model} here: train it first "
                    f"(python -m mri_helpers train --model {args.model}) or pass --checkpoint.")


def _predict(args) -> int:
    from torchvision.transforms import v2

    from ..cache import BadImage, read_image
    from ..transforms import eval_transform
    from .runs import load_model

    checkpoint = _checkpoint(args)
    model, meta = load_model(checkpoint, device="cpu")
    if not args.checkpoint:
        print(f"using {args.model} run {checkpoint.stem} ({checkpoint.parent.parent.parent.name})", file=sys.stderr)
    transform = eval_transform(v2.Normalize(meta["mean"], meta["std"]))
    failed = 0
    for path in args.images:
        try:
            pixels = read_image(path, meta["image_size"])
        except FileNotFoundError:
            print(f"{path}: error: no such file", file=sys.stderr)
            failed += 1
            continue
        except (BadImage, IsADirectoryError, PermissionError) as err:
            print(f"{path}: error: {err}", file=sys.stderr)
            failed += 1
            continue
        with torch.no_grad():
            probs = torch.softmax(model(transform(torch.from_numpy(pixels))[None]), dim=1)[0]
        print(path + "\t" + "\t".join(f"{c}={p:.4f}" for c, p in zip(meta["classes"], probs.tolist())))
    return 1 if failed else 0


def _download(args) -> int:
    from ..sources import download

    print(f"dataset ready in {download(args.dest)}")
    return 0


def _run_notebooks(args) -> int:
    from .notebooks import run_all

    return run_all(args.notebooks, kernel=args.kernel, timeout=args.timeout)


def _readme(args) -> int:
    from ..sources import REPO_ROOT
    from .tables import update_readme

    changed = update_readme(REPO_ROOT / "README.md", REPO_ROOT / "results", REPO_ROOT / "benchmarks" / "results")
    print("README tables " + ("updated" if changed else "already up to date"))
    return 0


def _robustness(args) -> int:
    """Train each remedy on each seed, then score every run with a checkpoint under every shift."""
    from ..datasets import load_datasets
    from ..recipes import variants
    from ..sources import banner
    from .robustness import robustness_report, score_runs
    from .runs import describe, train_and_evaluate

    cache = {}

    def data_for_size(size: int):
        if size not in cache:
            cache[size] = load_datasets(args.data_dir, image_size=size)
        return cache[size]

    for name, variant in variants("remedy").items():
        data = data_for_size(variant.recipe.image_size)
        print(banner(data.source, data.root))
        for seed in args.seed:
            print(describe(train_and_evaluate(name, data, _out(args, data.source), seed=seed)))
    out = _out(args, data.source)
    score_runs(out, data_for_size)
    print(robustness_report(out.results))
    return 0


def _held_out(args) -> int:
    """Score the runs here under the held-out and seen shifts on one half; choose on validation."""
    from ..datasets import load_datasets
    from ..sources import banner
    from .robustness import CHOICE, make_choice, score_held_out

    cache = {}

    def data_at(size: int):
        if size not in cache:
            cache[size] = load_datasets(args.data_dir, image_size=size)
            if len(cache) == 1:
                print(banner(cache[size].source, cache[size].root))
        return cache[size]

    out = _out(args, data_at(128).source)
    score_held_out(out, data_at, args.half, names=args.names)
    if args.half == "validation":
        verdict = make_choice(out.results)
        if verdict:
            print(f"chosen on the validation half: {verdict['chosen']} ({CHOICE})")
    return 0


def _ship(args) -> int:
    """Export the seed-42 run of a model as shipped weights (weights/), with its manifest entry."""
    from ..sources import REPO_ROOT
    from ..weights import WEIGHTS, export
    from .records import load_records, seed_runs

    runs = seed_runs(load_records(REPO_ROOT / "results"), names=(args.model,)).get(args.model, [])
    record = next((r for r in runs if r["seed"] == 42 and r["data_source"] == "real"), None)
    if record is None:
        raise ValueError(f"no real-data seed-42 record of {args.model} in results/: train it first")
    entry = export(REPO_ROOT / "checkpoints" / args.model / f"{record['run_id']}.pt", args.model, record, WEIGHTS)
    print(f"weights/{entry['file']}: run {entry['run_id']}, {entry['bytes'] / 1e6:.1f} MB, sha256 {entry['sha256'][:12]}…")
    return 0


def _badges(args) -> int:
    from ..sources import REPO_ROOT
    from .editions import write_hosted_cells

    paths = args.notebooks or sorted(str(p) for p in (REPO_ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    written = write_hosted_cells(paths)
    print(f"badges and hosted set-up cell: {len(written)} of {len(paths)} notebooks rewritten")
    return 0


def _course_stats(args) -> int:
    from ..sources import REPO_ROOT
    from .files import write_json
    from .measure import measure, stats_table

    paths = args.notebooks or sorted(str(p) for p in (REPO_ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    stats = measure(paths)
    write_json(REPO_ROOT / "results" / "course_stats.json", stats)
    print(stats_table(stats))
    return 0


def _student(args) -> int:
    from .editions import write_student_edition

    written = write_student_edition(args.notebooks, args.dest)
    print(f"student edition: {len(written)} notebooks in {args.dest}")
    return 0


def _slides(args) -> int:
    from .editions import write_slides

    written = write_slides(args.notebooks, args.dest, args.reveal_url_prefix)
    print(f"slides: {len(written)} decks in {args.dest} (open one in a browser)")
    return 0


def main(argv: list[str] | None = None) -> int:
    from ..recipes import VARIANTS
    from ..sources import DataError
    from .precision import PRECISIONS

    parser = argparse.ArgumentParser(prog="python -m mri_helpers", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    train = sub.add_parser("train", help="train a course model or variant; write its checkpoint and run record")
    train.add_argument("--model", choices=VARIANTS, required=True, help="a course model, ablation or remedy")
    train.add_argument("--epochs", type=int, default=None, help="default: the model's recipe (10; bestnet 14)")
    train.add_argument("--batch-size", type=int, default=None, help="default: the recipe's 32 (try 128+ on a GPU)")
    train.add_argument("--image-size", type=int, default=None, help="default: the model's recipe (256; bestnet 128)")
    train.add_argument("--precision", choices=PRECISIONS, default=None,
                       help="default: the recipe's 'auto' (bf16 where the hardware runs it fast, else fp32)")
    train.add_argument("--seed", type=int, nargs="+", default=[42], help="one or more seeds, trained in turn")
    train.add_argument("--patience", type=int, default=None, help="early-stopping patience (epochs)")
    train.add_argument("--data-dir", default=None, help="folder with Training/ and Testing/ (default: auto)")
    train.add_argument("--out", default=None, help="write results/ and checkpoints/ here (default: the repository)")
    predict = sub.add_parser("predict", help="print class probabilities, one line per image")
    predict.add_argument("images", nargs="+")
    source = predict.add_mutually_exclusive_group(required=True)
    source.add_argument("--checkpoint", help="a checkpoint file")
    source.add_argument("--model", choices=VARIANTS, help="the newest checkpoint of this model or variant here")
    fetch = sub.add_parser("download", help="download the Kaggle dataset (version 1) into data/brain-tumor-mri/")
    fetch.add_argument("--dest", default=None)
    runner = sub.add_parser("run-notebooks", help="run notebooks with papermill, writing each only on success")
    runner.add_argument("notebooks", nargs="+")
    runner.add_argument("--kernel", default="python3")
    runner.add_argument("--timeout", type=int, default=7200, help="seconds per cell")
    sub.add_parser("readme", help="regenerate the README's results and speed tables from the JSON files")
    robust = sub.add_parser("robustness", help="train the robust BestNets, then score every run under scan shifts")
    robust.add_argument("--seed", type=int, nargs="*", default=[42, 43, 44], help="seeds of the remedies to train")
    robust.add_argument("--data-dir", default=None)
    robust.add_argument("--out", default=None)
    ship = sub.add_parser("ship", help="write a model's seed-42 weights in half precision to weights/, with its sha256")
    ship.add_argument("--model", choices=VARIANTS, required=True)
    held = sub.add_parser("held-out", help="score the runs here under the held-out shifts on one half; "
                          "on the validation half, then choose the robust recipe (once)")
    held.add_argument("--half", choices=("validation", "test"), required=True)
    held.add_argument("--names", nargs="*", default=None, help="only these models or variants (default: all)")
    held.add_argument("--data-dir", default=None)
    held.add_argument("--out", default=None)
    badge = sub.add_parser("badges", help="(re)write every notebook's Kaggle/Colab badges and hosted set-up cell")
    badge.add_argument("notebooks", nargs="*", help="default: every course notebook")
    stats = sub.add_parser("course-stats", help="measure what students write and read; write results/course_stats.json")
    stats.add_argument("notebooks", nargs="*", help="default: every course notebook")
    student = sub.add_parser("student", help="write the student edition: solutions replaced by stubs, no outputs")
    student.add_argument("notebooks", nargs="+")
    student.add_argument("--dest", default="scratch/student")
    slides = sub.add_parser("slides", help="turn notebooks into reveal.js slide decks")
    slides.add_argument("notebooks", nargs="+")
    slides.add_argument("--dest", default="scratch/slides")
    slides.add_argument("--reveal-url-prefix", default=None, help="where reveal.js is served (default: a CDN)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        command = {"train": _train, "predict": _predict, "download": _download, "run-notebooks": _run_notebooks,
                   "readme": _readme, "course-stats": _course_stats,
                   "robustness": _robustness, "held-out": _held_out, "ship": _ship, "badges": _badges, "student": _student, "slides": _slides}
        return command[args.command](args)
    except (DataError, FileNotFoundError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
