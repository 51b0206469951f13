"""``odibi schema``: the JSON Schema editors use accepts the projects Odibi accepts (the
examples and the init templates) and rejects typos in keys, connection fields, transformer
params and assertion types."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
TEMPLATES = REPO / "src" / "odibi_core" / "templates" / "projects"
PROJECTS = sorted(REPO.glob("examples/*/odibi.yaml")) + sorted(TEMPLATES.glob("*/odibi.yaml"))

BASE = {
    "project": "p",
    "retry": {"max_attempts": "${RETRIES}"},
    "engine": "pandas",
    "connections": {"d": {"type": "local", "base_path": "."}},
    "pipelines": [
        {
            "pipeline": "x",
            "nodes": [
                {"name": "a", "read": {"connection": "d", "format": "csv", "path": "a.csv"}},
                {
                    "name": "b",
                    "depends_on": "a",
                    "transformer": "deduplicate",
                    "params": {"keys": ["id"]},
                    "transform": {"steps": ["SELECT * FROM a"]},
                    "quality": {"assertions": [{"type": "not_null", "columns": ["id"]}]},
                    "on_error": "${ON_ERROR}",
                },
                {
                    "name": "c",
                    "depends_on": ["b"],
                    "pattern": {
                        "type": "dimension",
                        "params": {"natural_key": "id", "surrogate_key": "sk"},
                    },
                },
            ],
        }
    ],
}


@pytest.fixture(scope="module")
def validator(tmp_path_factory):
    out = tmp_path_factory.mktemp("schema") / "odibi.schema.json"
    from odibi_core.testing.project import OdibiProject

    run = OdibiProject(out.parent).odibi("schema", "--output", str(out))
    assert run.exit_code == 0, run.output
    schema = json.loads(out.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_odibi_templates_schema_is_the_same_schema(tmp_path):
    from odibi_core.testing.project import OdibiProject

    project = OdibiProject(tmp_path)
    first = project.odibi("schema")
    second = project.odibi("templates", "schema")
    assert first.exit_code == second.exit_code == 0
    assert json.loads(first.stdout) == json.loads(second.stdout)
    assert "quality" in json.loads(first.stdout)["$defs"]["NodeConfig"]["properties"]
    small = json.loads(project.odibi("schema", "--no-transformers").stdout)
    assert small["$defs"]["NodeConfig"]["allOf"] == []
    assert (
        "deduplicate"
        in small["$defs"]["NodeConfig"]["properties"]["transformer"]["anyOf"][0]["enum"]
    )


def _errors(validator, data):
    """Every error, with those under an ``anyOf`` (the reasons it matched no branch)."""
    found = []
    stack = list(validator.iter_errors(data))
    while stack:
        error = stack.pop()
        found.append((list(error.absolute_path), error.message))
        stack.extend(error.context or [])
    return found


@pytest.mark.parametrize("path", PROJECTS, ids=lambda p: str(p.relative_to(REPO)))
def test_the_projects_odibi_runs_are_valid(validator, path):
    data = yaml.safe_load(path.read_text().replace("{{ project }}", "p"))
    assert _errors(validator, data) == []


def test_a_project_with_substitutions_shorthands_and_plugin_keys_is_valid(validator):
    assert _errors(validator, BASE) == []


def _with(path, value):
    data = json.loads(json.dumps(BASE))
    *where, last = path
    node = data
    for key in where:
        node = node[key]
    node[last] = value
    return data


@pytest.mark.parametrize(
    ("path", "value", "wrong"),
    [
        (("conections",), {}, "'conections' was unexpected"),
        (("pipelines", 0, "nodes", 0, "depnds_on"), ["x"], "'depnds_on' was unexpected"),
        (("connections", "d", "base_pth"), ".", "'base_pth' was unexpected"),
        (("connections", "d", "type"), "locall", "'locall' is not one of"),
        (("pipelines", 0, "nodes", 1, "params"), {"keyz": ["id"]}, "'keyz' was unexpected"),
        (("pipelines", 0, "nodes", 1, "transformer"), "dedupe", "'dedupe' is not one of"),
        (
            ("pipelines", 0, "nodes", 1, "quality"),
            {"assertions": [{"type": "not_nul", "columns": ["id"]}]},
            "'not_nul' is not one of",
        ),
        (("retry", "max_attempts"), "three", "'three' is not valid under any"),
    ],
)
def test_typos_are_rejected_where_they_are(validator, path, value, wrong):
    errors = _errors(validator, _with(path, value))
    assert errors, "accepted"
    messages = " | ".join(m for _, m in errors)
    assert wrong in messages
