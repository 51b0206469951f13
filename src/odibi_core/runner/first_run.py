"""Odibi's ``write.first_run_query``: the database query a node reads with while its write
target does not exist yet (the first run, or after the target was dropped to reload it all);
once the target exists, the node's own ``read`` runs, with its incremental filter."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from odibi_core.config.models import NodeConfig, ReadConfig, WriteConfig
    from odibi_core.connections.base import Connection
    from odibi_core.runner.context import RunContext


def read_spec(ctx: RunContext, node: NodeConfig) -> ReadConfig | None:
    """The read to run instead of ``node.read`` on a first run, or None."""
    write, read = node.write, node.read
    if write is None or read is None or not write.first_run_query:
        return None
    if target_exists(ctx, write, ctx.connections[write.connection]):
        return None
    options = {k: v for k, v in read.options.items() if k != "query"}
    return read.model_copy(
        update={
            "query": write.first_run_query,
            "table": None,
            "path": None,
            "sql_file": None,
            "options": options,
        }
    )


def target_exists(ctx: RunContext, spec: WriteConfig, connection: Connection) -> bool:
    """Whether the write target is there, without reading its rows."""
    if connection.stores == "tables":
        return connection.table_rows(spec.target) is not None  # type: ignore[attr-defined]
    if hasattr(connection, "table_name"):  # a metastore table (type: delta): ask the engine
        from odibi_core.runner.write import target_rows

        return target_rows(ctx.engine, spec, connection) is not None
    from odibi_core.io.format import Location

    where = Location.of(spec.format.lower(), connection, spec.target)
    if spec.format.lower() == "delta":
        from deltalake import DeltaTable

        options = where.storage_options or None
        return bool(DeltaTable.is_deltatable(where.uri, storage_options=options))
    return _exists(where.uri, where.is_local, where.fsspec_options)


def _exists(uri: str, local: bool, fsspec_options: dict[str, Any]) -> bool:
    if local:
        from pathlib import Path

        return Path(uri).exists()
    import fsspec

    fs, path = fsspec.core.url_to_fs(uri, **fsspec_options)
    return bool(fs.exists(path))
