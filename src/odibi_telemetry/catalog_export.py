"""The catalog exporters: finished spans and metric points of one run, as catalog rows.

``CatalogSpanExporter`` keeps the run's finished spans (for the story's waterfall) and turns
those the runner does not record itself (output-check spans) into ``meta_runs`` rows with
``scope='check'``. ``CatalogMetricExporter`` turns each collected metric point into a
``meta_metrics`` row. Both only buffer: the rows are written once per run (see
:mod:`odibi_telemetry.run`).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from opentelemetry.sdk.metrics.export import (
    Gauge,
    Histogram,
    MetricExporter,
    MetricExportResult,
    MetricsData,
    Sum,
)
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.trace import StatusCode

from odibi_telemetry import attributes as a

META_METRICS = "meta_metrics"


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


def _time(ns: int | None) -> datetime:
    return datetime.fromtimestamp((ns or 0) / 1e9, tz=UTC)


def hex_id(value: int, width: int) -> str:
    return format(value, f"0{width}x")


class CatalogSpanExporter(SpanExporter):
    """Keeps every finished span of one run (driven by a ``SimpleSpanProcessor``)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.spans: list[ReadableSpan] = []

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        with self._lock:
            self.spans.extend(spans)
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        return None

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True

    def finished(self) -> list[ReadableSpan]:
        with self._lock:
            return list(self.spans)

    def run_rows(self, common: dict[str, Any]) -> list[dict[str, Any]]:
        """``meta_runs`` rows for the spans that have no runner row: ``scope='check'``.

        ``common`` holds run_id, project, pipeline_name and environment. Pipeline and node
        spans are left out: the runner writes those rows, with this trace's id."""
        rows = []
        for span in self.finished():
            attrs = span.attributes or {}
            if attrs.get(a.SCOPE) != "check":
                continue
            started, ended = _time(span.start_time), _time(span.end_time)
            events = [e for e in span.events if e.name == "exception"]
            error = events[-1].attributes or {} if events else {}
            failed = span.status.status_code is StatusCode.ERROR
            ctx = span.get_span_context()
            assert ctx is not None
            rows.append(
                {
                    **common,
                    "node_name": attrs.get(a.NODE),
                    "scope": "check",
                    "status": "FAILURE" if failed else "SUCCESS",
                    "started_at": started,
                    "timestamp": ended,
                    "date": ended.date(),
                    "duration_ms": int(((span.end_time or 0) - (span.start_time or 0)) / 1e6),
                    "rows_in": attrs.get(a.ROWS_IN),
                    "rows_out": attrs.get(a.ROWS_OUT),
                    "attempt": attrs.get(a.ATTEMPT, 1),
                    "error_type": error.get("exception.type") if failed else None,
                    "error_message": (error.get("exception.message") or span.status.description)
                    if failed
                    else None,
                    "dq_score": attrs.get(a.DQ_SCORE),
                    "version_hash": None,
                    "trace_id": hex_id(ctx.trace_id, 32),
                    "metrics_json": json.dumps(
                        {
                            "check": attrs.get(a.CHECK),
                            "span_id": hex_id(ctx.span_id, 16),
                            "parent_span_id": hex_id(span.parent.span_id, 16)
                            if span.parent
                            else None,
                            **{
                                k.removeprefix("odibi."): v
                                for k, v in attrs.items()
                                if k in (a.ASSERTIONS, a.ASSERTIONS_FAILED)
                            },
                        }
                    ),
                }
            )
        return rows


class CatalogMetricExporter(MetricExporter):
    """Turns collected metric points into ``meta_metrics`` rows of one run.

    Used with a ``PeriodicExportingMetricReader`` whose interval is infinite: it exports only
    when the run flushes it at its end, so each run's points land in that run's batch."""

    def __init__(self, run_id: str, pipeline: str, extra_attributes: dict[str, Any]) -> None:
        super().__init__()
        self.run_id = run_id
        self.pipeline = pipeline
        self.extra_attributes = extra_attributes
        self._lock = threading.Lock()
        self.rows: list[dict[str, Any]] = []

    def export(
        self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any
    ) -> MetricExportResult:
        rows = []
        for resource_metrics in metrics_data.resource_metrics:
            for scope_metrics in resource_metrics.scope_metrics:
                for metric in scope_metrics.metrics:
                    rows.extend(self._rows(metric))
        with self._lock:
            self.rows.extend(rows)
        return MetricExportResult.SUCCESS

    def _rows(self, metric: Any) -> list[dict[str, Any]]:
        data = metric.data
        if isinstance(data, Sum):
            kind = "counter" if data.is_monotonic else "updown_counter"
        elif isinstance(data, Gauge):
            kind = "gauge"
        elif isinstance(data, Histogram):
            kind = "histogram"
        else:  # exponential histograms are not configured by Odibi
            return []
        rows = []
        for point in data.data_points:
            attrs = dict(point.attributes or {})
            extra: dict[str, Any] = {}
            if kind == "histogram":
                value = float(point.sum)
                extra = {"count": point.count, "min": point.min, "max": point.max}
            else:
                value = float(point.value)
            ts = _time(point.time_unix_nano)
            rows.append(
                {
                    "run_id": self.run_id,
                    "pipeline_name": self.pipeline,
                    "node_name": attrs.get(a.NODE),
                    "metric_name": metric.name,
                    "kind": kind,
                    "value": value,
                    "unit": metric.unit or None,
                    "attributes_json": json.dumps(
                        {**self.extra_attributes, **attrs, **extra}, default=str, sort_keys=True
                    ),
                    "timestamp": ts,
                    "date": ts.date(),
                }
            )
        return rows

    def drain(self) -> list[dict[str, Any]]:
        with self._lock:
            rows, self.rows = self.rows, []
        return rows

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return True

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        return None
