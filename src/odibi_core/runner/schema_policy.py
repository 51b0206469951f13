"""A node's ``schema_policy``: its output measured against the columns its write target
already has, before the write (a target not written yet takes the output as it is).

Columns are matched by name, ignoring case (as Delta and Spark do). New columns (in the output,
not the target) are dropped (``ignore``), refused (``fail``) or added to the target as nullable
columns (``add_nullable``, mode ``evolve`` only); missing ones (in the target, not the output)
are refused (``fail``) or written as nulls of the target's type (``fill_null``). The output
keeps the target's column order, new columns last. Separate from ``write.merge_schema`` and
``overwrite_schema``, which say how the format writes; this decides what reaches it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from odibi_core.errors import NodeError

if TYPE_CHECKING:
    from odibi_core.config.models import SchemaPolicyConfig, WriteConfig
    from odibi_core.connections.base import Connection
    from odibi_core.runner.context import RunContext
    from odibi_core.runner.results import NodeResult


def apply(
    ctx: RunContext,
    policy: SchemaPolicyConfig,
    spec: WriteConfig,
    frame: Any,
    result: NodeResult,
) -> Any:
    """``frame`` made to fit ``spec``'s target as ``policy`` says (new columns already added
    to the target when the policy adds them)."""
    engine, conn = ctx.engine, ctx.connections[spec.connection]
    target = target_frame(ctx, spec, conn)
    if target is None:
        return frame
    have = [c for c, _ in engine.schema(frame)]
    want = [c for c, _ in engine.schema(target)]
    have_by = {c.lower(): c for c in have}
    want_by = {c.lower(): c for c in want}
    new = [c for c in have if c.lower() not in want_by]
    missing = [c for c in want if c.lower() not in have_by]
    where = f"target '{spec.target}'"
    if missing and policy.on_missing_columns == "fail":
        raise NodeError(
            f"schema_policy: {where} has columns the output lacks: {_names(missing)} "
            "(on_missing_columns: fail; fill_null writes them as nulls)"
        )
    if new and policy.on_new_columns == "fail":
        raise NodeError(
            f"schema_policy: the output has columns {where} lacks: {_names(new)} "
            "(on_new_columns: fail; ignore drops them, mode: evolve adds them)"
        )
    keep_new = policy.on_new_columns == "add_nullable"
    if keep_new and new and spec.mode != "overwrite":
        add_columns(ctx, spec, conn, frame, new)
    order = want + (new if keep_new else [])
    if have == order:
        return frame
    q = engine.quote
    select = [
        f"df.{q(have_by[c.lower()])} AS {q(c)}" if c.lower() in have_by else f"t.{q(c)}"
        for c in order
    ]
    query = f"SELECT {', '.join(select)} FROM df"
    tables = {"df": frame}
    if missing:  # a join that matches nothing gives each missing column its type, null
        query += " LEFT JOIN (SELECT * FROM target WHERE 1 = 0) AS t ON 1 = 0"
        tables["target"] = target
    what = []
    if missing:
        what.append(f"filled {_names(missing)} with nulls")
    if new:
        what.append(f"{'added' if keep_new else 'dropped'} {_names(new)}")
    result.steps.append(f"schema_policy ({policy.mode}): " + "; ".join(what or ["reordered"]))
    return engine.sql(query, tables)


def target_frame(ctx: RunContext, spec: WriteConfig, conn: Connection) -> Any | None:
    """The write target as a frame (rows only if they cost nothing to leave unread), or None
    when it does not exist yet."""
    from odibi_core.config.models import ReadConfig
    from odibi_core.io.format import Location

    engine = ctx.engine
    delta_files = spec.format.lower() == "delta" and conn.stores == "files"
    if delta_files and not hasattr(conn, "table_name"):  # not a metastore table
        import pyarrow as pa
        from deltalake import DeltaTable

        place = Location.of("delta", conn, spec.target)
        options = place.storage_options or None
        if not DeltaTable.is_deltatable(place.uri, storage_options=options):
            return None
        if engine.name != "spark":  # its columns, without reading a row
            schema = DeltaTable(place.uri, storage_options=options).schema().to_arrow()
            return engine.from_arrow(pa.schema(schema).empty_table())
    if conn.stores == "tables":
        if conn.table_rows(spec.target) is None:  # type: ignore[attr-defined]
            return None
        read = ReadConfig(
            connection=spec.connection,
            format=spec.format,
            query=f"SELECT * FROM {spec.target} WHERE 1 = 0",
        )
    else:
        read = ReadConfig(connection=spec.connection, format=spec.format, path=spec.path)
    try:
        return engine.read(read, conn)
    except NodeError as exc:
        if "not found" in str(exc) or "does not exist" in str(exc).lower():
            return None
        raise


def add_columns(
    ctx: RunContext, spec: WriteConfig, conn: Connection, frame: Any, columns: list[str]
) -> None:
    """Add ``columns`` (with ``frame``'s types) to the target as nullable columns, so an
    append or merge of ``frame`` finds them: Delta tables only."""
    from odibi_core.io.format import Location

    engine = ctx.engine
    if spec.format.lower() != "delta" or conn.stores != "files":
        raise NodeError(
            f"schema_policy: cannot add columns {_names(columns)} to {spec.format} target "
            f"'{spec.target}' ({spec.mode}): only Delta tables take new columns; "
            "set on_new_columns: ignore or fail"
        )
    place = Location.of("delta", conn, spec.target)
    if engine.name == "spark":
        fields = {f.name: f.dataType.simpleString() for f in frame.schema.fields}
        added = ", ".join(f"{engine.quote(c)} {fields[c]}" for c in columns)
        uri = place.uri.replace("`", "``")
        engine.spark.sql(f"ALTER TABLE delta.`{uri}` ADD COLUMNS ({added})")  # type: ignore[attr-defined]
        return
    import pyarrow as pa
    from deltalake import DeltaTable, Field, Schema

    from odibi_core.io.format import classic_schema

    types = engine.to_arrow(engine.sql("SELECT * FROM df LIMIT 0", {"df": frame})).schema
    arrow = classic_schema(pa.schema([types.field(c) for c in columns]))
    options = place.storage_options or None
    table = DeltaTable(place.uri, storage_options=options)
    delta = Schema.from_arrow(arrow)
    table.alter.add_columns([Field(f.name, f.type, nullable=True) for f in delta.fields])


def _names(columns: list[str]) -> str:
    return ", ".join(columns)
