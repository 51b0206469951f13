"""Odibi's node ``inputs:`` (named sources, ``$pipeline.node`` or a read block) through the real
CLI: one pipeline reads what another wrote, resolved through the System Catalog; a reference
within the pipeline is a dependency; ``odibi validate`` names each mistake."""

from __future__ import annotations

import json

import pytest

PROJECT = """\
project: shop
engine: {engine}
retry: {{enabled: false}}
connections: {{lake: {{type: local, base_path: ./lake}}, files: {{type: local, base_path: .}}}}
pipelines:
  - pipeline: bronze
    nodes:
      - name: raw_orders
        read: {{connection: files, format: csv, path: orders.csv}}
        write: {{connection: lake, format: delta, path: "bronze/${{vars.region}}/orders"}}
      - name: raw_customers
        read: {{connection: files, format: csv, path: customers.csv}}
        write: {{connection: lake, format: parquet, path: bronze/customers.parquet}}
  - pipeline: silver
    nodes:
      - name: enriched
        inputs:
          orders: $bronze.raw_orders
          customers: $bronze.raw_customers
          regions: {{connection: files, format: csv, path: regions.csv}}
        transform:
          steps:
            - sql: >-
                SELECT o.order_id, c.name, r.label, o.amount
                FROM orders o JOIN customers c ON o.customer_id = c.customer_id
                JOIN regions r ON c.region = r.region
            - "SELECT * FROM df ORDER BY order_id"
        write: {{connection: lake, format: delta, path: silver/enriched}}
vars: {{region: eu}}
"""

FILES = {
    "orders.csv": "order_id,customer_id,amount\n1,10,5.0\n2,11,7.5\n3,10,1.0\n",
    "customers.csv": "customer_id,name,region\n10,Ada,n\n11,Bo,s\n",
    "regions.csv": "region,label\nn,North\ns,South\n",
}


@pytest.mark.parametrize("engine", ["pandas", "polars"])
def test_a_pipeline_joins_what_another_pipeline_wrote(odibi_project, engine):
    project = odibi_project({"odibi.yaml": PROJECT.format(engine=engine), **FILES})
    assert project.odibi("validate", "{config}").exit_code == 0
    dry = project.run("--dry-run", "--pipeline", "silver")
    assert "reads orders=$bronze.raw_orders, customers=$bronze.raw_customers" in dry.output
    bronze = project.run("--pipeline", "bronze")
    assert bronze.exit_code == 0, bronze.output
    silver = project.run("--pipeline", "silver")
    assert silver.exit_code == 0, silver.output
    rows = project.delta("lake/silver/enriched")
    assert [(r["order_id"], r["name"], r["label"], r["amount"]) for r in rows] == [
        (1, "Ada", "North", 5.0),
        (2, "Bo", "South", 7.5),
        (3, "Ada", "North", 1.0),
    ]
    # The catalog keeps what each node wrote, as substituted (${vars.region} is 'eu').
    runs = [r for r in project.catalog("meta_runs") if r["node_name"] == "raw_orders"]
    output = json.loads(runs[0]["metrics_json"])["output"]
    assert output == {"connection": "lake", "format": "delta", "path": "bronze/eu/orders"}
    # Lineage across pipelines, from the definitions the catalog holds.
    lineage = project.odibi("lineage", "upstream", "silver/enriched", "{config}")
    assert lineage.exit_code == 0, lineage.output
    assert "lake/bronze/customers.parquet (bronze.raw_customers)" in lineage.output
    assert "files/regions.csv (source)" in lineage.output


def test_the_first_input_or_df_is_the_current_frame(odibi_project):
    project = odibi_project(
        {
            "odibi.yaml": """\
project: p
connections: {d: {type: local, base_path: .}}
pipelines:
  - pipeline: p
    nodes:
      - name: first_is_df
        inputs:
          orders: {connection: d, format: csv, path: orders.csv}
          customers: {connection: d, format: csv, path: customers.csv}
        transform: {steps: ["SELECT COUNT(*) AS n FROM df"]}
        write: {connection: d, format: csv, path: a.csv}
      - name: named_df
        inputs:
          orders: {connection: d, format: csv, path: orders.csv}
          df: {connection: d, format: csv, path: customers.csv}
        transform: {steps: ["SELECT COUNT(*) AS n FROM df"]}
        write: {connection: d, format: csv, path: b.csv}
""",
            **FILES,
        }
    )
    run = project.run()
    assert run.exit_code == 0, run.output
    assert project.path("a.csv").read_text().splitlines() == ["n", "3"]
    assert project.path("b.csv").read_text().splitlines() == ["n", "2"]


def test_a_reference_with_no_catalog_record_says_to_run_that_pipeline(odibi_project):
    project = odibi_project({"odibi.yaml": PROJECT.format(engine="pandas"), **FILES})
    run = project.run("--pipeline", "silver")
    assert run.exit_code == 1
    assert "input 'orders'" in run.output
    assert "no successful run of $bronze.raw_orders" in run.output
    assert "run pipeline 'bronze' first" in run.output
    assert "Traceback" not in run.output


def test_an_input_of_the_same_pipeline_is_a_dependency(odibi_project):
    # 'totals' comes first in the file; its input makes it wait for 'clean', in memory.
    project = odibi_project(
        {
            "odibi.yaml": """\
project: p
connections: {d: {type: local, base_path: .}}
pipelines:
  - pipeline: p
    nodes:
      - name: totals
        inputs: {rows: $p.clean}
        transform: {steps: ["SELECT SUM(amount) AS total FROM rows"]}
        write: {connection: d, format: csv, path: totals.csv}
      - name: clean
        read: {connection: d, format: csv, path: orders.csv}
        transform: {steps: ["SELECT * FROM df WHERE amount > 2"]}
""",
            **FILES,
        }
    )
    run = project.run()
    assert run.exit_code == 0, run.output
    assert project.path("totals.csv").read_text().splitlines() == ["total", "12.5"]
    runs = {r["node_name"]: r for r in project.catalog("meta_runs") if r["scope"] == "node"}
    assert runs["totals"]["started_at"] >= runs["clean"]["timestamp"]
    graph = project.odibi("graph", "{config}", "--format", "mermaid")
    assert graph.exit_code == 0, graph.output
    assert "p0n1 --> p0n0" in graph.output  # clean (p0n1) --> totals (p0n0)


INVALID = """\
project: p
connections: {d: {type: local, base_path: .}}
pipelines:
  - pipeline: a
    nodes:
      - name: src
        read: {connection: d, format: csv, path: x.csv}
        write: {connection: d, format: parquet, path: x.parquet}
  - pipeline: b
    nodes:
      - name: both
        read: {connection: d, format: csv, path: x.csv}
        inputs: {x: $a.src}
      - name: bad_syntax
        inputs: {x: a.src}
      - name: no_pipeline
        inputs: {x: $silverr.src}
      - name: no_node
        inputs: {x: $a.srcc}
      - name: bad_block
        inputs: {x: {connection: nowhere, format: csv, path: x.csv}}
      - name: bad_key
        inputs: {x: {connection: d, format: csv, pth: x.csv}}
      - name: loop_one
        inputs: {x: $b.loop_two}
      - name: loop_two
        inputs: {x: $b.loop_one}
"""


def test_validate_names_each_mistake_in_inputs(odibi_project):
    project = odibi_project({"odibi.yaml": INVALID})
    run = project.odibi("validate", "{config}")
    assert run.exit_code == 2
    out = run.output
    assert "give either 'read' (one source) or 'inputs' (named sources), not both" in out
    assert "input 'x': 'a.src' is not a reference like $pipeline.node" in out
    assert "input 'x' names unknown pipeline 'silverr' (pipelines: a, b)" in out
    assert "input 'x' names unknown node 'srcc' of pipeline 'a' (did you mean 'src'?)" in out
    assert "unknown connection 'nowhere'" in out
    assert (
        "unknown key 'pth' in pipeline 'b', node 'bad_key', inputs.x (did you mean 'path'?)" in out
    )
    assert "dependency cycle in pipeline 'b'" in out
    assert "Traceback" not in out
