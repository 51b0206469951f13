"""A node's ``privacy``: its PII columns anonymized in its output, as one SQL query through
the engine, so pandas, polars and Spark give the same values.

The PII columns are those the node marks (``columns.<c>.pii: true``) and those its
dependencies mark, through any depth, less the ones ``declassify`` names here or upstream
(Odibi's inheritance). Without a ``privacy`` block, marking a column anonymizes nothing.

- ``hash``: the lowercase hex SHA-256 of the value as text followed by the salt;
- ``mask``: every character but the last four replaced by ``*`` (four or fewer: kept);
- ``redact``: the text ``[REDACTED]``, on every row.

Nulls stay null under ``hash`` and ``mask``; every result is text.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from odibi_core.config.models import NodeConfig, PrivacyConfig
    from odibi_core.engines.base import Engine

REDACTED = "[REDACTED]"


def pii_columns(node: NodeConfig, nodes: Mapping[str, NodeConfig]) -> list[str]:
    """The node's PII columns: its own, and its dependencies' (``nodes`` by name), less
    what it declassifies; in the order they were found."""
    found = _pii(node, nodes, set())
    return list(dict.fromkeys(found))


def _pii(node: NodeConfig, nodes: Mapping[str, NodeConfig], seen: set[str]) -> list[str]:
    seen.add(node.name)
    found: list[str] = []
    for dep in node.depends_on:
        if dep in nodes and dep not in seen:
            found.extend(_pii(nodes[dep], nodes, seen))
    found.extend(c for c, meta in node.columns.items() if meta.pii)
    gone = set(node.privacy.declassify) if node.privacy else set()
    return [c for c in found if c not in gone]


def anonymize(
    engine: Engine, frame: Any, columns: list[str], privacy: PrivacyConfig
) -> tuple[Any, list[str]]:
    """``frame`` with ``columns`` anonymized as ``privacy`` says (columns it lacks are
    skipped), and the columns it anonymized."""
    present = [c for c, _ in engine.schema(frame)]
    by_lower = {c.lower(): c for c in present}
    chosen = {by_lower[c.lower()] for c in columns if c.lower() in by_lower}
    if not chosen:
        return frame, []
    dialect = _SPARK if engine.name == "spark" else _DUCKDB
    select = ", ".join(
        f"{_expression(dialect, engine.quote(c), privacy)} AS {engine.quote(c)}"
        if c in chosen
        else engine.quote(c)
        for c in present
    )
    return engine.sql(f"SELECT {select} FROM df", {"df": frame}), [
        c for c in present if c in chosen
    ]


# What differs between DuckDB's SQL and Spark's: the text type, the hash, and how a string
# literal escapes a quote (Spark reads backslash escapes and joins adjacent literals).
_DUCKDB = {"text": "VARCHAR", "sha256": "sha256({})", "backslash": False}
_SPARK = {"text": "STRING", "sha256": "sha2({}, 256)", "backslash": True}


def _literal(dialect: Mapping[str, Any], value: str) -> str:
    if dialect["backslash"]:
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    return "'" + value.replace("'", "''") + "'"


def _expression(dialect: Mapping[str, Any], column: str, privacy: PrivacyConfig) -> str:
    text = f"CAST({column} AS {dialect['text']})"
    if privacy.method == "hash":
        salted = f"{text} || {_literal(dialect, privacy.salt)}" if privacy.salt else text
        return str(dialect["sha256"]).format(salted)
    if privacy.method == "mask":
        return (
            f"CASE WHEN length({text}) > 4 "
            f"THEN repeat('*', length({text}) - 4) || right({text}, 4) ELSE {text} END"
        )
    return f"CAST({_literal(dialect, REDACTED)} AS {dialect['text']})"
