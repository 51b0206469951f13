"""Entry point module of ``odibi_quality``: the hooks that join it to the core."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from odibi_core import hookimpl
from odibi_quality.builtin_types import BUILTIN_TYPES
from odibi_quality.config import (
    AssertionConfig,
    QualityConfig,
    block_origin,
    from_node,
    shape_problems,
)

if TYPE_CHECKING:
    from odibi_core.config.models import NodeConfig
    from odibi_core.plugin_manager import Registry
    from odibi_core.runner.checks import OutputCheck
    from odibi_core.runner.context import RunContext
    from odibi_core.runner.results import PipelineResult
    from odibi_core.story.sections import StorySection
    from odibi_quality.types import AssertionType


@hookimpl
def odibi_register_assertion_types() -> list[AssertionType]:
    return list(BUILTIN_TYPES)


@hookimpl
def odibi_validate_node(
    node: dict[str, Any], engine: str, registry: Registry
) -> list[tuple[tuple[Any, ...], str]]:
    shapes = shape_problems(node)
    data, origins = from_node(node)
    if data is None:
        return shapes
    from odibi_quality.gate import config_problems

    types = dict(registry.assertion_types)
    gate_at = block_origin(node, "gate")
    problems = shapes + [((*gate_at, *rel), msg) for rel, msg in config_problems(data, types)]
    try:
        QualityConfig.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors(include_url=False):
            loc = tuple(err["loc"])
            if (
                loc[:1] == ("assertions",)
                and len(loc) > 1
                and isinstance(loc[1], int)
                and loc[1] < len(origins)
            ):
                where = origins[loc[1]] + loc[2:]
            elif loc[:1] in (("gate",), ("quarantine",)):
                where = block_origin(node, str(loc[0])) + loc[1:]
            else:
                where = ("quality", *loc)
            message = _message(err, QualityConfig)
            if loc[:1] == ("gate",):  # name the key: gate errors come from several levels
                key = loc[-1] if err["type"] not in ("extra_forbidden", "missing") else None
                key = None if key == "gate" else key  # the gate itself: not "gate: gate:"
                message = f"gate: {key}: {message}" if isinstance(key, str) else f"gate: {message}"
            problems.append((where, message))
    # Each assertion's type and params too, even when another key is wrong: one pass.
    for i, raw in enumerate(data.get("assertions") or []):
        try:
            assertion = AssertionConfig.model_validate(raw)
        except ValidationError:
            continue  # reported above
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
                problems.append(
                    ((*at, *err["loc"]), f"{assertion.type}: {_message(err, kind.params_model)}")
                )
        masked_only = kind.rule is None and kind.failing_rows is not None
        drops_rows = assertion.severity == "quarantine" or bool(data.get("gate"))
        if engine == "spark" and masked_only and drops_rows:
            # Its rows are told by a pandas mask: a gate or quarantine on Spark cannot use it.
            problems.append(
                (
                    (*at, "type"),
                    f"'{assertion.type}' tells its failing rows only on pandas and polars "
                    "(it has no SQL rule), so a gate or quarantine cannot use it on spark",
                )
            )
            continue
        if assertion.severity == "quarantine":
            if not kind.row_level:
                problems.append(
                    (
                        (*at, "severity"),
                        f"'{assertion.type}' checks the table as a "
                        "whole, so it cannot quarantine rows",
                    )
                )
            elif not isinstance(data.get("quarantine"), dict):
                problems.append(
                    (
                        (*at, "severity"),
                        "severity quarantine needs a quarantine "
                        "target (quality.quarantine: {connection, path})",
                    )
                )
    return problems


def _message(err: Any, model: type[BaseModel] | None = None) -> str:
    msg = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        key = err["loc"][-1]
        fields = _fields_at(model, tuple(err["loc"][:-1])) if model is not None else []
        return f"unknown key '{key}'" + _did_you_mean(str(key), fields)
    if err["type"] == "missing":
        return f"missing required key '{err['loc'][-1]}'"
    return msg


def _did_you_mean(word: str, choices: list[str]) -> str:
    from odibi_core.config.errors import did_you_mean

    return did_you_mean(word, choices) + (f"; valid: {', '.join(choices)}" if choices else "")


def _fields_at(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The field names of the model found by following ``loc`` (skipping list positions)
    from ``model``; none where ``loc`` leads to something that is not a model."""
    current: Any = model
    for key in loc:
        if isinstance(key, int):
            continue
        fields = getattr(current, "model_fields", None)
        if not fields or key not in fields:
            return []
        current = _model_in(fields[key].annotation)
        if current is None:
            return []
    fields = getattr(current, "model_fields", None)
    # As a user writes them: Odibi's `_rejection_reason`, not the field behind it.
    return [f.alias or name for name, f in fields.items()] if fields else []


def _model_in(annotation: Any) -> Any:
    """The pydantic model inside ``X``, ``X | None`` or ``list[X]``, else None."""
    import typing

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


@hookimpl
def odibi_check_node_output(ctx: RunContext, node: NodeConfig, frame: Any) -> OutputCheck | None:
    data, _ = from_node(node.model_dump(include={"quality", "validation", "contracts"}))
    if data is None:
        return None
    from odibi_quality.check import check_node

    # The run's own plugin manager: a project run with a private one may have types the
    # process-wide manager lacks.
    types = dict(ctx.plugins.registry.assertion_types)
    return check_node(ctx, node, frame, QualityConfig.model_validate(data), types)


@hookimpl
def odibi_after_pipeline_run(ctx: RunContext, result: PipelineResult) -> None:
    from odibi_quality.data_docs import build

    build(ctx, result)


@hookimpl
def odibi_register_story_sections() -> list[StorySection]:
    from odibi_quality.story import quality_section

    return [quality_section()]


@hookimpl
def odibi_config_schema() -> dict[str, dict[str, Any]]:
    """The ``quality`` block for editors: its keys, and each assertion's ``type`` one of the
    registered types with that type's own params (``validation``/``contracts``, Odibi's
    spellings, are left open)."""
    schema = QualityConfig.model_json_schema(ref_template="#/$defs/quality.{model}")
    defs = schema.pop("$defs", {})
    types = _types()
    item = defs["AssertionConfig"]
    item["properties"]["type"] = {"type": "string", "enum": sorted(types)}
    item["allOf"] = [
        {
            "if": {"properties": {"type": {"const": name}}, "required": ["type"]},
            "then": {"properties": _params_properties(kind.params_model)},
        }
        for name, kind in sorted(types.items())
    ]
    schema["properties"] = {k: _inline(v, defs) for k, v in schema.get("properties", {}).items()}
    return {"node": {"quality": schema}}


def _params_properties(model: type[BaseModel]) -> dict[str, Any]:
    """Property names and descriptions of an assertion type's params, for completion (types
    are left to ``odibi validate``: many params accept more than one shape)."""
    return {
        info.alias or name: {"description": info.description} if info.description else {}
        for name, info in model.model_fields.items()
    }


def _inline(node: Any, defs: dict[str, Any]) -> Any:
    """``node`` with its ``$ref``s to ``defs`` replaced by their content (the fragment is
    placed inside another schema, whose ``$defs`` it cannot add to)."""
    if isinstance(node, list):
        return [_inline(n, defs) for n in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref", "")
    if ref.startswith("#/$defs/quality."):
        return _inline(defs[ref.removeprefix("#/$defs/quality.")], defs)
    return {k: _inline(v, defs) for k, v in node.items()}


def _types() -> dict[str, AssertionType]:
    """The registered assertion types, for the schema hook: ``odibi schema`` describes what
    the process-wide plugin manager registered (runs use their own manager's registry)."""
    from odibi_core.plugin_manager import get_plugin_manager

    return dict(get_plugin_manager().registry.assertion_types)


@hookimpl
def odibi_before_pipeline_run(ctx: RunContext) -> None:
    # Most checks are measured in SQL. GX is imported only for the types that need it, or
    # for Data Docs: begin that import now, while data loads.
    if any(n.enabled and _needs_gx(ctx, n) for n in ctx.pipeline.nodes):
        from odibi_quality import gx_runner

        gx_runner.start_background_import()


def _needs_gx(ctx: RunContext, node: NodeConfig) -> bool:
    if not (node.quality or node.validation or node.contracts):
        return False
    data, _ = from_node(node.model_dump(include={"quality", "validation", "contracts"}))
    if data is None:
        return False
    try:
        quality = QualityConfig.model_validate(data)
    except ValueError:
        return False  # the node reports it
    types = ctx.plugins.registry.assertion_types
    return quality.data_docs or any(
        getattr(types.get(a.type), "measure", None) is None for a in quality.assertions
    )
