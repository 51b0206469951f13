"""End to end: real projects through the real ``odibi`` CLI, outputs and catalog read back with
an independent Delta reader."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from odibi_core.testing import read_delta

ORDERS = """\
order_id,customer_id,status,amount
1,C1,completed,10.5
2,C2,completed,20.0
2,C2,completed,20.0
3,C1,pending,7.25
4,C3,completed,100.0
"""
CUSTOMERS = """\
customer_id,name,country
C1,Ada,GB
C2,Grace,US
C3,Edsger,NL
"""

ODIBI_FORMAT = """\
project: shop
engine: pandas
connections:
  raw: {type: local, base_path: ./data}
  lake: {type: local, base_path: ./lake}
story:
  connection: lake
  path: stories/
pipelines:
  - pipeline: sales
    nodes:
      - name: orders
        read: {connection: raw, format: csv, path: orders.csv}
        transform:
          steps:
            - operation: drop_duplicates
              params: {subset: [order_id]}
        write: {connection: lake, format: parquet, path: bronze/orders.parquet}
      - name: customers
        read: {connection: raw, format: csv, path: customers.csv}
        columns:
          name: {pii: true}
      - name: revenue
        depends_on: [orders, customers]
        transform:
          steps:
            - "SELECT c.country, SUM(o.amount) AS revenue FROM orders o JOIN customers c USING (customer_id) WHERE o.status = 'completed' GROUP BY c.country ORDER BY c.country"
        write: {connection: lake, format: delta, path: gold/revenue}
"""


def shop(odibi_project, yaml: str = ODIBI_FORMAT, **extra: str):
    return odibi_project(
        {"odibi.yaml": yaml, "data/orders.csv": ORDERS, "data/customers.csv": CUSTOMERS, **extra}
    )


def test_odibi_format_project_runs_end_to_end_through_the_console_script(odibi_project):
    project = shop(odibi_project)
    run = project.run(subprocess_=True)
    assert run.exit_code == 0, run.output

    bronze = pq.read_table(project.path("lake/bronze/orders.parquet")).to_pylist()
    assert [r["order_id"] for r in bronze] == [1, 2, 3, 4]
    gold = sorted(read_delta(project.path("lake/gold/revenue")), key=lambda r: r["country"])
    assert gold == [
        {"country": "GB", "revenue": 10.5},
        {"country": "NL", "revenue": 100.0},
        {"country": "US", "revenue": 20.0},
    ]

    runs = project.catalog("meta_runs")
    assert {r["run_id"] for r in runs} and len({r["run_id"] for r in runs}) == 1
    by_node = {r["node_name"]: r for r in runs if r["scope"] == "node"}
    assert set(by_node) == {"orders", "customers", "revenue"}
    assert all(r["status"] == "SUCCESS" for r in runs)
    assert by_node["orders"]["rows_in"] == 5 and by_node["orders"]["rows_out"] == 4
    assert by_node["revenue"]["rows_out"] == 3
    (pipeline_row,) = [r for r in runs if r["scope"] == "pipeline"]
    assert pipeline_row["pipeline_name"] == "sales" and pipeline_row["node_name"] is None
    assert pipeline_row["rows_out"] == 4 + 3  # rows written by orders and revenue
    assert pipeline_row["timestamp"] >= pipeline_row["started_at"]
    assert str(pipeline_row["date"]) == pipeline_row["timestamp"].date().isoformat()
    # meta_runs is partitioned by pipeline_name (SPEC §3 layout).
    assert (project.path(".odibi/system/meta_runs") / "pipeline_name=sales").is_dir()

    pipelines = project.catalog("meta_pipelines")
    nodes = project.catalog("meta_nodes")
    assert [p["pipeline_name"] for p in pipelines] == ["sales"]
    assert {n["node_name"] for n in nodes} == {"orders", "customers", "revenue"}
    assert all(len(n["version_hash"]) == 16 for n in nodes)

    stories = list(project.path("lake/stories/sales").glob("*/run_*.json"))
    assert len(stories) == 1 and stories[0].with_suffix(".html").exists()
    assert project.path("lake/stories/sales/index.html").exists()
    story = json.loads(stories[0].read_text())
    assert story["run_id"] == pipeline_row["run_id"]
    customers = next(n for n in story["nodes"] if n["name"] == "customers")
    assert {row["name"] for row in customers["sample"]} == {"***"}  # pii masked
    assert str(stories[0].with_suffix(".html")) in run.stdout.replace("\n", "")


def test_two_runs_have_two_run_ids_and_unchanged_definitions_are_not_rewritten(odibi_project):
    project = shop(odibi_project)
    assert project.run().exit_code == 0
    log = project.path(".odibi/system/meta_pipelines/_delta_log")
    commits = sorted(log.glob("*.json"))
    assert project.run().exit_code == 0
    runs = project.catalog("meta_runs")
    assert len({r["run_id"] for r in runs}) == 2
    assert len([r for r in runs if r["scope"] == "pipeline"]) == 2
    assert sorted(log.glob("*.json")) == commits  # unchanged definitions write nothing


def test_a_failing_node_fails_only_its_dependents(odibi_project):
    yaml = (
        ODIBI_FORMAT.replace("SELECT c.country, SUM(o.amount)", "SELECT c.country, SUM(o.amountt)")
        + """\
      - name: report
        depends_on: [revenue]
        write: {connection: lake, format: csv, path: report.csv}
      - name: customer_list
        depends_on: [customers]
        write: {connection: lake, format: csv, path: customers.csv}
"""
    )
    project = shop(odibi_project, yaml)
    run = project.run()
    assert run.exit_code == 1
    assert "revenue" in run.stdout and "amountt" in run.stdout  # names node and the SQL
    status = {r["node_name"]: r["status"] for r in project.catalog("meta_runs")}
    assert status == {
        "orders": "SUCCESS",
        "customers": "SUCCESS",
        "revenue": "FAILURE",
        "report": "SKIPPED",
        "customer_list": "SUCCESS",
        None: "FAILURE",
    }
    failed = next(r for r in project.catalog("meta_runs") if r["node_name"] == "revenue")
    assert failed["error_type"] == "SQLError" and "amountt" in failed["error_message"]
    assert not project.path("lake/gold/revenue").exists()
    assert not project.path("lake/report.csv").exists()
    assert project.path("lake/customers.csv").exists()


def test_fail_fast_stops_the_pipeline_and_ignore_does_not_fail_it(odibi_project):
    yaml = """\
project: p
connections: {raw: {type: local, base_path: .}}
pipelines:
  - pipeline: p
    nodes:
      - name: bad
        read: {connection: raw, format: csv, path: missing.csv}
        on_error: {mode}
      - name: other
        read: {connection: raw, format: csv, path: ok.csv}
"""
    fast = odibi_project({"odibi.yaml": yaml.replace("{mode}", "fail_fast"), "ok.csv": "a\n1\n"})
    run = fast.run()
    assert run.exit_code == 1
    status = {r["node_name"]: r["status"] for r in fast.catalog("meta_runs")}
    assert status["bad"] == "FAILURE" and status["other"] == "SKIPPED"

    ignore = odibi_project({"odibi.yaml": yaml.replace("{mode}", "ignore"), "ok.csv": "a\n1\n"})
    run = ignore.run()
    assert run.exit_code == 0, run.output
    status = {r["node_name"]: r["status"] for r in ignore.catalog("meta_runs")}
    assert status == {"bad": "FAILURE", "other": "SUCCESS", None: "SUCCESS"}

    # --on-error overrides every node.
    run = fast.run("--on-error", "fail_later")
    assert run.exit_code == 1
    last = [r for r in fast.catalog("meta_runs") if r["node_name"] == "other"]
    assert sorted(r["status"] for r in last) == ["SKIPPED", "SUCCESS"]


BAD_INPUT = """\
project: p
connections:
  raw: {type: local, base_path: ./data}
  out: {type: local, base_path: ./out}
pipelines:
  - pipeline: p
    nodes:
      - name: load
        read: {connection: raw, format: {fmt}, path: {path}}
        write: {connection: out, format: parquet, path: load.parquet}
"""


@pytest.mark.parametrize(
    ("fmt", "path", "content", "expected"),
    [
        ("csv", "nope.csv", None, "not found"),
        ("csv", "bad.csv", b'a,b\n1,2\n"unterminated,3\n4,5,6,7\n', "cannot read csv 'bad.csv'"),
        ("parquet", "bad.parquet", b"this is not parquet", "cannot read parquet 'bad.parquet'"),
        ("delta", "nodelta", None, "not found"),
    ],
)
def test_bad_input_gives_one_clear_line_and_writes_nothing(
    odibi_project, fmt, path, content, expected
):
    files: dict[str, str | bytes] = {
        "odibi.yaml": BAD_INPUT.replace("{fmt}", fmt).replace("{path}", path)
    }
    if content is not None:
        files[f"data/{path}"] = content
    project = odibi_project(files)
    run = project.run()
    assert run.exit_code == 1
    assert expected in run.stdout
    assert "Traceback" not in run.output
    assert not project.path("out/load.parquet").exists()
    assert not any(p.name.endswith(".tmp") for p in project.root.rglob("*"))
    (row,) = [r for r in project.catalog("meta_runs") if r["node_name"] == "load"]
    assert row["status"] == "FAILURE" and expected in row["error_message"]


def test_unknown_connection_and_cycle_are_config_errors_exit_2(odibi_project):
    project = odibi_project(
        {
            "odibi.yaml": """\
project: p
connections: {raw: {type: local, base_path: .}}
pipelines:
  - pipeline: p
    nodes:
      - name: a
        depends_on: [b]
        read: {connection: rwa, format: csv, path: x.csv}
      - name: b
        depends_on: [a]
"""
        }
    )
    run = project.run()
    assert run.exit_code == 2
    assert "unknown connection 'rwa'" in run.stderr and "did you mean 'raw'" in run.stderr
    assert "dependency cycle" in run.stderr
    assert "Traceback" not in run.output
    assert not project.path(".odibi").exists()


def test_failed_write_leaves_the_previous_output_intact(odibi_project):
    yaml = """\
project: p
connections: {d: {type: local, base_path: .}}
pipelines:
  - pipeline: p
    nodes:
      - name: n
        read: {connection: d, format: csv, path: in.csv}
        transform: {steps: ["SELECT a, 1 / (a - 2) AS b FROM df"]}
        write: {connection: d, format: csv, path: out.csv, options: {sep: "{sep}"}}
"""
    project = odibi_project({"odibi.yaml": yaml.replace("{sep}", ","), "in.csv": "a\n1\n3\n"})
    assert project.run().exit_code == 0
    before = project.path("out.csv").read_text()
    # A separator pandas rejects makes the write itself fail midway.
    project.write({"odibi.yaml": yaml.replace("{sep}", ";;")})
    run = project.run()
    assert run.exit_code == 1 and "cannot write csv 'out.csv'" in run.stdout
    assert project.path("out.csv").read_text() == before
    assert [p.name for p in project.root.iterdir() if p.name.startswith(".out")] == []


@pytest.mark.skipif(shutil.which("script") is None, reason="needs util-linux script for a TTY")
def test_live_progress_on_a_terminal(odibi_project):
    project = shop(odibi_project)
    exe = Path(sys.executable).with_name("odibi")
    proc = subprocess.run(
        ["script", "-qec", f"{exe} run {project.path('odibi.yaml')}", "/dev/null"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout
    screen = proc.stdout
    assert "RUNNING" in screen or "PENDING" in screen  # the live table was drawn
    assert "\x1b[" in screen  # with terminal control codes
    final = screen[screen.rindex("odibi run") :]
    assert "SUCCESS" in final and "story (sales)" in final
