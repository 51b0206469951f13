"""Graph texts stay well-formed whatever a name holds (names from a project are plain, but
graphs are also built by other callers)."""

from __future__ import annotations

from odibi_core.graph.formats import to_dot, to_mermaid
from odibi_core.graph.model import GraphNode, PipelineGraph

ODD = 'odd "name" <x> #1'


def _graph() -> PipelineGraph:
    return PipelineGraph("p", [GraphNode("a", []), GraphNode(ODD, ["a"])])


def test_dot_escapes_quotes():
    text = to_dot([_graph()])
    assert '"p.odd \\"name\\" <x> #1"' in text
    assert '"p.a" -> "p.odd \\"name\\" <x> #1";' in text


def test_mermaid_labels_use_entities():
    text = to_mermaid([_graph()])
    assert 'p0n1["odd #quot;name#quot; #lt;x#gt; #35;1<br/>' in text
    assert ODD not in text
