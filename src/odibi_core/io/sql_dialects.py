"""What the databases ``format: sql`` writes have in common, and what each must say
(:mod:`odibi_core.io.sql_postgres`, :mod:`odibi_core.io.sql_mssql`): names, types, the staging
table, the statements of each keyed mode, and the bulk load.

The statements are text made here (SQLAlchemy has no MERGE); identifiers are quoted by
SQLAlchemy's own dialect (``postgresql``, ``mssql``) and ``CREATE TABLE`` is compiled by it,
so tests check the text each database would be sent without a server.

Keys match null-safely (:mod:`odibi_core.io.modes`): ``t.k IS NOT DISTINCT FROM s.k``, spelled
``(t.k = s.k OR (t.k IS NULL AND s.k IS NULL))`` for SQL Server before 2022. A key column the
batch holds no null in is matched with plain ``=`` (the same rows match: a null target key can
equal no batch key), which lets the database join by hash or index instead of row by row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from odibi_core.errors import NodeError

if TYPE_CHECKING:
    import pyarrow as pa

    from odibi_core.config.models import AuditColumns
    from odibi_core.connections.sql import SqlConnection


@dataclass(frozen=True)
class TableName:
    """``schema.table`` as written (``public.orders``, ``[dbo].[Orders]``, ``orders``)."""

    schema: str | None
    name: str

    @classmethod
    def parse(cls, text: str) -> TableName:
        parts = _split_name(text.strip())
        if not parts or len(parts) > 2 or not all(parts):
            raise NodeError(f"'{text}' is not a table name (table or schema.table)")
        return cls(parts[0] if len(parts) == 2 else None, parts[-1])

    def __str__(self) -> str:
        return f"{self.schema}.{self.name}" if self.schema else self.name


def _split_name(text: str) -> list[str]:
    """Split on dots outside ``"…"`` and ``[…]``; the quotes are dropped."""
    parts, current, closer = [], "", ""
    for ch in text:
        if closer:
            if ch == closer:
                closer = ""
            else:
                current += ch
        elif ch in '"[':
            closer = '"' if ch == '"' else "]"
        elif ch == ".":
            parts.append(current)
            current = ""
        else:
            current += ch
    parts.append(current)
    return parts


def execute(conn: Any, statement: str) -> Any:
    """Run ``statement`` as written on ``conn``'s DB-API connection (in its transaction):
    no bind parameters, so a ``%`` or ``?`` in the text is the database's, not the driver's.
    Returns the cursor."""
    cursor = conn.connection.driver_connection.cursor()
    cursor.execute(statement)
    return cursor


class Dialect:
    """One database's SQL, for the ``sql`` format."""

    name: ClassVar[str]
    #: The SQL of now, in UTC, for audit columns.
    now: ClassVar[str]

    def __init__(self) -> None:
        self.sa = self._sa_dialect()

    def _sa_dialect(self) -> Any:
        raise NotImplementedError

    def quote(self, identifier: str) -> str:
        return str(self.sa.identifier_preparer.quote_identifier(identifier))

    def table(self, name: TableName) -> str:
        schema = f"{self.quote(name.schema)}." if name.schema else ""
        return schema + self.quote(name.name)

    # ------------------------------------------------------------ reading

    def literal(self, value: Any) -> str:
        """A high-water mark as a literal of this dialect (times typed as times)."""
        from odibi_core.engines.base import looks_like_time

        if isinstance(value, bool):
            return "1" if value else "0"
        if isinstance(value, int | float):
            return repr(value)
        text = str(value)
        if looks_like_time(text):
            try:
                moment = datetime.fromisoformat(text)
            except ValueError:
                return self.string(text)
            return self.time_literal(moment)
        return self.string(text)

    def string(self, text: str) -> str:
        return "'" + text.replace("'", "''") + "'"

    def time_literal(self, moment: datetime) -> str:
        raise NotImplementedError

    def arrow_type(self, column: Any) -> pa.DataType | None:
        """The Arrow type a result column (DB-API description) reads as; None: inferred."""
        raise NotImplementedError

    # ------------------------------------------------------------ writing

    def column_type(self, field: pa.Field) -> Any:
        """The SQLAlchemy type a new table's column gets for an Arrow field."""
        import pyarrow as pa
        import sqlalchemy as sa
        from sqlalchemy.dialects import mssql

        t = field.type
        if pa.types.is_dictionary(t):
            t = t.value_type
        if pa.types.is_boolean(t):
            return sa.Boolean()
        if pa.types.is_int8(t) or pa.types.is_int16(t) or pa.types.is_uint8(t):
            return sa.SmallInteger()
        if pa.types.is_int32(t) or pa.types.is_uint16(t):
            return sa.Integer()
        if pa.types.is_integer(t) and not pa.types.is_uint64(t):
            return sa.BigInteger()
        if pa.types.is_uint64(t):
            return sa.Numeric(20, 0)
        if pa.types.is_float16(t) or pa.types.is_float32(t):
            return sa.REAL()
        if pa.types.is_floating(t):
            return sa.Double()
        if pa.types.is_decimal(t):
            return sa.Numeric(t.precision, t.scale)
        text = sa.UnicodeText().with_variant(mssql.NVARCHAR("max"), "mssql")  # type: ignore[arg-type]  # not NTEXT
        if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
            return text
        if pa.types.is_null(t):
            return text
        if pa.types.is_timestamp(t):
            if t.tz is not None:
                return sa.DateTime(timezone=True).with_variant(mssql.DATETIMEOFFSET(), "mssql")
            return sa.DateTime().with_variant(mssql.DATETIME2(), "mssql")
        if pa.types.is_date(t):
            return sa.Date()
        if pa.types.is_time(t):
            return sa.Time()
        if pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_binary_view(t):
            return sa.LargeBinary().with_variant(mssql.VARBINARY("max"), "mssql")
        raise NodeError(
            f"column '{field.name}' ({t}) has no SQL type odibi writes; cast it to text first "
            "(a SQL step: CAST(... AS VARCHAR))",
            step="write",
        )

    def create_table(self, name: TableName, fields: list[pa.Field]) -> str:
        import sqlalchemy as sa
        from sqlalchemy.schema import CreateTable

        table = sa.Table(
            name.name,
            sa.MetaData(),
            *[sa.Column(f.name, self.column_type(f)) for f in fields],
            schema=name.schema,
        )
        return str(CreateTable(table).compile(dialect=self.sa)).strip()

    def add_column(self, name: TableName, column: str, sa_type: Any) -> str:
        compiled = sa_type.compile(dialect=self.sa)
        return f"ALTER TABLE {self.table(name)} ADD {self.quote(column)} {compiled}"

    def create_schema(self, schema: str) -> str:
        raise NotImplementedError

    def exists(self, conn: Any, name: TableName) -> bool:
        import sqlalchemy as sa

        return bool(sa.inspect(conn).has_table(name.name, schema=name.schema))

    def columns(self, conn: Any, name: TableName) -> list[str]:
        import sqlalchemy as sa

        return [c["name"] for c in sa.inspect(conn).get_columns(name.name, schema=name.schema)]

    def count_rows(self, engine: Any, table: str) -> int | None:
        name = TableName.parse(table)
        with engine.connect() as conn:
            if not self.exists(conn, name):
                return None
            row = execute(conn, f"SELECT COUNT(*) FROM {self.table(name)}").fetchone()
            return int(row[0] if row else 0)

    def empty(self, name: TableName) -> str:
        """Remove every row of a table inside the write's transaction."""
        return f"DELETE FROM {self.table(name)}"

    def lock(self, name: TableName) -> list[str]:
        """Statements keeping other writers out of ``name`` until the transaction ends."""
        return []

    def stage(
        self, target: TableName, columns: list[str], staging_schema: str | None
    ) -> tuple[TableName, str]:
        """A staging table for a keyed write, with the target's types for ``columns``, and
        the statement creating it (it lives until the transaction ends)."""
        raise NotImplementedError

    def drop(self, name: TableName) -> list[str]:
        """Statements removing a staging table at the end (none for a temporary table the
        transaction's end drops)."""
        return []

    def match(self, keys: list[str], nullable: set[str]) -> str:
        """The predicate matching target ``t`` to staging ``s`` on ``keys`` (null-safely for
        the keys in ``nullable``)."""
        terms = []
        for k in keys:
            q = self.quote(k)
            terms.append(self.null_safe(q) if k in nullable else f"t.{q} = s.{q}")
        return " AND ".join(terms)

    def null_safe(self, quoted: str) -> str:
        return f"t.{quoted} IS NOT DISTINCT FROM s.{quoted}"

    def keyed(
        self,
        target: TableName,
        staging: TableName,
        columns: list[str],
        keys: list[str],
        nullable: set[str],
        update: bool,
        audit: AuditColumns | None,
    ) -> list[str]:
        """The statements an ``upsert`` (``update``) or ``append_once`` runs from staging."""
        raise NotImplementedError

    def inserted(
        self, columns: list[str], created: str | None, updated: str | None
    ) -> tuple[list[str], list[str]]:
        """The target's columns a keyed write inserts and the values it gives them (the
        staging table's, and the time for audit columns the rows lack)."""
        names = [self.quote(c) for c in columns]
        picked = [f"s.{n}" for n in names]
        for stamp in (created, updated):
            if stamp and stamp not in columns:
                names.append(self.quote(stamp))
                picked.append(self.now)
        return names, picked

    def load(self, conn: Any, name: TableName, data: pa.Table) -> None:
        """Insert ``data``'s rows (columns by name) into ``name``, fast."""
        raise NotImplementedError

    def copy_rows(self, source: TableName, into: TableName, columns: list[str]) -> str:
        """The statement inserting ``columns`` of every row of ``source`` into ``into``."""
        cols = ", ".join(self.quote(c) for c in columns)
        return f"INSERT INTO {self.table(into)} ({cols}) SELECT {cols} FROM {self.table(source)}"


def audit_columns(audit: AuditColumns | None) -> tuple[str | None, str | None]:
    return (audit.created_col, audit.updated_col) if audit else (None, None)


def for_connection(connection: SqlConnection) -> Dialect:
    if connection.dialect == "postgresql":
        from odibi_core.io.sql_postgres import PostgresDialect

        return PostgresDialect()
    from odibi_core.io.sql_mssql import MssqlDialect

    return MssqlDialect()
