"""The core transform set, registered as a built-in plugin: Odibi's transformer catalogue.

The transforms live in modules named for what they work on (shared SQL helpers in ``_sql``,
``_select`` and ``_dialect``); this module only registers them. Every one is engine-agnostic:
it builds SQL, quotes identifiers with ``ctx.quote`` and runs it with ``ctx.sql`` (the current
frame is the table ``df``; dependencies are tables named after their node). Queries stick to
SQL that DuckDB and Spark share (``_dialect`` holds the few spellings that differ), and number
rows with the engine's ``row_position()`` wherever the result order would otherwise be left to
the engine, so results come back in input order.

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
from odibi_core.transforms.conditional import (
    apply_mapping,
    case_when,
    coalesce_columns,
    dict_based_mapping,
    validate_and_flag,
)
from odibi_core.transforms.cross_checks import cross_check
from odibi_core.transforms.dates import (
    convert_timezone,
    date_add,
    date_diff,
    date_trunc,
    extract_date_parts,
)
from odibi_core.transforms.geocode import geocode
from odibi_core.transforms.json_columns import (
    flatten_struct,
    normalize_json,
    parse_json,
    unpack_struct,
)
from odibi_core.transforms.keys import generate_numeric_key, generate_surrogate_key, hash_columns
from odibi_core.transforms.naming import (
    add_prefix,
    add_suffix,
    normalize_column_names,
    normalize_schema,
)
from odibi_core.transforms.periods import split_events_by_period
from odibi_core.transforms.registry import Transform
from odibi_core.transforms.relational import aggregate, join, union
from odibi_core.transforms.reshape import explode_list_column, pivot, unpivot
from odibi_core.transforms.rows import deduplicate, distinct, filter_rows, limit, sort
from odibi_core.transforms.text import (
    concat_columns,
    regex_replace,
    replace_values,
    split_part,
    trim_whitespace,
)
from odibi_core.transforms.units import unit_convert
from odibi_core.transforms.windows import row_number, sample, sessionize, window_calculation

#: The first fifteen, in the order they were added (``odibi plugins`` lists this order).
CORE: tuple[Transform, ...] = (
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
)

#: The rest of Odibi's catalogue, grouped as its registry groups them.
CATALOGUE: tuple[Transform, ...] = (
    # SQL core
    extract_date_parts,
    normalize_schema,
    sample,
    split_part,
    date_add,
    date_trunc,
    date_diff,
    case_when,
    convert_timezone,
    concat_columns,
    add_prefix,
    add_suffix,
    normalize_column_names,
    coalesce_columns,
    replace_values,
    trim_whitespace,
    row_number,
    # relational
    pivot,
    unpivot,
    # advanced
    explode_list_column,
    dict_based_mapping,
    regex_replace,
    unpack_struct,
    hash_columns,
    parse_json,
    generate_surrogate_key,
    generate_numeric_key,
    validate_and_flag,
    window_calculation,
    normalize_json,
    sessionize,
    geocode,
    split_events_by_period,
    flatten_struct,
    apply_mapping,
    # validation
    cross_check,
    # units
    unit_convert,
)


@hookimpl
def odibi_register_transforms() -> list[Transform]:
    # A function a project registers under a built-in's name replaces it, as in Odibi.
    from odibi_core.transforms.custom import FunctionRegistry

    return [t for t in (*CORE, *CATALOGUE) if not FunctionRegistry.has_function(t.name)]
