"""Entry point module of ``odibi_telemetry``: the hooks it implements.

The wrapper hooks open a span around the pipeline run, each node and each output check; the
lifecycle hooks add errors, skipped nodes and the check spans' ``meta_runs`` rows. Nothing
from OpenTelemetry is imported until a run starts with telemetry enabled.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Generator
from typing import TYPE_CHECKING, Any

from odibi_core import hookimpl
from odibi_telemetry.story import telemetry_section

if TYPE_CHECKING:
    from odibi_core.catalog.rows import CatalogRows
    from odibi_core.config.models import NodeConfig
    from odibi_core.runner.checks import OutputCheck
    from odibi_core.runner.context import RunContext
    from odibi_core.runner.node import NodeOutcome
    from odibi_core.runner.results import NodeResult, PipelineResult
    from odibi_core.story.sections import StorySection
    from odibi_telemetry.run import RunTelemetry

log = logging.getLogger("odibi.telemetry")
KEY = "telemetry"  # ctx.extras[KEY]: this run's RunTelemetry


def run_of(ctx: RunContext) -> RunTelemetry | None:
    found: RunTelemetry | None = ctx.extras.get(KEY)
    return found


def _start(ctx: RunContext) -> RunTelemetry | None:
    from odibi_telemetry.settings import from_env

    settings = from_env()
    if settings.disabled:
        return None
    try:
        from odibi_telemetry.run import RunTelemetry

        run = RunTelemetry(ctx, settings)
    except Exception as exc:  # telemetry never fails a run
        log.warning("telemetry: off for this run: %s", exc)
        return None
    ctx.extras[KEY] = run
    ctx.extras["trace_id"] = run.trace_id
    return run


def _safely(what: str, func: Any, *args: Any) -> Any:
    try:
        return func(*args)
    except Exception as exc:
        log.warning("telemetry: %s failed: %s", what, exc)
        return None


@hookimpl(wrapper=True)
def odibi_run_pipeline(ctx: RunContext) -> Generator[None, PipelineResult, PipelineResult]:
    run = _start(ctx)
    try:
        result = yield
    except BaseException as exc:
        if run is not None:
            run.finish(None, exc)
        raise
    if run is not None:
        run.finish(result)
        if not ctx.project.story.auto_generate:
            run.wait()  # no story to overlap with
    return result


@hookimpl(wrapper=True)
def odibi_run_node(ctx: RunContext, node: NodeConfig) -> Generator[None, NodeOutcome, NodeOutcome]:
    run = run_of(ctx)
    span = _safely("node span", run.start_node, node) if run else None
    try:
        outcome = yield
    except BaseException as exc:
        if run and span:
            _safely("node span", run.end_node, span, None, exc)
        raise
    if run and span:
        _safely("node span", run.end_node, span, outcome.result, None)
    return outcome


@hookimpl(wrapper=True)
def odibi_run_output_check(
    ctx: RunContext, node: NodeConfig, plugin: str
) -> Generator[None, OutputCheck | None, OutputCheck | None]:
    run = run_of(ctx)
    started = time.time_ns()
    try:
        check = yield
    except BaseException as exc:
        if run:
            _safely("check span", run.end_check, node, plugin, started, None, exc)
        raise
    if run:
        _safely("check span", run.end_check, node, plugin, started, check, None)
    return check


@hookimpl
def odibi_before_node_run(ctx: RunContext, node: NodeConfig) -> None:
    run = run_of(ctx)
    if run:
        _safely("attempt count", run.attempt_started, node)


@hookimpl
def odibi_on_node_error(ctx: RunContext, node: NodeConfig, error: BaseException) -> None:
    run = run_of(ctx)
    if run:
        _safely("error event", run.node_error, node, error)


@hookimpl
def odibi_after_node_run(ctx: RunContext, node: NodeConfig, result: NodeResult) -> None:
    run = run_of(ctx)
    if run and result.status == "SKIPPED":  # executed nodes are ended by odibi_run_node
        _safely("skipped node span", run.skipped_node, node, result)


@hookimpl
def odibi_pipeline_finished(ctx: RunContext, result: PipelineResult) -> None:
    """The run's measurements are complete: its metrics start on their way to
    ``meta_metrics``, beside the runner's own catalog commits."""
    run = run_of(ctx)
    if run:
        _safely("metrics delivery", run.run_finished, result)


@hookimpl
def odibi_catalog_rows(ctx: RunContext, result: PipelineResult) -> list[CatalogRows] | None:
    """Check spans become ``meta_runs`` rows in the runner's own commit for the run."""
    run = run_of(ctx)
    rows = _safely("check span rows", run.check_rows) if run else None
    if not rows:
        return None
    from odibi_core.catalog.rows import CatalogRows

    return [CatalogRows("meta_runs", rows)]


@hookimpl
def odibi_after_pipeline_run(ctx: RunContext, result: PipelineResult) -> None:
    run = run_of(ctx)
    if run:
        _safely("meta_metrics write", run.wait)


@hookimpl
def odibi_register_story_sections() -> list[StorySection]:
    return [telemetry_section()]


@hookimpl
def odibi_register_catalog_tables() -> list[Any]:
    from odibi_telemetry.instruments import metrics_table

    return [metrics_table()]
