"""The parts of ``format: api`` and ``type: http`` that need no server: where records are in
an answer, which request comes next, Link headers, ``Retry-After``, date shortcuts, the
connection's headers and secrets, and URLs shown in messages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest

from odibi_core.connections.http import HttpConfig, HttpConnection, safe_url
from odibi_core.errors import NodeError
from odibi_core.io.api import _with_query, retry_after
from odibi_core.io.api_options import ApiOptions, Pagination, Response
from odibi_core.io.api_pages import Pager, Request, links, records, resolve, with_dates


def test_items_paths_take_keys_and_indexes():
    answer = {"series": [{"data": [{"id": 1}]}], "rows": [[0], [1, 2]]}
    assert resolve(answer, "series[0].data") == (True, [{"id": 1}])
    assert resolve(answer, "rows[-1][1]") == (True, 2)
    assert resolve(answer, "$") == (True, answer)
    assert resolve(answer, "series[3]") == (False, None)
    assert resolve([{"meta": 1}, [{"id": 2}]], "[1]") == (True, [{"id": 2}])


def test_record_shapes_as_odibi_reads_them():
    rates = {"rates": {"USD": 1.0, "EUR": {"value": 0.9}}}
    assert records(rates, Response(items_path="rates", dict_to_list=True), True, "x") == [
        {"_key": "USD", "_value": 1.0},
        {"_key": "EUR", "value": 0.9},
    ]
    one = {"temperature": 20}
    assert records(one, Response(wrap_single=True), True, "x") == [one]
    candles = [[1, 2.0], [3, 4.0, 9]]
    shaped = records(candles, Response(array_row_fields=["ts", "open", "close"]), True, "x")
    assert shaped == [{"ts": 1, "open": 2.0, "close": None}, {"ts": 3, "open": 4.0, "close": 9}]
    assert records({"data": None}, Response(items_path="data"), True, "x") == []


def test_a_wrong_items_path_fails_on_the_first_page_and_ends_the_read_later():
    answer = {"meta": {}, "results": []}
    with pytest.raises(NodeError, match=r"'data' is not in the answer \(its keys: meta, results"):
        records(answer, Response(items_path="data"), True, "api GET u")
    assert records(answer, Response(items_path="data"), False, "api GET u") == []
    with pytest.raises(NodeError, match="holds a number, not a list"):
        records({"n": 3}, Response(items_path="n"), True, "api GET u")


def _walk(config: Pagination, pages: list[tuple[object, dict[str, str], int]]) -> list[Request]:
    pager = Pager(config)
    request: Request | None = pager.first(Request("GET", "http://h/x", {"q": 1}))
    seen = []
    for answer, headers, count in pages:
        assert request is not None
        seen.append(request)
        request = pager.next(request, answer, headers, count)
    assert request is None, "the read should have ended"
    return seen


def test_offset_and_page_number_stop_at_a_short_page_or_max_pages():
    offset = Pagination(type="offset_limit", offset_param="skip", limit=10, start_offset=1)
    seen = _walk(offset, [({}, {}, 10), ({}, {}, 10), ({}, {}, 3)])
    assert [r.params for r in seen] == [
        {"q": 1, "skip": 1, "limit": 10},
        {"q": 1, "skip": 11, "limit": 10},
        {"q": 1, "skip": 21, "limit": 10},
    ]
    pages = Pagination(type="page_number", page_size=5, max_pages=2)
    seen = _walk(pages, [({}, {}, 5), ({}, {}, 5)])
    assert [r.params["page"] for r in seen] == [1, 2]


def test_post_searches_page_in_their_body():
    pager = Pager(Pagination(type="offset_limit", offset_param="start", limit_param="rows"))
    first = pager.first(Request("POST", "http://h/s", {}, {"filters": {}}))
    assert first.body == {"filters": {}, "start": 0, "rows": 100} and first.params == {}


def test_a_cursor_that_repeats_or_vanishes_ends_the_read():
    config = Pagination(type="cursor", cursor_param="c", cursor_path="meta.next")
    seen = _walk(
        config,
        [
            ({"meta": {"next": "a"}}, {}, 1),
            ({"meta": {"next": "b"}}, {}, 1),
            ({"meta": {"next": "b"}}, {}, 1),
        ],
    )
    assert [r.params.get("c") for r in seen] == [None, "a", "b"]
    _walk(config, [({"meta": {}}, {}, 1)])


def test_link_headers_are_parsed_as_rfc_8288_says():
    header = (
        '<https://api.github.com/x?page=2>; rel="next", <https://api.github.com/x?page=9>; '
        'rel="last", </x?page=1>; rel=first; title="a, b"'
    )
    assert links(header) == {
        "next": "https://api.github.com/x?page=2",
        "last": "https://api.github.com/x?page=9",
        "first": "/x?page=1",
    }
    assert links('<http://h/2>; rel="next last"') == {"next": "http://h/2", "last": "http://h/2"}
    pager = Pager(Pagination(type="link_header"))
    request = Request("GET", "http://h/x", {"per_page": 5})
    following = pager.next(request, [], {"link": '</x?page=2&per_page=5>; rel="next"'}, 5)
    assert following == Request("GET", "http://h/x?page=2&per_page=5", {})


def test_retry_after_is_seconds_or_an_http_date():
    assert retry_after("3") == 3.0
    assert retry_after("-1") == 0.0
    assert retry_after(None) is None and retry_after("soon") is None
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert 25 <= (retry_after(later) or 0) <= 30
    assert retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0


def test_date_shortcuts_as_odibi_spells_them():
    now = datetime(2024, 1, 15, 10, 30, tzinfo=UTC)
    assert with_dates("$today_compact/$today/$7_days_ago", now) == "20240115/2024-01-15/2024-01-08"
    assert with_dates({"s": ["{-30d:%Y%m%d}", "{today}", "{json:1}"]}, now) == {
        "s": ["20231216", "2024-01-15", "{json:1}"]
    }
    assert with_dates("$now", now) == "2024-01-15T10:30:00+00:00"
    assert with_dates("$todays", now) == "$todays"  # not a shortcut
    assert with_dates(5, now) == 5


def test_params_keep_odibis_search_syntax():
    url = _with_query("http://h/f.json", {"search": "d:[2024+TO+2025]", "limit": 5, "x": None})
    assert url == "http://h/f.json?search=d:[2024+TO+2025]&limit=5"
    assert _with_query("http://h/f?a=1", {"b": 2}) == "http://h/f?a=1&b=2"


def _connection(**fields: object) -> HttpConnection:
    config = HttpConfig.model_validate({"base_url": "https://api.example.com/v1/", **fields})
    return HttpConnection("api", config, Path("."))


def test_the_connection_sends_each_mode_s_header_and_reports_its_secrets():
    keyed = _connection(
        auth={"api_key": "k-123456", "header_name": "X-Key", "value_template": "{token}"}
    )
    assert keyed.config.auth.mode == "api_key"
    assert keyed.auth_headers() == {"X-Key": "k-123456"}
    assert _connection(auth={"mode": "api_key", "api_key": "k1"}).auth_headers() == {
        "Authorization": "Bearer k1"
    }
    basic = _connection(auth={"username": "u", "password": "p-secret"})
    assert basic.auth_headers() == {"Authorization": "Basic dTpwLXNlY3JldA=="}
    assert set(basic.secrets()) == {"p-secret", "dTpwLXNlY3JldA=="}
    assert keyed.uri("/items") == keyed.uri("items") == "https://api.example.com/v1/items"
    assert keyed.uri("https://other/x") == "https://other/x"
    assert not keyed.same_origin("https://other.example.com/v1/items")
    headers = _connection(headers={"X-Api-Key": "hdr-secret", "Accept": "json"})
    assert headers.secrets() == ["hdr-secret"]


def test_urls_in_messages_carry_no_credentials():
    shown = safe_url("https://user:pw@h:8443/x?api_key=abc&page=2&token=t")
    assert shown == "https://h:8443/x?api_key=***&page=2&token=***"


def test_odibis_two_spellings_of_retries_mean_the_same():
    short = ApiOptions.model_validate(
        {"retry": {"max_retries": 5, "backoff_factor": 1.5, "retry_codes": [503]}}
    )
    assert (short.retries.max_attempts, short.retries.backoff.exponential_base) == (5, 1.5)
    assert short.retries.retry_on_status == [503]
    long = ApiOptions.model_validate(
        {"http": {"rate_limit": {"type": "fixed", "requests_per_second": 2}}}
    )
    assert long.requests_per_second == 2
    assert (
        ApiOptions.model_validate({"rate_limit": {"requests_per_second": 4}}).requests_per_second
        == 4
    )
    assert ApiOptions.model_validate({"method": "post"}).method == "POST"
