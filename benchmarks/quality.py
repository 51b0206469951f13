"""Quality benchmark: a node's ``quality:`` block validated by odibi_quality, against plain pandas.

Usage::

    .venv/bin/python benchmarks/quality.py [--sizes 1k,1M,10M] [--repeat N] [--check]
    .venv/bin/python benchmarks/quality.py --sizes 1k --baseline HEAD~3   # before vs after

For each size it builds the same seeded frame (order_id with known duplicates, amount with NaN
and out-of-range values, status with unknown values and nulls, plus five unchecked columns) and
checks four assertions: unique(order_id), not_null(amount), between(amount, 0, 10000) and
accepted_values(status). Three ways, each in its own process (so memory is measured alone and
odibi_quality's switches on GX's module globals cannot reach raw GX):

* ``ours``: a ``QualityConfig`` through ``odibi_quality.validate.run``, as a node's check does;
* ``pandas``: the same four violation counts, vectorised plain pandas (the baseline);
* ``raw_gx``: Great Expectations used the default way (ephemeral context, whole frame, default
  result format, fingerprint left on), the reference the issue measured.

``project_runs`` (unless ``--no-runs``) measures what a user waits for: ``odibi run``'s whole
cost, each sample the ``odibi run`` console script on a one-node project (read the CSV, check,
write parquet, catalog, story) with and without the four checks (at severity warn), interleaved;
``fixed_cost_ms`` is the difference of the medians and ``ratio_with_to_without`` their ratio.

``--baseline REV`` adds ``ours_baseline``: ``ours`` again, with ``src/`` as it was at the git
revision REV (exported with ``git archive`` and put first on ``PYTHONPATH``), so a change is
measured before and after in the same run, under the same load.

Each process warms up on a 1k-row frame (GX's context set-up), then validates the full frame
once untimed while measuring peak memory, then ``--repeat`` timed runs (medians and p90). It
also times ``import great_expectations`` in fresh processes and checks that running a project
whose node has no quality checks does not import GX. Prints one JSON object (milliseconds,
bytes) to stdout; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

SEED = 20240601
ACCEPTED = ["new", "paid", "shipped", "completed", "cancelled"]
UNKNOWN = ["refunded", "lost"]
MIN, MAX = 0, 10000
ASSERTIONS = ["unique", "not_null", "between", "accepted_values"]
QUALITY = {
    "assertions": [
        {"type": "unique", "name": "unique", "columns": ["order_id"]},
        {"type": "not_null", "name": "not_null", "columns": ["amount"]},
        {"type": "between", "name": "between", "column": "amount", "min": MIN, "max": MAX},
        {
            "type": "accepted_values",
            "name": "accepted_values",
            "column": "status",
            "values": ACCEPTED,
        },
    ]
}
GX_TYPES = {
    "expect_column_values_to_be_unique": "unique",
    "expect_column_values_to_not_be_null": "not_null",
    "expect_column_values_to_be_between": "between",
    "expect_column_values_to_be_in_set": "accepted_values",
}
METHODS = ("pandas", "ours", "raw_gx")
WARM_UP_ROWS = 1000

# Targets from the issue.
RATIO_TARGET = 2.0  # ours / plain pandas, median, at sizes of at least RATIO_MIN_ROWS
RATIO_MIN_ROWS = 1_000_000
PER_NODE_TARGET_MS = 15.0  # ours at 1k rows
PER_NODE_ROWS = 1000
MEMORY_TARGET_X_FRAME = 1.0  # ours' peak extra memory / the frame's memory, at RATIO_MIN_ROWS+


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ------------------------------------------------------------------ sizes


@dataclass(frozen=True)
class Size:
    label: str
    rows: int


def parse_size(text: str) -> Size:
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kKmM]?)\s*", text)
    if not match:
        raise argparse.ArgumentTypeError(f"bad size '{text}' (e.g. 1k, 250k, 1M, 10M)")
    rows = int(float(match.group(1)) * {"": 1, "k": 1000, "m": 1_000_000}[match.group(2).lower()])
    if rows < 100:
        raise argparse.ArgumentTypeError(f"size '{text}' is below 100 rows")
    return Size(text.strip(), rows)


def default_repeat(rows: int) -> int:
    return 30 if rows <= 100_000 else 10 if rows <= 1_000_000 else 3


# ------------------------------------------------------------------ the frame


def defects(rows: int) -> dict[str, int]:
    """How many rows the generator breaks, per kind (``expected`` counts follow from these)."""
    return {
        "duplicate_pairs": max(1, rows // 500),
        "nan_amounts": max(1, rows // 100),
        "out_of_range_amounts": max(2, rows // 200),
        "unknown_statuses": max(1, rows // 1000),
        "null_statuses": max(1, rows // 2000),
    }


def expected_counts(rows: int) -> dict[str, int]:
    d = defects(rows)
    return {
        "unique": 2 * d["duplicate_pairs"],  # every row of a duplicate group counts
        "not_null": d["nan_amounts"],
        "between": d["out_of_range_amounts"],  # NaN is not out of range; 0 and 10000 are in
        "accepted_values": d["unknown_statuses"],  # nulls are not checked
    }


def make_frame(rows: int, seed: int = SEED) -> Any:
    """A deterministic orders frame with a known number of each defect."""
    import numpy as np
    import pandas as pd
    import pyarrow as pa

    rng = np.random.default_rng(seed)
    d = defects(rows)

    ids = np.arange(1_000_000_001, 1_000_000_001 + rows, dtype=np.int64)
    rng.shuffle(ids)
    pos = rng.choice(rows, 2 * d["duplicate_pairs"], replace=False)
    ids[pos[d["duplicate_pairs"] :]] = ids[pos[: d["duplicate_pairs"]]]  # each value twice

    amount = np.round(rng.uniform(MIN, MAX, rows), 2)
    n_nan, n_out = d["nan_amounts"], d["out_of_range_amounts"]
    pos = rng.choice(rows, n_nan + n_out + 2, replace=False)
    amount[pos[:n_nan]] = np.nan
    low, high = pos[n_nan : n_nan + n_out : 2], pos[n_nan + 1 : n_nan + n_out : 2]
    amount[low] = -np.round(rng.uniform(0.01, 500, len(low)), 2)
    amount[high] = MAX + np.round(rng.uniform(0.01, 5000, len(high)), 2)
    amount[pos[-2]], amount[pos[-1]] = MIN, MAX  # the bounds are inclusive: not violations

    names = [*ACCEPTED, *UNKNOWN]
    codes = rng.integers(0, len(ACCEPTED), rows, dtype=np.int8)
    pos = rng.choice(rows, d["unknown_statuses"] + d["null_statuses"], replace=False)
    unknown = pos[: d["unknown_statuses"]]
    codes[unknown] = len(ACCEPTED) + rng.integers(0, len(UNKNOWN), len(unknown), dtype=np.int8)
    nulls = np.zeros(rows, dtype=bool)
    nulls[pos[d["unknown_statuses"] :]] = True

    def strings(values: list[str], codes: Any, mask: Any = None) -> Any:
        # Through Arrow: fast, and the same dtype pandas gives strings read from files.
        arr = pa.DictionaryArray.from_arrays(pa.array(codes, mask=mask), pa.array(values))
        return pd.array(arr.cast(pa.string()), dtype="str")

    channels = ["web", "store", "phone", "partner"]
    base = np.datetime64("2024-01-01T00:00:00", "s")
    return pd.DataFrame(
        {
            "order_id": ids,
            "customer_id": rng.integers(1, 50_000, rows, dtype=np.int64),
            "order_date": base + rng.integers(0, 366 * 86400, rows).astype("timedelta64[s]"),
            "amount": amount,
            "quantity": rng.integers(1, 20, rows, dtype=np.int32),
            "discount": np.round(rng.uniform(0, 0.3, rows), 3),
            "status": strings(names, codes, nulls),
            "channel": strings(channels, rng.integers(0, len(channels), rows, dtype=np.int8)),
        }
    )


# ------------------------------------------------------------------ the three ways


def pandas_counts(frame: Any) -> dict[str, int]:
    """The four violation counts, vectorised plain pandas (nulls are only not_null's concern)."""
    ids = frame["order_id"].dropna()
    amount = frame["amount"]
    present = amount.dropna()
    status = frame["status"].dropna()
    return {
        "unique": int(ids.duplicated(keep=False).sum()),
        "not_null": int(amount.isna().sum()),
        "between": int((~present.between(MIN, MAX)).sum()),
        "accepted_values": int((~status.isin(ACCEPTED)).sum()),
    }


def _ours() -> tuple[Callable[[Any], Any], Callable[[Any], dict[str, Any]]]:
    from datetime import UTC, datetime

    from odibi_core.config.models import ProjectConfig
    from odibi_core.engines.pandas_engine import PandasEngine
    from odibi_quality.builtin_types import BUILTIN_TYPES
    from odibi_quality.config import QualityConfig
    from odibi_quality.types import CheckContext
    from odibi_quality.validate import run

    quality = QualityConfig.model_validate(QUALITY)
    types = {t.name: t for t in BUILTIN_TYPES}
    engine = PandasEngine(ProjectConfig(project="bench"))

    def validate(frame: Any) -> Any:
        ctx = CheckContext(pipeline="bench", node="orders", now=datetime.now(UTC))
        return run(engine, frame, quality, types, ctx, "bench.orders")

    def counts(validation: Any) -> dict[str, Any]:
        by_name = {r.name: r for r in validation.results}
        return {
            "counts": {a: by_name[a].violation_count for a in ASSERTIONS},
            "element_counts": {a: by_name[a].element_count for a in ASSERTIONS},
            "statuses": {a: by_name[a].status for a in ASSERTIONS},
            "messages": {a: by_name[a].message for a in ASSERTIONS if by_name[a].message},
        }

    return validate, counts


def _raw_gx() -> tuple[Callable[[Any], Any], Callable[[Any], dict[str, Any]]]:
    import great_expectations as gx
    import great_expectations.expectations as gxe

    definition: list[Any] = []

    def validate(frame: Any) -> Any:
        if not definition:  # the first call pays the context set-up, as a first node would
            context = gx.get_context(mode="ephemeral")
            definition.append(
                context.data_sources.add_pandas("bench")
                .add_dataframe_asset("frame")
                .add_batch_definition_whole_dataframe("whole")
            )
        batch = definition[0].get_batch(batch_parameters={"dataframe": frame})
        suite = gx.ExpectationSuite(
            name="bench.orders",
            expectations=[
                gxe.ExpectColumnValuesToBeUnique(column="order_id"),
                gxe.ExpectColumnValuesToNotBeNull(column="amount"),
                gxe.ExpectColumnValuesToBeBetween(column="amount", min_value=MIN, max_value=MAX),
                gxe.ExpectColumnValuesToBeInSet(column="status", value_set=ACCEPTED),
            ],
        )
        return batch.validate(suite)

    def counts(result: Any) -> dict[str, Any]:
        out: dict[str, Any] = {"counts": {}, "element_counts": {}, "success": {}}
        for res in result.results:
            name = GX_TYPES[res.expectation_config.type]
            out["counts"][name] = int((res.result or {}).get("unexpected_count") or 0)
            out["element_counts"][name] = int((res.result or {}).get("element_count") or 0)
            out["success"][name] = bool(res.success)
        return out

    return validate, counts


def _pandas() -> tuple[Callable[[Any], Any], Callable[[Any], dict[str, Any]]]:
    return pandas_counts, lambda counts: {"counts": counts}


# ------------------------------------------------------------------ memory (Linux /proc)


def _status_kib(key: str) -> int | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def _reset_peak() -> bool:
    """Reset the kernel's peak-RSS mark (VmHWM) of this process; False where unsupported."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return False
    return _status_kib("VmHWM") is not None


def _release_free_memory() -> None:
    """Hand freed memory back to the OS, so RSS is the live set before a measurement."""
    gc.collect()
    if "pyarrow" in sys.modules:
        with contextlib.suppress(Exception):
            sys.modules["pyarrow"].default_memory_pool().release_unused()
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)


def _maxrss_bytes() -> int:
    scale = 1 if sys.platform == "darwin" else 1024  # bytes on macOS, KiB elsewhere
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


def measured_call(
    fn: Callable[[Any], Any], frame: Any, summarize: Callable[[Any], dict[str, Any]]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Call ``fn(frame)`` once; ``summarize`` its result, and its time and the peak memory it
    added above the live set (``retained_bytes``: still held once the result is dropped).

    Primary: RSS before vs the kernel's peak-RSS mark, reset just before the call (counts
    numpy, Arrow and every other allocation, Linux only). Secondary: the ``ru_maxrss`` rise,
    which is the same as comparing with a child that only builds the frame, but reads 0 when
    the call's peak stays under the frame generator's transient peak.
    """
    _release_free_memory()
    rss_before = _status_kib("VmRSS")
    maxrss_before = _maxrss_bytes()
    resettable = _reset_peak()
    start = time.perf_counter()
    result = fn(frame)
    elapsed = (time.perf_counter() - start) * 1000
    hwm = _status_kib("VmHWM") if resettable else None
    summary = summarize(result)
    del result
    # Resetting VmHWM resets ru_maxrss too: it now reads the call's own peak. A fresh child
    # that only built the frame would read maxrss_before, one that also ran the call the larger.
    maxrss_delta = max(0, _maxrss_bytes() - maxrss_before)
    _release_free_memory()
    rss_after = _status_kib("VmRSS")
    memory: dict[str, Any] = {
        "method": "VmHWM reset" if hwm is not None else "ru_maxrss delta",
        "peak_extra_bytes": (hwm - rss_before) * 1024
        if hwm is not None and rss_before is not None
        else maxrss_delta,
        "maxrss_delta_bytes": maxrss_delta,
        "retained_bytes": (rss_after - rss_before) * 1024
        if rss_after is not None and rss_before is not None
        else None,
    }
    return summary, {"first_ms": round(elapsed, 2), **memory}


# ------------------------------------------------------------------ one child process


def child(method: str, rows: int, repeat: int, profile: bool) -> dict[str, Any]:
    """Everything measured for one method at one size, in this (fresh) process."""
    started = time.perf_counter()
    frame = make_frame(rows)
    frame_ms = (time.perf_counter() - started) * 1000
    tiny = make_frame(WARM_UP_ROWS, seed=SEED + 1)
    out: dict[str, Any] = {
        "frame_bytes": int(frame.memory_usage(deep=True).sum()),
        "checked_columns_bytes": int(
            frame[["order_id", "amount", "status"]].memory_usage(deep=True).sum()
        ),
        "dtypes": {c: str(t) for c, t in frame.dtypes.items()},
        "frame_build_ms": round(frame_ms, 1),
    }

    start = time.perf_counter()
    validate, counts = {"pandas": _pandas, "ours": _ours, "raw_gx": _raw_gx}[method]()
    out["import_ms"] = round((time.perf_counter() - start) * 1000, 1)
    gx_before = "great_expectations" in sys.modules
    start = time.perf_counter()
    validate(tiny)  # warm-up: GX's import (ours: lazy) and context set-up
    out["warm_up_ms"] = round((time.perf_counter() - start) * 1000, 1)
    out["gx_imported_before_first_validation"] = gx_before

    # The first full-size call: untimed for the medians (a per-size warm-up), measured for memory.
    summary, memory = measured_call(validate, frame, counts)
    out["memory"] = memory
    out.update(summary)

    if method == "raw_gx" and memory["first_ms"] * (repeat + 1) > 150_000:
        repeat = max(1, int(120_000 / memory["first_ms"]))  # keep a child near two minutes
        out["repeat_capped_to"] = repeat
    # GX children also time plain pandas, interleaved (alternating which goes first), so the
    # ratio compares the two under the same machine load.
    runs = {"self": validate} if method == "pandas" else {"self": validate, "pandas": pandas_counts}
    samples: dict[str, list[float]] = {name: [] for name in runs}
    for i in range(repeat):
        for name in runs if i % 2 == 0 else reversed(runs):
            gc.collect()
            start = time.perf_counter()
            runs[name](frame)
            samples[name].append((time.perf_counter() - start) * 1000)
    out["samples_ms"] = [round(s, 2) for s in samples["self"]]
    if "pandas" in samples:
        out["pandas_samples_ms"] = [round(s, 2) for s in samples["pandas"]]

    if profile:
        out["profile"] = _profile(validate, frame, calls=20 if rows <= 10_000 else 1)
    return out


def _profile(validate: Callable[[Any], Any], frame: Any, calls: int, top: int = 12) -> Any:
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(calls):
        validate(frame)
    profiler.disable()
    stats: Any = pstats.Stats(profiler)
    rows = []
    for (filename, line, func), (_, ncalls, tottime, cumtime, _) in stats.stats.items():
        rows.append((_where(filename, line, func), ncalls, tottime, cumtime))
    total = stats.total_tt

    def ranked(key: int) -> list[dict[str, Any]]:
        best = sorted(rows, key=lambda r: r[key], reverse=True)
        return [
            {
                "function": r[0],
                "calls_per_validation": round(r[1] / calls, 1),
                "cum_ms": round(r[3] * 1000 / calls, 2),
                "self_ms": round(r[2] * 1000 / calls, 2),
            }
            for r in best
            if not r[0].startswith("benchmarks/quality.py")
        ][:top]

    return {
        "calls": calls,
        "profiled_ms_per_validation": round(total * 1000 / calls, 2),
        "top_cumulative": ranked(3),
        "top_self": ranked(2),
    }


def _where(filename: str, line: int, func: str) -> str:
    if filename == "~":
        return func  # a builtin
    for marker in ("site-packages/", "/src/", f"/lib/python{sys.version_info[0]}."):
        if marker in filename:
            filename = filename.rsplit(marker, 1)[1]
            if marker.startswith("/lib/"):
                filename = filename.split("/", 1)[1]  # "11/re/_parser.py": the stdlib
            break
    if filename.endswith("benchmarks/quality.py"):
        filename = "benchmarks/quality.py"
    return f"{filename}:{line}({func})"


def run_child(
    method: str, size: Size, repeat: int, profile: bool, src: Path | None = None
) -> dict[str, Any]:
    """One child process; ``src``: a ``src/`` directory imported instead of the installed one."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as handle:
        out_path = Path(handle.name)
    cmd = [sys.executable, __file__, "--child", method, "--rows", str(size.rows)]
    cmd += ["--repeat", str(repeat), "--child-out", str(out_path)]
    if profile:
        cmd.append("--profile")
    label = method if src is None else f"{method} from {src}"
    _progress(f"{size.label}: {label} ({repeat}x)")
    env = _env()
    if src is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(src), env.get("PYTHONPATH")]))
    start = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
        if proc.returncode != 0:
            sys.exit(f"quality.py: {label} at {size.label} failed\n{proc.stderr[-3000:]}")
        result: dict[str, Any] = json.loads(out_path.read_text())
    finally:
        out_path.unlink(missing_ok=True)
    result["child_wall_s"] = round(time.perf_counter() - start, 1)
    return result


def export_src(revision: str, into: Path) -> Path:
    """``src/`` of the repository at ``revision``, written under ``into``."""
    repo = Path(__file__).resolve().parent.parent
    archive = subprocess.run(
        ["git", "-C", str(repo), "archive", revision, "src"], capture_output=True, check=False
    )
    if archive.returncode != 0:
        sys.exit(f"quality.py: git archive {revision} failed\n{archive.stderr.decode()[-2000:]}")
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    return into / "src"


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("ODIBI_VERBOSE", None)
    return env


# ------------------------------------------------------------------ imports


def gx_import_times(repeat: int) -> dict[str, Any]:
    """``import great_expectations`` in fresh processes: alone, after what a run has, and the
    way Odibi imports it (``gx_runner.import_gx``: trimmed), interleaved round by round."""
    code = (
        "import time, sys\n{pre}\nt = time.perf_counter()\n{importing}\n"
        "print((time.perf_counter() - t) * 1000)"
    )
    plain = "import great_expectations"
    after_run = "import numpy, pandas, pyarrow"
    variants = {
        "cold": ("", plain),
        "after_pandas_pyarrow": (after_run, plain),
        "odibi_after_pandas_pyarrow": (
            f"{after_run}\nfrom odibi_quality import gx_runner",
            "gx_runner.import_gx()",
        ),
    }
    out: dict[str, Any] = {}
    commands = {
        label: [sys.executable, "-c", code.format(pre=pre, importing=importing)]
        for label, (pre, importing) in variants.items()
    }
    for cmd in commands.values():
        subprocess.run(cmd, capture_output=True, check=True, env=_env())  # OS cache, pycache
    _progress(f"import great_expectations ({', '.join(variants)}; {repeat}x)")
    samples_by: dict[str, list[float]] = {label: [] for label in variants}
    for _ in range(repeat):
        for label, cmd in commands.items():
            samples_by[label].append(float(_check_output(cmd)))
    for label, samples in samples_by.items():
        out[f"{label}_median_ms"] = round(statistics.median(samples), 1)
        out[f"{label}_samples_ms"] = [round(s, 1) for s in samples]
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code.format(pre="", importing=plain)],
        capture_output=True,
        text=True,
        check=True,
    )
    rows = []
    for line in proc.stderr.splitlines():
        if line.startswith("import time:") and "self [us]" not in line:
            self_us, cumulative_us, module = line.removeprefix("import time:").split("|", 2)
            rows.append((module.strip(), int(self_us) / 1000, int(cumulative_us) / 1000))
    top_level = [r for r in rows if not r[0].startswith((" ", "great_expectations."))]
    out["importtime_top_level_cumulative"] = [
        {"module": m, "ms": round(c, 1)} for m, _, c in sorted(top_level, key=lambda r: -r[2])[:8]
    ]
    out["importtime_top_self"] = [
        {"module": m.strip(), "ms": round(s, 1)}
        for m, s, _ in sorted(rows, key=lambda r: -r[1])[:8]
    ]
    return out


def _check_output(cmd: list[str]) -> str:
    return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip()


LAZY_PROJECT = """\
project: lazy_import
retry: {{enabled: false}}
connections: {{d: {{type: local, base_path: .}}}}
pipelines:
  - pipeline: orders
    nodes:
      - name: orders
        read: {{connection: d, format: csv, path: orders.csv}}
{quality}        write: {{connection: d, format: parquet, path: orders.parquet}}
"""
LAZY_QUALITY = """\
        quality:
          assertions:
            - {type: not_null, columns: [order_id]}
"""
LAZY_DRIVER = """\
import json, sys, time
start = time.perf_counter()
from odibi_core.runner.api import run_project
results = run_project("odibi.yaml")
print(json.dumps({
    "status": [r.status for r in results],
    "wall_ms": round((time.perf_counter() - start) * 1000, 1),
    "gx_imported": "great_expectations" in sys.modules,
    "gx_modules": sum(1 for m in sys.modules if m.split(".")[0] == "great_expectations"),
    "quality_plugin_loaded": "odibi_quality.plugin" in sys.modules,
    "quality_checks": sorted(
        {k for r in results for n in r.nodes.values() for k in n.checks}
    ),
}))
"""


def lazy_import_check() -> dict[str, Any]:
    """A project run (``run_project``) imports GX only when a node has quality checks."""
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="odibi-quality-bench-") as tmp:
        for label, quality in (("without_quality", ""), ("with_quality", LAZY_QUALITY)):
            where = Path(tmp) / label
            where.mkdir()
            (where / "odibi.yaml").write_text(LAZY_PROJECT.format(quality=quality))
            lines = ["order_id,amount,status"] + [f"{i},{i * 1.5},paid" for i in range(1, 21)]
            (where / "orders.csv").write_text("\n".join(lines) + "\n")
            _progress(f"lazy import: project run {label}")
            proc = subprocess.run(
                [sys.executable, "-c", LAZY_DRIVER],
                cwd=where,
                capture_output=True,
                text=True,
                env=_env(),
                check=False,
            )
            if proc.returncode != 0:
                sys.exit(f"quality.py: project run {label} failed\n{proc.stderr[-3000:]}")
            out[label] = json.loads(proc.stdout.strip().splitlines()[-1])
    without, with_ = out["without_quality"], out["with_quality"]
    out["pass"] = (
        without["quality_plugin_loaded"]
        and not without["gx_imported"]
        and with_["gx_imported"]  # the positive control: the check can see an import
        and with_["status"] == ["SUCCESS"]
        and without["status"] == ["SUCCESS"]
    )
    return out


# ------------------------------------------------------------------ whole runs: the fixed cost

RUN_PROJECT = """\
project: fixed_cost
retry: {{enabled: false}}
connections: {{d: {{type: local, base_path: ..}}}}
pipelines:
  - pipeline: orders
    nodes:
      - name: orders
        read: {{connection: d, format: csv, path: orders.csv}}
{quality}        write: {{connection: d, format: parquet, path: {out}.parquet}}
"""
RUN_DRIVER = """\
import json, sys, time
start = time.perf_counter()
from odibi_core.runner.api import run_project
results = run_project("odibi.yaml")
print(json.dumps({
    "status": [r.status for r in results],
    "in_process_ms": round((time.perf_counter() - start) * 1000, 1),
    "gx_imported": "great_expectations" in sys.modules,
    "modules": len(sys.modules),
}))
"""
FIXED_COST_TARGET_MS = 300.0  # with checks minus without, at RUN_FIXED_ROWS
RUN_FIXED_ROWS = 1000
RUN_RATIO_TARGET = 1.1  # with / without checks, at RUN_RATIO_ROWS
RUN_RATIO_ROWS = 100_000


def _quality_yaml() -> str:
    lines = ["        quality:", "          assertions:"]
    # Warn: the frame's known defects must not stop the write (that would make it cheaper).
    lines += [
        f"            - {json.dumps({**a, 'severity': 'warn'})}" for a in QUALITY["assertions"]
    ]
    return "\n".join(lines) + "\n"


def project_runs(size: Size, repeat: int, baseline_src: Path | None) -> dict[str, Any]:
    """``odibi run``'s whole cost with and without the four checks: each sample the
    ``odibi run`` console script on the project (interpreter start, imports, read CSV, check,
    write parquet, catalog, story, exit). Variants are interleaved, rotating which goes
    first, so they share the machine's load; with a baseline the same two projects also run
    on its ``src/``."""
    variants = [("without", False, None), ("with", True, None)]
    if baseline_src is not None:
        variants += [
            ("without_baseline", False, baseline_src),
            ("with_baseline", True, baseline_src),
        ]
    samples: dict[str, list[float]] = {name: [] for name, _, _ in variants}
    seen: dict[str, Any] = {}
    odibi = Path(sys.executable).with_name("odibi")  # the console script users run
    with tempfile.TemporaryDirectory(prefix="odibi-quality-runs-") as tmp:
        root = Path(tmp)
        make_frame(size.rows).to_csv(root / "orders.csv", index=False)
        for name, checked, _ in variants:
            (root / name).mkdir()
            (root / name / "odibi.yaml").write_text(
                RUN_PROJECT.format(quality=_quality_yaml() if checked else "", out=name)
            )
        _progress(f"project runs at {size.label}: {len(variants)} variants x {repeat}")
        for i in range(repeat + 1):  # the first round warms the OS cache and pycache
            order = variants[i % len(variants) :] + variants[: i % len(variants)]
            for name, _, src in order:
                env = _env()
                if src is not None:
                    env["PYTHONPATH"] = str(src) + os.pathsep + env.get("PYTHONPATH", "")
                start = time.perf_counter()
                proc = subprocess.run(
                    [str(odibi), "run", "odibi.yaml"],
                    cwd=root / name,
                    capture_output=True,
                    text=True,
                    env=env,
                    check=False,
                )
                wall = (time.perf_counter() - start) * 1000
                if proc.returncode != 0:
                    sys.exit(f"quality.py: odibi run {name} failed\n{proc.stderr[-3000:]}")
                if i:
                    samples[name].append(wall)
        for name, _, src in variants:  # what each variant's process imports, once
            env = _env()
            if src is not None:
                env["PYTHONPATH"] = str(src) + os.pathsep + env.get("PYTHONPATH", "")
            proc = subprocess.run(
                [sys.executable, "-c", RUN_DRIVER],
                cwd=root / name,
                capture_output=True,
                text=True,
                env=env,
                check=True,
            )
            seen[name] = json.loads(proc.stdout.strip().splitlines()[-1])
    out: dict[str, Any] = {"rows": size.rows, "repeat": repeat}
    for name, _, _ in variants:
        out[name] = {**_timing(samples[name]), "samples_ms": [round(x, 1) for x in samples[name]]}
        out[name]["last_process"] = seen[name]
    for suffix in ("", "_baseline"):
        if f"with{suffix}" in out:
            with_, without = out[f"with{suffix}"]["median_ms"], out[f"without{suffix}"]["median_ms"]
            out[f"fixed_cost_ms{suffix}"] = round(with_ - without, 1)
            out[f"ratio_with_to_without{suffix}"] = _ratio(with_, without)
    return out


# ------------------------------------------------------------------ the report


def _timing(samples: list[float]) -> dict[str, Any]:
    p90 = statistics.quantiles(samples, n=10, method="inclusive")[8] if len(samples) > 1 else None
    return {
        "median_ms": round(statistics.median(samples), 2),
        "p90_ms": round(p90 if p90 is not None else samples[0], 2),
        "min_ms": round(min(samples), 2),
        "max_ms": round(max(samples), 2),
        "n": len(samples),
    }


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 2) if a is not None and b else None


def size_report(size: Size, results: dict[str, dict[str, Any]]) -> dict[str, Any]:
    first = next(iter(results.values()))
    frame_bytes = first["frame_bytes"]
    out: dict[str, Any] = {
        "rows": size.rows,
        "frame_bytes": frame_bytes,
        "checked_columns_bytes": first["checked_columns_bytes"],
    }
    medians: dict[str, float] = {}
    for method, res in results.items():
        mem = res["memory"]
        entry = {
            **_timing(res["samples_ms"]),
            "first_full_size_ms": mem["first_ms"],
            "warm_up_1k_ms": res["warm_up_ms"],
            "import_ms": res["import_ms"],
            "peak_extra_bytes": mem["peak_extra_bytes"],
            "peak_extra_x_frame": round(mem["peak_extra_bytes"] / frame_bytes, 3),
            "retained_bytes": mem["retained_bytes"],
            "memory_method": mem["method"],
            "maxrss_delta_bytes": mem["maxrss_delta_bytes"],
            "child_wall_s": res["child_wall_s"],
        }
        if "pandas_samples_ms" in res:
            same = _timing(res["pandas_samples_ms"])
            entry["pandas_same_process"] = {k: same[k] for k in ("median_ms", "p90_ms")}
            entry["ratio_to_pandas_same_process"] = _ratio(entry["median_ms"], same["median_ms"])
        if "repeat_capped_to" in res:
            entry["repeat_capped_to"] = res["repeat_capped_to"]
        if method in ("ours", "ours_baseline"):
            entry["statuses"] = res["statuses"]
            entry["gx_imported_before_first_validation"] = res[
                "gx_imported_before_first_validation"
            ]
            if res.get("messages"):
                entry["messages"] = res["messages"]
        out[method] = entry
        medians[method] = entry["median_ms"]
    # Against pandas timed interleaved in the same process (same load); the pandas child's
    # own median is the second reference.
    for method in ("ours", "raw_gx"):
        if method in out:
            out[f"ratio_{method}_to_pandas"] = out[method]["ratio_to_pandas_same_process"]
            out[f"ratio_{method}_to_pandas_child"] = _ratio(medians[method], medians.get("pandas"))
    out["ratio_raw_gx_to_ours"] = _ratio(medians.get("raw_gx"), medians.get("ours"))
    if "ours_baseline" in out:
        base = out["ours_baseline"]
        out["ratio_ours_baseline_to_pandas"] = base["ratio_to_pandas_same_process"]
        # Above 1: ours is faster than the baseline revision (medians, then same-process ratios).
        out["speedup_ours_vs_baseline"] = _ratio(medians["ours_baseline"], medians["ours"])
        out["speedup_ours_vs_baseline_by_pandas_ratio"] = _ratio(
            base["ratio_to_pandas_same_process"], out["ours"]["ratio_to_pandas_same_process"]
        )

    expected = expected_counts(size.rows)
    counts: dict[str, Any] = {}
    for name in ASSERTIONS:
        row: dict[str, Any] = {"expected": expected[name]}
        for method, res in results.items():
            row[method] = res["counts"].get(name)
            if "element_counts" in res:
                row[f"{method}_element_count"] = res["element_counts"].get(name)
        row["ours_equals_pandas"] = row.get("ours") == row.get("pandas")
        if "ours_baseline" in results:
            row["ours_baseline_equals_pandas"] = row["ours_baseline"] == row.get("pandas")
        if "raw_gx" in results:
            row["raw_gx_equals_pandas"] = row["raw_gx"] == row.get("pandas")
        counts[name] = row
    out["violation_counts"] = counts
    out["ours_counts_equal_pandas"] = all(r["ours_equals_pandas"] for r in counts.values())
    out["pandas_counts_equal_expected"] = all(r["pandas"] == r["expected"] for r in counts.values())
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1k,1M,10M", help="rows per frame (default 1k,1M,10M)")
    parser.add_argument(
        "--repeat",
        type=int,
        metavar="N",
        help="timed runs per method and size (default: 30 up to 100k rows, 10 to 1M, else 3)",
    )
    parser.add_argument(
        "--raw-gx-max-rows",
        type=parse_size,
        default=parse_size("10M"),
        metavar="SIZE",
        help="measure raw GX only up to this size (default 10M)",
    )
    parser.add_argument(
        "--baseline",
        metavar="REV",
        help="also time ours with src/ as of this git revision (ours_baseline)",
    )
    parser.add_argument("--no-profile", action="store_true", help="skip the cProfile section")
    runs_flags = parser.add_mutually_exclusive_group()
    runs_flags.add_argument(
        "--no-runs", action="store_true", help="skip the whole-run fixed cost (project_runs)"
    )
    runs_flags.add_argument(
        "--only-runs",
        action="store_true",
        help="measure only the whole-run fixed cost (project_runs), not the validations",
    )
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--child", choices=METHODS, help=argparse.SUPPRESS)
    parser.add_argument("--rows", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--child-out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--profile", action="store_true", help=argparse.SUPPRESS)
    args, unknown = parser.parse_known_args(argv)
    if args.child:
        result = child(args.child, args.rows, args.repeat, args.profile)
        args.child_out.write_text(json.dumps(result))
        return 0
    if unknown:  # `nox -s bench -- ...` passes the same arguments to every benchmark
        _progress(f"ignoring arguments meant for other benchmarks: {' '.join(unknown)}")
    if args.repeat is not None and args.repeat < 1:
        parser.error("--repeat must be at least 1")
    try:
        sizes = [parse_size(s) for s in args.sizes.split(",") if s.strip()]
    except argparse.ArgumentTypeError as exc:
        parser.error(str(exc))
    if not sizes:
        parser.error("--sizes is empty")
    sizes.sort(key=lambda s: s.rows)

    started = time.perf_counter()
    report: dict[str, Any] = {
        "benchmark": "quality",
        "unit": "ms; bytes",
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "versions": {
            name: metadata.version(name)
            for name in ("pandas", "numpy", "pyarrow", "great_expectations")
        },
        "assertions": QUALITY["assertions"],
        "targets": {
            "ratio_ours_to_pandas_max": RATIO_TARGET,
            "ratio_applies_from_rows": RATIO_MIN_ROWS,
            "ours_ms_per_node_at_1k_max": PER_NODE_TARGET_MS,
            "peak_extra_memory_x_frame_max": MEMORY_TARGET_X_FRAME,
            "memory_applies_from_rows": RATIO_MIN_ROWS,
            "gx_imported_only_with_quality_checks": True,
            "violation_counts_equal_pandas": True,
            "run_fixed_cost_ms_max": FIXED_COST_TARGET_MS,
            "run_fixed_cost_at_rows": RUN_FIXED_ROWS,
            "run_ratio_with_to_without_max": RUN_RATIO_TARGET,
            "run_ratio_at_rows": RUN_RATIO_ROWS,
        },
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "sizes": {},
    }
    profiles: dict[str, Any] = {}
    with contextlib.ExitStack() as stack:
        baseline_src = None
        if args.baseline:
            where = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="odibi-base-")))
            baseline_src = export_src(args.baseline, where)
            report["baseline"] = {
                "revision": args.baseline,
                "commit": _check_output(
                    ["git", "-C", str(Path(__file__).parent), "rev-parse", args.baseline]
                ),
            }
        for size in sizes:
            repeat = args.repeat or default_repeat(size.rows)
            results = {}
            for method in () if args.only_runs else METHODS:
                if method == "raw_gx" and size.rows > args.raw_gx_max_rows.rows:
                    continue
                if method == "ours" and baseline_src is not None:
                    # Right before ours, so the two see the most similar machine load.
                    results["ours_baseline"] = run_child(method, size, repeat, False, baseline_src)
                profile = method == "ours" and size.rows <= 1_000_000 and not args.no_profile
                results[method] = run_child(method, size, repeat, profile)
                if "profile" in results[method]:
                    profiles[size.label] = results[method].pop("profile")
            if results:
                report["sizes"][size.label] = {"repeat": repeat, **size_report(size, results)}
                report.setdefault("frame_dtypes", next(iter(results.values()))["dtypes"])
            if not args.no_runs:
                runs = project_runs(size, args.repeat or 5, baseline_src)
                report.setdefault("project_runs", {})[size.label] = runs

    report["gx_import"] = gx_import_times(repeat=3)
    if not args.only_runs:
        report["lazy_import"] = lazy_import_check()

    checks: dict[str, Any] = {}
    for label, data in report["sizes"].items():
        if data["rows"] >= RATIO_MIN_ROWS:
            checks[f"ratio_{label}"] = data["ratio_ours_to_pandas"] <= RATIO_TARGET
            checks[f"memory_{label}"] = data["ours"]["peak_extra_x_frame"] <= MEMORY_TARGET_X_FRAME
        if data["rows"] == PER_NODE_ROWS:
            checks[f"ms_per_node_{label}"] = data["ours"]["median_ms"] <= PER_NODE_TARGET_MS
        checks[f"counts_{label}"] = data["ours_counts_equal_pandas"]
    for label, runs in report.get("project_runs", {}).items():
        if runs["rows"] == RUN_FIXED_ROWS:
            checks[f"run_fixed_cost_{label}"] = runs["fixed_cost_ms"] <= FIXED_COST_TARGET_MS
        if runs["rows"] == RUN_RATIO_ROWS:
            checks[f"run_ratio_{label}"] = runs["ratio_with_to_without"] <= RUN_RATIO_TARGET
    if "lazy_import" in report:
        checks["gx_lazy_import"] = report["lazy_import"]["pass"]
    checks["all"] = all(checks.values())
    report["pass"] = checks
    if profiles:
        report["profile_ours"] = profiles
    report["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    report["total_wall_s"] = round(time.perf_counter() - started, 1)
    print(json.dumps(report, indent=2))
    return 1 if args.check and not checks["all"] else 0


if __name__ == "__main__":
    sys.exit(main())
