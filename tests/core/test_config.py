"""Loading and validating project files (SPEC §2): ``odibi_core.config.load_project``."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from odibi_core.config import load_project
from odibi_core.config.models import ProjectConfig, RetryConfig
from odibi_core.errors import ConfigError, ConfigIssue
from odibi_core.testing.project import OdibiProject

# Every test sees only the built-in plugins, so what the config layer reports does not depend
# on optional plugins installed alongside (their own tests cover them).


@pytest.fixture(autouse=True)
def _builtin_plugins_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    from odibi_core.plugin_manager import reset_plugin_manager

    monkeypatch.setenv("ODIBI_DISABLE_PLUGIN_AUTOLOAD", "1")
    monkeypatch.delenv("ODIBI_BLOCK_PLUGINS", raising=False)
    reset_plugin_manager()
    yield
    reset_plugin_manager()


Make = Callable[..., OdibiProject]


def load(project: OdibiProject, env: str | None = None, rel: str = "odibi.yaml") -> ProjectConfig:
    return load_project(project.path(rel), env)


def issues_of(project: OdibiProject, env: str | None = None, rel: str = "odibi.yaml") -> list:
    """``(file name, line, column, message)`` of every issue, in reporting order."""
    with pytest.raises(ConfigError) as info:
        load_project(project.path(rel), env)
    return [
        (Path(i.file).name if i.file else None, i.line, i.column, i.message)
        for i in info.value.issues
    ]


def only_issue(project: OdibiProject, env: str | None = None) -> tuple[Any, ...]:
    found = issues_of(project, env)
    assert len(found) == 1, found
    return found[0]


# A project in Odibi's documented format, using every feature of §2 that core validates.
DOCUMENTED = """
project: sales
engine: pandas
description: Sales pipelines
owner: data-team
version: "1.2"
vars:
  batch: 500
  region: emea
  strict: true
retry:
  enabled: true
  max_attempts: 4
  backoff: linear
  backoff_seconds: 2
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
  max_sample_rows: 5
  retention_days: 7
  retention_count: 20
system:
  connection: lake
  path: _system
pipelines:
  - pipeline: bronze
    layer: bronze
    description: raw to bronze
    nodes:
      - name: orders
        description: load orders
        tags: [daily, core]
        read:
          connection: raw
          format: csv
          path: ${vars.region}/orders.csv
          options:
            header: true
          incremental:
            mode: rolling_window
            column: updated_at
            lookback: 3
            unit: day
        columns:
          email:
            pii: true
            description: customer email
          amount:
            type: double
        on_error: fail_fast
        retry:
          max_attempts: 2
        contracts:
          - type: not_null
            columns: [id]
        validation:
          tests:
            - type: unique
              columns: [id]
      - name: clean
        depends_on: [orders]
        transform:
          steps:
            - SELECT * FROM orders WHERE amount > 0
            - sql: SELECT * FROM df
            - function: filter_rows
              params:
                condition: amount < ${vars.batch}
            - operation: drop_duplicates
              params:
                subset: [id]
        on_error: ignore
        cache: true
      - name: dedup
        depends_on: clean
        tags: nightly
        transformer: deduplicate
        params:
          keys: [id]
          order_by: updated_at DESC
        write:
          connection: lake
          format: parquet
          path: bronze/orders
          mode: upsert
          partition_by: [region]
          options:
            keys: [id]
      - name: audit
        depends_on: [dedup]
        enabled: false
        write:
          connection: lake
          format: delta
          table: audit
          mode: append
        on_error: fail_later
  - pipeline: silver
    layer: silver
    nodes:
      - name: summary
        transform:
          steps:
            - SELECT 1 AS one
"""


# ---------------------------------------------------------------- the documented format


def test_documented_project_loads_with_every_value(odibi_project: Make) -> None:
    project = odibi_project({"odibi.yaml": DOCUMENTED})
    cfg = load(project)

    assert cfg.project == "sales"
    assert cfg.engine == "pandas"
    assert (cfg.description, cfg.owner, cfg.version) == ("Sales pipelines", "data-team", "1.2")
    assert cfg.vars == {"batch": 500, "region": "emea", "strict": True}
    assert cfg.path == project.path("odibi.yaml").resolve()
    assert cfg.root == project.root.resolve()
    assert cfg.environment is None

    assert cfg.retry.model_dump() == {
        "enabled": True,
        "max_attempts": 4,
        "backoff": "linear",
        "backoff_seconds": 2.0,
        "max_delay": None,
    }
    assert sorted(cfg.connections) == ["lake", "raw"]
    raw = cfg.connections["raw"]
    assert raw.type == "local"
    assert raw.model_dump() == {"type": "local", "base_path": "./data"}
    story = cfg.story
    assert (story.connection, story.path, story.max_sample_rows) == ("lake", "stories", 5)
    assert (story.retention_days, story.retention_count) == (7, 20)
    assert cfg.system is not None
    assert (cfg.system.connection, cfg.system.path) == ("lake", "_system")

    assert [p.pipeline for p in cfg.pipelines] == ["bronze", "silver"]
    bronze = cfg.pipeline("bronze")
    assert (bronze.layer, bronze.description) == ("bronze", "raw to bronze")
    assert [n.name for n in bronze.nodes] == ["orders", "clean", "dedup", "audit"]

    orders = bronze.node("orders")
    assert orders.description == "load orders"
    assert orders.tags == ["daily", "core"]
    assert orders.depends_on == []
    assert orders.read is not None
    assert orders.read.connection == "raw"
    assert orders.read.format == "csv"
    assert orders.read.path == "emea/orders.csv"
    assert orders.read.options == {"header": True}
    assert orders.read.incremental is not None
    assert orders.read.incremental.model_dump(exclude_none=True) == {
        "mode": "rolling_window",
        "column": "updated_at",
        "lookback": 3,
        "unit": "day",
    }
    assert orders.columns["email"].pii is True
    assert orders.columns["email"].description == "customer email"
    assert orders.columns["amount"].pii is False
    assert orders.columns["amount"].type == "double"
    assert orders.masked_columns == {"email"}
    assert orders.on_error == "fail_fast"
    assert orders.retry is not None and orders.retry.max_attempts == 2
    # quality blocks belong to plugins: core keeps them as written
    assert orders.contracts == [{"type": "not_null", "columns": ["id"]}]
    assert orders.validation == {"tests": [{"type": "unique", "columns": ["id"]}]}
    assert orders.quality is None

    clean = bronze.node("clean")
    assert clean.depends_on == ["orders"]
    assert clean.on_error == "ignore"
    assert clean.cache is True
    assert clean.transform is not None
    steps = clean.transform.steps
    assert [s.kind for s in steps] == ["sql", "sql", "function", "operation"]
    assert steps[0].sql == "SELECT * FROM orders WHERE amount > 0"
    assert steps[1].sql == "SELECT * FROM df"
    assert steps[2].function == "filter_rows"
    assert steps[2].params == {"condition": "amount < 500"}
    assert steps[3].operation == "drop_duplicates"
    assert steps[3].params == {"subset": ["id"]}

    dedup = bronze.node("dedup")
    assert dedup.depends_on == ["clean"]  # one name is a list of one
    assert dedup.tags == ["nightly"]
    assert dedup.transformer == "deduplicate"
    assert dedup.params == {"keys": ["id"], "order_by": "updated_at DESC"}
    assert dedup.write is not None
    assert dedup.write.mode == "upsert"
    assert dedup.write.keys == ["id"]
    assert dedup.write.partition_by == ["region"]
    assert dedup.write.target == "bronze/orders"
    assert dedup.on_error == "fail_later"  # the default

    audit = bronze.node("audit")
    assert audit.enabled is False
    assert audit.write is not None
    assert (audit.write.table, audit.write.mode, audit.write.target) == ("audit", "append", "audit")

    summary = cfg.pipeline("silver").node("summary")
    assert summary.read is None and summary.depends_on == []  # pure SQL needs no input


def test_defaults_of_a_minimal_project(odibi_project: Make) -> None:
    project = odibi_project(
        {
            "odibi.yaml": """
            project: tiny
            connections:
              local: {type: local}
            pipelines:
              - pipeline: p
                nodes:
                  - name: a
                    read: {connection: local, format: parquet, table: t}
                  - name: b
                    depends_on: [a]
                    write: {connection: local, format: csv, path: out.csv}
            """
        }
    )
    cfg = load(project)
    assert cfg.engine == "pandas"
    assert cfg.system is None
    assert cfg.vars == {} and cfg.environments == {}
    assert cfg.story.model_dump(include={"connection", "max_sample_rows"}) == {
        "connection": None,
        "max_sample_rows": 10,
    }
    assert (cfg.story.retention_days, cfg.story.retention_count) == (30, 100)
    assert cfg.retry.max_attempts == 3 and cfg.retry.backoff == "exponential"
    b = cfg.pipeline("p").node("b")
    assert b.on_error == "fail_later"
    assert b.enabled is True and b.cache is False
    assert b.write is not None and b.write.mode == "overwrite"
    assert cfg.connections["local"].model_dump() == {"type": "local"}


def test_project_folder_finds_its_project_file(odibi_project: Make) -> None:
    project = odibi_project({"project.yml": "project: by-folder\n"})
    cfg = load_project(project.root)
    assert cfg.project == "by-folder"
    assert cfg.path == project.path("project.yml").resolve()


def test_retry_delays() -> None:
    assert [RetryConfig(backoff_seconds=1).delay(a) for a in (1, 2, 3)] == [1, 2, 4]
    assert [RetryConfig(backoff="linear", backoff_seconds=2).delay(a) for a in (1, 3)] == [2, 6]
    assert RetryConfig(backoff="constant", backoff_seconds=5).delay(4) == 5


# ---------------------------------------------------------------- misspelt keys

TYPO_BASE = """
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
    ("old", "new", "line", "column", "message"),
    [
        (
            "        depends_on: [a]",
            "        depnds_on: [a]",
            17,
            9,
            "unknown key 'depnds_on' in pipeline 'p', node 'b' (did you mean 'depends_on'?)",
        ),
        (
            "          path: a.csv",
            "          path: a.csv\n          formt: csv",
            16,
            11,
            "unknown key 'formt' in pipeline 'p', node 'a', read (did you mean 'format'?)",
        ),
        (
            "  retention_days: 5",
            "  retention_dayz: 5",
            7,
            3,
            "unknown key 'retention_dayz' in story (did you mean 'retention_days'?)",
        ),
        (
            "project: demo",
            "project: demo\nconections: {}",
            2,
            1,
            "unknown key 'conections' (did you mean 'connections'?)",
        ),
        (
            "  - pipeline: p",
            "  - pipeline: p\n    layr: bronze",
            10,
            5,
            "unknown key 'layr' in pipeline 'p' (did you mean 'layer'?)",
        ),
        (
            "    type: local",
            "    type: local\n    base_pth: ./x",
            5,
            5,
            "unknown key 'base_pth' in connections.raw (did you mean 'base_path'?)",
        ),
        (
            "      - name: a",
            "      - name: a\n        columns: {email: {pi: true}}",
            12,
            27,
            "unknown key 'pi' in pipeline 'p', node 'a', columns.email (did you mean 'pii'?)",
        ),
        (
            "          path: a.csv",
            "          path: a.csv\n          incremental: {column: ts, lookbak: 3}",
            16,
            37,
            "unknown key 'lookbak' in pipeline 'p', node 'a', read.incremental "
            "(did you mean 'lookback'?)",
        ),
        (
            "project: demo",
            "project: demo\nretry: {max_attemps: 2}",
            2,
            9,
            "unknown key 'max_attemps' in retry (did you mean 'max_attempts'?)",
        ),
        (
            "        depends_on: [a]",
            "        depends_on: [a]\n        transform:\n          steps:\n"
            "            - sqll: SELECT 1",
            20,
            15,
            "unknown key 'sqll' in pipeline 'p', node 'b', transform.steps[0] "
            "(did you mean 'sql'?)",
        ),
        (
            "project: demo",
            "project: demo\nzzz: 1",
            2,
            1,
            "unknown key 'zzz'",
        ),
    ],
    ids=[
        "depends_on",
        "read.format",
        "story.retention_days",
        "top-level",
        "pipeline.layer",
        "connection-field",
        "column",
        "incremental",
        "retry",
        "step",
        "no-suggestion",
    ],
)
def test_misspelt_key_is_located_and_corrected(
    odibi_project: Make, old: str, new: str, line: int, column: int, message: str
) -> None:
    base = textwrap.dedent(TYPO_BASE).lstrip("\n")
    assert load(odibi_project({"odibi.yaml": base})).project == "demo"
    assert base.count(old + "\n") == 1
    broken = odibi_project({"odibi.yaml": base.replace(old + "\n", new + "\n")})
    found = issues_of(broken)
    typo = [i for i in found if i[3].startswith("unknown key")]
    assert typo == [("odibi.yaml", line, column, message)], found


def test_misspelt_format_also_reports_the_missing_key(odibi_project: Make) -> None:
    base = textwrap.dedent(TYPO_BASE).lstrip("\n")
    project = odibi_project({"odibi.yaml": base.replace("format: csv", "formt: csv")})
    assert issues_of(project) == [
        ("odibi.yaml", 12, 9, "missing required key 'format' in pipeline 'p', node 'a', read"),
        (
            "odibi.yaml",
            14,
            11,
            "unknown key 'formt' in pipeline 'p', node 'a', read (did you mean 'format'?)",
        ),
    ]


# ---------------------------------------------------------------- every error in one pass

MANY_ERRORS = """
project: demo
engine: pandass
connections:
  raw:
    type: local
story:
  connection: lake
pipelines:
  - pipeline: p
    nodes:
      - name: a
        depends_on: [b]
        read:
          connection: rwa
          format: csv
          path: a.csv
      - name: b
        depends_on: [a, ordrs]
      - name: b
        depends_on: [a]
        transformer: dedupe
      - name: orders
        depends_on: [a]
        transformer: deduplicate
        params:
          kyes: [id]
        write:
          connection: raw
          format: csv
          path: out.csv
          mode: overwrit
        on_error: fail_fst
      - depends_on: [a]
        transform:
          steps:
            - function: filter_rowz
            - function: limit
              params: {n: -1}
  - nodes: []
"""


def test_every_error_is_reported_in_one_pass(odibi_project: Make) -> None:
    project = odibi_project({"odibi.yaml": MANY_ERRORS})
    assert issues_of(project) == [
        (
            "odibi.yaml",
            2,
            1,
            "unknown engine 'pandass'; installed: pandas, polars, spark (did you mean 'pandas'?)",
        ),
        (
            "odibi.yaml",
            7,
            3,
            "story.connection: unknown connection 'lake'; defined: raw",
        ),
        ("odibi.yaml", 12, 9, "dependency cycle in pipeline 'p': a -> b -> a"),
        (
            "odibi.yaml",
            14,
            11,
            "pipeline 'p', node 'a', read.connection: unknown connection 'rwa'; defined: raw "
            "(did you mean 'raw'?)",
        ),
        (
            "odibi.yaml",
            18,
            25,
            "node 'b' depends on unknown node 'ordrs' (did you mean 'orders'?)",
        ),
        ("odibi.yaml", 19, 9, "duplicate node name 'b' in pipeline 'p'"),
        (
            "odibi.yaml",
            21,
            9,
            "unknown transform 'dedupe' (did you mean 'deduplicate'?) "
            "(see `odibi plugins` for installed transforms)",
        ),
        (
            "odibi.yaml",
            25,
            9,
            "missing required key 'keys' in pipeline 'p', node 'orders', params",
        ),
        (
            "odibi.yaml",
            26,
            11,
            "unknown key 'kyes' in pipeline 'p', node 'orders', params (did you mean 'keys'?)",
        ),
        (
            "odibi.yaml",
            31,
            11,
            "pipeline 'p', node 'orders', write.mode: Input should be 'overwrite', 'append', "
            "'upsert', 'append_once' or 'merge' (got 'overwrit') (did you mean 'overwrite'?)",
        ),
        (
            "odibi.yaml",
            32,
            9,
            "pipeline 'p', node 'orders', on_error: Input should be 'fail_fast', 'fail_later' "
            "or 'ignore' (got 'fail_fst') (did you mean 'fail_fast'?)",
        ),
        ("odibi.yaml", 33, 9, "missing required key 'name' in pipeline 'p', nodes[4]"),
        (
            "odibi.yaml",
            36,
            15,
            "unknown transform 'filter_rowz' (did you mean 'filter_rows'?) "
            "(see `odibi plugins` for installed transforms)",
        ),
        (
            "odibi.yaml",
            38,
            24,
            "pipeline 'p', nodes[4].transform.steps[1].params.n: "
            "Input should be greater than or equal to 0 (got -1)",
        ),
        ("odibi.yaml", 39, 5, "missing required key 'pipeline' in pipelines[1]"),
    ]


def test_longer_cycles_and_self_dependencies(odibi_project: Make) -> None:
    three = odibi_project(
        {
            "odibi.yaml": """
            project: x
            pipelines:
              - pipeline: p
                nodes:
                  - name: a
                    depends_on: [c]
                  - name: b
                    depends_on: [a]
                  - name: c
                    depends_on: [b]
            """
        }
    )
    assert issues_of(three) == [
        ("odibi.yaml", 6, 9, "dependency cycle in pipeline 'p': a -> b -> c -> a")
    ]
    itself = odibi_project(
        {
            "odibi.yaml": """
            project: x
            pipelines:
              - pipeline: p
                nodes:
                  - name: a
                    transform: {steps: [SELECT 1 AS x]}
                  - name: d
                    depends_on: d
            """
        }
    )
    assert issues_of(itself) == [("odibi.yaml", 8, 9, "dependency cycle in pipeline 'p': d -> d")]


def test_structural_rules_of_nodes_reads_and_writes(odibi_project: Make) -> None:
    project = odibi_project(
        {
            "odibi.yaml": """
            project: x
            connections:
              c: {type: local}
            pipelines:
              - pipeline: p
                nodes:
                  - name: both
                    read: {connection: c, format: csv, path: a.csv, table: t}
                  - name: neither
                    read: {connection: c, format: csv}
                  - name: upsert
                    depends_on: [both]
                    write: {connection: c, format: delta, path: o, mode: upsert}
                  - name: two_targets
                    depends_on: [both]
                    write: {connection: c, format: delta, path: o, table: t}
                  - name: orphan
                    transformer: limit
                    params: {n: 1}
                  - name: two_kinds
                    depends_on: [both]
                    transform:
                      steps:
                        - {sql: SELECT 1, operation: drop}
                        - {params: {}}
              - pipeline: p
                nodes: []
            """
        }
    )
    assert issues_of(project) == [
        (
            "odibi.yaml",
            8,
            9,
            "pipeline 'p', node 'both', read: read takes either 'path' or 'table', not both",
        ),
        (
            "odibi.yaml",
            10,
            9,
            "pipeline 'p', node 'neither', read: read needs one of 'path', 'table', 'query' or "
            "'sql_file'",
        ),
        (
            "odibi.yaml",
            13,
            9,
            "pipeline 'p', node 'upsert', write: mode 'upsert' needs 'options.keys' "
            "(the key columns)",
        ),
        (
            "odibi.yaml",
            16,
            9,
            "pipeline 'p', node 'two_targets', write: write needs exactly one of 'path' or 'table'",
        ),
        (
            "odibi.yaml",
            17,
            9,
            "node 'orphan' has no input: give it 'read', 'depends_on' or a SQL step",
        ),
        (
            "odibi.yaml",
            24,
            15,
            "pipeline 'p', node 'two_kinds', transform.steps[0]: a step needs exactly one of "
            "'sql', 'sql_file', 'function' or 'operation' (got sql, operation)",
        ),
        (
            "odibi.yaml",
            25,
            15,
            "pipeline 'p', node 'two_kinds', transform.steps[1]: a step needs exactly one of "
            "'sql', 'sql_file', 'function' or 'operation'",
        ),
        ("odibi.yaml", 26, 5, "duplicate pipeline name 'p'"),
    ]


def test_connection_problems(odibi_project: Make) -> None:
    project = odibi_project(
        {
            "odibi.yaml": """
            project: x
            connections:
              good: {type: local}
              cloud: {type: locl}
              untyped: {base_path: x}
            system:
              connection: godo
            pipelines:
              - pipeline: p
                nodes:
                  - name: a
                    read: {connection: good, format: csv, path: a.csv}
                    write: {connection: nowhere, format: csv, path: b.csv}
            """
        }
    )
    found = issues_of(project)
    assert found == [
        (
            "odibi.yaml",
            4,
            11,
            "connection 'cloud': unknown type 'locl'; installed: azure_adls, azure_blob, "
            "azure_sql, delta, http, local, postgres, sql_server (did you mean 'local'?)",
        ),
        ("odibi.yaml", 5, 3, "missing required key 'type' in connections.untyped"),
        (
            "odibi.yaml",
            7,
            3,
            "system.connection: unknown connection 'godo'; defined: cloud, good, untyped "
            "(did you mean 'good'?)",
        ),
        (
            "odibi.yaml",
            13,
            17,
            "pipeline 'p', node 'a', write.connection: unknown connection 'nowhere'; "
            "defined: cloud, good, untyped",
        ),
    ]


def test_no_connections_defined_says_so(odibi_project: Make) -> None:
    project = odibi_project(
        {
            "odibi.yaml": """
            project: x
            pipelines:
              - pipeline: p
                nodes:
                  - name: a
                    read: {connection: raw, format: csv, path: a.csv}
            """
        }
    )
    assert only_issue(project) == (
        "odibi.yaml",
        6,
        16,
        "pipeline 'p', node 'a', read.connection: unknown connection 'raw'; "
        "no connections are defined",
    )


def test_missing_required_keys(odibi_project: Make) -> None:
    project = odibi_project(
        {
            "odibi.yaml": """
            description: no name
            pipelines:
              - layer: bronze
              - pipeline: q
                nodes:
                  - depends_on: []
                    transform: {steps: [SELECT 1]}
            """
        }
    )
    assert issues_of(project) == [
        ("odibi.yaml", 1, 1, "missing required key 'project'"),
        ("odibi.yaml", 3, 5, "missing required key 'pipeline' in pipelines[0]"),
        ("odibi.yaml", 3, 5, "missing required key 'nodes' in pipelines[0]"),
        ("odibi.yaml", 6, 9, "missing required key 'name' in pipeline 'q', nodes[0]"),
    ]


@pytest.mark.parametrize(
    "text",
    [
        "project: x\nconnections:\n  c: {type: []}\n",
        "project: x\nconnections:\n  c: {type: {}}\n",
        "project: x\nconnections: [a]\n",
        "project: x\npipelines:\n  - pipeline: [p]\n    nodes: []\n  - pipeline: [p]\n"
        "    nodes: []\n",
        "project: x\npipelines:\n  - pipeline: p\n    nodes:\n      - name: a\n"
        "        depends_on: [[a, b], {x: 1}, 3]\n",
        "project: x\npipelines:\n  - pipeline: p\n    nodes:\n      - name: [a]\n      - 5\n",
        "project: x\npipelines: p\nstory: 1\nsystem: []\nvars: 3\nretry: x\n",
        "project: x\nimports: {a: b}\n",
        "project: [x]\nengine: 3\n",
    ],
)
def test_wrong_types_are_config_errors_not_crashes(odibi_project: Make, text: str) -> None:
    project = odibi_project({"odibi.yaml": text})
    found = issues_of(project)
    assert found
    assert all(f == "odibi.yaml" and line for f, line, _, _ in found), found


# ---------------------------------------------------------------- YAML itself


def test_invalid_yaml_syntax_is_located(odibi_project: Make) -> None:
    project = odibi_project(
        {"odibi.yaml": "project: x\npipelines:\n  - pipeline: p\n   nodes: [\n"}
    )
    (issue,) = issues_of(project)
    assert issue[:3] == ("odibi.yaml", 4, 4)
    assert issue[3].startswith("invalid YAML: ")

    project = odibi_project({"odibi.yaml": "project: x\n  foo: bar\n"})
    assert issues_of(project) == [
        ("odibi.yaml", 2, 6, "invalid YAML: mapping values are not allowed in this context")
    ]


def test_duplicate_keys_are_reported_with_every_other_error(odibi_project: Make) -> None:
    project = odibi_project(
        {
            "odibi.yaml": """
            project: demo
            connections:
              raw:
                type: local
                type: local
            pipelines:
              - pipeline: p
                nodes:
                  - name: a
                    read: {connection: raw, format: csv, path: a.csv, path: b.csv}
                    depnds_on: []
            project: again
            """
        }
    )
    assert issues_of(project) == [
        ("odibi.yaml", 5, 5, "duplicate key 'type'"),
        ("odibi.yaml", 10, 59, "duplicate key 'path'"),
        (
            "odibi.yaml",
            11,
            9,
            "unknown key 'depnds_on' in pipeline 'p', node 'a' (did you mean 'depends_on'?)",
        ),
        ("odibi.yaml", 12, 1, "duplicate key 'project'"),
    ]


def test_yaml_anchors_and_merge_keys(odibi_project: Make) -> None:
    project = odibi_project(
        {
            "odibi.yaml": """
            project: x
            connections:
              raw: &local
                type: local
                base_path: ./raw
              lake:
                <<: *local
                base_path: ./lake
            """
        }
    )
    cfg = load(project)
    assert cfg.connections["lake"].model_dump() == {"type": "local", "base_path": "./lake"}


@pytest.mark.parametrize(
    ("content", "line", "column", "message"),
    [
        (
            "project: !Ref name\n",
            1,
            10,
            "invalid YAML: could not determine a constructor for the tag '!Ref'",
        ),
        ("project: x\n? [a, b]\n: 1\n", 2, 3, "a key must be a plain value"),
        ("project: a\x07b\n", 1, 11, "invalid YAML: control characters are not allowed"),
    ],
    ids=["unknown-tag", "list-key", "control-char"],
)
def test_yaml_oddities_are_located_errors(
    odibi_project: Make, content: str, line: int, column: int, message: str
) -> None:
    project = odibi_project({"odibi.yaml": content})
    assert issues_of(project) == [("odibi.yaml", line, column, message)]


def test_unreadable_or_shapeless_project_files(odibi_project: Make) -> None:
    project = odibi_project(
        {
            "list.yaml": "- a\n- b\n",
            "empty.yaml": "# nothing\n",
            "latin1.yaml": b"project: caf\xe9\n",
        }
    )
    with pytest.raises(ConfigError, match=r"list\.yaml: a project file must be a mapping"):
        load(project, rel="list.yaml")
    assert issues_of(project, rel="empty.yaml") == [
        ("empty.yaml", 1, 1, "missing required key 'project'")
    ]
    with pytest.raises(ConfigError, match=r"latin1\.yaml: not UTF-8 text"):
        load(project, rel="latin1.yaml")
    with pytest.raises(ConfigError) as info:
        load(project, rel="nope.yaml")
    assert str(info.value) == f"project file not found: {project.path('nope.yaml').resolve()}"
    with pytest.raises(ConfigError, match=r"^no odibi\.yaml or project\.yaml in "):
        load_project(project.root)


def test_issue_rendering() -> None:
    assert ConfigIssue("boom", "f.yaml", 3, 7).render() == "f.yaml:3:7: boom"
    assert ConfigIssue("boom", "f.yaml", 3).render() == "f.yaml:3:1: boom"
    assert ConfigIssue("boom", "f.yaml").render() == "f.yaml: boom"
    assert ConfigIssue("boom").render() == "boom"
    err = ConfigError([ConfigIssue("a", "f", 1, 2), ConfigIssue("b")])
    assert str(err) == "f:1:2: a\nb"
    assert err.exit_code == 2


# ---------------------------------------------------------------- ${...} substitution


def test_substitution_of_env_vars_and_dates(
    odibi_project: Make, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ODIBI_T_BASE", "/data/in")
    monkeypatch.setenv("ODIBI_T_ROWS", "25")
    monkeypatch.setenv("ODIBI_T_TABLE", "sales")
    project = odibi_project(
        {
            "odibi.yaml": """
            project: subs
            owner: ${env:ODIBI_T_TABLE}-team
            vars:
              size: 10
              ratio: 0.5
              flag: true
              names: [a, b]
              table: ${ODIBI_T_TABLE}
            connections:
              raw:
                type: local
                base_path: ${ODIBI_T_BASE}
            pipelines:
              - pipeline: p
                nodes:
                  - name: a
                    read:
                      connection: raw
                      format: csv
                      path: ${vars.table}/${date:today}.csv
                    params:  # free-form (no transformer): every kind of value substituted
                      rows: ${ODIBI_T_ROWS}
                      size: ${vars.size}
                      sized: n${vars.size}
                      ratio: ${ vars.ratio }
                      flag: ${vars.flag}
                      names: ${vars.names}
                      day: ${date:yesterday:%Y%m%d}
                      month: ${date:start_of_month}
                      plus: ${date:+7d}
            """
        }
    )
    before = datetime.now(UTC).date()
    cfg = load(project)
    after = datetime.now(UTC).date()
    assert cfg.owner == "sales-team"
    assert cfg.vars["table"] == "sales"
    assert cfg.connections["raw"].model_dump()["base_path"] == "/data/in"
    read = cfg.pipeline("p").node("a").read
    assert read is not None
    assert read.path in {f"sales/{d.isoformat()}.csv" for d in (before, after)}
    opts = cfg.pipeline("p").node("a").params
    assert opts["rows"] == 25  # a whole-value number, as with substitution in the raw text
    assert opts["size"] == 10 and type(opts["size"]) is int  # a whole ${vars.x} keeps its type
    assert opts["sized"] == "n10"
    assert opts["ratio"] == 0.5
    assert opts["flag"] is True
    assert opts["names"] == ["a", "b"]
    days = [before, after]
    assert opts["day"] in {(d - timedelta(days=1)).strftime("%Y%m%d") for d in days}
    assert opts["month"] in {d.replace(day=1).isoformat() for d in days}
    assert opts["plus"] in {(d + timedelta(days=7)).isoformat() for d in days}


def test_typed_var_reaches_a_typed_field(odibi_project: Make) -> None:
    project = odibi_project(
        {
            "odibi.yaml": """
            project: x
            vars: {rows: 5, retries: 4}
            retry: {max_attempts: "${vars.retries}"}
            pipelines:
              - pipeline: p
                nodes:
                  - name: a
                    transform: {steps: [SELECT 1 AS x]}
                  - name: b
                    depends_on: [a]
                    transformer: limit
                    params: {n: "${vars.rows}"}
            """
        }
    )
    cfg = load(project)
    assert cfg.retry.max_attempts == 4
    assert cfg.pipeline("p").node("b").params == {"n": 5}


def test_unresolvable_placeholders_are_all_reported_with_their_lines(
    odibi_project: Make, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("ODIBI_T_UNSET_A", "ODIBI_T_UNSET_B", "ODIBI_T_UNSET_C", "ODIBI_T_UNSET_D"):
        monkeypatch.delenv(name, raising=False)
    project = odibi_project(
        {
            "odibi.yaml": """
            project: subs
            vars:
              base: ${ODIBI_T_UNSET_A}
              loop: ${vars.base}
            connections:
              raw:
                type: local
                base_path: ${env:ODIBI_T_UNSET_B}
            pipelines:
              - pipeline: p
                nodes:
                  - name: a
                    tags: [x, "${ODIBI_T_UNSET_C}"]
                    read: {connection: raw, format: csv, path: "in/${ODIBI_T_UNSET_D}.csv"}
                    transform:
                      steps:
                        - SELECT '${vars.nope}' AS v
                        - sql: SELECT '${date:someday}' AS d
            """
        }
    )
    assert issues_of(project) == [
        (
            "odibi.yaml",
            3,
            3,
            "environment variable 'ODIBI_T_UNSET_A' is not set (used as ${ODIBI_T_UNSET_A})",
        ),
        ("odibi.yaml", 4, 3, "unknown variable '${vars.base}' (not in vars:)"),
        (
            "odibi.yaml",
            8,
            5,
            "environment variable 'ODIBI_T_UNSET_B' is not set (used as ${env:ODIBI_T_UNSET_B})",
        ),
        (
            "odibi.yaml",
            13,
            19,
            "environment variable 'ODIBI_T_UNSET_C' is not set (used as ${ODIBI_T_UNSET_C})",
        ),
        (
            "odibi.yaml",
            14,
            46,
            "environment variable 'ODIBI_T_UNSET_D' is not set (used as ${ODIBI_T_UNSET_D})",
        ),
        ("odibi.yaml", 17, 15, "unknown variable '${vars.nope}' (not in vars:)"),
        ("odibi.yaml", 18, 15, "unknown date expression '${date:someday}'"),
    ]


def test_dotenv_beside_the_project_does_not_override_the_environment(
    odibi_project: Make, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Registered with monkeypatch first, so whatever .env sets is undone after the test.
    monkeypatch.setenv("ODIBI_T_DOTENV_ONLY", "placeholder")
    monkeypatch.delenv("ODIBI_T_DOTENV_ONLY")
    monkeypatch.setenv("ODIBI_T_DOTENV_BOTH", "from-shell")
    project = odibi_project(
        {
            ".env": "ODIBI_T_DOTENV_ONLY=from-dotenv\nODIBI_T_DOTENV_BOTH=from-dotenv\n",
            "odibi.yaml": """
            project: x
            vars:
              only: ${ODIBI_T_DOTENV_ONLY}
              both: ${ODIBI_T_DOTENV_BOTH}
            """,
        }
    )
    cfg = load(project)
    assert cfg.vars == {"only": "from-dotenv", "both": "from-shell"}


def test_dotenv_in_the_working_directory_is_not_used(
    odibi_project: Make, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("ODIBI_T_CWD_ONLY", raising=False)
    (tmp_path / ".env").write_text("ODIBI_T_CWD_ONLY=cwd\n")  # the fixture's cwd
    project = odibi_project({"odibi.yaml": "project: x\nvars: {v: '${ODIBI_T_CWD_ONLY}'}\n"})
    assert issues_of(project) == [
        (
            "odibi.yaml",
            2,
            8,
            "environment variable 'ODIBI_T_CWD_ONLY' is not set (used as ${ODIBI_T_CWD_ONLY})",
        )
    ]


# ---------------------------------------------------------------- imports

MAIN_WITH_IMPORTS = """
project: main
imports:
  - shared/connections.yaml
  - pipelines/silver.yaml
connections:
  raw:
    type: local
    base_path: ./main-raw
pipelines:
  - pipeline: bronze
    nodes:
      - name: a
        read: {connection: raw, format: csv, path: a.csv}
"""


def test_imports_merge_pipelines_and_connections(odibi_project: Make) -> None:
    project = odibi_project(
        {
            "odibi.yaml": MAIN_WITH_IMPORTS,
            "shared/connections.yaml": """
            owner: from-import
            connections:
              raw:
                type: local
                base_path: ./imported-raw
              lake:
                type: local
                base_path: ./lake
            """,
            "pipelines/silver.yaml": """
            imports: gold.yaml
            pipelines:
              - pipeline: silver
                nodes:
                  - name: s
                    read: {connection: lake, format: parquet, path: s}
            """,
            "pipelines/gold.yaml": """
            pipelines:
              - pipeline: gold
                nodes:
                  - name: g
                    read: {connection: lake, format: delta, table: g}
            """,
        }
    )
    cfg = load(project)
    assert [p.pipeline for p in cfg.pipelines] == ["bronze", "silver", "gold"]
    assert sorted(cfg.connections) == ["lake", "raw"]
    # the importing file wins where both define a value
    assert cfg.connections["raw"].model_dump()["base_path"] == "./main-raw"
    assert cfg.connections["lake"].model_dump()["base_path"] == "./lake"
    assert cfg.owner == "from-import"
    assert "imports" not in ProjectConfig.model_fields


def test_errors_inside_an_imported_file_name_that_file(odibi_project: Make) -> None:
    project = odibi_project(
        {
            "odibi.yaml": MAIN_WITH_IMPORTS,
            "shared/connections.yaml": """
            connections:
              lake:
                type: local
                base_pth: ./lake
            """,
            "pipelines/silver.yaml": """
            pipelines:
              - pipeline: silver
                nodes:
                  - name: s
                    read: {connection: lak, format: parquet, path: s}
                  - name: t
                    depends_on: [s]
                    write: {connection: lake, format: csv, path: t.csv, mod: append}
            """,
        }
    )
    assert issues_of(project) == [
        (
            "silver.yaml",
            5,
            16,
            "pipeline 'silver', node 's', read.connection: unknown connection 'lak'; "
            "defined: lake, raw (did you mean 'lake'?)",
        ),
        (
            "silver.yaml",
            8,
            61,
            "unknown key 'mod' in pipeline 'silver', node 't', write (did you mean 'mode'?)",
        ),
        (
            "connections.yaml",
            4,
            5,
            "unknown key 'base_pth' in connections.lake (did you mean 'base_path'?)",
        ),
    ]


def test_yaml_error_inside_an_imported_file(odibi_project: Make) -> None:
    project = odibi_project(
        {
            "odibi.yaml": "project: x\nimports: [bad.yaml]\n",
            "bad.yaml": "pipelines:\n  - pipeline: p\n    nodes: [\n",
        }
    )
    (issue,) = issues_of(project)
    assert issue[:2] == ("bad.yaml", 4)
    assert issue[3].startswith("invalid YAML: ")


def test_missing_import_is_located(odibi_project: Make) -> None:
    project = odibi_project(
        {
            "odibi.yaml": """
            project: x
            description: imports things
            imports:
              - there.yaml
              - nowhere.yaml
            zzz: 1
            """,
            "there.yaml": "imports: [also/missing.yaml]\n",
        }
    )
    assert issues_of(project) == [
        ("odibi.yaml", 5, 5, "imported file not found: nowhere.yaml"),
        ("odibi.yaml", 6, 1, "unknown key 'zzz'"),
        ("there.yaml", 1, 11, "imported file not found: also/missing.yaml"),
    ]


def test_import_cycles_are_errors(odibi_project: Make) -> None:
    project = odibi_project(
        {
            "odibi.yaml": "project: x\nimports:\n  - a.yaml\n",
            "a.yaml": "imports: b.yaml\n",
            "b.yaml": "description: b\nimports: [odibi.yaml]\n",
            "self.yaml": "project: x\nimports: [self.yaml]\n",
        }
    )
    assert issues_of(project) == [
        ("b.yaml", 2, 11, "import cycle: odibi.yaml -> a.yaml -> b.yaml -> odibi.yaml")
    ]
    assert issues_of(project, rel="self.yaml") == [
        ("self.yaml", 2, 11, "import cycle: self.yaml -> self.yaml")
    ]


def test_the_same_file_imported_twice_is_not_a_cycle(odibi_project: Make) -> None:
    project = odibi_project(
        {
            "odibi.yaml": "project: x\nimports: [a.yaml, b.yaml]\n",
            "a.yaml": "imports: [common.yaml]\n",
            "b.yaml": "imports: [common.yaml]\n",
            "common.yaml": "connections:\n  c: {type: local}\n",
        }
    )
    assert list(load(project).connections) == ["c"]


# ---------------------------------------------------------------- environments

WITH_ENVIRONMENTS = """
project: envs
vars:
  size: 10
  region: dev
connections:
  raw:
    type: local
    base_path: ./dev
  lake:
    type: local
    base_path: ./lake
environments:
  prod:
    vars:
      size: 1000
    connections:
      raw:
        base_path: /prod/data
  qa:
    description: qa run
pipelines:
  - pipeline: main
    nodes:
      - name: a
        read: {connection: raw, format: csv, path: "${vars.region}/a.csv"}
        transformer: limit
        params:
          n: ${vars.size}
"""


def _summary(cfg: ProjectConfig) -> tuple[Any, ...]:
    node = cfg.pipeline("main").node("a")
    assert node.read is not None
    return (
        cfg.environment,
        cfg.connections["raw"].model_dump()["base_path"],
        cfg.connections["lake"].model_dump()["base_path"],
        cfg.vars,
        node.read.path,
        node.params,
        cfg.description,
    )


def test_environment_overrides(odibi_project: Make) -> None:
    project = odibi_project({"odibi.yaml": WITH_ENVIRONMENTS})
    assert _summary(load(project)) == (
        None,
        "./dev",
        "./lake",
        {"size": 10, "region": "dev"},
        "dev/a.csv",
        {"n": 10},
        None,
    )
    assert _summary(load(project, "prod")) == (
        "prod",
        "/prod/data",
        "./lake",
        {"size": 1000, "region": "dev"},
        "dev/a.csv",
        {"n": 1000},
        None,
    )
    assert _summary(load(project, "qa"))[-1] == "qa run"
    assert sorted(load(project, "prod").environments) == ["prod", "qa"]


def test_environment_side_files(odibi_project: Make) -> None:
    project = odibi_project(
        {
            "odibi.yaml": WITH_ENVIRONMENTS,
            "env.prod.yaml": """
            connections:
              lake:
                base_path: /prod/lake
            vars:
              region: eu
            """,
            "env.stage.yaml": "vars:\n  size: 7\n",
        }
    )
    assert _summary(load(project, "prod")) == (
        "prod",
        "/prod/data",  # from environments: in the project file
        "/prod/lake",  # from env.prod.yaml
        {"size": 1000, "region": "eu"},
        "eu/a.csv",
        {"n": 1000},
        None,
    )
    # an environment defined only by its side file
    assert _summary(load(project, "stage"))[3] == {"size": 7, "region": "dev"}
    assert _summary(load(project))[3] == {"size": 10, "region": "dev"}


def test_environment_errors_are_located(odibi_project: Make) -> None:
    project = odibi_project(
        {
            "odibi.yaml": WITH_ENVIRONMENTS.replace(
                "        base_path: /prod/data", "        base_pth: /prod/data"
            ),
            "env.prod.yaml": "vars:\n  size: 5\nstory:\n  retention_dayz: 3\n",
        }
    )
    assert load(project).project == "envs"  # unused environments are not merged
    assert issues_of(project, "prod") == [
        (
            "env.prod.yaml",
            4,
            3,
            "unknown key 'retention_dayz' in story (did you mean 'retention_days'?)",
        ),
        (
            "odibi.yaml",
            18,
            9,
            "unknown key 'base_pth' in connections.raw (did you mean 'base_path'?)",
        ),
    ]


def test_unknown_environment(odibi_project: Make) -> None:
    project = odibi_project({"odibi.yaml": WITH_ENVIRONMENTS, "plain.yaml": "project: x\n"})
    assert issues_of(project, "prd") == [
        (
            "odibi.yaml",
            None,
            None,
            "unknown environment 'prd'; known: prod, qa (did you mean 'prod'?)",
        )
    ]
    assert issues_of(project, "dev", rel="plain.yaml") == [
        ("plain.yaml", None, None, "unknown environment 'dev'; the project has no environments:")
    ]


# ---------------------------------------------------------------- positions in the source map


def test_positions_follow_flow_and_block_styles(odibi_project: Make) -> None:
    """Columns are 1-based and point at the key (mappings) or the item (lists)."""
    project = odibi_project(
        {
            "odibi.yaml": """
            project: x
            pipelines:
              - {pipeline: p, nodes: [{name: a, depends_on: [a1, a2]}]}
            """
        }
    )
    found = issues_of(project)
    assert found == [
        ("odibi.yaml", 3, 50, "node 'a' depends on unknown node 'a1' (did you mean 'a'?)"),
        ("odibi.yaml", 3, 54, "node 'a' depends on unknown node 'a2' (did you mean 'a'?)"),
    ]
    line = "  - {pipeline: p, nodes: [{name: a, depends_on: [a1, a2]}]}"
    assert line[49:51] == "a1" and line[53:55] == "a2"


def test_loaded_data_is_plain_yaml(odibi_project: Make) -> None:
    """Values come through as YAML types (dates stay text only when quoted)."""
    project = odibi_project(
        {
            "odibi.yaml": """
            project: x
            version: 3
            vars:
              day: 2024-01-31
              text: "2024-01-31"
              nothing: null
            """
        }
    )
    cfg = load(project)
    assert cfg.version == 3
    assert cfg.vars == yaml.safe_load("day: 2024-01-31\ntext: '2024-01-31'\nnothing: null\n")


def test_placeholders_work_unquoted_in_flow_collections(tmp_path, monkeypatch):
    # Odibi substitutes in the raw text, so projects write ${...} bare inside {...}.
    monkeypatch.setenv("ODIBI_T_ENC", "latin-1")
    monkeypatch.setenv("ODIBI_T_N", "0")
    path = tmp_path / "odibi.yaml"
    path.write_text(
        "project: p\n"
        "vars: {limit: 5}\n"
        "connections: {d: {type: local, base_path: .}}\n"
        "pipelines:\n"
        "  - pipeline: p\n"
        "    nodes:\n"
        "      - name: n\n"
        "        read: {connection: d, format: csv, path: x.csv,"
        " options: {encoding: ${ODIBI_T_ENC}, skiprows: ${ODIBI_T_N}, nrows: ${vars.limit}}}\n"
    )
    project = load_project(path)
    options = project.pipelines[0].nodes[0].read.options
    assert options == {"encoding": "latin-1", "skiprows": 0, "nrows": 5}
