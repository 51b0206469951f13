"""Running a piece of the runner's work inside a wrapper hook (``odibi_run_*``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def wrapped(caller: Any, work: Callable[[], T], **kwargs: Any) -> T:
    """``work()`` called as the innermost implementation of the hook ``caller`` (a pluggy hook
    caller such as ``ctx.plugins.hook.odibi_run_node``), so the plugins' ``wrapper=True``
    implementations run around it; plain ``work()`` when no plugin implements the hook."""
    if not caller.get_hookimpls():
        return work()
    result: T = caller.call_extra([work], kwargs)
    return result
