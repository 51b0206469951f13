"""The catalog exporter: real runs through the CLI, meta_runs and meta_metrics read back with
the independent Delta reader."""

from __future__ import annotations

import json
import re

from conftest import story_of


def by_scope(rows):
    return {(r["scope"], r["node_name"]): r for r in rows}


def test_one_run_is_one_trace_and_check_spans_become_meta_runs_rows(shop):
    run = shop.run()
    assert run.exit_code == 1, run.output  # 'broken' fails
    rows = shop.catalog("meta_runs")
    runs = by_scope(rows)
    assert set(runs) == {
        ("pipeline", None),
        ("node", "raw"),
        ("node", "clean"),
        ("node", "broken"),
        ("node", "after_broken"),
        ("check", "clean"),
    }
    trace_ids = {r["trace_id"] for r in rows}
    assert len(trace_ids) == 1 and re.fullmatch(r"[0-9a-f]{32}", trace_ids.pop())
    assert len({r["run_id"] for r in rows}) == 1
    span_ids = {
        name: json.loads(runs["node", name]["metrics_json"])["span_id"]
        for name in ("raw", "clean", "broken", "after_broken")
    }
    assert len(set(span_ids.values())) == 4
    check = runs["check", "clean"]
    detail = json.loads(check["metrics_json"])
    assert detail["check"] == "rowcheck"
    assert detail["parent_span_id"] == span_ids["clean"]
    assert (detail["assertions"], detail["assertions_failed"]) == (1, 1)
    assert check["status"] == "SUCCESS" and check["dq_score"] == 75.0
    assert check["started_at"] >= runs["node", "clean"]["started_at"]
    # The skipped node keeps the runner's skip reason beside its span id.
    assert json.loads(runs["node", "after_broken"]["metrics_json"])["skip_reason"]


def test_metric_points_land_in_meta_metrics(shop):
    shop.run()
    (run_id,) = {r["run_id"] for r in shop.catalog("meta_runs")}
    points = shop.catalog("meta_metrics")
    assert {p["run_id"] for p in points} == {run_id}
    assert {p["pipeline_name"] for p in points} == {"sales"}

    def value(name, node=None, **attrs):
        found = [
            p["value"]
            for p in points
            if p["metric_name"] == name
            and p["node_name"] == node
            and all(json.loads(p["attributes_json"]).get(k) == v for k, v in attrs.items())
        ]
        assert len(found) == 1, (name, node, attrs, found)
        return found[0]

    assert value("odibi.node.rows_in", "clean") == 3
    assert value("odibi.node.rows_out", "clean") == 3
    assert value("odibi.node.runs", "broken", **{"odibi.status": "FAILURE"}) == 1
    assert value("odibi.node.runs", "after_broken", **{"odibi.status": "SKIPPED"}) == 1
    assert value("odibi.node.duration", "clean") >= 0
    assert value("odibi.node.dq_score", "clean") == 75.0
    assert value("odibi.assertion.violations", "clean", **{"odibi.assertion": "y_small"}) == 1
    assert value("odibi.pipeline.runs", None, **{"odibi.status": "FAILURE"}) == 1
    kinds = {p["metric_name"]: (p["kind"], p["unit"]) for p in points}
    assert kinds["odibi.node.duration"] == ("histogram", "ms")
    assert kinds["odibi.node.runs"] == ("counter", "{run}")
    assert kinds["odibi.node.dq_score"] == ("gauge", "%")


def test_odibi_catalog_metrics_reads_them_by_pipeline_and_age(shop):
    shop.run()
    total = len(shop.catalog("meta_metrics"))

    def shown(*args):
        out = shop.odibi(
            "catalog", "metrics", "{config}", "--format", "json", "--limit", "500", *args
        )
        assert out.exit_code == 0, out.output
        return json.loads(out.stdout)["rows"]

    assert len(shown("--pipeline", "sales", "--since", "7d")) == total
    assert shown("--pipeline", "other") == []
    assert shown("--since", "2999-01-01") == []
    table = shop.odibi("catalog", "metrics", "{config}", "--pipeline", "sales")
    assert "odibi.node.duration" in table.stdout


def test_quality_validation_gets_its_own_span_and_violation_points(odibi_project):
    project = odibi_project(
        {
            "odibi.yaml": """\
project: q
retry: {enabled: false}
connections: {d: {type: local, base_path: .}}
pipelines:
  - pipeline: sales
    nodes:
      - name: orders
        read: {connection: d, format: csv, path: in.csv}
        quality:
          assertions:
            - {type: not_null, columns: [amount], severity: warn}
            - {type: unique, columns: [id]}
          gate: {require_pass_rate: 0.5, on_fail: warn_and_write}
""",
            "in.csv": "id,amount\n1,10\n2,\n3,5\n",
        }
    )
    assert project.run().exit_code == 0
    runs = by_scope(project.catalog("meta_runs"))
    check = runs["check", "orders"]
    assert json.loads(check["metrics_json"])["check"] == "quality"
    assert check["dq_score"] == runs["node", "orders"]["dq_score"]
    violations = {
        json.loads(p["attributes_json"])["odibi.assertion"]: p["value"]
        for p in project.catalog("meta_metrics")
        if p["metric_name"] == "odibi.assertion.violations"
    }
    assert violations == {"not_null": 1, "unique": 0}  # the gate's own rows are not assertions
    detail = json.loads(check["metrics_json"])
    assert (detail["assertions"], detail["assertions_failed"]) == (2, 1)


def test_otel_sdk_disabled_records_the_run_without_telemetry(shop):
    run = shop.run(env={"OTEL_SDK_DISABLED": "true"})
    assert run.exit_code == 1, run.output
    rows = shop.catalog("meta_runs")
    assert len(rows) == 5 and {r["scope"] for r in rows} == {"pipeline", "node"}
    assert {r["trace_id"] for r in rows} == {None}
    assert not shop.path(".odibi/system/meta_metrics").exists()
    assert "telemetry" not in story_of(shop)["sections"]


def test_resource_attributes_from_the_environment_reach_attributes_json(healthy):
    env = {"OTEL_RESOURCE_ATTRIBUTES": "team=data,cost.center=42", "OTEL_SERVICE_NAME": "nightly"}
    assert healthy.run(env=env).exit_code == 0
    for point in healthy.catalog("meta_metrics"):
        attributes = json.loads(point["attributes_json"])
        assert attributes["team"] == "data" and attributes["cost.center"] == "42"
        assert attributes["service.name"] == "nightly"


def test_a_failing_telemetry_write_does_not_fail_the_run(healthy, caplog):
    import pyarrow as pa
    from deltalake import write_deltalake

    # A meta_metrics table nobody can append telemetry to (value is not a number).
    write_deltalake(
        str(healthy.path(".odibi/system/meta_metrics")),
        pa.table({"run_id": ["x"], "value": ["not a number"]}),
    )
    from odibi_telemetry import run as telemetry_run

    before = telemetry_run.catalog_write_failures
    run = healthy.run()
    assert run.exit_code == 0, run.output
    assert telemetry_run.catalog_write_failures == before + 1  # counted
    assert "not written to meta_metrics" in caplog.text  # logged
    assert {r["status"] for r in healthy.catalog("meta_runs")} == {"SUCCESS"}
    assert len(healthy.catalog("meta_metrics")) == 1  # untouched
    telemetry = story_of(healthy)["sections"]["telemetry"]
    assert telemetry["trace_id"] == healthy.catalog("meta_runs")[0]["trace_id"]


def test_the_story_shows_the_trace_id_and_a_waterfall(shop):
    shop.run()
    story = story_of(shop)
    telemetry = story["sections"]["telemetry"]
    assert telemetry["trace_id"] == shop.catalog("meta_runs")[0]["trace_id"]
    bars = {
        name: (depth, status, start, ms) for name, depth, status, start, ms in telemetry["spans"]
    }
    assert set(bars) == {
        "pipeline sales",
        "node raw",
        "node clean",
        "check rowcheck",
        "node broken",
        "node after_broken",
    }
    assert bars["pipeline sales"][:2] == (0, "FAILURE") and bars["pipeline sales"][2] == 0
    assert bars["check rowcheck"][0] == 2 and bars["node clean"][0] == 1
    assert bars["node broken"][1] == "FAILURE"
    assert bars["node raw"][2] <= bars["node clean"][2] <= bars["check rowcheck"][2]
    total = telemetry["duration_ms"]
    assert all(0 <= start <= total and 0 <= ms <= total for _, _, start, ms in bars.values())
    html = next(shop.root.glob(".odibi/stories/sales/*/run_*.html")).read_text()
    assert telemetry["trace_id"] in html and "check rowcheck" in html
    assert "<script" not in html
