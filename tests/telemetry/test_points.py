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
