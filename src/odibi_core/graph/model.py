"""A pipeline as a graph: its nodes, their dependencies, and what the catalog knows of each."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from odibi_core.catalog.manager import Catalog
    from odibi_core.config.models import PipelineConfig


@dataclass
class GraphNode:
    name: str
    depends_on: list[str]
    description: str | None = None
    enabled: bool = True
    #: The node's last executed run (None: no history yet).
    status: str | None = None
    dq_score: float | None = None
    duration_ms: int | None = None
    rows_out: int | None = None
    last_run_at: datetime | None = None


@dataclass
class PipelineGraph:
    pipeline: str
    nodes: list[GraphNode] = field(default_factory=list)
    #: The pipeline's last run (status, dq_score, timestamp, run_id) or None.
    last_run: dict[str, Any] | None = None
    _by_name: dict[str, GraphNode] = field(default_factory=dict, repr=False)

    def node(self, name: str) -> GraphNode:
        if len(self._by_name) != len(self.nodes):
            self._by_name = {n.name: n for n in self.nodes}
        return self._by_name[name]

    @property
    def edges(self) -> list[tuple[str, str]]:
        known = {n.name for n in self.nodes}
        return [(d, n.name) for n in self.nodes for d in n.depends_on if d in known]


def from_pipeline(pipeline: PipelineConfig) -> PipelineGraph:
    """The graph of a pipeline definition, with no run information."""
    return PipelineGraph(
        pipeline.pipeline,
        [GraphNode(n.name, list(n.depends_on), n.description, n.enabled) for n in pipeline.nodes],
    )


def with_history(graph: PipelineGraph, catalog: Catalog) -> PipelineGraph:
    """Fill each node's last executed run (and the pipeline's last run) from the catalog."""
    from odibi_core.catalog import query

    latest = query.last_node_results(catalog, graph.pipeline, with_skipped=True)
    for node in graph.nodes:
        row = latest.get(node.name)
        if row is not None:
            node.status = row["status"]
            node.dq_score = row["dq_score"]
            node.duration_ms = row["duration_ms"]
            node.rows_out = row["rows_out"]
            node.last_run_at = row["timestamp"]
    last = query.last_run(catalog, graph.pipeline).rows
    graph.last_run = last[0] if last else None
    return graph
