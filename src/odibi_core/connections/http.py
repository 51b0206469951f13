"""``type: http``: a REST API under a base URL, read with ``format: api``
(:mod:`odibi_core.io.api`).

The connection owns where requests go and who they come from: ``base_url``, default
``headers`` and one ``auth`` mode (``api_key``, ``bearer``, ``basic``, or ``oauth2`` client
credentials, whose token is fetched once per run and reused until it expires). Every
credential it sends, the ones it obtained at run time included, is reported by ``secrets()``
so outputs are scrubbed of it.
"""

from __future__ import annotations

import base64
import re
import threading
import time
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from odibi_core import hookimpl
from odibi_core.connections.base import Connection
from odibi_core.errors import NodeError
from odibi_core.secrets import is_secret_key

if TYPE_CHECKING:
    import requests

AuthMode = Literal["none", "api_key", "bearer", "basic", "oauth2"]

#: The fields each mode needs, and the ones it may take besides.
REQUIRED: dict[str, tuple[str, ...]] = {
    "none": (),
    "api_key": ("api_key",),
    "bearer": ("token",),
    "basic": ("username", "password"),
    "oauth2": ("token_url", "client_id", "client_secret"),
}
OPTIONAL: dict[str, tuple[str, ...]] = {
    "api_key": ("header_name", "value_template"),
    "oauth2": ("scope", "client_auth"),
}
#: A header name as HTTP allows it (RFC 9110 ``token``).
_HEADER_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
#: Seconds before an OAuth2 token's stated expiry at which a new one is fetched.
_EXPIRY_MARGIN = 30.0


class HttpAuth(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mode: AuthMode | None = None
    api_key: str | None = None
    header_name: str = "Authorization"
    value_template: str = "Bearer {token}"
    token: str | None = None
    username: str | None = None
    password: str | None = None
    token_url: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    scope: str | None = None
    #: How the client authenticates to the token endpoint: form fields (most providers,
    #: Azure AD included) or HTTP Basic (RFC 6749 §2.3.1).
    client_auth: Literal["body", "basic"] = "body"

    @field_validator("header_name")
    @classmethod
    def _header_name(cls, value: str) -> str:
        if not _HEADER_NAME.fullmatch(value):
            raise ValueError(f"header_name {value!r} is not a valid HTTP header name")
        return value

    @field_validator("value_template")
    @classmethod
    def _one_token(cls, value: str) -> str:
        if value.count("{token}") != 1:
            raise ValueError("value_template must contain exactly one '{token}'")
        return value

    @model_validator(mode="after")
    def _complete(self) -> HttpAuth:
        mode = self.mode or infer_mode(self)
        self.mode = mode
        missing = [f for f in REQUIRED[mode] if not getattr(self, f)]
        if missing:
            raise ValueError(f"auth mode '{mode}' needs {', '.join(missing)}")
        allowed = {"mode", *REQUIRED[mode], *OPTIONAL.get(mode, ())}
        stray = [f for f in self.model_fields_set if f not in allowed]
        if stray:
            raise ValueError(
                f"auth mode '{mode}' does not use {', '.join(sorted(stray))} "
                f"(it takes: {', '.join(sorted(allowed - {'mode'})) or 'nothing'})"
            )
        for name in ("api_key", "token", "username", "password"):
            if _has_control(getattr(self, name)):
                raise ValueError(f"auth.{name} contains a control character (a line break?)")
        if self.token_url and urlsplit(self.token_url).scheme not in ("http", "https"):
            raise ValueError("token_url must be an http:// or https:// URL")
        return self


def infer_mode(auth: HttpAuth) -> AuthMode:
    """The mode the fields given imply, as Odibi's older configs leave it out."""
    given = auth.model_fields_set
    if "token_url" in given or "client_secret" in given:
        return "oauth2"
    if "api_key" in given:
        return "api_key"
    if "token" in given:
        return "bearer"
    if given & {"username", "password"}:
        return "basic"
    return "none"


def _has_control(value: str | None) -> bool:
    return value is not None and any(ord(c) < 32 or ord(c) == 127 for c in value)


class HttpConfig(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"base_url": "https://api.example.com/v1"}]},
    )

    base_url: str
    headers: dict[str, str] = Field(default_factory=dict)
    auth: HttpAuth = Field(default_factory=HttpAuth)
    validation_mode: str = "lazy"

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"base_url must be an http:// or https:// URL (got {value!r})")
        return value

    @field_validator("headers")
    @classmethod
    def _valid_headers(cls, value: dict[str, str]) -> dict[str, str]:
        for name, text in value.items():
            if not _HEADER_NAME.fullmatch(name):
                raise ValueError(f"{name!r} is not a valid HTTP header name")
            if _has_control(text):
                raise ValueError(f"header {name!r} contains a control character")
        return value


class HttpConnection(Connection):
    """A REST API under ``base_url``, read with ``format: api`` (API key, bearer, Basic or
    OAuth2 auth; paginated; throttling waited out)."""

    type_name = "http"
    config_model = HttpConfig

    def endpoint(self) -> tuple[str, int] | None:
        from urllib.parse import urlparse

        url = urlparse(self.config.base_url)
        return (url.hostname or "", url.port or (80 if url.scheme == "http" else 443))

    config: HttpConfig

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._lock = threading.RLock()
        self._local = threading.local()
        self._token: str | None = None
        self._token_expires: float | None = None
        self._obtained: list[str] = []

    # ------------------------------------------------------------ where

    def uri(self, path: str) -> str:
        """``path`` under ``base_url``; a full ``http(s)://`` URL is taken as it is."""
        if path.startswith(("http://", "https://")):
            return path
        base = self.config.base_url.rstrip("/")
        return f"{base}/{path.lstrip('/')}" if path else base

    def same_origin(self, url: str) -> bool:
        """Whether ``url`` is on the base URL's scheme, host and port (credentials go there
        only: a next-page link to another host gets none)."""
        a, b = urlsplit(self.config.base_url), urlsplit(url)
        return (a.scheme, a.hostname, a.port) == (b.scheme, b.hostname, b.port)

    # ------------------------------------------------------------ credentials

    def auth_headers(self, timeout: float = 30.0) -> dict[str, str]:
        """The headers that carry the credentials (an OAuth2 token fetched if needed)."""
        auth = self.config.auth
        if auth.mode == "api_key":
            value = auth.value_template.replace("{token}", str(auth.api_key))
            return {auth.header_name: value}
        if auth.mode == "bearer":
            return {"Authorization": f"Bearer {auth.token}"}
        if auth.mode == "basic":
            return {"Authorization": f"Basic {_basic(auth.username, auth.password)}"}
        if auth.mode == "oauth2":
            return {"Authorization": f"Bearer {self.access_token(timeout)}"}
        return {}

    def access_token(self, timeout: float = 30.0, renew: bool = False) -> str:
        """The OAuth2 access token: fetched once, reused until shortly before it expires
        (or ``renew``, when the API refused it)."""
        with self._lock:
            fresh = self._token_expires is None or time.monotonic() < self._token_expires
            if self._token is None or renew or not fresh:
                self._fetch_token(timeout)
            assert self._token is not None
            return self._token

    def _fetch_token(self, timeout: float) -> None:
        import requests

        auth = self.config.auth
        form = {"grant_type": "client_credentials"}
        if auth.scope:
            form["scope"] = auth.scope
        basic = None
        if auth.client_auth == "basic":
            basic = (str(auth.client_id), str(auth.client_secret))
        else:
            form["client_id"] = str(auth.client_id)
            form["client_secret"] = str(auth.client_secret)
        where = f"connection '{self.name}': the OAuth2 token endpoint {safe_url(auth.token_url)}"
        last: Exception | None = None
        for attempt in range(3):
            try:
                answer = self.session().post(
                    str(auth.token_url),
                    data=form,
                    auth=basic,
                    headers={"Accept": "application/json"},
                    timeout=timeout,
                )
            except (requests.Timeout, requests.ConnectionError) as exc:
                last = exc
                time.sleep(0.5 * 2**attempt)
                continue
            if answer.status_code >= 500 or answer.status_code == 429:
                last = None
                time.sleep(0.5 * 2**attempt)
                continue
            break
        else:
            cause = f": {type(last).__name__}" if last else f" answered {answer.status_code}"
            raise NodeError(f"{where} did not answer{cause}", step="read", retryable=True)
        try:
            body = answer.json()
        except ValueError:
            body = None
        if answer.status_code >= 400 or not isinstance(body, dict) or not body.get("access_token"):
            reason = ""
            if isinstance(body, dict) and body.get("error"):
                reason = f": {body['error']}"
                if body.get("error_description"):
                    reason += f" ({str(body['error_description']).splitlines()[0][:200]})"
            elif answer.status_code < 400:
                reason = ": the answer has no access_token"
            raise NodeError(
                f"{where} refused the client credentials ({answer.status_code}){reason}",
                step="read",
            )
        token = str(body["access_token"])
        self._token = token
        self._obtained.append(token)
        expires = body.get("expires_in")
        try:
            seconds = float(expires) if expires is not None else None
        except (TypeError, ValueError):
            seconds = None
        self._token_expires = (
            None if seconds is None else time.monotonic() + max(seconds - _EXPIRY_MARGIN, 0)
        )

    def session(self) -> requests.Session:
        """A ``requests`` session (pooled connections) per thread, as nodes may run in
        parallel, with the default headers; credentials are added per request
        (:meth:`auth_headers`)."""
        import requests

        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.headers.update(self.config.headers)
            self._local.session = session
        return session

    def secrets(self) -> list[str]:
        """Every credential the connection sends, the tokens it obtained included."""
        auth = self.config.auth
        found = [v for v in (auth.api_key, auth.token, auth.password, auth.client_secret) if v]
        if auth.mode == "basic":
            found.append(_basic(auth.username, auth.password))
        found += [v for k, v in self.config.headers.items() if is_secret_key(k) and v]
        password = urlsplit(self.config.base_url).password
        if password:
            found.append(password)
        with self._lock:
            found += self._obtained
        return found

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type_name,
            "base_url": safe_url(self.config.base_url),
            "auth_mode": self.config.auth.mode,
        }


def _basic(username: str | None, password: str | None) -> str:
    return base64.b64encode(f"{username}:{password}".encode()).decode("ascii")


def safe_url(url: str | None) -> str:
    """``url`` for a message: no user or password, and the values of query parameters with
    secret names (``api_key=...``) masked."""
    if not url:
        return ""
    from urllib.parse import parse_qsl, urlencode

    parts = urlsplit(url)
    netloc = parts.hostname or ""
    if parts.port:
        netloc += f":{parts.port}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(is_secret_key(k) for k, _ in pairs):
            masked = [(k, "***" if is_secret_key(k) else v) for k, v in pairs]
            query = urlencode(masked, safe="+:[]*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


@hookimpl
def odibi_register_connection_types() -> list[type[Connection]]:
    return [HttpConnection]
