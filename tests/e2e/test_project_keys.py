"""Odibi's descriptive and run-control keys through the real CLI: node explanations and
runbooks in the story, pipeline owner/tags/freshness_sla in the story and the catalog
(``odibi catalog freshness``), ``retry.initial_delay``/``max_delay``, ``${VAR:default}``,
``performance`` and ``story.docs``, and the keys of a blocked plugin."""

from __future__ import annotations

import json
import re
import time

import pyarrow.parquet as pq
import pytest

ORDERS = "order_id,amount\n1,10\n2,20\n"

EXPLAINED = """\
project: shop
owner: platform@example.com
retry: {enabled: false}
connections: {d: {type: local, base_path: .}}
pipelines:
  - pipeline: sales
    owner: ana@example.com
    freshness_sla: 6h
    tags: [daily, finance]
    nodes:
      - name: orders
        explanation_file: docs/orders.md
        runbook_url: https://wiki.example.com/runbooks/orders
        read: {connection: d, format: csv, path: orders.csv}
      - name: revenue
        depends_on: [orders]
        explanation: |
          Sums **amount** per run. <script>alert(1)</script>
          [bad link](javascript:alert(1)) and [good link](https://example.com/rules)

          | column | meaning |
          |--------|---------|
          | total  | the sum |
        runbook_url: https://wiki.example.com/runbooks/revenue
        transform: {steps: ["SELECT SUM(amount) AS total, nope FROM df"]}
  - pipeline: other
    nodes:
      - name: one
        read: {connection: d, format: csv, path: orders.csv}
"""
ORDERS_MD = "# Orders\n\nLoaded *daily* from the shop's export.\n"


def _story(project, pipeline: str) -> tuple[dict, str]:
    (path,) = project.path(f".odibi/stories/{pipeline}").glob("*/run_*.json")
    return json.loads(path.read_text()), path.with_suffix(".html").read_text()


def _node_html(html: str, name: str) -> str:
    start = html.index(f'<details class="node" id="node-{name}"')
    return html[start : html.index("</details>", start)]


@pytest.mark.parametrize("engine", ["pandas", "polars"])
def test_explanations_and_runbooks_are_shown_in_each_nodes_story(odibi_project, engine):
    project = odibi_project(
        {
            "odibi.yaml": f"engine: {engine}\n" + EXPLAINED,
            "orders.csv": ORDERS,
            "docs/orders.md": ORDERS_MD,
        }
    )
    assert project.run("--pipeline", "sales").exit_code == 1
    story, html = _story(project, "sales")
    nodes = {n["name"]: n for n in story["nodes"]}
    assert nodes["orders"]["explanation"] == ORDERS_MD  # read from its file
    assert nodes["revenue"]["runbook_url"] == "https://wiki.example.com/runbooks/revenue"

    orders = _node_html(html, "orders")
    assert "<h1>Orders</h1>" in orders and "<em>daily</em>" in orders
    # A node that did not fail links its runbook quietly; a failed one in its error box.
    assert 'href="https://wiki.example.com/runbooks/orders"' in orders
    assert "Open the runbook" not in orders
    revenue = _node_html(html, "revenue")
    assert "<strong>amount</strong>" in revenue
    assert "<th>column</th>" in revenue and "<td>the sum</td>" in revenue
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in revenue
    assert 'href="javascript:' not in html
    assert '<a href="https://example.com/rules">good link</a>' in revenue
    shown = project.odibi("story", "last", "{config}", "--pipeline", "sales")
    assert "  revenue: runbook https://wiki.example.com/runbooks/revenue" in shown.stdout
    assert "orders: runbook" not in shown.stdout  # it did not fail
    error = revenue[revenue.index('<div class="error">') :]
    assert 'href="https://wiki.example.com/runbooks/revenue"' in error
    assert "Open the runbook" in error


def test_pipeline_owner_tags_and_sla_are_in_the_story_and_the_catalog(odibi_project):
    project = odibi_project(
        {"odibi.yaml": EXPLAINED, "orders.csv": ORDERS, "docs/orders.md": ORDERS_MD}
    )
    assert project.run().exit_code == 1
    story, html = _story(project, "sales")
    assert (story["owner"], story["tags"], story["freshness_sla"]) == (
        "ana@example.com",
        ["daily", "finance"],
        "6h",
    )
    header = html[: html.index("</header>")]
    assert "owner ana@example.com" in header and "freshness SLA 6h" in header
    assert '<span class="tag">daily</span><span class="tag">finance</span>' in header
    other, _ = _story(project, "other")
    assert other["owner"] == "platform@example.com"  # the project's owner when none is given

    stored = {
        r["pipeline_name"]: json.loads(r["config_json"]) for r in project.catalog("meta_pipelines")
    }
    assert stored["sales"]["owner"] == "ana@example.com"
    assert stored["sales"]["tags"] == ["daily", "finance"]
    assert stored["sales"]["freshness_sla"] == "6h"
    nodes = {r["node_name"]: json.loads(r["config_json"]) for r in project.catalog("meta_nodes")}
    assert nodes["orders"]["explanation_file"] == "docs/orders.md"
    assert nodes["orders"]["runbook_url"] == "https://wiki.example.com/runbooks/orders"


FRESH = """\
project: shop
connections: {d: {type: local, base_path: .}}
pipelines:
  - pipeline: quick
    owner: ana@example.com
    freshness_sla: 1s
    nodes:
      - name: a
        read: {connection: d, format: csv, path: orders.csv}
  - pipeline: daily
    freshness_sla: 1d
    tags: [finance]
    nodes:
      - name: a
        read: {connection: d, format: csv, path: orders.csv}
  - pipeline: broken
    freshness_sla: 30m
    nodes:
      - name: a
        read: {connection: d, format: csv, path: missing.csv}
  - pipeline: untimed
    nodes:
      - name: a
        read: {connection: d, format: csv, path: orders.csv}
"""


def test_catalog_freshness_lists_pipelines_past_their_sla(odibi_project):
    project = odibi_project({"odibi.yaml": FRESH, "orders.csv": ORDERS})
    assert project.run().exit_code == 1  # 'broken' fails
    fresh = project.odibi("catalog", "freshness", "{config}", "--pipeline", "daily")
    assert fresh.exit_code == 0, fresh.output
    assert "FRESH" in fresh.stdout
    time.sleep(1.1)  # 'quick' is now past its 1 s
    run = project.odibi("catalog", "freshness", "{config}", "--format", "json")
    assert run.exit_code == 1, run.output
    rows = {r["pipeline_name"]: r for r in json.loads(run.stdout)["rows"]}
    assert set(rows) == {"quick", "daily", "broken"}  # only pipelines with an SLA
    assert rows["daily"]["status"] == "FRESH" and rows["daily"]["tags"] == ["finance"]
    assert rows["daily"]["overdue_minutes"] is None
    assert rows["quick"]["status"] == "STALE" and rows["quick"]["owner"] == "ana@example.com"
    assert rows["quick"]["overdue_minutes"] >= 0
    assert rows["quick"]["last_success_at"] is not None
    assert rows["broken"]["status"] == "NEVER_SUCCEEDED"
    assert rows["broken"]["last_success_at"] is None
    none = project.odibi("catalog", "freshness", "{config}", "--pipeline", "untimed")
    assert none.exit_code == 0 and "no freshness_sla" in none.stdout


FLAKY = """
from pathlib import Path
from odibi_core import hookimpl, transform


@transform("flaky_twice")
def flaky_twice(ctx, df, marker: str):
    path = Path(marker)
    failures = int(path.read_text()) if path.exists() else 0
    if failures < 2:
        path.write_text(str(failures + 1))
        raise ConnectionError("transient network blip")
    return df


@hookimpl
def odibi_register_transforms():
    return [flaky_twice]
"""


def test_retry_initial_delay_and_max_delay_set_the_waits(odibi_project):
    project = odibi_project(
        {
            "odibi.yaml": """\
project: p
retry: {max_attempts: 3, backoff: exponential, initial_delay: 0.2, max_delay: 0.3}
connections: {d: {type: local, base_path: .}}
pipelines:
  - pipeline: p
    nodes:
      - name: flaky
        read: {connection: d, format: csv, path: orders.csv}
        transformer: flaky_twice
        params: {marker: marker.txt}
""",
            "orders.csv": ORDERS,
            "plugins/flaky.py": FLAKY,
        }
    )
    run = project.run("-v")
    assert run.exit_code == 0, run.output
    # 0.2 s after the first failure, then 0.4 s capped at 0.3 s.
    assert re.search(
        r"attempt 1 failed \(.*transient network blip.*\); retrying in 0\.2s", run.output
    )
    assert re.search(
        r"attempt 2 failed \(.*transient network blip.*\); retrying in 0\.3s", run.output
    )
    (row,) = [r for r in project.catalog("meta_runs") if r["scope"] == "node"]
    assert row["attempt"] == 3 and row["status"] == "SUCCESS"

    project.write(
        {
            "odibi.yaml": project.path("odibi.yaml")
            .read_text()
            .replace("max_delay: 0.3", "backoff_seconds: 1")
        }
    )
    bad = project.odibi("validate", "{config}")
    assert bad.exit_code == 2
    assert "retry: give the first delay once: initial_delay or backoff_seconds" in bad.stderr


DEFAULTS = """\
project: p
retry: {max_attempts: "${ODIBI_T_TRIES:2}"}
connections: {d: {type: local, base_path: "${ODIBI_T_DIR:.}"}}
pipelines:
  - pipeline: p
    nodes:
      - name: tagged
        read: {connection: d, format: csv, path: "${env:ODIBI_T_FILE:orders.csv}"}
        transform:
          steps:
            - "SELECT *, '${ODIBI_T_REGION:emea}' AS region, '${ODIBI_T_DB_PASSWORD:Fallback-Pass-9137}' = 'x' AS probe FROM df"
        write: {connection: d, format: parquet, path: out.parquet}
"""


def test_env_placeholders_with_defaults(odibi_project, monkeypatch):
    for name in (
        "ODIBI_T_TRIES",
        "ODIBI_T_DIR",
        "ODIBI_T_FILE",
        "ODIBI_T_REGION",
        "ODIBI_T_DB_PASSWORD",
    ):
        monkeypatch.delenv(name, raising=False)
    project = odibi_project({"odibi.yaml": DEFAULTS, "orders.csv": ORDERS})
    run = project.run("-v")
    assert run.exit_code == 0, run.output
    out = pq.read_table(project.path("out.parquet")).to_pylist()
    assert {r["region"] for r in out} == {"emea"}
    story, html = _story(project, "p")
    # A default is a value like the variable's would be: shown unless its name says secret.
    assert "'emea' AS region" in story["nodes"][0]["sql"][0]
    texts = [html, json.dumps(story), run.output]
    texts += [r["config_json"] for r in project.catalog("meta_nodes")]
    assert not any("Fallback-Pass-9137" in t for t in texts)
    (stored,) = [json.loads(r["config_json"]) for r in project.catalog("meta_nodes")]
    assert "${ODIBI_T_REGION:emea}" in stored["transform"]["steps"][0]["sql"]  # as written

    # A variable that is set wins over the default.
    run = project.run(env={"ODIBI_T_REGION": "apac"})
    assert run.exit_code == 0, run.output
    assert {r["region"] for r in pq.read_table(project.path("out.parquet")).to_pylist()} == {"apac"}


def test_an_unset_variable_without_default_is_still_an_error(odibi_project, monkeypatch):
    monkeypatch.delenv("ODIBI_T_NOPE", raising=False)
    project = odibi_project(
        {"odibi.yaml": DEFAULTS.replace("${ODIBI_T_REGION:emea}", "${ODIBI_T_NOPE}")}
    )
    run = project.odibi("validate", "{config}")
    assert run.exit_code == 2
    assert "environment variable 'ODIBI_T_NOPE' is not set (used as ${ODIBI_T_NOPE})" in run.stderr
    # Odibi's docs' ${kv:name} is not "a variable kv with default name".
    project.write({"odibi.yaml": DEFAULTS.replace("${ODIBI_T_REGION:emea}", "${kv:sql-password}")})
    run = project.odibi("validate", "{config}")
    assert run.exit_code == 2
    assert "${kv:sql-password}: Key Vault placeholders are not supported" in run.stderr


PERFORMANCE = """\
project: p
engine: pandas
performance: {use_arrow: true, skip_null_profiling: true, skip_catalog_writes: false}
story: {docs: {enabled: false, output_path: docs/generated/, include: {schema: true, sql: false}}}
connections: {d: {type: local, base_path: .}}
pipelines:
  - pipeline: p
    nodes:
      - name: a
        read: {connection: d, format: csv, path: orders.csv}
"""


def test_performance_and_story_docs_keys_that_mean_nothing_different_are_accepted(odibi_project):
    project = odibi_project({"odibi.yaml": PERFORMANCE, "orders.csv": ORDERS})
    assert project.run().exit_code == 0
    assert not project.path("docs/generated").exists()


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("use_arrow: true", "use_arrow: false", "performance.use_arrow: always on here"),
        (
            "skip_catalog_writes: false",
            "skip_catalog_writes: true",
            "performance.skip_catalog_writes: the System Catalog is always written",
        ),
        (
            "skip_catalog_writes: false",
            "skip_run_logging: true",
            "performance.skip_run_logging: the System Catalog is always written",
        ),
        (
            "use_arrow: true",
            "delta_table_properties: {delta.appendOnly: 'true'}",
            "performance.delta_table_properties: not supported",
        ),
        (
            "use_arrow: true",
            "spark_config: {spark.sql.shuffle.partitions: '8'}",
            "performance.spark_config applies to engine spark, not 'pandas'",
        ),
        ("enabled: false", "enabled: true", "story.docs.enabled: generating Markdown docs"),
    ],
)
def test_performance_and_story_docs_keys_that_cannot_apply_are_validate_errors(
    odibi_project, old, new, message
):
    project = odibi_project({"odibi.yaml": PERFORMANCE.replace(old, new, 1)})
    run = project.odibi("validate", "{config}")
    assert run.exit_code == 2, run.output
    assert message in run.stderr


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            "explanation_file: docs/orders.md",
            "explanation_file: docs/orders.md\n        explanation: twice",
        ),
        ("explanation_file: docs/orders.md", "explanation_file: docs/gone.md"),
        ("freshness_sla: 6h", "freshness_sla: 6 hours"),
        ("freshness_sla: 6h", "freshness_sla: 6h\n    freshness_anchor: watermark_state"),
        (
            "runbook_url: https://wiki.example.com/runbooks/orders",
            "runbook_url: 'javascript:alert(1)'",
        ),
    ],
)
def test_descriptive_keys_are_checked(odibi_project, change, message):
    project = odibi_project(
        {"odibi.yaml": EXPLAINED.replace(change, message, 1), "docs/orders.md": ORDERS_MD}
    )
    run = project.odibi("validate", "{config}")
    assert run.exit_code == 2, run.output
    expected = {
        "twice": "node 'orders': give either 'explanation' or 'explanation_file', not both",
        "gone": "node 'orders': explanation_file 'docs/gone.md' not found",
        "6 hours": "freshness_sla: must be a number and a unit, s, m, h or d (30m, 6h, 1d)",
        "watermark_state": "freshness_anchor: not supported; freshness is measured from the end",
        "javascript": "runbook_url: url must be an http:// or https:// URL",
    }
    (wanted,) = [v for k, v in expected.items() if k in message]
    assert wanted in run.stderr
    assert run.stderr.count("\n") == 1  # the one problem, located
    assert ":" in run.stderr.split(" ")[1]


BLOCKED = """\
project: p
alerts: [{type: webhook, url: "http://127.0.0.1:9/hook"}]
connections: {d: {type: local, base_path: .}}
pipelines:
  - pipeline: p
    nodes:
      - name: a
        read: {connection: d, format: csv, path: orders.csv}
        quality: {assertions: [{type: not_null, columns: [order_id]}]}
"""


def test_keys_of_a_blocked_plugin_are_validate_errors(odibi_project):
    project = odibi_project({"odibi.yaml": BLOCKED, "orders.csv": ORDERS})
    run = project.odibi(
        "validate", "{config}", subprocess_=True, env={"ODIBI_BLOCK_PLUGINS": "quality,alerts"}
    )
    assert run.exit_code == 2, run.output
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 2
    assert lines[0].endswith(
        "odibi.yaml:2:1: alerts: the plugin 'alerts' that runs it is blocked "
        "(ODIBI_BLOCK_PLUGINS); unblock it or remove the key"
    )
    assert lines[1].endswith(
        "odibi.yaml:9:9: pipeline 'p', node 'a': quality: the plugin 'quality' that runs it "
        "is blocked (ODIBI_BLOCK_PLUGINS); unblock it or remove the key"
    )
    # Blocked by module path too; a plugin that owns no key given may be blocked freely.
    from odibi_core.plugin_manager import reset_plugin_manager

    reset_plugin_manager()
    env = {"ODIBI_BLOCK_PLUGINS": "odibi_quality.plugin"}
    run = project.odibi("validate", "{config}", env=env)
    assert run.exit_code == 2 and "quality: the plugin 'quality'" in run.stderr
    assert "alerts:" not in run.stderr
    reset_plugin_manager()
    ok = project.odibi("validate", "{config}", env={"ODIBI_BLOCK_PLUGINS": "lineage"})
    assert ok.exit_code == 0, ok.output
