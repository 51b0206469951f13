"""Odibi's Delta write keys through the real CLI on pandas and polars: ``zorder_by``,
``table_properties``, ``merge_schema``/``overwrite_schema``, ``skip_if_unchanged``,
``add_metadata`` and ``auto_optimize``. Tables are checked in their Delta log (deltalake's
history and metadata) and with the independent reader."""

from __future__ import annotations

import json
from datetime import datetime

import pyarrow as pa
import pytest
from deltalake import DeltaTable, write_deltalake

ENGINES = ["pandas", "polars"]

PROJECT = """\
project: p
engine: {engine}
connections: {{d: {{type: local, base_path: .}}}}
pipelines:
  - pipeline: p
    nodes:
      - name: orders
        read: {{connection: d, format: csv, path: in/orders.csv}}
        write:
          connection: d
          format: delta
          path: out/orders
          mode: {mode}
{extra}
"""

ORDERS = "id,region,amount\n1,eu,5\n2,us,7\n3,eu,2\n"


def _project(odibi_project, engine, extra="", mode="append", orders=ORDERS):
    body = "".join(f"          {line}\n" for line in extra.strip().splitlines())
    return odibi_project(
        {
            "odibi.yaml": PROJECT.format(engine=engine, mode=mode, extra=body),
            "in/orders.csv": orders,
        }
    )


def _table(project) -> DeltaTable:
    return DeltaTable(str(project.path("out/orders")))


def _ops(project) -> list[str]:
    return [c["operation"] for c in reversed(_table(project).history())]


def _node_run(project) -> dict:
    runs = [r for r in project.catalog("meta_runs") if r["node_name"] == "orders"]
    return max(runs, key=lambda r: r["timestamp"])


@pytest.mark.parametrize("engine", ENGINES)
def test_zorder_properties_and_auto_optimize_after_each_write(odibi_project, engine):
    extra = """
zorder_by: [id]
table_properties: {delta.enableChangeDataFeed: true}
auto_optimize: {vacuum_retention_hours: 0}
"""
    project = _project(odibi_project, engine, extra)
    assert project.run().exit_code == 0
    assert _table(project).metadata().configuration["delta.enableChangeDataFeed"] == "true"
    # A later property is set on the existing table, in a commit of its own.
    project.write(
        {
            "odibi.yaml": PROJECT.format(
                engine=engine,
                mode="append",
                extra="".join(
                    f"          {line}\n"
                    for line in (
                        "zorder_by: [id]",
                        "table_properties: {delta.enableChangeDataFeed: true, "
                        "delta.logRetentionDuration: interval 60 days}",
                        "auto_optimize: {vacuum_retention_hours: 0}",
                    )
                ),
            )
        }
    )
    run = project.run()
    assert run.exit_code == 0, run.output
    table = _table(project)
    assert table.metadata().configuration == {
        "delta.enableChangeDataFeed": "true",
        "delta.logRetentionDuration": "interval 60 days",
    }
    ops = _ops(project)
    assert ops[0] == "WRITE" and ops.count("WRITE") == 2
    assert ops.count("SET TBLPROPERTIES") == 1
    zorders = [c for c in table.history() if c["operation"] == "OPTIMIZE"]
    assert len(zorders) == 2
    assert all(c["operationMetrics"]["plannerStrategy"] == "zOrder" for c in zorders)
    # Z-ordered by one column: the one active file holds the rows in its order.
    assert len(table.file_uris()) == 1
    assert [r["id"] for r in project.delta("out/orders")] == [1, 1, 2, 2, 3, 3]
    # vacuum_retention_hours: 0 is no VACUUM: the files the optimize replaced stay.
    assert "VACUUM START" not in ops
    assert len(list(project.path("out/orders").glob("*.parquet"))) == 4

    # auto_optimize: true compacts (and VACUUMs files older than 7 days).
    project = _project(odibi_project, engine, "auto_optimize: true")
    assert project.run().exit_code == 0 and project.run().exit_code == 0
    ops = _ops(project)
    assert ops == ["WRITE", "WRITE", "OPTIMIZE"]  # one file has nothing to compact
    (last, *_) = _table(project).history()
    assert last["operationMetrics"]["plannerStrategy"] != "zOrder"
    assert len(_table(project).file_uris()) == 1


@pytest.mark.parametrize("engine", ENGINES)
def test_a_schema_change_fails_unless_merge_or_overwrite_schema_allows_it(odibi_project, engine):
    project = _project(odibi_project, engine)
    assert project.run().exit_code == 0
    project.write({"in/orders.csv": "id,region,amount,channel\n4,eu,1,web\n"})
    run = project.run()
    assert run.exit_code == 1
    assert "new: channel" in run.output and "merge_schema: true" in run.output
    assert _table(project).version() == 0  # nothing written

    project = _project(odibi_project, engine, "merge_schema: true")
    assert project.run().exit_code == 0
    project.write({"in/orders.csv": "id,region,amount,channel\n4,eu,1,web\n"})
    assert project.run().exit_code == 0
    rows = {r["id"]: r for r in _table(project).to_pyarrow_table().to_pylist()}
    assert rows[4]["channel"] == "web" and rows[1]["channel"] is None
    assert "channel" in _table(project).schema().to_arrow().names

    # An overwrite keeps the table's columns and their types...
    project = _project(odibi_project, engine, mode="overwrite")
    assert project.run().exit_code == 0
    project.write({"in/orders.csv": "id,total\n9,1.5\n"})
    run = project.run()
    assert run.exit_code == 1
    assert "new: total; missing: region, amount" in run.output
    assert "overwrite_schema: true" in run.output
    project.write({"in/orders.csv": "id,region,amount\n9,eu,1.5\n"})
    run = project.run()
    assert run.exit_code == 1 and "type changed: amount long → double" in run.output
    # ... unless overwrite_schema replaces them.
    project = _project(odibi_project, engine, "overwrite_schema: true", mode="overwrite")
    assert project.run().exit_code == 0
    project.write({"in/orders.csv": "id,total\n9,1.5\n"})
    assert project.run().exit_code == 0
    assert project.delta("out/orders") == [{"id": 9, "total": 1.5}]


@pytest.mark.parametrize("engine", ENGINES)
def test_skip_if_unchanged_skips_the_same_rows_in_any_order(odibi_project, engine):
    extra = "skip_if_unchanged: true\nskip_hash_columns: [id, amount]"
    project = _project(odibi_project, engine, extra)
    assert project.run().exit_code == 0
    assert _table(project).version() == 0

    # The same rows in another order, and a change in a column not hashed: skipped.
    project.write({"in/orders.csv": "id,region,amount\n3,eu,2\n1,EU,5\n2,us,7\n"})
    run = project.run()
    assert run.exit_code == 0, run.output
    assert "unchanged" in run.output
    assert _table(project).version() == 0
    meta = _node_run(project)
    assert meta["status"] == "SUCCESS"
    assert json.loads(meta["metrics_json"])["write_skipped"] == "unchanged"
    story = max(project.path(".").rglob("run_*.json"), key=lambda p: p.stat().st_mtime)
    node = json.loads(story.read_text())["nodes"][0]
    assert "write delta out/orders skipped: unchanged" in node["steps"]
    assert node["skip_reason"].startswith("unchanged") and node["rows_written"] == 0

    # A row repeated is a change (a sum of row hashes counts repeats).
    project.write({"in/orders.csv": ORDERS + "3,eu,2\n"})
    assert project.run().exit_code == 0
    assert _table(project).version() == 1
    # Someone else's write in between: the same rows are written again.
    write_deltalake(
        str(project.path("out/orders")), pa.table({"id": [7]}), mode="append", schema_mode="merge"
    )
    assert project.run().exit_code == 0
    assert _table(project).version() == 3
    assert project.run().exit_code == 0  # and then skipped again
    assert _table(project).version() == 3


@pytest.mark.parametrize("engine", ENGINES)
def test_add_metadata_adds_the_lineage_columns_that_apply(odibi_project, engine):
    project = _project(odibi_project, engine, "add_metadata: true")
    run = project.run()
    assert run.exit_code == 0, run.output
    rows = project.delta("out/orders")
    assert set(rows[0]) == {"id", "region", "amount", "_extracted_at", "_source_file"}
    assert {r["_source_file"] for r in rows} == {"in/orders.csv"}
    (stamp,) = {r["_extracted_at"] for r in rows}
    assert isinstance(stamp, datetime)
    run_started = min(r["started_at"] for r in project.catalog("meta_runs"))
    assert abs((stamp - run_started.replace(tzinfo=None)).total_seconds()) < 5

    chosen = "add_metadata: {source_file: false, source_connection: true, source_table: true}"
    project = _project(odibi_project, engine, chosen)
    assert project.run().exit_code == 0
    rows = project.delta("out/orders")
    # No _source_table: the read is no table.
    assert set(rows[0]) == {"id", "region", "amount", "_extracted_at", "_source_connection"}
    assert {r["_source_connection"] for r in rows} == {"d"}


@pytest.mark.parametrize(
    ("write", "message"),
    [
        ("format: csv, path: o.csv, zorder_by: [id]", "zorder_by applies to Delta tables"),
        (
            "format: parquet, path: o.parquet, skip_if_unchanged: true",
            "skip_if_unchanged applies to Delta tables",
        ),
        ("format: json, path: o.json, auto_optimize: true", "auto_optimize applies to Delta"),
        (
            "format: delta, path: o, mode: append, overwrite_schema: true",
            "overwrite_schema applies to mode 'overwrite'",
        ),
        (
            "format: delta, path: o, merge_schema: true, overwrite_schema: true",
            "not both",
        ),
        ("format: delta, path: o, skip_hash_columns: [id]", "applies with skip_if_unchanged"),
        (
            "format: delta, path: o, partition_by: [id], zorder_by: [id]",
            "'id' is a partition column",
        ),
        ("format: delta, path: o, add_metadata: [extracted]", "unknown column 'extracted'"),
    ],
)
def test_validate_refuses_write_keys_that_cannot_apply(odibi_project, write, message):
    project = odibi_project(
        {
            "odibi.yaml": f"""\
project: p
connections: {{d: {{type: local, base_path: .}}}}
pipelines:
  - pipeline: p
    nodes:
      - name: n
        read: {{connection: d, format: csv, path: in.csv}}
        write: {{connection: d, {write}}}
"""
        }
    )
    run = project.odibi("validate", "{config}")
    assert run.exit_code == 2
    assert message in run.output


def test_the_delta_write_keys_on_spark(odibi_project):
    pytest.importorskip("pyspark", reason="the spark extra is part of the dev install")
    extra = """
zorder_by: [amount]
table_properties: {delta.enableChangeDataFeed: true}
merge_schema: true
skip_if_unchanged: true
add_metadata: {source_connection: true}
"""
    project = _project(odibi_project, "spark", extra)
    run = project.run()
    assert run.exit_code == 0, run.output
    table = _table(project)
    assert table.metadata().configuration.get("delta.enableChangeDataFeed") == "true"
    history = table.history()
    assert [c["operation"] for c in reversed(history)] == ["WRITE", "OPTIMIZE"]
    assert json.loads(history[0]["operationParameters"]["zOrderBy"]) == ["amount"]
    rows = table.to_pyarrow_table().to_pylist()
    assert {r["_source_connection"] for r in rows} == {"d"}
    assert {r["_source_file"] for r in rows} == {"in/orders.csv"}

    # The same rows again: nothing written; new rows with a new column: merged in.
    run = project.run()
    assert run.exit_code == 0 and "unchanged" in run.output
    assert _table(project).version() == 1
    project.write({"in/orders.csv": "id,region,amount,channel\n4,eu,1,web\n"})
    run = project.run()
    assert run.exit_code == 0, run.output
    rows = {r["id"]: r for r in _table(project).to_pyarrow_table().to_pylist()}
    assert rows[4]["channel"] == "web" and rows[1]["channel"] is None
