"""How the course trains each model: a :class:`Recipe` per model, and the named variants.

A recipe is every setting of a training run besides the model and the seed: learning
rate, epochs, image size, batch size, optimiser, schedule and augmentation. A
:class:`Variant` names a model, its options and a recipe together, so that the course's
models, BestNet's ablations (notebook 10) and its robust versions (notebook 13) are all
trained, filed and compared the same way: ``python -m mri_helpers train --model <name>``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace


@dataclass(frozen=True)
class Recipe:
    """How one model is trained. The defaults are the original project's.

    Every field is part of a run's identity: change one and the run is a new one, with its
    own checkpoint and record.
    """

    lr: float  # Adam's learning rate; with ``one_cycle``, the peak of the schedule
    image_size: int = 256
    epochs: int = 10
    batch_size: int = 32
    weight_decay: float = 0.0  # > 0 switches Adam to AdamW (decoupled weight decay)
    label_smoothing: float = 0.0
    one_cycle: bool = False  # warm up to ``lr``, then anneal towards zero, batch by batch
    precision: str = "auto"  # fp32, bf16 or fp16; "auto": what the hardware runs fast (a run records its choice)
    patience: int | None = None  # early stopping: epochs without a better validation loss
    train_subset: int | None = None  # train on this many shuffled training images only (brief runs)
    intensity_augment: bool = False  # also random gamma and contrast per image (transforms.Augment)
    detail_augment: bool = False  # also random blur and down-sampling (transforms.Augment)

    def identity(self) -> dict:
        """The learning rate and every field that differs from its default: what names a run.

        Leaving defaults out means that a field added later, whose default keeps the old
        behaviour, renames no earlier run.
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


@dataclass(frozen=True)
class Variant:
    """A model, its options and its recipe, under one name."""

    model: str  # a name of models.build_model
    recipe: Recipe
    options: dict = field(default_factory=dict)  # keyword arguments of the model (BestNet's batch_norm, standardize)
    change: str = ""  # what it changes from the model's course recipe, in words
    group: str = "course"  # "course" (a model of notebooks 03-10), "ablation" (10) or "remedy" (13)


BEST = RECIPES["bestnet"]

VARIANTS = {
    **{name: Variant(name, recipe) for name, recipe in RECIPES.items()},
    "bestnet_no_batch_norm": Variant("bestnet", BEST, {"batch_norm": False}, group="ablation",
                                     change="without batch normalisation (the convolutions get their bias back)"),
    "bestnet_constant_lr": Variant("bestnet", replace(BEST, one_cycle=False), group="ablation",
                                   change="without the one-cycle schedule (a constant learning rate of 3e-3)"),
    "bestnet_robust": Variant("bestnet", replace(BEST, intensity_augment=True), {"standardize": True}, group="remedy",
                              change="with per-image standardisation and intensity augmentation"),
    "bestnet_robust_detail": Variant("bestnet", replace(BEST, intensity_augment=True, detail_augment=True),
                                     {"standardize": True}, group="remedy",
                                     change="with per-image standardisation, intensity and detail augmentation"),
}


def variants(group: str) -> dict[str, Variant]:
    """The variants of one group: ``"course"``, ``"ablation"`` or ``"remedy"``."""
    return {name: v for name, v in VARIANTS.items() if v.group == group}
