"""Odibi's dimensional-modelling patterns through the real CLI: dimensions whose surrogate keys
survive runs, SCD type 2 history over three loads, a generated date dimension, and facts that
find the right member (or the unknown one). The same project gives the same rows on pandas,
polars and Spark. Tables are read back with the independent Delta reader."""

from __future__ import annotations

from typing import Any

import pytest

LOADS = [
    "customer_id,name,city\n3,Cy,Oslo\n1,Ann,Rome\n2,Bob,Paris\n",
    # Ann moves, Bob stays, Cy is gone from the source, Dee is new.
    "customer_id,name,city\n1,Ann,Milan\n2,Bob,Paris\n4,Dee,Lima\n",
    # Bob moves; the rest as before.
    "customer_id,name,city\n1,Ann,Milan\n2,Bob,Nice\n4,Dee,Lima\n",
]
ORDERS = (
    "order_id,customer_id,order_date,qty,price\n"
    "A,1,2025-01-02,2,5.0\nB,3,2025-01-03,1,7.5\nC,9,2025-01-04,4,1.0\n"
)

STAR = """
project: star
engine: {engine}
connections:
  src: {{type: local, base_path: ./data}}
  gold: {{type: local, base_path: ./gold}}
pipelines:
  - pipeline: star
    nodes:
      - name: dim_customer
        read: {{connection: src, format: csv, path: customers.csv}}
        pattern:
          type: dimension
          params:
            natural_key: customer_id
            surrogate_key: customer_sk
            scd_type: {scd_type}
            track_cols: [name, city]
            unknown_member: true
            audit: {{source_system: crm}}
        write: {{connection: gold, format: delta, path: dim_customer, mode: overwrite}}
      - name: dim_date
        transformer: date_dimension
        params: {{start_date: "2025-01-01", end_date: "2025-01-31", unknown_member: true}}
        write: {{connection: gold, format: delta, path: dim_date, mode: overwrite}}
      - name: fact_orders
        depends_on: [dim_customer, dim_date]
        read: {{connection: src, format: csv, path: orders.csv}}
        pattern:
          type: fact
          params:
            grain: [order_id]
            dimensions:
              - {{source_column: customer_id, dimension_table: dim_customer,
                 dimension_key: customer_id, surrogate_key: customer_sk, scd2: true}}
              - {{source_column: order_date, dimension_table: dim_date,
                 dimension_key: full_date, surrogate_key: date_sk}}
            orphan_handling: unknown
            measures: [qty, {{revenue: "qty * price"}}]
        write: {{connection: gold, format: delta, path: fact_orders, mode: overwrite}}
      - name: revenue_by_customer
        depends_on: [fact_orders]
        pattern:
          type: aggregation
          params:
            grain: [customer_sk]
            measures: [{{name: revenue, expr: "SUM(revenue)"}}, {{name: orders, expr: "COUNT(*)"}}]
            incremental: {{timestamp_column: order_date, merge_strategy: sum}}
        write: {{connection: gold, format: delta, path: revenue_by_customer, mode: overwrite}}
      - name: orders_merged
        read: {{connection: src, format: csv, path: orders.csv}}
        pattern:
          type: merge
          params:
            target: gold.orders
            keys: [order_id]
            audit_cols: {{created_col: _created_at, updated_col: _updated_at}}
"""


@pytest.fixture
def shop(odibi_project: Any) -> Any:
    """A project of the YAML given, with the first load of customers and the orders in
    ``data/`` (``name=text`` replaces ``data/<name>.csv``)."""

    def make(yaml: str, **files: str) -> Any:
        data = {"customers": LOADS[0], "orders": ORDERS, **files}
        return odibi_project({"odibi.yaml": yaml, **{f"data/{k}.csv": v for k, v in data.items()}})

    return make


def _run(project: Any, files: dict[str, str] | None = None, code: int = 0) -> Any:
    """Write ``files`` into the project, run it, and check the exit code."""
    if files:
        project.write(files)
    run = project.run()
    assert run.exit_code == code, run.output
    return run


def _star(shop: Any, engine: str = "pandas", scd_type: int = 1) -> Any:
    return shop(STAR.format(engine=engine, scd_type=scd_type))


def _load(project: Any, n: int) -> None:
    _run(project, {"data/customers.csv": LOADS[n]})


def _members(project: Any) -> list[tuple[Any, ...]]:
    rows = project.delta("gold/dim_customer")
    return sorted((r["customer_sk"], r["customer_id"], r["name"], r["city"]) for r in rows)


def _versions(project: Any) -> list[tuple[Any, ...]]:
    rows = project.delta("gold/dim_customer")
    return sorted(
        (r["customer_sk"], r["customer_id"], r["city"], r["is_current"], r["valid_to"] is None)
        for r in rows
    )


def _facts(project: Any) -> list[tuple[Any, ...]]:
    rows = project.delta("gold/fact_orders")
    return [(r["order_id"], r["customer_sk"], r["date_sk"], r["revenue"]) for r in rows]


def test_scd1_dimension_keeps_surrogate_keys_across_runs(shop):
    project = _star(shop)
    _load(project, 0)
    assert _members(project) == [
        (0, -1, "Unknown", "Unknown"),
        (1, 1, "Ann", "Rome"),
        (2, 2, "Bob", "Paris"),
        (3, 3, "Cy", "Oslo"),
    ]
    first = project.delta("gold/dim_customer")
    assert {r["source_system"] for r in first} == {"crm"}
    assert all(r["load_timestamp"] is not None for r in first)
    _load(project, 1)
    # Ann's value is overwritten under her key; Cy stays; Dee gets the next key.
    assert _members(project) == [
        (0, -1, "Unknown", "Unknown"),
        (1, 1, "Ann", "Milan"),
        (2, 2, "Bob", "Paris"),
        (3, 3, "Cy", "Oslo"),
        (4, 4, "Dee", "Lima"),
    ]
    # The order customer 9 placed finds no member: the unknown member's key 0.
    assert _facts(project) == [
        ("A", 1, 20250102, 10.0),
        ("B", 3, 20250103, 7.5),
        ("C", 0, 20250104, 4.0),
    ]
    # The same orders again: ``merge_strategy: sum`` adds them to the first run's aggregates.
    totals = project.delta("gold/revenue_by_customer")
    assert [(r["customer_sk"], float(r["revenue"]), r["orders"]) for r in totals] == [
        (0, 8.0, 2),
        (1, 20.0, 2),
        (3, 15.0, 2),
    ]


def test_scd2_dimension_keeps_history_over_three_loads(shop):
    project = _star(shop, scd_type=2)
    _load(project, 0)
    assert _versions(project) == [
        (0, -1, "Unknown", True, True),
        (1, 1, "Rome", True, True),
        (2, 2, "Paris", True, True),
        (3, 3, "Oslo", True, True),
    ]
    _load(project, 1)
    after_change = [
        (0, -1, "Unknown", True, True),
        (1, 1, "Rome", False, False),  # closed
        (2, 2, "Paris", True, True),  # unchanged: no new version
        (3, 3, "Oslo", True, True),  # gone from the source: still current
        (4, 1, "Milan", True, True),  # Ann's new version
        (5, 4, "Lima", True, True),  # new member
    ]
    assert _versions(project) == after_change
    # Facts point at the current version of each customer.
    assert [f[:2] for f in _facts(project)] == [("A", 4), ("B", 3), ("C", 0)]
    _load(project, 2)
    assert _versions(project) == [
        *after_change[:2],
        (2, 2, "Paris", False, False),
        *after_change[3:],
        (6, 2, "Nice", True, True),
    ]
    rows = {r["customer_sk"]: r for r in project.delta("gold/dim_customer")}
    # A closed version ends when its successor starts.
    assert rows[2]["valid_to"] == rows[6]["valid_from"]
    assert rows[0]["valid_from"].year == 1900


def test_date_dimension_has_odibis_columns_and_fiscal_calendar(odibi_project):
    project = odibi_project(
        {
            "odibi.yaml": """
            project: dates
            connections: {gold: {type: local, base_path: ./gold}}
            pipelines:
              - pipeline: p
                nodes:
                  - name: dim_date
                    pattern:
                      type: date_dimension
                      params: {start_date: "2024-06-29", end_date: "2024-07-01",
                               fiscal_year_start_month: 7, unknown_member: true}
                    write: {connection: gold, format: delta, path: dim_date}
            """
        }
    )
    _run(project)
    rows = project.delta("gold/dim_date")
    assert [r["date_sk"] for r in rows] == [0, 20240629, 20240630, 20240701]
    assert list(rows[0]) == [
        "date_sk", "full_date", "day_of_week", "day_of_week_num", "day_of_month",
        "day_of_year", "is_weekend", "week_of_year", "month", "month_name", "quarter",
        "quarter_name", "year", "fiscal_year", "fiscal_quarter", "is_month_start",
        "is_month_end", "is_year_start", "is_year_end",
    ]  # fmt: skip
    sat, sun, mon = rows[1:]
    assert (sat["day_of_week"], sat["day_of_week_num"], sat["is_weekend"]) == ("Saturday", 6, True)
    assert (sun["is_month_end"], sun["quarter_name"], sun["fiscal_year"]) == (True, "Q2", 2024)
    assert (mon["fiscal_year"], mon["fiscal_quarter"], mon["week_of_year"]) == (2025, 1, 27)
    assert (rows[0]["day_of_week"], rows[0]["year"]) == ("Unknown", 0)


FACT_ONLY = """
project: facts
connections:
  src: {{type: local, base_path: ./data}}
  gold: {{type: local, base_path: ./gold}}
pipelines:
  - pipeline: p
    nodes:
      - name: dim_customer
        read: {{connection: src, format: csv, path: customers.csv}}
        transformer: dimension
        params: {{natural_key: customer_id, surrogate_key: customer_sk, unknown_member: true}}
      - name: fact_orders
        depends_on: [dim_customer]
        read: {{connection: src, format: csv, path: orders.csv}}
        transformer: fact
        params:
          dimensions:
            - {{source_column: customer_id, dimension_table: dim_customer,
               dimension_key: customer_id, surrogate_key: customer_sk}}
          {handling}
        write: {{connection: gold, format: delta, path: fact_orders}}
"""


def test_fact_rejects_orphans_when_told_to(shop):
    run = _run(shop(FACT_ONLY.format(handling="orphan_handling: reject")), code=1)
    assert "1 orphan row(s): 'customer_id' has no match in 'dim_customer.customer_id'" in run.output


def test_fact_quarantines_orphans_with_the_reason(shop):
    handling = (
        "orphan_handling: quarantine\n          quarantine: {connection: gold, path: orphans, "
        "format: delta, add_columns: {_rejection_reason: true, _source_dimension: true, "
        "_rejected_at: true}}"
    )
    project = shop(FACT_ONLY.format(handling=handling))
    _run(project)
    assert [r["order_id"] for r in project.delta("gold/fact_orders")] == ["A", "B"]
    (orphan,) = project.delta("gold/orphans")
    assert orphan["customer_id"] == 9 and orphan["_source_dimension"] == "dim_customer"
    assert orphan["_rejection_reason"] == (
        "Orphan record: no match in dimension 'dim_customer' on column 'customer_id'"
    )
    assert orphan["_rejected_at"] is not None


def test_fact_grain_with_duplicates_fails_the_node(shop):
    project = shop(FACT_ONLY.format(handling="grain: [customer_id]"),
                   orders=ORDERS + "D,1,2025-01-05,1,1.0\n")  # fmt: skip
    run = _run(project, code=1)
    assert "grain (customer_id) is not unique: 1 duplicate row(s) over 1 key(s)" in run.output


def test_validate_names_unknown_patterns_and_params(shop):
    yaml = STAR.format(engine="pandas", scd_type=1)
    yaml = yaml.replace("type: fact", "type: facts").replace("natural_key:", "natural_kye:")
    project = shop(yaml)
    run = project.odibi("validate", "{config}")
    assert run.exit_code == 2
    assert "unknown pattern type 'facts'" in run.output and "did you mean 'fact'" in run.output
    assert "natural_kye" in run.output and "natural_key" in run.output


def _comparable(rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """Rows without the load times, which differ run to run. Dates are compared as their
    ISO text: the pandas engine holds a date column as datetime64 (so writes a timestamp), and
    Spark's CSV reader takes ``2025-01-02`` for a date where pandas and polars keep text."""
    times = {"load_timestamp", "valid_from", "valid_to", "_created_at", "_updated_at"}

    def plain(key: str, value: Any) -> Any:
        dated = key in ("full_date", "order_date") and hasattr(value, "isoformat")
        return value.isoformat()[:10] if dated else value

    return [
        (
            *((k, plain(k, v)) for k, v in r.items() if k not in times),
            ("valid_to is null", r.get("valid_to") is None),
        )
        for r in rows
    ]


@pytest.mark.parametrize("engine", ["polars", "spark"])
def test_same_rows_on_every_engine(shop, engine):
    if engine == "spark":
        pytest.importorskip("pyspark")
    outputs = {}
    for name in ("pandas", engine):
        project = _star(shop, engine=name, scd_type=2)
        _load(project, 0)
        _load(project, 1)
        outputs[name] = {
            t: _comparable(project.delta(f"gold/{t}"))
            for t in ("dim_customer", "dim_date", "fact_orders", "revenue_by_customer")
        }
        # A Delta MERGE keeps no row order.
        merged = sorted(project.delta("gold/orders"), key=lambda r: r["order_id"])
        outputs[name]["orders"] = _comparable(merged)
    for table, rows in outputs["pandas"].items():
        assert outputs[engine][table] == rows, table


SCD2 = """
project: history
connections:
  src: {type: local, base_path: ./data}
  silver: {type: local, base_path: ./silver}
pipelines:
  - pipeline: p
    nodes:
      - name: customers_history
        read: {connection: src, format: csv, path: customers.csv}
        transformer: scd2
        params:
          target: silver.dim_customers
          keys: [customer_id]
          track_cols: [city]
          effective_time_col: changed_at
"""


def test_scd2_without_a_write_keeps_its_own_history(shop):
    project = shop(
        SCD2, customers="customer_id,city,changed_at\n1,Rome,2024-01-01\n2,Oslo,2024-01-01\n"
    )
    _run(project)
    second = "customer_id,city,changed_at\n1,Milan,2024-02-01\n2,Oslo,2024-02-01\n"
    _run(project, {"data/customers.csv": second})
    # The second load was MERGEd into the Delta table, which keeps no row order.
    rows = sorted(
        project.delta("silver/dim_customers"), key=lambda r: (r["customer_id"], r["valid_from"])
    )
    got = [
        (r["customer_id"], r["city"], str(r["valid_from"])[:10], str(r["valid_to"])[:10],
         r["is_current"])
        for r in rows
    ]  # fmt: skip
    assert got == [
        (1, "Rome", "2024-01-01", "2024-02-01", False),
        (1, "Milan", "2024-02-01", "None", True),
        (2, "Oslo", "2024-01-01", "None", True),
    ]
    assert rows[0]["changed_at"] is not None  # the source column is kept


AGG = """
project: aggregates
connections:
  src: {{type: local, base_path: ./data}}
  gold: {{type: local, base_path: ./gold}}
pipelines:
  - pipeline: p
    nodes:
      - name: daily
        read: {{connection: src, format: csv, path: sales.csv}}
        pattern:
          type: aggregation
          params:
            grain: [day]
            measures:
              - {{name: revenue, expr: "SUM(amount)"}}
              - {{name: orders, expr: "COUNT(*)"}}
            having: "COUNT(*) > 0"
            incremental: {{timestamp_column: day, merge_strategy: {strategy}}}
        write: {{connection: gold, format: delta, path: daily, mode: overwrite}}
"""


@pytest.mark.parametrize(
    ("strategy", "expected"),
    [
        ("sum", [("d1", 10.0, 2), ("d2", 12.0, 2), ("d3", 1.0, 1)]),
        ("replace", [("d1", 7.0, 1), ("d2", 7.0, 1), ("d3", 1.0, 1)]),
        ("max", [("d1", 7.0, 1), ("d2", 7.0, 1), ("d3", 1.0, 1)]),
        ("min", [("d1", 3.0, 1), ("d2", 5.0, 1), ("d3", 1.0, 1)]),
    ],
)
def test_aggregation_re_aggregates_incrementally(shop, strategy, expected):
    project = shop(AGG.format(strategy=strategy), sales="day,amount\nd2,5\nd1,3\n")
    _run(project)
    assert [(r["day"], r["revenue"], r["orders"]) for r in project.delta("gold/daily")] == [
        ("d1", 3.0, 1),
        ("d2", 5.0, 1),
    ]
    _run(project, {"data/sales.csv": "day,amount\nd1,7\nd2,7\nd3,1\n"})
    got = [(r["day"], float(r["revenue"]), r["orders"]) for r in project.delta("gold/daily")]
    assert got == expected


MERGE = """
project: merging
connections:
  src: {{type: local, base_path: ./data}}
  silver: {{type: local, base_path: ./silver}}
pipelines:
  - pipeline: p
    nodes:
      - name: orders_silver
        read: {{connection: src, format: csv, path: orders.csv}}
        pattern:
          type: merge
          params:
            target: silver.orders
            keys: [order_id]
            strategy: {strategy}
            audit_cols: {{created_col: _created_at, updated_col: _updated_at}}
"""


@pytest.mark.parametrize(
    ("strategy", "expected"),
    [
        ("upsert", [(1, 10), (2, 50), (3, 2), (4, 8)]),
        ("append_only", [(1, 10), (2, 5), (3, 2), (4, 8)]),
        ("delete_match", [(1, 10), (3, 2)]),
    ],
)
def test_merge_writes_its_target_by_key(shop, strategy, expected):
    project = shop(MERGE.format(strategy="upsert"), orders="order_id,qty\n1,10\n2,5\n3,2\n")
    _run(project)
    before = {r["order_id"]: r for r in project.delta("silver/orders")}
    yaml = MERGE.format(strategy=strategy)
    if strategy == "delete_match":  # Odibi refuses audit columns on a delete
        yaml = yaml.replace("audit_cols: {created_col: _created_at, updated_col: _updated_at}", "")
    _run(project, {"odibi.yaml": yaml, "data/orders.csv": "order_id,qty\n2,50\n4,8\n"})
    # A Delta MERGE keeps no row order: compare by key.
    rows = sorted(project.delta("silver/orders"), key=lambda r: r["order_id"])
    got = [(r["order_id"], r["qty"]) for r in rows]
    assert got == expected
    if strategy == "delete_match":
        return
    after = {r["order_id"]: r for r in rows}
    # An update keeps when the row was created and says when it changed.
    assert after[1]["_updated_at"] == before[1]["_updated_at"]
    assert after[2]["_created_at"] == before[2]["_created_at"]
    if strategy == "upsert":
        assert after[2]["_updated_at"] > before[2]["_updated_at"]
    assert after[4]["_created_at"] == after[4]["_updated_at"] > before[1]["_created_at"]
