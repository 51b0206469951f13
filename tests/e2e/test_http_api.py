"""``type: http`` connections and ``format: api`` reads, as Odibi projects write them, run
through the real CLI against a local API (``api_server``): every pagination style with its
own auth mode, throttling honoured, user mistakes failing at once in one line, bounded
retries and timeouts, incremental marks, ``odibi validate``'s messages, and no credential in
anything a run writes or prints."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import api_server
import pyarrow.parquet as pq
import pytest
from api_server import RECORDS, SECRETS

#: Credentials reach the project through environment variables with plain names, so only
#: the connection's own secret rule can keep them out of outputs.
ENV = {
    "SRC_A": api_server.API_KEY,
    "SRC_B": api_server.TOKEN,
    "SRC_C": api_server.PASSWORD,
    "SRC_D": api_server.CLIENT_SECRET,
}


@pytest.fixture(scope="module")
def api() -> Iterator[tuple[str, api_server.State]]:
    with api_server.serve() as served:
        yield served


def _project(url: str, nodes: str, extra: str = "") -> str:
    return f"""\
project: apis
retry: {{enabled: false}}
connections:
  out: {{type: local, base_path: ./out}}
  keyed:
    type: http
    base_url: {url}
    headers: {{User-Agent: odibi-tests/1.0, Accept: application/json}}
    auth: {{mode: api_key, api_key: "${{SRC_A}}", header_name: X-API-Key, value_template: "{{token}}"}}
  bearer:
    type: http
    base_url: {url}/
    auth: {{mode: bearer, token: "${{SRC_B}}"}}
  basic:
    type: http
    base_url: {url}
    auth: {{mode: basic, username: reader, password: "${{SRC_C}}"}}
  oauth:
    type: http
    base_url: {url}
    auth:
      mode: oauth2
      token_url: {url}/oauth/token
      client_id: odibi-client
      client_secret: "${{SRC_D}}"
      scope: "read:items"
  public: {{type: http, base_url: {url}}}
{extra}pipelines:
  - pipeline: p
    nodes:
{nodes}"""


PAGINATED = """\
      - name: offset
        read:
          connection: keyed
          format: api
          path: /offset
          options:
            params: {limit: 1000, status: "a+b:[c]"}
            pagination: {type: offset_limit, offset_param: skip, limit_param: limit, limit: 10}
            response: {items_path: results, add_fields: {_source: offset_api, _day: $today}}
        write: {connection: out, format: parquet, path: offset.parquet}
      - name: pages
        read:
          connection: basic
          format: api
          path: pages
          options:
            pagination: {type: page_number, page_param: page, page_size_param: per_page,
                         page_size: 7, start_page: 1}
            response: {items_path: data.items}
        write: {connection: out, format: delta, path: pages}
      - name: cursor
        read:
          connection: bearer
          format: api
          path: /cursor
          options:
            pagination: {type: cursor, cursor_param: next_token, cursor_path: meta.next_cursor}
            response: {items_path: items}
        write: {connection: out, format: parquet, path: cursor.parquet}
      - name: linked
        read:
          connection: oauth
          format: api
          path: /linked
          options:
            pagination: {type: link_header, link_rel: next, max_pages: 50}
            response: {items_path: ""}
        write: {connection: out, format: parquet, path: linked.parquet}
      - name: linked_again
        read:
          connection: oauth
          format: api
          path: /linked
          options:
            pagination: {type: link_header, max_pages: 2}
        write: {connection: out, format: parquet, path: linked_two_pages.parquet}
      - name: search
        read:
          connection: bearer
          format: api
          path: /search
          options:
            method: post
            request_body: {filters: {parity: 1}}
            pagination: {type: offset_limit, offset_param: start, limit_param: rows, limit: 5}
            response: {items_path: result}
        write: {connection: out, format: parquet, path: search.parquet}
      - name: single
        read:
          connection: public
          format: api
          path: /object
          options: {response: {wrap_single: true}}
        write: {connection: out, format: parquet, path: single.parquet}
"""


def _parquet(project, name: str) -> list[dict]:
    return pq.read_table(project.path(f"out/{name}.parquet")).to_pylist()


def _flat(record: dict) -> dict:
    """A record as Odibi flattens it (``json_normalize(sep="_")``)."""
    return {
        "id": record["id"],
        "name": record["name"],
        "tags": record["tags"],
        "geo_lat": record["geo"]["lat"],
        "geo_city_name": record["geo"]["city"]["name"],
    }


def test_every_pagination_style_reads_every_record_flattened(odibi_project, api):
    url, state = api
    project = odibi_project({"odibi.yaml": _project(url, PAGINATED)})
    run = project.run(env=ENV)
    assert run.exit_code == 0, run.output
    everything = [_flat(r) for r in RECORDS]

    offset = _parquet(project, "offset")
    assert [{k: r[k] for k in everything[0]} for r in offset] == everything
    assert list(offset[0])[-2:] == ["_source", "_day"]  # added fields last, as in Odibi
    assert {r["_source"] for r in offset} == {"offset_api"}
    assert len({r["_day"] for r in offset}) == 1 and offset[0]["_day"][:2] == "20"

    pages = sorted(project.delta("out/pages"), key=lambda r: r["id"])
    assert [{k: r[k] for k in everything[0]} for r in pages] == everything
    assert [{k: r[k] for k in everything[0]} for r in _parquet(project, "cursor")] == everything
    assert [{k: r[k] for k in everything[0]} for r in _parquet(project, "linked")] == everything
    assert [r["id"] for r in _parquet(project, "linked_two_pages")] == list(range(1, 11))
    assert [r["id"] for r in _parquet(project, "search")] == [r["id"] for r in RECORDS][::2]
    assert _parquet(project, "single") == [{"temperature": 21.5, "station_id": "s1"}]
    # One token for the whole run, shared by both nodes on the OAuth2 connection.
    assert state.token_requests == 1

    runs = {r["node_name"]: r for r in project.catalog("meta_runs") if r["scope"] == "node"}
    assert runs["offset"]["rows_out"] == 23 and runs["linked_again"]["rows_out"] == 10


def test_an_oauth2_token_is_fetched_again_when_it_expires_or_is_refused(odibi_project, api):
    url, state = api
    extra = "".join(
        f"""\
  {name}:
    type: http
    base_url: {url}
    auth: {{mode: oauth2, token_url: {url}/oauth/{name}, client_id: c, client_secret: "${{SRC_D}}"}}
"""
        for name in ("short", "rotating")
    )
    nodes = """\
      - name: short_lived
        read: {connection: short, format: api, path: /linked, options: {pagination: {type: link_header}}}
        write: {connection: out, format: parquet, path: short.parquet}
      - name: refused_once
        read: {connection: rotating, format: api, path: /linked, options: {pagination: {type: link_header}}}
        write: {connection: out, format: parquet, path: rotating.parquet}
"""
    project = odibi_project({"odibi.yaml": _project(url, nodes, extra)})
    run = project.run(env=ENV)
    assert run.exit_code == 0, run.output
    assert len(_parquet(project, "short")) == len(_parquet(project, "rotating")) == 23
    assert state.hits["/oauth/short"] == 5  # a token that expires at once: one per page
    assert state.hits["/oauth/rotating"] == 2  # the refused one, then one for every page


def test_throttling_is_waited_out_with_retry_after_in_seconds_and_as_a_date(odibi_project, api):
    url, state = api
    nodes = """\
      - name: throttled
        read:
          connection: public
          format: api
          path: /throttled
          options:
            params: {run: one}
            http: {retries: {max_attempts: 3, backoff: {base_s: 0.01}}}
        write: {connection: out, format: parquet, path: throttled.parquet}
"""
    project = odibi_project({"odibi.yaml": _project(url, nodes)})
    run = project.run(env=ENV)
    assert run.exit_code == 0, run.output
    assert [r["id"] for r in _parquet(project, "throttled")] == [1, 2, 3]
    assert state.hits["throttled:one"] == 3


def _failing(project, env=ENV) -> dict:
    run = project.run(env=env)
    assert run.exit_code == 1, run.output
    return {r["node_name"]: r for r in project.catalog("meta_runs") if r["scope"] == "node"}


def test_user_mistakes_fail_at_once_in_one_line_naming_the_url(odibi_project, api):
    url, state = api
    nodes = """\
      - name: missing
        read: {connection: public, format: api, path: /nowhere}
      - name: denied
        read: {connection: keyed, format: api, path: /pages, options: {params: {page: 1, per_page: 2}}}
      - name: forbidden
        read: {connection: bearer, format: api, path: /forbidden}
      - name: wrong_path
        read:
          connection: keyed
          format: api
          path: /offset
          options:
            params: {skip: 0, limit: 5}
            response: {items_path: data.rows}
      - name: no_path
        read: {connection: keyed, format: api, path: /offset, options: {params: {skip: 0, limit: 5}}}
      - name: malformed
        read:
          connection: public
          format: api
          path: /malformed
          options: {pagination: {type: offset_limit, limit: 5}}
      - name: bad_client
        read: {connection: wrong_oauth, format: api, path: /linked}
"""
    extra = f"""\
  wrong_oauth:
    type: http
    base_url: {url}
    auth: {{mode: oauth2, token_url: {url}/oauth/token, client_id: nobody, client_secret: "${{SRC_D}}", scope: "read:items"}}
"""
    project = odibi_project({"odibi.yaml": _project(url, nodes, extra)})
    runs = _failing(project)
    messages = {name: r["error_message"] for name, r in runs.items()}
    for name, message in messages.items():
        assert runs[name]["status"] == "FAILURE", name
        assert "\n" not in message, message
        assert runs[name]["attempt"] == 1, name
    assert f"api GET {url}/nowhere" in messages["missing"]
    assert (
        "not found (404 Not Found: no such endpoint /nowhere); check read.path"
        in (messages["missing"])
    )
    assert (
        "refused the credentials (401 Unauthorized: bad credentials); check the connection's auth"
        in (messages["denied"])
    )
    assert f"{url}/pages?page=1&per_page=2" in messages["denied"]
    assert "refused access (403 Forbidden: this key may not read events)" in (messages["forbidden"])
    assert state.hits["forbidden"] == 1  # not retried
    assert (
        "response.items_path 'data.rows' is not in the answer (its keys: meta, results)"
        in (messages["wrong_path"])
    )
    assert "is an object, not a list of records (its keys: meta, results)" in messages["no_path"]
    assert "(page 2)" in messages["malformed"] and "is not JSON" in messages["malformed"]
    assert state.hits["malformed"] == 2  # page 1, then page 2 once
    assert "OAuth2 token endpoint" in messages["bad_client"]
    assert "refused the client credentials (401): invalid_client" in messages["bad_client"]


def test_timeouts_and_busy_servers_are_retried_within_their_bounds(odibi_project, api):
    url, state = api
    nodes = """\
      - name: slow
        read:
          connection: public
          format: api
          path: /slow
          options: {http: {timeout_s: 0.3, retries: {max_attempts: 2, backoff: {base_s: 0.01}}}}
      - name: busy
        read:
          connection: public
          format: api
          path: /always_busy
          options: {retry: {max_retries: 4}, http: {retries: {backoff: {base_s: 0.01}}}}
      - name: bounded
        read:
          connection: public
          format: api
          path: /slow
          options: {http: {timeout_s: 5, max_total_s: 0.5}}
"""
    project = odibi_project({"odibi.yaml": _project(url, nodes)})
    runs = _failing(project)
    assert "no answer within 0.3s after 2 attempts" in runs["slow"]["error_message"]
    assert "answered 503 Service Unavailable after 4 attempts" in runs["busy"]["error_message"]
    assert state.hits["always_busy"] == 4
    assert (
        "and another attempt would pass http.max_total_s (0.5s)"
        in (runs["bounded"]["error_message"])
    )
    assert runs["bounded"]["duration_ms"] < 4000  # the read's bound cut the request short


def test_an_incremental_mark_keeps_only_new_records(odibi_project, api):
    url, state = api
    nodes = """\
      - name: events
        read:
          connection: public
          format: api
          path: /events
          options: {response: {items_path: value}}
          incremental: {mode: stateful, column: updated_at}
        write: {connection: out, format: delta, path: events, mode: append}
"""
    project = odibi_project({"odibi.yaml": _project(url, nodes)})
    state.incremental = [
        {"id": 1, "updated_at": "2026-01-01T00:00:00"},
        {"id": 2, "updated_at": "2026-01-02T00:00:00"},
    ]
    assert project.run(env=ENV).exit_code == 0
    state.incremental = [*state.incremental, {"id": 3, "updated_at": "2026-01-03T00:00:00"}]
    second = project.run(env=ENV)
    assert second.exit_code == 0, second.output
    assert sorted(r["id"] for r in project.delta("out/events")) == [1, 2, 3]
    (mark,) = project.catalog("meta_state")
    assert json.loads(mark["value"]).startswith("2026-01-03")


def _texts(path: Path) -> list[str]:
    if path.suffix == ".parquet":
        table = pq.read_table(path)
        return [json.dumps(table.to_pylist(), default=str), str(table.schema)]
    return [path.read_bytes().decode("utf-8", errors="replace")]


def test_no_credential_reaches_any_output(odibi_project, api):
    url, _ = api
    echo = """\
      - name: echo_key
        read: {connection: keyed_bearer, format: api, path: /echo}
      - name: echo_token
        read: {connection: oauth, format: api, path: /echo}
      - name: echo_basic
        read: {connection: basic, format: api, path: /echo}
      - name: query_key
        read: {connection: public, format: api, path: /nowhere, options: {params: {api_key: "${SRC_A}"}}}
"""
    extra = f"""\
  keyed_bearer:
    type: http
    base_url: {url}
    auth: {{mode: api_key, api_key: "${{SRC_A}}"}}
"""
    project = odibi_project({"odibi.yaml": _project(url, PAGINATED + echo, extra)})
    run = project.odibi("-v", "run", "{config}", env=ENV)
    assert run.exit_code == 1, run.output
    runs = {r["node_name"]: r for r in project.catalog("meta_runs") if r["scope"] == "node"}
    assert runs["offset"]["status"] == "SUCCESS"
    # The careless API quoted the credentials: the message keeps its shape, masked.
    assert "cannot use Bearer ***" in runs["echo_key"]["error_message"]
    assert "cannot use Bearer ***" in runs["echo_token"]["error_message"]
    assert "cannot use Basic ***" in runs["echo_basic"]["error_message"]
    assert "api_key=***" in runs["query_key"]["error_message"]

    written = [p for p in project.root.rglob("*") if p.is_file() and p.name != "odibi.yaml"]
    assert any("stories" in p.as_posix() for p in written)
    outputs = {"console": [run.stdout, run.stderr]}
    for path in written:
        outputs[path.relative_to(project.root).as_posix()] = _texts(path)
    leaks = [
        f"{name} in {where}"
        for where, texts in outputs.items()
        for text in texts
        for name, secret in SECRETS.items()
        if secret in text
    ]
    assert not leaks, leaks


def test_credentials_follow_redirects_only_on_the_same_host(odibi_project, api):
    url, _ = api
    nodes = """\
      - name: elsewhere
        read: {connection: keyed, format: api, path: /moved}
        write: {connection: out, format: parquet, path: elsewhere.parquet}
      - name: here
        read: {connection: keyed, format: api, path: /moved_here, options: {response: {items_path: results}}}
        write: {connection: out, format: parquet, path: here.parquet}
"""
    project = odibi_project({"odibi.yaml": _project(url, nodes)})
    run = project.run(env=ENV)
    assert run.exit_code == 0, run.output
    assert _parquet(project, "elsewhere") == [{"host": "localhost", "key": None, "auth": None}]
    assert [r["id"] for r in _parquet(project, "here")] == [1, 2]


@pytest.mark.parametrize(
    ("auth", "expected"),
    [
        ("{mode: api_key}", "auth mode 'api_key' needs api_key"),
        ("{mode: bearer, token: abc, username: u}", "auth mode 'bearer' does not use username"),
        ("{mode: oauth, token: abc}", "(did you mean 'oauth2'?)"),
        ("{mode: api_key, api_key: k, value_template: Token}", "exactly one '{token}'"),
        ("{mode: api_key, api_key: k, header_nam: X-Key}", "unknown key 'header_nam'"),
        ("{mode: oauth2, client_id: c, client_secret: s}", "needs token_url"),
        ("{mode: basic, username: u}", "auth mode 'basic' needs password"),
    ],
)
def test_validate_explains_a_wrong_auth_block(odibi_project, auth, expected):
    project = odibi_project(
        {
            "odibi.yaml": f"""\
project: v
connections:
  api: {{type: http, base_url: "https://api.example.com", auth: {auth}}}
pipelines:
  - pipeline: p
    nodes:
      - name: n
        read: {{connection: api, format: api, path: /x}}
"""
        }
    )
    run = project.odibi("validate", "{config}")
    assert run.exit_code == 2, run.output
    assert expected in run.output, run.output
    assert "odibi.yaml:3:" in run.output  # the connection's line


def test_validate_explains_wrong_api_options(odibi_project):
    project = odibi_project(
        {
            "odibi.yaml": """\
project: v
connections:
  api: {type: http, base_url: "https://api.example.com", headers: {Accept: application/json}}
  disk: {type: local, base_path: .}
pipelines:
  - pipeline: p
    nodes:
      - name: n
        read:
          connection: api
          format: api
          path: /x
          options:
            pagination: {type: offset, limt: 10}
            respons: {items_path: data}
            http: {timeout_s: 0}
      - name: files
        read: {connection: disk, format: api, path: /x}
"""
        }
    )
    run = project.odibi("validate", "{config}")
    assert run.exit_code == 2, run.output
    out = run.output
    assert "pagination.type" in out and "offset_limit" in out
    assert "unknown api option 'pagination.limt' (did you mean 'limit'?)" in out
    assert "unknown api option 'respons' (did you mean 'response'?)" in out
    assert "http.timeout_s" in out
    assert "format 'api' needs a connection of type http; 'disk' is type local" in out


@pytest.mark.parametrize("engine", ["polars", "spark"])
def test_other_engines_read_an_api_with_the_same_rows(odibi_project, api, engine):
    if engine == "spark":
        pytest.importorskip("pyspark")
        if shutil.which("java") is None:
            pytest.skip("no Java for Spark")
    else:
        pytest.importorskip(engine)
    url, _ = api
    nodes = """\
      - name: offset
        read:
          connection: keyed
          format: api
          path: /offset
          filter: "id > 3"
          options:
            pagination: {type: offset_limit, offset_param: skip, limit: 10}
            response: {items_path: results}
        write: {connection: out, format: delta, path: offset}
      - name: nothing
        read:
          connection: keyed
          format: api
          path: /offset
          options: {params: {skip: 100, limit: 5}, response: {items_path: results}}
        write: {connection: out, format: delta, path: nothing, on_empty: skip}
"""
    text = _project(url, nodes).replace("project: apis\n", f"project: apis\nengine: {engine}\n")
    project = odibi_project({"odibi.yaml": text})
    run = project.run(env=ENV)
    assert run.exit_code == 0, run.output
    rows = sorted(project.delta("out/offset"), key=lambda r: r["id"])
    expected = [_flat(r) for r in RECORDS if r["id"] > 3]
    assert [{k: r[k] for k in expected[0]} for r in rows] == expected
    runs = {r["node_name"]: r for r in project.catalog("meta_runs") if r["scope"] == "node"}
    assert runs["nothing"]["status"] == "SUCCESS" and runs["nothing"]["rows_in"] == 0
