"""Checkers for the notebooks' exercises: each prints ✓ or a hint, and never the answer.

An exercise in a notebook is a cell tagged ``solution`` followed by a cell that calls a
checker. The instructor edition holds the solution; ``make student`` turns it into a stub:
a function or method keeps its signature and docstring and raises ``NotImplementedError``
with its task, and any other answer becomes ``None``. A checker works the right answer out
itself, from the library's own model, function or data (or Captum, torchvision, scipy),
on data of its own, compares, and says ✓ or gives a hint. It returns whether the answer
was right. A stub, a missing answer or an error in the student's code gets a one-line hint.

One module per topic: ``counting`` (parameters, receptive fields, shapes), ``convolution``
(02), ``models`` and ``training`` (the CNNs and the loop a student writes, 03-05),
``dropout`` (06), ``inside`` (07-08), ``leakage`` (09), ``bestnet`` (10), ``gradcam`` (11),
``statistics`` and ``stats_lessons`` (04, 12, 14), ``robustness`` (13), ``data`` (01).

In the instructor edition every solution must pass: with ``MRI_EXERCISES_STRICT=1`` (set
by ``make test``) a wrong answer raises, so CI catches a solution that went stale.
"""

from .convolution import check_conv_pixel, check_learn_kernel, check_pool_window
from .counting import check_output_shape, check_parameter_count, check_receptive_field, receptive_field
from .dropout import check_dropout_scale
from .statistics import check_discordant, check_twin_count, check_wilson
from .verdict import ExerciseError

__all__ = ["ExerciseError", "check_conv_pixel", "check_discordant", "check_dropout_scale", "check_learn_kernel",
           "check_output_shape", "check_parameter_count", "check_pool_window", "check_receptive_field", "check_twin_count",
           "check_wilson", "receptive_field"]
