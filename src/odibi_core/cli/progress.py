"""The live progress display and the end-of-run summary of ``odibi run``.

The display is an ordinary plugin: it follows the run through the node lifecycle hooks.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from odibi_core import hookimpl
from odibi_core.cli.output import STATUS_STYLE as _STYLE

if TYPE_CHECKING:
    from odibi_core.config.models import NodeConfig
    from odibi_core.runner.context import RunContext
    from odibi_core.runner.results import NodeResult, PipelineResult

T = TypeVar("T")
_STATUSES = ("SUCCESS", "FAILURE", "SKIPPED")


class RunDisplay:
    """Shows each node's state while a run goes; plain lines when not on a terminal."""

    def __init__(self, live: bool):
        self.live_enabled = live
        self.lock = threading.Lock()
        self.rows: dict[tuple[str, str], dict[str, Any]] = {}
        self._live: Any = None

    def wrap(self, run: Callable[[], T]) -> T:
        if not self.live_enabled:
            return run()
        from rich.live import Live

        with Live(self._render(), refresh_per_second=8, transient=False) as live:
            self._live = live
            try:
                return run()
            finally:
                self._live = None

    def _render(self) -> Any:
        from rich.table import Table

        table = Table(box=None, show_header=True, header_style="bold")
        for col in ("pipeline", "node", "status", "time"):
            table.add_column(col)
        now = time.monotonic()
        for (pipeline, node), row in self.rows.items():
            status = row["status"]
            took = row.get("took") or (now - row["t0"] if "t0" in row else None)
            table.add_row(
                pipeline,
                node,
                f"[{_STYLE[status]}]{status}[/]",
                f"{took:.1f}s" if took is not None else "",
            )
        return table

    def _update(self, pipeline: str, node: str, **values: Any) -> None:
        with self.lock:
            self.rows.setdefault((pipeline, node), {}).update(values)
            if self._live is not None:
                self._live.update(self._render())

    @hookimpl
    def odibi_before_pipeline_run(self, ctx: RunContext) -> None:
        if not self.live_enabled:
            print(f"pipeline {ctx.pipeline_name} (run {ctx.run_id})", flush=True)
        for node in ctx.pipeline.nodes:
            self._update(ctx.pipeline_name, node.name, status="PENDING")

    @hookimpl
    def odibi_before_node_run(self, ctx: RunContext, node: NodeConfig) -> None:
        self._update(ctx.pipeline_name, node.name, status="RUNNING", t0=time.monotonic())

    @hookimpl
    def odibi_after_node_run(self, ctx: RunContext, node: NodeConfig, result: NodeResult) -> None:
        self._update(
            ctx.pipeline_name, node.name, status=result.status, took=result.duration_ms / 1000
        )
        if not self.live_enabled:
            note = ""
            if result.error_message:
                note = f": {result.error_message.splitlines()[0]}"
            elif result.skip_reason:
                note = f": {result.skip_reason}"
            if result.warnings:
                note += f" [warning: {'; '.join(result.warnings)}]"
            rows = f" {result.rows_out} rows" if result.rows_out is not None else ""
            print(
                f"  {result.status:<8}{node.name} ({result.duration_ms} ms){rows}{note}", flush=True
            )


def print_summary(results: list[PipelineResult], rich: bool) -> None:
    """The end-of-run table, then each story path, failure and warning on a line of its own."""
    from odibi_core.cli.output import print_table

    rows = []
    for r in results:
        counts = [sum(1 for n in r.nodes.values() if n.status == s) for s in _STATUSES]
        dq = f"{r.dq_score:.1f}" if r.dq_score is not None else ""
        warned = sum(1 for n in r.nodes.values() if n.warnings)
        rows.append(
            [
                r.pipeline,
                r.status,
                *counts,
                r.rows_written,
                f"{r.duration_ms / 1000:.2f}s",
                dq,
                warned or "",
            ]
        )
    header = [
        "pipeline",
        "status",
        "ok",
        "failed",
        "skipped",
        "rows written",
        "duration",
        "DQ",
        "warnings",
    ]
    print_table(header, rows, title="odibi run", rich=rich)
    for r in results:
        if r.story_path:
            print(f"story ({r.pipeline}): {r.story_path}")
        for n in r.failed:
            step = f" ({n.error_step})" if n.error_step else ""
            print(f"FAILURE {r.pipeline}.{n.node}{step}: {n.error_message}")
        for n in r.nodes.values():
            if n.warnings:
                print(f"WARNING {r.pipeline}.{n.node}: {'; '.join(n.warnings)}")
        if r.catalog_error:
            print(f"catalog write failed for {r.pipeline}: {r.catalog_error}")
    sys.stdout.flush()
