"""How much of the course the student writes: ``python -m mri_helpers course-stats``.

It reads the committed notebooks (the instructor edition) and counts what a student types
and reads: the non-comment lines of the ``solution`` cells, the exercises whose solution is
followed by a checker (a ``check_...`` call in the next code cell), and the words of
markdown per notebook. It also says which of the course's core skills the solution cells
contain between them. The JSON goes to ``results/course_stats.json``; the README shows it
beside the targets.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat

SOLUTION = "solution"
APPENDIX = "appendix"  # a notebook whose name contains it is optional reading: its words are not capped
TARGETS = {"solution_lines": 300, "max_words": 1200, "total_words": 15000}
SKILLS = {  # what the solution cells must contain between them, and how each is recognised
    "an nn.Module with forward": r"class \w+\(nn\.Module\)[\s\S]*def forward\(",
    "a training step with backward() and step()": r"\.backward\(\)[\s\S]*\.step\(\)",
    "an epoch loop": r"for .+ in .*loader",
    "F.conv2d": r"F\.conv2d\(",
    "a forward hook": r"register_forward_hook\(",
    "Grad-CAM with a backward hook": r"register_(full_)?backward_hook\(",
}


def _code_lines(source: str) -> int:
    return sum(1 for line in source.splitlines() if line.strip() and not line.strip().startswith("#"))


def _words(source: str) -> int:
    return len(re.findall(r"\S*[^\W_]\S*", source))  # tokens with a letter or digit: no bullets, bars or #


def measure(paths: list[str | Path]) -> dict:
    """The course's measures from its notebooks, in the order given."""
    notebooks, solutions = {}, []
    for path in map(Path, paths):
        cells = nbformat.read(path, as_version=4).cells
        code = [c for c in cells if c.cell_type == "code"]
        mine = [(c, code[k + 1] if k + 1 < len(code) else None) for k, c in enumerate(code)
                if SOLUTION in c.metadata.get("tags", [])]
        solutions += [c.source for c, _ in mine]
        notebooks[path.stem] = {
            "markdown_words": sum(_words(c.source) for c in cells if c.cell_type == "markdown"),
            "exercises": len(mine),
            "checked": sum(1 for _, after in mine if after is not None and re.search(r"\bcheck_\w+\(", after.source)),
            "solution_lines": sum(_code_lines(c.source) for c, _ in mine),
        }
    capped = {name: n for name, n in notebooks.items() if APPENDIX not in name}
    joined = "\n".join(solutions)
    return {
        "notebooks": notebooks,
        "solution_lines": sum(n["solution_lines"] for n in notebooks.values()),
        "exercises": sum(n["exercises"] for n in notebooks.values()),
        "checked": sum(n["checked"] for n in notebooks.values()),
        "max_words": max((n["markdown_words"] for n in capped.values()), default=0),
        "max_words_notebook": max(capped, key=lambda k: capped[k]["markdown_words"], default=None),
        "total_words": sum(n["markdown_words"] for n in notebooks.values()),
        "skills": {skill: bool(re.search(pattern, joined)) for skill, pattern in SKILLS.items()},
        "targets": TARGETS,
    }


def stats_table(stats: dict | None) -> str:
    """The measures beside their targets, as Markdown."""
    if not stats:
        return "Run `python -m mri_helpers course-stats` to measure."
    lines = ["| measure | now | target |", "| --- | ---: | ---: |",
             f"| lines of code students write (non-comment lines in `solution` cells) | {stats['solution_lines']} "
             f"| ≥ {TARGETS['solution_lines']} |",
             f"| exercises with a checker | {stats['checked']} of {stats['exercises']} | all |",
             f"| markdown words per notebook (appendix excepted), the most | {stats['max_words']:,} "
             f"({stats['max_words_notebook']}) | ≤ {TARGETS['max_words']:,} |",
             f"| markdown words in all | {stats['total_words']:,} | ≤ {TARGETS['total_words']:,} |"]
    missing = [skill for skill, found in stats["skills"].items() if not found]
    lines.append(f"| core skills the solution cells contain | {len(stats['skills']) - len(missing)} of "
                 f"{len(stats['skills'])} | all |")
    return "\n".join(lines) + ("\n\nNot yet written by the student: " + "; ".join(missing) + "." if missing else "")
