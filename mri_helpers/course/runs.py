"""A run is a record: what identifies a training run, where its files live, and how it is written.

A run's identity is a fingerprint of everything that decides its weights:

* the architecture (the model's name, its options, and a hash of its layer structure);
* the full :class:`~mri_helpers.recipes.Recipe` (its learning rate and every field that
  differs from the defaults), with ``precision="auto"`` resolved to what this machine runs;
* the data's key (files, labels, sizes and image size, not where they lie);
* the seed.

Its checkpoint is ``<checkpoints>/<name>/<run-id>.pt`` and its record
``<results>/<name>/<run-id>.json``. A checkpoint is resumed or reused only when the
fingerprint matches exactly, as the data cache works; change a learning rate and the run
is a new one. A record is written once, when the run is first evaluated, and never
edited: numbers derived from it (a de-duplicated score, a table) are computed when they
are read, by :mod:`records` and :mod:`tables`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import platform
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader

from ..datasets import Datasets, make_loaders
from ..metrics import Evaluation, evaluate
from ..models import build_model, layer_parameters
from ..recipes import VARIANTS, Recipe
from ..sources import REPO_ROOT
from ..stats import accuracy_interval, format_accuracy
from ..training import Trainer, load_checkpoint, pick_device, seed_everything
from ..transforms import Augment, Prepare
from ..weights import load_shipped, read_manifest
from . import precision as amp
from .files import OutputDirs, output_dirs, write_json

log = logging.getLogger(__name__)

SCHEMA = 2  # version of the record format


def layers(model: nn.Module) -> list[list]:
    """Every layer in the order it was made: its name, its type, its settings and its weights' shapes.

    The order matters: it is the order in which a seeded model draws its initial weights.
    """
    return [[name, type(m).__name__, m.extra_repr(),
             [list(t.shape) for t in (*m.parameters(recurse=False), *m.buffers(recurse=False))]]
            for name, m in model.named_modules() if name and not list(m.children())]


def architecture(model: nn.Module) -> str:
    """A short hash of the model's :func:`layers`.

    Only the layers count, not how the class is written: renaming the class, or writing a
    loop of layers out one by one, keeps the architecture, and so every run's identity.
    """
    return hashlib.sha256(json.dumps(layers(model)).encode()).hexdigest()[:16]


def fingerprint(model_name: str, options: dict, model: nn.Module, recipe: Recipe, data_key: str, seed: int,
                device: torch.device | str) -> dict:
    """Everything that decides a run's weights, as plain JSON."""
    resolved = replace(recipe, precision=amp.resolve(recipe.precision, device))
    return {
        "model": model_name,
        "model_options": dict(sorted(options.items())),
        "architecture": architecture(model),
        "recipe": resolved.identity(),
        "data": data_key,
        "seed": seed,
    }


def run_id(fp: dict) -> str:
    """``seed<seed>-<12 hex digits of the fingerprint's hash>``: readable, and unique per fingerprint."""
    digest = hashlib.sha256(json.dumps(fp, sort_keys=True).encode()).hexdigest()[:12]
    return f"seed{fp['seed']}-{digest}"


def differences(a: dict, b: dict) -> list[str]:
    """The keys in which two fingerprints differ, as ``recipe.lr: 0.0003 -> 0.001`` lines.

    Recipes are compared in full, so a field left at its default shows its value, not a gap.
    """
    def full(fp):
        return dict(fp, recipe=asdict(Recipe(**fp["recipe"]))) if "recipe" in fp else fp

    return _differences(full(a), full(b))


def _differences(a: dict, b: dict, prefix: str = "") -> list[str]:
    out = []
    for key in sorted(set(a) | set(b)):
        x, y = a.get(key), b.get(key)
        if isinstance(x, dict) and isinstance(y, dict):
            out += _differences(x, y, f"{prefix}{key}.")
        elif x != y:
            out.append(f"{prefix}{key}: {x!r} -> {y!r}")
    return out


@dataclass(frozen=True)
class Run:
    """One run's identity and where its files live."""

    name: str  # what the files are filed under: the model, or an ablation's name
    fingerprint: dict
    out: OutputDirs

    @property
    def id(self) -> str:
        return run_id(self.fingerprint)

    @property
    def checkpoint(self) -> Path:
        return Path(self.out.checkpoints) / self.name / f"{self.id}.pt"

    @property
    def record(self) -> Path:
        return Path(self.out.results) / self.name / f"{self.id}.json"

    def finished(self) -> bool:
        """Is there a checkpoint of this run with all its epochs, or one that stopped early?"""
        if not self.checkpoint.exists():
            return False
        state = load_checkpoint(self.checkpoint)
        epochs = Recipe(**self.fingerprint["recipe"]).epochs  # the identity leaves a default out
        return len(state["history"]) >= epochs or state.get("stopped_early", False)


def plan(name: str, data: Datasets, out: OutputDirs, recipe: Recipe | None = None, seed: int = 42,
         model: str | None = None, options: dict | None = None, device=None) -> tuple[Run, nn.Module]:
    """The run that ``name`` with this recipe, data and seed would be, and its freshly seeded model.

    ``model`` and ``options`` default to the variant ``name``'s (:data:`~mri_helpers.recipes.VARIANTS`),
    ``recipe`` to its recipe.
    """
    variant = VARIANTS.get(name)
    model_name = model or (variant.model if variant else name)
    if options is None:
        options = variant.options if variant else {}
    options = dict(options)
    if recipe is None:
        if variant is None:
            raise ValueError(f"'{name}' is no course model or variant: pass its recipe and model.")
        recipe = variant.recipe
    if recipe.image_size != data.image_size:
        raise ValueError(f"The recipe asks for {recipe.image_size}-px images but the data is {data.image_size} px: "
                         f"load_datasets(image_size={recipe.image_size}) or change the recipe.")
    seed_everything(seed)
    net = build_model(model_name, num_classes=len(data.classes), image_size=data.image_size, **options)
    fp = fingerprint(model_name, options, net, recipe, data.key, seed, device or pick_device())
    return Run(name, fp, out), net


def write_record(run: Run, record: dict) -> dict:
    """Write ``record`` as ``run.record`` unless the run already has one; return the record on disk.

    Records are never rewritten. Evaluating the same checkpoint again gives the same
    numbers; if they differ (the checkpoint was retrained), the first record is kept and
    a warning says how to replace it. An evaluation that agrees on every test prediction
    may add fields the record lacks (the probabilities, for a record written before they
    were kept), never change one.
    """
    if run.record.exists():
        kept = json.loads(run.record.read_text())
        if kept.get("test_predictions") != record["test_predictions"]:
            log.warning("kept the earlier record %s, whose predictions differ from this evaluation: "
                        "delete it to record this one", run.record)
            return kept
        missing = {key: value for key, value in record.items() if key not in kept}
        if missing:  # an older record, from the same checkpoint: it gains the fields it lacks
            log.info("added %s to %s", ", ".join(missing), run.record)
            write_json(run.record, {**kept, **missing})
            return {**kept, **missing}
        return kept
    write_json(run.record, record)
    return record


def rounded(probs) -> list[list[float]]:
    """Class probabilities to 6 significant digits: exact enough for any metric, a third of the bytes."""
    return [[float(f"{p:.6g}") for p in row] for row in probs.tolist()]


def make_record(run: Run, trainer: Trainer, test: Evaluation, data: Datasets, val: Evaluation) -> dict:
    """Everything a later analysis needs about one evaluated run, as plain JSON types.

    Checkpoints stay on the machine that trained them, so the record keeps each image's
    class probabilities on both halves: calibration is fitted on the validation half and
    AUC, calibration error and paired tests are computed on the test half from these alone.
    """
    params = layer_parameters(trainer.model)
    return {
        "schema": SCHEMA,
        "run_id": run.id,
        "name": run.name,
        "model": run.fingerprint["model"],
        "fingerprint": run.fingerprint,
        "recipe": run.fingerprint["recipe"],
        "seed": run.fingerprint["seed"],
        "data_source": data.source,
        "image_size": data.image_size,
        "classes": test.classes,
        "epochs": len(trainer.history),
        "stopped_early": trainer.stopped_early,
        "train_seconds": round(sum(h["seconds"] for h in trainer.history), 1),
        "parameters": sum(params.values()),
        "layer_parameters": params,
        "history": trainer.history,
        "train_images": trainer.meta.get("train_images"),
        "test_images": len(test.y_true),
        "test_indices": data.test.rows.tolist(),
        "test_accuracy": test.accuracy,
        "test_macro_f1": test.macro_f1,
        "test_report": test.report_dict(),
        "confusion_matrix": test.confusion().tolist(),
        "test_labels": test.y_true.tolist(),
        "test_predictions": test.y_pred.tolist(),
        "test_probabilities": rounded(test.probs),
        "val_indices": data.val.rows.tolist(),
        "val_labels": val.y_true.tolist(),
        "val_probabilities": rounded(val.probs),
        "device": trainer.device.type,
        "precision": trainer.precision,
        **amp.describe_cpu(),
        "torch": torch.__version__,
        "cpu_threads": torch.get_num_threads(),
        "platform": platform.machine(),
    }


@dataclass
class Result:
    """What :func:`train_and_evaluate` returns (a run known by its record alone has no trainer)."""

    run: Run
    trainer: Trainer | None
    test: Evaluation | None
    record: dict

    @property
    def model(self) -> nn.Module | None:
        return self.trainer.model if self.trainer else None

    @property
    def history(self) -> list[dict]:
        return self.trainer.history


def train_and_evaluate(name: str, data: Datasets, out: OutputDirs, recipe: Recipe | None = None, seed: int = 42,
                       model: str | None = None, options: dict | None = None, progress: bool = True,
                       device=None) -> Result:
    """The whole recipe for one run, shared by the notebooks, the CLI and the ablation.

    Train as ``recipe`` says (default: the variant ``name``'s), resuming or reusing this exact
    run's checkpoint, evaluate on the test half, and write the run's record once.
    """
    run, net = plan(name, data, out, recipe, seed, model, options, device)
    recipe = Recipe(**run.fingerprint["recipe"])  # precision resolved for this device
    train_loader, val_loader, test_loader = make_loaders(data, recipe.batch_size,
                                                         pin_memory=torch.device(device or pick_device()).type == "cuda")
    if recipe.train_subset:
        picked = torch.randperm(len(data.train), generator=torch.Generator().manual_seed(seed))[: recipe.train_subset]
        train_loader = DataLoader(data.train.subset(data.train.rows[picked.numpy()], raw=True),
                                  batch_size=recipe.batch_size, shuffle=True)
    meta = {
        "model": run.fingerprint["model"],
        "model_options": run.fingerprint["model_options"],
        "classes": data.classes,
        "image_size": data.image_size,
        "source": data.source,
        "mean": list(data.normalize.mean),
        "std": list(data.normalize.std),
        "recipe": asdict(recipe),
        "run_id": run.id,
        "fingerprint": run.fingerprint,
        "train_images": len(train_loader.dataset),
        **amp.describe_cpu(),
    }
    extra = {"intensity": recipe.intensity_augment, "detail": recipe.detail_augment}
    prepare = Prepare(data.normalize, Augment(**extra)) if any(extra.values()) else data.prepare_train
    trainer = Trainer(net, recipe, seed=seed, meta=meta, device=device, prepare=prepare)
    finished = run.finished()
    if not run.checkpoint.exists():
        note = nearest_difference(run)
        if note:
            print(note)
    trainer.fit(train_loader, val_loader, recipe.epochs, patience=recipe.patience, checkpoint=run.checkpoint,
                progress=progress and not finished)
    test = evaluate(trainer.model, test_loader, data.classes)
    val = evaluate(trainer.model, val_loader, data.classes)
    record = write_record(run, make_record(run, trainer, test, data, val))
    return Result(run, trainer, test, record)


def shipped_result(name: str, data: Datasets, out: OutputDirs) -> Result:
    """The course's shipped weights of ``name`` (``weights/``) in place of training them: evaluated
    here on the test half, beside the committed record of the run they come from.

    For the real data at the recipe's size only: the weights know nothing of the phantoms.
    """
    entry = read_manifest().get(name)
    if entry is None:
        raise ValueError(f"No shipped weights of {name} in weights/: set SHIPPED = False to train it.")
    model, meta = load_shipped(name, device=pick_device())
    if data.source != "real" or meta["classes"] != data.classes or meta["image_size"] != data.image_size:
        raise ValueError(f"The shipped {name} was trained on the real data at {meta['image_size']} px; this is "
                         f"{data.source} data at {data.image_size} px: set SHIPPED = False to train it here.")
    record = json.loads((REPO_ROOT / entry["record"]).read_text())
    trainer = Trainer(model, Recipe(**record["recipe"]), seed=record["seed"], meta=meta, device=pick_device())
    trainer.history = record["history"]
    _, _, test_loader = make_loaders(data, 64)
    return Result(Run(name, record["fingerprint"], out), trainer, evaluate(trainer.model, test_loader, data.classes),
                  record)


def nearest_difference(run: Run) -> str | None:
    """One line saying how a new run differs from the closest earlier run of the same name, if any."""
    earlier = []
    for path in sorted(run.record.parent.glob("*.json")):
        fp = json.loads(path.read_text()).get("fingerprint")
        if fp and path.stem != run.id:
            earlier.append((len(differences(fp, run.fingerprint)), path.stem, differences(fp, run.fingerprint)))
    if not earlier:
        return None
    _, other, diff = min(earlier)
    return f"{run.name}: new run {run.id}; it differs from {other} in " + "; ".join(diff)


def describe(result: Result) -> str:
    """One line about a run: how long its training took, and its test accuracy with a 95% interval."""
    r = result.record
    interval = format_accuracy(*accuracy_interval(r["test_labels"], r["test_predictions"]))
    return (f"{r['name']} ({result.run.id}): {r['epochs']} epochs, trained in {r['train_seconds'] / 60:.1f} min "
            f"on {r['device']} ({r['precision']}); test accuracy {interval} on {len(r['test_labels'])} images")


def load_model(path: str | os.PathLike, device: torch.device | str | None = "cpu") -> tuple[nn.Module, dict]:
    """The model saved in a checkpoint, in evaluation mode, and its ``meta`` (``weights_only=True``)."""
    state = load_checkpoint(path)
    meta = state["meta"]
    model = build_model(meta["model"], num_classes=len(meta["classes"]), image_size=meta["image_size"],
                        **meta.get("model_options", {}))
    model.load_state_dict(state["model_state"])
    meta = dict(meta, history=state["history"])
    return model.to(device or pick_device()).eval(), meta


BRIEF = dict(epochs=1, batch_size=16, train_subset=256)


def load_or_train_briefly(name: str, data: Datasets, out: OutputDirs, seed: int = 42,
                          recipe: Recipe | None = None) -> tuple[nn.Module, dict]:
    """The model its notebook trained on this data at this size, else the course's shipped weights
    (real data, seed 42, the recipe's size), else a brief stand-in, as ``(model, meta)``.

    The stand-in is trained for one epoch on 256 images at the size asked for, filed in
    ``scratch/`` under its own run (a brief run must never mix with real results), and the
    notebook says so, so that a notebook that only looks at a model still runs on its own.
    """
    recipe = replace(recipe or VARIANTS[name].recipe, image_size=data.image_size)
    run, _ = plan(name, data, out, recipe, seed)
    if run.finished():
        model, meta = load_model(run.checkpoint, device=None)
        print(f"loaded {name}: {len(meta['history'])} epochs, trained in "
              f"{sum(h['seconds'] for h in meta['history']) / 60:.1f} min")
        return model, meta
    shipped = read_manifest().get(name)
    if shipped and data.source == "real" and seed == shipped["seed"] and recipe == VARIANTS[name].recipe:
        model, meta = load_shipped(name, device=pick_device())
        if meta["classes"] == data.classes and meta["image_size"] == data.image_size:
            return model, dict(meta, history=json.loads((REPO_ROOT / shipped["record"]).read_text())["history"])
    print(f"no finished {name} run for this data and recipe: training {name} briefly "
          f"(1 epoch on 256 images) so there is something to look at")
    brief = output_dirs(data.source, quick=True)
    result = train_and_evaluate(name, data, brief, replace(recipe, **BRIEF), seed=seed, progress=False)
    return load_model(result.run.checkpoint, device=None)
