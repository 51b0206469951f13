"""Odibi's metric instruments, key → (kind, name, unit, description), and the table their
points land in. Plain data: a run records measurements without OpenTelemetry's metrics SDK
(see :mod:`odibi_telemetry.points`)."""

from __future__ import annotations

from typing import Any

META_METRICS = "meta_metrics"  # the catalog table of metric points (SPEC §3)

INSTRUMENTS: dict[str, tuple[str, str, str, str]] = {
    "node_runs": ("counter", "odibi.node.runs", "{run}", "node runs by status"),
    "node_duration": ("histogram", "odibi.node.duration", "ms", "node run time"),
    "rows_in": ("counter", "odibi.node.rows_in", "{row}", "rows read by nodes"),
    "rows_out": ("counter", "odibi.node.rows_out", "{row}", "rows nodes output"),
    "node_dq": ("gauge", "odibi.node.dq_score", "%", "DQ score of a node run"),
    "violations": (
        "counter",
        "odibi.assertion.violations",
        "{row}",
        "rows failing a quality assertion",
    ),
    "pipeline_runs": ("counter", "odibi.pipeline.runs", "{run}", "pipeline runs by status"),
    "pipeline_duration": ("histogram", "odibi.pipeline.duration", "ms", "pipeline run time"),
    "pipeline_dq": ("gauge", "odibi.pipeline.dq_score", "%", "DQ score of a run"),
}


def metrics_schema() -> Any:
    """``meta_metrics`` (SPEC §3): one row per metric data point."""
    import pyarrow as pa

    return pa.schema(
        [
            ("run_id", pa.string()),
            ("pipeline_name", pa.string()),
            ("node_name", pa.string()),
            ("metric_name", pa.string()),
            ("kind", pa.string()),
            ("value", pa.float64()),
            ("unit", pa.string()),
            ("attributes_json", pa.string()),
            ("timestamp", pa.timestamp("us", tz="UTC")),
            ("date", pa.date32()),
        ]
    )


def metrics_table() -> Any:
    """The declaration of ``meta_metrics``, also queried as ``odibi catalog metrics``."""
    from odibi_core.catalog.spec import TableSpec

    return TableSpec(
        META_METRICS,
        metrics_schema,
        columns=(
            "timestamp",
            "pipeline_name",
            "node_name",
            "metric_name",
            "kind",
            "value",
            "unit",
            "run_id",
        ),
        command="metrics",
        help="telemetry data points (meta_metrics), newest first",
    )
