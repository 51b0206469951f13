"""What each write mode means, for every format and engine: the one place it is decided.

- ``overwrite`` replaces the target; ``append`` adds the rows after the target's.
- ``upsert`` replaces the target's rows whose keys the batch has and adds the others;
  ``append_once`` adds only rows whose keys the target lacks.
- Keys match null-safely: a null key is one key value, updated rather than inserted again.
- Keyed writes refuse a batch whose keys repeat: it has no single row to update with, or to
  add once (Delta's MERGE would insert every copy of a new key, and Spark's refuses a batch
  that matches one target row twice). The batch is checked before anything is read or written,
  with one query on the engine's own SQL.

Files are rewritten whole: in Arrow, :func:`unmatched_sql` picks the rows by key (on DuckDB)
and the tables are concatenated, each column keeping its type; on Spark, :func:`combine_sql`
says which rows the new files hold. Delta tables merge (:func:`key_match` is the predicate
both Delta writers use).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from odibi_core.errors import NodeError

if TYPE_CHECKING:
    from odibi_core.config.models import WriteConfig
    from odibi_core.engines.base import Engine

KEYED_MODES = ("upsert", "append_once")
#: Repeated keys named in the message; the count says how many there are in all.
SHOWN = 3
_COUNT, _GROUPS = "__odibi_copies", "__odibi_repeated"
_TIMES = "\N{MULTIPLICATION SIGN}"  # between a key and its count of copies


@dataclass(frozen=True)
class RepeatedKey:
    """One key value (a value per key column) and how many incoming rows carry it."""

    values: tuple[Any, ...]
    copies: int


@dataclass(frozen=True)
class RepeatedKeys:
    """The keys that occur more than once in a batch: how many, and the first few by value."""

    columns: tuple[str, ...]
    count: int
    examples: tuple[RepeatedKey, ...]

    def message(self, mode: str, target: str) -> str:
        shown = ", ".join(self._render(k) for k in self.examples)
        more = ", …" if self.count > len(self.examples) else ""
        noun = "key repeats" if self.count == 1 else "keys repeat"
        return (
            f"{mode} into {target}: {self.count} {noun} in the incoming rows ({shown}{more}); "
            "deduplicate first (transformer: deduplicate)"
        )

    def _render(self, key: RepeatedKey) -> str:
        pairs = ", ".join(f"{c}={_value(v)}" for c, v in zip(self.columns, key.values, strict=True))
        return f"{pairs if len(self.columns) == 1 else f'({pairs})'} {_TIMES}{key.copies}"


def repeated_keys(engine: Engine, frame: Any, keys: list[str]) -> RepeatedKeys | None:
    """The keys of ``frame`` that more than one row carries, or None when each is unique."""
    q = engine.quote
    cols = ", ".join(q(k) for k in keys)
    order = ", ".join(f"{q(k)} NULLS LAST" for k in keys)
    query = (
        f"SELECT {cols}, COUNT(*) AS {q(_COUNT)}, COUNT(*) OVER () AS {q(_GROUPS)} "
        f"FROM df GROUP BY {cols} HAVING COUNT(*) > 1 ORDER BY {order} LIMIT {SHOWN}"
    )
    rows = engine.sample(engine.sql(query, {"df": frame}), SHOWN)
    if not rows:
        return None
    examples = tuple(RepeatedKey(tuple(r[k] for k in keys), int(r[_COUNT])) for r in rows)
    return RepeatedKeys(tuple(keys), int(rows[0][_GROUPS]), examples)


def require_unique_keys(engine: Engine, frame: Any, spec: WriteConfig) -> None:
    """Raise a data error (not retried) when ``spec`` is a keyed write and its keys repeat in
    ``frame``; other modes pass."""
    if spec.mode not in KEYED_MODES:
        return
    keys = spec.keys
    columns = [c for c, _ in engine.schema(frame)]
    missing = [k for k in keys if k not in columns]
    if missing:
        raise NodeError(
            f"{spec.mode} into {spec.target}: key column(s) {', '.join(missing)} not in the "
            f"data (columns: {', '.join(columns)})",
            step="write",
        )
    found = repeated_keys(engine, frame, keys)
    if found is not None:
        raise NodeError(found.message(spec.mode, spec.target), step="write")


def key_match(keys: list[str], quote: Any, target: str = "t", source: str = "s") -> str:
    """The null-safe predicate matching ``target``'s rows to ``source``'s on ``keys``. Each
    term in parentheses: delta-rs would read ``a IS NOT DISTINCT FROM b AND c`` as
    ``a IS NOT DISTINCT FROM (b AND c)``."""
    return " AND ".join(
        f"({target}.{quote(k)} IS NOT DISTINCT FROM {source}.{quote(k)})" for k in keys
    )


def combine_sql(
    mode: str,
    keys: list[str],
    existing: list[str],
    incoming: list[str],
    quote: Any,
    row_position: str,
) -> str:
    """The query over tables ``existing`` and ``incoming`` (given by their columns) giving the
    rows a file target holds after a write in ``mode`` (not ``overwrite``): the target's rows
    first, then the new ones, each in the order they came. Columns match by name; one only
    a side has is null on the other. Plain SQL that DuckDB and Spark SQL both run."""
    columns = existing + [c for c in incoming if c not in existing]
    pos, src = quote("__odibi_pos"), quote("__odibi_src")

    def rows(table: str, alias: str, has: list[str], flag: int) -> str:
        values = [f"{alias}.{quote(c)}" if c in has else f"NULL AS {quote(c)}" for c in columns]
        return (
            f"SELECT {', '.join(values)}, {flag} AS {src}, {row_position} AS {pos} "
            f"FROM {table} {alias}"
        )

    kept_old, added = rows("existing", "e", existing, 0), rows("incoming", "n", incoming, 1)
    if mode == "upsert":
        matched = key_match(keys, quote, "n", "e")
        kept_old += f" WHERE NOT EXISTS (SELECT 1 FROM incoming n WHERE {matched})"
    elif mode == "append_once":
        matched = key_match(keys, quote, "e", "n")
        added += f" WHERE NOT EXISTS (SELECT 1 FROM existing e WHERE {matched})"
    names = ", ".join(quote(c) for c in columns)
    return f"SELECT {names} FROM ({kept_old} UNION ALL {added}) ORDER BY {src}, {pos}"


def _value(value: Any) -> str:
    if value is None:
        return "null"
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 40 else text[:39] + "…"


def unmatched_sql(keys: list[str], quote: Any, row_position: str) -> str:
    """The positions (0-based, in order) of the rows of table ``rows`` whose keys table
    ``other`` lacks: the target's rows an ``upsert`` keeps, or the new rows ``append_once``
    adds. Only key columns need to be in the tables; the rows themselves are then taken in
    Arrow, so no other column passes through SQL (or changes type)."""
    pos = quote("__odibi_pos")
    return (
        f"SELECT {pos} - 1 AS {pos} FROM (SELECT *, {row_position} AS {pos} FROM rows) r "
        f"WHERE NOT EXISTS (SELECT 1 FROM other o WHERE {key_match(keys, quote, 'o', 'r')}) "
        f"ORDER BY {pos}"
    )


def require_target_keys(spec: WriteConfig, columns: list[str]) -> None:
    """A keyed write into a target without the key columns is refused (nothing written)."""
    missing = [k for k in spec.keys if k not in columns]
    if missing:
        raise NodeError(
            f"{spec.mode} into {spec.target}: the target has no key column(s) "
            f"{', '.join(missing)} (columns: {', '.join(columns)})",
            step="write",
        )
