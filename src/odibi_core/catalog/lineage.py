"""What read what, across pipelines: a view over the node definitions ``meta_nodes`` keeps.

Every run registers its pipeline's nodes with their ``read``, ``depends_on`` and ``write`` as
written, so the catalog already holds the graph; nothing else is recorded. A dataset is named
``<connection>/<path or table>`` (Odibi's ``bronze/customers_raw``). A node that hands its rows
on in memory (no ``write``) is passed through: its consumers' writes derive from what it read.
"""

from __future__ import annotations

import json
from collections import deque
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from odibi_core.catalog import tables as t

if TYPE_CHECKING:
    from odibi_core.catalog.manager import Catalog


@dataclass(frozen=True)
class Edge:
    """``source_table`` feeds ``target_table`` through ``target_pipeline.target_node``;
    ``source_pipeline``/``source_node`` wrote the source, when a known node did."""

    source_table: str
    target_table: str
    target_pipeline: str
    target_node: str
    source_pipeline: str | None = None
    source_node: str | None = None
    last_observed: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def dataset(block: dict[str, Any] | None) -> str | None:
    """``connection/path`` of a read or write block (``connection/table``), or None."""
    if not isinstance(block, dict) or not block.get("connection"):
        return None
    where = block.get("path") or block.get("table")
    if not where:
        return None
    return f"{block['connection']}/{str(where).strip('/')}"


@dataclass
class _Node:
    pipeline: str
    name: str
    config: dict[str, Any]
    updated_at: datetime | None


def _definitions(catalog: Catalog) -> dict[tuple[str, str], _Node]:
    from odibi_core.catalog.query import scan

    if not catalog.exists(t.META_NODES):
        return {}
    rows = scan(
        catalog, t.META_NODES, columns=["pipeline_name", "node_name", "config_json", "updated_at"]
    ).rows
    found = {}
    for r in rows:
        try:
            config = json.loads(r["config_json"] or "{}")
        except ValueError:
            continue
        found[(r["pipeline_name"], r["node_name"])] = _Node(
            r["pipeline_name"], r["node_name"], config, r["updated_at"]
        )
    return found


def edges(catalog: Catalog) -> list[Edge]:
    """Every dataset-to-dataset edge the registered definitions give."""
    nodes = _definitions(catalog)
    writes = {key: dataset(n.config.get("write")) for key, n in nodes.items()}
    writer = {target: key for key, target in writes.items() if target}

    def sources(key: tuple[str, str], seen: frozenset[tuple[str, str]]) -> set[str]:
        """Datasets a node's rows come from (through upstream nodes that write nothing)."""
        node = nodes.get(key)
        if node is None or key in seen:
            return set()
        seen = seen | {key}
        found = set()
        read = dataset(node.config.get("read"))
        if read:
            found.add(read)
        refs = [(node.pipeline, d) for d in node.config.get("depends_on") or []]
        # Cross-pipeline ``inputs:`` (``$pipeline.node``, or a read block per name).
        for value in (node.config.get("inputs") or {}).values():
            if isinstance(value, str) and value.startswith("$") and "." in value:
                pipeline, _, name = value[1:].partition(".")
                refs.append((pipeline, name))
            elif (block := dataset(value)) is not None:
                found.add(block)
        for ref in refs:
            if writes.get(ref):
                found.add(str(writes[ref]))
            else:
                found |= sources(ref, seen)
        return found

    out = []
    for key, target in sorted(writes.items()):
        if not target:
            continue
        node = nodes[key]
        for source in sorted(sources(key, frozenset())):
            if source == target:
                continue  # a node that rewrites its own input (merge in place)
            origin = writer.get(source)
            out.append(
                Edge(
                    source,
                    target,
                    node.pipeline,
                    node.name,
                    origin[0] if origin else None,
                    origin[1] if origin else None,
                    node.updated_at,
                )
            )
    return out


def resolve(name: str, graph: list[Edge]) -> str | None:
    """The dataset ``name`` means: exact, else the one whose path ends with it."""
    known = {e.source_table for e in graph} | {e.target_table for e in graph}
    if name in known:
        return name
    ends = sorted(k for k in known if k.endswith("/" + name.strip("/")))
    return ends[0] if len(ends) == 1 else None


def upstream(graph: list[Edge], table: str, depth: int = 3) -> list[tuple[int, Edge]]:
    """Edges into ``table`` and on up, breadth first, with their distance (1 = direct)."""
    return _walk(graph, table, depth, up=True)


def downstream(graph: list[Edge], table: str, depth: int = 3) -> list[tuple[int, Edge]]:
    return _walk(graph, table, depth, up=False)


def _walk(graph: list[Edge], table: str, depth: int, up: bool) -> list[tuple[int, Edge]]:
    out: list[tuple[int, Edge]] = []
    seen = {table}
    todo = deque([(table, 1)])
    while todo:
        current, level = todo.popleft()
        if level > depth:
            continue
        for e in graph:
            here, there = (
                (e.target_table, e.source_table) if up else (e.source_table, e.target_table)
            )
            if here != current:
                continue
            out.append((level, e))
            if there not in seen:
                seen.add(there)
                todo.append((there, level + 1))
    return out


def impact(graph: list[Edge], table: str, depth: int = 10) -> dict[str, Any]:
    """What a change to ``table`` would reach: tables and the pipelines writing them."""
    reached = downstream(graph, table, depth)
    tables = sorted({e.target_table for _, e in reached})
    pipelines = sorted({e.target_pipeline for _, e in reached})
    by_table = {e.target_table: e.target_pipeline for _, e in reached}
    return {
        "table": table,
        "affected_tables": [{"table": x, "pipeline": by_table[x]} for x in tables],
        "affected_pipelines": pipelines,
    }
