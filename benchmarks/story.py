"""Story benchmark: how long the story of a 200-node run takes to write, and how big it is.

Usage::

    .venv/bin/python benchmarks/story.py [--nodes 200] [--runs 12] [--repeat 5] [--check]

Runs a real project in-process (pandas engine, local catalog) whose pipeline has ``--nodes``
nodes of small frames (every tenth with a ``quality`` block, some with failing warn assertions),
``--runs`` times so the last stories carry a full history (10 earlier runs per node for the
trends, schema changes). Each run's
``write_story`` (catalog history query, JSON, HTML, the pipeline index, retention) is timed,
and the newest story is then rendered again ``--repeat`` times alone. The same run measures a
20-node pipeline as the baseline, so the ratio says how the cost grows with nodes. Targets:
``write_story`` under 1 s and the story (HTML page + JSON together) under 2 MB at 200 nodes.
Prints one JSON object; progress on stderr.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

TARGET_MS = 1000
TARGET_BYTES = 2_000_000  # 2 MB, decimal: the stricter reading


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def project_yaml(nodes: int) -> str:
    """Sources every 10 nodes, each feeding a chain with a join back to the previous chain."""
    lines = [
        "project: bench",
        "retry: {enabled: false}",
        "story: {max_sample_rows: 10}",
        "connections: {d: {type: local, base_path: .}}",
        "pipelines:",
        "  - pipeline: big",
        "    nodes:",
    ]
    for i in range(nodes):
        lines.append(f"      - name: n{i:03d}")
        if i % 10 == 0:
            lines.append("        read: {connection: d, format: csv, path: data.csv}")
        elif i % 10 == 5 and i > 10:
            lines.append(f"        depends_on: [n{i - 1:03d}, n{i - 10:03d}]")
            lines.append(
                f'        transform: {{steps: ["SELECT a.* FROM n{i - 1:03d} a '
                f'JOIN n{i - 10:03d} b USING (id)"]}}'
            )
        else:
            lines.append(f"        depends_on: [n{i - 1:03d}]")
            lines.append(
                '        transform: {steps: ["SELECT *, amount * 2 AS amount2 FROM df"]}'
                if i % 10 == 1
                else '        transform: {steps: ["SELECT * FROM df WHERE amount >= 0"]}'
            )
        if i % 10 == 2:
            lines += [
                "        quality:",
                "          assertions:",
                "            - {type: not_null, columns: [id]}",
                "            - {type: between, column: amount, min: 0, max: 90, severity: warn}",
                "            - {type: accepted_values, column: kind, values: [a, b],"
                " severity: warn}",
            ]
    return "\n".join(lines) + "\n"


def data_csv(rows: int = 100) -> str:
    header = "id,amount,kind,label,city,code,score,flag,note,extra\n"
    body = "".join(
        f"{i},{i % 100},{'abc'[i % 3]},label {i},city {i % 7},C{i:04d},{i * 0.5},"
        f"{i % 2 == 0},note {i},x\n"
        for i in range(rows)
    )
    return header + body


def measure(nodes: int, runs: int, repeat: int) -> dict[str, Any]:
    import odibi_core.story.writer as writer
    from odibi_core.plugin_manager import get_plugin_manager
    from odibi_core.runner.api import run_project

    timings: list[float] = []
    original = writer.write_story

    def timed(ctx: Any, result: Any) -> Path:
        started = time.perf_counter()
        path = original(ctx, result)
        timings.append((time.perf_counter() - started) * 1000)
        return path

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "odibi.yaml").write_text(project_yaml(nodes))
        (root / "data.csv").write_text(data_csv())
        writer.write_story = timed
        try:
            for i in range(runs):
                _progress(f"  {nodes} nodes: run {i + 1}/{runs}")
                run_project(root / "odibi.yaml")
        finally:
            writer.write_story = original
        newest = max(root.glob(".odibi/stories/big/*/run_*.json"))
        html = newest.with_suffix(".html")
        story = json.loads(newest.read_text())
        sections = get_plugin_manager().registry.story_sections
        render = []
        for _ in range(repeat):
            started = time.perf_counter()
            writer.render_run(story, sections, "../index.html")
            render.append((time.perf_counter() - started) * 1000)
        return {
            "nodes": nodes,
            "write_story_ms": [round(t, 1) for t in timings],
            # The first run has no history and compiles templates: steady state is the rest.
            "write_story_median_ms": round(statistics.median(timings[1:] or timings), 1),
            "render_html_median_ms": round(statistics.median(render), 1),
            "html_bytes": html.stat().st_size,
            "json_bytes": newest.stat().st_size,
            "history_runs_per_node": len(story["nodes"][1]["history"]),
        }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=200)
    parser.add_argument("--runs", type=int, default=12)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args()
    baseline = measure(20, args.runs, args.repeat)
    big = measure(args.nodes, args.runs, args.repeat)
    result = {
        "baseline": baseline,
        "big": big,
        "write_ratio_to_baseline": round(
            big["write_story_median_ms"] / baseline["write_story_median_ms"], 2
        ),
        "target_ms": TARGET_MS,
        "target_bytes": TARGET_BYTES,
        "time_pass": big["write_story_median_ms"] < TARGET_MS,
        "size_pass": big["html_bytes"] + big["json_bytes"] < TARGET_BYTES,
    }
    print(json.dumps(result, indent=2))
    return 0 if not args.check or (result["time_pass"] and result["size_pass"]) else 1


if __name__ == "__main__":
    sys.exit(main())
