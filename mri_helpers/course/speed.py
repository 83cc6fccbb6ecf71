"""The README's speed tables, read from the benchmark JSON files in ``benchmarks/results/``.

Each benchmark writes its numbers once; these functions only lay them out, so a table is
regenerated (``python -m mri_helpers readme``) whenever its benchmark is run again.
"""

from __future__ import annotations

MEASURE = "Run `make bench` to measure."


def time_to_accuracy(record: dict) -> dict:
    """Wall minutes until a run's validation accuracy first reached its final value, from its history."""
    history = record["history"]
    final = history[-1]["val_accuracy"]
    reached = next(i for i, h in enumerate(history) if h["val_accuracy"] >= final)
    return {"epoch": reached + 1, "minutes": sum(h["seconds"] for h in history[: reached + 1]) / 60,
            "device": record["device"], "precision": record["precision"]}


def speed_table(data_pipeline: dict | None, train: dict | None, runs: dict[str, dict] | None = None) -> str:
    """Markdown tables of the benchmark JSON files (absent files give a hint instead).

    ``runs`` (:func:`course_runs`) adds each model's time to its final validation
    accuracy, from the run's own per-epoch history: measured on the machine that trained
    it, which need not be the benchmark's.
    """
    if not (data_pipeline and train):
        return MEASURE
    auto = train["auto_precision"]
    bf16 = train["cpu_bf16"] if train["device"] == "cpu" else []
    if train["device"] != "cpu":
        why = "."
    elif auto == "bf16":
        why = f" (fast bfloat16: {', '.join(bf16)})."
    elif bf16:
        why = f" ({', '.join(bf16)} but no AMX: bfloat16 runs, but no faster; see the bf16 column)."
    else:
        why = " (no bfloat16 instructions on this CPU)."
    lines = [
        f"Input pipeline, {data_pipeline['images']} training images at {data_pipeline['image_size']} px "
        f"({data_pipeline['data_source']} data, warm cache): seed-style {data_pipeline['seed_style_img_per_s']:.0f} img/s, "
        f"cached {data_pipeline['cached_img_per_s']:.0f} img/s, **{data_pipeline['speedup']:.1f}x**.",
        "",
        f"Training on {train['device']} ({train['device_name']}, {train['torch_threads']} threads); "
        f"auto precision here is **{auto}**" + why,
        "",
        "| model | train img/s fp32 / bf16 | inference img/s fp32 / bf16 | epoch (auto) | recipe (auto) "
        "| epoch seed-style | speed-up | time to final val acc |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]

    def pair(m: dict, key: str) -> str:
        return f"{m['fp32'][key]:.0f} / " + (f"{m['bf16'][key]:.0f}" if "bf16" in m else "-")

    for name, m in train["models"].items():
        best = m["auto"]
        seed = m.get("seed_style")
        was = f"{seed['epoch_seconds'] / 60:.1f} min | {seed['speedup']:.1f}x" if seed else "- | -"
        tta = time_to_accuracy(runs[name]) if runs and name in runs else None
        reached = (f"{tta['minutes']:.1f} min (epoch {tta['epoch']}, {tta['device']} {tta['precision']})"
                   if tta else "-")
        lines.append(
            f"| {name} ({m['image_size']} px) | {pair(m, 'train_img_per_s')} | {pair(m, 'inference_img_per_s')} "
            f"| {best['epoch_seconds'] / 60:.1f} min | {best['recipe_minutes']:.1f} min | {was} | {reached} |"
        )
    return "\n".join(lines)


def laptop_table(laptop: dict | None) -> str:
    """The laptop path (``benchmarks/laptop_path.py``): each notebook's minutes and the total
    against its target, beside what training every model instead would add."""
    if not laptop:
        return "Run `make laptop-path` to measure."
    verdict = "met" if laptop["met"] else "missed"
    lines = [
        f"Every notebook in order on a fresh clone, {laptop['cpu']} ({laptop['cpu_count']} cores), real data; "
        f"{', '.join(laptop['shipped_in'])} with `SHIPPED = True`.",
        "",
        "| notebook | minutes |",
        "| --- | ---: |",
        *(f"| {name} | {seconds / 60:.1f} |" for name, seconds in laptop["seconds"].items()),
        f"| **all** | **{laptop['minutes']:.1f}** |",
        "",
        f"Target ≤ {laptop['target_minutes']} min: **{verdict}**. Training the runs it loads or reads instead "
        f"({', '.join(f'{name} {minutes:.0f} min' for name, minutes in laptop['shipped_training_minutes'].items())}, "
        f"as their records report) would make it about {laptop['full_training_minutes']:.0f} min.",
    ]
    return "\n".join(lines)


def compile_table(compiled: dict | None) -> str:
    """``torch.compile`` against eager (``benchmarks/compile_step.py``), one row per model."""
    if not compiled:
        return MEASURE
    lines = [
        f"`torch.compile` against eager, one training step on {compiled['device']} "
        f"({compiled['device_name']}, {compiled['torch_threads']} threads); the rule: {compiled['rule']}.",
        "",
        "| model | eager s/step | compiled s/step | speed-up | compile s | steps to pay back | steps per recipe "
        "| compile by default |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for name, m in compiled["models"].items():
        payback = "never" if m["payback_steps"] is None else f"{m['payback_steps']:,}"
        lines.append(f"| {name} ({m['image_size']} px) | {m['eager_step_s']:.3f} | {m['compiled_step_s']:.3f} "
                     f"| {m['speedup']:.2f}x | {m['compile_s']:.0f} | {payback} | {m['recipe_steps']:,} "
                     f"| {'yes' if m['use_by_default'] else 'no'} |")
    return "\n".join(lines)
