"""``odibi run`` options and node semantics: --parallel, --dry-run, --resume, retry, --node,
--tag, incremental reads, write modes."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pyarrow.parquet as pq

SLOW_PLUGIN = """
import time
from odibi_core import hookimpl, transform


@transform("nap")
def nap(ctx, df, seconds: float = 0.5):
    time.sleep(seconds)
    return df


@hookimpl
def odibi_register_transforms():
    return [nap]
"""


def test_parallel_runs_independent_nodes_concurrently(odibi_project):
    nodes = "\n".join(
        f"""\
      - name: n{i}
        read: {{connection: d, format: csv, path: in.csv}}
        transformer: nap
        params: {{seconds: 0.6}}"""
        for i in range(4)
    )
    project = odibi_project(
        {
            "odibi.yaml": f"""\
project: p
connections: {{d: {{type: local, base_path: .}}}}
pipelines:
  - pipeline: p
    nodes:
{nodes}
      - name: joined
        depends_on: [n0, n1, n2, n3]
        transform: {{steps: ["SELECT * FROM n0 UNION ALL SELECT * FROM n1 UNION ALL SELECT * FROM n2 UNION ALL SELECT * FROM n3"]}}
        write: {{connection: d, format: parquet, path: out.parquet}}
""",
            "in.csv": "a\n1\n",
            "plugins/slow.py": SLOW_PLUGIN,
        }
    )
    assert project.run("--parallel", "--workers", "4").exit_code == 0
    runs = {r["node_name"]: r for r in project.catalog("meta_runs") if r["scope"] == "node"}
    starts = [runs[f"n{i}"]["started_at"] for i in range(4)]
    ends = [runs[f"n{i}"]["timestamp"] for i in range(4)]
    assert max(starts) < min(ends)  # all four were running at the same time
    assert runs["joined"]["started_at"] >= max(ends)  # and the join waited for them
    assert pq.read_table(project.path("out.parquet")).num_rows == 4


DRY = """\
project: p
connections: {d: {type: local, base_path: .}}
pipelines:
  - pipeline: p
    nodes:
      - name: a
        read: {connection: d, format: csv, path: in.csv}
        write: {connection: d, format: delta, path: out_a}
      - name: b
        depends_on: [a]
        read: {connection: d, format: csv, path: missing.csv}
"""


def test_dry_run_touches_nothing(odibi_project):
    project = odibi_project({"odibi.yaml": DRY, "in.csv": "a\n1\n"})
    before = sorted(p.name for p in project.root.rglob("*"))
    run = project.run("--dry-run")
    assert run.exit_code == 0
    assert "run   a" in run.stdout and "writes delta:out_a (overwrite)" in run.stdout
    assert "input not found" in run.stdout  # b's missing input is flagged before running
    assert sorted(p.name for p in project.root.rglob("*")) == before


RESUME = """\
project: p
retry: {enabled: false}
connections: {d: {type: local, base_path: .}}
pipelines:
  - pipeline: p
    nodes:
      - name: a
        read: {connection: d, format: csv, path: in.csv}
        write: {connection: d, format: parquet, path: a.parquet}
      - name: b
        depends_on: [a]
        transform: {steps: ["SELECT x + 1 AS y FROM df"]}
        write: {connection: d, format: parquet, path: b.parquet}
      - name: c
        depends_on: [b]
        write: {connection: d, format: parquet, path: c.parquet}
"""


def test_resume_skips_nodes_that_succeeded_with_the_same_definition(odibi_project):
    project = odibi_project(
        {"odibi.yaml": RESUME.replace("x + 1", "nope + 1"), "in.csv": "x\n1\n2\n"}
    )
    assert project.run().exit_code == 1
    project.write({"odibi.yaml": RESUME})
    run = project.run("--resume")
    assert run.exit_code == 0, run.output
    rows = project.catalog("meta_runs")
    second = max(rows, key=lambda r: r["timestamp"])["run_id"]
    status = {r["node_name"]: r["status"] for r in rows if r["run_id"] == second}
    assert status == {"a": "SKIPPED", "b": "SUCCESS", "c": "SUCCESS", None: "SUCCESS"}
    skipped = next(r for r in rows if r["run_id"] == second and r["node_name"] == "a")
    assert "resume" in json.loads(skipped["metrics_json"])["skip_reason"]
    assert pq.read_table(project.path("c.parquet")).column("y").to_pylist() == [2, 3]

    # Nothing changed: a second resume skips everything that wrote its output.
    assert project.run("--resume").exit_code == 0
    third = max(project.catalog("meta_runs"), key=lambda r: r["timestamp"])["run_id"]
    status = {
        r["node_name"]: r["status"]
        for r in project.catalog("meta_runs")
        if r["run_id"] == third and r["scope"] == "node"
    }
    assert status == {"a": "SKIPPED", "b": "SKIPPED", "c": "SKIPPED"}

    # Changing a's definition re-runs a and everything downstream of it.
    project.write(
        {
            "odibi.yaml": RESUME.replace("path: in.csv", "path: in.csv, options: {}").replace(
                "x + 1", "x + 10"
            )
        }
    )
    assert project.run("--resume").exit_code == 0
    assert pq.read_table(project.path("c.parquet")).column("y").to_pylist() == [11, 12]


FLAKY_PLUGIN = """
from pathlib import Path
from odibi_core import hookimpl, transform


@transform("flaky")
def flaky(ctx, df, marker: str):
    path = Path(marker)
    if not path.exists():
        path.write_text("failed once")
        raise ConnectionError("transient network blip")
    return df


@hookimpl
def odibi_register_transforms():
    return [flaky]
"""


def test_transient_errors_are_retried_and_user_errors_are_not(odibi_project):
    project = odibi_project(
        {
            "odibi.yaml": """\
project: p
retry: {max_attempts: 3, backoff: constant, backoff_seconds: 0}
connections: {d: {type: local, base_path: .}}
pipelines:
  - pipeline: p
    nodes:
      - name: flaky
        read: {connection: d, format: csv, path: in.csv}
        transformer: flaky
        params: {marker: marker.txt}
      - name: broken
        read: {connection: d, format: csv, path: in.csv}
        transform: {steps: ["SELECT missing_column FROM df"]}
""",
            "in.csv": "a\n1\n",
            "plugins/flaky.py": FLAKY_PLUGIN,
        }
    )
    run = project.run()
    assert run.exit_code == 1
    rows = {r["node_name"]: r for r in project.catalog("meta_runs")}
    assert rows["flaky"]["status"] == "SUCCESS" and rows["flaky"]["attempt"] == 2
    assert rows["broken"]["status"] == "FAILURE" and rows["broken"]["attempt"] == 1


SELECT = """\
project: p
connections: {d: {type: local, base_path: .}}
pipelines:
  - pipeline: p
    nodes:
      - name: a
        tags: [daily]
        read: {connection: d, format: csv, path: in.csv}
        write: {connection: d, format: parquet, path: a.parquet}
      - name: scratch
        read: {connection: d, format: csv, path: in.csv}
      - name: b
        tags: [daily]
        depends_on: [a, scratch]
        transform: {steps: ["SELECT a.v * 2 AS v FROM a JOIN scratch USING (v)"]}
        write: {connection: d, format: parquet, path: b.parquet}
      - name: paused
        enabled: false
        read: {connection: d, format: csv, path: in.csv}
"""


def test_node_and_tag_selection_read_unselected_dependencies_back(odibi_project):
    project = odibi_project({"odibi.yaml": SELECT, "in.csv": "v\n1\n2\n"})
    assert project.run().exit_code == 0
    project.write({"in.csv": "v\n1\n2\n3\n"})  # a is not re-run, so b still sees 1, 2
    assert project.run("--node", "b").exit_code == 0
    rows = project.catalog("meta_runs")
    last = max(rows, key=lambda r: r["timestamp"])["run_id"]
    ran = {r["node_name"] for r in rows if r["run_id"] == last and r["scope"] == "node"}
    assert ran == {"b", "scratch"}  # a was loaded from a.parquet; scratch has no write
    assert pq.read_table(project.path("b.parquet")).column("v").to_pylist() == [2, 4]

    assert project.run("--tag", "daily").exit_code == 0
    assert pq.read_table(project.path("b.parquet")).column("v").to_pylist() == [2, 4, 6]
    first = min(rows, key=lambda r: r["timestamp"])["run_id"]
    assert {r["node_name"]: r["status"] for r in rows if r["run_id"] == first}[
        "paused"
    ] == "SKIPPED"
    assert project.run("--node", "nope").exit_code == 2


INCREMENTAL = """\
project: p
connections: {d: {type: local, base_path: .}}
pipelines:
  - pipeline: p
    nodes:
      - name: events
        read:
          connection: d
          format: csv
          path: events.csv
          incremental: {mode: stateful, column: updated_at}
        write: {connection: d, format: delta, path: events, mode: append}
      - name: recent
        read:
          connection: d
          format: csv
          path: events.csv
          incremental: {mode: rolling_window, column: updated_at, lookback: 2, unit: day}
        write: {connection: d, format: parquet, path: recent.parquet}
"""


def test_incremental_reads_keep_their_high_water_mark_in_meta_state(odibi_project):
    now = datetime.now(UTC).replace(microsecond=0)
    old, new = now - timedelta(days=5), now - timedelta(hours=1)
    project = odibi_project(
        {
            "odibi.yaml": INCREMENTAL,
            "events.csv": f"id,updated_at\n1,{old.isoformat()}\n2,{new.isoformat()}\n",
        }
    )
    assert project.run().exit_code == 0
    assert sorted(r["id"] for r in project.delta("events")) == [1, 2]
    assert pq.read_table(project.path("recent.parquet")).column("id").to_pylist() == [2]
    state = project.catalog("meta_state")
    hwm = {(s["node_name"], s["key"]): json.loads(s["value"]) for s in state}
    assert hwm[("events", "hwm:updated_at")].startswith(new.isoformat()[:19])

    newer = now + timedelta(minutes=1)
    project.write(
        {
            "events.csv": f"id,updated_at\n1,{old.isoformat()}\n2,{new.isoformat()}\n"
            f"3,{newer.isoformat()}\n"
        }
    )
    assert project.run().exit_code == 0
    assert sorted(r["id"] for r in project.delta("events")) == [1, 2, 3]  # only 3 appended
    state = project.catalog("meta_state")
    assert len(state) == 2  # one row per (node, key), upserted
    assert (project.path(".odibi/system/meta_state") / "pipeline_name=p").is_dir()

    # No new rows: nothing appended, the mark stays.
    assert project.run().exit_code == 0
    assert sorted(r["id"] for r in project.delta("events")) == [1, 2, 3]


UPSERT = """\
project: p
connections: {d: {type: local, base_path: .}}
pipelines:
  - pipeline: p
    nodes:
      - name: customers
        read: {connection: d, format: csv, path: in.csv}
        write: {connection: d, format: {fmt}, path: {target}, mode: upsert, options: {keys: [id]}}
"""


def test_upsert_replaces_matching_keys_in_delta_and_files(odibi_project):
    for fmt, target in (("delta", "cust"), ("parquet", "cust.parquet")):
        project = odibi_project(
            {
                "odibi.yaml": UPSERT.replace("{fmt}", fmt).replace("{target}", target),
                "in.csv": "id,name\n1,a\n2,b\n",
            }
        )
        assert project.run().exit_code == 0
        project.write({"in.csv": "id,name\n2,B\n3,c\n"})
        assert project.run().exit_code == 0
        rows = (
            project.delta(target)
            if fmt == "delta"
            else pq.read_table(project.path(target)).to_pylist()
        )
        assert sorted((r["id"], r["name"]) for r in rows) == [(1, "a"), (2, "B"), (3, "c")]


def test_upsert_without_keys_is_a_config_error(odibi_project):
    project = odibi_project(
        {
            "odibi.yaml": UPSERT.replace("{fmt}", "delta")
            .replace("{target}", "x")
            .replace(", options: {keys: [id]}", "")
        }
    )
    run = project.odibi("validate", "{config}")
    assert run.exit_code == 2 and "options.keys" in run.stderr
