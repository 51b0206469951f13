"""Odibi data quality: ``quality`` blocks validated with Great Expectations (SPEC §4).

Joins the core only through hooks, loaded from the ``odibi`` entry point group.
"""

__version__ = "0.1.0"
