"""Database connections (``type: postgres``) through the real CLI against a real PostgreSQL
(the ``postgres`` fixture: Debian's server, initdb in a temp dir, one per xdist worker). Each
test gets a database of its own; tables are read back with psycopg, independently of Odibi."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pyarrow.parquet as pq
import pytest

psycopg = pytest.importorskip("psycopg")
pytest.importorskip("sqlalchemy")

FIRST = "id,amount,note\n1,1.5,a\n2,2.5,\n,9.0,null key\n"
SECOND = "id,amount,note\n2,20.5,changed\n3,3.5,c\n,90.0,null key again\n"
MODES = ("overwrite", "append", "upsert", "append_once", "merge")

#: The rows each mode leaves after FIRST then SECOND: (id, amount), sorted (a table has no
#: order); the same as for files (tests/e2e/test_engines_share_the_io_layer.py).
EXPECTED = {
    "overwrite": [(2, 20.5), (3, 3.5), (None, 90.0)],
    "append": [(1, 1.5), (2, 2.5), (2, 20.5), (3, 3.5), (None, 9.0), (None, 90.0)],
    "upsert": [(1, 1.5), (2, 20.5), (3, 3.5), (None, 90.0)],
    "append_once": [(1, 1.5), (2, 2.5), (3, 3.5), (None, 9.0)],
    "merge": [(1, 1.5), (2, 20.5), (3, 3.5), (None, 90.0)],
}


@pytest.fixture
def db(postgres: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """A database of the session's server for one test, dropped afterwards."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = _connect(postgres, autocommit=True)
    admin.execute(f'CREATE DATABASE "{name}"')
    yield {**postgres, "database": name}
    admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    admin.close()


def _connect(server: dict[str, Any], autocommit: bool = False) -> Any:
    return psycopg.connect(
        host=server["host"],
        port=server["port"],
        user=server["user"],
        password=server["password"],
        dbname=server["database"],
        autocommit=autocommit,
    )


def _rows(db: dict[str, Any], query: str) -> list[tuple[Any, ...]]:
    with _connect(db) as conn:
        return conn.execute(query).fetchall()


def _execute(db: dict[str, Any], *statements: str) -> None:
    with _connect(db) as conn:
        for statement in statements:
            conn.execute(statement)


def _connection(db: dict[str, Any], **extra: Any) -> str:
    fields = {
        "type": "postgres",
        "host": db["host"],
        "port": db["port"],
        "database": db["database"],
        "auth": {"mode": "sql_login", "username": db["user"], "password": "${env:PG_PASSWORD}"},
        **extra,
    }
    return json.dumps(fields)


def _env(db: dict[str, Any]) -> dict[str, str]:
    return {"PG_PASSWORD": db["password"]}


def _project(db: dict[str, Any], nodes: str, engine: str = "pandas") -> str:
    return (
        f"project: sql\nengine: {engine}\nretry: {{enabled: false}}\n"
        f"connections:\n  d: {{type: local, base_path: .}}\n  pg: {_connection(db)}\n"
        "pipelines:\n  - pipeline: p\n    nodes:\n" + nodes
    )


def _sorted(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    return sorted(rows, key=lambda r: (r[0] is None, r[0] or 0, r[1]))


@pytest.mark.parametrize("engine", ["pandas", "polars", "spark"])
def test_every_write_mode_means_the_same_in_postgres(odibi_project, db, engine):
    nodes = []
    for mode in MODES:
        keys = ", merge_keys: [id]" if mode == "merge" else ""
        if mode in ("upsert", "append_once"):
            keys = ", options: {keys: [id]}"
        nodes.append(
            f"      - name: w_{mode}\n"
            "        read: {connection: d, format: csv, path: in.csv}\n"
            f"        write: {{connection: pg, format: sql, table: public.t_{mode}, "
            f"mode: {mode}{keys}}}\n"
        )
    project = odibi_project({"odibi.yaml": _project(db, "".join(nodes), engine), "in.csv": FIRST})
    first = project.run(env=_env(db))
    assert first.exit_code == 0, first.output
    project.write({"in.csv": SECOND})
    second = project.run(env=_env(db))
    assert second.exit_code == 0, second.output
    for mode in MODES:
        got = _rows(db, f"SELECT id, amount FROM public.t_{mode}")
        assert _sorted(got) == _sorted(EXPECTED[mode]), (mode, got)


TYPED = """\
      - name: load
        read: {connection: d, format: parquet, path: typed.parquet}
        write: {connection: pg, format: postgres, path: public.typed, mode: overwrite}
      - name: back
        depends_on: [load]
        read: {connection: pg, format: sql, table: public.typed}
        write: {connection: d, format: parquet, path: back.parquet}
"""


def _typed_table() -> Any:
    import pyarrow as pa

    return pa.table(
        {
            "id": pa.array([1, 2, 3], pa.int64()),
            "at": pa.array(
                [datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=UTC), None, datetime(1999, 12, 31)],
                pa.timestamp("us", tz="UTC"),
            ),
            "price": pa.array([Decimal("12.34"), Decimal("-0.01"), None], pa.decimal128(12, 2)),
            "name": pa.array(['ünï, "quoted"\nline', "", None], pa.string()),
            "ok": pa.array([True, False, None], pa.bool_()),
            "ratio": pa.array([0.5, None, -1e300], pa.float64()),
            "day": pa.array([datetime(2026, 5, 1).date(), None, datetime(1970, 1, 1).date()]),
        }
    )


@pytest.mark.parametrize("engine", ["polars", "pandas", "spark"])
def test_types_round_trip_through_postgres(odibi_project, db, engine):
    project = odibi_project({"odibi.yaml": _project(db, TYPED, engine)})
    original = _typed_table()
    pq.write_table(original, project.path("typed.parquet"))
    run = project.run(env=_env(db))
    assert run.exit_code == 0, run.output
    columns = dict(
        _rows(
            db,
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_name = 'typed'",
        )
    )
    expected = {
        "id": "bigint",
        "at": "timestamp with time zone",
        "price": "numeric",
        "name": "text",
        "ok": "boolean",
        "ratio": "double precision",
        "day": "date",
    }
    assert columns == expected  # pandas reads keep decimals and dates too
    assert _rows(db, "SELECT name FROM typed ORDER BY id") == [
        ('ünï, "quoted"\nline',),
        ("",),  # an empty text stays empty, a null stays null
        (None,),
    ]
    back = pq.read_table(project.path("back.parquet"))
    if engine == "spark":  # Spark's parquet files hold UTC times without the zone's name
        import pyarrow as pa

        at = back.schema.get_field_index("at")
        back = back.set_column(at, "at", back["at"].cast(pa.timestamp("us", tz="UTC")))
    if engine == "pandas":  # Decimal objects: the precision their values need, the scale kept
        assert back.schema.field("price").type.scale == original.schema.field("price").type.scale
    else:
        assert back.schema.field("price").type == original.schema.field("price").type
    assert back.schema.field("ok").type == original.schema.field("ok").type
    assert back.select(original.column_names).sort_by("id").to_pylist() == original.to_pylist()


READS = """\
      - name: by_table
        read: {connection: pg, format: sql, table: src, filter: "amount > 1"}
        write: {connection: d, format: csv, path: by_table.csv}
      - name: by_query
        read:
          connection: pg
          format: sql
          query: "SELECT id, amount * 2 AS doubled FROM src WHERE note LIKE 'a%';"
          filter: "doubled < 100"
        write: {connection: d, format: csv, path: by_query.csv}
      - name: by_file
        read: {connection: pg, format: azure_sql, sql_file: sql/pick.sql}
        write: {connection: d, format: csv, path: by_file.csv}
"""


def test_reads_a_table_a_query_and_a_sql_file_with_the_filter_in_the_query(odibi_project, db):
    _execute(
        db,
        "CREATE TABLE src (id int, amount numeric(8,2), note text)",
        "INSERT INTO src VALUES (1, 0.5, 'a1'), (2, 2.5, 'ab'), (3, 70, 'b'), (4, 80, 'a4')",
    )
    project = odibi_project(
        {
            "odibi.yaml": _project(db, READS).replace("format: azure_sql", "format: sql"),
            "sql/pick.sql": "SELECT id FROM src WHERE id % 2 = 0 ORDER BY id",
        }
    )
    run = project.run(env=_env(db))
    assert run.exit_code == 0, run.output
    assert project.path("by_table.csv").read_text().splitlines() == [
        "id,amount,note",
        "2,2.5,ab",  # numeric(8,2) as a pandas float
        "3,70.0,b",
        "4,80.0,a4",
    ]
    assert project.path("by_query.csv").read_text().splitlines() == [
        "id,doubled",
        "1,1.0",
        "2,5.0",
    ]
    assert project.path("by_file.csv").read_text().splitlines() == ["id", "2", "4"]
    sent = db["log"].read_text()
    assert 'SELECT * FROM "src" WHERE (amount > 1)' in sent  # the filter went to the server


INCREMENTAL = """\
      - name: events
        read:
          connection: pg
          format: sql
          table: events
          incremental: {mode: stateful, column: updated_at}
        write: {connection: d, format: delta, path: events, mode: append}
"""


def test_an_incremental_read_asks_the_database_for_rows_past_the_mark(odibi_project, db):
    _execute(
        db,
        "CREATE TABLE events (id int, updated_at timestamptz)",
        "INSERT INTO events VALUES (1, '2026-01-01T00:00:00Z'), (2, '2026-01-02T00:00:00Z')",
    )
    project = odibi_project({"odibi.yaml": _project(db, INCREMENTAL)})
    run = project.run(env=_env(db))
    assert run.exit_code == 0, run.output
    (state,) = project.catalog("meta_state")
    assert json.loads(state["value"]) == "2026-01-02T00:00:00+00:00"
    _execute(db, "INSERT INTO events VALUES (3, '2026-01-03T00:00:00+01:00')")
    run = project.run(env=_env(db))
    assert run.exit_code == 0, run.output
    assert sorted(r["id"] for r in project.delta("events")) == [1, 2, 3]
    assert (
        """SELECT * FROM "events" WHERE "updated_at" > TIMESTAMPTZ '2026-01-02T00:00:00+00:00'"""
        in db["log"].read_text()
    )
    (state,) = project.catalog("meta_state")
    assert json.loads(state["value"]) == "2026-01-02T23:00:00+00:00"


def test_a_rolling_window_asks_the_database_for_rows_since_its_start(odibi_project, db):
    _execute(
        db,
        "CREATE TABLE recent (id int, at timestamp)",
        "INSERT INTO recent VALUES (1, now() AT TIME ZONE 'UTC' - interval '3 days'), "
        "(2, now() AT TIME ZONE 'UTC' - interval '1 hour'), (3, NULL)",
    )
    nodes = (
        "      - name: recent\n"
        "        read:\n"
        "          connection: pg\n"
        "          format: sql\n"
        "          query: SELECT id, at FROM recent\n"
        "          incremental: {mode: rolling_window, column: at, lookback: 1, unit: day}\n"
        "        write: {connection: d, format: csv, path: recent.csv}\n"
    )
    project = odibi_project({"odibi.yaml": _project(db, nodes)})
    run = project.run(env=_env(db))
    assert run.exit_code == 0, run.output
    rows = project.path("recent.csv").read_text().splitlines()[1:]
    assert len(rows) == 1 and rows[0].startswith("2,"), rows  # not 3 days old, not null
    sent = db["log"].read_text()
    assert (
        'SELECT * FROM (SELECT id, at FROM recent) AS odibi_source WHERE "at" >= TIMESTAMPTZ'
        in sent
    )


FIRST_RUN = """\
      - name: events
        read:
          connection: pg
          format: sql
          table: events
          incremental: {mode: stateful, column: updated_at}
        write:
          connection: d
          format: delta
          path: events
          mode: append
          first_run_query: SELECT * FROM events WHERE updated_at >= '2026-01-01'
"""


def test_first_run_query_loads_the_target_until_it_exists(odibi_project, db):
    """Odibi's write.first_run_query: while the target is missing the node reads with it
    (unfiltered by the mark, which starts from what it read); then incrementally."""
    _execute(
        db,
        "CREATE TABLE events (id int, updated_at timestamptz)",
        "INSERT INTO events VALUES (1, '2025-06-01T00:00:00Z'), (2, '2026-01-01T00:00:00Z'), "
        "(3, '2026-01-02T00:00:00Z')",
    )
    project = odibi_project({"odibi.yaml": _project(db, FIRST_RUN)})
    start = db["log"].stat().st_size
    run = project.run(env=_env(db))
    assert run.exit_code == 0, run.output
    assert sorted(r["id"] for r in project.delta("events")) == [2, 3]  # not 2025's
    (state,) = project.catalog("meta_state")
    assert json.loads(state["value"]) == "2026-01-02T00:00:00+00:00"
    sent = db["log"].read_bytes()[start:].decode()
    assert "SELECT * FROM events WHERE updated_at >= '2026-01-01'" in sent
    assert '"updated_at" >' not in sent
    _execute(db, "INSERT INTO events VALUES (4, '2026-01-03T00:00:00Z')")
    start = db["log"].stat().st_size
    run = project.run(env=_env(db))
    assert run.exit_code == 0, run.output
    assert sorted(r["id"] for r in project.delta("events")) == [2, 3, 4]
    sent = db["log"].read_bytes()[start:].decode()
    assert """SELECT * FROM "events" WHERE "updated_at" > TIMESTAMPTZ '2026-01-02""" in sent
    assert "updated_at >= '2026-01-01'" not in sent


def test_first_run_query_needs_a_database_read(odibi_project):
    project = odibi_project(
        {
            "odibi.yaml": """\
project: p
connections: {d: {type: local, base_path: .}}
pipelines:
  - pipeline: p
    nodes:
      - name: files
        read: {connection: d, format: csv, path: in.csv}
        write: {connection: d, format: delta, path: t, first_run_query: SELECT 1}
"""
        }
    )
    run = project.odibi("validate", "{config}")
    assert run.exit_code == 2
    assert "write.first_run_query replaces the query of a database read" in run.output
    assert "this node reads format 'csv'" in run.output


MERGE = """\
      - name: orders
        read: {connection: d, format: csv, path: in.csv}
        write:
          connection: pg
          format: sql_server
          table: sales.orders
          mode: merge
          merge_keys: [id]
          merge_options:
            auto_create_schema: true
            exclude_columns: [scratch]
            audit_cols: {created_col: created_at, updated_col: updated_at}
"""


def test_a_failed_merge_leaves_the_table_as_it_was(odibi_project, db):
    project = odibi_project(
        {
            "odibi.yaml": _project(db, MERGE).replace("sql_server", "postgres"),
            "in.csv": "id,amount,scratch\n1,1.5,x\n2,2.5,y\n",
        }
    )
    run = project.run(env=_env(db))
    assert run.exit_code == 0, run.output
    before = _rows(db, "SELECT id, amount, created_at, updated_at FROM sales.orders ORDER BY id")
    assert [r[:2] for r in before] == [(1, 1.5), (2, 2.5)]
    assert all(r[2] is not None and r[2] == r[3] for r in before)
    columns = _rows(
        db, "SELECT column_name FROM information_schema.columns WHERE table_name = 'orders'"
    )
    assert "scratch" not in {c for (c,) in columns}
    # The third row's amount is no number: the load into the staging table (the target's
    # types) fails after the first rows, and nothing of the batch reaches the table.
    project.write({"in.csv": "id,amount,scratch\n1,10.5,x\n3,3.5,y\n4,not a number,z\n"})
    failed = project.run(env=_env(db))
    assert failed.exit_code == 1, failed.output
    assert "not a number" in failed.output or "invalid input" in failed.output
    assert (
        _rows(db, "SELECT id, amount, created_at, updated_at FROM sales.orders ORDER BY id")
        == before
    )
    project.write({"in.csv": "id,amount,scratch\n1,10.5,x\n3,3.5,y\n"})
    again = project.run(env=_env(db))
    assert again.exit_code == 0, again.output
    after = _rows(db, "SELECT id, amount, created_at, updated_at FROM sales.orders ORDER BY id")
    assert [r[:2] for r in after] == [(1, 10.5), (2, 2.5), (3, 3.5)]
    assert after[0][2] == before[0][2] and after[0][3] > before[0][3]  # updated, not created
    assert after[1] == before[1]


def test_the_password_never_reaches_an_output(odibi_project, db):
    nodes = (
        "      - name: good\n"
        "        read: {connection: d, format: csv, path: in.csv}\n"
        "        write: {connection: pg, format: sql, table: ok, mode: append}\n"
        "      - name: bad\n"
        "        read: {connection: pg, format: sql, query: 'SELECT * FROM missing_table'}\n"
    )
    project = odibi_project({"odibi.yaml": _project(db, nodes), "in.csv": FIRST})
    run = project.run("--verbose", env=_env(db))
    assert run.exit_code == 1, run.output
    assert "missing_table" in run.output
    secret = db["password"]
    assert secret not in run.output
    written = [p for p in project.root.rglob("*") if p.is_file()]
    assert any("stories" in str(p) for p in written)
    for path in written:
        assert secret.encode() not in path.read_bytes(), path
    tables = [p.name for p in project.path(".odibi/system").iterdir() if p.is_dir()]
    assert {"meta_runs", "meta_nodes"} <= set(tables)
    for table in tables:  # decoded: a compressed parquet page would hide it from a byte scan
        for row in project.catalog(table):
            assert secret not in json.dumps(row, default=str), table
    bad_password = odibi_project(
        {"odibi.yaml": _project(db, nodes.split("      - name: bad")[0]), "in.csv": FIRST},
    )
    wrong = bad_password.run(env={"PG_PASSWORD": "Wrong-Password-1234"})
    assert wrong.exit_code == 1
    assert "password authentication failed" in wrong.output
    assert "Wrong-Password-1234" not in wrong.output


def test_validate_names_bad_database_keys(odibi_project, db):
    project = odibi_project(
        {
            "odibi.yaml": (
                "project: v\nconnections:\n"
                "  d: {type: local, base_path: .}\n"
                "  pg: {type: postgres, host: h, prot: 5432, database: x, "
                "auth: {mode: sql_login, username: u}}\n"
                "  ms: {type: sql_server, host: h, auth: {mode: sql_login, username: u}}\n"
                "  az: {type: azure_sql, server: h, database: x, auth: {mode: sql, password: p}}\n"
                "story: {connection: pg}\n"
                "pipelines:\n  - pipeline: p\n    nodes:\n"
                "      - name: a\n"
                "        read: {connection: d, format: csv, path: in.csv}\n"
                "        write: {connection: pg, format: sql, table: t, mode: merge}\n"
                "      - name: b\n"
                "        read: {connection: d, format: csv, path: in.csv}\n"
                "        write: {connection: pg, format: sql, table: t, mode: merge,\n"
                "                merge_keys: [id], merge_options: {update_condition: x}}\n"
                "      - name: c\n"
                "        read: {connection: pg, format: sql, table: t, options: {pushdown: no}}\n"
                "      - name: e\n"
                "        read: {connection: pg, format: csv, path: t.csv}\n"
                "        write: {connection: d, format: sql, table: t}\n"
            )
        }
    )
    checked = project.odibi("validate", "{config}")
    assert checked.exit_code == 2, checked.output
    out = checked.output
    assert "prot" in out
    assert "missing required key 'database' in connections.ms" in out
    assert "auth mode 'sql_login' needs username" in out  # Odibi's 'sql' is our sql_login
    assert "connection 'pg' (postgres) holds tables, not files" in out  # story.connection
    assert "format 'csv' reads files, but connection 'pg' (postgres) holds tables: use " in out
    assert "format 'sql' writes tables, but connection 'd' (local) holds files" in out
    assert "mode 'merge' needs 'merge_keys'" in out
    assert "merge_options.update_condition is Odibi's but odibi_core does not support it" in out
    assert "'pushdown' is not an option of format sql" in out and "push_down" in out


def test_a_closed_port_fails_fast_with_the_address(odibi_project, tmp_path):
    import socket
    import time

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    for kind in ("sql_server", "postgres"):
        project = odibi_project(
            {
                "odibi.yaml": (
                    f"project: c\nretry: {{enabled: false}}\nconnections:\n"
                    f"  db: {{type: {kind}, host: 127.0.0.1, port: {port}, database: x, "
                    "auth: {mode: sql_login, username: u, password: Pw-Not-Shown-99}}\n"
                    "pipelines:\n  - pipeline: p\n    nodes:\n"
                    "      - name: a\n        read: {connection: db, format: sql, table: t}\n"
                )
            }
        )
        started = time.monotonic()
        run = project.run()
        assert run.exit_code == 1, run.output
        assert time.monotonic() - started < 15
        assert f"cannot reach 127.0.0.1:{port} (Connection refused)" in run.output, run.output
        assert "Pw-Not-Shown-99" not in run.output


def test_an_empty_output_does_not_overwrite_a_table_holding_rows(odibi_project, db):
    _execute(db, "CREATE TABLE kept (id bigint, amount double precision, note text)")
    _execute(db, "INSERT INTO kept VALUES (1, 1.5, 'a'), (2, 2.5, 'b')")
    nodes = (
        "      - name: empty\n"
        "        read: {connection: d, format: csv, path: in.csv}\n"
        "        write: {connection: pg, format: sql, table: kept}\n"
    )
    project = odibi_project({"odibi.yaml": _project(db, nodes), "in.csv": "id,amount,note\n"})
    run = project.run(env=_env(db))
    assert run.exit_code == 1, run.output
    assert "overwrite of kept with 0 rows would replace its 2 rows" in run.output
    assert _rows(db, "SELECT COUNT(*) FROM kept") == [(2,)]


SPARK_READS = """\
      - name: events
        read:
          connection: pg
          format: sql
          table: events
          filter: "kind <> 'noise'"
          incremental: {mode: stateful, column: updated_at}
          options: {partitionColumn: id, lowerBound: 1, upperBound: 100, numPartitions: 2}
        write: {connection: d, format: delta, path: events, mode: append}
      - name: totals
        depends_on: [events]
        transform:
          steps:
            - sql: "SELECT kind, COUNT(*) AS n FROM df GROUP BY kind"
        write:
          connection: pg
          format: sql
          table: sales.totals
          mode: merge
          merge_keys: [kind]
          merge_options:
            auto_create_schema: true
            audit_cols: {created_col: created_at, updated_col: updated_at}
"""


def _load_tables(db: dict[str, Any]) -> list[tuple[Any, ...]]:
    return _rows(db, "SELECT tablename FROM pg_tables WHERE tablename LIKE 'odibi_load_%'")


def test_spark_reads_and_writes_through_jdbc_with_the_same_sql(odibi_project, db):
    """On Spark the executors read the IO layer's query (the filter and the mark in its
    WHERE, split by Spark's partitioning options) and load a table the driver's one
    transaction merges from; a failed write leaves the target as it was."""
    _execute(
        db,
        "CREATE TABLE events (id int, kind text, updated_at timestamptz)",
        "INSERT INTO events VALUES (1, 'a', '2026-01-01T00:00:00Z'), "
        "(2, 'b', '2026-01-02T00:00:00Z'), (3, 'noise', '2026-01-02T00:00:00Z')",
    )
    project = odibi_project({"odibi.yaml": _project(db, SPARK_READS, engine="spark")})
    start = db["log"].stat().st_size  # the server's log is shared by the worker's tests
    run = project.run(env=_env(db))
    assert run.exit_code == 0, run.output
    assert sorted(r["id"] for r in project.delta("events")) == [1, 2]
    first = _rows(db, "SELECT kind, n, created_at, updated_at FROM sales.totals ORDER BY kind")
    assert [r[:2] for r in first] == [("a", 1), ("b", 1)]
    assert all(r[2] is not None and r[2] == r[3] for r in first)
    sent = db["log"].read_bytes()[start:].decode()
    query = """SELECT * FROM "events" WHERE (kind <> 'noise')"""
    assert f"FROM ({query}) odibi_source" in sent
    assert '"id" < 50' in sent and '"id" >= 50' in sent  # two partitions, two queries
    assert "COPY" not in sent  # the rows came over JDBC, not from the driver

    _execute(db, "INSERT INTO events VALUES (4, 'a', '2026-01-03T00:00:00+01:00')")
    run = project.run(env=_env(db))
    assert run.exit_code == 0, run.output
    assert sorted(r["id"] for r in project.delta("events")) == [1, 2, 4]
    assert (
        """WHERE (kind <> 'noise') AND "updated_at" > TIMESTAMPTZ '2026-01-02T00:00:00+00:00'"""
        in db["log"].read_text()
    )
    # Only this run's row (kind 'a') was merged: updated, not created again; 'b' untouched.
    second = _rows(db, "SELECT kind, n, created_at, updated_at FROM sales.totals ORDER BY kind")
    assert [r[:2] for r in second] == [("a", 1), ("b", 1)]
    assert second[0][2] == first[0][2] and second[0][3] > first[0][3]
    assert second[1] == first[1]
    assert _load_tables(db) == []

    # A merge whose rows the target cannot take fails in the transaction: nothing changes.
    _execute(db, "ALTER TABLE sales.totals ADD CONSTRAINT small CHECK (kind <> 'b') NOT VALID")
    _execute(db, "INSERT INTO events VALUES (5, 'b', '2026-01-04T00:00:00Z')")
    before = _rows(db, "SELECT * FROM sales.totals ORDER BY kind")
    failed = project.run(env=_env(db))
    assert failed.exit_code == 1, failed.output
    assert "small" in failed.output, failed.output
    assert _rows(db, "SELECT * FROM sales.totals ORDER BY kind") == before
    assert _load_tables(db) == []
    assert db["password"] not in failed.output


def test_a_password_kept_in_key_vault_is_read_by_the_service_principal_named(
    odibi_project, db, azure_ad
):
    """``auth.mode: key_vault`` on a database: the password is the vault's secret, read by the
    app whose tenant, client id and secret the connection gives (from the authority it
    names); it logs in, and shows nowhere."""
    import azure_ad_services as aad

    services = azure_ad["services"]
    services.secrets["pg-password"] = db["password"]
    connection = json.dumps(
        {
            "type": "postgres",
            "host": db["host"],
            "port": db["port"],
            "database": db["database"],
            "authority_host": services.authority,
            "auth": {
                "mode": "key_vault",
                "username": db["user"],
                "key_vault_url": services.vault_url,
                "secret_name": "pg-password",
                "tenant_id": aad.TENANT,
                "client_id": aad.CLIENT_ID,
                "client_secret": "${env:AAD_SECRET}",
            },
        }
    )
    nodes = (
        "      - name: load\n"
        "        read: {connection: d, format: csv, path: in.csv}\n"
        "        write: {connection: pg, format: sql, table: vaulted, mode: overwrite}\n"
    )
    yaml = _project(db, nodes).replace(_connection(db), connection)
    project = odibi_project({"odibi.yaml": yaml, "in.csv": FIRST})
    ca = str(azure_ad["ca"])
    env = {
        "SSL_CERT_FILE": ca,
        "REQUESTS_CA_BUNDLE": ca,
        "AAD_SECRET": aad.CLIENT_SECRET,
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "NO_PROXY": "127.0.0.1",
    }
    before = len(services.requests)
    run = project.odibi("run", "{config}", subprocess_=True, env=env)
    assert run.exit_code == 0, run.output
    assert _rows(db, "SELECT COUNT(*) FROM vaulted") == [(3,)]
    seen = services.requests[before:]
    assert [p for s, m, p, f in seen if s == "vault" and m == "GET"][-1].startswith(
        "/secrets/pg-password"
    )
    grants = [f for s, m, p, f in seen if m == "POST"]
    assert [g["scope"] for g in grants] == [f"{services.vault_url}/.default"]
    for secret in (db["password"], aad.CLIENT_SECRET, *services.tokens):
        assert secret not in run.output
        for path in project.root.rglob("*"):
            if path.is_file():
                assert secret.encode() not in path.read_bytes(), path
