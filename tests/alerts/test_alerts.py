"""Odibi's ``alerts:`` through the real CLI, against an HTTP receiver on 127.0.0.1: each
service's payload, each event, delivery that never fails or holds up a run, throttling, and
secrets kept out. Written from Odibi's alerting docs."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from http_receiver import http_receiver

ORDERS = """\
order_id,amount,status
1,10.0,completed
2,20.0,completed
3,,pending
4,40.0,weird
5,50.0,shipped
"""


@pytest.fixture(scope="module")
def receiver():
    with http_receiver() as r:
        yield r


def project_yaml(alerts: str, nodes: str, extra: str = "") -> str:
    return f"""\
project: shop
retry: {{enabled: false}}
{extra}
connections: {{d: {{type: local, base_path: .}}}}
alerts:
{alerts}
pipelines:
  - pipeline: sales
    nodes:
{nodes}
"""


PLAIN_NODES = """\
      - name: orders
        read: {connection: d, format: csv, path: orders.csv}
        write: {connection: d, format: parquet, path: out/orders.parquet}
"""


def run_id(project) -> str:
    rows = [r for r in project.catalog("meta_runs") if r["scope"] == "pipeline"]
    return max(rows, key=lambda r: r["timestamp"])["run_id"]


def test_start_and_success_reach_webhook_slack_and_teams_in_their_formats(odibi_project, receiver):
    base = receiver.base
    alerts = f"""\
  - type: webhook
    url: {base}/ok/success/hook
    on_events: [on_start, on_success]
    metadata: {{throttle_minutes: 0, team: data-platform}}
  - type: slack
    url: {base}/ok/success/slack
    on_events: [on_start, on_success]
    metadata: {{throttle_minutes: 0, channel: "#data-alerts"}}
  - type: teams
    url: {base}/ok/success/teams
    on_events: [on_success]
    metadata: {{throttle_minutes: 0, mention: ops@example.com, mention_on_failure: oncall@example.com}}
"""
    project = odibi_project({"odibi.yaml": project_yaml(alerts, PLAIN_NODES), "orders.csv": ORDERS})
    run = project.run()
    assert run.exit_code == 0, run.output
    rid = run_id(project)

    start, success = receiver.bodies("/ok/success/hook")
    assert start["event_type"] == "on_start" and start["status"] == "STARTED"
    assert success["event_type"] == "on_success" and success["status"] == "SUCCESS"
    assert start["run_id"] == success["run_id"] == rid
    assert success["pipeline"] == "sales" and success["project"] == "shop"
    assert success["rows"] == 5 and success["duration"] >= 0
    assert success["story_path"].endswith(".html") and Path(success["story_path"]).exists()
    assert success["metadata"] == {"team": "data-platform"}  # the user's own keys only

    slack_start, slack_success = receiver.bodies("/ok/success/slack")
    assert slack_start["channel"] == slack_success["channel"] == "#data-alerts"
    header = slack_success["blocks"][0]
    assert header["type"] == "header" and "sales - SUCCESS" in header["text"]["text"]
    fields = [f["text"] for b in slack_success["blocks"] if "fields" in b for f in b["fields"]]
    assert "*Project:*\nshop" in fields and f"*Run:*\n{rid}" in fields
    assert "SUCCESS" in slack_success["text"]

    (teams,) = receiver.bodies("/ok/success/teams")
    assert teams["type"] == "message"
    (attachment,) = teams["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard" and card["body"][0]["style"] == "good"
    facts = {
        f["title"]: f["value"] for b in card["body"] if b["type"] == "FactSet" for f in b["facts"]
    }
    assert facts["Status"] == "SUCCESS" and facts["Rows"] == "5" and facts["Run"] == rid
    # `mention` on every event; `mention_on_failure` only on failures.
    assert [e["mentioned"]["id"] for e in card["msteams"]["entities"]] == ["ops@example.com"]


QUALITY_NODES = """\
      - name: orders
        read: {connection: d, format: csv, path: orders.csv}
        quality:
          assertions:
            - {type: not_null, columns: [amount]}
            - {type: accepted_values, column: status, values: [completed, pending, shipped], severity: warn}
        write: {connection: d, format: parquet, path: out/orders.parquet}
"""


def test_a_failed_quality_check_alerts_with_the_node_assertions_and_dq_score(
    odibi_project, receiver
):
    base = receiver.base
    alerts = f"""\
  - type: webhook
    url: {base}/ok/quality/hook
    metadata: {{throttle_minutes: 0}}
  - type: teams_workflow
    url: {base}/ok/quality/teams
    metadata: {{throttle_minutes: 0, mention: ops@example.com, mention_on_failure: [oncall@example.com]}}
  - type: slack
    url: {base}/ok/quality/slack
    on_events: [on_success]
"""
    project = odibi_project(
        {"odibi.yaml": project_yaml(alerts, QUALITY_NODES), "orders.csv": ORDERS}
    )
    run = project.run()
    assert run.exit_code == 1, run.output
    # on_events defaults to on_failure; the slack channel listens to on_success only.
    (hook,) = receiver.bodies("/ok/quality/hook")
    assert receiver.bodies("/ok/quality/slack") == []
    assert hook["event_type"] == "on_failure" and hook["status"] == "FAILED"
    assert "orders" in hook["message"] and "not_null" in hook["message"]
    (checked,) = hook["quality"]
    assert checked["node"] == "orders"
    # not_null: 1 of 5 missing → 0.8; accepted_values: 1 of 5 → 0.8; score 80.
    assert checked["dq_score"] == pytest.approx(80.0)
    failing = {f["name"]: f for f in checked["failing"]}
    assert sorted(failing) == ["accepted_values", "not_null"]
    assert sorted(f["severity"] for f in checked["failing"]) == ["error", "warn"]
    assert all(f["violation_count"] == 1 and f["element_count"] == 5 for f in checked["failing"])
    (error,) = hook["errors"]
    assert error["node"] == "orders"

    (teams,) = receiver.bodies("/ok/quality/teams")
    card = teams["attachments"][0]["content"]
    assert card["body"][0]["style"] == "attention"
    texts = " ".join(b.get("text", "") for b in card["body"])
    assert "orders (DQ score 80.0): failing" in texts
    mentioned = sorted(e["mentioned"]["id"] for e in card["msteams"]["entities"])
    assert mentioned == ["oncall@example.com", "ops@example.com"]


GATED_NODES = """\
      - name: orders
        read: {connection: d, format: csv, path: orders.csv}
        validation:
          tests:
            - {type: not_null, columns: [amount], on_fail: quarantine}
            - {type: accepted_values, column: status, values: [completed, pending, shipped], on_fail: warn, name: status_ok}
          quarantine: {connection: d, path: out/quarantine}
          gate:
            require_pass_rate: 0.9
            on_fail: warn_and_write
            thresholds:
              - {test: status_ok, min_pass_rate: 0.95}
        write: {connection: d, format: parquet, path: out/orders.parquet}
"""


def test_quarantine_gate_and_threshold_events_name_what_happened(odibi_project, receiver):
    path = "/ok/gate/hook"
    url = receiver.base + path
    alerts = f"""\
  - type: webhook
    url: {url}
    on_events: [on_quarantine, on_gate_block, on_threshold_breach, on_success]
    metadata: {{throttle_minutes: 0}}
"""
    project = odibi_project({"odibi.yaml": project_yaml(alerts, GATED_NODES), "orders.csv": ORDERS})
    run = project.run()
    assert run.exit_code == 0, run.output
    by_event = {b["event_type"]: b for b in receiver.bodies(path)}
    assert list(by_event) == ["on_quarantine", "on_gate_block", "on_threshold_breach", "on_success"]

    q = by_event["on_quarantine"]
    assert q["node"] == "orders" and q["status"] == "QUARANTINE"
    assert q["quarantine_details"] == {
        "rows_quarantined": 1,
        "quarantine_path": "d/out/quarantine",
        "failed_tests": ["not_null"],
        "node_name": "orders",
    }

    gate = by_event["on_gate_block"]["gate_details"]
    assert gate["node_name"] == "orders" and gate["required_rate"] == 0.9
    assert gate["pass_rate"] == pytest.approx(0.6) and gate["total_rows"] == 5
    assert gate["on_fail"] == "warn_and_write" and gate["failure_reasons"]

    breach = by_event["on_threshold_breach"]["threshold_details"]
    assert breach["metric"] == "pass_rate(status_ok)"
    assert breach["threshold"] == 0.95 and breach["actual_value"] == pytest.approx(0.8)
    assert by_event["on_threshold_breach"]["dq_score"] is not None


def test_a_failing_receiver_is_retried_once_and_a_dead_one_never_fails_the_run(
    odibi_project, receiver
):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}/hook"
    alerts = f"""\
  - type: webhook
    url: {receiver.base}/fail-once/retry/hook
    on_events: [on_success]
  - type: webhook
    url: {receiver.base}/fail/always/hook
    on_events: [on_success]
  - type: slack
    url: {dead}
    on_events: [on_success]
"""
    project = odibi_project({"odibi.yaml": project_yaml(alerts, PLAIN_NODES), "orders.csv": ORDERS})
    run = project.run()
    assert run.exit_code == 0, run.output
    assert receiver.count("/fail-once/retry/hook") == 2  # a 500, then the retry got through
    assert receiver.count("/fail/always/hook") == 2  # retried once, no more
    assert "not delivered" in run.output  # said, never raised


def test_a_slow_receiver_holds_the_real_command_up_a_bounded_time(odibi_project, receiver):
    alerts = f"""\
  - type: webhook
    url: {receiver.base}/slow/bounded/hook
    on_events: [on_success]
"""
    quiet = odibi_project({"odibi.yaml": project_yaml("  []", PLAIN_NODES), "orders.csv": ORDERS})
    slow = odibi_project({"odibi.yaml": project_yaml(alerts, PLAIN_NODES), "orders.csv": ORDERS})

    def timed(project):
        started = time.monotonic()
        run = project.run(subprocess_=True, env={"ODIBI_ALERTS_TIMEOUT": "1"})
        assert run.exit_code == 0, run.output
        return time.monotonic() - started, run

    baseline, _ = timed(quiet)
    took, run = timed(slow)
    assert receiver.count("/slow/bounded/hook") >= 1
    # The receiver answers after 6 s; the run waits for it about 1 s (ODIBI_ALERTS_TIMEOUT).
    assert took - baseline < 3.0, (took, baseline)
    assert "given up" in run.output


def test_the_console_script_delivers_before_it_exits(odibi_project, receiver):
    path = "/ok/console/hook"
    url = receiver.base + path
    alerts = f"""\
  - type: webhook
    url: {url}
    on_events: [on_start, on_success]
"""
    project = odibi_project({"odibi.yaml": project_yaml(alerts, PLAIN_NODES), "orders.csv": ORDERS})
    run = project.run(subprocess_=True)
    assert run.exit_code == 0, run.output
    assert [b["event_type"] for b in receiver.bodies(path)] == ["on_start", "on_success"]


def test_alerts_are_throttled_per_pipeline_and_event(odibi_project, receiver):
    path = "/ok/throttle/hook"
    url = receiver.base + path
    alerts = f"""\
  - type: webhook
    url: {url}
    on_events: [on_start, on_success]
    metadata: {{throttle_minutes: 15}}
"""
    project = odibi_project({"odibi.yaml": project_yaml(alerts, PLAIN_NODES), "orders.csv": ORDERS})
    assert project.run().exit_code == 0
    assert project.run().exit_code == 0  # the same process: within 15 minutes of the first
    assert [b["event_type"] for b in receiver.bodies(path)] == ["on_start", "on_success"]


def test_secrets_never_reach_a_channel(odibi_project, receiver):
    path = "/ok/secret/hook"
    url = receiver.base + path
    secret = "HushHushToken98765"
    alerts = f"""\
  - type: webhook
    url: {url}
    metadata: {{throttle_minutes: 0}}
"""
    nodes = """\
      - name: orders
        read: {connection: d, format: csv, path: "${vars.api_token}/orders.csv"}
"""
    project = odibi_project(
        {
            "odibi.yaml": project_yaml(alerts, nodes, extra=f"vars: {{api_token: {secret}}}"),
            "orders.csv": ORDERS,
        }
    )
    run = project.run()
    assert run.exit_code == 1, run.output
    (body,) = receiver.bodies(path)
    assert body["event_type"] == "on_failure"
    raw = str(receiver.requests)
    assert secret not in raw and "***" in body["message"]


def test_alert_keys_validate_with_did_you_mean(odibi_project):
    project = odibi_project(
        {
            "odibi.yaml": """\
            project: shop
            connections: {d: {type: local, base_path: .}}
            alerts:
              - type: slak
                url: http://127.0.0.1:9/x
              - type: teams
                url: http://127.0.0.1:9/x
                on_event: [on_failure]
              - type: webhook
                url: http://127.0.0.1:9/x
                on_events: [on_fail]
                metadata: {throttle_minute: 5}
              - type: webhook
                url: hooks.example.com/x
            lineage: {url: http://127.0.0.1:9, namespce: shop}
            pipelines: []
            """
        }
    )
    run = project.odibi("validate", "{config}")
    assert run.exit_code == 2
    out = run.output
    assert "alerts[0].type" in out and "slack" in out
    assert "unknown key 'on_event'" in out and "did you mean 'on_events'" in out
    assert "on_fail" in out and "alerts[2].on_events" in out
    assert "did you mean 'throttle_minutes'" in out
    assert "unknown key 'namespce'" in out and "did you mean 'namespace'" in out
    assert "alerts[3].url" in out and "http:// or https://" in out


def test_odibis_documented_alert_example_validates(odibi_project):
    project = odibi_project(
        {
            "odibi.yaml": """\
            project: SalesAnalytics
            alerts:
              - type: teams
                url: "https://example.invalid/critical"
                on_events: [on_failure, on_gate_block]
                metadata:
                  throttle_minutes: 5
                  max_per_hour: 20
                  mention_on_failure: ["data-lead@company.com", "on-call@company.com"]
              - type: teams
                url: "https://example.invalid/info"
                on_events: [on_start, on_success]
                metadata: {throttle_minutes: 1, max_per_hour: 50, mention: "data-team@company.com"}
              - type: teams
                url: "https://example.invalid/quality"
                on_events: [on_quarantine, on_threshold_breach]
              - type: webhook
                url: "https://example.invalid/monitoring"
                on_events: [on_failure, on_success]
                metadata: {throttle_minutes: 0}
              - type: slack
                url: "https://example.invalid/slack"
                metadata: {channel: "#data-alerts"}
            lineage: {url: "http://localhost:5000", namespace: my_project}
            connections: {d: {type: local, base_path: .}}
            pipelines: []
            """
        }
    )
    run = project.odibi("validate", "{config}")
    assert run.exit_code == 0, run.output


def test_alerts_is_a_plugin_that_can_be_blocked(odibi_project, receiver):
    path = "/ok/blocked/hook"
    alerts = f"""\
  - type: webhook
    url: {receiver.base}{path}
    on_events: [on_start, on_success]
"""
    project = odibi_project({"odibi.yaml": project_yaml(alerts, PLAIN_NODES), "orders.csv": ORDERS})
    listed = project.odibi("plugins", "--format", "json")
    assert '"alerts"' in listed.stdout
    # Blocked, it would send nothing: the alerts it was asked for are a validation error.
    run = project.run(subprocess_=True, env={"ODIBI_BLOCK_PLUGINS": "alerts"})
    assert run.exit_code == 2, run.output
    assert "alerts: the plugin 'alerts' that runs it is blocked (ODIBI_BLOCK_PLUGINS)" in run.stderr
    assert receiver.bodies(path) == []


def test_a_run_that_raises_still_alerts_on_failure(odibi_project, receiver):
    path = "/ok/crash/hook"
    alerts = f"""\
  - type: webhook
    url: {receiver.base}{path}
    metadata: {{throttle_minutes: 0}}
"""
    plugin = """\
    from odibi_core import hookimpl

    @hookimpl
    def odibi_before_pipeline_run(ctx):
        raise RuntimeError("the warehouse is closed")
    """
    project = odibi_project(
        {
            "odibi.yaml": project_yaml(alerts, PLAIN_NODES),
            "orders.csv": ORDERS,
            "plugins/closed.py": plugin,
        }
    )
    run = project.run()
    assert run.exit_code == 1, run.output
    (body,) = receiver.bodies(path)
    assert body["event_type"] == "on_failure"
    assert "RuntimeError: the warehouse is closed" in body["message"]
    (error,) = body["errors"]
    assert error["node"] is None and error["error_type"] == "RuntimeError"
    assert "the warehouse is closed" in error["error_message"]


def test_throttle_counts_minutes_and_the_hour():
    from odibi_alerts.delivery import Throttle
    from odibi_core.config.models import AlertConfig

    now = [0.0]
    throttle = Throttle(clock=lambda: now[0])
    config = AlertConfig(
        type="webhook", url="http://x", metadata={"throttle_minutes": 1, "max_per_hour": 3}
    )
    sent = []
    for minute in range(0, 130, 1):  # one try a minute for two hours and ten minutes
        now[0] = minute * 60.0
        if throttle.allow(config, "p", "on_failure"):
            sent.append(minute)
    # every minute until 3 in the hour, then nothing until the first leaves the hour
    assert sent == [0, 1, 2, 60, 61, 62, 120, 121, 122]
    assert throttle.allow(config, "other", "on_failure")  # per pipeline
    now[0] += 1
    assert not throttle.allow(config, "p", "on_failure")
    throttle.forget(config, "p", "on_failure")  # the alert of minute 122 was not delivered
    assert throttle.allow(config, "p", "on_failure")
