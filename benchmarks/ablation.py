"""Ablation for notebook 09: what does each of BestNet's levers buy?

    MRI_DATA_DIR=../shared/brain-tumor-mri python benchmarks/ablation.py [--seed 42 43 44]

Trains BestNet again with one lever removed at a time (``training.ABLATIONS``: same seed,
data, epochs and everything else) and files each as a run under
``results/ablations/<name>/<run-id>.json``. Notebook 09 prints them beside BestNet's own
row, with a paired test against BestNet. Each run takes about as long as BestNet itself
(9 to 18 minutes on this project's 2-core Xeon; 26 on the EPYC); a cause needs several seeds, so ``--seed``
takes several. Interrupted runs resume from
``checkpoints/ablations/``. Runs on the synthetic phantoms go to ``scratch/``.
"""

from __future__ import annotations

import argparse

from mri_helpers.datasets import load_datasets
from mri_helpers.files import OutputDirs, output_dirs
from mri_helpers.runs import describe, train_and_evaluate
from mri_helpers.sources import banner
from mri_helpers.training import ABLATIONS, RECIPES


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", nargs="+", choices=sorted(ABLATIONS), default=list(ABLATIONS))
    parser.add_argument("--seed", type=int, nargs="+", default=[42])
    args = parser.parse_args()

    data = load_datasets(image_size=RECIPES["bestnet"].image_size)
    print(banner(data.source, data.root))
    base = output_dirs(data.source, quick=False)
    out = OutputDirs(base.figures, base.results / "ablations", base.checkpoints / "ablations", base.notebooks)
    for name in args.variants:
        removed, model, options, recipe = ABLATIONS[name]
        for seed in args.seed:
            print(f"{name}: BestNet without {removed}, seed {seed}", flush=True)
            result = train_and_evaluate(name, data, out, recipe, seed=seed, model=model, options=options)
            print(describe(result), flush=True)


if __name__ == "__main__":
    main()
