"""Checkers for the notebooks' exercises: each prints ✓ or a hint, and never the answer.

An exercise in a notebook is a cell tagged ``solution`` that assigns an answer (the
instructor edition has the solution; ``make student`` replaces it with a stub that sets
the answer to ``None``), followed by a cell that calls one of these checkers. A checker
works the right answer out itself, from the course's own code or data, compares, and
says ✓ or gives a hint. It returns whether the answer was right.

In the instructor edition every solution must pass: with ``MRI_EXERCISES_STRICT=1`` (set
by ``make test``) a wrong answer raises, so CI catches a solution that went stale.
"""

from .convolution import check_conv_pixel, check_learn_kernel, check_pool_window
from .counting import (
                       check_output_shape,
                       check_parameter_count,
                       check_receptive_field,
                       receptive_field,
)
from .dropout import check_dropout_scale
from .statistics import check_discordant, check_twin_count, check_wilson
from .verdict import ExerciseError

__all__ = ["ExerciseError", "check_conv_pixel", "check_discordant", "check_dropout_scale", "check_learn_kernel",
           "check_output_shape", "check_parameter_count", "check_pool_window", "check_receptive_field", "check_twin_count",
           "check_wilson", "receptive_field"]
