"""The engine interface. The runner only talks to engines through this: a new engine is one
module, with no change to the runner."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from odibi_core.config.models import ProjectConfig, ReadConfig, WriteConfig
    from odibi_core.connections.base import Connection
    from odibi_core.io.delta_table import Upkeep
    from odibi_core.io.format import Format


class Engine(ABC):
    """Computes on frames of its own kind (Spark DataFrames; on pandas and polars, Arrow tables
    and tables of the run's DuckDB database, see :mod:`odibi_core.engines.duckdb_engine`).

    An engine only computes: SQL, counts, schemas, samples, conversion to and from Arrow.
    Reading and writing go through the IO layer (:mod:`odibi_core.io`), which hands Arrow in
    and out, so every registered format works on every engine at once; an engine whose data
    must not pass through this process (Spark) overrides ``read``/``write`` and names the
    formats it serves in ``read_formats``/``write_formats``.

    Methods that fail because of user data or config raise :class:`odibi_core.NodeError` with a
    message naming the file, table or SQL (``retryable=True`` when another attempt may pass);
    any other exception is retried only when ``odibi_core.errors.transient`` says it may pass.
    """

    name: ClassVar[str]
    #: Formats ``read``/``write`` accept, for an engine with readers of its own; None (the
    #: default): every format registered with the IO layer.
    read_formats: ClassVar[frozenset[str] | None] = None
    write_formats: ClassVar[frozenset[str] | None] = None

    def __init__(self, project: ProjectConfig, formats: Mapping[str, Format] | None = None):
        self.project = project
        if formats is None:
            from odibi_core.io.builtin import FORMATS

            formats = {f.name: f for f in FORMATS}
        self.formats: Mapping[str, Format] = formats

    @classmethod
    def option_problems(cls, block: str, spec: Mapping[str, Any]) -> list[tuple[str, str]]:
        """``(option, message)`` for each of ``spec['options']`` this engine would not take;
        ``spec`` is a raw ``read`` or ``write`` block (``block``) with a known format. Only
        for engines with readers of their own: the IO layer's formats check their options.
        Called by ``odibi validate``: keep it quick, import heavy libraries only if needed."""
        return []

    def read(self, spec: ReadConfig, connection: Connection) -> Any:
        """Read ``spec`` through ``connection`` into a frame (``filter`` applied)."""
        from odibi_core import io

        frame = self.from_arrow(io.read(self.formats, spec, connection))
        fmt = self.formats.get(spec.format.lower())
        if spec.filter and not (fmt is not None and fmt.applies_filter(spec)):
            frame = self.sql(f"SELECT * FROM df WHERE {spec.filter}", {"df": frame})
        return frame

    def write(self, frame: Any, spec: WriteConfig, connection: Connection) -> Any:
        """Write atomically: on failure the target is left as it was (the rules of each mode
        are :mod:`odibi_core.io.modes`'). Returns None, or the frame dependants should use
        instead (a lazy engine's frame that read the files the write replaced must be
        computed first)."""
        from odibi_core import io

        io.write(self.formats, self.to_arrow(frame), spec, connection)
        return None

    def stored_hash(self, spec: WriteConfig, connection: Connection) -> str | None:
        """The content hash kept with the last write of ``spec``'s target (see
        :mod:`odibi_core.io.delta_table`), or None."""
        from odibi_core import io

        return io.stored_hash(self.formats, spec, connection)

    def upkeep(self, spec: WriteConfig, connection: Connection, plan: Upkeep) -> None:
        """OPTIMIZE and VACUUM the Delta table ``spec`` writes, as ``plan`` says (what a write
        with ``zorder_by``/``auto_optimize`` runs after it; patterns run it on their tables)."""
        from odibi_core.io import delta_table
        from odibi_core.io.format import Location

        where = Location.of("delta", connection, spec.target)
        table = self.formats["delta"].table(where)  # type: ignore[attr-defined]
        delta_table.upkeep(table, plan)

    def to_arrow(self, frame: Any) -> Any:
        """``frame`` as a ``pyarrow.Table``."""
        raise NotImplementedError(f"the {self.name} engine does not convert to Arrow")

    def from_arrow(self, table: Any) -> Any:
        """A ``pyarrow.Table`` as this engine's frame."""
        raise NotImplementedError(f"the {self.name} engine does not convert from Arrow")

    def native(self, frame: Any) -> Any:
        """``frame`` as the object user Python code receives (custom transforms, check plugins
        that need a DataFrame): a pandas DataFrame on ``pandas``, a polars one on ``polars``, a
        Spark DataFrame on ``spark``. Engines whose frames already are that return them."""
        return frame

    def from_native(self, obj: Any) -> Any:
        """What user Python code returned (the kind :meth:`native` gives) as this engine's
        frame."""
        return obj

    @abstractmethod
    def sql(self, query: str, tables: Mapping[str, Any], node: str | None = None) -> Any:
        """Run SQL where each entry of ``tables`` is visible by its name."""

    @abstractmethod
    def count(self, frame: Any) -> int: ...

    @abstractmethod
    def schema(self, frame: Any) -> list[tuple[str, str]]:
        """(column, type) pairs in order."""

    @abstractmethod
    def sample(self, frame: Any, n: int) -> list[dict[str, Any]]:
        """Up to ``n`` rows as JSON-safe dicts."""

    def max_value(self, frame: Any, column: str) -> Any:
        """The JSON-safe maximum of ``column`` (None when empty): a high-water mark."""
        from odibi_core.engines import marks

        return marks.max_value(marks.column(self.to_arrow(frame), column))

    def filter_newer(self, frame: Any, column: str, value: Any, inclusive: bool) -> Any:
        """Rows whose ``column`` is greater than (or equal to) ``value``."""
        from odibi_core.engines import marks
        from odibi_core.io.format import classic

        table = classic(self.to_arrow(frame))
        mask = marks.newer(marks.column(table, column), value, inclusive)
        return self.from_arrow(table.filter(mask))

    def row_position(self) -> str:
        """An SQL expression numbering a table's rows in the order they come (increasing, not
        necessarily consecutive): what transforms sort by to keep input order."""
        return "ROW_NUMBER() OVER ()"

    def cache(self, frame: Any) -> Any:
        """Keep a node's output once computed (``cache: true``): its counts, checks, write
        and dependants then reuse it. In-memory engines already do; lazy ones override."""
        return frame

    def quote(self, identifier: str) -> str:
        """Quote an identifier for this engine's SQL dialect."""
        return '"' + identifier.replace('"', '""') + '"'

    def close(self) -> None:  # noqa: B027  (optional for engines: most hold nothing)
        """Release resources at the end of a run."""


def first_given(options: Mapping[str, Any], *names: str) -> Any:
    """The first of ``names`` given in ``options`` (``0`` counts: ``version: 0`` is a version)."""
    return next((options[n] for n in names if options.get(n) is not None), None)


def looks_like_time(value: Any) -> bool:
    """Whether a high-water mark is an ISO date or time (compared as a time, not as text)."""
    return isinstance(value, str) and len(value) >= 10 and value[4] == "-" and value[7] == "-"
