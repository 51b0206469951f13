"""Local stand-ins for Microsoft Entra ID (Azure AD) and Key Vault, over HTTPS on 127.0.0.1.

The token service answers what azure-identity and object_store (deltalake) ask: OIDC discovery
and the client credentials grant for a tenant (a service principal), an App Service style
``/msi/token`` (a managed identity, announced by ``IDENTITY_ENDPOINT``/``IDENTITY_HEADER``) and
a VM's metadata service path (IMDS).
Its tokens are well-formed, unsigned JWTs that Azurite's ``--oauth basic`` accepts (it checks
issuer, audience and expiry). The vault answers the Key Vault SDK's challenge (401, then a
bearer token of the token service) and ``GET /secrets/{name}``. Every request is recorded,
so tests can tell which client asked for what, and every token issued, so they can look for it.
"""

from __future__ import annotations

import base64
import contextlib
import json
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

TENANT = "72f988bf-0000-4000-8000-0d1e0d1e0d1e"
CLIENT_ID = "5c1e47a0-0000-4000-8000-c11e47c11e47"
#: Long and unusual, so the secret scans find any leak of it.
CLIENT_SECRET = "sp-Secret-3e9b1d7f-Never-Shown"
IDENTITY_HEADER = "mi-Header-8a2c4e6f-Never-Shown"
STORAGE = "https://storage.azure.com"
#: The token path of a VM's metadata service (IMDS), whose host tests move with
#: ``AZURE_POD_IDENTITY_AUTHORITY_HOST``.
IMDS_PATH = "/metadata/identity/oauth2/token"


def _b64(data: dict[str, Any]) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@dataclass
class Services:
    """What the stand-ins saw: each request as ``(service, method, path, form or query)``."""

    authority: str = ""
    identity_endpoint: str = ""
    vault_url: str = ""
    secrets: dict[str, str] = field(default_factory=dict)
    requests: list[tuple[str, str, str, dict[str, str]]] = field(default_factory=list)
    tokens: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def token(self, audience: str, subject: str) -> str:
        now = int(time.time())
        claims = {
            "aud": audience.rstrip("/"),
            "iss": f"https://sts.windows.net/{TENANT}/",
            "iat": now - 60,
            "nbf": now - 60,
            "exp": now + 3600,
            "tid": TENANT,
            "oid": subject,
            "sub": subject,
            "appid": subject,
            "nonce": format(len(self.tokens), "x"),  # each token its own text
        }
        made = f"{_b64({'typ': 'JWT', 'alg': 'RS256'})}.{_b64(claims)}.c2lnbmF0dXJl"
        with self.lock:
            self.tokens.append(made)
        return made

    def seen(self, service: str, path_part: str) -> list[dict[str, str]]:
        with self.lock:
            return [r[3] for r in self.requests if r[0] == service and path_part in r[2]]

    def valid(self, bearer: str, audience: str) -> bool:
        token = bearer.removeprefix("Bearer ").strip()
        if token not in self.tokens:
            return False
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return claims["aud"] == audience.rstrip("/") and claims["exp"] > time.time()


def _scope_audience(scope: str) -> str:
    return scope.split()[0].removesuffix("/.default")


class _Handler(BaseHTTPRequestHandler):
    services: Services
    service: str

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def _send(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _record(self, form: dict[str, str]) -> None:
        with self.services.lock:
            self.services.requests.append((self.service, self.command, self.path, form))

    def do_GET(self) -> None:
        url = urlparse(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        self._record(query)
        if self.service == "vault":
            return self._vault(url.path)
        base = self.services.authority
        if url.path == f"/{TENANT}/v2.0/.well-known/openid-configuration":
            return self._send(
                200,
                {
                    "issuer": f"{base}/{TENANT}/v2.0",
                    "token_endpoint": f"{base}/{TENANT}/oauth2/v2.0/token",
                    "authorization_endpoint": f"{base}/{TENANT}/oauth2/v2.0/authorize",
                    "device_authorization_endpoint": f"{base}/{TENANT}/oauth2/v2.0/devicecode",
                    "jwks_uri": f"{base}/{TENANT}/discovery/v2.0/keys",
                    "response_types_supported": ["code", "id_token", "token"],
                    "token_endpoint_auth_methods_supported": ["client_secret_post"],
                },
            )
        if url.path in ("/msi/token", IMDS_PATH):
            if url.path == IMDS_PATH and (self.headers.get("Metadata") or "").lower() != "true":
                return self._send(
                    400, {"error": "invalid_request", "error_description": "Metadata"}
                )
            if url.path != IMDS_PATH and self.headers.get("X-IDENTITY-HEADER") != IDENTITY_HEADER:
                return self._send(401, {"error": "invalid identity header"})
            resource = query.get("resource", "")
            token = self.services.token(resource, "managed-identity")
            expires = int(time.time()) + 3600
            return self._send(
                200,
                {
                    "access_token": token,
                    "expires_on": str(expires),
                    "resource": resource,
                    "token_type": "Bearer",
                    "client_id": "managed-identity",
                },
            )
        self._send(404, {"error": "not_found", "path": url.path})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode()
        form = {k: v[0] for k, v in parse_qs(body).items()}
        self._record({k: v for k, v in form.items() if k != "client_secret"})
        if urlparse(self.path).path != f"/{TENANT}/oauth2/v2.0/token":
            return self._send(404, {"error": "not_found"})
        if form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
            return self._send(
                401, {"error": "invalid_client", "error_description": "AADSTS7000215"}
            )
        token = self.services.token(_scope_audience(form.get("scope", STORAGE)), CLIENT_ID)
        self._send(
            200,
            {
                "token_type": "Bearer",
                "expires_in": 3600,
                "ext_expires_in": 3600,
                "access_token": token,
            },
        )

    def _vault(self, path: str) -> None:
        vault = self.services.vault_url
        auth = self.headers.get("Authorization") or ""
        if not self.services.valid(auth, vault):
            challenge = (
                f'Bearer authorization="{self.services.authority}/{TENANT}", resource="{vault}"'
            )
            return self._send(
                401, {"error": {"code": "Unauthorized"}}, {"WWW-Authenticate": challenge}
            )
        name = path.removeprefix("/secrets/").strip("/").split("/")[0]
        if not path.startswith("/secrets/") or name not in self.services.secrets:
            return self._send(404, {"error": {"code": "SecretNotFound", "message": name}})
        self._send(
            200,
            {
                "value": self.services.secrets[name],
                "id": f"{vault}/secrets/{name}/0f0e0d0c0b0a",
                "attributes": {"enabled": True},
            },
        )


@contextlib.contextmanager
def _serve(services: Services, service: str, cert: Path, key: Path) -> Iterator[str]:
    handler = type(f"_{service}", (_Handler,), {"services": services, "service": service})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(cert), str(key))
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@contextlib.contextmanager
def azure_ad_services(cert: Path, key: Path) -> Iterator[Services]:
    """The token service and the vault, each on a free port, for the block."""
    services = Services()
    with (
        _serve(services, "login", cert, key) as login,
        _serve(services, "vault", cert, key) as vault,
    ):
        services.authority = login
        services.identity_endpoint = f"{login}/msi/token"
        services.vault_url = vault
        yield services
