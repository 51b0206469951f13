"""``pre_sql`` / ``post_sql``: statements run before a node's read and after its write, on its
database connection (pandas, polars: a real PostgreSQL, read back with psycopg) or through
``spark.sql``; elsewhere ``odibi validate`` refuses them."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture
def db(postgres: dict[str, Any]) -> Iterator[dict[str, Any]]:
    psycopg = pytest.importorskip("psycopg")
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = psycopg.connect(**_dsn(postgres), autocommit=True)
    admin.execute(f'CREATE DATABASE "{name}"')
    yield {**postgres, "database": name}
    admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    admin.close()


def _dsn(server: dict[str, Any]) -> dict[str, Any]:
    return {
        "host": server["host"],
        "port": server["port"],
        "user": server["user"],
        "password": server["password"],
        "dbname": server["database"],
    }


def _rows(db: dict[str, Any], query: str) -> list[tuple[Any, ...]]:
    import psycopg

    with psycopg.connect(**_dsn(db)) as conn:
        return conn.execute(query).fetchall()


def _project(db: dict[str, Any], engine: str, node: str) -> str:
    pg = {
        "type": "postgres",
        "host": db["host"],
        "port": db["port"],
        "database": db["database"],
        "auth": {"mode": "sql_login", "username": db["user"], "password": "${env:PG_PASSWORD}"},
    }
    return (
        f"project: hooks\nengine: {engine}\nretry: {{enabled: false}}\n"
        f"connections:\n  d: {{type: local, base_path: .}}\n  pg: {json.dumps(pg)}\n"
        "pipelines:\n  - pipeline: p\n    nodes:\n" + node
    )


NODE = """\
      - name: load
        pre_sql:
          - CREATE TABLE src (id int, v text)
          - "INSERT INTO src VALUES (1, 'a'), (2, 'b')"
        read: {connection: pg, format: sql, table: src}
        write: {connection: pg, format: sql, table: dst}
        post_sql:
          - CREATE TABLE audit (node text, n bigint)
          - "INSERT INTO audit SELECT 'load', count(*) FROM dst"
"""


@pytest.mark.parametrize("engine", ["pandas", "polars"])
def test_pre_sql_runs_before_the_read_and_post_sql_after_the_write(odibi_project, db, engine):
    project = odibi_project({"odibi.yaml": _project(db, engine, NODE)})
    run = project.run(env={"PG_PASSWORD": db["password"]})
    assert run.exit_code == 0, run.output
    assert sorted(_rows(db, "SELECT id, v FROM dst")) == [(1, "a"), (2, "b")]
    assert _rows(db, "SELECT node, n FROM audit") == [("load", 2)]


def test_a_failing_statement_fails_the_node_naming_it(odibi_project, db):
    node = NODE.replace("INSERT INTO audit", "INSERT INTO no_such_table")
    project = odibi_project({"odibi.yaml": _project(db, "pandas", node)})
    run = project.run(env={"PG_PASSWORD": db["password"]})
    assert run.exit_code == 1
    assert "FAILURE load" in run.output
    assert "post_sql statement 2 failed on connection 'pg'" in run.output
    assert "no_such_table" in run.output
    assert sorted(_rows(db, "SELECT id FROM dst")) == [(1,), (2,)]  # the write was done


def test_without_a_database_or_spark_they_are_validate_errors(odibi_project):
    project = odibi_project(
        {
            "odibi.yaml": """\
project: hooks
engine: polars
connections: {d: {type: local, base_path: .}}
pipelines:
  - pipeline: p
    nodes:
      - name: load
        pre_sql: "SET threads = 1"
        read: {connection: d, format: csv, path: in.csv}
        write: {connection: d, format: parquet, path: out.parquet}
""",
            "in.csv": "a\n1\n",
        }
    )
    check = project.odibi("validate", "{config}")
    assert check.exit_code == 2
    assert "pre_sql runs on Spark or on a database connection" in check.output
    assert "polars engine" in check.output


def test_on_spark_they_run_through_spark_sql(odibi_project):
    pytest.importorskip("pyspark")
    view = f"hook_src_{uuid.uuid4().hex[:8]}"
    project = odibi_project(
        {
            "odibi.yaml": f"""\
project: hooks
engine: spark
retry: {{enabled: false}}
connections: {{d: {{type: local, base_path: .}}}}
pipelines:
  - pipeline: p
    nodes:
      - name: load
        pre_sql: ["CREATE OR REPLACE TEMP VIEW {view} AS SELECT 7 AS x"]
        transform: {{steps: ["SELECT x * 6 AS y FROM {view}"]}}
        write: {{connection: d, format: delta, path: out}}
        post_sql: ["DROP VIEW {view}"]
"""
        }
    )
    run = project.run()
    assert run.exit_code == 0, run.output
    assert project.delta("out") == [{"y": 42}]


def test_schema_policy_fits_the_output_to_a_database_table(odibi_project, db):
    node = """\
      - name: load
        pre_sql: ["CREATE TABLE dst (id bigint, v text, extra text)"]
        read: {connection: d, format: csv, path: in.csv}
        schema_policy: {mode: enforce}
        write: {connection: pg, format: sql, table: dst, mode: append}
"""
    project = odibi_project(
        {"odibi.yaml": _project(db, "polars", node), "in.csv": "id,v,new\n1,a,x\n"}
    )
    run = project.run(env={"PG_PASSWORD": db["password"]})
    assert run.exit_code == 0, run.output
    assert _rows(db, "SELECT * FROM dst") == [(1, "a", None)]  # new dropped, extra null
