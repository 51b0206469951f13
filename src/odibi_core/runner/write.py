"""A node's write phase: what an empty output may do to its target, a keyed write's batch
checked for repeated keys, then the engine's write.

An output of 0 rows is sometimes right (a day without orders) and sometimes a broken source
(a header-only export). Appending or merging nothing changes nothing, but an overwrite would
replace the target's rows with none, so by default (``write.on_empty: fail``) that case fails
the node and leaves the target as it was; ``skip`` keeps the target, ``write`` writes anyway.
Every 0-row write is named in the node's warnings, so summaries and stories show it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from odibi_core.config.models import ReadConfig
from odibi_core.errors import NodeError
from odibi_core.io import modes
from odibi_core.runner import write_extras

if TYPE_CHECKING:
    from odibi_core.config.models import WriteConfig
    from odibi_core.connections.base import Connection
    from odibi_core.engines.base import Engine
    from odibi_core.runner.context import RunContext
    from odibi_core.runner.results import NodeResult

#: Reader options that matter to counting a CSV the writer made with the same options.
_CSV_READ_OPTIONS = ("sep", "delimiter", "encoding")


def write_output(ctx: RunContext, spec: WriteConfig, frame: Any, result: NodeResult) -> Any:
    """Write ``frame`` (``result.rows_out`` rows) as ``spec`` says, or skip or refuse an empty
    one; returns the frame dependants get (see ``Engine.write``)."""
    engine, conn = ctx.engine, ctx.connections[spec.connection]
    empty = result.rows_out == 0
    if empty and spec.on_empty == "skip":
        result.warn(
            ctx.scrub(f"0 rows out: write skipped (on_empty: skip), {spec.target} left as it was")
        )
        result.steps.append(f"write {spec.format} {spec.target} skipped: 0 rows")
        return frame
    if empty and spec.on_empty == "fail" and spec.mode == "overwrite":
        held = target_rows(engine, spec, conn)
        if held:
            raise NodeError(
                f"overwrite of {spec.target} with 0 rows would replace its {held} rows; "
                "nothing written (if an empty output is right, set write.on_empty: write, "
                "or skip to keep the rows)",
                step="write",
            )
    modes.require_unique_keys(engine, frame, spec)  # before anything is read or written
    rows = frame
    if spec.skip_if_unchanged:
        digest = write_extras.content_hash(engine, frame, spec)
        if engine.stored_hash(spec, conn) == digest:
            result.rows_written = 0
            result.skip_reason = "unchanged (write skipped: same content as the last write)"
            result.metrics["write_skipped"] = "unchanged"
            result.steps.append(f"write {spec.format} {spec.target} skipped: unchanged")
            return frame
        spec = spec.with_content_hash(digest)
    if spec.metadata_columns:
        node = next((n for n in ctx.pipeline.nodes if n.name == result.node), None)
        rows = write_extras.with_metadata(engine, frame, spec, node, ctx.started_at)
    written = engine.write(rows, spec, conn)
    result.rows_written = result.rows_out
    result.steps.append(f"write {spec.format} {spec.target} ({spec.mode})")
    if empty:
        result.warn(ctx.scrub(f"wrote 0 rows to {spec.target} ({spec.mode})"))
    return frame if written is None else written


def target_rows(engine: Engine, spec: WriteConfig, connection: Connection) -> int | None:
    """Rows the write target holds now, read as the engine would read it; None when there is
    none to read (not written yet, or not readable as its format)."""
    if connection.stores == "tables":  # a database counts its rows itself
        return connection.table_rows(spec.target)  # type: ignore[attr-defined, no-any-return]
    options: dict[str, Any] = {}
    if spec.format.lower() == "csv":
        options = {k: spec.options[k] for k in _CSV_READ_OPTIONS if k in spec.options}
    read = ReadConfig(
        connection=spec.connection,
        format=spec.format,
        path=spec.path,
        table=spec.table,
        options=options,
    )
    try:
        return engine.count(engine.read(read, connection))
    except NodeError:  # nothing there: an empty output loses nothing
        return None
