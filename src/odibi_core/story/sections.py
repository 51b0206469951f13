"""Story sections: how plugins add their part to each node of a run's story."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from odibi_core.runner.context import RunContext
    from odibi_core.runner.results import NodeResult


@dataclass(frozen=True)
class StorySection:
    """``collect(ctx, node_result)`` returns JSON-safe data for the story (or None to add
    nothing); ``template`` is a Jinja2 fragment rendered in the node's HTML with that data
    bound to ``data``."""

    name: str
    title: str
    collect: Callable[[RunContext, NodeResult], dict[str, Any] | None]
    template: str = "<pre>{{ data | tojson(indent=2) }}</pre>"
