"""Entry point module of ``odibi_quality``: the hooks that join it to the core."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from odibi_core import hookimpl
from odibi_quality.builtin_types import BUILTIN_TYPES
from odibi_quality.config import QualityConfig, from_node

if TYPE_CHECKING:
    from odibi_core.config.models import NodeConfig
    from odibi_core.runner.checks import OutputCheck
    from odibi_core.runner.context import RunContext
    from odibi_core.runner.results import PipelineResult
    from odibi_core.story.sections import StorySection
    from odibi_quality.types import AssertionType


@hookimpl
def odibi_register_assertion_types() -> list[AssertionType]:
    return list(BUILTIN_TYPES)


def _types() -> dict[str, AssertionType]:
    from odibi_core.plugin_manager import get_plugin_manager

    return dict(get_plugin_manager().registry.assertion_types)


@hookimpl
def odibi_validate_node(node: dict[str, Any], engine: str) -> list[tuple[tuple[Any, ...], str]]:
    data, origins = from_node(node)
    if data is None:
        return []
    problems: list[tuple[tuple[Any, ...], str]] = []
    try:
        quality = QualityConfig.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors(include_url=False):
            loc = tuple(err["loc"])
            where = (
                origins[loc[1]] + loc[2:]
                if loc[:1] == ("assertions",)
                and len(loc) > 1
                and isinstance(loc[1], int)
                and loc[1] < len(origins)
                else ("quality", *loc)
            )
            problems.append((where, _message(err)))
        return problems
    types = _types()
    for i, assertion in enumerate(quality.assertions):
        at = origins[i] if i < len(origins) else ("quality", "assertions", i)
        kind = types.get(assertion.type)
        if kind is None:
            from odibi_core.config.errors import did_you_mean

            problems.append(
                (
                    (*at, "type"),
                    f"unknown assertion type '{assertion.type}'"
                    + did_you_mean(assertion.type, types)
                    + f"; installed: {', '.join(sorted(types))}",
                )
            )
            continue
        try:
            kind.params_model.model_validate(assertion.params())
        except ValidationError as exc:
            for err in exc.errors(include_url=False):
                problems.append(((*at, *err["loc"]), f"{assertion.type}: {_message(err)}"))
        if assertion.severity == "quarantine":
            if kind.failing_rows is None:
                problems.append(
                    (
                        (*at, "severity"),
                        f"'{assertion.type}' checks the table as a "
                        "whole, so it cannot quarantine rows",
                    )
                )
            elif quality.quarantine is None:
                problems.append(
                    (
                        (*at, "severity"),
                        "severity quarantine needs a quarantine "
                        "target (quality.quarantine: {connection, path})",
                    )
                )
    return problems


def _message(err: Any) -> str:
    msg = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        return f"unknown key '{err['loc'][-1]}'"
    if err["type"] == "missing":
        return f"missing required key '{err['loc'][-1]}'"
    return msg


@hookimpl
def odibi_check_node_output(ctx: RunContext, node: NodeConfig, frame: Any) -> OutputCheck | None:
    data, _ = from_node(node.model_dump(include={"quality", "validation", "contracts"}))
    if data is None:
        return None
    from odibi_quality.check import check_node

    return check_node(ctx, node, frame, QualityConfig.model_validate(data), _types())


@hookimpl
def odibi_after_pipeline_run(ctx: RunContext, result: PipelineResult) -> None:
    from odibi_quality.data_docs import build

    build(ctx, result)


@hookimpl
def odibi_register_story_sections() -> list[StorySection]:
    from odibi_quality.story import quality_section

    return [quality_section()]
