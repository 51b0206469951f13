"""Start-up benchmark: how long whole ``odibi`` processes take, wall clock.

Usage::

    .venv/bin/python benchmarks/startup.py [--repeat N] [--no-first-run] [--check]

Times ``odibi --help``, ``odibi validate`` and ``odibi run`` on the quickstart (on a copy in a
temp dir, so the repo is untouched) as separate processes, next to two in-run baselines: a bare
interpreter (``python -c pass``) and the heavy-imports floor (pandas, pyarrow, deltalake,
duckdb). Machines are noisy, so each median is also given as a ratio to the bare interpreter and
minus the floor. Prints one JSON object (milliseconds) to stdout; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
QUICKSTART = REPO / "examples" / "quickstart"
CONFIG = "examples/quickstart/odibi.yaml"  # relative to the (temp) working directory
HEAVY_IMPORTS = "import pandas, pyarrow, deltalake, duckdb"
HELP_TARGET_MS = 300
RUN_TARGET_MS = 600
# What a run leaves behind; never copied, so every copy starts as a first run.
GENERATED = ("output", ".odibi", "_odibi_system", "__pycache__")


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _odibi_script() -> Path:
    """The ``odibi`` console script installed next to this interpreter."""
    bindir = Path(sys.executable).parent  # not resolved: a venv's python may be a symlink
    for name in ("odibi", "odibi.exe"):
        if (bindir / name).exists():
            return bindir / name
    sys.exit(f"startup.py: no odibi console script next to {sys.executable}; install odibi")


def _copy_quickstart(workdir: Path) -> Path:
    """Copy the quickstart's sources under ``workdir/examples/quickstart``; return ``workdir``."""
    shutil.copytree(
        QUICKSTART, workdir / "examples" / "quickstart", ignore=shutil.ignore_patterns(*GENERATED)
    )
    return workdir


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("ODIBI_VERBOSE", None)  # debug logging would distort the timings
    return env


def _run(cmd: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(cmd, cwd=cwd, env=_env(), capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.exit(
            f"startup.py: {' '.join(cmd)} exited {proc.returncode} in {cwd}\n{proc.stderr[-2000:]}"
        )
    return proc


def _time(
    label: str, cmd: list[str], repeat: int, cwd: Callable[[], Path], *, warm_up: bool = True
) -> list[float]:
    """Wall-clock milliseconds of ``repeat`` runs of ``cmd``; ``cwd()`` is called before each."""
    _progress(f"timing {label} ({repeat}x)")
    if warm_up:  # fill the OS file cache and __pycache__ so every timed run sees the same state
        _run(cmd, cwd())
    samples = []
    for _ in range(repeat):
        where = cwd()
        start = time.perf_counter()
        _run(cmd, where)
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def _stats(samples: list[float]) -> dict[str, float]:
    return {
        "median_ms": round(statistics.median(samples), 1),
        "min_ms": round(min(samples), 1),
        "max_ms": round(max(samples), 1),
    }


def _importtime(cmd: list[str], cwd: Path, top: int = 10) -> dict[str, list[dict[str, Any]]]:
    """The slowest imports of ``cmd`` by ``python -X importtime``: cumulative and self."""
    proc = _run([sys.executable, "-X", "importtime", *cmd], cwd)
    rows = []
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, cumulative_us, module = line.removeprefix("import time:").split("|", 2)
        rows.append((module.strip(), int(self_us) / 1000, int(cumulative_us) / 1000))

    def ranked(key: int) -> list[dict[str, Any]]:
        best = sorted(rows, key=lambda row: row[key], reverse=True)[:top]
        return [{"module": row[0], "ms": round(row[key], 1)} for row in best]

    return {"cumulative": ranked(2), "self": ranked(1)}


def versus(revision: str, repeat: int, tmpdir: Path) -> dict[str, Any]:
    """``odibi run`` of the quickstart and of the 50-node pipeline of ``telemetry.py``, this
    tree against ``src/`` as of ``revision``, in interleaved pairs (steady state: each warmed
    up once). A ratio above 1 means this tree is slower."""
    sys.path.insert(0, str(Path(__file__).parent))
    from quality import export_src
    from telemetry import make_project

    (tmpdir / "baseline").mkdir()
    old_src = export_src(revision, tmpdir / "baseline")
    entry = "from odibi_core.cli.main import entry; entry()"
    projects = {
        "run_quickstart": (_copy_quickstart(tmpdir / "versus-quickstart"), CONFIG),
        "run_fifty": (make_project(tmpdir / "versus-fifty", 50).parent, "odibi.yaml"),
    }
    found: dict[str, Any] = {}
    for label, (cwd, config) in projects.items():
        ours = [sys.executable, "-c", entry, "run", config]
        env_old = {**_env(), "PYTHONPATH": str(old_src)}
        env_new = {**_env(), "PYTHONPATH": str(REPO / "src")}
        times: dict[str, list[float]] = {"ours": [], "baseline": []}
        _progress(f"timing {label} against {revision} ({repeat} pairs)")
        for env in (env_new, env_old):  # warm-up of each
            subprocess.run(ours, cwd=cwd, env=env, capture_output=True, check=True)
        for i in range(repeat):
            pair = [("ours", env_new), ("baseline", env_old)]
            for name, env in pair if i % 2 == 0 else pair[::-1]:
                start = time.perf_counter()
                subprocess.run(ours, cwd=cwd, env=env, capture_output=True, check=True)
                times[name].append((time.perf_counter() - start) * 1000)
        found[label] = {
            "ours": _stats(times["ours"]),
            "baseline": _stats(times["baseline"]),
            "ratio_ours_to_baseline": round(
                statistics.median(times["ours"]) / statistics.median(times["baseline"]), 3
            ),
        }
    return {"revision": revision, **found}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=10, metavar="N", help="runs per command")
    parser.add_argument(
        "--no-first-run", action="store_true", help="skip timing runs on a fresh copy"
    )
    parser.add_argument(
        "--check", action="store_true", help="exit 1 when a median misses its target"
    )
    parser.add_argument(
        "--baseline",
        metavar="REV",
        help="also time odibi run (quickstart, 50 nodes) against src/ as of this revision",
    )
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")

    odibi = str(_odibi_script())
    python = sys.executable
    with tempfile.TemporaryDirectory(prefix="odibi-bench-") as tmp:
        tmpdir = Path(tmp)
        steady = _copy_quickstart(tmpdir / "steady")
        fresh_copies = itertools.count()

        def fresh() -> Path:
            return _copy_quickstart(tmpdir / f"fresh-{next(fresh_copies)}")

        commands: dict[str, tuple[list[str], Callable[[], Path]]] = {
            "bare_python": ([python, "-c", "pass"], lambda: steady),
            "heavy_imports": ([python, "-c", HEAVY_IMPORTS], lambda: steady),
            "help": ([odibi, "--help"], lambda: steady),
            "validate": ([odibi, "validate", CONFIG], lambda: steady),
            # the warm-up run creates the catalog, so timed runs are steady state
            "run": ([odibi, "run", CONFIG], lambda: steady),
        }
        if not args.no_first_run:
            commands["run_first"] = ([odibi, "run", CONFIG], fresh)

        samples = {
            label: _time(label, cmd, args.repeat, cwd) for label, (cmd, cwd) in commands.items()
        }
        _progress("profiling imports of odibi --help")
        imports = _importtime([odibi, "--help"], steady)
        against = versus(args.baseline, args.repeat, tmpdir) if args.baseline else None

    bare = statistics.median(samples["bare_python"])
    floor = statistics.median(samples["heavy_imports"])
    figures: dict[str, dict[str, Any]] = {}
    for label, (cmd, _) in commands.items():
        median = statistics.median(samples[label])
        shown = ["odibi" if part == odibi else part for part in cmd]
        figures[label] = {
            "command": shlex.join(["python" if part == python else part for part in shown]),
            **_stats(samples[label]),
            "ratio_to_bare": round(median / bare, 2),
            "minus_heavy_floor_ms": round(median - floor, 1),
        }
    if "run_first" in figures:
        figures["run_first"]["note"] = "each run on a fresh copy of the quickstart"

    help_ms = figures["help"]["median_ms"]
    run_ms = figures["run"]["median_ms"]
    report = {
        "benchmark": "startup",
        "unit": "ms",
        "repeat": args.repeat,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "baseline": {key: figures.pop(key) for key in ("bare_python", "heavy_imports")},
        "commands": figures,
        "help_target_ms": HELP_TARGET_MS,
        "run_target_ms": RUN_TARGET_MS,
        "help_pass": help_ms <= HELP_TARGET_MS,
        "run_pass": run_ms <= RUN_TARGET_MS,
        "importtime_help_top_cumulative": imports["cumulative"],
        "importtime_help_top_self": imports["self"],
    }
    if against is not None:
        report["versus_baseline"] = against
    print(json.dumps(report, indent=2))
    missed = not (report["help_pass"] and report["run_pass"])
    return 1 if args.check and missed else 0


if __name__ == "__main__":
    sys.exit(main())
