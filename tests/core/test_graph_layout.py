"""Placing DAGs for the pictures in stories and ``odibi graph --format html``."""

from __future__ import annotations

from odibi_core.graph.layout import NODE_H, NODE_W, layers, layout


def test_layers_follow_dependencies_and_pull_sources_next_to_their_consumer():
    nodes = {
        "orders": [],
        "clean": ["orders"],
        "enriched": ["clean"],
        "customers": [],  # only needed by the last join
        "joined": ["enriched", "customers"],
    }
    assert layers(nodes) == [["orders"], ["clean"], ["enriched", "customers"], ["joined"]]


def test_crossings_are_reduced_by_ordering_within_layers():
    # a feeds y and b feeds x: in definition order (x, y) the two edges would cross.
    nodes = {"a": [], "b": [], "x": ["b"], "y": ["a"]}
    assert layers(nodes) == [["a", "b"], ["y", "x"]]


def test_boxes_never_overlap_and_edges_join_box_sides():
    nodes = {f"n{i}": ([f"n{i - 1}"] if i % 4 else []) for i in range(40)}
    nodes["sink"] = [f"n{i}" for i in range(3, 40, 4)]
    placed = layout(nodes)
    boxes = {b.name: b for b in placed.boxes}
    spots = {(b.x, b.y) for b in placed.boxes}
    assert len(spots) == len(nodes)
    for a in placed.boxes:
        assert a.x >= 0 and a.x + NODE_W <= placed.width and a.y + NODE_H <= placed.height
    edge = next(e for e in placed.edges if e.target == "sink" and e.source == "n3")
    start = f"M{boxes['n3'].x + NODE_W},{boxes['n3'].y + NODE_H // 2}"
    assert edge.path.startswith(start)
    assert edge.path.endswith(f"{boxes['sink'].x},{boxes['sink'].y + NODE_H // 2}")
    assert len(placed.edges) == 30 + 10


def test_long_chains_and_cycles_do_not_break_drawing():
    chain = {f"n{i}": ([f"n{i - 1}"] if i else []) for i in range(3000)}
    assert len(layers(chain)) == 3000
    cyclic = {"a": ["c"], "b": ["a"], "c": ["b"], "d": []}
    assert sorted(n for layer in layers(cyclic) for n in layer) == ["a", "b", "c", "d"]
