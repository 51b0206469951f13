"""``odibi graph`` output: plain text, Mermaid, Graphviz DOT and a self-contained HTML page."""

from __future__ import annotations

from collections.abc import Callable

from odibi_core.graph.model import GraphNode, PipelineGraph
from odibi_core.templating import STATUS_COLOURS as COLOURS
from odibi_core.templating import duration

ASCII_STATUS = {"SUCCESS": "OK", "FAILURE": "FAILED", "SKIPPED": "SKIPPED", None: "no runs"}


def describe(node: GraphNode) -> str:
    """One line of what the catalog knows of a node: status, DQ score, duration, rows."""
    parts = [node.status or "no runs yet"]
    if node.dq_score is not None:
        parts.append(f"DQ {node.dq_score:.1f}")
    if node.duration_ms is not None:
        parts.append(duration(node.duration_ms))
    if node.rows_out is not None:
        parts.append(f"{node.rows_out} rows")
    if not node.enabled:
        parts.append("disabled")
    return " · ".join(parts)


def _headline(graph: PipelineGraph) -> str:
    last = graph.last_run
    if last is None:
        return f"{graph.pipeline} (no runs yet)"
    text = f"{graph.pipeline} (last run {last['status']} at {last['timestamp']:%Y-%m-%d %H:%M} UTC"
    if last.get("dq_score") is not None:
        text += f", DQ {last['dq_score']:.1f}"
    return text + ")"


def to_ascii(graphs: list[PipelineGraph]) -> str:
    """An indented tree per pipeline, roots first; a node with several dependencies is drawn
    under the first and referenced under the others."""
    out: list[str] = []
    for graph in graphs:
        out.append(_headline(graph))
        out.extend(_ascii_tree(graph))
        out.append("")
    return "\n".join(out)


def _ascii_tree(graph: PipelineGraph) -> list[str]:
    out: list[str] = []
    children: dict[str, list[str]] = {n.name: [] for n in graph.nodes}
    for source, target in graph.edges:
        children[source].append(target)
    drawn: set[str] = set()
    known = set(children)
    roots = [n.name for n in graph.nodes if not [d for d in n.depends_on if d in known]]
    # An explicit stack, not recursion: a chain of thousands of nodes must still draw.
    stack = [(name, "", "") for name in reversed(roots)]
    while stack:
        name, prefix, connector = stack.pop()
        if name in drawn:
            out.append(f"{prefix}{connector}{name} (see above)")
            continue
        drawn.add(name)
        node = graph.node(name)
        label = f"{name} [{ASCII_STATUS.get(node.status, node.status)}]"
        if node.dq_score is not None:
            label += f" DQ {node.dq_score:.1f}"
        if not node.enabled:
            label += " (disabled)"
        out.append(f"{prefix}{connector}{label}")
        below = prefix + ("|   " if connector == "+-- " else "    " if connector else "")
        kids = children[name]
        for i, child in reversed(list(enumerate(kids))):
            stack.append((child, below, "`-- " if i == len(kids) - 1 else "+-- "))
    return out


def _mermaid_text(text: str) -> str:
    # Mermaid labels are quoted strings; entities keep quotes and brackets from ending them.
    for char, entity in (("#", "#35;"), ('"', "#quot;"), ("<", "#lt;"), (">", "#gt;")):
        text = text.replace(char, entity)
    return text


def to_mermaid(graphs: list[PipelineGraph]) -> str:
    lines = ["flowchart LR"]
    for status, (fill, stroke) in COLOURS.items():
        lines.append(f"  classDef {status or 'NONE'} fill:{fill},stroke:{stroke},color:#1f2328")
    for p, graph in enumerate(graphs):
        ids = {n.name: f"p{p}n{i}" for i, n in enumerate(graph.nodes)}
        indent = "  "
        if len(graphs) > 1:
            lines.append(f'  subgraph p{p}["{_mermaid_text(graph.pipeline)}"]')
            indent = "    "
        for node in graph.nodes:
            label = f"{_mermaid_text(node.name)}<br/>{_mermaid_text(describe(node))}"
            lines.append(f'{indent}{ids[node.name]}["{label}"]:::{node.status or "NONE"}')
        for source, target in graph.edges:
            lines.append(f"{indent}{ids[source]} --> {ids[target]}")
        if len(graphs) > 1:
            lines.append("  end")
    return "\n".join(lines) + "\n"


def _dot_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def to_dot(graphs: list[PipelineGraph]) -> str:
    name = graphs[0].pipeline if len(graphs) == 1 else "odibi"
    lines = [
        f"digraph {_dot_string(name)} {{",
        "  rankdir=LR;",
        '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=11];',
        '  edge [color="#8c959f"];',
    ]
    for p, graph in enumerate(graphs):
        indent = "  "
        if len(graphs) > 1:
            lines.append(f"  subgraph cluster_{p} {{")
            lines.append(f"    label={_dot_string(graph.pipeline)};")
            indent = "    "
        for node in graph.nodes:
            fill, stroke = COLOURS.get(node.status, COLOURS[None])
            key = _dot_string(f"{graph.pipeline}.{node.name}")
            label = _dot_string(f"{node.name}\n{describe(node)}")
            lines.append(
                f'{indent}{key} [label={label}, fillcolor="{fill}", color="{stroke}"'
                + (', style="rounded,filled,dashed"' if not node.enabled else "")
                + "];"
            )
        for source, target in graph.edges:
            a = _dot_string(f"{graph.pipeline}.{source}")
            b = _dot_string(f"{graph.pipeline}.{target}")
            lines.append(f"{indent}{a} -> {b};")
        if len(graphs) > 1:
            lines.append("  }")
    lines.append("}")
    return "\n".join(lines) + "\n"


def to_html(graphs: list[PipelineGraph]) -> str:
    from odibi_core.graph.layout import layout
    from odibi_core.templating import render

    pictures = [
        (
            graph,
            layout({n.name: n.depends_on for n in graph.nodes}),
            {n.name: n for n in graph.nodes},
        )
        for graph in graphs
    ]
    return render("graph.html.j2", pictures=pictures, headline=_headline)


FORMATS: dict[str, Callable[[list[PipelineGraph]], str]] = {
    "ascii": to_ascii,
    "mermaid": to_mermaid,
    "dot": to_dot,
    "html": to_html,
}
