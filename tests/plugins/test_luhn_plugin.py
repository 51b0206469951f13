"""A third-party assertion type, installed like any plugin distribution and used from YAML."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

PLUGIN = Path(__file__).resolve().parents[2] / "plugins" / "odibi-luhn"

# 4539578763621486 and 79927398713 pass the checksum; the other two do not.
CARDS = "id,card\n1,4539578763621486\n2,4539578763621487\n3,79927398713\n4,12ab\n5,\n"


@pytest.fixture(scope="module")
def luhn_installed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Install the sample plugin as its users would (pip, from its own folder), into a
    separate directory that only the odibi processes started by these tests see: installing
    into the running environment would surprise every other test process mid-run."""
    target = tmp_path_factory.mktemp("luhn-site")
    pip = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "-q",
        "--no-deps",
        "--target",
        str(target),
        str(PLUGIN),
    ]
    subprocess.run(pip, check=True, timeout=300)
    return {"PYTHONPATH": str(target)}


def test_the_installed_plugin_adds_luhn_and_its_own_expectation(luhn_installed, odibi_project):
    project = odibi_project(
        {
            "odibi.yaml": """\
project: cards
connections: {d: {type: local, base_path: .}}
pipelines:
  - pipeline: cards
    nodes:
      - name: cards
        read: {connection: d, format: csv, path: cards.csv, options: {dtype: {card: str}}}
        quality:
          assertions:
            - {type: luhn, column: card, severity: quarantine}
          quarantine: {connection: d, path: bad_cards}
        write: {connection: d, format: parquet, path: good.parquet}
""",
            "cards.csv": CARDS,
        }
    )
    listed = project.odibi("plugins", "--format", "json", subprocess_=True, env=luhn_installed)
    luhn = next(p for p in json.loads(listed.stdout) if p["name"] == "luhn")
    assert luhn["source"] == "entrypoint" and luhn["distribution"] == "odibi-luhn"
    assert luhn["provides"] == {"assertion_types": ["luhn"]}

    # A fresh process finds the plugin by its entry point.
    run = project.run(subprocess_=True, env=luhn_installed)
    assert run.exit_code == 0, run.output
    (row,) = project.catalog("meta_quality")
    assert row["assertion_type"] == "luhn"
    assert row["expectation_type"] == "expect_column_values_to_be_valid_luhn"
    assert (row["status"], row["violation_count"], row["element_count"]) == ("failed", 2, 5)
    assert sorted(r["id"] for r in project.delta("bad_cards")) == [2, 4]


DUPLICATE = """
from pydantic import BaseModel
from odibi_core import hookimpl
from odibi_quality.types import AssertionType


class P(BaseModel):
    column: str


@hookimpl
def odibi_register_assertion_types():
    return [AssertionType("luhn", P, lambda p, ctx: [], lambda p: [p.column])]
"""


def test_a_second_luhn_is_rejected_loudly(luhn_installed, odibi_project):
    # GX itself would let a later expectation class silently replace an earlier one.
    project = odibi_project(
        {
            "odibi.yaml": "project: p\npipelines: []\n",
            "plugins/impostor.py": DUPLICATE,
        }
    )
    run = project.odibi("validate", "{config}", subprocess_=True, env=luhn_installed)
    assert run.exit_code == 2
    assert "assertion type 'luhn' is registered by both 'luhn' and 'project:impostor'" in run.stderr
