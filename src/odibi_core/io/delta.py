"""``format: delta``: Delta Lake tables through deltalake (delta-rs), locally or in object
stores. Reads may travel in time (``version``, or Spark's ``versionAsOf``/``timestampAsOf``);
``upsert`` and ``append_once`` are one MERGE on the keys of :mod:`odibi_core.io.modes`, so a
failed write commits nothing and readers of older versions keep their files. The schema rules,
table properties, OPTIMIZE/VACUUM after the write and the content hash of ``skip_if_unchanged``
are :mod:`odibi_core.io.delta_table`'s."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

from odibi_core.io import delta_table, modes
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
        from deltalake import CommitProperties, DeltaTable, write_deltalake

        options = where.storage_options or None
        exists = DeltaTable.is_deltatable(where.uri, storage_options=options)
        commit = None
        if spec.content_hash:
            commit = CommitProperties(custom_metadata={delta_table.HASH_KEY: spec.content_hash})
        if exists:
            table = DeltaTable(where.uri, storage_options=options)
            delta_table.check_schema(table, data.schema, spec, where.label)
            if spec.mode in modes.KEYED_MODES:
                modes.require_target_keys(spec, [f.name for f in table.schema().fields])
                merge(
                    table,
                    data,
                    spec.keys,
                    update=spec.mode == "upsert",
                    merge_schema=spec.merge_schema,
                    commit=commit,
                )
                self.after_write(where, spec, created=False)
                return
        mode: Literal["overwrite", "append"] = "overwrite" if spec.mode == "overwrite" else "append"
        schema_mode: Literal["overwrite", "merge"] | None = None
        if exists and spec.overwrite_schema:
            schema_mode = "overwrite"
        elif exists and spec.merge_schema:
            schema_mode = "merge"
        # One call for both modes; deltalake's overloads split them.
        write_deltalake(  # type: ignore[call-overload]
            where.uri,
            data,
            mode=mode,
            partition_by=spec.partition_by or None,
            schema_mode=schema_mode,
            configuration=None if exists else spec.table_properties or None,
            storage_options=options,
            commit_properties=commit,
        )
        self.after_write(where, spec, created=not exists)

    def after_write(self, where: Location, spec: WriteConfig, created: bool) -> None:
        """Table properties the table lacks (a new one got them with its first commit), then
        OPTIMIZE and VACUUM as ``zorder_by``/``auto_optimize`` ask."""
        plan = delta_table.Upkeep.of(spec)
        if not plan and (created or not spec.table_properties):
            return
        table = self.table(where)
        if not created and spec.table_properties:
            delta_table.set_properties(table, spec.table_properties)
        delta_table.upkeep(table, plan)

    def table(self, where: Location) -> Any:
        """The deltalake ``DeltaTable`` at ``where``."""
        from deltalake import DeltaTable

        return DeltaTable(where.uri, storage_options=where.storage_options or None)

    def stored_hash(self, where: Location) -> str | None:
        """The content hash stored with the last write that changed the table's rows."""
        from deltalake import DeltaTable

        options = where.storage_options or None
        if not DeltaTable.is_deltatable(where.uri, storage_options=options):
            return None
        history = self.table(where).history(delta_table.HISTORY_LIMIT)
        return delta_table.stored_hash(history)

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
    merge_schema: bool = False,
    commit: Any = None,
) -> None:
    """MERGE ``data`` into ``table`` (a ``DeltaTable``) on ``keys`` in one commit: rows with
    a key the table lacks are inserted, matched ones replaced if ``update``; with
    ``delete_unmatched`` (a predicate on the target, ``t.``) the table's rows it selects that
    ``data`` lacks are deleted in the same commit. ``merge_schema`` adds the new columns;
    ``commit`` is deltalake's ``CommitProperties``."""
    merger = table.merge(
        data,
        predicate=modes.key_match(keys, _quote),
        source_alias="s",
        target_alias="t",
        merge_schema=merge_schema,
        commit_properties=commit,
    )
    if update:
        merger = merger.when_matched_update_all()
    merger = merger.when_not_matched_insert_all()
    if delete_unmatched is not None:
        merger = merger.when_not_matched_by_source_delete(delete_unmatched)
    merger.execute()


def _quote(identifier: str) -> str:
    return "`" + identifier.replace("`", "``") + "`"
