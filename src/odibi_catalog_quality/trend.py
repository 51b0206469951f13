"""``odibi catalog quality --trend``: each checked node's DQ score over its runs, from the
``meta_quality`` rows the command read (its ``--pipeline`` and ``--since`` filters apply).

A run's score is SPEC §4's: 100 * the mean over the node's assertions of
(1 - violation_count / element_count), a table-level check counting 0 or 1 and one that
could not run 0; the gate's verdicts are not assertions and are left out.
"""

from __future__ import annotations

import argparse
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

#: Runs drawn in a trend line, the newest.
POINTS = 20
BARS = "▁▂▃▄▅▆▇█"
GATE_TYPES = {"gate", "gate_threshold", "gate_row_count"}
COLUMNS = [
    "pipeline_name",
    "node_name",
    "runs",
    "trend",
    "latest",
    "change",
    "lowest",
    "mean",
    "failed_assertions",
    "most_failed",
]


@dataclass
class NodeTrend:
    pipeline_name: str
    node_name: str
    runs: int
    latest: float
    mean: float
    lowest: float
    #: The last ``POINTS`` scores, oldest first.
    scores: list[float] = field(default_factory=list)
    #: The latest score minus the first in the window.
    change: float = 0.0
    failed_assertions: int = 0
    #: The assertion that failed most often in the window ("name (times)").
    most_failed: str | None = None

    def to_row(self) -> dict[str, Any]:
        return {**asdict(self), "trend": bars(self.scores)}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--trend",
        action="store_true",
        help="each checked node's DQ score over its runs (limit the window with --since)",
    )


def view(
    args: argparse.Namespace, rows: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[str]] | None:
    if not getattr(args, "trend", False):
        return None
    if getattr(args, "status", None):
        from odibi_core.errors import OdibiError

        raise OdibiError("--trend scores every assertion of a run: leave out --status")
    return [t.to_row() for t in trends(rows)], COLUMNS


def bars(scores: list[float]) -> str:
    """``scores`` as block characters, scaled between their lowest and highest."""
    if not scores:
        return ""
    low, high = min(scores), max(scores)
    if high - low < 1e-9:
        return BARS[-1] * len(scores)
    return "".join(BARS[round((s - low) / (high - low) * (len(BARS) - 1))] for s in scores)


def trends(rows: list[dict[str, Any]]) -> list[NodeTrend]:
    """One trend per (pipeline, node), the lowest latest score first."""
    runs: dict[tuple[str, str], dict[str, list[dict[str, Any]]]] = {}
    for row in rows:
        if row["assertion_type"] in GATE_TYPES:
            continue
        key = (row["pipeline_name"], row["node_name"])
        runs.setdefault(key, {}).setdefault(row["run_id"], []).append(row)
    out = []
    for (pipeline, node), by_run in runs.items():
        ordered = sorted(by_run.values(), key=lambda rs: max(r["timestamp"] for r in rs))
        scores = [_score(rs) for rs in ordered]
        failed = Counter(
            r["assertion_name"] for rs in ordered for r in rs if r["status"] == "failed"
        )
        top = failed.most_common(1)
        out.append(
            NodeTrend(
                pipeline,
                node,
                runs=len(scores),
                latest=scores[-1],
                mean=sum(scores) / len(scores),
                lowest=min(scores),
                scores=scores[-POINTS:],
                change=scores[-1] - scores[0],
                failed_assertions=sum(failed.values()),
                most_failed=f"{top[0][0]} ({top[0][1]})" if top else None,
            )
        )
    out.sort(key=lambda t: (t.latest, t.pipeline_name, t.node_name))
    return out


def _score(rows: list[dict[str, Any]]) -> float:
    def one(r: dict[str, Any]) -> float:
        if r["status"] == "error":
            return 0.0
        elements = r["element_count"] or 0
        return 1.0 - (r["violation_count"] or 0) / elements if elements else 1.0

    return 100.0 * sum(one(r) for r in rows) / len(rows)
