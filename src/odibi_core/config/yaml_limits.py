"""Bounds on a composed YAML document, checked before any value is built from it.

The composer gives every use of an anchor the anchored node itself, so a document is a graph:
small as text, yet a "billion laughs" file expands to 9**9 values and ``&L [*L]`` to no end.
Sizes are measured on that graph (each node once), so checking costs as little as the text.
"""

from __future__ import annotations

import yaml

#: Limits no real project comes near: values made by expanding aliases, values in all once
#: expanded, and nesting depth (libyaml itself stops near 1000 levels, Python soon after).
MAX_ALIAS_VALUES = 100_000
MAX_VALUES = 1_000_000
MAX_DEPTH = 100


class Refused(Exception):
    """A document (or value) odibi will not build; ``node`` is where to point."""

    def __init__(self, message: str, node: yaml.Node):
        super().__init__(message)
        self.node = node


def check(root: yaml.Node) -> None:
    """Raise :class:`Refused` for a recursive alias, nesting deeper than ``MAX_DEPTH`` or a
    document that expands past ``MAX_ALIAS_VALUES``/``MAX_VALUES`` values."""
    size: dict[int, int] = {}  # values a node expands to, itself included
    height: dict[int, int] = {}  # levels of nesting below and including it
    open_: set[int] = set()  # nodes being measured: the path from the root
    stack: list[tuple[yaml.Node, int, bool]] = [(root, 1, False)]
    while stack:
        node, depth, finished = stack.pop()
        key = id(node)
        children = _children(node)
        if finished:
            open_.discard(key)
            size[key] = 1 + sum(size[id(c)] for c in children)
            height[key] = 1 + max((height[id(c)] for c in children), default=0)
            continue
        if key in open_:
            raise Refused("a YAML alias refers to a value that contains it", node)
        if key in size:  # an alias of a node measured already
            if depth - 1 + height[key] > MAX_DEPTH:
                raise Refused(_too_deep(), node)
            continue
        if depth > MAX_DEPTH:
            raise Refused(_too_deep(), node)
        open_.add(key)
        stack.append((node, depth, True))
        stack.extend((child, depth + 1, False) for child in reversed(children))
    total = size[id(root)]
    if total - len(size) > MAX_ALIAS_VALUES:
        raise Refused(
            f"YAML aliases expand to more than {MAX_ALIAS_VALUES:,} values "
            "(an alias repeated inside another?)",
            _where(root, size, MAX_ALIAS_VALUES),
        )
    if total > MAX_VALUES:
        raise Refused(
            f"more than {MAX_VALUES:,} values in one file", _where(root, size, MAX_VALUES)
        )


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _too_deep() -> str:
    return f"values nested more than {MAX_DEPTH} levels deep"


def _where(root: yaml.Node, size: dict[int, int], limit: int) -> yaml.Node:
    """The innermost node that alone expands past ``limit``: where the aliases are used."""
    node = root
    while True:
        bigger = next((c for c in _children(node) if size[id(c)] > limit), None)
        if bigger is None:
            return node
        node = bigger
