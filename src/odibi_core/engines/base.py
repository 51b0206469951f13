"""The engine interface. The runner only talks to engines through this, so a Spark engine can
follow without changing the runner."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from odibi_core.config.models import ProjectConfig, ReadConfig, WriteConfig
    from odibi_core.connections.base import Connection


class Engine(ABC):
    """Reads, transforms and writes frames of one kind (pandas DataFrames, Spark DataFrames...).

    Methods that fail because of user data or config raise :class:`odibi_core.NodeError` with a
    message naming the file, table or SQL (``retryable=True`` when another attempt may pass);
    any other exception is retried only when ``odibi_core.errors.transient`` says it may pass.
    """

    name: ClassVar[str]
    #: Formats ``read``/``write`` accept; ``odibi validate`` checks projects against them.
    read_formats: ClassVar[frozenset[str]] = frozenset()
    write_formats: ClassVar[frozenset[str]] = frozenset()
    #: Names of ``{operation: ...}`` steps.
    operations: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, project: ProjectConfig):
        self.project = project

    @classmethod
    def option_problems(cls, block: str, spec: Mapping[str, Any]) -> list[tuple[str, str]]:
        """``(option, message)`` for each of ``spec['options']`` this engine would not take;
        ``spec`` is a raw ``read`` or ``write`` block (``block``) with a known format.
        Called by ``odibi validate`` for blocks with options: keep it quick, and import
        heavy libraries only when they are needed."""
        return []

    @abstractmethod
    def read(self, spec: ReadConfig, connection: Connection) -> Any:
        """Read ``spec`` through ``connection`` into a frame."""

    @abstractmethod
    def write(self, frame: Any, spec: WriteConfig, connection: Connection) -> Any:
        """Write atomically: on failure the target is left as it was. Keyed modes call
        :func:`odibi_core.engines.unique_keys.require_unique_keys` before anything else.
        Returns None, or the frame dependants should use instead (a lazy engine's frame that
        read the files the write replaced must be computed first)."""

    @abstractmethod
    def sql(self, query: str, tables: Mapping[str, Any], node: str | None = None) -> Any:
        """Run SQL where each entry of ``tables`` is visible by its name."""

    @abstractmethod
    def operation(self, name: str, params: Mapping[str, Any], frame: Any) -> Any:
        """Apply a named built-in operation (``drop_duplicates``, ``fillna``, ``drop``...)."""

    @abstractmethod
    def count(self, frame: Any) -> int: ...

    @abstractmethod
    def schema(self, frame: Any) -> list[tuple[str, str]]:
        """(column, type) pairs in order."""

    @abstractmethod
    def sample(self, frame: Any, n: int) -> list[dict[str, Any]]:
        """Up to ``n`` rows as JSON-safe dicts."""

    @abstractmethod
    def max_value(self, frame: Any, column: str) -> Any:
        """The JSON-safe maximum of ``column`` (None when empty): a high-water mark."""

    @abstractmethod
    def filter_newer(self, frame: Any, column: str, value: Any, inclusive: bool) -> Any:
        """Rows whose ``column`` is greater than (or equal to) ``value``."""

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
