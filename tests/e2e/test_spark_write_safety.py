"""The write-safety rules of ``test_write_safety.py`` on ``engine: spark``: the same message for
repeated keys, nothing written, null keys matched, empty outputs refused. Through the real CLI,
on the process's one local Spark session (started by the first Spark test that runs)."""

from __future__ import annotations

from pathlib import Path

import pytest
from deltalake import DeltaTable

pytest.importorskip("pyspark", reason="the spark extra is part of the dev install")

X = "\N{MULTIPLICATION SIGN}"
PROJECT = """\
project: p
engine: spark
retry: {{max_attempts: 3, backoff: constant, backoff_seconds: 0}}
connections: {{d: {{type: local, base_path: .}}}}
pipelines:
  - pipeline: p
    nodes:
      - name: orders
        read: {{connection: d, format: csv, path: in.csv}}
        write: {{connection: d, format: {fmt}, path: {path}, mode: {mode}{extra}}}
"""
KEYED = ", options: {keys: [order_id]}"


def _snapshot(path: Path) -> dict[str, bytes]:
    return {str(p.relative_to(path)): p.read_bytes() for p in path.rglob("*") if p.is_file()}


def _last_node_run(project) -> dict:
    return max(
        (r for r in project.catalog("meta_runs") if r["scope"] == "node"),
        key=lambda r: r["timestamp"],
    )


@pytest.mark.parametrize("fmt,path", [("delta", "gold/orders"), ("parquet", "gold/orders.pq")])
def test_spark_refuses_repeated_keys_and_matches_null_keys(odibi_project, fmt, path):
    project = odibi_project(
        {
            "odibi.yaml": PROJECT.format(fmt=fmt, path=path, mode="upsert", extra=KEYED),
            "in.csv": "order_id,amount\n1,1.0\n,2.0\n",
        }
    )
    assert project.run().exit_code == 0
    # A null key is a key value: the null-keyed row is updated, not added again.
    project.write({"in.csv": "order_id,amount\n,3.0\n3,1.0\n"})
    assert project.run().exit_code == 0
    target = project.path(path)
    if fmt == "delta":
        rows = DeltaTable(str(target)).to_pyarrow_table().to_pylist()
    else:
        import pyarrow.dataset as ds

        rows = ds.dataset(str(target)).to_table().to_pylist()
    assert sorted((r["order_id"] or 0, r["amount"]) for r in rows) == [(0, 3.0), (1, 1.0), (3, 1.0)]
    before = _snapshot(target)

    project.write({"in.csv": "order_id,amount\n9,1.0\n7,1.0\n9,2.0\n7,2.0\n,1.0\n,2.0\n2,1.0\n"})
    run = project.run()

    assert run.exit_code == 1
    message = (
        f"upsert into {path}: 3 keys repeat in the incoming rows "
        f"(order_id=7 {X}2, order_id=9 {X}2, order_id=null {X}2); "
        "deduplicate first (transformer: deduplicate)"
    )
    assert f"FAILURE p.orders (write): {message}\n" in run.stdout
    assert _snapshot(target) == before  # same files, same Delta version
    failed = _last_node_run(project)
    assert (failed["attempt"], failed["error_message"]) == (1, message)


def test_spark_does_not_replace_a_full_table_with_an_empty_input(odibi_project):
    project = odibi_project(
        {
            "odibi.yaml": PROJECT.format(
                fmt="parquet", path="gold/orders.pq", mode="overwrite", extra=""
            ),
            "in.csv": "order_id,amount\n1,1.0\n2,2.0\n",
        }
    )
    assert project.run().exit_code == 0
    before = _snapshot(project.path("gold/orders.pq"))
    project.write({"in.csv": "order_id,amount\n"})
    run = project.run()
    assert run.exit_code == 1
    assert "overwrite of gold/orders.pq with 0 rows would replace its 2 rows; nothing written" in (
        run.stdout
    )
    assert "WARNING p.orders: read 0 rows\n" in run.stdout
    assert _snapshot(project.path("gold/orders.pq")) == before
