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
    """A plugin's part of a run's story.

    ``collect(ctx, node_result)`` returns JSON-safe data for one node (or None to add nothing);
    ``template`` is a Jinja2 fragment rendered in that node's HTML with the data bound to
    ``data``. ``run_collect(ctx, pipeline_result)`` and ``run_template`` do the same once per
    run, shown near the top of the page (e.g. a link to the run's GX Data Docs).
    """

    name: str
    title: str
    collect: Callable[[RunContext, NodeResult], dict[str, Any] | None] | None = None
    template: str = "<pre>{{ data | tojson(indent=2) }}</pre>"
    run_collect: Callable[[RunContext, PipelineResult], dict[str, Any] | None] | None = None
    run_template: str = "<pre>{{ data | tojson(indent=2) }}</pre>"
