"""``meta_quality`` rows from the quality results of a pipeline run: one row per evaluated
assertion, written in the run's single commit for that table.

Shipped in the ``odibi`` distribution so that a ``quality`` block gives ``meta_quality`` rows
with one install, yet joined like any third-party plugin: only through its entry point
(``catalog_quality``) and the ``odibi_catalog_rows`` hook, and blocked the same way
(``ODIBI_BLOCK_PLUGINS=catalog_quality``). It imports only ``odibi_core``."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from odibi_core import hookimpl
from odibi_core.catalog.rows import CatalogRows
from odibi_core.catalog.spec import TableSpec

if TYPE_CHECKING:
    from odibi_core.runner.context import RunContext
    from odibi_core.runner.results import PipelineResult

TABLE = "meta_quality"


def schema() -> Any:
    import pyarrow as pa

    s = pa.string()
    return pa.schema(
        [
            ("run_id", s),
            ("pipeline_name", s),
            ("node_name", s),
            ("assertion_name", s),
            ("assertion_type", s),
            ("columns", s),
            ("severity", s),
            ("status", s),
            ("violation_count", pa.int64()),
            ("element_count", pa.int64()),
            ("violation_pct", pa.float64()),
            ("observed_value", s),
            ("expectation_type", s),
            ("suite_name", s),
            ("failing_examples", s),
            ("message", s),
            ("timestamp", pa.timestamp("us", tz="UTC")),
            ("date", pa.date32()),
        ]
    )


#: ``meta_quality`` (SPEC §3), also queried as ``odibi catalog quality``.
SPEC = TableSpec(
    TABLE,
    schema,
    columns=(
        "timestamp",
        "pipeline_name",
        "node_name",
        "assertion_name",
        "severity",
        "status",
        "violation_count",
        "element_count",
        "violation_pct",
        "run_id",
    ),
    command="quality",
    help="assertion results (meta_quality), newest first",
    filters={"status": ("passed", "failed", "error")},
    add_arguments=lambda parser: _trend().add_arguments(parser),
    view=lambda args, rows: _trend().view(args, rows),
)


def _trend() -> Any:
    from odibi_catalog_quality import trend

    return trend


@hookimpl
def odibi_register_catalog_tables() -> list[TableSpec]:
    return [SPEC]


@hookimpl
def odibi_catalog_rows(ctx: RunContext, result: PipelineResult) -> list[CatalogRows]:
    rows = []
    for node in result.nodes.values():
        quality = node.checks.get("quality")
        if not quality:
            continue
        when = node.ended_at.astimezone(UTC) if node.ended_at else datetime.now(UTC)
        for a in [*quality["assertions"], *quality.get("gate_checks", [])]:
            rows.append(
                {
                    "run_id": result.run_id,
                    "pipeline_name": result.pipeline,
                    "node_name": node.node,
                    "assertion_name": a["name"],
                    "assertion_type": a["assertion_type"],
                    "columns": ",".join(a["columns"]),
                    "severity": a["severity"],
                    "status": a["status"],
                    "violation_count": a["violation_count"],
                    "element_count": a["element_count"],
                    "violation_pct": a["violation_pct"],
                    "observed_value": None
                    if a["observed_value"] is None
                    else json.dumps(a["observed_value"], default=str),
                    "expectation_type": ",".join(a["expectation_types"]),
                    "suite_name": quality["suite"],
                    "failing_examples": json.dumps(a["failing_examples"], default=str),
                    "message": a["message"],
                    "timestamp": when,
                    "date": when.date(),
                }
            )
    return [SPEC.rows(rows)] if rows else []
