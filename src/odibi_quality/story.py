"""The quality section of a run's story."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from odibi_core.story.sections import StorySection

if TYPE_CHECKING:
    from odibi_core.runner.context import RunContext
    from odibi_core.runner.results import NodeResult


def _collect(ctx: RunContext, result: NodeResult) -> dict[str, Any] | None:
    from odibi_quality.data_docs import link_for

    data: dict[str, Any] | None = result.checks.get("quality")
    if data is None:
        return None
    return {**data, "data_docs": link_for(ctx, result.node)}


def quality_section() -> StorySection:
    template = (Path(__file__).parent / "templates" / "quality_section.html.j2").read_text()
    return StorySection("quality", "Data quality", _collect, template)
