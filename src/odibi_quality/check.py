"""A node's quality check: validate, decide the outcome by severity, quarantine rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from odibi_core.runner.checks import OutputCheck
from odibi_quality import data_docs
from odibi_quality.config import QualityConfig
from odibi_quality.quarantine import write_quarantine
from odibi_quality.results import ERROR, FAILED, AssertionResult, dq_score
from odibi_quality.types import AssertionType, CheckContext
from odibi_quality.validate import run

if TYPE_CHECKING:
    from odibi_core.config.models import NodeConfig
    from odibi_core.runner.context import RunContext


def check_node(
    ctx: RunContext,
    node: NodeConfig,
    frame: Any,
    quality: QualityConfig,
    types: dict[str, AssertionType],
) -> OutputCheck:
    check_ctx = CheckContext(
        pipeline=ctx.pipeline_name,
        node=node.name,
        now=datetime.now(UTC),
        declared_columns=list(node.columns),
        history=lambda days: _recent_rows_out(ctx, node.name, days),
        sql=lambda query, df: ctx.engine.sql(query, {"df": df}, node=node.name),
        dtypes={str(c): str(t) for c, t in ctx.engine.schema(frame)},
    )
    suite = quality.suite_name or f"{ctx.pipeline_name}.{node.name}"
    validation = run(frame, quality, types, check_ctx, suite)
    if validation.raw is not None:
        data_docs.remember(ctx, node.name, validation.raw)
    results = validation.results
    out = OutputCheck("quality", dq_score=dq_score(results))

    failing_errors = [r for r in results if r.severity == "error" and r.status in (FAILED, ERROR)]
    if failing_errors and quality.on_error == "fail":
        out.error = "quality checks failed: " + "; ".join(_describe(r) for r in failing_errors)
    gate = _gate(frame, validation, quality, check_ctx)
    gate_mask = gate.pop("mask") if gate is not None else None
    gate_failed = gate is not None and not gate["passed"] and quality.gate is not None
    if (
        gate
        and gate_failed
        and quality.gate
        and quality.gate.on_fail == "abort"
        and out.error is None
    ):
        out.error = (
            f"quality gate: {gate['pass_rate']:.1%} of rows pass every check, "
            f"{gate['required']:.1%} required"
        )
    quarantined = 0
    if out.error is None:
        import pandas as pd

        drop = pd.Series(False, index=frame.index)
        if gate_failed and quality.gate and quality.gate.on_fail == "write_valid_only":
            drop |= gate_mask
        to_quarantine = [
            p
            for p, r in zip(validation.prepared, results, strict=True)
            if r.severity == "quarantine" and r.status == FAILED
        ]
        if to_quarantine:
            assert quality.quarantine is not None  # enforced at validate time
            mask, reasons = _failing_rows(frame, to_quarantine, check_ctx)
            quarantined = int(mask.sum())
            if quarantined:
                write_quarantine(ctx, node.name, frame, mask, reasons, quality.quarantine)
                drop |= mask
        if drop.any():
            out.frame = frame[~drop].reset_index(drop=True)
    out.data = {
        "suite": suite,
        "dq_score": out.dq_score,
        "quarantined": quarantined,
        "gate": gate,
        "assertions": [r.to_dict() for r in results],
    }
    return out


def _gate(
    frame: Any, validation: Any, quality: QualityConfig, ctx: CheckContext
) -> dict[str, Any] | None:
    """The share of rows passing every row-level check, against ``gate.require_pass_rate``."""
    if quality.gate is None:
        return None
    row_checks = [
        p
        for p, r in zip(validation.prepared, validation.results, strict=True)
        if p.kind.failing_rows is not None and r.status != ERROR
    ]
    mask, _ = _failing_rows(frame, row_checks, ctx)
    rows = len(frame)
    rate = 1.0 - float(mask.sum()) / rows if rows else 1.0
    return {
        "pass_rate": rate,
        "required": quality.gate.require_pass_rate,
        "passed": rate >= quality.gate.require_pass_rate,
        "on_fail": quality.gate.on_fail,
        "mask": mask,
    }


def _describe(r: AssertionResult) -> str:
    cols = f"({', '.join(r.columns)})" if r.columns else ""
    if r.status == ERROR:
        return f"{r.name}{cols} could not run: {r.message}"
    if r.table_level:
        return f"{r.name}{cols} failed (observed {r.observed_value!r})"
    return f"{r.name}{cols} {r.violation_count} of {r.element_count} violate it"


def _failing_rows(frame: Any, prepared: list[Any], ctx: CheckContext) -> tuple[Any, Any]:
    import pandas as pd

    mask = pd.Series(False, index=frame.index)
    reasons = pd.Series("", index=frame.index, dtype="object")
    for item in prepared:
        bad = item.kind.failing_rows(frame, item.params, ctx).fillna(False).astype(bool)
        reasons = reasons.where(~bad, reasons.where(reasons == "", reasons + "; ") + item.label)
        mask |= bad
    return mask, reasons


def _recent_rows_out(ctx: RunContext, node: str, days: int) -> list[int]:
    from odibi_core.catalog.query import runs

    since = datetime.now(UTC) - timedelta(days=days)
    rows = runs(ctx.catalog, ctx.pipeline_name, since, status="SUCCESS", scope="node").rows
    return [r["rows_out"] for r in rows if r["node_name"] == node and r["rows_out"] is not None]
