"""Keeping the catalog fast: compact and Z-order touched partitions, checkpoint, vacuum.

After a successful run, maintenance runs for the tables the run wrote when a threshold is
crossed (``system.maintenance``): a touched partition holds more than ``max_files`` files, or
``max_commits`` commits were made since the last checkpoint. It never fails the run.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from odibi_core.catalog import tables as t
from odibi_core.catalog.locks import maintenance_lock
from odibi_core.errors import brief

if TYPE_CHECKING:
    from odibi_core.catalog.manager import Catalog

log = logging.getLogger("odibi.catalog")


@dataclass
class TableMaintenance:
    """What maintenance did to one table."""

    table: str
    partitions: list[str] = field(default_factory=list)
    files_before: int = 0
    files_after: int = 0
    compacted: bool = False
    checkpointed: bool = False
    vacuumed: list[str] = field(default_factory=list)
    skipped: str | None = None
    error: str | None = None


def due(catalog: Catalog, table: str, partitions: list[str] | None) -> bool:
    """Whether a threshold is crossed for ``table`` (in the given partitions)."""
    snap = catalog.snapshot(table)
    if snap is None:
        return False
    cfg = catalog.maintenance
    if catalog.commits_since_checkpoint(table, snap.version) >= cfg.max_commits:
        return True
    return any(n > cfg.max_files for n in _files_per_partition(catalog, table, partitions).values())


def optimize(
    catalog: Catalog,
    table: str,
    partitions: list[str] | None = None,
    force: bool = True,
    wait_seconds: float = 60.0,
) -> TableMaintenance:
    """Compact (Z-ordered by ``timestamp`` for history tables) and checkpoint a table, under
    the table's maintenance lock (skipped if another process holds it past ``wait_seconds``).

    ``partitions``: pipeline names to compact (None: every partition).
    """
    if not force:
        if not catalog.is_local:  # no lock there yet: only an explicit optimize runs
            return TableMaintenance(
                table, partitions or [], skipped="automatic maintenance needs a local catalog"
            )
        # A first look at the snapshot this process holds (after a run's append, its handle
        # is at that commit): most runs end here, without the lock or a log refresh.
        snap = catalog.snapshot(table)
        if snap is None or not due(catalog, table, partitions):
            files = int(snap.actions().num_rows) if snap is not None else 0
            return TableMaintenance(
                table,
                partitions or [],
                files_before=files,
                files_after=files,
                skipped="below thresholds" if snap is not None else "table does not exist",
            )
    with maintenance_lock(catalog.base_uri, table, catalog.is_local, wait_seconds) as locked:
        if not locked and catalog.is_local:
            return TableMaintenance(
                table, partitions or [], skipped="another process is maintaining this table"
            )
        catalog.cache.refresh(table)  # decide on the newest version, not a stale snapshot
        return _optimize(catalog, table, partitions, force)


def _optimize(
    catalog: Catalog, table: str, partitions: list[str] | None, force: bool
) -> TableMaintenance:
    report = TableMaintenance(table, partitions or [])
    snap = catalog.snapshot(table)
    if snap is None:
        report.skipped = "table does not exist"
        return report
    report.files_before = int(snap.actions().num_rows)
    if not force and not due(catalog, table, partitions):
        report.skipped = "below thresholds"
        report.files_after = report.files_before
        return report
    dt = catalog.writable(table)
    counts = _files_per_partition(catalog, table, partitions)
    # Only partitions holding several files: rewriting a lone file gains nothing.
    targets: list[Any] = [
        [(column, "=", value) for column, value in key] or None
        for key, n in counts.items()
        if n > 1
    ]
    # History rows are read newest first and by time window: cluster them by time.
    by_time = t.is_history(table) and "timestamp" in snap.schema.names
    for filters in targets:
        if by_time:
            dt.optimize.z_order(["timestamp"], partition_filters=filters)
        else:
            dt.optimize.compact(partition_filters=filters)
        report.compacted = True
    configured = dt.metadata().configuration
    missing = {k: v for k, v in t.PROPERTIES.items() if k not in configured}
    if missing:  # a table made before its properties were set (a user's own value is kept)
        dt.alter.set_table_properties(missing)
    dt.create_checkpoint()
    dt.cleanup_metadata()
    report.checkpointed = True
    catalog.cache.invalidate(table)
    after = catalog.snapshot(table)
    report.files_after = int(after.actions().num_rows) if after else 0
    return report


def vacuum(
    catalog: Catalog, table: str, retention_hours: int | None = None, dry_run: bool = False
) -> list[str]:
    """Delete files no version within the retention needs, including files a failed or killed
    writer left behind without a commit (a full vacuum: a plain one only knows files the log
    once referenced). Returns the paths (to be) deleted."""
    if catalog.snapshot(table) is None:
        return []
    hours = catalog.maintenance.retention_hours if retention_hours is None else retention_hours
    dt = catalog.writable(table)
    removed: list[str] = dt.vacuum(
        retention_hours=hours, dry_run=dry_run, enforce_retention_duration=False, full=True
    )
    if not dry_run:
        catalog.cache.invalidate(table)
    return sorted(removed)


def after_run(catalog: Catalog, touched: dict[str, list[str]]) -> list[TableMaintenance]:
    """Maintenance for the partitions a run wrote, where due. Never raises."""
    reports = []
    for table, partitions in touched.items():
        try:
            report = optimize(catalog, table, partitions, force=False, wait_seconds=0)
            if report.skipped is None and catalog.maintenance.vacuum:
                report.vacuumed = vacuum(catalog, table)
        except Exception as exc:  # another writer's optimize, a full disk...: next run retries
            log.warning("catalog maintenance of %s failed: %s", table, brief(exc))
            report = TableMaintenance(table, partitions, error=brief(exc))
        reports.append(report)
    return reports


def _files_per_partition(
    catalog: Catalog, table: str, partitions: list[str] | None
) -> dict[tuple[tuple[str, str], ...], int]:
    """Files per partition (every partition column: with ``partition_by_date`` a partition
    is a pipeline's day), for the given pipelines only when the table is partitioned by
    pipeline (every catalog table that grows with runs is)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    snap = catalog.snapshot(table)
    if snap is None:
        return {}
    actions = snap.actions()
    columns = [c for c in snap.partition_columns if f"partition.{c}" in actions.column_names]
    if not columns:
        return {(): int(actions.num_rows)}
    fields = [f"partition.{c}" for c in columns]
    chosen = actions.select(fields)
    if partitions is not None and "pipeline_name" in columns:
        names = chosen.column("partition.pipeline_name")
        chosen = chosen.filter(pc.is_in(names, value_set=pa.array(partitions, names.type)))
    counts = chosen.group_by(fields).aggregate([([], "count_all")])
    values = [counts.column(f).to_pylist() for f in fields]
    return {
        tuple(zip(columns, key, strict=True)): int(n)
        for *key, n in zip(*values, counts.column("count_all").to_pylist(), strict=True)
    }
