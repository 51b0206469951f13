"""Database connections (``type: postgres``) through the real CLI against a real PostgreSQL
(the ``postgres`` fixture: Debian's server, initdb in a temp dir, one per xdist worker). Each
test gets a database of its own; tables are read back with psycopg, independently of Odibi."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

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


@pytest.mark.parametrize("engine", ["pandas", "polars"])
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
