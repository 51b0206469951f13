"""The quality section of a run's story."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from odibi_core.story.sections import StorySection

if TYPE_CHECKING:
    from odibi_core.runner.context import RunContext
    from odibi_core.runner.results import NodeResult, PipelineResult


def _collect(ctx: RunContext, result: NodeResult) -> dict[str, Any] | None:
    from odibi_quality.data_docs import link_for

    data: dict[str, Any] | None = result.checks.get("quality")
    if data is None:
        return None
    return {**data, "data_docs": link_for(ctx, result.node)}


def _collect_run(ctx: RunContext, result: PipelineResult) -> dict[str, Any] | None:
    """The run's quality at a glance: checked nodes, failures by severity, Data Docs."""
    from odibi_quality.data_docs import index_link

    checked = {
        name: res.checks["quality"] for name, res in result.nodes.items() if "quality" in res.checks
    }
    if not checked:
        return None
    assertions = [a for data in checked.values() for a in data.get("assertions", [])]
    failing = [a for a in assertions if a.get("status") != "passed"]
    gates = {name: data["gate"] for name, data in checked.items() if data.get("gate")}
    return {
        "dq_score": result.dq_score,
        "nodes_checked": len(checked),
        "assertions": len(assertions),
        "failed": len(failing),
        "failed_by_severity": {
            sev: sum(1 for a in failing if a.get("severity") == sev)
            for sev in ("error", "warn", "quarantine")
        },
        "gates_failed": sorted(name for name, gate in gates.items() if not gate.get("passed")),
        "gates": len(gates),
        "data_docs": index_link(ctx),
    }


def quality_section() -> StorySection:
    folder = Path(__file__).parent / "templates"
    return StorySection(
        "quality",
        "Data quality",
        _collect,
        (folder / "quality_section.html.j2").read_text(),
        run_collect=_collect_run,
        run_template=(folder / "quality_run_section.html.j2").read_text(),
    )
