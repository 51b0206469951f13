"""The one error hierarchy. The CLI catches `OdibiError` once and prints its message."""

from __future__ import annotations

import re
from dataclasses import dataclass

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class OdibiError(Exception):
    """A problem the user can fix; printed as one line, without a traceback."""

    exit_code = 2


@dataclass(frozen=True)
class ConfigIssue:
    """One problem in a project file, located where the user can find it."""

    message: str
    file: str | None = None
    line: int | None = None
    column: int | None = None

    def render(self) -> str:
        where = ""
        if self.file:
            where = self.file
            if self.line:
                where += f":{self.line}:{self.column or 1}"
            where += ": "
        return f"{where}{self.message}"


class ConfigError(OdibiError):
    """An invalid project. Carries every issue found in one pass."""

    def __init__(self, issues: list[ConfigIssue] | str):
        if isinstance(issues, str):
            issues = [ConfigIssue(issues)]
        self.issues = issues
        super().__init__("\n".join(i.render() for i in issues))


class PluginError(OdibiError):
    """A plugin failed to load, declared a duplicate name or implemented an unknown hook."""


class ConnectionFailed(OdibiError):
    """A connection could not get its credentials or reach its service."""

    exit_code = 1


class CatalogError(OdibiError):
    """The System Catalog could not be read or written."""

    exit_code = 1


class NodeError(OdibiError):
    """A node failed while running. ``detail`` says what; ``node`` and ``step`` say where
    (the runner fills them in when the engine did not know)."""

    exit_code = 1

    def __init__(
        self,
        detail: str,
        *,
        node: str | None = None,
        step: str | None = None,
        retryable: bool = False,
    ):
        self.detail = detail
        self.node = node
        self.step = step
        #: True when another attempt may succeed (I/O trouble, a commit conflict).
        self.retryable = retryable
        super().__init__(detail)

    def __str__(self) -> str:
        where = f"node '{self.node}'" if self.node else ""
        if self.step:
            where = f"{where} ({self.step})" if where else self.step
        return f"{where}: {self.detail}" if where else self.detail


class QualityError(NodeError):
    """An error-severity assertion failed; raised by quality plugins to fail the node."""


def brief(exc: BaseException) -> str:
    """``Type: first line`` of an exception, without terminal colour codes: storage drivers
    raise pages of XML and coloured chains that must not end up in the catalog or a summary."""
    lines = [line.strip() for line in _ANSI.sub("", str(exc)).splitlines() if line.strip()]
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__
