"""Training speed per model: this course's pipeline vs. the seed-style one, same run.

    MRI_DATA_DIR=../shared/brain-tumor-mri python benchmarks/train_throughput.py

For each model, on the CPU with batch 32 at 256 px:

* ``train_img_per_s``: steady training throughput on the cached pipeline (channels_last);
* ``inference_img_per_s``: evaluation throughput, same layout;
* ``epoch_seconds``: one end-to-end training epoch (loading, augmenting, forward,
  backward, step) for this pipeline and the seed-style one (NCHW, ``ImageFolder`` + PIL
  every epoch, workers 0). Timed on ``--images`` random training images and scaled to the
  full training set, so the slow seed-style CNN3 epoch fits in minutes, not an hour.

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
from mri_helpers.models import SPECS, build_model  # noqa: E402
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
    parser.add_argument("--models", nargs="+", default=sorted(SPECS))
    parser.add_argument("--images", type=int, default=None, help="images timed per model (default 640, cnn3 192)")
    args = parser.parse_args()

    data = load_datasets(image_size=256)
    seed_set = seed_style_dataset(data.root, 256, data.normalize.mean, data.normalize.std)
    full = len(data.train)
    results = {"data_source": data.source, "train_images": full, "torch_threads": torch.get_num_threads(),
               "machine": platform.machine(), "torch": torch.__version__, "models": {}}
    eval_batch = torch.stack([data.val[i][0] for i in range(64)])
    for name in args.models:
        n = args.images or (192 if name == "cnn3" else 640)
        torch.manual_seed(0)
        ours = Trainer(build_model(name), lr=SPECS[name].lr, device="cpu", channels_last=True)
        ours_s = seconds_per_image(ours, loader(data.train, limit=n))
        torch.manual_seed(0)
        seed = Trainer(build_model(name), lr=SPECS[name].lr, device="cpu", channels_last=False)
        seed_s = seconds_per_image(seed, loader(seed_set, limit=n))
        row = {
            "timed_images": n,
            "train_img_per_s": round(1 / ours_s, 1),
            "seed_style_train_img_per_s": round(1 / seed_s, 1),
            "inference_img_per_s": round(inference_per_second(ours, eval_batch), 1),
            "epoch_seconds": round(ours_s * full, 1),
            "seed_style_epoch_seconds": round(seed_s * full, 1),
            "epoch_speedup": round(seed_s / ours_s, 2),
            "target_speedup": TARGETS[name],
        }
        results["models"][name] = row
        print(name, row, flush=True)
    write_json(Path(__file__).parent / "results" / "train_throughput.json", results)


if __name__ == "__main__":
    main()
