"""Checkers for the notebooks' exercises: each prints ✓ or a hint, and never the answer.

An exercise in a notebook is a cell tagged ``solution`` that assigns an answer (the
instructor edition has the solution; ``make student`` replaces it with a stub that sets
the answer to ``None``), followed by a cell that calls one of these checkers. A checker
works the right answer out itself, from the course's own code or data, compares, and
says ✓ or gives a hint. It returns whether the answer was right.

In the instructor edition every solution must pass: with ``MRI_EXERCISES_STRICT=1`` (set
by ``make test``) a wrong answer raises, so CI catches a solution that went stale.
"""

from __future__ import annotations

import math
import os

import numpy as np
import torch
from torch import nn

from .hooks import capture
from .leakage import hamming
from .models import build_model, layer_parameters
from .stats import mcnemar, wilson_interval


class ExerciseError(AssertionError):
    """A solution in the instructor edition no longer passes its checker."""


def _verdict(ok: bool, hint: str) -> bool:
    if ok:
        print("✓ correct")
    else:
        print(f"✗ not yet: {hint}")
        if os.environ.get("MRI_EXERCISES_STRICT") == "1":
            raise ExerciseError(f"exercise check failed: {hint}")
    return ok


def _missing(answer, what: str) -> bool:
    if answer is None:
        _verdict(False, f"set {what} in the cell above, then run this cell again")
        return True
    return False


def check_dropout_scale(p: float, answer) -> bool:
    """02: by what factor does ``nn.Dropout(p)`` scale the values it keeps in training?"""
    if _missing(answer, "`scale`"):
        return False
    return _verdict(math.isclose(float(answer), 1 / (1 - p), rel_tol=1e-6),
                    "the kept values are scaled so that the *expected* sum stays the same as without dropout")


def check_parameter_count(model_name: str, layer: str, answer, image_size: int = 256) -> bool:
    """04/07: how many parameters (weights and biases) does ``layer`` of a course model have?"""
    if _missing(answer, "`count`"):
        return False
    true = layer_parameters(build_model(model_name, image_size=image_size))[layer]
    hint = ("a Conv2d has out x in x kH x kW weights plus one bias per output channel; "
            "a Linear has out x in weights plus out biases")
    if int(answer) == true - sum(p.numel() for n, p in build_model(model_name, image_size=image_size).named_parameters()
                                 if n == f"{layer}.bias"):
        hint = "close: you counted the weights, now add the biases"
    return _verdict(int(answer) == true, hint)


def receptive_field(model: nn.Module) -> int:
    """Side in pixels of the input patch that one position of the last feature map sees.

    Walks the convolutions and poolings in the order they run (traced with hooks):
    each layer with kernel ``k`` widens the field by ``(k - 1)`` times the product of the
    strides before it.
    """
    order: list[nn.Module] = []
    handles = [m.register_forward_hook(lambda m, i, o: order.append(m)) for m in model.modules()
               if isinstance(m, (nn.Conv2d, nn.MaxPool2d))]
    try:
        with torch.no_grad():  # any size that survives five halvings will do
            model.eval().features(torch.zeros(1, model.convs[0].in_channels, 64, 64))
    finally:
        for h in handles:
            h.remove()
    field, jump = 1, 1
    for m in order:
        k = m.kernel_size[0] if isinstance(m.kernel_size, tuple) else m.kernel_size
        s = m.stride[0] if isinstance(m.stride, tuple) else m.stride
        field += (k - 1) * jump
        jump *= s
    return field


def check_receptive_field(model_name: str, answer) -> bool:
    """06: the receptive field of one position of a model's last feature map (after its last block)."""
    if _missing(answer, "`field`"):
        return False
    return _verdict(int(answer) == receptive_field(build_model(model_name)),
                    "start at 1 pixel; a 3x3 conv adds 2 x (product of the strides so far), "
                    "a 2x2 pool adds 1 x that product and then doubles it")


def check_output_shape(model: nn.Module, layer: str, image_size: int, answer) -> bool:
    """08: the output shape (channels, height, width) of ``layer`` for one image."""
    if _missing(answer, "`shape`"):
        return False
    with capture(model, [layer]) as out, torch.no_grad():
        model.eval()(torch.zeros(1, model.convs[0].in_channels, image_size, image_size))
    true = tuple(out[layer].shape[1:])
    return _verdict(tuple(answer) == true, "padding 1 keeps a 3x3 convolution's size; each 2x2 pool halves it; "
                                           "the channels are the conv's out_channels")


def check_discordant(y_true, pred_a, pred_b, answer) -> bool:
    """05: the two discordant counts ``(only A right, only B right)`` that McNemar's test uses."""
    if _missing(answer, "`discordant`"):
        return False
    paired = mcnemar(y_true, pred_a, pred_b)
    ok = tuple(int(x) for x in answer) == (paired.only_a, paired.only_b)
    hint = "count images where A is right and B is wrong, then the reverse; images both get right (or wrong) do not count"
    if tuple(int(x) for x in answer) == (paired.only_b, paired.only_a):
        hint = "the right counts, in the wrong order: A first"
    return _verdict(ok, hint)


def check_wilson(correct: int, total: int, answer) -> bool:
    """12: the 95% Wilson interval ``(low, high)`` of ``correct`` out of ``total``, to 3 decimals."""
    if _missing(answer, "`interval`"):
        return False
    low, high = wilson_interval(correct, total)
    ok = np.allclose(np.asarray(answer, dtype=float), [low, high], atol=5e-4)
    p, n, z = correct / total, total, 1.959964
    wald = (p - z * math.sqrt(p * (1 - p) / n), p + z * math.sqrt(p * (1 - p) / n))
    hint = "centre = (p + z²/2n) / (1 + z²/n); half-width = z / (1 + z²/n) · sqrt(p(1-p)/n + z²/4n²), with z = 1.96"
    if np.allclose(np.asarray(answer, dtype=float), wald, atol=5e-4):
        hint = "that is the textbook (Wald) interval p ± 1.96·SE; Wilson's is centred a little towards 1/2"
    return _verdict(ok, hint)


def check_twin_count(test_hashes, train_hashes, threshold: int, answer) -> bool:
    """09: how many test images have a training image within ``threshold`` bits (Hamming distance)?"""
    if _missing(answer, "`count`"):
        return False
    nearest = hamming(np.asarray(test_hashes), np.asarray(train_hashes)).min(axis=1)
    return _verdict(int(answer) == int((nearest <= threshold).sum()),
                    "for each test hash take the smallest Hamming distance to any training hash, "
                    "then count those at most `threshold`")


def _number(value) -> float | None:
    """One number from a float or a one-element tensor, else ``None``."""
    try:
        return float(torch.as_tensor(value).reshape(()))
    except (RuntimeError, TypeError, ValueError):
        return None


STUB = "write the function in the cell above (replace the raise), then run this cell again"


def _first_mismatch(function, args_at, expected: torch.Tensor, how_to_return: str):
    """Call ``function(*args_at(position))`` at every position of ``expected``.

    Returns ``None`` when every answer agrees, a hint when the function is still a stub or
    does not return one number, else the first wrong ``(position, value)``.
    """
    for position in np.ndindex(*expected.shape):
        try:
            value = _number(function(*args_at(position)))
        except NotImplementedError:
            return STUB
        if value is None:
            return how_to_return
        if not math.isclose(value, float(expected[position]), rel_tol=1e-4, abs_tol=1e-4):
            return position, value
    return None


def check_conv_pixel(conv_pixel) -> bool:
    """03: does ``conv_pixel(image, kernel, row, col)`` give a 3x3 convolution's output (padding 1) at (row, col)?

    It is tried on an image and a kernel of the checker's own, at every position inside the image.
    """
    if _missing(conv_pixel, "`conv_pixel`"):
        return False
    generator = torch.Generator().manual_seed(3)
    image, kernel = torch.randn(8, 8, generator=generator), torch.randn(3, 3, generator=generator)
    out = nn.functional.conv2d(image[None, None], kernel[None, None], padding=1)[0, 0]
    found = _first_mismatch(conv_pixel, lambda p: (image, kernel, p[0] + 1, p[1] + 1), out[1:-1, 1:-1],
                            "return one number: the sum of the nine products (.sum())")
    if found is None or isinstance(found, str):
        return _verdict(found is None, found or "")
    (i, j), value = found
    row, col = i + 1, j + 1  # the positions inside the image start at (1, 1)
    shifted = [float(out[row + d, col + d]) for d in (-1, 1)]
    if any(math.isclose(value, v, rel_tol=1e-4, abs_tol=1e-4) for v in shifted):
        return _verdict(False, "your patch is one pixel off: centre it on (row, col), "
                               "rows row-1 to row+1 and columns col-1 to col+1")
    return _verdict(False, "take the 3x3 patch centred on (row, col), multiply it by the kernel "
                           "element by element, and add the nine products")


def check_pool_window(pool_window) -> bool:
    """03: does ``pool_window(feature_map, r, c)`` give output (r, c) of a 2x2 max-pool with stride 2?

    It is tried on every window of a feature map of the checker's own.
    """
    if _missing(pool_window, "`pool_window`"):
        return False
    feature_map = torch.randn(8, 8, generator=torch.Generator().manual_seed(4))
    out = nn.functional.max_pool2d(feature_map[None, None], kernel_size=2)[0, 0]
    found = _first_mismatch(pool_window, lambda p: (feature_map, *p), out,
                            "return one number: the largest value of the window (.max())")
    if found is None or isinstance(found, str):
        return _verdict(found is None, found or "")
    (r, c), value = found
    if math.isclose(value, float(feature_map[2 * r:2 * r + 2, 2 * c:2 * c + 2].mean()), rel_tol=1e-4, abs_tol=1e-4):
        return _verdict(False, "that is the window's mean (average pooling): max-pooling keeps the largest value")
    return _verdict(False, "output (r, c) reads rows 2·r and 2·r+1 and columns 2·c and 2·c+1 of its input, "
                           "and keeps the largest of the four")


def check_learn_kernel(learn_kernel) -> bool:
    """03: does ``learn_kernel(image, target)`` recover a hidden 3x3 kernel by gradient descent?

    The check makes its own image and hides its own kernel (not the one in the notebook),
    so the function must really learn it: the result must match to within 0.02.
    """
    if _missing(learn_kernel, "`learn_kernel`"):
        return False
    generator = torch.Generator().manual_seed(7)
    image = nn.functional.avg_pool2d(torch.randn(1, 1, 66, 66, generator=generator), 3, stride=1)  # 64 x 64
    hidden = torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]])  # a Laplacian: it finds blobs
    target = nn.functional.conv2d(image, hidden.view(1, 1, 3, 3), padding=1)
    try:
        learned = learn_kernel(image, target)
    except NotImplementedError:
        return _verdict(False, STUB)
    if learned is None:
        return _verdict(False, "return the learned kernel at the end of the function")
    learned = torch.as_tensor(learned).detach().reshape(-1)
    if learned.numel() != 9:
        return _verdict(False, f"return the 3x3 kernel (9 numbers), not {learned.numel()} numbers")
    error = float((learned - hidden.reshape(-1)).abs().max())
    if not learned.any():
        hint = "the kernel never moved: give it to the optimiser, and call optimizer.step() after loss.backward()"
    elif not math.isfinite(error) or error > 0.5:
        hint = ("the kernel moved, but far from the target: call optimizer.zero_grad() before loss.backward() in "
                "every step, since backward() adds to the gradients already stored")
    else:
        hint = "close, not there yet: more steps, or a larger learning rate"
    return _verdict(error < 0.02, hint)
