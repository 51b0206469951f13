"""Where an ``azure_adls`` connection sends its Azure AD and Key Vault requests when told to
(``authority_host``, the host's identity endpoint, ``key_vault_url``), as each library reads it.
The same paths run for real in ``tests/e2e/test_azure_adls.py``."""

from __future__ import annotations

from pathlib import Path

import pytest

from odibi_core.connections.azure_adls import AzureAdlsConfig, AzureAdlsConnection


def connection(**fields) -> AzureAdlsConnection:
    config = AzureAdlsConfig.model_validate({"container": "lake", "account_name": "acct", **fields})
    return AzureAdlsConnection("lake", config, Path("."))


@pytest.fixture(autouse=True)
def _no_identity_host(monkeypatch):
    for name in ("IDENTITY_ENDPOINT", "IDENTITY_HEADER", "AZURE_POD_IDENTITY_AUTHORITY_HOST"):
        monkeypatch.delenv(name, raising=False)


def test_a_service_principal_asks_the_authority_it_names_in_every_library():
    pytest.importorskip("azure.identity")
    c = connection(
        tenant_id="t", client_id="c", client_secret="s3cr3t", authority_host="login.example.cn/"
    )
    assert c.storage_options()["authority_host"] == "https://login.example.cn"
    credential = c.fsspec_options()["credential"]
    assert type(credential).__name__ == "ClientSecretCredential"
    assert "client_secret" not in c.fsspec_options()  # the credential carries it
    spark = c.spark_options()
    endpoint = [v for k, v in spark.items() if "oauth2.client.endpoint" in k]
    assert endpoint == ["https://login.example.cn/t/oauth2/token"]


def test_without_an_authority_host_the_public_cloud_is_asked():
    c = connection(tenant_id="t", client_id="c", client_secret="s3cr3t")
    assert "authority_host" not in c.storage_options()
    assert c.fsspec_options()["client_secret"] == "s3cr3t"  # adlfs builds its own credential
    assert "https://login.microsoftonline.com/t/oauth2/token" in c.spark_options().values()


def test_deltalake_gets_the_identity_endpoint_the_host_announces(monkeypatch):
    c = connection(auth_mode="managed_identity")
    assert "msi_endpoint" not in c.storage_options()  # IMDS at its own address
    monkeypatch.setenv("AZURE_POD_IDENTITY_AUTHORITY_HOST", "https://127.0.0.1:9/")
    assert c.storage_options()["msi_endpoint"] == (
        "https://127.0.0.1:9/metadata/identity/oauth2/token"
    )
    monkeypatch.setenv("IDENTITY_ENDPOINT", "https://127.0.0.1:8/msi/token")
    assert c.storage_options()["msi_endpoint"] == "https://127.0.0.1:8/msi/token"
    principal = connection(tenant_id="t", client_id="c", client_secret="s")
    assert "msi_endpoint" not in principal.storage_options()


def test_a_key_vault_url_stands_for_the_vaults_name():
    c = connection(key_vault_url="https://vault.example.cn", secret_name="k")
    assert c.config.auth_mode == "key_vault"
    named = connection(auth={"mode": "key_vault", "key_vault": "kv", "secret": "k"})
    assert named.config.key_vault_name == "kv" and named.config.key_vault_url is None
    with pytest.raises(ValueError, match="needs key_vault_name"):
        connection(auth_mode="key_vault", secret_name="k")
