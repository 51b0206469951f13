"""Custom transforms written the way Odibi documents them: a ``transforms.py`` beside the
project file using ``from odibi import transform``, imported when the project loads, run and
validated through the real CLI; and the catalogue's params checked by ``odibi validate``."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator

import pytest

from odibi_core.testing.project import OdibiProject

Make = Callable[..., OdibiProject]


@pytest.fixture(autouse=True)
def _fresh_registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Odibi's function registry is process-wide: each test starts with none registered."""
    import sys

    from odibi_core.transforms.custom import FunctionRegistry

    monkeypatch.setenv("ODIBI_DISABLE_PLUGIN_AUTOLOAD", "1")
    FunctionRegistry.clear()
    sys.modules.pop("transforms", None)
    yield
    FunctionRegistry.clear()
    sys.modules.pop("transforms", None)


TRANSFORMS = '''
from pydantic import BaseModel, Field

from odibi import transform
from odibi.context import EngineContext
from odibi.registry import FunctionRegistry


@transform
def add_tax(context, current, rate: float = 0.1):
    """Add a tax column (SQL through the context: any engine)."""
    return context.sql(f"SELECT *, amount * {rate} AS tax FROM df").df


@transform("shout")
def make_loud(context, current, column: str):
    current = current.copy()
    current[column] = current[column].str.upper()
    return current


class ScaleParams(BaseModel):
    column: str
    factor: float = Field(1.0, gt=0)


@transform(name="scale", param_model=ScaleParams)
def scale(context: EngineContext, params: ScaleParams) -> EngineContext:
    return context.sql(f"SELECT *, {params.column} * {params.factor} AS scaled FROM df")


@transform("filter_rows")
def only_big(context, current):
    """Replaces the built-in of that name, as in Odibi."""
    return current[current["amount"] > 15]


assert FunctionRegistry.has_function("shout")
'''

PROJECT = """
project: custom
connections:
  local: {type: local, base_path: .}
pipelines:
  - pipeline: p
    nodes:
      - name: orders
        read: {connection: local, format: csv, path: orders.csv}
        transform:
          steps:
            - function: add_tax
              params: {rate: 0.5}
            - function: shout
              params: {column: name}
            - function: scale
              params: {column: amount, factor: 2}
            - function: filter_rows
        write: {connection: local, format: csv, path: out.csv}
"""
ORDERS = "id,name,amount\n1,ann,10\n2,bob,20\n3,cy,30\n"


def _read(project: OdibiProject, rel: str) -> list[dict[str, str]]:
    with project.path(rel).open(newline="") as f:
        return list(csv.DictReader(f))


def test_a_projects_transforms_py_runs_through_the_cli(odibi_project: Make) -> None:
    project = odibi_project(
        {"odibi.yaml": PROJECT, "transforms.py": TRANSFORMS, "orders.csv": ORDERS}
    )
    run = project.run(subprocess_=True)
    assert run.exit_code == 0, run.output
    rows = _read(project, "out.csv")
    assert [(r["name"], float(r["tax"]), float(r["scaled"])) for r in rows] == [
        ("BOB", 10.0, 40.0),
        ("CY", 15.0, 60.0),
    ]


def test_plugins_lists_the_projects_functions(odibi_project: Make) -> None:
    project = odibi_project({"odibi.yaml": PROJECT, "transforms.py": TRANSFORMS})
    run = project.odibi("plugins", "--project", "{config}", "--format", "json")
    assert run.exit_code == 0, run.output
    plugins = {p["name"]: p for p in json.loads(run.stdout)}
    provided = plugins["project:transforms"]["provides"]["transforms"]
    assert sorted(provided) == ["add_tax", "filter_rows", "scale", "shout"]
    assert "filter_rows" not in plugins["odibi_core.transforms.builtin"]["provides"]["transforms"]


def test_validate_checks_a_custom_functions_params(odibi_project: Make) -> None:
    bad = PROJECT.replace("{rate: 0.5}", "{rat: 0.5}").replace("factor: 2", "factor: -1")
    project = odibi_project({"odibi.yaml": bad, "transforms.py": TRANSFORMS})
    run = project.odibi("validate", "{config}")
    assert run.exit_code == 2
    assert "rat" in run.stderr and "did you mean 'rate'" in run.stderr
    assert "factor" in run.stderr and "greater than 0" in run.stderr
    assert "Traceback" not in run.output


def test_a_broken_transforms_py_is_named(odibi_project: Make) -> None:
    project = odibi_project({"odibi.yaml": PROJECT, "transforms.py": "raise ValueError('no')\n"})
    run = project.odibi("validate", "{config}")
    assert run.exit_code == 2
    assert "transforms.py failed to import: ValueError: no" in run.stderr


CATALOGUE = """
project: catalogue
connections:
  local: {type: local, base_path: .}
pipelines:
  - pipeline: p
    nodes:
      - name: people
        read: {connection: local, format: csv, path: people.csv}
        transform:
          steps:
            - function: clean_text
              params: {columns: [name], operations: [trim, lower]}
            - operation: generate_surrogate_key
              params: {columns: [id, name], output_col: sk}
            - function: case_when
              params:
                output_col: band
                default: "'high'"
                cases: [{condition: "score < 50", value: "'low'"}]
            - function: split_part
              params: {col: email, delimiter: "@", index: 2}
        write: {connection: local, format: csv, path: out.csv}
"""
PEOPLE = "id,name,score,email\n1,  Ann ,40,ann@x.org\n2,BOB,70,bob@y.com\n"


def test_catalogue_transformers_run_as_functions_and_operations(odibi_project: Make) -> None:
    import hashlib

    project = odibi_project({"odibi.yaml": CATALOGUE, "people.csv": PEOPLE})
    run = project.run()
    assert run.exit_code == 0, run.output
    rows = _read(project, "out.csv")
    assert [(r["name"], r["band"], r["email_part_2"]) for r in rows] == [
        ("ann", "low", "x.org"),
        ("bob", "high", "y.com"),
    ]
    assert rows[0]["sk"] == hashlib.md5(b"1-ann").hexdigest()  # Odibi's key for (1, ann)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("operations: [trim, lower]", "operation: [trim]", "did you mean 'operations'"),
        ("operations: [trim, lower]", "operations: [trim, shout]", "shout"),
        ('delimiter: "@"', 'delimitr: "@"', "did you mean 'delimiter'"),
        ("index: 2", "index: 0", "index is 1-based"),
        ("output_col: band", "output_column: band", "did you mean 'output_col'"),
    ],
)
def test_validate_checks_catalogue_params(
    odibi_project: Make, old: str, new: str, expected: str
) -> None:
    project = odibi_project({"odibi.yaml": CATALOGUE.replace(old, new)})
    run = project.odibi("validate", "{config}")
    assert run.exit_code == 2, run.output
    assert expected in run.stderr
    assert "Traceback" not in run.output


CONTEXT_TRANSFORMS = '''
from odibi import EngineType, transform


@transform("with_region")
def with_region(context, current):
    """Uses another node's output through the context, on whatever engine runs."""
    assert context.engine_type == EngineType.POLARS and context.engine_type == "polars"
    assert context.columns == ["id", "name", "amount"]
    context.register_temp_view("regions", context.get("regions"))
    joined = context.sql(
        "SELECT df.*, regions.region FROM df JOIN regions ON df.id = regions.id ORDER BY df.id"
    )
    return joined
'''

CONTEXT_PROJECT = """
project: ctx
engine: polars
connections:
  local: {type: local, base_path: .}
pipelines:
  - pipeline: p
    nodes:
      - name: regions
        read: {connection: local, format: csv, path: regions.csv}
      - name: orders
        depends_on: [regions]
        read: {connection: local, format: csv, path: orders.csv}
        transformer: with_region
        write: {connection: local, format: csv, path: out.csv}
"""


def test_a_function_reaches_other_nodes_through_the_context(odibi_project: Make) -> None:
    project = odibi_project(
        {
            "odibi.yaml": CONTEXT_PROJECT,
            "transforms.py": CONTEXT_TRANSFORMS,
            "orders.csv": ORDERS,
            "regions.csv": "id,region\n1,north\n3,south\n",
        }
    )
    run = project.run()
    assert run.exit_code == 0, run.output
    assert [(r["name"], r["region"]) for r in _read(project, "out.csv")] == [
        ("ann", "north"),
        ("cy", "south"),
    ]
