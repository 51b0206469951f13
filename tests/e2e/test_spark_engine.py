"""``engine: spark`` end to end: a real local Spark with Delta Lake (delta-spark's jars from
Maven Central), driven through the real CLI. Outputs are read back with readers independent of
Spark (deltalake, pyarrow), the catalog with the independent Delta reader."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pyarrow.dataset as ds
import pytest
from deltalake import DeltaTable

pytest.importorskip("pyspark", reason="the spark extra is part of the dev install")

ORDERS = "order_id,customer_id,amount\n1,10,5.0\n2,11,7.5\n2,11,7.5\n3,10,2.5\n"
CUSTOMERS = "customer_id,name\n10,ada\n11,linus\n"

PROJECT = """\
project: shop
engine: spark
connections: {d: {type: local, base_path: .}}
pipelines:
  - pipeline: sales
    nodes:
      - name: orders
        read: {connection: d, format: csv, path: in/orders*.csv}
        transform:
          steps:
            - {operation: drop_duplicates}
            - {operation: rename, params: {columns: {amount: total}}}
      - name: customers
        read: {connection: d, format: csv, path: in/customers.csv}
      - name: revenue
        depends_on: [orders, customers]
        transform:
          steps:
            - |
              SELECT c.name, SUM(o.total) AS revenue, COUNT(*) AS orders
              FROM orders o JOIN customers c USING (customer_id)
              GROUP BY c.name
        write: {connection: d, format: delta, path: gold/revenue, mode: upsert,
                options: {keys: [name]}}
      - name: revenue_files
        depends_on: [revenue]
        transform: {steps: ["SELECT * FROM df ORDER BY name"]}
        write: {connection: d, format: parquet, path: gold/revenue.parquet}
"""


def _revenue(project) -> dict[str, tuple[float, int]]:
    rows = DeltaTable(str(project.path("gold/revenue"))).to_pyarrow_table().to_pylist()
    return {r["name"]: (r["revenue"], r["orders"]) for r in rows}


def test_a_spark_project_runs_end_to_end_and_is_recorded_like_any_other(odibi_project):
    project = odibi_project(
        {"odibi.yaml": PROJECT, "in/orders1.csv": ORDERS, "in/customers.csv": CUSTOMERS}
    )
    run = project.odibi("run", "{config}")
    assert run.exit_code == 0, run.output
    assert _revenue(project) == {"ada": (7.5, 2), "linus": (7.5, 1)}
    files = ds.dataset(str(project.path("gold/revenue.parquet"))).to_table().to_pylist()
    assert [r["name"] for r in files] == ["ada", "linus"]

    runs = project.catalog("meta_runs")
    nodes = {r["node_name"]: r for r in runs if r["scope"] == "node"}
    assert {n: r["status"] for n, r in nodes.items()} == dict.fromkeys(
        ("orders", "customers", "revenue", "revenue_files"), "SUCCESS"
    )
    assert (nodes["orders"]["rows_in"], nodes["orders"]["rows_out"]) == (4, 3)
    story = json.loads(next(project.path(".").rglob("run_*.json")).read_text())
    node = next(n for n in story["nodes"] if n["name"] == "revenue")
    assert {"name": "name", "type": "string"} in node["schema"]
    assert {r["name"] for r in node["sample"]} == {"ada", "linus"}

    # New orders: the upsert replaces ada's row and keeps linus's; the files are replaced.
    project.write({"in/orders2.csv": "order_id,customer_id,amount\n4,10,10.0\n"})
    run = project.odibi("run", "{config}")
    assert run.exit_code == 0, run.output
    assert _revenue(project) == {"ada": (17.5, 3), "linus": (7.5, 1)}
    assert DeltaTable(str(project.path("gold/revenue"))).version() == 1
    files = ds.dataset(str(project.path("gold/revenue.parquet"))).to_table().to_pylist()
    assert len(files) == 2


def test_stateful_incremental_reads_on_spark_keep_their_mark(odibi_project):
    now = datetime.now(UTC).replace(microsecond=0, tzinfo=None)
    old, new = now - timedelta(days=5), now - timedelta(hours=1)
    project = odibi_project(
        {
            "odibi.yaml": """\
project: p
engine: spark
connections: {d: {type: local, base_path: .}}
pipelines:
  - pipeline: p
    nodes:
      - name: events
        read:
          connection: d
          format: csv
          path: events.csv
          incremental: {mode: stateful, column: updated_at}
        write: {connection: d, format: delta, path: events, mode: append}
""",
            "events.csv": f"id,updated_at\n1,{old.isoformat()}\n2,{new.isoformat()}\n",
        }
    )
    run = project.odibi("run", "{config}")
    assert run.exit_code == 0, run.output
    (state,) = project.catalog("meta_state")
    assert json.loads(state["value"]) == new.isoformat() + ".000000Z"  # UTC, with its offset
    newer = now + timedelta(minutes=1)
    project.write(
        {
            "events.csv": f"id,updated_at\n1,{old.isoformat()}\n2,{new.isoformat()}\n"
            f"3,{newer.isoformat()}\n"
        }
    )
    run = project.odibi("run", "{config}")
    assert run.exit_code == 0, run.output
    ids = DeltaTable(str(project.path("events"))).to_pyarrow_table().column("id").to_pylist()
    assert sorted(ids) == [1, 2, 3]  # only 3 was appended by the second run
    (state,) = project.catalog("meta_state")
    assert json.loads(state["value"]) == newer.isoformat() + ".000000Z"


def test_spark_errors_are_one_line_and_name_what_failed(odibi_project):
    project = odibi_project(
        {
            "odibi.yaml": """\
project: p
engine: spark
retry: {enabled: false}
connections: {d: {type: local, base_path: .}}
pipelines:
  - pipeline: p
    nodes:
      - name: orders
        read: {connection: d, format: csv, path: orders.csv}
        transform: {steps: ["SELECT nope FROM df"]}
      - name: missing
        read: {connection: d, format: parquet, path: nowhere.parquet}
      - name: others
        read: {connection: d, format: csv, path: orders.csv}
      - name: undeclared
        read: {connection: d, format: csv, path: orders.csv}
        transform: {steps: ["SELECT * FROM others"]}
""",
            "orders.csv": ORDERS,
        }
    )
    run = project.odibi("run", "{config}")
    assert run.exit_code == 1
    failed = {r["node_name"]: r for r in project.catalog("meta_runs") if r["scope"] == "node"}
    assert failed["orders"]["error_message"].startswith("SQL failed:")
    assert "nope" in failed["orders"]["error_message"]
    assert (
        failed["undeclared"]["error_message"]
        .splitlines()[0]
        .endswith("(did you mean to add 'others' to depends_on?)")
    )
    assert "nowhere.parquet" in failed["missing"]["error_message"]
    assert "Traceback" not in run.output


def test_validate_reports_what_the_spark_engine_does_not_do(odibi_project):
    project = odibi_project(
        {
            "odibi.yaml": """\
project: p
engine: spark
connections: {d: {type: local, base_path: .}}
pipelines:
  - pipeline: p
    nodes:
      - name: a
        read: {connection: d, format: sql, query: "SELECT 1"}
      - name: b
        depends_on: [a]
        transform: {steps: [{operation: explode}]}
""",
        }
    )
    run = project.odibi("validate", "{config}")
    assert run.exit_code == 2
    assert "format 'sql'" in run.output or "'sql'" in run.output
    assert "explode" in run.output


CACHE_PROBE = """
import json
from odibi_core import hookimpl


@hookimpl
def odibi_check_node_output(ctx, node, frame):
    with open(ctx.project.root / f"cached_{node.name}.json", "w") as handle:
        json.dump(frame.is_cached, handle)
    return None
"""


def test_cache_persists_a_spark_nodes_output_for_the_run(odibi_project):
    project = odibi_project(
        {
            "odibi.yaml": """\
project: p
engine: spark
connections: {d: {type: local, base_path: .}}
pipelines:
  - pipeline: p
    nodes:
      - name: orders
        read: {connection: d, format: csv, path: orders.csv}
        cache: true
      - name: big
        depends_on: [orders]
        transform: {steps: ["SELECT * FROM df WHERE amount > 5"]}
        write: {connection: d, format: delta, path: big}
""",
            "orders.csv": ORDERS,
            "plugins/probe.py": CACHE_PROBE,
        }
    )
    from odibi_core.engines.spark_engine import SparkEngine

    context = SparkEngine(None).spark.sparkContext._jsc  # shared with the worker's other tests
    before = set(context.getPersistentRDDs().keySet())
    run = project.odibi("run", "{config}")
    assert run.exit_code == 0, run.output
    assert json.loads(project.path("cached_orders.json").read_text()) is True
    assert json.loads(project.path("cached_big.json").read_text()) is False
    assert set(context.getPersistentRDDs().keySet()) <= before  # unpersisted when the run ended


def test_spark_data_errors_surface_in_one_line_once_and_samples_keep_every_column(
    odibi_project,
):
    project = odibi_project(
        {
            "odibi.yaml": """\
project: p
engine: spark
connections: {d: {type: local, base_path: .}}
pipelines:
  - pipeline: p
    nodes:
      - name: raw
        read: {connection: d, format: csv, path: in.csv, options: {inferSchema: false}}
      - name: typed
        depends_on: [raw]
        transformer: cast_columns
        params: {casts: {amount: int}}
""",
            "in.csv": "id,note,amount\n1,,5\n2,x,n/a\n",
        }
    )
    run = project.odibi("run", "{config}")
    assert run.exit_code == 1
    nodes = {r["node_name"]: r for r in project.catalog("meta_runs") if r["scope"] == "node"}
    failed = nodes["typed"]
    assert failed["attempt"] == 1  # a bad value is no transient failure: not retried
    assert "n/a" in failed["error_message"] and "\n" not in failed["error_message"]
    assert "An error occurred while calling" not in failed["error_message"]
    assert run.output.count("at org.apache") == 0
    story = json.loads(next(project.path(".").rglob("run_*.json")).read_text())
    raw = next(n for n in story["nodes"] if n["name"] == "raw")
    assert raw["sample"][0] == {"id": "1", "note": None, "amount": "5"}  # the null is kept


def test_spark_file_writes_keep_partition_values_and_may_replace_their_own_input(
    odibi_project,
):
    project = odibi_project(
        {
            "odibi.yaml": """\
project: p
engine: spark
connections: {d: {type: local, base_path: .}}
pipelines:
  - pipeline: p
    nodes:
      - name: places
        read: {connection: d, format: csv, path: in.csv,
               options: {inferSchema: false}}
        write: {connection: d, format: parquet, path: places, mode: append,
                partition_by: [zip]}
      - name: tidy
        read: {connection: d, format: parquet, path: tidy.parquet}
        transform: {steps: ["SELECT DISTINCT * FROM df"]}
        write: {connection: d, format: parquet, path: tidy.parquet}
      - name: after_tidy
        depends_on: [tidy]
        transform: {steps: ["SELECT COUNT(*) AS n FROM df"]}
""",
            "in.csv": "name,zip\nmit,02139\n",
        }
    )
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"v": [1, 1, 2]}), str(project.path("tidy.parquet")))
    for _ in range(2):
        run = project.odibi("run", "{config}")
        assert run.exit_code == 0, run.output
    places = ds.dataset(str(project.path("places")), partitioning="hive").to_table()
    assert sorted(p.name for p in project.path("places").iterdir() if p.is_dir()) == ["zip=02139"]
    assert len(places) == 2
    tidy = ds.dataset(str(project.path("tidy.parquet"))).to_table().column("v").to_pylist()
    assert sorted(tidy) == [1, 2]


def test_a_session_that_already_exists_is_used_as_it_is(odibi_project):
    from pyspark.sql import SparkSession

    from odibi_core.engines.spark_engine import SparkEngine

    spark = SparkEngine(None).spark  # the session the other tests started (or a new one)
    spark.conf.set("spark.sql.session.timeZone", "America/New_York")
    try:
        project = odibi_project(
            {
                "odibi.yaml": """\
project: p
engine: spark
connections: {d: {type: local, base_path: .}}
pipelines:
  - pipeline: p
    nodes:
      - name: events
        read:
          connection: d
          format: csv
          path: events.csv
          incremental: {mode: stateful, column: at}
""",
                "events.csv": "id,at\n1,2026-07-01T12:00:00\n",
            }
        )
        run = project.odibi("run", "{config}")
        assert run.exit_code == 0, run.output
        assert SparkSession.getActiveSession().conf.get("spark.sql.session.timeZone") == (
            "America/New_York"
        )
        (state,) = project.catalog("meta_state")
        assert json.loads(state["value"]) == "2026-07-01T12:00:00.000000-04:00"
    finally:
        spark.conf.set("spark.sql.session.timeZone", "UTC")


def test_node_names_that_cannot_be_views_are_refused_by_validate(odibi_project):
    project = odibi_project(
        {
            "odibi.yaml": """\
project: p
engine: spark
connections: {d: {type: local, base_path: .}}
pipelines:
  - pipeline: p
    nodes:
      - name: raw-orders
        read: {connection: d, format: csv, path: in.csv}
""",
        }
    )
    run = project.odibi("validate", "{config}")
    assert run.exit_code == 2
    assert run.stderr.count("\n") == 1  # one problem, reported once
    assert "node 'raw-orders': name must match ^[a-zA-Z_][a-zA-Z0-9_]*$" in run.stderr


def test_a_local_session_redacts_account_keys_and_jdbc_passwords():
    """The ABFS account key a connection sets on the session (and a JDBC password) shows as
    redacted wherever Spark prints its settings."""
    from odibi_core.engines.spark_engine import SparkEngine

    spark = SparkEngine(None).spark
    key = "fs.azure.account.key.acct.dfs.core.windows.net"
    spark.conf.set(key, "Key-Never-Shown==")
    spark.conf.set("odibi.test.jdbc.password", "Pw-Never-Shown")
    try:
        shown = {r["key"]: r["value"] for r in spark.sql("SET").collect()}
        assert shown[key] == shown["odibi.test.jdbc.password"] == "*********(redacted)"
    finally:
        spark.conf.unset(key)
        spark.conf.unset("odibi.test.jdbc.password")


CONF_PLUGIN = """
from odibi_core import hookimpl, transform


@transform("spark_setting")
def spark_setting(ctx, df, key: str):
    value = ctx.engine.spark.conf.get(key)
    return ctx.sql(f"SELECT *, '{value}' AS setting FROM df", df)


@hookimpl
def odibi_register_transforms():
    return [spark_setting]
"""


def test_performance_spark_config_is_set_on_the_session(odibi_project):
    # A key of our own: the session is shared by this module's tests, and Spark's own
    # settings would leak into them.
    project = odibi_project(
        {
            "odibi.yaml": """\
project: shop
engine: spark
performance: {use_arrow: true, spark_config: {spark.odibi.test.marker: from-project}}
connections: {d: {type: local, base_path: .}}
pipelines:
  - pipeline: p
    nodes:
      - name: a
        read: {connection: d, format: csv, path: in.csv}
        transformer: spark_setting
        params: {key: spark.odibi.test.marker}
        write: {connection: d, format: parquet, path: out.parquet}
""",
            "in.csv": "x\n1\n",
            "plugins/conf.py": CONF_PLUGIN,
        }
    )
    run = project.run()
    assert run.exit_code == 0, run.output
    rows = ds.dataset(str(project.path("out.parquet"))).to_table().to_pylist()
    assert rows == [{"x": 1, "setting": "from-project"}]
