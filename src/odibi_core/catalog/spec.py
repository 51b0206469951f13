"""One declaration per catalog table, made by core and by plugins alike
(``odibi_register_catalog_tables``); the CLI lists and queries what is registered."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from odibi_core.catalog.rows import CatalogRows


@dataclass(frozen=True)
class TableSpec:
    """A System Catalog table: its name, schema, layout, and how ``odibi catalog`` shows it.

    ``schema`` is called, not stored, so that pyarrow is imported only when a table is written
    or described. ``keys`` are merge keys of a table holding one row per thing; a table without
    keys is a history table, appended to by every run. ``partition_by`` ``None`` means the
    catalog's default for its kind (history tables by ``pipeline_name``, plus ``date`` with
    ``system.partition_by_date``). ``command`` makes it queryable as ``odibi catalog COMMAND
    CONFIG [--pipeline] [--since] [--limit] [--format]`` showing ``columns`` newest first by
    ``sort_by``; ``filters`` add ``--NAME`` options restricted to the given values (an equality
    filter on the column of that name). ``add_arguments(parser)`` adds options of the owner's
    own to that action, and ``view(args, rows)`` may then turn the rows read (filtered, newest
    first, before ``--limit``) into other rows to show, returned with their columns (``None``:
    show the rows as they are): a summary, a trend.
    """

    name: str
    schema: Callable[[], Any]
    keys: tuple[str, ...] = ()
    partition_by: tuple[str, ...] | None = None
    sort_by: str | None = "timestamp"
    columns: tuple[str, ...] = ()
    command: str | None = None
    help: str = ""
    filters: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    add_arguments: Callable[[Any], None] | None = None
    view: (
        Callable[[Any, list[dict[str, Any]]], tuple[list[dict[str, Any]], list[str]] | None] | None
    ) = None

    @property
    def is_history(self) -> bool:
        return not self.keys

    def rows(self, rows: list[dict[str, Any]]) -> CatalogRows:
        """``rows`` for this table, as ``odibi_catalog_rows`` returns them."""
        partition_by = None if self.partition_by is None else list(self.partition_by)
        return CatalogRows(self.name, rows, self.schema(), partition_by)

    def column_names(self) -> list[str]:
        return [f.name for f in self.schema()]
