"""Errors that tell the user what they need: deterministic failures are not retried, a
plugin's exception names its type and the transform, SQL errors keep DuckDB's hints and name
a missing dependency, ``-v`` works anywhere and shows Odibi's debug logs, and a ``--tag`` that
selects nothing is a usage error."""

from __future__ import annotations

from pathlib import Path

PLUGIN = """
import os
from pathlib import Path
from odibi_core import hookimpl, transform


@transform("share_paths")
def share_paths(ctx, df):
    root = os.environ["SHARE_ROOT"]
    return df


@transform("not_yet")
def not_yet(ctx, df):
    raise NotImplementedError("not_yet is not written yet")


@transform("flaky")
def flaky(ctx, df, marker: str):
    path = Path(marker)
    if not path.exists():
        path.write_text("failed once")
        raise TimeoutError("the share did not answer")
    return df


@hookimpl
def odibi_register_transforms():
    return [share_paths, not_yet, flaky]
"""

RETRIED = """\
project: p
retry: {max_attempts: 3, backoff: constant, backoff_seconds: 0}
connections: {d: {type: local, base_path: .}}
pipelines:
  - pipeline: p
    nodes:
      - name: paths
        read: {connection: d, format: csv, path: in.csv}
        transformer: share_paths
      - name: later
        read: {connection: d, format: csv, path: in.csv}
        transform: {steps: [{function: not_yet}]}
      - name: blip
        read: {connection: d, format: csv, path: in.csv}
        transformer: flaky
        params: {marker: marker.txt}
"""


def test_a_plugins_bug_runs_once_and_says_what_it_raised_while_a_timeout_is_retried(
    odibi_project, monkeypatch
):
    monkeypatch.delenv("SHARE_ROOT", raising=False)
    project = odibi_project({"odibi.yaml": RETRIED, "in.csv": "a\n1\n", "plugins/share.py": PLUGIN})
    run = project.run()
    assert run.exit_code == 1
    rows = {r["node_name"]: r for r in project.catalog("meta_runs") if r["scope"] == "node"}
    assert (rows["paths"]["status"], rows["paths"]["attempt"]) == ("FAILURE", 1)
    assert (rows["later"]["status"], rows["later"]["attempt"]) == ("FAILURE", 1)
    assert (rows["blip"]["status"], rows["blip"]["attempt"]) == ("SUCCESS", 2)
    message = rows["paths"]["error_message"]
    assert message.startswith("transform 'share_paths' raised KeyError: 'SHARE_ROOT' (")
    assert message.endswith("plugins/share.py:8)")  # the line that raised
    assert (
        "transform 'not_yet' raised NotImplementedError: not_yet is not written yet"
        in (rows["later"]["error_message"])
    )
    assert (
        "FAILURE p.paths (transformer share_paths): transform 'share_paths' raised "
        "KeyError: 'SHARE_ROOT'"
    ) in run.stdout


SQL = """\
project: p
retry: {enabled: false}
connections: {d: {type: local, base_path: .}}
pipelines:
  - pipeline: p
    nodes:
      - name: orders
        read: {connection: d, format: csv, path: in.csv}
      - name: customers
        read: {connection: d, format: csv, path: in.csv}
      - name: typo
        depends_on: [orders]
        transform: {steps: ["SELECT amout FROM df"]}
      - name: undeclared
        depends_on: [orders]
        transform: {steps: ["SELECT * FROM orders JOIN customers USING (amount)"]}
      - name: misspelt
        depends_on: [orders]
        transform: {steps: ["SELECT * FROM ordrs"]}
"""


def test_sql_errors_keep_duckdbs_hints_and_name_a_missing_dependency(odibi_project):
    project = odibi_project({"odibi.yaml": SQL, "in.csv": "amount\n1\n"})
    run = project.run()
    assert run.exit_code == 1
    rows = {r["node_name"]: r for r in project.catalog("meta_runs") if r["scope"] == "node"}
    typo = rows["typo"]["error_message"].splitlines()
    assert typo[0] == (
        'SQL failed: Binder Error: Referenced column "amout" not found in FROM clause! '
        'Candidate bindings: "amount"'
    )
    assert typo[1:] == ["  SQL: SELECT amout FROM df"]  # no echo of DuckDB's "LINE 1:"
    undeclared = rows["undeclared"]["error_message"].splitlines()[0]
    assert undeclared.endswith(
        "Table with name customers does not exist! (did you mean to add 'customers' to depends_on?)"
    )
    # A table that is no node gets DuckDB's guess among the tables the step can see (never
    # one of DuckDB's system tables, its guess for "customers") and no depends_on hint.
    misspelt = rows["misspelt"]["error_message"].splitlines()[0]
    assert misspelt == (
        'SQL failed: Catalog Error: Table with name ordrs does not exist! Did you mean "orders"?'
    )
    assert "Candidate bindings" in run.stdout and "pg_" not in run.output


SIMPLE = """\
project: p
connections: {d: {type: local, base_path: .}}
pipelines:
  - pipeline: p
    nodes:
      - name: raw
        tags: [daily]
        read: {connection: d, format: csv, path: in.csv}
"""


def test_verbose_works_anywhere_on_the_line_and_shows_odibis_debug_logs(odibi_project):
    project = odibi_project({"odibi.yaml": SIMPLE, "in.csv": "a\n1\n"})
    quiet = project.run()
    assert quiet.exit_code == 0, quiet.output
    assert "DEBUG" not in quiet.stderr
    for args in (("run", "{config}", "-v"), ("-v", "run", "{config}"), ("run", "-v", "{config}")):
        run = project.odibi(*args)
        assert run.exit_code == 0, (args, run.output)
        assert "DEBUG odibi.runner: node raw: read" in run.stderr, args
        assert "DEBUG odibi: pipeline p (run " in run.stderr, args
    listed = project.odibi("story", "list", "{config}", "--verbose")
    assert listed.exit_code == 0, listed.output


def test_a_tag_that_selects_nothing_is_a_usage_error_and_records_nothing(odibi_project):
    project = odibi_project({"odibi.yaml": SIMPLE, "in.csv": "a\n1\n"})
    run = project.run("--tag", "dialy")
    assert run.exit_code == 2
    assert run.stderr.splitlines() == [
        "odibi: error: no node tagged 'dialy' in the selected pipelines; tags: daily "
        "(did you mean 'daily'?)"
    ]
    assert not Path(project.path(".odibi/system/meta_runs")).exists()
    both = project.run("--tag", "daily", "--node", "elsewhere")
    assert both.exit_code == 2 and "no node 'elsewhere'" in both.stderr
    assert project.run("--tag", "daily").exit_code == 0
    assert [r["status"] for r in project.catalog("meta_runs")] == ["SUCCESS", "SUCCESS"]


def test_a_plugin_failing_before_a_node_fails_that_node_only(odibi_project):
    project = odibi_project(
        {
            "odibi.yaml": """\
                project: p
                retry: {max_attempts: 3, backoff_seconds: 0}
                connections: {d: {type: local, base_path: .}}
                pipelines:
                  - pipeline: p
                    nodes:
                      - name: guarded
                        read: {connection: d, format: csv, path: in.csv}
                      - name: other
                        read: {connection: d, format: csv, path: in.csv}
                """,
            "in.csv": "a\n1\n",
            "plugins/guard.py": """\
                from odibi_core import hookimpl


                @hookimpl
                def odibi_before_node_run(ctx, node):
                    if node.name == "guarded":
                        raise KeyError("GUARD_TOKEN")
                """,
        }
    )
    run = project.run()
    assert run.exit_code == 1, run.output
    assert "unexpected" not in run.output
    nodes = {r["node_name"]: r for r in project.catalog("meta_runs") if r["scope"] == "node"}
    assert nodes["guarded"]["status"] == "FAILURE" and nodes["guarded"]["attempt"] == 1
    assert "KeyError: 'GUARD_TOKEN'" in nodes["guarded"]["error_message"]
    assert nodes["other"]["status"] == "SUCCESS"
