"""The plugin backbone: load order, entry points, project plugins, duplicates, bad hooks,
autoload switch, ``odibi plugins``, and the order lifecycle hooks are called in."""

from __future__ import annotations

import json

import pytest

from odibi_core import hookimpl
from odibi_core.errors import PluginError
from odibi_core.plugin_manager import DEFAULT_PLUGINS, PluginManager, reset_plugin_manager


def test_builtins_then_entry_points_in_a_fixed_order():
    manager = PluginManager()
    manager.load_defaults()
    names = list(manager.infos)
    assert names[: len(DEFAULT_PLUGINS)] == list(DEFAULT_PLUGINS)
    entry_points = names[len(DEFAULT_PLUGINS) :]
    assert entry_points == sorted(entry_points)  # entry points load in name order
    assert {"catalog_quality", "quality", "telemetry"} <= set(entry_points)
    assert manager.infos["quality"].source == "entrypoint"
    assert manager.infos["quality"].distribution == "odibi"
    # meta_quality comes with the one install, as a plugin of the same distribution
    assert manager.infos["catalog_quality"].distribution == "odibi"
    assert manager.infos["catalog_quality"].source == "entrypoint"
    registry = manager.registry
    assert "pandas" in registry.engines and "local" in registry.connection_types
    assert {"deduplicate", "filter_rows", "join", "aggregate"} <= set(registry.transform_names())


def test_autoload_can_be_switched_off_and_plugins_blocked(monkeypatch):
    monkeypatch.setenv("ODIBI_DISABLE_PLUGIN_AUTOLOAD", "1")
    manager = PluginManager()
    manager.load_defaults()
    assert list(manager.infos) == list(DEFAULT_PLUGINS)

    monkeypatch.delenv("ODIBI_DISABLE_PLUGIN_AUTOLOAD")
    monkeypatch.setenv("ODIBI_BLOCK_PLUGINS", "telemetry,catalog_quality")
    manager = PluginManager()
    manager.load_defaults()
    assert "telemetry" not in manager.infos and "quality" in manager.infos
    assert "catalog_quality" not in manager.infos


class _Dup:
    @hookimpl
    def odibi_register_transforms(self):
        from odibi_core.transforms.registry import Transform

        return [Transform("deduplicate", lambda ctx, df: df)]


def test_duplicate_names_are_rejected_naming_both_plugins():
    manager = PluginManager()
    manager.load_defaults()
    manager.register(_Dup(), "acme")
    with pytest.raises(
        PluginError,
        match=r"'deduplicate' for engine 'any'.*'odibi_core.transforms.builtin'"
        r".*'acme'",
    ):
        manager.registry  # noqa: B018


class _Misspelt:
    @hookimpl
    def odibi_register_transformz(self):
        return []


def test_a_misspelt_hook_fails_loudly():
    manager = PluginManager()
    with pytest.raises(PluginError, match="odibi_register_transformz"):
        manager.register(_Misspelt(), "typo")
    assert "typo" not in manager.infos


def test_odibi_plugins_lists_what_each_plugin_adds(odibi_project):
    project = odibi_project({"odibi.yaml": "project: p\n"})
    run = project.odibi("plugins", "--format", "json")
    assert run.exit_code == 0
    plugins = {p["name"]: p for p in json.loads(run.stdout)}
    assert plugins["odibi_core.transforms.builtin"]["provides"]["transforms"][:2] == [
        "deduplicate",
        "filter_rows",
    ]
    assert plugins["odibi_core.engines.pandas_engine"]["hooks"] == ["odibi_register_engines"]
    assert plugins["quality"]["version"] == "0.1.0"
    table = project.odibi("plugins")
    assert table.exit_code == 0 and "odibi_core.connections.local" in table.stdout


PROJECT_PLUGIN = """
from odibi_core import hookimpl, transform


@transform("shout")
def shout(ctx, df, column: str):
    return ctx.sql(f"SELECT * REPLACE (upper({column}) AS {column}) FROM df", df)


@hookimpl
def odibi_register_transforms():
    return [shout]
"""


def test_project_plugins_are_found_beside_the_project_and_used_from_yaml(odibi_project):
    project = odibi_project(
        {
            "odibi.yaml": """\
project: p
connections: {d: {type: local, base_path: .}}
pipelines:
  - pipeline: p
    nodes:
      - name: n
        read: {connection: d, format: csv, path: in.csv}
        transform: {steps: [{function: shout, params: {column: name}}]}
        write: {connection: d, format: csv, path: out.csv}
""",
            "in.csv": "name\nada\n",
            "plugins/shouting.py": PROJECT_PLUGIN,
        }
    )
    assert project.run().exit_code == 0
    assert project.path("out.csv").read_text().splitlines() == ["name", "ADA"]
    listed = project.odibi("plugins", "--format", "json", "--project", "{config}")
    assert "project:shouting" in {p["name"] for p in json.loads(listed.stdout)}

    project.write({"plugins/broken.py": "import does_not_exist\n"})
    reset_plugin_manager()  # each CLI invocation is a fresh process
    run = project.run()
    assert run.exit_code == 2 and "broken.py failed to load" in run.stderr


class _Recorder:
    def __init__(self):
        self.calls: list[str] = []

    @hookimpl
    def odibi_project_loaded(self, project):
        self.calls.append("project_loaded")

    @hookimpl(wrapper=True)
    def odibi_run_pipeline(self, ctx):
        self.calls.append("run_pipeline:enter")
        result = yield
        self.calls.append(f"run_pipeline:exit:{result.status}")
        return result

    @hookimpl(wrapper=True)
    def odibi_run_node(self, ctx, node):
        self.calls.append(f"run_node:enter:{node.name}")
        outcome = yield
        self.calls.append(f"run_node:exit:{node.name}:{outcome.result.status}")
        return outcome

    @hookimpl(wrapper=True)
    def odibi_run_output_check(self, ctx, node, plugin):
        if plugin == "recorder":  # other installed checkers (quality) are wrapped too
            self.calls.append(f"run_check:enter:{node.name}:{plugin}")
        check = yield
        if plugin == "recorder":
            self.calls.append(f"run_check:exit:{node.name}")
        return check

    @hookimpl
    def odibi_before_pipeline_run(self, ctx):
        self.calls.append("before_pipeline")

    @hookimpl
    def odibi_before_node_run(self, ctx, node):
        self.calls.append(f"before_node:{node.name}")

    @hookimpl
    def odibi_check_node_output(self, ctx, node, frame):
        self.calls.append(f"check:{node.name}")

    @hookimpl
    def odibi_on_node_error(self, ctx, node, error):
        self.calls.append(f"error:{node.name}")

    @hookimpl
    def odibi_after_node_run(self, ctx, node, result):
        self.calls.append(f"after_node:{node.name}:{result.status}")

    @hookimpl
    def odibi_pipeline_finished(self, ctx, result):
        # The result is final, and the run is not in the catalog yet.
        recorded = ctx.catalog.read("meta_runs", ctx.pipeline_name) if ctx.catalog else None
        runs = recorded.column("run_id").to_pylist() if recorded is not None else []
        self.calls.append(f"finished:{result.status}:recorded={ctx.run_id in runs}")
        raise RuntimeError("a plugin's bug here must not fail the run")

    @hookimpl
    def odibi_catalog_rows(self, ctx, result):
        self.calls.append("catalog_rows")

    @hookimpl
    def odibi_after_pipeline_run(self, ctx, result):
        self.calls.append(f"after_pipeline:{result.status}")


def test_lifecycle_hooks_are_called_in_the_documented_order(odibi_project):
    from odibi_core.plugin_manager import get_plugin_manager
    from odibi_core.runner.api import run_project

    project = odibi_project(
        {
            "odibi.yaml": """\
project: p
retry: {enabled: false}
connections: {d: {type: local, base_path: .}}
pipelines:
  - pipeline: p
    nodes:
      - name: a
        read: {connection: d, format: csv, path: in.csv}
      - name: b
        depends_on: [a]
        transform: {steps: ["SELECT nope FROM df"]}
      - name: c
        depends_on: [b]
""",
            "in.csv": "x\n1\n",
        }
    )
    recorder = _Recorder()
    manager = get_plugin_manager()
    manager.register(recorder, "recorder")
    (result,) = run_project(project.path("odibi.yaml"))
    assert result.catalog_error is None
    assert result.run_id in [r["run_id"] for r in project.catalog("meta_runs")]
    assert recorder.calls == [
        "project_loaded",
        "run_pipeline:enter",
        "before_pipeline",
        "run_node:enter:a",
        "before_node:a",
        "run_check:enter:a:recorder",
        "check:a",
        "run_check:exit:a",
        "after_node:a:SUCCESS",
        "run_node:exit:a:SUCCESS",
        "run_node:enter:b",
        "before_node:b",
        "error:b",
        "after_node:b:FAILURE",
        "run_node:exit:b:FAILURE",
        "after_node:c:SKIPPED",
        "finished:FAILURE:recorded=False",
        "catalog_rows",
        "run_pipeline:exit:FAILURE",
        "after_pipeline:FAILURE",
    ]
