"""Running the course on Kaggle or Colab, where students are.

Every notebook opens with "Open in Kaggle" and "Open in Colab" badges, and its first code cell
after the parameters is :data:`SETUP_CELL`. On a hosted runtime that cell installs this package
from GitHub, without dependencies of its own, so the runtime keeps its own torch and its GPU
build, plus the two packages a hosted image may lack (Captum and kagglehub). On a local clone it
does nothing. The data is then found by :func:`mri_helpers.sources.resolve_data_dir`: the dataset
attached to a Kaggle notebook, else a kagglehub download into :func:`data_home`.

The cell cannot import this module (the package is not installed yet when it runs), so it
repeats :func:`runtime`'s test and :func:`install_command`'s command; a test runs the cell in
simulated runtimes and holds the two together. A fork changes :data:`REPOSITORY` and runs
``python -m mri_helpers badges``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

REPOSITORY = "mri-course/brain-tumour-mri"  # owner/name on GitHub
BRANCH = "main"
EXTRAS = ("captum", "kagglehub")  # what a hosted image may lack; torch and the rest it has

# Environment variables each runtime sets in its notebooks' kernels.
MARKERS = {"kaggle": "KAGGLE_KERNEL_RUN_TYPE", "colab": "COLAB_RELEASE_TAG"}

SETUP_CELL = f"""\
# On Kaggle or Colab: install the course package (the runtime keeps its own torch). Locally: nothing.
import os
import subprocess
import sys

if {" or ".join(f'"{m}" in os.environ' for m in MARKERS.values())}:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", {", ".join(f'"{e}"' for e in EXTRAS)},
                    "git+https://github.com/{REPOSITORY}@{BRANCH}"], check=True)"""


def runtime(environ=None) -> str | None:
    """``"kaggle"``, ``"colab"`` or ``None`` (a local machine), from the kernel's environment."""
    environ = os.environ if environ is None else environ
    return next((name for name, marker in MARKERS.items() if marker in environ), None)


def install_command(python: str = sys.executable) -> list[str]:
    """The pip command :data:`SETUP_CELL` runs on a hosted runtime: no torch, no pinned versions."""
    return [python, "-m", "pip", "install", "-q", *EXTRAS, f"git+https://github.com/{REPOSITORY}@{BRANCH}"]


def data_home(name: str) -> Path:
    """Where a hosted runtime downloads the dataset: Kaggle's writable working folder, Colab's home."""
    return Path("/kaggle/working/brain-tumor-mri") if name == "kaggle" else Path.home() / "brain-tumor-mri"


def badges(notebook: str) -> str:
    """The "Open in Kaggle" and "Open in Colab" badges of ``notebook`` (its file name), as Markdown."""
    path = f"github.com/{REPOSITORY}/blob/{BRANCH}/notebooks/{notebook}"
    return (f"[![Open in Kaggle](https://kaggle.com/static/images/open-in-kaggle.svg)]"
            f"(https://kaggle.com/kernels/welcome?src=https://{path}) "
            f"[![Open in Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
            f"(https://colab.research.google.com/{path.replace('github.com/', 'github/', 1)})")
