"""What a story compares a run against: each node's earlier runs, from the catalog."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from odibi_core.errors import brief

if TYPE_CHECKING:
    from odibi_core.catalog.manager import Catalog

log = logging.getLogger("odibi")

#: How far back a story looks for a node's last good schema when its recent runs all failed.
LOOKBACK = timedelta(days=90)
#: Earlier runs kept per node for the trend.
TREND_RUNS = 10

COLUMNS = [
    "run_id",
    "node_name",
    "status",
    "timestamp",
    "duration_ms",
    "rows_out",
    "dq_score",
    "metrics_json",
]


@dataclass
class NodeHistory:
    #: Earlier executed runs, oldest first (at most ``TREND_RUNS``).
    runs: list[dict[str, Any]] = field(default_factory=list)
    #: Schema of the last successful earlier run and that run's id (None: no such run).
    schema: list[tuple[str, str]] | None = None
    schema_run_id: str | None = None


def node_histories(
    catalog: Catalog, pipeline: str, run_id: str, nodes: list[str]
) -> dict[str, NodeHistory]:
    """Earlier runs of the nodes of ``pipeline`` (the run ``run_id`` excluded): the newest
    ``TREND_RUNS`` runs, and for each of ``nodes`` its last successful run for the schema
    (looked for at most 90 days or ten times ``TREND_RUNS`` runs back).

    A story must still be written when the catalog cannot be read, so failures give an
    empty history and a log line.
    """
    from odibi_core.catalog import query

    try:
        rows = query.recent_node_runs(
            catalog,
            pipeline,
            TREND_RUNS,
            COLUMNS,
            exclude_run=run_id,
            want_success=set(nodes),
            since=datetime.now(UTC) - LOOKBACK,
        ).rows
    except Exception as exc:
        log.warning("story: could not read run history: %s", brief(exc))
        return {}
    found: dict[str, NodeHistory] = {}
    for row in rows:  # newest first
        if row["status"] == "SKIPPED":
            continue
        history = found.setdefault(row["node_name"], NodeHistory())
        if len(history.runs) < TREND_RUNS:
            history.runs.append(
                {
                    "run_id": row["run_id"],
                    "status": row["status"],
                    "timestamp": row["timestamp"].isoformat(timespec="seconds"),
                    "duration_ms": row["duration_ms"],
                    "rows_out": row["rows_out"],
                    "dq_score": row["dq_score"],
                }
            )
        if history.schema is None and row["status"] == "SUCCESS":
            schema = _schema(row["metrics_json"])
            if schema is not None:
                history.schema, history.schema_run_id = schema, row["run_id"]
    for history in found.values():
        history.runs.reverse()
    return found


def _schema(metrics_json: str | None) -> list[tuple[str, str]] | None:
    try:
        schema = json.loads(metrics_json or "{}").get("schema")
    except ValueError:
        return None
    return [(str(c), str(t)) for c, t in schema] if schema else None


def schema_changes(
    before: list[tuple[str, str]] | None, now: list[tuple[str, str]]
) -> dict[str, list[dict[str, str]]] | None:
    """Columns added, removed and retyped since ``before`` (None when there is nothing to
    compare with: a first run, or a run that produced no output)."""
    if before is None or not now:
        return None
    old, new = dict(before), dict(now)
    return {
        "added": [{"name": c, "type": t} for c, t in now if c not in old],
        "removed": [{"name": c, "type": t} for c, t in before if c not in new],
        "retyped": [
            {"name": c, "from": old[c], "to": t} for c, t in now if c in old and old[c] != t
        ],
    }
