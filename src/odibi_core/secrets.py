"""What a secret is, decided once per loaded project, and scrubbing it from every output.

A value is a secret (SPEC §7) when it is at least four characters long and

- it sits under a secret-named key (``password``, ``account_key``, ``vars.db_password`` …) in a
  connection, ``vars``, any other top-level block, or a read/write's ``options``, after
  ``${...}`` substitution (transform and quality params are maps keyed by column names, so a
  column called ``api_token`` does not make its type a secret);
- it is the value of an environment variable with a secret-like name (``DB_PASSWORD``,
  ``AZURE_STORAGE_KEY``, ``GITHUB_TOKEN`` …), ``.env`` included, whether or not the project uses
  it, unless it is short (under 8 characters) or reads like a name (``PRIMARY_KEY=order_id``);
- the project declares it: ``secrets: [NAME, vars.name]`` names environment variables or vars
  whose values are secret whatever their names;
- it is an alert channel's ``url`` (a Slack or Teams webhook URL is its own credential);
- or a connection obtained it while running (a key read from Key Vault, the parts of a
  connection string).

Outputs (catalog rows, stories, Data Docs, quarantine reasons, spans, logs, console) scrub those
values, and the escaped spellings a writer might turn them into (JSON, HTML, Python repr, URL
encoding). Only values are scrubbed, never the keys of a mapping or machine state (high-water
marks), so what programs read back keeps its shape.
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
from urllib.parse import quote, quote_plus

MASK = "***"
#: Shorter values would scrub ordinary words and numbers out of every message.
MIN_LENGTH = 4
#: Environment variables are secrets by name only; shorter values there are more often
#: settings than keys.
ENV_MIN_LENGTH = 8

_SECRET_KEY = re.compile(
    r"(password|passwd|(^|_)pwd|(^|_)pass|passphrase|secret|secret_?key|token|account_?key|"
    r"access_?key|api[-_]?key|connection_?string|conn_?str|credentials?|private_?key|"
    r"(^|_)sas|authorization|(^|_)dsn|(^|_)salt)$",
    re.IGNORECASE,
)
#: Environment variable names: the same words, and a trailing ``_KEY`` (``AZURE_STORAGE_KEY``);
#: config keys named ``*_key`` are often column names (``natural_key``), so only here.
_SECRET_ENV = re.compile(
    r"(PASSWORD|PASSWD|(^|_)PWD|(^|_)PASS|PASSPHRASE|SECRET|TOKEN|APIKEY|CREDENTIALS?|"
    r"CONNECTION_STRING|CONN_STR|(^|_)SAS|(^|_)KEY|(^|_)DSN|DATABASE_URL)$",
    re.IGNORECASE,
)
#: Shells set these; the working directory is no secret.
_NOT_SECRET_ENV = {"PWD", "OLDPWD"}
#: Settings that look like secrets by name but never are.
_NOT_SECRET = {"true", "false", "none", "null", "yes", "no", "on", "off"}
#: Values that read like a column or table name (``order_id``): an env var ``SORT_KEY``
#: holding one is a setting.
_NAME_LIKE = re.compile(r"[a-z_][a-z0-9_]*")
#: Blocks of a node that map column names to values (``casts: {api_token: string}``): their
#: keys name columns, not secrets.
_COLUMN_KEYED = {"params", "transform", "quality", "validation", "contracts", "columns", "pattern"}
_PLACEHOLDER_ONLY = re.compile(r"^\$\{[^}]+\}$")


def is_secret_key(key: str) -> bool:
    """Whether a config key names a secret (``password``, ``auth.client_secret`` …)."""
    return bool(_SECRET_KEY.search(key))


def is_secret_env(name: str) -> bool:
    """Whether an environment variable's name says it holds a secret."""
    return name not in _NOT_SECRET_ENV and bool(_SECRET_ENV.search(name))


def _env_secret(value: str) -> bool:
    value = value.strip()
    return len(value) >= ENV_MIN_LENGTH and not _NAME_LIKE.fullmatch(value)


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


def secret_values(data: Any, skip: frozenset[str] = frozenset()) -> list[str]:
    """Every string under a secret-named key, at any depth (``auth.account_key``), except in
    the blocks named by ``skip``."""
    found: list[str] = []
    if isinstance(data, dict):
        for key, value in data.items():
            if isinstance(key, str) and key in skip:
                continue
            if isinstance(key, str) and is_secret_key(key) and value is not None:
                found.extend(_strings(value))
            else:
                found.extend(secret_values(value, skip))
    elif isinstance(data, list):
        for value in data:
            found.extend(secret_values(value, skip))
    return found


def _alert_urls(alerts: Any) -> list[str]:
    """Every ``alerts[].url``: whoever has a webhook's URL can post to the channel."""
    if not isinstance(alerts, list):
        return []
    return [a["url"] for a in alerts if isinstance(a, dict) and isinstance(a.get("url"), str)]


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
    """The value as writers may have escaped it: JSON strings, HTML text and attributes, a
    Python repr (GX renders kwargs so), URL parts."""
    forms = {
        value,
        value.strip(),
        json.dumps(value)[1:-1],
        html.escape(value),
        html.escape(value, quote=False),
        repr(value)[1:-1],
        quote(value, safe=""),
        quote_plus(value, safe=""),
    }
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
        self._pattern: _Matcher | None = None
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
        values = secret_values(dict(data), frozenset(_COLUMN_KEYED))
        values += _alert_urls(data.get("alerts"))
        values += [v for k, v in environ.items() if is_secret_env(k) and _env_secret(v)]
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

    @property
    def values(self) -> set[str]:
        found = set(self._static)
        for connection in self._watched:
            found |= {v for v in connection.secrets() if isinstance(v, str) and _usable(v)}
        return found

    def __bool__(self) -> bool:
        return bool(self._static or self._watched)

    def _compiled(self) -> _Matcher | None:
        key = frozenset(self.values)
        with self._lock:
            if key != self._key:
                forms = sorted({f for v in key for f in _spellings(v)}, key=len, reverse=True)
                self._pattern = _Matcher(forms) if forms else None
                self._key = key
            return self._pattern

    def scrub(self, text: str) -> str:
        """``text`` with every secret (and its escaped spellings) replaced by ``***``."""
        if not text or not self:
            return text
        matcher = self._compiled()
        return matcher.mask(text) if matcher else text

    def scrub_data(self, data: Any, keep: frozenset[str] = frozenset()) -> Any:
        """A copy of ``data`` (dicts, lists, tuples, sets) with every string value scrubbed;
        the keys of mappings are kept, so the data keeps its shape, and so are the values of
        the keys in ``keep`` (ids, names, times that programs read back)."""
        if not self:
            return data
        matcher = self._compiled()
        if matcher is None:
            return data
        return _scrub_data(data, matcher, keep)

    def scrub_field(self, text: str) -> str:
        """A stored text field scrubbed: JSON text (``metrics_json``, ``config_json``) through
        its values, so it stays JSON; it is rewritten only if a secret was in it."""
        if not text or not self:
            return text
        if text[:1] in "{[":
            try:
                data = json.loads(text)
            except ValueError:
                return self.scrub(text)
            scrubbed = self.scrub_data(data)
            if scrubbed == data:
                return text
            return json.dumps(scrubbed, separators=(",", ":"), default=str)
        return self.scrub(text)


class _Matcher:
    """Finds every spelling of every secret; overlapping ones are masked as one span, so no
    tail of a longer secret is left behind (``abcdef`` and ``defghi`` in ``abcdefghi``)."""

    def __init__(self, forms: list[str]):
        self.forms = forms
        self.any = re.compile("|".join(map(re.escape, forms)))

    def mask(self, text: str) -> str:
        if not self.any.search(text):
            return text
        spans = []
        for form in self.forms:
            start = text.find(form)
            while start != -1:
                spans.append((start, start + len(form)))
                start = text.find(form, start + 1)
        spans.sort()
        out, end = [], 0
        merged_start, merged_end = spans[0]
        for a, b in spans[1:]:
            if a <= merged_end:
                merged_end = max(merged_end, b)
                continue
            out += [text[end:merged_start], MASK]
            end, (merged_start, merged_end) = merged_end, (a, b)
        out += [text[end:merged_start], MASK, text[merged_end:]]
        return "".join(out)


def _scrub_data(data: Any, matcher: _Matcher, keep: frozenset[str] = frozenset()) -> Any:
    if isinstance(data, str):
        return matcher.mask(data)
    if isinstance(data, dict):
        return {k: v if k in keep else _scrub_data(v, matcher, keep) for k, v in data.items()}
    if isinstance(data, list):
        return [_scrub_data(v, matcher, keep) for v in data]
    if isinstance(data, tuple):
        items = [_scrub_data(v, matcher, keep) for v in data]
        return type(data)(*items) if hasattr(data, "_fields") else tuple(items)
    if isinstance(data, set | frozenset):
        return type(data)(_scrub_data(v, matcher, keep) for v in data)
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
