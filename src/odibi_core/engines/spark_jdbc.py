"""The spark engine's databases (``format: sql`` on ``postgres``, ``sql_server``, ``azure_sql``),
through Spark's JDBC source, so executors move the rows and nothing is collected to the driver.

Reading sends the IO layer's query (:meth:`odibi_core.io.sql.SqlFormat.query`: the table,
``query`` or ``sql_file``, with ``filter`` and the incremental mark in its ``WHERE``), so the
database returns the same rows on every engine; Spark's own JDBC options (``partitionColumn``,
``lowerBound``, ``upperBound``, ``numPartitions``, ``fetchsize`` …) split the read.

Writing keeps the IO layer's meaning of each mode and its single transaction: the executors
append the rows to a load table made for this write (with the types the IO layer gives the
frame's Arrow schema), then one transaction of the driver's connection does what
:func:`odibi_core.io.sql.write_in` does for Arrow rows, reading them from that table. A failed
load or transaction leaves the target as it was; the load table is dropped either way.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from odibi_core.errors import NodeError

if TYPE_CHECKING:
    from odibi_core.config.models import ReadConfig, WriteConfig
    from odibi_core.connections.sql import SqlConnection
    from odibi_core.io.format import Format

log = logging.getLogger("odibi.spark")
#: Maven coordinates of the JDBC drivers a local session starts with (a Databricks cluster
#: has both already). Small, and fetched once into Ivy's cache like Delta's jars.
DRIVER_PACKAGES = (
    "org.postgresql:postgresql:42.7.14",
    "com.microsoft.sqlserver:mssql-jdbc:13.2.1.jre11",
)
#: Spark's JDBC options a read may add (how it splits the query), besides the format's own.
READ_OPTIONS = frozenset(
    {
        "partitionColumn",
        "lowerBound",
        "upperBound",
        "numPartitions",
        "fetchsize",
        "queryTimeout",
        "customSchema",
        "sessionInitStatement",
        "preferTimestampNTZ",
    }
)
#: … and a write (the rows each INSERT batch and each executor's connection takes).
WRITE_OPTIONS = frozenset({"batchsize", "numPartitions", "queryTimeout"})


def option_problems(fmt: Format, block: str, spec: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The format's complaints, less Spark's JDBC options."""
    spark_own = READ_OPTIONS if block == "read" else WRITE_OPTIONS
    return [
        (name, text) for name, text in fmt.option_problems(block, spec) if name not in spark_own
    ]


def read(spark: Any, fmt: Format, spec: ReadConfig, connection: SqlConnection) -> Any:
    from odibi_core.io import sql_dialects
    from odibi_core.io.format import Location

    _require_database(connection)
    where = Location.of(spec.format.lower(), connection, spec.path or spec.table or "")
    query = fmt.query(where, spec, sql_dialects.for_connection(connection))  # type: ignore[attr-defined]
    connection.check_reachable()
    url, properties = connection.jdbc()
    options = {k: str(v) for k, v in spec.options.items() if k in READ_OPTIONS}
    options.setdefault("fetchsize", str(spec.options.get("fetch_size", 10_000)))
    # A subquery as dbtable, not the query option: Spark refuses partitionColumn with that.
    return (
        spark.read.format("jdbc")
        .options(url=url, dbtable=f"({query}) odibi_source", **properties, **options)
        .load()
    )


def write(frame: Any, spec: WriteConfig, connection: SqlConnection) -> None:
    from pyspark.sql.pandas.types import to_arrow_schema

    from odibi_core.io import sql as sql_format
    from odibi_core.io import sql_dialects
    from odibi_core.io.sql_dialects import TableName, execute

    _require_database(connection)
    dialect = sql_dialects.for_connection(connection)
    target = TableName.parse(spec.target)
    merge = spec.merge_options
    if merge and merge.exclude_columns:
        frame = frame.drop(*[c for c in merge.exclude_columns if c in frame.columns])
    schema = to_arrow_schema(frame.schema)
    home = (merge.staging_schema if merge else None) or target.schema
    load = TableName(home, f"odibi_load_{uuid.uuid4().hex[:12]}")
    engine = connection.engine()
    with engine.begin() as conn:
        if home and merge and merge.auto_create_schema:
            execute(conn, dialect.create_schema(home))
        execute(conn, dialect.create_table(load, list(schema)))
    try:
        url, properties = connection.jdbc()
        options = {k: str(v) for k, v in spec.options.items() if k in WRITE_OPTIONS}
        options.setdefault("batchsize", "10000")
        (
            frame.write.format("jdbc")
            .options(url=url, dbtable=dialect.table(load), **properties, **options)
            .mode("append")
            .save()
        )
        with engine.begin() as conn:
            sql_format.write_in(conn, dialect, target, sql_format.Rows(schema, table=load), spec)
    finally:
        try:
            with engine.begin() as conn:
                execute(conn, f"DROP TABLE IF EXISTS {dialect.table(load)}")
        except Exception as exc:  # the write's own outcome is what the run reports
            log.warning("could not drop the load table %s after writing %s: %s", load, target, exc)


def _require_database(connection: Any) -> None:
    from odibi_core.connections.sql import SqlConnection

    if not isinstance(connection, SqlConnection):
        raise NodeError(
            f"connection '{connection.name}' ({connection.type_name}) is not a database: "
            "format sql needs a postgres, sql_server or azure_sql connection"
        )
