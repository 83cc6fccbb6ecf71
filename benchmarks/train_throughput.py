"""Training speed per model on this machine: fp32 against auto precision, and against the seed-style pipeline.

    MRI_DATA_DIR=../shared/brain-tumor-mri python benchmarks/train_throughput.py [--device cuda]

For each model, at its recipe's image size and batch size (or ``--batch-size``), all in
one run so the ratios compare like with like:

* ``macs``: multiply-accumulates per image (convolutions and linear layers);
* per precision, ``fp32``, ``bf16`` where the device has bfloat16 instructions at all (so
  the JSON shows whether they pay), and ``auto`` (a copy of what :mod:`mri_helpers.course.precision`
  picks here, ``fp16`` measured if that is the pick): ``train_img_per_s`` (the trainer's own step: raw uint8 batch to the device, augmented
  there, forward, backward, step; loading included), ``inference_img_per_s``, and the
  projected ``epoch_seconds`` (a training pass over every training image plus a
  validation pass) and ``recipe_minutes`` (the recipe's epochs of them);
* on a CPU, for CNN0-CNN3, the seed-style epoch (NCHW, ``ImageFolder`` + PIL every
  epoch, workers 0) and this course's speed-up over it;

Throughput is timed on ``--images`` random training images (the first batch warms up)
and scaled to the full training set. Writes ``benchmarks/results/train_throughput.json``
(``train_throughput_<device>.json`` for a GPU).
"""

import argparse
import platform
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader

sys.path.insert(0, str(Path(__file__).parent))
from seed_style import loader, seed_style_dataset  # noqa: E402

from mri_helpers.course import precision as amp  # noqa: E402
from mri_helpers.course.files import write_json  # noqa: E402
from mri_helpers.datasets import load_datasets  # noqa: E402
from mri_helpers.models import MODELS, build_model, macs  # noqa: E402
from mri_helpers.recipes import RECIPES  # noqa: E402
from mri_helpers.training import Trainer, autocast, pick_device  # noqa: E402

SEED_STYLE = ("cnn0", "cnn1", "cnn2", "cnn3")


def seconds_per_image(trainer: Trainer, batches) -> float:
    """Time the trainer's own steps over ``batches``, loading included; the first batch warms up."""
    trainer.model.train()
    count, start, last = 0, None, None
    for x, y in batches:
        last = trainer.train_step(*trainer.to_device(x, y))
        if start is None:
            float(last)  # GPU work is asynchronous: reading a value waits for it, so the timer is honest
            start = time.perf_counter()
        else:
            count += len(y)
    float(last)
    return (time.perf_counter() - start) / count


@torch.no_grad()
def inference_per_second(trainer: Trainer, images: torch.Tensor, repeats: int = 3) -> float:
    trainer.model.eval()
    x = trainer.to_device(images, torch.zeros(len(images), dtype=torch.long))[0]
    with autocast(trainer.precision, trainer.device):
        float(trainer.model(x[:8]).sum())
        start = time.perf_counter()
        for _ in range(repeats):
            float(trainer.model(x).sum())
    return repeats * len(images) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    parser.add_argument("--images", type=int, default=None, help="images timed per model (default 640, cnn3 192)")
    parser.add_argument("--device", default=None, help="default: CUDA, then MPS, then the CPU")
    parser.add_argument("--batch-size", type=int, default=None, help="default: each recipe's (32)")
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args()

    device = torch.device(args.device) if args.device else pick_device()
    auto = amp.resolve("auto", device)
    has_bf16 = bool(amp.cpu_bf16_capability()) if device.type == "cpu" else (
        device.type == "cuda" and torch.cuda.is_bf16_supported())
    measured = list(dict.fromkeys(["fp32"] + (["bf16"] if has_bf16 else []) + [auto]))
    datasets = {}  # by image size
    results = {"device": device.type, "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else
               platform.processor() or platform.machine(), "cpu_bf16": amp.cpu_bf16_capability(),
               "auto_precision": auto, "torch_threads": torch.get_num_threads(),
               "machine": platform.machine(), "torch": torch.__version__, "models": {}}
    for name in args.models:
        recipe = RECIPES[name]
        if args.batch_size:
            recipe = replace(recipe, batch_size=args.batch_size)
        size = recipe.image_size
        if size not in datasets:
            datasets[size] = load_datasets(args.data_dir, image_size=size)
        data = datasets[size]
        results.update(data_source=data.source, train_images=len(data.train), val_images=len(data.val))
        n = args.images or (192 if name == "cnn3" and device.type == "cpu" else 640)
        picked = np.random.default_rng(0).permutation(len(data.train))[:n]
        batches = DataLoader(data.train.subset(data.train.rows[picked], raw=True), batch_size=recipe.batch_size,
                             pin_memory=device.type == "cuda")
        eval_batch = torch.stack([data.val[i][0] for i in range(64)])
        row = {"image_size": size, "batch_size": recipe.batch_size, "macs": macs(build_model(name, image_size=size), size),
               "timed_images": n}
        for precision in measured:
            torch.manual_seed(0)
            trainer = Trainer(build_model(name, image_size=size), replace(recipe, precision=precision), device=device,
                              prepare=data.prepare_train)
            train_rate = 1 / seconds_per_image(trainer, batches)
            infer_rate = inference_per_second(trainer, eval_batch)
            epoch = len(data.train) / train_rate + len(data.val) / infer_rate
            row[precision] = {
                "precision": trainer.precision,
                "train_img_per_s": round(train_rate, 1),
                "inference_img_per_s": round(infer_rate, 1),
                "epoch_seconds": round(epoch, 1),
                "recipe_minutes": round(recipe.epochs * epoch / 60, 2),
            }
        row["auto"] = dict(row[auto])
        if name in SEED_STYLE and device.type == "cpu":
            seed_set = seed_style_dataset(data.root, size, data.normalize.mean, data.normalize.std)
            torch.manual_seed(0)
            seed = Trainer(build_model(name), replace(recipe, precision="fp32"), device="cpu", channels_last=False)
            seed_s = seconds_per_image(seed, loader(seed_set, limit=n))
            row["seed_style"] = {"train_img_per_s": round(1 / seed_s, 1),
                                 "epoch_seconds": round(seed_s * len(data.train), 1),
                                 "speedup": round(row["auto"]["train_img_per_s"] * seed_s, 2)}
        results["models"][name] = row
        print(name, row, flush=True)
    suffix = "" if device.type == "cpu" else f"_{device.type}"
    write_json(Path(__file__).parent / "results" / f"train_throughput{suffix}.json", results)


if __name__ == "__main__":
    main()
