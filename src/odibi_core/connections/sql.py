"""``type: postgres``, ``sql_server`` and ``azure_sql``: databases reached through SQLAlchemy.

A database connection stores tables, not files (``stores = "tables"``): it has no URI; the
``sql`` format reads it with queries and writes tables into it (:mod:`odibi_core.io.sql`).
The SQLAlchemy engine is built on first use, so ``odibi validate`` needs neither the driver
nor the server: Postgres through psycopg 3 (``postgresql+psycopg``), SQL Server and Azure SQL
through pyodbc (``mssql+pyodbc``, an ODBC driver on the machine). Azure AD identities (a
service principal or a managed identity, through azure-identity) reach SQL Server as an access
token handed to the ODBC driver before it connects (``SQL_COPT_SS_ACCESS_TOKEN``), a fresh one
for each new connection.
"""

from __future__ import annotations

import socket
import struct
import threading
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from odibi_core import hookimpl
from odibi_core.connections import azure_identity
from odibi_core.connections.base import Connection, flat_auth
from odibi_core.errors import ConnectionFailed, NodeError, brief

AuthMode = Literal["sql_login", "service_principal", "managed_identity", "key_vault"]
#: Odibi's other spellings of the same modes.
AUTH_ALIASES: dict[str, AuthMode] = {
    "sql": "sql_login",
    "sql_auth": "sql_login",
    "aad_service_principal": "service_principal",
    "aad_password": "service_principal",  # Odibi's tutorial: tenant, client id and secret
    "aad_msi": "managed_identity",
    "msi": "managed_identity",
}
#: Fields each mode needs, in the order a message names them.
REQUIRED: dict[str, tuple[str, ...]] = {
    "sql_login": ("username",),
    "service_principal": ("tenant_id", "client_id", "client_secret"),
    "managed_identity": (),
    "key_vault": ("username", "key_vault_name", "secret_name"),
}
#: The ODBC connection attribute that takes an Azure AD access token (msodbcsql.h).
SQL_COPT_SS_ACCESS_TOKEN = 1256
#: What an Azure AD token for Azure SQL is asked for.
AZURE_SQL_SCOPE = "https://database.windows.net/.default"
DEFAULT_ODBC_DRIVER = "ODBC Driver 18 for SQL Server"


class SqlConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    host: str = Field(alias="server")
    port: int | None = Field(None, ge=1, le=65535)
    database: str
    auth_mode: AuthMode | None = None
    username: str | None = None
    password: str | None = None
    tenant_id: str | None = None
    client_id: str | None = None  # the app (service_principal) or a user-assigned identity
    client_secret: str | None = None
    key_vault_name: str | None = None
    secret_name: str | None = None
    #: The vault's URL when it is not ``https://<key_vault_name>.vault.azure.net`` (a
    #: sovereign cloud, a private endpoint); ``key_vault_name`` is then optional.
    key_vault_url: str | None = None
    #: The Azure AD authority of a service principal (also one reading the vault) when it is
    #: not ``https://login.microsoftonline.com``.
    authority_host: str | None = None
    #: Seconds to reach the server and log in.
    timeout: float = Field(30, gt=0)
    #: Postgres: libpq's ``sslmode`` (disable, allow, prefer, require, verify-ca, verify-full).
    sslmode: str | None = None
    #: SQL Server: the ODBC driver's name, and its encryption settings.
    driver: str = DEFAULT_ODBC_DRIVER
    encrypt: bool = True
    trust_server_certificate: bool = False
    #: Further driver parameters (Postgres: libpq keywords; SQL Server: ODBC keywords).
    options: dict[str, str] = Field(default_factory=dict)
    validation_mode: str = "lazy"

    @model_validator(mode="before")
    @classmethod
    def _flatten_auth(cls, data: Any) -> Any:
        """``auth: {mode: m, <fields>}`` is ``auth_mode: m`` plus the fields; Odibi's
        spellings of a mode (``sql``, ``aad_msi`` …) and of fields (``user``, ``key_vault``,
        ``secret``) are read as ours."""
        data = flat_auth(data, {"user": "username", "key_vault": "key_vault_name"}, AUTH_ALIASES)
        vault = isinstance(data, dict) and data.get("key_vault_name")
        if vault and "secret" in data and "secret_name" not in data:
            data["secret_name"] = data.pop("secret")  # Odibi's name of the vault's secret
        return data

    @model_validator(mode="after")
    def _complete(self) -> SqlConfig:
        self.auth_mode = self.auth_mode or infer_mode(self)
        missing = [f for f in REQUIRED[self.auth_mode] if not getattr(self, f)]
        if self.key_vault_url and "key_vault_name" in missing:
            missing.remove("key_vault_name")
        if missing:
            raise ValueError(f"auth mode '{self.auth_mode}' needs {', '.join(missing)}")
        return self


def infer_mode(config: SqlConfig) -> AuthMode:
    """The mode the fields given imply: a Key Vault password, a service principal, a user
    name (and password), else a managed identity."""
    given = {name for name, value in config if value is not None}
    if given & {"key_vault_name", "key_vault_url", "secret_name"}:
        return "key_vault"
    if given & {"client_secret", "tenant_id"}:
        return "service_principal"
    if given & {"username", "password"}:
        return "sql_login"
    return "managed_identity"


class SqlConnection(Connection):
    """A database: the SQLAlchemy engine, built once on first use, and what the ``sql``
    format asks of it."""

    stores = "tables"
    config_model = SqlConfig
    extras: ClassVar[tuple[str, ...]] = ("sql",)
    config: SqlConfig
    #: SQLAlchemy's dialect (``postgresql`` or ``mssql``) and the port it defaults to.
    dialect: ClassVar[str]
    default_port: ClassVar[int]

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._lock = threading.RLock()
        self._engine: Any = None
        self._vault_password: str | None = None
        self._tokens: list[str] = []

    @property
    def port(self) -> int:
        return self.config.port or self.default_port

    # ------------------------------------------------------------ the engine

    def engine(self) -> Any:
        """The SQLAlchemy engine (built, and the server's port checked, once)."""
        with self._lock:
            if self._engine is None:
                self.check_reachable()
                self._engine = self._build_engine()
            return self._engine

    def _build_engine(self) -> Any:
        raise NotImplementedError

    def endpoint(self) -> tuple[str, int] | None:
        return (self.config.host, self.port)

    def check_reachable(self) -> None:
        """Fail in seconds, with the address, when nothing listens on the server's port (the
        drivers' own errors for that are slow or cryptic). Retryable: a server restarting or
        failing over answers again."""
        c = self.config
        try:
            with socket.create_connection((c.host, self.port), timeout=min(c.timeout, 10)):
                pass
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            if isinstance(exc, TimeoutError | socket.timeout):
                reason = f"no answer in {min(c.timeout, 10):g}s"
            raise NodeError(
                f"connection '{self.name}' ({self.type_name}): cannot reach "
                f"{c.host}:{self.port} ({reason})",
                retryable=True,
            ) from None

    def jdbc(self) -> tuple[str, dict[str, str]]:
        """The JDBC URL and connection properties the spark engine connects with (the
        driver's class, and a login's user and password or an Azure AD identity's token)."""
        raise NotImplementedError

    def password(self) -> str | None:
        """The password of a SQL login: given, or read once from Key Vault."""
        c = self.config
        if c.auth_mode != "key_vault":
            return c.password
        with self._lock:
            if self._vault_password is None:
                self._vault_password = azure_identity.read_secret(
                    self.name, c, connect_timeout=c.timeout, read_timeout=c.timeout
                )
            return self._vault_password

    def close(self) -> None:
        with self._lock:
            if self._engine is not None:
                self._engine.dispose()
                self._engine = None

    # ------------------------------------------------------------ what shows

    def secrets(self) -> list[str]:
        c = self.config
        found = [v for v in (c.password, c.client_secret, self._vault_password) if v]
        return found + list(self._tokens)

    def describe(self) -> dict[str, Any]:
        c = self.config
        return {
            "name": self.name,
            "type": self.type_name,
            "host": c.host,
            "port": self.port,
            "database": c.database,
            "auth_mode": c.auth_mode,
        }

    def table_rows(self, table: str) -> int | None:
        """Rows ``table`` holds, or None when there is no such table."""
        from odibi_core.io import sql_dialects

        return sql_dialects.for_connection(self).count_rows(self.engine(), table)


class PostgresConnection(SqlConnection):
    """A PostgreSQL database (``server``, ``database``, a login), read with queries and
    written with ``format: sql`` (needs ``odibi[sql]``)."""

    type_name = "postgres"
    dialect = "postgresql"
    default_port = 5432

    def url(self) -> Any:
        """The SQLAlchemy URL (its text hides the password)."""
        from sqlalchemy.engine import URL

        c = self.config
        # Sessions in UTC: times read back in UTC, and a mark without a zone means UTC, as
        # for the marks of files (engines/marks.py).
        query = {
            "connect_timeout": str(max(1, round(c.timeout))),
            "options": "-c TimeZone=UTC",
            **c.options,
        }
        if c.sslmode:
            query["sslmode"] = c.sslmode
        return URL.create(
            "postgresql+psycopg",
            username=c.username,
            password=self.password(),
            host=c.host,
            port=self.port,
            database=c.database,
            query=query,
        )

    def jdbc(self) -> tuple[str, dict[str, str]]:
        c = self.config
        properties = {
            "driver": "org.postgresql.Driver",
            "connectTimeout": str(max(1, round(c.timeout))),
            "options": "-c TimeZone=UTC",
            # Spark's batches of INSERTs become multi-row INSERTs: several times faster.
            "reWriteBatchedInserts": "true",
        }
        if c.username:
            properties["user"] = c.username
        password = self.password()
        if password:
            properties["password"] = password
        if c.sslmode:
            properties["sslmode"] = c.sslmode
        return f"jdbc:postgresql://{c.host}:{self.port}/{c.database}", properties

    def _build_engine(self) -> Any:
        from sqlalchemy import create_engine

        try:
            return create_engine(self.url(), pool_pre_ping=True)
        except ImportError as exc:
            raise ConnectionFailed(
                f"connection '{self.name}' (postgres) needs pip install 'odibi[sql]' ({exc})"
            ) from None


class SqlServerConnection(SqlConnection):
    """A SQL Server database through ODBC (``driver``), signed in with a SQL login, Key Vault,
    a service principal or a managed identity (needs ``odibi[sql]`` and an ODBC driver)."""

    type_name = "sql_server"
    extras = ("sql", "azure")  # pyodbc comes with odibi[azure]
    dialect = "mssql"
    default_port = 1433

    def odbc_connection_string(self) -> str:
        """What pyodbc is given: server, database, encryption, and a SQL login's user and
        password (an Azure AD identity's token goes separately, see ``connect_args``)."""
        c = self.config
        parts = {
            "DRIVER": "{" + c.driver.strip("{}") + "}",
            "SERVER": f"tcp:{c.host},{self.port}",
            "DATABASE": c.database,
            "Encrypt": "yes" if c.encrypt else "no",
            "TrustServerCertificate": "yes" if c.trust_server_certificate else "no",
            "Connection Timeout": str(max(1, round(c.timeout))),
        }
        if c.auth_mode in ("sql_login", "key_vault"):
            parts["UID"] = str(c.username)
            parts["PWD"] = _odbc_value(self.password() or "")
        parts.update(c.options)
        return ";".join(f"{k}={v}" for k, v in parts.items()) + ";"

    def jdbc(self) -> tuple[str, dict[str, str]]:
        """Microsoft's JDBC driver: encryption as for ODBC; an Azure AD identity's token in
        ``accessToken`` (fresh when the read or write starts)."""
        c = self.config
        settings = {
            "databaseName": c.database,
            "encrypt": "true" if c.encrypt else "false",
            "trustServerCertificate": "true" if c.trust_server_certificate else "false",
            "loginTimeout": str(max(1, round(c.timeout))),
        }
        url = f"jdbc:sqlserver://{c.host}:{self.port};" + "".join(
            f"{k}={_jdbc_value(v)};" for k, v in settings.items()
        )
        properties = {"driver": "com.microsoft.sqlserver.jdbc.SQLServerDriver"}
        if c.auth_mode in ("sql_login", "key_vault"):
            properties["user"] = str(c.username)
            properties["password"] = self.password() or ""
        else:
            properties["accessToken"] = self.access_token(self.credential())
        return url, properties

    def uses_token(self) -> bool:
        return self.config.auth_mode in ("service_principal", "managed_identity")

    def credential(self) -> Any:
        """The azure-identity credential of a service principal or a managed identity."""
        c = self.config
        try:
            from azure.identity import ManagedIdentityCredential
        except ImportError:
            raise ConnectionFailed(
                f"connection '{self.name}': auth mode {c.auth_mode} needs "
                "pip install 'odibi[azure]'"
            ) from None
        if c.auth_mode == "service_principal":
            return azure_identity.service_principal(
                str(c.tenant_id), str(c.client_id), str(c.client_secret), c.authority_host
            )
        return ManagedIdentityCredential(client_id=c.client_id)

    def access_token(self, credential: Any) -> str:
        try:
            token = str(credential.get_token(AZURE_SQL_SCOPE).token)
        except Exception as exc:
            raise ConnectionFailed(
                f"connection '{self.name}': cannot get an Azure AD token "
                f"({self.config.auth_mode}): {brief(exc)}"
            ) from None
        with self._lock:
            if token not in self._tokens:
                self._tokens.append(token)
        return token

    def _build_engine(self) -> Any:
        from sqlalchemy import create_engine, event
        from sqlalchemy.engine import URL

        url = URL.create("mssql+pyodbc", query={"odbc_connect": self.odbc_connection_string()})
        try:
            engine = create_engine(url, fast_executemany=True, pool_pre_ping=True)
        except ImportError as exc:
            raise ConnectionFailed(
                f"connection '{self.name}' ({self.type_name}) needs pyodbc and an ODBC driver "
                f"('{self.config.driver}'): {exc}"
            ) from None

        @event.listens_for(engine, "connect")
        def _converters(dbapi_connection: Any, record: Any) -> None:
            dbapi_connection.add_output_converter(SQL_SS_DATETIMEOFFSET, datetimeoffset)

        if self.uses_token():
            event.listen(engine, "do_connect", self.token_hook(self.credential()))
        return engine

    def token_hook(self, credential: Any) -> Any:
        """SQLAlchemy's ``do_connect`` listener putting a fresh token into each connection's
        arguments (``cparams``, what ``pyodbc.connect`` is called with)."""

        def _token(dialect: Any, record: Any, cargs: Any, cparams: dict[str, Any]) -> None:
            cparams.update(connect_args(self.access_token(credential)))

        return _token


class AzureSqlConnection(SqlServerConnection):
    """Azure SQL Database: SQL Server's connection under Odibi's other name for it."""

    type_name = "azure_sql"


def connect_args(token: str) -> dict[str, Any]:
    """pyodbc's ``connect()`` arguments handing the ODBC driver an Azure AD access token: the
    token as UTF-16-LE bytes after their length (a 4-byte little-endian integer)."""
    raw = token.encode("utf-16-le")
    return {
        "attrs_before": {SQL_COPT_SS_ACCESS_TOKEN: struct.pack(f"<I{len(raw)}s", len(raw), raw)}
    }


#: The ODBC type of DATETIMEOFFSET columns, which pyodbc hands over as bytes.
SQL_SS_DATETIMEOFFSET = -155


def datetimeoffset(raw: bytes) -> Any:
    """A DATETIMEOFFSET value (SQL_SS_TIMESTAMPOFFSET_STRUCT) as an aware ``datetime``."""
    from datetime import datetime, timedelta, timezone

    year, month, day, hour, minute, second, nanos, tz_hours, tz_minutes = struct.unpack(
        "<6hI2h", raw
    )
    zone = timezone(timedelta(hours=tz_hours, minutes=tz_minutes))
    return datetime(year, month, day, hour, minute, second, nanos // 1000, tzinfo=zone)


def _jdbc_value(value: str) -> str:
    """A value in a SQL Server JDBC URL: braced when it holds ``;`` ``{`` ``}`` or ``=``."""
    if any(ch in value for ch in ";{}="):
        return "{" + value.replace("}", "}}") + "}"
    return value


def _odbc_value(value: str) -> str:
    """A value in an ODBC connection string: braced when it holds ``;`` ``{`` ``}`` or spaces
    at either end, a ``}`` doubled."""
    if any(ch in value for ch in ";{}") or value != value.strip():
        return "{" + value.replace("}", "}}") + "}"
    return value


@hookimpl
def odibi_register_connection_types() -> list[type[Connection]]:
    return [PostgresConnection, SqlServerConnection, AzureSqlConnection]
