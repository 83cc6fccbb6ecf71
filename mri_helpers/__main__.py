"""Command line: ``python -m mri_helpers train ...`` and ``python -m mri_helpers predict ...``.

Examples::

    python -m mri_helpers download
    python -m mri_helpers train --model cnn2 --epochs 10 --data-dir data/brain-tumor-mri
    python -m mri_helpers predict scan1.jpg scan2.png --checkpoint checkpoints/cnn2.pt
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import torch
from torchvision.transforms import v2


def _train(args) -> int:
    from .data import banner, load_datasets
    from .files import OutputDirs, output_dirs
    from .training import RECIPES, train_and_evaluate

    image_size = args.image_size or RECIPES[args.model].image_size
    data = load_datasets(args.data_dir, image_size=image_size, seed=args.seed)
    print(banner(data.source, data.root))
    if args.out:
        out = OutputDirs(*(Path(args.out) / d for d in ("imgs", "results", "checkpoints")))
    else:
        out = output_dirs(data.source, quick=False)
    _, test, record = train_and_evaluate(
        args.model, data, out, epochs=args.epochs, batch_size=args.batch_size, seed=args.seed,
        patience=args.patience,
    )
    print(test.report())
    print(f"{args.model}: test accuracy {record['test_accuracy']:.3f} after {record['epochs']} epochs "
          f"({record['train_seconds']:.0f} s of training)")
    print(f"wrote {out.results / (args.model + '.json')} and {out.checkpoints / (args.model + '.pt')}")
    return 0


def _predict(args) -> int:
    from .data import BadImage, eval_transform, read_image
    from .training import Trainer

    trainer = Trainer.from_checkpoint(args.checkpoint, device="cpu")
    model, meta = trainer.model, trainer.meta
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
    from .data import download

    print(f"dataset ready in {download(args.dest)}")
    return 0


def _run_notebooks(args) -> int:
    from .notebooks import run_all

    return run_all(args.notebooks, kernel=args.kernel, timeout=args.timeout)


def _readme(args) -> int:
    from .files import REPO_ROOT
    from .metrics import update_readme

    changed = update_readme(REPO_ROOT / "README.md", REPO_ROOT / "results", REPO_ROOT / "benchmarks" / "results")
    print("README tables " + ("updated" if changed else "already up to date"))
    return 0


def main(argv: list[str] | None = None) -> int:
    from .data import DataError
    from .models import MODELS

    parser = argparse.ArgumentParser(prog="python -m mri_helpers", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    train = sub.add_parser("train", help="train one model; write its checkpoint and results JSON")
    train.add_argument("--model", choices=MODELS, required=True)
    train.add_argument("--epochs", type=int, default=None, help="default: the model's recipe (10; bestnet 14)")
    train.add_argument("--batch-size", type=int, default=32)
    train.add_argument("--image-size", type=int, default=None, help="default: the model's recipe (256; bestnet 128)")
    train.add_argument("--seed", type=int, default=42)
    train.add_argument("--patience", type=int, default=None, help="early-stopping patience (epochs)")
    train.add_argument("--data-dir", default=None, help="folder with Training/ and Testing/ (default: auto)")
    train.add_argument("--out", default=None, help="write results/ and checkpoints/ here (default: the repository)")
    predict = sub.add_parser("predict", help="print class probabilities, one line per image")
    predict.add_argument("images", nargs="+")
    predict.add_argument("--checkpoint", required=True)
    fetch = sub.add_parser("download", help="download the Kaggle dataset (version 1) into data/brain-tumor-mri/")
    fetch.add_argument("--dest", default=None)
    runner = sub.add_parser("run-notebooks", help="run notebooks with papermill, replacing each only on success")
    runner.add_argument("notebooks", nargs="+")
    runner.add_argument("--kernel", default="python3")
    runner.add_argument("--timeout", type=int, default=7200, help="seconds per cell")
    sub.add_parser("readme", help="regenerate the README's results and speed tables from the JSON files")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        command = {"train": _train, "predict": _predict, "download": _download, "run-notebooks": _run_notebooks,
                   "readme": _readme}
        return command[args.command](args)
    except (DataError, FileNotFoundError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
