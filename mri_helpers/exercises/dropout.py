"""Checkers for notebook 06: dropout's scale, its share of zeros, and dropout written by hand.

Each check draws its own tensors under a fixed seed (inside ``fork_rng``, so the notebook's
random state is left alone) and measures ``nn.Dropout`` or ``nn.Dropout2d`` on them: the
student's version must behave the same way.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .verdict import STUB, attempt, missing, number, verdict

P = 0.3  # the checkers' dropout probability
TOLERANCE = 0.01  # on a share of 100,000 draws: about 7 standard errors, so a right answer never fails




def _values() -> torch.Tensor:
    """100,000 values between 0.5 and 1.5: none is zero, so a zero in the output was dropped."""
    return torch.rand(200, 500) + 0.5


def check_dropout_scale(p: float, answer) -> bool:
    """06: by what factor does ``nn.Dropout(p)`` scale the values it keeps in training?"""
    if not 0 <= p < 1:
        raise ValueError(f"p must be at least 0 and below 1 (at p = 1 nothing is kept), got {p!r}.")
    if missing(answer, "`scale`"):
        return False
    with torch.random.fork_rng():
        out = nn.Dropout(p).train()(torch.ones(1000))  # the library's kept values (1,000 draws: some are kept)
    return verdict(number(answer) is not None and math.isclose(number(answer), float(out.max()), rel_tol=1e-6),
                   "the kept values are scaled so that the *expected* sum stays the same as without dropout")


def check_zero_fraction(zero_fraction) -> bool:
    """06: does ``zero_fraction(layer, n)`` measure the share of ``n`` ones that a dropout layer zeroes in training?

    It gets layers of the checker's own, handed over in evaluation mode.
    """
    if missing(zero_fraction, "`zero_fraction`"):
        return False
    for p in (0.2, 0.6):
        with torch.random.fork_rng():
            torch.manual_seed(1)
            true = float((nn.Dropout(p).train()(torch.ones(100_000)) == 0).float().mean())
            torch.manual_seed(1)
            # wrapped, so the layer's p cannot be read off: it must be measured
            answer, hint = attempt(zero_fraction, nn.Sequential(nn.Dropout(p)).eval(), 100_000)
        if hint:
            return verdict(False, hint)
        answer = number(answer)
        if answer is None:
            return verdict(False, "return one number: the share of zeros, (out == 0).float().mean()")
        if abs(answer - true) > TOLERANCE:
            if answer > 1:
                hint = "a share lies between 0 and 1: divide the number of zeros by n"
            elif answer < TOLERANCE:
                hint = "nothing was zeroed: the layer comes in evaluation mode, switch it on with layer.train()"
            elif abs(answer - (1 - true)) < TOLERANCE:
                hint = "that is the share kept: count the outputs that are zero"
            else:
                hint = "apply the layer in training mode to torch.ones(n) and take the share of outputs equal to 0"
            return verdict(False, hint)
    return verdict(True, "")


def _training_hint(out, x: torch.Tensor, p: float) -> str | None:
    """What is wrong with ``out``, one dropout draw of ``x`` in training mode at ``p``; ``None`` if nothing."""
    if not isinstance(out, torch.Tensor) or out.shape != x.shape:
        return "return a tensor of x's shape"
    reference = nn.Dropout(p).train()(x)  # the library's draw, for the share of zeros and the scale
    share, true_share = float((out == 0).float().mean()), float((reference == 0).float().mean())
    if share < TOLERANCE:
        return "in training mode a share of about p of the values must be zero: draw a random mask"
    if abs(share - true_share) > TOLERANCE:
        if abs(share - (1 - true_share)) <= TOLERANCE:
            return "you dropped a share of 1 - p: keep a value where its random number is >= p"
        return "drop each value with probability p: compare a random number in [0, 1) with p"
    kept = out != 0
    scale, true_scale = out[kept] / x[kept], float(reference[reference != 0][0] / x[reference != 0][0])
    if torch.allclose(scale, torch.ones_like(scale)):
        return "scale the kept values by 1/(1 - p), so that the expected sum stays what it was"
    if torch.allclose(scale, torch.full_like(scale, 1 - p)):
        return "divide the kept values by (1 - p), do not multiply"
    if not torch.allclose(scale, torch.full_like(scale, true_scale)):
        return "every kept value must be its input times 1/(1 - p), and every other value 0"
    return None


def check_dropout(dropout) -> bool:
    """06: does ``dropout(x, p, training)`` behave as ``nn.Dropout(p)`` in training and evaluation mode?

    Checked on 100,000 values of the checker's own: the share of zeros, the scale of the kept
    values, a fresh draw on every call, the identity in evaluation mode, and p = 0 and p = 1.
    """
    if missing(dropout, "`dropout`"):
        return False
    with torch.random.fork_rng():
        torch.manual_seed(0)
        x = _values()
        before = x.clone()
        out, hint = attempt(dropout, x, P, False)
        if hint or not (isinstance(out, torch.Tensor) and torch.equal(out, nn.Dropout(P).eval()(x))):
            return verdict(False, hint or "with training=False dropout is off: return x unchanged")
        out, hint = attempt(dropout, x, P, True)
        if hint:
            return verdict(False, hint)
        if not torch.equal(x, before):
            return verdict(False, "do not change x in place: return a new tensor, such as x * mask / (1 - p)")
        hint = _training_hint(out, x, P)
        if hint:
            return verdict(False, hint)
        again, hint = attempt(dropout, x, P, True)
        if hint or torch.equal(again, out):
            return verdict(False, hint or "draw a new mask on every call (no torch.manual_seed inside the function)")
        for p, what in ((0.0, "with p = 0 nothing is dropped: return x as it is"),
                        (1.0, "with p = 1 every value is dropped: return zeros (1/(1 - p) would divide by zero)")):
            out, hint = attempt(dropout, x, p, True)
            if hint or not (isinstance(out, torch.Tensor) and torch.equal(out, nn.Dropout(p).train()(x))):
                return verdict(False, f"{what} ({hint})" if hint else what)
    return verdict(True, "")


def check_dropout_layer(layer_class) -> bool:
    """06: is ``layer_class(p)`` an ``nn.Module`` that drops in training mode and passes x through in evaluation mode?

    The checker puts the layer in a model of its own and switches the model with ``.train()`` and ``.eval()``.
    """
    if missing(layer_class, "`MyDropout`"):
        return False
    stub = "write `dropout` (the exercise before) and this class (replace each raise), then run this cell again"
    with torch.random.fork_rng():
        torch.manual_seed(0)
        x = _values()
        for p in (P, 0.6):
            layer, hint = attempt(layer_class, p)
            if hint:
                return verdict(False, stub if hint == STUB else hint)
            if not isinstance(layer, nn.Module):
                return verdict(False, "MyDropout must be a subclass of nn.Module (class MyDropout(nn.Module))")
            if "_modules" not in vars(layer):
                return verdict(False, "call super().__init__() first in __init__, so that nn.Module sets itself up")
            model = nn.Sequential(nn.Identity(), layer)
            out, hint = attempt(model.train(), x)
            if hint:
                return verdict(False, stub if hint == STUB else hint)
            hint = _training_hint(out, x, p)
            if hint:
                return verdict(False, f"after model.train(): {hint} (store p in __init__ and use self.p)")
            out, hint = attempt(model.eval(), x)
            if hint or not (isinstance(out, torch.Tensor) and torch.equal(out, x)):
                return verdict(False, hint or "after model.eval() the layer must return x: pass self.training to dropout")
    return verdict(True, "")


def check_dropout2d(dropout2d) -> bool:
    """06: does ``dropout2d(x, p, training)`` drop whole channels as ``nn.Dropout2d(p)`` does?

    Checked on a batch of the checker's own, 256 images x 64 channels of 4 x 4 values.
    """
    if missing(dropout2d, "`dropout2d`"):
        return False
    p = 0.5
    with torch.random.fork_rng():
        torch.manual_seed(0)
        x = torch.rand(256, 64, 4, 4) + 0.5
        out, hint = attempt(dropout2d, x, p, False)
        if hint or not (isinstance(out, torch.Tensor) and torch.equal(out, nn.Dropout2d(p).eval()(x))):
            return verdict(False, hint or "with training=False dropout is off: return x unchanged")
        out, hint = attempt(dropout2d, x, p, True)
        if hint:
            return verdict(False, hint)
        if not isinstance(out, torch.Tensor) or out.shape != x.shape:
            return verdict(False, "return a tensor of x's shape")
        zero, kept = (out == 0).flatten(2).all(dim=2), (out != 0).flatten(2).all(dim=2)
        if not (zero | kept).all():
            return verdict(False, "drop whole channels: one random number per channel of each image, "
                                  "a mask of shape N x C x 1 x 1 that broadcasts over height and width")
        if (zero == zero[0]).all():
            return verdict(False, "every image lost the same channels: draw one random number per channel of "
                                  "each image, a mask of shape N x C x 1 x 1")
        reference = nn.Dropout2d(p).train()(x)
        true_share = float((reference == 0).flatten(2).all(dim=2).float().mean())
        if abs(float(zero.float().mean()) - true_share) > 3 * TOLERANCE:  # 16,384 channels: about 8 standard errors
            return verdict(False, "drop each channel with probability p: compare a random number in [0, 1) with p")
        scale = out[out != 0] / x[out != 0]
        if not torch.allclose(scale, torch.full_like(scale, 1 / (1 - p))):
            return verdict(False, "scale the kept channels by 1/(1 - p), as dropout does")
    return verdict(True, "")
