"""``detect_deletes`` through the real CLI, in the shape of Odibi's delete-detection tutorial:
full daily extracts compared with the node's own Delta target (snapshot_diff), and keys checked
against a live PostgreSQL (sql_compare); soft and hard deletes, the safety threshold and the
first run. Tables are read back with the independent Delta reader."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

DAYS = [
    "customer_id,name\n1,Ann\n2,Bob\n3,Cy\n4,Dee\n",
    # Bob and Dee are gone.
    "customer_id,name\n1,Ann\n3,Cy\n",
    # Bob is back, Eve is new; Dee stays deleted, Cy goes.
    "customer_id,name\n1,Ann\n2,Bob\n5,Eve\n",
]

SNAPSHOT = """
project: customer_deletes
engine: {engine}
connections:
  raw: {{type: local, base_path: ./data}}
  silver: {{type: local, base_path: ./output/silver}}
pipelines:
  - pipeline: customer_pipeline
    layer: silver
    nodes:
      - name: detect_customer_deletes
        read: {{connection: raw, path: day.csv, format: csv}}
        transform:
          steps:
            - function: detect_deletes
              params:
                mode: snapshot_diff
                keys: [customer_id]
                connection: silver
                path: customers
                {extra}
        write: {{connection: silver, path: customers, format: delta, mode: overwrite}}
"""


def _snapshot_project(odibi_project: Any, engine: str = "pandas", extra: str = "") -> Any:
    return odibi_project({"odibi.yaml": SNAPSHOT.format(engine=engine, extra=extra)})


def _day(project: Any, n: int, code: int = 0) -> Any:
    project.write({"data/day.csv": DAYS[n]})
    run = project.run()
    assert run.exit_code == code, run.output
    return run


def _customers(project: Any) -> list[tuple[Any, ...]]:
    rows = project.delta("output/silver/customers")
    return [tuple(r.values()) for r in rows]


def test_snapshot_diff_flags_keys_the_extract_no_longer_has(odibi_project):
    project = _snapshot_project(odibi_project)
    _day(project, 0)
    # First run: nothing to compare with, every row unflagged.
    assert _customers(project) == [
        (1, "Ann", False), (2, "Bob", False), (3, "Cy", False), (4, "Dee", False),
    ]  # fmt: skip
    _day(project, 1)
    # The deleted rows come back from the previous version, flagged, after today's rows.
    assert _customers(project) == [
        (1, "Ann", False), (3, "Cy", False), (2, "Bob", True), (4, "Dee", True),
    ]  # fmt: skip
    _day(project, 2)
    # Bob reappears unflagged; Dee is carried forward, still deleted; Cy is newly deleted.
    assert _customers(project) == [
        (1, "Ann", False), (2, "Bob", False), (5, "Eve", False), (3, "Cy", True),
        (4, "Dee", True),
    ]  # fmt: skip


def test_hard_delete_and_a_table_that_holds_this_runs_snapshot(odibi_project):
    # The compared table is not the node's target: a bronze table already holding today's
    # snapshot, so the version before its latest is the previous extract (Odibi's rule).
    project = odibi_project(
        {
            "odibi.yaml": """
            project: deletes
            connections:
              raw: {type: local, base_path: ./data}
              lake: {type: local, base_path: ./lake}
            pipelines:
              - pipeline: p
                nodes:
                  - name: bronze
                    read: {connection: raw, path: day.csv, format: csv}
                    write: {connection: lake, path: bronze, format: delta, mode: overwrite}
                  - name: silver
                    depends_on: [bronze]
                    transformer: detect_deletes
                    params: {mode: snapshot_diff, keys: customer_id, connection: lake,
                             path: bronze, soft_delete_col: null}
                    write: {connection: lake, path: silver, format: delta, mode: overwrite}
                  - name: flagged
                    depends_on: [bronze]
                    transformer: detect_deletes
                    params: {mode: snapshot_diff, keys: customer_id, connection: lake,
                             path: bronze, soft_delete_col: gone}
                    write: {connection: lake, path: flagged, format: delta, mode: overwrite}
            """
        }
    )
    _day(project, 0)
    _day(project, 1)
    # Hard delete: today's rows only, no flag column.
    assert [tuple(r.values()) for r in project.delta("lake/silver")] == [(1, "Ann"), (3, "Cy")]
    flagged = [tuple(r.values()) for r in project.delta("lake/flagged")]
    assert flagged == [(1, "Ann", False), (3, "Cy", False), (2, "Bob", True), (4, "Dee", True)]


def test_the_threshold_stops_a_mass_delete(odibi_project):
    extra = "max_delete_percent: 40.0\n                on_threshold_breach: error"
    project = _snapshot_project(odibi_project, extra=extra)
    _day(project, 0)
    run = _day(project, 1, code=1)
    # 2 deleted against 2 rows in today's extract: 100%.
    assert "100.0% of rows flagged for deletion (2 of 2) exceeds max_delete_percent 40.0" in (
        run.output
    )
    # Nothing was written: the target still holds the first day.
    assert [r[0] for r in _customers(project)] == [1, 2, 3, 4]


def test_skip_on_breach_and_error_on_first_run(odibi_project):
    skip = _snapshot_project(
        odibi_project, extra="max_delete_percent: 10\n                on_threshold_breach: skip"
    )
    _day(skip, 0)
    run = _day(skip, 1)
    assert "detect_deletes skipped" in run.output
    assert _customers(skip) == [(1, "Ann", False), (3, "Cy", False)]

    first = _snapshot_project(odibi_project, extra="on_first_run: error")
    run = _day(first, 0, code=1)
    assert "no previous version of 'customers' on connection 'silver'" in run.output


def test_validate_names_what_a_mode_needs(odibi_project):
    project = odibi_project(
        {
            "odibi.yaml": """
            project: deletes
            connections: {raw: {type: local, base_path: ./data}}
            pipelines:
              - pipeline: p
                nodes:
                  - name: a
                    read: {connection: raw, path: day.csv, format: csv}
                    transformer: detect_deletes
                    params: {mode: sql_compare, keys: [id], source_table: dbo.Customers}
                  - name: b
                    read: {connection: raw, path: day.csv, format: csv}
                    transformer: detect_deletes
                    params: {mode: snapshot_diff, kyes: [id]}
                  - name: c
                    read: {connection: raw, path: day.csv, format: csv}
                    transformer: detect_deletes
                    params: {mode: snapshot_diff, keys: [id], snapshot_column: day}
            """
        }
    )
    run = project.odibi("validate", "{config}")
    assert run.exit_code == 2
    assert "mode 'sql_compare' needs 'source_connection'" in run.output
    assert "kyes" in run.output
    assert "snapshot_column is not supported" in run.output


@pytest.fixture
def db(postgres: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """A database of the session's server with a live ``customers`` table, dropped after."""
    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    server = {k: postgres[k] for k in ("host", "port", "user", "password")}
    with psycopg.connect(dbname=postgres["database"], autocommit=True, **server) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    with psycopg.connect(dbname=name, **server) as conn:
        conn.execute("CREATE TABLE customers (customer_id INT PRIMARY KEY, name TEXT)")
        conn.execute("INSERT INTO customers VALUES (1, 'Ann'), (3, 'Cy')")
    yield {**postgres, "database": name}
    with psycopg.connect(dbname=postgres["database"], autocommit=True, **server) as admin:
        admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


SQL_COMPARE = """
project: sql_deletes
engine: {engine}
retry: {{enabled: false}}
connections:
  raw: {{type: local, base_path: ./data}}
  source_db: {pg}
pipelines:
  - pipeline: p
    nodes:
      - name: silver
        read: {{connection: raw, path: day.csv, format: csv}}
        transform:
          steps:
            - operation: detect_deletes
              params:
                mode: sql_compare
                keys: [customer_id]
                source_connection: source_db
                source_table: customers
                max_delete_percent: 60
        write: {{connection: raw, path: silver, format: delta}}
      - name: silver_hard
        read: {{connection: raw, path: day.csv, format: csv}}
        transformer: detect_deletes
        params:
          mode: sql_compare
          keys: [customer_id]
          source_connection: source_db
          source_query: "SELECT customer_id FROM customers WHERE name <> 'Cy'"
          soft_delete_col: null
          max_delete_percent: 80
        write: {{connection: raw, path: silver_hard, format: delta}}
"""


@pytest.mark.parametrize("engine", ["pandas", "polars", "spark"])
def test_sql_compare_checks_keys_against_the_live_source(odibi_project, db, engine):
    if engine == "spark":
        pytest.importorskip("pyspark")  # the keys come through Spark's JDBC source
    pg = json.dumps(
        {
            "type": "postgres",
            "host": db["host"],
            "port": db["port"],
            "database": db["database"],
            "auth": {"mode": "sql_login", "username": db["user"], "password": db["password"]},
        }
    )
    project = odibi_project(
        {"odibi.yaml": SQL_COMPARE.format(engine=engine, pg=pg), "data/day.csv": DAYS[0]}
    )
    run = project.run()
    assert run.exit_code == 0, run.output
    # Two of four are missing from the source (50%, under 60): flagged, in place.
    assert [tuple(r.values()) for r in project.delta("data/silver")] == [
        (1, "Ann", False), (2, "Bob", True), (3, "Cy", False), (4, "Dee", True),
    ]  # fmt: skip
    # The query keeps only Ann: three of four removed (75%, under 80).
    assert [tuple(r.values()) for r in project.delta("data/silver_hard")] == [(1, "Ann")]
