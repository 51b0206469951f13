"""Entry point module of ``odibi_quality``: the hooks it implements.

Assertion types and validation arrive with the data-quality issue; registering now keeps the
package on the same path as any third-party plugin from the start.
"""

from __future__ import annotations

from typing import Any

from odibi_core import hookimpl


@hookimpl
def odibi_register_assertion_types() -> list[Any]:
    return []
