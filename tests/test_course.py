"""``setup``: every notebook's first call picks the data, the recipe and the output folders."""

from dataclasses import replace

from mri_helpers import course
from mri_helpers.files import REPO_ROOT, output_dirs
from mri_helpers.training import RECIPES


def test_quick_recipes_shrink_size_batch_and_epochs():
    assert course.quick_recipe("cnn0", RECIPES["cnn0"]) == replace(RECIPES["cnn0"], image_size=64, batch_size=16,
                                                                   epochs=12)
    assert course.quick_recipe("cnn3", RECIPES["cnn3"]).epochs == 6
    quick = course.recipes(quick=True)
    assert quick["bestnet"] == replace(RECIPES["bestnet"], image_size=64, batch_size=16, epochs=6)
    assert course.recipes(quick=False) == RECIPES


def test_setup_in_quick_mode_on_the_phantoms(small_root, monkeypatch, capsys):
    monkeypatch.setenv("MRI_QUICK", "1")
    c = course.setup("cnn1", small_root, seed=5)
    assert c.quick and c.seed == 5 and c.recipe == course.quick_recipe("cnn1", RECIPES["cnn1"])
    assert c.data.image_size == 64 and c.data.source == "synthetic" and len(c.data.train) == 48
    assert c.out == output_dirs("synthetic", True) and c.figures == REPO_ROOT / "scratch" / "synthetic-quick" / "imgs"
    assert c.out.notebooks == REPO_ROOT / "scratch" / "synthetic-quick" / "notebooks"
    said = capsys.readouterr().out
    assert "SYNTHETIC DATA" in said and "Quick pass" in said
    seeded = course.setup("cnn1", small_root, seed=6)
    assert seeded.data.test.rows.tolist() == c.data.test.rows.tolist()  # every seed is scored on the same test half


def test_setup_with_an_image_size_and_a_figures_folder(small_root, tmp_path, capsys):
    c = course.setup("cnn3", small_root, quick=False, image_size=32, figures_dir=tmp_path / "figs")
    assert not c.quick and c.recipe == replace(RECIPES["cnn3"], image_size=32) and c.data.image_size == 32
    assert c.figures == tmp_path / "figs" and c.out == output_dirs("synthetic", False)
    assert "Quick pass" not in capsys.readouterr().out
