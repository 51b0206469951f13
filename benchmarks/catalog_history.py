"""Catalog history benchmark: do catalog queries and writes stay fast as ``meta_runs`` grows?

Usage::

    .venv/bin/python benchmarks/catalog_history.py [--sizes 1k,100k,1M] [--repeat N]
        [--workdir DIR] [--keep] [--jobs N] [--no-profile] [--check]

Grows a System Catalog to each size the way runs write it (up to 40 pipelines x 33 nodes, one
run per pipeline per day going back from now, through the real ``Catalog.append`` and the
maintenance runs trigger after themselves), in three layouts:

* ``odibi``: ``meta_runs`` partitioned by ``pipeline_name`` (the default), maintained;
* ``v11``: partitioned by ``(pipeline_name, date)`` (``system.partition_by_date: true``);
* ``flat``: the same rows in an unpartitioned, never-maintained Delta table whose queries read the
  whole table and filter it in pyarrow: the baseline.

It then times, interleaved across sizes and layouts so machine noise hits all of them alike:
"last run of P" and "runs of P in the last 7 days" in-process on a fresh ``Catalog`` (a cold
cache, as a new CLI execution has) and through the real ``odibi catalog`` CLI; the table's open
cost; and the catalog write of one more run. Prints one JSON object (milliseconds unless a key
says otherwise) to stdout; progress goes to stderr. The JSON's "method" says exactly how.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import cProfile
import hashlib
import io
import json
import multiprocessing
import os
import platform
import pstats
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from odibi_core.catalog import maintenance, query
from odibi_core.catalog import tables as t
from odibi_core.catalog.manager import Catalog
from odibi_core.catalog.rows import CatalogRows
from odibi_core.config.models import MaintenanceConfig

NODES = 33  # a run writes one row per node plus one pipeline row: 34 rows
MAX_PIPELINES = 40
FAILURE_RATE = 0.04  # share of runs in which one node fails (the rest are then SKIPPED)
LAYOUTS = ("odibi", "v11", "flat")
MAINTAINED = ("odibi", "v11")
QUERIES = ("last_run", "runs_7d")
SINCE = timedelta(days=7)
# Time compression: two simulated years pass in minutes, so retention periods measured on the
# wall clock never elapse. These table properties make Delta expire what production would have.
AGED = {
    "delta.deletedFileRetentionDuration": "interval 0 seconds",
    "delta.logRetentionDuration": "interval 0 seconds",
}
# Targets (issue text): at the largest size, after maintenance, for the odibi layout.
INPROC_TARGET_MS = 20.0
FLAT_SPEEDUP_TARGET = 50.0
CLI_GROWTH_TARGET = 1.2  # CLI at the largest size within 20% of its time at the smallest
WRITE_TARGET_MS = 100.0
WRITE_GROWTH_TARGET = 1.2  # "not growing with history": within the same 20%
# A slow figure (size x layout x measurement; over a second a sample, as some v11 and flat ones
# are at 1M rows) stops sampling once its samples add up to this many seconds.
FIGURE_BUDGET_S = 10.0
# v11 history is written a week per commit: partitioned by date, the files are the same.
V11_DAYS_PER_COMMIT = 7


def _progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------ sizes and synthetic history


@dataclass
class Size:
    label: str
    pipelines: int
    days: int

    @property
    def runs(self) -> int:
        return self.pipelines * self.days

    @property
    def rows(self) -> int:
        return self.runs * (NODES + 1)

    @property
    def names(self) -> list[str]:
        return [f"pipeline_{i:02d}" for i in range(self.pipelines)]

    @property
    def query_pipeline(self) -> str:
        return self.names[min(7, self.pipelines - 1)]


def parse_size(label: str) -> Size:
    """``1k``, ``100k``, ``1M`` or a plain row count → pipelines x days of daily runs."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kKmM]?)\s*", label)
    if not match:
        raise argparse.ArgumentTypeError(f"size '{label}' is not like 1k, 100k or 1M")
    rows = float(match.group(1)) * {"": 1, "k": 1e3, "m": 1e6}[match.group(2).lower()]
    runs = max(1, round(rows / (NODES + 1)))
    # small catalogs: a few pipelines with a few days each (1k: 10 x 3 = 30 runs)
    pipelines = MAX_PIPELINES if runs >= 2 * MAX_PIPELINES else min(10, runs)
    return Size(label.strip(), pipelines, max(1, round(runs / pipelines)))


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def run_history(
    rng: random.Random, pipeline: str, started: datetime, environment: str = "prod"
) -> list[dict[str, Any]]:
    """The 34 ``meta_runs`` rows of one run, shaped like ``manager.run_rows`` makes them."""
    run_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    trace_id = f"{rng.getrandbits(128):032x}"
    fails_at = rng.randrange(NODES) if rng.random() < FAILURE_RATE else None
    rows: list[dict[str, Any]] = []
    counts = {"SUCCESS": 0, "FAILURE": 0, "SKIPPED": 0}
    cursor = started
    rows_written = 0
    for j in range(NODES):
        node = f"node_{j:02d}"
        if fails_at is None or j < fails_at:
            status = "SUCCESS"
        else:
            status = "FAILURE" if j == fails_at else "SKIPPED"
        counts[status] += 1
        seconds = rng.uniform(0.2, 20.0) if status != "SKIPPED" else 0.0
        ended = cursor + timedelta(seconds=seconds)
        rows_in = rng.randrange(1_000, 2_000_000) if status == "SUCCESS" else None
        rows_out = int(rows_in * rng.uniform(0.5, 1.0)) if rows_in is not None else None
        rows_written += rows_out or 0
        rows.append(
            {
                "run_id": run_id,
                "project": "bench",
                "pipeline_name": pipeline,
                "node_name": node,
                "scope": "node",
                "status": status,
                "started_at": cursor,
                "timestamp": ended,
                "date": ended.date(),
                "duration_ms": int(seconds * 1000),
                "rows_in": rows_in,
                "rows_out": rows_out,
                "attempt": 2 if status == "SUCCESS" and rng.random() < 0.01 else 1,
                "error_type": "ValueError" if status == "FAILURE" else None,
                "error_message": f"column 'amount' has {rng.randrange(1, 900)} nulls"
                if status == "FAILURE"
                else None,
                "dq_score": round(rng.uniform(0.9, 1.0), 4) if j % 3 == 0 else None,
                "version_hash": _hash(f"{pipeline}/{node}"),
                "environment": environment,
                "trace_id": trace_id,
                "metrics_json": json.dumps({"bytes": rng.randrange(10**6, 10**9)})
                if status == "SUCCESS" and j % 4 == 0
                else None,
            }
        )
        cursor = ended
    failed = [r["node_name"] for r in rows if r["status"] == "FAILURE"]
    rows.append(
        {
            "run_id": run_id,
            "project": "bench",
            "pipeline_name": pipeline,
            "node_name": None,
            "scope": "pipeline",
            "status": "FAILURE" if failed else "SUCCESS",
            "started_at": started,
            "timestamp": cursor,
            "date": cursor.date(),
            "duration_ms": int((cursor - started).total_seconds() * 1000),
            "rows_in": None,
            "rows_out": rows_written,
            "attempt": 1,
            "error_type": "ValueError" if failed else None,
            "error_message": f"{len(failed)} node(s) failed: {', '.join(failed)}"
            if failed
            else None,
            "dq_score": round(rng.uniform(0.9, 1.0), 4),
            "version_hash": _hash(pipeline),
            "environment": environment,
            "trace_id": trace_id,
            "metrics_json": json.dumps({"nodes": counts}),
        }
    )
    return rows


def run_start(now: datetime, pipeline_index: int, days_ago: int) -> datetime:
    """Pipeline i runs daily at a fixed offset before ``now``: the newest run ends before now,
    and the run 7 days back starts more than an hour before the 7-day cut-off."""
    return now - timedelta(days=days_ago, hours=1, minutes=7 * pipeline_index)


# ------------------------------------------------------------------ the catalogs under test


@dataclass
class Layout:
    name: str
    base: Path  # the catalog location (system.path); meta_runs lives under it

    @property
    def uri(self) -> str:
        return str(self.base / t.META_RUNS)

    @property
    def by_date(self) -> bool:
        return self.name == "v11"

    def catalog(self) -> Catalog:
        """A fresh Catalog, as a new execution makes: nothing cached."""
        return Catalog(str(self.base), partition_by_date=self.by_date)


@dataclass
class Generation:
    """Where generating one layout's history spent its time."""

    append_ms: list[float] = field(default_factory=list)
    maintenance_ms: list[float] = field(default_factory=list)  # maintenance that did work
    check_ms: list[float] = field(default_factory=list)  # after_run below its thresholds
    compactions: int = 0
    checkpoints: int = 0
    vacuumed_files: int = 0

    def report(self) -> dict[str, Any]:
        tenth = max(1, len(self.append_ms) // 10)
        return {
            "commits": len(self.append_ms),
            "append_s": round(sum(self.append_ms) / 1000, 2),
            # how one commit's cost moved as history grew
            "append_ms_first_tenth_median": _round(statistics.median(self.append_ms[:tenth])),
            "append_ms_last_tenth_median": _round(statistics.median(self.append_ms[-tenth:])),
            "maintenance_runs": len(self.maintenance_ms),
            "maintenance_s": round(sum(self.maintenance_ms) / 1000, 2),
            "maintenance_ms_first": _round(self.maintenance_ms[0] if self.maintenance_ms else None),
            "maintenance_ms_last": _round(self.maintenance_ms[-1] if self.maintenance_ms else None),
            "maintenance_compactions": self.compactions,
            "maintenance_checkpoints": self.checkpoints,
            "vacuumed_files": self.vacuumed_files,
            "after_run_below_thresholds": summary(self.check_ms),
        }


def _age_quickly(uri: str) -> None:
    from deltalake import DeltaTable

    DeltaTable(uri).alter.set_table_properties(AGED)


def log_state(uri: str) -> tuple[int, dict[str, int]]:
    """Commits since the last checkpoint, and files per pipeline partition: what ``due`` uses."""
    import pyarrow as pa
    from deltalake import DeltaTable

    dt = DeltaTable(uri)
    marker = Path(uri) / "_delta_log" / "_last_checkpoint"
    checkpoint = json.loads(marker.read_text())["version"] if marker.exists() else -1
    actions = pa.RecordBatchReader.from_stream(dt.get_add_actions(flatten=True)).read_all()
    files: dict[str, int] = {}
    for owner in actions.column("partition.pipeline_name").to_pylist():
        files[owner] = files.get(owner, 0) + 1
    return dt.version() - checkpoint, files


def generate(size: Size, layout: Layout, now: datetime) -> dict[str, Any]:
    """One layout's history, then what production does after it (see ``method`` in the output)."""
    import pyarrow as pa
    from deltalake import write_deltalake

    layout.base.mkdir(parents=True, exist_ok=True)
    rng = random.Random(f"odibi-catalog-history-{size.label}")  # same rows in every layout
    catalog = layout.catalog()
    catalog.maintenance.retention_hours = 0  # time compression: see AGED
    limits = MaintenanceConfig()
    per_commit = V11_DAYS_PER_COMMIT if layout.name == "v11" else 1
    gen = Generation()
    since_checkpoint, files = 0, {}
    quiet_days = 0
    next_report = 100
    started = time.perf_counter()
    rows: list[dict[str, Any]] = []
    for days_ago in range(size.days - 1, -1, -1):
        for i, pipeline in enumerate(size.names):
            rows.extend(run_history(rng, pipeline, run_start(now, i, days_ago)))
        if days_ago % per_commit and days_ago:
            continue  # v11: a week's runs per commit
        t0 = time.perf_counter()
        if layout.name == "flat":
            data = pa.Table.from_pylist(rows, schema=t.schema(t.META_RUNS))
            write_deltalake(layout.uri, data, mode="append")
        else:
            catalog.append(CatalogRows(t.META_RUNS, rows))
        rows = []
        t1 = time.perf_counter()
        gen.append_ms.append((t1 - t0) * 1000)
        if layout.name == "flat":
            continue
        if len(gen.append_ms) == 1:
            _age_quickly(layout.uri)
            since_checkpoint, files = log_state(layout.uri)
        else:
            since_checkpoint += 1
            files = {p: n + 1 for p, n in files.items()}
        reports = []
        if layout.name == "odibi":
            # What every successful run does next for the partition it wrote: after_run. Only
            # called when its thresholds are crossed (they are predicted exactly from the log);
            # on other days it does nothing but check, so every 10th such day it is called
            # anyway to confirm the prediction and time the check.
            due = since_checkpoint >= limits.max_commits or max(files.values()) > limits.max_files
            quiet_days += not due
            if due or quiet_days % 10 == 1:
                reports = maintenance.after_run(catalog, {t.META_RUNS: size.names})
                if (reports[0].skipped is None) != due:
                    raise RuntimeError(f"after_run did not do what was predicted: {reports[0]}")
                if not due:
                    gen.check_ms.append((time.perf_counter() - t1) * 1000)
        elif since_checkpoint >= limits.max_commits:
            # v11: what after_run does once the commit threshold is crossed (checkpoint, then
            # vacuum); a (pipeline, date) partition gets one file, so there is nothing to compact.
            reports = [maintenance.optimize(catalog, t.META_RUNS, partitions=[])]
            reports[0].vacuumed = maintenance.vacuum(catalog, t.META_RUNS)
        if reports and reports[0].skipped is None:
            gen.maintenance_ms.append((time.perf_counter() - t1) * 1000)
            since_checkpoint, files = log_state(layout.uri)
        for report in reports:
            if report.error:
                raise RuntimeError(f"maintenance of {layout.name} failed: {report.error}")
            gen.compactions += report.compacted
            gen.checkpoints += report.checkpointed
            gen.vacuumed_files += len(report.vacuumed)
        done = size.days - days_ago
        if done >= next_report:
            next_report += 100
            _progress(
                f"  {size.label}/{layout.name}: day {done}/{size.days} "
                f"({time.perf_counter() - started:.0f} s)"
            )
    out = {"wall_s": round(time.perf_counter() - started, 1), **gen.report()}
    if layout.name != "flat":
        out["final_optimize"] = final_optimize(layout)
    _progress(f"  {size.label}/{layout.name}: generated in {out['wall_s']} s")
    return out


def final_optimize(layout: Layout) -> dict[str, Any]:
    """The "after maintenance" state: ``odibi catalog optimize`` on the whole odibi table; a
    checkpoint of the v11 one (one file per partition: nothing to compact)."""
    start = time.perf_counter()
    partitions = [] if layout.name == "v11" else None
    report = maintenance.optimize(layout.catalog(), t.META_RUNS, partitions)
    return {
        "ms": _round((time.perf_counter() - start) * 1000),
        "files_before": report.files_before,
        "files_after": report.files_after,
        "compacted": report.compacted,
        "checkpointed": report.checkpointed,
    }


def generate_all(
    sizes: list[Size], layouts: dict[str, dict[str, Layout]], now: datetime, jobs: int
) -> dict[tuple[str, str], dict[str, Any]]:
    """Every (size, layout) history, the biggest first, ``jobs`` processes at a time."""
    tasks = [(s, layouts[s.label][name]) for s in reversed(sizes) for name in LAYOUTS]
    if jobs <= 1:
        return {(s.label, lay.name): generate(s, lay, now) for s, lay in tasks}
    context = multiprocessing.get_context("spawn")  # no fork of deltalake's runtime threads
    with concurrent.futures.ProcessPoolExecutor(jobs, mp_context=context) as pool:
        futures = {(s.label, lay.name): pool.submit(generate, s, lay, now) for s, lay in tasks}
        return {key: future.result() for key, future in futures.items()}


def table_facts(layout: Layout) -> dict[str, Any]:
    from deltalake import DeltaTable

    root = Path(layout.uri)
    dt = DeltaTable(layout.uri)
    log = root / "_delta_log"
    last_checkpoint = log / "_last_checkpoint"
    checkpoint = (
        json.loads(last_checkpoint.read_text())["version"] if last_checkpoint.exists() else None
    )
    return {
        "version": dt.version(),
        "partition_by": list(dt.metadata().partition_columns),
        "files": len(dt.file_uris()),
        "files_on_disk": sum(1 for _ in root.rglob("*.parquet")),
        "bytes": sum(p.stat().st_size for p in root.rglob("*.parquet")),
        "log_json_entries": sum(1 for _ in log.glob("*.json")),
        "checkpoint_version": checkpoint,
    }


# ------------------------------------------------------------------ measurements


@dataclass
class Answer:
    ms: float
    run_ids: list[str]
    files_read: int
    files_total: int
    rows_read: int


def inproc(layout: Layout, what: str, pipeline: str) -> Answer:
    """One query as a new execution runs it: open the table, then read what it needs."""
    if layout.name == "flat":
        return flat_query(layout, what, pipeline)
    start = time.perf_counter()
    catalog = layout.catalog()
    if what == "last_run":
        result = query.last_run(catalog, pipeline)
    else:
        result = query.runs(catalog, pipeline, since=datetime.now(UTC) - SINCE)
    ms = (time.perf_counter() - start) * 1000
    s = result.stats
    return Answer(ms, [r["run_id"] for r in result.rows], s.files_read, s.files_total, s.rows_read)


def flat_query(layout: Layout, what: str, pipeline: str) -> Answer:
    """The baseline: read the whole flat table, then filter in pyarrow."""
    import pyarrow.compute as pc
    from deltalake import DeltaTable

    start = time.perf_counter()
    dt = DeltaTable(layout.uri)
    whole = dt.to_pyarrow_table()
    expr = (pc.field("pipeline_name") == pipeline) & (pc.field("scope") == "pipeline")
    if what == "runs_7d":
        expr = expr & (pc.field("timestamp") >= datetime.now(UTC) - SINCE)
    rows = whole.filter(expr).sort_by([("timestamp", "descending")])
    if what == "last_run":
        rows = rows.slice(0, 1)
    found = rows.to_pylist()
    ms = (time.perf_counter() - start) * 1000
    files = len(dt.file_uris())
    return Answer(ms, [r["run_id"] for r in found], files, files, whole.num_rows)


def open_costs(layout: Layout) -> dict[str, float]:
    """The parts of opening a table: log replay, the add actions, the pyarrow dataset."""
    from deltalake import DeltaTable

    t0 = time.perf_counter()
    dt = DeltaTable(layout.uri)
    t1 = time.perf_counter()
    dt.get_add_actions(flatten=True)
    t2 = time.perf_counter()
    dt.to_pyarrow_dataset()
    t3 = time.perf_counter()
    return {"open": (t1 - t0) * 1000, "add_actions": (t2 - t1) * 1000, "dataset": (t3 - t2) * 1000}


class Sampler:
    """``repeat`` samples per figure, fewer for slow ones (over a second a sample, see
    ``FIGURE_BUDGET_S``)."""

    def __init__(self, repeat: int):
        self.repeat = repeat
        self.samples: dict[tuple[str, ...], list[float]] = {}

    def wants(self, key: tuple[str, ...]) -> bool:
        taken = self.samples.get(key, [])
        if len(taken) >= self.repeat:
            return False
        slow = bool(taken) and statistics.median(taken) > 1000
        return not (slow and sum(taken) >= FIGURE_BUDGET_S * 1000)

    def add(self, key: tuple[str, ...], ms: float) -> None:
        self.samples.setdefault(key, []).append(ms)

    def get(self, key: tuple[str, ...]) -> list[float]:
        return self.samples.get(key, [])


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("ODIBI_VERBOSE", None)  # debug logging would distort the timings
    return env


def _odibi_script() -> str:
    bindir = Path(sys.executable).parent  # not resolved: a venv's python may be a symlink
    for name in ("odibi", "odibi.exe"):
        if (bindir / name).exists():
            return str(bindir / name)
    sys.exit(f"catalog_history.py: no odibi console script next to {sys.executable}")


def cli_command(odibi: str, config: Path, what: str, pipeline: str) -> list[str]:
    since = ["--since", "7d"] if what == "runs_7d" else []
    action = "last-run" if what == "last_run" else "runs"
    return [
        odibi,
        "catalog",
        action,
        str(config),
        "--pipeline",
        pipeline,
        *since,
        "--format",
        "json",
    ]


class Processes:
    """Runs and times whole processes; counts the ones that abort after doing their work."""

    def __init__(self, cwd: Path):
        self.cwd = cwd
        self.runs = 0
        self.aborted: list[str] = []

    def time(self, cmd: list[str]) -> tuple[float, str]:
        start = time.perf_counter()
        proc = subprocess.run(
            cmd, cwd=self.cwd, env=_env(), capture_output=True, text=True, check=False
        )
        ms = (time.perf_counter() - start) * 1000
        self.runs += 1
        if proc.returncode == -signal.SIGABRT and _is_json(proc.stdout):
            # Aborted at interpreter exit after printing its whole answer: the user waited
            # as long, so the sample counts; the report says how often it happened.
            self.aborted.append(f"{' '.join(cmd[1:3])}: {proc.stderr.strip()[-100:]}")
        elif proc.returncode != 0:
            sys.exit(f"catalog_history.py: {' '.join(cmd)} exited {proc.returncode}\n{proc.stderr}")
        return ms, proc.stdout


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def write_project(layout: Layout) -> Path:
    """A project file whose catalog is this layout's (no pipelines: only the catalog matters)."""
    config = layout.base.parent / f"{layout.name}.odibi.yaml"
    config.write_text(
        "project: bench\n"
        "system:\n"
        f"  path: {json.dumps(str(layout.base))}\n"
        f"  partition_by_date: {'true' if layout.by_date else 'false'}\n"
    )
    return config


def one_more_run(layout: Layout, pipeline: str, rng: random.Random) -> float:
    """The catalog write of one more run: one append of 34 rows on a fresh Catalog."""
    rows = run_history(rng, pipeline, datetime.now(UTC) - timedelta(minutes=30), "bench")
    start = time.perf_counter()
    if layout.name == "flat":
        import pyarrow as pa
        from deltalake import write_deltalake

        data = pa.Table.from_pylist(rows, schema=t.schema(t.META_RUNS))
        write_deltalake(layout.uri, data, mode="append")
    else:
        layout.catalog().append(CatalogRows(t.META_RUNS, rows))
    return (time.perf_counter() - start) * 1000


def after_run(layout: Layout, pipeline: str) -> tuple[float, bool]:
    """The maintenance a successful run of ``pipeline`` does after its catalog write."""
    catalog = layout.catalog()
    start = time.perf_counter()
    (report,) = maintenance.after_run(catalog, {t.META_RUNS: [pipeline]})
    ms = (time.perf_counter() - start) * 1000
    if report.error:
        raise RuntimeError(f"after_run on {layout.name} failed: {report.error}")
    return ms, report.skipped is None


# ------------------------------------------------------------------ profiles


def _where(func: tuple[str, int, str]) -> str:
    filename, line, name = func
    if filename == "~":
        return name
    parts = Path(filename).parts
    for anchor in ("site-packages", "src"):
        if anchor in parts:
            parts = parts[parts.index(anchor) + 1 :]
            break
    return f"{'/'.join(parts[-3:])}:{line}({name})"


def top_costs(stats: pstats.Stats, top: int = 10) -> dict[str, list[dict[str, Any]]]:
    entries = stats.stats  # type: ignore[attr-defined]
    rows = [
        (_where(func), tottime * 1000, cumtime * 1000, calls)
        for func, (_, calls, tottime, cumtime, _) in entries.items()
        if "importlib._bootstrap" not in func[0] and func[2] != "<module>"
    ]

    def ranked(key: int) -> list[dict[str, Any]]:
        best = sorted(rows, key=lambda row: row[key], reverse=True)[:top]
        return [{"function": r[0], "ms": _round(r[key]), "calls": r[3]} for r in best]

    return {"cumulative": ranked(2), "self": ranked(1)}


def profile_inproc(layout: Layout, what: str, pipeline: str) -> dict[str, Any]:
    profiler = cProfile.Profile()
    profiler.enable()
    answer = inproc(layout, what, pipeline)
    profiler.disable()
    stats = pstats.Stats(profiler, stream=io.StringIO())
    return {"ms_under_profiler": _round(answer.ms), **top_costs(stats)}


def profile_cli(processes: Processes, cmd: list[str]) -> dict[str, Any]:
    out = processes.cwd / "cli.prof"
    args = [sys.executable, "-m", "cProfile", "-o", str(out), "-m", "odibi_core.cli.main", *cmd[1:]]
    ms, _ = processes.time(args)
    stats = pstats.Stats(str(out), stream=io.StringIO())
    return {"ms_under_profiler": _round(ms), **top_costs(stats, 12)}


# ------------------------------------------------------------------ helpers


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def summary(samples: list[float]) -> dict[str, Any]:
    if not samples:
        return {"n": 0}
    p90 = statistics.quantiles(samples, n=10)[-1] if len(samples) > 1 else samples[0]
    return {
        "median_ms": _round(statistics.median(samples), 2),
        "p90_ms": _round(p90, 2),
        "min_ms": _round(min(samples), 2),
        "max_ms": _round(max(samples), 2),
        "n": len(samples),
    }


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or not denominator:
        return None
    return round(numerator / denominator, 2)


def median(samples: list[float]) -> float | None:
    return statistics.median(samples) if samples else None


def check(value: float | None, target: float, at_most: bool = True) -> dict[str, Any]:
    passed = value is not None and (value <= target if at_most else value >= target)
    return {"value": _round(value, 2), "target": target, "pass": passed}


# ------------------------------------------------------------------ main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes",
        default="1k,100k,1M",
        help="meta_runs sizes in rows (default 1k,100k,1M); targets compare largest/smallest",
    )
    parser.add_argument("--repeat", type=int, default=15, metavar="N", help="samples per figure")
    parser.add_argument("--workdir", type=Path, help="where to build catalogs (default: /tmp)")
    parser.add_argument("--keep", action="store_true", help="keep the generated catalogs")
    parser.add_argument(
        "--jobs",
        type=int,
        default=min(3, os.cpu_count() or 1),
        metavar="N",
        help="processes generating histories (default: CPUs, at most 3; 1: sequential)",
    )
    parser.add_argument("--no-profile", action="store_true", help="skip the cProfile section")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args, unknown = parser.parse_known_args(argv)
    if unknown:  # `nox -s bench -- ...` passes the same arguments to every benchmark
        _progress(f"ignoring arguments meant for other benchmarks: {' '.join(unknown)}")
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    try:
        sizes = [parse_size(s) for s in args.sizes.split(",") if s.strip()]
    except argparse.ArgumentTypeError as exc:
        parser.error(str(exc))
    if not sizes:
        parser.error("--sizes is empty")
    sizes.sort(key=lambda s: s.rows)
    if len({s.label for s in sizes}) != len(sizes):
        parser.error("--sizes has duplicates")

    if args.workdir is not None:
        args.workdir.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="odibi-catalog-bench-", dir=args.workdir))
    _progress(f"workdir {workdir}")
    try:
        report = run(sizes, args.repeat, workdir, args.jobs, profile=not args.no_profile)
    finally:
        if args.keep:
            _progress(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print(json.dumps(report, indent=2))
    return 1 if args.check and not report["pass"] else 0


def run(sizes: list[Size], repeat: int, workdir: Path, jobs: int, profile: bool) -> dict[str, Any]:
    import deltalake
    import pyarrow

    began = time.perf_counter()
    now = datetime.now(UTC)
    odibi = _odibi_script()
    top, bottom = sizes[-1], sizes[0]
    layouts = {
        s.label: {name: Layout(name, workdir / s.label / name / "system") for name in LAYOUTS}
        for s in sizes
    }

    # 1. Histories, maintained as runs maintain them, then optimized ("after maintenance").
    _progress(
        "generating "
        + ", ".join(f"{s.label} ({s.pipelines} pipelines x {s.days} days)" for s in sizes)
        + f" with {jobs} process(es)"
    )
    generated = generate_all(sizes, layouts, now, jobs)
    generation_s = time.perf_counter() - began

    # 2. Queries, interleaved: each repetition visits every size and layout in turn.
    processes = Processes(workdir)
    sampler = Sampler(repeat)
    answers: dict[tuple[str, str, str], Answer] = {}
    cli_answers: dict[tuple[str, str, str], list[str]] = {}
    configs = {
        (s.label, name): write_project(layouts[s.label][name]) for s in sizes for name in MAINTAINED
    }
    baselines = {"bare_python": [sys.executable, "-c", "pass"], "odibi_help": [odibi, "--help"]}
    _progress("warming up (imports, file cache)")
    for cmd in baselines.values():
        processes.time(cmd)
    for name, layout in layouts[bottom.label].items():
        for what in QUERIES:
            inproc(layout, what, bottom.query_pipeline)
            if name in MAINTAINED:
                processes.time(cli_command(odibi, configs[(bottom.label, name)], what, "x"))
    for rep in range(repeat):
        _progress(f"queries: repetition {rep + 1}/{repeat}")
        for label, cmd in baselines.items():
            sampler.add((label,), processes.time(cmd)[0])
        for s in sizes:
            for name, layout in layouts[s.label].items():
                if sampler.wants((s.label, name, "open")):
                    costs = open_costs(layout)
                    sampler.add((s.label, name, "open"), sum(costs.values()))
                    for part, ms in costs.items():
                        sampler.add((s.label, name, f"open.{part}"), ms)
                for what in QUERIES:
                    key = (s.label, name, "inproc", what)
                    if sampler.wants(key):
                        answer = inproc(layout, what, s.query_pipeline)
                        sampler.add(key, answer.ms)
                        answers[(s.label, name, what)] = answer
                    key = (s.label, name, "cli", what)
                    if name in MAINTAINED and sampler.wants(key):
                        cmd = cli_command(odibi, configs[(s.label, name)], what, s.query_pipeline)
                        ms, stdout = processes.time(cmd)
                        sampler.add(key, ms)
                        cli_answers[(s.label, name, what)] = [
                            r["run_id"] for r in json.loads(stdout)["rows"]
                        ]
    facts = {
        (s.label, name): table_facts(layout)
        for s in sizes
        for name, layout in layouts[s.label].items()
    }

    # 3. Profiles at the largest size, before the write phase adds to the tables.
    profiles: dict[str, Any] = {}
    if profile:
        _progress(f"profiling queries at {top.label}")
        p = top.query_pipeline
        for what in QUERIES:
            profiles[f"inproc_odibi_{what}"] = profile_inproc(layouts[top.label]["odibi"], what, p)
        profiles["inproc_v11_last_run"] = profile_inproc(layouts[top.label]["v11"], "last_run", p)
        profiles["inproc_flat_last_run"] = profile_inproc(layouts[top.label]["flat"], "last_run", p)
        for what in QUERIES:
            cmd = cli_command(odibi, configs[(top.label, "odibi")], what, p)
            profiles[f"cli_odibi_{what}"] = profile_cli(processes, cmd)

    # 4. The catalog write of one more run, interleaved; then the maintenance a run does next.
    _progress("timing the catalog write of one more run")
    rng = random.Random("odibi-catalog-history-writes")
    due: dict[tuple[str, str], int] = {}
    for rep in range(repeat):
        for s in sizes:
            for name, layout in layouts[s.label].items():
                ms = one_more_run(layout, s.query_pipeline, rng)
                sampler.add((s.label, name, "append"), ms)
                key = (s.label, name, "after_run")
                if name in MAINTAINED and sampler.wants(key):
                    ms, was_due = after_run(layout, s.query_pipeline)
                    sampler.add(key, ms)
                    due[(s.label, name)] = due.get((s.label, name), 0) + was_due
        _progress(f"writes: repetition {rep + 1}/{repeat}")

    # 5. The report.
    def med(*key: str) -> float | None:
        return median(sampler.get(key))

    sizes_out: dict[str, Any] = {}
    for s in sizes:
        entry: dict[str, Any] = {
            "pipelines": s.pipelines,
            "days": s.days,
            "runs": s.runs,
            "rows": s.rows,
            "query_pipeline": s.query_pipeline,
            "generation": {name: generated[(s.label, name)] for name in LAYOUTS},
            "layouts": {},
        }
        for name in LAYOUTS:
            table = dict(facts[(s.label, name)])
            for part in ("open", "add_actions", "dataset"):
                table[f"{part}_ms"] = summary(sampler.get((s.label, name, f"open.{part}")))
            figures: dict[str, Any] = {"table": table, "in_process": {}}
            for what in QUERIES:
                a = answers[(s.label, name, what)]
                figures["in_process"][what] = {
                    **summary(sampler.get((s.label, name, "inproc", what))),
                    "files_read": a.files_read,
                    "files_total": a.files_total,
                    "rows_read": a.rows_read,
                    "rows_returned": len(a.run_ids),
                }
            if name in MAINTAINED:
                figures["cli"] = {
                    what: summary(sampler.get((s.label, name, "cli", what))) for what in QUERIES
                }
            figures["write"] = {"append": summary(sampler.get((s.label, name, "append")))}
            if name in MAINTAINED:
                figures["write"]["after_run"] = {
                    **summary(sampler.get((s.label, name, "after_run"))),
                    "due": due.get((s.label, name), 0),
                }
            entry["layouts"][name] = figures
        entry["answers_agree_with_flat"] = {
            what: all(
                answers[(s.label, name, what)].run_ids
                == cli_answers[(s.label, name, what)]
                == answers[(s.label, "flat", what)].run_ids
                for name in MAINTAINED
            )
            for what in QUERIES
        }
        entry["ratios"] = {
            f"{a}_over_{b}": {
                w: ratio(med(s.label, a, "inproc", w), med(s.label, b, "inproc", w))
                for w in QUERIES
            }
            for a, b in (("flat", "odibi"), ("flat", "v11"), ("v11", "odibi"))
        }
        sizes_out[s.label] = entry

    help_ms = med("odibi_help") or 0.0
    growth = {
        "cli_top_over_base": {
            n: {
                w: ratio(med(top.label, n, "cli", w), med(bottom.label, n, "cli", w))
                for w in QUERIES
            }
            for n in MAINTAINED
        },
        # the same after taking `odibi --help` (interpreter, imports, parser) off both
        "cli_minus_help_top_over_base": {
            n: {
                w: ratio(
                    (med(top.label, n, "cli", w) or 0.0) - help_ms,
                    (med(bottom.label, n, "cli", w) or 0.0) - help_ms,
                )
                for w in QUERIES
            }
            for n in MAINTAINED
        },
        "write_top_over_base": {
            n: ratio(med(top.label, n, "append"), med(bottom.label, n, "append")) for n in LAYOUTS
        },
    }
    checks: dict[str, dict[str, Any]] = {}
    for n in MAINTAINED:
        c: dict[str, Any] = {}
        for w in QUERIES:
            c[f"inproc_{w}_ms"] = check(med(top.label, n, "inproc", w), INPROC_TARGET_MS)
            speedup = ratio(med(top.label, "flat", "inproc", w), med(top.label, n, "inproc", w))
            c[f"inproc_{w}_flat_speedup"] = check(speedup, FLAT_SPEEDUP_TARGET, at_most=False)
            c[f"cli_{w}_growth"] = check(growth["cli_top_over_base"][n][w], CLI_GROWTH_TARGET)
        c["write_ms"] = check(med(top.label, n, "append"), WRITE_TARGET_MS)
        c["write_growth"] = check(growth["write_top_over_base"][n], WRITE_GROWTH_TARGET)
        checks[n] = c

    return {
        "benchmark": "catalog_history",
        "unit": "ms",
        "repeat": repeat,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "deltalake": deltalake.__version__,
        "pyarrow": pyarrow.__version__,
        "method": {
            "history": (
                f"{NODES + 1} meta_runs rows per run (1 pipeline + {NODES} nodes), one run per "
                "pipeline per day going back from now (UTC), "
                f"~{FAILURE_RATE:.0%} of runs with a failed node (later nodes SKIPPED); the same "
                "rows in every layout; written through Catalog.append (flat: write_deltalake)"
            ),
            "commits": (
                "odibi and flat: ONE commit per simulated day holding that day's runs of all "
                "pipelines (runs make one commit per run: partitioned by pipeline, the data files "
                "are the same, there are only fewer log entries); v11: one commit per "
                f"{V11_DAYS_PER_COMMIT} simulated days, which, partitioned by date, also gives the "
                "same files (one per pipeline and date; two where a run crosses midnight), to keep "
                "generation tractable: every v11 commit re-reads the whole table's log twice"
            ),
            "maintenance_odibi": (
                "maintenance.after_run(catalog, {'meta_runs': [every pipeline]}) with the "
                "MaintenanceConfig default thresholds after each simulated day, as each run does "
                "for the partition it wrote. It is skipped on days its thresholds are not crossed "
                "(predicted exactly from the log: it would only check, and that check costs "
                "O(files)); on every 10th such day it is called anyway, which confirms the "
                "prediction and times the check (generation.*.after_run_below_thresholds)"
            ),
            "maintenance_v11": (
                "what after_run does when the max_commits threshold is crossed: checkpoint "
                "(optimize with partitions=[]) and vacuum; each (pipeline, date) partition gets "
                "one file, so there is nothing to compact. after_run itself is not called: in "
                "this layout it is due on every run once a pipeline has more than max_files days "
                "and then rewrites all of that pipeline's files, and its due check builds a "
                "dataset of every file in the table; write.after_run shows its cost per run"
            ),
            "time_compression": (
                "two simulated years pass in minutes, so wall-clock retention never elapses: the "
                "maintained tables get delta.deletedFileRetentionDuration and "
                "delta.logRetentionDuration = 0 after creation and vacuum uses retention 0, or "
                "every checkpoint would carry two years of tombstones that production expires "
                "after 7 days"
            ),
            "after_maintenance": (
                "odibi: maintenance.optimize(catalog, 'meta_runs') of the whole table (odibi "
                "catalog optimize); v11: a checkpoint (optimize with partitions=[])"
            ),
            "flat": (
                "same rows, write_deltalake(mode='append') one commit per day, never optimized; "
                "queries read the whole table (DeltaTable.to_pyarrow_table) and filter in pyarrow"
            ),
            "queries": (
                "in-process on a fresh Catalog each time (cold snapshot cache, as a new CLI "
                "execution has); CLI = odibi catalog last-run|runs CONFIG --pipeline P [--since "
                "7d] --format json as a subprocess, CONFIG holding only project and system: "
                "{path, partition_by_date}; every repetition visits every size and layout in "
                "turn; a figure over 1 s a sample stops once its samples add up to "
                f"{FIGURE_BUDGET_S:.0f} s"
            ),
            "write": (
                "append: one more run's Catalog.append of 34 rows on a fresh Catalog (flat: "
                "write_deltalake); after_run, timed separately: maintenance.after_run for that "
                "pipeline on a fresh Catalog with default MaintenanceConfig"
            ),
            "generation": (
                f"{jobs} process(es) at once, so per-layout generation times include contention"
            ),
            "targets": (
                f"odibi layout at the largest size ({top.label}) after maintenance; growth ratios "
                f"against the smallest size ({bottom.label}); write growth uses the same 20% as "
                "the CLI"
            ),
        },
        "generation_seconds": round(generation_s, 1),
        "baseline": {label: summary(sampler.get((label,))) for label in baselines},
        "sizes": sizes_out,
        "growth": growth,
        "checks": checks,
        "pass": all(c["pass"] for c in checks["odibi"].values()),
        "cli_aborts_at_exit": {
            "count": len(processes.aborted),
            "of_runs": processes.runs,
            "examples": processes.aborted[:3],
        },
        "profiles": profiles,
        "total_seconds": round(time.perf_counter() - began, 1),
    }


if __name__ == "__main__":
    sys.exit(main())
