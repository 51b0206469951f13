"""Odibi's dimensional-modelling patterns (``pattern: {type, params}`` or ``transformer:``):
``dimension``, ``scd2``, ``date_dimension``, ``fact``, ``aggregation`` and ``merge``, and the
``detect_deletes`` transformer, which reads a table back as they do.

Each is a transform registered by the built-in plugin :mod:`odibi_core.patterns.builtin`, so
``odibi validate`` checks its params like any transformer's. Patterns that build on their own
table (dimension, scd2) read it back through the IO layer, so they work on every connection.
"""

from __future__ import annotations

#: Every pattern type a node's ``pattern.type`` may name.
PATTERN_TYPES = ("dimension", "scd2", "date_dimension", "fact", "aggregation", "merge")
#: Patterns that make their rows from nothing: their node needs no input.
GENERATORS = frozenset({"date_dimension"})
