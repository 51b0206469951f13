"""What the engines computing with DuckDB in this process share (pandas, polars): frames that
stay where they are until something needs them in another form.

A :class:`Frame` is a read's Arrow table, an SQL result kept in the run's DuckDB database
(:mod:`odibi_core.engines.duckdb_sql`), or the pandas/polars object user code returned. SQL
scans each of them without a copy; counts, schemas and samples look at a few rows; a write
streams a result out in record batches. Only user Python code (custom transforms, check
plugins that want a DataFrame) gets the engine's native object, made for it by
:meth:`DuckDBEngine.native`. An engine module says how Arrow becomes its native frames and
how those are described; everything else is here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from odibi_core.engines.base import Engine
from odibi_core.engines.duckdb_sql import DuckDB, ResultTable
from odibi_core.errors import NodeError

if TYPE_CHECKING:
    import pyarrow as pa

    from odibi_core.config.models import ProjectConfig, WriteConfig
    from odibi_core.connections.base import Connection
    from odibi_core.io.format import Format


#: Rows fetched at least when a result's first rows are needed (a story's sample).
HEAD_ROWS = 20


class Frame:
    """A node's data in one of three forms; frames are never changed once made."""

    __slots__ = ("_count", "_head", "_nulls", "arrow", "from_sql", "native", "result")

    def __init__(
        self,
        *,
        result: ResultTable | None = None,
        arrow: pa.Table | None = None,
        native: Any = None,
        from_sql: bool = False,
    ):
        self.result = result  # a table of the run's database, counted when it was made
        self.arrow = arrow
        self.native = native  # what user code returned
        #: Whether the rows come from SQL: they become native frames with the types SQL
        #: results always had (a read keeps a file's own types).
        self.from_sql = from_sql
        self._count: int | None = None if result is None else result.rows
        self._nulls: frozenset[str] | None = None if result is None else result.nulls
        self._head: pa.Table | None = None  # the first rows, for schemas and samples


class DuckDBEngine(Engine):
    """An engine whose SQL runs on the run's DuckDB database and whose frames are
    :class:`Frame`; a subclass names its native frames and converts them."""

    #: Whether the native type a column gets depends on it holding nulls (pandas: integers
    #: with nulls are floats or nullable integers), so schemas and samples must know.
    types_depend_on_nulls = False

    def __init__(self, project: ProjectConfig, formats: Mapping[str, Format] | None = None):
        super().__init__(project, formats)
        self._duckdb = DuckDB()

    # ------------------------------------------------------------ for each engine

    def is_native(self, obj: Any) -> bool:
        raise NotImplementedError

    def arrow_to_native(self, table: pa.Table, from_sql: bool) -> Any:
        raise NotImplementedError

    def native_to_arrow(self, obj: Any) -> pa.Table:
        raise NotImplementedError

    def native_count(self, obj: Any) -> int:
        raise NotImplementedError

    def native_schema(self, obj: Any) -> list[tuple[str, str]]:
        raise NotImplementedError

    def native_sample(self, obj: Any, n: int) -> list[dict[str, Any]]:
        raise NotImplementedError

    def written_schema(self, schema: pa.Schema) -> pa.Schema:
        """The types an SQL result with ``schema`` is written with: those its native frame
        would be written with, so a write does not depend on whether user code ran first."""
        return schema

    def scannable(self, obj: Any) -> Any:
        """What DuckDB scans for a native frame."""
        return obj

    # ------------------------------------------------------------ conversions

    def frame(self, obj: Any) -> Frame:
        """``obj`` (a frame, an Arrow table or a native frame) as a :class:`Frame`."""
        if isinstance(obj, Frame):
            return obj
        return self.from_native(obj)

    def native(self, frame: Any) -> Any:
        f = self.frame(frame)
        if f.native is not None:
            return f.native
        return self.arrow_to_native(self._arrow(f), f.from_sql)

    def from_native(self, obj: Any) -> Any:
        import pyarrow as pa

        if isinstance(obj, Frame):
            return obj
        if isinstance(obj, pa.Table):
            return Frame(arrow=obj)
        if self.is_native(obj):
            return Frame(native=obj)
        raise NodeError(
            f"expected a {self.name} DataFrame, got {type(obj).__module__}.{type(obj).__name__}"
        )

    def to_arrow(self, frame: Any) -> pa.Table:
        return self._arrow(self.frame(frame))

    def from_arrow(self, table: Any) -> Frame:
        return Frame(arrow=table)

    def _arrow(self, f: Frame) -> pa.Table:
        if f.arrow is not None:
            return f.arrow
        if f.result is not None:
            return self._duckdb.arrow(_name(f))
        return self.native_to_arrow(f.native)

    # ------------------------------------------------------------ compute

    def sql(self, query: str, tables: Mapping[str, Any], node: str | None = None) -> Frame:
        shown = {name: None if t is None else self._scanned(t) for name, t in tables.items()}
        result = self._duckdb.run(query, shown, node, null_checks=self.types_depend_on_nulls)
        if result.name is None:
            return Frame(arrow=result.arrow, from_sql=True)
        return Frame(result=result, from_sql=True)

    def _scanned(self, obj: Any) -> Any:
        f = self.frame(obj)
        if f.result is not None:
            return f.result
        if f.arrow is not None:
            return f.arrow
        return self.scannable(f.native)

    def count(self, frame: Any) -> int:
        f = self.frame(frame)
        if f._count is None:  # a result's was taken when it was made
            if f.native is not None:
                f._count = self.native_count(f.native)
            else:
                assert f.arrow is not None
                f._count = f.arrow.num_rows
        return f._count

    def schema(self, frame: Any) -> list[tuple[str, str]]:
        f = self.frame(frame)
        if f.native is not None:
            return self.native_schema(f.native)
        return self.native_schema(self._native_head(f, 1))

    def sample(self, frame: Any, n: int) -> list[dict[str, Any]]:
        f = self.frame(frame)
        if f.native is not None:
            return self.native_sample(f.native, n)
        if n <= 0 or self.count(f) == 0:
            return []
        return self.native_sample(self._native_head(f, n), n)

    def _native_head(self, f: Frame, n: int) -> Any:
        """The first ``n`` rows as a native frame with the column types the whole frame's
        conversion would give them."""
        import pyarrow as pa

        head = f.arrow.slice(0, n) if f.arrow is not None else self._table_head(f, n)
        nulls = self._null_columns(f) if self.types_depend_on_nulls else frozenset()
        if not nulls or head.num_rows == 0:
            return self.arrow_to_native(head, f.from_sql)
        # One more row, null where the whole column has nulls, dropped after the conversion.
        last = head.slice(head.num_rows - 1, 1)
        extra = pa.table(
            [
                pa.nulls(1, field.type) if field.name in nulls else last.column(i)
                for i, field in enumerate(head.schema)
            ],
            schema=head.schema,
        )
        native = self.arrow_to_native(pa.concat_tables([head, extra]), f.from_sql)
        return native.iloc[:-1] if hasattr(native, "iloc") else native.head(head.num_rows)

    def _table_head(self, f: Frame, n: int) -> pa.Table:
        """The first ``n`` rows of a result table, fetched once for the schema and sample."""
        if f._head is None or (f._head.num_rows < n and f._head.num_rows < self.count(f)):
            f._head = self._duckdb.arrow(_name(f), max(n, HEAD_ROWS))
        return f._head.slice(0, n)

    def _null_columns(self, f: Frame) -> frozenset[str]:
        """Integer and boolean columns holding a null anywhere (a result's were found when it
        was made)."""
        import pyarrow as pa

        if f._nulls is None:
            assert f.arrow is not None
            f._nulls = frozenset(
                field.name
                for field, column in zip(f.arrow.schema, f.arrow.columns, strict=True)
                if (pa.types.is_integer(field.type) or pa.types.is_boolean(field.type))
                and column.null_count
            )
        return f._nulls

    # ------------------------------------------------------------ write

    def write(self, frame: Any, spec: WriteConfig, connection: Connection) -> Any:
        import pyarrow as pa

        from odibi_core import io

        f = self.frame(frame)
        if f.result is None:
            data = self._arrow(f)
            if f.from_sql:
                data = data.cast(self.written_schema(data.schema))
            io.write(self.formats, data, spec, connection)
            return None
        # Streamed: the result is never whole in this process's memory.
        with self._duckdb.batches(_name(f)) as batches:
            schema = self.written_schema(batches.schema)
            if not schema.equals(batches.schema):
                batches = pa.RecordBatchReader.from_batches(
                    schema, (b.cast(schema) for b in batches)
                )
            io.write(self.formats, batches, spec, connection)
        return None

    def close(self) -> None:
        self._duckdb.close()


def _name(f: Frame) -> str:
    assert f.result is not None and f.result.name is not None
    return f.result.name
