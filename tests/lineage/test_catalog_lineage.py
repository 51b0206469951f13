"""``odibi lineage upstream|downstream|impact`` through the real CLI: the graph of what read
what across pipelines, from the definitions the catalog keeps (written from Odibi's
cross-pipeline lineage docs)."""

from __future__ import annotations

import json

import pytest

CUSTOMERS = """\
id,name,active
1,ann,true
2,bob,false
3,cy,true
"""

PROJECT = """\
project: crm
connections:
  raw: {type: local, base_path: ./raw}
  bronze: {type: local, base_path: ./lake/bronze}
  silver: {type: local, base_path: ./lake/silver}
  gold: {type: local, base_path: ./lake/gold}
pipelines:
  - pipeline: bronze_pipeline
    nodes:
      - name: ingest_customers
        read: {connection: raw, format: csv, path: customers.csv}
        write: {connection: bronze, format: parquet, path: customers_raw}
  - pipeline: silver_pipeline
    nodes:
      - name: process_customers
        read: {connection: bronze, format: parquet, path: customers_raw}
        transform: {steps: ["SELECT * FROM df WHERE active"]}
        write: {connection: silver, format: delta, path: dim_customers}
      - name: events_in_memory
        read: {connection: bronze, format: parquet, path: customers_raw}
      - name: process_events
        depends_on: [events_in_memory]
        write: {connection: silver, format: delta, path: customer_events}
  - pipeline: gold_pipeline
    nodes:
      - name: build_360
        read: {connection: silver, format: delta, path: dim_customers}
        write: {connection: gold, format: delta, path: customer_360}
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    from odibi_core.testing import OdibiProject

    p = OdibiProject(
        tmp_path_factory.mktemp("lineage"),
        {"odibi.yaml": PROJECT, "raw/customers.csv": CUSTOMERS},
    )
    run = p.run()
    assert run.exit_code == 0, run.output
    return p


def test_upstream_follows_writes_across_pipelines(project):
    run = project.odibi("lineage", "upstream", "gold/customer_360", "--config", "{config}")
    assert run.exit_code == 0, run.output
    assert run.stdout.splitlines() == [
        "gold/customer_360",
        "└── silver/dim_customers (silver_pipeline.process_customers)",
        "    └── bronze/customers_raw (bronze_pipeline.ingest_customers)",
        "        └── raw/customers.csv (source)",
    ]


def test_downstream_passes_through_nodes_that_write_nothing(project):
    run = project.odibi("lineage", "downstream", "bronze/customers_raw", "{config}")
    assert run.exit_code == 0, run.output
    assert run.stdout.splitlines() == [
        "bronze/customers_raw",
        "├── silver/customer_events (silver_pipeline.process_events)",
        "└── silver/dim_customers (silver_pipeline.process_customers)",
        "    └── gold/customer_360 (gold_pipeline.build_360)",
    ]


def test_depth_and_json(project):
    run = project.odibi(
        "lineage", "upstream", "customer_360", "{config}", "--depth", "1", "--format", "json"
    )
    assert run.exit_code == 0, run.output
    data = json.loads(run.stdout)
    assert data["table"] == "gold/customer_360"
    (edge,) = data["edges"]
    assert edge["depth"] == 1
    assert edge["source_table"] == "silver/dim_customers"
    assert (edge["source_pipeline"], edge["source_node"]) == (
        "silver_pipeline",
        "process_customers",
    )
    assert (edge["target_pipeline"], edge["target_node"]) == ("gold_pipeline", "build_360")
    assert edge["last_observed"]


def test_impact_lists_every_table_and_pipeline_reached(project):
    run = project.odibi("lineage", "impact", "bronze/customers_raw", "{config}", "--format", "json")
    assert run.exit_code == 0, run.output
    data = json.loads(run.stdout)
    assert data["affected_tables"] == [
        {"table": "gold/customer_360", "pipeline": "gold_pipeline"},
        {"table": "silver/customer_events", "pipeline": "silver_pipeline"},
        {"table": "silver/dim_customers", "pipeline": "silver_pipeline"},
    ]
    assert data["affected_pipelines"] == ["gold_pipeline", "silver_pipeline"]
    text = project.odibi("lineage", "impact", "bronze/customers_raw", "{config}")
    assert "3 downstream table(s) in 2 pipeline(s)" in text.stdout


def test_an_unknown_table_is_one_line_with_a_suggestion(project):
    run = project.odibi("lineage", "upstream", "gold/customer_36", "{config}")
    assert run.exit_code == 2
    assert "no table 'gold/customer_36'" in run.stderr
    assert "did you mean 'gold/customer_360'" in run.stderr
