"""``format: api``: the records of a REST endpoint on a ``type: http`` connection, page after
page, as one Arrow table (read only).

Each page is one request with a timeout (``http.timeout_s``); statuses that mean "later"
(429, 5xx by default) and timeouts are tried again with exponential back-off or the
``Retry-After`` the server asks for, a bounded number of times and never past the read's
time bound (``http.max_total_s``). What the user can fix (a 4xx such as 401, 403 or 404, an
answer that is not JSON, an ``items_path`` that is not there) fails at once with one line
naming the URL, credentials left out. Records are flattened as Odibi does, with
``pandas.json_normalize(sep="_")``: ``{"a": {"b": 1}}`` is a column ``a_b``; lists stay lists.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from odibi_core.errors import NodeError
from odibi_core.io.api_options import ApiOptions, option_problems
from odibi_core.io.api_pages import Pager, Request, records, with_dates
from odibi_core.io.format import Format

if TYPE_CHECKING:
    import pyarrow as pa
    import requests

    from odibi_core.config.models import ReadConfig
    from odibi_core.connections.http import HttpConnection
    from odibi_core.io.format import Location

log = logging.getLogger("odibi.io.api")
#: Redirects followed for one request.
_MAX_REDIRECTS = 5


class ApiFormat(Format):
    name = "api"
    writes = False
    connection_types = frozenset({"http"})

    def read(self, where: Location, spec: ReadConfig) -> pa.Table:
        from pydantic import ValidationError

        connection = where.connection
        if not hasattr(connection, "auth_headers"):
            raise NodeError(
                f"format api reads from a connection of type http; '{connection.name}' is "
                f"type {connection.type_name}",
                step="read",
            )
        try:
            options = ApiOptions.model_validate(dict(spec.options))
        except ValidationError as exc:
            first = option_problems({"options": dict(spec.options)}) or [("", str(exc))]
            raise NodeError(first[0][1], step="read") from None
        rows = Fetch(connection, options, where.uri).rows()  # type: ignore[arg-type]
        return _table(rows, options)

    def option_problems(self, block: str, spec: Mapping[str, Any]) -> list[tuple[str, str]]:
        return option_problems(dict(spec))


class Fetch:
    """One read of an endpoint: its pages, within the bounds of ``options``."""

    def __init__(self, connection: HttpConnection, options: ApiOptions, url: str):
        import requests  # noqa: F401  (imported before the clock starts: it takes a while)

        self.connection = connection
        self.options = options
        self.url = url
        self.retries = options.retries
        self.timeout = options.http.timeout_s
        self.deadline = time.monotonic() + options.http.max_total_s
        self.interval = 1.0 / options.requests_per_second if options.requests_per_second else 0
        self._last_sent: float | None = None
        self._timeout_used = self.timeout

    def rows(self) -> list[dict[str, Any]]:
        o = self.options
        params = with_dates(o.params)
        body = with_dates(o.body) if o.body is not None else None
        method = o.method
        if body is not None and method in ("POST", "PUT", "PATCH"):
            base = Request(method, self.url, {}, {**body, **params})
        else:
            base = Request(method, self.url, params, body)
        pager = Pager(o.pagination)
        request: Request | None = pager.first(base)
        found: list[dict[str, Any]] = []
        page = 0
        while request is not None:
            page += 1
            answer, headers = self.page(request, page)
            items = records(answer, o.response, page == 1, self.label(request, page))
            found.extend(items)
            log.debug("api page %d of %s: %d records", page, self.label(request), len(items))
            if o.max_records is not None and len(found) >= o.max_records:
                break
            request = pager.next(request, answer, headers, len(items))
            if request is not None and self.options.auto_rate_limit:
                self._respect_quota(headers, request)
        add = with_dates(o.response.add_fields)
        if add:
            found = [{**row, **add} for row in found]
        return found

    def label(self, request: Request, page: int | None = None) -> str:
        from odibi_core.connections.http import safe_url

        where = f"api {request.method} {safe_url(_with_query(request.url, request.params))}"
        return f"{where} (page {page})" if page and page > 1 else where

    # ------------------------------------------------------------ one page

    def page(self, request: Request, number: int) -> tuple[Any, dict[str, str]]:
        """The JSON answer to ``request`` and its headers (lower-case names), retried as the
        module docstring says."""
        import requests

        label = self.label(request, number)
        statuses = set(self.retries.retry_on_status)
        renewed = False
        attempt = 0
        while True:
            attempt += 1
            self._pace()
            try:
                answer = self._send(request)
            except requests.Timeout:
                used = self._timeout_used
                problem, wait = f"no answer within {used:.3g}s", self._backoff(attempt)
            except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
                problem, wait = f"cannot connect ({_reason(exc)})", self._backoff(attempt)
            except requests.RequestException as exc:
                raise NodeError(f"{label}: {_reason(exc)}", step="read") from None
            else:
                status = answer.status_code
                if status in (401, 403) and not renewed and self._renewable():
                    renewed = True  # an expired OAuth2 token: one new token, once
                    self.connection.access_token(self.timeout, renew=True)
                    attempt -= 1
                    continue
                if status in statuses:
                    asked = retry_after(answer.headers.get("retry-after"))
                    problem = f"answered {status} {answer.reason}".rstrip()
                    wait = asked if asked is not None else self._backoff(attempt)
                elif status >= 400:
                    raise NodeError(f"{label}: {_refusal(answer)}", step="read")
                else:
                    return _json(answer, label), {k.lower(): v for k, v in answer.headers.items()}
            left = self.deadline - time.monotonic()
            if attempt >= self.retries.max_attempts or wait > left:
                bound = (
                    f"after {attempt} attempts"
                    if attempt >= self.retries.max_attempts
                    else "and another attempt would pass http.max_total_s "
                    f"({self.options.http.max_total_s:g}s)"
                )
                raise NodeError(f"{label}: {problem} {bound}", step="read", retryable=True)
            log.info("%s: %s; trying again in %.1fs", label, problem, wait)
            time.sleep(wait)

    def _send(self, request: Request) -> requests.Response:
        """One request, redirects followed here (at most ``_MAX_REDIRECTS``) so that the
        credentials, whatever header carries them, go to the base URL's host only."""
        from urllib.parse import urljoin

        method, url, body = request.method, _with_query(request.url, request.params), request.body
        self._last_sent = time.monotonic()
        for _ in range(_MAX_REDIRECTS + 1):
            headers = dict(self.options.headers)
            if self.connection.same_origin(url):
                headers.update(self.connection.auth_headers(self.timeout))
            self._timeout_used = min(self.timeout, max(self.deadline - time.monotonic(), 0.001))
            answer = self.connection.session().request(
                method,
                url,
                json=body,
                headers=headers,
                timeout=self._timeout_used,
                allow_redirects=False,
            )
            target = answer.headers.get("location")
            if answer.status_code not in (301, 302, 303, 307, 308) or not target:
                return answer
            url = urljoin(url, target)
            if answer.status_code == 303 or (answer.status_code in (301, 302) and method == "POST"):
                method, body = "GET", None  # as browsers and requests do
        raise NodeError(f"{self.label(request)}: more than {_MAX_REDIRECTS} redirects", step="read")

    def _renewable(self) -> bool:
        return self.connection.config.auth.mode == "oauth2"

    def _backoff(self, attempt: int) -> float:
        b = self.retries.backoff
        return min(b.base_s * b.exponential_base ** (attempt - 1), b.max_s)

    def _pace(self) -> None:
        """``requests_per_second``: wait until the next request is due."""
        if self.interval and self._last_sent is not None:
            due = self._last_sent + self.interval - time.monotonic()
            if due > 0:
                time.sleep(due)

    def _respect_quota(self, headers: dict[str, str], request: Request) -> None:
        """A quota used up (``X-RateLimit-Remaining: 0`` with its reset time, or a
        ``Retry-After`` on a successful page): wait for it, within the time bound."""
        wait = retry_after(headers.get("retry-after"))
        if wait is None and headers.get("x-ratelimit-remaining") == "0":
            try:
                reset = float(headers.get("x-ratelimit-reset", ""))
            except ValueError:
                reset = None
            if reset is not None:
                wait = max(reset - time.time(), 0.0) + 1.0
        if not wait:
            return
        if wait > self.deadline - time.monotonic():
            raise NodeError(
                f"{self.label(request)}: the API's quota resets in {wait:.0f}s, after "
                "http.max_total_s",
                step="read",
                retryable=True,
            )
        log.info("%s: quota used up; waiting %.1fs", self.label(request), wait)
        time.sleep(wait)


def retry_after(value: str | None) -> float | None:
    """Seconds a ``Retry-After`` header asks for: a number, or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - datetime.now(UTC)).total_seconds(), 0.0)


def _with_query(url: str, params: Mapping[str, Any]) -> str:
    """``url`` with ``params`` as Odibi encodes them: ``+ : [ ]`` kept as written, so a
    search such as ``report_date:[20240101+TO+20241231]`` reaches the API as it does there."""
    given = {k: v for k, v in params.items() if v is not None}
    if not given:
        return url
    query = urlencode(given, doseq=True, safe="+:[]")
    return f"{url}{'&' if '?' in url else '?'}{query}"


def _json(answer: requests.Response, label: str) -> Any:
    if not answer.content.strip():
        return {}
    try:
        return answer.json()
    except ValueError:
        kind = answer.headers.get("content-type", "no content type").split(";")[0]
        start = answer.text[:60].strip().replace("\n", " ")
        raise NodeError(
            f"{label}: the answer is not JSON ({kind}, starting {start!r})", step="read"
        ) from None


def _refusal(answer: requests.Response) -> str:
    """``not found (404 Not Found: <the API's reason>); check ...``."""
    status = answer.status_code
    what = {401: "refused the credentials", 403: "refused access", 404: "not found"}
    detail = _detail(answer)
    code = f"{status} {answer.reason}".strip() + (f": {detail}" if detail else "")
    if status not in what:
        return f"answered {code}"
    hint = (
        "check read.path and the connection's base_url"
        if status == 404
        else ("check the connection's auth")
    )
    return f"{what[status]} ({code}); {hint}"


def _detail(answer: requests.Response) -> str:
    """The API's own one-line reason, when its error body gives one."""
    try:
        body = answer.json()
    except ValueError:
        return ""
    if isinstance(body, dict):
        for key in ("message", "error_description", "error", "detail", "title"):
            value = body.get(key)
            if isinstance(value, dict):
                value = value.get("message")
            if isinstance(value, str) and value.strip():
                return value.strip().splitlines()[0][:200]
    return ""


def _reason(exc: BaseException) -> str:
    """A connection error's innermost cause, briefly (urllib3 nests them deeply)."""
    inner: BaseException = exc
    while inner.__context__ is not None and inner.__context__ is not inner:
        inner = inner.__context__
    text = str(inner).split(":")[-1].strip() or type(inner).__name__
    return f"{type(inner).__name__}: {text}"[:200]


def _table(rows: list[dict[str, Any]], options: ApiOptions) -> pa.Table:
    """The records as Arrow, flattened like Odibi (``json_normalize``, ``_`` joins), the
    ``add_fields`` columns last."""
    import pandas as pd
    import pyarrow as pa

    from odibi_core.engines.pandas_arrow import from_pandas

    if not rows:
        return pa.table({})
    frame = pd.json_normalize(rows, sep="_")
    added = [c for c in options.response.add_fields if c in frame.columns]
    if added:
        frame = frame[[c for c in frame.columns if c not in added] + added]
    return from_pandas(frame)
