"""Assertion names as Odibi gives them, and assertion types from the plugin manager a project
runs with (not the process-wide one)."""

from __future__ import annotations

import types

from pydantic import BaseModel

from odibi_core import hookimpl
from odibi_core.plugin_manager import PluginManager
from odibi_core.runner.api import run_project
from odibi_quality.types import AssertionType

ORDERS = "order_id,amount\n1,10\n2,-3\n2,7\n"


def test_names_follow_odibi_per_block_not_counted_across_blocks(odibi_project):
    project = odibi_project(
        {
            "odibi.yaml": """\
project: q
connections: {d: {type: local, base_path: .}}
pipelines:
  - pipeline: p
    nodes:
      - name: orders
        read: {connection: d, format: csv, path: orders.csv}
        contracts:
          - {type: not_null, columns: [order_id], on_fail: warn}
        validation:
          tests:
            - {type: range, column: amount, min: 0, on_fail: warn}
            - {type: unique, columns: [order_id], on_fail: warn}
            - {type: range, column: order_id, max: 1, on_fail: warn}
            - {type: not_null, columns: [amount], on_fail: warn, name: amount_present}
        quality:
          assertions:
            - {type: row_count, min: 1}
""",
            "orders.csv": ORDERS,
        }
    )
    run = project.run()
    assert run.exit_code == 0, run.output
    names = {r["assertion_name"]: r["assertion_type"] for r in project.catalog("meta_quality")}
    # The type as written (range, not the between it runs as); a second one numbered by its
    # place in its block, as Odibi's quarantine names it.
    assert names == {
        "row_count": "row_count",
        "not_null": "not_null",
        "range": "between",
        "unique": "unique",
        "range_2": "between",
        "amount_present": "not_null",
    }


class _OddParams(BaseModel):
    column: str


def _odd_plugin() -> types.ModuleType:
    module = types.ModuleType("odd_assertions")

    @hookimpl
    def odibi_register_assertion_types() -> list[AssertionType]:
        return [
            AssertionType(
                "odd",
                _OddParams,
                lambda p, ctx: [],
                lambda p: [p.column],
                rule=lambda p, d: f"{d.quote(p.column)} % 2 = 1",
            )
        ]

    module.odibi_register_assertion_types = odibi_register_assertion_types  # type: ignore[attr-defined]
    return module


def test_a_private_plugin_manager_supplies_its_own_assertion_types(odibi_project):
    project = odibi_project(
        {
            "odibi.yaml": """\
project: q
connections: {d: {type: local, base_path: .}}
pipelines:
  - pipeline: p
    nodes:
      - name: orders
        read: {connection: d, format: csv, path: orders.csv}
        quality:
          assertions:
            - {type: odd, column: amount, severity: quarantine}
          quarantine: {connection: d, path: odd_rows}
        write: {connection: d, format: csv, path: even.csv}
""",
            "orders.csv": ORDERS,
        }
    )
    manager = PluginManager()
    manager.load_defaults()
    manager.register(_odd_plugin(), "odd")
    # Only this manager knows 'odd': the process-wide one must not be asked.
    from odibi_core.plugin_manager import get_plugin_manager

    assert "odd" not in get_plugin_manager().registry.assertion_types
    (result,) = run_project(project.path("odibi.yaml"), plugins=manager)
    assert result.status == "SUCCESS", result
    assert sorted(r["order_id"] for r in project.delta("odd_rows")) == [2]  # amount 7
    assert project.path("even.csv").read_text().splitlines()[1:] == ["1,10", "2,-3"]
