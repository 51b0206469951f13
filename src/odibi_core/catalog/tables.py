"""The System Catalog's own tables: names, schemas and layout (SPEC §3)."""

from __future__ import annotations

from typing import Any

META_RUNS = "meta_runs"
META_STATE = "meta_state"
META_PIPELINES = "meta_pipelines"
META_NODES = "meta_nodes"

#: History tables grow with every run: partitioned by pipeline (and date on request).
HISTORY_TABLES = {META_RUNS, "meta_quality", "meta_metrics"}

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


def partitioning(table: str, by_date: bool) -> list[str] | None:
    if table in HISTORY_TABLES:
        return ["pipeline_name", "date"] if by_date else ["pipeline_name"]
    if table == META_STATE:
        return ["pipeline_name"]
    return None


#: Merge keys of the tables that hold one row per thing (not history).
KEYS = {
    META_STATE: ["pipeline_name", "node_name", "key"],
    META_PIPELINES: ["pipeline_name"],
    META_NODES: ["pipeline_name", "node_name"],
}
