"""Checkers for notebook 02: one convolution pixel, one pooling window and a learned kernel."""

from __future__ import annotations

import math

import torch
from torch import nn

from .verdict import attempt, first_mismatch, missing, verdict


def check_conv_pixel(conv_pixel) -> bool:
    """02: does ``conv_pixel(image, kernel, row, col)`` give a 3x3 convolution's output (padding 1) at (row, col)?

    It is tried on an image and a kernel of the checker's own, at every position inside the image.
    """
    if missing(conv_pixel, "`conv_pixel`"):
        return False
    generator = torch.Generator().manual_seed(3)
    image, kernel = torch.randn(8, 8, generator=generator), torch.randn(3, 3, generator=generator)
    out = nn.functional.conv2d(image[None, None], kernel[None, None], padding=1)[0, 0]
    found = first_mismatch(conv_pixel, lambda p: (image, kernel, p[0] + 1, p[1] + 1), out[1:-1, 1:-1],
                            "return one number: the sum of the nine products (.sum())")
    if found is None or isinstance(found, str):
        return verdict(found is None, found or "")
    (i, j), value = found
    row, col = i + 1, j + 1  # the positions inside the image start at (1, 1)
    shifted = [float(out[row + d, col + d]) for d in (-1, 1)]
    if any(math.isclose(value, v, rel_tol=1e-4, abs_tol=1e-4) for v in shifted):
        return verdict(False, "your patch is one pixel off: centre it on (row, col), "
                               "rows row-1 to row+1 and columns col-1 to col+1")
    variants = {  # the same pixel as a few common slips compute it
        "PyTorch's conv2d does not flip the kernel (that is cross-correlation): multiply it as it is":
            nn.functional.conv2d(image[None, None], kernel.flip(0, 1)[None, None], padding=1)[0, 0][row, col],
        "row and column are swapped: the patch is image[row-1:row+2, col-1:col+2]":
            out[col, row],
        "@ is a matrix product: multiply element by element with *, then .sum()":
            (image[row - 1:row + 2, col - 1:col + 2] @ kernel).sum(),
    }
    for hint, slip in variants.items():
        if math.isclose(value, float(slip), rel_tol=1e-4, abs_tol=1e-4):
            return verdict(False, hint)
    return verdict(False, "take the 3x3 patch centred on (row, col), multiply it by the kernel "
                           "element by element, and add the nine products")


def check_pool_window(pool_window) -> bool:
    """02: does ``pool_window(feature_map, r, c)`` give output (r, c) of a 2x2 max-pool with stride 2?

    It is tried on every window of a feature map of the checker's own.
    """
    if missing(pool_window, "`pool_window`"):
        return False
    feature_map = torch.randn(8, 8, generator=torch.Generator().manual_seed(4))
    out = nn.functional.max_pool2d(feature_map[None, None], kernel_size=2)[0, 0]
    found = first_mismatch(pool_window, lambda p: (feature_map, *p), out,
                            "return one number: the largest value of the window (.max())")
    if found is None or isinstance(found, str):
        return verdict(found is None, found or "")
    (r, c), value = found
    if math.isclose(value, float(feature_map[2 * r:2 * r + 2, 2 * c:2 * c + 2].mean()), rel_tol=1e-4, abs_tol=1e-4):
        return verdict(False, "that is the window's mean (average pooling): max-pooling keeps the largest value")
    return verdict(False, "output (r, c) reads rows 2·r and 2·r+1 and columns 2·c and 2·c+1 of its input, "
                           "and keeps the largest of the four")


def check_learn_kernel(learn_kernel) -> bool:
    """02: does ``learn_kernel(image, target)`` recover a hidden 3x3 kernel by gradient descent?

    The check makes its own image and hides its own kernel (not the one in the notebook),
    so the function must really learn it: the result must match to within 0.02.
    """
    if missing(learn_kernel, "`learn_kernel`"):
        return False
    generator = torch.Generator().manual_seed(7)
    image = nn.functional.avg_pool2d(torch.randn(1, 1, 66, 66, generator=generator), 3, stride=1)  # 64 x 64
    hidden = torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]])  # a Laplacian: it finds blobs
    target = nn.functional.conv2d(image, hidden.view(1, 1, 3, 3), padding=1)
    learned, hint = attempt(learn_kernel, image, target)
    if hint:
        return verdict(False, hint)
    if learned is None:
        return verdict(False, "return the learned kernel at the end of the function")
    learned = torch.as_tensor(learned).detach().reshape(-1)
    if learned.numel() != 9:
        return verdict(False, f"return the 3x3 kernel (9 numbers), not {learned.numel()} numbers")
    error = float((learned - hidden.reshape(-1)).abs().max())
    if not learned.any():
        hint = "the kernel never moved: give it to the optimiser, and call optimizer.step() after loss.backward()"
    elif not math.isfinite(error) or error > 0.5:
        hint = ("the kernel moved, but far from the target: call optimizer.zero_grad() before loss.backward() in "
                "every step, since backward() adds to the gradients already stored")
    else:
        hint = "close, not there yet: more steps, or a larger learning rate"
    return verdict(error < 0.02, hint)
