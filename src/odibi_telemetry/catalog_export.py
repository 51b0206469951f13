"""The catalog span exporter: finished spans of one run, as ``meta_runs`` rows.

``CatalogSpanExporter`` keeps the run's finished spans (for the story's waterfall) and turns
those the runner does not record itself (output-check spans) into ``meta_runs`` rows with
``scope='check'``, which the runner writes in its own commit of the run. Metric points go to
``meta_metrics`` through :mod:`odibi_telemetry.points`.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.trace import StatusCode

from odibi_telemetry import attributes as a


def time_of(ns: int | None) -> datetime:
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
            started, ended = time_of(span.start_time), time_of(span.end_time)
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
