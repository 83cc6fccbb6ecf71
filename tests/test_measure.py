"""``course-stats``: what the student writes and reads, counted from the notebooks."""

import json
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from mri_helpers.course.measure import measure, stats_table

REPO = Path(__file__).resolve().parents[1]


def _write(path, cells):
    nbformat.write(new_notebook(cells=cells), path)
    return path


def test_measure_counts_solution_lines_checkers_and_words(tmp_path):
    a = _write(tmp_path / "01_a.ipynb", [
        new_markdown_cell("# One two three"),
        new_code_cell("# Exercise: write it\nimport torch\n\nclass Net(nn.Module):\n    def forward(self, x):\n"
                      "        return F.conv2d(x, w)", metadata={"tags": ["solution"]}),
        new_code_cell("check_net(Net);"),
        new_code_cell("x = 1  # a comment", metadata={"tags": ["solution"]}),
        new_markdown_cell("four five"),
        new_code_cell("print(x)"),  # no checker after the second exercise
    ])
    b = _write(tmp_path / "02_b_appendix.ipynb", [new_markdown_cell(" ".join(["word"] * 50))])
    stats = measure([a, b])
    assert stats["notebooks"]["01_a"] == {"markdown_words": 5, "exercises": 2, "checked": 1, "solution_lines": 5}
    assert (stats["solution_lines"], stats["exercises"], stats["checked"]) == (5, 2, 1)
    assert (stats["max_words"], stats["max_words_notebook"], stats["total_words"]) == (5, "01_a", 55)  # appendix uncapped
    assert stats["skills"]["an nn.Module with forward"] and stats["skills"]["F.conv2d"]
    assert not stats["skills"]["a forward hook"] and not stats["skills"]["an epoch loop"]
    table = stats_table(stats)
    assert "| exercises with a checker | 1 of 2 | all |" in table and "2 of 6 | all |" in table
    assert "Not yet written by the student: a training step" in table


def test_committed_course_stats_are_current():
    committed = json.loads((REPO / "results" / "course_stats.json").read_text())
    fresh = measure(sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb")))
    assert fresh == committed, "the notebooks changed: run `python -m mri_helpers course-stats`"
