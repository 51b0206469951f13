"""Where the ``odibi`` command's log records go, and how much of them ``-v`` shows.

Odibi logs under ``odibi`` (``odibi.runner``, ``odibi.catalog``, ``odibi.quality``,
``odibi.telemetry``...). Without ``-v`` only warnings are shown; ``-v`` shows Odibi's debug
records while other libraries stay at warnings (the Azure SDK alone logs every HTTP request);
``-vv`` shows every library's debug records too.
"""

from __future__ import annotations

import logging
import sys

FORMAT = "%(levelname)s %(name)s: %(message)s"


class _CurrentStderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is when a record comes, not when the handler was
    made: ``main`` may run many times in one process with stderr redirected (the testing
    helper, notebooks)."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(logging.Formatter(FORMAT))

    @property  # type: ignore[override]
    def stream(self) -> object:
        return sys.stderr

    @stream.setter
    def stream(self, value: object) -> None:
        pass  # always the current sys.stderr


def configure(verbosity: int) -> None:
    """Route records to stderr at the levels ``verbosity`` (0, 1 for -v, 2 for -vv) asks for;
    calling it again replaces what an earlier call set."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, _CurrentStderr)]:
        root.removeHandler(handler)
    root.addHandler(_CurrentStderr())
    root.setLevel(logging.DEBUG if verbosity >= 2 else logging.WARNING)
    logging.getLogger("odibi").setLevel(logging.DEBUG if verbosity >= 1 else logging.NOTSET)
