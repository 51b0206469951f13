"""The one error hierarchy, and which failures are worth another attempt.

The CLI catches `OdibiError` once and prints its message. :func:`transient` is the one place
that decides what the runner retries.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from types import TracebackType
from typing import Any

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

    @classmethod
    def at(cls, message: str, mark: Any) -> ConfigIssue:
        """The problem at a source mark (anything with ``file``, ``line``, ``column``), or
        unlocated when ``mark`` is None."""
        if mark is None:
            return cls(message)
        return cls(message, mark.file, mark.line, mark.column)

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


class SQLError(NodeError):
    """A SQL step failed: the engine's message (hints such as DuckDB's "Candidate bindings"
    kept) and the query. ``missing_table`` is the table it names that does not exist, when
    that was the problem, so the runner can say which dependency is missing."""

    def __init__(
        self,
        message: str,
        query: str,
        *,
        missing_table: str | None = None,
        node: str | None = None,
    ):
        self.message = message
        self.query = " ".join(query.split())
        self.missing_table = missing_table
        super().__init__(self._render(), node=node, step="sql")

    def add_hint(self, hint: str) -> None:
        """Append ``hint`` to the message's first line (the one summaries show)."""
        self.message = f"{self.message} ({hint})"
        self.detail = self._render()
        self.args = (self.detail,)

    def _render(self) -> str:
        return f"SQL failed: {self.message}\n  SQL: {self.query}"


class QualityError(NodeError):
    """An error-severity assertion failed; raised by quality plugins to fail the node."""


def brief(exc: BaseException) -> str:
    """``Type: first line`` of an exception, without terminal colour codes: storage drivers
    raise pages of XML and coloured chains that must not end up in the catalog or a summary."""
    line = first_line(exc)
    return f"{type(exc).__name__}: {line}" if line else type(exc).__name__


def first_line(exc: BaseException) -> str:
    """An exception's first line, without colour codes. deltalake (object_store) gives the
    cause on the lines after, each starting with ``↳`` ("Generic MicrosoftAzure error" /
    "↳ Error performing GET ..." / "↳ operation timed out"): those are folded into it."""
    lines = [line.strip() for line in _ANSI.sub("", str(exc)).splitlines() if line.strip()]
    if not lines:
        return ""
    folded = [lines[0]]
    for line in lines[1:]:
        if not line.startswith("↳"):
            break
        folded.append(line.lstrip("↳ "))
    text = ": ".join(folded)
    # A storage service's answer body (an XML error page) says nothing the status did not.
    return text.split("<?xml", 1)[0].rstrip(": ") if "<?xml" in text else text


def plugin_failure(what: str, exc: Exception, func: object = None) -> NodeError:
    """A node error for an exception a plugin's code raised (``what``: "transform 'x'"): the
    exception's type and first line (a ``KeyError``'s text alone is just the key), where in
    ``func``'s file it was raised, and whether another attempt may succeed."""
    where = _raised_in(exc.__traceback__, getattr(func, "__code__", None))
    detail = f"{what} raised {brief(exc)}" + (f" ({where})" if where else "")
    return NodeError(detail, retryable=transient(exc))


def _raised_in(tb: TracebackType | None, code: object) -> str | None:
    """``file:line`` of the last frame of ``tb`` in the file ``code`` was defined in."""
    filename = getattr(code, "co_filename", None)
    found = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == filename:
            found = tb.tb_lineno
        tb = tb.tb_next
    if filename is None or found is None:
        return None
    here = os.getcwd() + os.sep
    shown = filename[len(here) :] if filename.startswith(here) else filename
    return f"{shown}:{found}"


# ---------------------------------------------------------------- what is retried
#
# A failure is retried only when a second attempt can succeed. Transient:
#   * network and storage I/O: the OSError family (ConnectionError, TimeoutError, socket and
#     DNS errors, object_store's I/O errors through deltalake, requests/urllib3/aiohttp
#     connection errors), except the ones about the path itself (not found, a directory,
#     permission denied, already exists);
#   * the Azure SDK's "request did not get through" errors (ServiceRequestError,
#     ServiceResponseError) and answers that say "later": 408, 429 (throttling), 500, 502,
#     503, 504;
#   * Delta commit conflicts (deltalake's CommitFailedError, Delta on Spark's Concurrent*
#     exceptions) and Spark's socket timeouts and refused connections (from the JVM);
#   * whatever an engine marked ``NodeError(retryable=True)`` (it knows its drivers best).
# Deterministic, failing the same way every time: everything else, notably programming errors
# in plugins (KeyError, TypeError, ValueError, AttributeError, NotImplementedError...), SQL
# binder and parser errors, data errors (a cast a value cannot take), config and quality
# errors (every other OdibiError). Classes are matched by name anywhere in their MRO, so no
# driver is imported to classify its errors.

_TRANSIENT_NAMES = frozenset(
    {
        "CommitFailedError",
        "ConcurrentModificationException",
        "DeltaConcurrentModificationException",
        "ConcurrentAppendException",
        "ConcurrentDeleteReadException",
        "ConcurrentDeleteDeleteException",
        "ConcurrentTransactionException",
        "ConcurrentWriteException",
        "MetadataChangedException",
        "ProtocolChangedException",
        "ServiceRequestError",
        "ServiceResponseError",
        "SocketTimeoutException",
        "ConnectException",
    }
)
_PERMANENT_OS_ERRORS = (
    FileNotFoundError,
    FileExistsError,
    PermissionError,
    IsADirectoryError,
    NotADirectoryError,
)
_RETRY_LATER_STATUS = frozenset({408, 429, 500, 502, 503, 504})


def transient(exc: BaseException) -> bool:
    """Whether another attempt may succeed where ``exc`` failed (see the rules above). An
    exception raised ``from`` a transient one counts as transient."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, NodeError):
            return current.retryable  # the engine (or plugin) decided
        if isinstance(current, OdibiError):
            return False
        if _transient_itself(current):
            return True
        current = current.__cause__
    return False


def _transient_itself(exc: BaseException) -> bool:
    if isinstance(exc, OSError):
        return not isinstance(exc, _PERMANENT_OS_ERRORS)
    names = {cls.__name__ for cls in type(exc).__mro__}
    if names & _TRANSIENT_NAMES:
        return True
    if "HttpResponseError" in names:
        return getattr(exc, "status_code", None) in _RETRY_LATER_STATUS
    java = getattr(exc, "java_exception", None)  # py4j's wrapper of a JVM exception
    if java is not None:
        try:
            return str(java.getClass().getSimpleName()) in _TRANSIENT_NAMES
        except Exception:  # the JVM is gone: nothing to ask, nothing to retry
            return False
    return False
