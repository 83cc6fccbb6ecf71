"""Scan-appearance shifts (mri_helpers.shifts) and the remedies: per-image standardisation, intensity and detail augmentation."""

import json
import logging
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

from mri_helpers.course import records as rec
from mri_helpers.course import runs
from mri_helpers.models import Standardize, build_model
from mri_helpers.recipes import VARIANTS, variants
from mri_helpers.shifts import SEEN, darker, shifted_accuracy
from mri_helpers.transforms import Augment, downsample

REPO = Path(__file__).resolve().parents[1]


def test_every_shift_keeps_shape_and_dtype():
    batch = torch.randint(0, 256, (3, 1, 64, 64), dtype=torch.uint8)
    for name, shift in SEEN.items():
        out = shift(batch)
        assert out.shape == batch.shape and out.dtype == torch.uint8, name
        assert not torch.equal(out, batch), f"{name} changed nothing"


def test_shift_known_values():
    x = torch.tensor([0, 10, 100, 255], dtype=torch.uint8).view(1, 1, 1, 4)
    assert darker(x).flatten().tolist() == [0, 0, 80, 235]
    assert SEEN["gamma 0.7"](x).flatten().tolist()[::3] == [0, 255]  # gamma keeps black and white
    assert SEEN["gamma 0.7"](x).flatten()[2] > 100 > SEEN["gamma 1.5"](x).flatten()[2]
    flat = torch.full((1, 1, 16, 16), 90, dtype=torch.uint8)
    for name in ("contrast x0.75", "half resolution", "blur (sigma 1)"):
        assert torch.equal(SEEN[name](flat), flat), name  # a flat image has no contrast or detail to lose
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
                              {"brightness -20": darker, "gamma 1.5": SEEN["gamma 1.5"]}, batch_size=3)
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
    assert "skipped cnn0 seed 2: no checkpoint here" in caplog.text
    score = json.loads(written[0].read_text())
    assert list(score["accuracy"]) == ["none", *SEEN] and score["seed"] == 1 and score["test_images"] == 12
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
        assert torch.equal(SEEN[f"gamma {g}"](every_level), F.adjust_gamma(every_level, g))
    x = torch.randint(0, 256, (4, 3, 32, 32), generator=torch.Generator().manual_seed(0), dtype=torch.uint8)
    torchvision = {"contrast x0.75": partial(F.adjust_contrast, contrast_factor=0.75),
                   "blur (sigma 1)": partial(F.gaussian_blur, kernel_size=[5, 5], sigma=[1.0, 1.0]),
                   "half resolution": lambda b: F.resize(F.resize(b, [16, 16], antialias=True), [32, 32], antialias=True)}
    for name, theirs in torchvision.items():  # float arithmetic against torchvision's whole grey levels
        assert (SEEN[name](x).int() - theirs(x).int()).abs().max() <= 2, name
    assert (SEEN["blur (sigma 1)"](x).int() - F.gaussian_blur(x, [9, 9], [2.0, 2.0]).int()).abs().max() > 2


def _scan(side=64):
    """A smooth bright disc with a sharp-edged dark spot: something for every shift to change."""
    v, u = torch.meshgrid(torch.linspace(-1, 1, side), torch.linspace(-1, 1, side), indexing="ij")
    x = (0.6 * torch.exp(-(u**2 + v**2) * 2) + 0.3 * ((u - 0.3) ** 2 + v**2 < 0.05)) * 255
    return x.to(torch.uint8).view(1, 1, side, side)


def test_every_held_out_shift_keeps_shape_and_dtype_and_grows_with_severity():
    from mri_helpers.shifts import HELD_OUT, held_out_shifts

    scan = _scan()
    shifts = held_out_shifts()
    assert len(shifts) == 3 * len(HELD_OUT) == 33
    for family, h in HELD_OUT.items():
        changes = []
        for name, shift in h.shifts(family).items():
            out = shift(scan)
            assert out.shape == scan.shape and out.dtype == torch.uint8, name
            changes.append((out.float() - scan.float()).abs().mean().item())
        if "resampling" in family:  # its severity is how coarse the grid is; its pixel error is not monotone
            assert min(changes) > 0, family  # (a factor of 0.5 lands on whole pixels, and errs less than 0.65)
        else:
            assert 0 < changes[0] < changes[1] < changes[2], (family, changes)


def test_no_held_out_shift_lies_inside_a_trained_range():
    from mri_helpers.recipes import BEST, Variant
    from mri_helpers.shifts import inside_training, trained_ranges

    ranges = trained_ranges()
    assert ranges["gamma"][0] == (0.7, 1.5) and ranges["contrast"][0] == (0.75, 1.25)
    assert ranges["blur sigma"] == [pytest.approx((0.875, 2.625))]  # sigma 0.5-1.5 at 128 px = 0.875-2.625 at 224
    assert ranges["side kept"] == [pytest.approx((0.4 * 128 / 224, 0.8 * 128 / 224))]
    assert inside_training() == []
    # the check can fail: detail augmentation at the stored size would cover every resampling setting
    at_224 = {"wide": Variant("bestnet", replace(BEST, image_size=224, intensity_augment=True, detail_augment=True))}
    assert inside_training(at_224) == [f"{kind} resampling {p}" for kind in ("nearest", "bicubic")
                                       for p in (0.8, 0.65, 0.5)]


def test_held_out_known_values():
    from mri_helpers.shifts import bias_field, ghosting, rician

    grey = torch.full((1, 1, 5, 5), 0.5)
    field = bias_field(grey, 0.5)[0, 0]
    assert field[0, 0] == pytest.approx(0.5 * math.exp(-0.5)) and field[-1, -1] == pytest.approx(0.5 * math.exp(0.5))
    assert field[2, 2] == pytest.approx(0.5)  # the centre keeps its grey level
    dot = torch.zeros(1, 1, 8, 8)
    dot[0, 0, 4, 4] = 1
    ghosts = ghosting(dot, 0.2)[0, 0]
    assert ghosts[4, 4] == 1 and ghosts[2, 4] == ghosts[6, 4] == pytest.approx(0.1) and ghosts.sum() == pytest.approx(1.2)
    black = torch.zeros(2, 1, 64, 64)
    noisy = rician(black, 0.1)
    assert noisy.min() >= 0 and noisy.mean() == pytest.approx(0.1 * math.sqrt(math.pi / 2), rel=0.05)  # Rayleigh
    assert torch.equal(rician(black[:1], 0.1), noisy[:1])  # an image's noise does not depend on its batch


def test_shifted_probabilities_resize_after_the_shift():
    from mri_helpers.shifts import shifted_probabilities

    images = torch.stack([torch.full((1, 16, 16), v, dtype=torch.uint8) for v in (100, 120, 140, 160)])
    seen = []

    def model(x):
        seen.append(x.shape[-1])
        return Brightness()(x)

    model.eval, model.parameters, model.buffers = (lambda: None), (lambda: iter([])), (lambda: iter([]))
    labels, probs = shifted_probabilities(model, TensorDataset(images, torch.tensor([0, 0, 1, 1])),
                                          lambda x: x.float() / 255, {"brightness -20": darker}, image_size=8)
    assert labels.tolist() == [0, 0, 1, 1] and set(seen) == {8}
    assert probs["none"].argmax(1).tolist() == [0, 0, 1, 1] and probs["brightness -20"].argmax(1).tolist() == [0, 0, 0, 1]
    assert np.allclose(probs["none"].sum(1), 1)


def test_held_out_scores_keep_probabilities_and_the_test_half_waits_for_the_choice(small_root, tmp_path, caplog):
    from mri_helpers.course.files import OutputDirs, write_json
    from mri_helpers.course.robustness import (
        CHOICE,
        accuracies,
        held_out_path,
        load_held_out,
        score_held_out,
        shift_tests,
    )
    from mri_helpers.datasets import load_datasets
    from mri_helpers.recipes import RECIPES, Variant
    from mri_helpers.shifts import COMMON_SIZE, SEEN, held_out_shifts

    sizes = {}

    def data_at(size):
        sizes.setdefault(size, load_datasets(small_root, image_size=size))
        return sizes[size]

    out = OutputDirs(tmp_path / "imgs", tmp_path / "results", tmp_path / "checkpoints", tmp_path / "nb")
    recipe = replace(RECIPES["cnn0"], image_size=32, epochs=1, batch_size=8, precision="fp32")
    known = {"cnn0": Variant("cnn0", recipe), "bestnet_robust": Variant("cnn0", recipe, group="remedy")}
    base = runs.train_and_evaluate("cnn0", data_at(32), out, recipe, seed=1, progress=False)
    remedy = runs.train_and_evaluate("bestnet_robust", data_at(32), out, recipe, seed=1, model="cnn0", options={},
                                    progress=False)

    written = score_held_out(out, data_at, "validation", known=known)
    assert [p.parent.name for p in written] == ["cnn0", "bestnet_robust"] and set(sizes) == {32, COMMON_SIZE}
    score = json.loads(written[0].read_text())
    assert written[0].read_text().count("\n") == 1  # compact: hundreds of thousands of numbers on one line
    assert list(score["held_out"]) == ["none", *held_out_shifts()] and list(score["seen"]) == ["none", *SEEN]
    assert score["labels"] == data_at(32).val.labels.tolist() and np.array(score["held_out"]["JPEG 5"]).shape == (
        len(data_at(32).val), 4)
    assert set(shift_tests(score)) == set(held_out_shifts())
    assert 0 <= accuracies(score)["blur 5"] <= 1
    assert score_held_out(out, data_at, "validation", known=known) == []  # written once

    with caplog.at_level(logging.WARNING):
        written = score_held_out(out, data_at, "test", known=known)
    assert written == [held_out_path(out.results, "test", base.record)]
    assert "skipped bestnet_robust seed 1: on the test half only the baselines" in caplog.text
    test_score = json.loads(written[0].read_text())
    assert accuracies(test_score, "seen")["none"] == base.record["test_accuracy"]  # the seen suite is the record's path
    write_json(out.results / CHOICE, {"chosen": "bestnet_robust"})
    assert score_held_out(out, data_at, "test", known=known) == [held_out_path(out.results, "test", remedy.record)]
    assert len(load_held_out(out.results, "test")) == 2


def _score(name, seed, none, middle_loss, n=200):
    """A score file whose run gets ``none`` right unshifted and loses ``middle_loss`` at every middle severity."""
    from mri_helpers.shifts import HELD_OUT

    labels = [0] * n

    def probs(accuracy):
        right = round(accuracy * n)
        return [[1.0, 0, 0, 0]] * right + [[0, 1.0, 0, 0]] * (n - right)

    held = {"none": probs(none)}
    for family, h in HELD_OUT.items():
        for i, p in enumerate(h.severities):
            held[f"{family} {p:g}"] = probs(none - (middle_loss if i == 1 else 0))
    return {"name": name, "seed": seed, "labels": labels, "held_out": held}


def test_the_choice_rule_keeps_accuracy_first_then_the_smallest_middle_loss_then_the_simpler_recipe():
    from mri_helpers.course.robustness import choose

    def scores(**by):
        return [_score(name, seed, *by[name]) for name in by for seed in (42, 43, 44)]

    # the most robust remedy loses 1.5 points unshifted: not eligible
    assert choose(scores(bestnet=(0.98, 0.10), bestnet_robust=(0.965, 0.01),
                         bestnet_robust_detail=(0.975, 0.04)))["chosen"] == "bestnet_robust_detail"
    # within half a point of each other: the simpler recipe
    verdict = choose(scores(bestnet=(0.98, 0.10), bestnet_robust=(0.975, 0.04), bestnet_robust_detail=(0.975, 0.036)))
    assert verdict["chosen"] == "bestnet_robust" and verdict["half"] == "validation"
    assert verdict["candidates"]["bestnet"]["worst_middle_loss"] == pytest.approx(0.10)
    assert verdict["rule"].startswith("1. A candidate (BestNet or one of its remedies) counts once 3 of its seeds")
    # two seeds are not enough to count
    two = [s for s in scores(bestnet=(0.98, 0.1), bestnet_robust=(0.98, 0.0)) if s["seed"] != 44 or s["name"] == "bestnet"]
    assert choose(two)["chosen"] == "bestnet"
    with pytest.raises(ValueError, match="no candidate has 3 seeds"):
        choose(two[:2])


def test_severity_curves_and_the_held_out_table_pool_the_seeds():
    from mri_helpers import plots
    from mri_helpers.course.robustness import held_out_table, severity_curves
    from mri_helpers.shifts import HELD_OUT

    scores = [_score("bestnet", 42, 0.98, 0.10), _score("bestnet", 43, 0.96, 0.06), _score("cnn3", 42, 0.9, 0.2)]
    curves = severity_curves(scores)
    assert list(curves) == ["cnn3", "bestnet"] and list(curves["bestnet"]) == list(HELD_OUT)
    none, mild, middle, severe = curves["bestnet"]["blur"]
    assert none[:2] == (None, pytest.approx(0.97)) and middle[:2] == (4.0, pytest.approx(0.89))
    assert none[2] < 0.97 < none[3] and mild[1] == severe[1] == pytest.approx(0.97)
    table = held_out_table(scores).splitlines()
    assert table[0].startswith("| model | seeds | none | gamma (brighter) 0.5 |")
    assert table[3].startswith("| bestnet | 2 | 0.970 | 0.890 |") and table[3].endswith("| 8.0 (gamma (brighter)) |")
    fig = plots.severity_curves(curves)
    assert [ax.get_title() for ax in fig.axes[:len(HELD_OUT)]] == list(HELD_OUT) and len(fig.axes) == 12
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["cnn3", "bestnet"]


def test_the_choice_is_filed_once_and_never_remade(tmp_path, capsys):
    from mri_helpers.course.files import write_json
    from mri_helpers.course.robustness import CHOICE, HELD_OUT_SCORES, make_choice

    assert make_choice(tmp_path) is None and "bestnet (0 of 3)" in capsys.readouterr().out
    for name, none, loss in (("bestnet", 0.98, 0.10), ("bestnet_robust", 0.975, 0.03), ("bestnet_robust_detail", 0.96, 0.0)):
        for seed in (42, 43, 44):
            if (name, seed) != ("bestnet_robust_detail", 44):
                write_json(tmp_path / HELD_OUT_SCORES / "validation" / name / f"seed{seed}.json", _score(name, seed, none, loss))
    # two candidates are ready, the third is not: nothing is filed yet
    assert make_choice(tmp_path) is None and not (tmp_path / CHOICE).exists()
    assert "bestnet_robust_detail (2 of 3)" in capsys.readouterr().out
    write_json(tmp_path / HELD_OUT_SCORES / "validation" / "bestnet_robust_detail" / "seed44.json",
               _score("bestnet_robust_detail", 44, 0.96, 0.0))
    assert make_choice(tmp_path)["chosen"] == "bestnet_robust"
    filed = (tmp_path / CHOICE).read_bytes()
    write_json(tmp_path / HELD_OUT_SCORES / "validation" / "bestnet" / "seed42.json", _score("bestnet", 42, 0.99, 0.0))
    assert make_choice(tmp_path)["chosen"] == "bestnet_robust" and (tmp_path / CHOICE).read_bytes() == filed


def test_shift_test_lines_pair_each_family_with_the_run_unshifted():
    from mri_helpers.course.robustness import shift_test_lines
    from mri_helpers.shifts import HELD_OUT

    lines = shift_test_lines(_score("bestnet", 42, 0.98, 0.10))
    assert len(lines) == len(HELD_OUT) and lines[0].startswith("gamma (brighter) 0.5")
    # 196 of 200 right unshifted, 176 at the middle severity: 20 lost, none gained; p = 2 / 2**20; Holm x 11
    assert "0.980 -> 0.880    20 lost,   0 gained   p = 1.9e-06, Holm 2.1e-05" in lines[0]
    assert shift_test_lines(_score("bestnet", 42, 0.98, 0.10), severity=0)[0].endswith("p = 1, Holm 1")


def test_held_out_shifts_by_severity():
    from mri_helpers.shifts import held_out_shifts

    assert list(held_out_shifts(severity=1))[:3] == ["gamma (brighter) 0.5", "gamma (darker) 2", "low contrast 0.5"]
    assert len(held_out_shifts(severity=2)) == 11 and "JPEG 5" in held_out_shifts(severity=2)


def test_the_readmes_held_out_block_reads_both_halves(tmp_path):
    from mri_helpers.course.files import write_json
    from mri_helpers.course.held_out import held_out_report
    from mri_helpers.course.robustness import CHOICE, HELD_OUT_SCORES

    write_json(tmp_path / HELD_OUT_SCORES / "validation" / "bestnet" / "a.json", _score("bestnet", 42, 0.98, 0.1))
    write_json(tmp_path / HELD_OUT_SCORES / "test" / "cnn3" / "b.json", _score("cnn3", 42, 0.9, 0.2))
    report = held_out_report(tmp_path)
    assert report.startswith("Validation half (candidates; the choice is not made yet):")
    assert "| bestnet | 1 | 0.980 |" in report and "Test half (the course models):" in report and "| cnn3 | 1 | 0.900 |" in report
    write_json(tmp_path / CHOICE, {"chosen": "bestnet_robust"})
    assert "the choice is **bestnet_robust**" in held_out_report(tmp_path)
    assert "Against the target" not in held_out_report(tmp_path)  # the chosen recipe has no test score yet
    for seed in (42, 43, 44):
        for name, none, loss in (("bestnet_robust", 0.98, 0.03), ("bestnet", 0.98, 0.3)):
            write_json(tmp_path / HELD_OUT_SCORES / "test" / name / f"seed{seed}.json", _score(name, seed, none, loss))
    report = held_out_report(tmp_path)
    assert "Test half (the course models and bestnet_robust):" in report
    assert "- bestnet_robust (3 seeds): 0.980 as exported" in report and report.count("meets the target") == 1
    assert "bestnet_robust against bestnet on the test half, seed by seed:" in report
    assert "| gamma (darker) 2 | 0.950 | 0.680 | +27.0 | - | - |" in report  # the same gap on every seed: no t-test


def test_the_held_out_verdict_reads_the_test_half_against_its_target():
    from mri_helpers.course.held_out import held_out_verdict

    three = [_score("bestnet_robust", seed, 0.98, 0.04) for seed in (42, 43, 44)]
    assert held_out_verdict(three, "bestnet_robust").endswith("largest loss at a middle severity 4.0 points, "
                                                              "gamma (brighter) (target ≤ 5): meets the target")
    worse = three[:2] + [_score("bestnet_robust", 44, 0.95, 0.10)]  # means 0.970 and 6 points
    line = held_out_verdict(worse, "bestnet_robust")
    assert line.startswith("bestnet_robust (3 seeds): 0.970 as exported (target ≥ 0.975)")
    assert line.endswith("6.0 points, gamma (brighter) (target ≤ 5): misses the target (accuracy and loss)")
    assert held_out_verdict(three[:2], "bestnet_robust") == (
        "bestnet_robust: 2 of 3 seeds scored on the test half, no verdict yet")


def test_the_held_out_comparison_pairs_the_seeds_and_corrects_over_the_rows():
    from mri_helpers.course.held_out import held_out_comparison
    from mri_helpers.stats import paired_over_seeds

    a = [_score("bestnet_robust", 42, 0.98, 0.02), _score("bestnet_robust", 43, 0.97, 0.03),
         _score("bestnet_robust", 44, 0.985, 0.01)]
    b = [_score("bestnet", 42, 0.975, 0.30), _score("bestnet", 43, 0.98, 0.40), _score("bestnet", 44, 0.97, 0.35)]
    lines = held_out_comparison(a + b, "bestnet_robust", "bestnet").splitlines()
    assert lines[0] == "| shift | bestnet_robust | bestnet | difference (points) | paired t p (3 seeds) | Holm |"
    assert len(lines) == 2 + 12 and lines[2].startswith("| none | 0.978 | 0.975 | +0.3 |")
    p = paired_over_seeds([0.96, 0.94, 0.975], [0.675, 0.58, 0.62])  # the middle severities' accuracies
    assert lines[3] == f"| gamma (brighter) 0.5 | 0.958 | 0.625 | +33.3 | {p:.2g} | {min(1, 12 * p):.2g} |"  # 12 rows tested; tied p-values share the first factor
    assert held_out_comparison(a, "bestnet_robust", "bestnet") == (
        "No seed has held-out scores for both bestnet_robust and bestnet yet.")


def test_skipped_runs_are_logged_one_line_per_reason(caplog):
    from mri_helpers.course.robustness import NO_CHECKPOINT, NOT_CHOSEN, log_skipped

    runs_ = [{"name": "cnn0", "seed": 43}, {"name": "cnn0", "seed": 44}, {"name": "cnn1", "seed": 43}]
    with caplog.at_level(logging.WARNING):
        log_skipped({NO_CHECKPOINT: runs_, NOT_CHOSEN: [{"name": "bestnet_robust", "seed": 42}]})
    assert caplog.messages == [f"skipped cnn0 seeds 43, 44; cnn1 seed 43: {NO_CHECKPOINT}",
                               f"skipped bestnet_robust seed 42: {NOT_CHOSEN}"]
