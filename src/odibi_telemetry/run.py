"""One pipeline run's telemetry: its spans and metrics, and their delivery.

Each run gets its own ``TracerProvider`` (nothing global is set, so an application embedding
Odibi keeps its own OpenTelemetry setup); the catalog span exporter is always attached, an
OTLP one only when configured. Metric measurements are kept as plain data; at the run's end
they become ``meta_metrics`` rows (one commit) and, when configured, go out over OTLP. OTLP
delivery is awaited for at most the export timeout, spans and metrics concurrently.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from opentelemetry.sdk.resources import OTELResourceDetector, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
from opentelemetry.sdk.trace.sampling import ALWAYS_ON
from opentelemetry.sdk.version import __version__ as sdk_version
from opentelemetry.trace import Span, Status, StatusCode, set_span_in_context

from odibi_core import __version__ as odibi_version
from odibi_core.errors import brief
from odibi_telemetry import attributes as a
from odibi_telemetry import otlp, points
from odibi_telemetry.catalog_export import CatalogSpanExporter, hex_id
from odibi_telemetry.instruments import META_METRICS, metrics_table
from odibi_telemetry.otlp_watch import ExportWatch
from odibi_telemetry.points import Measurement

if TYPE_CHECKING:
    from odibi_core.config.models import NodeConfig
    from odibi_core.runner.checks import OutputCheck
    from odibi_core.runner.context import RunContext
    from odibi_core.runner.results import NodeResult, PipelineResult
    from odibi_telemetry.settings import Settings

log = logging.getLogger("odibi.telemetry")

#: Telemetry catalog writes that failed in this process (each one is also logged).
catalog_write_failures = 0
_failures_lock = threading.Lock()


def _ns(ts: datetime) -> int:
    return int(ts.timestamp() * 1_000_000) * 1000


class RunTelemetry:
    """Spans and metrics of one pipeline run, kept in ``ctx.extras["telemetry"]``."""

    def __init__(self, ctx: RunContext, settings: Settings):
        self.ctx = ctx
        self.settings = settings
        self.catalog_error: str | None = None
        self.otlp_note: str | None = None
        self._otlp_warned = False
        self._otlp_lock = threading.Lock()
        self.otlp_watch = (
            ExportWatch({"spans": settings.traces_otlp, "metrics": settings.metrics_otlp})
            if settings.otlp
            else None
        )
        env_resource = OTELResourceDetector().detect()
        self.env_attributes = dict(env_resource.attributes)
        base = {
            "service.name": "odibi",
            "service.version": odibi_version,
            "telemetry.sdk.language": "python",
            "telemetry.sdk.name": "opentelemetry",
            "telemetry.sdk.version": sdk_version,
            a.PROJECT: ctx.project.project,
        }
        if ctx.environment:
            base["deployment.environment.name"] = ctx.environment
        self.resource = Resource(base).merge(env_resource)  # OTEL_* variables win

        self.spans = CatalogSpanExporter()
        # Always sample: the catalog records every run (one run, one trace), and a trace_id in
        # meta_runs must name spans that exist; OTEL_TRACES_SAMPLER is not applied (sample in
        # the collector, e.g. tail sampling, to send fewer traces on).
        self.tracer_provider = TracerProvider(
            resource=self.resource, sampler=ALWAYS_ON, shutdown_on_exit=False
        )
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.spans))
        if settings.traces_otlp:
            try:
                exporter = otlp.span_exporter(settings.traces_otlp)
                if self.otlp_watch is not None:
                    exporter = self.otlp_watch.wrap(exporter, "spans")
                self.tracer_provider.add_span_processor(BatchSpanProcessor(exporter))
            except ImportError:
                self._warn_otlp(f"OTLP is configured but unavailable: {otlp.INSTALL_HINT}")
        self.tracer = self.tracer_provider.get_tracer("odibi", odibi_version)
        # Metric measurements as plain data until the run ends (see odibi_telemetry.points).
        self.measurements: list[Measurement] = []

        self.base = {a.PIPELINE: ctx.pipeline_name, a.RUN_ID: ctx.run_id}
        self._lock = threading.Lock()
        self.node_spans: dict[str, Span] = {}
        self.span_ids: dict[str, str] = {}
        self.attempts: dict[str, int] = {}
        self.pipeline_span = self.tracer.start_span(
            f"pipeline {ctx.pipeline_name}",
            start_time=_ns(ctx.started_at),
            attributes={
                **self.base,
                a.SCOPE: "pipeline",
                a.PROJECT: ctx.project.project,
                a.ENGINE: ctx.engine.name,
                **({a.ENVIRONMENT: ctx.environment} if ctx.environment else {}),
            },
        )
        # Passed explicitly to every child: node threads never rely on thread-local context.
        self.parent = set_span_in_context(self.pipeline_span)
        self.trace_id = hex_id(self.pipeline_span.get_span_context().trace_id, 32)
        self.finished = False
        self.delivering = False  # metrics delivery started (once per run)
        self.writer: threading.Thread | None = None
        self.deadline = 0.0

    # ------------------------------------------------------------ nodes

    def start_node(self, node: NodeConfig) -> Span:
        span = self.tracer.start_span(
            f"node {node.name}",
            context=self.parent,
            attributes={**self.base, a.NODE: node.name, a.SCOPE: "node", a.ENGINE: self.engine},
        )
        with self._lock:
            self.node_spans[node.name] = span
        return span

    @property
    def engine(self) -> str:
        return str(self.ctx.engine.name)

    def attempt_started(self, node: NodeConfig) -> None:
        with self._lock:
            self.attempts[node.name] = self.attempts.get(node.name, 0) + 1

    def node_error(self, node: NodeConfig, error: BaseException) -> None:
        with self._lock:
            span = self.node_spans.get(node.name)
            attempt = self.attempts.get(node.name, 1)
        if span is not None:
            span.add_event("exception", {**self._exception(error), a.ATTEMPT: attempt})

    def _exception(self, error: BaseException) -> dict[str, str]:
        """The exception's type and scrubbed message (no traceback: it may hold secrets)."""
        detail = getattr(error, "detail", None) or str(error) or type(error).__name__
        return {"exception.type": type(error).__name__, "exception.message": self._scrub(detail)}

    def _scrub(self, text: str) -> str:
        """``text`` without the run's secrets."""
        return self.ctx.scrub(text)

    def end_node(self, span: Span, result: NodeResult | None, error: BaseException | None) -> None:
        if result is not None:
            self._describe(span, result)
            result.metrics["span_id"] = hex_id(span.get_span_context().span_id, 16)
            self.record_node(result)
        if error is not None:
            span.add_event("exception", self._exception(error))
            span.set_status(Status(StatusCode.ERROR, type(error).__name__))
        span.end(end_time=_ns(result.ended_at) if result is not None else None)

    def skipped_node(self, node: NodeConfig, result: NodeResult) -> None:
        span = self.tracer.start_span(
            f"node {node.name}",
            context=self.parent,
            start_time=_ns(result.started_at),
            attributes={**self.base, a.NODE: node.name, a.SCOPE: "node", a.ENGINE: self.engine},
        )
        if result.skip_reason:
            span.set_attribute(a.SKIP_REASON, result.skip_reason)
        self._describe(span, result)
        result.metrics["span_id"] = hex_id(span.get_span_context().span_id, 16)
        span.end(end_time=_ns(result.ended_at))
        self.record_node(result)

    def _describe(self, span: Span, result: NodeResult) -> None:
        attrs: dict[str, Any] = {a.STATUS: result.status, a.ATTEMPT: result.attempt}
        for key, value in (
            (a.ROWS_IN, result.rows_in),
            (a.ROWS_OUT, result.rows_out),
            (a.ROWS_WRITTEN, result.rows_written),
            (a.DQ_SCORE, result.dq_score),
        ):
            if value is not None:
                attrs[key] = value
        span.set_attributes(attrs)
        if result.status == "FAILURE":
            span.set_status(Status(StatusCode.ERROR, result.error_message or result.error_type))
        with self._lock:
            self.span_ids[result.node] = hex_id(span.get_span_context().span_id, 16)

    def _measure(self, key: str, value: float, attrs: dict[str, Any]) -> None:
        with self._lock:
            self.measurements.append((key, value, attrs))

    def record_node(self, result: NodeResult) -> None:
        attrs = {a.PIPELINE: self.ctx.pipeline_name, a.NODE: result.node, a.STATUS: result.status}
        self._measure("node_runs", 1, attrs)
        if result.status == "SKIPPED":
            return
        self._measure("node_duration", result.duration_ms, attrs)
        node_attrs = {a.PIPELINE: self.ctx.pipeline_name, a.NODE: result.node}
        if result.rows_in is not None:
            self._measure("rows_in", result.rows_in, node_attrs)
        if result.rows_out is not None:
            self._measure("rows_out", result.rows_out, node_attrs)
        if result.dq_score is not None:
            self._measure("node_dq", result.dq_score, node_attrs)
        for check, data in result.checks.items():
            assertions = data.get("assertions") if isinstance(data, dict) else None
            for item in assertions or []:
                if not isinstance(item, dict):  # plugins' data: core checks nothing of it
                    continue
                self._measure(
                    "violations",
                    int(item.get("violation_count") or 0),
                    {
                        **node_attrs,
                        a.CHECK: check,
                        a.ASSERTION: str(item.get("name")),
                        a.ASSERTION_TYPE: str(item.get("assertion_type")),
                        a.SEVERITY: str(item.get("severity")),
                        a.STATUS: str(item.get("status")),
                    },
                )

    # ------------------------------------------------------------ output checks

    def end_check(
        self,
        node: NodeConfig,
        plugin: str,
        started_ns: int,
        check: OutputCheck | None,
        error: BaseException | None,
    ) -> None:
        """The check's span, made once it is over and only if the plugin checked something
        (returned an :class:`OutputCheck` or raised): a plugin with nothing to check on a
        node leaves no span and no ``meta_runs`` row."""
        if check is None and error is None:
            return
        with self._lock:
            parent = self.node_spans.get(node.name)
            attempt = self.attempts.get(node.name, 1)
        span = self.tracer.start_span(
            f"check {check.name if check is not None else plugin}",
            context=set_span_in_context(parent) if parent is not None else self.parent,
            start_time=started_ns,
            attributes={
                **self.base,
                a.NODE: node.name,
                a.SCOPE: "check",
                a.CHECK: check.name if check is not None else plugin,
                a.ATTEMPT: attempt,
            },
        )
        if check is not None:
            if check.dq_score is not None:
                span.set_attribute(a.DQ_SCORE, check.dq_score)
            assertions = check.data.get("assertions") if isinstance(check.data, dict) else None
            if isinstance(assertions, list):
                counted = [x for x in assertions if isinstance(x, dict)]
                failed = sum(1 for x in counted if x.get("status") != "passed")
                span.set_attributes({a.ASSERTIONS: len(counted), a.ASSERTIONS_FAILED: failed})
            if check.error:
                message = self._scrub(check.error)
                span.add_event(
                    "exception", {"exception.type": "NodeError", "exception.message": message}
                )
                span.set_status(Status(StatusCode.ERROR, message))
        if error is not None:
            span.add_event("exception", self._exception(error))
            span.set_status(Status(StatusCode.ERROR, type(error).__name__))
        span.end()

    def check_rows(self) -> list[dict[str, Any]]:
        return self.spans.run_rows(
            {
                "run_id": self.ctx.run_id,
                "project": self.ctx.project.project,
                "pipeline_name": self.ctx.pipeline_name,
                "environment": self.ctx.environment,
            }
        )

    # ------------------------------------------------------------ the end of the run

    def finish(self, result: PipelineResult | None, error: BaseException | None = None) -> None:
        """End the pipeline span and start delivering the run's telemetry; with OTLP
        configured, wait for it at most the export timeout. Never raises."""
        if self.finished:
            return
        self.finished = True
        self.deadline = time.monotonic() + self.settings.timeout_s + 1.0
        try:
            span = self.pipeline_span
            if result is not None:
                attrs: dict[str, Any] = {
                    a.STATUS: result.status,
                    a.ROWS_WRITTEN: result.rows_written,
                }
                if result.dq_score is not None:
                    attrs[a.DQ_SCORE] = result.dq_score
                span.set_attributes(attrs)
                if result.status == "FAILURE":
                    failed = ", ".join(n.node for n in result.failed)
                    span.set_status(Status(StatusCode.ERROR, f"node(s) failed: {failed}"))
            if error is not None:
                span.add_event("exception", self._exception(error))
                span.set_status(Status(StatusCode.ERROR, type(error).__name__))
            span.end()
            if not self.delivering:  # the run ended before its result was final (an error)
                self._deliver(result, error)
        except Exception as exc:  # telemetry never fails a run
            log.warning("telemetry: could not finish the run's telemetry: %s", exc)
        self._shutdown_spans()
        if self.settings.metrics_otlp:
            self.wait()  # OTLP delivery is bounded by the deadline
        problem = self.otlp_watch.problem() if self.otlp_watch is not None else None
        if problem:
            self._warn_otlp(problem)

    def _warn_otlp(self, message: str) -> None:
        """One warning per run about OTLP export, the first thing that went wrong (a failed
        export, or one that did not finish in time), however many exports there were."""
        with self._otlp_lock:
            if self._otlp_warned:
                return
            self._otlp_warned = True
        self.otlp_note = message
        log.warning("telemetry: %s", message)

    def run_finished(self, result: PipelineResult) -> None:
        """The run's result is final, so its measurements are complete: deliver the metrics
        now. Their ``meta_metrics`` commit then runs beside the runner's own commits (both
        mostly outside the GIL) rather than beside the story, whose Python work and a
        commit's thread slow each other down (measured: ~4 ms less a run)."""
        if not self.delivering:
            self._deliver(result, None)

    def _deliver(self, result: PipelineResult | None, error: BaseException | None) -> None:
        """Measure the run as a whole, then start delivering the metrics on their own thread
        (the ``meta_metrics`` commit, its maintenance check, any OTLP export); ``wait`` joins
        it."""
        self.delivering = True
        labels = {a.PIPELINE: self.ctx.pipeline_name}
        if result is not None:
            status = {**labels, a.STATUS: result.status}
            self._measure("pipeline_runs", 1, status)
            self._measure("pipeline_duration", result.duration_ms, status)
            if result.dq_score is not None:
                self._measure("pipeline_dq", result.dq_score, labels)
        if error is not None:
            self._measure("pipeline_runs", 1, {**labels, a.STATUS: "FAILURE"})
        self.writer = threading.Thread(
            target=self._deliver_metrics,
            args=(result is not None and result.status == "SUCCESS",),
            name="odibi-telemetry-metrics",
        )
        self.writer.start()

    def _deliver_metrics(self, succeeded: bool) -> None:
        with self._lock:
            measurements, self.measurements = self.measurements, []
        try:
            rows = points.rows(
                self.ctx.run_id,
                self.ctx.pipeline_name,
                measurements,
                self.env_attributes,
                datetime.now(UTC),
            )
            self._write_metrics(rows, succeeded)
        except Exception as exc:  # telemetry never fails a run
            log.warning(
                "telemetry: metrics of the run were not written: %s", self._scrub(brief(exc))
            )
        if not self.settings.metrics_otlp:
            return
        try:
            from odibi_telemetry.otlp_metrics import export

            export(
                self.settings.metrics_otlp,
                self.resource,
                measurements,
                self.settings.timeout_s,
                self.otlp_watch,
            )
        except ImportError:
            self._warn_otlp(f"OTLP is configured but unavailable: {otlp.INSTALL_HINT}")
        except Exception as exc:
            where = self.otlp_watch.where(["metrics"]) if self.otlp_watch else "OTLP"
            self._warn_otlp(f"metrics of the run were not exported to {where}: {brief(exc)}")

    def _write_metrics(self, rows: list[dict[str, Any]], succeeded: bool) -> None:
        global catalog_write_failures
        if not rows:
            return
        catalog = self.ctx.catalog
        try:
            catalog.append(metrics_table().rows(rows))
        except Exception as exc:
            with _failures_lock:
                catalog_write_failures += 1
            self.catalog_error = self._scrub(brief(exc))
            log.warning(
                "telemetry: %d metric points not written to %s (%s); the run is unaffected",
                len(rows),
                META_METRICS,
                self.catalog_error,
            )
            return
        # Maintained like the runner maintains its own tables: after successful runs, when a
        # threshold is crossed (after_run never raises).
        if succeeded and catalog.maintenance.enabled:
            from odibi_core.catalog.maintenance import after_run

            after_run(catalog, {META_METRICS: [self.ctx.pipeline_name]})

    def wait(self) -> None:
        """Wait for the run's metrics delivery (started by ``run_finished``, or by
        :meth:`finish`): to its end when only the catalog receives them (a local commit), else
        at most until the OTLP deadline."""
        writer = self.writer
        if writer is None:
            return
        bound = max(0.0, self.deadline - time.monotonic()) if self.settings.metrics_otlp else None
        writer.join(bound)
        self.writer = None  # waited once: a second wait (after the story) must not warn again
        if writer.is_alive():
            self._warn_otlp(self._late())

    def _shutdown_spans(self) -> None:
        """Shut the tracer provider down; OTLP span delivery waits at most the timeout."""
        if not self.settings.traces_otlp:
            self.tracer_provider.shutdown()
            return
        worker = threading.Thread(
            target=self.tracer_provider.shutdown, name="odibi-otlp-spans", daemon=True
        )
        worker.start()
        worker.join(max(0.0, self.deadline - time.monotonic()))
        if worker.is_alive():
            self._warn_otlp(self._late())

    def _late(self) -> str:
        where = self.otlp_watch.where() if self.otlp_watch is not None else "OTLP"
        return (
            f"OTLP export to {where} did not finish within {self.settings.timeout_s:g} s; "
            "the rest of this run's telemetry is dropped (the catalog has it)"
        )

    # ------------------------------------------------------------ the story

    def waterfall(self) -> dict[str, Any]:
        """The run's finished spans for the story, compactly (a 200-node story must stay
        small): ``[name, depth, status, start_ms, duration_ms]`` each, depth 0
        for the pipeline, 1 for nodes, 2 for checks; times relative to the pipeline's start."""
        spans = sorted(self.spans.finished(), key=lambda s: s.start_time or 0)
        t0 = getattr(self.pipeline_span, "start_time", None) or 0
        t1 = max([s.end_time or 0 for s in spans] + [t0 + 1])
        depth = {"pipeline": 0, "node": 1, "check": 2}
        rows = []
        for span in spans:
            attrs = span.attributes or {}
            start, end = span.start_time or t0, span.end_time or t1
            failed = span.status.status_code is StatusCode.ERROR
            rows.append(
                [
                    span.name,
                    depth.get(str(attrs.get(a.SCOPE)), 1),
                    attrs.get(a.STATUS) or ("FAILURE" if failed else "SUCCESS"),
                    round((start - t0) / 1e6, 1),
                    round((end - start) / 1e6, 1),
                ]
            )
        return {
            "trace_id": self.trace_id,
            "duration_ms": max(round((t1 - t0) / 1e6, 1), 0.1),
            "spans": rows,
            "otlp": {"traces": self.settings.traces_otlp, "metrics": self.settings.metrics_otlp},
            "otlp_note": self.otlp_note,
        }
