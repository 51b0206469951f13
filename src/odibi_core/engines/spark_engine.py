"""``engine: spark``: nodes as Spark DataFrames, SQL on Spark SQL, Delta through delta-spark.

The engine uses the process's active ``SparkSession`` when there is one (a Databricks job or
notebook), else starts a local one with Delta Lake configured (``pip install 'odibi[spark]'``;
Delta's jars come from Maven Central on first use). pyspark is imported only when a run on
this engine starts, so ``odibi validate`` checks Spark projects without it.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import uuid
from collections.abc import Iterator, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from odibi_core import hookimpl
from odibi_core.engines.base import Engine, looks_like_time
from odibi_core.errors import NodeError, SQLError, transient
from odibi_core.io import delta_table, modes
from odibi_core.io.format import classic

if TYPE_CHECKING:
    from odibi_core.config.models import ProjectConfig, ReadConfig, WriteConfig
    from odibi_core.connections.base import Connection
    from odibi_core.io.format import Format

FILE_FORMATS = ("csv", "parquet", "json")
#: Databases, through Spark's JDBC source (:mod:`odibi_core.engines.spark_jdbc`).
DATABASE_FORMATS = ("sql", "postgres", "sql_server", "azure_sql")
#: Formats Spark does not read itself (an HTTP API): read in this process by the IO layer, as
#: on pandas, and handed to Spark as Arrow.
IN_PROCESS_READS = ("api",)
#: Session settings a Delta write sets for one statement: the commit's user metadata (a
#: MERGE takes no writer option), and VACUUM's 7-day guard.
_USER_METADATA = "spark.databricks.delta.commitInfo.userMetadata"
_RETENTION_CHECK = "spark.databricks.delta.retentionDurationCheck.enabled"
INSTALL_HINT = "the spark engine needs pyspark and delta-spark: pip install 'odibi[spark]'"


class SparkEngine(Engine):
    name = "spark"
    read_formats = frozenset({*FILE_FORMATS, "delta", *DATABASE_FORMATS, *IN_PROCESS_READS})
    write_formats = frozenset({*FILE_FORMATS, "delta", *DATABASE_FORMATS})

    @classmethod
    def option_problems(cls, block: str, spec: Mapping[str, Any]) -> list[tuple[str, str]]:
        fmt = str(spec.get("format", "")).lower()
        if fmt in DATABASE_FORMATS or (block == "read" and fmt in IN_PROCESS_READS):
            from odibi_core.engines import spark_jdbc
            from odibi_core.io.builtin import FORMATS

            found = next(f for f in FORMATS if f.name == fmt)
            if fmt in DATABASE_FORMATS:
                return spark_jdbc.option_problems(found, block, spec)
            return found.option_problems(block, spec)
        return _option_problems(block, spec)

    def __init__(self, project: ProjectConfig, formats: Mapping[str, Format] | None = None):
        super().__init__(project, formats)
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
                spark = _session()
                # performance.spark_config: runtime settings, set before any node runs.
                # (An engine made without a project, as a test may, has none.)
                performance = getattr(self.project, "performance", None)
                settings = performance.spark_config if performance is not None else {}
                for key, value in settings.items():
                    try:
                        spark.conf.set(key, value)
                    except Exception as exc:  # a static setting of a running session
                        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
                        raise NodeError(f"performance.spark_config '{key}': {first}") from None
                self._spark = spark
            return self._spark

    # ------------------------------------------------------------ read

    def read(self, spec: ReadConfig, connection: Connection) -> Any:
        fmt = spec.format.lower()
        if fmt not in self.read_formats:
            raise NodeError(f"the spark engine cannot read format '{fmt}'", step="read")
        if fmt in DATABASE_FORMATS:
            from odibi_core.engines import spark_jdbc

            where = (
                f"{fmt} '{spec.table or spec.path or 'query'}' on connection '{connection.name}'"
            )
            with _spark_errors(f"cannot read {where}", "read"):
                frame = spark_jdbc.read(self.spark, self.formats[fmt], spec, connection)  # type: ignore[arg-type]
            if spec.filter and not self.formats[fmt].applies_filter(spec):
                frame = self.sql(f"SELECT * FROM df WHERE {spec.filter}", {"df": frame})
            return frame
        if fmt in IN_PROCESS_READS:
            from odibi_core import io as odibi_io

            frame = self._from_arrow(odibi_io.read(self.formats, spec, connection))
            if spec.filter:
                frame = self.sql(f"SELECT * FROM df WHERE {spec.filter}", {"df": frame})
            return frame
        where = f"{fmt} '{spec.path or spec.table}' on connection '{connection.name}'"
        if hasattr(connection, "table_name"):  # a metastore table (type: delta)
            frame = self._read_table(connection.table_name(spec.table or spec.path or ""), spec)
            if spec.filter:
                frame = self.sql(f"SELECT * FROM df WHERE {spec.filter}", {"df": frame})
            return frame
        uri = _location(self.spark, connection, spec.path or spec.table or "")
        if connection.is_local and not _exists(uri):
            raise NodeError(f"cannot read {where}: not found ({uri})", step="read")
        reader = self.spark.read.format(fmt)
        options = dict(spec.options)
        if fmt == "csv":
            options.setdefault("header", True)
            options.setdefault("inferSchema", True)
        if fmt == "delta":
            from odibi_core.io.delta import as_of_read

            version, as_of = as_of_read(spec)
            for name in ("version", "as_of_version", "versionAsOf", "timestampAsOf"):
                options.pop(name, None)
            if version is not None:
                options["versionAsOf"] = version
            elif as_of is not None:
                options["timestampAsOf"] = _spark_time(as_of)
        with _spark_errors(f"cannot read {where}", "read"):
            frame = reader.options(**options).load(uri)
        if spec.filter:
            frame = self.sql(f"SELECT * FROM df WHERE {spec.filter}", {"df": frame})
        return frame

    def _read_table(self, name: str, spec: ReadConfig) -> Any:
        from odibi_core.io.delta import as_of_read

        version, as_of = as_of_read(spec)
        query = f"SELECT * FROM {name}"
        if version is not None:
            query += f" VERSION AS OF {int(version)}"
        elif as_of is not None:
            query += " TIMESTAMP AS OF '" + _spark_time(as_of).replace("'", "''") + "'"
        with _spark_errors(f"cannot read table {name}", "read"):
            return self.spark.sql(query)

    def _from_arrow(self, table: Any) -> Any:
        """An Arrow table read in this process as a Spark frame (no columns: an empty one)."""
        if not table.num_columns:
            from pyspark.sql.types import StructType

            return self.spark.createDataFrame([], StructType([]))
        with _spark_errors("cannot hand the rows read to Spark", "read"):
            return self.spark.createDataFrame(classic(table))

    # ------------------------------------------------------------ write

    def write(self, frame: Any, spec: WriteConfig, connection: Connection) -> Any:
        fmt = spec.format.lower()
        if fmt not in self.write_formats:
            raise NodeError(f"the spark engine cannot write format '{fmt}'", step="write")
        where = f"{fmt} '{spec.target}' on connection '{connection.name}'"
        if fmt in DATABASE_FORMATS:
            from odibi_core.engines import spark_jdbc

            with _spark_errors(f"cannot write {where}", "write"):
                spark_jdbc.write(frame, spec, connection)  # type: ignore[arg-type]
            return None
        if hasattr(connection, "table_name"):  # a metastore table (type: delta)
            with _spark_errors(f"cannot write {where}", "write"):
                self._write_delta(frame, spec, name=connection.table_name(spec.target))
            return None
        uri = _location(self.spark, connection, spec.target)
        with _spark_errors(f"cannot write {where}", "write"):
            if fmt == "delta":  # readers of older versions keep their files
                self._write_delta(frame, spec, uri=uri)
                return None
            return self._write_files(frame, fmt, uri, spec)

    def _write_delta(
        self, frame: Any, spec: WriteConfig, uri: str | None = None, name: str | None = None
    ) -> None:
        """A Delta table by path (``uri``) or by its metastore ``name``; then its properties,
        OPTIMIZE and VACUUM (:mod:`odibi_core.io.delta_table` says what each key means)."""
        exists = self._delta_exists(uri, name)
        metadata = delta_table.user_metadata(spec)
        if spec.mode in ("upsert", "append_once") and exists:
            table = self._delta_table(uri, name)
            modes.require_target_keys(spec, table.toDF().columns)
            self._check_delta_schema(table.toDF().columns, frame.columns, spec)
            condition = modes.key_match(spec.keys, _q)
            merge = table.alias("t").merge(frame.alias("s"), condition)
            if spec.merge_schema:
                merge = merge.withSchemaEvolution()
            if spec.mode == "upsert":
                merge = merge.whenMatchedUpdateAll()
            with self._session_conf(_USER_METADATA, metadata):
                merge.whenNotMatchedInsertAll().execute()
        else:
            if exists:
                self._check_delta_schema(
                    self._delta_table(uri, name).toDF().columns, frame.columns, spec
                )
            writer = frame.write.format("delta").options(**_writer_options(spec))
            writer = writer.mode("overwrite" if spec.mode == "overwrite" else "append")
            if spec.overwrite_schema:
                writer = writer.option("overwriteSchema", "true")
            elif spec.merge_schema:
                writer = writer.option("mergeSchema", "true")
            if metadata:
                writer = writer.option("userMetadata", metadata)
            if not exists:  # a new table is made with its properties
                writer = writer.options(**spec.table_properties)
            if spec.partition_by:
                writer = writer.partitionBy(*spec.partition_by)
            if name is not None:
                writer.saveAsTable(name)
            else:
                writer.save(uri)
        ref = name if name is not None else f"delta.{_q(str(uri))}"
        if spec.table_properties:
            self._set_properties(ref, spec.table_properties)
        self._upkeep(ref, delta_table.Upkeep.of(spec))

    def _delta_exists(self, uri: str | None, name: str | None) -> bool:
        from delta.tables import DeltaTable

        if name is not None:
            return bool(self.spark.catalog.tableExists(name))
        return bool(DeltaTable.isDeltaTable(self.spark, str(uri)))

    def _delta_table(self, uri: str | None, name: str | None) -> Any:
        from delta.tables import DeltaTable

        if name is not None:
            return DeltaTable.forName(self.spark, name)
        return DeltaTable.forPath(self.spark, str(uri))

    def _check_delta_schema(self, table: list[str], incoming: list[str], spec: WriteConfig) -> None:
        """The column rules of :func:`delta_table.schema_problem` (types: Delta's own check)."""
        problem = delta_table.schema_problem(
            dict.fromkeys(table, ""), dict.fromkeys(incoming, None), spec
        )
        if problem:
            raise NodeError(f"cannot write delta '{spec.target}': {problem}", step="write")

    def _set_properties(self, ref: str, wanted: Mapping[str, str]) -> None:
        rows = self.spark.sql(f"SHOW TBLPROPERTIES {ref}").collect()
        changed = delta_table.changed_properties({r[0]: r[1] for r in rows}, wanted)
        if changed:
            pairs = ", ".join(f"{_text(k)} = {_text(v)}" for k, v in changed.items())
            self.spark.sql(f"ALTER TABLE {ref} SET TBLPROPERTIES ({pairs})")

    def _upkeep(self, ref: str, plan: delta_table.Upkeep) -> None:
        if plan.zorder_by:
            self.spark.sql(f"OPTIMIZE {ref} ZORDER BY ({', '.join(map(_q, plan.zorder_by))})")
        elif plan.compact:
            self.spark.sql(f"OPTIMIZE {ref}")
        if plan.vacuum_hours is not None:
            # The hours the user chose, below Delta's 7-day guard too (as on pandas).
            with self._session_conf(_RETENTION_CHECK, "false"):
                self.spark.sql(f"VACUUM {ref} RETAIN {plan.vacuum_hours} HOURS")

    def upkeep(self, spec: WriteConfig, connection: Connection, plan: Any) -> None:
        where = f"delta '{spec.target}' on connection '{connection.name}'"
        with _spark_errors(f"cannot optimize {where}", "write"):
            self._upkeep(self._delta_ref(spec, connection), plan)

    def stored_hash(self, spec: WriteConfig, connection: Connection) -> str | None:
        if spec.format.lower() != "delta":
            return None
        where = f"delta '{spec.target}' on connection '{connection.name}'"
        with _spark_errors(f"cannot read the history of {where}", "write"):
            uri, name = self._delta_place(spec, connection)
            if not self._delta_exists(uri, name):
                return None
            history = self._delta_table(uri, name).history(delta_table.HISTORY_LIMIT)
            rows = history.select("operation", "userMetadata").collect()
        return delta_table.stored_hash(r.asDict() for r in rows)

    def _delta_place(
        self, spec: WriteConfig, connection: Connection
    ) -> tuple[str | None, str | None]:
        if hasattr(connection, "table_name"):  # a metastore table (type: delta)
            return None, connection.table_name(spec.target)
        return _location(self.spark, connection, spec.target), None

    def _delta_ref(self, spec: WriteConfig, connection: Connection) -> str:
        uri, name = self._delta_place(spec, connection)
        return name if name is not None else f"delta.{_q(str(uri))}"

    @contextlib.contextmanager
    def _session_conf(self, key: str, value: str | None) -> Iterator[None]:
        """``key`` set to ``value`` on the session for the block (nothing when None)."""
        if value is None:
            yield
            return
        conf = self.spark.conf  # session-wide: parallel nodes see it for the moment
        before = conf.get(key, None)
        conf.set(key, value)
        try:
            yield
        finally:
            if before is None:
                conf.unset(key)
            else:
                conf.set(key, before)

    def _write_files(self, frame: Any, fmt: str, uri: str, spec: WriteConfig) -> Any:
        """Spark writes a folder of part files; it is written beside the target and swapped
        in (through Hadoop's file system, so locally and in object stores alike), so a failed
        write leaves the previous output whole. Returns the node's frame, computed, if it read
        the files being replaced (else None)."""
        files = _HadoopFiles(self.spark, uri)
        computed = None
        if files.read_by(frame):  # its files are about to be replaced: compute it now
            frame = computed = frame.localCheckpoint()
            with self._lock:  # its blocks are released when the run ends, like a cache
                self._cached.append(computed)
        if spec.mode != "overwrite" and files.exists(files.target):
            # Read back with the new rows' types: inferred partition values ("02139") or CSV
            # columns would not match them.
            existing = (
                self.spark.read.format(fmt)
                .schema(frame.schema)
                .options(**_read_back(fmt, spec))
                .load(uri)
            )
            frame = self._combine(existing, frame, spec)
        tmp = files.beside("tmp")
        writer = frame.write.format(fmt).mode("overwrite").options(**_writer_options(spec))
        if fmt == "csv":
            writer = writer.option("header", spec.options.get("header", True))
        if spec.partition_by:
            if fmt != "parquet":
                raise NodeError("partition_by needs format parquet or delta")
            writer = writer.partitionBy(*spec.partition_by)
        try:
            writer.save(files.text(tmp))
            files.swap_in(tmp)
        finally:
            files.delete(tmp)
        return computed

    def _combine(self, existing: Any, incoming: Any, spec: WriteConfig) -> Any:
        if spec.mode in modes.KEYED_MODES:
            modes.require_target_keys(spec, existing.columns)
        query = modes.combine_sql(
            spec.mode, spec.keys, existing.columns, incoming.columns, _q, self.row_position()
        )
        return self.sql(query, {"existing": existing, "incoming": incoming})

    # ------------------------------------------------------------ transform

    def sql(self, query: str, tables: Mapping[str, Any], node: str | None = None) -> Any:
        """Classic Spark analyses the query here, resolving the views into its plan, so they
        can go again at once (Spark Connect resolves later: see ``_session``)."""
        from pyspark.errors import PySparkException

        with self._sql_lock:
            try:
                for name, frame in tables.items():
                    if frame is not None:
                        frame.createOrReplaceTempView(name)
                return self.spark.sql(query)
            except PySparkException as exc:
                raise SQLError(
                    _message(exc), query, missing_table=_missing_table(exc), node=node
                ) from None
            finally:
                for name in tables:
                    self.spark.catalog.dropTempView(name)

    # ------------------------------------------------------------ inspect

    def count(self, frame: Any) -> int:
        # Spark computes frames here first: a bad value (a failed cast) surfaces now.
        with _spark_errors("computing the data failed", "compute"):
            return int(frame.count())

    def schema(self, frame: Any) -> list[tuple[str, str]]:
        return [(f.name, f.dataType.simpleString()) for f in frame.schema.fields]

    def sample(self, frame: Any, n: int) -> list[dict[str, Any]]:
        """Every column of each row, in order, nulls included (the story's table takes its
        header from the first row)."""
        if n <= 0:
            return []
        with _spark_errors("computing the data failed", "compute"):
            rows = frame.limit(n).collect()
        return [
            json.loads(json.dumps({c: row[i] for i, c in enumerate(frame.columns)}, default=_json))
            for row in rows
        ]

    def max_value(self, frame: Any, column: str) -> Any:
        from pyspark.sql import functions as F
        from pyspark.sql.types import TimestampNTZType, TimestampType

        if column not in frame.columns:
            raise NodeError(f"incremental column '{column}' is not in the data")
        highest = F.max(F.col(_q(column)))
        kind = frame.schema[column].dataType
        if isinstance(kind, TimestampType):
            # Formatted by Spark with the session's offset: collected datetimes would be
            # shifted to the Python process's zone, and a mark without one is ambiguous.
            highest = F.date_format(highest, "yyyy-MM-dd'T'HH:mm:ss.SSSSSSXXX")
        elif isinstance(kind, TimestampNTZType):
            highest = F.date_format(highest, "yyyy-MM-dd'T'HH:mm:ss.SSSSSS")
        with _spark_errors("computing the incremental mark failed", "incremental"):
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
        if isinstance(kind, TimestampType | TimestampNTZType | DateType) or looks_like_time(value):
            bound = F.to_timestamp(F.lit(str(value)))
            if isinstance(kind, DateType):
                col = F.to_timestamp(col)
            elif not isinstance(kind, TimestampType | TimestampNTZType):
                col = F.try_to_timestamp(col)  # text that is no time (n/a) drops out, as on pandas
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


def _quiet_query_context_loggers() -> None:
    """PySpark logs every failed query on loggers of its own (own handler, no propagation),
    values and all: the same error Odibi reports as one scrubbed line, so they are muted."""
    from pyspark.logger import PySparkLogger

    for name in ("SQLQueryContextLogger", "DataFrameQueryContextLogger"):
        PySparkLogger.getLogger(name).disabled = True


def _spark_time(moment: Any) -> str:
    """A moment as Spark's ``timestampAsOf`` takes it (an aware datetime: with its offset)."""
    return moment.isoformat() if hasattr(moment, "isoformat") else str(moment)


def _session() -> Any:
    """The process's Spark session, used as it is (a notebook's or a job's, whatever thread
    asks), or a local one Odibi starts and configures."""
    try:
        from delta import configure_spark_with_delta_pip
        from pyspark.sql import SparkSession
    except ImportError:
        raise NodeError(INSTALL_HINT) from None
    _quiet_query_context_loggers()
    existing = SparkSession.getActiveSession() or getattr(
        SparkSession, "_instantiatedSession", None
    )
    if existing is not None:
        if type(existing).__module__.startswith("pyspark.sql.connect"):
            # Connect resolves a query's tables when its result is used, after the SQL step
            # has let go of the names it registered.
            raise NodeError(
                "the spark engine needs a classic Spark session; Spark Connect (Databricks "
                "serverless and shared clusters) is not supported yet"
            )
        return existing
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
        # Spark's default pattern plus ABFS account keys (fs.azure.account.key.<host>), which
        # it would otherwise show in the environment and plans it logs.
        .config(
            "spark.redaction.regex",
            r"(?i)secret|password|token|access[.]?key|account[.]key",
        )
        # Metastore tables (type: delta) of a session without a metastore last as long as the
        # session: so do their files, not left in the working directory.
        .config("spark.sql.warehouse.dir", _warehouse())
    )
    from odibi_core.engines.spark_jdbc import DRIVER_PACKAGES

    session = configure_spark_with_delta_pip(
        builder, extra_packages=list(DRIVER_PACKAGES)
    ).getOrCreate()
    # Failed tasks log pages of Java stack; Odibi reports each failure once, in one line.
    session.sparkContext.setLogLevel("FATAL")
    return session


def _warehouse() -> str:
    import atexit
    import shutil
    import tempfile

    folder = tempfile.mkdtemp(prefix="odibi-spark-warehouse-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


def _location(spark: Any, connection: Connection, path: str) -> str:
    """Where Spark finds ``path``: a local path, or a remote connection's Hadoop URI, its
    settings set on the session first (``spark_uri``/``spark_options``, as ``azure_adls``
    gives them)."""
    if connection.is_local:
        return connection.uri(path)
    spark_uri = getattr(connection, "spark_uri", None)
    if spark_uri is None:
        raise NodeError(
            f"connection '{connection.name}' ({connection.type_name}) has no location the "
            "spark engine can reach"
        )
    for key, value in connection.spark_options().items():  # type: ignore[attr-defined]
        spark.conf.set(key, value)
    return str(spark_uri(path))


def _exists(uri: str) -> bool:
    import glob

    return bool(glob.glob(uri)) if glob.has_magic(uri) else os.path.exists(uri)


def _read_back(fmt: str, spec: WriteConfig) -> dict[str, Any]:
    """Reader options for a file this engine wrote with ``spec``'s options."""
    if fmt != "csv":
        return {}
    options = {"header": spec.options.get("header", True)}
    for key in ("sep", "delimiter", "quote", "escape", "encoding"):
        if key in spec.options:
            options[key] = spec.options[key]
    return options


def _writer_options(spec: WriteConfig) -> dict[str, Any]:
    return {k: v for k, v in spec.options.items() if k != "keys"}


class _HadoopFiles:
    """A write target through Hadoop's ``FileSystem`` (local paths, ``abfss://``...), with
    the session's settings (an account's credentials among them)."""

    def __init__(self, spark: Any, uri: str):
        jvm = spark._jvm
        self._path = jvm.org.apache.hadoop.fs.Path
        conf = spark._jsparkSession.sessionState().newHadoopConf()
        self.target = self._path(uri)
        self.fs = self.target.getFileSystem(conf)
        self.target = self.fs.makeQualified(self.target)

    def text(self, path: Any) -> str:
        return str(path.toString())

    def exists(self, path: Any) -> bool:
        return bool(self.fs.exists(path))

    def beside(self, kind: str) -> Any:
        name = f".{self.target.getName()}.{uuid.uuid4().hex[:8]}.{kind}"
        return self._path(self.target.getParent(), name)

    def delete(self, path: Any) -> None:
        if self.fs.exists(path):
            self.fs.delete(path, True)

    def swap_in(self, tmp: Any) -> None:
        """``tmp`` in the target's place with two renames (the old output gone after)."""
        old = None
        if self.fs.exists(self.target):
            old = self.beside("old")
            if not self.fs.rename(self.target, old):
                raise NodeError(f"cannot move {self.text(self.target)} aside", step="write")
        if not self.fs.rename(tmp, self.target):
            if old is not None:
                self.fs.rename(old, self.target)
            raise NodeError(f"cannot move the new output to {self.text(self.target)}", step="write")
        if old is not None:
            self.fs.delete(old, True)

    def read_by(self, frame: Any) -> bool:
        """Whether computing ``frame`` reads files under the target."""
        prefix = self.text(self.target).rstrip("/")
        try:
            found = frame.inputFiles()
        except Exception:  # not a plan over files
            return False
        return any(f == prefix or f.startswith(prefix + "/") for f in map(self._qualified, found))

    def _qualified(self, file: str) -> str:
        """``file`` spelt as the target is (Spark lists file:///x, Hadoop qualifies it as
        file:/x); a file on another file system (another account, local vs ABFS) is none
        of the target's."""
        path = self._path(file)
        mine, theirs = self.target.toUri(), path.toUri()
        if theirs.getScheme() is not None and (
            theirs.getScheme() != mine.getScheme() or theirs.getAuthority() != mine.getAuthority()
        ):
            return ""
        return self.text(self.fs.makeQualified(path))


def _q(identifier: str) -> str:
    return "`" + identifier.replace("`", "``") + "`"


def _text(value: str) -> str:
    """A Spark SQL string literal (Spark reads backslash escapes in them)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _message(exc: BaseException) -> str:
    """The first line of what went wrong, from Java's exception where there is one (py4j's
    own message only says which Java method was called)."""
    java = getattr(exc, "java_exception", None)
    text = str(java.getMessage() if java is not None else exc) or type(exc).__name__
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


def _missing_table(exc: BaseException) -> str | None:
    """The view a query named that does not exist (Spark's TABLE_OR_VIEW_NOT_FOUND)."""
    try:
        condition = getattr(exc, "getCondition", None) or exc.getErrorClass  # type: ignore[attr-defined]
        if condition() != "TABLE_OR_VIEW_NOT_FOUND":  # getErrorClass before Spark 4
            return None
        name = str(exc.getMessageParameters().get("relationName", ""))  # type: ignore[attr-defined]
    except Exception:  # an exception without Spark's error class
        return None
    return name.split(".")[-1].strip("`") or None


@contextlib.contextmanager
def _spark_errors(what: str, step: str) -> Iterator[None]:
    """Spark's and the JVM's exceptions as one-line node errors; only the transient ones (a
    Delta commit conflict, a socket timeout) are worth retrying, not data or plan problems."""
    from py4j.protocol import Py4JJavaError
    from pyspark.errors import PySparkException

    try:
        yield
    except NodeError:
        raise
    except (PySparkException, Py4JJavaError) as exc:
        raise NodeError(f"{what}: {_message(exc)}", step=step, retryable=transient(exc)) from exc


def _json(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return str(value)


def _option_problems(block: str, spec: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Spark takes any option name (each source has its own, and unknown ones are ignored),
    as a string: only values that cannot become one are known to be wrong."""
    fmt = str(spec.get("format", "")).lower()
    options = spec.get("options")
    problems: list[tuple[str, str]] = []
    for name, value in options.items() if isinstance(options, Mapping) else ():
        key = str(name)
        if block == "write" and key == "keys":
            continue  # the upsert keys, used by odibi itself (checked with the write)
        if block == "read" and fmt == "delta" and key in ("version", "as_of_version"):
            if not _is_version(value):
                problems.append((key, f"'{key}' must be a table version (0, 1, ...)"))
            continue
        if value is None or not isinstance(value, str | int | float | bool):
            kind = "nothing" if value is None else f"a {type(value).__name__}"
            problems.append(
                (
                    key,
                    f"'{key}' must be text, a number or a boolean "
                    f"(Spark takes options as strings), not {kind}",
                )
            )
    return problems


def _is_version(value: Any) -> bool:
    if isinstance(value, str):
        return value.isascii() and value.isdigit()
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


@hookimpl
def odibi_register_engines() -> list[type[Engine]]:
    return [SparkEngine]
