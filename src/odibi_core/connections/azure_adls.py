"""``type: azure_adls`` (also ``azure_blob``): a container of an Azure storage account (SPEC §8).

One connection serves every reader and writer: ``uri`` gives ``az://container/prefix/path``,
which deltalake (object_store) and fsspec (adlfs) both understand; ``storage_options`` speaks
object_store's option names and ``fsspec_options`` adlfs's. Credentials come from one
``auth_mode`` (or ``auth: {mode: ...}``), inferred from the fields present when not given.
"""

from __future__ import annotations

import threading
from typing import Any, Literal
from urllib.parse import urlparse

from pydantic import BaseModel, ConfigDict, Field, model_validator

from odibi_core import hookimpl
from odibi_core.connections import azure_identity
from odibi_core.connections.base import Connection, flat_auth

AuthMode = Literal[
    "direct_key",
    "sas_token",
    "service_principal",
    "managed_identity",
    "key_vault",
    "connection_string",
]

#: Fields each mode needs, in the order a message names them.
REQUIRED: dict[str, tuple[str, ...]] = {
    "direct_key": ("account_key",),
    "sas_token": ("sas_token",),
    "service_principal": ("tenant_id", "client_id", "client_secret"),
    "managed_identity": (),
    "key_vault": ("key_vault_name", "secret_name"),
    "connection_string": ("connection_string",),
}


#: Odibi's names for the modes (``auth.mode``) and fields, and ours they mean.
ODIBI_MODES = {"account_key": "direct_key", "sas": "sas_token", "aad_msi": "managed_identity"}
ODIBI_FIELDS = {"account": "account_name", "key_vault": "key_vault_name", "secret": "secret_name"}


class AzureAdlsConfig(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        # What ``odibi explain azure_adls`` shows.
        json_schema_extra={
            "examples": [
                {"account_name": "mystorage", "container": "lake", "auth_mode": "managed_identity"}
            ]
        },
    )

    account_name: str | None = None  # optional only with a connection string that names it
    container: str
    path_prefix: str = ""
    auth_mode: AuthMode | None = None
    account_key: str | None = None
    sas_token: str | None = None
    tenant_id: str | None = None
    client_id: str | None = None  # the app (service_principal) or a user-assigned identity
    client_secret: str | None = None
    key_vault_name: str | None = None
    secret_name: str | None = None
    connection_string: str | None = None
    #: The Key Vault's URL when it is not ``https://<key_vault_name>.vault.azure.net``: a
    #: sovereign cloud's vault or a private endpoint (``key_vault_name`` is then optional).
    key_vault_url: str | None = None
    #: The Microsoft Entra ID (Azure AD) authority that issues a service principal's tokens
    #: when it is not ``https://login.microsoftonline.com``: a sovereign cloud or a local
    #: stand-in.
    authority_host: str | None = None
    #: The blob service's URL when it is not ``https://<account>.blob.core.windows.net``:
    #: a sovereign cloud, a private endpoint, or the Azurite emulator.
    endpoint: str | None = None
    validation_mode: str = "lazy"
    #: Bounds on each request to storage, so an unreachable or silent endpoint fails in
    #: seconds rather than minutes (the SDKs' own defaults): seconds to connect, seconds to
    #: wait for an answer, and retries of a failed request before Odibi's ``retry`` decides.
    connect_timeout: float = Field(10.0, gt=0)
    read_timeout: float = Field(30.0, gt=0)
    max_retries: int = Field(2, ge=0, le=10)

    @model_validator(mode="before")
    @classmethod
    def _flatten_auth(cls, data: Any) -> Any:
        """``auth: {mode: m, <fields>}`` is the same as ``auth_mode: m`` plus the fields;
        Odibi's spellings of modes and fields mean what ours do."""
        return flat_auth(data, ODIBI_FIELDS, ODIBI_MODES)

    @model_validator(mode="after")
    def _complete(self) -> AzureAdlsConfig:
        mode = self.auth_mode or infer_mode(self)
        self.auth_mode = mode
        missing = [f for f in REQUIRED[mode] if not getattr(self, f)]
        if mode == "key_vault" and self.key_vault_url and "key_vault_name" in missing:
            missing.remove("key_vault_name")
        if missing:
            raise ValueError(f"auth_mode '{self.auth_mode}' needs {', '.join(missing)}")
        if not self.account_name:
            named = _parse_connection_string(self.connection_string or "").get("AccountName")
            if not named:
                raise ValueError("account_name is required")
            self.account_name = named
        return self


def infer_mode(config: AzureAdlsConfig) -> AuthMode:
    """The auth mode the fields given imply: the first of connection string, account key, SAS
    token, service principal (any of its tenant or secret), Key Vault; managed identity when
    none is given (``client_id`` alone picks a user-assigned identity). A field given empty
    (a ``${env:...}`` that was not set) still counts, so it is reported rather than skipped."""
    given = {name for name, value in config if value is not None}
    if "connection_string" in given:
        return "connection_string"
    if "account_key" in given:
        return "direct_key"
    if "sas_token" in given:
        return "sas_token"
    if given & {"client_secret", "tenant_id"}:
        return "service_principal"
    if given & {"key_vault_name", "key_vault_url", "secret_name"}:
        return "key_vault"
    return "managed_identity"


def _duration(seconds: float) -> str:
    """Seconds as object_store reads a duration."""
    return f"{round(seconds * 1000)}ms"


def _authority(config: AzureAdlsConfig) -> str:
    return azure_identity.authority(config.authority_host)


def _identity_endpoint() -> str | None:
    """The managed identity token endpoint azure-identity would ask, for object_store, which
    reads neither variable itself: the one an Azure host (App Service, Functions, Container
    Apps, Arc) announces in ``IDENTITY_ENDPOINT``, or the metadata service (IMDS) moved with
    ``AZURE_POD_IDENTITY_AUTHORITY_HOST``; none means IMDS at its own address."""
    import os

    if os.environ.get("IDENTITY_ENDPOINT"):
        return os.environ["IDENTITY_ENDPOINT"]
    imds = os.environ.get("AZURE_POD_IDENTITY_AUTHORITY_HOST", "").strip("/")
    return f"{imds}/metadata/identity/oauth2/token" if imds else None


def _parse_connection_string(text: str) -> dict[str, str]:
    parts = (p.split("=", 1) for p in text.split(";") if "=" in p)
    return {k.strip(): v.strip() for k, v in parts}


class AzureAdlsConnection(Connection):
    """A container of an Azure Data Lake Storage Gen2 (or Blob storage) account, signed in with
    an account key, a SAS token, a service principal, a managed identity, a key from Key Vault
    or a connection string (``auth_mode``, inferred from the fields given when omitted)."""

    type_name = "azure_adls"
    config_model = AzureAdlsConfig
    extras = ("azure",)
    config: AzureAdlsConfig

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._lock = threading.RLock()
        self._vault_key: str | None = None
        # Built once: fsspec caches a file system per distinct options, and a managed
        # identity's credential object is part of them.
        self._fsspec: dict[str, Any] | None = None

    def endpoint(self) -> tuple[str, int] | None:
        c = self.config
        url = c.endpoint
        if not url and c.auth_mode == "connection_string":
            parsed = _parse_connection_string(c.connection_string or "")
            url = parsed.get("BlobEndpoint")
            if not url and parsed.get("EndpointSuffix"):
                account = parsed.get("AccountName", c.account_name)
                url = f"https://{account}.blob.{parsed['EndpointSuffix']}"
        if not url:
            url = f"https://{c.account_name}.blob.core.windows.net"
        parsed_url = urlparse(url)
        default = 80 if parsed_url.scheme == "http" else 443
        return (parsed_url.hostname or "", parsed_url.port or default)

    def uri(self, path: str) -> str:
        parts = [self.config.container, self.config.path_prefix.strip("/"), path.strip("/")]
        return "az://" + "/".join(p for p in parts if p)

    # ------------------------------------------------------------ credentials

    def _credentials(self) -> dict[str, str]:
        """The account, key or token and blob endpoint, in Azure's own terms."""
        c = self.config
        found: dict[str, str] = {"AccountName": str(c.account_name)}
        if c.endpoint:
            found["BlobEndpoint"] = c.endpoint.rstrip("/")
        if c.auth_mode == "connection_string":
            parsed = _parse_connection_string(c.connection_string or "")
            for key in ("AccountKey", "SharedAccessSignature", "BlobEndpoint"):
                if parsed.get(key):
                    found[key] = parsed[key]
            suffix = parsed.get("EndpointSuffix")
            if suffix and "BlobEndpoint" not in found:  # a sovereign cloud
                scheme = parsed.get("DefaultEndpointsProtocol", "https")
                found["BlobEndpoint"] = f"{scheme}://{found['AccountName']}.blob.{suffix}"
        elif c.auth_mode == "direct_key":
            found["AccountKey"] = str(c.account_key)
        elif c.auth_mode == "key_vault":
            found["AccountKey"] = self._key_from_vault()
        elif c.auth_mode == "sas_token":
            found["SharedAccessSignature"] = str(c.sas_token).lstrip("?")
        return found

    def _key_from_vault(self) -> str:
        """The account key, read once from Key Vault (see ``azure_identity.vault_credential``
        for whose identity reads it)."""
        c = self.config
        with self._lock:
            if self._vault_key is None:
                self._vault_key = azure_identity.read_secret(
                    self.name,
                    c,
                    connect_timeout=c.connect_timeout,
                    read_timeout=c.read_timeout,
                    retries=c.max_retries,
                )
            return self._vault_key

    def secrets(self) -> list[str]:
        """Every credential value the connection uses, also those it read at run time (a Key
        Vault key) or took apart (a connection string's key or SAS), to scrub from text."""
        c = self.config
        found = [v for v in (c.account_key, c.sas_token, c.client_secret, c.connection_string) if v]
        if c.auth_mode == "connection_string" or self._vault_key:
            creds = self._credentials()
            found += [creds[k] for k in ("AccountKey", "SharedAccessSignature") if k in creds]
        return found + [v.lstrip("?") for v in found if v.startswith("?")]

    def storage_options(self) -> dict[str, str]:
        """For deltalake (object_store's Azure options)."""
        c = self.config
        creds = self._credentials()
        options = {"account_name": creds["AccountName"]}
        if "BlobEndpoint" in creds:
            options["endpoint"] = creds["BlobEndpoint"]
            if creds["BlobEndpoint"].startswith("http://"):
                options["allow_http"] = "true"
        secret = self._secret_options(creds)
        options.update(secret)
        if c.auth_mode == "service_principal" and c.authority_host:
            options["authority_host"] = _authority(c)
        if c.auth_mode == "managed_identity":
            if c.client_id:  # a user-assigned identity
                options["client_id"] = c.client_id
            if _identity_endpoint():  # object_store sends ``IDENTITY_HEADER`` itself
                options["msi_endpoint"] = str(_identity_endpoint())
        # object_store's bounds: ``timeout`` covers a whole request, answer included.
        options["connect_timeout"] = _duration(c.connect_timeout)
        options["timeout"] = _duration(c.read_timeout)
        options["max_retries"] = str(c.max_retries)
        return options

    def _secret_options(self, creds: dict[str, str]) -> dict[str, str]:
        """Key, SAS or service principal, under the names both libraries use for them."""
        c = self.config
        if "AccountKey" in creds:
            return {"account_key": creds["AccountKey"]}
        if "SharedAccessSignature" in creds:
            return {"sas_token": creds["SharedAccessSignature"]}
        if c.auth_mode == "service_principal":
            return {
                "tenant_id": str(c.tenant_id),
                "client_id": str(c.client_id),
                "client_secret": str(c.client_secret),
            }
        return {}

    def fsspec_options(self) -> dict[str, Any]:
        """For pandas through fsspec (adlfs)."""
        with self._lock:
            if self._fsspec is None:
                self._fsspec = self._fsspec_options()
            return dict(self._fsspec)

    def _fsspec_options(self) -> dict[str, Any]:
        import fsspec

        from odibi_core.connections import azure_fs

        c = self.config
        # adlfs, with the SDK's retries and timeouts bounded (see azure_fs); the class is
        # imported by fsspec when a file is first opened.
        fsspec.register_implementation(
            azure_fs.PROTOCOL, f"{azure_fs.__name__}.BoundedBlobFileSystem"
        )
        bounds = {
            "protocol": azure_fs.PROTOCOL,
            "connection_timeout": c.connect_timeout,
            "read_timeout": c.read_timeout,
            "max_retries": c.max_retries,
        }
        creds = self._credentials()
        key_or_sas = "AccountKey" in creds or "SharedAccessSignature" in creds
        if key_or_sas and "BlobEndpoint" in creds:
            # adlfs reaches a non-default endpoint only through a connection string.
            scheme = urlparse(creds["BlobEndpoint"]).scheme or "https"
            pairs = {"DefaultEndpointsProtocol": scheme, **creds}
            text = ";".join(f"{k}={v}" for k, v in pairs.items()) + ";"
            return {"connection_string": text, **bounds}
        options: dict[str, Any] = {"account_name": creds["AccountName"], **bounds}
        if "BlobEndpoint" in creds:
            options["account_host"] = urlparse(creds["BlobEndpoint"]).netloc
            options["blob_endpoint"] = creds["BlobEndpoint"]
        if c.auth_mode == "service_principal" and c.authority_host:
            # adlfs builds its own credential for the public cloud only.
            from azure.identity.aio import ClientSecretCredential

            options["credential"] = ClientSecretCredential(
                str(c.tenant_id),
                str(c.client_id),
                str(c.client_secret),
                authority=_authority(c),
                # Instance discovery would ask login.microsoftonline.com about the host.
                disable_instance_discovery=True,
            )
            return options
        secret = self._secret_options(creds)
        options.update(secret)
        if not secret:  # managed identity
            from azure.identity.aio import ManagedIdentityCredential

            options["credential"] = ManagedIdentityCredential(client_id=c.client_id)
        return options

    # ------------------------------------------------------------ Spark

    def spark_uri(self, path: str) -> str:
        """``path`` as Hadoop's ABFS driver names it (what Databricks reads and writes)."""
        c = self.config
        host = self._dfs_host()
        parts = [c.path_prefix.strip("/"), path.strip("/")]
        return f"abfss://{c.container}@{host}/" + "/".join(p for p in parts if p)

    def _dfs_host(self) -> str:
        """The account's Data Lake (dfs) host: its blob endpoint's, with ``blob`` → ``dfs``."""
        creds = self._credentials()
        endpoint = creds.get("BlobEndpoint")
        if endpoint:
            return urlparse(endpoint).netloc.replace(".blob.", ".dfs.")
        return f"{creds['AccountName']}.dfs.core.windows.net"

    def spark_options(self) -> dict[str, str]:
        """Hadoop ABFS settings for this account, scoped to it (``...<key>.<host>``), which the
        Spark engine sets on the session: an account key (also from Key Vault or a connection
        string), a fixed SAS token, a service principal or a managed identity (OAuth)."""
        c = self.config
        host = self._dfs_host()
        creds = self._credentials()
        if "AccountKey" in creds:
            return {f"fs.azure.account.key.{host}": creds["AccountKey"]}
        if "SharedAccessSignature" in creds:
            return {
                f"fs.azure.account.auth.type.{host}": "SAS",
                f"fs.azure.sas.token.provider.type.{host}": (
                    "org.apache.hadoop.fs.azurebfs.sas.FixedSASTokenProvider"
                ),
                f"fs.azure.sas.fixed.token.{host}": creds["SharedAccessSignature"],
            }
        oauth = {f"fs.azure.account.auth.type.{host}": "OAuth"}
        provider = f"fs.azure.account.oauth.provider.type.{host}"
        if c.auth_mode == "service_principal":
            return {
                **oauth,
                provider: "org.apache.hadoop.fs.azurebfs.oauth2.ClientCredsTokenProvider",
                f"fs.azure.account.oauth2.client.id.{host}": str(c.client_id),
                f"fs.azure.account.oauth2.client.secret.{host}": str(c.client_secret),
                f"fs.azure.account.oauth2.client.endpoint.{host}": (
                    f"{_authority(c)}/{c.tenant_id}/oauth2/token"
                ),
            }
        msi = {**oauth, provider: "org.apache.hadoop.fs.azurebfs.oauth2.MsiTokenProvider"}
        if c.client_id:  # a user-assigned identity
            msi[f"fs.azure.account.oauth2.client.id.{host}"] = c.client_id
        return msi

    def describe(self) -> dict[str, Any]:
        c = self.config
        return {
            "name": self.name,
            "type": self.type_name,
            "account_name": c.account_name,
            "container": c.container,
            "path_prefix": c.path_prefix,
            "auth_mode": c.auth_mode,
        }


class AzureBlobConnection(AzureAdlsConnection):
    """The same connection under the name Odibi projects also use for Blob storage."""

    type_name = "azure_blob"


@hookimpl
def odibi_register_connection_types() -> list[type[Connection]]:
    return [AzureAdlsConnection, AzureBlobConnection]
