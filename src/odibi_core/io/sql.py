"""``format: sql`` (and Odibi's ``postgres`` / ``sql_server`` / ``azure_sql`` spellings): tables
of a database connection (:mod:`odibi_core.connections.sql`), read with a query into Arrow and
written in every mode.

Reading: ``table`` (or ``path``: ``schema.table``), ``query`` or ``sql_file``; ``filter`` and an
incremental read's mark go into the query's ``WHERE`` (``options.push_down: false`` reads the
whole source and filters after, as for files). The mark is a literal typed like the mark (a
time as a time), so the source's text is sent as written, without bind parameters.

Writing happens in one transaction, so a failure leaves the table as it was: a missing table is
created from the data's Arrow types; ``overwrite`` empties a table with the same columns and
loads it (another set of columns: the table is dropped and made again); ``append`` loads;
``upsert`` and ``append_once`` load a staging table with the target's column types, then update
and insert from it (:mod:`odibi_core.io.sql_dialects`). Incoming columns the table lacks are
added. Postgres loads with ``COPY``; SQL Server with pyodbc's ``fast_executemany``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from odibi_core.errors import NodeError
from odibi_core.io import modes
from odibi_core.io.format import Format
from odibi_core.io.sql_dialects import execute

if TYPE_CHECKING:
    import pyarrow as pa

    from odibi_core.config.models import ReadConfig, WriteConfig
    from odibi_core.connections.sql import SqlConnection
    from odibi_core.io.format import Location
    from odibi_core.io.sql_dialects import Dialect, TableName

READ_OPTIONS = frozenset({"query", "push_down", "fetch_size"})
WRITE_OPTIONS = frozenset({"keys"})
_FETCH = 100_000


class SqlFormat(Format):
    name = "sql"
    stores = "tables"

    # ------------------------------------------------------------ reading

    def applies_filter(self, spec: ReadConfig) -> bool:
        return _push_down(spec)

    def read(self, where: Location, spec: ReadConfig) -> pa.Table:
        connection, dialect = _parts(where)
        query = self.query(where, spec, dialect)
        size = int(spec.options.get("fetch_size") or _FETCH)
        with connection.engine().connect() as conn:
            try:
                result = execute(conn, query)
            except Exception as exc:
                if _push_down(spec) and (spec.filter or spec.newer_than):
                    raise NodeError(
                        f"cannot read {where.label}: {_db_error(exc)} (the query with the "
                        "filter or incremental mark in its WHERE; set read.options.push_down: "
                        "false to filter after reading)",
                        step="read",
                    ) from exc
                raise
            description = list(result.description or [])
            chunks: list[list[tuple[Any, ...]]] = []
            while rows := result.fetchmany(size):
                chunks.append([tuple(r) for r in rows])
        return to_arrow(description, [r for chunk in chunks for r in chunk], dialect)

    def query(self, where: Location, spec: ReadConfig, dialect: Dialect) -> str:
        """The SQL sent: the source, wrapped in a ``WHERE`` of the filter and the mark."""
        from odibi_core.io.sql_dialects import TableName

        source = spec.query or spec.options.get("query")
        if spec.sql_file:
            path = where.connection.project_root / spec.sql_file
            try:
                source = path.read_text(encoding="utf-8")
            except FileNotFoundError:
                raise NodeError(f"sql_file not found: {path}", step="read") from None
        if source:
            source = str(source).strip().rstrip(";").strip()
        conditions = []
        if _push_down(spec):
            if spec.filter:
                conditions.append(f"({spec.filter})")
            if spec.newer_than:
                column, bound, inclusive = spec.newer_than
                op = ">=" if inclusive else ">"
                conditions.append(f"{dialect.quote(column)} {op} {dialect.literal(bound)}")
        if not source:
            table = dialect.table(TableName.parse(where.table or ""))
            if not conditions:
                return f"SELECT * FROM {table}"
            return f"SELECT * FROM {table} WHERE {' AND '.join(conditions)}"
        if not conditions:
            return source
        return f"SELECT * FROM ({source}) AS odibi_source WHERE {' AND '.join(conditions)}"

    # ------------------------------------------------------------ writing

    def write(self, data: pa.Table, where: Location, spec: WriteConfig) -> None:
        from odibi_core.io.sql_dialects import TableName

        connection, dialect = _parts(where)
        target = TableName.parse(where.table or "")
        merge = spec.merge_options
        if merge and merge.exclude_columns:
            data = data.drop_columns([c for c in merge.exclude_columns if c in data.column_names])
        with connection.engine().begin() as conn:
            write_in(conn, dialect, target, Rows(data.schema, data=data), spec)

    def option_problems(self, block: str, spec: Mapping[str, Any]) -> list[tuple[str, str]]:
        from odibi_core.config.errors import did_you_mean

        known = READ_OPTIONS if block == "read" else WRITE_OPTIONS
        options = spec.get("options") or {}
        return [
            (
                str(name),
                f"'{name}' is not an option of format sql ({', '.join(sorted(known))})"
                + did_you_mean(str(name), known),
            )
            for name in options
            if name not in known
        ]


@dataclass(frozen=True)
class Rows:
    """The rows a write loads: Arrow in this process (``data``), or a table already in the
    database (``table``: Spark's executors load one over JDBC, see ``engines/spark_jdbc``)."""

    schema: pa.Schema
    data: pa.Table | None = None
    table: TableName | None = None

    def load(self, conn: Any, dialect: Dialect, into: TableName) -> None:
        if self.data is not None:
            dialect.load(conn, into, self.data)
        else:
            assert self.table is not None
            execute(conn, dialect.copy_rows(self.table, into, self.schema.names))

    def keys_with_nulls(self, conn: Any, dialect: Dialect, keys: list[str]) -> set[str]:
        """The ``keys`` some row holds a null in (matched null-safely; the rest with ``=``)."""
        if self.data is not None:
            return {k for k in keys if self.data.column(k).null_count}
        assert self.table is not None
        if not keys:
            return set()
        probes = ", ".join(
            f"MAX(CASE WHEN {dialect.quote(k)} IS NULL THEN 1 ELSE 0 END)" for k in keys
        )
        row = execute(conn, f"SELECT {probes} FROM {dialect.table(self.table)}").fetchone()
        return {k for k, flag in zip(keys, row or (), strict=False) if flag}


def write_in(conn: Any, dialect: Dialect, target: TableName, rows: Rows, spec: WriteConfig) -> None:
    """The write, on ``conn`` inside its transaction (the caller commits or rolls back)."""
    merge = spec.merge_options
    if target.schema and merge and merge.auto_create_schema:
        execute(conn, dialect.create_schema(target.schema))
    incoming = list(rows.schema.names)
    if not dialect.exists(conn, target):
        if merge is not None and not merge.auto_create_table:
            raise NodeError(
                f"table {target} does not exist (merge_options.auto_create_table: false)",
                step="write",
            )
        execute(conn, dialect.create_table(target, _with_audit(rows.schema, spec)))
        existing = [f.name for f in _with_audit(rows.schema, spec)]
        fresh = True
    else:
        existing = dialect.columns(conn, target)
        fresh = False
    if spec.mode == "overwrite" and not fresh:
        if set(existing) == set(incoming):
            execute(conn, dialect.empty(target))
        else:  # another shape: the table is made again from the data
            execute(conn, f"DROP TABLE {dialect.table(target)}")
            execute(conn, dialect.create_table(target, list(rows.schema)))
            existing = list(incoming)
    if spec.mode in modes.KEYED_MODES:
        modes.require_target_keys(spec, existing)
    for field in [*rows.schema, *_audit_fields(spec)]:
        if field.name not in existing:
            sa_type = dialect.column_type(field)
            execute(conn, dialect.add_column(target, field.name, sa_type))
            existing.append(field.name)
    if spec.mode not in modes.KEYED_MODES or fresh:
        rows.load(conn, dialect, target)
        if spec.mode in modes.KEYED_MODES:  # a new table: every row was inserted now
            stamps = [f.name for f in _audit_fields(spec) if f.name not in incoming]
            if stamps:
                sets = ", ".join(f"{dialect.quote(c)} = {dialect.now}" for c in stamps)
                execute(conn, f"UPDATE {dialect.table(target)} SET {sets}")
        return
    for statement in dialect.lock(target):
        execute(conn, statement)
    staging, create = dialect.stage(target, incoming, merge.staging_schema if merge else None)
    execute(conn, create)
    rows.load(conn, dialect, staging)
    nullable = rows.keys_with_nulls(conn, dialect, spec.keys)
    for statement in dialect.keyed(
        target, staging, incoming, spec.keys, nullable, spec.mode == "upsert", _audit(spec)
    ):
        execute(conn, statement)
    for statement in dialect.drop(staging):
        execute(conn, statement)


def _audit(spec: WriteConfig) -> Any:
    merge = spec.merge_options
    return merge.audit_cols if merge and spec.mode in modes.KEYED_MODES else None


def _audit_fields(spec: WriteConfig) -> list[pa.Field]:
    import pyarrow as pa

    audit = _audit(spec)
    names = [n for n in ((audit.created_col, audit.updated_col) if audit else ()) if n]
    return [pa.field(n, pa.timestamp("us", tz="UTC")) for n in names]


def _with_audit(schema: pa.Schema, spec: WriteConfig) -> list[pa.Field]:
    """``schema``'s fields plus the audit columns (for a new table)."""
    return [*schema, *(f for f in _audit_fields(spec) if f.name not in schema.names)]


def to_arrow(description: list[Any], rows: list[tuple[Any, ...]], dialect: Dialect) -> pa.Table:
    """Result rows as Arrow, each column typed by the database's description where known."""
    import pyarrow as pa

    names = [str(d[0]) for d in description]
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in names]
    arrays = [
        _array(list(values), d, dialect) for values, d in zip(columns, description, strict=True)
    ]
    return pa.Table.from_arrays(arrays, names=_unique(names))


def _array(values: list[Any], column: Any, dialect: Dialect) -> pa.Array:
    import pyarrow as pa

    hint = dialect.arrow_type(column)
    if getattr(column, "type_code", None) in (114, 3802):  # Postgres json/jsonb: as JSON text
        values = [None if v is None else json.dumps(v) for v in values]
    if hint is not None and pa.types.is_string(hint):
        given = next((v for v in values if v is not None), None)
        if given is not None and not isinstance(given, str):
            hint = None  # a driver's converter made them objects (SQL Server's offsets)
    try:
        if hint is not None:
            return pa.array(values, type=hint)
        found = pa.array(values)
        return found if not pa.types.is_null(found.type) else pa.array(values, pa.string())
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError, OverflowError):
        return pa.array([None if v is None else str(v) for v in values], pa.string())


def _unique(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for name in names:
        count = seen.get(name, 0)
        seen[name] = count + 1
        out.append(name if count == 0 else f"{name}_{count}")
    return out


def _parts(where: Location) -> tuple[SqlConnection, Dialect]:
    from odibi_core.connections.sql import SqlConnection
    from odibi_core.io import sql_dialects

    connection = where.connection
    if not isinstance(connection, SqlConnection):
        raise NodeError(
            f"connection '{connection.name}' ({connection.type_name}) is not a database",
            step="read",
        )
    return connection, sql_dialects.for_connection(connection)


def _push_down(spec: ReadConfig) -> bool:
    value = spec.options.get("push_down", True)
    return str(value).lower() not in ("false", "0", "no", "off")


def _db_error(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    return (str(orig).strip().splitlines() or [type(orig).__name__])[0]


class PostgresFormat(SqlFormat):
    name = "postgres"


class AzureSqlFormat(SqlFormat):
    name = "azure_sql"


class SqlServerFormat(SqlFormat):
    name = "sql_server"
