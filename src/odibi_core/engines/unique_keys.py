"""Keyed writes (``upsert``, ``append_once``) refuse a batch whose keys repeat.

A repeated key has no single row to update with, or to add once: Delta's MERGE inserts every
copy of a new key, and Spark's refuses a batch that matches one target row twice. So every
engine checks the batch before it writes anything, with one SQL query on the engine's own
SQL (DuckDB or Spark SQL). Null keys group together, as keyed file writes match them.
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


def _value(value: Any) -> str:
    if value is None:
        return "null"
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 40 else text[:39] + "…"
