"""What a plugin returns from ``odibi_check_node_output``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class OutputCheck:
    """The verdict of one plugin on a node's output.

    ``frame``: a replacement frame to write instead (e.g. with quarantined rows removed).
    ``error``: a message that fails the node; nothing is written.
    ``dq_score``: 0-100, stored in ``meta_runs.dq_score``.
    ``data``: JSON-safe details kept on the node result under ``name`` (stories, catalog rows).
    """

    name: str
    frame: Any = None
    error: str | None = None
    dq_score: float | None = None
    data: dict[str, Any] = field(default_factory=dict)
