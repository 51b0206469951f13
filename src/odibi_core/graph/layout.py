"""Placing a DAG on a plane: layers left to right, few crossings, coordinates for SVG."""

from __future__ import annotations

import graphlib
import itertools
from collections.abc import Callable
from dataclasses import dataclass

NODE_W, NODE_H = 180, 44
GAP_X, GAP_Y = 70, 16
MARGIN = 12


@dataclass(frozen=True)
class Box:
    name: str
    layer: int
    x: int
    y: int
    w: int = NODE_W
    h: int = NODE_H


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    #: SVG path data of a curve from the source's right side to the target's left side.
    path: str


@dataclass(frozen=True)
class Layout:
    boxes: list[Box]
    edges: list[Edge]
    width: int
    height: int


def layers(nodes: dict[str, list[str]]) -> list[list[str]]:
    """Longest-path layering: a node sits one layer right of its deepest dependency.

    ``nodes`` maps each node to its dependencies, in definition order; unknown dependencies
    are ignored. Within a layer, nodes are ordered to reduce edge crossings (barycentre of
    their dependencies' positions, two sweeps), falling back to definition order.
    """
    deps_of = {n: [d for d in deps if d in nodes] for n, deps in nodes.items()}
    try:
        order = list(graphlib.TopologicalSorter(deps_of).static_order())
    except graphlib.CycleError:  # config validation reports cycles; still draw something
        order = list(nodes)
    depth: dict[str, int] = {}
    for name in order:
        depth[name] = 1 + max((depth.get(d, -1) for d in deps_of[name]), default=-1)
    children: dict[str, list[str]] = {n: [] for n in nodes}
    for name, deps in nodes.items():
        for d in deps:
            if d in children:
                children[d].append(name)
    # Sources sit just left of their first consumer, so a lookup table read for the last
    # join does not draw an edge across the whole picture.
    for name in nodes:
        if not deps_of[name] and children[name]:
            depth[name] = max(depth[name], min(depth[c] for c in children[name]) - 1)
    result: list[list[str]] = [[] for _ in range(max(depth.values(), default=-1) + 1)]
    for name in nodes:
        result[depth[name]].append(name)
    for _ in range(2):
        _sweep(result, lambda n: deps_of[n])
        _sweep(result[::-1], lambda n: children[n])
    return result


def _sweep(ordered: list[list[str]], neighbours: Callable[[str], list[str]]) -> None:
    """Sort each layer by the mean position of its neighbours in the layer before it."""
    for prev, layer in itertools.pairwise(ordered):
        pos = {n: i for i, n in enumerate(prev)}
        original = {n: i for i, n in enumerate(layer)}

        def key(n: str, pos: dict[str, int] = pos, original: dict[str, int] = original) -> float:
            near = [pos[m] for m in neighbours(n) if m in pos]
            return sum(near) / len(near) if near else float(original[n])

        layer.sort(key=lambda n: (key(n), original[n]))


def layout(nodes: dict[str, list[str]]) -> Layout:
    """Coordinates for every node and edge; columns are layers, each column centred."""
    columns = layers(nodes)
    tallest = max((len(c) for c in columns), default=0)
    height = 2 * MARGIN + max(tallest * (NODE_H + GAP_Y) - GAP_Y, NODE_H)
    boxes: dict[str, Box] = {}
    for i, column in enumerate(columns):
        used = len(column) * (NODE_H + GAP_Y) - GAP_Y
        top = (height - used) // 2
        for j, name in enumerate(column):
            boxes[name] = Box(name, i, MARGIN + i * (NODE_W + GAP_X), top + j * (NODE_H + GAP_Y))
    edges = []
    for name, deps in nodes.items():
        for d in deps:
            if d not in boxes:
                continue
            a, b = boxes[d], boxes[name]
            x1, y1 = a.x + a.w, a.y + a.h // 2
            x2, y2 = b.x, b.y + b.h // 2
            bend = max((x2 - x1) // 2, 20)
            edges.append(Edge(d, name, f"M{x1},{y1} C{x1 + bend},{y1} {x2 - bend},{y2} {x2},{y2}"))
    width = 2 * MARGIN + max(len(columns) * (NODE_W + GAP_X) - GAP_X, NODE_W)
    return Layout(list(boxes.values()), edges, width, height)
