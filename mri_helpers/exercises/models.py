"""Checker for the models a student writes (CNN0 in 03, CNN1 in 04, CNN2 in 05).

The student's class must be the library's model: the checker builds both, loads the
library's weights into the student's, and compares the outputs on its own input, in
evaluation mode and in training mode (the same dropout masks, from the same seed), then
trains each for one step and compares the losses.
"""

from __future__ import annotations

import torch
from torch import nn

from ..models import build_model
from .verdict import STUB, attempt, is_stub, missing, verdict

IMAGE_SIZE = 64  # small enough to be quick, and a multiple of 32 for five pools


def _build(model_class, image_size: int):
    """The student's model, or a one-line hint when building it fails."""
    model, hint = attempt(model_class, 4, image_size)
    if hint and hint != STUB:
        hint = f"{model_class.__name__}(num_classes=4, image_size={image_size}): {hint}"
    return model, hint


def _layers_hint(mine: nn.Module, reference: nn.Module) -> str | None:
    """A hint naming the first weight that is missing, extra or of another shape."""
    ours = {k: tuple(v.shape) for k, v in reference.state_dict().items()}
    theirs = {k: tuple(v.shape) for k, v in mine.state_dict().items()}
    missing_keys = [k for k in ours if k not in theirs]
    if missing_keys:
        return (f"your model has no weight named {missing_keys[0]!r}: name the layers as the table above does "
                f"(conv1, conv2, ..., fc1, fc2)")
    extra = [k for k in theirs if k not in ours]
    if extra:
        return f"your model has a weight the reference lacks: {extra[0]!r}"
    for key, shape in ours.items():
        if theirs[key] != shape:
            hint = f"{key} has shape {theirs[key]}, the reference {shape}"
            if key.startswith("fc1"):
                hint += ": fc1's inputs are channels x side x side after the last pool"
            return hint
    return None


def _outputs(model: nn.Module, x: torch.Tensor, train: bool) -> torch.Tensor:
    model.train(train)
    torch.manual_seed(0)  # the same dropout masks for both models
    with torch.no_grad():
        return model(x)


def _loss_after_one_step(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    model.train()
    torch.manual_seed(1)
    loss = nn.functional.cross_entropy(model(x), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return float(nn.functional.cross_entropy(_outputs(model, x, train=False), y))


def check_model(model_class, name: str, image_size: int = IMAGE_SIZE) -> bool:
    """Is ``model_class`` the library's model ``name`` (``"cnn0"``, ``"cnn1"``, ``"cnn2"``)?

    Both are built for ``image_size``-px scans; the library's seeded weights are loaded into
    the student's model, which must then give the same outputs and, after one Adam step on
    the same batch, the same loss.
    """
    if missing(model_class, "your model class"):
        return False
    unset = [name for name in ("widths", "hidden", "p", "drop_between") if getattr(model_class, name, 0) is None]
    if unset:
        return verdict(False, f"set the class attribute{'s' * (len(unset) > 1)} {', '.join(unset)} (still None)")
    mine, hint = _build(model_class, image_size)
    if mine is None:
        return verdict(False, hint)
    if not isinstance(mine, nn.Module):
        return verdict(False, "the class must subclass nn.Module (class CNN0(nn.Module): ...)")
    torch.manual_seed(0)
    reference = build_model(name, image_size=image_size)
    hint = _layers_hint(mine, reference)
    if hint:
        return verdict(False, hint)
    mine.load_state_dict(reference.state_dict())
    generator = torch.Generator().manual_seed(2)
    x = torch.randn(4, 3, image_size, image_size, generator=generator)
    y = torch.tensor([0, 1, 2, 3])
    try:
        outputs = {train: _outputs(mine, x, train) for train in (False, True)}
        losses = _loss_after_one_step(mine, x, y)
    except NotImplementedError as error:
        return verdict(False, STUB if is_stub(error) else f"the forward pass raised NotImplementedError: {error}")
    except Exception as error:  # noqa: BLE001 - any error of the student's code becomes a one-line hint
        hint = f"the forward pass raised {type(error).__name__}: {(str(error).splitlines() or [''])[0]}"
        if "shapes cannot be multiplied" in hint:
            hint += " (does every convolution keep the size, padding=1, and fc1 take channels x side x side?)"
        return verdict(False, hint)
    if outputs[False].shape != (4, 4):
        return verdict(False, f"forward should return N x 4 class scores, not {tuple(outputs[False].shape)}")
    if not torch.allclose(outputs[False], _outputs(reference, x, train=False), atol=1e-5):
        return verdict(False, "same weights, different outputs: check forward's order "
                              "(conv, ReLU, pool in each block; flatten; fc1, ReLU; fc2)")
    if not torch.allclose(outputs[True], _outputs(reference, x, train=True), atol=1e-5):
        return verdict(False, "the outputs agree with dropout off but not in training mode: "
                              "put dropout where the reference does, with its p")
    same_step = abs(losses - _loss_after_one_step(reference, x, y)) < 1e-4
    return verdict(same_step, "the outputs agree but one training step does not: "
                              "is every layer registered as an attribute (self.name = ...), so the optimiser sees it?")
