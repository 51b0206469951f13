"""What pausing garbage collection while ``odibi run`` starts up saves (``cli/startup_gc.py``).

Usage::

    .venv/bin/python benchmarks/startup_gc.py [--repeat N] [--nodes 50]

Times whole ``odibi run`` processes of the telemetry benchmark's pipeline (50 nodes of small
frames, telemetry on), interleaved in pairs: ``main(["run", ...])`` as the console script calls
it (after ``startup_gc.own_process()``), and the same call without that, so nothing is paused.
Every run starts from the same seeded catalog. Also counts, in one run of each, the collections
and the time they took (``gc.callbacks``). Prints one JSON object; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import telemetry as bench  # the sibling benchmark: its project, seeding and statistics

DRIVER = """
import gc, json, os, sys, time
spent, counts, started = [0.0], [0, 0, 0], [0.0]
def watch(phase, info):
    if phase == "start":
        started[0] = time.perf_counter()
    else:
        spent[0] += time.perf_counter() - started[0]
        counts[info["generation"]] += 1
gc.callbacks.append(watch)
if sys.argv[1] == "paused":
    from odibi_core.cli import startup_gc
    startup_gc.own_process()  # what the console script does
from odibi_core.cli.main import main
code = main(["run", sys.argv[2]])
print(json.dumps({"gc_ms": round(spent[0] * 1000, 1), "collections": counts}), file=sys.stderr)
sys.stderr.flush()
os._exit(code)
"""


def run_once(config: Path, paused: bool) -> tuple[float, float, dict[str, Any]]:
    """Wall ms, CPU ms and what the collector did, of one ``odibi run`` process."""
    cpu = bench._children_cpu()
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", DRIVER, "paused" if paused else "unpaused", str(config)],
        capture_output=True,
        text=True,
        env=bench._env(True, config.parent.parent / "pycache"),
        cwd=config.parent,
    )
    took = (time.perf_counter() - started) * 1000
    cpu_ms = (bench._children_cpu() - cpu) * 1000
    if proc.returncode != 0:
        sys.exit(f"odibi run failed:\n{proc.stdout}\n{proc.stderr}")
    return took, cpu_ms, json.loads(proc.stderr.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=20, help="interleaved pairs (default 20)")
    parser.add_argument("--nodes", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="odibi-gc-bench-") as tmp:
        config = bench.make_project(Path(tmp) / "project", args.nodes)
        seed = bench.make_history(config, 3)
        collector = {}
        for paused in (True, False):
            bench.restore(config, seed)
            collector["paused" if paused else "unpaused"] = run_once(config, paused)[2]

        def once(paused: bool) -> tuple[float, float]:
            bench.restore(config, seed)
            wall, cpu, _ = run_once(config, paused)
            return wall, cpu

        times = bench._interleaved(once, args.repeat, "pair")
    stats = bench.summary(times)
    report = {
        "benchmark": "startup_gc",
        "nodes": args.nodes,
        "python": platform.python_version(),
        "median_paused_ms": stats["median_on_ms"],
        "median_unpaused_ms": stats["median_off_ms"],
        "paired_diff_ms": stats["paired_diff_ms"],
        "change_pct": stats["overhead_pct"],
        "change_pct_ci95": stats["overhead_pct_ci95"],
        "cpu_change_pct": stats["cpu_overhead_pct"],
        "pairs": stats["runs_each"],
        "collector": collector,
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
