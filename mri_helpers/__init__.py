"""Helpers for the brain-tumour MRI course.

The lesson code, one module per idea, what the notebooks teach:

* ``models``: CNN0-CNN3 and BestNet; ``recipes``: how each is trained, and the named variants;
* ``training``: the training loop (:class:`~mri_helpers.training.Trainer`);
* ``transforms``: augmentation, one function per operation; ``shifts``: the same operations as test shifts;
* ``datasets``, ``cache``, ``sources``, ``synthetic``: the data, decoded once, and the phantoms;
* ``metrics``, ``stats``: evaluation, intervals and paired tests; ``clinical``: AUC, sensitivity, calibration;
* ``dropout``, ``hooks``, ``gradcam``, ``leakage``: the lessons of notebooks 06, 08, 11 and 09
  (notebook 02's convolution needs only torch);
* ``plots``, ``widgets``, ``exercises``: figures, interactive explorers and the exercises' checkers.

:mod:`mri_helpers.course` holds the course's own machinery (runs and their records, tables,
the robustness study, editions, the command line). The names a notebook needs can be
imported from here: ``from mri_helpers import setup, plots``.
"""

from importlib import import_module

__version__ = "0.1.0"

# module -> the names a notebook imports from the package root; imported on first use, so that
# importing one module does not import them all
_EXPORTS = {
    "models": ["Standardize", "build_model", "format_shape_table", "layer_parameters", "macs", "shape_table"],
    "recipes": ["RECIPES", "VARIANTS", "Recipe", "variants"],
    "training": ["Trainer", "steepest_fall"],
    "transforms": ["Augment", "Prepare", "blur", "downsample", "unnormalize"],
    "shifts": ["COMMON_SIZE", "HELD_OUT", "SEEN", "held_out_shifts", "inside_training", "on_pixels",
               "shifted_accuracy", "trained_ranges"],
    "datasets": ["make_loaders"],
    "sources": ["census"],
    "cache": ["tinted"],
    "metrics": ["predict"],
    "stats": ["accuracy_interval", "format_accuracy", "holm", "mcnemar", "wilson_interval"],
    "clinical": ["fit_temperature", "reliability_diagram", "scale"],
    "dropout": ["dropout_sums"],
    "hooks": ["capture", "conv_filters"],
    "gradcam": ["blank_border", "border_sensitivity", "colour_sensitivity", "examples"],  # gradcam() itself: mri_helpers.gradcam
    "plots": ["save_figure"],
    "widgets": ["DropoutExplorer", "FeatureMapBrowser", "GradCamExplorer", "PredictionBrowser"],
    "exercises": ["check_conv_pixel", "check_discordant", "check_dropout_scale", "check_learn_kernel",
                  "check_output_shape", "check_parameter_count", "check_pool_window", "check_receptive_field",
                  "check_twin_count", "check_wilson"],
    "course.lesson": ["reader", "setup"],
    "course.runs": ["describe"],
    "course.records": ["compare_seeds", "describe_comparison", "paired"],
    "course.tables": ["COMPARISON_COLUMNS", "benchmark", "clinical_table", "comparison_rows", "comparison_table",
                      "deduplicated_accuracy", "format_twin_breakdown", "reweighted_accuracy", "twin_breakdown",
                      "twins"],
    "course.robustness": ["CANDIDATES", "CHOICE_RULE", "held_out_table", "load_held_out", "load_scores", "make_choice",
                          "robustness_report", "score_held_out", "severity_curves", "shift_comparison",
                          "shift_test_lines"],
    "course.held_out": ["held_out_comparison"],
}
_HOME = {name: module for module, names in _EXPORTS.items() for name in names}


def __getattr__(name: str):
    if name in _HOME:
        return getattr(import_module(f".{_HOME[name]}", __name__), name)
    raise AttributeError(f"module 'mri_helpers' has no attribute '{name}'")
