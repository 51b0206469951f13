"""``engine: pandas``: user code sees pandas DataFrames; underneath, frames stay in Arrow or in
the run's DuckDB database (:mod:`odibi_core.engines.duckdb_engine`) until user code asks.

A pandas frame made from a read has Arrow's own conversion (``Decimal``, dates, a pandas
frame's dtypes restored from a file's metadata, as ``pandas.read_parquet`` gives); one made
from SQL has the types DuckDB's ``.df()`` gives (:mod:`odibi_core.engines.pandas_arrow`).
Heavy libraries are imported inside methods so registering the engine costs nothing.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from odibi_core import hookimpl
from odibi_core.engines.base import Engine
from odibi_core.engines.duckdb_engine import DuckDBEngine

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa


class PandasEngine(DuckDBEngine):
    name = "pandas"
    types_depend_on_nulls = True

    def is_native(self, obj: Any) -> bool:
        import pandas as pd

        return isinstance(obj, pd.DataFrame)

    def arrow_to_native(self, table: pa.Table, from_sql: bool) -> pd.DataFrame:
        from odibi_core.engines.pandas_arrow import read_as_pandas, to_pandas

        return to_pandas(table) if from_sql else read_as_pandas(table)

    def native_to_arrow(self, obj: pd.DataFrame) -> pa.Table:
        from odibi_core.engines.pandas_arrow import from_pandas

        return from_pandas(obj)

    def written_schema(self, schema: pa.Schema) -> pa.Schema:
        from odibi_core.engines.pandas_arrow import pandas_types

        return pandas_types(schema)

    def native_count(self, obj: pd.DataFrame) -> int:
        return len(obj)

    def native_schema(self, obj: pd.DataFrame) -> list[tuple[str, str]]:
        return [(str(c), str(t)) for c, t in obj.dtypes.items()]

    def native_sample(self, obj: pd.DataFrame, n: int) -> list[dict[str, Any]]:
        if n <= 0 or obj.empty:
            return []
        rows: list[dict[str, Any]] = json.loads(
            obj.head(n).to_json(orient="records", date_format="iso", default_handler=str)
        )
        return rows


@hookimpl
def odibi_register_engines() -> list[type[Engine]]:
    return [PandasEngine]
