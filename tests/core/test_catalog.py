"""The fast catalog: pruned queries, maintenance, vacuum, the per-execution cache.

History is written through the real Catalog API (the same appends runs make), with
timestamps spread over past days, and read back both through the query API and with the
independent Delta reader."""

from __future__ import annotations

import os
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from odibi_core.catalog import maintenance, query
from odibi_core.catalog import tables as t
from odibi_core.catalog.locks import maintenance_lock
from odibi_core.catalog.manager import Catalog
from odibi_core.catalog.rows import CatalogRows
from odibi_core.testing import read_delta
from odibi_core.testing.delta_reader import active_files

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def run_row(
    pipeline: str,
    when: datetime,
    status: str = "SUCCESS",
    scope: str = "pipeline",
    node: str | None = None,
    run_id: str | None = None,
) -> dict:
    return {
        "run_id": run_id or str(uuid.uuid4()),
        "project": "p",
        "pipeline_name": pipeline,
        "node_name": node,
        "scope": scope,
        "status": status,
        "started_at": when,
        "timestamp": when,
        "date": when.date(),
        "duration_ms": 10,
        "rows_in": 1,
        "rows_out": 1,
        "attempt": 1,
        "error_type": None,
        "error_message": None,
        "dq_score": None,
        "version_hash": "h",
        "environment": None,
        "trace_id": None,
        "metrics_json": None,
    }


def history(catalog: Catalog, pipelines=("a", "b", "c"), days: int = 10) -> None:
    """One commit per pipeline per day, a pipeline row and two node rows each, like runs."""
    for day in range(days, 0, -1):
        for p in pipelines:
            when = NOW - timedelta(days=day - 1, hours=hash(p) % 5)
            run_id = str(uuid.uuid4())
            status = "FAILURE" if day % 4 == 0 else "SUCCESS"
            rows = [run_row(p, when, status, run_id=run_id)]
            rows += [
                run_row(p, when - timedelta(seconds=5), "SUCCESS", "node", n, run_id)
                for n in ("x", "y")
            ]
            catalog.append(CatalogRows(t.META_RUNS, rows))


@pytest.fixture
def catalog(tmp_path: Path) -> Catalog:
    return Catalog(str(tmp_path / "system"))


def test_queries_read_only_the_pipelines_partition(catalog):
    history(catalog)
    result = query.runs(catalog, pipeline="b")
    assert len(result.rows) == 10 and {r["pipeline_name"] for r in result.rows} == {"b"}
    assert result.stats.files_total == 30
    assert result.stats.files_read == 10
    assert all(p.startswith("pipeline_name=b/") for p in result.stats.read_paths)
    # Newest first, and exactly what an independent reader finds.
    independent = sorted(
        (
            r
            for r in read_delta(catalog.table_uri(t.META_RUNS))
            if r["pipeline_name"] == "b" and r["scope"] == "pipeline"
        ),
        key=lambda r: r["timestamp"],
        reverse=True,
    )
    assert [r["run_id"] for r in result.rows] == [r["run_id"] for r in independent]


def test_since_prunes_old_files_by_their_timestamp_statistics(catalog):
    history(catalog)
    since = NOW - timedelta(days=2, hours=12)
    result = query.runs(catalog, pipeline="a", since=since)
    expected = {
        r["run_id"]
        for r in read_delta(catalog.table_uri(t.META_RUNS))
        if r["pipeline_name"] == "a" and r["scope"] == "pipeline" and r["timestamp"] >= since
    }
    assert {r["run_id"] for r in result.rows} == expected and len(expected) == 3
    assert result.stats.files_read == 3  # the seven older files were never opened

    failures = query.runs(catalog, pipeline="a", status="FAILURE")
    assert {r["status"] for r in failures.rows} == {"FAILURE"} and len(failures.rows) == 2
    nodes = query.runs(catalog, pipeline="a", scope="node", since=since)
    assert {r["node_name"] for r in nodes.rows} == {"x", "y"}


def test_last_run_reads_newest_files_first_and_stops_early(catalog):
    history(catalog)
    result = query.last_run(catalog, "c")
    newest = max(
        (
            r
            for r in read_delta(catalog.table_uri(t.META_RUNS))
            if r["pipeline_name"] == "c" and r["scope"] == "pipeline"
        ),
        key=lambda r: r["timestamp"],
    )
    assert result.rows[0]["run_id"] == newest["run_id"]
    assert result.stats.files_read == 1 and result.stats.files_total == 30
    everyone = query.last_runs(catalog)
    assert sorted(r["pipeline_name"] for r in everyone.rows) == ["a", "b", "c"]
    assert everyone.stats.files_read == 3
    assert query.last_run(catalog, "nope").rows == []


def test_queries_on_a_missing_catalog_are_empty(tmp_path):
    empty = Catalog(str(tmp_path / "none"))
    assert query.runs(empty).rows == [] and query.last_runs(empty).rows == []
    assert query.state(empty).rows == [] and query.table_stats(empty) == []


def test_maintenance_reduces_files_without_changing_any_answer(catalog):
    history(catalog)
    catalog.upsert(
        t.META_STATE,
        [
            {"pipeline_name": p, "node_name": "n", "key": "hwm", "value": "1", "updated_at": NOW}
            for p in "abc"
        ],
    )
    before = {
        "runs": query.runs(catalog, scope="all").rows,
        "last": query.last_runs(catalog).rows,
        "since": query.runs(catalog, "b", NOW - timedelta(days=3)).rows,
        "state": query.state(catalog).rows,
    }
    files_before = len(active_files(catalog.table_uri(t.META_RUNS)))
    report = maintenance.optimize(catalog, t.META_RUNS)
    assert report.compacted and report.checkpointed
    assert files_before == report.files_before == 30
    assert report.files_after == len(active_files(catalog.table_uri(t.META_RUNS))) == 3
    fresh = Catalog(catalog.base_uri)  # a new execution: nothing cached
    after = {
        "runs": query.runs(fresh, scope="all").rows,
        "last": query.last_runs(fresh).rows,
        "since": query.runs(fresh, "b", NOW - timedelta(days=3)).rows,
        "state": query.state(fresh).rows,
    }
    key = lambda r: (r["run_id"], r["node_name"] or "")  # noqa: E731
    assert sorted(after["runs"], key=key) == sorted(before["runs"], key=key)
    assert after["last"] == before["last"] and after["state"] == before["state"]
    assert sorted(after["since"], key=key) == sorted(before["since"], key=key)
    # Z-ordered by timestamp: the compacted partition file is sorted, so --since still prunes
    # rows by statistics inside one file and last-run reads that one file.
    assert query.last_run(fresh, "a").stats.files_read == 1
    assert fresh.commits_since_checkpoint(t.META_RUNS, fresh.snapshot(t.META_RUNS).version) == 0


def test_maintenance_after_a_run_waits_for_its_thresholds(catalog):
    catalog.maintenance.max_files = 5
    catalog.maintenance.max_commits = 1000
    history(catalog, pipelines=("a", "b"), days=4)
    reports = maintenance.after_run(catalog, {t.META_RUNS: ["a"]})
    assert reports[0].skipped == "below thresholds"
    history(catalog, pipelines=("a",), days=2)  # a: 6 files > 5
    (report,) = maintenance.after_run(catalog, {t.META_RUNS: ["a"]})
    assert report.compacted and report.files_after == 1 + 4  # a compacted, b untouched
    counts = {}
    for _path, parts in active_files(catalog.table_uri(t.META_RUNS)):
        counts[parts["pipeline_name"]] = counts.get(parts["pipeline_name"], 0) + 1
    assert counts == {"a": 1, "b": 4}


def test_a_run_below_thresholds_neither_waits_for_nor_takes_the_maintenance_lock(catalog):
    history(catalog, pipelines=("a",), days=2)
    with maintenance_lock(catalog.base_uri, t.META_RUNS, True) as held:  # another process
        assert held
        (report,) = maintenance.after_run(catalog, {t.META_RUNS: ["a"]})
    # Not "another process is maintaining this table": the lock was never asked for.
    assert report.skipped == "below thresholds" and report.files_before == 2


def test_runs_leave_a_remote_catalogs_maintenance_alone_without_looking_at_it(tmp_path):
    remote = Catalog(str(tmp_path / "system"), is_local=False)  # e.g. ADLS: no lock there yet
    history(remote, pipelines=("a",), days=3)
    (report,) = maintenance.after_run(remote, {t.META_RUNS: ["a"]})
    # Said before reading the table's log or files (not "below thresholds").
    assert report.skipped == "automatic maintenance needs a local catalog"
    assert report.files_before == 0


def test_catalog_logs_are_checkpointed_every_ten_commits_by_their_writers(catalog):
    history(catalog, pipelines=("a",), days=25)  # the table's creation, then 25 appends
    log = Path(catalog.table_uri(t.META_RUNS)) / "_delta_log"
    assert sorted(p.name for p in log.glob("*.checkpoint.parquet")) == [
        f"{v:020d}.checkpoint.parquet" for v in (9, 19)
    ]
    version = catalog.snapshot(t.META_RUNS).version
    assert version == 25 and catalog.commits_since_checkpoint(t.META_RUNS, version) == 6


def test_maintenance_gives_a_table_made_before_its_properties_existed_its_properties(catalog):
    import pyarrow as pa
    from deltalake import DeltaTable, write_deltalake

    uri = catalog.table_uri(t.META_RUNS)
    row = run_row("a", NOW, "SUCCESS")
    write_deltalake(uri, pa.Table.from_pylist([row], schema=t.schema(t.META_RUNS)))
    assert "delta.checkpointInterval" not in DeltaTable(uri).metadata().configuration
    maintenance.optimize(catalog, t.META_RUNS)
    assert DeltaTable(uri).metadata().configuration["delta.checkpointInterval"] == "10"
    assert len(query.runs(Catalog(catalog.base_uri)).rows) == 1


def test_vacuum_removes_only_unreferenced_files_past_retention(catalog):
    history(catalog, pipelines=("a",), days=3)
    root = Path(catalog.table_uri(t.META_RUNS))
    originals = {root / p for p, _ in active_files(root)}
    maintenance.optimize(catalog, t.META_RUNS)
    kept = {root / p for p, _ in active_files(root)}
    assert not kept & originals
    # A writer killed before committing leaves a file the log never mentions.
    orphan = root / "pipeline_name=a" / "part-00000-orphan-c000.snappy.parquet"
    orphan.write_bytes((next(iter(originals))).read_bytes())
    old = time.time() - 10 * 3600
    for path in [*originals, orphan]:
        os.utime(path, (old, old))
    recent_orphan = root / "pipeline_name=a" / "part-00000-recent-c000.snappy.parquet"
    recent_orphan.write_bytes(orphan.read_bytes())

    # Retention 5 h: only the old orphan goes. The compacted-away files were removed from
    # the log moments ago, so time travel within the retention still needs them.
    planned = maintenance.vacuum(catalog, t.META_RUNS, retention_hours=5, dry_run=True)
    assert planned == ["pipeline_name=a/part-00000-orphan-c000.snappy.parquet"]
    assert orphan.exists()
    assert maintenance.vacuum(catalog, t.META_RUNS, retention_hours=5) == planned
    assert not orphan.exists() and recent_orphan.exists()
    assert all(p.exists() for p in originals)

    # Retention 0: every unreferenced file goes; referenced ones never do.
    removed = maintenance.vacuum(catalog, t.META_RUNS, retention_hours=0)
    assert len(removed) == len(originals) + 1
    assert not any(p.exists() for p in originals) and not recent_orphan.exists()
    assert all(p.exists() for p in kept)
    assert len([r for r in read_delta(root) if r["scope"] == "pipeline"]) == 3


def test_snapshots_are_read_once_per_execution_and_refreshed_after_own_writes(catalog):
    history(catalog, pipelines=("a",), days=2)
    fresh = Catalog(catalog.base_uri)
    for _ in range(3):
        query.runs(fresh, "a")
        query.last_run(fresh, "a")
    assert fresh.cache.stats.loads == 1 and fresh.cache.stats.loaded == [t.META_RUNS]
    fresh.append(CatalogRows(t.META_RUNS, [run_row("a", NOW + timedelta(hours=1))]))
    assert len(query.runs(fresh, "a").rows) == 3  # own write is visible...
    assert fresh.cache.stats.loads == 1  # ...through the handle it was written with
    other = Catalog(catalog.base_uri)  # another process
    other.append(CatalogRows(t.META_RUNS, [run_row("a", NOW + timedelta(hours=2))]))
    assert len(query.runs(fresh, "a").rows) == 3  # one snapshot per execution
    fresh.cache.refresh(t.META_RUNS)  # what maintenance does before deciding
    assert len(query.runs(fresh, "a").rows) == 4 and fresh.cache.stats.loads == 1
    fresh.append(CatalogRows(t.META_RUNS, [run_row("a", NOW + timedelta(hours=3))]))
    assert len(read_delta(catalog.table_uri(t.META_RUNS))) == 2 * 3 + 3


def test_unchanged_definitions_are_read_once_and_never_rewritten(odibi_project, monkeypatch):
    pipelines = "\n".join(
        f"""\
  - pipeline: p{i}
    nodes:
      - name: n
        read: {{connection: d, format: csv, path: in.csv}}"""
        for i in range(3)
    )
    project = odibi_project(
        {
            "odibi.yaml": f"""\
project: p
connections: {{d: {{type: local, base_path: .}}}}
pipelines:
{pipelines}
""",
            "in.csv": "a\n1\n",
        }
    )
    assert project.run().exit_code == 0
    opened: list[str] = []
    real_open = Catalog._open

    def counting_open(self, table):
        opened.append(table)
        return real_open(self, table)

    monkeypatch.setattr(Catalog, "_open", counting_open)
    log = project.path(".odibi/system/meta_pipelines/_delta_log")
    commits = sorted(log.glob("*.json"))
    assert project.run().exit_code == 0
    assert opened.count("meta_pipelines") == 1  # three pipelines, one read
    assert sorted(log.glob("*.json")) == commits


def test_recent_node_runs_read_only_the_newest_runs(catalog):
    # 12 daily runs of pipeline a; node y failed in the newest 5, so its last good run is
    # the sixth newest; x always succeeded.
    ids = []
    for day in range(12, 0, -1):
        when = NOW - timedelta(days=day)
        run_id = str(uuid.uuid4())
        ids.append(run_id)
        y_status = "FAILURE" if day <= 5 else "SUCCESS"
        catalog.append(
            CatalogRows(
                t.META_RUNS,
                [
                    run_row("a", when, scope="node", node="x", run_id=run_id),
                    run_row("a", when, y_status, scope="node", node="y", run_id=run_id),
                ],
            )
        )
    newest_first = ids[::-1]
    result = query.recent_node_runs(catalog, "a", 3, ["dq_score"], exclude_run=newest_first[0])
    assert [r["run_id"] for r in result.rows[::2]] == newest_first[1:4]
    assert result.stats.files_read == 4 and result.stats.files_total == 12

    wanted = query.recent_node_runs(catalog, "a", 3, ["dq_score"], want_success={"x", "y"})
    good_y = [r for r in wanted.rows if r["node_name"] == "y" and r["status"] == "SUCCESS"]
    assert [r["run_id"] for r in good_y] == [newest_first[5]]  # read back as far as needed
    assert wanted.stats.files_read == 6
    never = query.recent_node_runs(catalog, "a", 1, [], want_success={"no_such_node"})
    assert never.stats.files_read == 10  # gave up after ten times the runs asked for
    window = query.recent_node_runs(
        catalog, "a", 3, [], want_success={"y"}, since=NOW - timedelta(days=4)
    )
    assert window.stats.files_read == 4 and not [
        r for r in window.rows if r["node_name"] == "y" and r["status"] == "SUCCESS"
    ]


def test_a_plugins_own_table_is_laid_out_and_compacted_as_history_unless_it_says_otherwise(
    catalog,
):
    """Core knows no plugin's table by name: any table that is not keyed is history."""
    import pyarrow as pa
    from deltalake import DeltaTable

    schema = pa.schema(
        [
            ("pipeline_name", pa.string()),
            ("check", pa.string()),
            ("timestamp", pa.timestamp("us", tz="UTC")),
            ("date", pa.date32()),
        ]
    )
    for day in range(3):
        when = NOW - timedelta(days=day)
        rows = [
            {"pipeline_name": p, "check": "c", "timestamp": when, "date": when.date()}
            for p in ("a", "b")
        ]
        catalog.append(CatalogRows("acme_checks", rows, schema))
        catalog.append(CatalogRows("acme_flat", rows, schema, partition_by=[]))
    assert DeltaTable(catalog.table_uri("acme_checks")).metadata().partition_columns == [
        "pipeline_name"
    ]
    assert DeltaTable(catalog.table_uri("acme_flat")).metadata().partition_columns == []

    by_date = Catalog(catalog.base_uri + "_by_date", partition_by_date=True)
    by_date.append(CatalogRows("acme_checks", rows, schema))
    assert DeltaTable(by_date.table_uri("acme_checks")).metadata().partition_columns == [
        "pipeline_name",
        "date",
    ]

    maintenance.optimize(catalog, "acme_checks")
    (last,) = DeltaTable(catalog.table_uri("acme_checks")).history(1)
    assert last["operation"] == "OPTIMIZE"
    assert last["operationMetrics"]["plannerStrategy"] == "zOrder"
    assert len(read_delta(catalog.table_uri("acme_checks"))) == 6
