"""What a format is to the IO layer: how it reads into Arrow and writes Arrow, in every mode."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    import pyarrow as pa

    from odibi_core.config.models import ReadConfig, WriteConfig
    from odibi_core.connections.base import Connection


@dataclass(frozen=True)
class Location:
    """Where a read or write goes: the URI, the connection's credentials in each library's
    spelling, and the words messages name it by. On a connection that stores tables (a
    database) there is no URI: ``table`` names the table (``schema.table``) and formats reach
    the database through ``connection``."""

    uri: str
    label: str
    connection: Connection
    is_local: bool = True
    storage_options: dict[str, str] = field(default_factory=dict)
    fsspec_options: dict[str, Any] = field(default_factory=dict)
    table: str | None = None

    @classmethod
    def of(cls, fmt: str, connection: Connection, path: str) -> Location:
        if connection.stores == "tables":
            what = f"table '{path}'" if path else "query"
            return cls(
                uri="",
                label=f"{fmt} {what} on connection '{connection.name}'",
                connection=connection,
                is_local=False,
                table=path or None,
            )
        return cls(
            uri=connection.uri(path),
            label=f"{fmt} '{path}' on connection '{connection.name}'",
            connection=connection,
            is_local=connection.is_local,
            storage_options=connection.storage_options(),
            fsspec_options=connection.fsspec_options(),
        )


class Format(ABC):
    """One data format (``csv``, ``delta`` ...), registered through ``odibi_register_formats``.

    Engines that compute on Arrow (pandas, polars) read and write only through formats, so a
    format works on each of them at once. ``read`` returns a ``pyarrow.Table``; ``write``
    honours ``spec.mode`` with the rules of :mod:`odibi_core.io.modes` and is atomic: on
    failure the target is left as it was. Failures a user can cause raise ``NodeError`` or
    ``FileNotFoundError``; anything else is wrapped and retried if ``errors.transient`` says so.
    """

    name: ClassVar[str]
    #: Whether it reads, and writes (a query source only reads).
    reads: ClassVar[bool] = True
    writes: ClassVar[bool] = True
    #: The connection types it reads and writes through (``api``: ``http``); None: any.
    #: ``odibi validate`` reports a node that names another.
    connection_types: ClassVar[frozenset[str] | None] = None
    #: What its connection must hold (``Connection.stores``): files, or tables (a database).
    stores: ClassVar[str] = "files"

    @abstractmethod
    def read(self, where: Location, spec: ReadConfig) -> pa.Table: ...

    def write(self, data: pa.Table, where: Location, spec: WriteConfig) -> None:
        """Write ``data``: a ``pyarrow.Table``, or a ``pyarrow.RecordBatchReader`` when
        :meth:`takes_batches` says so."""
        raise NotImplementedError(f"format '{self.name}' cannot be written")

    def takes_batches(self, spec: WriteConfig) -> bool:
        """Whether ``write`` takes the rows as a stream of record batches for ``spec`` (so a
        large result never has to be whole in memory); otherwise it gets one table."""
        return False

    def applies_filter(self, spec: ReadConfig) -> bool:
        """Whether ``read`` applied ``spec.filter`` itself (in the database's query); when not,
        the engine filters what was read."""
        return False

    def option_problems(self, block: str, spec: Mapping[str, Any]) -> list[tuple[str, str]]:
        """``(option, message)`` for each of ``spec['options']`` this format would not take
        (``spec`` is a raw ``read``/``write`` block); run by ``odibi validate``, so quick."""
        return []


def whole(data: pa.Table | pa.RecordBatchReader) -> pa.Table:
    """``data`` as one table (a stream of batches is read to its end)."""
    import pyarrow as pa

    return data.read_all() if isinstance(data, pa.RecordBatchReader) else data


def classic_schema(schema: pa.Schema) -> pa.Schema:
    """``schema`` with view types (polars' strings) in Arrow's classic ones (see classic)."""
    import pyarrow as pa

    fields = []
    for column in schema:
        if pa.types.is_string_view(column.type):
            column = column.with_type(pa.large_string())
        elif pa.types.is_binary_view(column.type):
            column = column.with_type(pa.large_binary())
        fields.append(column)
    return pa.schema(fields, metadata=schema.metadata)


def classic(data: pa.Table) -> pa.Table:
    """``data`` with view-typed columns (polars' strings) in Arrow's classic types, which every
    reader and compute kernel takes, so a file reads back the same whichever engine wrote it."""
    schema = classic_schema(data.schema)
    return data if schema.equals(data.schema) else data.cast(schema)
