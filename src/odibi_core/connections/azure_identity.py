"""Azure AD (Microsoft Entra ID) identities and Key Vault secrets, as every Azure connection
(``azure_adls``, ``sql_server``, ``azure_sql``, and a ``postgres`` password kept in a vault)
asks for them. azure-identity and azure-keyvault-secrets are imported on first use
(``pip install 'odibi[azure]'``)."""

from __future__ import annotations

import ipaddress
from typing import Any
from urllib.parse import urlparse

from odibi_core.errors import ConnectionFailed, brief

PUBLIC_AUTHORITY = "https://login.microsoftonline.com"


def authority(host: str | None) -> str:
    """An authority host (``login.microsoftonline.us``, a URL, or None for the public
    cloud) as a URL without a trailing slash."""
    text = (host or PUBLIC_AUTHORITY).rstrip("/")
    return text if "://" in text else f"https://{text}"


def service_principal(
    tenant_id: str, client_id: str, client_secret: str, authority_host: str | None = None
) -> Any:
    """The credential of an app registration, asking ``authority_host`` for its tokens."""
    ClientSecretCredential = _identity().ClientSecretCredential
    if authority_host is None:
        return ClientSecretCredential(tenant_id, client_id, client_secret)
    return ClientSecretCredential(
        tenant_id,
        client_id,
        client_secret,
        authority=authority(authority_host),
        # Instance discovery would ask login.microsoftonline.com whether it knows the host: a
        # host the project names is known to its author (a sovereign cloud needs none).
        disable_instance_discovery=True,
    )


def vault_credential(config: Any) -> Any:
    """Who reads a connection's Key Vault: the service principal its fields name (tenant,
    client id and secret), else the ambient identity (``DefaultAzureCredential``: environment,
    managed identity, Azure CLI …), as Odibi does."""
    if config.tenant_id and config.client_id and config.client_secret:
        return service_principal(
            config.tenant_id, config.client_id, config.client_secret, config.authority_host
        )
    if config.authority_host:
        return _identity().DefaultAzureCredential(authority=authority(config.authority_host))
    return _identity().DefaultAzureCredential()


def vault_url(config: Any) -> str:
    return str(config.key_vault_url or f"https://{config.key_vault_name}.vault.azure.net")


def read_secret(
    connection: str,
    config: Any,
    *,
    connect_timeout: float,
    read_timeout: float,
    retries: int = 2,
) -> str:
    """Secret ``config.secret_name`` of the connection's vault; a ``ConnectionFailed``
    naming the secret and the vault (never a value) when it cannot be read or is empty."""
    url = vault_url(config)
    where = f"secret '{config.secret_name}' of Key Vault '{config.key_vault_name or url}'"
    try:
        from azure.keyvault.secrets import SecretClient
    except ImportError:
        raise ConnectionFailed(
            f"connection '{connection}': auth mode key_vault needs pip install 'odibi[azure]'"
        ) from None
    try:
        client = SecretClient(
            url,
            vault_credential(config),
            # The SDK checks that the vault's host lies under the domain its challenge names
            # (``*.vault.azure.net``), which no IP address does.
            verify_challenge_resource=not _is_ip(urlparse(url).hostname),
            retry_total=retries,
            connection_timeout=connect_timeout,
            read_timeout=read_timeout,
        )
        value = client.get_secret(str(config.secret_name)).value
    except ConnectionFailed:
        raise
    except Exception as exc:
        raise ConnectionFailed(
            f"connection '{connection}': cannot read {where}: {brief(exc)}"
        ) from None
    if not value:
        raise ConnectionFailed(f"connection '{connection}': {where} is empty")
    return str(value)


def _identity() -> Any:
    try:
        import azure.identity
    except ImportError:
        raise ConnectionFailed(
            "Azure AD identities need pip install 'odibi[azure]' (azure-identity)"
        ) from None
    return azure.identity


def _is_ip(host: str | None) -> bool:
    try:
        ipaddress.ip_address(host or "")
    except ValueError:
        return False
    return True
