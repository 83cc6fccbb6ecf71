"""The README's held-out block: both halves' tables, the chosen recipe's line on its target, and BestNet beside it."""

from __future__ import annotations

import math
import os

import numpy as np

from ..shifts import HELD_OUT
from ..stats import holm, paired_over_seeds
from .robustness import (
    HELD_OUT_TARGET,
    accuracies,
    chosen,
    held_out_table,
    load_held_out,
    middle_losses,
    misses,
)


def held_out_verdict(scores: list[dict], name: str, target: dict | None = None) -> str:
    """One line on :data:`HELD_OUT_TARGET` for ``name``'s test-half scores: met, or missed and where."""
    target = target or HELD_OUT_TARGET
    mine = [s for s in scores if s["name"] == name]
    if len(mine) < target["seeds"]:
        return f"{name}: {len(mine)} of {target['seeds']} seeds scored on the test half, no verdict yet"
    none = float(np.mean([accuracies(s)["none"] for s in mine]))
    losses = middle_losses(mine)
    worst = max(losses, key=losses.get)
    missed = misses(none, losses[worst], target)
    return (f"{name} ({len(mine)} seeds): {none:.3f} as exported (target ≥ {target['floor']}), largest loss at a "
            f"middle severity {100 * losses[worst]:.1f} points, {worst} (target ≤ {100 * target['max_loss']:g}): "
            + (f"misses the target ({' and '.join(missed)})" if missed else "meets the target"))


def held_out_comparison(scores: list[dict], a: str, b: str) -> str:
    """Markdown: ``a`` against ``b`` on the seeds both were scored on, unshifted and at each held-out
    family's middle severity: the means, the difference in points (A minus B), the paired t-test over
    the seeds and Holm's correction over the rows."""
    by = {name: {s["seed"]: accuracies(s) for s in scores if s["name"] == name} for name in (a, b)}
    seeds = sorted(set(by[a]) & set(by[b]))
    if not seeds:
        return f"No seed has held-out scores for both {a} and {b} yet."
    columns = ["none"] + [f"{family} {h.severities[1]:g}" for family, h in HELD_OUT.items()]
    pairs = [([by[a][s][c] for s in seeds], [by[b][s][c] for s in seeds]) for c in columns]
    p = [paired_over_seeds(x, y) for x, y in pairs]
    tested = [i for i, v in enumerate(p) if not math.isnan(v)]
    adjusted = dict(zip(tested, holm([p[i] for i in tested]))) if tested else {}
    lines = [f"| shift | {a} | {b} | difference (points) | paired t p ({len(seeds)} seeds) | Holm |",
             "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for i, (column, (x, y)) in enumerate(zip(columns, pairs)):
        points = round(100 * (np.mean(x) - np.mean(y)), 1) + 0.0  # + 0.0: no "-0.0"
        shown = ("-", "-") if i not in adjusted else (f"{p[i]:.2g}", f"{adjusted[i]:.2g}")
        lines.append(f"| {column} | {np.mean(x):.3f} | {np.mean(y):.3f} | {points:+.1f} | {shown[0]} | {shown[1]} |")
    return "\n".join(lines)


def held_out_report(results_dir: str | os.PathLike) -> str:
    """The README's held-out block: the validation half's candidates and verdict, then the test half's
    table (baselines, and the chosen recipe once there is one), the chosen recipe's line on
    :data:`HELD_OUT_TARGET` and its comparison with BestNet seed by seed."""
    verdict = chosen(results_dir)
    test = load_held_out(results_dir, "test")
    report = ("Validation half (candidates; the choice " + (f"is **{verdict}**" if verdict else "is not made yet")
              + "):\n\n" + held_out_table(load_held_out(results_dir, "validation"))
              + "\n\nTest half (the course models" + (f" and {verdict}" if verdict else "") + "):\n\n"
              + held_out_table(test))
    if verdict and any(s["name"] == verdict for s in test):
        report += "\n\nAgainst the target:\n\n- " + held_out_verdict(test, verdict)
        if verdict != "bestnet":
            report += (f"\n\n{verdict} against bestnet on the test half, seed by seed:\n\n"
                       + held_out_comparison(test, verdict, "bestnet"))
    return report
