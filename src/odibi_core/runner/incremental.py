"""Incremental reads: rolling windows and stateful high-water marks (kept in ``meta_state``)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from odibi_core.errors import NodeError

if TYPE_CHECKING:
    from odibi_core.config.models import IncrementalConfig
    from odibi_core.engines.base import Engine

_UNITS = {
    "minute": 60,
    "hour": 3600,
    "day": 86400,
    "week": 7 * 86400,
    "month": 30 * 86400,
    "year": 365 * 86400,
}
_LAG = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_LAG_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def state_key(inc: IncrementalConfig) -> str:
    return inc.state_key or f"hwm:{inc.column}"


def apply(
    engine: Engine, frame: Any, inc: IncrementalConfig, previous: Any, now: datetime | None = None
) -> tuple[Any, Any]:
    """Filter ``frame`` to the new rows; return it with the high-water mark to store."""
    now = now or datetime.now(UTC)
    if inc.mode == "rolling_window":
        window = timedelta(
            seconds=(inc.lookback if inc.lookback is not None else 1) * _UNITS[inc.unit or "day"]
        )
        frame = engine.filter_newer(frame, inc.column, (now - window).isoformat(), True)
        return frame, _newest(previous, engine.max_value(frame, inc.column))
    if previous is not None:
        bound = _minus_lag(previous, inc.watermark_lag)
        frame = engine.filter_newer(frame, inc.column, bound, False)
    return frame, _newest(previous, engine.max_value(frame, inc.column))


def pushdown(
    inc: IncrementalConfig, previous: Any, now: datetime | None = None
) -> tuple[Any, bool] | None:
    """``(bound, inclusive)``: the rows :func:`apply` will keep are those whose column is past
    ``bound``, for a format that asks its source for only those (None: every row). Taken
    before the read, so a window starts no later than ``apply``'s."""
    now = now or datetime.now(UTC)
    if inc.mode == "rolling_window":
        window = timedelta(
            seconds=(inc.lookback if inc.lookback is not None else 1) * _UNITS[inc.unit or "day"]
        )
        return (now - window).isoformat(), True
    if previous is None:
        return None
    return _minus_lag(previous, inc.watermark_lag), False


def _newest(previous: Any, current: Any) -> Any:
    if current is None:
        return previous
    if previous is None:
        return current
    try:
        return max(previous, current)
    except TypeError:
        return current


def _minus_lag(value: Any, lag: str | None) -> Any:
    if not lag:
        return value
    match = _LAG.match(lag)
    if not match:
        raise NodeError(f"watermark_lag '{lag}' is not a duration like 30m, 2h or 1d")
    seconds = float(match.group(1)) * _LAG_SECONDS[match.group(2)]
    if isinstance(value, int | float):
        return value - seconds
    try:
        return (datetime.fromisoformat(str(value)) - timedelta(seconds=seconds)).isoformat()
    except ValueError:
        raise NodeError(f"cannot subtract watermark_lag from high-water mark {value!r}") from None
