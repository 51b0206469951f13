"""Entry point module of ``odibi_telemetry``: the hooks it implements.

Spans and metrics arrive with the telemetry issue; until then it only observes runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from odibi_core import hookimpl

if TYPE_CHECKING:
    from odibi_core.runner.context import RunContext


@hookimpl
def odibi_before_pipeline_run(ctx: RunContext) -> None:
    return None
