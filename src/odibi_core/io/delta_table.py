"""What a Delta write does besides adding rows, for both Delta writers (deltalake here, and
delta-spark in the Spark engine): the schema a write may change, table properties, OPTIMIZE
(Z-ordered) and VACUUM after it, and the content hash ``skip_if_unchanged`` keeps.

The hash is kept in the commit's own metadata (``commitInfo``), not in a table property: a
later write by anyone else is then a newer commit without it, so the target never looks
unchanged after someone else changed it. Commits that change no rows (OPTIMIZE, VACUUM,
property changes) are looked past.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from odibi_core.errors import NodeError

if TYPE_CHECKING:
    import pyarrow as pa

    from odibi_core.config.models import WriteConfig

#: The commit metadata key holding a write's content hash.
HASH_KEY = "odibi.content_hash"
#: Commits that leave the rows as they were: the hash of the write before them still holds.
_NO_DATA_CHANGE = frozenset(
    {"OPTIMIZE", "VACUUM START", "VACUUM END", "SET TBLPROPERTIES", "UNSET TBLPROPERTIES"}
)
#: How far back the history is searched for the last write that changed rows.
HISTORY_LIMIT = 50
#: Integer types a column may hold the values of (Delta's names, narrowest first).
_WIDER = {"byte": 0, "short": 1, "integer": 2, "long": 3}


@dataclass(frozen=True)
class Upkeep:
    """What runs on a Delta table after a write: OPTIMIZE (Z-ordered by ``zorder_by``, or a
    plain compaction with ``compact``), then VACUUM of files older than ``vacuum_hours``."""

    zorder_by: tuple[str, ...] = ()
    compact: bool = False
    vacuum_hours: int | None = None

    @classmethod
    def of(cls, spec: WriteConfig) -> Upkeep:
        """What ``spec``'s ``zorder_by`` and ``auto_optimize`` ask for."""
        optimize = spec.optimize
        hours = optimize.vacuum_retention_hours if optimize is not None else 0
        return cls(tuple(spec.zorder_by), optimize is not None, hours or None)

    def __bool__(self) -> bool:
        return bool(self.zorder_by or self.compact or self.vacuum_hours is not None)


def stored_hash(history: Iterable[Mapping[str, Any]]) -> str | None:
    """The content hash of the last commit that changed rows (``history`` newest first, as
    each library lists it), or None when that commit has none."""
    for commit in history:
        if str(commit.get("operation") or "") in _NO_DATA_CHANGE:
            continue
        if commit.get(HASH_KEY):  # deltalake's custom metadata
            return str(commit[HASH_KEY])
        user = commit.get("userMetadata")  # Spark's
        if user:
            try:
                found = json.loads(user).get(HASH_KEY)
            except (ValueError, AttributeError):
                return None
            return str(found) if found else None
        return None
    return None


def user_metadata(spec: WriteConfig) -> str | None:
    """The commit's user metadata (Spark's ``userMetadata``) for ``spec``'s write."""
    return json.dumps({HASH_KEY: spec.content_hash}) if spec.content_hash else None


def schema_problem(
    table: Mapping[str, str], incoming: Mapping[str, str | None], spec: WriteConfig
) -> str | None:
    """Why the new rows (column → Delta type, None when unknown) may not go into a table with
    columns ``table`` as ``spec`` writes them, or None. Without ``merge_schema`` or
    ``overwrite_schema`` a table keeps its columns; an overwrite keeps their types too (a
    wider integer type takes narrower values)."""
    if spec.merge_schema or spec.overwrite_schema:
        return None
    new = [c for c in incoming if c not in table]
    missing = [c for c in table if c not in incoming]
    changed = []
    if spec.mode == "overwrite":
        for column, kind in incoming.items():
            old = table.get(column)
            if kind is None or old is None or kind == old:
                continue
            if not (kind in _WIDER and old in _WIDER and _WIDER[kind] <= _WIDER[old]):
                changed.append(f"{column} {old} → {kind}")
    if not (new or missing or changed):
        return None
    parts = [
        f"{label}: {', '.join(items)}"
        for label, items in (("new", new), ("missing", missing), ("type changed", changed))
        if items
    ]
    fix = "write.merge_schema: true adds new columns"
    if spec.mode == "overwrite":
        fix += ", write.overwrite_schema: true replaces the table's schema"
    return f"the rows' columns differ from the Delta table's ({'; '.join(parts)}); {fix}"


def changed_properties(current: Mapping[str, str], wanted: Mapping[str, str]) -> dict[str, str]:
    """The properties of ``wanted`` the table does not hold yet with that value."""
    return {k: v for k, v in wanted.items() if current.get(k) != v}


# ------------------------------------------------------------ deltalake


def delta_columns(schema: Any) -> dict[str, str]:
    """Column → Delta type name of a deltalake ``Schema``."""
    return {f.name: _type_name(f.type) for f in schema.fields}


def arrow_columns(schema: pa.Schema) -> dict[str, str | None]:
    """Column → the Delta type new rows with Arrow ``schema`` get (None when it has none)."""
    from deltalake import Schema

    from odibi_core.io.format import classic_schema

    found: dict[str, str | None] = {}
    for field in classic_schema(schema):
        try:
            (delta,) = Schema.from_arrow(_one(field)).fields
            found[field.name] = _type_name(delta.type)
        except Exception:  # an Arrow type Delta has no name for (null): deltalake decides
            found[field.name] = None
    return found


def check_schema(table: Any, schema: pa.Schema, spec: WriteConfig, label: str) -> None:
    """Refuse (before anything is written) rows whose columns ``table`` may not take."""
    problem = schema_problem(delta_columns(table.schema()), arrow_columns(schema), spec)
    if problem:
        raise NodeError(f"cannot write {label}: {problem}", step="write")


def upkeep(table: Any, plan: Upkeep) -> None:
    """OPTIMIZE and VACUUM a deltalake ``DeltaTable`` as ``plan`` says. VACUUM takes the
    hours given, below Delta's 7-day guard too (the user chose them)."""
    if plan.zorder_by:
        table.optimize.z_order(list(plan.zorder_by))
    elif plan.compact:
        table.optimize.compact()
    if plan.vacuum_hours is not None:
        table.vacuum(
            retention_hours=plan.vacuum_hours, dry_run=False, enforce_retention_duration=False
        )


def set_properties(table: Any, wanted: Mapping[str, str]) -> None:
    """Give the table the ``wanted`` properties it lacks (one commit, none when it has all)."""
    changed = changed_properties(table.metadata().configuration or {}, wanted)
    if changed:
        table.alter.set_table_properties(changed)


def _type_name(kind: Any) -> str:
    """``long``, ``string``, ``decimal(10,2)``, ``struct<...>`` ...: a type as Delta names it."""
    if type(kind).__name__ == "PrimitiveType":
        return str(kind.type)
    return str(kind)  # nested: compared whole


def _one(field: pa.Field) -> pa.Schema:
    import pyarrow as pa

    return pa.schema([field])
