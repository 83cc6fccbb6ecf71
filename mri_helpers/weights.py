"""Pretrained weights shipped with the course, for the runs a laptop cannot afford.

CNN3 trains for an hour or more on a 2-core CPU. ``weights/`` holds the seed-42 weights of
the runs the course reports, in half precision (half the bytes; the predictions barely
move), and ``weights/manifest.json`` says for each: the run it comes from (its record in
``results/``), the data it was trained on, and the file's sha256. Loading checks the sha256
before ``torch.load(..., weights_only=True)`` reads a byte, and says in one line which
weights it loaded.

The weights were trained on the course's 224-px copy of the Kaggle dataset (version 1),
which is darker and lower in contrast than Kaggle's own files: on a Kaggle download, or on
anyone's own scans, expect lower accuracy than the record says.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import torch
from torch import nn

from .models import build_model
from .sources import REPO_ROOT
from .training import load_checkpoint

WEIGHTS = REPO_ROOT / "weights"
TRAINED_ON = ("the course's 224-px copy of the Kaggle Brain Tumor MRI Dataset, version 1 (5,708 training "
              "images; darker and lower in contrast than Kaggle's files)")
META_KEYS = ("model", "model_options", "classes", "image_size", "source", "mean", "std", "recipe", "run_id")


def sha256(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_manifest(folder: str | os.PathLike = WEIGHTS) -> dict:
    path = Path(folder) / "manifest.json"
    return json.loads(path.read_text()) if path.exists() else {}


def export(checkpoint: str | os.PathLike, name: str, record: dict, folder: str | os.PathLike = WEIGHTS) -> dict:
    """Write a checkpoint's weights in half precision as ``<folder>/<name>.pt`` and its manifest
    entry; return the entry. Only the run ``record`` describes may be shipped under its name."""
    state = load_checkpoint(checkpoint)
    meta = state["meta"]
    if meta["run_id"] != record["run_id"]:
        raise ValueError(f"{checkpoint} is run {meta['run_id']}, not the record's {record['run_id']}")
    half = {k: v.half() if v.is_floating_point() else v for k, v in state["model_state"].items()}
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.pt"
    torch.save({"model_state": half, "meta": {k: meta[k] for k in META_KEYS if k in meta}}, path)
    entry = {"file": path.name, "name": record["name"], "run_id": record["run_id"], "seed": record["seed"],
             "record": f"results/{record['name']}/{record['run_id']}.json", "dtype": "float16",
             "bytes": path.stat().st_size, "sha256": sha256(path), "trained_on": TRAINED_ON,
             "test_accuracy": record["test_accuracy"]}
    manifest = read_manifest(folder)
    manifest[name] = entry
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return entry


def load_shipped(name: str, folder: str | os.PathLike = WEIGHTS, device: str | torch.device = "cpu",
                 quiet: bool = False) -> tuple[nn.Module, dict]:
    """The shipped model ``name`` in float32 and evaluation mode, and its ``meta``, after checking its sha256."""
    entry = read_manifest(folder).get(name)
    if entry is None:
        raise FileNotFoundError(f"No shipped weights named '{name}' in {Path(folder).name}/manifest.json.")
    path = Path(folder) / entry["file"]
    if not path.is_file():
        raise FileNotFoundError(f"The manifest lists {entry['file']} but {Path(folder).name}/ lacks it: "
                                "check out the repository again (git lfs is not used).")
    if sha256(path) != entry["sha256"]:
        raise ValueError(f"{entry['file']} does not match its sha256 in the manifest: the file is damaged or "
                         "was replaced; restore it with git checkout.")
    state = torch.load(path, map_location="cpu", weights_only=True)
    meta = state["meta"]
    model = build_model(meta["model"], num_classes=len(meta["classes"]), image_size=meta["image_size"],
                        **meta.get("model_options", {}))
    model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state["model_state"].items()})
    if not quiet:
        print(f"loaded the shipped {name} weights: run {entry['run_id']} (seed {entry['seed']}, float16, sha256 "
              f"checked), trained on the course's 224-px copy of the Kaggle data")
    return model.to(device).eval(), meta
