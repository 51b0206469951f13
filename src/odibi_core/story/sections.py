"""Story sections: how plugins add their part to each node of a run's story."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from odibi_core.runner.context import RunContext
    from odibi_core.runner.results import NodeResult, PipelineResult


@dataclass(frozen=True)
class StorySection:
    """``collect(ctx, node_result)`` returns JSON-safe data for the story (or None to add
    nothing); ``template`` is a Jinja2 fragment rendered in the node's HTML with that data
    bound to ``data``.

    Optionally a section also describes the whole run: ``run_collect(ctx, pipeline_result)``
    returns JSON-safe data kept under ``sections[name]`` at the top level of the story JSON
    (or None), and ``run_template`` renders it once near the top of the run's page."""

    name: str
    title: str
    collect: Callable[[RunContext, NodeResult], dict[str, Any] | None]
    template: str = "<pre>{{ data | tojson(indent=2) }}</pre>"
    run_collect: Callable[[RunContext, PipelineResult], dict[str, Any] | None] | None = None
    run_template: str = "<pre>{{ data | tojson(indent=2) }}</pre>"
