"""An HTTP receiver on 127.0.0.1 that records every JSON body posted to it, for the alert and
lineage tests. Paths choose a behaviour: ``/fail-once/...`` answers 500 to its first request,
``/fail/...`` always 500, ``/slow/...`` answers after ``SLOW_SECONDS``; anything else 200."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

SLOW_SECONDS = 6.0


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class Receiver:
    base: str
    requests: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def bodies(self, path: str) -> list[Any]:
        with self.lock:
            return [r.body for r in self.requests if r.path == path]

    def count(self, path: str) -> int:
        return len(self.bodies(path))

    def wait_for(self, path: str, n: int, seconds: float = 5.0) -> list[Any]:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and self.count(path) < n:
            time.sleep(0.02)
        return self.bodies(path)


@contextmanager
def http_receiver() -> Iterator[Receiver]:
    seen: dict[str, int] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw.decode(errors="replace")
            with receiver.lock:
                receiver.requests.append(Received(self.path, dict(self.headers), body))
                seen[self.path] = seen.get(self.path, 0) + 1
                first = seen[self.path] == 1
            if self.path.startswith("/slow/"):
                time.sleep(SLOW_SECONDS)
            failing = self.path.startswith("/fail/") or (
                self.path.startswith("/fail-once/") and first
            )
            self.send_response(500 if failing else 200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:  # keep test output clean
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    receiver = Receiver(f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
