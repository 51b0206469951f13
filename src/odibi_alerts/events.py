"""What an alert says, built from a run's context and results (as data: the quality plugin's
results are read from ``NodeResult.checks``, never through its code)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from odibi_core.config.models import NodeConfig
    from odibi_core.runner.context import RunContext
    from odibi_core.runner.results import NodeResult, PipelineResult

#: Events that also @mention ``metadata.mention_on_failure`` (Odibi's failure events).
FAILURE_EVENTS = frozenset({"on_failure", "on_gate_block", "on_quarantine"})
#: The status word each event shows.
STATUS = {
    "on_start": "STARTED",
    "on_success": "SUCCESS",
    "on_failure": "FAILED",
    "on_quarantine": "QUARANTINE",
    "on_gate_block": "GATE_BLOCKED",
    "on_threshold_breach": "THRESHOLD_BREACH",
}
#: Types of assertion whose failure is a threshold breach (a metric against a bound).
THRESHOLD_TYPES = frozenset({"volume_drop", "distribution", "row_count"})


@dataclass
class Alert:
    """One event of one run, in the terms every payload format is made from."""

    event: str
    project: str
    pipeline: str
    run_id: str
    message: str
    timestamp: datetime = field(default_factory=lambda: datetime.now(UTC))
    environment: str | None = None
    node: str | None = None
    duration_s: float | None = None
    rows: int | None = None
    dq_score: float | None = None
    story_path: str | None = None
    #: Event-specific facts (quarantine, gate or threshold details), by Odibi's key names.
    details: dict[str, Any] = field(default_factory=dict)
    #: Per checked node: its DQ score and failing assertions.
    quality: list[dict[str, Any]] = field(default_factory=list)
    #: Per failed node: its error.
    errors: list[dict[str, Any]] = field(default_factory=list)

    @property
    def status(self) -> str:
        return STATUS[self.event]

    @property
    def is_failure(self) -> bool:
        return self.event in FAILURE_EVENTS


def _base(ctx: RunContext, event: str, message: str, **kw: Any) -> Alert:
    return Alert(
        event,
        ctx.project.project,
        ctx.pipeline_name,
        ctx.run_id,
        message,
        environment=ctx.environment,
        **kw,
    )


def start(ctx: RunContext) -> Alert:
    nodes = len(ctx.pipeline.nodes)
    return _base(ctx, "on_start", f"pipeline {ctx.pipeline_name} started ({nodes} nodes)")


def outcome(ctx: RunContext, result: PipelineResult) -> Alert:
    """``on_success`` or ``on_failure`` for a finished run."""
    failed = result.failed
    quality = [q for n in result.nodes.values() if (q := node_quality(n))]
    errors = [
        {"node": n.node, "error_type": n.error_type, "error_message": n.error_message}
        for n in failed
    ]
    if result.status == "SUCCESS":
        event = "on_success"
        message = f"pipeline {result.pipeline} succeeded: {len(result.nodes)} nodes"
        if failed:
            message += f", {len(failed)} failed and ignored (on_error: ignore)"
    else:
        event = "on_failure"
        first = failed[0] if failed else None
        message = f"pipeline {result.pipeline} failed"
        if first is not None:
            message += f": node {first.node}: {first.error_message}"
            if len(failed) > 1:
                message += f" (and {len(failed) - 1} more nodes)"
    if result.catalog_error:
        message += f"; catalog not written: {result.catalog_error}"
    return _base(
        ctx,
        event,
        message,
        duration_s=result.duration_ms / 1000,
        rows=result.rows_written,
        dq_score=result.dq_score,
        story_path=result.story_path,
        quality=quality,
        errors=errors,
    )


def crashed(ctx: RunContext, exc: BaseException) -> Alert:
    """``on_failure`` for a run that raised instead of finishing (e.g. planning failed)."""
    text = ctx.scrub(f"{type(exc).__name__}: {exc}")
    return _base(
        ctx,
        "on_failure",
        f"pipeline {ctx.pipeline_name} failed: {text}",
        duration_s=(datetime.now(UTC) - ctx.started_at).total_seconds(),
        errors=[{"node": None, "error_type": type(exc).__name__, "error_message": text}],
    )


def node_quality(result: NodeResult) -> dict[str, Any] | None:
    """The node's DQ score and failing assertions, or None when it was not checked."""
    data = result.checks.get("quality")
    if not data:
        return None
    failing = [
        {
            "name": a.get("name"),
            "type": a.get("assertion_type"),
            "columns": list(a.get("columns") or []),
            "severity": a.get("severity"),
            "status": a.get("status"),
            "violation_count": a.get("violation_count"),
            "element_count": a.get("element_count"),
            "message": a.get("message"),
        }
        for a in data.get("assertions", [])
        if a.get("status") in ("failed", "error")
    ]
    return {"node": result.node, "dq_score": data.get("dq_score"), "failing": failing}


def for_node(ctx: RunContext, node: NodeConfig, result: NodeResult) -> list[Alert]:
    """The quality events of a finished node: quarantine, a failed gate, thresholds."""
    data = result.checks.get("quality")
    if not data:
        return []
    quality = node_quality(result)
    assert quality is not None
    failing = quality["failing"]
    names = [f["name"] for f in failing]
    common: dict[str, Any] = {
        "node": result.node,
        "dq_score": data.get("dq_score"),
        "rows": result.rows_out,
        "quality": [quality],
    }
    alerts = []
    quarantined = int(data.get("quarantined") or 0)
    if quarantined:
        alerts.append(
            _base(
                ctx,
                "on_quarantine",
                f"{quarantined} rows quarantined in {result.node}",
                details={
                    "quarantine_details": {
                        "rows_quarantined": quarantined,
                        "quarantine_path": _quarantine_target(node),
                        "failed_tests": [
                            f["name"] for f in failing if f["severity"] == "quarantine"
                        ],
                        "node_name": result.node,
                    }
                },
                **common,
            )
        )
    gate = data.get("gate")
    if gate and not gate.get("passed", True):
        alerts.append(
            _base(
                ctx,
                "on_gate_block",
                f"quality gate failed in {result.node} ({gate.get('on_fail')}): "
                + "; ".join(gate.get("reasons") or []),
                details={
                    "gate_details": {
                        "node_name": result.node,
                        "pass_rate": gate.get("pass_rate"),
                        "required_rate": gate.get("required"),
                        "failed_rows": gate.get("failing_rows"),
                        "total_rows": gate.get("rows"),
                        "on_fail": gate.get("on_fail"),
                        "failure_reasons": list(gate.get("reasons") or []),
                        "failed_tests": names,
                    }
                },
                **common,
            )
        )
    for breach in _breaches(data):
        alerts.append(
            _base(
                ctx,
                "on_threshold_breach",
                f"threshold breached in {result.node}: {breach['reason']}",
                details={"threshold_details": {"node_name": result.node, **breach}},
                **common,
            )
        )
    return alerts


def _breaches(data: dict[str, Any]) -> list[dict[str, Any]]:
    """Metrics past their bound: a gate's thresholds and row count, and failing assertions
    of a threshold type (volume_drop, distribution, row_count)."""
    out = []
    gate = data.get("gate") or {}
    for t in gate.get("thresholds") or []:
        if not t.get("passed", True):
            out.append(
                {
                    "metric": f"pass_rate({t.get('assertion')})",
                    "threshold": t.get("required"),
                    "actual_value": t.get("pass_rate"),
                    "reason": t.get("reason") or "",
                }
            )
    rc = gate.get("row_count")
    if rc and not rc.get("passed", True):
        out.append(
            {
                "metric": "row_count",
                "threshold": {k: rc.get(k) for k in ("min", "max", "change_threshold")},
                "actual_value": rc.get("rows"),
                "reason": "; ".join(rc.get("reasons") or []),
            }
        )
    for a in data.get("assertions", []):
        if a.get("assertion_type") in THRESHOLD_TYPES and a.get("status") == "failed":
            out.append(
                {
                    "metric": a.get("name"),
                    "threshold": None,
                    "actual_value": a.get("observed_value"),
                    "reason": a.get("message") or f"{a.get('name')} failed",
                }
            )
    return out


def _quarantine_target(node: NodeConfig) -> str | None:
    # The quality plugin owns the block's shape; core keeps it as data, and so do we.
    for block in (node.quality, node.validation):
        target = (block or {}).get("quarantine")
        if isinstance(target, dict):
            where = target.get("path") or target.get("table")
            return f"{target.get('connection')}/{where}" if where else target.get("connection")
    return None
