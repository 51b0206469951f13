"""``odibi validate CONFIG [--env E] [--format json]`` (SPEC §7): exit codes and messages."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import pytest

from odibi_core.testing.project import OdibiProject, ProjectRun

Make = Callable[..., OdibiProject]


@pytest.fixture(autouse=True)
def _builtin_plugins_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Only built-in plugins, so these results do not depend on optional plugins installed."""
    from odibi_core.plugin_manager import reset_plugin_manager

    monkeypatch.setenv("ODIBI_DISABLE_PLUGIN_AUTOLOAD", "1")
    monkeypatch.delenv("ODIBI_BLOCK_PLUGINS", raising=False)
    monkeypatch.delenv("ODIBI_VERBOSE", raising=False)
    reset_plugin_manager()
    yield
    reset_plugin_manager()


def validate(project: OdibiProject, *args: str, **kwargs: object) -> ProjectRun:
    run = project.odibi("validate", "{config}", *args, **kwargs)  # type: ignore[arg-type]
    assert "Traceback" not in run.output
    return run


def where(project: OdibiProject, rel: str = "odibi.yaml") -> str:
    """The file name as messages print it."""
    return str(project.path(rel).resolve())


def errors(run: ProjectRun) -> list[str]:
    """The lines of one ``odibi: error:`` report, without the prefix and indentation."""
    lines = run.stderr.splitlines()
    assert lines and lines[0].startswith("odibi: error: "), run.stderr
    assert all(line.startswith("  ") for line in lines[1:]), run.stderr
    return [lines[0].removeprefix("odibi: error: ")] + [line[2:] for line in lines[1:]]


VALID = """
project: sales
description: Sales
owner: data
version: 2
vars:
  rows: 100
retry:
  max_attempts: 2
connections:
  raw:
    type: local
    base_path: ./data
  lake:
    type: local
    base_path: ./lake
story:
  connection: lake
  path: stories
  retention_days: 14
system:
  connection: lake
  path: _system
environments:
  prod:
    connections:
      lake:
        base_path: /prod/lake
pipelines:
  - pipeline: bronze
    layer: bronze
    nodes:
      - name: orders
        tags: [daily]
        read: {connection: raw, format: csv, path: orders.csv}
        columns:
          email: {pii: true}
      - name: clean
        depends_on: [orders]
        transform:
          steps:
            - SELECT * FROM orders
            - sql: SELECT * FROM df
            - function: limit
              params: {n: "${vars.rows}"}
            - operation: fillna
              params: {value: 0}
        on_error: fail_fast
      - name: store
        depends_on: clean
        transformer: deduplicate
        params: {keys: [id]}
        write:
          connection: lake
          format: delta
          table: orders
          mode: upsert
          options: {keys: [id]}
  - pipeline: silver
    nodes:
      - name: s
        read: {connection: lake, format: delta, table: orders}
        write: {connection: lake, format: parquet, path: silver/s, mode: append}
"""


# ---------------------------------------------------------------- valid projects


def test_valid_project(odibi_project: Make) -> None:
    run = validate(odibi_project({"odibi.yaml": VALID}))
    assert (run.exit_code, run.stderr) == (0, "")
    assert run.stdout == "ok: project 'sales' is valid (2 pipeline(s), 4 node(s))\n"


def test_valid_project_as_json(odibi_project: Make) -> None:
    run = validate(odibi_project({"odibi.yaml": VALID}), "--format", "json")
    assert (run.exit_code, run.stderr) == (0, "")
    assert json.loads(run.stdout) == {
        "valid": True,
        "project": "sales",
        "pipelines": ["bronze", "silver"],
        "nodes": 4,
        "issues": [],
    }


def test_valid_with_an_environment(odibi_project: Make) -> None:
    run = validate(odibi_project({"odibi.yaml": VALID}), "--env", "prod")
    assert (run.exit_code, run.stderr) == (0, "")
    assert run.stdout.startswith("ok: project 'sales' is valid")


# ---------------------------------------------------------------- misspelt keys

TYPO = """
project: demo
connections:
  raw:
    type: local
story:
  connection: raw
  retention_days: 5
pipelines:
  - pipeline: p
    nodes:
      - name: a
        read:
          connection: raw
          format: csv
          path: a.csv
      - name: b
        depends_on: [a]
"""


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "depends_on: [a]",
            "depnds_on: [a]",
            [
                "16:9: node 'b' has no input: give it 'read', 'depends_on' or a SQL step",
                "17:9: unknown key 'depnds_on' in pipeline 'p', node 'b' "
                "(did you mean 'depends_on'?)",
            ],
        ),
        (
            "  format: csv",
            "  formt: csv",
            [
                "12:9: missing required key 'format' in pipeline 'p', node 'a', read",
                "14:11: unknown key 'formt' in pipeline 'p', node 'a', read "
                "(did you mean 'format'?)",
            ],
        ),
        (
            "retention_days: 5",
            "retention_dayz: 5",
            ["7:3: unknown key 'retention_dayz' in story (did you mean 'retention_days'?)"],
        ),
        (
            "story:",
            "pipeline:\n  x: 1\nstory:",
            ["5:1: unknown key 'pipeline' (did you mean 'pipelines'?)"],
        ),
    ],
    ids=["depends_on", "read.format", "story.retention_days", "top-level"],
)
def test_misspelt_key(odibi_project: Make, old: str, new: str, expected: list[str]) -> None:
    assert TYPO.count(old) == 1
    project = odibi_project({"odibi.yaml": TYPO.replace(old, new)})
    run = validate(project)
    assert run.exit_code == 2
    assert run.stdout == ""
    assert errors(run) == [f"{where(project)}:{e}" for e in expected]


# ---------------------------------------------------------------- every error at once

MANY = """
project: demo
connections:
  raw: {type: local}
pipelines:
  - pipeline: p
    nodes:
      - name: a
        depends_on: [b]
        read: {connection: rwa, format: csv, path: a.csv}
      - name: b
        depends_on: [a, c]
      - name: b
        depends_on: [a]
      - name: c
        depends_on: [a]
        transformer: dedupe
        write: {connection: raw, format: csv, path: c.csv, mode: overwrit}
      - name: d
        depends_on: [cc]
        transformer: deduplicate
        params: {key: [id]}
      - depends_on: [a]
"""


def test_every_problem_is_reported_in_one_run(odibi_project: Make) -> None:
    project = odibi_project({"odibi.yaml": MANY})
    run = validate(project)
    assert run.exit_code == 2
    assert run.stdout == ""
    f = where(project)
    assert errors(run) == [
        f"{f}:8:9: dependency cycle in pipeline 'p': a -> b -> a",
        f"{f}:9:16: pipeline 'p', node 'a', read.connection: unknown connection 'rwa'; "
        "defined: raw (did you mean 'raw'?)",
        f"{f}:12:9: duplicate node name 'b' in pipeline 'p'",
        f"{f}:16:9: unknown transform 'dedupe' (did you mean 'deduplicate'?) "
        "(see `odibi plugins` for installed transforms)",
        f"{f}:17:60: pipeline 'p', node 'c', write.mode: Input should be 'overwrite', 'append', "
        "'upsert', 'append_once' or 'merge' (got 'overwrit') (did you mean 'overwrite'?)",
        f"{f}:19:22: node 'd' depends on unknown node 'cc' (did you mean 'c'?)",
        f"{f}:21:9: missing required key 'keys' in pipeline 'p', node 'd', params",
        f"{f}:21:18: unknown key 'key' in pipeline 'p', node 'd', params (did you mean 'keys'?)",
        f"{f}:22:9: missing required key 'name' in pipeline 'p', nodes[5]",
    ]


def test_json_report_of_an_invalid_project(odibi_project: Make) -> None:
    project = odibi_project({"odibi.yaml": MANY})
    run = validate(project, "--format", "json")
    assert (run.exit_code, run.stderr) == (2, "")
    report = json.loads(run.stdout)
    assert report["valid"] is False
    f = where(project)
    assert [(i["file"], i["line"], i["column"]) for i in report["issues"]] == [
        (f, 8, 9),
        (f, 9, 16),
        (f, 12, 9),
        (f, 16, 9),
        (f, 17, 60),
        (f, 19, 22),
        (f, 21, 9),
        (f, 21, 18),
        (f, 22, 9),
    ]
    assert report["issues"][0]["message"] == "dependency cycle in pipeline 'p': a -> b -> a"
    assert set(report) == {"valid", "issues"}
    assert all(set(i) == {"message", "file", "line", "column"} for i in report["issues"])


def test_duplicate_yaml_keys(odibi_project: Make) -> None:
    project = odibi_project(
        {"odibi.yaml": "project: a\nconnections:\n  raw: {type: local}\n  raw: {type: local}\n"}
    )
    run = validate(project)
    assert run.exit_code == 2
    assert errors(run) == [f"{where(project)}:4:3: duplicate key 'raw'"]


# ---------------------------------------------------------------- files that cannot be read


def test_invalid_yaml(odibi_project: Make) -> None:
    project = odibi_project({"odibi.yaml": "project: demo\npipelines:\n  - pipeline: p\n   x: [\n"})
    run = validate(project)
    assert run.exit_code == 2
    (line,) = errors(run)
    assert line.startswith(f"{where(project)}:4:4: invalid YAML: ")

    run = validate(project, "--format", "json")
    assert run.exit_code == 2
    (issue,) = json.loads(run.stdout)["issues"]
    assert (issue["file"], issue["line"], issue["column"]) == (where(project), 4, 4)


def test_missing_project_file(odibi_project: Make) -> None:
    project = odibi_project({}, config="missing.yaml")
    run = validate(project)
    assert (run.exit_code, run.stdout) == (2, "")
    assert run.stderr == f"odibi: error: project file not found: {where(project, 'missing.yaml')}\n"

    run = validate(project, "--format", "json")
    assert run.exit_code == 2
    assert json.loads(run.stdout) == {
        "valid": False,
        "issues": [
            {
                "message": f"project file not found: {where(project, 'missing.yaml')}",
                "file": None,
                "line": None,
                "column": None,
            }
        ],
    }


@pytest.mark.parametrize(
    "argv",
    [["validate"], ["validate", "x.yaml", "--format", "xml"], ["validate", "x.yaml", "--nope"]],
)
def test_bad_usage_exits_2(odibi_project: Make, argv: list[str]) -> None:
    run = odibi_project({}).odibi(*argv)
    assert run.exit_code == 2
    assert run.stderr.startswith("usage: odibi")
    assert "Traceback" not in run.output


# ---------------------------------------------------------------- substitution, imports, envs


def test_unset_environment_variable(odibi_project: Make, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ODIBI_T_CLI_UNSET", raising=False)
    text = (
        "project: x\nconnections:\n  raw:\n    type: local\n    base_path: ${ODIBI_T_CLI_UNSET}\n"
    )
    project = odibi_project({"odibi.yaml": text})
    run = validate(project)
    assert run.exit_code == 2
    assert errors(run) == [
        f"{where(project)}:5:5: environment variable 'ODIBI_T_CLI_UNSET' is not set "
        "(used as ${ODIBI_T_CLI_UNSET})"
    ]
    run = validate(project, env={"ODIBI_T_CLI_UNSET": "/data"})
    assert (run.exit_code, run.stderr) == (0, "")


def test_error_in_an_imported_file_names_it(odibi_project: Make) -> None:
    project = odibi_project(
        {
            "odibi.yaml": "project: x\nimports:\n  - conf/pipes.yaml\n  - conf/gone.yaml\n",
            "conf/pipes.yaml": """
            pipelines:
              - pipeline: p
                nodes:
                  - name: a
                    transform: {steps: [SELECT 1 AS x]}
                    tagz: [t]
            """,
        }
    )
    run = validate(project)
    assert run.exit_code == 2
    assert errors(run) == [  # ordered by file, then line
        f"{where(project, 'conf/pipes.yaml')}:6:9: unknown key 'tagz' in pipeline 'p', node 'a' "
        "(did you mean 'tags'?)",
        f"{where(project)}:4:5: imported file not found: conf/gone.yaml",
    ]


def test_import_cycle(odibi_project: Make) -> None:
    project = odibi_project(
        {
            "odibi.yaml": "project: x\nimports: [other.yaml]\n",
            "other.yaml": "imports: [odibi.yaml]\n",
        }
    )
    run = validate(project)
    assert run.exit_code == 2
    assert errors(run) == [
        f"{where(project, 'other.yaml')}:1:11: import cycle: odibi.yaml -> other.yaml -> odibi.yaml"
    ]


def test_unknown_environment(odibi_project: Make) -> None:
    project = odibi_project({"odibi.yaml": VALID})
    run = validate(project, "--env", "prd")
    assert run.exit_code == 2
    assert errors(run) == [
        f"{where(project)}: unknown environment 'prd'; known: prod (did you mean 'prod'?)"
    ]


def test_environment_side_file_is_validated(odibi_project: Make) -> None:
    project = odibi_project({"odibi.yaml": VALID, "env.prod.yaml": "story:\n  retention_dayz: 1\n"})
    assert validate(project).exit_code == 0
    run = validate(project, "--env", "prod")
    assert run.exit_code == 2
    assert errors(run) == [
        f"{where(project, 'env.prod.yaml')}:2:3: unknown key 'retention_dayz' in story "
        "(did you mean 'retention_days'?)"
    ]


# ---------------------------------------------------------------- the installed command


def test_console_script_exit_code_and_message(odibi_project: Make) -> None:
    project = odibi_project({"odibi.yaml": TYPO.replace("depends_on: [a]", "depnds_on: [a]")})
    run = project.odibi(
        "validate", "{config}", subprocess_=True, env={"ODIBI_DISABLE_PLUGIN_AUTOLOAD": "1"}
    )
    assert run.exit_code == 2
    assert "Traceback" not in run.output
    assert (
        f"{where(project)}:17:9: unknown key 'depnds_on' in pipeline 'p', node 'b' "
        "(did you mean 'depends_on'?)"
    ) in run.stderr
