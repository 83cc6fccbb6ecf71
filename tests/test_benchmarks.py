"""The benchmarks' decision rules, on known answers (the timings themselves live in benchmarks/results/)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import compile_step  # noqa: E402


def test_compile_is_used_only_when_fast_enough_and_paid_back_within_one_recipe():
    # 2x faster, 10 s of compiling at 0.1 s saved a step: paid back after 100 of 1,000 steps
    assert compile_step.verdict(0.2, 0.1, 10.0, 1000) == {
        "speedup": 2.0, "payback_steps": 100, "recipe_steps": 1000, "use_by_default": True}
    # 2x faster but the recipe is too short to win the compile time back
    assert compile_step.verdict(0.2, 0.1, 10.0, 99)["use_by_default"] is False
    # 1.1x faster: below the 1.2x the rule asks, however long the recipe
    assert compile_step.verdict(0.11, 0.1, 1.0, 10**6) == {
        "speedup": 1.1, "payback_steps": 100, "recipe_steps": 10**6, "use_by_default": False}
    # slower compiled: never paid back
    assert compile_step.verdict(0.1, 0.2, 5.0, 10**6) == {
        "speedup": 0.5, "payback_steps": None, "recipe_steps": 10**6, "use_by_default": False}
