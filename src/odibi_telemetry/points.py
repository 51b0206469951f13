"""``meta_metrics`` rows from one run's measurements.

The catalog keeps one point per instrument and attribute set, aggregated the way the
OpenTelemetry SDK's default views aggregate them (counters: the sum; histograms: the sum,
with count, min and max; gauges: the last value), so a point in ``meta_metrics`` and the
point an OTLP collector receives for the same run agree. This is done here, in plain Python,
rather than through a ``MeterProvider`` and a ``MetricExporter``: for a few hundred points a
run, the SDK's metrics part cost more than everything else telemetry does (its import alone is
about 13 ms per process, and about 4 ms a run against under 1 ms here). The SDK is imported
only to export metrics over OTLP (:mod:`odibi_telemetry.otlp_metrics`). Unlike the SDK, it
neither drops negative counter values nor caps attribute sets at 2,000 per instrument: Odibi's
instruments record no negative counts, and their attributes are the project's own names.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from odibi_telemetry import attributes as a
from odibi_telemetry.instruments import INSTRUMENTS

Measurement = tuple[str, float, dict[str, Any]]  # instrument key, value, attributes


@dataclass
class _Point:
    total: float = 0.0
    count: int = 0
    low: float = field(default=float("inf"))
    high: float = field(default=float("-inf"))
    last: float = 0.0

    def add(self, value: float) -> None:
        self.total += value
        self.count += 1
        self.low = min(self.low, value)
        self.high = max(self.high, value)
        self.last = value


def rows(
    run_id: str,
    pipeline: str,
    measurements: list[Measurement],
    extra_attributes: dict[str, Any],
    at: datetime,
) -> list[dict[str, Any]]:
    """One row per instrument and attribute set, in the order first measured.

    ``extra_attributes`` (the ``OTEL_RESOURCE_ATTRIBUTES``) go into every row's
    ``attributes_json``; ``at`` is the collection time of every point."""
    points: dict[tuple[str, tuple[tuple[str, Any], ...]], _Point] = {}
    for key, value, attrs in measurements:
        point_key = (key, tuple(sorted(attrs.items())))
        point = points.get(point_key)
        if point is None:
            point = points[point_key] = _Point()
        point.add(value)
    out = []
    for (key, items), point in points.items():
        kind, name, unit, _ = INSTRUMENTS[key]
        attrs = dict(items)
        if kind == "histogram":
            value = point.total
            attrs_json = {**attrs, "count": point.count, "min": point.low, "max": point.high}
        else:
            value = point.last if kind == "gauge" else point.total
            attrs_json = attrs
        out.append(
            {
                "run_id": run_id,
                "pipeline_name": pipeline,
                "node_name": attrs.get(a.NODE),
                "metric_name": name,
                "kind": kind,
                "value": float(value),
                "unit": unit or None,
                "attributes_json": json.dumps(
                    {**extra_attributes, **attrs_json}, default=str, sort_keys=True
                ),
                "timestamp": at,
                "date": at.date(),
            }
        )
    return out
