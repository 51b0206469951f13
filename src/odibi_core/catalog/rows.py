"""Rows plugins hand to the catalog through ``odibi_catalog_rows``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class CatalogRows:
    """Rows for one catalog table, appended in the run's single commit for that table.

    ``schema`` is a ``pyarrow.Schema`` (required the first time a table is created, so column
    types do not depend on the first batch of values). A new table is laid out as a history
    table: partitioned by ``pipeline_name`` (plus ``date`` with ``partition_by_date``) when the
    rows have those columns, unless ``partition_by`` says otherwise (``[]``: not partitioned);
    compaction orders it by ``timestamp`` if it has that column.
    """

    table: str
    rows: list[dict[str, Any]]
    schema: Any = None
    partition_by: list[str] | None = field(default=None)
