"""Small OTLP receivers on 127.0.0.1 for the tests: http/protobuf and gRPC, decoding what they
receive with the ``opentelemetry-proto`` messages."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from concurrent import futures
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2, metrics_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc


@dataclass
class Received:
    """Everything a receiver got, decoded."""

    endpoint: str = ""
    traces: list[Any] = field(default_factory=list)  # ExportTraceServiceRequest
    metrics: list[Any] = field(default_factory=list)  # ExportMetricsServiceRequest
    lock: threading.Lock = field(default_factory=threading.Lock)

    def spans(self) -> list[tuple[Any, Any]]:
        """(resource, span) of every span received."""
        with self.lock:
            return [
                (rs.resource, span)
                for req in self.traces
                for rs in req.resource_spans
                for ss in rs.scope_spans
                for span in ss.spans
            ]

    def metric_points(self) -> list[tuple[Any, str, Any]]:
        """(resource, metric name, data point) of every point received."""
        found = []
        with self.lock:
            for req in self.metrics:
                for rm in req.resource_metrics:
                    for sm in rm.scope_metrics:
                        for metric in sm.metrics:
                            kind = metric.WhichOneof("data")
                            for point in getattr(metric, kind).data_points:
                                found.append((rm.resource, metric.name, point))
        return found


def attrs(proto_attributes: Any) -> dict[str, Any]:
    """An OTLP KeyValue list as a dict of plain values."""
    out = {}
    for kv in proto_attributes:
        which = kv.value.WhichOneof("value")
        out[kv.key] = getattr(kv.value, which) if which else None
    return out


@contextmanager
def http_receiver() -> Iterator[Received]:
    received = Received()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if self.path == "/v1/traces":
                req = trace_service_pb2.ExportTraceServiceRequest.FromString(body)
                reply = trace_service_pb2.ExportTraceServiceResponse()
                with received.lock:
                    received.traces.append(req)
            elif self.path == "/v1/metrics":
                req = metrics_service_pb2.ExportMetricsServiceRequest.FromString(body)
                reply = metrics_service_pb2.ExportMetricsServiceResponse()
                with received.lock:
                    received.metrics.append(req)
            else:
                self.send_error(404)
                return
            payload = reply.SerializeToString()
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    received.endpoint = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield received
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def grpc_receiver() -> Iterator[Received]:
    import grpc

    received = Received()

    class Traces(trace_service_pb2_grpc.TraceServiceServicer):
        def Export(self, request: Any, context: Any) -> Any:
            with received.lock:
                received.traces.append(request)
            return trace_service_pb2.ExportTraceServiceResponse()

    class Metrics(metrics_service_pb2_grpc.MetricsServiceServicer):
        def Export(self, request: Any, context: Any) -> Any:
            with received.lock:
                received.metrics.append(request)
            return metrics_service_pb2.ExportMetricsServiceResponse()

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(Traces(), server)
    metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(Metrics(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    received.endpoint = f"http://127.0.0.1:{port}"
    try:
        yield received
    finally:
        server.stop(grace=None)


@contextmanager
def silent_listener() -> Iterator[str]:
    """A port that accepts connections but never answers (a hung collector)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        sock.close()


def closed_port() -> str:
    """An address where nothing listens (connection refused)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return f"http://127.0.0.1:{port}"
