"""``format: sql`` (and Odibi's ``azure_sql`` / ``sql_server`` spellings): a query run by the
connection, which must be a database connection (``Connection.read_sql``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from odibi_core.io.format import Format

if TYPE_CHECKING:
    import pyarrow as pa

    from odibi_core.config.models import ReadConfig
    from odibi_core.io.format import Location


class SqlFormat(Format):
    name = "sql"
    writes = False

    def read(self, where: Location, spec: ReadConfig) -> pa.Table:
        from odibi_core.engines.pandas_arrow import from_pandas

        query = spec.query or spec.options.get("query") or f"SELECT * FROM {spec.table}"
        result = where.connection.read_sql(query)
        return result if hasattr(result, "schema") else from_pandas(result)


class AzureSqlFormat(SqlFormat):
    name = "azure_sql"


class SqlServerFormat(SqlFormat):
    name = "sql_server"
