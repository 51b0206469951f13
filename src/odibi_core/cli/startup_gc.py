"""Garbage collection of an ``odibi run`` process: none while it starts up.

Starting a run imports the data libraries and builds their module state, ~150k objects that
live as long as the process and are almost never garbage. Python's collector counts them as
new allocations and traverses them in two full collections and ~240 young ones: ~80 ms of a
~950 ms ``odibi run`` of a 50-node pipeline (``benchmarks/startup_gc.py``). So the CLI keeps
automatic collection off until the first node has finished (by then the engine's libraries
are imported), then freezes what exists (later collections skip it) and turns it back on. A
first node may run for hours: collection resumes after ``MAX_PAUSE_S`` whatever happens.
Only the ``odibi`` console script does this (:func:`own_process`): an application embedding
Odibi, or calling :func:`odibi_core.cli.main.main`, owns its process's collector.
"""

from __future__ import annotations

import gc
import threading
from typing import TYPE_CHECKING

from odibi_core import hookimpl

if TYPE_CHECKING:
    from odibi_core.config.models import NodeConfig
    from odibi_core.runner.context import RunContext
    from odibi_core.runner.results import NodeResult, PipelineResult

#: The longest pause: start-up takes about a second; a long first node gets its collector.
MAX_PAUSE_S = 10.0
_owned = False  # set by the console script, whose process ends with the command


def own_process() -> None:
    """Let ``odibi run`` manage this process's collector (the console script calls this)."""
    global _owned
    _owned = True


class StartupCollection:
    """Pauses automatic collection from :meth:`pause` to the end of the first node (or of the
    run, if no node finished), at most ``MAX_PAUSE_S``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._paused = False
        self._deadline: threading.Timer | None = None

    def pause(self) -> None:
        with self._lock:
            if _owned and gc.isenabled():
                gc.disable()
                self._paused = True
                self._deadline = threading.Timer(MAX_PAUSE_S, self.resume)
                self._deadline.daemon = True
                self._deadline.start()

    def resume(self) -> None:
        with self._lock:
            if not self._paused:
                return
            self._paused = False
            if self._deadline is not None:
                self._deadline.cancel()
            gc.freeze()
            gc.enable()

    @hookimpl
    def odibi_after_node_run(self, ctx: RunContext, node: NodeConfig, result: NodeResult) -> None:
        self.resume()

    @hookimpl
    def odibi_after_pipeline_run(self, ctx: RunContext, result: PipelineResult) -> None:
        self.resume()
