"""The ``scd2`` transformer's own write (no write block) through the real CLI: Odibi's
``delete_col``, ``use_delta_merge``, ``vacuum_hours`` and ``register_table``, over three loads
(insert, change, unchanged, delete). The Delta log is read with deltalake to see how each load
was written."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

LOADS = [
    "customer_id,city,deleted,changed_at\n1,Rome,false,2024-01-01\n2,Oslo,false,2024-01-01\n"
    "3,Lima,false,2024-01-01\n",
    # 1 moves, 2 unchanged, 3 deleted at the source, 4 new.
    "customer_id,city,deleted,changed_at\n1,Milan,false,2024-02-01\n2,Oslo,false,2024-02-01\n"
    "3,Lima,true,2024-02-01\n4,Nice,false,2024-02-01\n",
    # 2 moves; 3 is no longer sent (its history stays closed); 1 and 4 unchanged.
    "customer_id,city,deleted,changed_at\n1,Milan,false,2024-03-01\n2,Bern,false,2024-03-01\n"
    "4,Nice,false,2024-03-01\n",
]

PROJECT = """
project: history
connections:
  src: {{type: local, base_path: ./data}}
  silver: {{type: local, base_path: ./silver}}
pipelines:
  - pipeline: p
    nodes:
      - name: customers_history
        read: {{connection: src, format: csv, path: customers.csv}}
        transformer: scd2
        params:
          connection: silver
          path: dim_customers
          keys: [customer_id]
          track_cols: [city]
          effective_time_col: changed_at
          delete_col: deleted
          {extra}
"""

HISTORY = [
    (1, "Rome", "2024-01-01", "2024-02-01", False),
    (1, "Milan", "2024-02-01", None, True),
    (2, "Oslo", "2024-01-01", "2024-03-01", False),
    (2, "Bern", "2024-03-01", None, True),
    (3, "Lima", "2024-01-01", "2024-02-01", False),  # closed by the delete flag, not reopened
    (4, "Nice", "2024-02-01", None, True),
]


def _history(project: Any) -> list[tuple[Any, ...]]:
    def day(value: Any) -> str | None:
        return None if value is None else str(value)[:10]

    rows = project.delta("silver/dim_customers")
    got = [
        (r["customer_id"], r["city"], day(r["valid_from"]), day(r["valid_to"]), r["is_current"])
        for r in rows
    ]
    return sorted(got, key=lambda r: (r[0], r[2]))


def _operations(project: Any) -> list[str]:
    from deltalake import DeltaTable

    history = DeltaTable(str(project.path("silver/dim_customers"))).history()
    return [h["operation"] for h in sorted(history, key=lambda h: h["version"])]


def _three_loads(project: Any) -> None:
    for load in LOADS:
        project.write({"data/customers.csv": load})
        run = project.run()
        assert run.exit_code == 0, run.output


@pytest.mark.parametrize(
    ("extra", "operations"),
    [
        ("", ["WRITE", "MERGE", "MERGE"]),
        ("use_delta_merge: false", ["WRITE", "WRITE", "WRITE"]),
    ],
)
def test_scd2_with_deletes_over_three_loads(odibi_project, extra, operations):
    project = odibi_project({"odibi.yaml": PROJECT.format(extra=extra)})
    _three_loads(project)
    assert _history(project) == HISTORY
    # use_delta_merge (the default) MERGEs each later load; false rewrites the table.
    assert _operations(project) == operations


def test_vacuum_hours_removes_files_no_version_needs(odibi_project):
    project = odibi_project({"odibi.yaml": PROJECT.format(extra="vacuum_hours: 0")})
    _three_loads(project)
    from deltalake import DeltaTable

    table = Path(project.path("silver/dim_customers"))
    live = {Path(f).name for f in DeltaTable(str(table)).file_uris()}
    on_disk = {p.name for p in table.rglob("*.parquet")}
    assert on_disk == live
    assert _history(project) == HISTORY


def test_options_that_need_their_own_write_or_spark_say_so(odibi_project):
    project = odibi_project({"odibi.yaml": PROJECT.format(extra="register_table: silver.dim")})
    run = project.odibi("validate", "{config}")
    assert run.exit_code == 2
    assert "register_table registers the table in Spark's metastore; the pandas engine" in (
        run.output
    )
    written = PROJECT.format(extra="vacuum_hours: 24") + (
        "        write: {connection: silver, format: delta, path: dim_customers}\n"
    )
    project = odibi_project({"odibi.yaml": written, "data/customers.csv": LOADS[0]})
    run = project.run()
    assert run.exit_code == 1
    assert "'vacuum_hours' applies when scd2 writes its own target; this node has a write" in (
        run.output
    )
    parquet = PROJECT.format(extra="vacuum_hours: 24").replace(
        "path: dim_customers", "path: dim_customers.parquet"
    )
    project = odibi_project({"odibi.yaml": parquet, "data/customers.csv": LOADS[0]})
    run = project.run()
    assert run.exit_code == 1
    assert "vacuum_hours applies to Delta tables; 'dim_customers.parquet' is parquet" in run.output
