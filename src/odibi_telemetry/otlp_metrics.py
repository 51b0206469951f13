"""A run's metrics over OTLP: the OpenTelemetry metrics SDK, imported only when a metrics
endpoint is configured.

The run's measurements are recorded on the instruments of a ``MeterProvider`` whose only
reader exports over OTLP with an infinite interval: nothing runs in the background, and the
run's points go out once, when the run ends, bounded by the export timeout.
"""

from __future__ import annotations

import math
from typing import Any

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

from odibi_core import __version__ as odibi_version
from odibi_telemetry import otlp
from odibi_telemetry.instruments import INSTRUMENTS
from odibi_telemetry.otlp_watch import ExportWatch
from odibi_telemetry.points import Measurement


def export(
    protocol: str,
    resource: Any,
    measurements: list[Measurement],
    timeout_s: float,
    watch: ExportWatch | None = None,
) -> None:
    """Record ``measurements`` and export them over OTLP (``ImportError`` without the
    exporters installed); ``watch`` hears whether the export failed."""
    timeout_ms = timeout_s * 1000
    exporter = otlp.metric_exporter(protocol)
    if watch is not None:
        exporter = watch.wrap(exporter, "metrics")
    reader = PeriodicExportingMetricReader(
        exporter,
        export_interval_millis=math.inf,
        export_timeout_millis=timeout_ms,
    )
    provider = MeterProvider(metric_readers=[reader], resource=resource, shutdown_on_exit=False)
    try:
        meter = provider.get_meter("odibi", odibi_version)
        instruments: dict[str, Any] = {}
        for key, value, attrs in measurements:
            kind, name, unit, description = INSTRUMENTS[key]
            instrument = instruments.get(key)
            if instrument is None:
                create = getattr(meter, f"create_{kind}")
                instrument = instruments[key] = create(name, unit, description)
            if kind == "counter":
                instrument.add(value, attrs)
            elif kind == "histogram":
                instrument.record(value, attrs)
            else:
                instrument.set(value, attrs)
        reader.force_flush(timeout_millis=timeout_ms)
    finally:  # the exporter's connection is closed whatever happened
        provider.shutdown(timeout_millis=timeout_ms)
