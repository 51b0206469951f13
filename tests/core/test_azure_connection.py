"""What an ``azure_adls`` connection hands deltalake and fsspec for each auth mode, without a
network: the modes that need Azure AD or Key Vault cannot reach them from here (and must not
try), so their options are checked as data; the others also run against Azurite in
``tests/e2e/test_azure_adls.py``."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from odibi_core.connections.azure_adls import AzureAdlsConfig, AzureAdlsConnection

#: The default bounds on requests, as each library reads them.
DELTA_BOUNDS = {"connect_timeout": "10000ms", "timeout": "30000ms", "max_retries": "2"}
FSSPEC_BOUNDS = {
    "protocol": "odibi-az",
    "connection_timeout": 10.0,
    "read_timeout": 30.0,
    "max_retries": 2,
}


def connection(**fields) -> AzureAdlsConnection:
    config = AzureAdlsConfig.model_validate({"container": "lake", **fields})
    return AzureAdlsConnection("lake", config, Path("."))


def test_service_principal_options_for_both_libraries():
    c = connection(account_name="acct", tenant_id="t", client_id="c", client_secret="s3cr3t")
    assert c.config.auth_mode == "service_principal"
    principal = {"tenant_id": "t", "client_id": "c", "client_secret": "s3cr3t"}
    assert c.storage_options() == {"account_name": "acct", **principal, **DELTA_BOUNDS}
    assert c.fsspec_options() == {"account_name": "acct", **principal, **FSSPEC_BOUNDS}
    assert c.uri("raw/x.csv") == "az://lake/raw/x.csv"
    assert "s3cr3t" in c.secrets()
    assert "s3cr3t" not in str(c.describe())


def test_managed_identity_is_the_default_and_builds_its_credential_once():
    pytest.importorskip("azure.identity")
    system = connection(account_name="acct")
    assert system.config.auth_mode == "managed_identity"
    assert system.storage_options() == {"account_name": "acct", **DELTA_BOUNDS}
    user = connection(account_name="acct", client_id="mi-client", path_prefix="/a/b/")
    assert user.config.auth_mode == "managed_identity"
    assert user.storage_options() == {
        "account_name": "acct",
        "client_id": "mi-client",
        **DELTA_BOUNDS,
    }
    first, second = user.fsspec_options(), user.fsspec_options()
    assert first["credential"] is second["credential"]  # fsspec's cache keys on it
    assert user.uri("x.parquet") == "az://lake/a/b/x.parquet"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"account_key": ""}, "auth_mode 'direct_key' needs account_key"),
        ({"tenant_id": "t", "client_id": "c"}, "needs client_secret"),
        ({"secret_name": "k"}, "auth_mode 'key_vault' needs key_vault_name"),
        ({"auth": {"mode": "sas_token"}}, "needs sas_token"),
    ],
)
def test_a_half_given_mode_is_an_error_not_a_silent_fallback(fields, message):
    with pytest.raises(ValidationError, match=message):
        connection(account_name="acct", **fields)


def test_connection_strings_name_the_account_endpoint_and_secrets():
    c = connection(
        connection_string="DefaultEndpointsProtocol=https;AccountName=gov;AccountKey=k3y==;"
        "EndpointSuffix=core.usgovcloudapi.net"
    )
    assert c.config.account_name == "gov"
    options = c.storage_options()
    assert options["endpoint"] == "https://gov.blob.core.usgovcloudapi.net"
    assert options["account_key"] == "k3y=="
    assert "k3y==" in c.secrets()
    with_sas = connection(account_name="acct", sas_token="?sv=1&sig=abcd")
    assert with_sas.storage_options()["sas_token"] == "sv=1&sig=abcd"
    assert "sv=1&sig=abcd" in with_sas.secrets()


def test_request_bounds_are_the_connections_and_checked():
    c = connection(account_name="acct", account_key="k", connect_timeout=1.5, read_timeout=4)
    c.config.max_retries = 0
    assert {k: c.storage_options()[k] for k in DELTA_BOUNDS} == {
        "connect_timeout": "1500ms",
        "timeout": "4000ms",
        "max_retries": "0",
    }
    bounded = c.fsspec_options()
    assert (bounded["connection_timeout"], bounded["read_timeout"]) == (1.5, 4)
    with pytest.raises(ValidationError, match="read_timeout"):
        connection(account_name="acct", read_timeout=0)
    with pytest.raises(ValidationError, match="max_retries"):
        connection(account_name="acct", max_retries=-1)


@pytest.mark.parametrize(
    ("odibi", "ours"),
    [
        (
            {"account": "acct", "auth": {"mode": "account_key", "account_key": "k3y"}},
            {"account_name": "acct", "auth_mode": "direct_key", "account_key": "k3y"},
        ),
        (
            {"account_name": "acct", "auth": {"mode": "sas", "sas_token": "sv=1&sig=x"}},
            {"account_name": "acct", "auth_mode": "sas_token", "sas_token": "sv=1&sig=x"},
        ),
        (
            {"account_name": "acct", "auth": {"mode": "aad_msi", "client_id": "uami"}},
            {"account_name": "acct", "auth_mode": "managed_identity", "client_id": "uami"},
        ),
        (
            {"account_name": "a", "auth": {"mode": "key_vault", "key_vault": "kv", "secret": "s"}},
            {
                "account_name": "a",
                "auth_mode": "key_vault",
                "key_vault_name": "kv",
                "secret_name": "s",
            },
        ),
        (  # Odibi's runtime factory: a flat auth_mode and the fields under auth
            {
                "account_name": "a",
                "auth_mode": "key_vault",
                "auth": {"key_vault_name": "kv", "secret_name": "s"},
            },
            {
                "account_name": "a",
                "auth_mode": "key_vault",
                "key_vault_name": "kv",
                "secret_name": "s",
            },
        ),
        (
            {
                "account_name": "a",
                "auth": {
                    "mode": "service_principal",
                    "tenant_id": "t",
                    "client_id": "c",
                    "client_secret": "x",
                },
            },
            {"account_name": "a", "tenant_id": "t", "client_id": "c", "client_secret": "x"},
        ),
    ],
)
def test_odibis_spellings_of_accounts_modes_and_fields_mean_ours(odibi, ours):
    theirs = connection(**odibi)
    mine = connection(**ours)
    assert theirs.config == mine.config
    # Key Vault would be asked for the key (no vault here), and a managed identity's options
    # hold a credential object: their options are checked as data above.
    if mine.config.auth_mode not in ("key_vault", "managed_identity"):
        assert theirs.storage_options() == mine.storage_options()
        assert theirs.fsspec_options() == mine.fsspec_options()


HOST = "acct.dfs.core.windows.net"


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"account_key": "k3y"}, {f"fs.azure.account.key.{HOST}": "k3y"}),
        (
            {"sas_token": "?sv=1&sig=x"},
            {
                f"fs.azure.account.auth.type.{HOST}": "SAS",
                f"fs.azure.sas.token.provider.type.{HOST}": (
                    "org.apache.hadoop.fs.azurebfs.sas.FixedSASTokenProvider"
                ),
                f"fs.azure.sas.fixed.token.{HOST}": "sv=1&sig=x",
            },
        ),
        (
            {"tenant_id": "t", "client_id": "c", "client_secret": "s3cr3t"},
            {
                f"fs.azure.account.auth.type.{HOST}": "OAuth",
                f"fs.azure.account.oauth.provider.type.{HOST}": (
                    "org.apache.hadoop.fs.azurebfs.oauth2.ClientCredsTokenProvider"
                ),
                f"fs.azure.account.oauth2.client.id.{HOST}": "c",
                f"fs.azure.account.oauth2.client.secret.{HOST}": "s3cr3t",
                f"fs.azure.account.oauth2.client.endpoint.{HOST}": (
                    "https://login.microsoftonline.com/t/oauth2/token"
                ),
            },
        ),
        (
            {"auth_mode": "managed_identity", "client_id": "uami"},
            {
                f"fs.azure.account.auth.type.{HOST}": "OAuth",
                f"fs.azure.account.oauth.provider.type.{HOST}": (
                    "org.apache.hadoop.fs.azurebfs.oauth2.MsiTokenProvider"
                ),
                f"fs.azure.account.oauth2.client.id.{HOST}": "uami",
            },
        ),
    ],
)
def test_spark_gets_the_accounts_abfs_settings_for_each_mode(fields, expected):
    """What the Spark engine sets on the session before it reads or writes the account (no
    ABFS endpoint can run here: Azurite has no Data Lake API)."""
    c = connection(account_name="acct", path_prefix="bronze", **fields)
    assert c.spark_options() == expected
    assert c.spark_uri("raw/x.csv") == f"abfss://lake@{HOST}/bronze/raw/x.csv"


def test_a_sovereign_cloud_endpoint_is_its_dfs_host_for_spark():
    c = connection(
        account_name="acct", account_key="k", endpoint="https://acct.blob.core.chinacloudapi.cn"
    )
    assert c.spark_uri("x") == "abfss://lake@acct.dfs.core.chinacloudapi.cn/x"
