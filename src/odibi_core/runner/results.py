"""Outcomes of node and pipeline runs: what the catalog, stories and hooks receive."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

SUCCESS = "SUCCESS"
FAILURE = "FAILURE"
SKIPPED = "SKIPPED"


@dataclass
class NodeResult:
    node: str
    status: str
    started_at: datetime
    ended_at: datetime
    attempt: int = 1
    rows_in: int | None = None
    rows_out: int | None = None
    #: Rows handed to the node's write (None when it has no write or did not get there).
    rows_written: int | None = None
    error_type: str | None = None
    error_message: str | None = None
    error_step: str | None = None
    #: The underlying exception beneath the error, when there is one ("OSError: ...").
    error_cause: str | None = None
    skip_reason: str | None = None
    version_hash: str | None = None
    schema: list[tuple[str, str]] = field(default_factory=list)
    #: Columns of what the node's ``read`` returned (lineage reports its input's schema).
    read_schema: list[tuple[str, str]] = field(default_factory=list)
    #: Each of the node's ``inputs`` that was read (a read block, or where another
    #: pipeline's node wrote): ``name -> (ReadConfig, its columns)``.
    input_reads: dict[str, tuple[Any, list[tuple[str, str]]]] = field(default_factory=dict)
    sample: list[dict[str, Any]] = field(default_factory=list)
    sql: list[str] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)
    dq_score: float | None = None
    #: Data plugins attached through ``odibi_check_node_output`` (e.g. assertion results).
    checks: dict[str, Any] = field(default_factory=dict)
    #: Small numbers worth keeping in ``meta_runs.metrics_json``.
    metrics: dict[str, Any] = field(default_factory=dict)
    #: What a reader should notice though it did not fail the node ("read 0 rows").
    warnings: list[str] = field(default_factory=list)

    def warn(self, text: str) -> None:
        self.warnings.append(text)
        self.metrics["warnings"] = self.warnings  # kept in meta_runs with the run

    @property
    def duration_ms(self) -> int:
        return int((self.ended_at - self.started_at).total_seconds() * 1000)


@dataclass
class PipelineResult:
    run_id: str
    project: str
    pipeline: str
    started_at: datetime
    ended_at: datetime | None = None
    nodes: dict[str, NodeResult] = field(default_factory=dict)
    status: str = SUCCESS
    story_path: str | None = None
    environment: str | None = None
    catalog_error: str | None = None
    #: Catalog tables this run appended to (maintenance looks at these).
    catalog_tables: list[str] = field(default_factory=list)

    @property
    def duration_ms(self) -> int:
        end = self.ended_at or self.started_at
        return int((end - self.started_at).total_seconds() * 1000)

    @property
    def failed(self) -> list[NodeResult]:
        return [n for n in self.nodes.values() if n.status == FAILURE]

    @property
    def dq_score(self) -> float | None:
        scores = [n.dq_score for n in self.nodes.values() if n.dq_score is not None]
        return sum(scores) / len(scores) if scores else None

    @property
    def rows_written(self) -> int:
        return sum(n.rows_written or 0 for n in self.nodes.values())
