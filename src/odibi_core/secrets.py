"""What a secret is, decided once per loaded project, and scrubbing it from every output.

A value is a secret (SPEC §7) when it is at least four characters long and

- it sits under a secret-named key anywhere in the project file (``password``, ``account_key``,
  ``vars.db_password`` …), after ``${...}`` substitution;
- it is the value of an environment variable with a secret-like name (``DB_PASSWORD``,
  ``AZURE_STORAGE_KEY``, ``GITHUB_TOKEN`` …), ``.env`` included, whether or not the project uses it;
- the project declares it: ``secrets: [NAME, vars.name]`` names environment variables or vars
  whose values are secret whatever their names;
- or a connection obtained it while running (a key read from Key Vault, the parts of a
  connection string).

Outputs (catalog rows, stories, Data Docs, quarantine reasons, spans, logs, console) scrub those
values, and the escaped spellings a writer might turn them into (JSON, HTML, URL encoding).
"""

from __future__ import annotations

import html
import json
import logging
import os
import re
import threading
import weakref
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote

MASK = "***"
#: Shorter values would scrub ordinary words and numbers out of every message.
MIN_LENGTH = 4

_SECRET_KEY = re.compile(
    r"(password|passwd|pwd|secret|token|account_key|access_key|api_key|apikey|"
    r"connection_string|conn_str|credential|credentials|private_key|sas|client_secret)$",
    re.IGNORECASE,
)
#: Environment variable names: the same words, and a trailing ``_KEY`` (``AZURE_STORAGE_KEY``);
#: config keys named ``*_key`` are often column names (``natural_key``), so only here.
_SECRET_ENV = re.compile(
    r"(PASSWORD|PASSWD|PWD|SECRET|TOKEN|APIKEY|CREDENTIALS?|CONNECTION_STRING|CONN_STR|SAS|"
    r"(^|_)KEY)$",
    re.IGNORECASE,
)
#: Settings that look like secrets by name but never are.
_NOT_SECRET = {"true", "false", "none", "null", "yes", "no", "on", "off"}
_PLACEHOLDER_ONLY = re.compile(r"^\$\{[^}]+\}$")


def is_secret_key(key: str) -> bool:
    """Whether a config key names a secret (``password``, ``auth.client_secret`` …)."""
    return bool(_SECRET_KEY.search(key))


def is_secret_env(name: str) -> bool:
    """Whether an environment variable's name says it holds a secret."""
    return bool(_SECRET_ENV.search(name))


def redact(data: Any) -> Any:
    """A copy of ``data`` with the values of secret-named keys replaced by ``***``.

    A value that is only a placeholder (``${env:DB_PASSWORD}``) is what the user wrote, not the
    secret, and is kept."""
    if isinstance(data, dict):
        return {
            k: (
                MASK
                if isinstance(k, str) and is_secret_key(k) and v and not _is_placeholder(v)
                else redact(v)
            )
            for k, v in data.items()
        }
    if isinstance(data, list):
        return [redact(v) for v in data]
    return data


def _is_placeholder(value: Any) -> bool:
    return isinstance(value, str) and bool(_PLACEHOLDER_ONLY.match(value))


def secret_values(data: Any) -> list[str]:
    """Every string under a secret-named key, at any depth (``auth.account_key``)."""
    found: list[str] = []
    if isinstance(data, dict):
        for key, value in data.items():
            if isinstance(key, str) and is_secret_key(key) and value is not None:
                found.extend(_strings(value))
            else:
                found.extend(secret_values(value))
    elif isinstance(data, list):
        for value in data:
            found.extend(secret_values(value))
    return found


def _strings(value: Any) -> list[str]:
    """The text of a secret-named key's value: a list of passwords counts too."""
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return [str(value)]


def _usable(value: str) -> bool:
    value = value.strip()
    return len(value) >= MIN_LENGTH and value.lower() not in _NOT_SECRET


def _spellings(value: str) -> set[str]:
    """The value as writers may have escaped it: JSON strings, HTML text, URL parts."""
    forms = {value, json.dumps(value)[1:-1], html.escape(value), quote(value, safe="")}
    return {f for f in forms if len(f) >= MIN_LENGTH}


class SecretSet:
    """The secrets of one project, and scrubbing them from text and data.

    Built once when the project is loaded; connections whose secrets are only known while
    running (Key Vault) are watched, not copied, so a key fetched mid-run is scrubbed too.
    """

    def __init__(self, values: Iterable[str] = ()):
        self._static = {v for v in values if isinstance(v, str) and _usable(v)}
        self._watched: list[Any] = []
        self._lock = threading.Lock()
        self._key: frozenset[str] | None = None
        self._pattern: re.Pattern[str] | None = None
        _LIVE.add(self)

    @classmethod
    def for_project(
        cls,
        data: Mapping[str, Any],
        declared: Iterable[str] = (),
        environ: Mapping[str, str] | None = None,
    ) -> SecretSet:
        """The secrets of a project's substituted data (see the module docstring)."""
        environ = os.environ if environ is None else environ
        values = secret_values(dict(data))
        values += [v for k, v in environ.items() if is_secret_env(k)]
        variables = data.get("vars") if isinstance(data.get("vars"), dict) else {}
        for name in declared:
            if name.startswith("vars."):
                node: Any = variables
                for part in name[5:].split("."):
                    node = node.get(part) if isinstance(node, dict) else None
                if node is not None:
                    values.extend(_strings(node))
            elif name in environ:
                values.append(environ[name])
        return cls(values)

    def watch(self, connections: Iterable[Any]) -> None:
        """Also scrub what these connections report from ``secrets()`` while running."""
        with self._lock:
            self._watched = list(connections)

    def add(self, *values: str) -> None:
        with self._lock:
            self._static |= {v for v in values if isinstance(v, str) and _usable(v)}

    @property
    def values(self) -> set[str]:
        found = set(self._static)
        for connection in self._watched:
            found |= {v for v in connection.secrets() if isinstance(v, str) and _usable(v)}
        return found

    def __bool__(self) -> bool:
        return bool(self._static or self._watched)

    def _compiled(self) -> re.Pattern[str] | None:
        key = frozenset(self.values)
        with self._lock:
            if key != self._key:
                forms = sorted({f for v in key for f in _spellings(v)}, key=len, reverse=True)
                self._pattern = re.compile("|".join(map(re.escape, forms))) if forms else None
                self._key = key
            return self._pattern

    def scrub(self, text: str) -> str:
        """``text`` with every secret (and its escaped spellings) replaced by ``***``."""
        if not text or not self:
            return text
        pattern = self._compiled()
        return pattern.sub(MASK, text) if pattern else text

    def scrub_data(self, data: Any) -> Any:
        """A copy of ``data`` (dicts, lists, tuples) with every string scrubbed."""
        if not self:
            return data
        pattern = self._compiled()
        if pattern is None:
            return data
        return _scrub_data(data, pattern)


def _scrub_data(data: Any, pattern: re.Pattern[str]) -> Any:
    if isinstance(data, str):
        return pattern.sub(MASK, data)
    if isinstance(data, dict):
        return {_scrub_data(k, pattern): _scrub_data(v, pattern) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return type(data)(_scrub_data(v, pattern) for v in data)
    return data


#: Every secret set still in use in this process, for outputs that are not tied to one run:
#: log records and the CLI's last-resort error line.
_LIVE: weakref.WeakSet[SecretSet] = weakref.WeakSet()


def scrub_live(text: str) -> str:
    """``text`` scrubbed of the secrets of every project loaded in this process."""
    for secrets in list(_LIVE):
        text = secrets.scrub(text)
    return text


class ScrubbingFilter(logging.Filter):
    """A logging filter that scrubs records of every live project's secrets (the CLI adds it to
    its handlers; an application embedding Odibi can add it to its own)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not _LIVE:
            return True
        message = record.getMessage()
        scrubbed = scrub_live(message)
        if record.exc_info and record.exc_info[1] is not None:
            # The traceback is rendered later by the formatter: render it here, scrubbed.
            formatted = logging.Formatter().formatException(record.exc_info)
            scrubbed = f"{scrubbed}\n{scrub_live(formatted)}"
            record.exc_info = None
            record.exc_text = None
        if scrubbed != message or record.args:
            record.msg, record.args = scrubbed, None
        return True


def restore_templates(data: Any, templates: Mapping[str, str]) -> Any:
    """A copy of ``data`` where each string that ``${...}`` substitution produced is replaced by
    what the user wrote (``${env:DB_PASSWORD}``), as the project's definitions are stored."""
    if not templates:
        return data
    if isinstance(data, str):
        return templates.get(data, data)
    if isinstance(data, dict):
        return {k: restore_templates(v, templates) for k, v in data.items()}
    if isinstance(data, list):
        return [restore_templates(v, templates) for v in data]
    return data
