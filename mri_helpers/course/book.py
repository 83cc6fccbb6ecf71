"""The course website: Jupyter Book builds static HTML from the committed, executed notebooks.

``make book`` copies what the site shows into ``scratch/book/src/`` and builds it there, so
Sphinx never walks the repository (its virtual environment, data and caches):

* the README as the home page, with the results tables;
* the notebooks in course order, one page each, with their stored outputs (nothing is
  executed again); a widget's output, which needs a running kernel, becomes a line saying so,
  above the static figure every notebook shows beside it;
* the instructor guide;
* ``imgs/``, which the README's figures use.

Links from those pages to other files of the repository (a module, a results JSON) point to
the file on GitHub, so that no link of the site leads nowhere.
"""

from __future__ import annotations

import json
import posixpath
import re
import shutil
import subprocess
import sys
from pathlib import Path

from ..hosted import BRANCH, REPOSITORY
from ..sources import REPO_ROOT

WIDGET = "application/vnd.jupyter.widget-view+json"
WIDGET_NOTE = ("*An interactive widget: open this notebook in JupyterLab, Kaggle or Colab to use it. "
               "The figure below shows one view.*")
LINK = re.compile(r"(\]\()([^)#\s]+)((?:#[^)\s]*)?\))")
PAGES = {"README.md": "intro.md", "docs/instructor.md": "instructor.md"}

CONFIG = f"""\
title: "Brain-tumour MRI classification with PyTorch"
author: "the course's contributors"
copyright: ""
only_build_toc_files: true
execute:
  execute_notebooks: "off"
repository:
  url: https://github.com/{REPOSITORY}
  branch: {BRANCH}
html:
  use_repository_button: true
sphinx:
  config:
    html_show_copyright: false
    myst_heading_anchors: 3
"""


def _toc(notebooks: list[Path]) -> str:
    lines = ["format: jb-book", "root: intro", "chapters:"]
    lines += [f"  - file: notebooks/{nb.stem}" for nb in notebooks]
    lines += ["  - file: instructor"]
    return "\n".join(lines) + "\n"


def _site_path(repo_path: str) -> str:
    return PAGES.get(repo_path, repo_path)


def _retarget(text: str, page: str, kept: set[str]) -> str:
    """Rewrite the relative links of ``page`` (its path in the repository) for the site: a link to
    a page of the site, or to a copied figure, follows it there; any other goes to the file on GitHub."""
    here = posixpath.dirname(_site_path(page))

    def fix(match: re.Match) -> str:
        target = match.group(2)
        if "://" in target or target.startswith("mailto:"):
            return match.group(0)
        resolved = posixpath.normpath(posixpath.join(posixpath.dirname(page), target))
        if resolved in kept or resolved.startswith("imgs/"):
            return match.group(1) + posixpath.relpath(_site_path(resolved), here or ".") + match.group(3)
        return f"{match.group(1)}https://github.com/{REPOSITORY}/blob/{BRANCH}/{resolved}{match.group(3)}"

    return LINK.sub(fix, text)


def prepare(dest: str | Path, root: Path = REPO_ROOT) -> Path:
    """Write the site's sources into ``dest`` (emptied first); return it."""
    dest = Path(dest)
    shutil.rmtree(dest, ignore_errors=True)
    (dest / "notebooks").mkdir(parents=True)
    notebooks = sorted((root / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    kept = {*PAGES, *(f"notebooks/{nb.name}" for nb in notebooks)}
    for source, target in PAGES.items():
        (dest / target).write_text(_retarget((root / source).read_text(), source, kept))
    for nb in notebooks:
        data = json.loads(nb.read_text())
        for cell in data["cells"]:
            if cell["cell_type"] == "markdown":
                cell["source"] = _retarget("".join(cell["source"]), f"notebooks/{nb.name}", kept)
            for output in cell.get("outputs", []):
                if WIDGET in output.get("data", {}):
                    output["data"] = {"text/markdown": WIDGET_NOTE}
        (dest / "notebooks" / nb.name).write_text(json.dumps(data, indent=1))
    shutil.copytree(root / "imgs", dest / "imgs")
    (dest / "_config.yml").write_text(CONFIG)
    (dest / "_toc.yml").write_text(_toc(notebooks))
    return dest


def build(dest: str | Path = REPO_ROOT / "scratch" / "book") -> Path:
    """Prepare the sources in ``<dest>/src`` and build the site; return the folder of its HTML."""
    dest = Path(dest)
    src = prepare(dest / "src")
    subprocess.run([str(Path(sys.executable).parent / "jupyter-book"), "build", str(src), "--path-output", str(dest), "-q"],
                   check=True)
    return dest / "_build" / "html"
