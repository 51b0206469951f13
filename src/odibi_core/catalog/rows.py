"""Rows plugins hand to the catalog through ``odibi_catalog_rows``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class CatalogRows:
    """Rows for one catalog table, appended in the run's single commit for that table.

    ``schema`` is a ``pyarrow.Schema`` (required the first time a table is created, so column
    types do not depend on the first batch of values); ``partition_by`` defaults to the
    catalog's history layout (``pipeline_name``, plus ``date`` with ``partition_by_date``).
    """

    table: str
    rows: list[dict[str, Any]]
    schema: Any = None
    partition_by: list[str] | None = field(default=None)
