"""The robustness study: trained runs scored under the shifts of :mod:`~mri_helpers.shifts`.

Two studies share this module:

* the seen suite (``python -m mri_helpers robustness``, ``make robustness``): trains the
  remedies (the ``"remedy"`` variants of :data:`~mri_helpers.recipes.VARIANTS`), then scores
  every run with a checkpoint here on the test half, one file per run, written once:
  ``results/shifts/<name>/<run-id>.json``;
* the held-out suite (``python -m mri_helpers held-out --half validation``): the candidate
  recipes are scored on the validation half, :func:`choose` picks one by a rule fixed in
  advance and files the verdict, and only then are the chosen recipe and the baselines scored
  on the test half (``--half test``), once. Those files keep every image's probabilities:
  ``results/held_out/<half>/<name>/<run-id>.json``.
"""

from __future__ import annotations

import json
import logging
import math
import os
from pathlib import Path

import numpy as np
from torchvision.transforms import v2

from ..datasets import Datasets
from ..recipes import variants
from ..shifts import COMMON_SIZE, HELD_OUT, SEEN, held_out_shifts, shifted_accuracy, shifted_probabilities
from ..stats import Paired, holm, mcnemar, paired_over_seeds, wilson_interval
from ..transforms import Prepare
from .files import OutputDirs, write_json
from .records import COURSE_MODELS, load_records, seed_runs
from .runs import load_model

log = logging.getLogger(__name__)

SHIFT_SCORES = "shifts"  # results/shifts/<name>/<run-id>.json: one run's test accuracy under each shift
STUDIED = (*COURSE_MODELS, *variants("remedy"))

# The course-best model's robustness target: over at least 3 seeds, a mean test accuracy of at
# least 0.975 as exported, and a mean loss of at most 2 points under every shift.
ROBUSTNESS_TARGET = {"seeds": 3, "floor": 0.975, "max_loss": 0.02}
# The chosen recipe's target under the held-out suite, on the test half (issue 20): over 3 seeds, a
# mean accuracy of at least 0.975 as exported and a mean loss of at most 5 points at every middle severity.
HELD_OUT_TARGET = {"seeds": 3, "floor": 0.975, "max_loss": 0.05}


def score_path(results: str | Path, record: dict) -> Path:
    return Path(results) / SHIFT_SCORES / record["name"] / f"{record['run_id']}.json"


def studied(records: list[dict], known: dict | None = None) -> list[dict]:
    """The runs the study compares: one run per seed of each course model and each remedy, as
    :func:`~mri_helpers.course.records.seed_runs` picks them (the current recipe; the fp32 run
    where a seed has both precisions)."""
    return [r for mine in seed_runs(records, known, names=STUDIED).values() for r in mine]


NO_CHECKPOINT = "no checkpoint here (train it, or score it where it was trained)"
NOT_CHOSEN = "on the test half only the baselines and the recipe chosen on the validation half are scored"


def log_skipped(skipped: dict[str, list[dict]]) -> None:
    """One log line per reason, naming each model's skipped seeds: a notebook's output stays short."""
    for reason, records in skipped.items():
        seeds: dict[str, list[str]] = {}
        for record in records:
            seeds.setdefault(record["name"], []).append(str(record["seed"]))
        runs = "; ".join(f"{name} seed{'s' if len(s) > 1 else ''} {', '.join(s)}" for name, s in seeds.items())
        log.warning("skipped %s: %s", runs, reason)


def score_runs(out: OutputDirs, data_for_size, known: dict | None = None) -> list[Path]:
    """Score every studied run that has a checkpoint and no score file yet; return the files written.

    ``data_for_size(image_size)`` gives the datasets at a run's image size. A run whose
    checkpoint is not on this machine is skipped with a log line.
    """
    written, skipped = [], {}
    for record in studied(load_records(out.results), known):
        target = score_path(out.results, record)
        checkpoint = Path(out.checkpoints) / record["name"] / f"{record['run_id']}.pt"
        if target.exists():
            continue
        if not checkpoint.exists():
            skipped.setdefault(NO_CHECKPOINT, []).append(record)
            continue
        data: Datasets = data_for_size(record["image_size"])
        model, _ = load_model(checkpoint, device=None)
        scores = shifted_accuracy(model, data.test.subset(data.test.rows, raw=True), Prepare(data.normalize))
        write_json(target, {"run_id": record["run_id"], "name": record["name"], "seed": record["seed"],
                            "test_images": len(data.test), "accuracy": scores})
        print(f"{record['name']} seed {record['seed']}: " + ", ".join(f"{k} {v:.3f}" for k, v in scores.items()))
        written.append(target)
    log_skipped(skipped)
    return written


def load_scores(results: str | os.PathLike) -> list[dict]:
    """Every robustness score file (:mod:`robustness` writes one per run)."""
    return [json.loads(p.read_text()) for p in sorted((Path(results) / SHIFT_SCORES).glob("*/*.json"))]


def _mean_scores(scores: list[dict]) -> dict[str, tuple[int, dict[str, float], str]]:
    """Per model, in course order: its number of scored seeds, its mean accuracy per shift,
    and the shift whose mean loses most against the unshifted mean."""
    out = {}
    for name in STUDIED:
        mine = [s["accuracy"] for s in scores if s["name"] == name]
        if mine:
            mean = {c: sum(m[c] for m in mine) / len(mine) for c in mine[0]}
            out[name] = (len(mine), mean, max(SEEN, key=lambda c: mean["none"] - mean[c]))
    return out


def robustness_table(scores: list[dict]) -> str:
    """Markdown: per model, mean test accuracy over its seeds with no shift and under each
    shift, and its largest mean loss (in points) under any shift."""
    if not scores:
        return "No scores yet: run `make robustness` where the checkpoints are."
    columns = ["none", *SEEN]
    lines = ["| model | seeds | " + " | ".join(columns) + " | largest loss |",
             "| --- | ---: |" + " ---: |" * (len(columns) + 1)]
    for name, (n, mean, worst) in _mean_scores(scores).items():
        cells = [f"{mean[c]:.3f}" for c in columns]
        lines.append(f"| {name} | {n} | " + " | ".join(cells) + f" | {100 * (mean['none'] - mean[worst]):.1f} ({worst}) |")
    return "\n".join(lines)


def misses(none: float, loss: float, target: dict) -> list[str]:
    """What falls short of ``target``: "accuracy" (below its floor) and "loss" (beyond its limit)."""
    return [what for what, bad in (("accuracy", none < target["floor"]), ("loss", loss > target["max_loss"])) if bad]


def robustness_verdicts(scores: list[dict], target: dict | None = None) -> dict[str, str]:
    """Per model, one line on :data:`ROBUSTNESS_TARGET`: met, missed (and where), or not yet measured.

    With fewer seeds than the target asks for, a model is "not yet measured" unless even
    perfect scores on its missing seeds could not lift its means to the target.
    """
    target = target or ROBUSTNESS_TARGET
    verdicts = {}
    for name, (n, mean, worst) in _mean_scores(scores).items():
        loss = mean["none"] - mean[worst]
        facts = (f"{mean['none']:.3f} as exported (target ≥ {target['floor']}), largest loss "
                 f"{100 * loss:.1f} points, {worst} (target ≤ {100 * target['max_loss']:.0f})")
        missing = max(target["seeds"] - n, 0)
        # the best the missing seeds could do: 1.0 as exported and under every shift
        best = {c: (v * n + missing) / (n + missing) for c, v in mean.items()}
        missed = misses(best["none"], max(best["none"] - best[c] for c in SEEN), target)
        if missed and missing:
            verdict = (f"cannot meet the target ({' and '.join(missed)}), whatever its missing "
                       + ("seed scores" if missing == 1 else f"{missing} seeds score"))
        elif missing:
            verdict = f"not yet measured: {n} of {target['seeds']} seeds scored"
        else:
            verdict = "meets the target" if not missed else "misses the target on " + " and ".join(missed)
        verdicts[name] = f"{name} ({n} seed{'s' * (n != 1)}): {facts}: {verdict}"
    return verdicts


def shift_comparison(scores: list[dict], a: str, b: str) -> str:
    """Markdown: two models' scores with no shift and under each shift, compared seed by seed.

    Per column, the mean over the seeds both were scored on, the mean difference in points
    (A minus B) and the paired t-test over those seeds (:func:`stats.paired_over_seeds`).
    The score files keep accuracies, not per-scan predictions, so the seeds are the pairs.
    """
    by = {name: {s["seed"]: s["accuracy"] for s in scores if s["name"] == name} for name in (a, b)}
    seeds = sorted(set(by[a]) & set(by[b]))
    if not seeds:
        return f"No seed has scores for both {a} and {b} yet."
    lines = [f"| shift | {a} | {b} | difference (points) | paired t p ({len(seeds)} seeds) |",
             "| --- | ---: | ---: | ---: | ---: |"]
    for column in ("none", *SEEN):
        x, y = ([by[name][s][column] for s in seeds] for name in (a, b))
        p = paired_over_seeds(x, y)
        points = round(100 * (np.mean(x) - np.mean(y)), 1) + 0.0  # + 0.0: no "-0.0"
        lines.append(f"| {column} | {np.mean(x):.3f} | {np.mean(y):.3f} | {points:+.1f} "
                     f"| {'-' if math.isnan(p) else f'{p:.2g}'} |")
    return "\n".join(lines)


def robustness_report(results_dir: str | os.PathLike) -> str:
    """The robustness table and, under it, each model's verdict on the target."""
    scores = load_scores(results_dir)
    if not scores:
        return robustness_table(scores)
    return (robustness_table(scores) + "\n\nAgainst the seen suite's own target, which chooses nothing (its shifts lie "
            "inside the remedies' training ranges; the held-out suite decides):\n\n"
            + "\n".join(f"- {v}" for v in robustness_verdicts(scores).values()))


# ---- The held-out suite: candidates compared on the validation half, the test half scored once ----

HELD_OUT_SCORES = "held_out"  # results/held_out/<half>/<name>/<run-id>.json
CANDIDATES = ("bestnet", *variants("remedy"))  # the recipes the choice is between, simplest first
CHOICE = "robustness_choice.json"  # results/robustness_choice.json: the validation half's verdict
HALVES = ("validation", "test")


def held_out_path(results: str | Path, half: str, record: dict) -> Path:
    return Path(results) / HELD_OUT_SCORES / half / record["name"] / f"{record['run_id']}.json"


def chosen(results: str | Path) -> str | None:
    """The recipe the validation half chose, once :func:`choose` has been run; ``None`` before."""
    path = Path(results) / CHOICE
    return json.loads(path.read_text())["chosen"] if path.exists() else None


def may_score(name: str, half: str, results: str | Path) -> bool:
    """The test half is scored once, for the baselines (the course models) and the chosen recipe:
    a candidate that was not chosen never sees it."""
    return half == "validation" or name in COURSE_MODELS or name == chosen(results)


def _probabilities(probs: np.ndarray) -> list[list[float]]:
    return [[round(float(p), 4) for p in row] for row in probs]


def score_held_out(out: OutputDirs, data_at, half: str, names=None, known: dict | None = None) -> list[Path]:
    """Score every studied run (of ``names``) that has a checkpoint here and no held-out score
    on ``half`` yet, under the held-out suite and the seen one; return the files written.

    ``data_at(image_size)`` gives the datasets at a size. Held-out shifts act on the images at
    :data:`~mri_helpers.shifts.COMMON_SIZE`, then each batch is resized to the run's input;
    the seen shifts act at the run's input size, as before. Each file keeps every image's class
    probabilities, so a shift's McNemar test and any later metric need no checkpoint.
    """
    if half not in HALVES:
        raise ValueError(f"half must be one of {HALVES}, got {half!r}")
    written, skipped = [], {}
    for record in studied(load_records(out.results), known):
        target = held_out_path(out.results, half, record)
        checkpoint = Path(out.checkpoints) / record["name"] / f"{record['run_id']}.pt"
        if (names and record["name"] not in names) or target.exists():
            continue
        if not may_score(record["name"], half, out.results):
            skipped.setdefault(NOT_CHOSEN, []).append(record)
            continue
        if not checkpoint.exists():
            skipped.setdefault(NO_CHECKPOINT, []).append(record)
            continue
        own, common = data_at(record["image_size"]), data_at(COMMON_SIZE)
        split = {"validation": "val", "test": "test"}[half]
        model, meta = load_model(checkpoint, device=None)
        prepare = Prepare(v2.Normalize(meta["mean"], meta["std"]))
        images = getattr(common, split)
        labels, held = shifted_probabilities(model, images.subset(images.rows, raw=True), prepare,
                                             held_out_shifts(), image_size=record["image_size"])
        images = getattr(own, split)
        seen_labels, seen = shifted_probabilities(model, images.subset(images.rows, raw=True), prepare, SEEN)
        if half == "test" and seen_labels.tolist() != record["test_labels"]:
            raise ValueError(f"{record['name']} {record['run_id']}: the test half here is not the record's")
        write_json(target, {
            "run_id": record["run_id"], "name": record["name"], "seed": record["seed"], "half": half,
            "image_size": record["image_size"], "common_size": COMMON_SIZE, "indices": images.rows.tolist(),
            "labels": labels.tolist(),
            "held_out": {name: _probabilities(p) for name, p in held.items()},
            "seen": {name: _probabilities(p) for name, p in seen.items()},
        }, compact=True)
        print(f"{record['name']} seed {record['seed']} ({half} half): scored under {len(held) - 1} held-out "
              f"and {len(seen) - 1} seen shifts")
        written.append(target)
    log_skipped(skipped)
    return written


def load_held_out(results: str | os.PathLike, half: str) -> list[dict]:
    """Every held-out score file of one half."""
    return [json.loads(p.read_text()) for p in sorted((Path(results) / HELD_OUT_SCORES / half).glob("*/*.json"))]


def accuracies(score: dict, suite: str = "held_out") -> dict[str, float]:
    """One score file's accuracy per shift (``"none"`` first) in ``suite``."""
    labels = np.asarray(score["labels"])
    return {name: float((np.asarray(p).argmax(1) == labels).mean()) for name, p in score[suite].items()}


def shift_tests(score: dict, suite: str = "held_out") -> dict[str, Paired]:
    """Per shift, the exact McNemar test of the run under the shift against the same run unshifted,
    on the same images."""
    labels, probs = score["labels"], score[suite]
    none = np.asarray(probs["none"]).argmax(1)
    return {name: mcnemar(labels, none, np.asarray(p).argmax(1)) for name, p in probs.items() if name != "none"}


def middle_losses(scores: list[dict]) -> dict[str, float]:
    """Per held-out family, the mean over the given runs (a recipe's seeds) of the accuracy lost at
    the middle severity, against the same run unshifted."""
    out = {}
    for family, h in HELD_OUT.items():
        middle = f"{family} {h.severities[1]:g}"
        out[family] = float(np.mean([accuracies(s)["none"] - accuracies(s)[middle] for s in scores]))
    return out


CHOICE_RULE = """\
1. A candidate (BestNet or one of its remedies) counts once 3 of its seeds are scored on the validation half.
2. It must keep its unshifted accuracy: a mean within 1 point of the best candidate's.
3. Of those, the one with the smallest worst loss at the middle severity of any held-out kind (mean over seeds).
4. A tie within half a point goes to the candidate listed first, the simpler recipe."""


def choose(scores: list[dict], seeds: int = 3) -> dict:
    """Pick the course's robust recipe from validation-half held-out scores by :data:`CHOICE_RULE`,
    written before any candidate was scored (``seeds`` replaces its 3 in a quick pass)."""
    by = {name: [s for s in scores if s["name"] == name] for name in CANDIDATES}
    ready = {name: mine for name, mine in by.items() if len({s["seed"] for s in mine}) >= seeds}
    if not ready:
        raise ValueError(f"no candidate has {seeds} seeds scored on the validation half yet")
    plain = {name: float(np.mean([accuracies(s)["none"] for s in mine])) for name, mine in ready.items()}
    worst = {name: max(middle_losses(mine).values()) for name, mine in ready.items()}
    eligible = [name for name in ready if plain[name] >= max(plain.values()) - 0.01]
    best = min(worst[name] for name in eligible)
    pick = next(name for name in eligible if worst[name] <= best + 0.005)
    return {"chosen": pick, "half": "validation", "rule": CHOICE_RULE,
            "candidates": {name: {"seeds": sorted(s["seed"] for s in ready[name]), "unshifted": plain[name],
                                  "worst_middle_loss": worst[name], "eligible": name in eligible} for name in ready}}


def make_choice(results: str | Path, seeds: int = 3) -> dict | None:
    """The validation half's verdict: the one on file, else :func:`choose` on the validation scores,
    filed once (``results/robustness_choice.json``) and never remade. ``None``, with a line saying
    why, while any candidate has fewer than ``seeds`` seeds scored: a verdict filed early would
    never see the candidates still training."""
    path = Path(results) / CHOICE
    if path.exists():
        return json.loads(path.read_text())
    scores = load_held_out(results, "validation")
    waiting = [f"{name} ({n} of {seeds})" for name in CANDIDATES
               if (n := len({s["seed"] for s in scores if s["name"] == name})) < seeds]
    if waiting:
        print("no choice yet: seeds still to score on the validation half: " + ", ".join(waiting))
        return None
    verdict = choose(scores, seeds)
    write_json(path, verdict)
    return verdict


def shift_test_lines(score: dict, severity: int = 1) -> list[str]:
    """One line per held-out family at one severity (0 mild, 1 middle, 2 severe): the run's accuracy
    unshifted and shifted, and the exact McNemar test against itself unshifted, with Holm's
    adjusted p-value over the families tested."""
    tests = shift_tests(score)
    acc = accuracies(score)
    names = [f"{family} {h.severities[severity]:g}" for family, h in HELD_OUT.items()]
    adjusted = holm([tests[n].p_value for n in names])
    return [f"{n:<26}{acc['none']:.3f} -> {acc[n]:.3f}   {tests[n].only_a:>3} lost, {tests[n].only_b:>3} gained"
            f"   p = {tests[n].p_value:.2g}, Holm {a:.2g}" for n, a in zip(names, adjusted)]


def severity_curves(scores: list[dict]) -> dict[str, dict[str, list[tuple]]]:
    """Per model (course order) and held-out family: ``(parameter, accuracy, low, high)`` at no
    shift and at each severity, the accuracy pooled over the model's scored seeds and its Wilson
    interval (the seeds' images counted together)."""
    curves = {}
    for name in STUDIED:
        mine = [s for s in scores if s["name"] == name]
        if not mine:
            continue
        curves[name] = {}
        for family, h in HELD_OUT.items():
            points = []
            for p, shift in ((None, "none"), *((p, f"{family} {p:g}") for p in h.severities)):
                right = sum(int((np.asarray(s["held_out"][shift]).argmax(1) == np.asarray(s["labels"])).sum())
                            for s in mine)
                total = sum(len(s["labels"]) for s in mine)
                points.append((p, right / total, *wilson_interval(right, total)))
            curves[name][family] = points
    return curves


def held_out_table(scores: list[dict]) -> str:
    """Markdown: per model, the mean accuracy over its seeds unshifted and at each family's middle
    severity, and its largest mean loss there (in points)."""
    if not scores:
        return "No held-out scores yet: run `python -m mri_helpers held-out --half validation` where the checkpoints are."
    families = list(HELD_OUT)
    lines = ["| model | seeds | none | " + " | ".join(f"{f} {HELD_OUT[f].severities[1]:g}" for f in families)
             + " | largest loss |", "| --- | ---: |" + " ---: |" * (len(families) + 2)]
    for name in STUDIED:
        mine = [s for s in scores if s["name"] == name]
        if not mine:
            continue
        none = np.mean([accuracies(s)["none"] for s in mine])
        losses = middle_losses(mine)
        worst = max(losses, key=losses.get)
        cells = [f"{none - losses[f]:.3f}" for f in families]
        lines.append(f"| {name} | {len(mine)} | {none:.3f} | " + " | ".join(cells)
                     + f" | {100 * losses[worst]:.1f} ({worst}) |")
    return "\n".join(lines)
