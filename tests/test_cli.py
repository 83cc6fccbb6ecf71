"""``python -m mri_helpers``: train writes its outputs; predict prints parseable probabilities."""

import json
import subprocess
import sys

import pytest

from mri_helpers.__main__ import main


@pytest.fixture(scope="module")
def trained(tmp_path_factory, small_root):
    out = tmp_path_factory.mktemp("cli")
    rc = main(["train", "--model", "cnn0", "--epochs", "1", "--image-size", "32",
               "--data-dir", str(small_root), "--out", str(out)])
    assert rc == 0
    return out


def test_train_writes_checkpoint_and_results(trained):
    record = json.loads((trained / "results" / "cnn0.json").read_text())
    assert record["model"] == "cnn0" and record["epochs"] == 1
    assert record["data_source"] == "synthetic" and record["image_size"] == 32
    assert (trained / "checkpoints" / "cnn0.pt").is_file()


def test_predict_prints_probabilities_that_sum_to_one(trained, small_root, capsys):
    images = sorted((small_root / "Testing" / "glioma").glob("*.jpg"))[:2]
    rc = main(["predict", *map(str, images), "--checkpoint", str(trained / "checkpoints" / "cnn0.pt")])
    lines = capsys.readouterr().out.strip().splitlines()
    assert rc == 0 and len(lines) == 2
    for line, image in zip(lines, images):
        path, *fields = line.split("\t")
        assert path == str(image)
        probs = dict(f.split("=") for f in fields)
        assert list(probs) == ["glioma", "meningioma", "notumor", "pituitary"]
        assert sum(map(float, probs.values())) == pytest.approx(1, abs=1e-3)


def test_predict_reports_bad_inputs_in_one_line(trained, tmp_path, capsys):
    (tmp_path / "notes.jpg").write_text("not an image")
    rc = main(["predict", str(tmp_path / "missing.jpg"), str(tmp_path / "notes.jpg"),
               "--checkpoint", str(trained / "checkpoints" / "cnn0.pt")])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 1
    assert err == [f"{tmp_path / 'missing.jpg'}: error: no such file",
                   f"{tmp_path / 'notes.jpg'}: error: not an image file PIL can read"]


def test_missing_checkpoint_and_bad_data_dir_are_one_line_errors(tmp_path):
    run = subprocess.run([sys.executable, "-m", "mri_helpers", "predict", "x.jpg", "--checkpoint",
                          str(tmp_path / "none.pt")], capture_output=True, text=True)
    assert run.returncode == 2
    assert run.stderr.strip().startswith("error: No checkpoint at") and len(run.stderr.strip().splitlines()) == 1
    run = subprocess.run([sys.executable, "-m", "mri_helpers", "train", "--model", "cnn0", "--data-dir",
                          str(tmp_path / "nowhere")], capture_output=True, text=True)
    assert run.returncode == 2 and "is not a folder" in run.stderr and "Traceback" not in run.stderr
