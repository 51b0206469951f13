"""``odibi init`` and ``odibi templates`` through the real CLI: every template scaffolds a
project that validates, and the local ones run and write what they promise."""

from __future__ import annotations

import json

import pytest

from odibi_core.testing.project import OdibiProject

AZURE_ENV = {
    "AZURE_STORAGE_ACCOUNT": "acme",
    "AZURE_TENANT_ID": "tenant",
    "AZURE_CLIENT_ID": "client",
    "AZURE_CLIENT_SECRET": "s3cret",
}
#: Template → a Delta table its run writes, with its row count.
RUNS = {
    "hello": ("output/gold/daily_revenue", 5),
    "star-schema": ("warehouse/monthly_sales", 2),
    "scd2": ("silver/dim_customers", 3),
}


def _templates(where: OdibiProject) -> list[dict]:
    listed = where.odibi("templates", "list", "--format", "json")
    assert listed.exit_code == 0, listed.output
    return json.loads(listed.stdout)


def test_templates_lists_each_with_what_it_needs(odibi_project):
    where = odibi_project()
    rows = {t["name"]: t for t in _templates(where)}
    assert set(rows) == {"hello", "star-schema", "scd2", "adls"}
    assert rows["adls"]["runs_locally"] is False and rows["hello"]["runs_locally"] is True
    assert "data/orders.csv" in rows["hello"]["files"]
    table = where.odibi("templates")
    assert table.exit_code == 0 and "star-schema" in table.stdout
    assert "odibi init NAME --template TEMPLATE" in table.stdout
    shown = where.odibi("templates", "show", "scd2")
    assert shown.exit_code == 0 and "project: my_project" in shown.stdout
    assert "type: scd2" not in shown.stdout and "transformer: scd2" in shown.stdout


@pytest.mark.parametrize("name", ["hello", "star-schema", "scd2"])
def test_a_local_template_validates_and_runs(odibi_project, name):
    where = odibi_project()
    made = where.odibi("init", str(where.root / "shop"), "--template", name)
    assert made.exit_code == 0, made.output
    project = OdibiProject(where.root / "shop")
    text = project.path("odibi.yaml").read_text()
    assert "project: shop" in text and "{{" not in text
    assert project.odibi("validate", "{config}").exit_code == 0
    run = project.run()
    assert run.exit_code == 0, run.output
    table, rows = RUNS[name]
    assert len(project.delta(table)) == rows
    assert project.catalog("meta_runs")  # the catalog is beside the project


def test_star_schema_facts_find_their_dimensions(odibi_project):
    where = odibi_project()
    assert where.odibi("init", str(where.root / "dw"), "-t", "star-schema").exit_code == 0
    project = OdibiProject(where.root / "dw")
    assert project.run().exit_code == 0
    facts = {r["order_id"]: r for r in project.delta("warehouse/fact_sales")}
    assert facts[1005]["customer_sk"] == 0  # C09 is not a customer: the unknown member
    assert facts[1001]["revenue"] == pytest.approx(38.0)
    monthly = {r["category"]: r["revenue"] for r in project.delta("warehouse/monthly_sales")}
    assert monthly == {"hardware": pytest.approx(200.0), "services": pytest.approx(120.0)}


def test_the_adls_template_validates_with_its_variables_and_lists_them(odibi_project):
    where = odibi_project()
    made = where.odibi("init", "lake", "--template", "adls", subprocess_=True)
    assert made.exit_code == 0, made.output
    assert "odibi doctor" in made.stdout
    project = OdibiProject(where.root / "lake")
    example = project.path(".env.example").read_text().split()
    assert set(AZURE_ENV) <= {line.split("=")[0] for line in example if "=" in line}
    unset = project.odibi("validate", "{config}")
    assert unset.exit_code == 2 and "AZURE_STORAGE_ACCOUNT" in unset.stderr
    ok = project.odibi("validate", "{config}", env=AZURE_ENV)
    assert ok.exit_code == 0, ok.output


def test_init_refuses_to_overwrite_and_names_unknown_templates(odibi_project):
    where = odibi_project()
    assert where.odibi("init", str(where.root / "p")).exit_code == 0  # hello by default
    config = where.root / "p" / "odibi.yaml"
    config.write_text("# mine\n")
    again = where.odibi("init", str(where.root / "p"))
    assert again.exit_code == 2 and "odibi.yaml" in again.stderr and "--force" in again.stderr
    assert config.read_text() == "# mine\n"  # nothing written
    forced = where.odibi("create", str(where.root / "p"), "--force")  # Odibi's alias
    assert forced.exit_code == 0 and "project: p" in config.read_text()
    typo = where.odibi("init", str(where.root / "q"), "--template", "star_schema")
    assert typo.exit_code == 2
    assert "unknown template 'star_schema' (did you mean 'star-schema'?)" in typo.stderr
    assert not (where.root / "q").exists()
