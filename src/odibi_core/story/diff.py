"""Two runs side by side: what changed in status, rows, schema, DQ score and timing."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from odibi_core.story.history import schema_changes


@dataclass
class Change:
    before: Any
    after: Any

    @property
    def changed(self) -> bool:
        return self.before != self.after

    @property
    def delta(self) -> float | None:
        if isinstance(self.before, int | float) and isinstance(self.after, int | float):
            return self.after - self.before
        return None


@dataclass
class NodeDiff:
    name: str
    status: Change
    rows_out: Change
    duration_ms: Change
    dq_score: Change
    #: Columns added/removed/retyped from the first run to the second (None: not comparable).
    schema: dict[str, list[dict[str, str]]] | None = None
    only_in: str | None = None  # "before" or "after" when the node ran in one run only

    @property
    def changed(self) -> bool:
        schema_changed = bool(self.schema and any(self.schema.values()))
        return bool(
            self.only_in
            or self.status.changed
            or self.rows_out.changed
            or self.dq_score.changed
            or schema_changed
        )


@dataclass
class RunDiff:
    before: dict[str, Any]  # run_id, started_at, path
    after: dict[str, Any]
    status: Change
    duration_ms: Change
    rows_written: Change
    dq_score: Change
    nodes: list[NodeDiff] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["nodes"] = [{**asdict(n), "changed": n.changed} for n in self.nodes]
        return data


def _schema(node: dict[str, Any] | None) -> list[tuple[str, str]]:
    return [(c["name"], c["type"]) for c in (node or {}).get("schema", [])]


def diff(before: dict[str, Any], after: dict[str, Any]) -> RunDiff:
    """Compare two stories (as ``build_story`` wrote them)."""
    a = {n["name"]: n for n in before.get("nodes", [])}
    b = {n["name"]: n for n in after.get("nodes", [])}
    names = list(b) + [n for n in a if n not in b]
    nodes = []
    for name in names:
        x, y = a.get(name, {}), b.get(name, {})
        nodes.append(
            NodeDiff(
                name,
                status=_change(x, y, "status"),
                rows_out=_change(x, y, "rows_out"),
                duration_ms=_change(x, y, "duration_ms"),
                dq_score=_change(x, y, "dq_score"),
                schema=schema_changes(_schema(x), _schema(y)) if _schema(x) else None,
                only_in=None if (name in a and name in b) else ("after" if name in b else "before"),
            )
        )
    return RunDiff(
        {k: before.get(k) for k in ("run_id", "started_at", "pipeline")},
        {k: after.get(k) for k in ("run_id", "started_at", "pipeline")},
        status=_change(before, after, "status"),
        duration_ms=_change(before, after, "duration_ms"),
        rows_written=_change(before, after, "rows_written"),
        dq_score=_change(before, after, "dq_score"),
        nodes=nodes,
    )


def _change(before: dict[str, Any], after: dict[str, Any], key: str) -> Change:
    return Change(before.get(key), after.get(key))
