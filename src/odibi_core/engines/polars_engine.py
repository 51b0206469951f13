"""``engine: polars``: nodes as polars DataFrames, SQL on DuckDB over them, reading and
writing through the IO layer (``pip install 'odibi[polars]'``).

SQL runs on DuckDB rather than polars' own SQL so that a project's SQL, and the SQL the
built-in transforms generate (window functions, ``IS NOT DISTINCT FROM``, ``QUALIFY``...),
means the same on every engine; DuckDB scans polars frames through Arrow without copying.
Custom transforms registered for ``polars`` receive and return polars DataFrames.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from odibi_core import hookimpl
from odibi_core.engines.base import Engine
from odibi_core.engines.duckdb_sql import DuckDB
from odibi_core.errors import NodeError

if TYPE_CHECKING:
    from odibi_core.config.models import ProjectConfig
    from odibi_core.io.format import Format

INSTALL_HINT = "the polars engine needs polars: pip install 'odibi[polars]'"


class PolarsEngine(Engine):
    name = "polars"

    def __init__(self, project: ProjectConfig, formats: Mapping[str, Format] | None = None):
        super().__init__(project, formats)
        self._duckdb = DuckDB()

    def to_arrow(self, frame: Any) -> Any:
        import polars as pl

        # polars' own layout (string views): no copy; the IO layer's writers take it.
        return frame.to_arrow(compat_level=pl.CompatLevel.newest())

    def from_arrow(self, table: Any) -> Any:
        pl = _polars()
        frame = pl.from_arrow(table, rechunk=False)
        return frame if isinstance(frame, pl.DataFrame) else frame.to_frame()

    def sql(self, query: str, tables: Mapping[str, Any], node: str | None = None) -> Any:
        # Handed to DuckDB as Arrow views of the frames: its own polars scan converts strings.
        arrow = {name: None if f is None else self.to_arrow(f) for name, f in tables.items()}
        return self.from_arrow(self._duckdb.run(query, arrow, node))

    def close(self) -> None:
        self._duckdb.close()

    def count(self, frame: Any) -> int:
        return int(frame.height)

    def schema(self, frame: Any) -> list[tuple[str, str]]:
        return [(name, str(kind)) for name, kind in frame.schema.items()]

    def sample(self, frame: Any, n: int) -> list[dict[str, Any]]:
        if n <= 0 or frame.height == 0:
            return []
        rows: list[dict[str, Any]] = json.loads(json.dumps(frame.head(n).to_dicts(), default=_json))
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
