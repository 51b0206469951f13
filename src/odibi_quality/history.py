"""A node's past values of one metric, read from the System Catalog for anomaly checks.

Row counts and DQ scores come from the node's successful runs in ``meta_runs``; the other
metrics (null share, mean, freshness) from the values an anomaly assertion recorded in
``meta_quality`` (its ``observed_value``) in earlier runs. Windows grow (two weeks, a
quarter, a year) until enough points are found, so a daily pipeline reads little and a
new node does not read all history every run.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from odibi_core.catalog.manager import Catalog

log = logging.getLogger("odibi.quality")

#: Days looked back, widest last.
WINDOWS = (14, 92, 366)
QUALITY_TABLE = "meta_quality"


@dataclass(frozen=True)
class Point:
    """One earlier run's value of the metric."""

    timestamp: datetime
    value: float


def enough(points: list[Point], want: int, weekday: int | None) -> bool:
    """Whether ``points`` already hold ``want`` values (of that weekday, when given)."""
    if weekday is not None:
        points = [p for p in points if p.timestamp.weekday() == weekday]
    return len(points) >= want


def run_metric(
    catalog: Catalog,
    pipeline: str,
    node: str,
    metric: str,
    now: datetime,
    want: int,
    weekday: int | None,
) -> list[Point]:
    """``row_count`` or ``dq_score`` of the node's successful runs, newest first."""
    from odibi_core.catalog import tables
    from odibi_core.catalog.query import scan

    points: list[Point] = []
    for days in WINDOWS:
        rows = scan(
            catalog,
            tables.META_RUNS,
            pipeline=pipeline,
            since=now - timedelta(days=days),
            equals={"scope": "node", "status": "SUCCESS", "node_name": node},
            columns=["timestamp", "rows_out", "dq_score", "metrics_json"],
        ).rows
        points = [p for p in (_run_point(r, metric) for r in rows) if p is not None]
        if enough(points, want, weekday):
            break
    return sorted(points, key=lambda p: p.timestamp, reverse=True)


def _run_point(row: dict[str, Any], metric: str) -> Point | None:
    if metric == "dq_score":
        value = row["dq_score"]
    else:
        # The rows the checks saw: before a quarantine or gate dropped any.
        value = _rows_before_checks(row["metrics_json"])
        if value is None:
            value = row["rows_out"]
    if value is None or row["timestamp"] is None:
        return None
    return Point(row["timestamp"], float(value))


def _rows_before_checks(metrics_json: str | None) -> Any:
    try:
        return json.loads(metrics_json or "{}").get("rows_before_checks")
    except (ValueError, AttributeError):
        return None


def assertion_values(
    catalog: Catalog,
    pipeline: str,
    node: str,
    key: dict[str, Any],
    now: datetime,
    want: int,
    weekday: int | None,
) -> list[Point]:
    """The numbers anomaly assertions of the node matching ``key`` (``meta_quality`` column →
    value) recorded as their observed value in earlier runs, newest first.

    Left out: runs where it could not run, and runs it failed at severity ``error`` (the node
    failed, so that data was never written)."""
    from odibi_core.catalog.query import scan

    points: list[Point] = []
    for days in WINDOWS:
        rows = scan(
            catalog,
            QUALITY_TABLE,
            pipeline=pipeline,
            since=now - timedelta(days=days),
            equals={"node_name": node, "assertion_type": "anomaly", **key},
            columns=["timestamp", "status", "severity", "observed_value"],
        ).rows
        points = [p for p in (_quality_point(r) for r in rows) if p is not None]
        if enough(points, want, weekday):
            break
    return sorted(points, key=lambda p: p.timestamp, reverse=True)


def _quality_point(row: dict[str, Any]) -> Point | None:
    if row["status"] == "error" or (row["status"] == "failed" and row["severity"] == "error"):
        return None
    try:
        value = json.loads(row["observed_value"]) if row["observed_value"] else None
    except ValueError:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or row["timestamp"] is None:
        return None
    return Point(row["timestamp"], float(value))
