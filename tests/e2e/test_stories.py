"""Stories: JSON + self-contained HTML per run, the per-pipeline index, retention, masking."""

from __future__ import annotations

import json
import re

PROJECT = """\
project: p
retry: {enabled: false}
story: {max_sample_rows: 2, retention_count: 3}
connections: {d: {type: local, base_path: .}}
pipelines:
  - pipeline: people
    nodes:
      - name: people
        description: Everyone we know.
        read: {connection: d, format: csv, path: people.csv}
        columns:
          email: {pii: true}
        sensitive: [salary]
      - name: adults
        depends_on: [people]
        transform: {steps: ["SELECT name, email, salary FROM df WHERE age >= 18"]}
      - name: broken
        depends_on: [adults]
        transform: {steps: ["SELECT no_such_column FROM df"]}
"""
PEOPLE = "name,email,age,salary\nAda,ada@x.org,36,100\nTim,tim@x.org,12,0\nBo,bo@x.org,50,90\n"


def test_story_json_and_html_describe_the_run(odibi_project):
    project = odibi_project({"odibi.yaml": PROJECT, "people.csv": PEOPLE})
    run = project.run()
    assert run.exit_code == 1
    (json_path,) = project.path(".odibi/stories/people").glob("*/run_*.json")
    story = json.loads(json_path.read_text())
    assert story["status"] == "FAILURE" and story["counts"] == {
        "SUCCESS": 2,
        "FAILURE": 1,
        "SKIPPED": 0,
    }
    nodes = {n["name"]: n for n in story["nodes"]}
    people = nodes["people"]
    assert people["rows_in"] == 3 and people["rows_out"] == 3
    assert [c["name"] for c in people["schema"]] == ["name", "email", "age", "salary"]
    assert len(people["sample"]) == 2
    assert all(r["email"] == "***" and r["salary"] == "***" for r in people["sample"])
    assert nodes["adults"]["sql"] == ["SELECT name, email, salary FROM df WHERE age >= 18"]
    assert nodes["broken"]["error"]["step"] == "step 1 (sql)"
    assert "no_such_column" in nodes["broken"]["error"]["message"]

    html = json_path.with_suffix(".html").read_text()
    assert "ada@x.org" not in html and "Everyone we know." in html
    assert "no_such_column" in html
    # Self-contained: no scripts, stylesheets or images from anywhere else.
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)
    assert "<script" not in html

    index = project.path(".odibi/stories/people/index.html").read_text()
    assert story["run_id"] in index and json_path.with_suffix(".html").name in index


def test_retention_keeps_the_newest_runs(odibi_project):
    project = odibi_project({"odibi.yaml": PROJECT, "people.csv": PEOPLE})
    for _ in range(5):
        project.run()
    stories = sorted(project.path(".odibi/stories/people").glob("*/run_*.json"))
    assert len(stories) == 3
    assert len(list(project.path(".odibi/stories/people").glob("*/run_*.html"))) == 3
    kept = {json.loads(p.read_text())["run_id"] for p in stories}
    all_runs = sorted(
        {
            (r["timestamp"], r["run_id"])
            for r in project.catalog("meta_runs")
            if r["scope"] == "pipeline"
        }
    )
    assert kept == {run_id for _, run_id in all_runs[-3:]}
    index = project.path(".odibi/stories/people/index.html").read_text()
    assert sum(run_id in index for _, run_id in all_runs) == 3


def test_retention_days_removes_old_stories(odibi_project):
    project = odibi_project(
        {
            "odibi.yaml": PROJECT.replace("retention_count: 3", "retention_days: 1"),
            "people.csv": PEOPLE,
        }
    )
    project.run()
    (old,) = project.path(".odibi/stories/people").glob("*/run_*.json")
    story = json.loads(old.read_text())
    story["started_at"] = "2020-01-01T00:00:00+00:00"
    old.write_text(json.dumps(story))
    project.run()
    remaining = list(project.path(".odibi/stories/people").glob("*/run_*.json"))
    assert len(remaining) == 1
    assert json.loads(remaining[0].read_text())["started_at"] != "2020-01-01T00:00:00+00:00"
    assert not old.with_suffix(".html").exists()


def test_catalog_definitions_keep_secrets_out(odibi_project):
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
        params: {password: "${DB_PASSWORD}"}
""",
            "in.csv": "a\n1\n",
        }
    )
    run = project.run(env={"DB_PASSWORD": "hunter2-secret"})
    nodes = project.catalog("meta_nodes")
    assert "hunter2-secret" not in nodes[0]["config_json"]
    assert '"password":"***"' in nodes[0]["config_json"]
    assert "hunter2-secret" not in run.output


def test_secret_values_are_found_at_any_depth():
    from odibi_core.redact import scrub, secret_values

    conn = {
        "auth": {"mode": "account_key", "account_key": "abcd1234"},
        "client_secret": "zz99zz",
        "options": {"keys": ["id"]},
    }
    secrets = secret_values([conn])
    assert secrets == ["abcd1234", "zz99zz"]
    assert scrub("auth failed for key abcd1234", secrets) == "auth failed for key ***"


def test_the_index_keeps_run_summaries_and_heals_when_they_are_lost(odibi_project):
    project = odibi_project({"odibi.yaml": PROJECT, "people.csv": PEOPLE})
    for _ in range(2):
        project.run()
    data = project.path(".odibi/stories/people/index.json")
    cached = json.loads(data.read_text())["runs"]
    assert len(cached) == 2
    assert {e["summary"]["status"] for e in cached.values()} == {"FAILURE"}
    data.write_text("{not json")  # lost or half-written: the story files are the truth
    project.run()
    index = project.path(".odibi/stories/people/index.html").read_text()
    assert index.count('href="2') == 3 and len(json.loads(data.read_text())["runs"]) == 3


BROKEN_SECTION = """\
from odibi_core import hookimpl
from odibi_core.story.sections import StorySection


def boom(ctx, result):
    raise RuntimeError("section bug")


@hookimpl
def odibi_register_story_sections():
    return [StorySection("bad", "Bad", collect=boom, run_collect=boom)]
"""


def test_a_broken_story_section_loses_its_part_not_the_story(odibi_project):
    project = odibi_project(
        {
            "odibi.yaml": PROJECT,
            "people.csv": PEOPLE,
            "plugins/bad_section.py": BROKEN_SECTION,
            ".odibi/stories/people/index.json": '{"runs": ["not", "a", "mapping"]}',
        }
    )
    run = project.run()
    assert run.exit_code == 1  # the 'broken' node's failure, nothing else
    (path,) = project.path(".odibi/stories/people").glob("*/run_*.json")
    story = json.loads(path.read_text())
    assert "bad" not in story["sections"]
    assert all("bad" not in n["sections"] for n in story["nodes"])
    assert [n["status"] for n in story["nodes"]] == ["SUCCESS", "SUCCESS", "FAILURE"]
    assert story["run_id"] in project.path(".odibi/stories/people/index.html").read_text()


BAD_ROWS = """\
import pyarrow as pa

from odibi_core import hookimpl
from odibi_core.catalog.rows import CatalogRows


@hookimpl
def odibi_catalog_rows(ctx, result):
    return [
        CatalogRows("meta_runs", [{"run_id": 123, "scope": "check"}]),
        CatalogRows("acme_counts", [{"x": "not a number"}], schema=pa.schema([("x", pa.int64())])),
    ]
"""


def test_a_plugins_bad_catalog_rows_do_not_cost_the_run_its_record(odibi_project):
    project = odibi_project(
        {"odibi.yaml": PROJECT, "people.csv": PEOPLE, "plugins/bad_rows.py": BAD_ROWS}
    )
    run = project.run()
    assert run.exit_code == 1  # the 'broken' node, as without the plugin
    rows = project.catalog("meta_runs")
    assert {r["scope"] for r in rows} == {"pipeline", "node"}  # the misfit row was dropped
    assert len([r for r in rows if r["scope"] == "node"]) == 3
    assert not project.path(".odibi/system/acme_counts/_delta_log").exists()
    (path,) = project.path(".odibi/stories/people").glob("*/run_*.json")
    assert "acme_counts" in json.loads(path.read_text())["catalog_error"]
