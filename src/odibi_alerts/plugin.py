"""Entry point module of ``odibi_alerts``: the lifecycle hooks that turn a run into alerts.

``on_start`` goes out when the run begins; a node's quality events (quarantine, a failed
gate, a breached threshold) as soon as the node is done; ``on_success``/``on_failure`` once
the story is written, so the alert can name it. The run's end then waits for delivery a
bounded time (``ODIBI_ALERTS_TIMEOUT``, 5 s by default)."""

from __future__ import annotations

import logging
from collections.abc import Generator
from typing import TYPE_CHECKING, Any

from odibi_core import hookimpl

if TYPE_CHECKING:
    from odibi_alerts.delivery import Outbox
    from odibi_core.config.models import NodeConfig
    from odibi_core.runner.context import RunContext
    from odibi_core.runner.results import NodeResult, PipelineResult

log = logging.getLogger("odibi.alerts")
KEY = "alerts"  # ctx.extras[KEY]: this run's Outbox


def _outbox(ctx: RunContext) -> Outbox | None:
    if not ctx.project.alerts or ctx.options.dry_run:
        return None
    found: Outbox | None = ctx.extras.get(KEY)
    if found is None:
        from odibi_alerts.delivery import Outbox

        found = ctx.extras[KEY] = Outbox(ctx.project.alerts, ctx.secrets.scrub_data)
    return found


def _safely(what: str, func: Any, *args: Any) -> None:
    try:
        func(*args)
    except Exception as exc:  # alerts never fail a run
        log.warning("alerts: %s failed: %s: %s", what, type(exc).__name__, exc)


@hookimpl(wrapper=True)
def odibi_run_pipeline(ctx: RunContext) -> Generator[None, PipelineResult, PipelineResult]:
    try:
        return (yield)
    except BaseException as exc:
        # The run raised instead of finishing: say so, then let the error go on.
        outbox = _outbox(ctx)
        if outbox is not None and isinstance(exc, Exception):
            from odibi_alerts import events

            def send(error: Exception) -> None:
                outbox.emit(events.crashed(ctx, error))

            _safely("on_failure", send, exc)
            _safely("delivery", outbox.close)
        raise


@hookimpl
def odibi_before_pipeline_run(ctx: RunContext) -> None:
    outbox = _outbox(ctx)
    if outbox is not None:
        from odibi_alerts import events

        _safely("on_start", lambda: outbox.emit(events.start(ctx)))


@hookimpl
def odibi_after_node_run(ctx: RunContext, node: NodeConfig, result: NodeResult) -> None:
    outbox = _outbox(ctx)
    if outbox is not None and result.checks.get("quality"):
        from odibi_alerts import events

        def send() -> None:
            for alert in events.for_node(ctx, node, result):
                outbox.emit(alert)

        _safely("quality alerts", send)


@hookimpl
def odibi_after_pipeline_run(ctx: RunContext, result: PipelineResult) -> None:
    outbox = _outbox(ctx)
    if outbox is not None:
        from odibi_alerts import events

        _safely("outcome alert", lambda: outbox.emit(events.outcome(ctx, result)))
        _safely("delivery", outbox.close)
