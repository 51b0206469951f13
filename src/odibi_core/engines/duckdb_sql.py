"""SQL on DuckDB for the engines that keep their frames in this process (pandas, polars).

One in-memory database per run; each query runs on a cursor of its own, whose registered
frames are private to it, so concurrent nodes cannot see each other's tables. Results come
back as Arrow, which each engine turns into its own frames.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from typing import Any

from odibi_core.errors import NodeError, SQLError


class DuckDB:
    """The run's DuckDB database, opened on first use."""

    def __init__(self) -> None:
        self._database: Any = None
        self._lock = threading.Lock()

    def run(self, query: str, tables: Mapping[str, Any], node: str | None = None) -> Any:
        """``query``'s result as a ``pyarrow.Table``, each of ``tables`` (frames DuckDB can
        scan: pandas, polars, Arrow) visible by its name."""
        import duckdb

        cursor = self._connect().cursor()
        try:
            for name, frame in tables.items():
                if frame is not None:
                    cursor.register(name, frame)
            relation = cursor.sql(query)
            if relation is None:  # DuckDB runs nothing for ';' or comments alone
                raise NodeError("SQL has no statement to run", node=node, step="sql")
            return relation.to_arrow_table()
        except duckdb.Error as exc:
            message, missing = _duckdb_message(exc, tables)
            raise SQLError(message, query, missing_table=missing, node=node) from None
        finally:
            cursor.close()

    def _connect(self) -> Any:
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
