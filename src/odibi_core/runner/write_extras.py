"""What a write adds to the rows it is given, in the engine's own SQL (so a stream stays a
stream): ``skip_if_unchanged``'s content hash and ``add_metadata``'s lineage columns.

"Unchanged" means: the same columns (names, order and types) holding the same rows, counted
with their repeats, in any order. Each row is hashed (DuckDB's ``hash``, Spark's
``xxhash64`` with a null flag per column, which it would otherwise skip); the count, the sum
and the XOR of the row hashes make the content hash. Engines hash differently, so a table
written on pandas is not "unchanged" for the first Spark write, nor the other way round.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from odibi_core.errors import NodeError

if TYPE_CHECKING:
    from odibi_core.config.models import NodeConfig, WriteConfig
    from odibi_core.engines.base import Engine

#: Formats of a read whose ``path`` names files (``_source_file``); Odibi's list.
_FILE_READS = ("csv", "parquet", "json", "avro", "excel")


def content_hash(engine: Engine, frame: Any, spec: WriteConfig) -> str:
    """The hash of ``frame``'s content over ``spec.skip_hash_columns`` (default: all)."""
    schema = engine.schema(frame)
    names = [c for c, _ in schema]
    chosen = spec.skip_hash_columns or names
    missing = [c for c in chosen if c not in names]
    if missing:
        raise NodeError(
            f"skip_hash_columns: {', '.join(missing)} not in the data "
            f"(columns: {', '.join(names)})",
            step="write",
        )
    q = engine.quote
    cols = [q(c) for c in chosen]
    if engine.name == "spark":
        flags = ", ".join(f"CAST(isnull({c}) AS INT)" for c in cols)
        row, wide = f"xxhash64({', '.join(cols)}, concat({flags}))", "DECIMAL(38,0)"
    else:
        row, wide = f"hash({', '.join(cols)})", "HUGEINT"
    query = (
        f"SELECT COUNT(*) AS n, CAST(SUM(CAST(h AS {wide})) AS STRING) AS s, "
        f"CAST(BIT_XOR(h) AS STRING) AS x FROM (SELECT {row} AS h FROM df) hashed"
    )
    if engine.name != "spark":
        query = query.replace("AS STRING", "AS VARCHAR")
    (found,) = engine.sample(engine.sql(query, {"df": frame}), 1)
    kinds = [t for c, t in schema if c in chosen]
    text = json.dumps([engine.name, chosen, kinds, found["n"], found["s"], found["x"]])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def with_metadata(
    engine: Engine, frame: Any, spec: WriteConfig, node: NodeConfig | None, at: datetime
) -> Any:
    """``frame`` with the ``add_metadata`` columns that apply to ``node``'s source: the run's
    start (UTC) as ``_extracted_at``; the read's path (file reads), connection and table.
    A column of the same name the rows already have is replaced."""
    read = node.read if node is not None else None
    values: dict[str, str | None] = {
        "_source_file": read.path if read and read.format.lower() in _FILE_READS else None,
        "_source_connection": read.connection if read else None,
        "_source_table": read.table if read else None,
    }
    spark = engine.name == "spark"
    items = {}
    for column in spec.metadata_columns:
        if column == "_extracted_at":
            stamp = at.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")
            items[column] = f"CAST(TIMESTAMP '{stamp}' AS TIMESTAMP)"
        elif values[column] is not None:
            items[column] = _text(str(values[column]), spark)
    if not items:
        return frame
    q = engine.quote
    kept = [q(c) for c, _ in engine.schema(frame) if c not in items]
    added = [f"{sql} AS {q(c)}" for c, sql in items.items()]
    return engine.sql(f"SELECT {', '.join(kept + added)} FROM df", {"df": frame})


def _text(value: str, spark: bool) -> str:
    if spark:  # Spark SQL reads backslash escapes in literals
        value = value.replace("\\", "\\\\")
    return "'" + value.replace("'", "''") + "'"
