"""The telemetry section of a run's story: the trace id and a timing waterfall of its spans."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from odibi_core.story.sections import StorySection

if TYPE_CHECKING:
    from odibi_core.runner.context import RunContext
    from odibi_core.runner.results import NodeResult, PipelineResult

# Plain HTML and inline styles only: the story's CSP allows no scripts and no external assets.
RUN_TEMPLATE = """\
{% set colors = {"SUCCESS": "#2e7d32", "FAILURE": "#c62828", "SKIPPED": "#9e9e9e"} %}
<p class="muted">trace <code>{{ data.trace_id }}</code> · {{ data.spans | length }} spans ·
{% if data.otlp.traces or data.otlp.metrics %}also sent over OTLP
({{ data.otlp.traces or "no traces" }}, {{ data.otlp.metrics or "no metrics" }}){% else %}kept in
the System Catalog (no OTLP endpoint set){% endif %}</p>
{% if data.otlp_note %}<p class="error">telemetry: {{ data.otlp_note }}</p>{% endif %}
<table class="waterfall" style="width:100%">
  <tr><th>span</th><th>start</th><th>duration</th><th style="width:55%">timeline</th></tr>
  {% for name, depth, status, start, ms in data.spans %}
  {% set left = (100 * start / data.duration_ms) | round(2) %}
  {% set width = [100 * ms / data.duration_ms, 0.2] | max | round(2) %}
  <tr>
    <td style="padding-left:{{ 4 + 14 * depth }}px"><code>{{ name }}</code></td>
    <td class="num">+{{ start }} ms</td>
    <td class="num">{{ ms }} ms</td>
    <td><div style="position:relative;height:12px;background:#eeeeee">
      <div title="{{ name }}" style="position:absolute;top:0;height:12px;min-width:1px;
        left:{{ left }}%;width:{{ [width, 100 - left] | min }}%;
        background:{{ '#6a1b9a' if depth == 2 else colors.get(status, '#1565c0') }}">
      </div>
    </div></td>
  </tr>
  {% endfor %}
</table>
"""


def _run(ctx: RunContext) -> Any:
    from odibi_telemetry.plugin import run_of

    return run_of(ctx)


def _collect(ctx: RunContext, result: NodeResult) -> dict[str, Any] | None:
    """Nothing per node: the run's waterfall shows every node (span ids are in meta_runs)."""
    return None


def _run_collect(ctx: RunContext, result: PipelineResult) -> dict[str, Any] | None:
    run = _run(ctx)
    return None if run is None else run.waterfall()


def telemetry_section() -> StorySection:
    return StorySection(
        "telemetry",
        "Trace",
        _collect,
        run_collect=_run_collect,
        run_template=RUN_TEMPLATE,
    )
