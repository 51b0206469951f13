"""geocode: accepted, as Odibi accepts it, and like Odibi's a stub that passes rows on
unchanged with a warning, so projects naming it run unchanged. Imported when the CLI starts,
so nothing heavy is imported here.
"""

from __future__ import annotations

import logging
from typing import Any

from pydantic import Field

from odibi_core.transforms._sql import _Params
from odibi_core.transforms.registry import TransformContext, transform

log = logging.getLogger("odibi.transforms")


class GeocodeParams(_Params):
    address_col: str = Field(min_length=1)
    output_col: str = "lat_long"


@transform("geocode", params=GeocodeParams)
def geocode(ctx: TransformContext, df: Any, address_col: str, output_col: str = "lat_long") -> Any:
    """A stub, as in Odibi: no geocoding is done and the rows pass on unchanged."""
    log.warning("node %s: geocode is a stub; no geocoding was done", ctx.node.name)
    return df
