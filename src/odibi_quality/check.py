"""A node's quality check: validate, decide the outcome by severity, quarantine rows."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from odibi_core.runner.checks import OutputCheck
from odibi_quality import data_docs
from odibi_quality.config import QualityConfig
from odibi_quality.gate import evaluate as evaluate_gate
from odibi_quality.gate import row_checks
from odibi_quality.quarantine import rejected_rows, write_quarantine
from odibi_quality.results import ERROR, FAILED, AssertionResult, dq_score
from odibi_quality.rules import RowRules
from odibi_quality.types import AssertionType, CheckContext
from odibi_quality.validate import Prepared, Validation, run

if TYPE_CHECKING:
    from odibi_core.config.models import NodeConfig
    from odibi_core.runner.context import RunContext

log = logging.getLogger("odibi.quality")


def check_node(
    ctx: RunContext,
    node: NodeConfig,
    frame: Any,
    quality: QualityConfig,
    types: dict[str, AssertionType],
) -> OutputCheck:
    engine = ctx.engine
    check_ctx = CheckContext(
        pipeline=ctx.pipeline_name,
        node=node.name,
        now=datetime.now(UTC),
        declared_columns=list(node.columns),
        history=lambda days: _recent_rows_out(ctx, node.name, days),
        sql=lambda query, df: engine.sql(query, {"df": df}, node=node.name),
        previous_rows_out=lambda: _previous_rows_out(ctx, node.name),
        engine=engine.name,
        catalog=ctx.catalog,
    )
    suite = quality.suite_name or f"{ctx.pipeline_name}.{node.name}"
    validation = run(engine, frame, quality, types, check_ctx, suite)
    rules: RowRules = validation.rules
    row_labels = {c.label for c in rules.checks}
    _count_rule_only(validation, rules, row_labels)
    if quality.data_docs:
        data_docs.remember(ctx, node.name, validation)
    results = validation.results
    out = OutputCheck("quality", dq_score=dq_score(results))

    failing_errors = [r for r in results if r.severity == "error" and r.status in (FAILED, ERROR)]
    if failing_errors and quality.on_error == "fail":
        out.error = "quality checks failed: " + "; ".join(_describe(r) for r in failing_errors)
    to_quarantine = [
        p.label
        for p, r in zip(validation.prepared, results, strict=True)
        if r.severity == "quarantine" and r.status == FAILED and p.label in row_labels
    ]
    verdict = None
    if quality.gate is not None:
        rules.prefetch([row_checks(validation), to_quarantine])
        verdict = evaluate_gate(rules.rows, validation, quality.gate, check_ctx, rules.failing)
        if not verdict.passed:
            reasons = "; ".join(verdict.reasons)
            if quality.gate.on_fail == "abort":
                gate_error = f"quality gate: {reasons}"
                out.error = f"{out.error}; {gate_error}" if out.error else gate_error
            else:
                log.warning(
                    "node '%s': quality gate failed (%s): %s",
                    node.name,
                    quality.gate.on_fail,
                    reasons,
                )
    quarantined = 0
    if out.error is None:
        # A failed row_count drops nothing: no row is to blame.
        dropping = verdict is not None and not verdict.passed and verdict.dropping
        dropped = set(verdict.row_checks) if verdict is not None and dropping else set()
        if to_quarantine:
            assert quality.quarantine is not None  # enforced at validate time
            quarantined = rules.failing(to_quarantine)
            if quarantined:
                descriptions = {p.label: _reason(p) for p in validation.prepared}
                rows = rejected_rows(
                    ctx, node.name, rules, to_quarantine, quality.quarantine, descriptions
                )
                write_quarantine(ctx, rows, quality.quarantine)
                dropped |= set(to_quarantine)
        if dropped and rules.failing(dropped):
            out.frame = rules.keep(dropped)
    gate_rows = verdict.results() if verdict is not None else []
    out.data = {
        "suite": suite,
        "dq_score": out.dq_score,
        "quarantined": quarantined,
        "gate": verdict.to_dict() if verdict is not None else None,
        "assertions": [r.to_dict() for r in results],
        # The gate's verdicts on the assertions, apart from them: they are not assertions
        # (outside the DQ score and any count of assertions), but meta_quality keeps them.
        "gate_checks": [r.to_dict() for r in gate_rows],
    }
    return out


def _count_rule_only(validation: Validation, rules: RowRules, row_labels: set[str]) -> None:
    """Results of row checks that gave GX nothing to run (a type with only an SQL rule):
    counted by their rule, ``mostly`` applied as GX would."""
    pending = [
        (p, r)
        for p, r in zip(validation.prepared, validation.results, strict=True)
        if p.label in row_labels and r.status != ERROR and not r.expectation_types
    ]
    if not pending:
        return
    rules.prefetch([])
    for item, result in pending:
        failing = rules.failing([item.label])
        result.violation_count, result.element_count = failing, rules.rows
        allowed = 1.0 - (item.config.mostly if item.config.mostly is not None else 1.0)
        if rules.rows and failing / rules.rows > allowed:
            result.status = FAILED


def _reason(item: Prepared) -> str:
    columns = item.kind.columns(item.params) or []
    shown = [c for c in columns if not c.startswith("__odibi_")]
    return f"{item.label} ({', '.join(shown)})" if shown else item.label


def _describe(r: AssertionResult) -> str:
    cols = f"({', '.join(r.columns)})" if r.columns else ""
    if r.status == ERROR:
        return f"{r.name}{cols} could not run: {r.message}"
    if r.table_level and r.message:  # an anomaly check says what it expected
        return f"{r.name}{cols} failed: {r.message}"
    if r.table_level:
        return f"{r.name}{cols} failed (observed {r.observed_value!r})"
    return f"{r.name}{cols} {r.violation_count} of {r.element_count} violate it"


def _recent_rows_out(ctx: RunContext, node: str, days: int) -> list[int]:
    from odibi_core.catalog.query import runs

    since = datetime.now(UTC) - timedelta(days=days)
    rows = runs(ctx.catalog, ctx.pipeline_name, since, status="SUCCESS", scope="node").rows
    return [r["rows_out"] for r in rows if r["node_name"] == node and r["rows_out"] is not None]


def _previous_rows_out(ctx: RunContext, node: str) -> int | None:
    """Rows the node's newest successful run had before its checks dropped any (its
    ``rows_out`` when nothing was dropped), so a steady share of quarantined rows is no
    change. Looks a week back first, then a quarter, then a year, so a daily pipeline reads
    little and a node that never succeeded does not read all history every run."""
    import json

    from odibi_core.catalog import tables
    from odibi_core.catalog.query import scan

    now = datetime.now(UTC)
    for days in (7, 92, 366):
        rows = scan(
            ctx.catalog,
            tables.META_RUNS,
            pipeline=ctx.pipeline_name,
            since=now - timedelta(days=days),
            equals={"scope": "node", "status": "SUCCESS", "node_name": node},
            columns=["timestamp", "rows_out", "metrics_json"],
        ).rows
        rows = [r for r in rows if r["rows_out"] is not None]
        if rows:
            newest = max(rows, key=lambda r: r["timestamp"])
            try:
                before = json.loads(newest["metrics_json"] or "{}").get("rows_before_checks")
            except ValueError:
                before = None
            return int(before if before is not None else newest["rows_out"])
    return None
