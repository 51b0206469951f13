"""``privacy``: a node's PII columns (its own and those inherited from its dependencies, less
``declassify``) hashed, masked or redacted in its output, the same on every engine, with a
salt that never shows. Outputs are read back with the independent Delta reader."""

from __future__ import annotations

import hashlib

import pytest

# A quote and a backslash: the salt reaches the SQL as a literal, escaped per dialect.
SALT = "Pep'per\\Salt99"
PEOPLE = """\
id,email,phone,card,note
1,ada@example.com,555-0101,4111111111111111,first
2,,555-0102,1234,second
3,linus@example.org,,55,
"""

HEADER = """\
project: private
engine: {engine}
retry: {{enabled: false}}
connections: {{d: {{type: local, base_path: .}}}}
pipelines:
  - pipeline: p
    nodes:
"""
NODES = {
    "raw": """\
      - name: raw
        read: {connection: d, format: csv, path: people.csv}
        columns:
          email: {pii: true}
          phone: {pii: true}
          card: {pii: true}
        write: {connection: d, format: delta, path: out/raw}
""",
    "hashed": """\
      - name: hashed
        depends_on: [raw]
        privacy: {method: hash, salt: "${env:PII_SALT}", declassify: [phone, card]}
        write: {connection: d, format: delta, path: out/hashed}
""",
    "masked": """\
      - name: masked
        depends_on: [raw]
        privacy: {method: mask, declassify: [email, phone]}
        write: {connection: d, format: delta, path: out/masked}
""",
    "redacted": """\
      - name: redacted
        depends_on: [raw]
        columns: {note: {pii: true}}
        privacy: {method: redact, declassify: [email, phone, card]}
        write: {connection: d, format: delta, path: out/redacted}
""",
    "unsalted": """\
      - name: unsalted
        depends_on: [hashed]
        transform: {steps: ["SELECT id, phone FROM df"]}
        columns: {phone: {pii: true}}
        privacy: {method: hash}
        write: {connection: d, format: delta, path: out/unsalted}
""",
}
#: Spark writes slowly: there, the SQL that differs (the hash, the salt's escaping, the mask).
SPARK_NODES = ("raw", "hashed", "masked")


def _config(engine: str, nodes: tuple[str, ...] = tuple(NODES)) -> str:
    return HEADER.format(engine=engine) + "".join(NODES[n] for n in nodes)


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _by_id(project, path: str) -> dict[int, dict]:
    return {r["id"]: r for r in project.delta(path)}


@pytest.mark.parametrize("engine", ["pandas", "polars", "spark"])
def test_pii_columns_are_hashed_masked_or_redacted_alike_on_every_engine(odibi_project, engine):
    spark = engine == "spark"
    config = _config(engine, SPARK_NODES) if spark else _config(engine)
    project = odibi_project({"odibi.yaml": config, "people.csv": PEOPLE})
    run = project.run(env={"PII_SALT": SALT})
    assert run.exit_code == 0, run.output

    raw = _by_id(project, "out/raw")  # marking columns alone anonymizes nothing
    assert raw[1]["email"] == "ada@example.com" and raw[1]["card"] == 4111111111111111

    hashed = _by_id(project, "out/hashed")  # the value as text, then the salt
    assert hashed[1]["email"] == _sha("ada@example.com" + SALT)
    assert hashed[3]["email"] == _sha("linus@example.org" + SALT)
    assert hashed[2]["email"] is None  # a null stays null
    assert hashed[1]["phone"] == "555-0101"  # declassified
    assert hashed[1]["card"] == 4111111111111111
    assert hashed[1]["note"] == "first"  # never marked

    masked = _by_id(project, "out/masked")  # all but the last four characters
    assert [masked[i]["card"] for i in (1, 2, 3)] == ["************1111", "1234", "55"]
    assert masked[1]["email"] == "ada@example.com"

    if not spark:
        _redacted_and_unsalted(project)
        stories = "".join(p.read_text() for p in project.root.rglob("stories/**/*.json"))
        assert "privacy hash: email" in stories and "privacy redact: note" in stories
    _salt_never_shows(project, run)


def _redacted_and_unsalted(project) -> None:
    redacted = _by_id(project, "out/redacted")  # every row, nulls too
    assert [redacted[i]["note"] for i in (1, 2, 3)] == ["[REDACTED]"] * 3
    assert redacted[1]["card"] == 4111111111111111

    # phone was declassified upstream; marked again here, it is hashed, without a salt.
    unsalted = _by_id(project, "out/unsalted")
    assert unsalted[1]["phone"] == _sha("555-0101")
    assert unsalted[3]["phone"] is None


def _salt_never_shows(project, run) -> None:
    """The salt is a secret: nowhere in what the run printed or wrote."""
    assert SALT not in run.output
    for path in project.root.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert SALT.encode() not in data, path
            assert b"Pep'per" not in data, path


@pytest.mark.parametrize(
    ("block", "says"),
    [
        ("{method: scramble}", "scramble"),
        ("{enabled: true, rules: [{column: email, method: hash}]}", "privacy takes no 'rules'"),
    ],
)
def test_an_unknown_method_or_shape_is_a_validate_error(odibi_project, block, says):
    config = _config("pandas").replace(
        "privacy: {method: mask, declassify: [email, phone]}", f"privacy: {block}"
    )
    project = odibi_project({"odibi.yaml": config, "people.csv": PEOPLE})
    check = project.odibi("validate", "{config}")
    assert check.exit_code == 2
    assert "privacy" in check.output and says in check.output
