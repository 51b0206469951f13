"""``odibi list`` and ``odibi explain`` through the real CLI. What they say comes from the
models that validate params, so each example they print passes ``odibi validate``."""

from __future__ import annotations

import json

import yaml

from odibi_core.plugin_manager import PluginManager

PATTERNS = {"dimension", "scd2", "date_dimension", "fact", "aggregation", "merge"}


def _list(project, kind, env=None):
    run = project.odibi("list", kind, "--format", "json", env=env)
    assert run.exit_code == 0, run.output
    return {e["name"]: e for e in json.loads(run.stdout)}


def _registry():
    manager = PluginManager()
    manager.load_defaults()
    return manager.registry


def test_list_shows_every_registered_transformer_and_pattern_with_model_params(odibi_project):
    project = odibi_project()
    transformers, patterns = _list(project, "transformers"), _list(project, "patterns")
    assert set(patterns) == PATTERNS
    registry = _registry()
    assert set(transformers) | set(patterns) == set(registry.transform_names())
    dedupe = {p["name"]: p for p in transformers["deduplicate"]["params"]}
    model = registry.transform("deduplicate", "any").params_model
    assert set(dedupe) == {f.alias or n for n, f in model.model_fields.items()}
    assert dedupe["keys"]["required"] is True and dedupe["keys"]["type"] == "list[str]"
    dim = {p["name"]: p for p in patterns["dimension"]["params"]}
    assert dim["scd_type"] == {
        "name": "scd_type",
        "type": "one of: 0, 1, 2",
        "required": False,
        "default": 1,
        "description": "",
        "aliases": [],
    }
    table = project.odibi("list", "patterns")
    assert table.exit_code == 0 and "6 patterns:" in table.stdout
    assert "natural_key, surrogate_key, scd_type?" in table.stdout


def test_list_connections_and_assertions(odibi_project):
    project = odibi_project()
    connections = _list(project, "connections")
    assert {"local", "azure_adls", "azure_blob", "sql_server", "postgres", "http"} <= set(
        connections
    )
    adls = {p["name"]: p for p in connections["azure_adls"]["params"]}
    assert adls["container"]["required"] and not adls["account_key"]["required"]
    assert "server" in {p["name"] for p in connections["postgres"]["params"]}  # the alias
    assertions = _list(project, "assertions")
    assert {"not_null", "unique", "between", "accepted_values", "regex"} <= set(assertions)
    between = {p["name"] for p in assertions["between"]["params"]}
    assert {"column", "min", "max"} <= between
    # Assertion types come from the plugin that registers them: blocked, there are none.
    blocked = project.odibi(
        "list", "assertions", env={"ODIBI_BLOCK_PLUGINS": "quality"}, subprocess_=True
    )
    assert blocked.exit_code == 0 and "no assertions registered" in blocked.stdout


def test_every_example_explain_prints_passes_odibi_validate(odibi_project):
    project = odibi_project()
    nodes = [{"name": "upstream", "read": {"connection": "d", "format": "csv", "path": "x.csv"}}]
    for kind in ("transformers", "patterns"):
        for name, entry in _list(project, kind).items():
            node = yaml.safe_load(entry["example"])[0]
            nodes.append({**node, "name": f"n_{name}"})
    for name, entry in _list(project, "assertions").items():
        block = yaml.safe_load(entry["example"])
        nodes.append({"name": f"q_{name}", "depends_on": ["upstream"], **block})
    connections = {"d": {"type": "local", "base_path": "."}}
    for entry in _list(project, "connections").values():
        connections.update(yaml.safe_load(entry["example"])["connections"])
    project.write(
        {
            "odibi.yaml": yaml.safe_dump(
                {
                    "project": "examples",
                    "connections": connections,
                    "pipelines": [{"pipeline": "p", "nodes": nodes}],
                },
                sort_keys=False,
            )
        }
    )
    run = project.odibi("validate", "{config}")
    assert run.exit_code == 0, run.output


def test_explain_a_pattern_shows_params_defaults_and_an_example(odibi_project):
    run = odibi_project().odibi("explain", "dimension")
    assert run.exit_code == 0, run.output
    lines = run.stdout.splitlines()
    assert lines[0] == "pattern: dimension (engines: any)"
    scd = next(line for line in lines if line.startswith("scd_type"))
    assert scd.split() == ["scd_type", "one", "of:", "0,", "1,", "2", "no", "1"]
    example = "\n".join(lines[lines.index("Example:") + 1 :])
    assert yaml.safe_load(example)[0]["pattern"]["type"] == "dimension"


def test_explain_names_the_closest_and_tells_a_connection_type(odibi_project):
    project = odibi_project()
    typo = project.odibi("explain", "dedupe")
    assert typo.exit_code == 2
    assert typo.stderr.startswith("odibi: error: no transformer, pattern, connection type")
    assert "did you mean 'deduplicate'" in typo.stderr
    conn = project.odibi("explain", "azure_adls", "--format", "json")
    (entry,) = json.loads(conn.stdout)
    assert entry["kind"] == "connection" and "Data Lake" in entry["doc"]
    wrong_kind = project.odibi("explain", "deduplicate", "--kind", "assertion")
    assert wrong_kind.exit_code == 2 and "no assertion named 'deduplicate'" in wrong_kind.stderr
    shown = project.odibi("templates", "show", "not_null")  # Odibi's spelling for the same
    assert shown.exit_code == 0 and shown.stdout.startswith("assertion: not_null")
    odibi_spelling = project.odibi("templates", "transformer", "deduplicate")
    assert odibi_spelling.stdout.startswith("transformer: deduplicate (engines: any)")


SHOUT = '''
from pydantic import BaseModel, ConfigDict

from odibi_core import hookimpl, transform


class ShoutParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    column: str
    times: int = 1


@transform("shout", params=ShoutParams)
def shout(ctx, df, column, times):
    """Upper-case one text column."""
    return df


@hookimpl
def odibi_register_transforms():
    return [shout]
'''


def test_a_projects_own_transform_is_listed_and_explained_with_project(odibi_project):
    project = odibi_project(
        {"odibi.yaml": "project: p\npipelines: []\n", "plugins/shout.py": SHOUT}
    )
    listed = project.odibi(
        "list", "transformers", "--project", "{config}", "--format", "json", subprocess_=True
    )
    assert listed.exit_code == 0, listed.output
    shout = next(e for e in json.loads(listed.stdout) if e["name"] == "shout")
    assert [(p["name"], p["type"], p["required"], p["default"]) for p in shout["params"]] == [
        ("column", "str", True, None),
        ("times", "int", False, 1),
    ]
    explained = project.odibi("explain", "shout", "--project", "{config}", subprocess_=True)
    assert explained.exit_code == 0, explained.output
    assert "Upper-case one text column." in explained.stdout
    without = project.odibi("explain", "shout", subprocess_=True)
    assert without.exit_code == 2  # not loaded without --project
