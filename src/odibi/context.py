"""``odibi.context``: what a custom transform function receives as ``context``."""

from odibi_core.transforms.custom import EngineContext

__all__ = ["EngineContext"]
