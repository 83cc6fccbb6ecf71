"""The course's own machinery, apart from the lesson code a student reads.

* :mod:`lesson`: ``setup()``, the one call at the top of every notebook, and its :class:`Course`;
* :mod:`runs`: a run's fingerprint, its checkpoint and its write-once record;
* :mod:`records` and :mod:`tables`: comparisons and tables computed from the records, the README's tables;
* :mod:`robustness`: the robustness study and its tables;
* :mod:`precision`: which number format this hardware trains fastest in;
* :mod:`files`: where outputs go, written atomically;
* :mod:`notebooks` and :mod:`editions`: running the notebooks, the student edition and the slides;
* :mod:`cli`: ``python -m mri_helpers``.

Nothing in the student layer (``mri_helpers.models``, ``training``, ``transforms``, ...)
imports from here.
"""

from .lesson import Course, setup

__all__ = ["Course", "setup"]
