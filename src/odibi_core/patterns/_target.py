"""The table a pattern builds on: where it is (Odibi's ``connection.path`` or the node's own
write target), reading it back and writing it through the IO layer (so every connection that
stores tables works), and what a Delta target offers besides: MERGE, vacuum, and on Spark a
metastore name.

Imported when the CLI starts, so nothing heavy is imported here.
"""

from __future__ import annotations

from typing import Any

from odibi_core.errors import NodeError
from odibi_core.patterns._shared import fail
from odibi_core.transforms.registry import TransformContext

#: (connection, path, format) of a pattern's table.
Where = tuple[str, str, str]


def split_target(ctx: TransformContext, target: str | None) -> Where | None:
    """(connection, path, format) of the table a pattern reads back: Odibi's
    ``connection.path`` (the format from the path's extension, else the node's write format,
    else delta), or the node's own write target when ``target`` is not given."""
    write = ctx.node.write
    if not target:
        if write is None:
            return None
        return write.connection, write.target, write.format
    conn, _, path = target.partition(".")
    if not path or conn not in ctx.connections:
        if write is None:
            raise fail(
                ctx,
                "target",
                f"target '{target}' is not 'connection.path' with a known connection "
                f"(connections: {', '.join(sorted(ctx.connections)) or 'none'})",
            )
        conn, path = write.connection, target
    ext = path.rsplit(".", 1)[-1].lower() if "." in path.rsplit("/", 1)[-1] else ""
    if ext in ("parquet", "csv", "json", "delta"):
        fmt = ext
    elif write is not None and write.connection == conn:
        fmt = write.format
    else:
        fmt = "delta"
    return conn, path, fmt


def pattern_target(
    ctx: TransformContext,
    pattern: str,
    target: str | None,
    connection: str | None = None,
    path: str | None = None,
) -> Where | None:
    """Where a pattern's table is: Odibi's ``connection`` + ``path`` (the connection must
    exist), else ``target`` or the node's write target as :func:`split_target` reads them."""
    if connection:
        if connection not in ctx.connections:
            known = ", ".join(sorted(ctx.connections)) or "none"
            raise fail(ctx, pattern, f"connection '{connection}' is not defined ({known})")
        return split_target(ctx, f"{connection}.{path}")
    return split_target(ctx, target)


def read_target(ctx: TransformContext, where: Where | None) -> Any | None:
    """The table a stateful pattern builds on, through the IO layer (every connection works),
    or None before its first write."""
    from odibi_core.config.models import ReadConfig

    if where is None:
        return None
    conn_name, path, fmt = where
    conn = ctx.connections[conn_name]
    if conn.stores == "tables":
        spec = ReadConfig(connection=conn_name, format=fmt, table=path)
    else:
        spec = ReadConfig(connection=conn_name, format=fmt, path=path)
    try:
        frame = ctx.engine.read(spec, conn)
    except NodeError as exc:
        if "not found" in str(exc) or "does not exist" in str(exc).lower():
            return None
        raise
    return frame


def write_target(ctx: TransformContext, frame: Any, where: Where) -> None:
    """Replace the pattern's own table with ``frame`` (patterns that write themselves)."""
    from odibi_core.config.models import WriteConfig

    conn_name, path, fmt = where
    conn = ctx.connections[conn_name]
    target = {"table": path} if conn.stores == "tables" else {"path": path}
    # The pattern's table takes the columns the pattern gives it.
    spec = WriteConfig(
        connection=conn_name,
        format=fmt,
        mode="overwrite",
        on_empty="write",
        overwrite_schema=fmt == "delta",
        **target,
    )
    ctx.engine.write(frame, spec, conn)


def merge_target(ctx: TransformContext, rows: Any, where: Where, keys: list[str]) -> bool:
    """MERGE ``rows`` into the Delta table at ``where`` on ``keys`` (matched rows replaced,
    others inserted) through the IO layer's upsert; False, writing nothing, when ``keys``
    repeat in ``rows`` (a MERGE has no single row to update with)."""
    from odibi_core.config.models import WriteConfig
    from odibi_core.io import modes

    if modes.repeated_keys(ctx.engine, rows, keys) is not None:
        return False
    if not ctx.engine.count(rows):
        return True
    conn_name, path, fmt = where
    conn = ctx.connections[conn_name]
    spec = WriteConfig(
        connection=conn_name,
        format=fmt,
        path=path,
        mode="upsert",
        options={"keys": keys},
        merge_schema=fmt == "delta",  # new columns join the pattern's table, as on a rewrite
    )
    ctx.engine.write(rows, spec, conn)
    return True


def vacuum(ctx: TransformContext, where: Where, hours: int) -> None:
    """Remove the Delta table's files no version of the last ``hours`` hours needs (the hours
    the user chose, below Delta's 7-day guard too)."""
    from odibi_core.io.delta_table import Upkeep

    _upkeep(ctx, where, Upkeep(vacuum_hours=hours))


def optimize(ctx: TransformContext, where: Where, zorder_by: list[str] | None) -> None:
    """Compact the Delta table's small files, Z-ordered by ``zorder_by`` when given: the
    engine's upkeep, which a write's ``zorder_by``/``auto_optimize`` runs too."""
    from odibi_core.io.delta_table import Upkeep

    _upkeep(ctx, where, Upkeep(zorder_by=tuple(zorder_by or ()), compact=True))


def _upkeep(ctx: TransformContext, where: Where, plan: Any) -> None:
    from odibi_core.config.models import WriteConfig

    conn_name, path, _ = where
    spec = WriteConfig(connection=conn_name, format="delta", path=path)
    ctx.engine.upkeep(spec, ctx.connections[conn_name], plan)


def register_table(ctx: TransformContext, where: Where, name: str, pattern: str) -> None:
    """Name the Delta table at ``where`` in Spark's metastore (``CREATE TABLE IF NOT EXISTS
    ... LOCATION``), so SQL can query it by ``name``."""
    from odibi_core.io.format import Location

    uri = Location.of("delta", ctx.connections[where[0]], where[1]).uri
    location = uri.replace("'", "\\'")
    try:
        ctx.engine.spark.sql(  # type: ignore[attr-defined]
            f"CREATE TABLE IF NOT EXISTS {name} USING DELTA LOCATION '{location}'"
        )
    except Exception as exc:  # Spark's AnalysisException: a missing schema, a bad name
        raise fail(ctx, pattern, f"register_table '{name}': {str(exc).splitlines()[0]}") from None
