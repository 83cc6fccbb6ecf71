"""Wall-clock time of `make setup` on a fresh clone, with a cold and then a warm package cache.

    python benchmarks/setup_time.py [--rev HEAD] [--overlay Makefile requirements.lock] [--label NAME]

Why: the course promises that `make run-all` / `make test` set everything up on a fresh machine, and
that set-up (a ~3 GB CUDA build of torch, which also runs on the CPU) is the first thing a student
waits for. This measures it the way a student meets it, so a change of installer (pip -> uv) or of
requirements can be judged on numbers.

Each phase clones the repository at --rev into a temp folder and runs `make setup` there, with
PIP_CACHE_DIR and UV_CACHE_DIR pointing at one temp cache folder: empty for "cold", kept from the cold
run for "warm" (a fresh clone again, so a new .venv). --overlay copies files from this working tree
into the clones, to measure uncommitted changes. The clones and the cache are deleted afterwards.
Figures depend on the network, on the indexes pip/uv are configured with (pip_config is recorded)
and on what else runs on the machine (the load average before each phase is recorded).
Needs make, git, python3 with venv, ~15 GB of free disk. Updates the entry named --label in
``benchmarks/results/setup_time.json`` and keeps the other entries.
"""

import argparse
import datetime
import json
import os
import platform
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "benchmarks" / "results" / "setup_time.json"


def megabytes(path: Path) -> int:
    if not path.exists():  # e.g. pip's cache stays empty where the index sends no caching headers
        return 0
    return int(subprocess.run(["du", "-sm", str(path)], capture_output=True, text=True).stdout.split()[0])


def installer(makefile: Path) -> str:
    return "uv" if "pip sync" in makefile.read_text() else "pip"


def phase(name: str, rev: str, overlay: list[str], cache: Path, scratch: Path) -> dict:
    clone = scratch / f"clone-{name}"
    subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True)
    subprocess.run(["git", "-C", str(clone), "checkout", "-q", rev], check=True)
    for rel in overlay:
        shutil.copy2(REPO / rel, clone / rel)
    env = dict(os.environ, PIP_CACHE_DIR=str(cache / "pip"), UV_CACHE_DIR=str(cache / "uv"))
    env.pop("VIRTUAL_ENV", None)
    load = os.getloadavg()[0]
    start = time.perf_counter()
    subprocess.run(["make", "-s", "setup"], cwd=clone, env=env, check=True)
    seconds = time.perf_counter() - start
    print(f"{name}: make setup took {seconds:.1f} s", flush=True)
    result = {
        "seconds": round(seconds, 1),
        "venv_mb": megabytes(clone / ".venv"),
        "cache_mb_after": megabytes(cache),
        "load_avg_1min_before": round(load, 2),
        "installer": installer(clone / "Makefile"),
    }
    shutil.rmtree(clone)
    print(f"{name}: {result}", flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rev", default="HEAD", help="commit to clone (default: HEAD)")
    parser.add_argument("--overlay", nargs="*", default=[], help="working-tree files to copy into the clones")
    parser.add_argument("--label", help="entry name in the JSON (default: the installer, pip or uv)")
    parser.add_argument("--note", default="", help="free text stored with the entry")
    args = parser.parse_args()

    rev = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", args.rev],
                         capture_output=True, text=True, check=True).stdout.strip()
    scratch = Path(tempfile.mkdtemp(prefix="setup-time-"))
    try:
        cache = scratch / "cache"
        cold = phase("cold", rev, args.overlay, cache, scratch)
        warm = phase("warm", rev, args.overlay, cache, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    pip_config = subprocess.run(["python3", "-m", "pip", "config", "list"], capture_output=True, text=True).stdout
    entry = {
        "installer": cold["installer"],
        "rev": rev + (f" + working-tree {' '.join(args.overlay)}" if args.overlay else ""),
        "date": datetime.date.today().isoformat(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cold": cold,
        "warm": warm,
        "pip_config": pip_config.splitlines(),
        "note": args.note,
    }
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    results[args.label or entry["installer"]] = entry
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {RESULTS.relative_to(REPO)}")


if __name__ == "__main__":
    main()
