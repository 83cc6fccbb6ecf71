"""Helpers for the brain-tumour MRI course.

The notebooks stay short because the work lives here, in small modules named for what
they hold: ``data`` (finding, checking and caching images), ``synthetic`` (the embedded
phantom dataset), ``models`` (CNN0-CNN3), ``training`` (the trainer), ``metrics``
(reports and results JSON), ``hooks`` (looking inside a network), ``plots`` (every
figure) and ``widgets`` (interactive explorers).
"""

__version__ = "0.1.0"
