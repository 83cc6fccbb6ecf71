"""``torch.compile`` against eager mode, per model, for the trainer's own training step.

    MRI_DATA_DIR=../shared/brain-tumor-mri python benchmarks/compile_step.py [--device cuda]

For each model, at its recipe's image size and batch size, in one run so the ratios compare
like with like:

* ``eager_step_s`` and ``compiled_step_s``: seconds per training step (augmentation on the
  device, forward, loss, backward, optimiser step), the median over ``--steps`` steps after
  a warm-up;
* ``compile_s``: what the first compiled step costs beyond an eager one (tracing and code
  generation, paid once per process), with inductor's on-disk caches off, as in a student's
  first session;
* ``speedup``: eager over compiled; ``payback_steps``: the steps that win back ``compile_s``;
  ``recipe_steps``: the steps of one full recipe;
* ``use_by_default``: the course's rule, at least 1.2x faster *and* paid back within one recipe.

Writes ``benchmarks/results/compile_step.json`` (``compile_step_<device>.json`` for a GPU).
The course trains eagerly; a model would earn compiling by default only where this file marks it
``use_by_default`` on the device at hand.
"""

import argparse
import math
import statistics
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
import torch._inductor.config
from torch.utils.data import DataLoader

from mri_helpers.course.files import write_json
from mri_helpers.course.precision import cpu_model
from mri_helpers.datasets import load_datasets
from mri_helpers.models import MODELS, build_model
from mri_helpers.recipes import RECIPES
from mri_helpers.training import Trainer, pick_device

SPEEDUP = 1.2  # the least speed-up worth a compiler in the loop


def step_times(trainer: Trainer, batches: list, steps: int) -> tuple[float, list[float]]:
    """The first step's seconds (it compiles, for a compiled model), then ``steps`` more, each timed alone."""
    trainer.model.train()
    times = []
    for i in range(steps + 2):
        x, y = batches[i % len(batches)]
        start = time.perf_counter()
        float(trainer.train_step(*trainer.to_device(x, y)))  # reading the loss waits for the device
        times.append(time.perf_counter() - start)
    return times[0], times[2:]  # the second step is a warm-up too (allocator, autotuning)


def verdict(eager: float, compiled: float, compile_s: float, recipe_steps: int) -> dict:
    """The speed-up, the steps that pay back the compile time, and whether the rule says use it."""
    saved = eager - compiled
    payback = math.ceil(round(compile_s / saved, 6)) if saved > 0 else None  # round: 0.11 - 0.1 is not 0.01
    return {"speedup": round(eager / compiled, 2), "payback_steps": payback, "recipe_steps": recipe_steps,
            "use_by_default": eager / compiled >= SPEEDUP and payback is not None and payback <= recipe_steps}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    parser.add_argument("--steps", type=int, default=8, help="timed steps per mode (after two warm-up steps)")
    parser.add_argument("--device", default=None, help="default: CUDA, then MPS, then the CPU")
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args()

    torch._inductor.config.force_disable_caches = True  # a warm cache from an earlier run would hide the cost
    device = torch.device(args.device) if args.device else pick_device()
    results = {"device": device.type, "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else
               cpu_model(), "torch_threads": torch.get_num_threads(),
               "torch": torch.__version__, "rule": f"at least {SPEEDUP}x faster and paid back within one recipe",
               "models": {}}
    datasets = {}
    for name in args.models:
        recipe = replace(RECIPES[name], precision="fp32")
        size = recipe.image_size
        if size not in datasets:
            datasets[size] = load_datasets(args.data_dir, image_size=size)
        data = datasets[size]
        picked = np.random.default_rng(0).permutation(len(data.train))[:recipe.batch_size * 4]
        batches = list(DataLoader(data.train.subset(data.train.rows[picked], raw=True), batch_size=recipe.batch_size))
        recipe_steps = recipe.epochs * math.ceil(len(data.train) / recipe.batch_size)
        row = {"image_size": size, "batch_size": recipe.batch_size, "data_source": data.source}
        firsts, medians = {}, {}
        for mode in ("eager", "compiled"):
            torch.manual_seed(0)
            torch._dynamo.reset()  # each model compiles from scratch, as in a fresh notebook kernel
            trainer = Trainer(build_model(name, image_size=size), recipe, device=device, prepare=data.prepare_train)
            if mode == "compiled":
                trainer.model = torch.compile(trainer.model)  # the optimiser holds the same parameters
            firsts[mode], times = step_times(trainer, batches, args.steps)
            medians[mode] = statistics.median(times)
            row[f"{mode}_step_s"] = round(medians[mode], 4)
        row["compile_s"] = round(max(firsts["compiled"] - firsts["eager"], 0.0), 1)
        row |= verdict(medians["eager"], medians["compiled"], row["compile_s"], recipe_steps)
        results["models"][name] = row
        print(name, row, flush=True)
    suffix = "" if device.type == "cpu" else f"_{device.type}"
    write_json(Path(__file__).parent / "results" / f"compile_step{suffix}.json", results)


if __name__ == "__main__":
    main()
