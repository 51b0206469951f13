"""``odibi.enums``: the engine names a custom function can compare ``context.engine_type`` with."""

from odibi_core.transforms.custom import EngineType

__all__ = ["EngineType"]
