"""``python -m mri_helpers``: the command line (:mod:`mri_helpers.course.cli`)."""

import sys

from mri_helpers.course.cli import main

if __name__ == "__main__":
    sys.exit(main())
