"""The checkers of notebook 13 accept the solution and the library, name the common mistakes and handle a stub."""

from functools import partial

import pytest
import torch

from mri_helpers import transforms as T
from mri_helpers.exercises.robustness import check_gamma_shift, check_noise_shift
from mri_helpers.exercises.verdict import STUB
from mri_helpers.shifts import on_pixels


def _said(capsys):
    return capsys.readouterr().out.strip()


def gamma_shift(batch, g):
    """Notebook 13's solution: rounds to the nearest level, where the library rounds down."""
    x = batch.float() / 255
    y = x ** g
    return (y * 255).round().clamp(0, 255).to(torch.uint8)


def library_gamma(batch, g):
    return on_pixels(partial(T.gamma, g=g))(batch)


def inverse_gamma(batch, g):
    return gamma_shift(batch, 1 / g)


def unscaled_gamma(batch, g):
    return (batch.float() ** g).round().clamp(0, 255).to(torch.uint8)


def not_scaled_back(batch, g):
    return ((batch.float() / 255) ** g).to(torch.uint8)


def float_gamma(batch, g):
    return (batch.float() / 255) ** g * 255


def gamma_stub(batch, g):
    raise NotImplementedError("a gamma curve")


@pytest.mark.parametrize("right", [gamma_shift, library_gamma])
def test_gamma_shift_accepts_the_solution_and_the_library(right, capsys):
    assert check_gamma_shift(right) is True and _said(capsys) == "✓ correct"


@pytest.mark.parametrize("wrong,hint", [
    (inverse_gamma, "x ** (1/g)"),
    (unscaled_gamma, "divide by 255"),
    (not_scaled_back, "multiply by 255"),
    (float_gamma, "as uint8"),
    (lambda batch, g: batch, "divide the grey levels by 255"),
    (gamma_stub, STUB),
    (None, "set `gamma_shift`"),
])
def test_gamma_shift_names_the_mistake(wrong, hint, capsys):
    assert check_gamma_shift(wrong) is False
    said = _said(capsys)
    assert said.startswith("✗ not yet: ") and hint in said, said


def noisy(batch):
    """Notebook 13's solution."""
    noise = 10 * torch.randn(batch.shape, generator=torch.Generator().manual_seed(0))
    return (batch.float() + noise).round().clamp(0, 255).to(torch.uint8)


def wraps_round(batch):
    return (batch.float() + 10 * torch.randn(batch.shape)).round().to(torch.int16).to(torch.uint8)


def uniform_noise(batch):
    return (batch.float() + 10 * torch.rand(batch.shape)).round().clamp(0, 255).to(torch.uint8)


def flat_noise(batch):  # uniform noise with a standard deviation of 10: right spread, no tails
    return (batch.float() + 34.64 * (torch.rand(batch.shape) - 0.5)).round().clamp(0, 255).to(torch.uint8)


def unit_noise(batch):
    return (batch.float() + torch.randn(batch.shape)).round().clamp(0, 255).to(torch.uint8)


def scaled_noise(batch):
    x = batch.float() / 255 + 10 / 255 / 255 * torch.randn(batch.shape)
    return (x * 255).round().clamp(0, 255).to(torch.uint8)


def noise_stub(batch):
    raise NotImplementedError("Gaussian noise")


SCORES = {"none": 0.974, "noise": 0.606}  # shifted_accuracy's answer: accuracy unshifted and under the noise


def test_noise_shift_accepts_the_solution(capsys):
    assert check_noise_shift(noisy, SCORES) is True and _said(capsys) == "✓ correct"


@pytest.mark.parametrize("scores", [None, {"noise": 0.6}, {"none": 97.4, "noise": 60.6}])
def test_noise_shift_asks_for_the_scores(scores, capsys):
    assert check_noise_shift(noisy, scores) is False
    assert "now score BestNet under it" in _said(capsys)


@pytest.mark.parametrize("wrong,hint", [
    (wraps_round, "wraps round"),
    (uniform_noise, "torch.rand draws uniform noise"),
    (flat_noise, "no tails"),
    (unit_noise, "standard deviation 10 grey levels"),
    (scaled_noise, "came back (almost) unchanged"),
    (lambda batch: batch.float() + 10 * torch.randn(batch.shape), "as uint8"),
    (lambda batch: batch[:1], "the shape that came in"),
    (lambda batch: batch.numpy(), "return a torch tensor"),
    (lambda batch: (batch.float() + 10 + torch.randn(batch.shape)).round().clamp(0, 255).to(torch.uint8),
     "mean 0 and standard deviation 10"),
    (noise_stub, STUB),
    (None, "set `noisy`"),
])
def test_noise_shift_names_the_mistake(wrong, hint, capsys):
    torch.manual_seed(0)
    assert check_noise_shift(wrong, SCORES) is False
    said = _said(capsys)
    assert said.startswith("✗ not yet: ") and hint in said, said


def test_noise_shared_by_every_image_is_rejected(capsys):
    def shared(batch):
        noise = 10 * torch.randn(batch.shape[1:])
        return (batch.float() + noise).round().clamp(0, 255).to(torch.uint8)

    assert not check_noise_shift(shared, SCORES)
    assert "every image got the same noise" in capsys.readouterr().out
