"""YAML to plain Python data, remembering where every key and item was written."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import yaml

from odibi_core.config.source_map import Mark, SourceMap
from odibi_core.config.yaml_limits import Refused
from odibi_core.config.yaml_limits import check as check_limits
from odibi_core.errors import ConfigError, ConfigIssue


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """YAML 1.2 booleans: only true/false. YAML 1.1 also reads on/off/yes/no as booleans, which
    turns a join's ``on:`` key or a node named ``off`` into True/False."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)


def load_yaml_file(
    path: Path, source_map: SourceMap, issues: list[ConfigIssue] | None = None
) -> Any:
    """Parse one YAML file; syntax errors become a located :class:`ConfigError`.

    Duplicate keys are added to ``issues`` when given (so the caller can report them together
    with every other problem), else raised.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"project file not found: {path}") from None
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"cannot read {path}: not UTF-8 text") from None
    found: list[ConfigIssue] = []
    try:
        node = yaml.compose(_shield_placeholders(text), Loader=_Loader)
        if node is not None:
            check_limits(node)  # before building anything: aliases can expand without end
        # Constructing values can fail too (e.g. an unknown tag such as ``!Ref``).
        data = None if node is None else _Converter(str(path), source_map, found).convert(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        raise ConfigError(
            [
                ConfigIssue(
                    f"invalid YAML: {exc.problem}",
                    str(path),
                    mark.line + 1 if mark else None,
                    mark.column + 1 if mark else None,
                )
            ]
        ) from None
    except Refused as exc:
        mark = exc.node.start_mark
        raise ConfigError(
            [ConfigIssue(str(exc), str(path), mark.line + 1, mark.column + 1)]
        ) from None
    except yaml.reader.ReaderError as exc:  # e.g. a control character in the text
        line = text.count("\n", 0, exc.position) + 1
        column = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        raise ConfigError(
            [ConfigIssue(f"invalid YAML: {exc.reason}", str(path), line, column)]
        ) from None
    if found and issues is None:
        raise ConfigError(found)
    if issues is not None:
        issues.extend(found)
    return data


class _Converter:
    def __init__(self, file: str, source_map: SourceMap, issues: list[ConfigIssue]):
        self.file = file
        self.map = source_map
        self.issues = issues
        self.constructor = yaml.constructor.SafeConstructor()

    def mark(self, node: yaml.Node) -> Mark:
        return Mark(self.file, node.start_mark.line + 1, node.start_mark.column + 1)

    def convert(self, node: yaml.Node) -> Any:
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node)
        if isinstance(node, yaml.SequenceNode):
            return self._sequence(node)
        try:
            return _unshield(self.constructor.construct_object(node, deep=True))
        except (ValueError, OverflowError) as exc:  # 5,000 digits; 2024-02-30
            raise Refused(_bad_scalar(node, exc), node) from None

    def _mapping(self, node: yaml.MappingNode) -> dict[Any, Any]:
        result: dict[Any, Any] = {}
        self.map.record_container(result, self.mark(node))
        merged: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                for src in self._merge_sources(value_node):
                    merged.update(src)
                continue
            m = self.mark(key_node)
            if not isinstance(key_node, yaml.ScalarNode):
                self.issues.append(
                    ConfigIssue("a key must be a plain value", self.file, m.line, m.column)
                )
                continue
            key = self.convert(key_node)
            if key in result:
                self.issues.append(
                    ConfigIssue(f"duplicate key '{key}'", self.file, m.line, m.column)
                )
            result[key] = self.convert(value_node)
            self.map.record(result, key, m)
        for key, value in merged.items():
            result.setdefault(key, value)
        return result

    def _sequence(self, node: yaml.SequenceNode) -> list[Any]:
        items: list[Any] = []
        self.map.record_container(items, self.mark(node))
        for i, item in enumerate(node.value):
            items.append(self.convert(item))
            self.map.record(items, i, self.mark(item))
        return items

    def _merge_sources(self, node: yaml.Node) -> list[dict[Any, Any]]:
        nodes = node.value if isinstance(node, yaml.SequenceNode) else [node]
        return [self.convert(n) for n in nodes if isinstance(n, yaml.MappingNode)]


def _bad_scalar(node: yaml.Node, exc: Exception) -> str:
    text = str(node.value)
    if node.tag == "tag:yaml.org,2002:int":
        return (
            f"a number of {len(text):,} digits is too long "
            f"(at most {sys.get_int_max_str_digits():,})"
        )
    shown = text if len(text) <= 40 else text[:40] + "..."
    return f"invalid value '{shown}': {_first_line(exc)}"


def _first_line(exc: Exception) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0]


# Odibi substitutes ${...} in the raw text, so projects write placeholders unquoted even inside
# flow collections ({password: ${DB_PASSWORD}}), where YAML forbids '{' and '}' in plain
# scalars. Placeholders are parsed with braces YAML accepts there (the same number of
# characters, so reported columns stay right) and restored in every string afterwards.
_PLACEHOLDER = re.compile(r"\$\{([^{}\n]*)\}")
_SHIELDED = re.compile("\\$\u27e8([^\u27e8\u27e9\\n]*)\u27e9")


def _shield_placeholders(text: str) -> str:
    return _PLACEHOLDER.sub(lambda m: f"$\u27e8{m.group(1)}\u27e9", text)


def _unshield(value: Any) -> Any:
    if isinstance(value, str) and "$\u27e8" in value:
        return _SHIELDED.sub(lambda m: "${" + m.group(1) + "}", value)
    return value
