"""PostgreSQL's SQL for ``format: sql``: a temporary staging table, ``UPDATE … FROM`` then
``INSERT … WHERE NOT EXISTS`` under a table lock, and ``COPY … FROM STDIN`` in CSV written by
Arrow."""

from __future__ import annotations

import io
import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from odibi_core.io.sql_dialects import Dialect, TableName, audit_columns

if TYPE_CHECKING:
    import pyarrow as pa

    from odibi_core.config.models import AuditColumns


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
        created, updated = audit_columns(audit)
        t, s = self.table(target), self.table(staging)
        on = self.match(keys, nullable)
        statements = []
        values = [c for c in columns if c not in keys]
        if update and (values or updated):
            sets = [f"{self.quote(c)} = s.{self.quote(c)}" for c in values]
            if updated:
                sets.append(f"{self.quote(updated)} = {self.now}")
            statements.append(f"UPDATE {t} AS t SET {', '.join(sets)} FROM {s} AS s WHERE {on}")
        names, picked = self.inserted(columns, created, updated)
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
