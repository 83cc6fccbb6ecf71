"""The trainer: one class that trains, validates, checkpoints, resumes and predicts.

It follows the spirit of the original project's ``Architecture`` class (and of
dvgodoy's *PyTorch Step by Step*): the notebook builds a model and loaders, hands them
to a :class:`Trainer` with a :class:`Recipe`, and reads back a history. What the trainer adds:

* the optimiser (Adam, or AdamW with weight decay), the loss (cross-entropy, optionally
  label-smoothed) and the schedule (optionally one-cycle), all made from the recipe, so a
  checkpoint reloaded for more training gets the same ones;
* raw uint8 batches moved to the training device (pinned, non-blocking) and augmented
  there, so on a GPU the CPU only slices the memory map;
* mixed precision where the hardware runs it fast (:mod:`precision`);
* progress bars (``tqdm.auto``) for epochs and batches;
* per-epoch train loss, validation loss, accuracy, macro precision and macro recall, with
  the training loss summed on the device (no synchronising ``.item()`` per step);
* early stopping on the validation loss;
* atomic checkpoints after every epoch, loaded with ``weights_only=True``; a resumed run
  continues the same history, batches and augmentations as an uninterrupted one,
  because the checkpoint carries torch's random-number state too;
* ``channels_last`` memory layout on CPU and CUDA, about twice as fast for these convs;
* an LR range test that leaves the model and optimiser as it found them.

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
from dataclasses import dataclass, fields, replace
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import precision_score, recall_score
from torch import nn
from tqdm.auto import tqdm

from . import precision as amp
from .files import atomic_path
from .metrics import logits_and_labels

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Recipe:
    """How the course trains one model. The defaults are the original project's.

    Every field is part of a run's identity (:mod:`runs`): change one and the run is a
    new one, with its own checkpoint and record.
    """

    lr: float  # Adam's learning rate; with ``one_cycle``, the peak of the schedule
    image_size: int = 256
    epochs: int = 10
    batch_size: int = 32
    weight_decay: float = 0.0  # > 0 switches Adam to AdamW (decoupled weight decay)
    label_smoothing: float = 0.0
    one_cycle: bool = False  # warm up to ``lr``, then anneal towards zero, batch by batch
    precision: str = "auto"  # see :mod:`precision`; a run records what ``auto`` became
    patience: int | None = None  # early stopping: epochs without a better validation loss
    train_subset: int | None = None  # train on this many shuffled training images only (brief runs)
    intensity_augment: bool = False  # also random gamma and contrast per image (see transforms.Augment)
    detail_augment: bool = False  # also random blur and down-sampling (see transforms.Augment)

    def identity(self) -> dict:
        """The learning rate and every field that differs from its default: what names a run.

        Leaving defaults out means a field added later, whose default keeps the old
        behaviour, changes no earlier run's identity.
        """
        return {f.name: getattr(self, f.name) for f in fields(self)
                if f.name == "lr" or getattr(self, f.name) != f.default}

    def __repr__(self) -> str:
        return "Recipe(" + ", ".join(f"{k}={v!r}" for k, v in self.identity().items()) + ")"


RECIPES = {
    "cnn0": Recipe(lr=3e-4),
    "cnn1": Recipe(lr=3e-4),
    "cnn2": Recipe(lr=3e-4),
    "cnn3": Recipe(lr=7e-4),
    "bestnet": Recipe(lr=3e-3, image_size=128, epochs=14, weight_decay=5e-4, label_smoothing=0.1, one_cycle=True),
}

# BestNet with one lever removed at a time (notebook 09, ``make ablation``):
# name -> (what is removed, model, model options, recipe)
ABLATIONS = {
    "bestnet_no_batch_norm": ("batch normalisation (convolutions get their bias back)", "bestnet",
                              {"batch_norm": False}, RECIPES["bestnet"]),
    "bestnet_constant_lr": ("the one-cycle schedule (a constant learning rate of 3e-3)", "bestnet", {},
                            replace(RECIPES["bestnet"], one_cycle=False)),
}

# BestNet with the standard remedy for scans exported differently (per-image
# standardisation and intensity augmentation), and with that remedy plus detail augmentation
# for coarser or blurrier scans, for the robustness study (``make robustness``),
# in the same form: name -> (what is added, model, model options, recipe)
ROBUST = {
    "bestnet_robust": ("per-image standardisation and intensity augmentation", "bestnet", {"standardize": True},
                       replace(RECIPES["bestnet"], intensity_augment=True)),
    "bestnet_robust_detail": ("per-image standardisation, intensity and detail augmentation (blur, down-sampling)",
                              "bestnet", {"standardize": True},
                              replace(RECIPES["bestnet"], intensity_augment=True, detail_augment=True)),
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
    """Train ``model`` as ``recipe`` says; keep a per-epoch ``history``.

    ``meta`` is stored in every checkpoint (model name and options, classes, image size,
    the normaliser's mean and std, the recipe, the run's identity) so a checkpoint alone
    is enough to predict or to train on. ``prepare`` turns raw uint8 training batches
    into augmented, normalised input on the training device
    (:attr:`~mri_helpers.datasets.Datasets.prepare_train`).
    """

    def __init__(
        self,
        model: nn.Module,
        recipe: Recipe,
        seed: int = 42,
        device: torch.device | str | None = None,
        channels_last: bool | None = None,
        meta: dict | None = None,
        prepare=None,
    ):
        self.device = torch.device(device) if device else pick_device()
        self.recipe, self.prepare = recipe, prepare
        self.precision = amp.resolve(recipe.precision, self.device)
        self.channels_last = self.device.type in ("cpu", "cuda") if channels_last is None else channels_last
        self.memory_format = torch.channels_last if self.channels_last else torch.contiguous_format
        self.model = model.to(self.device, memory_format=self.memory_format)
        if recipe.weight_decay:
            self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)
        else:
            self.optimizer = torch.optim.Adam(self.model.parameters(), lr=recipe.lr)
        self.scheduler: torch.optim.lr_scheduler.LRScheduler | None = None  # made by fit(), which knows the steps
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=self.precision == "fp16")
        self.loss_fn = nn.CrossEntropyLoss(label_smoothing=recipe.label_smoothing)
        self.seed = seed
        self.meta = dict(meta or {})
        self.history: list[dict] = []
        self.stopped_early = False
        self._rng_state: torch.Tensor | None = None
        self._resume: dict | None = None  # a checkpoint's state, re-applied once fit() makes the schedule

    @classmethod
    def from_checkpoint(cls, path: str | os.PathLike, device: torch.device | str | None = None, prepare=None) -> "Trainer":
        """A trainer holding the model, optimiser and recipe saved at ``path`` (``weights_only=True``).

        Ready to predict, or to train on with :meth:`fit` and the same checkpoint path.
        """
        from .models import build_model

        state = load_checkpoint(path)
        meta = state["meta"]
        model = build_model(meta["model"], num_classes=len(meta["classes"]), image_size=meta["image_size"],
                            **meta.get("model_options", {}))
        model.load_state_dict(state["model_state"])
        trainer = cls(model, Recipe(**meta["recipe"]), seed=state["seed"], device=device, meta=meta, prepare=prepare)
        trainer.optimizer.load_state_dict(state["optimizer_state"])
        if state.get("scaler_state"):
            trainer.scaler.load_state_dict(state["scaler_state"])
        trainer.history = list(state["history"])
        trainer.stopped_early = state.get("stopped_early", False)
        trainer._rng_state = state["rng_state"]
        trainer._resume = state  # fit() re-applies optimiser and schedule once it has made the schedule
        trainer.model.eval()
        return trainer

# ------------------------------------------------------------------ one step at a time

    def _batch(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Move a batch to the device; raw uint8 pixels are prepared (augmented) there."""
        x = x.to(self.device, non_blocking=True)
        if x.dtype == torch.uint8:
            if self.prepare is None:
                raise ValueError("This loader gives raw uint8 batches: pass prepare=data.prepare_train to the Trainer.")
            x = self.prepare(x)
        return x.contiguous(memory_format=self.memory_format), y.to(self.device, non_blocking=True)

    def train_step(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Forward, loss, zero_grad, backward, step (and the schedule's step); returns the loss on the device."""
        with amp.autocast(self.precision, self.device):
            loss = self.loss_fn(self.model(x), y)
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.step(self.optimizer)
        self.scaler.update()
        if self.scheduler:
            self.scheduler.step()
        return loss.detach()

    def _train_epoch(self, loader, bar) -> float:
        self.model.train()
        total, count = torch.zeros((), device=self.device), 0
        bar.reset(total=len(loader))
        for x, y in loader:
            x, y = self._batch(x, y)
            total += self.train_step(x, y).float() * len(y)  # summed on the device: no sync per step
            count += len(y)
            bar.update()
        return float(total) / count

    def _logits(self, loader) -> tuple[torch.Tensor, torch.Tensor]:
        return logits_and_labels(self.model, loader, precision=self.precision)

    def validate(self, loader) -> dict:
        """Loss, accuracy, macro precision and macro recall on ``loader``."""
        logits, labels = self._logits(loader)
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
        if self.recipe.one_cycle and self.scheduler is None:
            self.scheduler = torch.optim.lr_scheduler.OneCycleLR(
                self.optimizer, max_lr=self.recipe.lr, total_steps=epochs * len(train_loader)
            )
            if self._resume and self._resume.get("scheduler_state"):
                # OneCycleLR's constructor resets the learning rate and momentum: restore the saved ones
                self.optimizer.load_state_dict(self._resume["optimizer_state"])
                self._load_scheduler(self._resume["scheduler_state"], "this checkpoint")
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
                if checkpoint:
                    self.save_checkpoint(checkpoint)  # so the run counts as finished
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
            "scaler_state": self.scaler.state_dict(),
            "history": self.history,
            "stopped_early": self.stopped_early,
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
        mine, theirs = self.meta.get("run_id"), state["meta"].get("run_id")
        if mine != theirs:
            raise ValueError(f"Checkpoint '{path}' belongs to run {theirs}, not {mine}: delete it or pick another path.")
        self.model.load_state_dict(state["model_state"])
        self.optimizer.load_state_dict(state["optimizer_state"])
        if self.scheduler and state.get("scheduler_state"):
            self._load_scheduler(state["scheduler_state"], f"Checkpoint '{path}'")
        if state.get("scaler_state"):
            self.scaler.load_state_dict(state["scaler_state"])
        self.history = list(state["history"])
        self.stopped_early = state.get("stopped_early", False)
        self._rng_state = state["rng_state"]
        self.seed = state["seed"]
        log.info("resumed %s after %d epochs", path, len(self.history))

    def _load_scheduler(self, state: dict, what: str) -> None:
        planned = state["total_steps"]
        if planned != self.scheduler.total_steps:
            raise ValueError(
                f"{what} follows a one-cycle schedule of {planned} steps, not "
                f"{self.scheduler.total_steps}: resume with its number of epochs, or delete it to start again."
            )
        self.scheduler.load_state_dict(state)

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
                loss = self.train_step(*self._batch(x, y))
                smooth = float(loss) if smooth is None else smoothing * float(loss) + (1 - smoothing) * smooth
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


def steepest_fall(lrs: list[float], losses: list[float]) -> float:
    """The learning rate at which an LR range test's loss falls fastest before its lowest point.

    Only the curve up to the lowest loss counts: after it the loss explodes, and the
    smoothed loss then sinks back from its spike, which is no useful fall.
    """
    if len(lrs) != len(losses) or len(lrs) < 2:
        raise ValueError("Pass the learning rates and losses of one range test (at least two steps).")
    lowest = int(np.argmin(losses))
    if lowest == 0:
        return lrs[0]
    return lrs[int(np.argmin(np.diff(losses[: lowest + 1])))]


def load_checkpoint(path: str | os.PathLike) -> dict:
    """Read a checkpoint safely: ``weights_only=True`` refuses arbitrary pickled code."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No checkpoint at '{path}': train a model first (make train) or fix the path.")
    return torch.load(path, map_location="cpu", weights_only=True)
