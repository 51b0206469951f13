"""A small REST API on 127.0.0.1 for the ``format: api`` tests: one endpoint per pagination
style, each checking its own credentials, an OAuth2 token endpoint, throttling, a malformed
page, a slow endpoint, and errors that echo credentials back (as careless APIs do)."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

API_KEY = "ApiKeySecretValue123"
TOKEN = "BearerTokenSecret456"
USER, PASSWORD = "reader", "BasicPasswordSecret789"
CLIENT_ID, CLIENT_SECRET = "odibi-client", "ClientSecretValue000"
ACCESS_TOKEN = "IssuedAccessToken111"
SECRETS = {
    "stale_token": "StaleAccessToken222",
    "api_key": API_KEY,
    "token": TOKEN,
    "password": PASSWORD,
    "client_secret": CLIENT_SECRET,
    "access_token": ACCESS_TOKEN,
    "basic_header": base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode(),
}

#: 23 records, nested, so every page size leaves a short last page.
RECORDS = [
    {
        "id": i,
        "name": f"item {i}",
        "geo": {"lat": i / 2, "city": {"name": f"city {i % 3}"}},
        "tags": [f"t{i}"],
    }
    for i in range(1, 24)
]


class State:
    def __init__(self) -> None:
        self.hits: Counter[str] = Counter()
        self.token_requests = 0
        self.incremental: list[dict[str, Any]] = []
        self.lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    state: State
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    # ------------------------------------------------------------ plumbing

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up waiting (the timeout tests)

    def _query(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _count(self, key: str) -> int:
        with self.state.lock:
            self.state.hits[key] += 1
            return self.state.hits[key]

    def _denied(self) -> None:
        self._send(401, {"message": "bad credentials"})

    # ------------------------------------------------------------ routes

    def do_POST(self) -> None:
        route = urlsplit(self.path).path
        body = self._body()
        if route in ("/oauth/short", "/oauth/rotating"):
            n = self._count(route)
            token = "StaleAccessToken222" if route == "/oauth/rotating" and n == 1 else ACCESS_TOKEN
            self._send(
                200, {"access_token": token, "expires_in": 1 if route == "/oauth/short" else 600}
            )
            return
        if route == "/oauth/token":
            form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
            ok = (
                form.get("grant_type") == "client_credentials"
                and form.get("client_id") == CLIENT_ID
                and form.get("client_secret") == CLIENT_SECRET
                and form.get("scope") == "read:items"
            )
            with self.state.lock:
                self.state.token_requests += 1
            if not ok:
                self._send(401, {"error": "invalid_client"})
                return
            self._send(
                200, {"access_token": ACCESS_TOKEN, "token_type": "Bearer", "expires_in": 3600}
            )
            return
        if route == "/search":
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                return self._denied()
            query = json.loads(body)
            start, rows = int(query["start"]), int(query["rows"])
            chosen = [r for r in RECORDS if r["id"] % 2 == query["filters"]["parity"]]
            self._send(200, {"result": chosen[start : start + rows]})
            return
        self._send(404, {"message": "no such endpoint"})

    def do_GET(self) -> None:
        route = urlsplit(self.path).path
        q = self._query()
        handler = getattr(self, "get_" + route.strip("/").replace("/", "_"), None)
        if handler is None:
            self._send(404, {"message": f"no such endpoint {route}"})
            return
        handler(q)

    def get_offset(self, q: dict[str, str]) -> None:
        if self.headers.get("X-API-Key") != API_KEY:
            return self._denied()
        skip, limit = int(q["skip"]), int(q["limit"])
        meta = {"skip": skip, "limit": limit, "total": len(RECORDS), "status": q.get("status")}
        self._send(200, {"meta": meta, "results": RECORDS[skip : skip + limit]})

    def get_pages(self, q: dict[str, str]) -> None:
        expected = "Basic " + SECRETS["basic_header"]
        if self.headers.get("Authorization") != expected:
            return self._denied()
        page, size = int(q["page"]), int(q["per_page"])
        self._send(200, {"data": {"items": RECORDS[(page - 1) * size : page * size]}})

    def get_cursor(self, q: dict[str, str]) -> None:
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            return self._denied()
        start = int(q.get("next_token", "0"))
        chunk = RECORDS[start : start + 10]
        following = str(start + 10) if start + 10 < len(RECORDS) else None
        self._send(200, {"items": chunk, "meta": {"next_cursor": following}})

    def get_linked(self, q: dict[str, str]) -> None:
        if self.headers.get("Authorization") != f"Bearer {ACCESS_TOKEN}":
            return self._denied()
        page = int(q.get("page", "1"))
        chunk = RECORDS[(page - 1) * 5 : page * 5]
        host = self.headers["Host"]
        links = [f'<http://{host}/linked?page=1>; rel="first"']
        if page * 5 < len(RECORDS):
            links.append(f'<http://{host}/linked?page={page + 1}>; rel="next"')
        self._send(200, chunk, {"Link": ", ".join(links)})

    def get_throttled(self, q: dict[str, str]) -> None:
        n = self._count("throttled:" + q["run"])
        if n == 1:
            self._send(429, {"message": "slow down"}, {"Retry-After": "1"})
        elif n == 2:
            when = datetime.now(UTC) + timedelta(seconds=1)
            self._send(
                503, {"message": "busy"}, {"Retry-After": format_datetime(when, usegmt=True)}
            )
        else:
            self._send(200, RECORDS[:3])

    def get_always_busy(self, q: dict[str, str]) -> None:
        self._count("always_busy")
        self._send(503, {"message": "down for maintenance"}, {"Retry-After": "0"})

    def get_malformed(self, q: dict[str, str]) -> None:
        self._count("malformed")
        if q.get("offset") == "0":
            self._send(200, RECORDS[:5])
        else:
            self._send(200, b'[{"id": 6, "name": ')

    def get_slow(self, q: dict[str, str]) -> None:
        self._count("slow")
        time.sleep(2)
        self._send(200, RECORDS[:1])

    def get_echo(self, q: dict[str, str]) -> None:
        """A careless API: its error quotes the credentials it was sent."""
        self._send(422, {"message": f"cannot use {self.headers.get('Authorization')}"})

    def get_forbidden(self, q: dict[str, str]) -> None:
        self._count("forbidden")
        self._send(403, {"message": "this key may not read events"})

    def get_object(self, q: dict[str, str]) -> None:
        self._send(200, {"temperature": 21.5, "station": {"id": "s1"}})

    def get_moved(self, q: dict[str, str]) -> None:
        """A redirect to another host name of this server (``localhost``)."""
        port = self.server.server_address[1]
        self._send(302, {}, {"Location": f"http://localhost:{port}/landing"})

    def get_moved_here(self, q: dict[str, str]) -> None:
        self._send(307, {}, {"Location": "/offset?skip=0&limit=2"})

    def get_landing(self, q: dict[str, str]) -> None:
        """What credentials reached this host."""
        got = {"key": self.headers.get("X-API-Key"), "auth": self.headers.get("Authorization")}
        self._send(200, [{"host": self.headers["Host"].split(":")[0], **got}])

    def get_events(self, q: dict[str, str]) -> None:
        self._send(200, {"value": self.state.incremental})


@contextmanager
def serve() -> Iterator[tuple[str, State]]:
    """The API on a free port of 127.0.0.1: its base URL and its state."""
    state = State()
    handler = type("BoundHandler", (Handler,), {"state": state})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", state
    finally:
        server.shutdown()
        server.server_close()
