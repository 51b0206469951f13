"""Writes that would damage data fail loudly instead: keyed writes (upsert, append_once) of a
batch whose keys repeat, and an overwrite that would replace a table's rows with none
(``write.on_empty``). Through the real CLI; Delta tables read back with the independent reader.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest

# Retries on: a data error must fail on its first attempt anyway.
PROJECT = """\
project: p
retry: {{max_attempts: 3, backoff: constant, backoff_seconds: 0}}
connections: {{d: {{type: local, base_path: .}}}}
pipelines:
  - pipeline: p
    nodes:
      - name: orders
        read: {{connection: d, format: csv, path: in.csv}}
        write: {{connection: d, format: {fmt}, path: {path}, mode: {mode}{extra}}}
"""
TARGETS = {
    "delta": "gold/orders",
    "parquet": "gold/orders.parquet",
    "csv": "gold/orders.csv",
    "json": "gold/orders.json",
}
GOOD = "order_id,amount\n1,1.0\n2,2.0\n"
REPEATS = (
    "order_id,amount\n7,1.0\n9,1.0\n7,2.0\n9,2.0\n9,3.0\n3,1.0\n11,1.0\n11,2.0\n12,1.0\n12,2.0\n"
)
X = "\N{MULTIPLICATION SIGN}"
MESSAGE = (
    "upsert into {path}: 4 keys repeat in the incoming rows "
    f"(order_id=7 {X}2, order_id=9 {X}3, order_id=11 {X}2, …); deduplicate first "
    "(transformer: deduplicate)"
)


def _project(odibi_project, fmt: str, mode: str = "upsert", csv: str = GOOD, extra: str = ""):
    if mode in ("upsert", "append_once"):
        extra = ", options: {keys: [order_id]}" + extra
    config = PROJECT.format(fmt=fmt, path=TARGETS[fmt], mode=mode, extra=extra)
    return odibi_project({"odibi.yaml": config, "in.csv": csv})


def _snapshot(path: Path) -> dict[str, bytes]:
    """Every file of a target (a file, a folder of parts or a Delta table), byte for byte."""
    if path.is_file():
        return {path.name: path.read_bytes()}
    return {str(p.relative_to(path)): p.read_bytes() for p in path.rglob("*") if p.is_file()}


def _last_node_run(project) -> dict:
    return max(
        (r for r in project.catalog("meta_runs") if r["scope"] == "node"),
        key=lambda r: r["timestamp"],
    )


def _rows(project, fmt: str) -> list[dict]:
    path = project.path(TARGETS[fmt])
    if fmt == "delta":
        rows = project.delta(TARGETS[fmt])
    elif fmt == "parquet":
        rows = pq.read_table(path).to_pylist()
    else:
        rows = pcsv.read_csv(path).to_pylist()
    return sorted(rows, key=lambda r: (r["order_id"] is None, r["order_id"] or 0))


@pytest.mark.parametrize("fmt", ["delta", "parquet", "csv", "json"])
def test_an_upsert_whose_keys_repeat_fails_in_one_line_and_writes_nothing(odibi_project, fmt):
    project = _project(odibi_project, fmt)
    assert project.run().exit_code == 0
    target = project.path(TARGETS[fmt])
    before = _snapshot(target)

    project.write({"in.csv": REPEATS})
    run = project.run()

    assert run.exit_code == 1
    message = MESSAGE.format(path=TARGETS[fmt])
    assert f"FAILURE p.orders (write): {message}\n" in run.stdout
    assert _snapshot(target) == before  # the previous target, byte for byte
    failed = _last_node_run(project)
    assert (failed["status"], failed["attempt"]) == ("FAILURE", 1)  # a data error: not retried
    assert failed["error_message"] == message


@pytest.mark.parametrize("fmt", ["delta", "parquet", "csv", "json"])
def test_a_first_upsert_with_repeated_keys_creates_nothing(odibi_project, fmt):
    project = _project(odibi_project, fmt, csv=REPEATS)
    run = project.run()
    assert run.exit_code == 1
    assert MESSAGE.format(path=TARGETS[fmt]) in run.stdout
    gold = project.path("gold")
    assert not gold.exists() or not list(gold.iterdir())  # no target, no temporary files


@pytest.mark.parametrize("fmt", ["delta", "parquet"])
def test_append_once_refuses_repeated_keys_too(odibi_project, fmt):
    project = _project(odibi_project, fmt, mode="append_once")
    assert project.run().exit_code == 0
    before = _snapshot(project.path(TARGETS[fmt]))
    # Key 1 is in the target already, key 5 is new: both repeat in the batch.
    project.write({"in.csv": "order_id,amount\n1,9.0\n1,9.0\n5,1.0\n5,2.0\n"})
    run = project.run()
    assert run.exit_code == 1
    assert (
        f"append_once into {TARGETS[fmt]}: 2 keys repeat in the incoming rows "
        f"(order_id=1 {X}2, order_id=5 {X}2); deduplicate first" in run.stdout
    )
    assert _snapshot(project.path(TARGETS[fmt])) == before


@pytest.mark.parametrize("fmt", ["delta", "parquet"])
def test_null_keys_are_one_key_value_on_every_format(odibi_project, fmt):
    project = _project(odibi_project, fmt, csv="order_id,amount\n1,1.0\n,2.0\n")
    assert project.run().exit_code == 0
    # The null-keyed row is updated, not inserted again: as file upserts always matched it.
    project.write({"in.csv": "order_id,amount\n,3.0\n"})
    assert project.run().exit_code == 0
    assert [(r["order_id"], r["amount"]) for r in _rows(project, fmt)] == [(1, 1.0), (None, 3.0)]
    # So two null keys in one batch are a repeated key.
    project.write({"in.csv": "order_id,amount\n,4.0\n,5.0\n2,1.0\n"})
    run = project.run()
    assert run.exit_code == 1
    assert f"1 key repeats in the incoming rows (order_id=null {X}2)" in run.stdout


def test_compound_keys_merge_on_every_column_and_are_named_when_they_repeat(odibi_project):
    project = odibi_project(
        {
            "odibi.yaml": PROJECT.format(
                fmt="delta",
                path="gold/lines",
                mode="upsert",
                extra=", options: {keys: [order_id, line]}",
            ),
            "in.csv": "order_id,line,sku\n1,1,a\n1,2,b\n2,1,c\n",
        }
    )
    assert project.run().exit_code == 0
    project.write({"in.csv": "order_id,line,sku\n1,2,B\n2,2,d\n"})
    assert project.run().exit_code == 0
    rows = sorted((r["order_id"], r["line"], r["sku"]) for r in project.delta("gold/lines"))
    assert rows == [(1, 1, "a"), (1, 2, "B"), (2, 1, "c"), (2, 2, "d")]

    project.write({"in.csv": "order_id,line,sku\n1,1,a\n1,2,b\n1,1,c\n"})
    run = project.run()
    assert run.exit_code == 1
    assert f"1 key repeats in the incoming rows ((order_id=1, line=1) {X}2);" in run.stdout
    assert len(project.delta("gold/lines")) == 4


def test_keys_that_are_not_columns_are_named_before_anything_is_written(odibi_project):
    project = _project(odibi_project, "delta", csv="id,amount\n1,1.0\n")
    run = project.run()
    assert run.exit_code == 1
    assert (
        "upsert into gold/orders: key column(s) order_id not in the data (columns: id, amount)"
        in run.stdout
    )


# ---------------------------------------------------------------- empty outputs

HEADER_ONLY = "order_id,amount\n"


def _story(project) -> dict:
    latest = max(
        project.path(".odibi/stories").rglob("run_*.json"), key=lambda p: p.stat().st_mtime
    )
    return json.loads(latest.read_text())


def _story_html(project) -> str:
    latest = max(
        project.path(".odibi/stories").rglob("run_*.html"), key=lambda p: p.stat().st_mtime
    )
    return latest.read_text()


@pytest.mark.parametrize("fmt", ["parquet", "delta"])
def test_an_empty_input_does_not_replace_a_full_table_by_default(odibi_project, fmt):
    project = _project(odibi_project, fmt, mode="overwrite")
    assert project.run().exit_code == 0
    target = project.path(TARGETS[fmt])
    before = _snapshot(target)

    project.write({"in.csv": HEADER_ONLY})
    run = project.run()

    assert run.exit_code == 1
    assert (
        f"FAILURE p.orders (write): overwrite of {TARGETS[fmt]} with 0 rows would replace its "
        "2 rows; nothing written (if an empty output is right, set write.on_empty: write, or "
        "skip to keep the rows)\n" in run.stdout
    )
    assert "WARNING p.orders: read 0 rows\n" in run.stdout
    assert _snapshot(target) == before
    failed = _last_node_run(project)
    assert failed["attempt"] == 1
    assert json.loads(failed["metrics_json"])["warnings"] == ["read 0 rows"]
    (node,) = _story(project)["nodes"]
    assert node["warnings"] == ["read 0 rows"] and node["rows_in"] == 0
    assert "⚠ read 0 rows" in _story_html(project)


def test_on_empty_skip_keeps_the_target_and_says_so(odibi_project):
    project = _project(odibi_project, "parquet", mode="overwrite", extra=", on_empty: skip")
    assert project.run().exit_code == 0
    before = _snapshot(project.path(TARGETS["parquet"]))
    project.write({"in.csv": HEADER_ONLY})
    run = project.run()
    assert run.exit_code == 0, run.output
    warning = "0 rows out: write skipped (on_empty: skip), gold/orders.parquet left as it was"
    assert f"WARNING p.orders: read 0 rows; {warning}\n" in run.stdout
    assert _snapshot(project.path(TARGETS["parquet"])) == before
    (node,) = _story(project)["nodes"]
    assert node["warnings"] == ["read 0 rows", warning] and node["rows_written"] is None


def test_on_empty_write_replaces_the_target_and_the_summary_shows_it(odibi_project):
    project = _project(odibi_project, "csv", mode="overwrite", extra=", on_empty: write")
    assert project.run().exit_code == 0
    project.write({"in.csv": HEADER_ONLY})
    run = project.run()
    assert run.exit_code == 0, run.output
    assert project.path(TARGETS["csv"]).read_text().strip() == "order_id,amount"
    assert (
        "WARNING p.orders: read 0 rows; wrote 0 rows to gold/orders.csv (overwrite)\n" in run.stdout
    )
    lines = run.stdout.splitlines()
    header = next(line for line in lines if line.startswith("pipeline  status"))
    (row,) = [line for line in lines if line.split()[:2] == ["p", "SUCCESS"]]
    assert header.endswith("warnings") and row.endswith(" 1")  # one node with warnings
    story = _story(project)
    assert story["nodes"][0]["rows_written"] == 0
    assert "⚠ wrote 0 rows to gold/orders.csv (overwrite)" in _story_html(project)


def test_an_empty_output_is_written_where_it_replaces_nothing(odibi_project):
    # A first run, and keyed or appending writes, lose nothing by writing 0 rows.
    project = _project(odibi_project, "delta", mode="overwrite", csv=HEADER_ONLY)
    run = project.run()
    assert run.exit_code == 0, run.output
    assert project.delta(TARGETS["delta"]) == []
    assert "wrote 0 rows to gold/orders (overwrite)" in run.stdout
    for mode in ("append", "upsert"):
        keyed = _project(odibi_project, "parquet", mode=mode)
        assert keyed.run().exit_code == 0
        keyed.write({"in.csv": HEADER_ONLY})
        assert keyed.run().exit_code == 0
        assert len(_rows(keyed, "parquet")) == 2
