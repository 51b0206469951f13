"""The ``merge`` pattern's Odibi options through the real CLI: ``connection`` + ``path``, the
update/insert/delete conditions over ``source.`` and ``target.``, a Delta target MERGEd
rather than rewritten, ``optimize_write``/``zorder_by``/``vacuum_hours`` after the write, and
the keys that mean nothing here refused by ``odibi validate``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

PROJECT = """
project: merging
connections:
  src: {{type: local, base_path: ./data}}
  silver: {{type: local, base_path: ./silver}}
pipelines:
  - pipeline: p
    nodes:
      - name: orders_silver
        read: {{connection: src, format: csv, path: orders.csv}}
        transform:
          steps:
            - function: merge
              params:
                connection: silver
                path: {path}
                keys: [order_id]
                {extra}
"""
FIRST = "order_id,qty,version,is_deleted\n1,10,1,false\n2,5,1,false\n3,2,1,false\n"
SECOND = (
    "order_id,qty,version,is_deleted\n1,11,0,false\n2,50,2,false\n3,2,2,true\n"
    "4,8,1,false\n5,9,1,true\n"
)


def _merged(odibi_project: Any, extra: str, path: str = "orders") -> Any:
    project = odibi_project(
        {"odibi.yaml": PROJECT.format(extra=extra, path=path), "data/orders.csv": FIRST}
    )
    for load in (FIRST, SECOND):
        project.write({"data/orders.csv": load})
        run = project.run()
        assert run.exit_code == 0, run.output
    return project


def _rows(project: Any, path: str = "silver/orders") -> list[tuple[Any, ...]]:
    if path.endswith(".parquet"):
        import pyarrow.parquet as pq

        rows = pq.read_table(project.path(path)).to_pylist()
    else:
        rows = project.delta(path)
    return sorted((r["order_id"], r["qty"], r["version"]) for r in rows)


def _operations(project: Any) -> list[str]:
    from deltalake import DeltaTable

    history = DeltaTable(str(project.path("silver/orders"))).history()
    return [h["operation"] for h in sorted(history, key=lambda h: h["version"])]


CONDITIONS = (
    'update_condition: "source.version > target.version"\n'
    '                insert_condition: "source.is_deleted = false"\n'
    '                delete_condition: "source.is_deleted = true"'
)


@pytest.mark.parametrize("path", ["orders", "orders.parquet"])
def test_merge_conditions_as_in_a_delta_merge(odibi_project, path):
    project = _merged(odibi_project, CONDITIONS, path)
    # 1: older version, not updated; 2: newer, updated; 3: flagged deleted, removed;
    # 4: new, inserted; 5: new but deleted at the source, not inserted.
    assert _rows(project, f"silver/{path}") == [(1, 10, 1), (2, 50, 2), (4, 8, 1)]


def test_a_delta_target_is_merged_not_rewritten(odibi_project):
    project = _merged(odibi_project, "audit_cols: {created_col: _created, updated_col: _updated}")
    assert _rows(project) == [(1, 11, 0), (2, 50, 2), (3, 2, 2), (4, 8, 1), (5, 9, 1)]
    assert _operations(project) == ["WRITE", "MERGE"]
    rows = {r["order_id"]: r for r in project.delta("silver/orders")}
    assert rows[1]["_created"] < rows[1]["_updated"] == rows[4]["_created"]
    # A delete rewrites the table: the IO layer's MERGE inserts and updates only.
    deleting = _merged(odibi_project, 'delete_condition: "source.is_deleted"')
    assert _operations(deleting) == ["WRITE", "WRITE"]
    assert [r[0] for r in _rows(deleting)] == [1, 2, 4, 5]


def test_optimize_zorder_and_vacuum_after_the_merge(odibi_project):
    extra = "zorder_by: [qty]\n                vacuum_hours: 0"
    project = _merged(odibi_project, extra)
    operations = _operations(project)
    assert operations[:3] == ["WRITE", "OPTIMIZE", "VACUUM START"]
    assert "MERGE" in operations and operations.count("OPTIMIZE") == 2
    from deltalake import DeltaTable

    table = Path(project.path("silver/orders"))
    live = {Path(f).name for f in DeltaTable(str(table)).file_uris()}
    assert {p.name for p in table.rglob("*.parquet")} == live


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("register_table: silver.orders", "the pandas engine has none"),
        ("cluster_by: [qty]", "cluster_by: liquid clustering is not supported"),
        ("table_properties: {a: b}", "table_properties: Delta table properties are not"),
        ("strategy: append_only\n                update_condition: 'true'",
         "update_condition applies to strategy 'upsert', not 'append_only'"),
        ("strategy: delete_match\n                audit_cols: {created_col: c}",
         "audit_cols are not used with strategy 'delete_match'"),
        ("target: silver.orders", "either 'target' or 'connection' + 'path'"),
    ],
)  # fmt: skip
def test_validate_refuses_what_cannot_apply(odibi_project, extra, message):
    project = odibi_project({"odibi.yaml": PROJECT.format(extra=extra, path="orders")})
    run = project.odibi("validate", "{config}")
    assert run.exit_code == 2
    assert message in run.output


def test_delta_only_options_on_another_format_fail_the_node(odibi_project):
    project = odibi_project(
        {
            "odibi.yaml": PROJECT.format(extra="optimize_write: true", path="orders.parquet"),
            "data/orders.csv": FIRST,
        }
    )
    run = project.run()
    assert run.exit_code == 1
    assert "optimize_write applies to Delta tables; 'orders.parquet' is parquet" in run.output


def test_an_unknown_connection_is_named(odibi_project):
    yaml = PROJECT.format(extra="", path="orders").replace(
        "connection: silver", "connection: silvr"
    )
    project = odibi_project({"odibi.yaml": yaml, "data/orders.csv": FIRST})
    run = project.run()
    assert run.exit_code == 1
    assert "connection 'silvr' is not defined (silver, src)" in run.output
