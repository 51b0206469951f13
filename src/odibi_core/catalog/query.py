"""Catalog queries that read only the partitions and files they need.

Pruning uses what Delta keeps per file: partition values and min/max statistics. The pyarrow
dataset built from a snapshot carries both as each fragment's guarantee, so asking it for the
fragments matching a filter skips the rest without opening them. ``last_run`` goes further and
reads a pipeline's files newest-first by their ``timestamp`` maximum, stopping as soon as no
remaining file can hold a newer run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from odibi_core.catalog import tables as t
from odibi_core.errors import OdibiError

if TYPE_CHECKING:
    from odibi_core.catalog.manager import Catalog
    from odibi_core.catalog.snapshots import Snapshot


@dataclass
class QueryStats:
    """What a query touched: tests and ``--format json`` show it."""

    table: str
    version: int | None = None
    files_total: int = 0
    files_read: int = 0
    rows_read: int = 0
    read_paths: list[str] = field(default_factory=list)


@dataclass
class QueryResult:
    rows: list[dict[str, Any]]
    stats: QueryStats


_SINCE = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$")
_UNIT = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_since(value: str | None, now: datetime | None = None) -> datetime | None:
    """``7d``, ``12h``, ``30m``, ``2w`` or an ISO date/time (UTC if no zone)."""
    if not value:
        return None
    now = now or datetime.now(UTC)
    match = _SINCE.match(value)
    if match:
        return now - timedelta(**{_UNIT[match.group(2)]: int(match.group(1))})
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise OdibiError(
            f"--since '{value}' is not a duration (7d, 12h, 30m, 2w) or an ISO date"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def scan(
    catalog: Catalog,
    table: str,
    *,
    pipeline: str | None = None,
    since: datetime | None = None,
    equals: dict[str, Any] | None = None,
    columns: list[str] | None = None,
) -> QueryResult:
    """Rows of ``table`` matching the filters, reading only the files that may hold them."""
    import pyarrow as pa

    snap = catalog.snapshot(table)
    stats = QueryStats(table)
    if snap is None:
        return QueryResult([], stats)
    expr = _filter(snap, pipeline, since, equals)
    dataset = snap.dataset(pipeline)
    stats.version = snap.version
    stats.files_total = _file_count(snap)
    fragments = (
        list(dataset.get_fragments(filter=expr))
        if expr is not None
        else list(dataset.get_fragments())
    )
    parts = []
    for fragment in fragments:
        part = fragment.to_table(schema=dataset.schema, columns=columns, filter=expr)
        stats.read_paths.append(fragment.path)
        parts.append(part)
    stats.files_read = len(fragments)
    data = pa.concat_tables(parts) if parts else dataset.schema.empty_table()
    if columns and not parts:
        data = data.select(columns)
    stats.rows_read = data.num_rows
    return QueryResult(data.to_pylist(), stats)


def runs(
    catalog: Catalog,
    pipeline: str | None = None,
    since: datetime | None = None,
    status: str | None = None,
    scope: str = "pipeline",
) -> QueryResult:
    """Runs newest first (pipeline rows, node rows or both)."""
    equals: dict[str, Any] = {}
    if scope != "all":
        equals["scope"] = scope
    if status:
        equals["status"] = status.upper()
    result = scan(catalog, t.META_RUNS, pipeline=pipeline, since=since, equals=equals)
    result.rows.sort(key=lambda r: r["timestamp"], reverse=True)
    return result


def last_run(catalog: Catalog, pipeline: str) -> QueryResult:
    """The newest pipeline-scope run of ``pipeline``, reading as few files as possible."""
    import pyarrow.compute as pc

    expr = (pc.field("pipeline_name") == pipeline) & (pc.field("scope") == "pipeline")
    opened = _newest_first(catalog, pipeline, expr)
    if isinstance(opened, QueryStats):
        return QueryResult([], opened)
    dataset, fragments, newest_first, stats = opened
    # First find the newest timestamp reading two columns only, then fetch that one row.
    newest: Any = None
    holder: Any = None
    for path, max_ts in newest_first:
        if newest is not None and max_ts is not None and max_ts < newest:
            break  # no older file can hold a newer run
        fragment = fragments.get(path)
        if fragment is None:
            continue  # pruned: holds no pipeline-scope rows of this pipeline
        times = fragment.to_table(schema=dataset.schema, columns=["timestamp"], filter=expr)
        stats.files_read += 1
        stats.read_paths.append(path)
        stats.rows_read += times.num_rows
        if times.num_rows:
            latest = pc.max(times.column("timestamp")).as_py()
            if newest is None or latest > newest:
                newest, holder = latest, fragment
    if holder is None:
        return QueryResult([], stats)
    row = holder.to_table(schema=dataset.schema, filter=expr & (pc.field("timestamp") == newest))
    return QueryResult(row.slice(0, 1).to_pylist(), stats)


def last_runs(catalog: Catalog) -> QueryResult:
    """The newest pipeline run of every pipeline in the catalog."""
    rows: list[dict[str, Any]] = []
    stats = QueryStats(t.META_RUNS)
    for pipeline in pipelines(catalog):
        result = last_run(catalog, pipeline)
        rows.extend(result.rows)
        stats.version = result.stats.version
        stats.files_total = result.stats.files_total
        stats.files_read += result.stats.files_read
        stats.rows_read += result.stats.rows_read
    rows.sort(key=lambda r: r["timestamp"], reverse=True)
    return QueryResult(rows, stats)


def node_runs(
    catalog: Catalog,
    pipeline: str,
    since: datetime | None = None,
    columns: list[str] | None = None,
) -> QueryResult:
    """Node-scope runs of one pipeline, newest first."""
    result = scan(
        catalog,
        t.META_RUNS,
        pipeline=pipeline,
        since=since,
        equals={"scope": "node"},
        columns=columns,
    )
    result.rows.sort(key=lambda r: r["timestamp"], reverse=True)
    return result


def recent_node_runs(
    catalog: Catalog,
    pipeline: str,
    runs: int,
    columns: list[str],
    *,
    exclude_run: str | None = None,
    want_success: set[str] | None = None,
    since: datetime | None = None,
) -> QueryResult:
    """Node-scope rows of the newest ``runs`` runs of ``pipeline``, newest first, plus the
    newest SUCCESS row of each node in ``want_success`` found further back (not before
    ``since``, and not past the newest ``10 * runs`` runs: a node that never succeeded must
    not make every call read the whole history).

    Reads the pipeline's files newest-first by their ``timestamp`` maximum and stops once no
    unread file can hold a newer run, so the cost follows ``runs``, not the history's length.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    expr = (pc.field("pipeline_name") == pipeline) & (pc.field("scope") == "node")
    if exclude_run is not None:
        expr = expr & (pc.field("run_id") != exclude_run)
    opened = _newest_first(catalog, pipeline, expr)
    if isinstance(opened, QueryStats):
        return QueryResult([], opened)
    dataset, fragments, newest_first, stats = opened
    wanted = list(dict.fromkeys([*columns, "run_id", "node_name", "status", "timestamp"]))
    run_ends: dict[str, Any] = {}  # run_id -> its newest row's timestamp
    missing = set(want_success or ())
    parts = []
    for path, max_ts in newest_first:
        if max_ts is not None and len(run_ends) >= runs:
            nth = sorted(run_ends.values(), reverse=True)[runs - 1]
            past_window = (since is not None and max_ts < since) or len(run_ends) >= 10 * runs
            if max_ts < nth and (not missing or past_window):
                break  # no older file holds a newer run, or a success still looked for
        fragment = fragments.get(path)
        if fragment is None:
            continue
        part = fragment.to_table(schema=dataset.schema, columns=wanted, filter=expr)
        stats.files_read += 1
        stats.read_paths.append(path)
        stats.rows_read += part.num_rows
        if not part.num_rows:
            continue
        parts.append(part)
        ends = part.group_by("run_id").aggregate([("timestamp", "max")])
        for run_id, end in zip(
            ends.column("run_id").to_pylist(), ends.column("timestamp_max").to_pylist(), strict=True
        ):
            if run_id not in run_ends or end > run_ends[run_id]:
                run_ends[run_id] = end
        if missing:
            ok = part.filter(pc.equal(part.column("status"), "SUCCESS"))
            missing -= set(pc.unique(ok.column("node_name")).to_pylist())
    if not parts:
        return QueryResult([], stats)
    data = pa.concat_tables(parts)
    newest = sorted(run_ends, key=lambda r: run_ends[r], reverse=True)[:runs]
    in_window = pc.is_in(data.column("run_id"), pa.array(newest, pa.string()))
    recent = data.filter(in_window)
    # Nodes with no success among the newest runs: their newest success from further back.
    found = set(
        pc.unique(
            recent.filter(pc.equal(recent.column("status"), "SUCCESS")).column("node_name")
        ).to_pylist()
    )
    older = data.filter(pc.invert(in_window))
    older = older.filter(pc.equal(older.column("status"), "SUCCESS"))
    extra = []
    if older.num_rows and (want_success or set()) - found:
        older = older.take(pc.sort_indices(older, [("timestamp", "descending")]))
        seen = set(found)
        for i, node in enumerate(older.column("node_name").to_pylist()):
            if node not in seen and node in (want_success or set()):
                seen.add(node)
                extra.append(i)
    rows = recent.to_pylist() + (older.take(extra).to_pylist() if extra else [])
    rows.sort(key=lambda r: r["timestamp"], reverse=True)
    return QueryResult(rows, stats)


def last_node_results(
    catalog: Catalog,
    pipeline: str,
    columns: list[str] | None = None,
    with_skipped: bool = False,
) -> dict[str, dict[str, Any]]:
    """Each node's most recent run; only runs that executed unless ``with_skipped``."""
    if columns is not None:
        columns = list(dict.fromkeys([*columns, "node_name", "status", "timestamp"]))
    latest: dict[str, dict[str, Any]] = {}
    for row in node_runs(catalog, pipeline, columns=columns).rows:
        if with_skipped or row["status"] != "SKIPPED":
            latest.setdefault(row["node_name"], row)
    return latest


def pipelines(catalog: Catalog) -> list[str]:
    """Pipelines with history, from partition values alone."""
    snap = catalog.snapshot(t.META_RUNS)
    if snap is None:
        return []
    actions = snap.actions()
    if "partition.pipeline_name" in actions.column_names:
        values = actions.column("partition.pipeline_name").to_pylist()
    else:
        values = [
            r["pipeline_name"] for r in scan(catalog, t.META_RUNS, columns=["pipeline_name"]).rows
        ]
    return sorted({v for v in values if v is not None})


def state(catalog: Catalog, pipeline: str | None = None) -> QueryResult:
    result = scan(catalog, t.META_STATE, pipeline=pipeline)
    result.rows.sort(key=lambda r: (r["pipeline_name"], r["node_name"], r["key"]))
    return result


def table_stats(catalog: Catalog) -> list[dict[str, Any]]:
    """Per table: version, files, rows, bytes, partitions, commits since the last checkpoint."""
    out = []
    for table in catalog.table_names():
        snap = catalog.snapshot(table)
        if snap is None:
            continue
        actions = snap.actions()
        partitions = {c for c in actions.column_names if c.startswith("partition.")}
        n_partitions = (
            len(set(zip(*(actions.column(c).to_pylist() for c in partitions), strict=True)))
            if partitions
            else 0
        )
        out.append(
            {
                "table": table,
                "version": snap.version,
                "files": actions.num_rows,
                "rows": sum(actions.column("num_records").to_pylist()),
                "bytes": sum(actions.column("size_bytes").to_pylist()),
                "partition_by": snap.partition_columns,
                "partitions": n_partitions,
                "commits_since_checkpoint": catalog.commits_since_checkpoint(table, snap.version),
            }
        )
    return out


def _filter(
    snap: Snapshot, pipeline: str | None, since: datetime | None, equals: dict[str, Any] | None
) -> Any:
    import pyarrow.compute as pc

    terms = []
    if pipeline is not None:
        terms.append(pc.field("pipeline_name") == pipeline)
    if since is not None:
        column = "timestamp" if "timestamp" in snap.schema.names else "updated_at"
        terms.append(pc.field(column) >= since)
    for name, value in (equals or {}).items():
        terms.append(pc.field(name) == value)
    if not terms:
        return None
    expr = terms[0]
    for term in terms[1:]:
        expr = expr & term
    return expr


def _file_count(snap: Snapshot) -> int:
    return int(snap.actions().num_rows)


def _newest_first(
    catalog: Catalog, pipeline: str, expr: Any
) -> tuple[Any, dict[str, Any], list[tuple[str, Any]], QueryStats] | QueryStats:
    """For reading one pipeline's ``meta_runs`` files newest first: the partition's dataset,
    its fragments matching ``expr`` by path, (path, max timestamp) newest first, and the
    query's stats; just the stats when the table does not exist."""
    snap = catalog.snapshot(t.META_RUNS)
    stats = QueryStats(t.META_RUNS)
    if snap is None:
        return stats
    stats.version = snap.version
    stats.files_total = _file_count(snap)
    dataset = snap.dataset(pipeline)
    fragments = {f.path: f for f in dataset.get_fragments(filter=expr)}
    return dataset, fragments, _files_by_newest(snap, pipeline), stats


def _files_by_newest(snap: Snapshot, pipeline: str) -> list[tuple[str, Any]]:
    """(path, max timestamp) of one pipeline's files, newest first; from the log alone."""
    actions = snap.actions()
    paths = actions.column("path").to_pylist()
    maxima = (
        actions.column("max.timestamp").to_pylist()
        if "max.timestamp" in actions.column_names
        else [None] * len(paths)
    )
    if "partition.pipeline_name" in actions.column_names:
        owners = actions.column("partition.pipeline_name").to_pylist()
    else:
        owners = [pipeline] * len(paths)  # unpartitioned: rely on the fragment filter
    files = [(p, m) for p, m, o in zip(paths, maxima, owners, strict=True) if o == pipeline]
    # Files without statistics sort first: they must be read to be ruled out.
    return sorted(files, key=_newest_key)


def _newest_key(item: tuple[str, Any]) -> tuple[int, float]:
    _, max_ts = item
    if max_ts is None:
        return (0, 0.0)
    return (1, -max_ts.timestamp())
