"""Checkers for notebook 13: shifts of a uint8 batch written by the student, a gamma curve and Gaussian noise."""

from __future__ import annotations

from functools import partial

import torch

from .. import transforms as T
from ..shifts import on_pixels
from .verdict import attempt, missing, verdict


def _batch(low: int = 0, high: int = 256, seed: int = 5) -> torch.Tensor:
    """The checker's own uint8 batch, 4 grey images of 32 x 32."""
    return torch.randint(low, high, (4, 1, 32, 32), generator=torch.Generator().manual_seed(seed), dtype=torch.uint8)


def _shifted(shift, *args):
    """``(result, None)`` or ``(None, hint)``: ``shift`` called on a copy, and its result's type checked."""
    batch = args[0]
    out, hint = attempt(shift, batch.clone(), *args[1:])
    if hint:
        return None, hint
    if not isinstance(out, torch.Tensor):
        return None, f"return a torch tensor (torch.from_numpy turns an array into one), not {type(out).__name__}"
    if out.shape != batch.shape:
        return None, f"return a batch of the shape that came in, {tuple(batch.shape)}"
    if out.dtype != torch.uint8:
        return None, f"return grey levels as uint8 (.to(torch.uint8)), not {out.dtype}: a shift maps uint8 to uint8"
    return out, None


def check_gamma_shift(gamma_shift) -> bool:
    """13: does ``gamma_shift(batch, g)`` give the course's gamma shift (``SEEN["gamma 0.7"]``) to a grey level?

    It is compared with the library's shift, ``on_pixels(partial(transforms.gamma, g=g))``, on a
    batch of the checker's own, for g = 0.7 and g = 1.5. The library converts back to uint8 as
    torchvision does (it rounds down); rounding to the nearest level differs by at most one.
    """
    if missing(gamma_shift, "`gamma_shift`"):
        return False
    batch = _batch()
    for g in (0.7, 1.5):
        out, hint = _shifted(gamma_shift, batch, g)
        if hint:
            return verdict(False, hint)
        expected = on_pixels(partial(T.gamma, g=g))(batch)
        if (out.int() - expected.int()).abs().max() <= 1:
            continue
        if (out.int() - on_pixels(partial(T.gamma, g=1 / g))(batch).int()).abs().max() <= 1:
            return verdict(False, "that is the curve x ** (1/g): the shift is x ** g, so g below 1 brightens")
        if (out.int() - (batch.double() ** g).clamp(0, 255).to(torch.uint8).int()).abs().max() <= 1:
            return verdict(False, "scale the grey levels to 0..1 before the curve (divide by 255): 255 ** g is not 255")
        if out.max() <= 1:
            return verdict(False, "scale back to grey levels (multiply by 255) before converting to uint8")
        return verdict(False, "divide the grey levels by 255, raise them to the power g, multiply by 255, "
                              "and convert back to uint8")
    return verdict(True, "")


def check_noise_shift(noisy, scores, sd: float = 10.0) -> bool:
    """13: does ``noisy(batch)`` add Gaussian noise (standard deviation ``sd`` grey levels) to a uint8
    batch, and are ``scores`` the accuracies ``shifted_accuracy`` gives under it?

    On a mid-grey batch of the checker's own the noise is measured: mean near 0, standard
    deviation within 10 % of ``sd``, and tails longer than uniform noise of that spread
    would have. On a black and a white batch the result must stay near black and white:
    without clipping, a level below 0 wraps round to near 255 in uint8.
    """
    if missing(noisy, "`noisy`"):
        return False
    mid = _batch(80, 176)  # far from black and white, so no value is clipped
    out, hint = _shifted(noisy, mid)
    if hint:
        return verdict(False, hint)
    noise = out.double() - mid.double()
    mean, spread = float(noise.mean()), float(noise.std())
    if spread < 0.5:
        return verdict(False, f"the batch came back (almost) unchanged: the noise is {sd:g} grey levels (of 255), "
                              "so add it before dividing by 255, or without dividing at all")
    if mean > 2 and spread < sd / 2 and (noise - mean).abs().max() < 2 * spread:  # no tails: uniform
        return verdict(False, "torch.rand draws uniform noise between 0 and 1; Gaussian noise with mean 0 is "
                              "torch.randn")
    if abs(mean) > 1 or not 0.9 * sd <= spread <= 1.1 * sd:
        return verdict(False, f"the noise should have mean 0 and standard deviation {sd:g} grey levels: "
                              f"{sd:g} * torch.randn(...)")
    if (noise == noise[:1]).all():
        return verdict(False, "every image got the same noise: draw it for the whole batch, torch.randn(batch.shape)")
    if noise.abs().max() < 2 * sd:  # uniform noise of that spread never reaches 1.73 sd; Gaussian noise does
        return verdict(False, "the noise has the right spread but no tails: Gaussian noise is torch.randn")
    for level in (0, 255):
        out, hint = _shifted(noisy, torch.full((4, 1, 32, 32), level, dtype=torch.uint8))
        if hint:
            return verdict(False, hint)
        if (out.int() - level).abs().max() > 128:
            return verdict(False, "clip to 0..255 (.clamp(0, 255)) before .to(torch.uint8): in uint8 a level "
                                  "below 0 wraps round to near 255, and one above 255 to near 0")
    if not (isinstance(scores, dict) and set(scores) == {"none", "noise"}
            and all(isinstance(v, float) and 0 <= v <= 1 for v in scores.values())):
        return verdict(False, "`noisy` is right; now score BestNet under it: noise_scores = "
                              'shifted_accuracy(model, raw_test, Prepare(data.normalize), {"noise": noisy})')
    return verdict(True, "")
