"""``detect_deletes``: Odibi's "CDC without CDC", finding the keys a full extract no longer has.

- ``snapshot_diff`` compares the frame's keys with an earlier version of a Delta table
  (``connection`` + ``path``, or the node's own write target). When that table is the node's
  own target, its latest version is what the previous run wrote; any other table is taken to
  hold this run's snapshot already, so the version before its latest is compared (Odibi's
  rule). Rows the earlier version has and the frame lacks are deleted.
- ``sql_compare`` reads the keys a live database still holds (``source_table`` or
  ``source_query`` on ``source_connection``) through the IO layer; the frame's rows whose keys
  it lacks are deleted.

With ``soft_delete_col`` (default ``_is_deleted``) every row is kept and flagged (snapshot_diff
adds the deleted rows, as the earlier version had them); with ``soft_delete_col: null`` deleted
rows are removed. ``max_delete_percent`` guards against a broken extract: over it the node
fails (``error``), logs (``warn``) or leaves the rows unflagged (``skip``).
"""

from __future__ import annotations

import logging
from typing import Any, Literal

from pydantic import Field, model_validator

from odibi_core.patterns._shared import (
    POS,
    PatternParams,
    check_columns,
    columns,
    fail,
    input_columns,
    run,
    sql_types,
)
from odibi_core.patterns._target import pattern_target
from odibi_core.transforms.registry import TransformContext, transform

log = logging.getLogger("odibi.transforms")


class DetectDeletesParams(PatternParams):
    mode: Literal["none", "snapshot_diff", "sql_compare"] = "none"
    keys: list[str] = Field(default_factory=list)
    connection: str | None = None
    path: str | None = None
    soft_delete_col: str | None = "_is_deleted"
    source_connection: str | None = None
    source_table: str | None = None
    source_query: str | None = None
    snapshot_column: str | None = None
    on_first_run: Literal["skip", "error"] = "skip"
    max_delete_percent: float | None = Field(50.0, ge=0.0, le=100.0)
    on_threshold_breach: Literal["warn", "error", "skip"] = "warn"

    lists = ("keys",)

    @model_validator(mode="after")
    def _mode_needs(self) -> DetectDeletesParams:
        if self.mode == "none":
            return self
        if not self.keys:
            raise ValueError(f"mode '{self.mode}' needs 'keys' (the business key columns)")
        if self.snapshot_column:
            raise ValueError(
                "snapshot_column is not supported: snapshot_diff compares versions of a "
                "Delta table (connection + path)"
            )
        if self.mode == "snapshot_diff":
            if bool(self.connection) != bool(self.path):
                raise ValueError("'connection' and 'path' go together")
            stray = [k for k in ("source_connection", "source_table", "source_query") if
                     getattr(self, k)]  # fmt: skip
            if stray:
                raise ValueError(f"'{stray[0]}' is for mode sql_compare, not snapshot_diff")
        if self.mode == "sql_compare":
            if not self.source_connection:
                raise ValueError("mode 'sql_compare' needs 'source_connection' (a database)")
            if not (self.source_table or self.source_query):
                raise ValueError("mode 'sql_compare' needs 'source_table' or 'source_query'")
        return self


@transform("detect_deletes", params=DetectDeletesParams)
def detect_deletes(ctx: TransformContext, df: Any, **params: Any) -> Any:
    """Flag (or remove) rows whose keys the source no longer has: snapshot_diff, sql_compare."""
    p = DetectDeletesParams.model_construct(**params)
    if p.mode == "none":
        return df
    have = input_columns(ctx, "detect_deletes", df)
    check_columns(ctx, "detect_deletes", p.keys, have, "the input")
    if p.mode == "snapshot_diff":
        previous = _previous_snapshot(ctx, p)
        if previous is None:
            return _flagged(ctx, df, None, p)
        check_columns(ctx, "detect_deletes", p.keys, columns(ctx, previous), "the previous version")
        return _apply(ctx, df, previous, p)
    return _apply(ctx, df, _source_keys(ctx, df, p), p)


def _previous_snapshot(ctx: TransformContext, p: DetectDeletesParams) -> Any | None:
    """The earlier version of the snapshot table, or None on a first run (``skip``)."""
    where = pattern_target(ctx, "detect_deletes", None, p.connection, p.path)
    if where is None:
        raise fail(
            ctx, "detect_deletes", "snapshot_diff needs 'connection' + 'path' or a write block"
        )
    conn_name, path, fmt = where
    if fmt != "delta":
        raise fail(
            ctx,
            "detect_deletes",
            f"snapshot_diff compares versions of a Delta table; '{path}' on connection "
            f"'{conn_name}' is {fmt}",
        )
    write = ctx.node.write
    own = write is not None and (write.connection, write.target) == (conn_name, path)
    version = _version(ctx, conn_name, path, latest=own)
    if version is None:
        if p.on_first_run == "error":
            raise fail(
                ctx,
                "detect_deletes",
                f"no previous version of '{path}' on connection '{conn_name}' to compare with "
                "(on_first_run: error)",
            )
        return None
    from odibi_core.config.models import ReadConfig

    spec = ReadConfig(connection=conn_name, format="delta", path=path, options={"version": version})
    return ctx.engine.read(spec, ctx.connections[conn_name])


def _version(ctx: TransformContext, conn_name: str, path: str, latest: bool) -> int | None:
    """The table's latest version (``latest``) or the one before it; None when there is none."""
    from deltalake import DeltaTable

    from odibi_core.io.format import Location

    where = Location.of("delta", ctx.connections[conn_name], path)
    options = where.storage_options or None
    if not DeltaTable.is_deltatable(where.uri, storage_options=options):
        return None
    table = DeltaTable(where.uri, storage_options=options)
    current = table.version()
    if latest:
        return current
    # After a vacuum or log cleanup the versions need not be consecutive.
    earlier = [int(h["version"]) for h in table.history() if int(h["version"]) < current]
    return max(earlier) if earlier else None


def _source_keys(ctx: TransformContext, df: Any, p: DetectDeletesParams) -> Any:
    """The keys the live source still holds, read through the IO layer."""
    from odibi_core.config.models import ReadConfig

    name = p.source_connection or ""
    conn = ctx.connections.get(name)
    if conn is None:
        known = ", ".join(sorted(ctx.connections)) or "none"
        raise fail(ctx, "detect_deletes", f"source_connection '{name}' is not defined ({known})")
    if conn.stores != "tables":
        raise fail(
            ctx,
            "detect_deletes",
            f"source_connection '{name}' ({conn.type_name}) is not a database; sql_compare "
            "queries a live database",
        )
    query = p.source_query or (
        f"SELECT DISTINCT {', '.join(p.keys)} FROM {p.source_table}"  # the database's names
    )
    keys = ctx.engine.read(ReadConfig(connection=name, format="sql", query=query), conn)
    check_columns(ctx, "detect_deletes", p.keys, columns(ctx, keys), "the source's keys")
    return keys


def _apply(ctx: TransformContext, df: Any, other: Any, p: DetectDeletesParams) -> Any:
    """Find the deleted keys, check the threshold, then flag or remove."""
    q = ctx.quote
    types = sql_types(ctx, df)
    match = _match(ctx, p.keys, types, "f")
    snapshot = p.mode == "snapshot_diff"
    # snapshot_diff: keys the earlier version had that the frame lacks; sql_compare: keys the
    # frame has that the source lacks.
    if snapshot:
        gone = f"SELECT * FROM other o WHERE NOT EXISTS (SELECT 1 FROM df f WHERE {match})"
    else:
        gone = f"SELECT * FROM df f WHERE NOT EXISTS (SELECT 1 FROM other o WHERE {match})"
    cols = ", ".join(q(k) for k in p.keys)
    counted = run(
        ctx,
        f"SELECT (SELECT COUNT(*) FROM (SELECT DISTINCT {cols} FROM ({gone}) g) d) AS deleted, "
        "(SELECT COUNT(*) FROM df) AS total",
        {"df": df, "other": other},
    )
    row = ctx.engine.sample(counted, 1)[0]
    deleted, total = int(row["deleted"] or 0), int(row["total"] or 0)
    if deleted and p.max_delete_percent is not None:
        # An empty extract deletes everything: the case the guard is for.
        percent = deleted / total * 100 if total else 100.0
        if percent > p.max_delete_percent:
            message = (
                f"{percent:.1f}% of rows flagged for deletion ({deleted} of {total}) exceeds "
                f"max_delete_percent {p.max_delete_percent}"
            )
            if p.on_threshold_breach == "error":
                raise fail(ctx, "detect_deletes", message + " (on_threshold_breach: error)")
            if p.on_threshold_breach == "skip":
                log.warning("node %s: detect_deletes skipped: %s", ctx.node.name, message)
                return _flagged(ctx, df, None, p)
            log.warning("node %s: detect_deletes: %s", ctx.node.name, message)
    if not deleted:
        return _flagged(ctx, df, None, p)
    return _flagged(ctx, df, other, p)


def _match(ctx: TransformContext, keys: list[str], types: dict[str, str], alias: str) -> str:
    """Null-safe key match of the frame's row ``alias`` with the other side's row ``o``, the
    other side's keys read as the frame's types (a CSV's text against a table's numbers)."""
    q = ctx.quote
    return " AND ".join(
        f"({alias}.{q(k)} IS NOT DISTINCT FROM CAST(o.{q(k)} AS {types[k]}))" for k in keys
    )


def _flagged(ctx: TransformContext, df: Any, other: Any | None, p: DetectDeletesParams) -> Any:
    """The result: ``df`` flagged (or filtered) against ``other``; with no ``other`` every row
    is kept and unflagged."""
    q = ctx.quote
    flag = p.soft_delete_col
    have = columns(ctx, df)
    kept = [c for c in have if c != flag]
    tables = {"df": df} if other is None else {"df": df, "other": other}
    source = f"(SELECT *, {ctx.row_position()} AS {q(POS)} FROM df) f"
    if other is None:
        items = [f"f.{q(c)}" for c in kept] + ([f"FALSE AS {q(flag)}"] if flag else [])
        query = f"SELECT {', '.join(items)} FROM {source} ORDER BY f.{q(POS)}"
        return run(ctx, query, tables)
    out = kept + ([flag] if flag else [])
    names = ", ".join(q(c) for c in out)
    types = sql_types(ctx, df)
    hit = f"EXISTS (SELECT 1 FROM other o WHERE {_match(ctx, p.keys, types, 'f')})"
    if p.mode == "sql_compare":
        if flag is None:
            query = f"SELECT {names} FROM {source} WHERE {hit} ORDER BY f.{q(POS)}"
            return run(ctx, query, tables)
        items = [f"f.{q(c)}" for c in kept] + [f"NOT {hit} AS {q(flag)}"]
        return run(ctx, f"SELECT {', '.join(items)} FROM {source} ORDER BY f.{q(POS)}", tables)
    # snapshot_diff: the deleted keys are not in the frame, so removing them changes nothing;
    # flagging adds the rows the earlier version had, after the frame's.
    if flag is None:
        return df
    prev = columns(ctx, other)
    back = [f"CAST({f'o.{q(c)}' if c in prev else 'NULL'} AS {types[c]}) AS {q(c)}" for c in kept]
    query = (
        f"SELECT {names} FROM ("
        f"SELECT {', '.join(f'f.{q(c)}' for c in kept)}, FALSE AS {q(flag)}, 0 AS __odibi_grp, "
        f"f.{q(POS)} AS {q(POS)} FROM {source} "
        f"UNION ALL SELECT {', '.join(back)}, TRUE AS {q(flag)}, 1 AS __odibi_grp, "
        f"{ctx.row_position()} AS {q(POS)} FROM other o "
        f"WHERE NOT EXISTS (SELECT 1 FROM df g WHERE {_match(ctx, p.keys, types, 'g')})"
        f") u ORDER BY __odibi_grp, {q(POS)}"
    )
    return run(ctx, query, tables)
