"""Metrics of one run: recorded cheaply while nodes run, handed to the OpenTelemetry metrics
SDK when the run ends, on the thread that writes ``meta_metrics``.

The SDK's metrics part is most of OpenTelemetry's import time, so it is imported here, off
the run's critical path: :class:`MetricDelivery` builds the run's ``MeterProvider`` (the
catalog reader, and an OTLP reader when configured), records the run's measurements on its
instruments, collects the catalog reader into ``meta_metrics`` rows
(:class:`CatalogMetricExporter`), then flushes OTLP and shuts the provider down.
"""

from __future__ import annotations

import json
import math
import threading
from typing import Any

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    Gauge,
    Histogram,
    MetricExporter,
    MetricExportResult,
    MetricsData,
    PeriodicExportingMetricReader,
    Sum,
)

from odibi_core import __version__ as odibi_version
from odibi_telemetry import attributes as a
from odibi_telemetry import otlp
from odibi_telemetry.catalog_export import time_of
from odibi_telemetry.instruments import INSTRUMENTS


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


class MetricDelivery:
    """One run's ``MeterProvider``, from the run's recorded measurements to its exports."""

    def __init__(
        self,
        run_id: str,
        pipeline: str,
        resource: Any,
        env_attributes: dict[str, Any],
        otlp_protocol: str | None,
        timeout_s: float,
    ) -> None:
        self.exporter = CatalogMetricExporter(run_id, pipeline, env_attributes)
        # Infinite interval: no background thread; collected once, when the run ends.
        self.catalog_reader = PeriodicExportingMetricReader(
            self.exporter, export_interval_millis=math.inf
        )
        readers = [self.catalog_reader]
        self.otlp_reader: PeriodicExportingMetricReader | None = None
        self.otlp_note: str | None = None
        self.timeout_ms = timeout_s * 1000
        if otlp_protocol:
            try:
                self.otlp_reader = PeriodicExportingMetricReader(
                    otlp.metric_exporter(otlp_protocol),
                    export_interval_millis=math.inf,
                    export_timeout_millis=self.timeout_ms,
                )
                readers.append(self.otlp_reader)
            except ImportError:
                self.otlp_note = otlp.INSTALL_HINT
        self.provider = MeterProvider(
            metric_readers=readers, resource=resource, shutdown_on_exit=False
        )

    def rows(self, measurements: list[tuple[str, float, dict[str, Any]]]) -> list[dict[str, Any]]:
        """Record the run's measurements, collect them: ``meta_metrics`` rows."""
        meter = self.provider.get_meter("odibi", odibi_version)
        instruments: dict[str, Any] = {}
        for key, value, attrs in measurements:
            instrument = instruments.get(key)
            if instrument is None:
                kind, name, unit, description = INSTRUMENTS[key]
                create = getattr(meter, f"create_{kind}")
                instrument = instruments[key] = create(name, unit, description)
            if INSTRUMENTS[key][0] == "counter":
                instrument.add(value, attrs)
            elif INSTRUMENTS[key][0] == "histogram":
                instrument.record(value, attrs)
            else:
                instrument.set(value, attrs)
        self.catalog_reader.force_flush()
        return self.exporter.drain()

    def finish(self) -> None:
        """Export over OTLP (bounded by the export timeout) and shut the provider down."""
        if self.otlp_reader is not None:
            self.otlp_reader.force_flush(timeout_millis=self.timeout_ms)
        self.provider.shutdown(timeout_millis=self.timeout_ms)


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
            ts = time_of(point.time_unix_nano)
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
