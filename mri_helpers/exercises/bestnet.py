"""Checkers for notebook 10: a BestNet stage, its global-average-pooling head, and its recipe's training parts.

Each compares the student's code with the library's (:func:`mri_helpers.models.stage`,
:class:`mri_helpers.models.BestNet`, :class:`mri_helpers.training.Trainer`) on the checker's
own settings and inputs: the library's weights are loaded into the student's layers, so the
outputs must agree number for number.
"""

from __future__ import annotations

import math
from dataclasses import replace

import torch
from torch import nn

from ..models import BestNet
from ..models import stage as library_stage
from ..recipes import RECIPES
from ..training import Trainer
from .verdict import STUB, missing, verdict

# (cin, width, repeat, batch_norm): a first stage, a later one that changes width, and two without batch norm
STAGES = ((3, 8, 1, True), (4, 6, 2, True), (5, 7, 3, False), (6, 6, 2, False))


def _leaves(module: nn.Module) -> list[nn.Module]:
    return [m for m in module.modules() if not list(m.children())]


def _raised(error: Exception, call: str) -> str:
    return f"{call} raised {type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}".rstrip(": ")


def _stage_hint(mine: nn.Module, cin: int, width: int, repeat: int, batch_norm: bool) -> str | None:
    """What the student's stage gets wrong in its layers, before any number is compared."""
    leaves = _leaves(mine)
    convs = [m for m in leaves if isinstance(m, nn.Conv2d)]
    norms = [m for m in leaves if isinstance(m, nn.BatchNorm2d)]
    call = f"stage({cin}, {width}, {repeat}, batch_norm={batch_norm})"
    if batch_norm and not norms:
        return f"{call} has no batch norm: add nn.BatchNorm2d(width) after each convolution"
    if not batch_norm and norms:
        return f"{call} should leave batch norm out: only convolutions and ReLUs"
    if len(convs) != repeat:
        return f"{call} should hold {repeat} convolution(s), yours holds {len(convs)}: loop `repeat` times"
    for k, conv in enumerate(convs):
        if conv.kernel_size != (3, 3):
            return "the convolutions are 3x3: kernel_size=3"
        if conv.padding not in ((1, 1), "same"):
            return "pad each convolution by 1 (padding=1), or it shrinks the maps by 2 pixels"
        if conv.in_channels != (cin if k == 0 else width) or conv.out_channels != width:
            return ("chain the channels: the first convolution reads cin channels, each one outputs width, "
                    "so every later one reads width (set cin = width after each)")
        if batch_norm and conv.bias is not None:
            return "with batch norm the convolutions drop their bias (bias=not batch_norm): batch norm adds its own shift"
        if not batch_norm and conv.bias is None:
            return "without batch norm the convolutions keep their bias (bias=not batch_norm)"
    if batch_norm and (len(norms) != repeat or any(bn.num_features != width for bn in norms)):
        return "one nn.BatchNorm2d(width) after each convolution"
    if sum(isinstance(m, nn.ReLU) for m in leaves) != repeat:
        return "one nn.ReLU after each convolution (after its batch norm)"
    if [type(m) for m in leaves] != [type(m) for m in _leaves(library_stage(cin, width, repeat, batch_norm))]:
        return "a stage holds only, in this order, convolution, batch norm, ReLU (the max-pool sits between stages)"
    return None


def check_stage(stage) -> bool:
    """10: does ``stage(cin, width, repeat, batch_norm)`` build the library's stage, layer for layer?

    It is built for several settings of the checker's own; the library's weights are loaded
    into it, and its outputs in training and in evaluation mode must match the library's.
    """
    if missing(stage, "`stage`"):
        return False
    generator = torch.Generator().manual_seed(10)
    for cin, width, repeat, batch_norm in STAGES:
        call = f"stage({cin}, {width}, {repeat}, batch_norm={batch_norm})"
        try:
            mine = stage(cin, width, repeat, batch_norm=batch_norm)
        except NotImplementedError:
            return verdict(False, STUB)
        except Exception as error:  # any mistake in the student's code becomes a hint
            return verdict(False, _raised(error, call))
        if not isinstance(mine, nn.Module):
            return verdict(False, "return the layers as one module: nn.Sequential(*layers)")
        hint = _stage_hint(mine, cin, width, repeat, batch_norm)
        if hint:
            return verdict(False, hint)
        library = library_stage(cin, width, repeat, batch_norm)
        if list(mine.state_dict()) != list(library.state_dict()):
            return verdict(False, "put the layers in one flat nn.Sequential(*layers), as BestNet's stages are")
        mine.load_state_dict(library.state_dict())
        x = torch.randn(2, cin, 12, 12, generator=generator)
        for mode in ("train", "eval"):  # training mode normalises with the batch, evaluation with running averages
            mine.train(mode == "train")
            library.train(mode == "train")
            try:
                with torch.no_grad():
                    got, expected = mine(x.clone()), library(x.clone())
            except NotImplementedError:
                return verdict(False, STUB)
            except Exception as error:
                return verdict(False, _raised(error, f"{call}(x)"))
            if got.shape != expected.shape:
                return verdict(False, f"{call} turns 2 x {cin} x 12 x 12 into {' x '.join(map(str, got.shape))}, "
                                      f"not {' x '.join(map(str, expected.shape))}")
            if not torch.allclose(got, expected, atol=1e-5):
                return verdict(False, f"with the library's weights, your stage's output differs in {mode} mode: "
                                      "in each repeat, convolution, then batch norm, then ReLU")
    return verdict(True, "")


def check_head(head_class) -> bool:
    """10: does ``head_class(channels, num_classes, dropout)`` turn BestNet's last maps into its class scores?

    The checker builds a small BestNet of its own, copies its ``fc`` weights into the
    student's linear layer, and compares the scores on the same feature maps, in evaluation
    mode and (same random dropout mask) in training mode.
    """
    if missing(head_class, "`Head`"):
        return False
    channels, classes, p = 24, 3, 0.25
    torch.manual_seed(10)
    model = BestNet(widths=(8, channels), repeats=(1, 1), num_classes=classes, dropout=p).eval()
    x = torch.randn(4, 3, 16, 16, generator=torch.Generator().manual_seed(11))
    try:
        head = head_class(channels, classes, p)
    except NotImplementedError:
        return verdict(False, STUB)
    except Exception as error:
        return verdict(False, _raised(error, f"Head({channels}, {classes}, {p})"))
    leaves = _leaves(head) if isinstance(head, nn.Module) else []
    if any(isinstance(m, (nn.AdaptiveMaxPool2d, nn.MaxPool2d)) for m in leaves):
        return verdict(False, "that is max pooling: global *average* pooling averages each map (nn.AdaptiveAvgPool2d(1))")
    names = set(dict(head.named_children())) if isinstance(head, nn.Module) else set()
    if leaves and not {"gap", "flatten", "drop", "fc"} <= names:
        return verdict(False, "name the layers gap, flatten, drop and fc, as BestNet does, so that its weights load")
    linears = [m for m in leaves if isinstance(m, nn.Linear)]
    if len(linears) != 1:
        return verdict(False, "the head has one nn.Linear, from one number per map to the class scores")
    fc = linears[0]
    if fc.bias is None or fc.weight.shape != model.fc.weight.shape:
        shape = f"{fc.in_features} -> {fc.out_features}"
        return verdict(False, f"Head({channels}, {classes}, ...)'s linear layer maps {shape}: it should map "
                              "channels (one number per map, after pooling) to num_classes, with a bias")
    fc.load_state_dict(model.fc.state_dict())
    with torch.no_grad():
        features = model.features(x)  # 4 x 24 x 8 x 8
        try:
            head.eval()
            got = head(features)
        except NotImplementedError:
            return verdict(False, STUB)
        except RuntimeError as error:
            if "shapes cannot be multiplied" in str(error):
                return verdict(False, "the linear layer got more numbers than channels: flattening without pooling? "
                                      "Pool each map to one number first (nn.AdaptiveAvgPool2d(1)), then flatten")
            return verdict(False, _raised(error, "head(features)"))
        except Exception as error:
            return verdict(False, _raised(error, "head(features)"))
        expected = model(x)
        if not isinstance(got, torch.Tensor) or got.shape != expected.shape:
            shape = tuple(got.shape) if isinstance(got, torch.Tensor) else type(got).__name__
            return verdict(False, f"the head should return N x num_classes scores {tuple(expected.shape)}, "
                                  f"not {shape}: pool, flatten, then the linear layer")
        if not torch.allclose(got, expected, atol=1e-5):
            if torch.allclose(got, model.fc(features.amax(dim=(2, 3))), atol=1e-5):
                return verdict(False, "that is max pooling: global *average* pooling averages each map")
            return verdict(False, "with BestNet's weights the scores differ: average each map "
                                  "(nn.AdaptiveAvgPool2d(1)), flatten, dropout, then the linear layer")
        model.train()
        head.train()
        with torch.random.fork_rng():
            torch.manual_seed(12)
            expected = model(x)  # the stages draw no random numbers: the dropout mask comes from seed 12
            features = model.features(x)
            torch.manual_seed(12)
            got = head(features)
    if not torch.allclose(got, expected, atol=1e-5):
        return verdict(False, "in training mode the scores differ: nn.Dropout(dropout) goes just before the linear layer")
    return verdict(True, "")


def _parts_hint(parts, model: nn.Module, recipe, steps_per_epoch: int) -> str | None:
    """What differs between the student's (optimiser, schedule, loss) and the Trainer's for ``recipe``."""
    if not isinstance(parts, tuple) or len(parts) != 3:
        return "return three things: optimizer, schedule, loss_fn"
    optimizer, schedule, loss_fn = parts
    for position, kind in ((0, torch.optim.Optimizer), (1, torch.optim.lr_scheduler.LRScheduler)):
        if any(isinstance(part, kind) for part in parts) and not isinstance(parts[position], kind):
            return "return them in this order: optimizer, schedule, loss_fn"
    trainer = Trainer(nn.Linear(3, 2), recipe, device="cpu", channels_last=False)  # the library's, for this recipe
    trainer.make_schedule(recipe.epochs * steps_per_epoch)
    if not isinstance(optimizer, torch.optim.AdamW):
        return ("the optimiser is torch.optim.AdamW: weight decay kept apart from the gradient"
                + (" (torch.optim.Adam adds it to the gradient)" if isinstance(optimizer, torch.optim.Adam) else ""))
    if {id(q) for group in optimizer.param_groups for q in group["params"]} != {id(q) for q in model.parameters()}:
        return "give the optimiser the model's parameters: model.parameters()"
    mine, theirs = optimizer.param_groups[0], trainer.optimizer.param_groups[0]
    if not math.isclose(mine["weight_decay"], theirs["weight_decay"]):
        return "weight_decay=recipe.weight_decay"
    if not isinstance(schedule, torch.optim.lr_scheduler.OneCycleLR):
        return "the schedule is torch.optim.lr_scheduler.OneCycleLR"
    if schedule.optimizer is not optimizer:
        return "build the schedule on your optimiser"
    if schedule.total_steps != trainer.scheduler.total_steps:
        return "one cycle spans the whole run: total_steps = recipe.epochs * steps_per_epoch"
    if not math.isclose(mine["max_lr"], theirs["max_lr"]):
        return "the cycle peaks at the recipe's rate: max_lr=recipe.lr"
    for _ in range(schedule.total_steps):
        if not math.isclose(schedule.get_last_lr()[0], trainer.scheduler.get_last_lr()[0], rel_tol=1e-6):
            return "the learning rates differ from the Trainer's: leave OneCycleLR's other settings at their defaults"
        for opt, sched in ((optimizer, schedule), (trainer.optimizer, trainer.scheduler)):
            opt.step()  # no gradients: the weights stay, only the schedule moves
            sched.step()
    if not isinstance(loss_fn, nn.CrossEntropyLoss):
        return "the loss is nn.CrossEntropyLoss"
    if not math.isclose(loss_fn.label_smoothing, trainer.loss_fn.label_smoothing):
        return "label_smoothing=recipe.label_smoothing"
    return None


def check_training_parts(make_training_parts) -> bool:
    """10: does ``make_training_parts(model, recipe, steps_per_epoch)`` build what the Trainer builds?

    AdamW, the one-cycle schedule and the label-smoothed loss are compared with the Trainer's
    for BestNet's recipe and for a recipe of other numbers, so typed-in numbers do not pass.
    """
    if missing(make_training_parts, "`make_training_parts`"):
        return False
    best = RECIPES["bestnet"]
    other = replace(best, lr=1e-3, weight_decay=1e-2, label_smoothing=0.2, epochs=3)
    for k, (recipe, steps_per_epoch) in enumerate(((best, 5), (other, 4))):
        torch.manual_seed(0)
        model = nn.Linear(3, 2)
        try:
            parts = make_training_parts(model, recipe, steps_per_epoch)
        except NotImplementedError:
            return verdict(False, STUB)
        except Exception as error:
            return verdict(False, _raised(error, "make_training_parts(model, recipe, steps_per_epoch)"))
        try:
            hint = _parts_hint(parts, model, recipe, steps_per_epoch)
        except Exception as error:  # a part that is not what it should be, used as if it were
            hint = _raised(error, "using the parts you returned")
        if hint:
            return verdict(False, hint if k == 0 else "right for BestNet's recipe but not for another: read every "
                                                      f"number from recipe and steps_per_epoch ({hint})")
    return verdict(True, "")
