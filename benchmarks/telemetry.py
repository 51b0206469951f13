"""Telemetry overhead benchmark: a 50-node pipeline of small frames, with telemetry on (catalog
export, the zero-config default) against ``OTEL_SDK_DISABLED=true``, in the same run.

Usage::

    .venv/bin/python benchmarks/telemetry.py [--repeat N] [--nodes 50] [--check]

Every timed run starts from the same state: the project's catalog and stories as a number of
earlier runs (``--history``, telemetry on, so every table exists) left them, restored before
each run. Without this, each run finds a longer log and more files than the one before, and
every 16th run or so compacts a table, so the medians drift with the order of the runs; the
maintenance a run triggers now and then is not part of what is compared here.

Two measurements, each interleaving on/off repetitions after one untimed warm-up of each:

* ``process``: whole ``odibi run`` processes, wall clock: what a user waits for, OpenTelemetry's
  import included.
* ``in_process``: ``run_project`` called repeatedly in this process: the per-run cost alone.

Reports medians (ms) and the overhead: the median of the paired differences (each pair ran
back to back) over the median time with telemetry off; ``--check`` exits 1 when
the process overhead passes the target (5 %). ``otel_import_ms`` is what importing the
telemetry run path (the OpenTelemetry SDK) costs in a process that has already imported
Odibi's data libraries. Prints one JSON object to stdout; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

TARGET_PCT = 5.0
SOURCES = 5
STATE = (".odibi",)  # catalog and stories: what a run changes besides its outputs


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def make_project(root: Path, nodes: int) -> Path:
    """``nodes`` nodes: a few CSV sources of 20 rows, then SQL nodes fanning in over them,
    every tenth one writing parquet."""
    root.mkdir(parents=True, exist_ok=True)
    rows = "\n".join(f"{i},{i % 7},{i * 1.5}" for i in range(20))
    (root / "in.csv").write_text("id,k,amount\n" + rows + "\n")
    lines = [
        "project: bench",
        "retry: {enabled: false}",
        "connections: {d: {type: local, base_path: .}}",
        "pipelines:",
        "  - pipeline: fifty",
        "    nodes:",
    ]
    for i in range(nodes):
        lines.append(f"      - name: n{i}")
        if i < SOURCES:
            lines.append("        read: {connection: d, format: csv, path: in.csv}")
            continue
        deps = [f"n{i - 1}", f"n{(i * 7) % i}"] if i > SOURCES else [f"n{i - 1}"]
        deps = list(dict.fromkeys(deps))
        lines.append(f"        depends_on: [{', '.join(deps)}]")
        sql = f"SELECT id, k, amount + {i} AS amount FROM df WHERE k <> {i % 7 + 7}"
        lines.append(f'        transform: {{steps: ["{sql}"]}}')
        if i % 10 == 0:
            lines.append(
                f"        write: {{connection: d, format: parquet, path: out/n{i}.parquet}}"
            )
    (root / "odibi.yaml").write_text("\n".join(lines) + "\n")
    return root / "odibi.yaml"


def _env(on: bool, pycache: Path | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    if pycache is not None:
        # As installed: pip compiles every module at install time, and an editable install
        # caches bytecode on first import, unless PYTHONDONTWRITEBYTECODE is set (as it is on
        # some CI machines). Without it, each process compiles Odibi's own modules again, a
        # cost no installed Odibi pays. The cache lives in a temporary folder, not the tree.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(pycache)
    if not on:
        env["OTEL_SDK_DISABLED"] = "true"
    return env


def _odibi_run(config: Path, on: bool) -> None:
    odibi = Path(sys.executable).with_name("odibi")
    proc = subprocess.run(
        [str(odibi), "run", str(config)],
        capture_output=True,
        text=True,
        env=_env(on, config.parent.parent / "pycache"),
        cwd=config.parent,
    )
    if proc.returncode != 0:
        sys.exit(f"odibi run failed:\n{proc.stdout}\n{proc.stderr}")


def make_history(config: Path, runs: int) -> Path:
    """Run the project ``runs`` times (telemetry on) and keep the state they leave."""
    for _ in range(runs):
        _odibi_run(config, True)
    seed = config.parent.parent / "seed"
    for name in STATE:
        shutil.copytree(config.parent / name, seed / name)
    return seed


def restore(config: Path, seed: Path) -> None:
    for name in STATE:
        shutil.rmtree(config.parent / name, ignore_errors=True)
        shutil.copytree(seed / name, config.parent / name)
    os.sync()  # the copy's write-back must not land inside the timed run


def _interleaved(
    once: Callable[[bool], tuple[float, float]], repeat: int, label: str
) -> dict[str, list[float]]:
    """``once(on)`` → (wall ms, CPU ms), after one untimed warm-up of each side, then
    ``repeat`` pairs in alternating order (on/off, off/on)."""
    once(True), once(False)  # warm-up: the OS's file cache is hot, the imports are done
    times: dict[str, list[float]] = {"on": [], "off": [], "cpu_on": [], "cpu_off": []}
    for i in range(repeat):
        for on in (True, False) if i % 2 == 0 else (False, True):
            wall, cpu = once(on)
            times["on" if on else "off"].append(wall)
            times["cpu_on" if on else "cpu_off"].append(cpu)
        _progress(f"{label} {i + 1}/{repeat}")
    return times


def time_processes(config: Path, seed: Path, repeat: int) -> dict[str, list[float]]:
    def once(on: bool) -> tuple[float, float]:
        restore(config, seed)
        cpu = _children_cpu()
        started = time.perf_counter()
        _odibi_run(config, on)
        return (time.perf_counter() - started) * 1000, (_children_cpu() - cpu) * 1000

    return _interleaved(once, repeat, "process")


def time_in_process(config: Path, seed: Path, repeat: int) -> dict[str, list[float]]:
    from odibi_core.runner.api import run_project

    def once(on: bool) -> tuple[float, float]:
        restore(config, seed)
        # A full collection now, not at a random point of a timed run (each run leaves
        # garbage behind in this long-lived process).
        gc.collect()
        saved = dict(os.environ)
        os.environ.clear()
        os.environ.update(_env(on))
        try:
            cpu = time.process_time()
            started = time.perf_counter()
            (result,) = run_project(config)
            took = (time.perf_counter() - started) * 1000, (time.process_time() - cpu) * 1000
        finally:
            os.environ.clear()
            os.environ.update(saved)
        if result.status != "SUCCESS":
            sys.exit("in-process run failed")
        return took

    return _interleaved(once, repeat, "in-process")


def otel_import_ms(pycache: Path, repeat: int = 5) -> dict[str, float]:
    """Import times in a process that already imported the data libraries and the runner:
    the run path (``odibi_telemetry.run``: the trace SDK, on the run's thread) and the metrics
    SDK (``odibi_telemetry.otlp_metrics``, imported only when metrics go out over OTLP)."""
    code = (
        "import time, pandas, pyarrow, deltalake, duckdb, odibi_core.runner.api;"
        "t = time.perf_counter(); import odibi_telemetry.run;"
        "u = time.perf_counter(); import odibi_telemetry.otlp_metrics;"
        "v = time.perf_counter(); print((u - t) * 1000, (v - u) * 1000)"
    )
    runs = [
        [
            float(x)
            for x in subprocess.run(
                [sys.executable, "-c", code],
                capture_output=True,
                text=True,
                check=True,
                env=_env(True, pycache),
            ).stdout.split()
        ]
        for _ in range(repeat + 1)
    ][1:]  # the first one compiles what the runs did not import
    return {
        "run_path": round(statistics.median(r[0] for r in runs), 1),
        "metrics_sdk_otlp_only": round(statistics.median(r[1] for r in runs), 1),
    }


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def metrics_upkeep_ms(config: Path, seed: Path, repeat: int = 5) -> dict[str, float]:
    """What ``meta_metrics``, the one table only telemetry writes, costs in upkeep the timed
    runs leave out: a compaction (with vacuum) once per ``max_files`` runs and a writer's
    checkpoint once per 10 commits, both timed on the seeded table and spread per run."""
    from odibi_core.catalog import maintenance
    from odibi_core.catalog.manager import Catalog

    system = config.parent / ".odibi" / "system"
    compact, checkpoint = [], []
    for _ in range(repeat):
        restore(config, seed)
        catalog = Catalog(str(system))
        started = time.perf_counter()
        maintenance.optimize(catalog, "meta_metrics")
        maintenance.vacuum(catalog, "meta_metrics", retention_hours=0)
        compact.append((time.perf_counter() - started) * 1000)
        restore(config, seed)
        table = Catalog(str(system)).writable("meta_metrics")
        started = time.perf_counter()
        table.create_checkpoint()
        checkpoint.append((time.perf_counter() - started) * 1000)
    runs_per_compaction = Catalog(str(system)).maintenance.max_files
    compact_ms, checkpoint_ms = statistics.median(compact), statistics.median(checkpoint)
    return {
        "compaction_ms": round(compact_ms, 1),
        "checkpoint_ms": round(checkpoint_ms, 1),
        "per_run_ms": round(compact_ms / runs_per_compaction + checkpoint_ms / 10, 2),
    }


def speed_probe(repeat: int = 20) -> dict[str, float]:
    """The same pure-Python loop timed ``repeat`` times: how much this machine's speed moves by
    itself (on a shared VM, the spread often exceeds the effect being measured)."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        total = 0
        for i in range(500_000):
            total += i
        times.append((time.perf_counter() - started) * 1000)
    return {
        "min_ms": round(min(times), 1),
        "median_ms": round(statistics.median(times), 1),
        "max_ms": round(max(times), 1),
    }


def _bootstrap_ci(diffs: list[float], rounds: int = 2000) -> tuple[float, float]:
    """A 95 % bootstrap interval of the median of ``diffs`` (fixed seed: reproducible)."""
    rng = random.Random(0)
    medians = sorted(statistics.median(rng.choices(diffs, k=len(diffs))) for _ in range(rounds))
    return medians[int(0.025 * rounds)], medians[int(0.975 * rounds) - 1]


def summary(times: dict[str, list[float]]) -> dict[str, Any]:
    """Medians, and the median of paired differences: the machine's speed drifts by tens of
    percent over a minute, and each pair ran back to back, so the pairs' differences vary far
    less than either side's times do."""
    on, off = statistics.median(times["on"]), statistics.median(times["off"])
    cpu_on, cpu_off = statistics.median(times["cpu_on"]), statistics.median(times["cpu_off"])
    diffs = [a - b for a, b in zip(times["on"], times["off"], strict=True)]
    paired = statistics.median(diffs)
    low, high = _bootstrap_ci(diffs)
    paired_cpu = statistics.median(
        a - b for a, b in zip(times["cpu_on"], times["cpu_off"], strict=True)
    )
    return {
        "median_on_ms": round(on, 1),
        "median_off_ms": round(off, 1),
        "min_on_ms": round(min(times["on"]), 1),
        "min_off_ms": round(min(times["off"]), 1),
        "ratio_of_medians": round(on / off, 4),
        "paired_diff_ms": round(paired, 1),
        "overhead_pct": round(100 * paired / off, 2),
        "overhead_pct_ci95": [round(100 * low / off, 2), round(100 * high / off, 2)],
        "median_cpu_on_ms": round(cpu_on, 1),
        "median_cpu_off_ms": round(cpu_off, 1),
        "paired_cpu_diff_ms": round(paired_cpu, 1),
        "cpu_overhead_pct": round(100 * paired_cpu / cpu_off, 2),
        "runs_each": len(times["on"]),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10, help="interleaved pairs (default 10)")
    parser.add_argument("--nodes", type=int, default=50)
    parser.add_argument(
        "--history", type=int, default=15, help="earlier runs in the catalog (default 15)"
    )
    parser.add_argument("--check", action="store_true", help="exit 1 if the target is missed")
    parser.add_argument(
        "--raw", action="store_true", help="also print every timing (to pool several runs)"
    )
    args = parser.parse_args()
    if not 1 <= args.history < 16:
        # 16 files in a partition and the next run compacts it: every timed run would.
        parser.error("--history must be between 1 and 15")
    with tempfile.TemporaryDirectory(prefix="odibi-bench-telemetry-") as tmp:
        config = make_project(Path(tmp) / "project", args.nodes)
        seed = make_history(config, args.history)
        process_times = time_processes(config, seed, args.repeat)
        in_process_times = time_in_process(config, seed, args.repeat)
        process, in_process = summary(process_times), summary(in_process_times)
        imports = otel_import_ms(Path(tmp) / "pycache")
        upkeep = metrics_upkeep_ms(config, seed)
        probe = speed_probe()
    report = {
        "benchmark": "telemetry",
        "nodes": args.nodes,
        "history_runs": args.history,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "target_overhead_pct": TARGET_PCT,
        "process": process,
        "in_process": in_process,
        "otel_import_ms": imports,
        "meta_metrics_upkeep": upkeep,
        "machine_speed_probe": probe,
        "pass": process["overhead_pct"] <= TARGET_PCT,
    }
    if args.raw:
        report["raw_ms"] = {"process": process_times, "in_process": in_process_times}
    print(json.dumps(report, indent=2))
    return 1 if args.check and not report["pass"] else 0


if __name__ == "__main__":
    sys.exit(main())
