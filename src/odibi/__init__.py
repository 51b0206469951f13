"""``import odibi``: Odibi's public names for project code (``from odibi import transform``).

A thin layer over ``odibi_core``: every name here is re-exported from it, nothing is
implemented twice. Imported lazily so that ``import odibi`` stays cheap.
"""

from __future__ import annotations

from typing import Any

_LAZY = {
    "transform": "odibi_core.transforms.custom",
    "FunctionRegistry": "odibi_core.transforms.custom",
    "EngineContext": "odibi_core.transforms.custom",
    "EngineType": "odibi_core.transforms.custom",
}


def __getattr__(name: str) -> Any:
    if name == "__version__":
        from odibi_core import __version__

        return __version__
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'odibi' has no attribute {name!r}")


__all__ = ["__version__", *_LAZY]
