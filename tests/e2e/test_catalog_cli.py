"""``odibi catalog`` through the real CLI on real runs."""

from __future__ import annotations

import json

PROJECT = """\
project: p
system: {maintenance: {enabled: false}}
connections: {d: {type: local, base_path: .}}
pipelines:
  - pipeline: good
    nodes:
      - name: events
        read:
          connection: d
          format: csv
          path: in.csv
          incremental: {mode: stateful, column: id}
  - pipeline: bad
    nodes:
      - name: broken
        read: {connection: d, format: csv, path: missing.csv}
"""


def test_catalog_commands_answer_from_real_runs(odibi_project):
    project = odibi_project({"odibi.yaml": PROJECT, "in.csv": "id\n1\n2\n"})
    for _ in range(3):
        project.run()

    runs = project.odibi("catalog", "runs", "{config}", "--pipeline", "good", "--format", "json")
    assert runs.exit_code == 0
    data = json.loads(runs.stdout)
    assert len(data["rows"]) == 3 and {r["status"] for r in data["rows"]} == {"SUCCESS"}
    assert data["stats"]["files_read"] == 3 and data["stats"]["files_total"] == 6

    failed = json.loads(
        project.odibi(
            "catalog",
            "runs",
            "{config}",
            "--status",
            "failure",
            "--since",
            "1d",
            "--format",
            "json",
        ).stdout
    )
    assert [r["pipeline_name"] for r in failed["rows"]] == ["bad"] * 3

    last = json.loads(project.odibi("catalog", "last-run", "{config}", "--format", "json").stdout)
    assert sorted(r["pipeline_name"] for r in last["rows"]) == ["bad", "good"]
    assert last["stats"]["files_read"] == 2

    state = json.loads(project.odibi("catalog", "state", "{config}", "--format", "json").stdout)
    assert [(r["node_name"], r["key"], r["value"]) for r in state["rows"]] == [
        ("events", "hwm:id", "2")
    ]

    table = project.odibi("catalog", "runs", "{config}", "--scope", "node")
    assert table.exit_code == 0 and "broken" in table.stdout and "FAILURE" in table.stdout

    stats = json.loads(project.odibi("catalog", "stats", "{config}", "--format", "json").stdout)
    by_table = {r["table"]: r for r in stats["rows"]}
    assert by_table["meta_runs"]["files"] == 6 and by_table["meta_runs"]["partitions"] == 2

    optimized = project.odibi("catalog", "optimize", "{config}", "--format", "json")
    assert optimized.exit_code == 0
    after = json.loads(project.odibi("catalog", "stats", "{config}", "--format", "json").stdout)
    assert {r["table"]: r["files"] for r in after["rows"]}["meta_runs"] == 2
    again = json.loads(
        project.odibi(
            "catalog", "runs", "{config}", "--pipeline", "good", "--format", "json"
        ).stdout
    )
    assert [r["run_id"] for r in again["rows"]] == [r["run_id"] for r in data["rows"]]

    dry = json.loads(
        project.odibi(
            "catalog",
            "vacuum",
            "{config}",
            "--retention-hours",
            "0",
            "--dry-run",
            "--format",
            "json",
        ).stdout
    )
    assert dry["dry_run"] and len(dry["files"]["meta_runs"]) == 6
    assert project.odibi("catalog", "vacuum", "{config}", "--retention-hours", "0").exit_code == 0
    files = list(project.path(".odibi/system/meta_runs").glob("pipeline_name=*/*.parquet"))
    assert len(files) == 2


def test_catalog_on_an_empty_project_and_bad_since(odibi_project):
    project = odibi_project({"odibi.yaml": PROJECT, "in.csv": "id\n1\n"})
    empty = project.odibi("catalog", "runs", "{config}")
    assert empty.exit_code == 0 and "no rows" in empty.stdout
    bad = project.odibi("catalog", "runs", "{config}", "--since", "yesterday-ish")
    assert bad.exit_code == 2 and "--since 'yesterday-ish'" in bad.stderr


def test_runs_trigger_maintenance_when_a_partition_has_too_many_files(odibi_project):
    project = odibi_project(
        {
            "odibi.yaml": PROJECT.replace(
                "maintenance: {enabled: false}", "maintenance: {max_files: 3, retention_hours: 0}"
            ),
            "in.csv": "id\n1\n",
        }
    )
    for _ in range(5):
        assert project.run("--pipeline", "good").exit_code == 0
    files = list(project.path(".odibi/system/meta_runs/pipeline_name=good").glob("*.parquet"))
    assert len(files) <= 3  # compacted and vacuumed along the way
    rows = [r for r in project.catalog("meta_runs") if r["scope"] == "pipeline"]
    assert len(rows) == 5
