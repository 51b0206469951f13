"""The System Catalog: Delta tables recording every run, node, definition and high-water mark."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from odibi_core.catalog import tables as t
from odibi_core.catalog.rows import CatalogRows
from odibi_core.catalog.snapshots import Snapshot, SnapshotCache
from odibi_core.config.models import MaintenanceConfig
from odibi_core.errors import CatalogError

if TYPE_CHECKING:
    import pyarrow as pa

    from odibi_core.config.models import PipelineConfig, ProjectConfig
    from odibi_core.connections.base import Connection
    from odibi_core.secrets import SecretSet

T = TypeVar("T")

DEFAULT_LOCATION = ".odibi/system"


class Catalog:
    """Reads and writes the catalog tables under one base location."""

    def __init__(
        self,
        base_uri: str,
        storage_options: dict[str, str] | None = None,
        partition_by_date: bool = False,
        is_local: bool = True,
        fsspec_options: dict[str, Any] | None = None,
    ):
        self.base_uri = base_uri.rstrip("/")
        self.storage_options = storage_options or None  # deltalake's names
        self.fsspec_options = fsspec_options or dict(storage_options or {})
        self.partition_by_date = partition_by_date
        self.is_local = is_local
        self.maintenance = MaintenanceConfig()
        self.cache = SnapshotCache(self._open)
        #: Scrubbed from the rows written (see ``_arrow``).
        self.secrets: SecretSet | None = None

    @classmethod
    def for_project(cls, project: ProjectConfig, connections: dict[str, Connection]) -> Catalog:
        system = project.system
        if system is None or system.connection is None:
            path = system.path if system and "path" in system.model_fields_set else DEFAULT_LOCATION
            base = Path(path)
            base = base if base.is_absolute() else project.root / base
            catalog = cls(str(base.resolve()), None, bool(system and system.partition_by_date))
        else:
            conn = connections[system.connection]
            catalog = cls(
                conn.uri(system.path),
                conn.storage_options(),
                system.partition_by_date,
                conn.is_local,
                conn.fsspec_options(),
            )
        if system is not None:
            catalog.maintenance = system.maintenance
        catalog.secrets = project.secret_set
        return catalog

    def table_uri(self, table: str) -> str:
        return f"{self.base_uri}/{table}"

    # ------------------------------------------------------------ reading

    def _open(self, table: str) -> Any:
        from deltalake import DeltaTable
        from deltalake.exceptions import TableNotFoundError

        try:
            return DeltaTable(self.table_uri(table), storage_options=self.storage_options)
        except TableNotFoundError:
            return None

    def writable(self, table: str) -> Any:
        """A fresh DeltaTable handle for maintenance operations (not the cached snapshot)."""
        dt = self._open(table)
        if dt is None:
            raise CatalogError(f"catalog table '{table}' does not exist at {self.base_uri}")
        return dt

    def snapshot(self, table: str) -> Snapshot | None:
        """This execution's snapshot of a table (None if it does not exist yet)."""
        return self.cache.get(table)

    def exists(self, table: str) -> bool:
        return self.snapshot(table) is not None

    def table_names(self) -> list[str]:
        """Catalog tables present, core ones first."""
        core = [t.META_RUNS, t.META_STATE, t.META_PIPELINES, t.META_NODES]
        found = [name for name in core if self.exists(name)]
        if self.is_local:
            if Path(self.base_uri).is_dir():
                found += sorted(
                    p.name
                    for p in Path(self.base_uri).iterdir()
                    if p.name not in core and (p / "_delta_log").is_dir()
                )
            return found
        import fsspec

        fs, base = fsspec.core.url_to_fs(self.base_uri, **self.fsspec_options)
        if not fs.exists(base):
            return found
        folders = sorted(p.rstrip("/").rsplit("/", 1)[-1] for p in fs.ls(base, detail=False))
        found += [
            name for name in folders if name not in core and fs.exists(f"{base}/{name}/_delta_log")
        ]
        return found

    def read(
        self, table: str, pipeline: str | None = None, columns: list[str] | None = None
    ) -> pa.Table | None:
        """A table (one pipeline's partition when ``pipeline`` is given), or None if absent."""
        import pyarrow as pa

        if not self.exists(table):
            return None
        from odibi_core.catalog.query import scan

        return pa.Table.from_pylist(scan(self, table, pipeline=pipeline, columns=columns).rows)

    def commits_since_checkpoint(self, table: str, version: int) -> int:
        """Log entries a reader replays after the newest checkpoint."""
        try:
            marker = self._read_text(f"{self.table_uri(table)}/_delta_log/_last_checkpoint")
            checkpoint = json.loads(marker)["version"]
        except (OSError, ValueError, KeyError):
            checkpoint = -1
        return version - checkpoint

    def _read_text(self, uri: str) -> str:
        """A small file of the catalog, without building a dataset of the table."""
        if self.is_local:
            return Path(uri).read_text()
        import fsspec

        with fsspec.open(uri, "r", **self.fsspec_options) as handle:
            text: str = handle.read()
        return text

    def last_node_runs(self, pipeline: str) -> dict[str, dict[str, Any]]:
        """Each node's most recent run that actually executed (SKIPPED rows are ignored)."""
        from odibi_core.catalog.query import last_node_results

        return last_node_results(self, pipeline, ["version_hash"])

    def states(self, pipeline: str) -> dict[tuple[str, str], Any]:
        """``(node, key) -> value`` of one pipeline's state."""
        from odibi_core.catalog.query import scan

        rows = scan(
            self, t.META_STATE, pipeline=pipeline, columns=["node_name", "key", "value"]
        ).rows
        return {(r["node_name"], r["key"]): json.loads(r["value"]) for r in rows}

    # ------------------------------------------------------------ writing

    def append(self, batch: CatalogRows) -> None:
        """Append rows to a table in one commit (created on first use)."""
        if not batch.rows:
            return
        from deltalake import write_deltalake

        data = self._arrow(batch)
        partition_by = batch.partition_by
        if partition_by is None:  # the history layout, if the rows have its columns
            partition_by = t.partitioning(batch.table, self.partition_by_date)
            if partition_by and not all(c in data.column_names for c in partition_by):
                partition_by = None
        self._ensure(batch.table, data.schema, partition_by)

        def commit() -> None:
            # Through the open handle: no second log replay to write, and the handle advances
            # to this commit (delta-rs rebases a blind append over others' commits itself).
            with self.cache.table_lock(batch.table):
                dt = self.cache.handle(batch.table)
                if dt is None:  # removed behind our back since _ensure: recreate it
                    self.cache.invalidate(batch.table)
                    raise CatalogError(f"catalog table '{batch.table}' disappeared while writing")
                try:
                    write_deltalake(dt, data, mode="append")
                except Exception:
                    self.cache.invalidate(batch.table)
                    raise
                self.cache.wrote(batch.table)

        _with_retry(commit)

    def upsert(
        self,
        table: str,
        rows: list[dict[str, Any]],
        replace_partition: tuple[str, str] | None = None,
    ) -> None:
        """Insert or replace rows by the table's keys, in one commit. With
        ``replace_partition=(column, value)``, rows with that value the batch lacks are
        deleted in the same commit."""
        if not rows:
            return
        from deltalake import DeltaTable

        from odibi_core.io.delta import merge

        data = self._arrow(CatalogRows(table, rows))
        uri = self.table_uri(table)
        self._ensure(table, data.schema, t.partitioning(table, self.partition_by_date))
        delete = None
        if replace_partition is not None:
            column, value = replace_partition
            quoted = value.replace("'", "''")
            delete = f"t.{column} = '{quoted}'"

        def commit() -> None:
            table_handle = DeltaTable(uri, storage_options=self.storage_options)
            merge(table_handle, data, list(t.KEYS[table]), update=True, delete_unmatched=delete)

        _with_retry(commit)
        self.cache.invalidate(table)

    def _ensure(self, table: str, schema: Any, partition_by: list[str] | None) -> None:
        """Create an empty table first, so concurrent first writers cannot both create it."""
        if self.exists(table):
            return
        from deltalake import DeltaTable
        from deltalake.exceptions import CommitFailedError, DeltaError

        try:
            DeltaTable.create(
                self.table_uri(table),
                schema,
                mode="ignore",
                partition_by=partition_by or None,
                configuration=t.PROPERTIES,
                storage_options=self.storage_options,
            )
        except (CommitFailedError, DeltaError):
            if self._open(table) is None:  # lost a race, and nobody else created it either
                raise
        self.cache.invalidate(table)

    def register_definitions(self, pipeline: PipelineConfig) -> None:
        """Record the pipeline's and its nodes' definitions when they changed (documentation
        edits included); nodes no longer in the pipeline leave ``meta_nodes``."""
        from odibi_core.config import hashing

        config_json = hashing.pipeline_config_json(pipeline)
        if self.secrets:  # compared with what was stored, which was scrubbed
            config_json = self.secrets.scrub_field(config_json)
        version = hashing.pipeline_hash(pipeline)
        # The hash too: a variable's new value changes what runs, not what was written.
        if self.definitions().get(pipeline.pipeline) == (config_json, version):
            return
        now = datetime.now(UTC)
        self.upsert(
            t.META_PIPELINES,
            [
                {
                    "pipeline_name": pipeline.pipeline,
                    "version_hash": version,
                    "config_json": config_json,
                    "updated_at": now,
                }
            ],
        )
        self.upsert(
            t.META_NODES,
            [
                {
                    "pipeline_name": pipeline.pipeline,
                    "node_name": n.name,
                    "version_hash": hashing.node_hash(n),
                    "config_json": hashing.node_config_json(n),
                    "updated_at": now,
                }
                for n in pipeline.nodes
            ],
            replace_partition=("pipeline_name", pipeline.pipeline),
        )

    def definitions(self) -> dict[str, tuple[str, str]]:
        """pipeline → (config_json, version_hash) that ``meta_pipelines`` holds (cached per
        table version)."""

        def compute(snap: Snapshot | None) -> dict[str, tuple[str, str]]:
            if snap is None:
                return {}
            from odibi_core.catalog.query import scan

            columns = ["pipeline_name", "config_json", "version_hash"]
            rows = scan(self, t.META_PIPELINES, columns=columns).rows
            return {r["pipeline_name"]: (r["config_json"], r["version_hash"]) for r in rows}

        return self.cache.derived(t.META_PIPELINES, "definitions", compute)

    def _arrow(self, batch: CatalogRows) -> pa.Table:
        import pyarrow as pa

        schema = batch.schema if batch.schema is not None else t.schema(batch.table)
        rows = self._scrubbed(batch) if self.secrets else batch.rows
        try:
            return pa.Table.from_pylist(rows, schema=schema)
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            problem = self.secrets.scrub(str(exc)) if self.secrets else str(exc)
            raise CatalogError(
                f"rows for catalog table '{batch.table}' do not fit its schema: {problem}"
            ) from None

    def _scrubbed(self, batch: CatalogRows) -> list[dict[str, Any]]:
        """The rows without secrets in their text: names, keys and partition columns are kept
        as they are, and so is machine state (``meta_state`` values are read back)."""
        secrets = self.secrets
        if batch.table == t.META_STATE or secrets is None:
            return batch.rows
        kept = _IDENTITY | set(t.KEYS.get(batch.table, ())) | set(batch.partition_by or ())
        return [
            {
                k: secrets.scrub_field(v) if isinstance(v, str) and k not in kept else v
                for k, v in row.items()
            }
            for row in batch.rows
        ]


#: Columns that identify a row rather than describe it: never scrubbed.
_IDENTITY = frozenset(
    {
        "run_id",
        "project",
        "pipeline_name",
        "node_name",
        "scope",
        "status",
        "environment",
        "date",
        "trace_id",
        "span_id",
        "version_hash",
        "metric_name",
        "kind",
        "unit",
    }
)


def _with_retry(commit: Callable[[], T], attempts: int = 8) -> T:
    """Run a Delta commit, retrying conflicts from concurrent writers with jittered backoff."""
    from deltalake.exceptions import CommitFailedError

    for attempt in range(1, attempts + 1):
        try:
            return commit()
        except CommitFailedError:
            if attempt == attempts:
                raise
            time.sleep(min(2.0, 0.05 * 2**attempt) * random.uniform(0.5, 1.5))
    raise AssertionError("unreachable")


def utc_date(ts: datetime) -> Any:
    return ts.astimezone(UTC).date()


def run_rows(
    result: Any,
    project: str,
    hashes: dict[str, str],
    pipeline_hash: str,
    trace_id: str | None = None,
) -> Iterable[dict[str, Any]]:
    """``meta_runs`` rows for a pipeline run: one per node, then one for the pipeline."""
    for node in result.nodes.values():
        yield {
            "run_id": result.run_id,
            "project": project,
            "pipeline_name": result.pipeline,
            "node_name": node.node,
            "scope": "node",
            "status": node.status,
            "started_at": node.started_at,
            "timestamp": node.ended_at,
            "date": utc_date(node.ended_at),
            "duration_ms": node.duration_ms,
            "rows_in": node.rows_in,
            "rows_out": node.rows_out,
            "attempt": node.attempt,
            "error_type": node.error_type,
            "error_message": node.error_message,
            "dq_score": node.dq_score,
            "version_hash": hashes.get(node.node),
            "environment": result.environment,
            "trace_id": trace_id,
            "metrics_json": json.dumps(node.metrics, default=str) if node.metrics else None,
        }
    ended = result.ended_at or datetime.now(UTC)
    failed = result.failed
    yield {
        "run_id": result.run_id,
        "project": project,
        "pipeline_name": result.pipeline,
        "node_name": None,
        "scope": "pipeline",
        "status": result.status,
        "started_at": result.started_at,
        "timestamp": ended,
        "date": utc_date(ended),
        "duration_ms": result.duration_ms,
        "rows_in": None,
        "rows_out": result.rows_written,
        "attempt": 1,
        "error_type": failed[0].error_type if failed else None,
        "error_message": (f"{len(failed)} node(s) failed: " + ", ".join(n.node for n in failed))
        if failed
        else None,
        "dq_score": result.dq_score,
        "version_hash": pipeline_hash,
        "environment": result.environment,
        "trace_id": trace_id,
        "metrics_json": json.dumps(
            {
                "nodes": {
                    s: sum(1 for n in result.nodes.values() if n.status == s)
                    for s in ("SUCCESS", "FAILURE", "SKIPPED")
                }
            }
        ),
    }
