"""Turning pydantic errors and unknown names into located, helpful config issues."""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, ValidationError

from odibi_core.config.source_map import SourceMap
from odibi_core.errors import ConfigIssue


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` or an empty string."""
    match = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return f" (did you mean '{match[0]}'?)" if match else ""


def describe(root: Any, loc: tuple[Any, ...]) -> str:
    """A readable location: ``pipeline 'p', node 'n', read.format``."""
    parts: list[str] = []
    dotted: list[str] = []
    node = root
    for i, key in enumerate(loc):
        try:
            child = node[key]
        except (KeyError, IndexError, TypeError):
            child = None
        if isinstance(key, int) and isinstance(child, dict):
            label = next((k for k in ("pipeline", "name") if isinstance(child.get(k), str)), None)
            if label:
                kind = "pipeline" if label == "pipeline" else "node"
                if dotted and dotted[-1] in ("pipelines", "nodes"):
                    dotted.pop()
                if dotted:
                    parts.append(".".join(dotted))
                    dotted = []
                parts.append(f"{kind} {short(child[label])}")
                node = child
                if loc[i + 1 :] == (label,):  # the name itself: "node 'a b'", not "..., name"
                    break
                continue
        if isinstance(key, int):
            if dotted:
                dotted[-1] += f"[{key}]"
            else:
                dotted.append(f"[{key}]")
        else:
            dotted.append(str(key))
        node = child
    if dotted:
        parts.append(".".join(dotted))
    return ", ".join(parts)


def pydantic_issues(
    exc: ValidationError,
    model: type[BaseModel],
    root: Any,
    source_map: SourceMap,
    prefix: tuple[Any, ...] = (),
) -> list[ConfigIssue]:
    """One issue per pydantic error, with file position and did-you-mean for unknown keys."""
    issues: list[ConfigIssue] = []
    from odibi_core.config.models import INPUT_TAGS

    for err in exc.errors(include_url=False):
        loc = tuple(p for p in err["loc"] if p not in INPUT_TAGS)
        full = prefix + loc
        kind = err["type"]
        msg = str(err["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
        where = describe(root, full[:-1] if loc else full)
        if kind == "extra_forbidden":
            fields = _fields_at(model, loc[:-1])
            text = f"unknown key '{loc[-1]}'" + (f" in {where}" if where else "")
            text += did_you_mean(str(loc[-1]), fields)
        elif kind == "missing":
            text = f"missing required key '{loc[-1]}'" + (f" in {where}" if where else "")
        else:
            target = describe(root, full)
            value = err.get("input")
            shown = f" (got {short(value)})" if isinstance(value, str | int | float | bool) else ""
            if shown and short(value) in target:
                shown = ""
            text = f"{target}: {msg}{shown}" if target else f"{msg}{shown}"
            expected = (err.get("ctx") or {}).get("expected")
            if isinstance(value, str) and expected:
                text += did_you_mean(value, [e.strip(" '") for e in _split_expected(expected)])
        issue_mark = source_map.at_path(root, full)
        issues.append(ConfigIssue.at(text, issue_mark))
    return issues


def short(value: Any, limit: int = 60) -> str:
    """``repr`` of a value for a message, cut short: a value may be a megabyte of text."""
    text = repr(value)
    if len(text) <= limit:
        return text
    if isinstance(value, int) and not isinstance(value, bool):
        return f"a number of {len(text):,} digits"
    return text[: limit - 3] + "..."


def _split_expected(expected: str) -> list[str]:
    return [p for chunk in expected.split(" or ") for p in chunk.split(",") if p.strip()]


def _unwrap(tp: Any) -> Any:
    while True:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            tp = typing.get_args(tp)[0]
        elif origin in (typing.Union, types.UnionType):
            members = [a for a in typing.get_args(tp) if a is not type(None)]
            models = [m for m in members if _is_model(m) or typing.get_origin(m) in (list, dict)]
            tp = models[0] if models else members[0]
        else:
            return tp


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _fields_at(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """Valid key names of the model found by following ``loc`` from ``model``."""
    tp: Any = model
    for part in loc:
        tp = _unwrap(tp)
        origin = typing.get_origin(tp)
        if origin is list and isinstance(part, int):
            tp = typing.get_args(tp)[0]
        elif origin is dict:
            tp = typing.get_args(tp)[1]
        elif _is_model(tp) and isinstance(part, str):
            field = tp.model_fields.get(part)
            if field is None:
                return []
            tp = field.annotation
        else:
            return []
    tp = _unwrap(tp)
    if not _is_model(tp):
        return []
    names = list(tp.model_fields)
    names += [f.alias for f in tp.model_fields.values() if f.alias]
    return names
