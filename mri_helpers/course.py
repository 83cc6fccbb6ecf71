"""One call that sets a notebook up: ``course = setup("cnn0", DATA_DIR, SEED, QUICK)``.

It finds the data, decodes it at the recipe's image size, picks the output folders and
prints the banner that says which data is in use. Every notebook starts with it, so the
15 lines of set-up the notebooks used to copy live in one place.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

from .datasets import Datasets, load_datasets
from .files import OutputDirs, output_dirs
from .sources import banner
from .training import RECIPES, Recipe

# A quick pass (MRI_QUICK=1, as CI runs) checks that the code runs: 64-px images, small batches, few epochs.
QUICK = {"image_size": 64, "batch_size": 16}
QUICK_EPOCHS = {"cnn3": 6, "bestnet": 6}  # the others: 12


@dataclass
class Course:
    """What a notebook works with: the data, the recipe, and where outputs go."""

    data: Datasets
    recipe: Recipe
    out: OutputDirs
    figures: Path
    seed: int
    quick: bool


def quick_recipe(name: str, recipe: Recipe) -> Recipe:
    """``recipe`` shrunk for a quick pass."""
    return replace(recipe, **QUICK, epochs=QUICK_EPOCHS.get(name, 12))


def recipes(quick: bool) -> dict[str, Recipe]:
    """The course's recipes, shrunk for a quick pass if ``quick``."""
    return {name: quick_recipe(name, r) if quick else r for name, r in RECIPES.items()}


def setup(recipe: str = "cnn0", data_dir=None, seed: int = 42, quick: bool | None = None,
          figures_dir=None, image_size: int | None = None) -> Course:
    """Load the data at ``recipe``'s image size, choose the output folders, print the banner.

    ``quick`` (default: ``MRI_QUICK=1`` in the environment) shrinks the recipe;
    ``image_size`` overrides its image size (notebook 07 always looks at 256 px). Figures
    go to ``figures_dir`` if given, else ``imgs/`` for a full real-data run and
    ``scratch/<source>[-quick]/imgs/`` otherwise.
    """
    quick = os.environ.get("MRI_QUICK") == "1" if quick is None else quick
    chosen = recipes(quick)[recipe]
    if image_size:
        chosen = replace(chosen, image_size=image_size)
    data = load_datasets(data_dir, image_size=chosen.image_size)
    out = output_dirs(data.source, quick)
    print(banner(data.source, data.root) + (" Quick pass: 64-px images, a few epochs." if quick else ""))
    return Course(data, chosen, out, Path(figures_dir) if figures_dir else out.figures, seed, quick)
