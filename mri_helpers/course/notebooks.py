"""Run the course notebooks headless with papermill, and keep what is committed clean.

``make run-all`` calls :func:`run_all`. Each notebook is executed into a temporary file
beside its destination; only when it succeeds is it cleaned (papermill's metadata, widget
state and execution timings removed with nbstripout, outputs and counts kept) and moved
into place. A failing notebook therefore leaves the committed notebook, and the figures
it would have written, as they were. Only a full run on the real data replaces the
committed notebooks; a quick or synthetic pass writes its executed copies to
``scratch/<source>[-quick]/notebooks/``.

Kernels are started with IPC (Unix socket) transport rather than TCP: they only ever talk
to this process, and ipykernel warns on every start that TCP is unencrypted.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import nbformat

from .files import atomic_path

EXTRA_KEYS = [
    "metadata.papermill",
    "metadata.widgets",
    "metadata.language_info.version",
    "cell.metadata.papermill",
    "cell.metadata.execution",
    "cell.metadata.collapsed",
    "cell.metadata.scrolled",
]


def clean(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Strip run-specific metadata but keep outputs and execution counts."""
    from nbstripout import strip_output

    return strip_output(nb, keep_output=True, keep_count=True, keep_id=True, extra_keys=EXTRA_KEYS)


def local_kernel_manager():
    from jupyter_client.manager import KernelManager

    class LocalKernelManager(KernelManager):
        """A kernel manager whose kernels listen on Unix sockets, not TCP ports."""

        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            if os.name == "posix":
                self.transport = "ipc"

    return LocalKernelManager


def run_notebook(path: Path, kernel: str, timeout: int, dest: Path | None = None) -> float:
    """Execute one notebook in its own folder into ``dest`` (default: over itself), only on success. Returns seconds."""
    import papermill

    start = time.perf_counter()
    with atomic_path(dest or path) as tmp:
        papermill.execute_notebook(
            str(path), str(tmp), kernel_name=kernel, cwd=str(path.parent),
            execution_timeout=timeout, progress_bar=False, report_mode=False,
            kernel_manager_class=local_kernel_manager(),
        )
        nb = clean(nbformat.read(tmp, as_version=4))
        nbformat.write(nb, tmp)
    return time.perf_counter() - start


def run_all(paths: list[str], kernel: str, timeout: int) -> int:
    """Run notebooks in order, print the data used and the time each took; stop at a failure."""
    from ..sources import REPO_ROOT, banner, resolve_data_dir, source_of
    from .files import output_dirs, write_json

    if os.environ.get("MRI_DATA_DIR"):  # kernels run inside notebooks/, so a relative path would break
        os.environ["MRI_DATA_DIR"] = str(Path(os.environ["MRI_DATA_DIR"]).expanduser().resolve())
    root = resolve_data_dir()
    source, quick = source_of(root), os.environ.get("MRI_QUICK") == "1"
    print(banner(source, root) + (" Quick pass (MRI_QUICK=1)." if quick else ""), flush=True)
    out = output_dirs(source, quick)
    if out.notebooks != Path(paths[0]).resolve().parent:
        print(f"executed notebooks go to {os.path.relpath(out.notebooks, REPO_ROOT)}/; "
              "the committed ones are left as they are", flush=True)
    total, seconds_by_notebook = 0.0, {}
    for name in paths:
        print(f"running {name} ...", end=" ", flush=True)
        try:
            seconds = run_notebook(Path(name), kernel, timeout, dest=out.notebooks / Path(name).name)
        except Exception as err:  # papermill raises PapermillExecutionError with the cell's error
            print(f"FAILED\n{type(err).__name__}: {str(err).strip().splitlines()[-1] if str(err).strip() else ''}")
            print(f"{name} and its figures were left as they were.")
            return 1
        total += seconds
        seconds_by_notebook[Path(name).stem] = round(seconds, 1)
        print(f"{seconds:.0f} s", flush=True)
    print(f"all {len(paths)} notebooks ran in {total / 60:.1f} min")
    # merge, so running a few notebooks updates their times and keeps the others'
    path = out.results / "notebook_times.json"
    earlier = json.loads(path.read_text())["seconds"] if path.exists() else {}
    timings = {"data_source": source, "quick": quick, "seconds": dict(sorted({**earlier, **seconds_by_notebook}.items()))}
    write_json(path, timings)
    return 0
