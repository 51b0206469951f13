"""Registers the patterns as transforms: the built-in plugin for :mod:`odibi_core.patterns`.
Imported when the CLI starts; the pattern modules import nothing heavy."""

from __future__ import annotations

from dataclasses import replace

from odibi_core import hookimpl
from odibi_core.patterns.aggregation import aggregation
from odibi_core.patterns.date_dimension import date_dimension
from odibi_core.patterns.delete_detection import detect_deletes
from odibi_core.patterns.dimension import dimension
from odibi_core.patterns.fact import fact
from odibi_core.patterns.merge import merge
from odibi_core.patterns.scd2 import scd2
from odibi_core.transforms.registry import Transform


@hookimpl
def odibi_register_transforms() -> list[Transform]:
    patterns = [dimension, scd2, date_dimension, fact, aggregation, merge]
    # detect_deletes is a transformer in Odibi (a step over a node's rows), not a pattern.
    return [replace(p, kind="pattern") for p in patterns] + [detect_deletes]
