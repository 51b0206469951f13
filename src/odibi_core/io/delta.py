"""``format: delta``: Delta Lake tables through deltalake (delta-rs), locally or in object
stores. Reads may travel in time (``version``, or Spark's ``versionAsOf``/``timestampAsOf``);
``upsert`` and ``append_once`` are one MERGE on the keys of :mod:`odibi_core.io.modes`, so a
failed write commits nothing and readers of older versions keep their files."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

from odibi_core.io import modes
from odibi_core.io.format import Format

if TYPE_CHECKING:
    import pyarrow as pa

    from odibi_core.config.models import ReadConfig, WriteConfig
    from odibi_core.io.format import Location

VERSION_OPTIONS = ("version", "as_of_version", "versionAsOf")


def as_of_read(spec: ReadConfig) -> tuple[int | None, Any]:
    """``(version, moment)`` a Delta read asks for (at most one is set): Odibi's
    ``time_travel``, else the version options and Spark's ``timestampAsOf``."""
    from odibi_core.engines.base import first_given

    travel = spec.time_travel
    if travel is not None:
        return travel.as_of_version, travel.moment
    version = first_given(spec.options, *VERSION_OPTIONS)
    return (None if version is None else int(version)), first_given(spec.options, "timestampAsOf")


class DeltaFormat(Format):
    name = "delta"

    def read(self, where: Location, spec: ReadConfig) -> pa.Table:
        from deltalake import DeltaTable
        from deltalake.exceptions import TableNotFoundError

        version, as_of = as_of_read(spec)
        try:
            table = DeltaTable(
                where.uri, version=version, storage_options=where.storage_options or None
            )
        except TableNotFoundError:
            raise FileNotFoundError(where.uri) from None
        if as_of is not None:
            table.load_as_version(as_of if hasattr(as_of, "isoformat") else str(as_of))
            if table.version() == 0:
                _not_before_first_commit(table, as_of, where)
        return table.to_pyarrow_table()

    def takes_batches(self, spec: WriteConfig) -> bool:
        return spec.mode in ("overwrite", "append")

    def write(self, data: pa.Table, where: Location, spec: WriteConfig) -> None:
        from deltalake import DeltaTable, write_deltalake

        options = where.storage_options or None
        exists = DeltaTable.is_deltatable(where.uri, storage_options=options)
        if spec.mode in modes.KEYED_MODES and exists:
            table = DeltaTable(where.uri, storage_options=options)
            modes.require_target_keys(spec, [f.name for f in table.schema().fields])
            merge(table, data, spec.keys, update=spec.mode == "upsert")
            return
        mode: Literal["overwrite", "append"] = "overwrite" if spec.mode == "overwrite" else "append"
        # One call for both modes; deltalake's overloads split them.
        write_deltalake(  # type: ignore[call-overload]
            where.uri,
            data,
            mode=mode,
            partition_by=spec.partition_by or None,
            schema_mode="overwrite" if mode == "overwrite" and exists else None,
            storage_options=options,
        )

    def option_problems(self, block: str, spec: Mapping[str, Any]) -> list[tuple[str, str]]:
        from odibi_core.io.options import option_problems

        return option_problems(block, spec)


def _not_before_first_commit(table: Any, as_of: Any, where: Location) -> None:
    """deltalake reads version 0 for a moment before the table existed; Spark refuses, and so
    do we: there was no table then."""
    from datetime import UTC, datetime

    from odibi_core.errors import NodeError

    try:
        moment = as_of if isinstance(as_of, datetime) else datetime.fromisoformat(str(as_of))
    except ValueError:
        return  # deltalake took it: its own reading stands
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    first = table.history()[-1].get("timestamp")  # ms since the epoch
    if first is not None and moment < datetime.fromtimestamp(first / 1000, UTC):
        created = datetime.fromtimestamp(first / 1000, UTC).isoformat(timespec="seconds")
        raise NodeError(
            f"cannot read {where.label} as of {moment.isoformat()}: its first commit is "
            f"later ({created})",
            step="read",
        )


def merge(
    table: Any,
    data: pa.Table,
    keys: list[str],
    update: bool,
    delete_unmatched: str | None = None,
) -> None:
    """MERGE ``data`` into ``table`` (a ``DeltaTable``) on ``keys`` in one commit: rows with
    a key the table lacks are inserted, matched ones replaced if ``update``; with
    ``delete_unmatched`` (a predicate on the target, ``t.``) the table's rows it selects that
    ``data`` lacks are deleted in the same commit."""
    merger = table.merge(
        data,
        predicate=modes.key_match(keys, _quote),
        source_alias="s",
        target_alias="t",
    )
    if update:
        merger = merger.when_matched_update_all()
    merger = merger.when_not_matched_insert_all()
    if delete_unmatched is not None:
        merger = merger.when_not_matched_by_source_delete(delete_unmatched)
    merger.execute()


def _quote(identifier: str) -> str:
    return "`" + identifier.replace("`", "``") + "`"
