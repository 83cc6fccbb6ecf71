"""The trainer: one class that trains, validates, checkpoints, resumes and predicts.

It follows the spirit of the original project's ``Architecture`` class (and of
dvgodoy's *PyTorch Step by Step*): the notebook builds a model and loaders, hands them
to a :class:`Trainer`, and reads back a history. What the trainer adds:

* progress bars (``tqdm.auto``) for epochs and batches;
* per-epoch train loss, validation loss, accuracy, macro precision and macro recall;
* early stopping on the validation loss;
* atomic checkpoints after every epoch, loaded with ``weights_only=True``; a resumed run
  continues the same history, batches and augmentations as an uninterrupted one,
  because the checkpoint carries torch's random-number state too;
* ``channels_last`` memory layout on CPU and CUDA, about twice as fast for these convs;
* an LR range test that leaves the model and optimiser as it found them;
* optional weight decay (AdamW), label smoothing and a one-cycle learning-rate schedule,
  which the course-best model uses.

:data:`RECIPES` holds how the course trains each model, so the notebooks and the
command line cannot drift apart.
"""

from __future__ import annotations

import copy
import logging
import math
import os
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from sklearn.metrics import precision_score, recall_score
from torch import nn
from torch.utils.data import DataLoader, Subset
from tqdm.auto import tqdm

from .data import make_loaders
from .files import atomic_path, output_dirs
from .metrics import evaluate, results_record, save_results
from .models import build_model

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Recipe:
    """How the course trains one model. The defaults are the original project's."""

    lr: float  # Adam's learning rate; with ``one_cycle``, the peak of the schedule
    image_size: int = 256
    epochs: int = 10
    weight_decay: float = 0.0  # > 0 switches Adam to AdamW (decoupled weight decay)
    label_smoothing: float = 0.0
    one_cycle: bool = False  # warm up to ``lr``, then anneal towards zero, batch by batch


RECIPES = {
    "cnn0": Recipe(lr=3e-4),
    "cnn1": Recipe(lr=3e-4),
    "cnn2": Recipe(lr=3e-4),
    "cnn3": Recipe(lr=7e-4),
    "bestnet": Recipe(lr=3e-3, image_size=128, epochs=14, weight_decay=5e-4, label_smoothing=0.1, one_cycle=True),
}


def pick_device() -> torch.device:
    """CUDA if present, then Apple's MPS, then the CPU."""
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch, so weight initialisation and shuffling repeat."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


class Trainer:
    """Train ``model`` with Adam (AdamW with weight decay) and cross-entropy; keep a per-epoch ``history``.

    ``meta`` is stored in every checkpoint (model name, classes, image size, the
    normaliser's mean and std) so a checkpoint alone is enough to predict.
    """

    def __init__(
        self,
        model: nn.Module,
        lr: float,
        seed: int = 42,
        device: torch.device | str | None = None,
        channels_last: bool | None = None,
        meta: dict | None = None,
        weight_decay: float = 0.0,
        label_smoothing: float = 0.0,
        one_cycle: bool = False,
    ):
        self.device = torch.device(device) if device else pick_device()
        self.channels_last = self.device.type in ("cpu", "cuda") if channels_last is None else channels_last
        self.memory_format = torch.channels_last if self.channels_last else torch.contiguous_format
        self.model = model.to(self.device, memory_format=self.memory_format)
        if weight_decay:
            self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=lr, weight_decay=weight_decay)
        else:
            self.optimizer = torch.optim.Adam(self.model.parameters(), lr=lr)
        self.lr, self.one_cycle = lr, one_cycle
        self.scheduler: torch.optim.lr_scheduler.LRScheduler | None = None  # made by fit(), which knows the steps
        self.loss_fn = nn.CrossEntropyLoss(label_smoothing=label_smoothing)
        self.seed = seed
        self.meta = dict(meta or {}, lr=lr)
        self.history: list[dict] = []
        self.stopped_early = False
        self._rng_state: torch.Tensor | None = None

    @classmethod
    def from_checkpoint(cls, path: str | os.PathLike, device: torch.device | str | None = None) -> "Trainer":
        """A trainer holding the model saved at ``path``, ready to predict (``weights_only=True``)."""
        state = load_checkpoint(path)
        meta = state["meta"]
        model = build_model(meta["model"], num_classes=len(meta["classes"]), image_size=meta["image_size"])
        model.load_state_dict(state["model_state"])
        trainer = cls(model, lr=meta["lr"], seed=state["seed"], device=device, meta=meta)
        trainer.history = list(state["history"])
        trainer.model.eval()
        return trainer

    # ------------------------------------------------------------------ one step at a time

    def _to_device(self, x: torch.Tensor) -> torch.Tensor:
        return x.to(self.device, memory_format=self.memory_format, non_blocking=True)

    def _train_epoch(self, loader, bar) -> float:
        self.model.train()
        total, count = 0.0, 0
        bar.reset(total=len(loader))
        for x, y in loader:
            x, y = self._to_device(x), y.to(self.device)
            loss = self.loss_fn(self.model(x), y)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
            if self.scheduler:
                self.scheduler.step()
            total += loss.item() * len(y)
            count += len(y)
            bar.update()
        return total / count

    @torch.no_grad()
    def _logits(self, loader) -> tuple[torch.Tensor, torch.Tensor]:
        self.model.eval()
        labels, logits = [], []
        for x, y in loader:
            logits.append(self.model(self._to_device(x)).float().cpu())
            labels.append(y)
        return torch.cat(labels), torch.cat(logits)

    def predict(self, loader) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Return ``(true labels, predicted labels, class probabilities)`` for a loader."""
        labels, logits = self._logits(loader)
        probs = torch.softmax(logits, dim=1).numpy()
        return labels.numpy(), probs.argmax(axis=1), probs

    def validate(self, loader) -> dict:
        """Loss, accuracy, macro precision and macro recall on ``loader``."""
        labels, logits = self._logits(loader)
        y_true, y_pred = labels.numpy(), logits.argmax(dim=1).numpy()
        return {
            "val_loss": self.loss_fn(logits, labels).item(),
            "val_accuracy": float((y_true == y_pred).mean()),
            "val_precision": float(precision_score(y_true, y_pred, average="macro", zero_division=0)),
            "val_recall": float(recall_score(y_true, y_pred, average="macro", zero_division=0)),
        }

    # ------------------------------------------------------------------ the loop

    def fit(
        self,
        train_loader,
        val_loader,
        epochs: int,
        patience: int | None = None,
        checkpoint: str | os.PathLike | None = None,
        progress: bool = True,
    ) -> list[dict]:
        """Train until ``epochs`` epochs are in the history, or early stopping fires.

        With ``checkpoint``, a matching checkpoint there is resumed first and a new one
        is written after every epoch. Early stopping: stop once the validation loss has
        not improved for ``patience`` epochs in a row. A one-cycle schedule spans
        ``epochs`` epochs of ``train_loader``.
        """
        if self.one_cycle and self.scheduler is None:
            self.scheduler = torch.optim.lr_scheduler.OneCycleLR(
                self.optimizer, max_lr=self.lr, total_steps=epochs * len(train_loader)
            )
        if checkpoint and Path(checkpoint).exists():
            self.load_checkpoint(checkpoint)
        if self._rng_state is None:
            torch.manual_seed(self.seed)
        else:
            torch.set_rng_state(self._rng_state)
        done = len(self.history)
        bar = tqdm(total=epochs, initial=min(done, epochs), desc="epochs", disable=not progress)
        batches = tqdm(total=len(train_loader), desc="batches", disable=not progress)
        for epoch in range(done + 1, epochs + 1):
            if patience is not None and self._epochs_without_improvement() >= patience:
                self.stopped_early = True
                break
            start = time.perf_counter()
            train_loss = self._train_epoch(train_loader, batches)
            lr = self.optimizer.param_groups[0]["lr"]  # the rate the epoch ended with
            record = {"epoch": epoch, "train_loss": train_loss, "lr": lr, **self.validate(val_loader)}
            record["seconds"] = time.perf_counter() - start
            self.history.append(record)
            self._rng_state = torch.get_rng_state()
            if checkpoint:
                self.save_checkpoint(checkpoint)
            bar.update()
            bar.set_postfix(loss=f"{train_loss:.3f}", val_acc=f"{record['val_accuracy']:.3f}")
        batches.close()
        bar.close()
        return self.history

    def _epochs_without_improvement(self) -> int:
        losses = [h["val_loss"] for h in self.history]
        if not losses:
            return 0
        return len(losses) - 1 - int(np.argmin(losses))

    # ------------------------------------------------------------------ checkpoints

    def save_checkpoint(self, path: str | os.PathLike) -> Path:
        """Write model, optimiser, history and RNG state atomically."""
        state = {
            "model_state": self.model.state_dict(),
            "optimizer_state": self.optimizer.state_dict(),
            "scheduler_state": self.scheduler.state_dict() if self.scheduler else None,
            "history": self.history,
            "rng_state": self._rng_state if self._rng_state is not None else torch.get_rng_state(),
            "seed": self.seed,
            "meta": self.meta,
        }
        with atomic_path(path) as tmp:
            torch.save(state, tmp)
        return Path(path)

    def load_checkpoint(self, path: str | os.PathLike) -> None:
        """Restore a checkpoint written by :meth:`save_checkpoint` (``weights_only=True``)."""
        state = load_checkpoint(path)
        mine = {k: self.meta.get(k) for k in ("model", "image_size", "classes", "source")}
        theirs = {k: state["meta"].get(k) for k in mine}
        if mine != theirs:
            raise ValueError(
                f"Checkpoint '{path}' was made for {theirs}, not {mine}: delete it or pick another path."
            )
        self.model.load_state_dict(state["model_state"])
        self.optimizer.load_state_dict(state["optimizer_state"])
        if self.scheduler and state.get("scheduler_state"):
            planned = state["scheduler_state"]["total_steps"]
            if planned != self.scheduler.total_steps:
                raise ValueError(
                    f"Checkpoint '{path}' follows a one-cycle schedule of {planned} steps, not "
                    f"{self.scheduler.total_steps}: resume with its number of epochs, or delete it to start again."
                )
            self.scheduler.load_state_dict(state["scheduler_state"])
        self.history = list(state["history"])
        self._rng_state = state["rng_state"]
        self.seed = state["seed"]
        log.info("resumed %s after %d epochs", path, len(self.history))

    # ------------------------------------------------------------------ learning-rate range test

    def lr_range_test(
        self, loader, start_lr: float = 1e-6, end_lr: float = 1.0, steps: int = 100, smoothing: float = 0.1
    ) -> tuple[list[float], list[float]]:
        """Raise the LR exponentially batch by batch and record the (smoothed) loss.

        The loss falls while the LR is useful and explodes once it is too large; a good
        LR sits a little below the steepest fall. Model, optimiser and torch's RNG are
        restored afterwards, so the test does not disturb training.
        """
        saved = (copy.deepcopy(self.model.state_dict()), copy.deepcopy(self.optimizer.state_dict()))
        rng = torch.get_rng_state()
        factor = (end_lr / start_lr) ** (1 / max(steps - 1, 1))
        lrs, losses, smooth, best = [], [], None, math.inf
        self.model.train()
        batches = iter(loader)
        try:
            for step in range(steps):
                lr = start_lr * factor**step
                for group in self.optimizer.param_groups:
                    group["lr"] = lr
                try:
                    x, y = next(batches)
                except StopIteration:
                    batches = iter(loader)
                    x, y = next(batches)
                loss = self.loss_fn(self.model(self._to_device(x)), y.to(self.device))
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                self.optimizer.step()
                smooth = loss.item() if smooth is None else smoothing * loss.item() + (1 - smoothing) * smooth
                lrs.append(lr)
                losses.append(smooth)
                best = min(best, smooth)
                if not math.isfinite(smooth) or smooth > 4 * best:
                    break
        finally:
            self.model.load_state_dict(saved[0])
            self.optimizer.load_state_dict(saved[1])
            torch.set_rng_state(rng)
        return lrs, losses


def load_checkpoint(path: str | os.PathLike) -> dict:
    """Read a checkpoint safely: ``weights_only=True`` refuses arbitrary pickled code."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No checkpoint at '{path}': train a model first (make train) or fix the path.")
    return torch.load(path, map_location="cpu", weights_only=True)


def train_and_evaluate(
    name: str,
    data,
    out,
    epochs: int | None = None,
    batch_size: int = 32,
    seed: int = 42,
    patience: int | None = None,
    train_subset: int | None = None,
    progress: bool = True,
    recipe: Recipe | None = None,
    make_model: Callable[[], nn.Module] | None = None,
):
    """The whole recipe for one model, shared by the notebooks and the CLI.

    Build the model with ``seed``, train it as :data:`RECIPES` says for ``epochs``
    (default: the recipe's), resuming ``out.checkpoints/<name>.pt`` if a run was
    interrupted, evaluate it on the test half and write ``out.results/<name>.json``.
    Returns ``(trainer, test evaluation, results record)``.

    ``train_subset`` trains on the first N shuffled training images only, for quick
    passes. ``recipe`` and ``make_model`` (called after seeding) replace the named
    model's recipe and architecture, for ablations (``benchmarks/ablation.py``);
    ``name`` then only names the files.
    """
    recipe = recipe or RECIPES[name]
    epochs = epochs or recipe.epochs
    train_loader, val_loader, test_loader = make_loaders(data, batch_size)
    if train_subset:
        picked = torch.randperm(len(data.train), generator=torch.Generator().manual_seed(seed))[:train_subset]
        train_loader = DataLoader(Subset(data.train, picked.tolist()), batch_size=batch_size, shuffle=True)
    seed_everything(seed)
    model = make_model() if make_model else build_model(name, num_classes=len(data.classes), image_size=data.image_size)
    meta = {
        "model": name,
        "classes": data.classes,
        "image_size": data.image_size,
        "source": data.source,
        "mean": list(data.normalize.mean),
        "std": list(data.normalize.std),
    }
    trainer = Trainer(
        model, lr=recipe.lr, seed=seed, meta=meta, weight_decay=recipe.weight_decay,
        label_smoothing=recipe.label_smoothing, one_cycle=recipe.one_cycle,
    )
    trainer.fit(
        train_loader, val_loader, epochs, patience=patience, checkpoint=Path(out.checkpoints) / f"{name}.pt",
        progress=progress,
    )
    test = evaluate(trainer, test_loader, data.classes)
    record = results_record(
        name, trainer, test, data.source, batch_size=batch_size, image_size=data.image_size,
        train_images=len(train_loader.dataset), test_images=len(test.y_true), test_indices=list(data.test.indices),
        recipe=asdict(recipe),
    )
    save_results(out.results, record)
    return trainer, test, record


def load_or_train_briefly(name: str, data, out, seed: int = 42) -> Trainer:
    """The model trained by its notebook (``out.checkpoints/<name>.pt``), ready to predict.

    Without that checkpoint, train one epoch on 256 images in ``scratch/`` instead (a
    brief run must never overwrite real results) and say so, so that a notebook that
    only looks at a model still runs on its own.
    """
    checkpoint = Path(out.checkpoints) / f"{name}.pt"
    if checkpoint.exists():
        print(f"using the {name} checkpoint in {checkpoint.parent.name}/")
    else:
        print(f"no {name} checkpoint: training {name} briefly (1 epoch on 256 images) so there is something to look at")
        brief = output_dirs(data.source, quick=True)
        checkpoint = brief.checkpoints / f"{name}.pt"
        train_and_evaluate(name, data, brief, epochs=1, batch_size=16, seed=seed, train_subset=256, progress=False)
    return Trainer.from_checkpoint(checkpoint)
