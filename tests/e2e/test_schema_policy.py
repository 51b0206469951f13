"""``schema_policy``: a node's output measured against its Delta target's columns before the
write, through the real CLI; the tables are read back with deltalake."""

from __future__ import annotations

import pytest
from deltalake import DeltaTable

FIRST = "id,a,b\n1,x,10\n2,y,20\n"
DRIFTED = "id,a,c\n3,z,true\n"  # b is gone, c is new

PROJECT = """\
project: drift
engine: {engine}
retry: {{enabled: false}}
connections: {{d: {{type: local, base_path: .}}}}
pipelines:
  - pipeline: p
    nodes:
      - name: load
        read: {{connection: d, format: csv, path: in.csv}}
        {policy}
        write: {{connection: d, format: delta, path: out/t, mode: {mode}{keys}}}
"""


def _project(odibi_project, engine: str, policy: str, mode: str = "append"):
    keys = ", merge_keys: [id]" if mode == "merge" else ""
    text = PROJECT.format(engine=engine, policy=policy, mode=mode, keys=keys)
    project = odibi_project({"odibi.yaml": text, "in.csv": FIRST})
    first = project.run()
    assert first.exit_code == 0, first.output
    project.write({"in.csv": DRIFTED})
    return project


def _columns(project) -> list[str]:
    return [f.name for f in DeltaTable(str(project.path("out/t"))).schema().fields]


def _rows(project) -> list[dict]:
    # deltalake, not the file-by-file reader: files from before a column was added lack it.
    table = DeltaTable(str(project.path("out/t"))).to_pyarrow_table()
    return sorted(table.to_pylist(), key=lambda r: r["id"])


@pytest.mark.parametrize("engine", ["pandas", "polars"])
def test_enforce_drops_new_columns_and_fills_missing_ones_with_nulls(odibi_project, engine):
    project = _project(odibi_project, engine, "schema_policy: {mode: enforce}")
    run = project.run()
    assert run.exit_code == 0, run.output
    assert _columns(project) == ["id", "a", "b"]
    assert _rows(project) == [
        {"id": 1, "a": "x", "b": 10},
        {"id": 2, "a": "y", "b": 20},
        {"id": 3, "a": "z", "b": None},
    ]


@pytest.mark.parametrize(("engine", "mode"), [("pandas", "append"), ("polars", "merge")])
def test_evolve_adds_new_columns_to_the_target(odibi_project, engine, mode):
    project = _project(odibi_project, engine, "schema_policy: {mode: evolve}", mode)
    run = project.run()
    assert run.exit_code == 0, run.output
    assert _columns(project) == ["id", "a", "b", "c"]
    assert _rows(project) == [
        {"id": 1, "a": "x", "b": 10, "c": None},
        {"id": 2, "a": "y", "b": 20, "c": None},
        {"id": 3, "a": "z", "b": None, "c": True},
    ]


@pytest.mark.parametrize(
    ("policy", "says"),
    [
        (
            "{mode: evolve, on_new_columns: fail}",
            "the output has columns target 'out/t' lacks: c (on_new_columns: fail",
        ),
        (
            "{on_missing_columns: fail}",
            "target 'out/t' has columns the output lacks: b (on_missing_columns: fail",
        ),
    ],
)
def test_a_policy_that_fails_names_node_target_and_columns(odibi_project, policy, says):
    project = _project(odibi_project, "polars", f"schema_policy: {policy}")
    run = project.run()
    assert run.exit_code == 1
    assert "FAILURE load" in run.output and f"schema_policy: {says}" in run.output
    assert len(_rows(project)) == 2  # the target is left as it was
    assert _columns(project) == ["id", "a", "b"]


def test_a_first_write_takes_the_output_as_it_is(odibi_project):
    text = PROJECT.format(
        engine="pandas",
        policy="schema_policy: {mode: enforce, on_new_columns: fail}",
        mode="overwrite",
        keys="",
    )
    project = odibi_project({"odibi.yaml": text, "in.csv": DRIFTED})
    run = project.run()
    assert run.exit_code == 0, run.output
    assert _columns(project) == ["id", "a", "c"]


@pytest.mark.parametrize(
    ("policy", "says"),
    [
        ("schema_policy: {on_new_columns: add_nullable}", "use mode: evolve"),
        ("schema_policy: {mode: grow}", "schema_policy.mode"),
    ],
)
def test_contradictory_or_unknown_policies_are_validate_errors(odibi_project, policy, says):
    text = PROJECT.format(engine="pandas", policy=policy, mode="append", keys="")
    project = odibi_project({"odibi.yaml": text, "in.csv": FIRST})
    check = project.odibi("validate", "{config}")
    assert check.exit_code == 2
    assert says in check.output


def test_a_policy_without_a_write_is_a_validate_error(odibi_project):
    project = odibi_project(
        {
            "odibi.yaml": """\
project: drift
connections: {d: {type: local, base_path: .}}
pipelines:
  - pipeline: p
    nodes:
      - name: load
        read: {connection: d, format: csv, path: in.csv}
        schema_policy: {mode: evolve}
""",
            "in.csv": FIRST,
        }
    )
    check = project.odibi("validate", "{config}")
    assert check.exit_code == 2
    assert "schema_policy compares the output with the write target" in check.output
