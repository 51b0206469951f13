"""A JSON Schema of the project file, for editors' YAML language servers: generated from the
pydantic models that validate it, the registered connection types' and transforms' models,
and what plugins say of the node keys they own (``odibi_config_schema``).

It is as strict as those models, except where a model rewrites its input before validating
it (Odibi's alternative spellings, a single value for a list): there it names the keys, for
completion, but does not reject what the model would accept. ``${...}`` substitutions are
accepted wherever a number, a boolean or one of fixed values is expected. ``odibi validate``
stays the judge.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, models_json_schema

_SUBSTITUTION = {"type": "string", "pattern": r"\$\{[^}]+\}"}
_CONNECTION = "ConnectionConfig"


class _Lenient(GenerateJsonSchema):
    def model_schema(self, schema: Any) -> Any:
        js = super().model_schema(schema)
        cls = schema.get("cls")
        target = _object(js, self)
        if cls is None or target is None:
            return js
        decorators = cls.__pydantic_decorators__
        if any(d.info.mode in ("before", "wrap") for d in decorators.model_validators.values()):
            for key in ("type", "additionalProperties", "required"):
                target.pop(key, None)
        loose = {
            f
            for d in decorators.field_validators.values()
            if d.info.mode in ("before", "wrap", "plain")
            for f in d.info.fields
        }
        props = target.get("properties", {})
        for name, info in cls.model_fields.items():
            key = info.alias or name
            if name in loose and key in props:
                props[key] = {k: v for k, v in props[key].items() if k in _KEEP}
        return js


_KEEP = ("title", "description", "default")


def _object(js: dict[str, Any], gen: GenerateJsonSchema) -> dict[str, Any] | None:
    if "properties" in js:
        return js
    ref = js.get("$ref")
    if ref:
        found = gen.definitions.get(ref.split("/")[-1])
        return found if found and "properties" in found else None
    return None


def project_schema(
    registry: Any, plugin_keys: list[dict[str, Any]], transformers: bool = True
) -> dict[str, Any]:
    """The schema; ``transformers=False`` leaves out each transformer's params."""
    from odibi_core.config.models import ProjectConfig

    connections = {n: c.config_model for n, c in sorted(registry.connection_types.items())}
    params: dict[str, type[BaseModel]] = {}
    for (name, _engine), t in sorted(registry.transforms.items()):
        if t.params_model is not None and transformers:
            params.setdefault(name, t.params_model)
    models = _unique([ProjectConfig, *connections.values(), *params.values()])
    refs, top = models_json_schema(
        [(m, "validation") for m in models],
        ref_template="#/$defs/{model}",
        schema_generator=_Lenient,
    )
    defs: dict[str, Any] = top.get("$defs", {})

    def ref(model: type[BaseModel]) -> dict[str, Any]:
        return dict(refs[(model, "validation")])

    def body(model: type[BaseModel]) -> dict[str, Any]:
        return dict(defs[ref(model)["$ref"].split("/")[-1]])

    root = body(ProjectConfig)
    defs.pop(ref(ProjectConfig)["$ref"].split("/")[-1], None)
    defs[_CONNECTION] = _connection_schema(connections, body)
    node_def = defs["NodeConfig"]
    rules = []
    for name, model in params.items():
        rules.append(_when({"transformer": {"const": name}}, {"params": ref(model)}))
        rules.append(
            _when(
                {"pattern": {"properties": {"type": {"const": name}}, "required": ["type"]}},
                {"pattern": {"properties": {"params": ref(model)}}},
            )
        )
    names = registry.transform_names()
    node_def["properties"]["transformer"] = {"type": "string", "enum": names}
    pattern_def = defs.get("PatternConfig")
    if pattern_def:
        pattern_def["properties"]["type"] = {"type": "string", "enum": names}
    node_def["allOf"] = rules
    for keys in plugin_keys:
        for key, fragment in (keys.get("node") or {}).items():
            node_def["properties"][key] = fragment
        for key, fragment in (keys.get("project") or {}).items():
            root["properties"][key] = fragment
    _allow_substitutions(root)
    _allow_substitutions(defs)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Odibi project file (odibi.yaml)",
        **root,
        "$defs": defs,
    }


def _connection_schema(connections: dict[str, type[BaseModel]], body: Any) -> dict[str, Any]:
    """A connection: ``type`` one of the registered types, then that type's own fields."""
    rules = []
    for name, model in connections.items():
        fields = body(model)
        fields["properties"] = {"type": {"const": name}, **fields.get("properties", {})}
        fields.pop("title", None)
        rules.append({"if": {"properties": {"type": {"const": name}}}, "then": fields})
    return {
        "type": "object",
        "required": ["type"],
        "properties": {"type": {"type": "string", "enum": sorted(connections)}},
        "allOf": rules,
    }


def _when(condition: dict[str, Any], then: dict[str, Any]) -> dict[str, Any]:
    return {
        "if": {"properties": condition, "required": list(condition)},
        "then": {"properties": then},
    }


def _allow_substitutions(node: Any) -> None:
    """Let ``${...}`` stand for a number, a boolean or one of fixed values (it is substituted
    before validation)."""
    if isinstance(node, list):
        for item in node:
            _allow_substitutions(item)
        return
    if not isinstance(node, dict):
        return
    for value in node.values():
        _allow_substitutions(value)
    if node.get("type") in ("integer", "number", "boolean") or "enum" in node:
        scalar = {k: node.pop(k) for k in list(node) if k not in _KEEP}
        node["anyOf"] = [scalar, _SUBSTITUTION]


def _unique(models: list[type[BaseModel]]) -> list[type[BaseModel]]:
    seen: dict[int, type[BaseModel]] = {}
    for m in models:
        seen.setdefault(id(m), m)
    return list(seen.values())
