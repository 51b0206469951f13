"""The pandas engine: files and Delta via pandas/pyarrow/deltalake, SQL on DuckDB.

Heavy libraries are imported inside methods so registering the engine costs nothing.
"""

from __future__ import annotations

import glob
import json
import os
import re
import shutil
import threading
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from odibi_core import hookimpl
from odibi_core.engines.base import Engine, first_given, looks_like_time
from odibi_core.engines.files import replace_path
from odibi_core.engines.pandas_arrow import to_pandas
from odibi_core.engines.unique_keys import require_unique_keys
from odibi_core.errors import NodeError, SQLError, first_line, transient

if TYPE_CHECKING:
    import pandas as pd

    from odibi_core.config.models import ProjectConfig, ReadConfig, WriteConfig
    from odibi_core.connections.base import Connection

FILE_FORMATS = ("csv", "parquet", "json")
#: ``{operation: name}`` steps → the DataFrame method they call with their params.
_OPERATION_METHODS = {
    "drop_duplicates": "drop_duplicates",
    "fillna": "fillna",
    "drop": "drop",
    "rename": "rename",
    "sort": "sort_values",
    "sample": "sample",
}


class PandasEngine(Engine):
    name = "pandas"
    # sql/azure_sql/sql_server reads are served by the connection (``read_sql``).
    read_formats = frozenset({*FILE_FORMATS, "delta", "sql", "azure_sql", "sql_server"})
    write_formats = frozenset({*FILE_FORMATS, "delta"})
    operations = frozenset(_OPERATION_METHODS)

    def __init__(self, project: ProjectConfig):
        super().__init__(project)
        self._database: Any = None
        self._lock = threading.Lock()

    @classmethod
    def option_problems(cls, block: str, spec: Mapping[str, Any]) -> list[tuple[str, str]]:
        from odibi_core.engines.pandas_options import option_problems

        return option_problems(block, spec)

    # ------------------------------------------------------------ read

    def read(self, spec: ReadConfig, connection: Connection) -> pd.DataFrame:
        fmt = spec.format.lower()
        if fmt in ("sql", "azure_sql", "sql_server"):
            query = spec.query or spec.options.get("query") or f"SELECT * FROM {spec.table}"
            return connection.read_sql(query)
        uri = connection.uri(spec.path or spec.table or "")
        where = f"{fmt} '{spec.path or spec.table}' on connection '{connection.name}'"
        try:
            if fmt == "delta":
                frame = self._read_delta(uri, spec, connection)
            elif fmt in FILE_FORMATS:
                frame = self._read_files(
                    fmt, uri, spec.options, connection.is_local, connection.fsspec_options()
                )
            else:
                raise NodeError(f"the pandas engine cannot read format '{fmt}'")
        except NodeError:
            raise
        except FileNotFoundError:
            raise NodeError(f"cannot read {where}: not found ({uri})", step="read") from None
        except Exception as exc:
            raise NodeError(
                f"cannot read {where}: {_first_line(exc)}", step="read", retryable=transient(exc)
            ) from exc
        if spec.filter:
            frame = self.sql(f"SELECT * FROM df WHERE {spec.filter}", {"df": frame})
        return frame

    def _read_files(
        self,
        fmt: str,
        uri: str,
        options: Mapping[str, Any],
        is_local: bool = True,
        storage_options: dict[str, Any] | None = None,
    ) -> pd.DataFrame:
        import pandas as pd

        from odibi_core.engines.pandas_options import SPARK_READER_OPTIONS

        opts = {k: v for k, v in options.items() if k not in SPARK_READER_OPTIONS}
        folder = False
        if is_local:
            paths = sorted(glob.glob(uri)) if glob.has_magic(uri) else [uri]
            if not paths or not all(os.path.exists(p) for p in paths):
                raise FileNotFoundError(uri)
            if len(paths) == 1 and os.path.isdir(paths[0]) and fmt != "parquet":
                folder = True
                paths = sorted(str(p) for p in Path(paths[0]).glob(f"*.{fmt}"))
        else:
            paths = _remote_paths(fmt, uri, storage_options or {})
            opts.setdefault("storage_options", storage_options or None)
        if fmt == "csv":
            if opts.get("header") is True:
                opts["header"] = 0
            frames = [pd.read_csv(p, **opts) for p in paths]
        elif fmt == "parquet":
            frames = [pd.read_parquet(p, **opts) for p in paths]
        else:
            frames = []
            lines = opts.pop("lines", None)
            for p in paths:
                # A folder of part files (as Spark writes them) holds JSON lines.
                per_file = folder or p.endswith((".jsonl", ".ndjson")) if lines is None else lines
                frames.append(pd.read_json(p, lines=per_file, **opts))
        return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)

    def _read_delta(self, uri: str, spec: ReadConfig, connection: Connection) -> pd.DataFrame:
        from deltalake import DeltaTable
        from deltalake.exceptions import TableNotFoundError

        version = first_given(spec.options, "version", "as_of_version", "versionAsOf")
        as_of = first_given(spec.options, "timestampAsOf")
        try:
            table = DeltaTable(
                uri, version=version, storage_options=connection.storage_options() or None
            )
        except TableNotFoundError:
            raise FileNotFoundError(uri) from None
        if as_of is not None:
            table.load_as_version(as_of if hasattr(as_of, "isoformat") else str(as_of))
        return table.to_pyarrow_table().to_pandas()

    # ------------------------------------------------------------ write

    def write(self, frame: pd.DataFrame, spec: WriteConfig, connection: Connection) -> None:
        fmt = spec.format.lower()
        uri = connection.uri(spec.target)
        where = f"{fmt} '{spec.target}' on connection '{connection.name}'"
        require_unique_keys(self, frame, spec)  # before anything is read or written
        try:
            if fmt == "delta":
                self._write_delta(frame, uri, spec, connection)
            elif fmt in FILE_FORMATS and connection.is_local:
                self._write_file(frame, fmt, uri, spec)
            elif fmt in FILE_FORMATS:
                self._write_remote_file(frame, fmt, uri, spec, connection.fsspec_options())
            else:
                raise NodeError(f"the pandas engine cannot write format '{fmt}'")
        except NodeError as exc:
            exc.step = exc.step or "write"
            raise
        except Exception as exc:
            raise NodeError(
                f"cannot write {where}: {_first_line(exc)}", step="write", retryable=transient(exc)
            ) from exc

    def _write_file(self, frame: pd.DataFrame, fmt: str, uri: str, spec: WriteConfig) -> None:
        target = Path(uri)
        if spec.mode != "overwrite" and target.exists():
            existing = self._read_files(fmt, uri, _read_options(fmt, spec))
            frame = _combine(existing, frame, spec)
        target.parent.mkdir(parents=True, exist_ok=True)
        # Write beside the target and rename, so a failure never leaves half a file behind.
        tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")
        opts = dict(spec.options)
        opts.pop("keys", None)
        try:
            if spec.partition_by:
                if fmt != "parquet":
                    raise NodeError("partition_by needs format parquet or delta")
                frame.to_parquet(tmp, partition_cols=spec.partition_by, index=False, **opts)
            else:
                _write_one(frame, fmt, tmp, uri, opts)
            replace_path(tmp, target)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp) if tmp.is_dir() else tmp.unlink()

    def _write_remote_file(
        self,
        frame: pd.DataFrame,
        fmt: str,
        uri: str,
        spec: WriteConfig,
        storage_options: dict[str, Any],
    ) -> None:
        """The output is made in full before anything is uploaded, and a file goes up in one
        request, which the store publishes only once it is complete: a failed write leaves
        the previous version. A partitioned dataset's new files are uploaded beside the old
        ones, which they replace once the upload succeeded (for a moment readers may see both)."""
        import tempfile

        import fsspec

        fs, path = fsspec.core.url_to_fs(uri, **storage_options)
        if spec.mode != "overwrite" and fs.exists(path):
            existing = self._read_files(fmt, uri, _read_options(fmt, spec), False, storage_options)
            frame = _combine(existing, frame, spec)
        opts = dict(spec.options)
        opts.pop("keys", None)
        if not spec.partition_by:
            import io

            buffer = io.BytesIO()
            _write_one(frame, fmt, buffer, uri, opts)
            fs.pipe_file(path, buffer.getvalue())
            return
        if fmt != "parquet":
            raise NodeError("partition_by needs format parquet or delta")
        old = set(fs.find(path)) if fs.exists(path) else set()
        with tempfile.TemporaryDirectory(prefix="odibi-") as local:
            # pyarrow names each file it writes afresh, so the new files never overwrite
            # the old ones, which are deleted only once every new file is up.
            frame.to_parquet(local, partition_cols=spec.partition_by, index=False, **opts)
            try:
                fs.put(local + "/", path, recursive=True)
            except BaseException:
                new = set(fs.find(path)) - old
                if new:
                    fs.rm(sorted(new))
                raise
        if old:
            fs.rm(sorted(old))

    def _write_delta(
        self, frame: pd.DataFrame, uri: str, spec: WriteConfig, connection: Connection
    ) -> None:
        from deltalake import DeltaTable, write_deltalake

        options = connection.storage_options() or None
        data = _to_arrow(frame)
        exists = DeltaTable.is_deltatable(uri, storage_options=options)
        if spec.mode in ("upsert", "append_once") and exists:
            table = DeltaTable(uri, storage_options=options)
            keys = spec.keys
            # Null keys match each other, as in file upserts: a null-keyed row is updated,
            # not inserted again by every run. Each term in parentheses: delta-rs would read
            # "a IS NOT DISTINCT FROM b AND c" as "a IS NOT DISTINCT FROM (b AND c)".
            predicate = " AND ".join(f"(t.{_dq(k)} IS NOT DISTINCT FROM s.{_dq(k)})" for k in keys)
            merge = table.merge(data, predicate=predicate, source_alias="s", target_alias="t")
            if spec.mode == "upsert":
                merge = merge.when_matched_update_all()
            merge.when_not_matched_insert_all().execute()
            return
        mode: Literal["overwrite", "append"] = "overwrite" if spec.mode == "overwrite" else "append"
        # One call for both modes; deltalake's overloads split them.
        write_deltalake(  # type: ignore[call-overload]
            uri,
            data,
            mode=mode,
            partition_by=spec.partition_by or None,
            schema_mode="overwrite" if mode == "overwrite" and exists else None,
            storage_options=options,
        )

    # ------------------------------------------------------------ transform

    def sql(self, query: str, tables: Mapping[str, Any], node: str | None = None) -> pd.DataFrame:
        import duckdb

        # A cursor is a cheap connection to the run's one in-memory database; its registered
        # frames are private to it, so concurrent nodes cannot see each other's tables.
        cursor = self._duckdb().cursor()
        try:
            for name, frame in tables.items():
                if frame is not None:
                    cursor.register(name, frame)
            relation = cursor.sql(query)
            if relation is None:  # DuckDB runs nothing for ';' or comments alone
                raise NodeError("SQL has no statement to run", node=node, step="sql")
            # Through Arrow: several times faster than .df() on text, with the same types.
            return to_pandas(relation.to_arrow_table())
        except duckdb.Error as exc:
            message, missing = _duckdb_message(exc, tables)
            raise SQLError(message, query, missing_table=missing, node=node) from None
        finally:
            cursor.close()

    def _duckdb(self) -> Any:
        with self._lock:
            if self._database is None:
                import duckdb

                self._database = duckdb.connect()
            return self._database

    def close(self) -> None:
        with self._lock:
            if self._database is not None:
                self._database.close()
                self._database = None

    def operation(self, name: str, params: Mapping[str, Any], frame: pd.DataFrame) -> Any:
        if name not in _OPERATION_METHODS:
            raise NodeError(
                f"unknown operation '{name}'; known: {', '.join(sorted(self.operations))}",
                step="operation",
            )
        try:
            result = getattr(frame, _OPERATION_METHODS[name])(**params)
        except (TypeError, KeyError, ValueError) as exc:
            raise NodeError(
                f"operation '{name}' failed: {_first_line(exc)}", step="operation"
            ) from None
        return result.reset_index(drop=True) if name in ("drop_duplicates", "sort") else result

    # ------------------------------------------------------------ inspect

    def count(self, frame: pd.DataFrame) -> int:
        return len(frame)

    def schema(self, frame: pd.DataFrame) -> list[tuple[str, str]]:
        return [(str(c), str(t)) for c, t in frame.dtypes.items()]

    def sample(self, frame: pd.DataFrame, n: int) -> list[dict[str, Any]]:
        if n <= 0 or frame.empty:
            return []
        rows: list[dict[str, Any]] = json.loads(
            frame.head(n).to_json(orient="records", date_format="iso", default_handler=str)
        )
        return rows

    def max_value(self, frame: pd.DataFrame, column: str) -> Any:
        if column not in frame.columns:
            raise NodeError(f"incremental column '{column}' is not in the data")
        value = frame[column].max()
        if value is None or value != value:  # NaN
            return None
        if hasattr(value, "isoformat"):
            return value.isoformat()
        return value.item() if hasattr(value, "item") else value

    def filter_newer(
        self, frame: pd.DataFrame, column: str, value: Any, inclusive: bool
    ) -> pd.DataFrame:
        import pandas as pd

        if column not in frame.columns:
            raise NodeError(f"incremental column '{column}' is not in the data")
        series = frame[column]
        if pd.api.types.is_datetime64_any_dtype(series) or looks_like_time(value):
            if not pd.api.types.is_datetime64_any_dtype(series):
                series = pd.to_datetime(series, utc=True, errors="coerce")
            bound = pd.Timestamp(value)
            tz = getattr(series.dt, "tz", None)
            if tz is not None and bound.tzinfo is None:
                bound = bound.tz_localize("UTC").tz_convert(tz)
            elif tz is None and bound.tzinfo is not None:
                bound = bound.tz_convert("UTC").tz_localize(None)
        else:
            bound = value
        mask = series >= bound if inclusive else series > bound
        return frame[mask.fillna(False)].reset_index(drop=True)


def _write_one(frame: pd.DataFrame, fmt: str, dest: Any, uri: str, opts: dict[str, Any]) -> None:
    """One output file, to a path or a buffer; ``uri`` (the target) decides JSON lines."""
    if fmt == "csv":
        frame.to_csv(dest, index=False, **opts)
    elif fmt == "parquet":
        frame.to_parquet(dest, index=False, **opts)
    else:
        lines = opts.pop("lines", uri.endswith((".jsonl", ".ndjson")))
        frame.to_json(dest, orient="records", lines=lines, date_format="iso", **opts)


def _remote_paths(fmt: str, uri: str, storage_options: dict[str, Any]) -> list[str]:
    """The files a remote path names, like the local rules: a glob's matches, or a folder's
    ``*.<fmt>`` files (a parquet folder is one dataset)."""
    import fsspec

    fs, path = fsspec.core.url_to_fs(uri, **storage_options)
    if glob.has_magic(path):
        found = sorted(fs.glob(path))
        if not found:
            raise FileNotFoundError(uri)
        return [fs.unstrip_protocol(p) for p in found]
    if fmt != "parquet" and fs.isdir(path):
        found = sorted(p for p in fs.ls(path, detail=False) if p.endswith(f".{fmt}"))
        if not found:
            raise FileNotFoundError(uri)
        return [fs.unstrip_protocol(p) for p in found]
    return [uri]


def _read_options(fmt: str, spec: WriteConfig) -> dict[str, Any]:
    """Reader options for a file written with ``spec``'s options."""
    if fmt == "json" and spec.target.endswith((".jsonl", ".ndjson")):
        return {"lines": True}
    if fmt == "csv":
        return {k: spec.options[k] for k in ("sep", "delimiter", "encoding") if k in spec.options}
    return {}


def _combine(existing: pd.DataFrame, new: pd.DataFrame, spec: WriteConfig) -> pd.DataFrame:
    import pandas as pd

    if spec.mode in ("upsert", "append_once"):
        keys = spec.keys
        missing = [k for k in keys if k not in new.columns or k not in existing.columns]
        if missing:
            raise NodeError(f"upsert key column(s) {missing} not in the data", step="write")
        if spec.mode == "upsert":
            new_keys = pd.MultiIndex.from_frame(new[keys])
            keep = ~pd.MultiIndex.from_frame(existing[keys]).isin(new_keys)
            return pd.concat([existing[keep], new], ignore_index=True)
        old_keys = pd.MultiIndex.from_frame(existing[keys])
        fresh = ~pd.MultiIndex.from_frame(new[keys]).isin(old_keys)
        return pd.concat([existing, new[fresh]], ignore_index=True)
    return pd.concat([existing, new], ignore_index=True)


def _to_arrow(frame: pd.DataFrame) -> Any:
    import pyarrow as pa

    return pa.Table.from_pandas(frame, preserve_index=False)


def _dq(identifier: str) -> str:
    return "`" + identifier.replace("`", "``") + "`"


def _first_line(exc: BaseException) -> str:
    return first_line(exc) or type(exc).__name__


_MISSING_TABLE = re.compile(r"Table with name (.+?) does not exist!")
_SUGGESTION = re.compile(r'Did you mean "(.+?)"\?')


def _duckdb_message(exc: BaseException, tables: Mapping[str, Any]) -> tuple[str, str | None]:
    """DuckDB's message on one line, hints included ("Candidate bindings: ..."), without the
    query it echoes under ``LINE 1:`` (shown beside it anyway) or suggestions of DuckDB's own
    system tables (``pg_attrdef`` for any unknown name); and the missing table, if that was it.
    """
    kept: list[str] = []
    for line in str(exc).strip().splitlines():
        line = line.strip()
        if line.startswith("LINE "):
            break
        suggested = _SUGGESTION.fullmatch(line)
        if suggested and suggested.group(1).lower() not in {t.lower() for t in tables}:
            continue
        if line:
            kept.append(line)
    missing = _MISSING_TABLE.search(str(exc))
    return " ".join(kept) or type(exc).__name__, missing.group(1) if missing else None


@hookimpl
def odibi_register_engines() -> list[type[Engine]]:
    return [PandasEngine]
