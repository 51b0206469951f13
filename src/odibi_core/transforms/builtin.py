"""The core transform set, registered as a built-in plugin.

The transforms live in ``columns``, ``rows`` and ``relational`` (shared SQL helpers in ``_sql``);
this module only registers them. Every one is engine-agnostic: it builds SQL, quotes identifiers
with ``ctx.quote`` and runs it with ``ctx.sql`` (the current frame is the table ``df``;
dependencies are tables named after their node). Queries stick to SQL that DuckDB and Spark share,
and number rows with the engine's ``row_position()`` wherever the result order would otherwise
be left to the engine, so results come back in input order.

Imported when the CLI starts, so nothing heavy is imported here.
"""

from __future__ import annotations

from odibi_core import hookimpl
from odibi_core.transforms.columns import (
    cast_columns,
    clean_text,
    derive_columns,
    drop_columns,
    fill_nulls,
    rename_columns,
    select_columns,
)
from odibi_core.transforms.registry import Transform
from odibi_core.transforms.relational import aggregate, join, union
from odibi_core.transforms.rows import deduplicate, distinct, filter_rows, limit, sort


@hookimpl
def odibi_register_transforms() -> list[Transform]:
    return [
        deduplicate,
        filter_rows,
        derive_columns,
        cast_columns,
        rename_columns,
        select_columns,
        drop_columns,
        fill_nulls,
        join,
        union,
        aggregate,
        sort,
        clean_text,
        limit,
        distinct,
    ]
