"""The training loop of notebook 03, in one class: :class:`Trainer`.

``fit`` is the loop the notebook writes by hand (a training step per batch, then
validation), plus what a real run needs: a checkpoint after every epoch, and resuming
from one. Three small pieces keep the loop plain, each named for what it does:

* :func:`autocast`: mixed precision, the forward pass in 16 bits where the hardware is fast at it;
* :func:`memory_format`: ``channels_last``, the pixel layout these convolutions run fastest in;
* :meth:`Trainer.save_checkpoint` and :meth:`Trainer.restore`: everything a run needs to go on
  exactly where it stopped, random-number state included.

The optimiser (:func:`make_optimizer`), schedule (:func:`make_schedule`) and loss come from
the :class:`~mri_helpers.recipes.Recipe`, so a checkpoint reloaded for more training gets the
same ones. It follows the spirit of the original project's ``Architecture`` class and of
dvgodoy's *PyTorch Step by Step*.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import math
import os
import random
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import precision_score, recall_score
from torch import nn
from tqdm.auto import tqdm

from .metrics import logits_and_labels
from .recipes import Recipe

log = logging.getLogger(__name__)


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


# ------------------------------------------------------------------ the three pieces

def autocast(precision: str, device: torch.device):
    """Run the forward pass in ``precision``: ``fp32`` (as written), ``bf16`` or ``fp16`` (mixed).

    Mixed precision computes the convolutions in a 16-bit format while the weights stay
    32-bit. fp16's small range can underflow small gradients, so an fp16 run also scales
    its loss (:class:`torch.amp.GradScaler`, made by the trainer).
    """
    if precision == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype={"bf16": torch.bfloat16, "fp16": torch.float16}[precision])


def memory_format(device: torch.device) -> torch.memory_format:
    """``channels_last`` (the channels of each pixel stored together) on CPU and CUDA, where it runs these convolutions faster."""
    return torch.channels_last if device.type in ("cpu", "cuda") else torch.contiguous_format


def make_optimizer(model: nn.Module, recipe: Recipe) -> torch.optim.Optimizer:
    """Adam, or AdamW (weight decay kept apart from the gradient) when the recipe sets weight decay."""
    if recipe.weight_decay:
        return torch.optim.AdamW(model.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)
    return torch.optim.Adam(model.parameters(), lr=recipe.lr)


def make_schedule(optimizer: torch.optim.Optimizer, recipe: Recipe,
                  total_steps: int) -> torch.optim.lr_scheduler.OneCycleLR | None:
    """The one-cycle schedule, when the recipe asks for it: up to ``recipe.lr``, then down, step by step."""
    if not recipe.one_cycle:
        return None
    return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=recipe.lr, total_steps=total_steps)


class Trainer:
    """Train ``model`` as ``recipe`` says, keeping a per-epoch ``history``.

    ``prepare`` turns a raw uint8 training batch into augmented, normalised input on the
    training device (``data.prepare_train``). ``meta`` goes into every checkpoint (the
    model's name and options, classes, normaliser, recipe, run id), so that a checkpoint
    alone can predict or train on. A recipe's ``precision="auto"`` is decided for the
    hardware by the course's runs before they make a trainer; a trainer made by hand
    trains ``auto`` in fp32, which every device runs.
    """

    def __init__(self, model: nn.Module, recipe: Recipe, seed: int = 42, device: torch.device | str | None = None,
                 channels_last: bool | None = None, meta: dict | None = None, prepare=None):
        self.device = torch.device(device) if device else pick_device()
        self.recipe, self.seed, self.prepare = recipe, seed, prepare
        self.meta = dict(meta or {})
        self.precision = "fp32" if recipe.precision == "auto" else recipe.precision
        if self.precision == "fp16" and self.device.type == "cpu":
            raise ValueError("fp16 needs a GPU; on a CPU use bf16 (fast only with AMX) or fp32.")
        if channels_last is None:
            self.memory_format = memory_format(self.device)
        else:
            self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        self.model = model.to(self.device, memory_format=self.memory_format)
        self.optimizer = make_optimizer(self.model, recipe)
        self.loss_fn = nn.CrossEntropyLoss(label_smoothing=recipe.label_smoothing)
        self.scheduler: torch.optim.lr_scheduler.OneCycleLR | None = None  # made by fit(), which knows the steps
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=self.precision == "fp16")
        self.history: list[dict] = []
        self.stopped_early = False
        self.rng_state: torch.Tensor | None = None  # torch's generator after the last finished epoch
        self._restore_in_fit: dict | None = None  # a checkpoint to apply again once fit() has made the schedule

    # ------------------------------------------------------------------ the loop

    def train_step(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Forward, loss, zero_grad, backward, step (and the schedule's step); returns the loss."""
        with autocast(self.precision, self.device):
            loss = self.loss_fn(self.model(x), y)
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()  # without fp16 the scaler passes the loss through unchanged
        self.scaler.step(self.optimizer)
        self.scaler.update()
        if self.scheduler:
            self.scheduler.step()
        return loss.detach()

    def train_epoch(self, loader, bar=None) -> float:
        """One pass over ``loader`` in training mode; the mean training loss."""
        self.model.train()
        total, count = torch.zeros((), device=self.device), 0
        for x, y in loader:
            x, y = self.to_device(x, y)
            total += self.train_step(x, y).float() * len(y)  # summed on the device: no wait for it each step
            count += len(y)
            if bar is not None:
                bar.update()
        return float(total) / count

    def validate(self, loader) -> dict:
        """Loss, accuracy, macro precision and macro recall on ``loader``, in evaluation mode."""
        with autocast(self.precision, self.device):
            logits, labels = logits_and_labels(self.model, loader)
        y_true, y_pred = labels.numpy(), logits.argmax(dim=1).numpy()
        return {
            "val_loss": self.loss_fn(logits, labels).item(),
            "val_accuracy": float((y_true == y_pred).mean()),
            "val_precision": float(precision_score(y_true, y_pred, average="macro", zero_division=0)),
            "val_recall": float(recall_score(y_true, y_pred, average="macro", zero_division=0)),
        }

    def fit(self, train_loader, val_loader, epochs: int, patience: int | None = None,
            checkpoint: str | os.PathLike | None = None, progress: bool = True) -> list[dict]:
        """Train until ``epochs`` epochs are in the history, or early stopping fires.

        With ``checkpoint``, a checkpoint of this run there is resumed first, and a new one
        is written after every epoch. Early stopping: stop once the validation loss has not
        improved for ``patience`` epochs in a row. A one-cycle schedule spans ``epochs``
        epochs of ``train_loader``.
        """
        self.make_schedule(epochs * len(train_loader))
        self.resume(checkpoint)
        epoch_bar = tqdm(total=epochs, initial=min(len(self.history), epochs), desc="epochs", disable=not progress)
        batch_bar = tqdm(total=len(train_loader), desc="batches", disable=not progress)
        for epoch in range(len(self.history) + 1, epochs + 1):
            if self.should_stop(patience):
                break
            start = time.perf_counter()
            batch_bar.reset()
            train_loss = self.train_epoch(train_loader, batch_bar)
            lr = self.optimizer.param_groups[0]["lr"]  # the rate the epoch ended with
            self.history.append({"epoch": epoch, "train_loss": train_loss, "lr": lr, **self.validate(val_loader),
                                 "seconds": time.perf_counter() - start})
            self.rng_state = torch.get_rng_state()
            if checkpoint:
                self.save_checkpoint(checkpoint)
            epoch_bar.update()
            epoch_bar.set_postfix(loss=f"{train_loss:.3f}", val_acc=f"{self.history[-1]['val_accuracy']:.3f}")
        if self.stopped_early and checkpoint:
            self.save_checkpoint(checkpoint)  # so that the run counts as finished
        batch_bar.close()
        epoch_bar.close()
        return self.history

    def to_device(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Move a batch to the device; raw uint8 pixels are prepared (augmented, normalised) there."""
        x = x.to(self.device, non_blocking=True)
        if x.dtype == torch.uint8:
            if self.prepare is None:
                raise ValueError("This loader gives raw uint8 batches: pass prepare=data.prepare_train to the Trainer.")
            x = self.prepare(x)
        return x.contiguous(memory_format=self.memory_format), y.to(self.device, non_blocking=True)

    def make_schedule(self, total_steps: int) -> None:
        """Make the recipe's schedule (:func:`make_schedule`) over ``total_steps`` steps, once."""
        if self.scheduler is None:
            self.scheduler = make_schedule(self.optimizer, self.recipe, total_steps)

    def resume(self, checkpoint: str | os.PathLike | None) -> None:
        """Go on where this run stopped, if ``checkpoint`` exists; seed torch for a run that starts now."""
        if checkpoint and Path(checkpoint).exists():
            self.restore(load_checkpoint(checkpoint), f"Checkpoint '{checkpoint}'")
        elif self._restore_in_fit:  # the schedule's constructor reset the learning rate: restore the saved one
            self.restore(self._restore_in_fit)
        self._restore_in_fit = None
        if self.rng_state is None:
            torch.manual_seed(self.seed)
        else:
            torch.set_rng_state(self.rng_state)

    def should_stop(self, patience: int | None) -> bool:
        """Early stopping: has the validation loss not improved for ``patience`` epochs in a row?"""
        losses = [h["val_loss"] for h in self.history]
        if patience is not None and losses and len(losses) - 1 - int(np.argmin(losses)) >= patience:
            self.stopped_early = True
        return self.stopped_early

    # ------------------------------------------------------------------ checkpoints

    def save_checkpoint(self, path: str | os.PathLike) -> Path:
        """Write the model, optimiser, schedule, history and random-number state.

        Written to a temporary file and then renamed, so that a crash mid-write leaves the
        previous checkpoint whole.
        """
        state = {
            "model_state": self.model.state_dict(),
            "optimizer_state": self.optimizer.state_dict(),
            "scheduler_state": self.scheduler.state_dict() if self.scheduler else None,
            "scaler_state": self.scaler.state_dict(),
            "history": self.history,
            "stopped_early": self.stopped_early,
            "rng_state": self.rng_state if self.rng_state is not None else torch.get_rng_state(),
            "seed": self.seed,
            "meta": self.meta,
        }
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        torch.save(state, tmp)
        os.replace(tmp, path)
        return path

    def restore(self, state: dict, what: str = "This checkpoint") -> None:
        """Go on from a checkpoint of the same run: weights, optimiser, schedule, history, random state."""
        mine, theirs = self.meta.get("run_id"), state["meta"].get("run_id")
        if mine != theirs:
            raise ValueError(f"{what} belongs to run {theirs}, not {mine}: delete it or pick another path.")
        if self.scheduler and state.get("scheduler_state"):
            planned = state["scheduler_state"]["total_steps"]
            if planned != self.scheduler.total_steps:
                raise ValueError(f"{what} follows a one-cycle schedule of {planned} steps, not "
                                 f"{self.scheduler.total_steps}: resume with its number of epochs, or delete it.")
            self.scheduler.load_state_dict(state["scheduler_state"])
        self.model.load_state_dict(state["model_state"])
        self.optimizer.load_state_dict(state["optimizer_state"])
        if state.get("scaler_state"):
            self.scaler.load_state_dict(state["scaler_state"])
        self.history = list(state["history"])
        self.stopped_early = state.get("stopped_early", False)
        self.rng_state, self.seed = state["rng_state"], state["seed"]
        log.info("resumed %s after %d epochs", what, len(self.history))

    @classmethod
    def from_checkpoint(cls, path: str | os.PathLike, device: torch.device | str | None = None,
                        prepare=None) -> "Trainer":
        """A trainer holding the model, optimiser, recipe and history saved at ``path``.

        Ready to predict, or to train on with :meth:`fit`.
        """
        from .models import build_model

        state = load_checkpoint(path)
        meta = state["meta"]
        model = build_model(meta["model"], num_classes=len(meta["classes"]), image_size=meta["image_size"],
                            **meta.get("model_options", {}))
        trainer = cls(model, Recipe(**meta["recipe"]), seed=state["seed"], device=device, meta=meta, prepare=prepare)
        trainer.restore(state, f"Checkpoint '{path}'")
        trainer._restore_in_fit = state
        trainer.model.eval()
        return trainer

    # ------------------------------------------------------------------ learning-rate range test

    def lr_range_test(self, loader, start_lr: float = 1e-6, end_lr: float = 1.0, steps: int = 100,
                      smoothing: float = 0.1) -> tuple[list[float], list[float]]:
        """Raise the learning rate exponentially batch by batch and record the (smoothed) loss.

        The loss falls while the rate is useful and explodes once it is too large; a good
        rate sits a little below the steepest fall. Model, optimiser and torch's random
        state are restored afterwards, so the test does not disturb training.
        """
        saved = copy.deepcopy(self.model.state_dict()), copy.deepcopy(self.optimizer.state_dict())
        rng = torch.get_rng_state()
        factor = (end_lr / start_lr) ** (1 / max(steps - 1, 1))
        lrs, losses, smooth, best = [], [], None, math.inf
        self.model.train()
        batches = iter(loader)
        try:
            for step in range(steps):
                for group in self.optimizer.param_groups:
                    group["lr"] = start_lr * factor**step
                try:
                    x, y = next(batches)
                except StopIteration:  # a short loader: start it again
                    batches = iter(loader)
                    x, y = next(batches)
                loss = float(self.train_step(*self.to_device(x, y)))
                smooth = loss if smooth is None else smoothing * loss + (1 - smoothing) * smooth
                lrs.append(start_lr * factor**step)
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
    """The learning rate at which a range test's loss falls fastest before its lowest point.

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
