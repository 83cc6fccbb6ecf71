"""Training-side cost of augmentation: milliseconds per batch, and a BestNet epoch with and without it.

    python benchmarks/augmentation.py

For BestNet's recipe (128 px, batches of 32, uint8 batches of one channel as the real
cache stores them), times on this machine, all in one run so the ratios compare:

* ``augment_ms``: one batch through :class:`~mri_helpers.transforms.Augment`, for the plain
  augmentation, with intensity, and with intensity and detail (the remedies of notebook 13);
* ``step_ms``: one BestNet training step (forward, backward, AdamW step) on a prepared batch;
* ``epoch_seconds``: (augmentation + step) x the batches of an epoch of 5,708 images.

Writes ``benchmarks/results/augmentation.json``.
"""

import json
import platform
import time
from pathlib import Path

import torch

from mri_helpers.course.precision import cpu_model
from mri_helpers.models import build_model
from mri_helpers.transforms import Augment

TRAIN_IMAGES, SIZE, BATCH, REPEATS = 5708, 128, 32, 30
OUT = Path(__file__).parent / "results" / "augmentation.json"


def milliseconds(fn, repeats: int = REPEATS) -> float:
    fn()  # warm up
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    return 1000 * (time.perf_counter() - start) / repeats


def main() -> None:
    torch.manual_seed(0)
    batch = torch.randint(0, 256, (BATCH, 1, SIZE, SIZE), dtype=torch.uint8)
    model = build_model("bestnet").to(memory_format=torch.channels_last).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=5e-4)
    labels = torch.randint(0, 4, (BATCH,))
    x = Augment()(batch).expand(-1, 3, -1, -1).contiguous(memory_format=torch.channels_last)

    def step():
        loss = torch.nn.functional.cross_entropy(model(x), labels, label_smoothing=0.1)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    step_ms = milliseconds(step, repeats=10)
    batches = -(-TRAIN_IMAGES // BATCH)
    results = {}
    for name, options in (("plain", {}), ("intensity", {"intensity": True}),
                          ("intensity_detail", {"intensity": True, "detail": True})):
        augment = Augment(**options)
        ms = milliseconds(lambda: augment(batch))
        results[name] = {"augment_ms": round(ms, 2), "epoch_seconds": round(batches * (ms + step_ms) / 1000, 1)}
    report = {"machine": platform.machine(), "cpu": cpu_model(), "torch": torch.__version__,
              "threads": torch.get_num_threads(), "image_size": SIZE, "batch_size": BATCH,
              "step_ms": round(step_ms, 1), "augmentations": results}
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
