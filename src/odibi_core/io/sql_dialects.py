"""What differs between the databases ``format: sql`` writes: names, types, the staging
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

import io
import uuid
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

    def load(self, conn: Any, name: TableName, data: pa.Table) -> None:
        """Insert ``data``'s rows (columns by name) into ``name``, fast."""
        raise NotImplementedError


def _audit_columns(audit: AuditColumns | None) -> tuple[str | None, str | None]:
    return (audit.created_col, audit.updated_col) if audit else (None, None)


class PostgresDialect(Dialect):
    name = "postgresql"
    now = "now()"
    #: Type OIDs (``pg_type``) → Arrow.
    _OIDS: ClassVar[dict[int, str]] = {
        16: "bool",
        20: "int64",
        21: "int16",
        23: "int32",
        26: "int64",
        700: "float32",
        701: "float64",
        25: "string",
        1042: "string",
        1043: "string",
        19: "string",
        2950: "string",
        114: "json",
        3802: "json",
        1082: "date32",
        1083: "time64",
        1114: "timestamp",
        1184: "timestamptz",
        17: "binary",
        1700: "numeric",
    }

    def _sa_dialect(self) -> Any:
        from sqlalchemy.dialects import postgresql

        return postgresql.dialect()

    def time_literal(self, moment: datetime) -> str:
        kind = "TIMESTAMPTZ" if moment.tzinfo is not None else "TIMESTAMP"
        return f"{kind} '{moment.isoformat()}'"

    def arrow_type(self, column: Any) -> pa.DataType | None:
        import pyarrow as pa

        kind = self._OIDS.get(int(getattr(column, "type_code", 0) or 0))
        if kind == "numeric":
            precision, scale = column.precision, column.scale
            if precision and precision <= 38:
                return pa.decimal128(precision, scale or 0)
            return None  # unconstrained: inferred from the values
        return {
            "bool": pa.bool_(),
            "int16": pa.int16(),
            "int32": pa.int32(),
            "int64": pa.int64(),
            "float32": pa.float32(),
            "float64": pa.float64(),
            "string": pa.string(),
            "json": pa.string(),
            "date32": pa.date32(),
            "time64": pa.time64("us"),
            "timestamp": pa.timestamp("us"),
            "timestamptz": pa.timestamp("us", tz="UTC"),
            "binary": pa.binary(),
        }.get(kind or "")

    def create_schema(self, schema: str) -> str:
        return f"CREATE SCHEMA IF NOT EXISTS {self.quote(schema)}"

    def empty(self, name: TableName) -> str:
        return f"TRUNCATE TABLE {self.table(name)}"

    def lock(self, name: TableName) -> list[str]:
        # Readers go on; another keyed write waits, so both never insert the same new key.
        return [f"LOCK TABLE {self.table(name)} IN SHARE ROW EXCLUSIVE MODE"]

    def stage(
        self, target: TableName, columns: list[str], staging_schema: str | None
    ) -> tuple[TableName, str]:
        staging = TableName(None, f"odibi_stage_{uuid.uuid4().hex[:12]}")
        cols = ", ".join(self.quote(c) for c in columns)
        return staging, (
            f"CREATE TEMPORARY TABLE {self.table(staging)} ON COMMIT DROP AS "
            f"SELECT {cols} FROM {self.table(target)} WITH NO DATA"
        )

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
        created, updated = _audit_columns(audit)
        t, s = self.table(target), self.table(staging)
        on = self.match(keys, nullable)
        statements = []
        values = [c for c in columns if c not in keys]
        if update and (values or updated):
            sets = [f"{self.quote(c)} = s.{self.quote(c)}" for c in values]
            if updated:
                sets.append(f"{self.quote(updated)} = {self.now}")
            statements.append(f"UPDATE {t} AS t SET {', '.join(sets)} FROM {s} AS s WHERE {on}")
        names = [self.quote(c) for c in columns]
        picked = [f"s.{n}" for n in names]
        for stamp in (created, updated):
            if stamp and stamp not in columns:
                names.append(self.quote(stamp))
                picked.append(self.now)
        statements.append(
            f"INSERT INTO {t} ({', '.join(names)}) SELECT {', '.join(picked)} FROM {s} AS s "
            f"WHERE NOT EXISTS (SELECT 1 FROM {t} AS t WHERE {on})"
        )
        return statements

    def load(self, conn: Any, name: TableName, data: pa.Table) -> None:
        """``COPY … FROM STDIN`` in CSV, the CSV written by Arrow (C++, without the GIL) in
        batches on worker threads while earlier batches are sent, a few batches ahead."""
        from collections import deque
        from concurrent.futures import ThreadPoolExecutor

        import pyarrow.csv as pacsv

        data = _copyable(data)
        cols = ", ".join(self.quote(c) for c in data.column_names)
        statement = f"COPY {self.table(name)} ({cols}) FROM STDIN (FORMAT csv)"
        options = pacsv.WriteOptions(include_header=False, batch_size=16_384)

        def csv(batch: Any) -> bytes:
            sink = io.BytesIO()
            pacsv.write_csv(batch, sink, options)
            return sink.getvalue()

        cursor = conn.connection.driver_connection.cursor()
        with ThreadPoolExecutor(_WORKERS) as pool, cursor.copy(statement) as copy:
            pending: deque[Any] = deque()
            for batch in data.to_batches(max_chunksize=65_536):
                pending.append(pool.submit(csv, batch))
                if len(pending) > 2 * _WORKERS:
                    copy.write(pending.popleft().result())
            while pending:
                copy.write(pending.popleft().result())


#: Threads writing CSV for COPY.
_WORKERS = 3


def _copyable(data: pa.Table) -> pa.Table:
    """``data`` in the text COPY reads: bytes as ``\\x`` hex, views as classic types."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from odibi_core.io.format import classic

    data = classic(data)
    for i, field in enumerate(data.schema):
        if pa.types.is_binary(field.type) or pa.types.is_large_binary(field.type):
            hexed = pa.array(
                [None if v is None else "\\x" + v.hex() for v in data.column(i).to_pylist()],
                pa.string(),
            )
            data = data.set_column(i, field.name, hexed)
        elif pa.types.is_dictionary(field.type):
            data = data.set_column(i, field.name, pc.cast(data.column(i), field.type.value_type))
    return data


class MssqlDialect(Dialect):
    """SQL Server and Azure SQL (T-SQL)."""

    name = "mssql"
    now = "SYSUTCDATETIME()"

    def _sa_dialect(self) -> Any:
        from sqlalchemy.dialects import mssql

        return mssql.dialect()

    def time_literal(self, moment: datetime) -> str:
        kind = "DATETIMEOFFSET" if moment.tzinfo is not None else "DATETIME2"
        return f"CAST('{moment.isoformat()}' AS {kind})"

    def string(self, text: str) -> str:
        return "N'" + text.replace("'", "''") + "'"

    def arrow_type(self, column: Any) -> pa.DataType | None:
        import datetime as dt
        import decimal

        import pyarrow as pa

        code = column[1]
        if code is bool:
            return pa.bool_()
        if code is int:
            return pa.int64()
        if code is float:
            return pa.float64()
        if code is decimal.Decimal:
            precision, scale = column[4], column[5]
            return pa.decimal128(precision, scale or 0) if precision else None
        if code is str:
            return pa.string()
        if code is dt.datetime:
            return pa.timestamp("us")
        if code is dt.date:
            return pa.date32()
        if code is dt.time:
            return pa.time64("us")
        if code in (bytes, bytearray):
            return pa.binary()
        return None

    def create_schema(self, schema: str) -> str:
        quoted = self.quote(schema)
        return (
            f"IF SCHEMA_ID({self.string(schema)}) IS NULL "
            f"EXEC({self.string('CREATE SCHEMA ' + quoted)})"
        )

    def stage(
        self, target: TableName, columns: list[str], staging_schema: str | None
    ) -> tuple[TableName, str]:
        suffix = uuid.uuid4().hex[:12]
        if staging_schema:
            staging = TableName(staging_schema, f"{target.name}_staging_{suffix}")
        else:
            staging = TableName(None, f"#odibi_stage_{suffix}")
        cols = ", ".join(self.quote(c) for c in columns)
        return staging, f"SELECT TOP 0 {cols} INTO {self.table(staging)} FROM {self.table(target)}"

    def drop(self, name: TableName) -> list[str]:
        return [f"DROP TABLE {self.table(name)}"]

    def null_safe(self, quoted: str) -> str:
        return f"(t.{quoted} = s.{quoted} OR (t.{quoted} IS NULL AND s.{quoted} IS NULL))"

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
        created, updated = _audit_columns(audit)
        values = [c for c in columns if c not in keys]
        lines = [
            f"MERGE INTO {self.table(target)} WITH (HOLDLOCK) AS t",
            f"USING {self.table(staging)} AS s",
            f"ON {self.match(keys, nullable)}",
        ]
        if update and (values or updated):
            sets = [f"t.{self.quote(c)} = s.{self.quote(c)}" for c in values]
            if updated:
                sets.append(f"t.{self.quote(updated)} = {self.now}")
            lines.append(f"WHEN MATCHED THEN UPDATE SET {', '.join(sets)}")
        names = [self.quote(c) for c in columns]
        picked = [f"s.{n}" for n in names]
        for stamp in (created, updated):
            if stamp and stamp not in columns:
                names.append(self.quote(stamp))
                picked.append(self.now)
        lines.append(
            f"WHEN NOT MATCHED BY TARGET THEN INSERT ({', '.join(names)}) "
            f"VALUES ({', '.join(picked)});"
        )
        return ["\n".join(lines)]

    def load(self, conn: Any, name: TableName, data: pa.Table) -> None:
        """pyodbc's ``fast_executemany`` (parameter arrays) over a plain INSERT."""
        from odibi_core.io.format import classic

        data = _offsets_as_text(classic(data))
        cols = ", ".join(self.quote(c) for c in data.column_names)
        marks = ", ".join("?" for _ in data.column_names)
        statement = f"INSERT INTO {self.table(name)} ({cols}) VALUES ({marks})"
        cursor = conn.connection.driver_connection.cursor()
        cursor.fast_executemany = True
        for batch in data.to_batches(max_chunksize=10_000):
            rows = list(zip(*(c.to_pylist() for c in batch.columns), strict=True))
            if rows:
                cursor.executemany(statement, rows)


def _offsets_as_text(data: pa.Table) -> pa.Table:
    """Times with a zone as ISO text (``2026-01-02T03:04:05.123456+00:00``), which SQL Server
    converts to DATETIMEOFFSET: pyodbc would send an aware ``datetime`` without its zone."""
    import pyarrow as pa

    for i, field in enumerate(data.schema):
        if pa.types.is_timestamp(field.type) and field.type.tz is not None:
            values = [None if v is None else v.isoformat() for v in data.column(i).to_pylist()]
            data = data.set_column(i, field.name, pa.array(values, pa.string()))
    return data


def for_connection(connection: SqlConnection) -> Dialect:
    return PostgresDialect() if connection.dialect == "postgresql" else MssqlDialect()
