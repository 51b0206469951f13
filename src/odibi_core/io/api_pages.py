"""What ``format: api`` does with pages: which request comes next (the pagination types),
where the records are in an answer (``response``), and Odibi's date shortcuts (``$today``,
``{-7d:%Y%m%d}``) in ``params``, ``request_body`` and ``add_fields``."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from odibi_core.errors import NodeError
from odibi_core.io.api_options import Pagination, Response


@dataclass(frozen=True)
class Request:
    """One page's request: the URL, its query parameters and JSON body."""

    method: str
    url: str
    params: dict[str, Any] = field(default_factory=dict)
    body: dict[str, Any] | None = None

    def with_values(self, values: dict[str, Any]) -> Request:
        """The request with ``values`` set: in the JSON body of a request that sends one,
        else in the query (as Odibi does for POST searches)."""
        if self.body is not None and self.method in ("POST", "PUT", "PATCH"):
            return replace(self, body={**self.body, **values})
        return replace(self, params={**self.params, **values})


class Pager:
    """The requests of one read, page after page, by ``pagination.type``."""

    def __init__(self, config: Pagination):
        self.config = config
        self.pages = 0
        self._position = 0
        self._cursor: str | None = None

    def first(self, base: Request) -> Request:
        c = self.config
        if c.type == "offset_limit":
            self._position = c.start_offset
            return base.with_values({c.offset_param: c.start_offset, c.limit_param: c.limit})
        if c.type == "page_number":
            self._position = c.start_page
            return base.with_values({c.page_param: c.start_page, c.page_size_param: c.page_size})
        return base

    def next(
        self, request: Request, answer: Any, headers: dict[str, str], count: int
    ) -> Request | None:
        """The request after ``request``'s page (``count`` records), or None at the end."""
        c = self.config
        self.pages += 1
        if c.type == "none" or (c.max_pages is not None and self.pages >= c.max_pages):
            return None
        if c.type in ("offset_limit", "page_number"):
            size = c.limit if c.type == "offset_limit" else c.page_size
            if (c.stop_on_empty and count == 0) or count < size:
                return None
            if c.type == "offset_limit":
                self._position += c.limit
                return request.with_values({c.offset_param: self._position})
            self._position += 1
            return request.with_values({c.page_param: self._position})
        if c.type == "cursor":
            found, value = resolve(answer, c.cursor_path)
            cursor = str(value) if found and value not in (None, "", False) else None
            if cursor is None or cursor == self._cursor:  # no cursor, or the same again
                return None
            self._cursor = cursor
            return request.with_values({c.cursor_param: cursor})
        target = links(headers.get("link", "")).get(c.link_rel)
        if not target:
            return None
        # The link carries the whole query of the next page.
        return replace(request, url=_absolute(target, request.url), params={})


def links(header: str) -> dict[str, str]:
    """An RFC 8288 ``Link`` header as ``{rel: url}`` (``rel="next last"`` gives both)."""
    found: dict[str, str] = {}
    for match in re.finditer(r"<([^>]*)>((?:\s*;\s*[^;,]+)*)", header):
        url, params = match.group(1), match.group(2)
        rel = re.search(r"""rel\s*=\s*(?:"([^"]*)"|([^\s;,]+))""", params)
        if rel:
            for name in (rel.group(1) or rel.group(2) or "").split():
                found.setdefault(name, url)
    return found


def _absolute(url: str, base: str) -> str:
    from urllib.parse import urljoin

    return url if urlsplit(url).scheme else urljoin(base, url)


# ---------------------------------------------------------------- records

_SEGMENT = re.compile(r"^(?P<key>[^\[\]]*)(?P<idx>(?:\[-?\d+\])*)$")


def resolve(data: Any, path: str) -> tuple[bool, Any]:
    """``(found, value)`` at a dotted path with optional indexes (``series[0].data``);
    ``""``, ``$`` and ``$root`` are the answer itself."""
    node = data
    for segment in path.split(".") if path else []:
        if segment in ("", "$", "$root"):
            continue
        match = _SEGMENT.match(segment)
        if match is None:
            return False, None
        key = match.group("key")
        if key:
            if not isinstance(node, dict) or key not in node:
                return False, None
            node = node[key]
        for index in re.findall(r"-?\d+", match.group("idx")):
            if not isinstance(node, list) or not -len(node) <= int(index) < len(node):
                return False, None
            node = node[int(index)]
    return True, node


def records(answer: Any, config: Response, first: bool, label: str) -> list[dict[str, Any]]:
    """The records of one answer. On the first page, a path that is not there or that holds
    no list is the user's mistake, said with what the answer does hold; on later pages it
    ends the read (a last page that leaves the key out)."""
    path = config.items_path
    found, value = resolve(answer, path)
    shown = f"response.items_path '{path}'" if path else "the answer (response.items_path '')"
    if not found:
        if not first:
            return []
        raise NodeError(f"{label}: {shown} is not in the answer{_holds(answer)}", step="read")
    if value is None:
        return []
    if isinstance(value, dict):
        if config.dict_to_list:
            value = [
                {"_key": k, **v} if isinstance(v, dict) else {"_key": k, "_value": v}
                for k, v in value.items()
            ]
        elif config.wrap_single:
            value = [value]
        elif first:
            raise NodeError(
                f"{label}: {shown} is an object, not a list of records{_holds(value)}; "
                "set response.items_path to the list, or wrap_single / dict_to_list",
                step="read",
            )
        else:
            return []
    if not isinstance(value, list):
        if not first:
            return []
        kind = {bool: "a boolean", int: "a number", float: "a number", str: "text"}
        raise NodeError(
            f"{label}: {shown} holds {kind.get(type(value), type(value).__name__)}, "
            "not a list of records",
            step="read",
        )
    rows = value
    if config.array_row_fields and rows and isinstance(rows[0], list | tuple):
        names = config.array_row_fields
        rows = [
            dict(zip(names, [*row, *[None] * len(names)][: len(names)], strict=True))
            for row in rows
        ]
    out = []
    for row in rows:
        if isinstance(row, dict):
            out.append(row)
        else:  # a list of scalars: one column
            out.append({"value": row})
    return out


def _holds(answer: Any) -> str:
    if isinstance(answer, dict):
        keys = list(answer)[:8]
        more = ", ..." if len(answer) > 8 else ""
        return f" (its keys: {', '.join(map(str, keys))}{more})" if keys else " (it is empty)"
    if isinstance(answer, list):
        return f" (it is a list of {len(answer)})"
    return f" (it is a {type(answer).__name__})"


# ---------------------------------------------------------------- date shortcuts


def with_dates(value: Any, now: datetime | None = None) -> Any:
    """``value`` with Odibi's API date shortcuts replaced, at any depth."""
    if isinstance(value, dict):
        return {k: with_dates(v, now) for k, v in value.items()}
    if isinstance(value, list):
        return [with_dates(v, now) for v in value]
    if not isinstance(value, str) or ("$" not in value and "{" not in value):
        return value
    now = now or datetime.now(UTC)
    shortcuts = _shortcuts(now)
    names = sorted(shortcuts, key=len, reverse=True)  # $today_compact before $today
    pattern = re.compile("|".join(re.escape(n) + r"(?![A-Za-z0-9_])" for n in names))
    value = pattern.sub(lambda m: shortcuts[m.group(0)], value)
    return _EXPRESSION.sub(lambda m: _expression(m, now), value)


def _shortcuts(now: datetime) -> dict[str, str]:
    today = now.date()
    days = {
        "today": today,
        "date": today,
        "yesterday": today - timedelta(days=1),
        "7_days_ago": today - timedelta(days=7),
        "30_days_ago": today - timedelta(days=30),
        "90_days_ago": today - timedelta(days=90),
        "start_of_week": today - timedelta(days=today.weekday()),
        "start_of_month": today.replace(day=1),
        "start_of_year": today.replace(month=1, day=1),
    }
    found = {"$now": now.isoformat()}
    for name, day in days.items():
        found[f"${name}"] = day.isoformat()
        if name != "date":
            found[f"${name}_compact"] = day.strftime("%Y%m%d")
    return found


_EXPRESSION = re.compile(r"\{([^{}:]+)(?::([^{}]+))?\}")


def _expression(match: re.Match[str], now: datetime) -> str:
    expr, fmt = match.group(1).strip(), match.group(2)
    today = now.date()
    value: date | datetime
    if expr == "now":
        value, default = now, "%Y-%m-%dT%H:%M:%S%z"
    else:
        default = "%Y-%m-%d"
        named = {
            "today": today,
            "date": today,
            "yesterday": today - timedelta(days=1),
            "start_of_week": today - timedelta(days=today.weekday()),
            "start_of_month": today.replace(day=1),
            "start_of_year": today.replace(month=1, day=1),
        }
        if expr in named:
            value = named[expr]
        elif re.fullmatch(r"[+-]?\d+d", expr):
            value = today + timedelta(days=int(expr[:-1]))
        else:
            return match.group(0)  # not a date: left as written
    return value.strftime(fmt or default)
