"""What ``odibi list`` and ``odibi explain`` say about registered things, read from the
pydantic models that validate their params (one source of truth): transformers and patterns
(``Transform.params_model``), connection types (``config_model``) and assertion types
(``params_model``, from whichever plugin registers them)."""

from __future__ import annotations

import inspect
import types
import typing
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from odibi_core.cli.list_cmd import KINDS  # noqa: F401  (where they are named)


@dataclass
class Param:
    name: str
    type: str
    required: bool
    default: Any = None
    description: str = ""
    aliases: list[str] = field(default_factory=list)


@dataclass
class Entry:
    """One transformer, pattern, connection type or assertion type."""

    kind: str  # transformer | pattern | connection | assertion
    name: str
    summary: str
    doc: str
    params: list[Param]
    engines: list[str] = field(default_factory=list)
    example: str = ""


def entries(registry: Any, kind: str) -> list[Entry]:
    """Every registered thing of ``kind`` (one of :data:`KINDS`), by name."""
    if kind in ("transformers", "patterns"):
        by_name: dict[str, list[Any]] = {}
        for (name, _engine), t in registry.transforms.items():
            by_name.setdefault(name, []).append(t)
        found = []
        for name, impls in sorted(by_name.items()):
            is_pattern = getattr(impls[0], "kind", "transformer") == "pattern"
            if is_pattern != (kind == "patterns"):
                continue
            found.append(_transform(name, impls, is_pattern))
        return found
    if kind == "connections":
        return [_connection(n, c) for n, c in sorted(registry.connection_types.items())]
    return [_assertion(n, a) for n, a in sorted(registry.assertion_types.items())]


def _transform(name: str, impls: list[Any], is_pattern: bool) -> Entry:
    first = impls[0]
    doc = inspect.getdoc(first.func) or first.description or ""
    params = params_of(first.params_model)
    sample = example_params(first.params_model)
    if is_pattern:
        example = _yaml({"pattern": {"type": name, "params": sample}})
        example = f"- name: my_{name}\n  depends_on: [upstream]\n" + _indent(example, 2)
    else:
        body: dict[str, Any] = {"transformer": name}
        if sample:
            body["params"] = sample
        example = "- name: my_node\n  depends_on: [upstream]\n" + _indent(_yaml(body), 2)
    return Entry(
        "pattern" if is_pattern else "transformer",
        name,
        _first_line(doc),
        doc,
        params,
        sorted(t.engine for t in impls),
        example,
    )


def _connection(name: str, cls: Any) -> Entry:
    # Its own docstring, else its config model's: never the inherited one of Connection.
    own = cls.__dict__.get("__doc__") or cls.config_model.__dict__.get("__doc__") or ""
    doc = inspect.cleandoc(own)
    params = [p for p in params_of(cls.config_model) if p.name != "type"]
    body = {"type": name, **_required(cls.config_model)}
    example = "connections:\n" + _indent(_yaml({f"my_{name}": body}), 2)
    return Entry("connection", name, _first_line(doc), doc, params, example=example)


def _assertion(name: str, kind: Any) -> Entry:
    doc = getattr(kind, "description", "") or ""
    model = getattr(kind, "params_model", None)
    params = params_of(model)
    body = {"type": name, **_required(model)}
    example = "quality:\n  assertions:\n" + _indent(_yaml([body]), 4)
    return Entry("assertion", name, _first_line(doc), doc, params, example=example)


# ---------------------------------------------------------------- params from a model


def params_of(model: type[BaseModel] | None) -> list[Param]:
    if model is None:
        return []
    found = []
    for name, info in model.model_fields.items():
        aliases = _aliases(info)
        shown = info.alias or name
        default = None if info.is_required() else info.get_default(call_default_factory=True)
        if isinstance(default, BaseModel):
            default = default.model_dump(mode="json")
        found.append(
            Param(
                shown,
                type_text(info.annotation),
                info.is_required(),
                default,
                info.description or "",
                [a for a in aliases if a != shown],
            )
        )
    return found


def _aliases(info: Any) -> list[str]:
    choices = getattr(info.validation_alias, "choices", None)
    if choices:
        return [c for c in choices if isinstance(c, str)]
    return [info.validation_alias] if isinstance(info.validation_alias, str) else []


def type_text(annotation: Any) -> str:
    """``list[str]``, ``int | None``, ``one of: a, b``: an annotation as a reader says it."""
    if annotation is None or annotation is type(None):
        return "null"
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Literal:
        return "one of: " + ", ".join(map(str, args))
    if origin is typing.Annotated:
        return type_text(args[0])
    if origin in (typing.Union, types.UnionType):
        return " | ".join(type_text(a) for a in args)
    if origin is not None:
        inner = ", ".join(type_text(a) for a in args)
        base = getattr(origin, "__name__", str(origin))
        return f"{base}[{inner}]" if inner else base
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "mapping"
    return getattr(annotation, "__name__", str(annotation).replace("typing.", ""))


# ---------------------------------------------------------------- examples


def example_params(model: type[BaseModel] | None) -> dict[str, Any]:
    """Params for an example: the model's own first example (``json_schema_extra``) when it
    gives one, else a placeholder for each required field (the first two fields when none is
    required), shaped by the field's type so that it validates."""
    found = _required(model)
    if found or model is None:
        return found
    fields = model.model_fields
    return {fields[n].alias or n: _field_value(n, fields[n]) for n in list(fields)[:2]}


def _given_example(model: type[BaseModel]) -> dict[str, Any] | None:
    """The model's first ``json_schema_extra`` example, if it has one."""
    extra: Any = model.model_config.get("json_schema_extra")
    examples = extra.get("examples") if isinstance(extra, dict) else None
    return dict(examples[0]) if isinstance(examples, list) and examples else None


def _field_value(name: str, info: Any) -> Any:
    if not info.is_required():
        default = info.get_default(call_default_factory=True)
        if default not in (None, [], {}, ""):
            return default.model_dump(mode="json") if isinstance(default, BaseModel) else default
    min_len = next((getattr(m, "min_length", None) for m in info.metadata), None) or 1
    return _value(name, info.annotation, min_len)


def _value(name: str, annotation: Any, count: int = 1) -> Any:
    import datetime as dt

    origin = typing.get_origin(annotation)
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if origin is typing.Literal:
        return args[0]
    if origin is typing.Annotated:
        return _value(name, args[0], count)
    if origin in (typing.Union, types.UnionType):
        return _value(name, args[0], count) if args else None
    if origin in (list, tuple, set, frozenset):
        item = args[0] if args else str
        singular = name.removesuffix("s") or name
        return [_value(f"{singular}{i + 1}" if count > 1 else singular, item) for i in range(count)]
    if origin is dict:
        value = args[1] if len(args) > 1 else str
        return {f"<{name}_key>": _value("value", value)}
    if isinstance(annotation, type):
        if issubclass(annotation, BaseModel):
            return example_params(annotation)
        if issubclass(annotation, bool):
            return True
        if issubclass(annotation, int):
            return 1
        if issubclass(annotation, float):
            return 1.0
        if issubclass(annotation, dt.datetime):
            return "2026-01-01T00:00:00"
        if issubclass(annotation, dt.date):
            return "2026-01-01"
    return f"<{name}>"


def _required(model: type[BaseModel] | None) -> dict[str, Any]:
    """The model's own example, else its required fields only (a connection's or an
    assertion's example)."""
    if model is None:
        return {}
    given = _given_example(model)
    if given is not None:
        return given
    fields = model.model_fields
    return {f.alias or n: _field_value(n, f) for n, f in fields.items() if f.is_required()}


def _yaml(data: Any) -> str:
    import yaml

    return yaml.safe_dump(data, sort_keys=False, default_flow_style=None, width=90).rstrip()


def _indent(text: str, n: int) -> str:
    return "\n".join(" " * n + line for line in text.splitlines())


def _first_line(doc: str) -> str:
    return doc.strip().splitlines()[0] if doc.strip() else ""
