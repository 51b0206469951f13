"""meta_metrics points aggregate a run's measurements the way the SDK's default views do."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from odibi_telemetry import points

AT = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def test_each_instrument_and_attribute_set_is_one_point():
    a = {"odibi.pipeline": "p", "odibi.node": "a"}
    b = {"odibi.pipeline": "p", "odibi.node": "b"}
    measured = [
        ("rows_in", 3, a),
        ("rows_in", 4, dict(reversed(a.items()))),  # same attributes, other order
        ("rows_in", 10, b),
        ("node_duration", 5.0, a),
        ("node_duration", 1.5, a),
        ("node_duration", 9.0, a),
        ("node_dq", 80.0, a),
        ("node_dq", 60.0, a),
    ]
    rows = points.rows("r1", "p", measured, {"team": "data"}, AT)
    found = {(r["metric_name"], r["node_name"]): r for r in rows}
    assert len(rows) == 4
    assert found["odibi.node.rows_in", "a"]["value"] == 7.0  # counter: the sum
    assert found["odibi.node.rows_in", "b"]["value"] == 10.0
    duration = found["odibi.node.duration", "a"]
    assert (duration["kind"], duration["value"], duration["unit"]) == ("histogram", 15.5, "ms")
    detail = json.loads(duration["attributes_json"])
    assert (detail["count"], detail["min"], detail["max"], detail["team"]) == (3, 1.5, 9.0, "data")
    assert found["odibi.node.dq_score", "a"]["value"] == 60.0  # gauge: the last value
    assert {(r["run_id"], r["pipeline_name"], r["timestamp"], r["date"]) for r in rows} == {
        ("r1", "p", AT, AT.date())
    }


def test_points_agree_with_the_metrics_sdk_for_repeated_measurements():
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import HistogramDataPoint, InMemoryMetricReader

    from odibi_telemetry.instruments import INSTRUMENTS

    a = {"odibi.pipeline": "p", "odibi.node": "a", "odibi.status": "SUCCESS"}
    b = {"odibi.pipeline": "p", "odibi.node": "b", "odibi.status": "FAILURE"}
    measured = [
        (key, value, attrs)
        for key in ("node_runs", "node_duration", "rows_in", "node_dq")
        for value, attrs in [(3.0, a), (7.5, b), (1.25, dict(reversed(a.items()))), (4.0, a)]
    ]
    reader = InMemoryMetricReader()
    meter = MeterProvider(metric_readers=[reader], shutdown_on_exit=False).get_meter("t")
    made = {}
    for key, value, attrs in measured:
        kind, name, unit, description = INSTRUMENTS[key]
        if key not in made:
            made[key] = getattr(meter, f"create_{kind}")(name, unit, description)
        record = {"counter": "add", "histogram": "record", "gauge": "set"}[kind]
        getattr(made[key], record)(value, attrs)
    sdk = {}
    for resource_metrics in reader.get_metrics_data().resource_metrics:
        for scope in resource_metrics.scope_metrics:
            for metric in scope.metrics:
                for point in metric.data.data_points:
                    key = (metric.name, tuple(sorted(point.attributes.items())))
                    if isinstance(point, HistogramDataPoint):
                        sdk[key] = (point.sum, point.count, point.min, point.max)
                    else:
                        sdk[key] = (point.value,)

    ours = {}
    for row in points.rows("r", "p", measured, {}, AT):
        detail = json.loads(row["attributes_json"])
        stats = [detail.pop(k) for k in ("count", "min", "max") if k in detail]
        key = (row["metric_name"], tuple(sorted(detail.items())))
        ours[key] = (row["value"], *stats)
    assert ours == sdk and len(ours) == 8
