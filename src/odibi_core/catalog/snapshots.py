"""Per-execution cache of catalog table snapshots.

A CLI execution opens each catalog table once and reuses the snapshot (its Delta log replay,
file list and statistics) for every read; the process's own commits invalidate it. Results
derived from a snapshot are cached under its version.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")


@dataclass
class Snapshot:
    """One version of one catalog table, with lazily built views of it."""

    table: str
    dt: Any  # deltalake.DeltaTable
    version: int
    partition_columns: list[str]
    _datasets: dict[str | None, Any] = field(default_factory=dict)
    _actions: Any = None

    def dataset(self, pipeline: str | None = None) -> Any:
        """A pyarrow dataset whose fragments carry partition values and file statistics; with
        ``pipeline``, of that pipeline's partition only (building a fragment per file of the
        whole table costs in proportion to the whole table)."""
        if pipeline is not None and "pipeline_name" not in self.partition_columns:
            pipeline = None
        if pipeline not in self._datasets:
            partitions = [("pipeline_name", "=", pipeline)] if pipeline is not None else None
            self._datasets[pipeline] = self.dt.to_pyarrow_dataset(file_pruning_predicate=partitions)
        return self._datasets[pipeline]

    @property
    def schema(self) -> Any:
        """The table's pyarrow schema."""
        import pyarrow as pa

        return pa.schema(self.dt.schema())

    def actions(self) -> Any:
        """The add actions (path, size, rows, min/max per column) as a pyarrow table."""
        if self._actions is None:
            import pyarrow as pa

            self._actions = pa.table(self.dt.get_add_actions(flatten=True))
        return self._actions


@dataclass
class CacheStats:
    loads: int = 0
    hits: int = 0
    invalidations: int = 0
    loaded: list[str] = field(default_factory=list)


class SnapshotCache:
    """Snapshots per table, and the open ``DeltaTable`` handle each was read from.

    Opening a table replays its log (the costliest step of a small query or write), so the
    handle outlives its snapshot: the process's own appends go through it and advance it,
    and ``refresh`` brings it up to date incrementally; only ``invalidate`` (after merges and
    maintenance, which rewrite files) makes the next read open the table afresh.
    """

    def __init__(self, opener: Callable[[str], Any | None]):
        self._open = opener
        self._snapshots: dict[str, Snapshot | None] = {}
        self._handles: dict[str, Any] = {}
        self._derived: dict[tuple[str, int, Any], Any] = {}
        self._lock = threading.RLock()
        self._table_locks: dict[str, threading.Lock] = {}
        self.stats = CacheStats()

    def get(self, table: str) -> Snapshot | None:
        with self._lock:
            if table in self._snapshots:
                self.stats.hits += 1
                return self._snapshots[table]
            dt = self._handles.get(table)
            if dt is None:
                self.stats.loads += 1
                self.stats.loaded.append(table)
                dt = self._open(table)
            snap = None
            if dt is not None:
                self._handles[table] = dt
                snap = Snapshot(table, dt, dt.version(), list(dt.metadata().partition_columns))
            self._snapshots[table] = snap
            return snap

    def handle(self, table: str) -> Any | None:
        """The open DeltaTable of ``table`` (None if the table does not exist)."""
        snap = self.get(table)
        return snap.dt if snap is not None else None

    def table_lock(self, table: str) -> threading.Lock:
        """Serialises writes through one table's shared handle within this process."""
        with self._lock:
            return self._table_locks.setdefault(table, threading.Lock())

    def derived(self, table: str, key: Any, compute: Callable[[Snapshot | None], T]) -> T:
        """``compute(snapshot)`` once per table version and key."""
        with self._lock:
            snap = self.get(table)
            version = snap.version if snap else -1
            cache_key = (table, version, key)
            if cache_key not in self._derived:
                self._derived[cache_key] = compute(snap)
            return self._derived[cache_key]  # type: ignore[no-any-return]

    def wrote(self, table: str) -> None:
        """The process appended through the handle (which now is at its own commit)."""
        with self._lock:
            self.stats.invalidations += 1
            self._snapshots.pop(table, None)

    def refresh(self, table: str) -> None:
        """Catch up with every writer's commits, reading only the log entries since."""
        with self._lock:
            self.stats.invalidations += 1
            self._snapshots.pop(table, None)
            dt = self._handles.get(table)
        if dt is not None:
            try:
                dt.update_incremental()
            except Exception:  # the log moved on too far (cleaned up): open afresh
                self.invalidate(table)

    def invalidate(self, table: str) -> None:
        """Forget the table: the next read opens it afresh."""
        with self._lock:
            self.stats.invalidations += 1
            self._snapshots.pop(table, None)
            self._handles.pop(table, None)
