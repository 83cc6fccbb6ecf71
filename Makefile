# Brain-tumour MRI course. `make help` lists the targets.
#   make run-all   run every notebook headless (papermill), regenerate figures and results
#   make test      unit tests, the notebooks under nbval (quick mode), the student edition, then the website

SHELL  := /bin/bash
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
KERNEL := mri-course
STAMP  := $(VENV)/.installed-$(shell cat requirements.txt requirements.lock pyproject.toml | sha1sum | cut -c1-12)
NOTEBOOKS := $(sort $(wildcard notebooks/[0-9][0-9]_*.ipynb))
QUICK  ?= 0
SEEDS  ?= 42
TIMEOUT ?= 7200
# torch 2.14.1 + torchvision 0.29.2 come from PyPI; some machines cap torch with a pip
# constraints file, which an empty constraint file overrides for this install only.
PIP := PIP_CONSTRAINT=/dev/null $(VENV)/bin/pip --disable-pip-version-check
# uv installs the pinned set in requirements.lock (`make lock` re-pins it from requirements.txt).
# uv reads no pip config; unsetting its constraint variables and uv.toml files keeps caps off the pins.
UV_VERSION := 0.13.9
UV  := env -u UV_CONSTRAINT -u UV_OVERRIDE -u UV_BUILD_CONSTRAINT $(VENV)/bin/uv --no-config


.PHONY: help setup lab data run-all test test-slow test-student test-book book bench laptop-path ablation robustness reproduce student slides train predict clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-11s %s\n", $$1, $$2}'

setup: $(STAMP)  ## create .venv, install requirements and the package, register the Jupyter kernel

$(STAMP): requirements.txt requirements.lock pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q uv==$(UV_VERSION)
	$(UV) pip sync -q --python $(PY) requirements.lock
	$(UV) pip install -q --python $(PY) --no-deps -e .
	$(PY) -m ipykernel install --sys-prefix --name $(KERNEL) --display-name "Python (MRI course)" >/dev/null
	@rm -f $(VENV)/.installed-*
	@touch $@

.PHONY: lock
lock:  ## re-pin requirements.lock from requirements.txt for Python 3.10+ (UPGRADE=1: newest versions)
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q uv==$(UV_VERSION)
	$(UV) pip compile -q requirements.txt --universal --python-version 3.10 $(if $(UPGRADE),--upgrade) \
		--custom-compile-command "make lock" -o requirements.lock

lab: setup  ## open JupyterLab on the notebooks
	$(VENV)/bin/jupyter lab notebooks/

data: setup  ## download the real Kaggle dataset (version 1) into data/brain-tumor-mri/
	$(PY) -m mri_helpers download

run-all: setup  ## run every notebook in order (QUICK=1 for a fast pass)
	MRI_QUICK=$(QUICK) $(PY) -m mri_helpers run-notebooks --kernel $(KERNEL) --timeout $(TIMEOUT) $(NOTEBOOKS)
	$(PY) -m mri_helpers readme

test: setup  ## lint, unit tests, every notebook under nbval in quick mode, the student edition (test-student), the website (test-book)
	$(VENV)/bin/ruff check mri_helpers benchmarks tests
	$(VENV)/bin/nbqa ruff $(NOTEBOOKS)
	$(PY) -m pytest -q -m "not slow and not student and not book" tests
	MRI_QUICK=1 MRI_EXERCISES_STRICT=1 $(PY) -m pytest -q --nbval-lax --nbval-current-env --nbval-sanitize-with notebooks/nbval_sanitize.cfg $(NOTEBOOKS)
	$(MAKE) --no-print-directory test-student
	$(MAKE) --no-print-directory test-book

test-student: setup  ## run the student edition of every notebook: no cell fails, every checker prints a hint
	$(PY) -m pytest -q -m student tests

book: setup  ## build the course website (Jupyter Book) from the committed notebooks into scratch/book/_build/html/
	$(PY) -c "from mri_helpers.course.book import build; print('the site:', build())"

test-book: setup  ## build the website and open every page in headless Chromium (Debian's chromium; .ci/run installs it)
	$(PY) -m pytest -q -m book tests

test-slow: setup  ## the tests marked slow (they run whole course notebooks in kernels)
	$(PY) -m pytest -q -m slow tests

bench: setup  ## measure the data pipeline, training throughput and torch.compile against eager (writes benchmarks/results/*.json)
	$(PY) benchmarks/data_pipeline.py
	$(PY) benchmarks/train_throughput.py
	$(PY) benchmarks/augmentation.py
	$(PY) benchmarks/compile_step.py
	$(PY) -m mri_helpers readme

ABLATIONS := bestnet_no_batch_norm bestnet_constant_lr
ablation: setup  ## retrain BestNet without each lever in turn, for notebook 10 (SEEDS="42 43 44"; a BestNet training each)
	for name in $(ABLATIONS); do $(PY) -m mri_helpers train --model $$name --seed $(SEEDS) || exit 1; done

student: setup  ## write the student edition (solutions replaced by stubs, no outputs) to scratch/student/
	$(PY) -m mri_helpers student $(NOTEBOOKS) --dest scratch/student

REVEAL ?=
slides: setup  ## turn each notebook into a reveal.js deck in scratch/slides/ (REVEAL=url of a local reveal.js)
	$(PY) -m mri_helpers slides $(NOTEBOOKS) --dest scratch/slides $(if $(REVEAL),--reveal-url-prefix $(REVEAL))

robustness: setup  ## train both robust BestNets (3 seeds each), then score every trained run under scan shifts
	$(PY) -m mri_helpers robustness

ALL_SEEDS := 42 43 44
laptop-path: setup  ## time the whole course as a student runs it on this CPU: CNN0-CNN2 trained, the rest from weights/ (about an hour)
	$(PY) benchmarks/laptop_path.py

reproduce: setup  ## retrain every reported run on 3 seeds, ablations, robustness, benchmarks, then run-all (hours on a CPU)
	for model in cnn0 cnn1 cnn2 cnn3 bestnet; do $(PY) -m mri_helpers train --model $$model --seed $(ALL_SEEDS) || exit 1; done
	$(MAKE) ablation SEEDS="$(ALL_SEEDS)"
	$(PY) -m mri_helpers robustness --seed $(ALL_SEEDS)
	$(MAKE) bench run-all

MODEL ?= cnn2
EPOCHS ?=
train: setup  ## train a model or variant (recipes.VARIANTS): make train MODEL=cnn2 [SEEDS="42 43 44"] [EPOCHS=10]
	$(PY) -m mri_helpers train --model $(MODEL) --seed $(SEEDS) $(if $(EPOCHS),--epochs $(EPOCHS))

predict: setup  ## print class probabilities: make predict IMAGES="a.jpg b.jpg" [MODEL=bestnet_robust_detail | CHECKPOINT=f.pt]
	$(PY) -m mri_helpers predict $(IMAGES) $(if $(CHECKPOINT),--checkpoint $(CHECKPOINT),--model $(MODEL))

clean:  ## remove the venv, caches, checkpoints and scratch outputs (keeps data/ downloads)
	rm -rf $(VENV) data/cache data/synthetic scratch checkpoints .pytest_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
