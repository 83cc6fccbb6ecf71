"""``setup`` and its ``Course``: the data, the recipe and the output folders, and calls that use its own seed."""

from dataclasses import replace

import pytest

from mri_helpers.course import lesson
from mri_helpers.course.files import output_dirs, write_json
from mri_helpers.course.lesson import course_variants, quick_variant, setup
from mri_helpers.course.robustness import score_path
from mri_helpers.recipes import RECIPES, VARIANTS, Variant, variants
from mri_helpers.shifts import SEEN
from mri_helpers.sources import REPO_ROOT


def test_quick_variants_shrink_size_batch_and_epochs():
    assert quick_variant(VARIANTS["cnn0"]).recipe == replace(RECIPES["cnn0"], image_size=64, batch_size=16, epochs=12)
    quick = course_variants(quick=True)
    assert quick["cnn3"].recipe.epochs == 6
    assert quick["bestnet_robust"].recipe == replace(VARIANTS["bestnet_robust"].recipe, image_size=64, batch_size=16,
                                                     epochs=6)
    assert course_variants(quick=False) == VARIANTS


def test_each_variant_changes_only_what_it_says():
    best = RECIPES["bestnet"]
    assert {name: (v.model, v.options, v.recipe) for name, v in variants("ablation").items()} == {
        "bestnet_no_batch_norm": ("bestnet", {"batch_norm": False}, best),
        "bestnet_constant_lr": ("bestnet", {}, replace(best, one_cycle=False)),
    }
    remedy, detail = variants("remedy").values()
    assert remedy.options == detail.options == {"standardize": True}
    assert remedy.recipe == replace(best, intensity_augment=True)
    assert detail.recipe == replace(remedy.recipe, detail_augment=True)
    assert list(variants("course")) == ["cnn0", "cnn1", "cnn2", "cnn3", "bestnet"]


def test_setup_in_quick_mode_on_the_phantoms(small_root, monkeypatch, capsys):
    monkeypatch.setenv("MRI_QUICK", "1")
    c = setup("cnn1", small_root, seed=5)
    assert c.quick and c.seed == 5 and c.recipe == quick_variant(VARIANTS["cnn1"]).recipe
    assert c.data.image_size == 64 and c.data.source == "synthetic" and len(c.data.train) == 48
    assert c.out == output_dirs("synthetic", True) and c.figures == REPO_ROOT / "scratch" / "synthetic-quick" / "imgs"
    assert c.out.notebooks == REPO_ROOT / "scratch" / "synthetic-quick" / "notebooks"
    said = capsys.readouterr().out
    assert "SYNTHETIC DATA" in said and "Quick pass" in said
    seeded = setup("cnn1", small_root, seed=6)
    assert seeded.data.test.rows.tolist() == c.data.test.rows.tolist()  # every seed is scored on the same test half


def test_setup_with_an_image_size_and_a_figures_folder(small_root, tmp_path, capsys):
    c = setup("cnn3", small_root, quick=False, image_size=32, figures_dir=tmp_path / "figs")
    assert not c.quick and c.recipe == replace(RECIPES["cnn3"], image_size=32) and c.data.image_size == 32
    assert c.figures == tmp_path / "figs" and c.out == output_dirs("synthetic", False)
    assert "Quick pass" not in capsys.readouterr().out


def test_course_trains_its_variant_with_its_own_seed_and_tables_it(small_root, monkeypatch, tmp_path, capsys):
    c = setup("cnn0", small_root, seed=7, quick=False, image_size=32)
    c.out = type(c.out)(tmp_path / "imgs", tmp_path / "results", tmp_path / "checkpoints", tmp_path / "notebooks")
    result = c.train(recipe=replace(c.recipe, epochs=1, batch_size=16))
    assert result.record["seed"] == 7 and result.record["name"] == "cnn0" and result.run.checkpoint.exists()
    again = c.train(recipe=replace(c.recipe, epochs=1, batch_size=16))  # the finished run is reloaded
    assert again.run.id == result.run.id and again.record == result.record
    assert c.records() == [result.record]
    assert c.runs() == {}  # a one-epoch recipe is not the course's: no table row
    table = c.table(names=["cnn0"])
    assert table.splitlines()[0].startswith("| model |") and len(table.splitlines()) == 2
    new = c.train("cnn0_fast", replace(c.recipe, lr=1e-3, epochs=1, batch_size=16), model="cnn0")  # an exercise's name
    assert new.record["name"] == "cnn0_fast" and new.record["model"] == "cnn0" and new.record["recipe"]["lr"] == 1e-3


def test_a_run_known_by_its_record_alone_reads_its_filed_scores(small_root, monkeypatch, tmp_path):
    c = setup("cnn0", small_root, seed=7, quick=False, image_size=32)
    c.out = type(c.out)(tmp_path / "imgs", tmp_path / "results", tmp_path / "checkpoints", tmp_path / "notebooks")
    recipe = replace(c.recipe, epochs=1, batch_size=16)
    monkeypatch.setattr(lesson, "course_variants", lambda quick: {"cnn0": Variant("cnn0", recipe)})
    with pytest.raises(ValueError, match="No filed run of cnn0 with seed 7 here: set SHIPPED = False"):
        c.recorded("cnn0")
    trained = c.train(recipe=recipe)
    raw = c.data.test.subset(c.data.test.rows, raw=True)
    scored = c.seen_scores(trained, raw)  # from the model
    assert list(scored) == ["none", *SEEN] and scored["none"] == trained.record["test_accuracy"]

    known = c.recorded("cnn0")
    assert known.model is None and known.record == trained.record and known.run.id == trained.run.id
    with pytest.raises(ValueError, match="No filed seen-shift scores of cnn0"):
        c.seen_scores(known, raw)
    filed = {"none": 0.5, **{shift: 0.25 for shift in SEEN}}
    write_json(score_path(c.out.results, known.record), {"accuracy": filed})
    assert c.seen_scores(known, raw) == filed  # as filed, not scored again
