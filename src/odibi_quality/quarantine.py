"""Writing failing rows, with why they failed, to the quarantine table."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from odibi_quality.config import QuarantineConfig

if TYPE_CHECKING:
    from odibi_core.runner.context import RunContext

#: Quarantine rows are upserted on these keys, so a retried node replaces what an earlier
#: attempt of the same run quarantined instead of adding it again.
KEYS = ["_run_id", "_node", "_row"]


def write_quarantine(
    ctx: RunContext, node: str, frame: Any, mask: Any, reasons: Any, target: QuarantineConfig
) -> None:
    from odibi_core.config.models import WriteConfig

    rows = frame[mask].copy()
    rows["_rejection_reason"] = [ctx.scrub(r) if isinstance(r, str) else r for r in reasons[mask]]
    rows["_run_id"] = ctx.run_id
    rows["_node"] = node
    rows["_row"] = frame.index[mask].to_numpy()
    rows["_rejected_at"] = datetime.now(UTC)
    spec = WriteConfig(
        connection=target.connection,
        format=target.format,
        path=target.path,
        table=target.table,
        mode="upsert",
        options={"keys": KEYS},
    )
    ctx.engine.write(rows.reset_index(drop=True), spec, ctx.connections[target.connection])
