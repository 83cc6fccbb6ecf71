"""Where outputs go, and how they are written so a crash never leaves a half-written file.

Every output the course produces (figures, checkpoints, results JSON, caches, executed
notebooks) is first written next to its destination under a temporary name and then
moved into place with :func:`os.replace`, which is atomic on one file system. A failed or
interrupted run therefore leaves the previous file untouched.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from ..sources import REPO_ROOT


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; move it onto ``path`` only on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp_path, 0o666 & ~umask)  # mkstemp makes private files; give the usual mode
        os.replace(tmp_path, path)
    finally:
        tmp_path.unlink(missing_ok=True)


def write_json(path: str | os.PathLike, data: Any, compact: bool = False) -> Path:
    """Write ``data`` as indented JSON, atomically; ``compact``: on one line, for files of
    hundreds of thousands of numbers (a shift-score file's probabilities), a third of the size."""
    with atomic_path(path) as tmp:
        tmp.write_text((json.dumps(data, separators=(",", ":")) if compact else json.dumps(data, indent=2)) + "\n")
    return Path(path)


@dataclass(frozen=True)
class OutputDirs:
    """Where a run writes its figures, results JSON, checkpoints and executed notebooks."""

    figures: Path
    results: Path
    checkpoints: Path
    notebooks: Path


def output_dirs(source: str, quick: bool) -> OutputDirs:
    """Full runs on real data write the committed ``imgs/``, ``results/`` and notebooks; others write aside.

    A quick pass or a run on the synthetic phantoms must never overwrite the real-data
    figures, numbers and notebooks that the README shows, so those go to
    ``scratch/<source>[-quick]/`` (git-ignored) instead.
    """
    if source == "real" and not quick:
        return OutputDirs(REPO_ROOT / "imgs", REPO_ROOT / "results", REPO_ROOT / "checkpoints", REPO_ROOT / "notebooks")
    base = REPO_ROOT / "scratch" / (source + ("-quick" if quick else ""))
    return OutputDirs(base / "imgs", base / "results", base / "checkpoints", base / "notebooks")
