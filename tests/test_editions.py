"""The student edition and the slides are made from the committed notebooks (mri_helpers.course.editions)."""

import ast
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from mri_helpers.course import editions

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("[0-9][0-9]_*.ipynb"))

SOLUTION = """# Exercise 1: count the parameters of fc1.
# Hint: weights and biases.
inputs = 16384
count = inputs * 512 + 512
count += 0"""


def _notebook():
    solution = new_code_cell(SOLUTION, metadata={"tags": ["solution"]},
                             outputs=[new_output("stream", name="stdout", text="8389120\n")])
    return new_notebook(cells=[
        new_markdown_cell("# 04 · Title"),
        new_code_cell("QUICK = True", metadata={"tags": ["parameters"]}),
        new_code_cell("import torch\nfrom torch import nn\n"),
        new_markdown_cell("## A section"),
        new_code_cell("print(1)", outputs=[new_output("stream", name="stdout", text="1\n")], execution_count=3),
        new_markdown_cell("### A detail"),
        solution,
        new_code_cell("check_parameter_count('cnn3', 'fc1', count)"),
        new_code_cell("Explorer()", outputs=[new_output("display_data", data={
            "text/plain": "VBox()", "application/vnd.jupyter.widget-view+json": {"model_id": "x"}})]),
    ])


def test_stub_keeps_the_task_and_sets_every_answer_to_none():
    assert editions.solution_names(SOLUTION) == ["inputs", "count"]
    assert editions.stub(SOLUTION) == (
        "# Exercise 1: count the parameters of fc1.\n# Hint: weights and biases.\n"
        "# Your code here. Replace each None, then run the check below.\ninputs = None\ncount = None")
    assert editions.solution_names("a, (b, c) = 1, (2, 3)\nx: int = 4\nprint(a)") == ["a", "b", "c", "x"]
    assert editions.solution_names("def f(x):\n    y = x\n    return y\nz = f(1)") == ["f", "z"]
    with pytest.raises(ValueError, match="assign its answer"):
        editions.stub("# Exercise: print it\nprint(3)")


def test_a_function_keeps_its_signature_and_raises_its_task():
    solution = ('# Exercise 3: learn the kernel.\n'
                'def learn_kernel(image, target, steps=300):\n'
                '    """Learn the 3x3 kernel that turns image into target."""\n'
                '    kernel = torch.zeros(3, 3)\n'
                '    return kernel\n\n\n'
                'learned = learn_kernel(1, 2)\n')
    stubbed = editions.stub(solution)
    assert stubbed == ('# Exercise 3: learn the kernel.\n'
                       'def learn_kernel(image, target, steps=300):\n'
                       '    """Learn the 3x3 kernel that turns image into target."""\n'
                       "    raise NotImplementedError('Learn the 3x3 kernel that turns image into target.')\n\n"
                       "# Your code here. Replace each None, then run the check below.\nlearned = None")
    space = {}
    exec(stubbed, space)  # the stub runs, and the function says what to do when called
    with pytest.raises(NotImplementedError, match="Learn the 3x3 kernel"):
        space["learn_kernel"](1, 2)
    assert "torch.zeros" not in stubbed and space["learned"] is None


def test_student_notebook_has_no_solution_and_no_outputs():
    nb = _notebook()
    student = editions.student_notebook(nb)
    assert "inputs * 512" in nb.cells[6].source and nb.cells[4].outputs  # the original is untouched
    assert student.cells[6].metadata["tags"] == ["exercise"]
    assert student.cells[6].source.endswith("inputs = None\ncount = None")
    assert "512" not in student.cells[6].source
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in student.cells if c.cell_type == "code")
    assert [c.source for c in student.cells if c.cell_type == "markdown"] == [
        c.source for c in nb.cells if c.cell_type == "markdown"]


def test_slide_types_follow_the_headings():
    slides = editions.slides_notebook(_notebook())
    assert [c.metadata["slideshow"]["slide_type"] for c in slides.cells] == [
        "slide", "skip", "skip", "slide", "-", "subslide", "-", "-", "skip"]


def test_write_student_edition_and_slides(tmp_path):
    path = tmp_path / "03_demo.ipynb"
    nbformat.write(_notebook(), path)
    [student] = editions.write_student_edition([path], tmp_path / "student")
    assert student == tmp_path / "student" / "03_demo.ipynb"
    assert "inputs = None" in nbformat.read(student, as_version=4).cells[6].source
    [deck] = editions.write_slides([path], tmp_path / "slides", reveal_url_prefix="reveal.js")
    html = deck.read_text()
    assert deck.name == "03_demo.slides.html" and 'href="reveal.js/dist/reveal.css"' in html
    assert html.count("<section") >= 3 and editions.SLIDE_CSS in html
    assert "QUICK = True" not in html  # the parameters cell is skipped


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_course_student_edition_keeps_no_solution_code(path):
    nb = nbformat.read(path, as_version=4)
    student = editions.student_notebook(nb)
    solutions = [c for c in nb.cells if "solution" in c.metadata.get("tags", [])]
    stubs = [c for c in student.cells if "exercise" in c.metadata.get("tags", [])]
    assert len(stubs) == len(solutions) and not any("solution" in c.metadata.get("tags", []) for c in student.cells)
    for stub, solution in zip(stubs, solutions):
        code = [line.strip() for line in stub.source.splitlines() if line.strip() and not line.startswith("#")]
        names = editions.solution_names(solution.source)
        defined = [n for n in names if f"def {n}(" in solution.source or f"class {n}(" in solution.source]
        top_level_none = [line for line in stub.source.splitlines() if line.endswith(" = None") and line[0] != " "]
        assert top_level_none == [f"{name} = None" for name in names if name not in defined]
        # what remains: signatures, docstrings, raise NotImplementedError, class attributes set to None
        assert all(line.startswith(("def ", "class ")) or "NotImplementedError" in line or '"""' in line
                   or line.endswith(" = None") for line in code), code
        body = ast.parse(solution.source).body
        bodies = sum(isinstance(node, ast.FunctionDef) for top in body
                     for node in (top.body if isinstance(top, ast.ClassDef) else [top]))
        assert sum("raise NotImplementedError" in line for line in code) == bodies


def test_a_class_keeps_its_methods_as_stubs_and_its_attributes_as_none():
    source = ('# Write CNN1: CNN0 with more filters.\n'
              'class CNN1(CNN0):\n    """Wider."""\n\n    widths = (4, 8, 16, 16)\n    hidden = 64\n\n'
              '    def forward(self, x):\n        """Run the blocks, then the head."""\n        return self.fc2(x)\n')
    out = editions.stub(source)
    assert "(4, 8, 16, 16)" not in out and "return self.fc2" not in out
    assert "    widths = None\n    hidden = None" in out
    assert "    def forward(self, x):\n        \"\"\"Run the blocks, then the head.\"\"\"\n" \
           "        raise NotImplementedError('Run the blocks, then the head.')" in out
    namespace = {"CNN0": object}
    exec(out, namespace)
    with pytest.raises(NotImplementedError, match="Run the blocks"):
        namespace["CNN1"]().forward(None)


def test_answer_cells_are_left_out_of_the_student_edition():
    nb = new_notebook(cells=[new_markdown_cell("## Questions\n1. Why?"),
                             new_markdown_cell("**Answers.** 1. Because.", metadata={"tags": ["answer"]})])
    assert [c.source for c in editions.student_notebook(nb).cells] == ["## Questions\n1. Why?"]
