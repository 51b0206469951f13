"""``type: delta`` connections (``catalog`` + ``schema``, Unity Catalog style) as Odibi's docs
write them: metastore tables on Spark; Delta tables under ``base_path`` on pandas and polars,
and a validate error naming the fix without it. Through the real CLI."""

from __future__ import annotations

import pytest
from deltalake import DeltaTable

PROJECT = """\
project: uc
engine: {engine}
connections:
  raw: {{type: local, base_path: .}}
  silver:
    type: delta
    catalog: {catalog}
    schema: silver{extra}
pipelines:
  - pipeline: p
    nodes:
      - name: load
        read: {{connection: raw, format: csv, path: in.csv}}
        write: {{connection: silver, format: delta, table: customers, mode: upsert, options: {{keys: [id]}}}}
      - name: back
        depends_on: [load]
        read: {{connection: silver, format: delta, table: customers}}
        transform: {{steps: ["SELECT COUNT(*) AS n FROM df"]}}
        write: {{connection: raw, format: csv, path: count.csv}}
"""
FIRST = "id,name\n1,ann\n2,bob\n"
SECOND = "id,name\n2,bobby\n3,cy\n"


@pytest.mark.parametrize("engine", ["pandas", "polars"])
def test_catalog_tables_live_under_base_path_on_in_process_engines(odibi_project, engine):
    text = PROJECT.format(engine=engine, catalog="main", extra="\n    base_path: lake")
    project = odibi_project({"odibi.yaml": text, "in.csv": FIRST})
    assert project.odibi("validate", "{config}").exit_code == 0
    assert project.run().exit_code == 0
    project.write({"in.csv": SECOND})
    run = project.run()
    assert run.exit_code == 0, run.output
    table = DeltaTable(str(project.path("lake/main/silver/customers"))).to_pyarrow_table()
    assert sorted(table.to_pylist(), key=lambda r: r["id"]) == [
        {"id": 1, "name": "ann"},
        {"id": 2, "name": "bobby"},
        {"id": 3, "name": "cy"},
    ]
    assert project.path("count.csv").read_text().splitlines() == ["n", "3"]


def test_without_base_path_validate_says_only_spark_reaches_the_metastore(odibi_project):
    text = PROJECT.format(engine="pandas", catalog="main", extra="")
    run = odibi_project({"odibi.yaml": text, "in.csv": FIRST}).odibi("validate", "{config}")
    assert run.exit_code == 2
    assert run.stderr.count("\n") == 1, run.stderr
    assert (
        "connection 'silver': catalog 'main', schema 'silver' is a metastore only the spark "
        "engine reaches; on the pandas engine give it base_path"
    ) in run.stderr


def test_a_catalog_connection_holds_delta_tables_only(odibi_project):
    text = PROJECT.format(engine="spark", catalog="main", extra="").replace(
        "format: delta, table: customers, mode: upsert",
        "format: parquet, table: customers, mode: upsert",
    )
    run = odibi_project({"odibi.yaml": text, "in.csv": FIRST}).odibi("validate", "{config}")
    assert run.exit_code == 2
    assert "connection 'silver' (type delta) holds delta tables only, not parquet" in run.stderr


def test_on_spark_they_are_metastore_tables_read_and_merged_by_name(odibi_project):
    pytest.importorskip("pyspark")
    from odibi_core.config.models import ProjectConfig
    from odibi_core.engines.spark_engine import SparkEngine

    spark = SparkEngine(ProjectConfig(project="uc")).spark  # the session the run will use
    spark.sql("CREATE SCHEMA IF NOT EXISTS spark_catalog.silver")
    spark.sql("DROP TABLE IF EXISTS spark_catalog.silver.customers")
    text = PROJECT.format(engine="spark", catalog="spark_catalog", extra="")
    project = odibi_project({"odibi.yaml": text, "in.csv": FIRST})
    assert project.odibi("validate", "{config}").exit_code == 0
    assert project.run().exit_code == 0
    project.write({"in.csv": SECOND})
    run = project.run()
    assert run.exit_code == 0, run.output
    rows = spark.sql("SELECT id, name FROM spark_catalog.silver.customers ORDER BY id").collect()
    assert [tuple(r) for r in rows] == [(1, "ann"), (2, "bobby"), (3, "cy")]
    history = spark.sql("DESCRIBE HISTORY spark_catalog.silver.customers").collect()
    assert {r["operation"] for r in history} >= {"MERGE"}  # the second run merged by name
    assert not any(project.root.glob("spark-warehouse"))
