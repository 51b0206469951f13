"""``unit_convert``: Odibi's unit conversion, with Pint's unit names and Odibi's engineering
aliases (``psig``, ``gpm``, ``mmbtu`` …).

Every conversion Pint makes between linear or offset units (temperatures included) is
``a * x + b``, so Pint is asked once per column for ``a`` and ``b`` and the rows are converted
in SQL, the same on every engine. Gauge pressure (``psig``) is absolute pressure minus
``gauge_pressure_offset``. Pint is imported when a conversion runs, not when a project is
validated.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any, Literal

from pydantic import ConfigDict, Field

from odibi_core.transforms._select import with_columns
from odibi_core.transforms._sql import _check_columns, _columns, _fail, _Params
from odibi_core.transforms.registry import TransformContext, transform

#: Units Odibi adds to Pint's (gauge pressure is handled apart: it has an offset).
_ALIASES = (
    "psig = psi",
    "psia = psi",
    "mcf = 1000 * foot ** 3",
    "mmcf = 1e6 * foot ** 3",
    "mscf = 1000 * foot ** 3",
    "mmscf = 1e6 * foot ** 3",
    "mbtu = 1000 * BTU",
    "mmbtu = 1e6 * BTU",
    "klb = 1000 * pound",
    "mlb = 1e6 * pound",
    "kgal = 1000 * gallon",
    "mgd = 1e6 * gallon / day",
    "gpm = gallon / minute",
    "cfm = foot ** 3 / minute",
    "scfm = foot ** 3 / minute",
    "acfm = foot ** 3 / minute",
)


class Conversion(_Params):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, defer_build=True)

    from_unit: str = Field(alias="from", min_length=1)
    to: str = Field(min_length=1)
    #: The column written; by default the source column is converted in place.
    output: str | None = None


class UnitConvertParams(_Params):
    conversions: dict[str, Conversion] = Field(min_length=1)
    gauge_pressure_offset: str = "14.696 psia"
    errors: Literal["null", "raise", "ignore"] = "null"


@lru_cache(maxsize=1)
def _registry() -> Any:
    import pint

    registry: Any = pint.UnitRegistry()
    for definition in _ALIASES:
        registry.define(definition)
    return registry


def _is_gauge(unit: str) -> bool:
    return unit.strip().lower() == "psig"


def _linear(from_unit: str, to_unit: str, gauge_psi: float) -> tuple[float, float]:
    """``(a, b)`` with ``to = a * from + b``; raises ValueError naming what Pint refused."""
    import pint

    ureg = _registry()

    def convert(value: float) -> float:
        unit = from_unit
        if _is_gauge(unit):
            value, unit = value + gauge_psi, "psi"
        if _is_gauge(to_unit):
            return float(ureg.Quantity(value, unit).to("psi").magnitude) - gauge_psi
        return float(ureg.Quantity(value, unit).to(to_unit).magnitude)

    try:
        b = convert(0.0)
        a = (convert(1000.0) - b) / 1000.0  # over a wide span: fewer digits lost to b
        near = convert(1.0)
    except (pint.errors.PintError, AttributeError, TypeError, ValueError) as exc:
        raise ValueError(str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from None
    if not math.isclose(near, a + b, rel_tol=1e-9, abs_tol=1e-9):
        raise ValueError(f"'{from_unit}' to '{to_unit}' is not a linear conversion")
    return a, b


@transform("unit_convert", params=UnitConvertParams)
def unit_convert(
    ctx: TransformContext,
    df: Any,
    conversions: dict[str, Conversion],
    gauge_pressure_offset: str = "14.696 psia",
    errors: str = "null",
) -> Any:
    """Convert columns between units (Pint's names): in place or into ``output`` columns."""
    _check_columns(ctx, "unit_convert", conversions, _columns(ctx, df))
    try:
        gauge_psi = float(_registry()(gauge_pressure_offset).to("psi").magnitude)
    except Exception as exc:  # Pint raises several kinds for a bad quantity
        raise _fail(
            ctx, "unit_convert", f"gauge_pressure_offset '{gauge_pressure_offset}': {exc}"
        ) from None
    new: dict[str, str] = {}
    for column, spec in conversions.items():
        target = spec.output or column
        try:
            a, b = _linear(spec.from_unit, spec.to, gauge_psi)
        except ValueError as exc:
            message = f"{column}: cannot convert '{spec.from_unit}' to '{spec.to}': {exc}"
            if errors == "raise":
                raise _fail(ctx, "unit_convert", message + " (errors: raise)") from None
            if errors == "null":
                new[target] = "CAST(NULL AS DOUBLE)"
            continue  # ignore: the column stays as it was
        value = f"TRY_CAST({ctx.quote(column)} AS DOUBLE)"
        new[target] = f"({a!r} * {value} + {b!r})" if b else f"({a!r} * {value})"
    return with_columns(ctx, df, new) if new else df
