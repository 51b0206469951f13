"""Shared SQL building blocks for the built-in transforms (private).

Listing and checking columns, quoting column lists, numbering rows so results keep input order,
formatting literals, and the ``_Params`` base every built-in params model uses. Imported when the
CLI starts, so nothing heavy is imported here.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, ConfigDict

from odibi_core.errors import NodeError
from odibi_core.transforms.registry import TransformContext

# Helper columns added to number rows; dropped again before a result is returned.
_POS = "__odibi_pos"
_RANK = "__odibi_rank"
_SRC = "__odibi_src"
_RPOS = "__odibi_rpos"
_LEFT = "__odibi_left"
_RIGHT = "__odibi_right"


class _Params(BaseModel):
    # Built on first use: a run validates only the transforms it uses.
    model_config = ConfigDict(extra="forbid", defer_build=True)


def _one_or_many(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


# ---------------------------------------------------------------- helpers


def _fail(ctx: TransformContext, step: str, message: str) -> NodeError:
    return NodeError(message, node=ctx.node.name, step=step)


def _columns(ctx: TransformContext, frame: Any) -> list[str]:
    return [name for name, _ in ctx.engine.schema(frame)]


def _check_columns(
    ctx: TransformContext,
    step: str,
    wanted: Iterable[str],
    have: list[str],
    what: str = "column",
    where: str = "the data",
) -> None:
    """Fail naming every column of ``wanted`` missing from ``have``."""
    missing = [c for c in dict.fromkeys(wanted) if c not in have]
    if not missing:
        return
    names = ", ".join(f"'{c}'" for c in missing)
    plural = "s" if len(missing) > 1 else ""
    message = f"{what}{plural} {names} not in {where}"
    if len(missing) == 1:
        match = difflib.get_close_matches(missing[0], have, n=1, cutoff=0.6)
        if match:
            message += f" (did you mean '{match[0]}'?)"
    message += f"; columns: {', '.join(have) or 'none'}"
    raise _fail(ctx, step, message)


def _numbered(ctx: TransformContext, source: str = "df") -> str:
    """``source`` with a row-position column (increasing in input order; not consecutive on
    every engine)."""
    return f"SELECT *, {ctx.row_position()} AS {ctx.quote(_POS)} FROM {source}"


def _select_list(ctx: TransformContext, columns: Iterable[str], alias: str = "") -> str:
    prefix = f"{alias}." if alias else ""
    return ", ".join(prefix + ctx.quote(c) for c in columns)


def _literal(value: str | int | float | bool) -> str:
    """A Python scalar as an SQL literal."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    return "'" + value.replace("'", "''") + "'"
