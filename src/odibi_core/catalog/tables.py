"""The System Catalog's own tables: names, schemas and layout (SPEC §3)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from odibi_core.catalog.spec import TableSpec

META_RUNS = "meta_runs"
META_STATE = "meta_state"
META_PIPELINES = "meta_pipelines"
META_NODES = "meta_nodes"

#: Delta table properties of every catalog table. Each run opens the tables it appends to,
#: replaying the log since the newest checkpoint (~0.3 ms per commit on top of ~4.5 ms), so
#: writers checkpoint every 10 commits (a few ms, once in ten) instead of Delta's default 100.
PROPERTIES = {"delta.checkpointInterval": "10"}


def schema(table: str) -> Any:
    """The pyarrow schema of a core table."""
    import pyarrow as pa

    ts = pa.timestamp("us", tz="UTC")
    s = pa.string()
    schemas = {
        META_RUNS: [
            ("run_id", s),
            ("project", s),
            ("pipeline_name", s),
            ("node_name", s),
            ("scope", s),
            ("status", s),
            ("started_at", ts),
            ("timestamp", ts),
            ("date", pa.date32()),
            ("duration_ms", pa.int64()),
            ("rows_in", pa.int64()),
            ("rows_out", pa.int64()),
            ("attempt", pa.int32()),
            ("error_type", s),
            ("error_message", s),
            ("dq_score", pa.float64()),
            ("version_hash", s),
            ("environment", s),
            ("trace_id", s),
            ("metrics_json", s),
        ],
        META_STATE: [
            ("pipeline_name", s),
            ("node_name", s),
            ("key", s),
            ("value", s),
            ("updated_at", ts),
        ],
        META_PIPELINES: [
            ("pipeline_name", s),
            ("version_hash", s),
            ("config_json", s),
            ("updated_at", ts),
        ],
        META_NODES: [
            ("pipeline_name", s),
            ("node_name", s),
            ("version_hash", s),
            ("config_json", s),
            ("updated_at", ts),
        ],
    }
    return pa.schema(schemas[table])


#: Merge keys of the tables that hold one row per thing. Every other catalog table, core's
#: ``meta_runs`` or any table a plugin fills, is a history table: it grows with each run, so
#: it is partitioned by pipeline (and date on request) and compacted in ``timestamp`` order.
KEYS = {
    META_STATE: ["pipeline_name", "node_name", "key"],
    META_PIPELINES: ["pipeline_name"],
    META_NODES: ["pipeline_name", "node_name"],
}


def is_history(table: str) -> bool:
    return table not in KEYS


def partitioning(table: str, by_date: bool) -> list[str] | None:
    """The partition columns a catalog table is created with."""
    if is_history(table):
        return ["pipeline_name", "date"] if by_date else ["pipeline_name"]
    if table == META_STATE:
        return ["pipeline_name"]
    return None


def specs() -> list[TableSpec]:
    """Core's tables as declarations, registered like any plugin's (``odibi catalog tables``)."""
    from functools import partial

    from odibi_core.catalog.spec import TableSpec

    return [
        TableSpec(
            name,
            partial(schema, name),
            keys=tuple(KEYS.get(name, ())),
            partition_by=None if is_history(name) else tuple(partitioning(name, False) or ()),
            sort_by="timestamp" if is_history(name) else None,
        )
        for name in (META_RUNS, META_STATE, META_PIPELINES, META_NODES)
    ]
