"""OTLP export to real receivers on 127.0.0.1 (http/protobuf and gRPC), decoded with the
opentelemetry-proto messages; a broken endpoint neither fails nor stalls a run."""

from __future__ import annotations

import json
import time

import pytest
from receivers import attrs, closed_port, grpc_receiver, http_receiver, silent_listener

NODES = {"raw", "clean", "broken", "after_broken"}


def _point_key(attributes: dict) -> tuple:
    """A point's own attributes: those Odibi sets, not the resource's or the histogram's."""
    return tuple(sorted((k, v) for k, v in attributes.items() if k.startswith("odibi.")))


def check_received(received, project, run_id):
    spans = received.spans()
    by_name = {span.name: (resource, span) for resource, span in spans}
    assert set(by_name) == {"pipeline sales", "check rowcheck"} | {f"node {n}" for n in NODES}
    resource, root = by_name["pipeline sales"]
    resource = attrs(resource.attributes)
    assert resource["service.name"] == "odibi" and resource["team"] == "data"
    assert resource["odibi.project"] == "shop"
    assert root.parent_span_id == b""
    assert len({span.trace_id for _, span in spans}) == 1
    for name in NODES:  # every node span is a child of the pipeline span, threads or not
        assert by_name[f"node {name}"][1].parent_span_id == root.span_id
    assert by_name["check rowcheck"][1].parent_span_id == by_name["node clean"][1].span_id

    clean = attrs(by_name["node clean"][1].attributes)
    assert clean["odibi.run_id"] == run_id
    assert (clean["odibi.pipeline"], clean["odibi.node"]) == ("sales", "clean")
    assert (clean["odibi.rows_in"], clean["odibi.rows_out"]) == (3, 3)
    assert (clean["odibi.status"], clean["odibi.engine"]) == ("SUCCESS", "pandas")
    assert attrs(by_name["check rowcheck"][1].attributes)["odibi.dq_score"] == 75.0
    broken = by_name["node broken"][1]
    assert broken.status.code == broken.status.STATUS_CODE_ERROR
    assert "nope" in broken.status.message
    (event,) = [e for e in broken.events if e.name == "exception"]
    assert attrs(event.attributes)["exception.type"] == "SQLError"
    assert root.status.code == root.status.STATUS_CODE_ERROR
    assert attrs(root.attributes)["odibi.status"] == "FAILURE"

    names = {name for _, name, _ in received.metric_points()}
    assert {
        "odibi.node.duration",
        "odibi.node.rows_in",
        "odibi.node.rows_out",
        "odibi.node.runs",
        "odibi.node.dq_score",
        "odibi.assertion.violations",
        "odibi.pipeline.runs",
    } <= names
    # ...and the catalog received the same points, with the same values.
    catalog = {
        (p["metric_name"], _point_key(json.loads(p["attributes_json"]))): p
        for p in project.catalog("meta_metrics")
    }
    otlp = {
        (name, _point_key(attrs(point.attributes))): point
        for _, name, point in received.metric_points()
    }
    assert set(catalog) == set(otlp) and len(otlp) > 10
    for key, point in otlp.items():
        row = catalog[key]
        if hasattr(point, "bucket_counts"):  # a histogram
            detail = json.loads(row["attributes_json"])
            assert (row["kind"], row["value"]) == ("histogram", pytest.approx(point.sum))
            assert (detail["count"], detail["min"], detail["max"]) == (
                point.count,
                pytest.approx(point.min),
                pytest.approx(point.max),
            )
        else:
            value = point.as_double if point.HasField("as_double") else point.as_int
            assert row["value"] == pytest.approx(value), key


@pytest.mark.parametrize(
    "receiver,protocol", [(http_receiver, "http/protobuf"), (grpc_receiver, "grpc")]
)
def test_otlp_receives_spans_and_metrics_while_the_catalog_keeps_them(shop, receiver, protocol):
    with receiver() as received:
        env = {
            "OTEL_EXPORTER_OTLP_ENDPOINT": received.endpoint,
            "OTEL_EXPORTER_OTLP_PROTOCOL": protocol,
            "OTEL_RESOURCE_ATTRIBUTES": "team=data",
        }
        run = shop.run("--parallel", "--workers", "2", env=env)
        assert run.exit_code == 1, run.output
        (run_id,) = {r["run_id"] for r in shop.catalog("meta_runs")}
        check_received(received, shop, run_id)


def test_a_signal_can_be_left_out_of_otlp(healthy):
    with http_receiver() as received:
        env = {"OTEL_EXPORTER_OTLP_ENDPOINT": received.endpoint, "OTEL_TRACES_EXPORTER": "none"}
        assert healthy.run(env=env).exit_code == 0
    assert received.spans() == [] and received.metric_points()
    assert healthy.catalog("meta_metrics")


def test_an_endpoints_credentials_are_not_shown_in_the_warning(healthy):
    endpoint = closed_port()
    host = endpoint.removeprefix("http://")
    env = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://robot:hunter2@{host}/otlp?token=s3cr3t",
        "OTEL_EXPORTER_OTLP_TIMEOUT": "1",
    }
    run = healthy.run(env=env)
    assert run.exit_code == 0, run.output
    (warning,) = [line for line in run.stderr.splitlines() if "OTLP" in line]
    assert f"OTLP export to {endpoint}/otlp failed" in warning
    assert "hunter2" not in run.output and "s3cr3t" not in run.output


@pytest.mark.parametrize("broken", ["refused", "never answers"])
def test_a_broken_endpoint_neither_fails_nor_stalls_the_run(healthy, broken):
    started = time.monotonic()
    assert healthy.run().exit_code == 0
    baseline = time.monotonic() - started
    timeout = 1.0
    with silent_listener() as hung:
        endpoint = closed_port() if broken == "refused" else hung
        env = {"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint, "OTEL_EXPORTER_OTLP_TIMEOUT": str(timeout)}
        started = time.monotonic()
        run = healthy.run(env=env)
        took = time.monotonic() - started
    assert run.exit_code == 0, run.output
    # At most the export timeout (spans and metrics are exported concurrently) + slack.
    assert took < baseline + timeout + 2.0, (took, baseline)
    # One line says so, naming the endpoint; the exporters' own retry chatter is held back.
    (warning,) = [line for line in run.stderr.splitlines() if "OTLP" in line]
    assert warning.startswith(f"WARNING odibi.telemetry: telemetry: OTLP export to {endpoint}")
    if broken == "refused":
        assert "failed" in warning and "spans and metrics" in warning
    assert "opentelemetry" not in run.stderr, run.stderr
    runs = healthy.catalog("meta_runs")
    assert len({r["run_id"] for r in runs}) == 2 and all(r["trace_id"] for r in runs)
    assert len({p["run_id"] for p in healthy.catalog("meta_metrics")}) == 2
