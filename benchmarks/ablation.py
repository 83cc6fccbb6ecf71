"""Ablation for notebook 09: what does each of BestNet's levers buy?

    MRI_DATA_DIR=../shared/brain-tumor-mri python benchmarks/ablation.py

Trains BestNet again with one lever removed at a time (same seed, data, epochs and
everything else) and writes ``results/ablations/bestnet_<variant>.json``, with the
de-duplicated test score when notebook 08's ``results/leakage.json`` exists. Notebook 09
prints them beside BestNet's own row. Each run takes about as long as BestNet itself
(some 11 minutes on a 2-core CPU); interrupted runs resume from
``checkpoints/ablations/``. Runs on the synthetic phantoms go to ``scratch/``.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace

from mri_helpers import leakage
from mri_helpers.data import banner, load_datasets
from mri_helpers.files import OutputDirs, output_dirs
from mri_helpers.models import BestNet
from mri_helpers.training import RECIPES, train_and_evaluate

RECIPE = RECIPES["bestnet"]
VARIANTS = {
    # name: (what is removed, architecture, recipe)
    "no_batch_norm": ("batch normalisation (convolutions get their bias back)", lambda: BestNet(batch_norm=False), RECIPE),
    "constant_lr": ("the one-cycle schedule (a constant learning rate of 3e-3)", BestNet, replace(RECIPE, one_cycle=False)),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", nargs="+", choices=sorted(VARIANTS), default=list(VARIANTS))
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()

    data = load_datasets(image_size=RECIPE.image_size, seed=args.seed)
    print(banner(data.source, data.root))
    base = output_dirs(data.source, quick=False)
    out = OutputDirs(base.figures, base.results / "ablations", base.checkpoints / "ablations")
    audit = base.results / "leakage.json"
    for variant in args.variants:
        removed, make_model, recipe = VARIANTS[variant]
        name = f"bestnet_{variant}"
        print(f"{name}: BestNet without {removed}", flush=True)
        _, _, record = train_and_evaluate(name, data, out, seed=args.seed, recipe=recipe, make_model=make_model)
        if audit.exists():
            record = leakage.add_deduplicated_score(out.results, name, json.loads(audit.read_text())["test_with_twin"])
        print(f"{name}: test accuracy {record['test_accuracy']:.3f} after {record['epochs']} epochs "
              f"({record['train_seconds'] / 60:.1f} min)", flush=True)


if __name__ == "__main__":
    main()
