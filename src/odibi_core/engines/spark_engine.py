"""``engine: spark``: nodes as Spark DataFrames, SQL on Spark SQL, Delta through delta-spark.

The engine uses the process's active ``SparkSession`` when there is one (a Databricks job or
notebook), else starts a local one with Delta Lake configured (``pip install 'odibi[spark]'``;
Delta's jars come from Maven Central on first use). pyspark is imported only when a run on
this engine starts, so ``odibi validate`` checks Spark projects without it.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import uuid
from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from odibi_core import hookimpl
from odibi_core.engines.base import Engine
from odibi_core.engines.files import replace_path
from odibi_core.errors import NodeError

if TYPE_CHECKING:
    from odibi_core.config.models import ProjectConfig, ReadConfig, WriteConfig
    from odibi_core.connections.base import Connection

FILE_FORMATS = ("csv", "parquet", "json")
OPERATIONS = ("drop_duplicates", "fillna", "drop", "rename", "sort", "sample")
INSTALL_HINT = "the spark engine needs pyspark and delta-spark: pip install 'odibi[spark]'"


class SparkEngine(Engine):
    name = "spark"
    read_formats = frozenset({*FILE_FORMATS, "delta"})
    write_formats = frozenset({*FILE_FORMATS, "delta"})
    operations = frozenset(OPERATIONS)

    def __init__(self, project: ProjectConfig):
        super().__init__(project)
        self._spark: Any = None
        self._lock = threading.Lock()
        self._cached: list[Any] = []
        # Temporary views are global to the session: one SQL step at a time registers its
        # tables and is analysed (after which its plan no longer refers to the names).
        self._sql_lock = threading.Lock()

    @property
    def spark(self) -> Any:
        with self._lock:
            if self._spark is None:
                self._spark = _session()
            return self._spark

    # ------------------------------------------------------------ read

    def read(self, spec: ReadConfig, connection: Connection) -> Any:
        fmt = spec.format.lower()
        if fmt not in self.read_formats:
            raise NodeError(f"the spark engine cannot read format '{fmt}'", step="read")
        _local_only(connection)
        uri = connection.uri(spec.path or spec.table or "")
        where = f"{fmt} '{spec.path or spec.table}' on connection '{connection.name}'"
        if not _exists(uri):
            raise NodeError(f"cannot read {where}: not found ({uri})", step="read")
        reader = self.spark.read.format(fmt)
        options = dict(spec.options)
        if fmt == "csv":
            options.setdefault("header", True)
            options.setdefault("inferSchema", True)
        if fmt == "delta":
            version = options.pop("version", None) or options.pop("as_of_version", None)
            if version is not None:
                options["versionAsOf"] = version
        try:
            frame = reader.options(**options).load(uri)
        except Exception as exc:
            raise NodeError(f"cannot read {where}: {_first_line(exc)}", step="read") from None
        if spec.filter:
            frame = self.sql(f"SELECT * FROM df WHERE {spec.filter}", {"df": frame})
        return frame

    # ------------------------------------------------------------ write

    def write(self, frame: Any, spec: WriteConfig, connection: Connection) -> None:
        fmt = spec.format.lower()
        if fmt not in self.write_formats:
            raise NodeError(f"the spark engine cannot write format '{fmt}'", step="write")
        _local_only(connection)
        uri = connection.uri(spec.target)
        where = f"{fmt} '{spec.target}' on connection '{connection.name}'"
        try:
            if fmt == "delta":
                self._write_delta(frame, uri, spec)
            else:
                self._write_files(frame, fmt, uri, spec)
        except NodeError as exc:
            exc.step = exc.step or "write"
            raise
        except Exception as exc:
            raise NodeError(f"cannot write {where}: {_first_line(exc)}", step="write") from None

    def _write_delta(self, frame: Any, uri: str, spec: WriteConfig) -> None:
        from delta.tables import DeltaTable

        exists = DeltaTable.isDeltaTable(self.spark, uri)
        if spec.mode in ("upsert", "append_once") and exists:
            keys = spec.keys
            _require_columns(frame, keys)
            condition = " AND ".join(f"t.{_q(k)} = s.{_q(k)}" for k in keys)
            merge = (
                DeltaTable.forPath(self.spark, uri).alias("t").merge(frame.alias("s"), condition)
            )
            if spec.mode == "upsert":
                merge = merge.whenMatchedUpdateAll()
            merge.whenNotMatchedInsertAll().execute()
            return
        writer = frame.write.format("delta").options(**spec.options)
        if spec.mode == "overwrite":
            writer = writer.mode("overwrite").option("overwriteSchema", "true")
        else:
            writer = writer.mode("append")
        if spec.partition_by:
            writer = writer.partitionBy(*spec.partition_by)
        writer.save(uri)

    def _write_files(self, frame: Any, fmt: str, uri: str, spec: WriteConfig) -> None:
        """Spark writes a folder of part files; it is written beside the target and swapped
        in, so a failed write leaves the previous output whole."""
        target = Path(uri)
        if spec.mode != "overwrite" and target.exists():
            existing = self.spark.read.format(fmt).options(**_read_back(fmt)).load(uri)
            frame = _combine(existing, frame, spec)
        tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")
        writer = frame.write.format(fmt).mode("overwrite").options(**spec.options)
        if fmt == "csv":
            writer = writer.option("header", spec.options.get("header", True))
        if spec.partition_by:
            if fmt != "parquet":
                raise NodeError("partition_by needs format parquet or delta")
            writer = writer.partitionBy(*spec.partition_by)
        try:
            writer.save(str(tmp))
            replace_path(tmp, target)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp)

    # ------------------------------------------------------------ transform

    def sql(self, query: str, tables: Mapping[str, Any], node: str | None = None) -> Any:
        from pyspark.errors import PySparkException

        with self._sql_lock:
            try:
                for name, frame in tables.items():
                    if frame is not None:
                        frame.createOrReplaceTempView(name)
                return self.spark.sql(query)
            except PySparkException as exc:
                raise NodeError(
                    f"SQL failed: {_first_line(exc)}\n  SQL: {' '.join(query.split())}",
                    node=node,
                    step="sql",
                ) from None
            finally:
                for name in tables:
                    self.spark.catalog.dropTempView(name)

    def operation(self, name: str, params: Mapping[str, Any], frame: Any) -> Any:
        """The pandas engine's operations, with the same (pandas-style) parameters."""
        from pyspark.errors import PySparkException

        p = dict(params)
        try:
            if name == "drop_duplicates":
                subset = p.get("subset")
                return frame.dropDuplicates([subset] if isinstance(subset, str) else subset)
            if name == "fillna":
                return frame.fillna(p.get("value"), subset=p.get("subset"))
            if name == "drop":
                columns = p.get("columns", p.get("labels", []))
                return frame.drop(*([columns] if isinstance(columns, str) else columns))
            if name == "rename":
                return frame.withColumnsRenamed(dict(p.get("columns", {})))
            if name == "sort":
                by = p.get("by", [])
                by = [by] if isinstance(by, str) else list(by)
                ascending = p.get("ascending", True)
                return frame.orderBy(*by, ascending=ascending)
            if name == "sample":
                if "frac" not in p:
                    raise NodeError("operation 'sample' on spark needs 'frac'", step="operation")
                return frame.sample(fraction=float(p["frac"]), seed=p.get("random_state"))
        except PySparkException as exc:
            raise NodeError(
                f"operation '{name}' failed: {_first_line(exc)}", step="operation"
            ) from None
        raise NodeError(
            f"unknown operation '{name}'; known: {', '.join(sorted(self.operations))}",
            step="operation",
        )

    # ------------------------------------------------------------ inspect

    def count(self, frame: Any) -> int:
        return int(frame.count())

    def schema(self, frame: Any) -> list[tuple[str, str]]:
        return [(f.name, f.dataType.simpleString()) for f in frame.schema.fields]

    def sample(self, frame: Any, n: int) -> list[dict[str, Any]]:
        if n <= 0:
            return []
        return [json.loads(row) for row in frame.limit(n).toJSON().collect()]

    def max_value(self, frame: Any, column: str) -> Any:
        from pyspark.sql import functions as F
        from pyspark.sql.types import TimestampNTZType, TimestampType

        if column not in frame.columns:
            raise NodeError(f"incremental column '{column}' is not in the data")
        highest = F.max(F.col(_q(column)))
        if isinstance(frame.schema[column].dataType, TimestampType | TimestampNTZType):
            # Formatted by Spark in the session's time zone (UTC): collected datetimes would
            # be shifted to the Python process's local zone.
            highest = F.date_format(highest, "yyyy-MM-dd'T'HH:mm:ss.SSSSSS")
        value = frame.agg(highest).first()[0]
        if isinstance(value, datetime | date):
            return value.isoformat()
        return value

    def filter_newer(self, frame: Any, column: str, value: Any, inclusive: bool) -> Any:
        from pyspark.sql import functions as F
        from pyspark.sql.types import DateType, TimestampNTZType, TimestampType

        if column not in frame.columns:
            raise NodeError(f"incremental column '{column}' is not in the data")
        col = F.col(_q(column))
        kind = frame.schema[column].dataType
        if isinstance(kind, TimestampType | TimestampNTZType | DateType) or _looks_like_time(value):
            col, bound = F.to_timestamp(col), F.to_timestamp(F.lit(str(value)))
        else:
            bound = F.lit(value)
        return frame.filter(col >= bound if inclusive else col > bound)

    def row_position(self) -> str:
        # An unordered window is an error on Spark; these ids grow with the partition and the
        # row within it, which is the frame's order.
        return "monotonically_increasing_id()"

    def cache(self, frame: Any) -> Any:
        """Persisted (memory, spilling to disk) until the run ends: each count, check, write
        and dependant of an uncached frame computes its whole lineage again."""
        persisted = frame.persist()
        with self._lock:
            self._cached.append(persisted)
        return persisted

    def close(self) -> None:
        with self._lock:
            cached, self._cached = self._cached, []
        for frame in cached:
            frame.unpersist()

    def quote(self, identifier: str) -> str:
        return _q(identifier)


def _session() -> Any:
    try:
        from delta import configure_spark_with_delta_pip
        from pyspark.sql import SparkSession
    except ImportError:
        raise NodeError(INSTALL_HINT) from None
    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    # Spark binds to the address the host name resolves to unless told otherwise; a local
    # session serves this machine only.
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    builder = (
        SparkSession.builder.master("local[*]")
        .appName("odibi")
        .config("spark.sql.extensions", "io.delta.sql.DeltaSparkSessionExtension")
        .config(
            "spark.sql.catalog.spark_catalog", "org.apache.spark.sql.delta.catalog.DeltaCatalog"
        )
        # A local session serves this machine only: no UI port, the driver on loopback.
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.sql.session.timeZone", "UTC")
    )
    session = configure_spark_with_delta_pip(builder).getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


def _local_only(connection: Connection) -> None:
    if not connection.is_local:
        raise NodeError(
            f"connection '{connection.name}' ({connection.type_name}): the spark engine reads "
            "and writes local connections only so far"
        )


def _exists(uri: str) -> bool:
    import glob

    return bool(glob.glob(uri)) if glob.has_magic(uri) else os.path.exists(uri)


def _read_back(fmt: str) -> dict[str, Any]:
    return {"header": True, "inferSchema": True} if fmt == "csv" else {}


def _require_columns(frame: Any, keys: list[str]) -> None:
    missing = [k for k in keys if k not in frame.columns]
    if missing:
        raise NodeError(f"upsert key column(s) {missing} not in the data", step="write")


def _combine(existing: Any, new: Any, spec: WriteConfig) -> Any:
    if spec.mode in ("upsert", "append_once"):
        keys = spec.keys
        _require_columns(new, keys)
        _require_columns(existing, keys)
        if spec.mode == "upsert":
            kept = existing.join(new.select(*keys), on=keys, how="left_anti")
            return kept.unionByName(new, allowMissingColumns=True)
        fresh = new.join(existing.select(*keys), on=keys, how="left_anti")
        return existing.unionByName(fresh, allowMissingColumns=True)
    return existing.unionByName(new, allowMissingColumns=True)


def _q(identifier: str) -> str:
    return "`" + identifier.replace("`", "``") + "`"


def _looks_like_time(value: Any) -> bool:
    return isinstance(value, str) and len(value) >= 10 and value[4] == "-" and value[7] == "-"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


@hookimpl
def odibi_register_engines() -> list[type[Engine]]:
    return [SparkEngine]
