"""The hooks of the ``odibi-luhn`` plugin."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from odibi_core import hookimpl
from odibi_luhn.checksum import is_valid
from odibi_quality.types import AssertionType, CheckContext


class LuhnParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    column: str


def _expectations(params: LuhnParams, ctx: CheckContext) -> list[Any]:
    from odibi_luhn.expectation import ExpectColumnValuesToBeValidLuhn

    return [ExpectColumnValuesToBeValidLuhn(column=params.column)]


def _failing_rows(frame: Any, params: LuhnParams, ctx: CheckContext) -> Any:
    column = frame[params.column]
    return column.notna() & ~column.map(is_valid, na_action="ignore").fillna(True).astype(bool)


LUHN = AssertionType(
    "luhn",
    LuhnParams,
    _expectations,
    lambda params: [params.column],
    _failing_rows,
    description="values pass the Luhn checksum (card and account numbers)",
)


@hookimpl
def odibi_register_assertion_types() -> list[AssertionType]:
    return [LUHN]
