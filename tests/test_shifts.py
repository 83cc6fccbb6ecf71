"""Scan-appearance shifts (mri_helpers.shifts) and the remedies: per-image standardisation, intensity and detail augmentation."""

import json
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

from mri_helpers.course import records as rec
from mri_helpers.course import runs
from mri_helpers.models import Standardize, build_model
from mri_helpers.recipes import VARIANTS, variants
from mri_helpers.shifts import SHIFTS, darker, shifted_accuracy
from mri_helpers.transforms import Augment, downsample

REPO = Path(__file__).resolve().parents[1]


def test_every_shift_keeps_shape_and_dtype():
    batch = torch.randint(0, 256, (3, 1, 64, 64), dtype=torch.uint8)
    for name, shift in SHIFTS.items():
        out = shift(batch)
        assert out.shape == batch.shape and out.dtype == torch.uint8, name
        assert not torch.equal(out, batch), f"{name} changed nothing"


def test_shift_known_values():
    x = torch.tensor([0, 10, 100, 255], dtype=torch.uint8).view(1, 1, 1, 4)
    assert darker(x).flatten().tolist() == [0, 0, 80, 235]
    assert SHIFTS["gamma 0.7"](x).flatten().tolist()[::3] == [0, 255]  # gamma keeps black and white
    assert SHIFTS["gamma 0.7"](x).flatten()[2] > 100 > SHIFTS["gamma 1.5"](x).flatten()[2]
    flat = torch.full((1, 1, 16, 16), 90, dtype=torch.uint8)
    for name in ("contrast x0.75", "half resolution", "blur (sigma 1)"):
        assert torch.equal(SHIFTS[name](flat), flat), name  # a flat image has no contrast or detail to lose
    checker = (torch.arange(16).view(1, 16) + torch.arange(16).view(16, 1)) % 2 * 255
    assert downsample(checker.float().view(1, 1, 16, 16) / 255, 0.5).std() < 0.04  # fine detail is gone


class Brightness(nn.Module):
    """Class 1 if the mean grey is above 0.5: a model that reads the export, not the anatomy."""

    def __init__(self):
        super().__init__()
        self.anchor = nn.Parameter(torch.zeros(1))  # so the model has a device

    def forward(self, x):
        m = x.mean(dim=(1, 2, 3))
        return torch.stack([0.5 - m, m - 0.5], dim=1) + self.anchor


def test_shifted_accuracy_of_a_model_that_reads_brightness():
    images = torch.stack([torch.full((1, 8, 8), v, dtype=torch.uint8) for v in (100, 120, 140, 160)])
    labels = torch.tensor([0, 0, 1, 1])
    scores = shifted_accuracy(Brightness(), TensorDataset(images, labels), lambda x: x.float() / 255,
                              {"brightness -20": darker, "gamma 1.5": SHIFTS["gamma 1.5"]}, batch_size=3)
    assert scores == {"none": 1.0, "brightness -20": 0.75, "gamma 1.5": 0.5}


def test_standardize_removes_any_global_brightness_and_contrast():
    x = torch.rand(2, 3, 16, 16)
    s = Standardize()
    assert torch.allclose(s(x).mean(dim=(1, 2, 3)), torch.zeros(2), atol=1e-6)
    assert torch.allclose(s(x).std(dim=(1, 2, 3)), torch.ones(2), atol=1e-3)
    assert torch.allclose(s(2.5 * x - 0.7), s(x), atol=1e-4)
    robust = build_model("bestnet", standardize=True).eval()
    with torch.no_grad():
        assert torch.allclose(robust(0.6 * x + 0.2), robust(x), atol=1e-4)
    assert sum(p.numel() for p in robust.parameters()) == 1_169_172  # no parameters added


def test_intensity_augmentation_draws_gamma_and_contrast_per_image():
    flat = torch.full((400, 1, 8, 8), 128, dtype=torch.uint8)
    still = Augment(degrees=0, translate=0, brightness=(1, 1), intensity=True)
    torch.manual_seed(0)
    values = still(flat)[:, 0, 4, 4]
    low, high = (128 / 255) ** 1.5, (128 / 255) ** 0.7  # gamma 1.5 darkens mid-grey, 0.7 brightens it
    assert values.min() >= low - 1e-6 and values.max() <= high + 1e-6
    assert values.min() < low + 0.02 and values.max() > high - 0.02  # the whole range is drawn
    assert (values < 128 / 255).float().mean().item() == pytest.approx(0.53, abs=0.1)  # gamma > 1 (darker): 53 % of draws
    torch.manual_seed(0)
    assert torch.equal(Augment(degrees=0, translate=0, brightness=(1, 1))(flat), flat.float() / 255)  # off by default


def test_gaussian_blur_gives_each_image_torchvisions_blur_at_its_own_sigma():
    from torchvision.transforms.v2 import functional as F

    from mri_helpers.transforms import blur

    x = torch.rand(3, 2, 20, 24, generator=torch.Generator().manual_seed(0))
    sigma = torch.tensor([0.5, 1.0, 1.5])
    out = blur(x, sigma)
    for i, s in enumerate(sigma.tolist()):
        assert torch.allclose(out[i], F.gaussian_blur(x[i], kernel_size=[9, 9], sigma=[s, s]), atol=1e-6)


def test_detail_augmentation_softens_two_thirds_of_a_batch_and_keeps_the_rest():
    edge = torch.zeros(30, 1, 32, 32, dtype=torch.uint8)
    edge[..., 16:, :] = 255  # a sharp horizontal edge (Augment may flip left and right)
    torch.manual_seed(0)
    out = Augment(degrees=0, translate=0, brightness=(1, 1), detail=True)(edge)
    kept = [torch.equal(image, edge[0].float() / 255) for image in out]
    assert sum(kept) == 10
    softened = out[[not k for k in kept]]
    assert (softened[..., 15, :] > 0.05).all() and (softened[..., 16, :] < 0.95).all()  # the edge spreads
    assert torch.allclose(softened[..., :8, :], torch.zeros(1)) and torch.allclose(softened[..., 24:, :], torch.ones(1))


def test_committed_runs_are_current_and_the_remedy_is_a_new_architecture():
    """A change to a model's code or a recipe that renames every committed run must be deliberate."""
    found = rec.course_runs(rec.load_records(REPO / "results"))
    assert list(found) == ["cnn0", "cnn1", "cnn2", "cnn3", "bestnet"]
    record = found["bestnet"]
    name, remedy = next(iter(variants("remedy").items()))
    model, options, recipe = remedy.model, remedy.options, remedy.recipe
    assert recipe.intensity_augment and not recipe.detail_augment and options == {"standardize": True}
    detail = VARIANTS["bestnet_robust_detail"].recipe
    assert detail == replace(recipe, detail_augment=True)  # the remedy plus detail augmentation, nothing else
    plain = runs.architecture(build_model("bestnet", image_size=128))
    assert plain == record["fingerprint"]["architecture"]
    assert runs.architecture(build_model(model, image_size=128, **options)) != plain
    assert json.loads((REPO / "results" / "bestnet" / f"{record['run_id']}.json").read_text())["name"] == "bestnet"


def test_jpeg_keeps_a_smooth_image_and_loses_fine_detail():
    from mri_helpers.shifts import jpeg

    ramp = torch.arange(64, dtype=torch.uint8).repeat(64, 1).mul(3).view(1, 1, 64, 64)
    assert (jpeg(ramp).int() - ramp.int()).abs().max() <= 6
    noise = torch.randint(0, 256, (2, 3, 32, 32), generator=torch.Generator().manual_seed(0), dtype=torch.uint8)
    out = jpeg(noise)
    assert out.shape == noise.shape and (out.int() - noise.int()).abs().float().mean() > 20


def test_score_runs_writes_one_file_per_run_once_and_skips_runs_without_a_checkpoint(small_root, tmp_path, caplog):
    from dataclasses import replace

    from mri_helpers.course.files import OutputDirs
    from mri_helpers.course.robustness import load_scores, robustness_table, score_runs
    from mri_helpers.datasets import load_datasets
    from mri_helpers.recipes import RECIPES, Variant

    data = load_datasets(small_root, image_size=32)
    out = OutputDirs(tmp_path / "imgs", tmp_path / "results", tmp_path / "checkpoints", tmp_path / "nb")
    recipe = replace(RECIPES["cnn0"], image_size=32, epochs=1, batch_size=8, precision="fp32")
    first = runs.train_and_evaluate("cnn0", data, out, recipe, seed=1, progress=False)
    second = runs.train_and_evaluate("cnn0", data, out, recipe, seed=2, progress=False)
    second.run.checkpoint.unlink()
    runs.train_and_evaluate("cnn0", data, out, replace(recipe, lr=1e-3), seed=1, progress=False)  # not the recipe

    written = score_runs(out, lambda size: data, known={"cnn0": Variant("cnn0", recipe)})
    assert written == [tmp_path / "results" / "shifts" / "cnn0" / f"{first.run.id}.json"]
    assert "skipped cnn0 " + second.run.id in caplog.text
    score = json.loads(written[0].read_text())
    assert list(score["accuracy"]) == ["none", *SHIFTS] and score["seed"] == 1 and score["test_images"] == 12
    assert score["accuracy"]["none"] == first.record["test_accuracy"]  # unshifted, it is the run's own test score
    before = written[0].read_bytes()
    assert score_runs(out, lambda size: data, known={"cnn0": Variant("cnn0", recipe)}) == [] and written[0].read_bytes() == before

    table = robustness_table(load_scores(out.results)).splitlines()
    assert table[0].startswith("| model | seeds | none | gamma 0.7 |") and table[0].endswith("| largest loss |")
    assert len(table) == 3
    assert table[2].startswith(f"| cnn0 | 1 | {first.record['test_accuracy']:.3f} |")
    assert robustness_table([]) == "No scores yet: run `make robustness` where the checkpoints are."


def test_the_study_takes_one_current_run_per_seed_of_each_model_and_remedy():
    from mri_helpers.course.robustness import studied

    records = rec.load_records(REPO / "results")
    remedy = next(r for r in records if r["name"] == "bestnet_robust")
    another_seed = {**remedy, "seed": 45, "run_id": "seed45-current"}
    other_recipe = {**remedy, "seed": 46, "run_id": "seed46-brief",
                    "fingerprint": {**remedy["fingerprint"], "recipe": {**remedy["fingerprint"]["recipe"], "epochs": 3}}}
    picked = studied([*records, another_seed, other_recipe])
    assert [r["run_id"] for r in picked if r["seed"] in (45, 46)] == ["seed45-current"]
    assert len({(r["name"], r["seed"]) for r in picked}) == len(picked)  # one run per model and seed
    assert {r["precision"] for r in picked if r["name"] == "bestnet"} == {"fp32"}  # the parity twins are left out


def test_shifts_apply_the_augmentation_functions_as_torchvision_would():
    from functools import partial

    from torchvision.transforms.v2 import functional as F

    every_level = torch.arange(256, dtype=torch.uint8).view(1, 1, 16, 16)
    for g in (0.7, 1.5):  # the same numbers as torchvision's adjust_gamma, at every grey level
        assert torch.equal(SHIFTS[f"gamma {g}"](every_level), F.adjust_gamma(every_level, g))
    x = torch.randint(0, 256, (4, 3, 32, 32), generator=torch.Generator().manual_seed(0), dtype=torch.uint8)
    torchvision = {"contrast x0.75": partial(F.adjust_contrast, contrast_factor=0.75),
                   "blur (sigma 1)": partial(F.gaussian_blur, kernel_size=[5, 5], sigma=[1.0, 1.0]),
                   "half resolution": lambda b: F.resize(F.resize(b, [16, 16], antialias=True), [32, 32], antialias=True)}
    for name, theirs in torchvision.items():  # float arithmetic against torchvision's whole grey levels
        assert (SHIFTS[name](x).int() - theirs(x).int()).abs().max() <= 2, name
    assert (SHIFTS["blur (sigma 1)"](x).int() - F.gaussian_blur(x, [9, 9], [2.0, 2.0]).int()).abs().max() > 2
