"""Training speed per model: this course's pipeline vs. the seed-style one, same run.

    MRI_DATA_DIR=../shared/brain-tumor-mri python benchmarks/train_throughput.py

For each model, on the CPU with batch 32 at its recipe's image size (256 px; BestNet 128):

* ``macs``: multiply-accumulates per image (convolutions and linear layers);
* ``train_img_per_s``: steady training throughput on the cached pipeline (channels_last);
* ``inference_img_per_s``: evaluation throughput, same layout;
* ``epoch_seconds``: one end-to-end training epoch (loading, augmenting, forward,
  backward, step) for this pipeline and the seed-style one (NCHW, ``ImageFolder`` + PIL
  every epoch, workers 0). Timed on ``--images`` random training images and scaled to the
  full training set, so the slow seed-style CNN3 epoch fits in minutes, not an hour.
  BestNet has no seed-style counterpart, so its seed-style fields are ``null``.

Writes ``benchmarks/results/train_throughput.json``.
"""

import argparse
import platform
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from seed_style import loader, seed_style_dataset  # noqa: E402

from mri_helpers.data import load_datasets  # noqa: E402
from mri_helpers.files import write_json  # noqa: E402
from mri_helpers.models import MODELS, build_model, macs  # noqa: E402
from mri_helpers.training import RECIPES  # noqa: E402
from mri_helpers.training import Trainer  # noqa: E402

TARGETS = {"cnn0": 5, "cnn1": 5, "cnn2": 5, "cnn3": 2}


def seconds_per_image(trainer: Trainer, batches) -> float:
    """Time a training pass over ``batches``, loading included; the first batch warms up."""
    trainer.model.train()
    count, start = 0, None
    for x, y in batches:
        x, y = trainer._to_device(x), y.to(trainer.device)
        loss = trainer.loss_fn(trainer.model(x), y)
        trainer.optimizer.zero_grad()
        loss.backward()
        trainer.optimizer.step()
        if start is None:
            start = time.perf_counter()
        else:
            count += len(y)
    return (time.perf_counter() - start) / count


@torch.no_grad()
def inference_per_second(trainer: Trainer, images: torch.Tensor) -> float:
    trainer.model.eval()
    x = trainer._to_device(images)
    trainer.model(x[:8])
    start = time.perf_counter()
    trainer.model(x)
    return len(images) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    parser.add_argument("--images", type=int, default=None, help="images timed per model (default 640, cnn3 192)")
    args = parser.parse_args()

    datasets = {}  # by image size
    results = {"torch_threads": torch.get_num_threads(), "machine": platform.machine(), "torch": torch.__version__,
               "models": {}}
    for name in args.models:
        size = RECIPES[name].image_size
        if size not in datasets:
            datasets[size] = load_datasets(image_size=size)
        data = datasets[size]
        results.update(data_source=data.source, train_images=len(data.train))
        full = len(data.train)
        n = args.images or (192 if name == "cnn3" else 640)
        torch.manual_seed(0)
        model = build_model(name, image_size=size)
        row = {"image_size": size, "macs": macs(model, size), "timed_images": n}
        ours = Trainer(model, lr=RECIPES[name].lr, device="cpu", channels_last=True)
        ours_s = seconds_per_image(ours, loader(data.train, limit=n))
        eval_batch = torch.stack([data.val[i][0] for i in range(64)])
        row.update(
            train_img_per_s=round(1 / ours_s, 1),
            inference_img_per_s=round(inference_per_second(ours, eval_batch), 1),
            epoch_seconds=round(ours_s * full, 1),
        )
        if name in TARGETS:
            seed_set = seed_style_dataset(data.root, size, data.normalize.mean, data.normalize.std)
            torch.manual_seed(0)
            seed = Trainer(build_model(name), lr=RECIPES[name].lr, device="cpu", channels_last=False)
            seed_s = seconds_per_image(seed, loader(seed_set, limit=n))
            row.update(
                seed_style_train_img_per_s=round(1 / seed_s, 1),
                seed_style_epoch_seconds=round(seed_s * full, 1),
                epoch_speedup=round(seed_s / ours_s, 2),
                target_speedup=TARGETS[name],
            )
        else:
            row.update(seed_style_train_img_per_s=None, seed_style_epoch_seconds=None, epoch_speedup=None,
                       target_speedup=None)
        results["models"][name] = row
        print(name, row, flush=True)
    write_json(Path(__file__).parent / "results" / "train_throughput.json", results)


if __name__ == "__main__":
    main()
