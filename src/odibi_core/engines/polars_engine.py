"""``engine: polars``: user code sees polars DataFrames; underneath, frames stay in Arrow or in
the run's DuckDB database (:mod:`odibi_core.engines.duckdb_engine`) until user code asks
(``pip install 'odibi[polars]'``).

SQL runs on DuckDB rather than polars' own SQL so that a project's SQL, and the SQL the
built-in transforms generate (window functions, ``IS NOT DISTINCT FROM``, ``QUALIFY``...),
means the same on every engine; DuckDB scans polars frames through Arrow without copying.
Custom transforms registered for ``polars`` receive and return polars DataFrames.
"""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from odibi_core import hookimpl
from odibi_core.engines.base import Engine
from odibi_core.engines.duckdb_engine import DuckDBEngine
from odibi_core.errors import NodeError

INSTALL_HINT = "the polars engine needs polars: pip install 'odibi[polars]'"


class PolarsEngine(DuckDBEngine):
    name = "polars"

    def is_native(self, obj: Any) -> bool:
        return isinstance(obj, _polars().DataFrame)

    def arrow_to_native(self, table: Any, from_sql: bool) -> Any:
        pl = _polars()
        frame = pl.from_arrow(table, rechunk=False)
        return frame if isinstance(frame, pl.DataFrame) else frame.to_frame()

    def native_to_arrow(self, obj: Any) -> Any:
        import polars as pl

        # polars' own layout (string views): no copy; the IO layer's writers take it.
        return obj.to_arrow(compat_level=pl.CompatLevel.newest())

    def scannable(self, obj: Any) -> Any:
        # An Arrow view of the frame: DuckDB's own polars scan converts strings.
        return self.native_to_arrow(obj)

    def native_count(self, obj: Any) -> int:
        return int(obj.height)

    def native_schema(self, obj: Any) -> list[tuple[str, str]]:
        return [(name, str(kind)) for name, kind in obj.schema.items()]

    def native_sample(self, obj: Any, n: int) -> list[dict[str, Any]]:
        if n <= 0 or obj.height == 0:
            return []
        rows: list[dict[str, Any]] = json.loads(json.dumps(obj.head(n).to_dicts(), default=_json))
        return rows


def _polars() -> Any:
    try:
        import polars as pl
    except ImportError:
        raise NodeError(INSTALL_HINT) from None
    return pl


def _json(value: Any) -> Any:
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


@hookimpl
def odibi_register_engines() -> list[type[Engine]]:
    return [PolarsEngine]
