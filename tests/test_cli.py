"""``python -m mri_helpers``: train writes its run; predict prints parseable probabilities; any variant trains by name."""

import json
import subprocess
import sys

import pytest
import torch
from torchvision.transforms import v2

from mri_helpers.cache import read_image
from mri_helpers.course.cli import main
from mri_helpers.course.runs import load_model
from mri_helpers.transforms import eval_transform


@pytest.fixture(scope="module")
def trained(tmp_path_factory, small_root):
    out = tmp_path_factory.mktemp("cli")
    rc = main(["train", "--model", "cnn0", "--epochs", "1", "--image-size", "32", "--batch-size", "8",
               "--precision", "fp32", "--seed", "3", "--data-dir", str(small_root), "--out", str(out)])
    assert rc == 0
    return out


def _only(folder, pattern):
    found = sorted(folder.glob(pattern))
    assert len(found) == 1, found
    return found[0]


def test_train_writes_checkpoint_and_record_of_one_run(trained):
    record_path = _only(trained / "results" / "cnn0", "*.json")
    checkpoint = _only(trained / "checkpoints" / "cnn0", "*.pt")
    assert record_path.stem == checkpoint.stem and record_path.stem.startswith("seed3-")
    record = json.loads(record_path.read_text())
    assert record["schema"] == 2 and record["run_id"] == record_path.stem and record["name"] == "cnn0"
    assert record["model"] == "cnn0" and record["epochs"] == 1 and record["seed"] == 3
    assert record["data_source"] == "synthetic" and record["image_size"] == 32
    assert record["recipe"]["batch_size"] == 8 and record["recipe"]["epochs"] == 1
    assert record["recipe"]["lr"] == 3e-4 and record["precision"] == "fp32" == record["recipe"]["precision"]
    assert record["train_images"] == 48 and record["test_images"] == 12 == len(record["test_predictions"])
    _, meta = load_model(checkpoint)
    assert meta["run_id"] == record["run_id"] and meta["fingerprint"] == record["fingerprint"]


def test_predict_prints_probabilities_that_sum_to_one(trained, small_root, capsys):
    images = sorted((small_root / "Testing" / "glioma").glob("*.jpg"))[:2]
    checkpoint = _only(trained / "checkpoints" / "cnn0", "*.pt")
    rc = main(["predict", *map(str, images), "--checkpoint", str(checkpoint)])
    lines = capsys.readouterr().out.strip().splitlines()
    assert rc == 0 and len(lines) == 2
    model, meta = load_model(checkpoint)
    transform = eval_transform(v2.Normalize(meta["mean"], meta["std"]))
    for line, image in zip(lines, images):
        path, *fields = line.split("\t")
        assert path == str(image)
        probs = dict(f.split("=") for f in fields)
        assert list(probs) == ["glioma", "meningioma", "notumor", "pituitary"]
        assert sum(map(float, probs.values())) == pytest.approx(1, abs=1e-3)
        with torch.no_grad():
            expected = torch.softmax(model(transform(torch.from_numpy(read_image(image, 32)))[None]), dim=1)[0]
        assert [float(p) for p in probs.values()] == pytest.approx(expected.tolist(), abs=1e-4)


def test_predict_reports_bad_inputs_in_one_line(trained, tmp_path, capsys):
    (tmp_path / "notes.jpg").write_text("not an image")
    rc = main(["predict", str(tmp_path / "missing.jpg"), str(tmp_path / "notes.jpg"),
               "--checkpoint", str(_only(trained / "checkpoints" / "cnn0", "*.pt"))])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 1
    assert err == [f"{tmp_path / 'missing.jpg'}: error: no such file",
                   f"{tmp_path / 'notes.jpg'}: error: not an image file PIL can read"]


def test_training_again_reuses_the_run(trained, small_root, capsys):
    record_path = _only(trained / "results" / "cnn0", "*.json")
    before = record_path.read_bytes(), record_path.stat().st_mtime_ns
    rc = main(["train", "--model", "cnn0", "--epochs", "1", "--image-size", "32", "--batch-size", "8",
               "--precision", "fp32", "--seed", "3", "--data-dir", str(small_root), "--out", str(trained)])
    assert rc == 0
    assert (record_path.read_bytes(), record_path.stat().st_mtime_ns) == before
    assert f"record {record_path}" in capsys.readouterr().out


def test_missing_checkpoint_is_a_one_line_error(tmp_path):
    run = subprocess.run([sys.executable, "-m", "mri_helpers", "predict", "x.jpg", "--checkpoint",
                          str(tmp_path / "none.pt")], capture_output=True, text=True)
    assert run.returncode == 2
    assert run.stderr.strip().startswith("error: No checkpoint at") and len(run.stderr.strip().splitlines()) == 1


def test_bad_data_dir_is_a_one_line_error(tmp_path, capsys):
    assert main(["train", "--model", "cnn0", "--data-dir", str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: data_dir points to") and "is not a folder" in err[0]


@pytest.mark.skipif(torch.cuda.is_available(), reason="fp16 is allowed on a GPU")
def test_fp16_on_the_cpu_is_a_one_line_error(small_root, tmp_path, capsys):
    assert main(["train", "--model", "cnn0", "--precision", "fp16", "--image-size", "32", "--epochs", "1",
                 "--data-dir", str(small_root), "--out", str(tmp_path)]) == 2
    assert capsys.readouterr().err.strip().splitlines()[-1].startswith("error: fp16 needs a GPU")
    assert not (tmp_path / "checkpoints").exists()


def test_train_several_seeds_makes_one_run_each_on_the_same_test_half(tmp_path, small_root):
    rc = main(["train", "--model", "cnn0", "--epochs", "1", "--image-size", "32", "--batch-size", "8",
               "--precision", "fp32", "--seed", "5", "6", "--data-dir", str(small_root), "--out", str(tmp_path)])
    assert rc == 0
    records = [json.loads(p.read_text()) for p in sorted((tmp_path / "results" / "cnn0").glob("*.json"))]
    assert sorted(r["seed"] for r in records) == [5, 6]
    assert records[0]["test_indices"] == records[1]["test_indices"]
    assert records[0]["run_id"] != records[1]["run_id"]


def test_train_and_predict_any_variant_by_name(small_root, tmp_path, monkeypatch, capsys):
    from mri_helpers import sources

    rc = main(["train", "--model", "bestnet_constant_lr", "--epochs", "1", "--image-size", "32", "--batch-size", "8",
               "--precision", "fp32", "--data-dir", str(small_root), "--out", str(tmp_path)])
    assert rc == 0
    record = json.loads(_only(tmp_path / "results" / "bestnet_constant_lr", "*.json").read_text())
    assert record["name"] == "bestnet_constant_lr" and record["model"] == "bestnet"
    assert "one_cycle" not in record["recipe"] and record["recipe"]["weight_decay"] == 5e-4  # BestNet's, minus the schedule
    assert "bestnet without the one-cycle schedule" in capsys.readouterr().out

    monkeypatch.setattr(sources, "REPO_ROOT", tmp_path)  # predict --model looks for checkpoints/<name>/ in the clone
    image = str(sorted((small_root / "Testing" / "glioma").glob("*.jpg"))[0])
    assert main(["predict", image, "--model", "bestnet_constant_lr"]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith(image + "\tglioma=") and f"using bestnet_constant_lr run {record['run_id']}" in captured.err
    assert main(["predict", image, "--model", "bestnet_robust"]) == 2
    assert "No checkpoint of bestnet_robust here" in capsys.readouterr().err
