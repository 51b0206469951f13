"""SQL Server's and Azure SQL's T-SQL for ``format: sql``: a ``#temp`` (or ``staging_schema``)
staging table, one ``MERGE … WITH (HOLDLOCK)``, and pyodbc's ``fast_executemany`` load."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any

from odibi_core.io.sql_dialects import Dialect, TableName, audit_columns

if TYPE_CHECKING:
    import pyarrow as pa

    from odibi_core.config.models import AuditColumns


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
        created, updated = audit_columns(audit)
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
        names, picked = self.inserted(columns, created, updated)
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
