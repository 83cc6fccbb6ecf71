"""Images per second: the seed-style pipeline vs. the cached one, same data, same run.

    MRI_DATA_DIR=../shared/brain-tumor-mri python benchmarks/data_pipeline.py [--images 1024]

Both read training images at 256 px with the same augmentation and batch size 32,
workers 0. The cached pipeline is measured with a warm cache (it is built first if
needed, and that one-off cost is reported separately). Writes
``benchmarks/results/data_pipeline.json``.
"""

import argparse
import platform
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from seed_style import loader, seed_style_dataset  # noqa: E402

from mri_helpers.course.files import write_json  # noqa: E402
from mri_helpers.datasets import load_datasets  # noqa: E402


def images_per_second(batches) -> float:
    start, count = time.perf_counter(), 0
    for x, _ in batches:
        count += len(x)
    return count / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=1024)
    parser.add_argument("--image-size", type=int, default=256)
    args = parser.parse_args()

    start = time.perf_counter()
    data = load_datasets(image_size=args.image_size)
    first_load = time.perf_counter() - start
    start = time.perf_counter()
    data = load_datasets(image_size=args.image_size)
    warm_load = time.perf_counter() - start

    torch.manual_seed(0)
    seed = images_per_second(loader(seed_style_dataset(data.root, args.image_size, data.normalize.mean,
                                                       data.normalize.std), limit=args.images))
    cached = images_per_second(loader(data.train, limit=args.images))
    result = {
        "data_source": data.source,
        "images": args.images,
        "image_size": args.image_size,
        "seed_style_img_per_s": round(seed, 1),
        "cached_img_per_s": round(cached, 1),
        "speedup": round(cached / seed, 2),
        "target_speedup": 10,
        "load_datasets_seconds_first_call": round(first_load, 1),
        "load_datasets_seconds_warm_cache": round(warm_load, 2),
        "torch_threads": torch.get_num_threads(),
        "machine": platform.machine(),
        "torch": torch.__version__,
    }
    for key, value in result.items():
        print(f"{key:>36}: {value}")
    write_json(Path(__file__).parent / "results" / "data_pipeline.json", result)


if __name__ == "__main__":
    main()
