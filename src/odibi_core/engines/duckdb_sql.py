"""The run's DuckDB database, for the engines that keep their frames in this process (pandas,
polars).

SQL results stay in the database as tables (schema ``odibi_frames``) rather than coming back
to Python: the next query scans them where they are, counts and samples are small queries, and
writers stream them out in record batches. DuckDB's buffer manager holds them, compressed, and
moves them to a private temporary folder when memory runs short, so a node's output may be
larger than memory. A table is dropped once no frame refers to it.

Each query runs on a cursor of its own, where its inputs are visible by their names (temporary
views of tables, registered Arrow tables or data frames): private to that cursor, so
concurrent nodes cannot see each other's names.
"""

from __future__ import annotations

import contextlib
import itertools
import re
import shutil
import tempfile
import threading
import weakref
from collections.abc import Iterator, Mapping
from typing import Any

from odibi_core.errors import NodeError, SQLError

SCHEMA = "odibi_frames"
#: What DuckDB may hold before it spills to disk.
MEMORY_LIMIT = "60%"
#: Rows per record batch when a table is streamed out: pyarrow's default row group, so a
#: streamed parquet file has the row groups a whole-table write gives it.
BATCH_ROWS = 1 << 20


class DuckDB:
    """The run's DuckDB database, opened on first use."""

    def __init__(self) -> None:
        self._database: Any = None
        self._spill: str | None = None
        self._lock = threading.Lock()
        self._names = itertools.count(1)
        #: Tables whose frames are gone, dropped before the next query (a finalizer may run
        #: in any thread, at any moment: it only appends here).
        self._unused: list[str] = []

    # ------------------------------------------------------------ queries

    def run(
        self,
        query: str,
        tables: Mapping[str, Any],
        node: str | None = None,
        null_checks: bool = False,
    ) -> ResultTable:
        """Run ``query`` with each of ``tables`` visible by its name (a :class:`ResultTable`,
        or what DuckDB scans: Arrow, pandas, polars) and keep its result as a table, with its
        row count and (``null_checks``) which integer and boolean columns hold nulls."""
        import duckdb

        with self._cursor() as cursor:
            try:
                _show(cursor, tables)
                relation = cursor.sql(query)
                if relation is None:  # DuckDB runs nothing for ';' or comments alone
                    raise NodeError("SQL has no statement to run", node=node, step="sql")
                if len(set(relation.columns)) < len(relation.columns):
                    # A table cannot repeat a column name; such a result goes to Arrow.
                    return ResultTable(self, None, relation.to_arrow_table())
                candidates = [
                    c
                    for c, t in zip(relation.columns, relation.types, strict=True)
                    if null_checks and t.id in _INTEGER_OR_BOOLEAN
                ]
                name = f"t{next(self._names)}"
                relation.to_table(f"{SCHEMA}.{name}")
            except duckdb.Error as exc:
                message, missing = _duckdb_message(exc, tables)
                raise SQLError(message, query, missing_table=missing, node=node) from None
            # Described at once, on the same cursor: the runner asks for both straight away.
            checks = "".join(f", bool_or({_quote(c)} IS NULL)" for c in candidates)
            row = cursor.execute(f"SELECT count(*){checks} FROM {SCHEMA}.{name}").fetchone()
        assert row is not None
        nulls = frozenset(c for c, null in zip(candidates, row[1:], strict=True) if null)
        return ResultTable(self, name, rows=int(row[0]), nulls=nulls if null_checks else None)

    def arrow(self, table: str, limit: int | None = None) -> Any:
        """A table's rows (the first ``limit``) as a ``pyarrow.Table``."""
        suffix = "" if limit is None else f" LIMIT {int(limit)}"
        with self._cursor() as cursor:
            return cursor.sql(f"SELECT * FROM {SCHEMA}.{table}{suffix}").to_arrow_table()

    @contextlib.contextmanager
    def batches(self, table: str) -> Iterator[Any]:
        """A table's rows as a ``pyarrow.RecordBatchReader``, for the length of the block."""
        with self._cursor() as cursor:
            yield cursor.sql(f"SELECT * FROM {SCHEMA}.{table}").to_arrow_reader(BATCH_ROWS)

    def forget(self, table: str) -> None:
        """Mark a table unused (called when its frame is collected)."""
        self._unused.append(table)

    # ------------------------------------------------------------ the database

    @contextlib.contextmanager
    def _cursor(self) -> Iterator[Any]:
        cursor = self._connect().cursor()
        try:
            yield cursor
        finally:
            cursor.close()

    def _connect(self) -> Any:
        with self._lock:
            if self._database is None:
                import duckdb

                # A folder of our own to spill to: DuckDB's default is ./.tmp where the user
                # runs, left behind after a crash.
                self._spill = tempfile.mkdtemp(prefix="odibi-duckdb-")
                # Below DuckDB's default (80 %): Arrow tables and user frames live beside
                # its buffers in this process.
                config: dict[str, str | bool | int | float | list[str]] = {
                    "temp_directory": self._spill,
                    "memory_limit": MEMORY_LIMIT,
                }
                database = duckdb.connect(config=config)
                database.execute(f"CREATE SCHEMA {SCHEMA}")
                self._database = database
            while self._unused:
                self._database.execute(f"DROP TABLE IF EXISTS {SCHEMA}.{self._unused.pop()}")
            return self._database

    def close(self) -> None:
        with self._lock:
            if self._database is not None:
                self._database.close()
                self._database = None
            if self._spill is not None:
                shutil.rmtree(self._spill, ignore_errors=True)
                self._spill = None
            self._unused.clear()


class ResultTable:
    """A query's result: a table of the run's database, or (when it cannot be one) Arrow."""

    __slots__ = ("__weakref__", "arrow", "db", "name", "nulls", "rows")

    def __init__(
        self,
        db: DuckDB,
        name: str | None,
        arrow: Any = None,
        rows: int | None = None,
        nulls: frozenset[str] | None = None,
    ):
        self.db, self.name, self.arrow = db, name, arrow
        self.rows, self.nulls = rows, nulls
        if name is not None:
            weakref.finalize(self, db.forget, name)


_INTEGER_OR_BOOLEAN = frozenset(
    {"tinyint", "smallint", "integer", "bigint", "utinyint", "usmallint", "uinteger", "ubigint"}
    | {"boolean"}
)


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _show(cursor: Any, tables: Mapping[str, Any]) -> None:
    """Make each input visible to the cursor's query by its name."""
    for name, frame in tables.items():
        if frame is None:
            continue
        if isinstance(frame, ResultTable) and frame.name is not None:
            view = f"CREATE TEMP VIEW {_quote(name)} AS SELECT * FROM {SCHEMA}.{frame.name}"
            cursor.execute(view)
        elif isinstance(frame, ResultTable):
            cursor.register(name, frame.arrow)
        else:
            cursor.register(name, frame)


_MISSING_TABLE = re.compile(r"Table with name (.+?) does not exist!")
_SUGGESTION = re.compile(r'Did you mean "(.+?)"\?')


def _duckdb_message(exc: BaseException, tables: Mapping[str, Any]) -> tuple[str, str | None]:
    """DuckDB's message on one line, hints included ("Candidate bindings: ..."), without the
    query it echoes under ``LINE 1:`` (shown beside it anyway) or suggestions of DuckDB's own
    system tables (``pg_attrdef`` for any unknown name) or of the run's tables; and the
    missing table, if that was it.
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
