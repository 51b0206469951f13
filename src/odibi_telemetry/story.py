"""The telemetry section of a run's story: the trace id and a timing waterfall of its spans."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from odibi_core.story.sections import StorySection

if TYPE_CHECKING:
    from odibi_core.runner.context import RunContext
    from odibi_core.runner.results import PipelineResult


def _run(ctx: RunContext) -> Any:
    from odibi_telemetry.plugin import run_of

    return run_of(ctx)


def _run_collect(ctx: RunContext, result: PipelineResult) -> dict[str, Any] | None:
    run = _run(ctx)
    return None if run is None else run.waterfall()


def telemetry_section() -> StorySection:
    # Run-level only: the waterfall shows every node (their span ids are in meta_runs).
    template = (Path(__file__).parent / "templates" / "trace_section.html.j2").read_text()
    return StorySection("telemetry", "Trace", run_collect=_run_collect, run_template=template)
