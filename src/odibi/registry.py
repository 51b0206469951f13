"""``odibi.registry``: Odibi's transform registry and its ``@transform`` decorator."""

from odibi_core.transforms.custom import (
    FunctionRegistry,
    get_registered_function,
    transform,
    validate_function_params,
)

__all__ = ["FunctionRegistry", "get_registered_function", "transform", "validate_function_params"]
