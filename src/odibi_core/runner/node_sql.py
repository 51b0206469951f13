"""A node's ``pre_sql`` and ``post_sql``: statements run before its read and after its write.

They run where SQL statements mean something lasting: on Spark through ``spark.sql`` (settings,
views, ``OPTIMIZE``, as in Odibi); on pandas and polars on the node's database connection
(``pre_sql`` the read's, else the write's; ``post_sql`` the write's, else the read's), each in
a transaction of its own. The run's in-memory DuckDB holds nothing between nodes, so a node
with neither is refused by ``odibi validate``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from odibi_core.errors import NodeError, first_line

if TYPE_CHECKING:
    from odibi_core.config.models import NodeConfig
    from odibi_core.connections.base import Connection
    from odibi_core.runner.context import RunContext
    from odibi_core.runner.results import NodeResult

KEYS = ("pre_sql", "post_sql")


def run(ctx: RunContext, node: NodeConfig, key: str, result: NodeResult) -> None:
    """Run the node's ``key`` statements (``pre_sql`` or ``post_sql``) in order."""
    statements: list[str] = getattr(node, key)
    if not statements:
        return
    engine = ctx.engine
    spark: Any = getattr(engine, "spark", None)
    conn = None if spark is not None else _connection(ctx, node, key)
    where = "spark" if conn is None else f"connection '{conn.name}'"
    for i, statement in enumerate(statements, start=1):
        try:
            if conn is None:
                spark.sql(statement)
            else:
                with conn.engine().begin() as db:  # type: ignore[attr-defined]
                    db.exec_driver_sql(statement)
        except NodeError:
            raise
        except Exception as exc:
            raise NodeError(
                f"{key} statement {i} failed on {where}: {first_line(exc)}", step=key
            ) from exc
    result.steps.append(f"{key}: {len(statements)} statement(s) on {where}")


def _connection(ctx: RunContext, node: NodeConfig, key: str) -> Connection:
    for name in _candidates(node.read, node.write, key):
        conn = ctx.connections[name]
        if conn.stores == "tables":
            return conn
    raise NodeError(f"{key} needs a database connection or the spark engine", step=key)


def _candidates(read: Any, write: Any, key: str) -> list[str]:
    """The connections ``key`` may run on, in the order it prefers them."""
    blocks = [read, write] if key == "pre_sql" else [write, read]
    found = []
    for block in blocks:
        name = (
            block.get("connection")
            if isinstance(block, dict)
            else getattr(block, "connection", None)
        )
        if isinstance(name, str):
            found.append(name)
    return found


def problems(
    node: dict[str, Any], engine: Any, connections: dict[str, Any], registry: Any
) -> list[tuple[tuple[str, ...], str]]:
    """``(path, message)`` for a raw node's ``pre_sql``/``post_sql`` that cannot run: neither
    the Spark engine nor a database connection to run on (``odibi validate``)."""
    if engine is not None and hasattr(engine, "spark"):
        return []
    found: list[tuple[tuple[str, ...], str]] = []
    for key in KEYS:
        if not node.get(key):
            continue
        names = _candidates(node.get("read"), node.get("write"), key)
        kinds = [
            connections.get(n, {}).get("type")
            for n in names
            if isinstance(connections.get(n), dict)
        ]
        classes = [registry.connection_types.get(k) for k in kinds if isinstance(k, str)]
        if any(getattr(c, "stores", "files") == "tables" for c in classes if c is not None):
            continue
        engine_name = getattr(engine, "name", "this")
        found.append(
            (
                (key,),
                f"{key} runs on Spark or on a database connection (the node's read or write), "
                f"and this node has no database connection on the {engine_name} engine",
            )
        )
    return found
