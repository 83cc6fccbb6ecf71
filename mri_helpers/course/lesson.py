"""The one call at the top of every notebook: ``course = setup("cnn0", DATA_DIR, SEED, QUICK)``.

It finds the data, decodes it at the recipe's image size, picks the output folders and
prints which data is in use. The :class:`Course` it returns remembers the seed and the
quick flag, so a notebook trains, reloads and tables with one short call each
(``course.train()``, ``course.look_at("cnn3")``, ``course.table()``).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..datasets import Datasets, load_datasets
from ..recipes import VARIANTS, Recipe, Variant
from ..shifts import shifted_accuracy
from ..sources import banner
from ..transforms import Prepare
from .files import OutputDirs, output_dirs, write_json
from .records import COURSE_MODELS, course_runs, load_records, seed_runs
from .robustness import score_path
from .runs import Result, Run, load_or_train_briefly, shipped_result, train_and_evaluate
from .tables import results_table, twins

# A quick pass (MRI_QUICK=1, as CI runs) checks that the code runs: 64-px images, small batches, few epochs.
QUICK = {"image_size": 64, "batch_size": 16}
QUICK_EPOCHS = {"cnn3": 6, "bestnet": 6}  # the others: 12


def quick_variant(variant: Variant) -> Variant:
    """``variant`` with its recipe shrunk for a quick pass."""
    return replace(variant, recipe=replace(variant.recipe, **QUICK, epochs=QUICK_EPOCHS.get(variant.model, 12)))


def course_variants(quick: bool) -> dict[str, Variant]:
    """Every named variant as the course trains it, shrunk for a quick pass if ``quick``."""
    return {name: quick_variant(v) if quick else v for name, v in VARIANTS.items()}


def quick_mode() -> bool:
    """Is this a quick pass? ``MRI_QUICK=1`` in the environment says so."""
    return os.environ.get("MRI_QUICK") == "1"


@dataclass
class Course:
    """What a notebook works with: the data, its recipe, where outputs go, its seed and pass."""

    name: str | None  # the variant the notebook trains, as in VARIANTS (None: it reads records only)
    data: Datasets | None
    recipe: Recipe | None
    out: OutputDirs
    figures: Path
    seed: int
    quick: bool
    source: str = "real"  # "real" or "synthetic"
    data_dir: str | os.PathLike | None = None
    _data_by_size: dict = field(default_factory=dict, repr=False)

    @property
    def variants(self) -> dict[str, Variant]:
        return course_variants(self.quick)

    def train(self, name: str | None = None, recipe: Recipe | None = None, seed: int | None = None,
              model: str | None = None, options: dict | None = None, shipped: bool = False) -> Result:
        """Train (or reload) the variant ``name`` (default: this notebook's), evaluate it and file its record.

        The recipe defaults to this notebook's for its own variant (with setup's image size),
        to the course's for another variant, and to this notebook's for a new name (an
        exercise's, which also needs its ``model``); ``model`` and ``options`` to the variant's.
        With ``shipped``, the course's trained weights (``weights/``) stand in for the training.
        """
        name = name or self.name
        if shipped:
            return shipped_result(name, self.data, self.out)
        if recipe is None:
            recipe = self.variants[name].recipe if name != self.name and name in self.variants else self.recipe
        return train_and_evaluate(name, self.data, self.out, recipe, seed=self.seed if seed is None else seed,
                                  model=model, options=options)

    def recorded(self, name: str) -> Result:
        """The course's filed run of ``name`` at this seed, by its record alone: nothing is trained.

        For a run too slow for a laptop whose weights are not shipped (they would pass the
        25 MB budget): what a notebook reads of it, its record and its seen-shift scores,
        was filed when it was trained.
        """
        mine = [r for r in seed_runs(self.records(), self.variants, names=[name]).get(name, [])
                if r["seed"] == self.seed]
        if not mine:
            raise ValueError(f"No filed run of {name} with seed {self.seed} here: set SHIPPED = False to train it.")
        return Result(Run(name, mine[0]["fingerprint"], self.out), None, None, mine[0])

    def seen_scores(self, result: Result, raw) -> dict[str, float]:
        """``result``'s accuracy as exported and under each seen shift on ``raw`` (the test half's
        uint8 images): scored here by its model, or, for a run known by its record alone, as filed."""
        if result.model is not None:
            return shifted_accuracy(result.model, raw, Prepare(self.data.normalize))
        path = score_path(self.out.results, result.record)
        if not path.exists():
            raise ValueError(f"No filed seen-shift scores of {result.record['name']} {result.run.id}: "
                             "set SHIPPED = False to train it.")
        return json.loads(path.read_text())["accuracy"]

    def data_for(self, name: str) -> Datasets:
        """The data at the image size the variant ``name`` trains at (loaded once per size)."""
        return self.data_at(self.variants[name].recipe.image_size)

    def data_at(self, size: int) -> Datasets:
        """This notebook's data at ``size`` px (loaded once per size)."""
        if self.data is not None and self.data.image_size == size:
            return self.data
        if size not in self._data_by_size:
            self._data_by_size[size] = load_datasets(self.data_dir, image_size=size)
        return self._data_by_size[size]

    def look_at(self, name: str | None = None):
        """The trained model ``name`` (default: this notebook's), or a brief stand-in: ``(model, meta)``.

        It is looked at on this notebook's data for its own variant, else at the size ``name`` trains at.
        """
        name = name or self.name
        data = self.data if name == self.name else self.data_for(name)
        recipe = replace(self.variants[name].recipe, image_size=data.image_size)
        return load_or_train_briefly(name, data, self.out, self.seed, recipe)

    def records(self) -> list[dict]:
        """Every run record filed so far."""
        return load_records(self.out.results)

    def runs(self, names=None) -> dict[str, list[dict]]:
        """Per variant (the course models by default), one record of its current recipe per seed."""
        return seed_runs(self.records(), self.variants, names=names or COURSE_MODELS)

    def seed_runs(self) -> dict[str, dict]:
        """Per course model, the record of this notebook's seed."""
        return course_runs(self.records(), self.variants, self.seed)

    def table(self, names=None) -> str:
        """The results table of the runs filed so far (every seed), beside the original project's numbers."""
        return results_table(self.runs(names), twins(self.out.results), self.seed)

    def write_result(self, filename: str, result: dict) -> Path:
        """Write ``result`` as JSON into this pass's results folder (notebook 09's leakage audit)."""
        return write_json(self.out.results / filename, result)


def setup(name: str = "cnn0", data_dir=None, seed: int = 42, quick: bool | None = None, figures_dir=None,
          image_size: int | None = None) -> Course:
    """Load the data at ``name``'s image size, choose the output folders, print the banner.

    ``quick`` (default: ``MRI_QUICK=1``) shrinks the recipes; ``image_size`` overrides the
    recipe's (notebook 08 looks at 256 px). Figures go to ``figures_dir`` if given, else
    ``imgs/`` for a full real-data run and ``scratch/<source>[-quick]/imgs/`` otherwise.
    """
    quick = quick_mode() if quick is None else quick
    recipe = course_variants(quick)[name].recipe
    if image_size:
        recipe = replace(recipe, image_size=image_size)
    data = load_datasets(data_dir, image_size=recipe.image_size)
    out = output_dirs(data.source, quick)
    print(banner(data.source, data.root) + (" Quick pass: 64-px images, a few epochs." if quick else ""))
    return Course(name, data, recipe, out, Path(figures_dir) if figures_dir else out.figures, seed, quick, data.source, data_dir)


def reader(source: str | None = None, quick: bool | None = None, results_dir=None, figures_dir=None,
           seed: int = 42) -> Course:
    """A :class:`Course` for a notebook that only reads run records (notebook 12): no data is loaded.

    ``source`` ("real" or "synthetic") defaults to the synthetic phantoms in a quick pass and
    the real data otherwise; ``results_dir`` to that source's results folder.
    """
    quick = quick_mode() if quick is None else quick
    source = source or ("synthetic" if quick else "real")
    out = output_dirs(source, quick)
    if results_dir:
        out = replace(out, results=Path(results_dir))
    return Course(None, None, None, out, Path(figures_dir) if figures_dir else out.figures, seed, quick, source)
