"""Plugins add catalog tables and ``odibi`` commands through hooks, and the CLI serves them
exactly as it serves the tables of Odibi's own plugins (``meta_quality``, ``meta_metrics``)."""

from __future__ import annotations

import json

PLUGIN = """
from odibi_core import hookimpl
from odibi_core.catalog.spec import TableSpec
from odibi_core.cli.command import Command


def _schema():
    import pyarrow as pa

    return pa.schema([
        ("run_id", pa.string()), ("pipeline_name", pa.string()), ("node_name", pa.string()),
        ("colour", pa.string()), ("rows", pa.int64()),
        ("timestamp", pa.timestamp("us", tz="UTC")), ("date", pa.date32()),
    ])


def _by_colour(args, rows):
    if not args.by_colour:
        return None
    totals = {}
    for r in rows:
        totals[r["colour"]] = totals.get(r["colour"], 0) + r["rows"]
    return [{"colour": c, "rows": n} for c, n in sorted(totals.items())], ["colour", "rows"]


WIDGETS = TableSpec(
    "acme_widgets", _schema, columns=("node_name", "colour", "rows"),
    command="widgets", help="widgets seen per node", filters={"colour": ("red", "blue")},
    add_arguments=lambda p: p.add_argument("--by-colour", action="store_true"),
    view=_by_colour,
)


@hookimpl
def odibi_register_catalog_tables():
    return [WIDGETS]


@hookimpl
def odibi_catalog_rows(ctx, result):
    rows = [
        {"run_id": result.run_id, "pipeline_name": result.pipeline, "node_name": n.node,
         "colour": "red" if n.node == "a" else "blue", "rows": n.rows_out,
         "timestamp": n.ended_at, "date": n.ended_at.date()}
        for n in result.nodes.values()
    ]
    return [WIDGETS.rows(rows)]


def _greet(args):
    print(f"hello {args.who} from acme")
    return 3


def _options(parser):
    parser.add_argument("config")
    parser.add_argument("--who", default="world")


@hookimpl
def odibi_register_commands():
    return [Command("acme-hello", "greet someone", _greet, _options)]
"""

PROJECT = """
project: p
connections: {d: {type: local, base_path: .}}
pipelines:
  - pipeline: shop
    nodes:
      - name: a
        read: {connection: d, format: csv, path: in.csv}
      - name: b
        depends_on: [a]
        transform: {steps: ["SELECT * FROM a WHERE id > 1"]}
"""


def _project(odibi_project):
    return odibi_project(
        {"odibi.yaml": PROJECT, "in.csv": "id\n1\n2\n3\n", "plugins/acme.py": PLUGIN}
    )


def test_a_plugin_table_is_written_from_its_declaration_and_queried_by_its_command(
    odibi_project,
):
    project = _project(odibi_project)
    assert project.run().exit_code == 0
    rows = project.catalog("acme_widgets")
    assert sorted((r["node_name"], r["colour"], r["rows"]) for r in rows) == [
        ("a", "red", 3),
        ("b", "blue", 2),
    ]
    # History table: partitioned by pipeline like the catalog's own history tables.
    assert project.path(".odibi/system/acme_widgets/pipeline_name=shop").is_dir()

    shown = project.odibi("catalog", "widgets", "{config}", "--colour", "RED", "--format", "json")
    assert shown.exit_code == 0, shown.output
    assert [(r["node_name"], r["rows"]) for r in json.loads(shown.stdout)["rows"]] == [("a", 3)]

    table = project.odibi("catalog", "widgets", "{config}")
    assert table.stdout.splitlines()[0].split() == ["node_name", "colour", "rows"]

    assert project.run().exit_code == 0
    summed = project.odibi("catalog", "widgets", "{config}", "--by-colour", "--format", "json")
    assert json.loads(summed.stdout)["rows"] == [
        {"colour": "blue", "rows": 4},
        {"colour": "red", "rows": 6},
    ]

    bad = project.odibi("catalog", "widgets", "{config}", "--colour", "green")
    assert bad.exit_code == 2 and "invalid choice: 'green'" in bad.stderr


def test_catalog_tables_lists_every_declaration_and_who_made_it(odibi_project):
    project = _project(odibi_project)
    out = project.odibi("catalog", "tables", "{config}", "--format", "json")
    assert out.exit_code == 0, out.output
    rows = {r["table"]: r for r in json.loads(out.stdout)["rows"]}
    assert rows["acme_widgets"]["declared_by"] == "project:acme"
    assert rows["acme_widgets"]["command"] == "catalog widgets"
    assert rows["meta_quality"]["declared_by"] == "catalog_quality"
    assert rows["meta_quality"]["command"] == "catalog quality"
    assert rows["meta_metrics"]["declared_by"] == "telemetry"
    assert rows["meta_state"]["keys"] == ["pipeline_name", "node_name", "key"]
    assert rows["meta_runs"]["kind"] == "history"
    assert "violation_count" in rows["meta_quality"]["columns"]


def test_a_blocked_plugin_takes_its_table_and_its_command_with_it(odibi_project):
    project = _project(odibi_project)
    env = {"ODIBI_BLOCK_PLUGINS": "catalog_quality"}
    gone = project.odibi("catalog", "quality", "{config}", env=env)
    assert gone.exit_code == 2 and "invalid choice: 'quality'" in gone.stderr


def test_a_plugin_command_runs_through_the_odibi_command(odibi_project):
    project = _project(odibi_project)
    run = project.odibi("acme-hello", "{config}", "--who", "ada", subprocess_=True)
    assert (run.exit_code, run.stdout.strip()) == (3, "hello ada from acme"), run.output
    # The built-in commands' help does not load plugins; an unknown command says so.
    unknown = project.odibi("acme-nope", subprocess_=True)
    assert unknown.exit_code == 2 and "invalid choice: 'acme-nope'" in unknown.stderr


def test_a_plugin_cannot_take_a_built_in_command_name(odibi_project):
    plugin = PLUGIN.replace('Command("acme-hello"', 'Command("validate"')
    project = odibi_project({"odibi.yaml": PROJECT, "in.csv": "id\n1\n", "plugins/acme.py": plugin})
    run = project.odibi("validate", "{config}")
    assert run.exit_code == 0 and "is valid" in run.stdout
