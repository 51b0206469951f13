"""Projects written to break the loader (issue 12): each is refused by ``odibi validate`` and
``odibi run`` alike with exit 2 and one line naming the file, line and column, without a
traceback, and nothing is written: no catalog, no story, nothing above the project."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from odibi_core.testing.project import OdibiProject

Make = Callable[..., OdibiProject]

# A project that runs (and would write its catalog, a story and an output) until one of the
# cases below spoils it.
VALID = """
project: hostile
connections:
  raw: {type: local, base_path: ./data}
  lake: {type: local, base_path: ./lake}
story: {connection: lake, path: stories}
pipelines:
  - pipeline: p
    nodes:
      - name: a
        read: {connection: raw, format: csv, path: a.csv}
      - name: b
        depends_on: [a]
        transform: {steps: ["SELECT * FROM a"]}
        write: {connection: lake, format: csv, path: b.csv}
"""
DATA = "x,y\n1,2\n"


def _bomb() -> str:
    """Billion laughs: 9 levels of 9 aliases each, 9**9 values once expanded."""
    lines = ["  l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for level in range(1, 9):
        lines.append(f"  l{level}: &l{level} [" + ", ".join([f"*l{level - 1}"] * 9) + "]")
    return VALID.replace("project: hostile", "project: hostile\nvars:\n" + "\n".join(lines))


def _edit(old: str, new: str) -> str:
    assert VALID.count(old) == 1, old
    return VALID.replace(old, new)


CASES = {
    "alias bomb": (
        _bomb(),
        "8:7: YAML aliases expand to more than 100,000 values (an alias repeated inside another?)",
    ),
    "recursive alias": (
        _edit("project: hostile", "project: hostile\nvars:\n  loop: &L [*L]"),
        "3:9: a YAML alias refers to a value that contains it",
    ),
    "mapping merging itself": (
        _edit("project: hostile", "project: hostile\nvars: &v\n  <<: *v"),
        "2:7: a YAML alias refers to a value that contains it",
    ),
    "nesting 150 levels deep": (
        _edit("project: hostile", "project: hostile\nvars: {deep: " + "[" * 150 + "]" * 150 + "}"),
        "2:112: values nested more than 100 levels deep",
    ),
    "impossible date": (
        _edit("project: hostile", "project: hostile\nversion: 2024-02-30"),
        "2:10: invalid value '2024-02-30': day is out of range for month",
    ),
    "import with a NUL": (
        _edit("project: hostile", 'project: hostile\nimports: ["conf\\0.yaml"]'),
        "2:11: imported file not found: conf\x00.yaml",
    ),
    "quality is a number": (
        _edit("depends_on: [a]", "depends_on: [a]\n        quality: 1.5"),
        "13:9: pipeline 'p', node 'b', quality: Input should be a valid dictionary (got 1.5)",
    ),
    "quality is nested lists": (
        _edit("depends_on: [a]", "depends_on: [a]\n        quality: [[[x]]]"),
        "13:9: pipeline 'p', node 'b', quality: Input should be a valid dictionary",
    ),
    "depends_on a number": (
        _edit("depends_on: [a]", "depends_on: [1.5]"),
        "12:22: pipeline 'p', node 'b', depends_on[0]: Input should be a valid string (got 1.5)",
    ),
    "story connection a number": (
        _edit("story: {connection: lake, path: stories}", "story: {connection: 42}"),
        "5:9: story.connection: Input should be a valid string (got 42)",
    ),
    "write format a number": (
        _edit("format: csv, path: b.csv", "format: 1, path: b.csv"),
        "14:35: pipeline 'p', node 'b', write.format: Input should be a valid string (got 1)",
    ),
    "retry of 5,000 digits": (
        _edit("project: hostile", "project: hostile\nretry: {max_attempts: " + "9" * 5000 + "}"),
        "2:23: a number of 5,000 digits is too long (at most 4,300)",
    ),
    "pipeline name leaving the project": (
        _edit("pipeline: p", "pipeline: ../../../escaped"),
        "7:5: pipeline '../../../escaped': name must match ^[a-zA-Z_][a-zA-Z0-9_]*$ "
        "(letters, digits and _, not starting with a digit)",
    ),
    "node name with a slash": (
        _edit("- name: a\n", "- name: a/../../b\n").replace("[a]", "['a/../../b']"),
        "9:9: pipeline 'p', node 'a/../../b': name must match ^[a-zA-Z_][a-zA-Z0-9_]*$ "
        "(letters, digits and _, not starting with a digit)",
    ),
    "SQL of semicolons": (
        _edit('"SELECT * FROM a"', '";;;"'),
        "13:29: pipeline 'p', node 'b', transform.steps[0].sql: the SQL has no statement "
        "(only ';', comments or spaces) (got ';;;')",
    ),
    "SQL empty": (
        _edit('"SELECT * FROM a"', '""'),
        "13:29: pipeline 'p', node 'b', transform.steps[0].sql: the SQL has no statement "
        "(only ';', comments or spaces) (got '')",
    ),
    "SQL of comments": (
        _edit('["SELECT * FROM a"]', '[{sql: "-- SELECT 1\\n/* SELECT 2 */ ;"}]'),
        "13:30: pipeline 'p', node 'b', transform.steps[0].sql: the SQL has no statement "
        "(only ';', comments or spaces) (got '-- SELECT 1\\n/* SELECT 2 */ ;')",
    ),
    "read option of another key": (
        _edit("path: a.csv}", "path: a.csv, options: {incremental: {column: x}}}"),
        "10:69: pipeline 'p', node 'a', read.options: 'incremental' is not an option of "
        "pandas.read_csv ('incremental' is a key of read itself: move it out of options)",
    ),
}


def _files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*")}


@pytest.mark.parametrize("command", ["validate", "run"])
@pytest.mark.parametrize("case", list(CASES))
def test_refused_with_one_located_line(
    odibi_project: Make, tmp_path: Path, case: str, command: str
) -> None:
    text, expected = CASES[case]
    project = odibi_project({"odibi.yaml": text, "data/a.csv": DATA})
    before = _files(tmp_path)
    run = project.odibi(command, "{config}")
    assert (run.exit_code, run.stdout) == (2, ""), run.output
    where = str(project.path("odibi.yaml").resolve())
    assert run.stderr == f"odibi: error: {where}:{expected}\n"
    assert "Traceback" not in run.output
    assert _files(tmp_path) == before  # no .odibi, no story, nothing above the project


def test_an_empty_sql_file_fails_its_node_in_one_line(odibi_project: Make) -> None:
    # Only a run can know what an sql_file holds: the engine says it, instead of crashing.
    text = _edit('{steps: ["SELECT * FROM a"]}', "{steps: [{sql_file: nothing.sql}]}")
    project = odibi_project({"odibi.yaml": text, "data/a.csv": DATA, "nothing.sql": "-- todo\n;"})
    assert project.odibi("validate", "{config}").exit_code == 0
    run = project.run()
    assert run.exit_code == 1
    assert "FAILURE p.b (step 1 (sql_file)): SQL has no statement to run" in run.stdout
    assert "NoneType" not in run.output and "Traceback" not in run.output


@pytest.mark.parametrize(
    ("block", "options", "expected"),
    [
        (
            "read",
            "{sep: ';', nrow: 5}",
            "'nrow' is not an option of pandas.read_csv (did you mean 'nrows'?)",
        ),
        ("read", "{chunksize: 10}", "'chunksize' is not supported: odibi reads whole files"),
        ("write", "{index: true}", "'index' is set by odibi itself"),
    ],
)
def test_pandas_options_are_checked(
    odibi_project: Make, block: str, options: str, expected: str
) -> None:
    old = "path: a.csv}" if block == "read" else "path: b.csv}"
    project = odibi_project({"odibi.yaml": _edit(old, f"{old[:-1]}, options: {options}}}")})
    run = project.odibi("validate", "{config}")
    assert run.exit_code == 2
    assert run.stderr.count("\n") == 1 and expected in run.stderr, run.stderr


def test_options_the_engine_takes_pass_and_work(odibi_project: Make) -> None:
    text = VALID.replace("path: a.csv}", "path: a.csv, options: {sep: ',', nrows: 1}}").replace(
        "path: b.csv}", "path: b.parquet, options: {compression: gzip}}"
    )
    text = text.replace("format: csv, path: b.parquet", "format: parquet, path: b.parquet")
    project = odibi_project({"odibi.yaml": text, "data/a.csv": DATA + "3,4\n"})
    assert project.odibi("validate", "{config}").exit_code == 0
    run = project.run()
    assert run.exit_code == 0, run.output
    assert project.path("lake/b.parquet").is_file()


def test_delta_options_on_pandas_are_the_ones_it_uses(odibi_project: Make) -> None:
    text = _edit("format: csv, path: a.csv}", "format: delta, path: t, options: {versoin: 1}}")
    run = odibi_project({"odibi.yaml": text}).odibi("validate", "{config}")
    assert run.exit_code == 2
    assert (
        "read.options: 'versoin' is not an option of delta reads "
        "(it takes: as_of_version, timestampAsOf, version, versionAsOf) (did you mean 'version'?)"
    ) in run.stderr


def test_spark_option_values_must_be_strings_to_spark(odibi_project: Make) -> None:
    text = _edit("project: hostile", "project: hostile\nengine: spark").replace(
        "path: a.csv}", "path: a.csv, options: {inferSchema: [true], anything: goes}}"
    )
    run = odibi_project({"odibi.yaml": text}).odibi("validate", "{config}")
    assert run.exit_code == 2
    assert run.stderr.count("\n") == 1, run.stderr
    assert (
        "read.options: 'inferSchema' must be text, a number or a boolean "
        "(Spark takes options as strings), not a list"
    ) in run.stderr


def test_anchors_and_merge_keys_within_the_limits_still_work(odibi_project: Make) -> None:
    # 400 nodes sharing one anchored read block through merge keys: far from the limits.
    nodes = "\n".join(
        f"      - name: n{i}\n        read: {{<<: *csv, path: n{i}.csv}}" for i in range(400)
    )
    text = f"""
project: anchors
connections: {{raw: {{type: local, base_path: ./data}}}}
defaults:
pipelines:
  - pipeline: p
    nodes:
      - name: first
        read: &csv {{connection: raw, format: csv, path: a.csv, options: {{sep: ","}}}}
{nodes}
""".replace("defaults:\n", "")
    run = odibi_project({"odibi.yaml": text}).odibi("validate", "{config}")
    assert (run.exit_code, run.stderr) == (0, ""), run.stderr
    assert "401 node(s)" in run.stdout


def test_a_story_never_leaves_its_folder(tmp_path: Path) -> None:
    from odibi_core.story.writer import _folder_of

    assert _folder_of(tmp_path, "p") == tmp_path / "p"
    for name in ("../escaped", "..", ".", "a/b", "/etc", ""):
        with pytest.raises(ValueError, match="is not one folder under"):
            _folder_of(tmp_path, name)


def test_an_environment_file_that_is_not_a_mapping(odibi_project: Make) -> None:
    project = odibi_project({"odibi.yaml": VALID, "env.dev.yaml": "- story\n- retention_days\n"})
    run = project.odibi("validate", "{config}", "--env", "dev")
    assert run.exit_code == 2
    where = project.path("env.dev.yaml").resolve()
    assert run.stderr == (
        f"odibi: error: {where}: an environment file must be a mapping of keys, not list\n"
    )
