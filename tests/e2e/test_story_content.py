"""What a story says about a run: DAG, schema changes, trends, quality, errors, CLI."""

from __future__ import annotations

import json
import re
from pathlib import Path

PROJECT = """\
project: shop
retry: {enabled: false}
connections: {d: {type: local, base_path: .}}
pipelines:
  - pipeline: sales
    nodes:
      - name: orders
        read: {connection: d, format: csv, path: orders.csv}
        quality:
          data_docs: true
          assertions:
            - {name: ids, type: not_null, columns: [order_id]}
            - {name: amounts, type: between, column: amount, min: 0, max: 100, severity: warn}
            - {name: states, type: accepted_values, column: status, values: [paid, open],
               severity: warn}
      - name: customers
        read: {connection: d, format: csv, path: customers.csv}
      - name: joined
        depends_on: [orders, customers]
        transform:
          steps: ["SELECT o.*, c.name FROM orders o JOIN customers c USING (customer_id)"]
        write: {connection: d, format: parquet, path: out/joined.parquet}
      - name: broken
        depends_on: [joined]
        transform: {steps: ["SELECT nope FROM df"]}
      - name: after_broken
        depends_on: [broken]
        transform: {steps: ["SELECT * FROM df"]}
"""
ORDERS = "order_id,customer_id,amount,status\n1,1,10,paid\n2,1,250,paid\n3,2,30,lost\n4,2,5,open\n"
CUSTOMERS = "customer_id,name\n1,Ada\n2,Bo\n"


def _story(project, nth: int = -1) -> dict:
    paths = sorted(project.path(".odibi/stories/sales").glob("*/run_*.json"))
    stories = sorted((json.loads(p.read_text()) for p in paths), key=lambda s: s["started_at"])
    return stories[nth]


def _shop(odibi_project):
    return odibi_project({"odibi.yaml": PROJECT, "orders.csv": ORDERS, "customers.csv": CUSTOMERS})


def test_story_of_a_run_with_passing_and_failing_assertions(odibi_project):
    project = _shop(odibi_project)
    assert project.run().exit_code == 1
    story = _story(project)
    nodes = {n["name"]: n for n in story["nodes"]}
    assert story["status"] == "FAILURE"
    assert [nodes[n]["status"] for n in ("orders", "joined", "broken", "after_broken")] == [
        "SUCCESS",
        "SUCCESS",
        "FAILURE",
        "SKIPPED",
    ]
    # Quality: exact counts, severities and failing examples per assertion.
    quality = {a["name"]: a for a in nodes["orders"]["sections"]["quality"]["assertions"]}
    assert quality["ids"]["status"] == "passed" and quality["ids"]["violation_count"] == 0
    assert (quality["amounts"]["status"], quality["amounts"]["severity"]) == ("failed", "warn")
    assert (quality["amounts"]["violation_count"], quality["amounts"]["element_count"]) == (1, 4)
    assert quality["amounts"]["failing_examples"] == [250]
    assert quality["states"]["failing_examples"] == ["lost"]
    # DQ score: mean of (1 - 0/4), (1 - 1/4), (1 - 1/4) = 83.3; the run's is that node's.
    assert round(nodes["orders"]["dq_score"], 1) == 83.3 and round(story["dq_score"], 1) == 83.3
    run_quality = story["sections"]["quality"]
    assert run_quality["failed"] == 2 and run_quality["failed_by_severity"]["warn"] == 2
    assert run_quality["data_docs"].endswith("/gx/index.html")
    # Errors say what, where and why.
    error = nodes["broken"]["error"]
    assert error["step"] == "step 1 (sql)" and "nope" in error["message"]
    assert nodes["after_broken"]["skip_reason"] == "dependency 'broken' failed"
    # A first run has nothing to compare its schema or trend with.
    assert nodes["orders"]["schema_changes"] is None and nodes["orders"]["history"] == []

    (page,) = project.path(".odibi/stories/sales").glob("*/run_*.html")
    html = page.read_text()
    for name, status in (("orders", "SUCCESS"), ("broken", "FAILURE"), ("after_broken", "SKIPPED")):
        assert f'data-node="{name}" data-status="{status}"' in html  # the DAG picture
    assert html.count('class="dag-node"') == 5
    assert 'href="#node-broken-detail"' in html and "GX Data Docs for this run" in html
    assert "250" in html and "lost" in html  # failing examples
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html) and "<script" not in html
    assert (page.parent / run_quality["data_docs"]).is_file()


def test_schema_changes_and_trends_come_from_earlier_runs(odibi_project):
    project = _shop(odibi_project)
    project.run()
    # Second run: a column added, one retyped (amount becomes text), one bad value fixed.
    project.write(
        {
            "orders.csv": "order_id,customer_id,amount,status,channel\n"
            "1,1,10,paid,web\n2,1,x,paid,web\n3,2,30,open,shop\n4,2,5,open,web\n"
        }
    )
    project.run()
    first, second = _story(project, 0), _story(project, 1)
    orders = {n["name"]: n for n in second["nodes"]}["orders"]
    changes = orders["schema_changes"]
    assert [c["name"] for c in changes["added"]] == ["channel"]
    assert [(c["name"], c["from"]) for c in changes["retyped"]] == [("amount", "int64")]
    assert changes["removed"] == []
    assert orders["schema_compared_to"] == first["run_id"]
    history = orders["history"]
    assert [h["run_id"] for h in history] == [first["run_id"]]
    assert round(history[0]["dq_score"], 1) == 83.3 and history[0]["rows_out"] == 4
    # A failed node's schema is never the baseline: 'broken' has no earlier success.
    broken = {n["name"]: n for n in second["nodes"]}["broken"]
    assert broken["schema_changes"] is None and broken["history"][0]["status"] == "FAILURE"
    html = next(
        p
        for p in project.path(".odibi/stories/sales").glob("*/run_*.html")
        if second["run_id"] in p.read_text()
    ).read_text()
    assert "changed since run" in html and "was <code>int64</code>" in html
    assert 'class="spark"' in html
    index = project.path(".odibi/stories/sales/index.html").read_text()
    # Three pipeline trend lines, and a DQ line for the one checked node.
    assert index.count("<svg") == 4 and first["run_id"] in index and second["run_id"] in index
    assert index.count('<tr data-node="') == 1


def test_story_cli_list_last_show_diff(odibi_project):
    project = _shop(odibi_project)
    project.run()
    project.write({"orders.csv": ORDERS + "5,1,7,paid\n"})
    project.run()
    first, second = _story(project, 0), _story(project, 1)

    listed = project.odibi("story", "list", "{config}", "--format", "json")
    assert listed.exit_code == 0
    assert [s["run_id"] for s in json.loads(listed.stdout)] == [second["run_id"], first["run_id"]]
    text = project.odibi("story", "list", "{config}").stdout
    assert first["run_id"] in text and "FAILURE" in text

    last = project.odibi("story", "last", "{config}", "--format", "path")
    assert (
        last.stdout.strip().endswith(".html")
        and second["run_id"] in Path(last.stdout.strip()).read_text()
    )
    shown = project.odibi("story", "show", "{config}", first["run_id"][:8])
    assert shown.exit_code == 0, shown.output
    assert first["run_id"] in shown.stdout
    assert "amounts (warn) failed: 1 of 4, e.g. 250" in shown.stdout
    assert "SQL failed" in shown.stdout  # broken's error, first line

    diff = project.odibi("story", "diff", "{config}", "--format", "json")
    assert diff.exit_code == 0, diff.output
    data = json.loads(diff.stdout)
    assert data["before"]["run_id"] == first["run_id"]
    assert data["after"]["run_id"] == second["run_id"]
    nodes = {n["name"]: n for n in data["nodes"]}
    assert nodes["orders"]["rows_out"] == {"before": 4, "after": 5}
    assert nodes["orders"]["changed"] and not nodes["customers"]["changed"]
    assert round(nodes["orders"]["dq_score"]["after"], 1) == 86.7  # 1 - 1/5 twice
    text = project.odibi("story", "diff", "{config}", "last~1", "last").stdout
    assert "4 -> 5 (+1)" in text

    missing = project.odibi("story", "show", "{config}", "feedbeef")
    assert missing.exit_code == 2 and "no story for run 'feedbeef'" in missing.stderr
    wrong = project.odibi("story", "list", "{config}", "--pipeline", "sale")
    assert wrong.exit_code == 2 and "did you mean 'sales'" in wrong.stderr
    first_only = project.odibi("story", "diff", "{config}", first["run_id"])
    assert first_only.exit_code == 2 and "no earlier story" in first_only.stderr
