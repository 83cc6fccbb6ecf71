"""The student edition and the slide decks, both made from the one committed edition of the notebooks.

The committed notebooks are the instructor edition: every exercise's solution is in a
code cell tagged ``solution``. ``make student`` writes a copy of the course in which each
solution cell becomes a stub: the task (the cell's leading comment lines) is kept, a
function or method keeps its signature and docstring and raises ``NotImplementedError``, and every
other name the solution assigns is set to ``None``, so the checker cell that follows
prints a hint instead of failing, and every other cell still runs. The student edition
carries no outputs, so no answer can leak through a printed result, and no cell tagged
``answer`` (the instructor's answers to the questions).

``make slides`` turns each notebook into a reveal.js deck with nbconvert. The slide
layout is derived from the headings, so no cell needs hand-kept metadata: a ``#`` or
``##`` heading starts a slide, ``###`` a sub-slide (one idea per slide), the
parameters cell, imports and widgets (which need a live kernel) are skipped, and figures
are scaled up to most of the slide.
"""

from __future__ import annotations

import ast
import copy
import os
from pathlib import Path

import nbformat

from .files import atomic_path

SOLUTION = "solution"
ANSWER = "answer"  # a cell with the answers to a notebook's questions: the instructor edition only
WIDGET = "application/vnd.jupyter.widget-view+json"
# figures fill most of the slide's height whatever size they were saved at
SLIDE_CSS = (".reveal .jp-RenderedImage img, .reveal .output_png img "
             "{ width: 100%; height: auto; max-height: 62vh; object-fit: contain; }")


def solution_names(source: str) -> list[str]:
    """Names a solution cell assigns or defines at its top level, in order: what the stub must define."""
    names: list[str] = []
    for node in ast.parse(source).body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name not in names:
            names.append(node.name)
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] \
            if isinstance(node, (ast.AnnAssign, ast.AugAssign)) else []
        for target in targets:
            for leaf in ast.walk(target):
                if isinstance(leaf, ast.Name) and leaf.id not in names:
                    names.append(leaf.id)
    return names


def _docstring_end(node) -> int:
    """The last line of ``node``'s docstring, or the line before its body when it has none."""
    first = node.body[0]
    has_doc = isinstance(first, ast.Expr) and isinstance(getattr(first, "value", None), ast.Constant) \
        and isinstance(first.value.value, str)
    return first.end_lineno if has_doc else first.lineno - 1


def _function_stub(function: ast.FunctionDef, lines: list[str], task: str) -> list[str]:
    """``function``'s signature and docstring, then ``raise NotImplementedError`` with the task in one line."""
    todo = (ast.get_docstring(function) or task or function.name).splitlines()[0]
    indent = " " * function.body[0].col_offset
    return [*lines[function.lineno - 1 - len(function.decorator_list):_docstring_end(function)],
            f"{indent}raise NotImplementedError({todo!r})", ""]


def stub(source: str) -> str:
    """The student's version of a solution cell: its task, and a stub for each answer.

    A function the solution defines keeps its signature and docstring, and its body becomes
    ``raise NotImplementedError`` with the task in one line. A class keeps its line and
    docstring; each of its methods becomes such a stub, and each class attribute ``None``.
    Every other name the solution assigns is set to ``None``. Either way, the checker cell
    that follows prints a hint.
    """
    lines = source.splitlines()
    task = []
    for line in lines:
        if not line.startswith("#"):
            break
        task.append(line)
    first_task = task[0].lstrip("# ") if task else ""
    names = solution_names(source)
    if not names:
        raise ValueError("A solution cell must assign its answer to a name, for its checker to read: "
                         + (lines[0] if lines else "(empty cell)"))
    body = ast.parse(source).body
    out, defined = list(task), set()
    for node in body:
        if isinstance(node, ast.FunctionDef):
            out += _function_stub(node, lines, first_task)
        elif isinstance(node, ast.ClassDef):
            out += lines[node.lineno - 1 - len(node.decorator_list):_docstring_end(node)]
            indent = " " * node.body[0].col_offset
            for item in node.body:
                if isinstance(item, ast.FunctionDef):
                    out += ["", *_function_stub(item, lines, first_task)]
                elif isinstance(item, (ast.Assign, ast.AnnAssign)):
                    targets = item.targets if isinstance(item, ast.Assign) else [item.target]
                    out += [f"{indent}{t.id} = None" for t in targets if isinstance(t, ast.Name)]
            out.append("")
        else:
            continue
        defined.add(node.name)
    others = [name for name in names if name not in defined]
    if others:
        out += ["# Your code here. Replace each None, then run the check below.", *(f"{n} = None" for n in others)]
    return "\n".join(out).rstrip()


def student_notebook(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of ``nb`` with every solution stubbed, every answer cell and every output removed."""
    nb = copy.deepcopy(nb)
    nb.cells = [cell for cell in nb.cells if ANSWER not in cell.metadata.get("tags", [])]
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        if SOLUTION in cell.metadata.get("tags", []):
            cell.source = stub(cell.source)
            cell.metadata["tags"] = [t for t in cell.metadata["tags"] if t != SOLUTION] + ["exercise"]
        cell.outputs, cell.execution_count = [], None
    return nb


def write_student_edition(notebooks: list[str | os.PathLike], dest: str | os.PathLike) -> list[Path]:
    """Write the student edition of each notebook into ``dest``; return the files written."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    written = []
    for path in map(Path, notebooks):
        target = dest / path.name
        with atomic_path(target) as tmp:
            nbformat.write(student_notebook(nbformat.read(path, as_version=4)), tmp)
        written.append(target)
    return written


def slide_type(cell: nbformat.NotebookNode) -> str:
    """reveal.js slide type of a cell, from its heading or role."""
    source = cell.source.lstrip()
    if "parameters" in cell.metadata.get("tags", []):
        return "skip"
    if cell.cell_type == "markdown":
        if source.startswith(("# ", "## ")):
            return "slide"
        if source.startswith("### "):
            return "subslide"
        return "-"
    if all(line.startswith(("import ", "from ")) or not line.strip() for line in source.splitlines()):
        return "skip"  # imports only
    if any(WIDGET in output.get("data", {}) for output in cell.get("outputs", [])):
        return "skip"  # a widget needs a live kernel; its static figure follows it
    return "-"


def slides_notebook(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of ``nb`` with reveal.js slide metadata on every cell."""
    nb = copy.deepcopy(nb)
    nb.cells = [cell for cell in nb.cells if ANSWER not in cell.metadata.get("tags", [])]
    for cell in nb.cells:
        cell.metadata["slideshow"] = {"slide_type": slide_type(cell)}
    return nb


def write_slides(notebooks: list[str | os.PathLike], dest: str | os.PathLike,
                 reveal_url_prefix: str | None = None) -> list[Path]:
    """One ``<notebook>.slides.html`` deck per notebook in ``dest``, figures scaled to the slide."""
    from nbconvert import SlidesExporter

    exporter = SlidesExporter(reveal_scroll=True, reveal_width="1280", reveal_height="800")
    if reveal_url_prefix:
        exporter.reveal_url_prefix = reveal_url_prefix
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    written = []
    for path in map(Path, notebooks):
        body, _ = exporter.from_notebook_node(slides_notebook(nbformat.read(path, as_version=4)))
        body = body.replace("</head>", f"<style>{SLIDE_CSS}</style>\n</head>", 1)
        target = dest / f"{path.stem}.slides.html"
        with atomic_path(target) as tmp:
            tmp.write_text(body)
        written.append(target)
    return written


SETUP_TAG = "hosted-setup"  # the code cell that installs the package on a hosted runtime
BADGE_LINE = "[![Open in Kaggle]"  # how the badge line under a notebook's title starts


def with_hosted_cells(nb: nbformat.NotebookNode, name: str) -> nbformat.NotebookNode:
    """``nb`` with the Kaggle and Colab badges under its title and
    :data:`~mri_helpers.hosted.SETUP_CELL` right after its parameters cell, both (re)written from
    :mod:`~mri_helpers.hosted`; nothing else changes."""
    from ..hosted import SETUP_CELL, badges

    title, *rest = [line for line in nb.cells[0].source.splitlines() if not line.startswith(BADGE_LINE)]
    while rest and not rest[0].strip():
        rest.pop(0)
    nb.cells[0].source = "\n".join([title, "", badges(name), "", *rest])
    cells = [c for c in nb.cells if SETUP_TAG not in c.metadata.get("tags", [])]
    at = next(i for i, c in enumerate(cells) if "parameters" in c.metadata.get("tags", [])) + 1
    setup = nbformat.v4.new_code_cell(SETUP_CELL, metadata={"tags": [SETUP_TAG]})
    if nb.get("nbformat_minor", 0) >= 5:
        setup.id = SETUP_TAG  # a fixed id: rewriting changes nothing
    else:
        del setup["id"]
    nb.cells = [*cells[:at], setup, *cells[at:]]
    return nb


def write_hosted_cells(notebooks: list[str | os.PathLike]) -> list[Path]:
    """Rewrite every notebook's badges and hosted set-up cell in place (``python -m mri_helpers badges``)."""
    written = []
    for path in map(Path, notebooks):
        nb = nbformat.read(path, as_version=4)
        before = nbformat.writes(nb)
        nb = with_hosted_cells(nb, path.name)
        if nbformat.writes(nb) != before:
            nbformat.write(nb, path)
            written.append(path)
    return written
